package detect

import (
	"strings"

	"github.com/spoor-hunt/spoor/internal/event"
)

// The fieldref modifier: the value names another field of the same event,
// and the field must equal that field's value (case-insensitively unless
// cased), or start with, end with or contain it with startswith, endswith or
// contains. With neq, the fields must differ. When the referenced field is
// absent the comparison fails (so neq fails too). A List is compared by its
// text, elements joined by ", ".

// fieldrefPred compares a value with another field's value.
type fieldrefPred struct {
	other int32
	mode  patKind // patExact, patPrefix, patSuffix or patContains
	cased bool
	neq   bool
}

func (p *fieldrefPred) match(st *state, v event.Value, i int) bool {
	j := st.field(p.other)
	if j < 0 {
		return false
	}
	w := st.ev.Fields[j].Value
	var t, ref string
	if p.cased {
		t, ref = st.text(v, i), st.text(w, j)
	} else {
		t, ref = st.lower(v, i), st.lower(w, j)
	}
	var ok bool
	switch p.mode {
	case patPrefix:
		ok = strings.HasPrefix(t, ref)
	case patSuffix:
		ok = strings.HasSuffix(t, ref)
	case patContains:
		ok = strings.Contains(t, ref)
	default:
		ok = t == ref
	}
	return ok != p.neq
}

func (p *fieldrefPred) need() need { return anyNeed }
