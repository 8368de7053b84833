package gaps

import (
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
