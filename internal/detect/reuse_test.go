package detect

import (
	"testing"
	"unsafe"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// TestMatcherReusedBuffer feeds one Matcher events whose Channel strings live
// in one buffer that is rewritten between events, as a reader's is. Two
// channels of the same length must still reach their own rules: a Matcher
// that kept the previous event's channel string (pointing into the buffer)
// saw it equal to the new one and routed the event to the old bucket.
func TestMatcherReusedBuffer(t *testing.T) {
	const (
		task = "Microsoft-Windows-TaskScheduler/Operational"
		ci   = "Microsoft-Windows-CodeIntegrity/Operational"
	)
	if len(task) != len(ci) {
		t.Fatal("the test needs two channels of the same length")
	}
	router := RouterFunc(func(ls sigma.Logsource) (Route, error) {
		ch := map[string]string{"taskscheduler": task, "codeintegrity": ci}[ls.Service]
		return Route{Sources: []Source{{Channel: ch}}}, nil
	})
	rules := `title: task
id: 00000000-0000-0000-0000-00000000000a
logsource: {product: windows, service: taskscheduler}
detection: {sel: {EventID: 1}, condition: sel}
---
title: code integrity
id: 00000000-0000-0000-0000-00000000000b
logsource: {product: windows, service: codeintegrity}
detection: {sel: {EventID: 1}, condition: sel}
`
	eng := mustCompile(t, rules, Options{Router: router})
	buf := make([]byte, len(task))
	at := func(s string) *event.Event {
		copy(buf, s)
		return evt("Channel", event.StringValue(unsafe.String(&buf[0], len(buf))), "EventID", 1)
	}
	m := eng.NewMatcher()
	for i, ch := range []string{task, ci, task, ci} {
		ds := m.Match(at(ch), nil)
		fresh := eng.NewMatcher().Match(at(ch), nil)
		if len(ds) != 1 || len(fresh) != 1 || ds[0].Rule != fresh[0].Rule {
			t.Fatalf("event %d (%s): got %v, a fresh Matcher %v", i, ch, titles(ds), titles(fresh))
		}
	}
}

func titles(ds []Detection) []string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Rule.Sigma.Title)
	}
	return s
}
