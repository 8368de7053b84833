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
// grid of both (the softmax divides bits by T·n^a). Each line also gives
// the worst ECE on each half of the cases, split by their group (the parity
// of its ID), so that a choice made on one half can be checked on the
// other. Run it with
//
//	go test ./internal/attack -run TestSweepTemperature -eval -v
func TestSweepTemperature(t *testing.T) {
	if !*evalFlag {
		t.Skip("the temperature sweep runs with -eval")
	}
	temps := []float64{0.32, 0.35, 0.38}
	growths := []float64{0.3, 0.33, 0.36, 0.4}
	ds, full, groups, pos := loadReports(t)
	type acc struct{ conf, hit []float64 }
	res := map[[4]float64]*acc{} // by T, growth, size, half (-1: both)
	for ci, c := range ds.Cases {
		ck := newCaseKB(full, groups, pos, c)
		evs, sizes := caseEvidence(c, ci)
		for ei, ev := range evs {
			rk := Attribute(ck.kb, ev)
			// n as Attribute counts it: the most specific techniques
			// and the software.
			_, obsT, obsS := caseEvidenceItems(ck, ev)
			n := max(1, float64(len(obsT)+len(obsS)))
			scores := make([]float64, len(rk.Candidates))
			for i, cd := range rk.Candidates {
				scores[i] = cd.Score
			}
			hit := 0.0
			if rk.Candidates[0].Group.ID == c.Group {
				hit = 1
			}
			half := float64((c.Group[len(c.Group)-1] - '0') % 2)
			for _, T := range temps {
				for _, u := range growths {
					p, _ := posterior(scores, T*math.Pow(n, u), 0)
					for _, h := range []float64{-1, half} {
						k := [4]float64{T, u, float64(sizes[ei]), h}
						if res[k] == nil {
							res[k] = &acc{}
						}
						res[k].conf = append(res[k].conf, slices.Max(p))
						res[k].hit = append(res[k].hit, hit)
					}
				}
			}
		}
	}
	for _, T := range temps {
		for _, u := range growths {
			line := fmt.Sprintf("T=%.2f a=%.2f (ECE by size, [mean confidence, top-1]):", T, u)
			worst := 0.0
			halves := [2]float64{}
			for _, k := range []int{0, 1, 2, 3, 5} {
				for h := range halves {
					e, _ := ece(res[[4]float64{T, u, float64(k), float64(h)}].conf, res[[4]float64{T, u, float64(k), float64(h)}].hit, 10)
					halves[h] = math.Max(halves[h], e)
				}
				a := res[[4]float64{T, u, float64(k), -1}]
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
			t.Logf("%s worst %.3f; worst by half %.3f / %.3f", line, worst, halves[0], halves[1])
		}
	}
}
