package gaps

import (
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/eventtest"
)

// TestKeepsNoReaderText: every string of an event, its Source included,
// is the reader's. Records borrowed in turn from one buffer, then the
// buffer overwritten: the findings must still read as the records did.
func TestKeepsNoReaderText(t *testing.T) {
	var buf eventtest.Buffer
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	a := New()
	for i := range int64(3) {
		a.Observe(buf.Borrow(ev(1+i, t0.Add(time.Duration(i)*time.Minute), "Microsoft-Windows-Eventlog", 104,
			"SubjectUserName", "bob", "SubjectDomainName", "CORP", "UserData_Channel", "System")))
	}
	buf.Overwrite()
	fs := Findings(Options{}, a)
	if len(fs) != 3 {
		t.Fatalf("findings: got %d, want 3", len(fs))
	}
	for _, f := range fs {
		if f.Source != "log.evtx" || f.Computer != "HOST" || f.Channel != "System" || f.User != `CORP\bob` || !strings.Contains(f.Meaning, "System log") {
			t.Errorf("finding: got source %q, computer %q, channel %q, user %q, meaning %q; want log.evtx, HOST, System, CORP\\bob, the System log",
				f.Source, f.Computer, f.Channel, f.User, f.Meaning)
		}
	}
}
