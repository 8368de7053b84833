package cli

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/fleettest"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// TestShipAndStatus: spoor ship publishes a folder to a JetStream server
// and says how much; spoor fleet status then lists the collector with its
// last bookmark, the tenant's stream and its 16 partitions, whose backlog
// is every message shipped (no worker runs).
func TestShipAndStatus(t *testing.T) {
	dir := shared.Path(t, "datasets", "evtx-attack-samples", "Lateral Movement")
	url, js := fleettest.NATS(t)
	t.Setenv("SPOOR_DATA_DIR", t.TempDir())
	code, _, stderr := run(t, t.Context(), "ship", dir, "--nats", url, "--tenant", "acme", "--case", "lm", "--name", "col-1")
	if code != 0 || !strings.Contains(stderr, "shipped ") {
		t.Fatalf("ship: %d %s", code, stderr)
	}
	// The partitions' consumers, as a worker makes them.
	if err := fleet.EnsureConsumers(t.Context(), js, "acme", time.Minute); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, t.Context(), "fleet", "status", "--nats", url, "--tenant", "acme", "--json")
	if code != 0 {
		t.Fatalf("fleet status: %d %s", code, stderr)
	}
	var st fleet.Status
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Collectors) != 1 || st.Collectors[0].Name != "col-1" || st.Collectors[0].Events == 0 || st.Collectors[0].Bookmark == nil {
		t.Errorf("collectors %+v, want col-1 with its events and bookmark", st.Collectors)
	}
	var pending uint64
	for _, p := range st.Partitions {
		pending += p.Pending
	}
	if len(st.Partitions) != fleet.Partitions || pending != st.Messages || st.Messages == 0 {
		t.Errorf("%d partitions, %d pending of %d messages", len(st.Partitions), pending, st.Messages)
	}
	code, stdout, _ = run(t, t.Context(), "fleet", "status", "--nats", url, "--tenant", "acme")
	if code != 0 || !strings.Contains(stdout, "col-1") || !strings.Contains(stdout, "PARTITION") {
		t.Errorf("fleet status: %d\n%s", code, stdout)
	}
}

// unansweredBucket is a JetStream whose first bucket look-up gets no
// answer, as while a cluster elects the bucket's leader.
type unansweredBucket struct {
	jetstream.JetStream
	failed atomic.Bool
}

func (u *unansweredBucket) KeyValue(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	if !u.failed.Swap(true) {
		return nil, nats.ErrTimeout
	}
	return u.JetStream.KeyValue(ctx, bucket)
}

// TestCollectorReportedAfterBucketUnanswered: a collector whose tenant's
// bucket did not answer at its start is still listed by fleet status once
// it does (it gave up on the bucket, and was never listed).
func TestCollectorReportedAfterBucketUnanswered(t *testing.T) {
	_, js := fleettest.NATS(t)
	if _, err := fleet.EnsureStream(t.Context(), js, "acme", fleet.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	flaky := &unansweredBucket{JetStream: js}
	stop := reportCollector(t.Context(), flaky, "acme", "col-1", new(fleet.ShipStats), Env{Stdout: io.Discard, Stderr: io.Discard})
	stop()
	if !flaky.failed.Load() {
		t.Fatal("the bucket's look-up did not fail")
	}
	st, err := fleet.ReadStatus(t.Context(), js, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Collectors) != 1 || st.Collectors[0].Name != "col-1" {
		t.Errorf("collectors %+v, want col-1", st.Collectors)
	}
}
