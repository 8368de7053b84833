package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFilters checks every filter, order and page walk against the
// generated detections' own attributes.
func TestFilters(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		g := newGen(7)
		const n = 2500 // more than two batches
		raws := make([][]byte, n)
		metas := make([]genMeta, n)
		for i := range n {
			raws[i], metas[i] = g.detection(i)
		}
		ingest(t, s, raws)
		// Store IDs follow the write order within a hunt.
		page, err := s.Detections(ctx, "acme", "intrusion", Query{Limit: 1})
		if err != nil || len(page.Detections) != 1 {
			t.Fatal(page, err)
		}
		first := 0
		for i, x := range metas {
			if x.at.Before(metas[first].at) {
				first = i
			}
		}
		base := page.Detections[0].ID - int64(first)
		m := metas[0]
		mid := g.start.Add(15 * 24 * time.Hour)
		// "powershell" is in about a third: a common word when
		// commonWordDocs is low.
		hasPowershell := map[int]bool{}
		for i, raw := range raws {
			for w := range words(string(raw)) {
				if w == "powershell" {
					hasPowershell[i] = true
				}
			}
		}
		// The cases whose keep needs the detection itself.
		keepI := map[string]func(int) bool{
			"common word":          func(i int) bool { return hasPowershell[i] },
			"common word and host": func(i int) bool { return hasPowershell[i] && metas[i].host == m.host },
		}
		cases := []struct {
			name string
			f    Filter
			keep func(genMeta) bool
		}{
			{"common word", Filter{Text: "PowerShell"}, nil},
			{"common word and host", Filter{Text: "powershell", Host: m.host}, nil},
			{"all", Filter{}, func(genMeta) bool { return true }},
			{"level", Filter{Levels: []string{"high", "critical"}}, func(x genMeta) bool { return x.rule.level == "high" || x.rule.level == "critical" }},
			{"rule", Filter{Rule: m.rule.id}, func(x genMeta) bool { return x.rule.id == m.rule.id }},
			{"host any case", Filter{Host: strings.ToUpper(m.host)}, func(x genMeta) bool { return x.host == m.host }},
			{"user", Filter{User: m.user}, func(x genMeta) bool { return x.user == m.user }},
			{"tactic", Filter{Tactic: "lateral-movement"}, func(x genMeta) bool { return slices.Contains(x.rule.tactics, "lateral-movement") }},
			{"technique", Filter{Technique: m.rule.techniques[0]}, func(x genMeta) bool { return x.rule.techniques[0] == m.rule.techniques[0] }},
			{"parent technique", Filter{Technique: m.rule.techniques[0][:5]}, func(x genMeta) bool { return x.rule.techniques[0][:5] == m.rule.techniques[0][:5] }},
			{"time range", Filter{From: mid, To: mid.Add(48 * time.Hour)}, func(x genMeta) bool { return !x.at.Before(mid) && x.at.Before(mid.Add(48*time.Hour)) }},
			{"text", Filter{Text: fmt.Sprintf("RUN%d.BAT", m.run)}, func(x genMeta) bool { return x.run == m.run }},
			{"text words", Filter{Text: fmt.Sprintf("%s run%d", strings.ToLower(m.host[:5]), m.run)}, func(x genMeta) bool { return x.run == m.run && x.host[:5] == m.host[:5] }},
			{"combined", Filter{Levels: []string{"medium"}, Tactic: "execution", From: mid}, func(x genMeta) bool {
				return x.rule.level == "medium" && slices.Contains(x.rule.tactics, "execution") && !x.at.Before(mid)
			}},
			{"host and levels", Filter{Host: m.host, Levels: []string{"high", "critical"}}, func(x genMeta) bool {
				return x.host == m.host && (x.rule.level == "high" || x.rule.level == "critical")
			}},
			{"technique and level", Filter{Technique: m.rule.techniques[0], Levels: []string{m.rule.level}}, func(x genMeta) bool {
				return x.rule.techniques[0] == m.rule.techniques[0] && x.rule.level == m.rule.level
			}},
			{"tactic and levels", Filter{Tactic: "execution", Levels: []string{"low", "high"}}, func(x genMeta) bool {
				return slices.Contains(x.rule.tactics, "execution") && (x.rule.level == "low" || x.rule.level == "high")
			}},
			{"tactic and technique", Filter{Tactic: m.rule.tactics[0], Technique: m.rule.techniques[0]}, func(x genMeta) bool {
				return slices.Contains(x.rule.tactics, m.rule.tactics[0]) && x.rule.techniques[0] == m.rule.techniques[0]
			}},
			{"nothing", Filter{Host: "no-such-host"}, func(genMeta) bool { return false }},
		}
		// Free text three ways on SQLite: every word rare (FTS5's set),
		// every word common (rows checked in order), and common with a scan
		// budget so small that pages end from FTS5's set.
		type textMode struct {
			docs   int64
			budget int
		}
		modes := []textMode{{commonWordDocs, textScanBudget}}
		if s.dialect == sqliteDialect {
			modes = append(modes, textMode{1, textScanBudget}, textMode{1, 300})
		}
		defer func(m textMode) { commonWordDocs, textScanBudget = m.docs, m.budget }(modes[0])
		for _, mode := range modes {
			commonWordDocs, textScanBudget = mode.docs, mode.budget
			for _, c := range cases {
				if c.f.Text == "" && mode != modes[0] {
					continue
				}
				var want []int
				for i, x := range metas {
					if k := keepI[c.name]; k != nil && k(i) || k == nil && c.keep(x) {
						want = append(want, i)
					}
				}
				if c.name != "nothing" && len(want) == 0 {
					t.Fatalf("%s: the generated data has no match, the test is void", c.name)
				}
				count, more, err := s.CountDetections(ctx, "acme", "intrusion", c.f, 0)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if count != int64(len(want)) || more {
					t.Errorf("%s %+v: got count %d (more %v), want %d", c.name, mode, count, more, len(want))
				}
				for _, upTo := range []int64{int64(len(want)), int64(len(want)) - 1} {
					if upTo < 1 {
						continue
					}
					count, more, err := s.CountDetections(ctx, "acme", "intrusion", c.f, upTo)
					if err != nil || count != upTo || more != (upTo < int64(len(want))) {
						t.Errorf("%s: count up to %d: got %d, more %v (%v), want %d, more %v", c.name, upTo, count, more, err, upTo, upTo < int64(len(want)))
					}
				}
				for _, order := range []Order{ByTime, ByTimeDesc, ByLevel} {
					sorted := slices.Clone(want)
					slices.SortFunc(sorted, func(a, b int) int {
						x, y := metas[a], metas[b]
						switch order {
						case ByTimeDesc:
							return cmp.Or(y.at.Compare(x.at), cmp.Compare(b, a))
						case ByLevel:
							return cmp.Or(cmp.Compare(levelRanks[y.rule.level], levelRanks[x.rule.level]), x.at.Compare(y.at), cmp.Compare(a, b))
						}
						return cmp.Or(x.at.Compare(y.at), cmp.Compare(a, b))
					})
					var got []int
					q := Query{Filter: c.f, Order: order, Limit: 97}
					for pages := 0; ; pages++ {
						if pages > n {
							t.Fatalf("%s order %d: the pages do not end", c.name, order)
						}
						page, err := s.Detections(ctx, "acme", "intrusion", q)
						if err != nil {
							t.Fatalf("%s order %d: %v", c.name, order, err)
						}
						for _, d := range page.Detections {
							got = append(got, int(d.ID-base))
						}
						if page.Next == "" {
							break
						}
						q.After = page.Next
					}
					if !slices.Equal(got, sorted) {
						t.Errorf("%s order %d %+v: got %d detections %v..., want %d %v...", c.name, order, mode, len(got), head(got), len(sorted), head(sorted))
					}
				}
			}
		}
		if _, err := s.Detections(ctx, "acme", "intrusion", Query{After: "12.x"}); err == nil {
			t.Error("a bad cursor: got no error")
		}
		if _, err := s.Detections(ctx, "acme", "intrusion", Query{Filter: Filter{Levels: []string{"severe"}}}); err == nil {
			t.Error("an unknown level: got no error")
		}
	})
}

func head(s []int) []int { return s[:min(len(s), 8)] }

// TestLacksWord: the quick check before decoding refuses a detection only
// when it cannot hold a word, whatever its case, escapes or non-ASCII text.
func TestLacksWord(t *testing.T) {
	for _, c := range []struct {
		body  string
		words []string
		lacks bool
	}{
		{`{"v":"C:\\Windows\\PowerShell.exe"}`, []string{"powershell"}, false},
		{`{"v":"C:\\Windows\\cmd.exe"}`, []string{"powershell"}, true},
		{`{"v":"cmd powershell"}`, []string{"cmd", "whoami"}, true},
		{`{"v":"\u0070owershell"}`, []string{"powershell"}, false}, // escaped: decode to know
		{`{"v":"\u212Aerberos"}`, []string{"kerberos"}, false},     // escaped Kelvin sign
		{"{\"v\":\"\u212Aerberos\"}", []string{"kerberos"}, false}, // the Kelvin sign itself lowercases to k
		{`{"v":"ünïcode"}`, []string{"ünïcode"}, false},
	} {
		if got := lacksWord([]byte(c.body), c.words); got != c.lacks {
			t.Errorf("lacksWord(%s, %q) = %v, want %v", c.body, c.words, got, c.lacks)
		}
		// Never refuses what the full check finds.
		if row, err := indexDetection([]byte(`{"rule":{"id":"r","level":"low"},"fields":[{"name":"v","value":` +
			strings.TrimSuffix(strings.TrimPrefix(c.body, `{"v":`), `}`) + `}]}`)); err == nil && lacksWord([]byte(c.body), c.words) {
			for _, w := range c.words {
				if slices.Contains(strings.Fields(row.words), w) && len(c.words) == 1 {
					t.Errorf("%s: lacksWord refuses %q, which the index finds", c.body, w)
				}
			}
		}
	}
}

// TestMigrateLevelOrder: a store of schema version 8 (tag rows keyed by
// time, without their detection's level; host and rule keyed by time) is
// migrated when it is opened, and its lists and counts by tag, host and
// level are those of the detections it held.
func TestMigrateLevelOrder(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		old := open(t, func(s *Store) { s.schema = 8 })
		setup(t, old)
		w, err := old.BeginHunt(ctx, "acme", "intrusion", HuntSpec{By: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		// Detections as version 8 stored them (the writer of today writes
		// the tag rows' level, which version 8 has not).
		var caseID int64
		if err := old.db.QueryRowContext(ctx, `SELECT id FROM cases WHERE name = 'intrusion'`).Scan(&caseID); err != nil {
			t.Fatal(err)
		}
		search, words := "", ""
		if old.dialect == postgresDialect {
			search, words = ", search", ", to_tsvector('simple', ?)"
		}
		g := newGen(11)
		metas := make([]genMeta, 400)
		for i := range metas {
			var raw []byte
			raw, metas[i] = g.detection(i)
			r, err := indexDetection(raw)
			if err != nil {
				t.Fatal(err)
			}
			args := []any{caseID, w.Hunt(), i, r.at, r.levelRank, r.ruleID, r.ruleTitle, r.host, r.user, string(r.body)}
			if search != "" {
				args = append(args, r.words)
			}
			var id int64
			err = old.db.QueryRowContext(ctx, old.q(`INSERT INTO detections (case_id, hunt_id, seq, at, level_rank, rule_id, rule_title, host, user_name, body`+search+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?`+words+`) RETURNING id`), args...).Scan(&id)
			if err != nil {
				t.Fatal(err)
			}
			for _, tag := range r.tags {
				if _, err := old.db.ExecContext(ctx, old.q(`INSERT INTO detection_tags (case_id, tag, at, detection_id, hunt_id) VALUES (?, ?, ?, ?, ?)`),
					caseID, tag, r.at, id, w.Hunt()); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Finish(ctx, nil); err != nil {
			t.Fatal(err)
		}
		// Statistics of version 8's indexes (the benchmarks gather them).
		if _, err := old.db.ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
		s := open(t) // migrated to the latest
		if s.dialect == sqliteDialect {
			// The newest first of a whole case is read from the time index, not sorted.
			plan := queryPlan(t, s, `SELECT d.id, d.body FROM detections d WHERE d.case_id = ? AND d.hunt_id <= ? ORDER BY d.at DESC, d.id DESC LIMIT 51`, caseID, w.Hunt())
			if !strings.Contains(plan, "detections_time") || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("after the migration, the newest detections of a case are read by %q", plan)
			}
		}
		var first int64
		if err := s.db.QueryRowContext(ctx, `SELECT min(id) FROM detections`).Scan(&first); err != nil {
			t.Fatal(err)
		}
		var wrong int
		err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM detection_tags t JOIN detections d ON d.id = t.detection_id
			WHERE t.level_rank <> d.level_rank`).Scan(&wrong)
		if err != nil || wrong != 0 {
			t.Errorf("after the migration: %d tag rows without their detection's level (%v)", wrong, err)
		}
		m := metas[0]
		for _, c := range []struct {
			name string
			f    Filter
			keep func(genMeta) bool
		}{
			{"tactic", Filter{Tactic: "execution"}, func(x genMeta) bool { return slices.Contains(x.rule.tactics, "execution") }},
			{"host and levels", Filter{Host: m.host, Levels: []string{"high", "critical"}}, func(x genMeta) bool {
				return x.host == m.host && (x.rule.level == "high" || x.rule.level == "critical")
			}},
			{"rule", Filter{Rule: m.rule.id}, func(x genMeta) bool { return x.rule.id == m.rule.id }},
		} {
			for _, order := range []Order{ByTime, ByLevel} {
				var want []int64
				for i, x := range metas {
					if c.keep(x) {
						want = append(want, int64(i))
					}
				}
				slices.SortFunc(want, func(a, b int64) int {
					x, y := metas[a], metas[b]
					if order == ByLevel {
						return cmp.Or(cmp.Compare(levelRanks[y.rule.level], levelRanks[x.rule.level]), x.at.Compare(y.at), cmp.Compare(a, b))
					}
					return cmp.Or(x.at.Compare(y.at), cmp.Compare(a, b))
				})
				if len(want) == 0 {
					t.Fatalf("%s: no detection: the test is void", c.name)
				}
				var got []int64
				q := Query{Filter: c.f, Order: order, Limit: 30}
				for range len(metas) {
					page, err := s.Detections(ctx, "acme", "intrusion", q)
					if err != nil {
						t.Fatal(err)
					}
					for _, d := range page.Detections {
						got = append(got, d.ID-first)
					}
					if q.After = page.Next; q.After == "" {
						break
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s order %d after the migration: got %d detections %v..., want %d %v...", c.name, order, len(got), got[:min(8, len(got))], len(want), want[:min(8, len(want))])
				}
				if n, _, err := s.CountDetections(ctx, "acme", "intrusion", c.f, 0); err != nil || n != int64(len(want)) {
					t.Errorf("%s: count %d (%v), want %d", c.name, n, err, len(want))
				}
			}
		}
	})
}

// queryPlan is SQLite's plan of query, its steps joined by "; ".
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.db.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "; ")
}
