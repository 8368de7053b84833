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

	// By text slot: rendered text and lower-cased text. Slot i < len(Fields)
	// is field i's value; the slots after hold the elements of List values
	// (see elems).
	txtGen []uint32
	txtStr []string
	lowGen []uint32
	lowStr []string

	// By field index: the first slot of a List value's elements.
	listGen  []uint32
	listBase []int32
	nextSlot int

	// shapes caches the name ids of recent event shapes.
	shapes [64]shape

	// arena holds rendered and lower-cased text of the current event.
	arena []byte

	// By needle id: whether the needle occurs in its field.
	needleGen []uint32

	// scanned is the current bucket's set of needles its automata look
	// for, by needle id.
	scanned []uint64

	// exhaustive turns the prefilter off (every needle counts as found and
	// every routed variant is evaluated), for tests that check the
	// prefilter changes no result.
	exhaustive bool
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
		clear(st.listGen)
		clear(st.needleGen)
		st.gen = 1
	}
	st.arena = st.arena[:0]
	st.nextSlot = len(ev.Fields)
	st.grow(st.nextSlot)
	for i, id := range st.nameIDs(ev) {
		if id >= 0 {
			st.nameGen[id] = st.gen
			st.nameIdx[id] = int32(i)
		}
	}
}

// shape is the field names of an event (most events share theirs with many
// others: one per EVTX template) and their name ids, -1 for names no rule
// uses. The names are copied, as a reader's event may alias its buffers.
type shape struct {
	buf  []byte
	ends []int
	ids  []int32
}

// nameIDs returns the name id of every field of ev, from a small cache of
// event shapes or from the engine's map.
func (st *state) nameIDs(ev *event.Event) []int32 {
	key := uint32(len(ev.Fields))
	for i := range ev.Fields {
		key = key*31 + uint32(len(ev.Fields[i].Name))
	}
	sh := &st.shapes[(key^key>>7)%uint32(len(st.shapes))]
	if len(sh.ids) == len(ev.Fields) {
		start, same := 0, true
		for i := range ev.Fields {
			if string(sh.buf[start:sh.ends[i]]) != ev.Fields[i].Name {
				same = false
				break
			}
			start = sh.ends[i]
		}
		if same {
			return sh.ids
		}
	}
	sh.buf, sh.ends, sh.ids = sh.buf[:0], sh.ends[:0], sh.ids[:0]
	names := st.eng.names
	for i := range ev.Fields {
		name := ev.Fields[i].Name
		sh.buf = append(sh.buf, name...)
		sh.ends = append(sh.ends, len(sh.buf))
		id, ok := names[name]
		if !ok {
			id = -1
		}
		sh.ids = append(sh.ids, id)
	}
	return sh.ids
}

// grow makes room for n text slots.
func (st *state) grow(n int) {
	if n > len(st.txtGen) {
		n = max(n, 2*len(st.txtGen))
		st.txtGen = append(st.txtGen, make([]uint32, n-len(st.txtGen))...)
		st.txtStr = append(st.txtStr, make([]string, n-len(st.txtStr))...)
		st.lowGen = append(st.lowGen, make([]uint32, n-len(st.lowGen))...)
		st.lowStr = append(st.lowStr, make([]string, n-len(st.lowStr))...)
		st.listGen = append(st.listGen, make([]uint32, n-len(st.listGen))...)
		st.listBase = append(st.listBase, make([]int32, n-len(st.listBase))...)
	}
}

// elems returns the first text slot of the n elements of field i's List
// value, so that their texts are rendered once per event too.
func (st *state) elems(i, n int) int {
	if st.listGen[i] == st.gen {
		return int(st.listBase[i])
	}
	base := st.nextSlot
	st.nextSlot += n
	st.grow(st.nextSlot)
	st.listGen[i], st.listBase[i] = st.gen, int32(base)
	return base
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

// absent reports whether the prefilter proved a needle absent from its
// field's text: it looked for it (the needle is in the current bucket's
// automata) and did not find it.
func (st *state) absent(needle int32) bool {
	return !st.exhaustive && st.scanned[needle>>6]&(1<<(needle&63)) != 0 && st.needleGen[needle] != st.gen
}

// present reports whether the prefilter found the needle.
func (st *state) present(needle int32) bool {
	return !st.exhaustive && st.needleGen[needle] == st.gen
}

// text returns the text rendering of v, the value in text slot i (cached),
// or of an uncached value when i is -1.
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
	if k := firstUpper(t); k >= 0 {
		off := len(st.arena)
		st.arena = append(st.arena, t[:k]...)
		st.arena = appendLower(st.arena, t[k:])
		s = st.view(off)
	}
	if i >= 0 {
		st.lowGen[i], st.lowStr[i] = st.gen, s
	}
	return s
}

// folded returns the text of v (slot i, as for text) for the prefilter's
// scanners, which fold ASCII case as they read: the text itself when it is
// ASCII, its lower-cased form otherwise.
func (st *state) folded(v event.Value, i int) string {
	if st.lowGen[i] == st.gen {
		return st.lowStr[i]
	}
	if t := st.text(v, i); v.KnownASCII() || isASCII(t) {
		return t
	}
	return st.lower(v, i)
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
