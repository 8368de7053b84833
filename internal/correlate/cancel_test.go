package correlate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

func mustRun(t testing.TB, s *Set, inputs []Input) []Match {
	t.Helper()
	ms, err := s.Run(context.Background(), inputs)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return ms
}

func mustOperations(t testing.TB, dets []DetectionRef, idx *Index, opts OperationOptions) []Operation {
	t.Helper()
	ops, err := BuildOperations(context.Background(), dets, idx, opts)
	if err != nil {
		t.Fatalf("BuildOperations: %v", err)
	}
	return ops
}

// cancelAfter is a context cancelled after its Err has been called n
// times: a cancellation in the middle of the work, at a place that does
// not depend on timing.
type cancelAfter struct {
	context.Context
	n atomic.Int64
}

func newCancelAfter(n int64) *cancelAfter {
	c := &cancelAfter{Context: context.Background()}
	c.n.Store(n)
	return c
}

func (c *cancelAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// cancelled is a context cancelled before the work starts.
func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestRunCancel checks that Set.Run returns the context's error, and no
// match, when it is cancelled before or while it runs.
func TestRunCancel(t *testing.T) {
	s := mustCompile(t, baseRules("fail")+corrDoc("many", "event_count", "fail", "Ip", "5m", "gte: 2"))
	inputs := make([]Input, 5*checkEvery)
	for i := range inputs {
		inputs[i] = Input{RuleName: "fail", Time: t0.Add(time.Duration(i) * 50 * time.Millisecond), Fields: map[string]string{"Ip": "10.0.0." + strconv.Itoa(i%(3*checkEvery))}}
	}
	if n := len(mustRun(t, s, inputs)); n == 0 {
		t.Fatal("no match without cancellation: the test proves nothing")
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"before", cancelled()},
		{"while grouping inputs", newCancelAfter(2)},
		{"while evaluating groups", newCancelAfter(5 + 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := s.Run(tc.ctx, inputs)
			if !errors.Is(err, context.Canceled) || ms != nil {
				t.Errorf("got %d matches, err %v; want none, %v", len(ms), err, context.Canceled)
			}
		})
	}
}

// TestBuildOperationsCancel checks that BuildOperations returns the
// context's error, and no operation, when it is cancelled before or while
// it runs (placing detections, walking, joining, building operations).
func TestBuildOperationsCancel(t *testing.T) {
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
	count := newCancelAfter(1 << 40)
	if ops, err := BuildOperations(count, refs, idx, OperationOptions{}); err != nil || len(ops) == 0 {
		t.Fatalf("without cancellation: got %d operations, err %v; want some (or the test proves nothing)", len(ops), err)
	}
	looks := 1<<40 - count.n.Load()
	for _, n := range []int64{-1, 0, looks / 4, looks / 2, 3 * looks / 4, looks - 1} {
		t.Run(fmt.Sprintf("after %d of %d looks", n, looks), func(t *testing.T) {
			var ctx context.Context = newCancelAfter(n)
			if n < 0 {
				ctx = cancelled()
			}
			ops, err := BuildOperations(ctx, refs, idx, OperationOptions{})
			if !errors.Is(err, context.Canceled) || ops != nil {
				t.Errorf("got %d operations, err %v; want none, %v", len(ops), err, context.Canceled)
			}
		})
	}
}
