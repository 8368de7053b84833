package logons

import (
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/spoor-hunt/spoor/internal/event"
)

// TestKeepsNoReaderText: a reader's strings are views of buffers it
// rewrites, and assigning to an existing string key of a map stores the
// key given. Two events written in turn into one buffer, as a reader
// reuses it, then the buffer overwritten: every row and reason must still
// read as the events did.
func TestKeepsNoReaderText(t *testing.T) {
	buf := make([]byte, 256)
	at := 0
	borrow := func(s string) string { // s written into buf, as a reader's text
		n := copy(buf[at:], s)
		at += n
		return unsafe.String(&buf[at-n], n)
	}
	fill := func(eid string, status string) *event.Event {
		at = 0
		ev := &event.Event{}
		ev.Add(event.FieldEventID, event.StringValue(borrow(eid)))
		ev.Add(event.FieldChannel, event.StringValue(borrow("Security")))
		ev.Add(event.FieldComputer, event.StringValue(borrow("DC01")))
		ev.Add(event.FieldTimeCreated, event.TimeValue(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)))
		ev.Add("TargetDomainName", event.StringValue(borrow("CORP")))
		ev.Add("TargetUserName", event.StringValue(borrow("alice")))
		ev.Add("LogonType", event.StringValue(borrow("3")))
		ev.Add("WorkstationName", event.StringValue(borrow("WS7")))
		ev.Add("SubStatus", event.StringValue(borrow(status))) // not a known code: the reason is its text
		return ev
	}
	c := NewCollector()
	for range 2 {
		c.Observe(fill("4625", "%%2313"))
	}
	for i := range buf {
		buf[i] = 'Z'
	}
	rep := Summarize(Options{}, c)
	if len(rep.Logons) != 1 {
		t.Fatalf("logon rows: got %d, want 1", len(rep.Logons))
	}
	l := rep.Logons[0]
	if l.Computer != "DC01" || l.Account != `CORP\alice` || !slices.Equal(l.SourceHosts, []string{"WS7"}) {
		t.Errorf("row: got computer %q, account %q, hosts %q; want DC01, CORP\\alice, [WS7]", l.Computer, l.Account, l.SourceHosts)
	}
	if want := []string{"%%2313 x2"}; !slices.Equal(l.Reasons, want) {
		t.Errorf("reasons: got %q, want %q", l.Reasons, want)
	}
}
