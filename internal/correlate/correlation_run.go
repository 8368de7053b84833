package correlate

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// field is one field value of an item; ok is false when the field is
// absent.
type field struct {
	v  string
	ok bool
}

// item is one input of a correlation: a base detection or a window in
// which a referenced correlation held.
type item struct {
	t   time.Time
	src int // index in corr.srcs
	// vals are the values of the source's fields (src.fields).
	vals []field
	// num is the number of the first value field, when isNum.
	num   float64
	isNum bool
	// input is the index of the base Input, or -1; match is the index of
	// the referenced correlation's Match, or -1.
	input, match int
}

// fire is a window in which a correlation held, kept for the correlations
// referencing it.
type fire struct {
	t     time.Time
	group []string // group-by values, in group-by order
	pass  []field  // values of corr.pass shared by the window's inputs
	match int      // index of the Match it belongs to
}

// Run evaluates the correlations over inputs, which may come in any order,
// and returns their matches: the matches of each correlation after those of
// the correlations it references, each correlation's sorted by First then
// group. Inputs whose rule no correlation references, and inputs without a
// time, are ignored. Run does not modify inputs and may be called
// concurrently.
//
// Matches of correlations referenced by others are returned too; the
// caller hides those Suppressed says to hide.
//
// Run returns ctx's error, and no match, when ctx is done before it ends
// (it looks every checkEvery inputs or groups).
func (s *Set) Run(ctx context.Context, inputs []Input) ([]Match, error) {
	byBase := map[*base][]int{}
	for i := range inputs {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		in := &inputs[i]
		if in.Time.IsZero() {
			continue
		}
		if b := s.lookup(in.RuleID, in.RuleName); b != nil {
			byBase[b] = append(byBase[b], i)
		}
	}
	var out []Match
	fires := make([][]fire, len(s.corrs))
	for _, k := range s.corrs {
		var items []item
		for si, sr := range k.srcs {
			if sr.base != nil {
				for _, i := range byBase[sr.base] {
					items = append(items, k.baseItem(si, &inputs[i], i))
				}
				continue
			}
			for _, f := range fires[sr.corr.index] {
				items = append(items, k.chainItem(si, sr.corr, &f))
			}
		}
		f, err := k.run(ctx, items, &out)
		if err != nil {
			return nil, err
		}
		fires[k.index] = f
	}
	return out, nil
}

// checkEvery is how many inputs, groups or detections the long phases
// after a hunt (correlations, operations) handle between two looks at
// their context.
const checkEvery = 1024

// baseItem makes the item of a base input.
func (k *corr) baseItem(si int, in *Input, index int) item {
	sr := k.srcs[si]
	it := item{t: in.Time, src: si, input: index, match: -1, vals: make([]field, len(sr.fields))}
	for i, f := range sr.fields {
		v, ok := in.Fields[f]
		it.vals[i] = field{v, ok}
	}
	k.number(&it)
	return it
}

// chainItem makes the item of a window in which the referenced correlation
// inner held.
func (k *corr) chainItem(si int, inner *corr, f *fire) item {
	sr := k.srcs[si]
	it := item{t: f.t, src: si, input: -1, match: f.match, vals: make([]field, len(sr.fields))}
	for i, name := range sr.fields {
		if g := slices.Index(inner.c.GroupBy, name); g >= 0 {
			it.vals[i] = field{f.group[g], true}
		} else if p := slices.Index(inner.pass, name); p >= 0 {
			it.vals[i] = f.pass[p]
		}
	}
	k.number(&it)
	return it
}

// number parses the first value field of a value_sum, value_avg or
// percentile correlation.
func (k *corr) number(it *item) {
	if k.c.Condition == nil || len(k.valueFields()) == 0 {
		return
	}
	v := it.vals[len(k.c.GroupBy)]
	if v.ok {
		it.num, it.isNum = parseNumber(v.v)
	}
}

// parseNumber reads a decimal or 0x hexadecimal number.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		if u, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			return float64(u), true
		}
	}
	return 0, false
}

// run evaluates the correlation over its items, appends its matches to out
// and returns the windows in which it held.
func (k *corr) run(ctx context.Context, items []item, out *[]Match) ([]fire, error) {
	ng := len(k.c.GroupBy)
	groups := map[string][]int{}
	var keys []string
	var b strings.Builder
	for i := range items {
		it := &items[i]
		b.Reset()
		ok := true
		for g := 0; g < ng; g++ {
			if !it.vals[g].ok {
				ok = false
				break
			}
			b.WriteString(it.vals[g].v)
			b.WriteByte(0)
		}
		if !ok {
			continue
		}
		key := b.String()
		if _, seen := groups[key]; !seen {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], i)
	}
	slices.Sort(keys)

	type found struct {
		key string
		g   []*item
		m   span
		ws  []span
	}
	var all []found
	for n, key := range keys {
		if n%checkEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		g := make([]*item, len(groups[key]))
		for i, x := range groups[key] {
			g[i] = &items[x]
		}
		slices.SortFunc(g, compareItems)
		ms, ws := k.windows(g)
		// Both are in order and every window lies in one match.
		w := 0
		for _, m := range ms {
			from := w
			for w < len(ws) && ws[w].j <= m.j {
				w++
			}
			all = append(all, found{key, g, m, ws[from:w]})
		}
	}
	slices.SortStableFunc(all, func(a, b found) int {
		return cmp.Or(a.g[a.m.s].t.Compare(b.g[b.m.s].t), strings.Compare(a.key, b.key))
	})

	var fires []fire
	for _, f := range all {
		idx := len(*out)
		g, m := f.g, f.m
		match := Match{
			Correlation: k.c,
			First:       g[m.s].t,
			Last:        g[m.j].t,
			Fired:       g[f.ws[0].j].t,
			Value:       m.v,
			Max:         m.max,
			Count:       m.j - m.s + 1,
		}
		for i, name := range k.c.GroupBy {
			match.Group = append(match.Group, Pair{name, g[m.s].vals[i].v})
		}
		members := g[m.s : m.j+1]
		if cc := k.c.Condition; cc != nil && cc.Share {
			// The inputs carrying the values whose share held, in the
			// window where it first held.
			members = rare(g[f.ws[0].s:f.ws[0].j+1], ng, cc.Comparisons)
		}
		for _, it := range members {
			if it.input >= 0 {
				match.Inputs = append(match.Inputs, it.input)
			} else {
				match.Parts = append(match.Parts, it.match)
				match.Inputs = append(match.Inputs, (*out)[it.match].Inputs...)
			}
		}
		slices.Sort(match.Inputs)
		match.Inputs = slices.Compact(match.Inputs)
		slices.Sort(match.Parts)
		match.Parts = slices.Compact(match.Parts)
		*out = append(*out, match)

		if len(k.users) == 0 {
			continue
		}
		group := make([]string, ng)
		for i := range group {
			group[i] = g[m.s].vals[i].v
		}
		for _, w := range f.ws {
			fires = append(fires, fire{t: g[w.j].t, group: group, pass: k.shared(g[w.s : w.j+1]), match: idx})
		}
	}
	return fires, nil
}

// shared returns, for each pass field, the value every item of the window
// has, or an absent field when they differ or one lacks it.
func (k *corr) shared(w []*item) []field {
	if len(k.pass) == 0 {
		return nil
	}
	out := make([]field, len(k.pass))
	for p := range k.pass {
		var v field
		for i, it := range w {
			x := it.vals[len(it.vals)-len(k.pass)+p]
			if i == 0 {
				v = x
			} else if !x.ok || x.v != v.v {
				v = field{}
			}
			if !v.ok {
				break
			}
		}
		out[p] = v
	}
	return out
}

// compareItems orders items by time, then source (the order the rules are
// listed in), then values and origin, so that the order of Run's inputs
// does not matter.
func compareItems(a, b *item) int {
	if c := a.t.Compare(b.t); c != 0 {
		return c
	}
	if c := cmp.Compare(a.src, b.src); c != 0 {
		return c
	}
	for i := range a.vals {
		x, y := a.vals[i], b.vals[i]
		if x.ok != y.ok {
			if x.ok {
				return 1
			}
			return -1
		}
		if c := strings.Compare(x.v, y.v); c != 0 {
			return c
		}
	}
	return cmp.Or(cmp.Compare(a.input, b.input), cmp.Compare(a.match, b.match))
}
