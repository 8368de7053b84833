package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/storetest"
)

// scenario is the CuckooBees example: three hosts' logs.
var scenario = filepath.Join("..", "..", "examples", "cuckoobees")

func scenarioPaths(hosts ...string) []string {
	var out []string
	for _, h := range hosts {
		out = append(out, filepath.Join(scenario, h+".jsonl"))
	}
	return out
}

// opts hunts with the built-in rules only, on two workers.
func opts() hunt.Options { return hunt.Options{Workers: 2} }

// TestHuntsIntoCase: one host hunted into a new case, then the two others
// in a second hunt: the case's operations, rebuilt from the store over
// both hunts, are the operations one plain hunt of all three hosts finds
// (same ids, severities, hosts and detections), and name their detections
// by store id.
func TestHuntsIntoCase(t *testing.T) {
	ctx := context.Background()
	plain, err := hunt.Run(ctx, scenarioPaths("dc01", "erp01", "fs01"), opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Operations) == 0 {
		t.Fatal("the plain hunt found no operation")
	}
	storetest.Backends(t, func(t *testing.T, target string) {
		st, err := store.Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var stages []Stage
		first, err := Hunt(ctx, st, store.DefaultTenant, "cuckoobees", "alice", scenarioPaths("dc01"),
			Options{Hunt: opts(), OnProgress: func(p Progress) {
				if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
					stages = append(stages, p.Stage)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		if !first.CaseCreated || !first.TenantCreated || first.Hunt.State != store.HuntComplete || first.Hunt.Detections == 0 {
			t.Fatalf("first hunt: %+v", first)
		}
		if want := []Stage{StageHunting, StageOperations, StageSummaries, StageDone}; !slices.Equal(stages, want) {
			t.Errorf("stages %v, want %v", stages, want)
		}
		opsAfterFirst := stored(t, st)
		second, err := Hunt(ctx, st, store.DefaultTenant, "cuckoobees", "bob", scenarioPaths("erp01", "fs01"), Options{Hunt: opts()})
		if err != nil {
			t.Fatal(err)
		}
		if second.CaseCreated || second.Hunt.State != store.HuntComplete {
			t.Fatalf("second hunt: %+v", second)
		}
		if got := first.Hunt.Detections + second.Hunt.Detections; got != int64(len(plain.Detections)) {
			t.Errorf("stored %d detections, the plain hunt found %d", got, len(plain.Detections))
		}
		ops := stored(t, st)
		if second.Operations != len(ops) {
			t.Errorf("Hunt said %d operations, the store has %d", second.Operations, len(ops))
		}
		if len(ops) != len(plain.Operations) {
			t.Fatalf("%d operations in the case, %d in the plain hunt", len(ops), len(plain.Operations))
		}
		sameStory(t, ctx, st, ops, plain)
		if slices.EqualFunc(opsAfterFirst, ops, func(a, b result.Operation) bool { return a.ID == b.ID && slices.Equal(a.Hosts, b.Hosts) }) {
			t.Error("the second hunt did not change the case's operations")
		}
	})
}

// stored returns the case's operations, decoded.
func stored(t *testing.T, st *store.Store) []result.Operation {
	t.Helper()
	raws, err := st.Operations(context.Background(), store.DefaultTenant, "cuckoobees")
	if err != nil {
		t.Fatal(err)
	}
	ops := make([]result.Operation, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r.JSON, &ops[i]); err != nil {
			t.Fatal(err)
		}
	}
	return ops
}

// sameStory checks that the stored operations are the plain hunt's: each
// of the same id has the same severity, hosts and detections (a store id
// naming the detection a position of the plain hunt names: same rule,
// host and record), its steps' and joins' detections are among its own,
// and its attribution is there when the plain hunt's is.
func sameStory(t *testing.T, ctx context.Context, st *store.Store, ops []result.Operation, plain *result.Result) {
	t.Helper()
	byID := map[string]*result.Operation{}
	for i := range plain.Operations {
		byID[plain.Operations[i].ID] = &plain.Operations[i]
	}
	type key struct {
		rule, host string
		record     int64
	}
	for _, op := range ops {
		want := byID[op.ID]
		if want == nil {
			t.Errorf("operation %s (%v) not in the plain hunt", op.ID, op.Hosts)
			continue
		}
		if op.Severity != want.Severity || !slices.Equal(op.Hosts, want.Hosts) || len(op.Detections) != len(want.Detections) || len(op.Steps) != len(want.Steps) {
			t.Errorf("operation %s: %s %v %d detections %d steps, plain hunt %s %v %d %d", op.ID, op.Severity, op.Hosts, len(op.Detections), len(op.Steps),
				want.Severity, want.Hosts, len(want.Detections), len(want.Steps))
			continue
		}
		if (op.Attribution == nil) != (want.Attribution == nil) {
			t.Errorf("operation %s: attribution %v, plain hunt %v", op.ID, op.Attribution != nil, want.Attribution != nil)
		}
		ids := make([]int64, len(op.Detections))
		for i, id := range op.Detections {
			ids[i] = int64(id)
		}
		dets, err := st.DetectionsByID(ctx, store.DefaultTenant, "cuckoobees", ids)
		if err != nil {
			t.Fatalf("operation %s: its detections by store id: %v", op.ID, err)
		}
		var got, exp []key
		for i, d := range dets {
			var det result.Detection
			if err := json.Unmarshal(d.JSON, &det); err != nil {
				t.Fatal(err)
			}
			got = append(got, key{det.Rule.ID, det.Computer, det.RecordID})
			p := &plain.Detections[want.Detections[i]]
			exp = append(exp, key{p.Rule.ID, p.Computer, p.RecordID})
		}
		sortKeys := func(ks []key) {
			slices.SortFunc(ks, func(a, b key) int {
				if a.rule != b.rule {
					return cmpStr(a.rule, b.rule)
				}
				if a.host != b.host {
					return cmpStr(a.host, b.host)
				}
				return int(a.record - b.record)
			})
		}
		sortKeys(got)
		sortKeys(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("operation %s: its stored detections are not the plain hunt's", op.ID)
		}
		for _, s := range op.Steps {
			for _, d := range s.Detections {
				if !slices.Contains(op.Detections, d) {
					t.Errorf("operation %s: step detection %d is not one of its own", op.ID, d)
				}
			}
		}
	}
}

func cmpStr(a, b string) int {
	if a < b {
		return -1
	}
	return 1
}

// TestHuntCancelled: a hunt stopped mid-way is marked incomplete, its
// detections are not shown with the complete hunts', and the case's
// operations are left as they were.
func TestHuntCancelled(t *testing.T) {
	ctx := context.Background()
	storetest.Backends(t, func(t *testing.T, target string) {
		st := openStore(t, target)
		if _, err := Hunt(ctx, st, store.DefaultTenant, "cuckoobees", "alice", scenarioPaths("dc01"), Options{Hunt: opts()}); err != nil {
			t.Fatal(err)
		}
		before := stored(t, st)
		cctx, cancel := context.WithCancel(ctx)
		o := Options{Hunt: opts(), OnProgress: func(p Progress) {
			if p.Stage == StageHunting {
				cancel()
			}
		}}
		_, err := Hunt(cctx, st, store.DefaultTenant, "cuckoobees", "alice", scenarioPaths("erp01", "fs01"), o)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled hunt: error %v", err)
		}
		hs, err := st.Hunts(ctx, store.DefaultTenant, "cuckoobees")
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) != 2 || hs[1].State != store.HuntIncomplete {
			t.Fatalf("hunts %+v: want the second incomplete", hs)
		}
		n, _, err := st.CountDetections(ctx, store.DefaultTenant, "cuckoobees", store.Filter{}, 0)
		if err != nil || n != hs[0].Detections {
			t.Errorf("detections shown: %d (%v), want the first hunt's %d", n, err, hs[0].Detections)
		}
		after := stored(t, st)
		if a, b := mustJSON(t, before), mustJSON(t, after); a != b {
			t.Error("a cancelled hunt changed the case's operations")
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUniqueIDs: operations with one id (two hunts of the same evidence)
// are all stored, the later ones renamed.
func TestUniqueIDs(t *testing.T) {
	ops := []result.Operation{{ID: "op-a"}, {ID: "op-b"}, {ID: "op-a"}, {ID: "op-a"}}
	uniqueIDs(ops)
	var got []string
	for _, o := range ops {
		got = append(got, o.ID)
	}
	if want := []string{"op-a", "op-b", "op-a-2", "op-a-3"}; !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v", got, want)
	}
}

// TestSinkOversize: a correlation counting more detections than the store
// takes in one is stored with the first of them (its count intact); any
// other detection too large is left out and counted, and the hunt goes
// on.
func TestSinkOversize(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := EnsureCase(ctx, st, store.DefaultTenant, "c", "t"); err != nil {
		t.Fatal(err)
	}
	w, err := st.BeginHunt(ctx, store.DefaultTenant, "c", store.HuntSpec{By: "t"})
	if err != nil {
		t.Fatal(err)
	}
	s := newSink(ctx, w, func(error) {})
	rule := &result.Rule{ID: "r", Title: "r", Level: "high"}
	counted := make([]result.Detection, 20_000)
	for i := range counted {
		counted[i] = result.Detection{Rule: rule, Computer: "FS01", Fields: []result.Field{{Name: "CommandLine", Value: strings.Repeat("x", 300)}}}
	}
	corr := result.Detection{Rule: rule, Computer: "FS01", Correlation: &result.Correlation{Count: len(counted), Detections: counted}}
	huge := result.Detection{Rule: rule, Computer: "FS01", Fields: []result.Field{{Name: "Payload", Value: strings.Repeat("y", store.MaxDetectionSize)}}}
	for _, d := range []*result.Detection{&corr, &huge} {
		if err := s.Detection(d, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if s.oversize.Load() != 1 || s.count.Load() != 1 {
		t.Errorf("stored %d, left out %d: want the correlation stored, the other left out", s.count.Load(), s.oversize.Load())
	}
	page, err := st.Detections(ctx, store.DefaultTenant, "c", store.Query{})
	if err != nil || len(page.Detections) != 1 {
		t.Fatalf("stored: %d (%v)", len(page.Detections), err)
	}
	var got result.Detection
	if err := json.Unmarshal(page.Detections[0].JSON, &got); err != nil {
		t.Fatal(err)
	}
	if c := got.Correlation; c == nil || c.Count != len(counted) || len(c.Detections) == 0 || len(c.Detections) >= len(counted) {
		t.Errorf("stored correlation: count %d with %d detections kept, want count %d and some kept", c.Count, len(c.Detections), len(counted))
	}
	if len(corr.Correlation.Detections) != len(counted) {
		t.Error("the hunt's own detection was changed")
	}
}

// TestHuntKeepsSummaries: a complete hunt into a case keeps its
// evidence's metrics, logons and gaps; the metrics count the events the
// hunt read, and the stdin, which cannot be read twice, is not summarised.
func TestHuntKeepsSummaries(t *testing.T) {
	ctx := context.Background()
	storetest.Backends(t, func(t *testing.T, target string) {
		st, err := store.Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		rep, err := Hunt(ctx, st, store.DefaultTenant, "cuckoobees", "alice", scenarioPaths("dc01", "fs01"), Options{Hunt: opts()})
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range store.SummaryKinds {
			sums, err := st.Summaries(ctx, store.DefaultTenant, "cuckoobees", kind)
			if err != nil || len(sums) != 1 || sums[0].Hunt != rep.Hunt.ID {
				t.Fatalf("%s summaries %v, %v; want hunt %d's", kind, sums, err, rep.Hunt.ID)
			}
			if kind != "metrics" {
				continue
			}
			var m struct{ Events int64 }
			if err := json.Unmarshal(sums[0].Body, &m); err != nil {
				t.Fatal(err)
			}
			if m.Events == 0 || m.Events != rep.Result.Evidence.Events {
				t.Errorf("metrics count %d events, the hunt read %d", m.Events, rep.Result.Evidence.Events)
			}
		}
		o := opts()
		o.Stdin = strings.NewReader("")
		if _, err := Hunt(ctx, st, store.DefaultTenant, "stdin", "alice", []string{"-"}, Options{Hunt: o}); err != nil {
			t.Fatal(err)
		}
		if sums, err := st.Summaries(ctx, store.DefaultTenant, "stdin", "metrics"); err != nil || len(sums) != 0 {
			t.Errorf("stdin summarised: %v, %v", sums, err)
		}
	})
}

// TestHuntCorrelationKeepsCounted: a hunt into a case keeps, of a
// correlation counting more than maxCounted detections, the first
// maxCounted (in time order) with the count of all, and the case's
// operation still tells of every host it counted (those past the cut too).
func TestHuntCorrelationKeepsCounted(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.Mkdir(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"failed_logon.yml": `title: Failed logon
id: 30000000-0000-4000-8000-000000000001
name: failed_logon
status: test
level: low
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
`,
		"guessing.yml": `title: Many failed logons of one account
id: 30000000-0000-4000-8000-000000000002
status: test
level: high
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - TargetUserName
    timespan: 1h
    condition:
        gte: 10
`,
	} {
		if err := os.WriteFile(filepath.Join(rules, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// More than maxCounted failed logons of alice on DC1, then a few on
	// FS01: FS01's are past the cut.
	const total = maxCounted + 50
	var ev strings.Builder
	for i := range total {
		host := "DC1.corp.local"
		if i >= total-5 {
			host = "FS01.corp.local"
		}
		fmt.Fprintf(&ev, `{"TimeCreated": "2024-03-04T11:%02d:%02dZ", "Computer": %q, "Channel": "Security", "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": 4625, "EventRecordID": %d, "TargetUserName": "alice", "TargetDomainName": "CORP", "LogonType": 3}`+"\n",
			i/60, i%60, host, i+1)
	}
	evidence := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(evidence, []byte(ev.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	storetest.Backends(t, func(t *testing.T, target string) {
		st := openStore(t, target)
		rep, err := Hunt(ctx, st, store.DefaultTenant, "c", "alice", []string{evidence},
			Options{Hunt: hunt.Options{NoBuiltin: true, Rules: []string{rules}, Workers: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Oversize != 0 {
			t.Errorf("%d detections left out", rep.Oversize)
		}
		page, err := st.Detections(ctx, store.DefaultTenant, "c", store.Query{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var corrs []result.Detection
		for _, raw := range page.Detections {
			var d result.Detection
			if err := json.Unmarshal(raw.JSON, &d); err != nil {
				t.Fatal(err)
			}
			if d.Correlation != nil {
				corrs = append(corrs, d)
			}
		}
		if len(corrs) != 1 {
			t.Fatalf("%d correlations stored, want 1", len(corrs))
		}
		c := corrs[0].Correlation
		if c.Count != total || len(c.Detections) != maxCounted {
			t.Fatalf("stored count %d with %d detections, want %d with %d", c.Count, len(c.Detections), total, maxCounted)
		}
		for i, d := range c.Detections {
			if d.RecordID != int64(i+1) {
				t.Fatalf("kept detection %d is record %d, want the first %d in time order", i, d.RecordID, maxCounted)
			}
		}
		ops, err := st.Operations(ctx, store.DefaultTenant, "c")
		if err != nil {
			t.Fatal(err)
		}
		var hosts []string
		for _, raw := range ops {
			var op result.Operation
			if err := json.Unmarshal(raw.JSON, &op); err != nil {
				t.Fatal(err)
			}
			hosts = append(hosts, op.Hosts...)
		}
		if !slices.Contains(hosts, "FS01") {
			t.Errorf("operations' hosts %v: want FS01, counted past the cut", hosts)
		}
	})
}

// openStore opens the store at target, closed when t ends.
func openStore(t *testing.T, target string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestLoadRefs: the rebuild's refs are those of every detection of the
// case's complete hunts, each named by its store id.
func TestLoadRefs(t *testing.T) {
	ctx := context.Background()
	storetest.Backends(t, func(t *testing.T, target string) {
		st := openStore(t, target)
		var stored int64
		for _, host := range []string{"dc01", "fs01"} {
			rep, err := Hunt(ctx, st, store.DefaultTenant, "cuckoobees", "alice", scenarioPaths(host), Options{Hunt: opts()})
			if err != nil {
				t.Fatal(err)
			}
			stored += rep.Hunt.Detections
		}
		refs, err := loadRefs(ctx, st, store.DefaultTenant, "cuckoobees")
		if err != nil {
			t.Fatal(err)
		}
		if refs.Len() < 2 || int64(refs.Len()) != stored {
			t.Fatalf("%d refs, want the %d detections the hunts stored", refs.Len(), stored)
		}
		for i := range refs.Len() {
			r := refs.Ref(i)
			d, err := st.GetDetection(ctx, store.DefaultTenant, "cuckoobees", int64(r.Index))
			if err != nil {
				t.Fatalf("ref %d: detection %d: %v", i, r.Index, err)
			}
			var det result.Detection
			if err := json.Unmarshal(d.JSON, &det); err != nil {
				t.Fatal(err)
			}
			if det.Rule == nil || det.Rule.ID != r.RuleID || !det.Time.Equal(r.Time) {
				t.Errorf("ref %d (detection %d): rule %q at %v, want the detection's", i, r.Index, r.RuleID, r.Time)
			}
		}
	})
}
