package attack

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// TestReportExplained: techniques the evidence's own software is known
// to perform (ATT&CK's software-uses-technique relationships) carry less
// weight: the malware explains them, they say little about the crew.
//
//	go test ./internal/attack -run TestReportExplained -eval -v
func TestReportExplained(t *testing.T) {
	vs := []variant{{"spoor (Attribute)", rankingScorer(Attribute)}, {"IDF containment", idfContainment}}
	for _, w := range []float64{0.5, 0.25, 0.1} {
		vs = append(vs, variant{fmt.Sprintf("spoor, techniques of the evidence's software at %g", w), explainedScorer(w)})
	}
	runVariants(t, true, vs)
}

func explainedScorer(w float64) reportScorer {
	spoor := rankingScorer(Attribute)
	return func(ck *caseKB, ev Evidence, scores []float64) float64 {
		known := map[string]bool{}
		for _, s := range ev.Software {
			if sw, _, err := ck.kb.SoftwareByID(s); err == nil {
				for _, tq := range sw.Techniques {
					known[tq] = true
				}
			}
		}
		weights := map[string]float64{}
		for _, tq := range ev.Techniques {
			if known[tq] {
				weights[tq] = w
			}
		}
		ev.Weights = weights
		return spoor(ck, ev, scores)
	}
}

// TestReportRelated: a group scores at least its related groups' scores
// (ATT&CK links them in descriptions but keeps them apart, as APT41 and
// Winnti Group) less delta bits: related crews share tools and reports.
//
//	go test ./internal/attack -run TestReportRelated -eval -v
func TestReportRelated(t *testing.T) {
	vs := []variant{{"spoor (Attribute)", rankingScorer(Attribute)}, {"IDF containment", idfContainment}}
	for _, d := range []float64{1, 2, 4, 8} {
		vs = append(vs, variant{fmt.Sprintf("spoor, related groups' score less %g bits", d), relatedScorer(d)})
	}
	runVariants(t, true, vs)
}

func relatedScorer(delta float64) reportScorer {
	spoor := rankingScorer(Attribute)
	return func(ck *caseKB, ev Evidence, scores []float64) float64 {
		conf := spoor(ck, ev, scores)
		own := slices.Clone(scores)
		for i, g := range ck.groups {
			if math.IsInf(own[i], -1) {
				continue // left out (an emptied profile: the protocol's, not evidence)
			}
			for _, r := range ck.kb.RelatedGroups(g) {
				if j, ok := ck.pos[r.Group.ID]; ok && own[j]-delta > scores[i] {
					scores[i] = own[j] - delta
				}
			}
		}
		return conf
	}
}
