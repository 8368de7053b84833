package fleet_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/fleettest"
	"github.com/spoor-hunt/spoor/internal/store"
)

// TestWorkerRefusesBadMessages: junk and a batch of another tenant on a
// tenant's subjects are refused, counted and terminated (never delivered
// again); a good batch beside them is hunted and committed.
func TestWorkerRefusesBadMessages(t *testing.T) {
	ctx := context.Background()
	js := acmeNATS(t, false)
	pub := fleet.JetStreamPublisher{JS: js}
	if err := pub.Publish(ctx, fleet.Subject("acme", "h1"), []byte("not a batch"), "junk"); err != nil {
		t.Fatal(err)
	}
	other := fleet.NewEncoder(fleet.Header{Tenant: "evil", Case: "c", Host: "h1"})
	msg, _ := other.Message()
	if err := pub.Publish(ctx, fleet.Subject("acme", "h1"), msg, "other"); err != nil {
		t.Fatal(err)
	}
	good := fleet.NewEncoder(fleet.Header{Tenant: "acme", Case: "c", Host: "h1"})
	msg, _ = good.Message() // no events: a commit of nothing
	if err := pub.Publish(ctx, fleet.Subject("acme", "h1"), msg, "good"); err != nil {
		t.Fatal(err)
	}
	st, stats, stop := acmeWorker(t, js)
	deadline := time.Now().Add(time.Minute)
	for (stats.BadMessages.Load() < 2 || stats.Commits.Load() < 1) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if stats.BadMessages.Load() != 2 || stats.Messages.Load() != 3 || stats.Commits.Load() != 1 {
		t.Fatalf("%d bad of %d messages, %d commits; want 2 of 3, 1", stats.BadMessages.Load(), stats.Messages.Load(), stats.Commits.Load())
	}
	// Terminated and acknowledged: nothing waits to be delivered again.
	c, err := js.Consumer(ctx, fleet.StreamName("acme"), fleet.ConsumerName(fleet.Partition("h1")))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumPending != 0 || info.NumAckPending != 0 {
		t.Errorf("%d pending, %d unacknowledged after the worker", info.NumPending, info.NumAckPending)
	}
	if _, err := st.Case(ctx, "acme", "c"); err != nil {
		t.Errorf("the good batch's case: %v", err)
	}
}

// acmeNATS starts NATS with tenant acme's stream holding, with batch,
// one batch of case c from host h1 (no events: a commit of nothing).
func acmeNATS(t *testing.T, batch bool) jetstream.JetStream {
	t.Helper()
	_, js := fleettest.NATS(t)
	if _, err := fleet.EnsureStream(t.Context(), js, "acme", fleet.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if batch {
		msg, _ := fleet.NewEncoder(fleet.Header{Tenant: "acme", Case: "c", Host: "h1"}).Message()
		if err := (fleet.JetStreamPublisher{JS: js}).Publish(t.Context(), fleet.Subject("acme", "h1"), msg, "good"); err != nil {
			t.Fatal(err)
		}
	}
	return js
}

// acmeWorker runs a worker of tenant acme on js, with a case store of the
// tenant and the built-in rules, until stop (or the test's end).
func acmeWorker(t *testing.T, js jetstream.JetStream) (st *store.Store, stats *fleet.WorkerStats, stop func()) {
	t.Helper()
	st, rules := storeAndRules(t)
	if _, err := st.AddTenant(t.Context(), "acme", "test"); err != nil {
		t.Fatal(err)
	}
	stats = new(fleet.WorkerStats)
	wctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := fleet.RunWorker(wctx, js, fleet.WorkerOptions{ID: "w", Tenant: "acme", Store: st, Rules: rules, Stats: stats, Lease: 3 * time.Second})
		if err != context.Canceled {
			t.Errorf("worker: %v", err)
		}
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop) // before the store's close, registered first
	return st, stats, stop
}

// flakyConsumers is a JetStream whose consumer look-ups fail the first
// times, as while a cluster elects the leader of a lost node's consumers.
type flakyConsumers struct {
	jetstream.JetStream
	fails atomic.Int32
}

func (f *flakyConsumers) Consumer(ctx context.Context, stream, name string) (jetstream.Consumer, error) {
	if f.fails.Add(-1) >= 0 {
		return nil, jetstream.ErrConsumerNotFound
	}
	return f.JetStream.Consumer(ctx, stream, name)
}

// TestWorkerConsumerLookupRetried: a partition whose consumer does not
// answer when the worker takes it is read once it does (the worker gave
// up on it and kept its lease, so it was never read: a CI run of
// TestFleetCluster waited for one message for nine minutes).
func TestWorkerConsumerLookupRetried(t *testing.T) {
	flaky := &flakyConsumers{JetStream: acmeNATS(t, true)}
	flaky.fails.Store(3 * fleet.Partitions) // every partition's first look-ups
	_, stats, stop := acmeWorker(t, flaky)
	for deadline := time.Now().Add(time.Minute); stats.Commits.Load() < 1 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if stats.Messages.Load() != 1 || stats.Commits.Load() != 1 {
		t.Errorf("%d messages hunted, %d commits; want the one message committed", stats.Messages.Load(), stats.Commits.Load())
	}
	if flaky.fails.Load() >= 0 {
		t.Errorf("%d look-ups still to fail: the test did not fail them", flaky.fails.Load()+1)
	}
}

// flakyLeases is a JetStream whose tenant bucket fails updates of the
// keys starting with prefix (the cases' rebuild leases, or the
// partitions') with a timeout while fails is above zero, the odd ones
// after making them (their answer lost), or every one with made, as a
// cluster electing its bucket's leader does; renewed counts those made
// since.
type flakyLeases struct {
	jetstream.JetStream
	prefix         string
	fails, renewed atomic.Int32
	made           atomic.Bool
}

func (f *flakyLeases) CreateOrUpdateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := f.JetStream.CreateOrUpdateKeyValue(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &flakyKV{KeyValue: kv, f: f}, nil
}

type flakyKV struct {
	jetstream.KeyValue
	f *flakyLeases
}

func (kv *flakyKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if !strings.HasPrefix(key, kv.f.prefix) {
		return kv.KeyValue.Update(ctx, key, value, rev)
	}
	if n := kv.f.fails.Add(-1); n >= 0 {
		kv.f.renewed.Store(0)
		if n%2 == 1 || kv.f.made.Load() {
			kv.KeyValue.Update(ctx, key, value, rev)
		}
		return 0, nats.ErrTimeout
	}
	rev, err := kv.KeyValue.Update(ctx, key, value, rev)
	if err == nil {
		kv.f.renewed.Add(1)
	}
	return rev, err
}

// TestWorkerCaseLeaseKept: a case's rebuild lease whose renewal got no
// answer is renewed at the next beats, and still says the mark of the
// case's last rebuild (the worker let it go, and it expired: RebuiltMark
// never equalled the case's mark again, nothing committing to it).
func TestWorkerCaseLeaseKept(t *testing.T) {
	ctx := context.Background()
	js := acmeNATS(t, true)
	flaky := &flakyLeases{JetStream: js, prefix: fleet.CaseKeyPrefix}
	st, _, _ := acmeWorker(t, flaky)
	rebuilt := func() bool {
		m, err := st.CaseMark(ctx, "acme", "c")
		r, ok, err2 := fleet.RebuiltMark(ctx, js, "acme", "c")
		return err == nil && err2 == nil && ok && r == m
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within a minute", what)
			}
		}
	}
	waitUntil("the case rebuilt", rebuilt)
	flaky.fails.Store(2)
	waitUntil("the rebuild lease renewed twice after its renewals failed", func() bool { return flaky.fails.Load() < 0 && flaky.renewed.Load() >= 2 })
	if !rebuilt() {
		t.Error("the rebuild lease does not say the case's mark")
	}
}

// TestWorkerPartitionLeaseKept: a partition lease whose renewal got no
// answer, made or not, is renewed (the worker read the key and found it
// its own) and the partition read on: the worker stopped reading it until
// the lease expired and was taken again.
func TestWorkerPartitionLeaseKept(t *testing.T) {
	flaky := &flakyLeases{JetStream: acmeNATS(t, false), prefix: fleet.LeaseKeyPrefix}
	_, stats, _ := acmeWorker(t, flaky)
	const all = uint64(1)<<fleet.Partitions - 1
	fleettest.Balanced(t, stats)
	// One renewal's answer lost, the update not made; then one made.
	for _, made := range []bool{false, true} {
		flaky.made.Store(made)
		flaky.fails.Store(1)
		for deadline := time.Now().Add(time.Minute); flaky.fails.Load() >= 0 || flaky.renewed.Load() < 2*fleet.Partitions; time.Sleep(time.Millisecond) {
			if o := stats.Owned.Load(); o != all {
				t.Fatalf("update made %v: partitions held %016b, want all while a renewal gets no answer", made, o)
			}
			if time.Now().After(deadline) {
				t.Fatalf("update made %v: the partition leases were not renewed twice after, within a minute", made)
			}
		}
	}
}
