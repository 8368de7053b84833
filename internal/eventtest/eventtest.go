// Package eventtest gives tests events whose text is a view of a buffer
// that the test then overwrites, as a reader does with its own: a consumer
// that kept a string of the event, a map key among them, sees the change
// (test code only).
package eventtest

import (
	"unsafe"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Buffer is a reader's buffer in miniature. The zero value is ready.
type Buffer struct {
	cur  []byte
	used [][]byte // every buffer views were made of, cur included
}

// Borrow rewrites e's Source, field names and string values as views of
// the buffer, from its start, as a reader reusing its buffer for the next
// event would, and returns e. Views of an earlier event read the new text.
func (b *Buffer) Borrow(e *event.Event) *event.Event {
	n := len(e.Source)
	for _, f := range e.Fields {
		n += len(f.Name) + len(f.Value.Str())
	}
	if n > len(b.cur) {
		b.cur = make([]byte, max(n, 2*len(b.cur)))
		b.used = append(b.used, b.cur)
	}
	at := 0
	view := func(s string) string {
		if s == "" {
			return ""
		}
		k := copy(b.cur[at:], s)
		at += k
		return unsafe.String(&b.cur[at-k], k)
	}
	e.Source = view(e.Source)
	for i := range e.Fields {
		f := &e.Fields[i]
		f.Name = view(f.Name)
		switch v := f.Value; {
		case v.KnownASCII():
			f.Value = event.ASCIIStringValue(view(v.Str()))
		case v.Kind() == event.String:
			f.Value = event.StringValue(view(v.Str()))
		}
	}
	return e
}

// Overwrite fills every byte the buffer ever held with 0xDB, never valid
// text (as the spoorscribble build's readers do): a string kept from a
// borrowed event reads as junk.
func (b *Buffer) Overwrite() {
	for _, u := range b.used {
		for i := range u {
			u[i] = 0xDB
		}
	}
}
