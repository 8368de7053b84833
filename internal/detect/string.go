package detect

import (
	"slices"

	"github.com/spoor-hunt/spoor/internal/event"
)

// The generic string modifiers contains, startswith and endswith put `*`
// wildcards around a Sigma string (see sigmaString.wrap); cased compares it
// as written instead of case-insensitively. This file holds the predicate
// matching those patterns against a field's text.

// strPred matches a value's text against patterns: any of them, or all of
// them with the all modifier.
type strPred struct {
	pats  []pattern
	all   bool
	cased bool
	// keyword is set in keyword searches, where the prefilter's findings
	// cover all fields at once and so only rule out matches.
	keyword bool
}

func (p *strPred) match(st *state, v event.Value, i int) bool {
	var t string
	if p.cased {
		t = st.text(v, i)
	} else {
		t = st.lower(v, i)
	}
	return p.test(st, t, i >= 0 && i < len(st.ev.Fields) && !p.keyword)
}

// test matches the text t. scanned says the prefilter scanned exactly t, so
// a found needle of a plain contains pattern is a match.
func (p *strPred) test(st *state, t string, scanned bool) bool {
	for k := range p.pats {
		if p.pats[k].test(st, t, scanned) != p.all {
			return !p.all
		}
	}
	return p.all
}

// test matches t, using the prefilter's findings: a pattern whose needle the
// prefilter looked for and did not find anywhere in the field cannot match.
func (p *pattern) test(st *state, t string, scanned bool) bool {
	if p.needle >= 0 {
		if st.absent(p.needle) {
			return false
		}
		if scanned && p.kind == patContains && !p.cased && st.present(p.needle) {
			return true
		}
	}
	return p.match(t)
}

func (p *strPred) need() need {
	if !p.all && len(p.pats) > 1 {
		return p.orNeed()
	}
	var r need
	for k := range p.pats {
		pt := &p.pats[k]
		n := anyNeed
		if pt.needle >= 0 {
			n = needleNeed(pt.needle, len(pt.needleLit))
		}
		switch {
		case k == 0:
			r = n
		case p.all:
			r = andNeed(r, n)
		default:
			r = orNeed(r, n)
		}
	}
	return r
}

// orNeed is the need of the OR of the patterns, as folding them with
// orNeed gives it (one clause of every needle, scored by the shortest)
// without re-sorting the growing clause at each pattern.
func (p *strPred) orNeed() need {
	c := clause{needles: make([]int32, 0, len(p.pats))}
	for k := range p.pats {
		pt := &p.pats[k]
		if pt.needle < 0 {
			return anyNeed
		}
		if k == 0 || len(pt.needleLit) < c.score {
			c.score = len(pt.needleLit)
		}
		c.needles = append(c.needles, pt.needle)
	}
	slices.Sort(c.needles)
	c.needles = slices.Compact(c.needles)
	return need{clauses: []clause{c}}
}
