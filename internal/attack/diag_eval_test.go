package attack

import (
	"fmt"
	"testing"
)

func TestDiagFailures(t *testing.T) {
	if !*evalFlag {
		t.Skip()
	}
	ds, full, groups, pos := loadReports(t)
	sc := rankingScorer(Attribute)
	scores := make([]float64, len(groups))
	var fail, sameReport, zero, near, missAll int
	hist := map[string]int{}
	for ci, c := range ds.Cases {
		ck := newCaseKB(full, groups, pos, c)
		ev := Evidence{Techniques: c.Techniques, Software: c.Software}
		sc(ck, ev, scores)
		truth := pos[c.Group]
		b, _ := placement(scores, truth)
		its := items(ev)
		have := 0
		for _, id := range its {
			if ck.has(truth, id) {
				have++
			}
		}
		if have == 0 {
			zero++
		}
		if b == 0 {
			continue
		}
		fail++
		best := 0
		for i := range scores {
			if scores[i] > scores[best] {
				best = i
			}
		}
		// does the winner keep a relationship citing the report?
		shares := false
		for _, r := range ck.kb.Relationships() {
			if r.Source == groups[best].ID {
				for _, s := range r.Citations {
					if s == c.Report {
						shares = true
					}
				}
			}
		}
		if shares {
			sameReport++
		}
		if b < 5 {
			near++
		}
		bh := have
		hw := 0
		for _, id := range its {
			if ck.has(best, id) {
				hw++
			}
		}
		if have == 0 {
			missAll++
		}
		key := "truth-has<winner-has"
		if bh >= hw {
			key = "truth-has>=winner-has"
		}
		hist[key]++
		if ci%10 == 0 {
			fmt.Printf("%s %s [%s] truth rank %d has %d/%d; winner %s has %d shares=%v\n", c.Group, c.Name, c.Report, b+1, have, len(its), groups[best].Name, hw, shares)
		}
	}
	fmt.Println("fail", fail, "winner shares report", sameReport, "zero-overlap cases", zero, "fail with zero", missAll, "rank2-5", near, hist)
}
