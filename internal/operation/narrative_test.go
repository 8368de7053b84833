package operation

import (
	"slices"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

// TestCorrelationStep: a correlation's step tells what it counted (how
// many events, on which hosts, of which accounts, over what time), and its
// operation spans the hosts of those events, though the correlation has no
// host of its own (its aliases joined two hosts' events).
func TestCorrelationStep(t *testing.T) {
	first, last := opT0, opT0.Add(3*time.Minute)
	ref := DetectionRef{Time: last, RuleID: "corr", Title: "Same account on two hosts", Level: "high",
		Tags: []string{"attack.lateral-movement", "attack.t1021.006"},
		Counted: &Counted{Events: 2, Condition: "rules in order", Hosts: []string{"DC1.corp.local", "FS01.corp.local"},
			Users: []string{`CORP\alice`}, First: first, Last: last}}
	ops := mustOperations(t, []DetectionRef{ref}, nil, Options{TechniqueTactics: fakeTactics})
	if len(ops) != 1 {
		t.Fatalf("got %d operations, want 1", len(ops))
	}
	op := ops[0]
	if !slices.Equal(op.Hosts, []string{"DC1", "FS01"}) || !slices.Equal(op.Users, []string{`CORP\alice`}) {
		t.Errorf("got hosts %v users %v, want [DC1 FS01] [CORP\\alice]", op.Hosts, op.Users)
	}
	if !op.First.Equal(first) || !op.Last.Equal(last) {
		t.Errorf("got first %v last %v, want %v %v", op.First, op.Last, first, last)
	}
	want := `2022-02-07 14:03 DC1 and FS01: rules in order: 2 events on DC1 and FS01, account CORP\alice, 14:00:00 to 14:03:00 (Same account on two hosts; T1021.006)`
	if op.Narrative[0] != want {
		t.Errorf("got story\n%s\nwant\n%s", op.Narrative[0], want)
	}
}

// TestNoTime: an event without a time is told "(no time)", and an
// operation's span is that of its detections that have one.
func TestNoTime(t *testing.T) {
	timeless := &event.Event{}
	timeless.Add(event.FieldChannel, event.StringValue(chSysmon))
	timeless.Add(event.FieldEventID, event.IntValue(1))
	timeless.Add(event.FieldComputer, event.StringValue("A.corp.local"))
	for _, kv := range [][2]string{{"ProcessGuid", guid("A", 11)}, {"ProcessId", "4044"}, {"Image", `C:\Windows\System32\whoami.exe`},
		{"CommandLine", "whoami /all"}, {"ParentImage", `C:\Windows\System32\cmd.exe`}} {
		timeless.Add(kv[0], event.StringValue(kv[1]))
	}
	ops := buildRuled(t, nil, []ruled{{timeless, "whoami", "high", "attack.discovery attack.t1033"}}, Options{})
	if len(ops) != 1 {
		t.Fatalf("got %s, want one operation", describeOps(ops))
	}
	if got, want := ops[0].Narrative[0], "(no time) A: cmd.exe started whoami.exe /all (Rule whoami; T1033)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !ops[0].First.IsZero() || !ops[0].Last.IsZero() {
		t.Errorf("got first %v last %v, want none", ops[0].First, ops[0].Last)
	}

	t1, t2 := opT0, opT0.Add(time.Hour)
	b := &builder{dets: refSlice{{}, {Time: t2}, {Counted: &Counted{First: t1, Last: t1.Add(time.Minute)}}}}
	if first, last := b.span([]int{0, 1, 2}); !first.Equal(t1) || !last.Equal(t2) {
		t.Errorf("span: got %v to %v, want %v to %v", first, last, t1, t2)
	}
}
