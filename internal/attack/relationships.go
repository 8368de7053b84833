package attack

import (
	"slices"
	"strings"
)

// Relationship is one "uses" relationship of the STIX bundle a KB was
// loaded from: a group, software or campaign using a technique, or a group
// or campaign using software. Each one made an entry of a list of the KB
// (Group.Techniques, Group.Software, Software.Techniques,
// Campaign.Techniques, Campaign.Software).
type Relationship struct {
	// ID is the STIX id, such as "relationship--1aee1049-...".
	ID string
	// Source and Target are ATT&CK IDs; a revoked target stands for its
	// replacement, as in the lists.
	Source, Target string
	// Described marks a link made by ATT&CK's prose rather than a "uses"
	// relationship (Group.Associated); its ID is "description--G...--S..."
	// and its citations those of the sentences making it.
	Described bool
	// Citations are the source names of the relationship's external
	// references (the reports ATT&CK cites for it, such as "Cisco Group
	// 72"), without ATT&CK's own "mitre-attack" reference, in order and
	// without repeats.
	Citations []string
}

// Relationships returns the "uses" relationships behind the KB's lists,
// sorted by ID. Only a KB read by LoadBundle (or made from one by Without)
// has them: the compact form keeps the lists but not the relationships,
// so Load and Decode return a KB with none.
func (kb *KB) Relationships() []Relationship { return kb.rels }

// Relationship returns the relationship with the STIX id, or false.
func (kb *KB) Relationship(id string) (Relationship, bool) {
	i, ok := slices.BinarySearchFunc(kb.rels, id, func(r Relationship, id string) int { return strings.Compare(r.ID, id) })
	if !ok {
		return Relationship{}, false
	}
	return kb.rels[i], true
}

// Without returns a knowledge base as kb but without the relationships
// with the given STIX ids: each one's target leaves its source's list,
// unless another relationship that is kept makes the same link. IDs kb
// does not have are ignored. Objects are never removed: a group whose
// lists become empty stays, and attribution leaves it out as it does any
// group without techniques or software.
//
// The groups of a view that lost anything have no Regression (nor
// Intercept): the report
// classifier cannot be learned again per view, and a held-out report must
// not be in it.
//
// The result shares what it does not change with kb (both are read-only)
// and builds its own index and attribution model on first use, so many
// views of one bundle cost little. This is what leave-one-report-out
// evaluation needs: the knowledge base as if a report had not been
// written.
func (kb *KB) Without(ids ...string) *KB { return kb.WithoutReport("", ids...) }

// WithoutReport is Without, the relationships with the given ids dropped,
// and the report named (a citation's source name; "" for none) no longer
// counted in the groups' Reports: the knowledge base as if the report had
// not been written, when ids are the relationships only it supports.
func (kb *KB) WithoutReport(report string, ids ...string) *KB {
	v := &KB{Format: kb.Format, Domain: kb.Domain, Modified: kb.Modified, Tactics: kb.Tactics, Techniques: kb.Techniques,
		Groups: slices.Clone(kb.Groups), Software: slices.Clone(kb.Software), Campaigns: slices.Clone(kb.Campaigns),
		Revoked: kb.Revoked, Procedures: kb.Procedures, src: kb.src, rels: kb.rels}
	// The texts are shared once decoded (or their error).
	v.text, v.textErr = kb.texts()
	drop := make(map[string]bool, len(ids))
	for _, id := range ids {
		drop[id] = true
	}
	// Links of the dropped relationships, then those that another
	// relationship of the same source keeps.
	type link struct{ src, dst string }
	gone := make(map[link]bool)
	for _, r := range kb.rels {
		if drop[r.ID] {
			gone[link{r.Source, r.Target}] = true
		}
	}
	if len(gone) == 0 && report == "" {
		return v
	}
	// The report classifier was learned from every report; the view
	// cannot hold one out of it, so it has none (setRegression gives it
	// one learned without).
	v.setRegression(learned{})
	v.Procedures = slices.DeleteFunc(slices.Clone(kb.Procedures), func(p Procedure) bool { return drop[p.Rel] })
	v.rels = make([]Relationship, 0, len(kb.rels))
	for _, r := range kb.rels {
		if !drop[r.ID] {
			v.rels = append(v.rels, r)
			delete(gone, link{r.Source, r.Target})
		}
	}
	// cut returns list without the targets src lost, as a fresh slice
	// (the old one is kb's), or list itself when it lost none.
	cut := func(src string, list []string) []string {
		if !slices.ContainsFunc(list, func(id string) bool { return gone[link{src, id}] }) {
			return list
		}
		return slices.DeleteFunc(slices.Clone(list), func(id string) bool { return gone[link{src, id}] })
	}
	for i := range v.Groups {
		g := &v.Groups[i]
		g.Techniques, g.Software, g.Associated = cut(g.ID, g.Techniques), cut(g.ID, g.Software), cut(g.ID, g.Associated)
	}
	for i := range v.Software {
		s := &v.Software[i]
		s.Techniques = cut(s.ID, s.Techniques)
	}
	for i := range v.Campaigns {
		c := &v.Campaigns[i]
		c.Techniques, c.Software = cut(c.ID, c.Techniques), cut(c.ID, c.Software)
	}
	if report != "" {
		v.countReports(report)
	} else {
		v.countReports()
	}
	return v
}
