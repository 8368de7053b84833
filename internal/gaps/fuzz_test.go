package gaps

import (
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

// FuzzObserve feeds made-up records (numbers, times, IDs, the logs they
// belong to and the fields the analyzer reads, all from the fuzzer) and
// checks that the findings
// are whole: no panic, every finding with a kind, a confidence and a
// meaning, and missing ranges in order.
func FuzzObserve(f *testing.F) {
	f.Add([]byte{1, 2, 3, 10, 4, 200, 5}, int64(1102), "Microsoft-Windows-Eventlog", "Windows Event Log", "disabled")
	f.Add([]byte{0, 0, 255, 1, 1}, int64(6006), "EventLog", "", "")
	f.Fuzz(func(t *testing.T, steps []byte, eid int64, provider, p1, p3 string) {
		a := New()
		loc, at := int64(1), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, s := range steps {
			loc += int64(s%7) - 1
			at = at.Add(time.Duration(int8(s)) * time.Minute)
			e := &event.Event{Source: "x.evtx", Locator: loc}
			id := int64(s)
			if i%3 == 0 {
				id = eid
			}
			e.Add("EventID", event.IntValue(id))
			e.Add("Provider_Name", event.StringValue(provider))
			e.Add("TimeCreated", event.TimeValue(at))
			e.Add("EventRecordID", event.IntValue(loc+int64(s%2)))
			e.Add("Channel", event.StringValue([]string{"Security", "security", "System"}[s%3]))
			e.Add("Computer", event.StringValue([]string{"A", "a", "B", "C.example"}[s%4]))
			e.Add("param1", event.StringValue(p1))
			e.Add("param2", event.StringValue("stopped"))
			e.Add("param3", event.StringValue(p3))
			e.Add("param4", event.StringValue("EventLog"))
			a.Observe(e)
		}
		for _, f := range Findings(Options{}, a) {
			if f.Kind == "" || f.Confidence == "" || f.Meaning == "" || f.FirstRecord > f.LastRecord {
				t.Fatalf("finding %+v", f)
			}
		}
	})
}
