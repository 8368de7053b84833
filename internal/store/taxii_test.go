package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func taxiiObject(id string, version time.Time, typ string) TAXIIObject {
	body := fmt.Sprintf(`{"type":%q,"id":%q,"spec_version":"2.1","modified":%q}`, typ, id, TAXIIVersion(version))
	return TAXIIObject{ID: id, Type: typ, SpecVersion: "2.1", Version: version, JSON: json.RawMessage(body)}
}

func ids(p TAXIIPage) []string {
	var out []string
	for _, o := range p.Objects {
		out = append(out, o.ID+"@"+TAXIIVersion(o.Version))
	}
	return out
}

// TestTAXIIObjects: versions are kept once each, date_added grows, the
// filters select as the TAXII query parameters do, pages continue where
// they stopped, and another tenant sees nothing.
func TestTAXIIObjects(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		if _, err := s.AddTenant(ctx, "globex", "root"); err != nil {
			t.Fatal(err)
		}
		t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		t2 := t1.Add(time.Hour)
		t3 := t2.Add(1500 * time.Microsecond)
		const ind, mal = "indicator--1", "malware--2"
		added, err := s.AddTAXIIObjects(ctx, "acme", "intrusion", "coll", []TAXIIObject{
			taxiiObject(ind, t1, "indicator"), taxiiObject(mal, t1, "malware"), taxiiObject(ind, t2, "indicator"),
		}, "ann")
		if err != nil || len(added) != 3 || !added[0] || !added[1] || !added[2] {
			t.Fatalf("add: %v, %v", added, err)
		}
		// The same version again is no new row; a new one is.
		added, err = s.AddTAXIIObjects(ctx, "acme", "intrusion", "coll", []TAXIIObject{
			taxiiObject(ind, t2, "indicator"), taxiiObject(ind, t3, "indicator"),
		}, "ann")
		if err != nil || added[0] || !added[1] {
			t.Fatalf("re-add: %v, %v", added, err)
		}
		all, err := s.TAXIIObjects(ctx, "acme", "coll", TAXIIQuery{Versions: []string{"all"}})
		if err != nil || len(all.Objects) != 4 || all.Next != "" {
			t.Fatalf("all: %v, %q, %v", ids(all), all.Next, err)
		}
		for i := 1; i < len(all.Objects); i++ {
			if !all.Objects[i].DateAdded.After(all.Objects[i-1].DateAdded) {
				t.Errorf("date_added %d not after %d: %v", i, i-1, all.Objects[i].DateAdded)
			}
		}
		cases := []struct {
			name string
			q    TAXIIQuery
			want string
		}{
			{"last by default", TAXIIQuery{}, "[malware--2@2026-01-01T00:00:00.000Z indicator--1@2026-01-01T01:00:00.001500Z]"},
			{"first", TAXIIQuery{Versions: []string{"first"}}, "[indicator--1@2026-01-01T00:00:00.000Z malware--2@2026-01-01T00:00:00.000Z]"},
			{"first,last", TAXIIQuery{Versions: []string{"first", "last"}, IDs: []string{ind}},
				"[indicator--1@2026-01-01T00:00:00.000Z indicator--1@2026-01-01T01:00:00.001500Z]"},
			{"exact", TAXIIQuery{Versions: []string{"2026-01-01T01:00:00Z"}}, "[indicator--1@2026-01-01T01:00:00.000Z]"},
			{"type", TAXIIQuery{Types: []string{"malware"}}, "[malware--2@2026-01-01T00:00:00.000Z]"},
			{"spec version", TAXIIQuery{SpecVersions: []string{"2.0"}}, "[]"},
			{"added after", TAXIIQuery{AddedAfter: all.Objects[2].DateAdded, Versions: []string{"all"}},
				"[indicator--1@2026-01-01T01:00:00.001500Z]"},
		}
		for _, c := range cases {
			p, err := s.TAXIIObjects(ctx, "acme", "coll", c.q)
			if got := fmt.Sprint(ids(p)); err != nil || got != c.want {
				t.Errorf("%s: got %s, %v; want %s", c.name, got, err, c.want)
			}
		}
		// Pages of one continue where the last stopped.
		var seen []string
		q := TAXIIQuery{Versions: []string{"all"}, Limit: 1}
		for n := 0; ; n++ {
			p, err := s.TAXIIObjects(ctx, "acme", "coll", q)
			if err != nil || n > 4 {
				t.Fatalf("page %d: %v", n, err)
			}
			seen = append(seen, ids(p)...)
			if p.Next == "" {
				break
			}
			q.After = p.Next
		}
		if fmt.Sprint(seen) != fmt.Sprint(ids(all)) {
			t.Errorf("pages: got %v, want %v", seen, ids(all))
		}
		if _, err := s.TAXIIObjects(ctx, "acme", "coll", TAXIIQuery{After: "x"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad next: %v, want ErrInvalid", err)
		}
		if _, err := s.TAXIIObjects(ctx, "acme", "coll", TAXIIQuery{Versions: []string{"newest"}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad version: %v, want ErrInvalid", err)
		}
		if p, err := s.TAXIIObjects(ctx, "globex", "coll", TAXIIQuery{Versions: []string{"all"}}); err != nil || len(p.Objects) != 0 {
			t.Errorf("globex sees %v, %v", ids(p), err)
		}
		if _, err := s.AddTAXIIObjects(ctx, "globex", "intrusion", "coll", nil, "gus"); !errors.Is(err, ErrNotFound) {
			t.Errorf("globex adds to acme's case: %v, want ErrNotFound", err)
		}
		es, err := s.Audit(ctx, "acme", "intrusion", 0, 100)
		if err != nil || len(es) == 0 || es[len(es)-1].Action != "taxii.add" {
			t.Errorf("audit: %v, %v", es, err)
		}
	})
}

// TestTAXIIStatusAndStamp: a status is its tenant's alone; the stamp of a
// case's operations changes with a build and is recorded with its export.
func TestTAXIIStatusAndStamp(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		if _, err := s.AddTenant(ctx, "globex", "root"); err != nil {
			t.Fatal(err)
		}
		if err := s.PutTAXIIStatus(ctx, "acme", "st-1", json.RawMessage(`{"id":"st-1"}`)); err != nil {
			t.Fatal(err)
		}
		if b, err := s.TAXIIStatus(ctx, "acme", "st-1"); err != nil || string(b) != `{"id":"st-1"}` {
			t.Errorf("status: %s, %v", b, err)
		}
		if _, err := s.TAXIIStatus(ctx, "globex", "st-1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("globex reads acme's status: %v, want ErrNotFound", err)
		}
		now, exported, err := s.OperationsStamp(ctx, "acme", "intrusion")
		if err != nil || exported != "" {
			t.Fatalf("stamp: %q %q %v", now, exported, err)
		}
		_, ops := realHunt(t)
		if err := s.ReplaceOperations(ctx, "acme", "intrusion", ops, "ann"); err != nil {
			t.Fatal(err)
		}
		built, _, _ := s.OperationsStamp(ctx, "acme", "intrusion")
		if built == now {
			t.Errorf("stamp %q unchanged by a build", built)
		}
		if err := s.AddTAXIIExport(ctx, "acme", "intrusion", "coll", nil, built); err != nil {
			t.Fatal(err)
		}
		if _, exported, _ := s.OperationsStamp(ctx, "acme", "intrusion"); exported != built {
			t.Errorf("exported %q, want %q", exported, built)
		}
		if _, _, err := s.OperationsStamp(ctx, "globex", "intrusion"); !errors.Is(err, ErrNotFound) {
			t.Errorf("globex stamps acme's case: %v", err)
		}
	})
}

// TestTAXIIGrants: a grant is per user and collection, replaced when set
// again; a user of another tenant cannot be named.
func TestTAXIIGrants(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		if _, err := s.AddUser(ctx, "acme", "ann", RoleAnalyst, "pw", "root"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddTenant(ctx, "globex", "root"); err != nil {
			t.Fatal(err)
		}
		for _, g := range []TAXIIGrant{{Collection: "c1", User: "ann", Read: true, Write: true}, {Collection: "c1", User: "ann", Read: true}} {
			if err := s.SetTAXIIGrant(ctx, "acme", g, "root"); err != nil {
				t.Fatal(err)
			}
		}
		gs, err := s.TAXIIGrants(ctx, "acme", "ann")
		if err != nil || len(gs) != 1 || !gs["c1"].Read || gs["c1"].Write {
			t.Errorf("grants %+v, %v", gs, err)
		}
		if err := s.SetTAXIIGrant(ctx, "globex", TAXIIGrant{Collection: "c1", User: "ann"}, "root"); !errors.Is(err, ErrNotFound) {
			t.Errorf("globex grants acme's user: %v", err)
		}
		if gs, _ := s.TAXIIGrants(ctx, "globex", "ann"); len(gs) != 0 {
			t.Errorf("globex sees %v", gs)
		}
	})
}

// BenchmarkTAXIIObjects reads a collection of 20,000 objects of two
// versions each as a TAXII client pages through it: the last versions,
// 1000 a page (each iteration the whole collection). A baseline reads
// every version (no per-object MIN/MAX).
func BenchmarkTAXIIObjects(b *testing.B) {
	benchBackends(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		benchSetup(b, s)
		const n = 20_000
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for v := range 2 {
			objs := make([]TAXIIObject, 0, 1000)
			for i := range n {
				objs = append(objs, taxiiObject(fmt.Sprintf("indicator--6b5d1f0e-1c1a-4d5e-9f00-%012d", i), t0.Add(time.Duration(v)*time.Hour), "indicator"))
				if len(objs) == cap(objs) {
					if _, err := s.AddTAXIIObjects(ctx, "acme", "", "coll", objs, "bench"); err != nil {
						b.Fatal(err)
					}
					objs = objs[:0]
				}
			}
		}
		for _, c := range []struct {
			name     string
			versions []string
			want     int
		}{{"last", nil, n}, {"all", []string{"all"}, 2 * n}} {
			b.Run(c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					q, got := TAXIIQuery{Versions: c.versions}, 0
					for {
						p, err := s.TAXIIObjects(ctx, "acme", "coll", q)
						if err != nil {
							b.Fatal(err)
						}
						got += len(p.Objects)
						if p.Next == "" {
							break
						}
						q.After = p.Next
					}
					if got != c.want {
						b.Fatalf("%d objects, want %d", got, c.want)
					}
				}
				b.ReportMetric(float64(c.want)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
			})
		}
	})
}

// TestTAXIIPageBytes: a page ends before the object that would take it
// past MaxTAXIIPageBytes, and the next page goes on from there.
func TestTAXIIPageBytes(t *testing.T) {
	ctx := context.Background()
	s := targetOpener(t.TempDir())(t)
	setup(t, s)
	pad := strings.Repeat("x", MaxTAXIIPageBytes/3)
	var objs []TAXIIObject
	for i := range 4 {
		o := taxiiObject(fmt.Sprintf("indicator--6b5d1f0e-1c1a-4d5e-9f00-%012d", i), time.Unix(0, 0), "indicator")
		o.JSON = json.RawMessage(strings.Replace(string(o.JSON), `{`, `{"pad":"`+pad+`",`, 1))
		objs = append(objs, o)
	}
	if _, err := s.AddTAXIIObjects(ctx, "acme", "", "coll", objs, "ann"); err != nil {
		t.Fatal(err)
	}
	p, err := s.TAXIIObjects(ctx, "acme", "coll", TAXIIQuery{})
	if err != nil || len(p.Objects) != 2 || p.Next == "" {
		t.Fatalf("first page: %d objects, next %q, %v", len(p.Objects), p.Next, err)
	}
	p, err = s.TAXIIObjects(ctx, "acme", "coll", TAXIIQuery{After: p.Next})
	if err != nil || len(p.Objects) != 2 || p.Next != "" || p.Objects[0].ID != objs[2].ID {
		t.Errorf("second page: %v, next %q, %v", ids(p), p.Next, err)
	}
}

// TestTAXIIExportOwned: spoor's exported objects are its own: a partner's
// newer version of one is refused (it would stand for spoor's), and a
// version a partner added before spoor first exported the id is removed
// by the export. No user may be named as the export's actor.
func TestTAXIIExportOwned(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		const op, squat, own = "grouping--op", "indicator--squat", "indicator--partner"
		// A partner pre-empts an id the export will use, with a far version.
		if _, err := s.AddTAXIIObjects(ctx, "acme", "intrusion", "coll", []TAXIIObject{taxiiObject(squat, t1.AddDate(10, 0, 0), "indicator")}, "mallory"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddTAXIIExport(ctx, "acme", "intrusion", "coll", []TAXIIObject{taxiiObject(op, t1, "grouping"), taxiiObject(squat, t1, "indicator")}, "stamp-1"); err != nil {
			t.Fatal(err)
		}
		objs := []TAXIIObject{taxiiObject(op, t1.Add(time.Hour), "grouping"), taxiiObject(own, t1, "indicator")}
		added, err := s.AddTAXIIObjects(ctx, "acme", "intrusion", "coll", objs, "mallory")
		if err != nil {
			t.Fatal(err)
		}
		if added[0] || objs[0].Refused == "" || !added[1] || objs[1].Refused != "" {
			t.Errorf("added %v, refused %q / %q; want the export's object refused, the partner's own added", added, objs[0].Refused, objs[1].Refused)
		}
		all, err := s.TAXIIObjects(ctx, "acme", "coll", TAXIIQuery{Versions: []string{"all"}})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{op + "@" + TAXIIVersion(t1), squat + "@" + TAXIIVersion(t1), own + "@" + TAXIIVersion(t1)}
		if got := ids(all); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("collection holds %v, want %v", got, want)
		}
		if _, err := s.AddUser(ctx, "acme", "Spoor", RoleAnalyst, "a long enough password", "root"); !errors.Is(err, ErrInvalid) {
			t.Errorf("a user named Spoor: %v, want ErrInvalid", err)
		}
	})
}
