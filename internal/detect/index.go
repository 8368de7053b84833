package detect

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// index routes an event to the bucket of rule variants its Channel and
// EventID allow.
type index struct {
	channels map[string]*chanIndex
	// folded holds the channels for case-insensitive look-ups.
	folded []string
	// other serves events of channels no Source names (and events without a
	// Channel): only variants that accept any channel.
	other *chanIndex
}

// chanIndex holds the buckets of one channel.
type chanIndex struct {
	byID map[uint32]*bucket
	any  *bucket // events whose EventID has no bucket of its own
}

// bucket is the set of rule variants an event may match, with the
// automata that prefilter them.
type bucket struct {
	// variants are all the variants, by index.
	variants []int32
	// always are the variants that require no literal, by index.
	always []int32
	// scans are the per-field automata over the needles of the variants.
	scans []fieldScan
}

// fieldScan is the automaton of one field in one bucket.
type fieldScan struct {
	field int32 // 0: every field (keywords)
	ac    *automaton
	// needles maps the automaton's needle numbers to needle ids.
	needles []int32
	// triggers lists, per automaton needle number, the variants (by index)
	// that a find of the needle makes candidates.
	triggers [][]int32
}

// buildIndex places every variant in the buckets of its channel and event
// IDs.
func buildIndex(e *Engine) index {
	ix := index{channels: map[string]*chanIndex{}}
	// Group variants by channel ("" = any channel).
	byChan := map[string][]*variant{}
	var names []string
	for _, v := range e.variants {
		key := v.channel
		if _, ok := byChan[key]; !ok && key != "" {
			names = append(names, key)
		}
		byChan[key] = append(byChan[key], v)
	}
	// Channels that differ only in case share an index.
	canon := map[string]string{}
	var chans []string
	for _, n := range names {
		f := strings.ToLower(n)
		if c, ok := canon[f]; ok {
			byChan[c] = append(byChan[c], byChan[n]...)
			continue
		}
		canon[f] = n
		chans = append(chans, n)
	}
	anyChan := byChan[""]
	cache := map[string]*bucket{}
	for _, ch := range chans {
		ci := makeChanIndex(e, append(slices.Clone(byChan[ch]), anyChan...), cache)
		ix.channels[ch] = ci
		ix.folded = append(ix.folded, ch)
	}
	ix.other = makeChanIndex(e, anyChan, cache)
	return ix
}

// makeChanIndex builds the buckets of one channel from its variants.
func makeChanIndex(e *Engine, vs []*variant, cache map[string]*bucket) *chanIndex {
	ci := &chanIndex{byID: map[uint32]*bucket{}}
	var anyID []*variant
	ids := map[uint32][]*variant{}
	for _, v := range vs {
		if len(v.eventIDs) == 0 {
			anyID = append(anyID, v)
			continue
		}
		for _, id := range v.eventIDs {
			if !slices.Contains(ids[id], v) {
				ids[id] = append(ids[id], v)
			}
		}
	}
	ci.any = makeBucket(e, anyID, cache)
	for id, vs := range ids {
		ci.byID[id] = makeBucket(e, append(slices.Clone(vs), anyID...), cache)
	}
	return ci
}

// makeBucket builds a bucket for a set of variants, sharing buckets with
// the same variants.
func makeBucket(e *Engine, vs []*variant, cache map[string]*bucket) *bucket {
	b := &bucket{}
	for _, v := range vs {
		b.variants = append(b.variants, v.index)
	}
	slices.Sort(b.variants)
	b.variants = slices.Compact(b.variants)
	var key []byte
	for _, v := range b.variants {
		key = binary.AppendUvarint(key, uint64(v))
	}
	if c, ok := cache[string(key)]; ok {
		return c
	}
	cache[string(key)] = b

	// Every needle of every node of the variants goes into its field's
	// automaton, so that each pattern can trust the prefilter; the needles
	// of a variant's need trigger it.
	type fieldNeedles struct {
		local    map[int32]int32
		needles  []int32
		triggers [][]int32
	}
	fields := map[int32]*fieldNeedles{}
	add := func(id int32) int32 {
		d := e.needles[id]
		fn := fields[d.field]
		if fn == nil {
			fn = &fieldNeedles{local: map[int32]int32{}}
			fields[d.field] = fn
		}
		if l, ok := fn.local[id]; ok {
			return l
		}
		l := int32(len(fn.needles))
		fn.local[id] = l
		fn.needles = append(fn.needles, id)
		fn.triggers = append(fn.triggers, nil)
		return l
	}
	for _, vi := range b.variants {
		v := e.variants[vi]
		walkNeedles(v.cond, func(id int32) { add(id) })
		for _, s := range v.searches {
			walkNeedles(s.node, func(id int32) { add(id) })
		}
		for _, f := range v.filters {
			walkNeedles(f, func(id int32) { add(id) })
		}
		if v.need.any {
			b.always = append(b.always, vi)
			continue
		}
		for _, id := range v.need.needles {
			l := add(id)
			fn := fields[e.needles[id].field]
			fn.triggers[l] = append(fn.triggers[l], vi)
		}
	}
	fids := make([]int32, 0, len(fields))
	for f := range fields {
		fids = append(fids, f)
	}
	slices.Sort(fids)
	for _, f := range fids {
		fn := fields[f]
		lits := make([]string, len(fn.needles))
		for k, id := range fn.needles {
			lits[k] = e.needles[id].lit
		}
		b.scans = append(b.scans, fieldScan{field: f, ac: buildAutomaton(lits), needles: fn.needles, triggers: fn.triggers})
	}
	return b
}

// walkNeedles calls fn with every needle of the patterns under n.
func walkNeedles(n node, fn func(int32)) {
	switch x := n.(type) {
	case andNode:
		for _, k := range x {
			walkNeedles(k, fn)
		}
	case orNode:
		for _, k := range x {
			walkNeedles(k, fn)
		}
	case notNode:
		walkNeedles(x.x, fn)
	case *fieldNode:
		walkPredNeedles(x.pred, fn)
	case *keywordNode:
		walkPredNeedles(x.pred, fn)
	}
}

func walkPredNeedles(p valuePred, fn func(int32)) {
	switch x := p.(type) {
	case *strPred:
		for _, pt := range x.pats {
			if pt.needle >= 0 {
				fn(pt.needle)
			}
		}
	case *rePred:
		if x.needle >= 0 {
			fn(x.needle)
		}
	case *numEqPred:
		if x.needle >= 0 {
			fn(x.needle)
		}
	case *multiPred:
		for _, k := range x.preds {
			walkPredNeedles(k, fn)
		}
	}
}

// lookup returns the bucket for the current event of st; lastChan caches
// the previous channel's index.
func (ix *index) lookup(st *state, m *Matcher) *bucket {
	ci := ix.other
	if i := st.name(st.eng.nameChannel); i >= 0 {
		if v := st.ev.Fields[i].Value; v.Kind() == event.String {
			ch := v.Str()
			if m.lastChan != nil && ch == m.lastChanName {
				ci = m.lastChan
			} else {
				ci = ix.channel(ch)
				m.lastChan, m.lastChanName = ci, ch
			}
		}
	}
	if len(ci.byID) > 0 {
		if i := st.name(st.eng.nameEventID); i >= 0 {
			if id, ok := eventID(st.ev.Fields[i].Value); ok {
				if b := ci.byID[id]; b != nil {
					return b
				}
			}
		}
	}
	return ci.any
}

// channel returns the index of a channel, compared without regard to case.
func (ix *index) channel(ch string) *chanIndex {
	if ci := ix.channels[ch]; ci != nil {
		return ci
	}
	for _, c := range ix.folded {
		if strings.EqualFold(c, ch) {
			return ix.channels[c]
		}
	}
	return ix.other
}

// eventID reads an EventID value: a number, or a string of decimal digits.
func eventID(v event.Value) (uint32, bool) {
	switch v.Kind() {
	case event.Uint, event.Int, event.Float:
		f, _ := v.Number()
		if f >= 0 && f < 1<<32 && f == float64(uint32(f)) {
			return uint32(f), true
		}
	case event.String:
		s := v.Str()
		if len(s) == 0 || len(s) > 10 {
			return 0, false
		}
		var n uint64
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + uint64(s[i]-'0')
		}
		if n < 1<<32 {
			return uint32(n), true
		}
	}
	return 0, false
}

// filtersFor returns the filters that apply to r: those naming its id or
// name, and those naming no rule whose logsource fields (those set) equal
// r's.
func filtersFor(r *sigma.Rule, filters []*sigma.Filter) []*sigma.Filter {
	var out []*sigma.Filter
	for _, f := range filters {
		if len(f.Rules) == 0 {
			ls, fl := r.Logsource, f.Logsource
			if (fl.Product == "" || fl.Product == ls.Product) &&
				(fl.Category == "" || fl.Category == ls.Category) &&
				(fl.Service == "" || fl.Service == ls.Service) {
				out = append(out, f)
			}
			continue
		}
		for _, ref := range f.Rules {
			if ref != "" && (ref == r.ID || ref == r.Name) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}
