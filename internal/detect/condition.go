package detect

import (
	"fmt"
	"strings"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// Conditions: and, or, not and parentheses map to andNode, orNode and
// notNode (the parser has already applied precedence). "1 of P" is the OR
// and "all of P" the AND of the searches whose names match the pattern P
// (`*` wildcards); "them" is every search whose name does not start with an
// underscore. A pattern matching no search is an error, as is a name that
// is not a search. A rule's list of conditions is ORed.

// conditionNodes compiles the operands of an and or an or.
func conditionNodes(ops []sigma.Expr, searches []namedNode) ([]node, error) {
	var n []node
	for _, o := range ops {
		c, err := conditionNode(o, searches)
		if err != nil {
			return nil, err
		}
		n = append(n, c)
	}
	return n, nil
}

// conditionNode compiles a condition over the compiled searches.
func conditionNode(e sigma.Expr, searches []namedNode) (node, error) {
	switch x := e.(type) {
	case *sigma.AndExpr:
		n, err := conditionNodes(x.Operands, searches)
		if err != nil {
			return nil, err
		}
		return andNode(n), nil
	case *sigma.OrExpr:
		n, err := conditionNodes(x.Operands, searches)
		if err != nil {
			return nil, err
		}
		return orNode(n), nil
	case *sigma.NotExpr:
		c, err := conditionNode(x.Operand, searches)
		if err != nil {
			return nil, err
		}
		return notNode{c}, nil
	case *sigma.IdentExpr:
		for _, s := range searches {
			if s.name == x.Name {
				return s.node, nil
			}
		}
		return nil, fmt.Errorf("%w: no search named %q", ErrCondition, x.Name)
	case *sigma.OfExpr:
		var kids []node
		if x.Pattern == "them" {
			for _, s := range searches {
				if !strings.HasPrefix(s.name, "_") {
					kids = append(kids, s.node)
				}
			}
		} else {
			p := compilePattern(parseString(x.Pattern), true)
			for _, s := range searches {
				if p.match(s.name) {
					kids = append(kids, s.node)
				}
			}
		}
		if len(kids) == 0 {
			return nil, fmt.Errorf("%w: %q matches no search", ErrCondition, x.Pattern)
		}
		if len(kids) == 1 {
			return kids[0], nil
		}
		if x.All {
			return andNode(kids), nil
		}
		return orNode(kids), nil
	case nil:
		return nil, fmt.Errorf("%w: empty condition", ErrCondition)
	}
	return nil, fmt.Errorf("%w: unknown expression %T", ErrCondition, e)
}

// eventIDsOf returns the event IDs an event must have for n to match, when
// n requires the EventID field to equal one of a few numbers.
func eventIDsOf(e *Engine, n node) ([]uint32, bool) {
	switch x := n.(type) {
	case andNode:
		var ids []uint32
		found := false
		for _, k := range x {
			if s, ok := eventIDsOf(e, k); ok {
				if !found {
					ids, found = s, true
				} else {
					ids = intersect(ids, s)
				}
			}
		}
		return ids, found
	case orNode:
		var ids []uint32
		for _, k := range x {
			s, ok := eventIDsOf(e, k)
			if !ok {
				return nil, false
			}
			for _, id := range s {
				if !containsID(ids, id) {
					ids = append(ids, id)
				}
			}
		}
		return ids, len(x) > 0
	case *fieldNode:
		if x.field != e.fieldEventID || x.neq {
			return nil, false
		}
		return predEventIDs(x.pred)
	}
	return nil, false
}

func predEventIDs(p valuePred) ([]uint32, bool) {
	switch x := p.(type) {
	case *numEqPred:
		if x.n >= 0 && x.n < 1<<32 && x.n == float64(uint32(x.n)) {
			return []uint32{uint32(x.n)}, true
		}
	case *strPred:
		if x.all && len(x.pats) > 1 {
			return nil, false
		}
		var ids []uint32
		for _, pt := range x.pats {
			if pt.kind != patExact {
				return nil, false
			}
			f, ok := parseNumber(pt.lit)
			if !ok || f < 0 || f >= 1<<32 || f != float64(uint32(f)) || pt.lit != fmt.Sprint(uint32(f)) {
				return nil, false
			}
			ids = append(ids, uint32(f))
		}
		return ids, len(ids) > 0
	case *multiPred:
		if x.all {
			return nil, false
		}
		var ids []uint32
		for _, k := range x.preds {
			s, ok := predEventIDs(k)
			if !ok {
				return nil, false
			}
			ids = append(ids, s...)
		}
		return ids, true
	}
	return nil, false
}

func containsID(ids []uint32, id uint32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
