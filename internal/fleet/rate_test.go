package fleet_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/cputime"
	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/fleettest"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/store"
)

// TestWorkerRate measures a worker's hunting rate against the in-process
// hunt's on the same machine and evidence (BENCHMARKS.md, "Fleet"): the
// hunt's CPU time from its evidence phase to its end (reading, matching,
// correlations, operations), and the worker's to take the same events
// from a nats-server process (already shipped), hunt them, commit them to
// a SQLite store and rebuild the case's operations; then the wall time of
// one worker and of two. Run it with SPOOR_FLEET_BENCH=1 (and
// SPOOR_FLEET_BENCH_PATH for other evidence than security-datasets).
func TestWorkerRate(t *testing.T) {
	if os.Getenv("SPOOR_FLEET_BENCH") != "1" {
		t.Skip("set SPOOR_FLEET_BENCH=1 to measure")
	}
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server not installed")
	}
	path := os.Getenv("SPOOR_FLEET_BENCH_PATH")
	if path == "" {
		path = shared.Path(t, "datasets", "security-datasets")
	}
	ctx := context.Background()
	opts := hunt.Options{Workers: 1}
	var evidenceCPU time.Duration
	var evidenceAt time.Time
	opts.OnPhase = func(p hunt.Phase) {
		if p == hunt.PhaseEvidence {
			evidenceCPU, evidenceAt = cputime.Process(), time.Now()
		}
	}
	plain, err := hunt.Run(ctx, []string{path}, opts)
	if err != nil {
		t.Fatal(err)
	}
	huntCPU, huntWall := cputime.Process()-evidenceCPU, time.Since(evidenceAt)
	events := plain.Evidence.Events
	t.Logf("in-process hunt (1 worker): %d events, %d detections, %v CPU, %v wall: %.0f events per CPU second",
		events, len(plain.Detections), huntCPU.Round(time.Millisecond), huntWall.Round(time.Millisecond), float64(events)/huntCPU.Seconds())

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// SPOOR_FLEET_BENCH_JS keeps the server's storage between runs: the
	// evidence is shipped only when the stream is empty.
	jsDir := os.Getenv("SPOOR_FLEET_BENCH_JS")
	if jsDir == "" {
		jsDir = t.TempDir()
	}
	ns := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-sd", jsDir)
	if err := ns.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Process.Kill(); ns.Wait() }()
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	time.Sleep(500 * time.Millisecond)
	nc, js, err := fleet.Connect(url, "bench")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	stream, err := fleet.EnsureStream(ctx, js, "default", fleet.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := stream.Info(ctx); err != nil || info.State.Msgs == 0 {
		shipStart := time.Now()
		if err := fleet.Ship(ctx, fleet.JetStreamPublisher{JS: js}, []string{path}, fleet.ShipOptions{Tenant: "default", Case: "bench", Collector: "c", State: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		t.Logf("shipped in %v", time.Since(shipStart).Round(time.Millisecond))
	}
	rules, err := hunt.Compile(ctx, hunt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	counts := []int{1, 2}
	if os.Getenv("SPOOR_FLEET_BENCH_ONE") == "1" {
		counts = counts[:1]
	}
	for _, n := range counts {
		st, err := store.Open(ctx, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		// Each run reads the stream from its start: consumers made anew.
		for p := range fleet.Partitions {
			js.DeleteConsumer(ctx, fleet.StreamName("default"), fleet.ConsumerName(p))
		}
		wctx, stop := context.WithCancel(ctx)
		stats := make([]*fleet.WorkerStats, n)
		var wg sync.WaitGroup
		runtime.GC()
		heap := sampleHeap(wctx)
		cpu0, wall0 := cputime.Process(), time.Now()
		for i := range stats {
			stats[i] = new(fleet.WorkerStats)
			wg.Go(func() {
				fleet.RunWorker(wctx, js, fleet.WorkerOptions{ID: fmt.Sprint("b", n, i), Tenant: "default", Store: st, Rules: rules,
					Hunt: hunt.Options{}, RebuildAfter: 200 * time.Millisecond, Stats: stats[i]})
			})
		}
		fleettest.Drained(t, js, "default", func() bool {
			var hunted int64
			dirty := int64(0)
			for _, s := range stats {
				hunted += s.Events.Load()
				dirty += s.Dirty.Load()
			}
			return hunted >= events && dirty == 0
		})
		cpu, wall := cputime.Process()-cpu0, time.Since(wall0)
		stop()
		wg.Wait()
		base, peak := heap()
		var commits, storeNanos, rebuilds int64
		for _, s := range stats {
			commits += s.Commits.Load()
			storeNanos += s.StoreNanos.Load()
			rebuilds += s.Rebuilds.Load()
		}
		got := len(fleettest.StoredDetections(t, st, "default", "bench"))
		st.Close()
		// The wall time includes the drain check's last second.
		wall -= time.Second
		line := fmt.Sprintf("%d worker(s), GOMAXPROCS %d: %v CPU, %v wall: %.0f events per CPU second (%.0f%% of the hunt's), %.0f events/s; %d commits, %v in the store, %d rebuilds; %d detections stored",
			n, runtime.GOMAXPROCS(0), cpu.Round(time.Millisecond), wall.Round(time.Millisecond), float64(events)/cpu.Seconds(),
			100*huntCPU.Seconds()/cpu.Seconds(), float64(events)/wall.Seconds(), commits, time.Duration(storeNanos).Round(time.Millisecond), rebuilds, got)
		t.Log(line)
		t.Logf("heap in use: %d MiB before the workers, %d MiB at most while they ran", base>>20, peak>>20)
		if got != len(plain.Detections) {
			// Tampering findings (gaps in record numbers) are not made
			// by workers: see docs/DEPLOYMENT.md.
			t.Logf("%d detections stored, the hunt found %d", got, len(plain.Detections))
		}
	}
}

// sampleHeap samples the process's heap in use every 50 ms until ctx is
// done; the function it returns waits for that and gives the first sample
// and the largest.
func sampleHeap(ctx context.Context) func() (first, peak uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	first, peak := ms.HeapInuse, ms.HeapInuse
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	}()
	return func() (uint64, uint64) {
		<-done
		return first, peak
	}
}
