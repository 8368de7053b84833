// Package fleettest holds test code shared by the fleet's tests (the
// equivalence of a fleet's case with an offline hunt) and the CLI's fault
// tests over real processes: test code only.
package fleettest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/store"
)

// Counts compares two multisets of keys: missing are in want and not in
// got, extra in got more often than in want.
func Counts(got, want []string) (missing, extra int) {
	m := map[string]int{}
	for _, k := range want {
		m[k]++
	}
	for _, k := range got {
		m[k]--
	}
	for _, n := range m {
		if n > 0 {
			missing += n
		} else {
			extra -= n
		}
	}
	return missing, extra
}

// StoredDetections returns the JSON of every detection listed in the
// case (complete hunts), each as stored.
func StoredDetections(t testing.TB, st *store.Store, tenant, caseName string) []string {
	t.Helper()
	var out []string
	q := store.Query{Limit: store.MaxLimit}
	for {
		page, err := st.Detections(context.Background(), tenant, caseName, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Detections {
			out = append(out, string(d.JSON))
		}
		if page.Next == "" {
			return out
		}
		q.After = page.Next
	}
}

// maxCounted is how many of the detections it counted a correlation
// match keeps in a case (intake's and the fleet's bound).
const maxCounted = 100

// SameDetections checks that the case holds exactly the offline hunt's
// detections, its tampering findings and correlation matches (their
// counted detections cut as a case keeps them) included: the same set of
// JSON objects, none twice.
func SameDetections(t testing.TB, st *store.Store, tenant, caseName string, plain *result.Result) {
	t.Helper()
	want := make([]string, len(plain.Detections))
	for i := range plain.Detections {
		d := plain.Detections[i]
		if c := d.Correlation; c != nil && len(c.Detections) > maxCounted {
			cut := *c
			cut.Detections = c.Detections[:maxCounted]
			d.Correlation = &cut
		}
		b, err := json.Marshal(&d)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = string(b)
	}
	got := StoredDetections(t, st, tenant, caseName)
	missing, extra := Counts(got, want)
	if missing != 0 || extra != 0 {
		t.Errorf("the case holds %d detections, the offline hunt %d: %d missing, %d extra (or twice)", len(got), len(want), missing, extra)
		shown := 0
		m := map[string]int{}
		for _, k := range want {
			m[k]++
		}
		for _, k := range got {
			m[k]--
		}
		for k, n := range m {
			if n != 0 && shown < 3 {
				t.Logf("%+d: %.400s", n, k)
				shown++
			}
		}
	}
}

// detKey names a detection in the operations' comparison.
func detKey(d *result.Detection) string {
	return fmt.Sprintf("%s|%s|%s|%d|%d|%s", d.Rule.ID, strings.ToLower(d.Computer), d.Source, d.RecordID, d.Locator, d.Time.Format(time.RFC3339Nano))
}

// SameOperations checks that the case's operations are the offline
// hunt's: the same ids, each with the same severity, score, hosts, users,
// tactics, story and detections (the store's ids naming the detections
// the hunt's positions name).
func SameOperations(t testing.TB, st *store.Store, tenant, caseName string, plain *result.Result) {
	t.Helper()
	ctx := context.Background()
	raws, err := st.Operations(ctx, tenant, caseName)
	if err != nil {
		t.Fatal(err)
	}
	if len(raws) != len(plain.Operations) {
		t.Errorf("%d operations in the case, %d in the offline hunt", len(raws), len(plain.Operations))
	}
	// A case's operation ids are unique (intake.Rebuild): the second of
	// an id the hunt gives twice (the same events in two files) is "-2".
	byID := map[string]*result.Operation{}
	seen := map[string]int{}
	for i := range plain.Operations {
		id := plain.Operations[i].ID
		if seen[id]++; seen[id] > 1 {
			id = fmt.Sprintf("%s-%d", id, seen[id])
		}
		byID[id] = &plain.Operations[i]
	}
	bad := 0
	for _, r := range raws {
		var op result.Operation
		if err := json.Unmarshal(r.JSON, &op); err != nil {
			t.Fatal(err)
		}
		want := byID[op.ID]
		if want == nil {
			t.Errorf("operation %s (%v, %d detections) is not the offline hunt's", op.ID, op.Hosts, len(op.Detections))
			bad++
			continue
		}
		if op.Severity != want.Severity || op.Score != want.Score || !slices.Equal(op.Hosts, want.Hosts) || !slices.Equal(op.Users, want.Users) ||
			!slices.Equal(op.Tactics, want.Tactics) || !slices.Equal(op.Narrative, want.Narrative) || len(op.Steps) != len(want.Steps) ||
			(op.Attribution == nil) != (want.Attribution == nil) {
			t.Errorf("operation %s: %s %.2f %v %v %v %d steps %q; offline %s %.2f %v %v %v %d steps %q", op.ID, op.Severity, op.Score, op.Hosts, op.Users, op.Tactics, len(op.Steps), op.Narrative,
				want.Severity, want.Score, want.Hosts, want.Users, want.Tactics, len(want.Steps), want.Narrative)
			bad++
			continue
		}
		ids := make([]int64, len(op.Detections))
		for i, id := range op.Detections {
			ids[i] = int64(id)
		}
		dets, err := st.DetectionsByID(ctx, tenant, caseName, ids)
		if err != nil {
			t.Fatal(err)
		}
		var got, exp []string
		for i, d := range dets {
			var det result.Detection
			if err := json.Unmarshal(d.JSON, &det); err != nil {
				t.Fatal(err)
			}
			got = append(got, detKey(&det))
			exp = append(exp, detKey(&plain.Detections[want.Detections[i]]))
		}
		slices.Sort(got)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("operation %s: its detections are not the offline hunt's:\n%s\noffline:\n%s", op.ID, strings.Join(got, "\n"), strings.Join(exp, "\n"))
			bad++
		}
		if bad > 5 {
			t.Fatal("too many differences")
		}
	}
}

// DrainWithin is how long Drained waits before it fails the test.
var DrainWithin = 10 * time.Minute

// Drained waits until every partition of tenant's stream was delivered
// and acknowledged, and then until cond holds, for a second in a row.
func Drained(t testing.TB, js jetstream.JetStream, tenant string, cond func() bool) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(DrainWithin)
	var since time.Time
	why := "" // the last reason it was not drained, for the failure
	for time.Now().Before(deadline) {
		idle := cond()
		if !idle {
			why = "the condition did not hold"
		}
		for p := range fleet.Partitions {
			if !idle {
				break
			}
			c, err := js.Consumer(ctx, fleet.StreamName(tenant), fleet.ConsumerName(p))
			if err != nil {
				idle, why = false, fmt.Sprintf("partition %d: %v", p, err)
				break
			}
			info, err := c.Info(ctx)
			switch {
			case err != nil:
				idle, why = false, fmt.Sprintf("partition %d: %v", p, err)
			case info.NumPending > 0 || info.NumAckPending > 0:
				idle, why = false, fmt.Sprintf("partition %d: %d pending, %d delivered and not acknowledged", p, info.NumPending, info.NumAckPending)
			}
		}
		switch {
		case !idle:
			since = time.Time{}
		case since.IsZero():
			since = time.Now()
		case time.Since(since) > time.Second:
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the workers did not drain the stream within %v: %s", DrainWithin, why)
}

// Balanced waits, at most a minute, until the workers of stats hold
// every partition between them, each some and none twice: the share each
// takes once all are members. A fixed sleep before shipping raced a slow
// start (one worker took every partition and hunted everything before the
// other's lease was given).
func Balanced(t testing.TB, stats ...*fleet.WorkerStats) {
	t.Helper()
	const all = uint64(1)<<fleet.Partitions - 1
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var union uint64
		ok := true
		for _, s := range stats {
			o := s.Owned.Load()
			ok = ok && o != 0 && union&o == 0
			union |= o
		}
		if ok && union == all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %d workers did not share the partitions within a minute", len(stats))
		}
	}
}

// NATS starts an embedded NATS JetStream server for the test and connects
// to it; both are closed when the test ends.
func NATS(t testing.TB) (url string, js jetstream.JetStream) {
	t.Helper()
	srv, err := fleet.StartServer(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, js, err := fleet.Connect(srv.URL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return srv.URL(), js
}
