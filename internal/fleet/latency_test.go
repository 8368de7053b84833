package fleet_test

import (
	"context"
	"math"
	"os"
	"slices"
	"strconv"
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

// TestLatency measures, under a steady stream (SPOOR_FLEET_BENCH_RATE
// events a second, 10,000 unless set, for SPOOR_FLEET_BENCH_SECONDS, 60
// unless set), the time from each batch's publication (its storing in the
// stream) to the commit of what it gave, detections included, and the time
// until the case's operations reflect a commit (rebuild lag): one worker
// with its default options takes Security-Datasets' batches from a
// nats-server process as a paced publisher sends them. Run it with
// SPOOR_FLEET_BENCH=1 (BENCHMARKS.md, "Fleet").
func TestLatency(t *testing.T) {
	bin := benchServer(t)
	rate := envInt(t, "SPOOR_FLEET_BENCH_RATE", 10000)
	seconds := envInt(t, "SPOOR_FLEET_BENCH_SECONDS", 60)
	ctx := context.Background()
	// The evidence's batches, made once by a collector into memory.
	var batches capture
	err := fleet.Ship(ctx, &batches, []string{shared.Path(t, "datasets", "security-datasets")},
		fleet.ShipOptions{Tenant: "default", Case: "lat", Collector: "c", State: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	js := benchNATS(t, bin, "")
	if _, err := fleet.EnsureStream(ctx, js, "default", fleet.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rules, err := hunt.Compile(ctx, hunt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var latency, lag []float64
	stats := new(fleet.WorkerStats)
	stats.ObserveLatency = func(s float64) { mu.Lock(); latency = append(latency, s); mu.Unlock() }
	stats.ObserveRebuildLag = func(s float64) { mu.Lock(); lag = append(lag, s); mu.Unlock() }
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		fleet.RunWorker(wctx, js, fleet.WorkerOptions{ID: "lat", Tenant: "default", Store: st, Rules: rules, Stats: stats})
	})
	defer func() { stop(); wg.Wait() }()
	fleettest.Balanced(t, stats)
	heap := sampleHeap(wctx)
	pub := fleet.JetStreamPublisher{JS: js}
	start := time.Now()
	sent := 0
	for _, m := range batches.msgs {
		due := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
		if due.Sub(start) >= time.Duration(seconds)*time.Second {
			break
		}
		time.Sleep(time.Until(due))
		if err := pub.Publish(ctx, m.subject, m.data, m.id); err != nil {
			t.Fatal(err)
		}
		sent += m.events
	}
	elapsed := time.Since(start)
	fleettest.Drained(t, js, "default", func() bool { return stats.Events.Load() >= int64(sent) && stats.Dirty.Load() == 0 })
	stop()
	wg.Wait()
	_, peak, live := heap.result()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d events in %d batches over %v: %.0f events/s; one worker, %d commits, %d rebuilds, %d detections; heap in use at most %d MiB, live %d MiB (the publisher's batches included)",
		sent, len(latency), elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds(), stats.Commits.Load(), stats.Rebuilds.Load(), stats.Detections.Load(), peak, live)
	t.Logf("publish to commit: p50 %s, p95 %s, p99 %s, max %s", pct(latency, 50), pct(latency, 95), pct(latency, 99), pct(latency, 100))
	t.Logf("commit to operations (rebuild lag, %d rebuilds waited for): p50 %s, p95 %s, max %s", len(lag), pct(lag, 50), pct(lag, 95), pct(lag, 100))
	if len(latency) == 0 {
		t.Error("no commit observed")
	}
}

// capture is a Publisher that keeps what it is given, with its number of
// events.
type capture struct {
	msgs []captured
}

type captured struct {
	subject, id string
	data        []byte
	events      int
}

// Publish implements fleet.Publisher.
func (c *capture) Publish(_ context.Context, subject string, msg []byte, id string) error {
	b, err := fleet.Decode(msg, fleet.Limits{})
	if err != nil {
		return err
	}
	c.msgs = append(c.msgs, captured{subject: subject, id: id, data: slices.Clone(msg), events: len(b.Records)})
	return nil
}

// pct is the p-th percentile of xs (seconds), as milliseconds.
func pct(xs []float64, p float64) string {
	if len(xs) == 0 {
		return "-"
	}
	s := slices.Sorted(slices.Values(xs))
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return strconv.Itoa(int(1000*s[max(i, 0)])) + " ms"
}

// envInt is the environment's integer of name, or def when unset.
func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// BenchmarkDecode decodes the batches a collector makes of
// evtx-attack-samples, as a worker does (one Decoder, its memory reused).
func BenchmarkDecode(b *testing.B) {
	var batches capture
	err := fleet.Ship(context.Background(), &batches, []string{shared.Path(b, "datasets", "evtx-attack-samples")},
		fleet.ShipOptions{Tenant: "default", Case: "bench", Collector: "c", State: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	var size, events int
	for _, m := range batches.msgs {
		size += len(m.data)
		events += m.events
	}
	dec := fleet.NewDecoder(fleet.Limits{})
	b.SetBytes(int64(size))
	b.ReportAllocs()
	// CPU time as well as wall time: the machine is shared.
	cpu := cputime.Process()
	for b.Loop() {
		for _, m := range batches.msgs {
			if _, err := dec.Decode(m.data); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
