package operation

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/ctxtest"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/result"
)

func mustOperations(t testing.TB, dets []DetectionRef, idx *Index, opts Options) []result.Operation {
	t.Helper()
	ops, err := Build(context.Background(), dets, idx, opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return ops
}

// TestBuildCancel checks that Build returns the
// context's error, and no operation, when it is cancelled before or while
// it runs (placing detections, walking, joining, building operations).
func TestBuildCancel(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	idx := NewIndex(1)
	sh := idx.Shard(0)
	var refs []DetectionRef
	for i := range 3 * checkEvery {
		ev := &event.Event{}
		ev.Add(event.FieldEventID, event.IntValue(1))
		ev.Add(event.FieldChannel, event.StringValue("Microsoft-Windows-Sysmon/Operational"))
		ev.Add(event.FieldComputer, event.StringValue(fmt.Sprintf("host%d", i%7)))
		ev.Add(event.FieldTimeCreated, event.TimeValue(t0.Add(time.Duration(i)*time.Second)))
		ev.Add("ProcessGuid", event.StringValue(fmt.Sprintf("{%08d-0000-0000-0000-000000000000}", i)))
		ev.Add("ProcessId", event.IntValue(int64(1000+i)))
		ev.Add("Image", event.StringValue(`C:\Windows\System32\cmd.exe`))
		sh.Observe(ev)
		r := sh.Ref(ev)
		r.Index, r.RuleID, r.Title, r.Level = i, "r", "Rule", "high"
		refs = append(refs, r)
	}
	// How many times an uncancelled run looks at its context: the
	// cancellations below come at every quarter of the way.
	count := ctxtest.After(ctxtest.Never)
	if ops, err := Build(count, refs, idx, Options{}); err != nil || len(ops) == 0 {
		t.Fatalf("without cancellation: got %d operations, err %v; want some (or the test proves nothing)", len(ops), err)
	}
	looks := count.Looks()
	for _, n := range []int64{-1, 0, looks / 4, looks / 2, 3 * looks / 4, looks - 1} {
		t.Run(fmt.Sprintf("after %d of %d looks", n, looks), func(t *testing.T) {
			var ctx context.Context = ctxtest.After(n)
			if n < 0 {
				ctx = ctxtest.Cancelled()
			}
			ops, err := Build(ctx, refs, idx, Options{})
			if !errors.Is(err, context.Canceled) || ops != nil {
				t.Errorf("got %d operations, err %v; want none, %v", len(ops), err, context.Canceled)
			}
		})
	}
}
