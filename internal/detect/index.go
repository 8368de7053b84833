package detect

import (
	"encoding/binary"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

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
	// cache shares the automata of the buckets, built lazily.
	cache *indexCache
}

// chanIndex holds the buckets of one channel.
type chanIndex struct {
	byID map[uint32]*bucket
	any  *bucket // events whose EventID has no bucket of its own
}

// bucket is the set of rule variants an event may match, with the
// automata that prefilter them.
//
// A bucket's prefilter (always, scans, scanned) is built on the first
// event routed to it (see index.ready): a hunt sees a few of the channels
// and event IDs the rules name, and the automata are most of the cost of
// compiling. variants is set at Compile.
type bucket struct {
	// built is set, with release semantics, once the fields below
	// variants are; mu serialises their building.
	built atomic.Bool
	mu    sync.Mutex
	// variants are all the variants, by index.
	variants []int32
	// always are the variants that require no literal, by index.
	always []int32
	// scans are the per-field automata over the trigger needles of the
	// variants.
	scans []fieldScan
	// scanned is the set of needles the automata look for, by needle id.
	scanned []uint64
}

// fieldScan is the automaton of one field in one bucket.
type fieldScan struct {
	field int32 // 0: every field (keywords)
	// ac finds the needles (or, when grams is set, the short ones).
	ac *automaton
	// grams finds the needles of four bytes or more of large sets.
	grams *gramSet
	// rare, when set, finds all the needles (one or two, long) instead;
	// shift, when set, finds all the needles (few and long) instead.
	rare  *rareSet
	shift *shiftSet
	// stringsOnly: no needle can occur in the text of a number, time or
	// bool, so only String values are scanned.
	stringsOnly bool
	// needles maps the automaton's needle numbers to needle ids.
	needles []int32
	// triggers lists, per automaton needle number, the clauses of variants
	// that a find of the needle satisfies (see trigger); a variant becomes
	// a candidate when all its clauses are.
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
	cache := &indexCache{buckets: map[string]*bucket{}, automata: map[string]*scannerEntry{}}
	ix.cache = cache
	// The channels' indexes are built on all cores (Compile waits for
	// them); buckets with the same variants are shared through cache.
	cis := make([]*chanIndex, len(chans))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, ch := range chans {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cis[i] = makeChanIndex(e, channelVariants(byChan[ch], anyChan), cache)
		})
	}
	ix.other = makeChanIndex(e, anyChan, cache)
	wg.Wait()
	for i, ch := range chans {
		ix.channels[ch] = cis[i]
		ix.folded = append(ix.folded, ch)
	}
	return ix
}

// channelVariants returns the variants of one channel: its own, then those
// of any channel that are not redundant with them.
func channelVariants(own, anyChan []*variant) []*variant {
	vs := make([]*variant, 0, len(own)+len(anyChan))
	vs = append(vs, own...)
	// The channel's variants by rule: redundant only compares variants of
	// the same rule.
	var byRule map[*Rule][]*variant
	for _, v := range anyChan {
		if v.provider != "" && byRule == nil {
			byRule = make(map[*Rule][]*variant, len(own))
			for _, w := range own {
				byRule[w.rule] = append(byRule[w.rule], w)
			}
		}
		if !redundant(v, byRule[v.rule]) {
			vs = append(vs, v)
		}
	}
	return vs
}

// redundant reports whether the any-channel variant v adds nothing to the
// variants of one channel: v only narrows by provider, and a variant of the
// same rule for that channel, without a provider, has the same field names
// and at least v's event IDs. (A pipeline gives a log both as a channel
// and as a provider, for events without a Channel field.)
func redundant(v *variant, chanVariants []*variant) bool {
	if v.provider == "" {
		return false
	}
	for _, w := range chanVariants {
		if w.rule != v.rule || w.provider != "" || !sameFields(v.fields, w.fields) {
			continue
		}
		if len(w.eventIDs) == 0 {
			return true
		}
		if len(v.eventIDs) > 0 && len(intersect(v.eventIDs, w.eventIDs)) == len(v.eventIDs) {
			return true
		}
	}
	return false
}

// sameFields reports whether two field-name maps are equal.
func sameFields(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		if y, ok := b[k]; !ok || !slices.Equal(x, y) {
			return false
		}
	}
	return true
}

// makeChanIndex builds the buckets of one channel from its variants.
func makeChanIndex(e *Engine, vs []*variant, cache *indexCache) *chanIndex {
	ci := &chanIndex{byID: map[uint32]*bucket{}}
	var anyID []*variant
	ids := map[uint32][]*variant{}
	for _, v := range vs {
		if len(v.eventIDs) == 0 {
			anyID = append(anyID, v)
			continue
		}
		for _, id := range v.eventIDs {
			// v's IDs are handled together: v is already listed
			// for id only if last (a repeated ID).
			if l := ids[id]; len(l) == 0 || l[len(l)-1] != v {
				ids[id] = append(l, v)
			}
		}
	}
	ci.any = makeBucket(e, anyID, cache)
	for id, vs := range ids {
		ci.byID[id] = makeBucket(e, append(slices.Clone(vs), anyID...), cache)
	}
	return ci
}

// allNeedles puts every needle of every pattern in the automata, not only
// the needles that trigger variants, so that patterns can skip work when
// their needle is absent. Off: on the evtxcorpus, scanning for the extra
// needles costs more (about 15%) than the evaluations it shortens save.
const allNeedles = false

// makeBucket builds a bucket for a set of variants, sharing buckets with
// the same variants.
func makeBucket(e *Engine, vs []*variant, cache *indexCache) *bucket {
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
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if c, ok := cache.buckets[string(key)]; ok {
		return c
	}
	cache.buckets[string(key)] = b
	return b
}

// ready returns b with its prefilter built, building it on first use. It
// is safe for concurrent Matchers, and does not allocate once built.
func (ix *index) ready(e *Engine, b *bucket) *bucket {
	if !b.built.Load() {
		ix.buildBucket(e, b)
	}
	return b
}

// buildBucket builds b unless another Matcher did.
func (ix *index) buildBucket(e *Engine, b *bucket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.built.Load() {
		b.build(e, ix.cache)
		b.built.Store(true)
	}
}

// build builds the prefilter of b's variants.
func (b *bucket) build(e *Engine, cache *indexCache) {
	// The needles of each variant's need go into their field's automaton
	// and make the variant a candidate when found. Patterns whose needle
	// is among them skip the work when it is absent; the others are
	// matched in full (only for candidates).
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
	b.scanned = make([]uint64, (len(e.needles)+63)/64)
	addScanned := func(id int32) {
		add(id)
		b.scanned[id>>6] |= 1 << (id & 63)
	}
	for _, vi := range b.variants {
		v := e.variants[vi]
		if allNeedles {
			walkNeedles(v.cond, addScanned)
			for _, s := range v.searches {
				walkNeedles(s.node, addScanned)
			}
			for _, f := range v.filters {
				walkNeedles(f, addScanned)
			}
		}
		if v.need.any || len(v.need.clauses) == 0 {
			b.always = append(b.always, vi)
			continue
		}
		for k, c := range v.need.clauses {
			for _, id := range c.needles {
				l := add(id)
				b.scanned[id>>6] |= 1 << (id & 63)
				fn := fields[e.needles[id].field]
				fn.triggers[l] = append(fn.triggers[l], trigger(vi, k))
			}
		}
	}
	fids := make([]int32, 0, len(fields))
	for f := range fields {
		fids = append(fids, f)
	}
	slices.Sort(fids)
	// The fields' scanners are built in parallel: another Matcher
	// routed to this bucket waits for it, and on its core the build
	// goes faster.
	scs := make([]scanners, len(fids))
	var wg sync.WaitGroup
	for k := 1; k < len(fids); k++ {
		wg.Go(func() { scs[k] = cache.automaton(e, fields[fids[k]].needles) })
	}
	if len(fids) > 0 {
		scs[0] = cache.automaton(e, fields[fids[0]].needles)
	}
	wg.Wait()
	for k, f := range fids {
		fn := fields[f]
		sc := scs[k]
		b.scans = append(b.scans, fieldScan{field: f, ac: sc.ac, grams: sc.grams, rare: sc.rare, shift: sc.shift,
			stringsOnly: sc.stringsOnly, needles: fn.needles, triggers: fn.triggers})
	}
}

// trigger encodes clause k of variant vi.
func trigger(vi int32, k int) int32 { return vi*maxClauses + int32(k) }

// indexCache shares buckets with the same variants and automata with the
// same needles between the buckets of an index. buckets is only used by
// Compile; automata is used by the lazy builds of buckets, under mu.
type indexCache struct {
	mu       sync.Mutex // guards buckets and automata
	buckets  map[string]*bucket
	automata map[string]*scannerEntry
}

// scannerEntry is an automata cache entry, built once.
type scannerEntry struct {
	once sync.Once
	s    scanners
}

// scanners are the scanners of one field scan: a shiftSet, or an automaton
// and a gram set.
type scanners struct {
	ac          *automaton
	grams       *gramSet
	rare        *rareSet
	shift       *shiftSet
	stringsOnly bool
}

// maxDFABytes bounds the DFA of a needle set; larger sets put their needles
// of four bytes or more in a gramSet, whose working set stays in cache.
const maxDFABytes = 64 << 10

// automaton returns the scanners of the needles (by id, in order; the
// local number of a needle is its index).
func (c *indexCache) automaton(e *Engine, needles []int32) scanners {
	var key []byte
	for _, id := range needles {
		key = binary.AppendUvarint(key, uint64(id))
	}
	c.mu.Lock()
	ent := c.automata[string(key)]
	if ent == nil {
		ent = &scannerEntry{}
		c.automata[string(key)] = ent
	}
	c.mu.Unlock()
	ent.once.Do(func() { ent.s = buildScanners(e, needles) })
	return ent.s
}

// buildScanners builds the scanners of the needles.
func buildScanners(e *Engine, needles []int32) scanners {
	lits := make([]string, len(needles))
	s := scanners{stringsOnly: true}
	for k, id := range needles {
		lits[k] = e.needles[id].lit
		if renderable(lits[k]) {
			s.stringsOnly = false
		}
	}
	if s.rare = buildRareSet(lits); s.rare != nil {
		return s
	}
	if s.shift = buildShiftSet(lits); s.shift != nil {
		return s
	}
	if dfaCells(lits)*4 <= maxDFABytes {
		s.ac = buildAutomaton(lits)
	} else {
		short, shortNums, long, longNums := splitShort(lits)
		s.ac = nil
		if len(short) > 0 {
			s.ac = buildAutomatonNums(short, shortNums)
		}
		s.grams = buildGramSet(long, longNums)
	}
	return s
}

// splitShort splits lits, too many for one automaton, into the short ones
// (under 4 bytes, for an automaton) and the others (for a gram set), each
// with its number in lits.
func splitShort(lits []string) (short []string, shortNums []int32, long []string, longNums []int32) {
	for k, l := range lits {
		if len(l) < 4 {
			short, shortNums = append(short, l), append(shortNums, int32(k))
		} else {
			long, longNums = append(long, l), append(longNums, int32(k))
		}
	}
	return short, shortNums, long, longNums
}

// dfaCells returns the size (len(next)) of buildAutomaton(lits) without
// building it: its states are the distinct prefixes of the needles (the
// root included), each a row of one cell per byte class (one per distinct
// byte of the needles, plus one for the others).
func dfaCells(lits []string) int {
	var seen [256]bool
	classes := 1
	for _, l := range lits {
		for i := 0; i < len(l); i++ {
			if !seen[l[i]] {
				seen[l[i]] = true
				classes++
			}
		}
	}
	sorted := slices.Clone(lits)
	slices.Sort(sorted)
	// In sorted order, a needle's new prefixes are those longer than its
	// common prefix with the needle before it.
	states, prev := 1, ""
	for _, l := range sorted {
		n := 0
		for n < len(l) && n < len(prev) && l[n] == prev[n] {
			n++
		}
		states += len(l) - n
		prev = l
	}
	return states * classes
}

// renderable reports whether the lower-cased text of a number, time or
// bool value could contain lit: whether lit only has bytes such texts have
// (digits, signs, separators of times and floats, "true", "false", "nan",
// "inf", the "t" and "z" of times).
func renderable(lit string) bool {
	for i := 0; i < len(lit); i++ {
		if !strings.ContainsRune("0123456789+-.:eEtTzZnaiflrsu", rune(lit[i])) {
			return false
		}
	}
	return true
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
// the previous channel's index under a copy of its name (the event's string
// is the reader's and changes under us once the reader reuses its buffer).
func (ix *index) lookup(st *state, m *Matcher) *bucket {
	ci := ix.other
	if i := st.name(st.eng.nameChannel); i >= 0 {
		if v := st.ev.Fields[i].Value; v.Kind() == event.String {
			ch := v.Str()
			if m.lastChan != nil && ch == string(m.lastChanName) {
				ci = m.lastChan
			} else {
				ci = ix.channel(ch)
				m.lastChan, m.lastChanName = ci, append(m.lastChanName[:0], ch...)
			}
		}
	}
	if len(ci.byID) > 0 {
		if i := st.name(st.eng.nameEventID); i >= 0 {
			if id, ok := eventID(st.ev.Fields[i].Value); ok {
				if b := ci.byID[id]; b != nil {
					return ix.ready(st.eng, b)
				}
			}
		}
	}
	return ix.ready(st.eng, ci.any)
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
