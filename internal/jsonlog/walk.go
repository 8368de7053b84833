package jsonlog

import (
	"github.com/spoor-hunt/spoor/internal/event"
)

// Sections of an event a field comes from. When two fields meet under one
// name, same-section fields join in a List; otherwise the data field takes
// its section's name as prefix (EventData_ProcessID), as in the evtx reader,
// so that System fields keep their names.
const (
	secData   uint8 = iota // EventData, and the keys of flat objects
	secSystem              // System fields (and candidates that took a canonical name)
	secUser                // UserData
	secOther               // other sections of an evtx_dump Event, named with a prefix
)

func sectionPrefix(sec uint8) string {
	switch sec {
	case secData:
		return "EventData_"
	case secUser:
		return "UserData_"
	}
	return ""
}

// fieldMeta is what the builder knows about a field while it walks.
type fieldMeta struct {
	cand
	sec     uint8
	won     bool // the field took its canonical name
	merged  bool // the value is a List made of repeated names
	renamed bool // the field has been given its section prefix
}

// builder walks one JSON object and emits its fields into ev.
type builder struct {
	parser
	ev   event.Event
	meta []fieldMeta
	sec  uint8 // section of the fields being emitted

	wlb6, wlb7, evtx bool // shape markers seen in the current object

	table    []int32 // name hash table of dedup
	tmp      []event.Field
	tmpMeta  []fieldMeta
	sysOrder []int32
}

func (b *builder) begin() {
	b.ev.Reset()
	clear(b.meta)
	b.meta = b.meta[:0]
	b.wlb6, b.wlb7, b.evtx = false, false, false
	b.sec = secData
}

func (b *builder) emit(name string, v event.Value, c cand) {
	b.ev.Fields = append(b.ev.Fields, event.Field{Name: name, Value: v})
	b.meta = append(b.meta, fieldMeta{cand: c, sec: b.sec})
}

// emitSys emits a field that is a canonical System field by structure (an
// evtx_dump System element).
func (b *builder) emitSys(name string, v event.Value) {
	if c := canonOf(name); c != cNone {
		v, _, _ = b.normalize(c, v)
	}
	b.emit(name, v, cand{})
}

// members walks the object at p.pos, calling f for each member with its key
// and p.pos at its value, which f must consume.
func (b *builder) members(f func(k string) error) error {
	empty, err := b.objStart()
	if err != nil || empty {
		return err
	}
	for {
		k, err := b.key()
		if err != nil {
			return err
		}
		if err := f(k); err != nil {
			return err
		}
		more, err := b.objNext()
		if err != nil || !more {
			return err
		}
	}
}

// object walks the event object at p.pos and completes the event.
func (b *builder) object() error {
	b.begin()
	err := b.members(func(k string) (err error) {
		if b.d[b.pos] == '{' {
			switch k {
			case "winlog":
				b.wlb7 = true
				err = b.flatten(k)
			case "event_data":
				b.wlb6 = true
				err = b.eventData()
			case "user_data":
				b.wlb6 = true
				err = b.section("", true)
			case "Event":
				b.evtx = true
				err = b.evtxEvent()
			default:
				err = b.flatten(k)
			}
		} else {
			var v event.Value
			v, err = b.value()
			if k == "log_name" {
				b.wlb6 = true
			}
			b.emit(k, v, topCand(k))
		}
		return err
	})
	if err != nil {
		return err
	}
	b.finish()
	return nil
}

// flatten walks a nested object of a flat or Winlogbeat event, emitting its
// leaves under their dotted paths.
func (b *builder) flatten(prefix string) error {
	return b.members(func(k string) (err error) {
		path := b.join(prefix, k)
		if b.d[b.pos] == '{' {
			switch path {
			case "winlog.event_data":
				err = b.eventData()
			case "winlog.user_data":
				err = b.section("", true)
			default:
				err = b.flatten(path)
			}
		} else {
			var v event.Value
			v, err = b.value()
			b.emit(path, v, pathCand(path))
		}
		return err
	})
}

// eventData walks an EventData object (evtx_dump Event.EventData,
// Winlogbeat event_data): named Data by name, unnamed Data as one "Data"
// field, Binary as "Binary".
func (b *builder) eventData() error {
	prev := b.sec
	b.sec = secData
	defer func() { b.sec = prev }()
	return b.members(func(k string) (err error) {
		switch {
		case k == "#attributes":
			err = b.skip()
		case k == "Data":
			err = b.unnamedData()
		case b.d[b.pos] == '{':
			var v event.Value
			v, _, err = b.elem()
			b.emit(k, v, cand{})
		default:
			var v event.Value
			v, err = b.value()
			b.emit(k, v, cand{})
		}
		return err
	})
}

// unnamedData reads the value of an EventData "Data" key: a value, a list
// of values, or elements ({"#text": ..}, with a Name attribute when the
// exporter kept it).
func (b *builder) unnamedData() error {
	switch b.d[b.pos] {
	case '{':
		v, name, err := b.elem()
		if name != "" {
			b.emit(name, v, cand{})
		} else {
			b.emit(event.FieldData, v, cand{})
		}
		return err
	case '[':
	default:
		v, err := b.value()
		b.emit(event.FieldData, v, cand{})
		return err
	}
	base := len(b.stack)
	err := b.elements(func() (err error) {
		var v event.Value
		var name string
		if b.d[b.pos] == '{' {
			v, name, err = b.elem()
		} else {
			v, err = b.value()
		}
		if err != nil {
			return err
		}
		if name != "" {
			b.emit(name, v, cand{})
		} else {
			b.stack = append(b.stack, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch len(b.stack) - base {
	case 0: // no unnamed Data (or all of them were named)
	case 1:
		b.emit(event.FieldData, b.stack[base], cand{})
		b.stack[base] = event.Value{}
		b.stack = b.stack[:base]
	default:
		b.emit(event.FieldData, event.ListValue(b.list(base)), cand{})
	}
	return nil
}

// elem reads an evtx_dump element object: its "#text" value (a List when
// it is an array) and its Name attribute. Other attributes and children are
// skipped.
func (b *builder) elem() (v event.Value, name string, err error) {
	err = b.members(func(k string) (err error) {
		switch {
		case k == "#text":
			v, err = b.value()
		case k == "#attributes" && b.d[b.pos] == '{':
			name, err = b.nameAttr()
		default:
			err = b.skip()
		}
		return err
	})
	return v, name, err
}

// nameAttr reads an #attributes object and returns its Name.
func (b *builder) nameAttr() (name string, err error) {
	err = b.members(func(k string) (err error) {
		if k == "Name" && b.d[b.pos] == '"' {
			name, err = b.str()
		} else {
			err = b.skip()
		}
		return err
	})
	return name, err
}

// section walks UserData (prefix ""), Winlogbeat's user_data, or another
// section of an evtx_dump Event (prefix "RenderingInfo_"): every element by
// its own name (with the prefix), at any depth, its attributes likewise, as
// the evtx reader names them. Winlogbeat adds "xml_name", the name of the
// root element, which is not a field; attributes of UserData itself are
// not fields either.
func (b *builder) section(prefix string, winlogbeat bool) error {
	prev := b.sec
	b.sec = secUser
	if prefix != "" {
		b.sec = secOther
	}
	defer func() { b.sec = prev }()
	return b.members(func(k string) (err error) {
		switch {
		case k == "#attributes":
			if prefix != "" && b.d[b.pos] == '{' {
				_, err = b.attrs(prefix, false)
			} else {
				err = b.skip()
			}
		case k == "#text" || winlogbeat && k == "xml_name":
			err = b.skip()
		default:
			err = b.userElem(k, prefix)
		}
		return err
	})
}

// userElem walks the value of element k inside a section: a value, an
// array of repeated elements, or an element object whose #text is its
// value, whose attributes and children are fields in turn. An element with
// neither text nor children is a Null field.
func (b *builder) userElem(k, prefix string) error {
	switch b.d[b.pos] {
	case '{':
	case '[':
		return b.repeated(k, prefix)
	default:
		v, err := b.value()
		b.emit(b.joinRaw(prefix, k), v, cand{})
		return err
	}
	name := b.joinRaw(prefix, k)
	content := false
	err := b.members(func(key string) (err error) {
		switch {
		case key == "#attributes" && b.d[b.pos] == '{':
			var dataName string
			dataName, err = b.attrs(prefix, k == "Data")
			if dataName != "" {
				name = b.joinRaw(prefix, dataName)
			}
		case key == "#attributes":
			err = b.skip()
		case key == "#text":
			var v event.Value
			v, err = b.value()
			b.emit(name, v, cand{})
			content = true
		default:
			err = b.userElem(key, prefix)
			content = true
		}
		return err
	})
	if err != nil {
		return err
	}
	if !content {
		b.emit(name, event.Value{}, cand{})
	}
	return nil
}

// repeated walks an array of repeated elements named k: each element is a
// field of that name (they join in a List).
func (b *builder) repeated(k, prefix string) error {
	return b.elements(func() error { return b.userElem(k, prefix) })
}

// attrs emits the attributes of an element in a section as fields (prefix
// + attribute name), skipping namespace declarations. With dataName, the
// Name attribute is returned instead of emitted.
func (b *builder) attrs(prefix string, dataName bool) (name string, err error) {
	err = b.members(func(k string) (err error) {
		switch {
		case k == "xmlns" || len(k) > 6 && k[:6] == "xmlns:":
			err = b.skip()
		case dataName && k == "Name" && b.d[b.pos] == '"':
			name, err = b.str()
		default:
			var v event.Value
			v, err = b.value()
			b.emit(b.joinRaw(prefix, k), v, cand{})
		}
		return err
	})
	return name, err
}

// evtxEvent walks the "Event" object of an evtx_dump record.
func (b *builder) evtxEvent() error {
	return b.members(func(k string) (err error) {
		isObj := b.d[b.pos] == '{'
		switch {
		case !isObj:
			err = b.skip() // null sections, attributes of other shapes
		case k == "#attributes":
			err = b.skip()
		case k == "System":
			err = b.evtxSystem()
		case k == "EventData":
			err = b.eventData()
		case k == "UserData":
			err = b.section("", false)
		default: // RenderingInfo and the like, named with a prefix
			err = b.section(b.joinRaw(k, "_"), false)
		}
		return err
	})
}

// evtxSystem walks Event.System of an evtx_dump record.
func (b *builder) evtxSystem() error {
	prev := b.sec
	b.sec = secSystem
	defer func() { b.sec = prev }()
	return b.members(func(k string) (err error) {
		switch b.d[b.pos] {
		case '{':
			err = b.sysElem(k)
		case 'n':
			err = b.skip() // <Correlation/>, <Security/>
		default:
			var v event.Value
			v, err = b.value()
			b.emitSys(k, v)
		}
		return err
	})
}

// sysElem walks a System element with attributes: Provider (Name, Guid,
// EventSourceName), EventID (Qualifiers, #text), TimeCreated (SystemTime),
// Correlation, Execution, Security. Attributes become fields by their own
// names except Provider's Name and Guid and TimeCreated's SystemTime.
func (b *builder) sysElem(elem string) error {
	return b.members(func(k string) (err error) {
		switch {
		case k == "#attributes" && b.d[b.pos] == '{':
			err = b.sysAttrs(elem)
		case k == "#text":
			var v event.Value
			v, err = b.value()
			b.emitSys(elem, v)
		default:
			err = b.skip()
		}
		return err
	})
}

func (b *builder) sysAttrs(elem string) error {
	return b.members(func(k string) (err error) {
		name := k
		switch {
		case elem == "Provider" && k == "Name":
			name = event.FieldProviderName
		case elem == "Provider" && k == "Guid":
			name = event.FieldProviderGUID
		case elem == "TimeCreated" && k == "SystemTime":
			name = event.FieldTimeCreated
		case k == "xmlns":
			name = ""
		}
		if name == "" {
			err = b.skip()
		} else {
			var v event.Value
			v, err = b.value()
			b.emitSys(name, v)
		}
		return err
	})
}

func (b *builder) active(c uint8) bool {
	switch c {
	case condWLB6:
		return b.wlb6
	case condWLB:
		return b.wlb6 || b.wlb7
	}
	return true
}

// finish gives the canonical names to the best candidates, puts System
// fields first for Winlogbeat shapes and merges repeated names into Lists.
func (b *builder) finish() {
	var best [nCanon]int32
	var bestRank [nCanon]uint8
	var bestVal [nCanon]event.Value
	for i := range best {
		best[i] = -1
	}
	any := false
	for i := range b.meta {
		m := &b.meta[i]
		if m.canon == cNone || !b.active(m.cond) {
			continue
		}
		rank := m.rank
		if best[m.canon] >= 0 && bestRank[m.canon] <= rank {
			continue
		}
		v, ok, zoned := b.normalize(m.canon, b.ev.Fields[i].Value)
		if !ok {
			continue
		}
		if m.canon == cTimeCreated && !zoned && rank > rDirect {
			rank = rLast
			if best[m.canon] >= 0 && bestRank[m.canon] <= rank {
				continue
			}
		}
		best[m.canon], bestRank[m.canon], bestVal[m.canon] = int32(i), rank, v
		any = true
	}
	if any {
		for c, i := range best {
			if i < 0 {
				continue
			}
			b.ev.Fields[i].Name = canonNames[c]
			b.ev.Fields[i].Value = bestVal[c]
			b.meta[i].won = true
			if c < int(cSystemEnd) {
				b.meta[i].sec = secSystem
			}
		}
		if b.wlb6 || b.wlb7 {
			b.systemFirst()
		}
	}
	b.dedup()
}

// systemFirst moves the System fields that won their names to the front, in
// EVTX order, keeping the order of the others.
func (b *builder) systemFirst() {
	f, m := b.ev.Fields, b.meta
	b.tmp = append(b.tmp[:0], f...)
	b.tmpMeta = append(b.tmpMeta[:0], m...)
	n := 0
	for c := cProviderName; c < cSystemEnd; c++ {
		for i := range b.tmp {
			if b.tmpMeta[i].won && b.tmpMeta[i].canon == c {
				f[n], m[n] = b.tmp[i], b.tmpMeta[i]
				n++
				break
			}
		}
	}
	for i := range b.tmp {
		if tm := b.tmpMeta[i]; tm.won && tm.canon < cSystemEnd {
			continue
		}
		f[n], m[n] = b.tmp[i], b.tmpMeta[i]
		n++
	}
	clear(b.tmp)
}

func nameHash(s string) uint32 {
	n := len(s)
	if n == 0 {
		return 0
	}
	return uint32(n)*0x9e3779b1 ^ uint32(s[0])*0x85ebca6b ^ uint32(s[n-1])*0xc2b2ae35 ^ uint32(s[n/2])*0x27d4eb2f
}

// dedup makes names unique: fields of one section that share a name join
// in a List at the place of the first; a data field that meets a field of
// another section takes its section prefix (see sectionPrefix), so System
// fields keep their names.
func (b *builder) dedup() {
	f := b.ev.Fields
	n := len(f)
	if n < 2 {
		return
	}
	size := 64
	for size < 2*n {
		size <<= 1
	}
	if cap(b.table) < size {
		b.table = make([]int32, size)
	}
	t := b.table[:size]
	for i := range t {
		t[i] = -1
	}
	out := 0
	for i := 0; i < n; i++ {
		if out != i {
			f[out], b.meta[out] = f[i], b.meta[i]
		}
		if b.insert(t, out) {
			out++
		}
	}
	clear(f[out:n])
	b.ev.Fields = f[:out]
	b.meta = b.meta[:out]
}

// lookup returns the slot of name in t: the slot holding it, or the empty
// slot where it belongs (then j < 0).
func (b *builder) lookup(t []int32, name string) (slot uint32, j int32) {
	mask := uint32(len(t) - 1)
	h := nameHash(name) & mask
	for {
		j := t[h]
		if j < 0 || b.ev.Fields[j].Name == name {
			return h, j
		}
		h = (h + 1) & mask
	}
}

// insert enters field i in t and reports whether it stays (false: it was
// merged into an earlier field).
func (b *builder) insert(t []int32, i int) bool {
	f := b.ev.Fields
	for {
		slot, j := b.lookup(t, f[i].Name)
		if j < 0 {
			t[slot] = int32(i)
			return true
		}
		mi, mj := &b.meta[i], &b.meta[j]
		if mi.sec != mj.sec {
			if p := sectionPrefix(mi.sec); p != "" && !mi.renamed {
				f[i].Name = b.joinRaw(p, f[i].Name)
				mi.renamed = true
				continue
			}
			if p := sectionPrefix(mj.sec); p != "" && !mj.renamed && mi.sec == secSystem {
				name := b.joinRaw(p, f[j].Name)
				if s2, k := b.lookup(t, name); k < 0 {
					f[j].Name = name
					mj.renamed = true
					t[s2] = j
					t[slot] = int32(i)
					return true
				}
			}
		}
		b.merge(int(j), f[i].Value)
		return false
	}
}

func (b *builder) merge(j int, v event.Value) {
	f := &b.ev.Fields[j]
	off := len(b.vals)
	if b.meta[j].merged {
		b.vals = append(b.vals, f.Value.List()...)
	} else {
		b.vals = append(b.vals, f.Value)
	}
	b.vals = append(b.vals, v)
	f.Value = event.ListValue(b.vals[off:len(b.vals):len(b.vals)])
	b.meta[j].merged = true
}
