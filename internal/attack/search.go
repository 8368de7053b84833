package attack

import (
	"cmp"
	"slices"
	"strings"
)

// Hit is one result of Search.
type Hit struct {
	Kind Kind
	ID   string
	Name string
	// Field is where the query matched best: "id", "name", "alias" or
	// "description".
	Field string
	// Snippet is the text around the first match in the description, when
	// the match is there.
	Snippet string
	// Deprecated is set for deprecated objects.
	Deprecated bool
	score      int
}

// Search finds tactics, techniques, groups, software and campaigns whose ID,
// name, aliases or description contain every word of the query,
// case-insensitively. Matches in IDs, names and aliases rank before matches
// in descriptions only; limit caps the number of hits (0: no cap).
func (kb *KB) Search(query string, limit int) []Hit {
	terms := strings.Fields(strings.ToLower(query))
	if len(terms) == 0 {
		return nil
	}
	whole := strings.Join(terms, " ")
	var hits []Hit
	try := func(kind Kind, id, name string, aliases []string, desc string, deprecated bool) {
		h := Hit{Kind: kind, ID: id, Name: name, Deprecated: deprecated}
		names := strings.ToLower(id + "\n" + name + "\n" + strings.Join(aliases, "\n"))
		ldesc := strings.ToLower(desc)
		for _, t := range terms {
			if !strings.Contains(names, t) && !strings.Contains(ldesc, t) {
				return
			}
		}
		switch {
		case strings.EqualFold(id, whole):
			h.Field, h.score = "id", 1000
		case strings.EqualFold(name, whole):
			h.Field, h.score = "name", 900
		case slices.ContainsFunc(aliases, func(a string) bool { return strings.EqualFold(a, whole) }):
			h.Field, h.score = "alias", 800
		case strings.Contains(strings.ToLower(name), whole):
			h.Field, h.score = "name", 500
		case allIn(names, terms):
			h.Field, h.score = "alias", 400
			if allIn(strings.ToLower(name), terms) {
				h.Field = "name"
			}
		default:
			h.Field = "description"
			h.score = min(strings.Count(ldesc, terms[0]), 50)
			if i := strings.Index(ldesc, terms[0]); i >= 0 && len(ldesc) == len(desc) {
				h.Snippet = snippet(desc, i, len(terms[0]))
			}
		}
		hits = append(hits, h)
	}
	d := kb.Description
	for _, t := range kb.Tactics {
		try(KindTactic, t.ID, t.Name, []string{t.ShortName}, d(t.ID), false)
	}
	for _, t := range kb.Techniques {
		try(KindTechnique, t.ID, t.Name, nil, d(t.ID), t.Deprecated)
	}
	for _, g := range kb.Groups {
		try(KindGroup, g.ID, g.Name, g.Aliases, d(g.ID), g.Deprecated)
	}
	for _, s := range kb.Software {
		try(KindSoftware, s.ID, s.Name, s.Aliases, d(s.ID), s.Deprecated)
	}
	for _, c := range kb.Campaigns {
		try(KindCampaign, c.ID, c.Name, c.Aliases, d(c.ID), c.Deprecated)
	}
	slices.SortStableFunc(hits, func(a, b Hit) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if a.Deprecated != b.Deprecated {
			if a.Deprecated {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Kind, b.Kind)
	})
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits
}

func allIn(s string, terms []string) bool {
	for _, t := range terms {
		if !strings.Contains(s, t) {
			return false
		}
	}
	return true
}

// snippet returns about 120 bytes of s around s[i:i+n] on one line, cut at
// spaces, with "..." where text was left out.
func snippet(s string, i, n int) string {
	const around = 60
	start, end := max(0, i-around), min(len(s), i+n+around)
	if start > 0 {
		if j := strings.IndexByte(s[start:i], ' '); j >= 0 {
			start += j + 1
		}
	}
	if end < len(s) {
		if j := strings.LastIndexByte(s[i+n:end], ' '); j >= 0 {
			end = i + n + j
		}
	}
	out := strings.Join(strings.Fields(s[start:end]), " ")
	if start > 0 {
		out = "..." + out
	}
	if end < len(s) {
		out += "..."
	}
	return out
}
