package store

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/cputime"
)

// The large benchmarks run only with -bench; -store.rows sets their size.
var benchRows = flag.Int("store.rows", 1_000_000, "detections in the store of BenchmarkDetectionList")

// benchDir keeps BenchmarkDetectionList's SQLite store: filled when it has
// no detections, used as it is otherwise (a million detections take half an
// hour to store here). A copy measures two builds on the same rows.
var benchDir = flag.String("store.dir", "", "SQLite folder BenchmarkDetectionList keeps its store in (filled once)")

// benchAnalyze: the planner's statistics are gathered (ANALYZE) after the
// filling, as PostgreSQL's autovacuum does on its own; false measures
// SQLite with none (its statistics dropped).
var benchAnalyze = flag.Bool("store.analyze", true, "ANALYZE BenchmarkDetectionList's store before its requests")

// benchBackends runs bench against a fresh store of each backend.
func benchBackends(b *testing.B, bench func(b *testing.B, s *Store)) {
	b.Run("sqlite", func(b *testing.B) {
		bench(b, targetOpener(b.TempDir())(b))
	})
	b.Run("postgres", func(b *testing.B) {
		bench(b, targetOpener(postgresSchema(b))(b))
	})
}

func benchSetup(b *testing.B, s *Store) {
	ctx := context.Background()
	if _, err := s.AddTenant(ctx, "acme", "root"); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddCase(ctx, "acme", "intrusion", "", "alice"); err != nil {
		b.Fatal(err)
	}
}

// benchStats gathers the planner's statistics, or drops SQLite's
// (-store.analyze=false: every sqlite_stat table emptied, as a store that
// never ran ANALYZE has none).
func benchStats(b *testing.B, s *Store) {
	ctx := context.Background()
	if *benchAnalyze {
		if _, err := s.db.ExecContext(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
		return
	}
	if s.dialect == postgresDialect {
		return // autovacuum's to decide
	}
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE name LIKE 'sqlite\_stat%' ESCAPE '\'`)
	if err != nil {
		b.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			b.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, t := range tables {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM `+t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIngest measures a hunt streaming detections into the store
// (each iteration one detection; batches of BatchSize, one transaction each).
func BenchmarkIngest(b *testing.B) {
	benchBackends(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		benchSetup(b, s)
		g := newGen(1)
		raws := make([][]byte, 10_000)
		for i := range raws {
			raws[i], _ = g.detection(i)
		}
		w, err := s.BeginHunt(ctx, "acme", "intrusion", HuntSpec{By: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		start, cpu := time.Now(), cputime.Process()
		i := 0
		for b.Loop() {
			if err := w.Write(ctx, raws[i%len(raws)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		if err := w.Finish(ctx, nil); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(i)/time.Since(start).Seconds(), "detections/s")
		// On a shared machine the wall clock says more of the load than of
		// the store: the process's CPU per detection (SQLite's all of it,
		// PostgreSQL's the client's part) is what a change moves.
		b.ReportMetric(float64((cputime.Process()-cpu).Microseconds())/float64(i), "cpu-µs/detection")
	})
}

// BenchmarkDetectionList fills a case with -store.rows generated detections
// (reporting the ingest rate), then measures console requests: a page of
// 50 under each filter (parameters drawn at random per request), the
// tenth page (timed alone), and the filter's count up to 10,000. Each
// iteration is one request; p50 and p95 are reported per kind of request.
func BenchmarkDetectionList(b *testing.B) {
	benchBackends(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		g := newGen(42)
		if *benchDir != "" && s.dialect != postgresDialect {
			s = targetOpener(*benchDir)(b)
		}
		if n, _, err := s.CountDetections(ctx, "acme", "intrusion", Filter{}, 0); err == nil && n > 0 {
			b.Logf("%s: %d detections already stored in %s (-store.rows not applied)", s.Backend(), n, *benchDir)
			// Statistics of the schema as it is now (a migration may have
			// added indexes since the store was filled), as after a filling.
			benchStats(b, s)
		} else {
			benchSetup(b, s)
			w, err := s.BeginHunt(ctx, "acme", "intrusion", HuntSpec{By: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for i := range *benchRows {
				raw, _ := g.detection(i)
				if err := w.Write(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Finish(ctx, nil); err != nil {
				b.Fatal(err)
			}
			ingest := time.Since(start)
			benchStats(b, s)
			b.Logf("%s: %d detections stored in %v: %.0f detections/s", s.Backend(), *benchRows, ingest.Round(time.Second), float64(*benchRows)/ingest.Seconds())
		}

		r := rand.New(rand.NewPCG(9, 9))
		pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
		mid := g.start.Add(10 * 24 * time.Hour)
		filters := []struct {
			name string
			f    func() Filter
		}{
			{"none", func() Filter { return Filter{} }},
			{"level", func() Filter { return Filter{Levels: []string{pick([]string{"high", "critical", "low"})}} }},
			{"rule", func() Filter { return Filter{Rule: g.rules[r.IntN(len(g.rules))].id} }},
			{"host", func() Filter { return Filter{Host: pick(g.hosts)} }},
			{"user", func() Filter { return Filter{User: pick(g.users)} }},
			{"tactic", func() Filter { return Filter{Tactic: pick(genTactics)} }},
			{"technique", func() Filter { return Filter{Technique: g.rules[r.IntN(len(g.rules))].techniques[0]} }},
			{"time", func() Filter {
				from := mid.Add(time.Duration(r.IntN(240)) * time.Hour)
				return Filter{From: from, To: from.Add(24 * time.Hour)}
			}},
			{"text", func() Filter { return Filter{Text: fmt.Sprintf("run%d", r.IntN(5000))} }},
			{"text common", func() Filter { return Filter{Text: "powershell"} }},
			{"host+level", func() Filter { return Filter{Host: pick(g.hosts), Levels: []string{"high", "critical"}} }},
		}
		for _, order := range []Order{ByTimeDesc, ByLevel} {
			for _, fl := range filters {
				for _, kind := range []string{"page", "deep", "count"} {
					if order == ByLevel && kind == "count" || fl.name == "text common" && kind == "deep" {
						continue // counts do not depend on the order; a common word's pages all cost the first's
					}
					b.Run(fmt.Sprintf("order=%d/%s/%s", order, fl.name, kind), func(b *testing.B) {
						var took []time.Duration
						for b.Loop() {
							f := fl.f()
							if kind == "count" {
								t0 := time.Now()
								if _, _, err := s.CountDetections(ctx, "acme", "intrusion", f, 10_000); err != nil {
									b.Fatal(err)
								}
								took = append(took, time.Since(t0))
								continue
							}
							// A page: the first, or the tenth (timed alone).
							q := Query{Filter: f, Order: order, Limit: 50}
							pages := 1
							if kind == "deep" {
								pages = 10
							}
							for i := range pages {
								t0 := time.Now()
								page, err := s.Detections(ctx, "acme", "intrusion", q)
								if err != nil {
									b.Fatal(err)
								}
								if i == pages-1 {
									took = append(took, time.Since(t0))
								}
								if page.Next == "" {
									break
								}
								q.After = page.Next
							}
						}
						if len(took) == 0 {
							b.Skip("no filter drawn had that many pages")
						}
						slices.Sort(took)
						b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
						b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
					})
				}
			}
		}
	})
}
