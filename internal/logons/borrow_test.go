package logons

import (
	"slices"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/eventtest"
)

// TestKeepsNoReaderText: assigning to an existing string key of a map
// stores the key given. Failed logons borrowed in turn from one buffer,
// as a reader reuses it, then the buffer overwritten: every row and
// reason must still read as the events did.
func TestKeepsNoReaderText(t *testing.T) {
	var buf eventtest.Buffer
	c := NewCollector()
	for _, status := range []string{"%%2313", "%%2313", "0xc000006a"} { // unknown codes are named by their text
		ev := &event.Event{}
		ev.Add(event.FieldEventID, event.StringValue("4625"))
		ev.Add(event.FieldChannel, event.StringValue("Security"))
		ev.Add(event.FieldComputer, event.StringValue("DC01"))
		ev.Add(event.FieldTimeCreated, event.TimeValue(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)))
		ev.Add("TargetDomainName", event.StringValue("CORP"))
		ev.Add("TargetUserName", event.StringValue("alice"))
		ev.Add("LogonType", event.StringValue("3"))
		ev.Add("WorkstationName", event.StringValue("WS7"))
		ev.Add("SubStatus", event.StringValue(status))
		c.Observe(buf.Borrow(ev))
	}
	buf.Overwrite()
	rep := Summarize(Options{}, c)
	if len(rep.Logons) != 1 {
		t.Fatalf("logon rows: got %d, want 1", len(rep.Logons))
	}
	l := rep.Logons[0]
	if l.Computer != "DC01" || l.Account != `CORP\alice` || !slices.Equal(l.SourceHosts, []string{"WS7"}) {
		t.Errorf("row: got computer %q, account %q, hosts %q; want DC01, CORP\\alice, [WS7]", l.Computer, l.Account, l.SourceHosts)
	}
	if want := []string{"%%2313 x2", "bad password (0xC000006A) x1"}; !slices.Equal(l.Reasons, want) {
		t.Errorf("reasons: got %q, want %q", l.Reasons, want)
	}
}
