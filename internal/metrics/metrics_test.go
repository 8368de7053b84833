package metrics

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/eventtest"
)

func ev(channel, computer string, id event.Value, t time.Time, extra ...string) *event.Event {
	e := &event.Event{}
	e.Add(event.FieldChannel, event.StringValue(channel))
	e.Add(event.FieldProviderName, event.StringValue("P"))
	e.Add(event.FieldComputer, event.StringValue(computer))
	e.Add(event.FieldEventID, id)
	if !t.IsZero() {
		e.Add(event.FieldTimeCreated, event.TimeValue(t))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		e.Add(extra[i], event.StringValue(extra[i+1]))
	}
	return e
}

// TestCollectorMerge: counts split over two collectors and merged are the
// counts of one; IDs given as text (JSON exports) count with numbers.
func TestCollectorMerge(t *testing.T) {
	t0 := time.Date(2022, 2, 7, 23, 30, 0, 0, time.UTC)
	events := []*event.Event{
		ev("Security", "A", event.IntValue(4688), t0, "CommandLine", ""),
		ev("Security", "A", event.StringValue("4688"), t0.Add(time.Hour), "CommandLine", "cmd /c whoami"),
		ev("security", "B", event.UintValue(4688), t0.Add(49*time.Hour)),
		ev("Microsoft-Windows-Sysmon/Operational", "B", event.IntValue(3), time.Time{}),
	}
	one, a, b := NewCollector(), NewCollector(), NewCollector()
	for i, e := range events {
		one.Observe(e)
		if i%2 == 0 {
			a.Observe(e)
		} else {
			b.Observe(e)
		}
	}
	a.Merge(b)
	for name, c := range map[string]*Collector{"one": one, "merged": a} {
		r := c.Result(PerAuto)
		if r.Events != 4 || r.NoTime != 1 {
			t.Errorf("%s: got %d events, %d without time; want 4, 1", name, r.Events, r.NoTime)
		}
		if r.Timeline.Per != "hour" || len(r.Timeline.Buckets) != 3 {
			t.Errorf("%s: timeline %+v: want 3 hour buckets (49 hours of events)", name, r.Timeline)
		}
		// "Security" and "security" are two channels as written, but the
		// same log for names and gaps.
		var ids []string
		for _, e := range r.EventIDs {
			ids = append(ids, e.Channel+"/"+e.Name)
		}
		if want := []string{"Security/process created", "Microsoft-Windows-Sysmon/Operational/network connection", "security/process created"}; !slices.Equal(ids, want) {
			t.Errorf("%s: event IDs %v, want %v", name, ids, want)
		}
		if r.EventIDs[0].Events != 2 {
			t.Errorf("%s: Security 4688: got %d, want 2 (a number and a text)", name, r.EventIDs[0].Events)
		}
		var what []string
		for _, m := range r.Missing {
			what = append(what, m.What+":"+strings.Join(m.Computers, ""))
		}
		want := []string{ // every computer has a Security log
			"no Sysmon:A",
			"no command line in process creation (Security 4688):B",
			"no logon auditing (no Security 4624):AB",
			"no PowerShell script-block logging (no PowerShell/Operational 4104):AB",
		}
		if !slices.Equal(what, want) {
			t.Errorf("%s: missing %q, want %q", name, what, want)
		}
	}
	if r := one.Result(PerDay); len(r.Timeline.Buckets) != 3 || !r.Timeline.Buckets[0].Start.Equal(time.Date(2022, 2, 7, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("days: got %+v, want 3 days from 2022-02-07", r.Timeline.Buckets)
	}
}

func TestFloorDiv(t *testing.T) {
	for _, tc := range [][3]int64{{7, 24, 0}, {24, 24, 1}, {-1, 24, -1}, {-24, 24, -1}, {-25, 24, -2}} {
		if got := floorDiv(tc[0], tc[1]); got != tc[2] {
			t.Errorf("floorDiv(%d, %d): got %d, want %d", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestEventName(t *testing.T) {
	for _, tc := range []struct {
		channel string
		id      int64
		want    string
	}{
		{"Security", 4624, "logon"},
		{"SECURITY", 1102, "audit log cleared"},
		{"microsoft-windows-sysmon/operational", 22, "DNS query"},
		{"System", 7045, "service installed"},
		{"Microsoft-Windows-PowerShell/Operational", 4104, "script block logged"},
		{"Application", 4624, ""},
	} {
		if got := EventName(tc.channel, tc.id); got != tc.want {
			t.Errorf("%s %d: got %q, want %q", tc.channel, tc.id, got, tc.want)
		}
	}
	for id := int64(1); id <= 29; id++ {
		if EventName("Microsoft-Windows-Sysmon/Operational", id) == "" {
			t.Errorf("Sysmon %d has no name", id)
		}
	}
}

// TestKeepsNoReaderText: assigning to an existing string key of a map
// stores the key given, so every key must be a copy on every count, not
// only the first. Events borrowed in turn from one buffer, then the buffer
// overwritten: every name counted must read as the events did.
func TestKeepsNoReaderText(t *testing.T) {
	var buf eventtest.Buffer
	c := NewCollector()
	t0 := time.Date(2022, 2, 7, 23, 30, 0, 0, time.UTC)
	for i := range 3 {
		c.Observe(buf.Borrow(ev("Security", "DC01", event.StringValue("4688"), t0.Add(time.Duration(i)*time.Hour), "CommandLine", "whoami")))
	}
	buf.Overwrite()
	r := c.Result(PerAuto)
	var got []string
	for _, s := range slices.Concat(r.Channels, r.Providers, r.Computers, r.ComputerChannels) {
		got = append(got, s.Computer+"/"+s.Channel+"/"+s.Provider)
	}
	for _, e := range r.EventIDs {
		got = append(got, e.Channel+"/"+e.Provider+"/"+e.Name)
	}
	for _, m := range r.Missing {
		got = append(got, m.What+":"+strings.Join(m.Computers, ","))
	}
	want := []string{"/Security/", "//P", "DC01//", "DC01/Security/", "Security/P/process created",
		"no Sysmon:DC01", "no logon auditing (no Security 4624):DC01", "no PowerShell script-block logging (no PowerShell/Operational 4104):DC01"}
	if !slices.Equal(got, want) {
		t.Errorf("names: got %q, want %q", got, want)
	}
}
