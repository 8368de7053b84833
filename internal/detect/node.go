package detect

import (
	"slices"

	"github.com/spoor-hunt/spoor/internal/event"
)

// node is one node of a compiled matcher tree. eval runs per event and must
// not allocate; need runs at compile time only.
type node interface {
	// eval reports whether the node matches the event held by st.
	eval(st *state) bool
	// need returns the literals the node cannot match without.
	need() need
}

// need is a necessary condition for a node to match, used by the
// prefilter: when any is false, the node can only match if each of its
// clauses holds, a clause holding when at least one of its needles occurs
// in its field's lower-cased text. any true means no literal is required
// (the node must always be evaluated). A need keeps at most maxClauses
// clauses, the most selective first.
type need struct {
	any     bool
	clauses []clause
}

// clause is a set of needles of which at least one is required.
type clause struct {
	needles []int32 // sorted
	// score ranks clauses: the length of the shortest needle.
	score int
}

// maxClauses bounds the clauses of a need: a variant becomes a candidate
// when the prefilter finds a needle of each.
const maxClauses = 2

// anyNeed is the need of a node that requires no literal.
var anyNeed = need{any: true}

// needleNeed is the need of a node that requires one needle.
func needleNeed(id int32, score int) need {
	return need{clauses: []clause{{needles: []int32{id}, score: score}}}
}

// better reports whether clause a is more selective than b.
func (a *clause) better(b *clause) bool {
	return a.score > b.score || a.score == b.score && len(a.needles) < len(b.needles)
}

// orNeed is the need of "a or b": clause k of the result is the union of
// the k-th clauses of a and b (the last one of the shorter).
func orNeed(a, b need) need {
	if a.any || b.any {
		return anyNeed
	}
	n := need{}
	for k := range max(len(a.clauses), len(b.clauses)) {
		x := &a.clauses[min(k, len(a.clauses)-1)]
		y := &b.clauses[min(k, len(b.clauses)-1)]
		c := clause{needles: append(slices.Clip(x.needles), y.needles...), score: min(x.score, y.score)}
		slices.Sort(c.needles)
		c.needles = slices.Compact(c.needles)
		n.clauses = append(n.clauses, c)
	}
	return n.best()
}

// andNeed is the need of "a and b": the best clauses of both, as all are
// required.
func andNeed(a, b need) need {
	switch {
	case a.any:
		return b
	case b.any:
		return a
	}
	return need{clauses: append(slices.Clip(a.clauses), b.clauses...)}.best()
}

// best sorts the clauses, most selective first, drops those implied by
// another (supersets of another clause) and keeps maxClauses.
func (n need) best() need {
	slices.SortStableFunc(n.clauses, func(a, b clause) int {
		switch {
		case a.better(&b):
			return -1
		case b.better(&a):
			return 1
		}
		return 0
	})
	out := n.clauses[:0]
	for _, c := range n.clauses {
		implied := false
		for _, o := range out {
			if isSubset(o.needles, c.needles) {
				implied = true
				break
			}
		}
		if !implied {
			out = append(out, c)
		}
	}
	n.clauses = out[:min(len(out), maxClauses)]
	return n
}

// isSubset reports whether the sorted set a is a subset of the sorted set b.
func isSubset(a, b []int32) bool {
	if len(a) > len(b) {
		return false
	}
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			return false
		}
		j++
	}
	return true
}

// andNode matches when all its operands match.
type andNode []node

func (n andNode) eval(st *state) bool {
	for _, x := range n {
		if !x.eval(st) {
			return false
		}
	}
	return true
}

func (n andNode) need() need {
	r := anyNeed
	for _, x := range n {
		r = andNeed(r, x.need())
	}
	return r
}

// orNode matches when any operand matches.
type orNode []node

func (n orNode) eval(st *state) bool {
	for _, x := range n {
		if x.eval(st) {
			return true
		}
	}
	return false
}

func (n orNode) need() need {
	if len(n) == 0 {
		return anyNeed
	}
	r := n[0].need()
	for _, x := range n[1:] {
		r = orNeed(r, x.need())
	}
	return r
}

// notNode matches when its operand does not.
type notNode struct{ x node }

func (n notNode) eval(st *state) bool { return !n.x.eval(st) }
func (n notNode) need() need          { return anyNeed }

// valuePred tests one scalar value of a field (never a List: fieldNode
// tests list elements one by one).
type valuePred interface {
	// match tests v, the value in text slot i (see state): i is the
	// field's index for a field's own value, so the prefilter's findings
	// are exact for it; a later slot for a List element.
	match(st *state, v event.Value, i int) bool
	need() need
}

// fieldNode applies a predicate to the value of one field.
//
// An absent field never matches (with neq neither: neq means the field is
// present and different). A List value matches when any element matches;
// with neq, when no element matches.
type fieldNode struct {
	field int32
	pred  valuePred
	neq   bool
}

func (n *fieldNode) eval(st *state) bool {
	i := st.field(n.field)
	if i < 0 {
		return false
	}
	v := st.ev.Fields[i].Value
	var ok bool
	if v.Kind() == event.List {
		list := v.List()
		base := st.elems(i, len(list))
		for k, e := range list {
			if n.pred.match(st, e, base+k) {
				ok = true
				break
			}
		}
	} else {
		ok = n.pred.match(st, v, i)
	}
	return ok != n.neq
}

func (n *fieldNode) need() need {
	if n.neq {
		return anyNeed
	}
	return n.pred.need()
}

// multiPred combines the predicates of a value list: OR, or AND with the
// all modifier.
type multiPred struct {
	preds []valuePred
	all   bool
}

func (p *multiPred) match(st *state, v event.Value, i int) bool {
	for _, x := range p.preds {
		if x.match(st, v, i) != p.all {
			return !p.all
		}
	}
	return p.all
}

func (p *multiPred) need() need {
	r := p.preds[0].need()
	for _, x := range p.preds[1:] {
		if p.all {
			r = andNeed(r, x.need())
		} else {
			r = orNeed(r, x.need())
		}
	}
	return r
}
