package fleet_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

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
// one worker on one core (GOMAXPROCS 1) and of two on two. Run it with SPOOR_FLEET_BENCH=1 (and
// SPOOR_FLEET_BENCH_PATH for other evidence than security-datasets).
func TestWorkerRate(t *testing.T) {
	bin := benchServer(t)
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

	// SPOOR_FLEET_BENCH_JS keeps the server's storage between runs: the
	// evidence is shipped only when the stream is empty.
	js := benchNATS(t, bin, os.Getenv("SPOOR_FLEET_BENCH_JS"))
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
		// n workers on n cores: one worker's partitions are goroutines
		// that would take both cores of a two-core machine on their own.
		procs := runtime.GOMAXPROCS(min(n, runtime.NumCPU()))
		runtime.GC()
		heap := sampleHeap(wctx)
		quarter, quarters := 1, [4]uint64{}
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
			// The heap's peak so far at each quarter of the backlog: a
			// bound, it stops growing once the worker is under way.
			for quarter < 4 && hunted >= int64(quarter)*events/4 {
				quarters[quarter] = heap.peak.Load() >> 20
				quarter++
			}
			return hunted >= events && dirty == 0
		})
		cpu, wall := cputime.Process()-cpu0, time.Since(wall0)
		// The last commit is when every event had been hunted and
		// committed: the consumers' rate, which workers share, apart from
		// the final rebuild of the case, which one worker makes.
		var last int64
		for _, s := range stats {
			last = max(last, s.LastCommit.Load())
		}
		committed := time.Unix(0, last)
		stop()
		wg.Wait()
		gomaxprocs := runtime.GOMAXPROCS(procs)
		base, peak, live := heap.result()
		var commits, storeNanos, rebuilds int64
		var by []int64 // rebuilds by each worker: one rebuilder per case
		for _, s := range stats {
			commits += s.Commits.Load()
			storeNanos += s.StoreNanos.Load()
			rebuilds += s.Rebuilds.Load()
			by = append(by, s.Rebuilds.Load())
		}
		got := len(fleettest.StoredDetections(t, st, "default", "bench"))
		st.Close()
		// The wall time includes the drain check's last second.
		wall -= time.Second
		line := fmt.Sprintf("%d worker(s), GOMAXPROCS %d: %v CPU, %v wall: %.0f events per CPU second (%.0f%% of the hunt's), %.0f events/s; %d commits, %v in the store, %d rebuilds (by each worker: %v); %d detections stored",
			n, gomaxprocs, cpu.Round(time.Millisecond), wall.Round(time.Millisecond), float64(events)/cpu.Seconds(),
			100*huntCPU.Seconds()/cpu.Seconds(), float64(events)/wall.Seconds(), commits, time.Duration(storeNanos).Round(time.Millisecond), rebuilds, by, got)
		t.Log(line)
		if at := committed.Sub(wall0); at > 0 {
			t.Logf("every event hunted and committed after %v: %.0f events/s; the rest (%v) is the final rebuild and the drain check's second",
				at.Round(time.Millisecond), float64(events)/at.Seconds(), (wall - at).Round(time.Millisecond))
		}
		t.Logf("heap in use: %d MiB before the workers, %d MiB at most while they ran (at most %d, %d, %d MiB by a quarter, half, three quarters of the events hunted); live heap at most %d MiB",
			base, peak, quarters[1], quarters[2], quarters[3], live)
		if got != len(plain.Detections) {
			// Tampering findings (gaps in record numbers) are not made
			// by workers: see docs/DEPLOYMENT.md.
			t.Logf("%d detections stored, the hunt found %d", got, len(plain.Detections))
		}
	}
}

// heapSampler samples the process's heap every 50 ms: in use (live and
// garbage not yet collected) and live (marked by the last collection).
type heapSampler struct {
	first      uint64
	peak, live atomic.Uint64
	done       chan struct{}
}

// sampleHeap samples until ctx is done.
func sampleHeap(ctx context.Context) *heapSampler {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &heapSampler{first: ms.HeapInuse, done: make(chan struct{})}
	h.peak.Store(ms.HeapInuse)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	go func() {
		defer close(h.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				h.peak.Store(max(h.peak.Load(), ms.HeapInuse))
				metrics.Read(sample)
				if sample[0].Value.Kind() == metrics.KindUint64 {
					h.live.Store(max(h.live.Load(), sample[0].Value.Uint64()))
				}
			}
		}
	}()
	return h
}

// result waits for the sampling to end and gives, in MiB, the first
// sample in use and the largest, and the largest live heap.
func (h *heapSampler) result() (first, peak, live uint64) {
	<-h.done
	return h.first >> 20, h.peak.Load() >> 20, h.live.Load() >> 20
}

// benchServer is the nats-server command of a measurement; the test is
// skipped without it, or without SPOOR_FLEET_BENCH=1.
func benchServer(t *testing.T) string {
	if os.Getenv("SPOOR_FLEET_BENCH") != "1" {
		t.Skip("set SPOOR_FLEET_BENCH=1 to measure")
	}
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server not installed")
	}
	return bin
}

// benchNATS starts a nats-server process with JetStream storing under dir
// (a temporary folder when empty) and connects to it; both end with the
// test.
func benchNATS(t *testing.T, bin, dir string) jetstream.JetStream {
	if dir == "" {
		dir = t.TempDir()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ns := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-sd", dir)
	if err := ns.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Process.Kill(); ns.Wait() })
	time.Sleep(500 * time.Millisecond)
	nc, js, err := fleet.Connect(fmt.Sprintf("nats://127.0.0.1:%d", port), "bench")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return js
}
