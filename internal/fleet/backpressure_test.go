package fleet_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/fleettest"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/store"
)

// TestWorkerBackpressure: a worker over a backlog whose store does not
// take its commits (another writer holds the SQLite file's write lock)
// stops taking messages once each partition holds a commit's worth (20
// events here, so one fetch): what it holds does not grow with the
// backlog, which waits in the stream. Once the store takes commits again
// the backlog is hunted whole.
func TestWorkerBackpressure(t *testing.T) {
	if testing.Short() {
		t.Skip("backpressure: seconds of hunting through NATS")
	}
	ctx := context.Background()
	_, js := fleettest.NATS(t)
	if _, err := fleet.EnsureStream(ctx, js, "default", fleet.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fleet.EnsureConsumers(ctx, js, "default", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// Two events a message: the busiest partitions hold more than a fetch.
	var shipped fleet.ShipStats
	evidence := shared.Path(t, "datasets", "evtx-attack-samples")
	if err := fleet.Ship(ctx, fleet.JetStreamPublisher{JS: js}, []string{evidence},
		fleet.ShipOptions{Tenant: "default", Case: "bp", Collector: "c1", State: t.TempDir(), Window: 2, Stats: &shipped}); err != nil {
		t.Fatal(err)
	}
	backlog := partitions(t, js)
	deep := 0
	for _, p := range backlog {
		if p.Pending > fleet.FetchMessages {
			deep++
		}
	}
	if deep == 0 {
		t.Fatalf("no partition's backlog is deeper than a fetch (%d messages): nothing to hold back", fleet.FetchMessages)
	}

	dir := t.TempDir()
	st, rules := storeAndRulesIn(t, dir)
	lock := writeLock(t, filepath.Join(dir, store.FileName))
	stats := new(fleet.WorkerStats)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := fleet.RunWorker(wctx, js, fleet.WorkerOptions{ID: "w", Tenant: "default", Store: st, Rules: rules, Stats: stats, FlushEvents: 20})
		if err != context.Canceled {
			t.Errorf("worker: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })

	// Every partition with messages takes a fetch and waits on the store:
	// what was delivered is what the worker took.
	fleettest.Balanced(t, stats)
	for deadline := time.Now().Add(time.Minute); !blocked(partitions(t, js), stats.Messages.Load()); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the partitions did not all wait on the locked store within a minute (%d messages taken)", stats.Messages.Load())
		}
	}
	// And nothing more is taken while it stays locked.
	held := stats.Messages.Load()
	time.Sleep(2 * time.Second)
	if n := stats.Messages.Load(); n != held {
		t.Fatalf("%d messages more taken with the store locked", n-held)
	}
	if c := stats.Commits.Load(); c != 0 {
		t.Fatalf("%d commits with the store locked", c)
	}
	var delivered, waiting uint64
	for _, p := range partitions(t, js) {
		if p.AckPending > fleet.FetchMessages {
			t.Errorf("partition %d: %d messages held unacknowledged, more than a fetch (%d)", p.Partition, p.AckPending, fleet.FetchMessages)
		}
		delivered += uint64(p.AckPending)
		waiting += p.Pending
	}
	if delivered != uint64(held) {
		t.Errorf("%d messages delivered and unacknowledged, the worker took %d", delivered, held)
	}
	if waiting == 0 {
		t.Error("nothing of the backlog waits in the stream")
	}

	lock()
	fleettest.Drained(t, js, "default", func() bool { return stats.Dirty.Load() == 0 })
	if got, want := stats.Events.Load(), shipped.Events.Load(); got != want {
		t.Errorf("%d events hunted once the store took commits, %d shipped", got, want)
	}
	if stats.Detections.Load() == 0 {
		t.Error("no detection stored")
	}
}

// blocked reports whether every partition has been delivered messages
// or has none, and the worker took all that were delivered.
func blocked(ps []fleet.PartitionStatus, taken int64) bool {
	var delivered int64
	for _, p := range ps {
		if p.AckPending == 0 && p.Pending > 0 {
			return false
		}
		delivered += int64(p.AckPending)
	}
	return delivered == taken
}

// partitions is the default tenant's partitions as spoor fleet status
// reads them.
func partitions(t *testing.T, js jetstream.JetStream) []fleet.PartitionStatus {
	t.Helper()
	st, err := fleet.ReadStatus(context.Background(), js, "default")
	if err != nil {
		t.Fatal(err)
	}
	return st.Partitions
}

// writeLock takes the write lock of the SQLite database at path from
// another connection, as a busy writer would; release gives it back.
func writeLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Error(err)
		}
		conn.Close()
	}
}
