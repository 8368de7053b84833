package detect

import "github.com/spoor-hunt/spoor/internal/event"

// Keyword searches (a list of values under a search identifier, no field):
// a keyword matches when the text of any field value of the event (each
// field separately, each element of a List separately; field names are not
// searched) contains it. Keywords are implicitly contains and may hold
// wildcards; the values of one keyword search are ORed, or ANDed with
// '|all' (each keyword in some field, not necessarily the same one).

// keywordNode applies a predicate to every field value of the event.
type keywordNode struct{ pred valuePred }

func (n *keywordNode) eval(st *state) bool {
	for i := range st.ev.Fields {
		v := st.ev.Fields[i].Value
		if v.Kind() == event.List {
			list := v.List()
			base := st.elems(i, len(list))
			for k, e := range list {
				if n.pred.match(st, e, base+k) {
					return true
				}
			}
			continue
		}
		if n.pred.match(st, v, i) {
			return true
		}
	}
	return false
}

func (n *keywordNode) need() need { return n.pred.need() }
