package attack

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// TestSweepTemperature is how Temperature and TemperatureGrowth were set:
// on the report cases (see TestEvaluateReports), the calibration of the
// first candidate's confidence among the groups, per evidence size, for a
// grid of both (the softmax divides bits by T·n^a). Run it with
//
//	go test ./internal/attack -run TestSweepTemperature -eval -v
func TestSweepTemperature(t *testing.T) {
	if !*evalFlag {
		t.Skip("the temperature sweep runs with -eval")
	}
	temps := []float64{0.25, 0.3, 0.35, 0.4}
	unk := []float64{0, 0.15, 0.3, 0.45} // growths
	ds, full, groups, pos := loadReports(t)
	type acc struct{ conf, hit []float64 }
	res := map[[3]float64]*acc{}
	for ci, c := range ds.Cases {
		ck := newCaseKB(full, groups, pos, c)
		evs, sizes := caseEvidence(c, ci)
		for ei, ev := range evs {
			rk := Attribute(ck.kb, ev)
			scores := make([]float64, len(rk.Candidates))
			for i, cd := range rk.Candidates {
				scores[i] = cd.Score
			}
			hit := 0.0
			if rk.Candidates[0].Group.ID == c.Group {
				hit = 1
			}
			for _, T := range temps {
				for _, u := range unk {
					p, _ := posterior(scores, T*math.Pow(float64(len(ev.Techniques)+len(ev.Software)), u), 0)
					k := [3]float64{T, u, float64(sizes[ei])}
					if res[k] == nil {
						res[k] = &acc{}
					}
					res[k].conf = append(res[k].conf, slices.Max(p))
					res[k].hit = append(res[k].hit, hit)
				}
			}
		}
	}
	for _, T := range temps {
		for _, u := range unk {
			line := fmt.Sprintf("T=%.2f a=%.2f (ECE by size, [mean confidence, top-1]):", T, u)
			worst := 0.0
			for _, k := range []int{0, 1, 2, 3, 5} {
				a := res[[3]float64{T, u, float64(k)}]
				e, _ := ece(a.conf, a.hit, 10)
				mc, mh := 0.0, 0.0
				for i := range a.conf {
					mc += a.conf[i]
					mh += a.hit[i]
				}
				line += fmt.Sprintf(" [c%.2f h%.2f]", mc/float64(len(a.conf)), mh/float64(len(a.conf)))
				worst = math.Max(worst, e)
				line += fmt.Sprintf(" %d:%.3f", k, e)
			}
			t.Logf("%s worst %.3f", line, worst)
		}
	}
}
