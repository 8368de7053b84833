package attack

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
)

// A recency prior measured on the report cases (issue 11, session 11;
// BENCHMARKS.md): a group last documented years before the evidence's
// newest technique or software was defined is less likely behind it. The
// year of a group's last documentation is the newest "created" of its
// relationships in the case's knowledge base, without any relationship
// citing the case's report (whose dates would tell when the report was
// added); the evidence's year is the newest "created" of its items. Not
// shipped: the score already ranks dormant groups low.

// bundleYears holds the bundle's creation years: of each relationship by
// STIX id, and of each object by ATT&CK ID.
var bundleYears struct {
	once     sync.Once
	rel, obj map[string]int
	err      error
}

func loadYears(t *testing.T) {
	t.Helper()
	bundleYears.once.Do(func() {
		b, err := os.ReadFile(shared.Path(t, bundlePath...))
		if err != nil {
			bundleYears.err = err
			return
		}
		var bundle struct {
			Objects []struct {
				ID      string `json:"id"`
				Type    string `json:"type"`
				Created string `json:"created"`
				Refs    []struct {
					Source string `json:"source_name"`
					ExtID  string `json:"external_id"`
				} `json:"external_references"`
			} `json:"objects"`
		}
		if bundleYears.err = json.Unmarshal(b, &bundle); bundleYears.err != nil {
			return
		}
		bundleYears.rel, bundleYears.obj = map[string]int{}, map[string]int{}
		for _, o := range bundle.Objects {
			y, _ := strconv.Atoi(o.Created[:min(4, len(o.Created))])
			if o.Type == "relationship" {
				bundleYears.rel[o.ID] = y
				continue
			}
			for _, r := range o.Refs {
				if r.Source == "mitre-attack" && r.ExtID != "" {
					bundleYears.obj[r.ExtID] = y
				}
			}
		}
	})
	if bundleYears.err != nil {
		t.Fatal(bundleYears.err)
	}
}

// lastYears returns each group's year of last documentation in the
// case's knowledge base (0 for none).
func lastYears(ck *caseKB) []int {
	if v, ok := ck.memo.Load("lastYears"); ok {
		return v.([]int)
	}
	last := make([]int, len(ck.groups))
	for _, r := range ck.kb.Relationships() {
		i, ok := ck.pos[r.Source]
		if !ok || r.Described {
			continue
		}
		cites := false
		for _, c := range r.Citations {
			cites = cites || c == ck.report
		}
		if !cites {
			last[i] = max(last[i], bundleYears.rel[r.ID])
		}
	}
	ck.memo.Store("lastYears", last)
	return last
}

// recencyScorer is base's score plus beta bits per year by which a
// group's last documentation precedes the evidence's year.
func recencyScorer(beta float64, base reportScorer) reportScorer {
	return func(ck *caseKB, ev Evidence, scores []float64) float64 {
		base(ck, ev, scores)
		year := 0
		for _, id := range items(ev) {
			year = max(year, bundleYears.obj[id])
		}
		last := lastYears(ck)
		for i := range scores {
			if last[i] > 0 && !math.IsInf(scores[i], -1) {
				scores[i] += beta * float64(min(0, last[i]-year))
			}
		}
		return math.NaN()
	}
}

// TestReportRecency compares the recency prior at several weights with
// the shipped model:
//
//	go test ./internal/attack -run TestReportRecency -eval -v
func TestReportRecency(t *testing.T) {
	if !*evalFlag {
		t.Skip("runs with -eval")
	}
	loadYears(t)
	spoor := rankingScorer(Attribute)
	vs := []variant{{"spoor (Attribute)", spoor}, {"IDF containment", idfContainment}}
	for _, b := range []float64{0.25, 0.5, 1, 2} {
		vs = append(vs, variant{fmt.Sprintf("spoor + %.2f bits a year of dormancy", b), recencyScorer(b, spoor)})
	}
	runVariants(t, true, vs)
}
