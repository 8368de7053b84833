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
// prefilter: when any is false, the node can only match if at least one of
// the needles occurs in its field's lower-cased text. any true means no
// literal is required (the node must always be evaluated).
type need struct {
	any     bool
	needles []int32
	// score ranks needs for an AND: the length of the shortest needle.
	score int
}

// anyNeed is the need of a node that requires no literal.
var anyNeed = need{any: true}

// orNeed is the need of "a or b": either's needles.
func orNeed(a, b need) need {
	if a.any || b.any {
		return anyNeed
	}
	n := need{needles: append(slices.Clip(a.needles), b.needles...), score: min(a.score, b.score)}
	slices.Sort(n.needles)
	n.needles = slices.Compact(n.needles)
	return n
}

// andNeed is the need of "a and b": the better one, as both are required.
func andNeed(a, b need) need {
	switch {
	case a.any:
		return b
	case b.any:
		return a
	case b.score > a.score || (b.score == a.score && len(b.needles) < len(a.needles)):
		return b
	}
	return a
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
