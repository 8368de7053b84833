package detect

import (
	"slices"
	"strings"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Matcher matches events against an Engine's rules. It holds the scratch
// state that makes matching free of allocation, so it is not safe for
// concurrent use: give each worker goroutine its own (Engine.NewMatcher).
type Matcher struct {
	eng *Engine
	st  state

	// By variant index: the event in which a clause of its need was met,
	// and the clauses met (bit k for clause k) in that event.
	varGen []uint32
	varMet []uint8
	// By rule index: the event in which it matched.
	ruleGen []uint32
	cands   []int32
	names   []string

	lastChan     *chanIndex
	lastChanName []byte // a copy: the event's own string is the reader's

	stats Stats
}

// Stats counts a Matcher's work, for measuring the prefilter.
type Stats struct {
	// Events is the number of events matched.
	Events int64
	// Routed is the number of rule variants in the buckets the events were
	// routed to (before the literal prefilter).
	Routed int64
	// Evaluated is the number of rule variants whose condition was
	// evaluated.
	Evaluated int64
	// Detections is the number of detections reported.
	Detections int64
}

// NewMatcher returns a Matcher for e.
func (e *Engine) NewMatcher() *Matcher {
	return &Matcher{
		eng:     e,
		st:      newState(e),
		varGen:  make([]uint32, len(e.variants)),
		varMet:  make([]uint8, len(e.variants)),
		ruleGen: make([]uint32, len(e.rules)),
	}
}

// Stats returns the counts since the Matcher was made.
func (m *Matcher) Stats() Stats { return m.stats }

// Variants returns the number of compiled rule variants (a rule has one
// per Source of its Route), the denominator of Stats.Evaluated.
func (e *Engine) Variants() int { return len(e.variants) }

// Match appends to dst a Detection for every rule that matches ev, in rule
// order, and returns the extended slice. ev is only read; it must not
// change during the call. The Detections point to ev (see Detection).
func (m *Matcher) Match(ev *event.Event, dst []Detection) []Detection {
	st := &m.st
	st.reset(ev)
	if st.gen == 1 {
		// The generation wrapped (or this is the first event): forget
		// the marks of earlier events.
		clear(m.varGen)
		clear(m.ruleGen)
	}
	m.stats.Events++
	b := m.eng.index.lookup(st, m)
	if len(b.variants) == 0 {
		return dst
	}
	m.stats.Routed += int64(len(b.variants))
	m.cands = m.cands[:0]
	st.scanned = b.scanned
	for k := range b.scans {
		m.scan(&b.scans[k])
	}
	sortInt32(m.cands)
	m.names = m.names[:0]
	// Evaluate always ∪ cands in index order.
	al, cs := b.always, m.cands
	if st.exhaustive {
		al, cs = b.variants, nil
	}
	for len(al) > 0 || len(cs) > 0 {
		var vi int32
		switch {
		case len(cs) == 0 || len(al) > 0 && al[0] < cs[0]:
			vi, al = al[0], al[1:]
		default:
			vi, cs = cs[0], cs[1:]
		}
		dst = m.eval(m.eng.variants[vi], dst)
	}
	return dst
}

// eval evaluates one variant and appends its detection.
func (m *Matcher) eval(v *variant, dst []Detection) []Detection {
	st := &m.st
	if m.ruleGen[v.rule.index] == st.gen {
		return dst // another variant of the rule matched already
	}
	if v.provider != "" {
		i := st.name(m.eng.nameProvider)
		if i < 0 || !strings.EqualFold(st.text(st.ev.Fields[i].Value, i), v.provider) {
			return dst
		}
	}
	m.stats.Evaluated++
	if !v.cond.eval(st) {
		return dst
	}
	for _, f := range v.filters {
		if f.eval(st) {
			return dst
		}
	}
	m.ruleGen[v.rule.index] = st.gen
	start := len(m.names)
	for _, s := range v.searches {
		if s.node.eval(st) {
			m.names = append(m.names, s.name)
		}
	}
	m.stats.Detections++
	return append(dst, Detection{Rule: v.rule, Event: st.ev, Searches: m.names[start:len(m.names):len(m.names)]})
}

// scan runs one field's automaton over the field's lower-cased text (every
// field for keywords), records the needles found and makes candidates of
// the variants they trigger.
func (m *Matcher) scan(fs *fieldScan) {
	st := &m.st
	if fs.field == 0 {
		for i := range st.ev.Fields {
			m.scanValue(fs, st.ev.Fields[i].Value, i)
		}
		return
	}
	if i := st.field(fs.field); i >= 0 {
		m.scanValue(fs, st.ev.Fields[i].Value, i)
	}
}

func (m *Matcher) scanValue(fs *fieldScan, v event.Value, i int) {
	switch v.Kind() {
	case event.String:
	case event.List:
		list := v.List()
		base := m.st.elems(i, len(list))
		for k, e := range list {
			m.scanValue(fs, e, base+k)
		}
		return
	default:
		if fs.stringsOnly {
			return // no needle can occur in the rendering of a number, time or bool
		}
	}
	m.scanText(fs, m.st.folded(v, i))
}

// scanText runs the scanners of fs over t, which they read ASCII-folded.
func (m *Matcher) scanText(fs *fieldScan, t string) {
	hit := func(l int32) { m.hit(fs, l) }
	if fs.rare != nil {
		fs.rare.find(t, hit)
		return
	}
	if fs.shift != nil {
		fs.shift.find(t, hit)
		return
	}
	if fs.ac != nil {
		fs.ac.find(t, hit)
	}
	if fs.grams != nil {
		fs.grams.find(t, hit)
	}
}

// hit records that needle l of fs was found.
func (m *Matcher) hit(fs *fieldScan, l int32) {
	st := &m.st
	g := fs.needles[l]
	if st.needleGen[g] == st.gen {
		return
	}
	st.needleGen[g] = st.gen
	for _, t := range fs.triggers[l] {
		vi := t / maxClauses
		if m.varGen[vi] != st.gen {
			m.varGen[vi] = st.gen
			m.varMet[vi] = 0
		}
		bit := uint8(1) << (t % maxClauses)
		if m.varMet[vi]&bit == 0 {
			m.varMet[vi] |= bit
			if m.varMet[vi] == m.eng.clauseMask[vi] {
				m.cands = append(m.cands, vi)
			}
		}
	}
}

// sortInt32 sorts a short slice in place (insertion sort: candidates are
// few and nearly sorted).
func sortInt32(a []int32) {
	if len(a) > 64 {
		slicesSort(a)
		return
	}
	for i := 1; i < len(a); i++ {
		x := a[i]
		j := i
		for j > 0 && a[j-1] > x {
			a[j] = a[j-1]
			j--
		}
		a[j] = x
	}
}

func slicesSort(a []int32) { slices.Sort(a) }
