package logons

import (
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

// FuzzObserve feeds logon events whose fields come from the fuzzer and
// checks that the report holds them: no panic, and as many logons counted
// as were observed.
func FuzzObserve(f *testing.F) {
	f.Add("CORP", "alice", "10", "10.0.0.1", "WS1", "User: x\nSource Network Address: ::1", "0xc000006a")
	f.Add("", "", "0x3", "-", "", "", "")
	f.Fuzz(func(t *testing.T, domain, user, typ, ip, host, msg, status string) {
		c := NewCollector()
		at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		n := 0
		for i, eid := range []int64{4624, 4625, 4648, 1149, 21, 24, 25, 4624} {
			e := &event.Event{}
			e.Add("EventID", event.IntValue(eid))
			e.Add("TimeCreated", event.TimeValue(at.Add(time.Duration(i)*24*time.Hour)))
			ch := "Security"
			switch eid {
			case 1149:
				ch = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"
			case 21, 24, 25:
				ch = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"
			}
			e.Add("Channel", event.StringValue(ch))
			e.Add("Computer", event.StringValue(host))
			for _, k := range []string{"TargetDomainName", "SubjectDomainName", "Param2"} {
				e.Add(k, event.StringValue(domain))
			}
			for _, k := range []string{"TargetUserName", "SubjectUserName", "Param1"} {
				e.Add(k, event.StringValue(user))
			}
			e.Add("LogonType", event.StringValue(typ))
			e.Add("IpAddress", event.StringValue(ip))
			e.Add("Param3", event.StringValue(ip))
			e.Add("WorkstationName", event.StringValue(host))
			e.Add("Message", event.StringValue(msg))
			e.Add("SubStatus", event.StringValue(status))
			c.Observe(e)
			if eid == 4624 || eid == 4625 {
				n++
			}
		}
		rep := Summarize(Options{Baseline: time.Hour, Failures: 1}, c)
		got := 0
		for _, l := range rep.Logons {
			got += l.Count
		}
		if got != n {
			t.Fatalf("%d logons counted, %d observed", got, n)
		}
		for _, fl := range rep.Flags {
			if fl.Reason == "" {
				t.Fatalf("flag %+v without a reason", fl)
			}
		}
	})
}
