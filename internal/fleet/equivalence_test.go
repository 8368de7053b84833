package fleet_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/fleettest"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/store"
)

// huntOpts are the rules of the equivalence tests: the built-in set (its
// correlations included), as the offline hunt uses them.
func huntOpts() hunt.Options { return hunt.Options{Workers: 2} }

// TestEquivalence: evtx-attack-samples shipped by a collector through
// NATS JetStream to two workers gives the case exactly the detections
// (correlation matches included) and operations of an offline hunt of the
// same files with the same rules; each worker hunted a share.
func TestEquivalence(t *testing.T) {
	if testing.Short() {
		t.Skip("equivalence: a minute of hunting through NATS")
	}
	dir := shared.Path(t, "datasets", "evtx-attack-samples")
	ctx := context.Background()
	plain, err := hunt.Run(ctx, []string{dir}, huntOpts())
	if err != nil {
		t.Fatal(err)
	}
	_, js := fleettest.NATS(t)
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rules, err := hunt.Compile(ctx, huntOpts())
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stats := []*fleet.WorkerStats{new(fleet.WorkerStats), new(fleet.WorkerStats)}
	for i, s := range stats {
		wg.Go(func() {
			err := fleet.RunWorker(wctx, js, fleet.WorkerOptions{ID: fmt.Sprint("w", i), Tenant: "default", Store: st, Rules: rules, Hunt: huntOpts(),
				Lease: 6 * time.Second, RebuildAfter: 200 * time.Millisecond, Stats: s})
			if err != context.Canceled {
				t.Errorf("worker %d: %v", i, err)
			}
		})
	}
	defer func() { stop(); wg.Wait() }()
	// Both workers are members before anything is shipped, so that each
	// takes its share from the start.
	time.Sleep(2 * time.Second)
	if err := fleet.Ship(ctx, fleet.JetStreamPublisher{JS: js}, []string{dir}, fleet.ShipOptions{Tenant: "default", Case: "eq", Collector: "c1", State: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	fleettest.Drained(t, js, "default", func() bool { return stats[0].Dirty.Load() == 0 && stats[1].Dirty.Load() == 0 })
	for i, s := range stats {
		if s.Events.Load() == 0 {
			t.Errorf("worker %d hunted no event", i)
		}
	}
	// One rebuilder per case: the worker holding its rebuild lease.
	if r0, r1 := stats[0].Rebuilds.Load(), stats[1].Rebuilds.Load(); r0 == 0 == (r1 == 0) {
		t.Errorf("rebuilds of the case: %d by worker 0, %d by worker 1; want them all by one", r0, r1)
	}
	if got := stats[0].Events.Load() + stats[1].Events.Load(); got != plain.Evidence.Events {
		t.Errorf("workers hunted %d events, the offline hunt %d", got, plain.Evidence.Events)
	}
	fleettest.SameDetections(t, st, "default", "eq", plain)
	fleettest.SameOperations(t, st, "default", "eq", plain)
}
