package eventtest

import (
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
)

func TestBorrowThenOverwrite(t *testing.T) {
	var b Buffer
	e := &event.Event{Source: "a.evtx"}
	e.Add("Computer", event.ASCIIStringValue("HOST"))
	e.Add("EventID", event.IntValue(4624))
	b.Borrow(e)
	src, name, host := e.Source, e.Fields[0].Name, e.Fields[0].Value.Str()
	if src != "a.evtx" || name != "Computer" || host != "HOST" || !e.Fields[0].Value.KnownASCII() || e.Fields[1].Value.Int() != 4624 {
		t.Fatalf("borrowed: got %q %q %q, want the event unchanged", src, name, host)
	}
	b.Borrow(&event.Event{Source: "b.evtx"})
	if src != "b.evtx" {
		t.Errorf("source after the next event: got %q, want the next event's text", src)
	}
	next := b.Borrow(&event.Event{Source: "bigger than the first event, to grow the buffer"})
	b.Overwrite()
	for _, s := range []string{src, name, host, next.Source} {
		for i := range len(s) {
			if s[i] != 0xDB {
				t.Fatalf("after Overwrite: got %q, want 0xDB bytes only", s)
			}
		}
	}
}
