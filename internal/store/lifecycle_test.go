package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock for the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestInterruptedHunt: a hunt whose process dies mid-way (the store closed
// without Finish) is reported incomplete once its lease runs out, and its
// detections are not shown among the complete hunts'.
func TestInterruptedHunt(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)}
		s := open(t, WithClock(c.now))
		setup(t, s)
		g := newGen(3)
		var done [][]byte
		for i := range 10 {
			d, _ := g.detection(i)
			done = append(done, d)
		}
		complete := ingest(t, s, done)

		w, err := s.BeginHunt(ctx, "acme", "intrusion", HuntSpec{By: "bob", Paths: []string{"more/"}})
		if err != nil {
			t.Fatal(err)
		}
		for i := range BatchSize + 500 { // one batch written, half of one buffered
			d, _ := g.detection(100 + i)
			if err := w.Write(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		// While its lease runs it is running, and the console may show what
		// it found so far when asked.
		h, err := s.Hunt(ctx, "acme", "intrusion", w.Hunt())
		if err != nil || h.State != HuntRunning || h.Detections != BatchSize {
			t.Fatalf("got hunt %+v (%v), want running with %d detections", h, err, BatchSize)
		}
		// The process dies: its heartbeat stops, nothing is finished.
		w.stopBeat()
		s.Close()

		c.add(DefaultLease + time.Second)
		s = open(t, WithClock(c.now))
		hunts, err := s.Hunts(ctx, "acme", "intrusion")
		if err != nil {
			t.Fatal(err)
		}
		if len(hunts) != 2 || hunts[0].State != HuntComplete || hunts[1].State != HuntIncomplete || !hunts[1].Finished.IsZero() {
			t.Fatalf("got hunts %+v, want the first complete and the second incomplete", hunts)
		}
		n, _, err := s.CountDetections(ctx, "acme", "intrusion", Filter{}, 0)
		if err != nil || n != int64(len(done)) {
			t.Errorf("complete hunts: got %d detections (%v), want %d", n, err, len(done))
		}
		page, err := s.Detections(ctx, "acme", "intrusion", Query{Limit: MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Detections {
			if d.Hunt != complete {
				t.Fatalf("detection %d of the interrupted hunt %d listed among complete hunts'", d.ID, d.Hunt)
			}
		}
		n, _, err = s.CountDetections(ctx, "acme", "intrusion", Filter{Hunt: hunts[1].ID, Unfinished: true}, 0)
		if err != nil || n != BatchSize {
			t.Errorf("the interrupted hunt: got %d detections (%v), want the %d of its written batch", n, err, BatchSize)
		}
		// The dead writer cannot finish it any more.
		if err := w.Finish(ctx, nil); err == nil {
			t.Error("finish of a hunt whose store closed: got no error")
		}
	})
}

// TestAbort: an aborted hunt is incomplete at once and says why.
func TestAbort(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		w, err := s.BeginHunt(ctx, "acme", "intrusion", HuntSpec{By: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := newGen(1).detection(0)
		if err := w.Write(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(ctx, "interrupted"); err != nil {
			t.Fatal(err)
		}
		h, err := s.Hunt(ctx, "acme", "intrusion", w.Hunt())
		if err != nil || h.State != HuntIncomplete || !strings.Contains(string(h.Summary), "interrupted") || h.Detections != 0 {
			t.Errorf("got hunt %+v (%v), want incomplete, interrupted, the buffered detection dropped", h, err)
		}
		if n, _, err := s.CountDetections(ctx, "acme", "intrusion", Filter{Unfinished: true}, 0); err != nil || n != 0 {
			t.Errorf("got %d detections (%v), want 0", n, err)
		}
		if err := w.Finish(ctx, nil); !errors.Is(err, ErrFinished) {
			t.Errorf("finish after abort: got %v, want ErrFinished", err)
		}
	})
}

func TestReplaceOperations(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		op := func(id string, score int) json.RawMessage {
			return json.RawMessage(`{"id":"` + id + `","severity":"high","score":` + itoa(score) +
				`,"hosts":["WS1"],"first":"2026-10-01T00:00:00Z","last":"2026-10-02T00:00:00Z","detections":[1,2]}`)
		}
		if err := s.ReplaceOperations(ctx, "acme", "intrusion", []json.RawMessage{op("op-a", 3), op("op-b", 9)}, "alice"); err != nil {
			t.Fatal(err)
		}
		if got := opIDs(t, s); got != "op-b op-a" {
			t.Errorf("got operations %q, want op-b op-a (by score)", got)
		}
		err := s.ReplaceOperations(ctx, "acme", "intrusion", []json.RawMessage{op("op-c", 1), json.RawMessage(`{"id": 5}`)}, "alice")
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "operation 1:") {
			t.Errorf("a bad operation: got %v, want ErrInvalid naming operation 1", err)
		}
		err = s.ReplaceOperations(ctx, "acme", "intrusion", []json.RawMessage{op("op-c", 1), op("op-c", 2)}, "alice")
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("an id twice: got %v, want ErrInvalid", err)
		}
		// The caller's own error, after an operation was written: nothing
		// changes either.
		stop := errors.New("stop")
		err = s.ReplaceOperationsSeq(ctx, "acme", "intrusion", func(yield func(json.RawMessage, error) bool) {
			_ = yield(op("op-d", 1), nil) && yield(nil, stop)
		}, "alice")
		if !errors.Is(err, stop) {
			t.Errorf("the sequence's error: got %v, want it returned", err)
		}
		if got := opIDs(t, s); got != "op-b op-a" {
			t.Errorf("after refused builds: got operations %q, want op-b op-a unchanged", got)
		}
		if err := s.ReplaceOperations(ctx, "acme", "intrusion", []json.RawMessage{op("op-c", 1)}, "alice"); err != nil {
			t.Fatal(err)
		}
		if got := opIDs(t, s); got != "op-c" {
			t.Errorf("after a rebuild: got operations %q, want op-c alone", got)
		}
		o, err := s.GetOperation(ctx, "acme", "intrusion", "op-c")
		if err != nil || string(o.JSON) != string(op("op-c", 1)) {
			t.Errorf("got %s (%v), want op-c unchanged", o.JSON, err)
		}
	})
}

// TestReplaceOperationsConcurrent: two rebuilds of one case at once (a
// case's rebuild lease passing between fleet workers, or a hunt into the
// case beside them) each replace the set: both succeed, one set is left.
// Without the case's row locked first, PostgreSQL refused the second's
// inserts as ids written twice.
func TestReplaceOperationsConcurrent(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		op := func(id string) json.RawMessage {
			return json.RawMessage(`{"id":"` + id + `","severity":"high","score":1,"hosts":["WS1"],"first":"2026-10-01T00:00:00Z","last":"2026-10-02T00:00:00Z","detections":[1]}`)
		}
		set := []json.RawMessage{op("op-a"), op("op-b"), op("op-c")}
		for round := range 3 {
			var wg sync.WaitGroup
			for w := range 6 {
				wg.Go(func() {
					if err := s.ReplaceOperations(ctx, "acme", "intrusion", set, fmt.Sprint("w", w)); err != nil {
						t.Errorf("round %d, rebuild %d: %v", round, w, err)
					}
				})
			}
			wg.Wait()
			if got := strings.Fields(opIDs(t, s)); len(got) != 3 {
				t.Errorf("round %d: got operations %q, want the three once", round, got)
			}
		}
	})
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func opIDs(t *testing.T, s *Store) string {
	t.Helper()
	ops, err := s.Operations(context.Background(), "acme", "intrusion")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range ops {
		ids = append(ids, o.ID)
	}
	return strings.Join(ids, " ")
}

func TestTriageAndAudit(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		d, _ := newGen(1).detection(0)
		ingest(t, s, [][]byte{d})
		page, err := s.Detections(ctx, "acme", "intrusion", Query{})
		if err != nil || len(page.Detections) != 1 {
			t.Fatal(page, err)
		}
		id := itoa(int(page.Detections[0].ID))
		tr, err := s.GetTriage(ctx, "acme", "intrusion", KindDetection, id)
		if err != nil || tr.State != TriageNew {
			t.Fatalf("untriaged: got %+v (%v), want new", tr, err)
		}
		if err := s.SetTriage(ctx, "acme", "intrusion", Triage{Kind: KindDetection, ID: id, State: TriageInvestigating, Assignee: "bob"}, "alice"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetTriage(ctx, "acme", "intrusion", Triage{Kind: KindDetection, ID: id, State: TriageMalicious, Assignee: "bob", Notes: "beacon"}, "bob"); err != nil {
			t.Fatal(err)
		}
		tr, err = s.GetTriage(ctx, "acme", "intrusion", KindDetection, id)
		if err != nil || tr.State != TriageMalicious || tr.Notes != "beacon" || tr.UpdatedBy != "bob" {
			t.Errorf("got %+v (%v), want malicious by bob", tr, err)
		}
		for _, bad := range []Triage{
			{Kind: KindDetection, ID: id, State: "guilty"},
			{Kind: "host", ID: id, State: TriageBenign},
			{Kind: KindDetection, ID: "abc", State: TriageBenign},
		} {
			if err := s.SetTriage(ctx, "acme", "intrusion", bad, "bob"); !errors.Is(err, ErrInvalid) {
				t.Errorf("triage %+v: got %v, want ErrInvalid", bad, err)
			}
		}
		if err := s.SetTriage(ctx, "acme", "intrusion", Triage{Kind: KindOperation, ID: "op-none", State: TriageBenign}, "bob"); !errors.Is(err, ErrNotFound) {
			t.Errorf("triage of a missing operation: got %v, want ErrNotFound", err)
		}
		if err := s.Record(ctx, "acme", "intrusion", "carol", "export", json.RawMessage(`{"format":"csv"}`)); err != nil {
			t.Fatal(err)
		}

		log, err := s.Audit(ctx, "acme", "intrusion", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range log {
			got = append(got, e.Actor+" "+e.Action)
		}
		want := "alice case.add|alice hunt.begin|alice hunt.complete|alice triage.set|bob triage.set|carol export"
		if strings.Join(got, "|") != want {
			t.Errorf("got audit %q, want %q", strings.Join(got, "|"), want)
		}
		var detail struct{ State, Notes string }
		if err := json.Unmarshal(log[4].Detail, &detail); err != nil || detail.State != "malicious" || detail.Notes != "beacon" {
			t.Errorf("got detail %s, want the change", log[4].Detail)
		}
		if rest, err := s.Audit(ctx, "acme", "intrusion", log[3].ID, 1); err != nil || len(rest) != 1 || rest[0].ID != log[4].ID {
			t.Errorf("audit after %d: got %+v (%v), want the next entry", log[3].ID, rest, err)
		}

		// Append-only below the API too.
		for _, stmt := range []string{`UPDATE audit SET actor = 'mallory'`, `DELETE FROM audit`} {
			if _, err := s.db.ExecContext(ctx, stmt); err == nil {
				t.Errorf("%s: got no error, want the audit log to refuse", stmt)
			}
		}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM audit WHERE actor = 'mallory'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("got %d rewritten entries (%v), want 0", n, err)
		}
	})
}

func TestUsers(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		if _, err := s.AddTenant(ctx, DefaultTenant, "root"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddTenant(ctx, DefaultTenant, "root"); !errors.Is(err, ErrExists) {
			t.Errorf("tenant twice: got %v, want ErrExists", err)
		}
		if _, err := s.AddUser(ctx, DefaultTenant, "alice", RoleAnalyst, "s3cret", "root"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddUser(ctx, DefaultTenant, "alice", RoleViewer, "x", "root"); !errors.Is(err, ErrExists) {
			t.Errorf("user twice: got %v, want ErrExists", err)
		}
		if _, err := s.AddUser(ctx, DefaultTenant, "bob", "god", "x", "root"); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown role: got %v, want ErrInvalid", err)
		}
		if _, err := s.AddUser(ctx, "nowhere", "bob", RoleViewer, "x", "root"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown tenant: got %v, want ErrNotFound", err)
		}
		u, err := s.Authenticate(ctx, "alice", "s3cret")
		if err != nil || u.Tenant != DefaultTenant || u.Role != RoleAnalyst {
			t.Errorf("got %+v (%v), want alice, analyst of default", u, err)
		}
		for _, pw := range []string{"S3cret", "", "s3cret "} {
			if _, err := s.Authenticate(ctx, "alice", pw); !errors.Is(err, ErrCredentials) {
				t.Errorf("password %q: got %v, want ErrCredentials", pw, err)
			}
		}
		if _, err := s.Authenticate(ctx, "nobody", "s3cret"); !errors.Is(err, ErrCredentials) {
			t.Errorf("unknown user: got %v, want ErrCredentials", err)
		}
		if err := s.SetPassword(ctx, DefaultTenant, "alice", "new one", "root"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "alice", "s3cret"); !errors.Is(err, ErrCredentials) {
			t.Errorf("old password: got %v, want ErrCredentials", err)
		}
		if _, err := s.Authenticate(ctx, "alice", "new one"); err != nil {
			t.Errorf("new password: %v", err)
		}
		if err := s.DisableUser(ctx, DefaultTenant, "alice", "root"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "alice", "new one"); !errors.Is(err, ErrCredentials) {
			t.Errorf("disabled user: got %v, want ErrCredentials", err)
		}
		users, err := s.Users(ctx, DefaultTenant)
		if err != nil || len(users) != 1 || !users[0].Disabled {
			t.Errorf("got users %+v (%v), want alice, disabled", users, err)
		}
		var hash string
		if err := s.db.QueryRowContext(ctx, `SELECT password_hash FROM users`).Scan(&hash); err != nil || !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, "new one") {
			t.Errorf("stored hash %q (%v), want an argon2id hash", hash, err)
		}
	})
}

// TestTenantIsolation: every case-scoped call, given another tenant, finds
// nothing, and an object of one case is not reached through another.
func TestTenantIsolation(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		if _, err := s.AddTenant(ctx, "rival", "root"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddCase(ctx, "rival", "other", "", "eve"); err != nil {
			t.Fatal(err)
		}
		// The same case name is free in another tenant.
		if _, err := s.AddCase(ctx, "rival", "intrusion", "", "eve"); err != nil {
			t.Fatalf("same case name in another tenant: %v", err)
		}
		d, _ := newGen(1).detection(0)
		hunt := ingest(t, s, [][]byte{d})
		page, err := s.Detections(ctx, "acme", "intrusion", Query{})
		if err != nil || len(page.Detections) != 1 {
			t.Fatal(page, err)
		}
		det := page.Detections[0].ID
		op := json.RawMessage(`{"id":"op-1","severity":"high","score":1}`)
		if err := s.ReplaceOperations(ctx, "acme", "intrusion", []json.RawMessage{op}, "alice"); err != nil {
			t.Fatal(err)
		}
		detID := itoa(int(det))
		calls := map[string]func(tenant, caseName string) error{
			"Case":              func(tn, c string) error { _, err := s.Case(ctx, tn, c); return err },
			"Hunts":             func(tn, c string) error { _, err := s.Hunts(ctx, tn, c); return err },
			"Hunt":              func(tn, c string) error { _, err := s.Hunt(ctx, tn, c, hunt); return err },
			"BeginHunt":         func(tn, c string) error { _, err := s.BeginHunt(ctx, tn, c, HuntSpec{By: "eve"}); return err },
			"Detections":        func(tn, c string) error { _, err := s.Detections(ctx, tn, c, Query{}); return err },
			"CountDetections":   func(tn, c string) error { _, _, err := s.CountDetections(ctx, tn, c, Filter{}, 0); return err },
			"GetDetection":      func(tn, c string) error { _, err := s.GetDetection(ctx, tn, c, det); return err },
			"ReplaceOperations": func(tn, c string) error { return s.ReplaceOperations(ctx, tn, c, nil, "eve") },
			"Operations":        func(tn, c string) error { _, err := s.Operations(ctx, tn, c); return err },
			"GetOperation":      func(tn, c string) error { _, err := s.GetOperation(ctx, tn, c, "op-1"); return err },
			"SetTriage": func(tn, c string) error {
				return s.SetTriage(ctx, tn, c, Triage{Kind: KindDetection, ID: detID, State: TriageBenign}, "eve")
			},
			"SetTriage operation": func(tn, c string) error {
				return s.SetTriage(ctx, tn, c, Triage{Kind: KindOperation, ID: "op-1", State: TriageBenign}, "eve")
			},
			"GetTriage": func(tn, c string) error { _, err := s.GetTriage(ctx, tn, c, KindDetection, detID); return err },
			"Record":    func(tn, c string) error { return s.Record(ctx, tn, c, "eve", "peek", nil) },
			"Audit":     func(tn, c string) error { _, err := s.Audit(ctx, tn, c, 0, 0); return err },
		}
		for name, call := range calls {
			// Another tenant naming acme's case; rival's own cases reaching acme's objects.
			if err := call("rival", "nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s of a missing case: got %v, want ErrNotFound", name, err)
			}
			if err := call("rival", "other"); name != "Case" && name != "BeginHunt" && name != "Hunts" && name != "Detections" &&
				name != "CountDetections" && name != "ReplaceOperations" && name != "Operations" && name != "Record" && name != "Audit" &&
				!errors.Is(err, ErrNotFound) {
				t.Errorf("%s of acme's object through rival's case: got %v, want ErrNotFound", name, err)
			}
			if err := call("nosuch", "intrusion"); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s of an unknown tenant: got %v, want ErrNotFound", name, err)
			}
		}
		// Users are managed within their tenant only.
		if _, err := s.AddUser(ctx, "acme", "alice", RoleAnalyst, "pw", "root"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPassword(ctx, "rival", "alice", "stolen", "eve"); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetPassword of acme's user through rival: got %v, want ErrNotFound", err)
		}
		if err := s.DisableUser(ctx, "rival", "alice", "eve"); !errors.Is(err, ErrNotFound) {
			t.Errorf("DisableUser of acme's user through rival: got %v, want ErrNotFound", err)
		}
		if users, err := s.Users(ctx, "rival"); err != nil || len(users) != 0 {
			t.Errorf("rival's users: got %+v (%v), want none", users, err)
		}
		if u, err := s.Authenticate(ctx, "alice", "pw"); err != nil || u.Tenant != "acme" {
			t.Errorf("alice: got %+v (%v), want acme's, unchanged", u, err)
		}
		// rival's own case of the same name sees none of acme's data.
		if n, _, err := s.CountDetections(ctx, "rival", "intrusion", Filter{Unfinished: true}, 0); err != nil || n != 0 {
			t.Errorf("rival's intrusion: got %d detections (%v), want 0", n, err)
		}
		if ops, err := s.Operations(ctx, "rival", "intrusion"); err != nil || len(ops) != 0 {
			t.Errorf("rival's intrusion: got %d operations (%v), want 0", len(ops), err)
		}
		if log, err := s.Audit(ctx, "rival", "intrusion", 0, 0); err != nil || len(log) != 1 || log[0].Action != "case.add" {
			t.Errorf("rival's audit: got %+v (%v), want its case.add only", log, err)
		}
		if cases, err := s.Cases(ctx, "rival"); err != nil || len(cases) != 2 {
			t.Errorf("rival's cases: got %+v (%v), want its 2", cases, err)
		}
		// Nothing of acme's changed.
		tr, err := s.GetTriage(ctx, "acme", "intrusion", KindDetection, detID)
		if err != nil || tr.State != TriageNew {
			t.Errorf("acme's triage: got %+v (%v), want new", tr, err)
		}
		if ops, err := s.Operations(ctx, "acme", "intrusion"); err != nil || len(ops) != 1 {
			t.Errorf("acme's operations: got %d (%v), want 1", len(ops), err)
		}
	})
}

// TestConcurrentWriters: two hunts of one case stream at once while an
// analyst triages; every write lands (SQLite serialises the writers).
func TestConcurrentWriters(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		seed, _ := newGen(5).detection(0)
		ingest(t, s, [][]byte{seed})
		page, err := s.Detections(ctx, "acme", "intrusion", Query{})
		if err != nil || len(page.Detections) != 1 {
			t.Fatal(page, err)
		}
		detID := itoa(int(page.Detections[0].ID))
		const each = 2*BatchSize + 10
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for h := range 2 {
			wg.Go(func() {
				g := newGen(uint64(10 + h))
				w, err := s.BeginHunt(ctx, "acme", "intrusion", HuntSpec{By: "hunter"})
				if err != nil {
					errs <- err
					return
				}
				for i := range each {
					d, _ := g.detection(i)
					if err := w.Write(ctx, d); err != nil {
						errs <- err
						return
					}
				}
				errs <- w.Finish(ctx, nil)
			})
		}
		wg.Go(func() {
			for i := range 20 {
				state := []TriageState{TriageInvestigating, TriageBenign}[i%2]
				if err := s.SetTriage(ctx, "acme", "intrusion", Triage{Kind: KindDetection, ID: detID, State: state}, "alice"); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		n, _, err := s.CountDetections(ctx, "acme", "intrusion", Filter{}, 0)
		if err != nil || n != 2*each+1 {
			t.Errorf("got %d detections (%v), want %d", n, err, 2*each+1)
		}
		tr, err := s.GetTriage(ctx, "acme", "intrusion", KindDetection, detID)
		if err != nil || tr.State != TriageBenign {
			t.Errorf("got triage %+v (%v), want the last one, benign", tr, err)
		}
	})
}
