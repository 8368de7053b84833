package attack

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
)

// TestReportBySize: full-evidence top-1 / top-5 of spoor and IDF
// containment by the evidence's size and by the true group's profile size
// (techniques and software on the full bundle), held out and kept:
// where the model's size penalty costs the best-documented groups.
//
//	go test ./internal/attack -run TestReportBySize -eval -v
func TestReportBySize(t *testing.T) {
	if !*evalFlag {
		t.Skip("runs with -eval")
	}
	ds, full, groups, pos := loadReports(t)
	vs := []variant{{"spoor", rankingScorer(Attribute)}, {"IDF", idfContainment}}
	bucket := func(n int) int {
		switch {
		case n < 10:
			return 0
		case n < 20:
			return 1
		}
		return 2
	}
	for _, hold := range []bool{true, false} {
		var mu sync.Mutex
		var sum [2][3][2]float64
		var cnt [3]float64
		var gsum [2][3][2]float64
		var gcnt [3]float64
		eachCase(len(ds.Cases), func(ci int) {
			scores := make([]float64, len(groups))
			c := ds.Cases[ci]
			ck := newCaseKB(full, groups, pos, caseView(c, hold))
			ev := Evidence{Techniques: c.Techniques, Software: c.Software}
			b := bucket(len(c.Techniques) + len(c.Software))
			g, _, _ := full.Group(c.Group)
			gb := bucket((len(g.Techniques) + len(g.Software)) / 5)
			mu.Lock()
			cnt[b]++
			gcnt[gb]++
			mu.Unlock()
			for v, sc := range vs {
				sc.score(ck, ev, scores)
				bt, ti := placement(scores, pos[c.Group])
				mu.Lock()
				sum[v][b][0] += topK(bt, ti, 1)
				sum[v][b][1] += topK(bt, ti, 5)
				gsum[v][gb][0] += topK(bt, ti, 1)
				gsum[v][gb][1] += topK(bt, ti, 5)
				mu.Unlock()
			}
		})
		var w strings.Builder
		fmt.Fprintf(&w, "held out %v\n", hold)
		for b, name := range []string{"evidence 5-9", "10-19", "20+"} {
			fmt.Fprintf(&w, "%s (%v): spoor %.3f/%.3f IDF %.3f/%.3f\n", name, cnt[b], sum[0][b][0]/cnt[b], sum[0][b][1]/cnt[b], sum[1][b][0]/cnt[b], sum[1][b][1]/cnt[b])
		}
		for b, name := range []string{"profile <50", "50-99", "100+"} {
			fmt.Fprintf(&w, "%s (%v): spoor %.3f/%.3f IDF %.3f/%.3f\n", name, gcnt[b], gsum[0][b][0]/gcnt[b], gsum[0][b][1]/gcnt[b], gsum[1][b][0]/gcnt[b], gsum[1][b][1]/gcnt[b])
		}
		t.Log("\n" + w.String())
	}
}

// TestReportIDFMass: spoor plus β times the IDF mass of the evidence a
// group's profile covers (in bits, so it grows with the evidence as the
// score does): the baseline's strength on the best-documented groups,
// added.
//
//	go test ./internal/attack -run TestReportIDFMass -eval -v
func TestReportIDFMass(t *testing.T) {
	spoor := rankingScorer(Attribute)
	mass := func(beta float64) reportScorer {
		return func(ck *caseKB, ev Evidence, scores []float64) float64 {
			extra := make([]float64, len(scores))
			idfContainment(ck, ev, extra)
			_, _, total := ck.idfWeights(ev)
			spoor(ck, ev, scores)
			for i := range scores {
				scores[i] += beta * extra[i] * total / math.Ln2
			}
			return math.NaN()
		}
	}
	vs := []variant{{"spoor", spoor}, {"IDF", idfContainment}}
	for _, b := range []float64{0.1, 0.25, 0.5, 1, 2} {
		vs = append(vs, variant{fmt.Sprintf("spoor + %g·IDF bits covered", b), mass(b)})
	}
	runVariants(t, true, vs)
}
