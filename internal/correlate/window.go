package correlate

import (
	"math"
	"slices"
	"strings"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// span is a run of a group's sorted items, s to j inclusive, with the
// aggregate v of a window (and, for a match, max: the largest aggregate of
// its windows).
type span struct {
	s, j   int
	v, max float64
}

// windows slides the correlation's window over g, the items of one group
// sorted by compareItems, and returns the matches (satisfying windows that
// share items, merged) and every satisfying window, in order. It runs in
// O(n log n) time and holds state only for the items inside the window
// (see the package documentation for which windows are evaluated).
func (k *corr) windows(g []*item) (matches, ws []span) {
	a := k.newAgg(g)
	ts := k.c.Timespan
	s := 0
	for j := range g {
		a.add(j)
		for g[j].t.Sub(g[s].t) > ts {
			a.remove(s)
			s++
		}
		if j+1 < len(g) && g[j+1].t.Equal(g[j].t) {
			continue // equal times arrive together
		}
		if !k.upward && j+1 < len(g) && g[j+1].t.Sub(g[s].t) <= ts {
			continue // not maximal: the next item joins this window
		}
		v, ok := a.value(s)
		// A share aggregate only reports a value whose share holds (its
		// bounds are checked on counts, exactly).
		if _, share := a.(*shareAgg); !ok || (!share && !k.holds(v)) {
			continue
		}
		ws = append(ws, span{s: s, j: j, v: v, max: v})
		if n := len(matches); n > 0 && s <= matches[n-1].j {
			m := &matches[n-1]
			m.j = j
			m.max = math.Max(m.max, v)
			continue
		}
		matches = append(matches, span{s: s, j: j, v: v, max: v})
	}
	return matches, ws
}

// holds reports whether the aggregate v satisfies the condition: every
// bound, or for temporal types without a condition, every listed rule.
func (k *corr) holds(v float64) bool {
	if k.c.Condition == nil {
		switch k.c.Type {
		case sigma.TemporalOrdered:
			return v >= float64(len(k.order))
		default:
			return v >= float64(len(k.srcs))
		}
	}
	for _, c := range k.c.Condition.Comparisons {
		var ok bool
		switch c.Op {
		case "gt":
			ok = v > c.Value
		case "gte":
			ok = v >= c.Value
		case "lt":
			ok = v < c.Value
		case "lte":
			ok = v <= c.Value
		case "eq":
			ok = v == c.Value
		case "neq":
			ok = v != c.Value
		}
		if !ok {
			return false
		}
	}
	return true
}

// agg is the running aggregate of a window over a group's sorted items:
// items enter with add and leave with remove, in order.
type agg interface {
	add(i int)
	remove(i int)
	// value returns the aggregate of the window starting at item s, and
	// false when there is none (no number in the window).
	value(s int) (float64, bool)
}

func (k *corr) newAgg(g []*item) agg {
	ng := len(k.c.GroupBy)
	switch k.c.Type {
	case sigma.ValueCount:
		return &distinctAgg{g: g, from: ng, to: ng + len(k.valueFields()), seen: map[string]int{}}
	case sigma.Temporal:
		return &rulesAgg{g: g, per: make([]int, len(k.srcs))}
	case sigma.TemporalOrdered:
		return newOrderedAgg(g, k.order)
	case sigma.ValueSum:
		return &sumAgg{g: g}
	case sigma.ValueAvg:
		return &sumAgg{g: g, avg: true}
	case sigma.ValuePercentile, sigma.ValueMedian:
		if k.c.Condition.Share {
			return newShareAgg(g, ng, k.c.Condition.Comparisons)
		}
		return newPercentileAgg(g, k.percentile)
	}
	return &countAgg{}
}

// countAgg counts the items (event_count).
type countAgg struct{ n int }

func (a *countAgg) add(int)                   { a.n++ }
func (a *countAgg) remove(int)                { a.n-- }
func (a *countAgg) value(int) (float64, bool) { return float64(a.n), true }

// distinctAgg counts the distinct values, or tuples of values, of the
// condition fields among the items that have them all (value_count).
type distinctAgg struct {
	g        []*item
	from, to int // the value fields in item.vals
	seen     map[string]int
}

func (a *distinctAgg) key(i int) (string, bool) {
	vs := a.g[i].vals[a.from:a.to]
	if len(vs) == 1 {
		return vs[0].v, vs[0].ok
	}
	var b strings.Builder
	for _, v := range vs {
		if !v.ok {
			return "", false
		}
		b.WriteString(v.v)
		b.WriteByte(0)
	}
	return b.String(), true
}

func (a *distinctAgg) add(i int) {
	if k, ok := a.key(i); ok {
		a.seen[k]++
	}
}

func (a *distinctAgg) remove(i int) {
	if k, ok := a.key(i); ok {
		if a.seen[k]--; a.seen[k] == 0 {
			delete(a.seen, k)
		}
	}
}

func (a *distinctAgg) value(int) (float64, bool) { return float64(len(a.seen)), true }

// rulesAgg counts the distinct sources among the items (temporal).
type rulesAgg struct {
	g        []*item
	per      []int
	distinct int
}

func (a *rulesAgg) add(i int) {
	if a.per[a.g[i].src]++; a.per[a.g[i].src] == 1 {
		a.distinct++
	}
}

func (a *rulesAgg) remove(i int) {
	if a.per[a.g[i].src]--; a.per[a.g[i].src] == 0 {
		a.distinct--
	}
}

func (a *rulesAgg) value(int) (float64, bool) { return float64(a.distinct), true }

// orderedAgg measures the longest prefix of the listed rules matched in
// order (temporal_ordered). best[m] is the latest item that starts a chain
// matching the first m+1 listed rules in order among the items added so
// far, or -1; a chain starting at or after the window's first item lies in
// the window. best never increases with m, since a longer chain contains a
// shorter one with the same start.
type orderedAgg struct {
	g     []*item
	order []int // listed rules as source indices
	best  []int
}

func newOrderedAgg(g []*item, order []int) *orderedAgg {
	a := &orderedAgg{g: g, order: order, best: make([]int, len(order))}
	for i := range a.best {
		a.best[i] = -1
	}
	return a
}

func (a *orderedAgg) add(i int) {
	src := a.g[i].src
	// Descending, so that one item does not fill two places of a chain.
	for m := len(a.order) - 1; m >= 0; m-- {
		if a.order[m] != src {
			continue
		}
		start := i
		if m > 0 {
			start = a.best[m-1]
		}
		if start > a.best[m] {
			a.best[m] = start
		}
	}
}

func (a *orderedAgg) remove(int) {}

func (a *orderedAgg) value(s int) (float64, bool) {
	n := 0
	for n < len(a.best) && a.best[n] >= s {
		n++
	}
	return float64(n), true
}

// sumAgg sums the numbers of the items (value_sum), or averages them
// (value_avg).
type sumAgg struct {
	g   []*item
	avg bool
	sum float64
	n   int
}

func (a *sumAgg) add(i int) {
	if it := a.g[i]; it.isNum {
		a.sum += it.num
		a.n++
	}
}

func (a *sumAgg) remove(i int) {
	if it := a.g[i]; it.isNum {
		a.sum -= it.num
		a.n--
		if a.n == 0 {
			a.sum = 0 // no drift carried into the next numbers
		}
	}
}

func (a *sumAgg) value(int) (float64, bool) {
	if a.n == 0 {
		return 0, false
	}
	if a.avg {
		return a.sum / float64(a.n), true
	}
	return a.sum, true
}

// percentileAgg keeps the numbers of the window in a Fenwick tree over the
// group's distinct numbers, so that adding, removing and finding the k-th
// smallest each take O(log n) (value_percentile, value_median).
type percentileAgg struct {
	g    []*item
	p    float64
	vals []float64 // the group's distinct numbers, sorted
	rank []int     // per item, the index of its number in vals
	tree []int     // Fenwick tree of counts, 1-based
	n    int
}

func newPercentileAgg(g []*item, p float64) *percentileAgg {
	a := &percentileAgg{g: g, p: p, rank: make([]int, len(g))}
	for _, it := range g {
		if it.isNum {
			a.vals = append(a.vals, it.num)
		}
	}
	slices.Sort(a.vals)
	a.vals = slices.Compact(a.vals)
	for i, it := range g {
		if it.isNum {
			a.rank[i], _ = slices.BinarySearch(a.vals, it.num)
		}
	}
	a.tree = make([]int, len(a.vals)+1)
	return a
}

func (a *percentileAgg) update(i, d int) {
	if !a.g[i].isNum {
		return
	}
	a.n += d
	for x := a.rank[i] + 1; x < len(a.tree); x += x & -x {
		a.tree[x] += d
	}
}

func (a *percentileAgg) add(i int)    { a.update(i, 1) }
func (a *percentileAgg) remove(i int) { a.update(i, -1) }

// kth returns the k-th smallest number in the window, from 0.
func (a *percentileAgg) kth(k int) float64 {
	pos, step := 0, 1
	for step*2 < len(a.tree) {
		step *= 2
	}
	for ; step > 0; step /= 2 {
		if next := pos + step; next < len(a.tree) && a.tree[next] <= k {
			pos = next
			k -= a.tree[next]
		}
	}
	return a.vals[pos] // pos is 1-based for the element just past the prefix
}

func (a *percentileAgg) value(int) (float64, bool) {
	if a.n == 0 {
		return 0, false
	}
	r := a.p / 100 * float64(a.n-1)
	lo := int(math.Floor(r))
	v := a.kth(lo)
	if frac := r - float64(lo); frac > 0 && lo+1 < a.n {
		v += (a.kth(lo+1) - v) * frac
	}
	return v, true
}
