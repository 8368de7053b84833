package gaps

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

// ev makes a synthetic record number n of the System log of log.evtx.
func ev(n int64, at time.Time, provider string, eid int64, data ...string) *event.Event {
	e := &event.Event{Source: "log.evtx", Locator: n}
	e.Add("Provider_Name", event.StringValue(provider))
	e.Add("EventID", event.IntValue(eid))
	e.Add("TimeCreated", event.TimeValue(at))
	e.Add("EventRecordID", event.IntValue(n))
	e.Add("Channel", event.StringValue("System"))
	e.Add("Computer", event.StringValue("HOST"))
	for i := 0; i+1 < len(data); i += 2 {
		e.Add(data[i], event.StringValue(data[i+1]))
	}
	return e
}

const scm = "Service Control Manager"

func kinds(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Kind)+":"+string(f.Confidence))
	}
	return strings.Join(out, ",")
}

func TestStopsAndTime(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	sec := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, tc := range []struct {
		name   string
		events func() []*event.Event
		want   string
	}{
		{"shutdown then boot", func() []*event.Event {
			return []*event.Event{ev(1, sec(0), "EventLog", 6006), ev(2, sec(60), "Microsoft-Windows-Kernel-General", 12), ev(3, sec(61), "EventLog", 6005)}
		}, ""},
		{"stopped, logging goes on", func() []*event.Event {
			out := []*event.Event{ev(1, sec(0), "EventLog", 6006)}
			for i := range int64(stopWindow) {
				out = append(out, ev(2+i, sec(10+int(i)), scm, 7036, "param1", "Print Spooler", "param2", "running"))
			}
			return out
		}, "logging-stopped:medium"},
		{"log ends stopped", func() []*event.Event {
			return []*event.Event{ev(1, sec(0), scm, 7000), ev(2, sec(1), "EventLog", 6006)}
		}, "logging-stopped:low"},
		{"disabled", func() []*event.Event {
			return []*event.Event{ev(1, sec(0), scm, 7040, "param1", "Windows Event Log", "param2", "auto start", "param3", "disabled", "param4", "EventLog")}
		}, "logging-disabled:high"},
		{"cleared", func() []*event.Event {
			return []*event.Event{ev(1, sec(0), "Microsoft-Windows-Eventlog", 104, "SubjectUserName", "bob", "SubjectDomainName", "CORP", "UserData_Channel", "System")}
		}, "log-cleared:high"},
		{"clock set back 20 minutes", func() []*event.Event {
			return []*event.Event{ev(1, sec(0), scm, 1), ev(2, sec(3000), scm, 1), ev(3, sec(3600), scm, 1), ev(4, sec(2400), scm, 1)}
		}, "time-backwards:medium"},
		{"one record dated ahead", func() []*event.Event {
			return []*event.Event{ev(1, sec(0), scm, 1), ev(2, sec(86400), scm, 1), ev(3, sec(10), scm, 1)}
		}, "time-backwards:low"},
		{"time zone at boot", func() []*event.Event {
			return []*event.Event{ev(1, sec(0), scm, 1), ev(2, sec(4*3600+5), scm, 1), ev(3, sec(6), scm, 1)}
		}, "time-backwards:low"},
		{"small disorder", func() []*event.Event {
			return []*event.Event{ev(1, sec(100), scm, 1), ev(2, sec(10), scm, 1), ev(3, sec(120), scm, 1)}
		}, ""},
		{"filtered export", func() []*event.Event {
			e := []*event.Event{ev(1, sec(0), scm, 1), ev(2, sec(1), scm, 1)}
			e[1].Set("EventRecordID", event.IntValue(90))
			return e
		}, "filtered-export:low"},
	} {
		a := New()
		for _, e := range tc.events() {
			a.Observe(e)
		}
		if got := kinds(Findings(Options{}, a)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestSilence: a log with a steady rhythm of a minute, and one day without
// events; the same day explained by a shutdown is no finding.
func TestSilence(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	build := func(shutdown bool) []Finding {
		a := New()
		at := t0
		for n := int64(1); n <= 1000; n++ {
			step := time.Minute
			if n == 600 {
				step = 24 * time.Hour
			}
			at = at.Add(step)
			provider, id := "EventLog", int64(1)
			switch {
			case shutdown && n == 599:
				id = 6006
			case shutdown && n == 600:
				provider, id = "Microsoft-Windows-Kernel-General", 12
			}
			a.Observe(ev(n, at, provider, id))
		}
		return Findings(Options{}, a)
	}
	fs := build(false)
	if len(fs) != 1 || fs[0].Kind != Silence || fs[0].LastRecord != 600 || fs[0].To.Sub(fs[0].From) != 24*time.Hour {
		t.Errorf("silence: got %+v, want one of 24h before record 600", fs)
	}
	if fs := build(true); kinds(fs) != "" {
		t.Errorf("silence after a shutdown: got %s, want none", kinds(fs))
	}
}

// rec makes record n of a log in a JSON export holding many logs.
func rec(computer, channel string, n int64, at time.Time, provider string, eid int64) *event.Event {
	e := ev(n, at, provider, eid)
	e.Source, e.Locator = "export.json", 0
	e.Set("Computer", event.StringValue(computer))
	e.Set("Channel", event.StringValue(channel))
	return e
}

// TestInterleavedLogs: a collector's export holds the logs of several
// computers and channels, their records interleaved. Each log is followed
// on its own: a reboot in one (its stop, then its startup after the other
// logs' records) is no finding, and a restart of the service without one
// in another is.
func TestInterleavedLogs(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	sec := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	a := New()
	var line int64
	add := func(e *event.Event) {
		line++
		e.Locator = line
		a.Observe(e)
	}
	// WS1 reboots: System 6006, then Sysmon and Security records, then
	// the startup's 6009 and 6005; its Security log says 1100, then 4608
	// after a few hundred records of the startup (as Windows queues them).
	add(rec("WS1", "System", 500, sec(0), "EventLog", 6006))
	add(rec("WS1", "Security", 9000, sec(0), "Microsoft-Windows-Eventlog", 1100))
	for i := range int64(300) {
		add(rec("WS1", "Microsoft-Windows-Sysmon/Operational", 100+i, sec(1), "Microsoft-Windows-Sysmon", 1))
		add(rec("WS1", "security", 9001+i, sec(2), "Microsoft-Windows-Security-Auditing", 4656)) // the collector's spelling after the startup
	}
	add(rec("WS1", "System", 501, sec(3), "EventLog", 6009))
	add(rec("WS1", "System", 502, sec(3), "EventLog", 6005))
	add(rec("WS1", "Security", 9301, sec(3), "Microsoft-Windows-Security-Auditing", 4608))
	// WS2's Security log: 1100, then logging goes on, no startup.
	add(rec("WS2", "Security", 70, sec(5), "Microsoft-Windows-Eventlog", 1100))
	for i := range int64(stopWindow) {
		add(rec("WS2", "Security", 71+i, sec(6+int(i)), "Microsoft-Windows-Security-Auditing", 4688))
		add(rec("WS1", "System", 503+i, sec(6+int(i)), scm, 7036))
	}
	fs := Findings(Options{}, a)
	if len(fs) != 1 || fs[0].Kind != Stopped || fs[0].Confidence != Medium || fs[0].Computer != "WS2" || fs[0].Channel != "Security" || fs[0].FirstRecord != 70 {
		t.Errorf("got %+v, want one logging-stopped (medium) of WS2's Security log at record 70", fs)
	}
}

// TestStopsWaitForStartup: a startup explains a stop however many
// records of its own come first, if they come soon; a second stop with no
// startup between proves a restart.
func TestStopsWaitForStartup(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		step time.Duration // between the records after the stop
		n    int64         // records between the stop and what ends it
		end  int64         // the event ID that ends it: a startup, a stop, or 7036 (none)
		want string
	}{
		{"startup after 300 records in seconds", 10 * time.Millisecond, 300, 4608, ""},
		{"startup after the machine was off for days", 10 * time.Millisecond, 300, 4608, ""},
		{"no startup, records over an hour", time.Minute, 60, 4688, "logging-stopped:medium"},
		{"startup an hour later", time.Minute, 60, 4608, "logging-stopped:medium"},
		{"a second stop", time.Second, 5, 1100, "logging-stopped:medium,logging-stopped:low"},
		{"the same stop told twice", time.Second, 0, 1100, "logging-stopped:low"},
		{"few records, then the log ends", time.Second, 5, 4688, "logging-stopped:low,"},
	} {
		a := New()
		n := int64(1)
		at := t0
		add := func(eid int64, provider string) {
			e := ev(n, at, provider, eid)
			e.Set("Channel", event.StringValue("Security"))
			a.Observe(e)
			n++
		}
		add(1100, "Microsoft-Windows-Eventlog")
		if tc.name == "startup after the machine was off for days" {
			at = at.Add(72 * time.Hour)
		}
		for range tc.n {
			at = at.Add(tc.step)
			add(4656, "Microsoft-Windows-Security-Auditing")
		}
		at = at.Add(tc.step)
		switch tc.end {
		case 1100:
			add(1100, "Microsoft-Windows-Eventlog")
		default:
			add(tc.end, "Microsoft-Windows-Security-Auditing")
		}
		want := strings.TrimSuffix(tc.want, ",")
		if got := kinds(Findings(Options{}, a)); got != want {
			t.Errorf("%s: got %q, want %q", tc.name, got, want)
		}
	}
}

// TestRenamedComputer: a log whose computer is renamed (or joins a domain)
// stays one log: a step back in time across the rename is found, and
// each finding names the computer as the log named it then.
func TestRenamedComputer(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	a := New()
	for n := int64(1); n <= 4; n++ {
		e := ev(n, t0.Add(time.Duration(n)*time.Minute), scm, 1)
		if n >= 3 {
			e.Set("Computer", event.StringValue("HOST.corp.example"))
		}
		if n == 3 {
			e.Set("TimeCreated", event.TimeValue(t0.Add(-30*time.Minute)))
		}
		a.Observe(e)
	}
	fs := Findings(Options{}, a)
	if len(fs) != 1 || fs[0].Kind != Backwards || fs[0].Computer != "HOST.corp.example" || fs[0].FirstRecord != 3 {
		t.Errorf("got %+v, want one time-backwards at record 3 of HOST.corp.example", fs)
	}
}

// TestNoRecordIDs: a JSON export without EventRecordIDs has no numbering
// to judge: no filtered-export finding.
func TestNoRecordIDs(t *testing.T) {
	a := New()
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	for n := int64(1); n <= 10; n++ {
		e := rec("WS1", "Security", n, t0, "Microsoft-Windows-Security-Auditing", 4688)
		e.Locator = n
		e.Set("EventRecordID", event.StringValue(""))
		a.Observe(e)
	}
	if fs := Findings(Options{}, a); len(fs) != 0 {
		t.Errorf("got %+v, want none", fs)
	}
}

// TestManyLogsBounded: a file naming a new computer in every record is
// followed for at most maxLogs logs; its numbering still is.
func TestManyLogsBounded(t *testing.T) {
	a := New()
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	for n := int64(1); n <= 3*maxLogs; n++ {
		if n == 100 {
			continue // a record cut out
		}
		e := ev(n, t0, scm, 1)
		e.Set("Computer", event.StringValue(fmt.Sprintf("host-%d", n)))
		e.Set("EventRecordID", event.IntValue(7*n)) // no continuity to take for a rename
		a.Observe(e)
	}
	f := a.files["log.evtx"]
	if len(f.order) != maxLogs || f.aliases != maxAliases {
		t.Errorf("%d logs and %d spellings kept, want %d and %d", len(f.order), f.aliases, maxLogs, maxAliases)
	}
	var removed []Finding
	for _, x := range Findings(Options{}, a) {
		if x.Kind == Removed {
			removed = append(removed, x)
		}
	}
	if len(removed) != 1 || removed[0].FirstRecord != 100 {
		t.Errorf("records removed: got %+v, want record 100", removed)
	}
}

// TestManyRenamesBounded: a file naming a new computer in every record,
// each record following the one before in its log's numbering (a rename
// each time), keeps a bounded number of spellings: one log, and the
// spellings it is known by at most maxAliases.
func TestManyRenamesBounded(t *testing.T) {
	a := New()
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	for n := int64(1); n <= 3*maxAliases; n++ {
		e := ev(n, t0, scm, 1)
		e.Set("Computer", event.StringValue(fmt.Sprintf("host-%d", n)))
		a.Observe(e)
	}
	f := a.files["log.evtx"]
	if len(f.order) != 1 || len(f.logs) > maxAliases {
		t.Errorf("%d logs and %d spellings of them kept, want 1 and at most %d", len(f.order), len(f.logs), maxAliases)
	}
}
