// Package event defines the event model that every reader produces and every
// later stage consumes: an Event is a flat, ordered list of named, typed
// fields under the names Sigma rules use, whatever the evidence format.
package event

import (
	"time"
)

// Field is one named value of an event.
type Field struct {
	Name  string
	Value Value
}

// Event is one log record as a flat list of fields in record order.
//
// Field names are canonical (see the Field* constants): the System fields of
// a Windows event under the names Sigma uses, then each EventData/Data by its
// Name attribute, unnamed Data as one "Data" field, and UserData leaves by
// element name. A name appears at most once.
type Event struct {
	// Fields in record order.
	Fields []Field
	// Source names where the event came from: a file path, with
	// "archive.zip!inner/path" for a member of an archive.
	Source string
	// Locator places the event inside Source: the record number for EVTX,
	// the line number (1-based) for JSON lines, 0 when unknown.
	Locator int64
	// Carved marks an event recovered by carving: read from the free
	// space of an EVTX chunk or from slack between and after chunks,
	// outside the records the file's structure lists (evtx.Options.Carve).
	// Such a record may be stale (overwritten or never committed), and
	// every output says so.
	Carved bool
}

// Get returns the value of the named field and whether it exists. Names are
// matched exactly.
func (e *Event) Get(name string) (Value, bool) {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			return e.Fields[i].Value, true
		}
	}
	return Value{}, false
}

// Lookup is Get without the presence flag: a missing field is Null.
func (e *Event) Lookup(name string) Value {
	v, _ := e.Get(name)
	return v
}

// Add appends a field. It does not check for an existing field of that
// name; readers guarantee uniqueness (see Set).
func (e *Event) Add(name string, v Value) {
	e.Fields = append(e.Fields, Field{Name: name, Value: v})
}

// Set replaces the value of the named field, or appends it when absent.
func (e *Event) Set(name string, v Value) {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			e.Fields[i].Value = v
			return
		}
	}
	e.Add(name, v)
}

// Reset empties e for reuse, keeping its capacity.
func (e *Event) Reset() {
	clear(e.Fields)
	e.Fields = e.Fields[:0]
	e.Source = ""
	e.Locator = 0
	e.Carved = false
}

// Clone returns a deep copy of e that shares no memory with it. Use it to
// keep an event past the next call to Reader.Next.
func (e *Event) Clone() *Event {
	c := &Event{
		Fields:  make([]Field, len(e.Fields)),
		Source:  cloneString(e.Source),
		Locator: e.Locator,
		Carved:  e.Carved,
	}
	for i, f := range e.Fields {
		c.Fields[i] = Field{Name: cloneString(f.Name), Value: f.Value.Clone()}
	}
	return c
}

// Time returns the event's TimeCreated, or the zero time when it has none.
func (e *Event) Time() time.Time {
	return e.Lookup(FieldTimeCreated).Time()
}

// AppendJSON appends e as one JSON object, fields in record order, values
// typed as Value.AppendJSON renders them. It does not append a newline.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for i, f := range e.Fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, f.Name)
		dst = append(dst, ':')
		dst = f.Value.AppendJSON(dst)
	}
	return append(dst, '}')
}
