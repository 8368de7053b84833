package detect

import (
	"unsafe"

	"github.com/spoor-hunt/spoor/internal/event"
)

// state is the per-event scratch state of one Matcher: where each field
// the rules name sits in the event, the text of fields rendered and
// lower-cased at most once per event, and which needles the prefilter
// found. Every slot carries the generation of the event it belongs to, so
// nothing is cleared between events and nothing is allocated once the
// buffers have grown to the size of the largest event.
type state struct {
	eng *Engine
	ev  *event.Event
	gen uint32

	// By field name id: the index of the field in ev.
	nameGen []uint32
	nameIdx []int32

	// By field index in ev: rendered text and lower-cased text.
	txtGen []uint32
	txtStr []string
	lowGen []uint32
	lowStr []string

	// arena holds rendered and lower-cased text of the current event.
	arena []byte

	// By needle id: whether the needle occurs in its field.
	needleGen []uint32
}

func newState(e *Engine) state {
	return state{
		eng:       e,
		nameGen:   make([]uint32, len(e.nameList)),
		nameIdx:   make([]int32, len(e.nameList)),
		needleGen: make([]uint32, len(e.needles)),
	}
}

// reset prepares st for ev: a new generation, and the index of every field
// whose name a rule uses.
func (st *state) reset(ev *event.Event) {
	st.ev = ev
	st.gen++
	if st.gen == 0 { // wrapped: forget everything
		clear(st.nameGen)
		clear(st.txtGen)
		clear(st.lowGen)
		clear(st.needleGen)
		st.gen = 1
	}
	st.arena = st.arena[:0]
	if n := len(ev.Fields); n > len(st.txtGen) {
		st.txtGen = append(st.txtGen, make([]uint32, n-len(st.txtGen))...)
		st.txtStr = append(st.txtStr, make([]string, n-len(st.txtStr))...)
		st.lowGen = append(st.lowGen, make([]uint32, n-len(st.lowGen))...)
		st.lowStr = append(st.lowStr, make([]string, n-len(st.lowStr))...)
	}
	names := st.eng.names
	for i := range ev.Fields {
		if id, ok := names[ev.Fields[i].Name]; ok {
			st.nameGen[id] = st.gen
			st.nameIdx[id] = int32(i)
		}
	}
}

// name returns the index in the event of the field with name id, or -1.
func (st *state) name(id int32) int {
	if st.nameGen[id] == st.gen {
		return int(st.nameIdx[id])
	}
	return -1
}

// field returns the index in the event of a resolved field: the first of
// its candidate names present, or -1.
func (st *state) field(fid int32) int {
	for _, id := range st.eng.fieldNames[fid] {
		if st.nameGen[id] == st.gen {
			return int(st.nameIdx[id])
		}
	}
	return -1
}

// found reports whether the prefilter found the needle in its field.
func (st *state) found(needle int32) bool { return st.needleGen[needle] == st.gen }

// text returns the text rendering of v, the value of field i of the event
// (cached), or a list element when i is -1.
func (st *state) text(v event.Value, i int) string {
	if v.Kind() == event.String {
		return v.Str()
	}
	if i >= 0 && st.txtGen[i] == st.gen {
		return st.txtStr[i]
	}
	off := len(st.arena)
	st.arena = v.AppendText(st.arena)
	s := st.view(off)
	if i >= 0 {
		st.txtGen[i], st.txtStr[i] = st.gen, s
	}
	return s
}

// lower returns the lower-cased text of v, cached like text.
func (st *state) lower(v event.Value, i int) string {
	if i >= 0 && st.lowGen[i] == st.gen {
		return st.lowStr[i]
	}
	t := st.text(v, i)
	s := t
	if !isLower(t) {
		off := len(st.arena)
		st.arena = appendLower(st.arena, t)
		s = st.view(off)
	}
	if i >= 0 {
		st.lowGen[i], st.lowStr[i] = st.gen, s
	}
	return s
}

// view returns arena[off:] as a string without copying. The arena is only
// appended to during an event, and a grown arena leaves the old array to
// the strings that point into it, so views stay valid for the whole event.
func (st *state) view(off int) string {
	b := st.arena[off:]
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
