package detect

import "github.com/spoor-hunt/spoor/internal/event"

// The exists modifier and the null value.
//
// Field|exists: true matches when the event has the field, whatever its
// value (even empty or Null); false when it has not.
//
// Field: null matches when the field is absent or has no value: a Null
// value, an empty string, or an empty list. (An empty string value ''
// matches a present field whose text is empty, Null included, but not an
// absent field.)

// existsNode tests the presence of a field.
type existsNode struct {
	field int32
	want  bool
}

func (n *existsNode) eval(st *state) bool { return (st.field(n.field) >= 0) == n.want }
func (n *existsNode) need() need          { return anyNeed }

// nullNode matches an absent or empty field.
type nullNode struct{ field int32 }

func (n *nullNode) eval(st *state) bool {
	i := st.field(n.field)
	if i < 0 {
		return true
	}
	v := st.ev.Fields[i].Value
	switch v.Kind() {
	case event.Null:
		return true
	case event.String:
		return v.Str() == ""
	case event.List:
		return len(v.List()) == 0
	}
	return false
}

func (n *nullNode) need() need { return anyNeed }
