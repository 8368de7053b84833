package correlate

import (
	"math"
	"slices"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// shareAgg is value_percentile as the specification's example writes it
// (no condition.percentile): whether some value of the field is carried by
// a share of the window's inputs that satisfies the bounds. It keeps each
// value's count in the window and a Fenwick tree of how many values have
// each count, so that the smallest count within the bounds is found in
// O(log n) per window.
type shareAgg struct {
	g     []*item
	at    int // the value field in item.vals
	cmps  []sigma.Comparison
	count map[string]int
	tree  []int // Fenwick tree over counts 1..len(g): how many values have each
	n     int   // inputs in the window that have the field
}

func newShareAgg(g []*item, at int, cmps []sigma.Comparison) *shareAgg {
	return &shareAgg{g: g, at: at, cmps: cmps, count: map[string]int{}, tree: make([]int, len(g)+1)}
}

// bump adds d to the number of values having count c.
func (a *shareAgg) bump(c, d int) {
	for ; c > 0 && c < len(a.tree); c += c & -c {
		a.tree[c] += d
	}
}

// upTo returns how many values have a count of at most c.
func (a *shareAgg) upTo(c int) int {
	c = min(c, len(a.tree)-1)
	s := 0
	for ; c > 0; c -= c & -c {
		s += a.tree[c]
	}
	return s
}

// kth returns the k-th smallest count (from 1) among the values.
func (a *shareAgg) kth(k int) int {
	pos, step := 0, 1
	for step*2 < len(a.tree) {
		step *= 2
	}
	for ; step > 0; step /= 2 {
		if next := pos + step; next < len(a.tree) && a.tree[next] < k {
			pos = next
			k -= a.tree[next]
		}
	}
	return pos + 1
}

func (a *shareAgg) update(i, d int) {
	v := a.g[i].vals[a.at]
	if !v.ok {
		return
	}
	c := a.count[v.v]
	a.bump(c, -1)
	c += d
	a.bump(c, 1)
	if c == 0 {
		delete(a.count, v.v)
	} else {
		a.count[v.v] = c
	}
	a.n += d
}

func (a *shareAgg) add(i int)    { a.update(i, 1) }
func (a *shareAgg) remove(i int) { a.update(i, -1) }

// value returns the share, in percent, of the rarest value whose share
// satisfies every bound, and false when no value's does.
func (a *shareAgg) value(int) (float64, bool) {
	lo, hi, not, ok := countBounds(a.cmps, a.n)
	if !ok {
		return 0, false
	}
	for lo <= hi {
		below := a.upTo(lo - 1)
		if a.upTo(hi) == below {
			return 0, false
		}
		c := a.kth(below + 1)
		if !slices.Contains(not, c) {
			return 100 * float64(c) / float64(a.n), true
		}
		lo = c + 1
	}
	return 0, false
}

// countBounds turns the bounds on a share, in percent, of n inputs into
// bounds on a value's count (share = 100·c/n): the counts from lo to hi,
// but those in not. ok is false when no count can satisfy them.
func countBounds(cmps []sigma.Comparison, n int) (lo, hi int, not []int, ok bool) {
	if n == 0 {
		return 0, 0, nil, false
	}
	lo, hi = 1, n
	for _, cmp := range cmps {
		t := cmp.Value * float64(n) / 100
		if math.IsNaN(t) {
			return 0, 0, nil, false
		}
		t = max(-1, min(t, float64(n)+1)) // within int, and past any count
		whole := math.Abs(t-math.Round(t)) < 1e-9
		if whole {
			t = math.Round(t)
		}
		switch cmp.Op {
		case "gt":
			lo = max(lo, int(math.Floor(t))+1)
		case "gte":
			lo = max(lo, int(math.Ceil(t)))
		case "lt":
			hi = min(hi, int(math.Ceil(t))-1)
		case "lte":
			hi = min(hi, int(math.Floor(t)))
		case "eq":
			if !whole {
				return 0, 0, nil, false
			}
			lo, hi = max(lo, int(t)), min(hi, int(t))
		case "neq":
			if whole {
				not = append(not, int(t))
			}
		}
	}
	return lo, hi, not, lo <= hi
}

// rare returns the items of window w whose value's share satisfies the
// bounds: the inputs a value_percentile share match is about (the rare
// process, not the computer's other process creations).
func rare(w []*item, at int, cmps []sigma.Comparison) []*item {
	count := map[string]int{}
	n := 0
	for _, it := range w {
		if v := it.vals[at]; v.ok {
			count[v.v]++
			n++
		}
	}
	lo, hi, not, ok := countBounds(cmps, n)
	if !ok {
		return nil
	}
	var out []*item
	for _, it := range w {
		if v := it.vals[at]; v.ok {
			if c := count[v.v]; c >= lo && c <= hi && !slices.Contains(not, c) {
				out = append(out, it)
			}
		}
	}
	return out
}
