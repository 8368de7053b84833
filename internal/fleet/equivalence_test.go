package fleet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/fleettest"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/store"
)

// storeAndRules opens a case store in a temporary folder, closed at the
// test's end, and compiles huntOpts' rules.
func storeAndRules(t *testing.T) (*store.Store, *hunt.Rules) {
	t.Helper()
	return storeAndRulesIn(t, t.TempDir())
}

// storeAndRulesIn is storeAndRules with the store's SQLite file in dir.
func storeAndRulesIn(t *testing.T, dir string) (*store.Store, *hunt.Rules) {
	t.Helper()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rules, err := hunt.Compile(context.Background(), huntOpts())
	if err != nil {
		t.Fatal(err)
	}
	return st, rules
}

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
	equivalence(t, shared.Path(t, "datasets", "evtx-attack-samples"))
}

// TestEquivalenceSecurityDatasets: the same with Security-Datasets'
// command-line and PowerShell defense evasion recordings (23 JSON exports
// in archives; the logging stopped and disabled among them, so tampering
// detections), or with all of Security-Datasets (1,043,211 events, about
// 70 s of CPU) when SPOOR_FLEET_EQUIVALENCE=all (not by default, for its
// time; its six lost Sysmon detections of BENCHMARKS.md's "fleetgaps"
// were the collector's encoder keeping the reader's views, fixed).
func TestEquivalenceSecurityDatasets(t *testing.T) {
	if testing.Short() {
		t.Skip("equivalence: minutes of hunting through NATS")
	}
	host := shared.Path(t, "datasets", "security-datasets", "datasets", "atomic", "windows", "defense_evasion", "host")
	var paths []string
	for _, glob := range []string{"cmd_*.zip", "psh_*.zip"} {
		m, err := filepath.Glob(filepath.Join(host, glob))
		if err != nil || len(m) == 0 {
			t.Fatalf("%s under %s: %v, %v", glob, host, m, err)
		}
		paths = append(paths, m...)
	}
	switch e := os.Getenv("SPOOR_FLEET_EQUIVALENCE"); e {
	case "":
	case "all":
		paths = []string{shared.Path(t, "datasets", "security-datasets")}
	default: // a folder or file of it
		paths = []string{shared.Path(t, "datasets", "security-datasets", e)}
	}
	was := fleettest.DrainWithin
	fleettest.DrainWithin = 30 * time.Minute // a loaded machine's
	t.Cleanup(func() { fleettest.DrainWithin = was })
	plain := equivalence(t, paths...)
	if tampering(plain) == 0 {
		t.Error("the offline hunt has no tampering detection: nothing of the gap facts was compared")
	}
}

// TestEquivalenceTampering: logs whose tampering findings are detections
// (records cut out of an EVTX file, with evtxedit; the EventLog service
// disabled; logging stopped without a reboot, in a Security-Datasets
// export) give the workers' case the offline hunt's detections, those
// findings among them, and operations.
func TestEquivalenceTampering(t *testing.T) {
	dir := t.TempDir()
	fleet.EditedLog(t, dir)
	host := shared.Path(t, "datasets", "security-datasets", "datasets", "atomic", "windows", "defense_evasion", "host")
	plain := equivalence(t, dir,
		shared.Path(t, "datasets", "deepbluecli", "evtx", "disablestop-eventlog.evtx"),
		filepath.Join(host, "cmd_psh_stop_netprofm_eventlog_after_reboot.zip"),
		filepath.Join(host, "psh_disable_eventlog_service_startuptype_modification.zip"))
	if n := tampering(plain); n < 4 {
		t.Errorf("the offline hunt has %d tampering detections, want 4 (removed, disabled twice, stopped)", n)
	}
}

func tampering(res *result.Result) int {
	n := 0
	for i := range res.Detections {
		if res.Detections[i].Kind == result.KindTampering {
			n++
		}
	}
	return n
}

// equivalence ships paths by a collector through NATS JetStream to two
// workers and checks that the case holds exactly the detections and
// operations of an offline hunt of paths, which it returns.
func equivalence(t *testing.T, paths ...string) *result.Result {
	t.Helper()
	ctx := context.Background()
	plain, err := hunt.Run(ctx, paths, huntOpts())
	if err != nil {
		t.Fatal(err)
	}
	_, js := fleettest.NATS(t)
	st, rules := storeAndRules(t)
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
	// Both workers hold their share before anything is shipped.
	fleettest.Balanced(t, stats...)
	if err := fleet.Ship(ctx, fleet.JetStreamPublisher{JS: js}, paths, fleet.ShipOptions{Tenant: "default", Case: "eq", Collector: "c1", State: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	fleettest.Drained(t, js, "default", func() bool { return stats[0].Dirty.Load() == 0 && stats[1].Dirty.Load() == 0 })
	for i, s := range stats {
		if n, m := s.Oversize.Load(), s.BadMessages.Load(); n+m > 0 {
			t.Errorf("worker %d left out %d detections as too large and refused %d messages", i, n, m)
		}
		if s.Events.Load() == 0 && len(plain.Hosts) > 12 {
			t.Errorf("worker %d hunted no event of %d hosts", i, len(plain.Hosts))
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
	return plain
}
