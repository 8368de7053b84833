package hunt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/ctxtest"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
)

// cancelOn is a log handler that cancels when msg is logged: Run logs
// one constant message at the end of each phase, so this cancels between
// two phases, whatever the timing.
type cancelOn struct {
	msg    string
	cancel context.CancelFunc
}

func (c cancelOn) Enabled(context.Context, slog.Level) bool { return true }
func (c cancelOn) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c cancelOn) WithGroup(string) slog.Handler            { return c }

func (c cancelOn) Handle(_ context.Context, r slog.Record) error {
	if r.Message == c.msg {
		c.cancel()
	}
	return nil
}

// TestRunCancelPhases checks that a hunt cancelled after a phase returns
// the context's error without running the next ones: no correlation, no
// operation, no attribution.
func TestRunCancelPhases(t *testing.T) {
	paths := []string{"../../examples/cuckoobees"}
	// Uncancelled, the hunt has all three.
	full, err := Run(t.Context(), paths, Options{Workers: 2, NoOperations: true})
	if err != nil || len(full.Detections) == 0 || full.Attribution == nil {
		t.Fatalf("uncancelled: got err %v, %d detections, attribution %v; want detections and an attribution", err, len(full.Detections), full.Attribution)
	}
	for _, tc := range []struct {
		name  string
		after string // the message logged at the end of the phase
		noOps bool
	}{
		{"after the rules", "rules ready", false},
		{"after the evidence", "evidence hunted", false},
		{"after the evidence, no operations", "evidence hunted", true},
		{"after the correlations", "detections correlated", false},
		{"after the correlations, no operations", "detections correlated", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			res, err := Run(ctx, paths, Options{Workers: 2, NoOperations: tc.noOps, Logger: slog.New(cancelOn{tc.after, cancel})})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("got err %v, want %v", err, context.Canceled)
			}
			if res == nil {
				t.Fatal("got no Result, want what was hunted")
			}
			if len(res.Operations) != 0 || res.Attribution != nil {
				t.Errorf("got %d operations, attribution %t; want none after the cancel", len(res.Operations), res.Attribution != nil)
			}
			if tc.after == "detections correlated" {
				return // the correlations ran
			}
			for _, d := range res.Detections {
				if d.Kind == result.KindCorrelation {
					t.Errorf("got correlation %s, want none after the cancel", d.Rule.Title)
				}
			}
		})
	}
}

// TestWaitLoadedCancel checks that a hunt waiting for the ATT&CK data
// stops waiting when its context is cancelled.
func TestWaitLoadedCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(10*time.Millisecond, cancel)
	at, err := waitLoaded(ctx, func() (*attributor, error) {
		<-t.Context().Done() // a load that does not end while the test runs
		return nil, nil
	})
	if !errors.Is(err, context.Canceled) || at != nil {
		t.Errorf("got %v, %v; want nil, %v", at, err, context.Canceled)
	}
}

// TestLaterPhasesCancel checks that the phases after the reading (build
// the operations, attribute them, attribute the whole hunt) stop with the
// context's error when the context is cancelled at any point of their way.
func TestLaterPhasesCancel(t *testing.T) {
	at, err := newAttributor(nil)
	if err != nil {
		t.Fatal(err)
	}
	idx := operation.NewIndex(1)
	sh := idx.Shard(0)
	rule := &result.Rule{ID: "r", Title: "Rule", Level: "high", Tags: []string{"attack.execution", "attack.t1059.003"}, Techniques: []string{"T1059.003"}}
	var refs []operation.DetectionRef
	var dets []result.Detection
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := range 200 {
		ev := &event.Event{}
		ev.Add(event.FieldEventID, event.IntValue(1))
		ev.Add(event.FieldChannel, event.StringValue("Microsoft-Windows-Sysmon/Operational"))
		ev.Add(event.FieldComputer, event.StringValue(fmt.Sprintf("host%d", i%7)))
		ev.Add(event.FieldTimeCreated, event.TimeValue(t0.Add(time.Duration(i)*time.Second)))
		ev.Add("ProcessGuid", event.StringValue(fmt.Sprintf("{%08d-0000-0000-0000-000000000000}", i)))
		ev.Add("ProcessId", event.IntValue(int64(1000+i)))
		ev.Add("Image", event.StringValue(`C:\Windows\System32\cmd.exe`))
		sh.Observe(ev)
		refs = append(refs, sh.Ref(ev))
		dets = append(dets, result.Detection{Time: t0.Add(time.Duration(i) * time.Second), Rule: rule,
			Fields: []result.Field{{Name: "Image", Value: `C:\Windows\System32\cmd.exe`}}})
	}
	// cases are the contexts that cancel at every part of the way of a
	// phase that looks at its context looks times.
	cases := func(looks int64) map[string]context.Context {
		return map[string]context.Context{
			"before": ctxtest.Cancelled(), "at the first look": ctxtest.After(0),
			"half way": ctxtest.After(looks / 2), "at the last look": ctxtest.After(looks - 1),
		}
	}

	count := ctxtest.After(ctxtest.Never)
	ops, err := buildOperations(count, dets, refs, idx, nil)
	if err != nil || len(ops) == 0 {
		t.Fatalf("build, uncancelled: got err %v, %d operations; want operations (or the test proves nothing)", err, len(ops))
	}
	for name, ctx := range cases(count.Looks()) {
		if got, err := buildOperations(ctx, dets, refs, idx, nil); !errors.Is(err, context.Canceled) || got != nil {
			t.Errorf("build, cancelled %s: got %d operations, err %v; want none, %v", name, len(got), err, context.Canceled)
		}
	}

	count = ctxtest.After(ctxtest.Never)
	if err := attributeOperations(count, ops, dets, at); err != nil || ops[0].Attribution == nil {
		t.Fatalf("attribute, uncancelled: got err %v, attribution %v; want one (or the test proves nothing)", err, ops[0].Attribution)
	}
	for name, ctx := range cases(count.Looks()) {
		if err := attributeOperations(ctx, slices.Clone(ops), dets, at); !errors.Is(err, context.Canceled) {
			t.Errorf("attribute, cancelled %s: got err %v, want %v", name, err, context.Canceled)
		}
	}

	if a, _, err := attributeHunt(t.Context(), dets, at); err != nil || a == nil {
		t.Fatalf("attribute the hunt, uncancelled: got %v, err %v; want an attribution (or the test proves nothing)", a, err)
	}
	if a, why, err := attributeHunt(ctxtest.Cancelled(), dets, at); !errors.Is(err, context.Canceled) || a != nil || why != "" {
		t.Errorf("attribute the hunt, cancelled: got %v %q, err %v; want none, %v", a, why, err, context.Canceled)
	}
}
