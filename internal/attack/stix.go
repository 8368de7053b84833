package attack

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// stixObject holds the fields of STIX 2.0 and 2.1 objects that ATT&CK
// uses; one struct serves every object type.
type stixObject struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Modified    string `json:"modified"`
	Revoked     bool   `json:"revoked"`
	Deprecated  bool   `json:"x_mitre_deprecated"`
	ExternalRef []struct {
		SourceName string `json:"source_name"`
		ExternalID string `json:"external_id"`
	} `json:"external_references"`
	KillChain []struct {
		KillChainName string `json:"kill_chain_name"`
		PhaseName     string `json:"phase_name"`
	} `json:"kill_chain_phases"`
	Platforms  []string `json:"x_mitre_platforms"`
	Aliases    []string `json:"aliases"`
	XAliases   []string `json:"x_mitre_aliases"`
	ShortName  string   `json:"x_mitre_shortname"`
	TacticRefs []string `json:"tactic_refs"`
	FirstSeen  string   `json:"first_seen"`
	LastSeen   string   `json:"last_seen"`

	RelType   string `json:"relationship_type"`
	SourceRef string `json:"source_ref"`
	TargetRef string `json:"target_ref"`

	AnalyticRefs []string `json:"x_mitre_analytic_refs"`
	LogSources   []struct {
		Name    string `json:"name"`
		Channel string `json:"channel"`
	} `json:"x_mitre_log_source_references"`
}

// attackID returns the ATT&CK ID (external_id of the mitre-attack
// reference), or "".
func (o *stixObject) attackID() string {
	for _, r := range o.ExternalRef {
		if r.SourceName == "mitre-attack" || r.SourceName == "mitre-mobile-attack" || r.SourceName == "mitre-ics-attack" {
			return r.ExternalID
		}
	}
	return ""
}

var (
	// mdLink is a Markdown link: [text](url).
	mdLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	// citation is ATT&CK's "(Citation: Source)".
	citation = regexp.MustCompile(`\s*\(Citation:[^)]*\)`)
	// groupLink is a link to a group page.
	groupLink = regexp.MustCompile(`attack\.mitre\.org/groups/(G\d+)`)
	// objectLink is a link to a group or software page.
	objectLink = regexp.MustCompile(`attack\.mitre\.org/(?:groups|software)/([GS]\d+)`)
	// citedSource is the source named by one "(Citation: Source)".
	citedSource = regexp.MustCompile(`\(Citation: ?([^)]*)\)`)
)

// cleanText turns an ATT&CK description into plain text: links become
// their text, citations go, and runs of blank space are trimmed.
func cleanText(s string) string {
	s = mdLink.ReplaceAllString(s, "$1")
	s = citation.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	blank := 0
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimRight(line, " \t")
		if line == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			if blank > 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = 0
		b.WriteString(line)
	}
	return strings.TrimSpace(b.String())
}

// LoadBundle reads an ATT&CK STIX 2.0 or 2.1 bundle (such as
// enterprise-attack.json) into a knowledge base.
func LoadBundle(r io.Reader) (*KB, error) {
	var bundle struct {
		Type    string       `json:"type"`
		Objects []stixObject `json:"objects"`
	}
	if err := json.NewDecoder(r).Decode(&bundle); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	if bundle.Type != "bundle" {
		return nil, fmt.Errorf("%w: type %q, want bundle", ErrBundle, bundle.Type)
	}
	return fromObjects(bundle.Objects)
}

func fromObjects(objs []stixObject) (*KB, error) {
	kb := &KB{Format: FormatVersion, text: &texts{Desc: make(map[string]string), Detections: make(map[string][]Detection)}}
	setDesc := func(id, desc string) {
		if desc != "" {
			kb.text.Desc[id] = desc
		}
	}
	byRef := make(map[string]*stixObject, len(objs))
	for i := range objs {
		o := &objs[i]
		byRef[o.ID] = o
		if o.Modified > kb.Modified {
			kb.Modified = o.Modified
		}
	}

	// Revocations, followed to the end of each chain.
	revokedBy := make(map[string]string)
	for i := range objs {
		o := &objs[i]
		if o.Type == "relationship" && o.RelType == "revoked-by" {
			revokedBy[o.SourceRef] = o.TargetRef
		}
	}
	final := func(ref string) string {
		for range 32 { // a bound against cycles
			next, ok := revokedBy[ref]
			if !ok {
				break
			}
			ref = next
		}
		return ref
	}
	// active reports whether ref names a usable (not revoked) object
	// with an ATT&CK ID.
	active := func(ref string) (*stixObject, bool) {
		o, ok := byRef[ref]
		if !ok || o.Revoked || o.attackID() == "" {
			return nil, false
		}
		return o, true
	}

	// Tactics in kill-chain order: the matrix's tactic_refs, then any
	// others by ID.
	var order []string
	for i := range objs {
		o := &objs[i]
		if o.Type == "x-mitre-matrix" && !o.Revoked && !o.Deprecated {
			if kb.Domain == "" {
				kb.Domain = o.attackID()
			}
			for _, ref := range o.TacticRefs {
				if !slices.Contains(order, ref) {
					order = append(order, ref)
				}
			}
		}
	}
	var rest []string
	for i := range objs {
		o := &objs[i]
		if o.Type == "x-mitre-tactic" && !o.Revoked && !o.Deprecated && !slices.Contains(order, o.ID) {
			rest = append(rest, o.ID)
		}
	}
	slices.SortFunc(rest, func(a, b string) int { return strings.Compare(byRef[a].attackID(), byRef[b].attackID()) })
	tacticRank := make(map[string]int)
	for _, ref := range append(order, rest...) {
		o, ok := active(ref)
		if !ok || o.Deprecated {
			continue
		}
		tacticRank[o.ShortName] = len(kb.Tactics)
		kb.Tactics = append(kb.Tactics, Tactic{ID: o.attackID(), ShortName: o.ShortName, Name: o.Name})
		setDesc(o.attackID(), cleanText(o.Description))
	}
	if len(kb.Tactics) == 0 {
		return nil, fmt.Errorf("%w: no tactics", ErrBundle)
	}

	// Active objects by kind, keyed by STIX id.
	techniques := make(map[string]*Technique)
	groups := make(map[string]*Group)
	software := make(map[string]*Software)
	campaigns := make(map[string]*Campaign)
	for i := range objs {
		o := &objs[i]
		id := o.attackID()
		if id == "" {
			continue
		}
		if o.Revoked {
			switch o.Type {
			case "attack-pattern", "intrusion-set", "malware", "tool", "campaign", "x-mitre-tactic":
				if to, ok := active(final(o.ID)); ok {
					kb.Revoked = append(kb.Revoked, Revoked{ID: id, Name: o.Name, By: to.attackID()})
				}
			}
			continue
		}
		switch o.Type {
		case "attack-pattern", "intrusion-set", "malware", "tool", "campaign":
			setDesc(id, cleanText(o.Description))
		}
		switch o.Type {
		case "attack-pattern":
			t := &Technique{ID: id, Name: o.Name, Platforms: o.Platforms, Deprecated: o.Deprecated}
			for _, p := range o.KillChain {
				if _, ok := tacticRank[p.PhaseName]; ok && !slices.Contains(t.Tactics, p.PhaseName) {
					t.Tactics = append(t.Tactics, p.PhaseName)
				}
			}
			slices.SortFunc(t.Tactics, func(a, b string) int { return tacticRank[a] - tacticRank[b] })
			techniques[o.ID] = t
		case "intrusion-set":
			g := &Group{ID: id, Name: o.Name, Aliases: otherNames(o.Name, o.Aliases), Deprecated: o.Deprecated}
			for _, m := range groupLink.FindAllStringSubmatch(o.Description, -1) {
				if m[1] != id && !slices.Contains(g.Mentions, m[1]) {
					g.Mentions = append(g.Mentions, m[1])
				}
			}
			groups[o.ID] = g
		case "malware", "tool":
			software[o.ID] = &Software{ID: id, Name: o.Name, Type: o.Type, Aliases: otherNames(o.Name, o.XAliases),
				Platforms: o.Platforms, Deprecated: o.Deprecated}
		case "campaign":
			campaigns[o.ID] = &Campaign{ID: id, Name: o.Name, Aliases: otherNames(o.Name, o.Aliases),
				FirstSeen: o.FirstSeen, LastSeen: o.LastSeen, Deprecated: o.Deprecated}
		}
	}

	add := func(list *[]string, id string) {
		if !slices.Contains(*list, id) {
			*list = append(*list, id)
		}
	}
	procTexts := map[string][]string{} // procedure texts by group
	// use records a "uses" relationship that was applied to a list.
	use := func(o *stixObject, src, dst string) {
		r := Relationship{ID: o.ID, Source: src, Target: dst}
		for _, ref := range o.ExternalRef {
			if ref.SourceName != "" && ref.SourceName != "mitre-attack" && !slices.Contains(r.Citations, ref.SourceName) {
				r.Citations = append(r.Citations, ref.SourceName)
			}
		}
		kb.rels = append(kb.rels, r)
	}
	for i := range objs {
		o := &objs[i]
		if o.Type != "relationship" || o.Revoked || o.Deprecated {
			continue
		}
		src, dst := o.SourceRef, final(o.TargetRef)
		switch o.RelType {
		case "uses":
			to, ok := active(dst)
			if !ok {
				continue
			}
			tid := to.attackID()
			isTech := to.Type == "attack-pattern"
			isSoft := to.Type == "malware" || to.Type == "tool"
			if g, ok := groups[src]; ok {
				switch {
				case isTech:
					add(&g.Techniques, tid)
				case isSoft:
					add(&g.Software, tid)
				default:
					continue
				}
				use(o, g.ID, tid)
				procTexts[g.ID] = append(procTexts[g.ID], o.Description)
				for _, a := range artefacts(o.Description) {
					kb.Procedures = append(kb.Procedures, Procedure{Group: g.ID, Target: tid, Artefact: a.key, Text: a.text, Rel: o.ID, Citations: kb.rels[len(kb.rels)-1].Citations})
				}
			} else if s, ok := software[src]; ok && isTech {
				add(&s.Techniques, tid)
				use(o, s.ID, tid)
			} else if c, ok := campaigns[src]; ok {
				switch {
				case isTech:
					add(&c.Techniques, tid)
				case isSoft:
					add(&c.Software, tid)
				default:
					continue
				}
				use(o, c.ID, tid)
			}
		case "attributed-to":
			if c, ok := campaigns[src]; ok {
				if g, ok := groups[dst]; ok {
					add(&c.Groups, g.ID)
				}
			}
		case "detects":
			det, ok := byRef[src]
			t, ok2 := techniques[dst]
			if !ok || !ok2 || det.Type != "x-mitre-detection-strategy" || det.Revoked || det.Deprecated {
				continue
			}
			d := Detection{ID: det.attackID(), Name: det.Name}
			for _, ref := range det.AnalyticRefs {
				an, ok := byRef[ref]
				if !ok || an.Revoked || an.Deprecated {
					continue
				}
				for _, ls := range an.LogSources {
					s := strings.TrimSpace(ls.Name + " " + ls.Channel)
					if s != "" && !slices.Contains(d.LogSources, s) {
						d.LogSources = append(d.LogSources, s)
					}
				}
			}
			slices.Sort(d.LogSources)
			kb.text.Detections[t.ID] = append(kb.text.Detections[t.ID], d)
		}
	}

	describedLinks(kb, objs, groups, software)

	// Mentions of revoked groups point at their replacements.
	groupIDs := make(map[string]bool, len(groups))
	for _, g := range groups {
		groupIDs[g.ID] = true
	}
	revokedID := make(map[string]string)
	for _, r := range kb.Revoked {
		revokedID[r.ID] = r.By
	}
	for _, g := range groups {
		var ms []string
		for _, m := range g.Mentions {
			if by, ok := revokedID[m]; ok {
				m = by
			}
			if m != g.ID && groupIDs[m] && !slices.Contains(ms, m) {
				ms = append(ms, m)
			}
		}
		g.Mentions = ms
	}

	for _, ds := range kb.text.Detections {
		slices.SortFunc(ds, func(a, b Detection) int { return strings.Compare(a.ID, b.ID) })
	}
	for _, t := range techniques {
		kb.Techniques = append(kb.Techniques, *t)
	}
	for _, g := range groups {
		slices.Sort(g.Techniques)
		slices.Sort(g.Software)
		slices.Sort(g.Mentions)
		slices.Sort(g.Associated)
		kb.Groups = append(kb.Groups, *g)
	}
	for _, s := range software {
		slices.Sort(s.Techniques)
		kb.Software = append(kb.Software, *s)
	}
	for _, c := range campaigns {
		slices.Sort(c.Groups)
		slices.Sort(c.Techniques)
		slices.Sort(c.Software)
		kb.Campaigns = append(kb.Campaigns, *c)
	}
	slices.SortFunc(kb.Techniques, func(a, b Technique) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(kb.Groups, func(a, b Group) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(kb.Software, func(a, b Software) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(kb.Campaigns, func(a, b Campaign) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(kb.Revoked, func(a, b Revoked) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(kb.rels, func(a, b Relationship) int { return strings.Compare(a.ID, b.ID) })
	countProcedureGroups(kb.Procedures, procTexts)
	slices.SortFunc(kb.Procedures, func(a, b Procedure) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.Artefact, b.Artefact), strings.Compare(a.Rel, b.Rel))
	})
	kb.countReports()
	kb.setRegression(kb.learnRegression(nil))
	if len(kb.Techniques) == 0 {
		return nil, fmt.Errorf("%w: no techniques", ErrBundle)
	}
	return kb, nil
}

// otherNames returns the aliases without the name itself and without
// repeats, in their order.
func otherNames(name string, aliases []string) []string {
	var out []string
	for _, a := range aliases {
		a = strings.TrimSpace(a)
		if a != "" && a != name && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// describedLinks adds the group-software links of ATT&CK's prose: a
// group's description linking a software page, or a software's linking a
// group page, that no "uses" relationship makes. Analysts read these
// ("ShadowPad ... used by APT41") as much as the relationships. Each link
// is kept as a Relationship of its own (ID "description--G...--S...") whose
// citations are those of the sentences making it: a sentence without a
// citation takes that of the next cited sentence of its paragraph, since
// ATT&CK often cites once for several sentences; a link no cited sentence
// makes is left out, as nothing says where it comes from.
func describedLinks(kb *KB, objs []stixObject, groups map[string]*Group, software map[string]*Software) {
	byID := make(map[string]*Group, len(groups))
	for _, g := range groups {
		byID[g.ID] = g
	}
	soft := make(map[string]bool, len(software))
	for _, s := range software {
		soft[s.ID] = true
	}
	type link struct{ g, s string }
	cites := make(map[link][]string)
	for i := range objs {
		o := &objs[i]
		self := o.attackID()
		_, isGroup := groups[o.ID]
		_, isSoft := software[o.ID]
		if !isGroup && !isSoft {
			continue
		}
		forCitedSentences(o.Description, func(sentence string, cs []string) {
			for _, m := range objectLink.FindAllStringSubmatch(sentence, -1) {
				var l link
				switch {
				case isGroup && soft[m[1]]:
					l = link{self, m[1]}
				case isSoft && byID[m[1]] != nil:
					l = link{m[1], self}
				default:
					continue
				}
				for _, c := range cs {
					if !slices.Contains(cites[l], c) {
						cites[l] = append(cites[l], c)
					}
				}
			}
		})
	}
	for l, cs := range cites {
		g := byID[l.g]
		if slices.Contains(g.Software, l.s) {
			continue
		}
		g.Associated = append(g.Associated, l.s)
		kb.rels = append(kb.rels, Relationship{ID: "description--" + l.g + "--" + l.s, Source: l.g, Target: l.s, Citations: cs, Described: true})
	}
}

// forCitedSentences calls fn with each sentence of a description and the
// citations it rests on: its own, or those of the next cited sentence of
// its paragraph; sentences resting on none are skipped.
func forCitedSentences(desc string, fn func(sentence string, cites []string)) {
	for para := range strings.SplitSeq(desc, "\n") {
		var pending []string
		start := 0
		flush := func(end int) {
			s := para[start:end]
			start = end
			if strings.TrimSpace(s) == "" {
				return
			}
			pending = append(pending, s)
			ms := citedSource.FindAllStringSubmatch(s, -1)
			if len(ms) == 0 {
				return
			}
			var cs []string
			for _, m := range ms {
				if !slices.Contains(cs, m[1]) {
					cs = append(cs, m[1])
				}
			}
			for _, p := range pending {
				fn(p, cs)
			}
			pending = pending[:0]
		}
		// A sentence ends after ". " or ") " (the end of a citation).
		for i := 0; i+1 < len(para); i++ {
			if (para[i] == '.' || para[i] == ')') && para[i+1] == ' ' {
				flush(i + 1)
			}
		}
		flush(len(para))
	}
}

// countReports sets each group's Reports from the relationships: the
// distinct citations of the links from the group to each item of its
// lists, at least 1, not counting the sources named in skip.
func (kb *KB) countReports(skip ...string) {
	type link struct{ src, dst string }
	seen := make(map[link][]string)
	for _, r := range kb.rels {
		l := link{r.Source, r.Target}
		for _, c := range r.Citations {
			if !slices.Contains(seen[l], c) && !slices.Contains(skip, c) {
				seen[l] = append(seen[l], c)
			}
		}
	}
	for i := range kb.Groups {
		g := &kb.Groups[i]
		g.Reports = make(map[string]int, len(g.Techniques)+len(g.Software)+len(g.Associated))
		for _, list := range [][]string{g.Techniques, g.Software, g.Associated} {
			for _, id := range list {
				g.Reports[id] = max(1, len(seen[link{g.ID, id}]))
			}
		}
	}
}
