package attack

import (
	"maps"
	"slices"
	"testing"
)

func TestReportBags(t *testing.T) {
	kb := tinyBundle(t)
	bags, labels, items, groups := kb.reportBags(nil)
	if !slices.Equal(groups, []string{"G0001", "G0002"}) {
		t.Fatalf("groups: got %v, want [G0001 G0002]", groups)
	}
	// (G0001, A), (G0001, B), (G0001, C), (G0002, B).
	want := [][]string{{"T1001", "T1002", "S0001", "T1003"}, {"T1002"}, {"T1003"}, {"T1001"}}
	if len(bags) != len(want) || !slices.Equal(labels, []int{0, 0, 0, 1}) {
		t.Fatalf("got %d bags labelled %v, want 4 labelled [0 0 0 1]", len(bags), labels)
	}
	for b, bag := range bags {
		var got []string
		for _, x := range bag {
			got = append(got, items[x])
		}
		slices.Sort(got)
		w := slices.Sorted(slices.Values(want[b]))
		if !slices.Equal(got, w) {
			t.Errorf("bag %d: got %v, want %v", b, got, w)
		}
	}
	bags, _, _, _ = kb.reportBags(func(r string) bool { return r == "Report A" })
	if len(bags) != 3 {
		t.Errorf("without report A: got %d bags, want 3", len(bags))
	}
}

func TestLearnRegression(t *testing.T) {
	kb := tinyBundle(t)
	g1, g2 := kb.Groups[0].Regression, kb.Groups[1].Regression
	if kb.Groups[0].ID != "G0001" || g1 == nil && g2 == nil {
		t.Fatalf("LoadBundle: got groups %s, %s with weights %v, %v; want them learned", kb.Groups[0].ID, kb.Groups[1].ID, g1, g2)
	}
	// Weights are centred per item (a missing one is 0): what counts is
	// one group's against the other's.
	if g1["S0001"] <= g2["S0001"] {
		t.Errorf("S0001, in G0001's reports only: got G0001 %g, G0002 %g; want G0001's larger", g1["S0001"], g2["S0001"])
	}
	if g2["T1001"] <= g1["T1001"] {
		t.Errorf("T1001, G0002's only item: got G0002 %g, G0001 %g; want G0002's larger", g2["T1001"], g1["T1001"])
	}
	again := kb.learnRegression(nil)
	if !maps.Equal(again.weights["G0001"], g1) || !maps.Equal(again.weights["G0002"], g2) || again.intercepts["G0001"] != kb.Groups[0].Intercept {
		t.Errorf("learned twice: got %v, then %v; want the same", map[string]any{"G0001": g1, "G0002": g2}, again.weights)
	}
	if kb.Groups[0].Intercept <= kb.Groups[1].Intercept {
		t.Errorf("intercepts: got G0001 (3 reports) %g, G0002 (1) %g; want G0001's larger", kb.Groups[0].Intercept, kb.Groups[1].Intercept)
	}
	without := kb.learnRegression(func(r string) bool { return r == "Report A" })
	for g, w := range without.weights {
		if _, ok := w["S0001"]; ok {
			t.Errorf("without report A, the only one citing S0001: %s weighs it %g", g, w["S0001"])
		}
	}
	v := kb.WithoutReport("Report A", "relationship--a")
	for _, g := range v.Groups {
		if g.Regression != nil || g.Intercept != 0 {
			t.Errorf("view without report A: %s keeps its weights %v", g.ID, g.Regression)
		}
	}
	if kb.Groups[0].Regression == nil {
		t.Error("the view cleared the knowledge base's own weights")
	}
}

// TestRegressionScore checks that the classifier moves the score, and
// that it adds nothing without evidence.
func TestRegressionScore(t *testing.T) {
	kb := tinyBundle(t)
	alone := defaultParams
	alone.regression = 0
	with, without := kb.model(), buildModel(kb, alone)
	score := func(m *model, techs []string) map[string]float64 {
		rk := rankModel(kb, m, Evidence{Techniques: techs}, 0)
		out := make(map[string]float64)
		for _, c := range rk.Candidates {
			out[c.Group.ID] = c.Score
		}
		return out
	}
	a, b := score(with, []string{"T1001"}), score(without, []string{"T1001"})
	if a["G0002"]-a["G0001"] <= b["G0002"]-b["G0001"] {
		t.Errorf("T1001: G0002's lead over G0001 with the classifier %g, without %g; want larger with it", a["G0002"]-a["G0001"], b["G0002"]-b["G0001"])
	}
	if a, b := score(with, nil), score(without, nil); !maps.Equal(a, b) {
		t.Errorf("no evidence: got %v with the classifier, %v without; want the same", a, b)
	}
}

// TestAttributeThinEvidence is issue 11's bound on thin evidence: a single
// technique that more than 10 groups are known for makes no group more
// likely than 0.2, the report classifier included.
func TestAttributeThinEvidence(t *testing.T) {
	kb := embeddedKB(t)
	m := kb.model()
	if m.regT == nil {
		t.Fatal("the embedded knowledge base has no report classifier")
	}
	checked := 0
	for ti, id := range m.techs {
		if m.nTech[ti] <= 10 {
			continue
		}
		checked++
		if c := Attribute(kb, Evidence{Techniques: []string{id}}).Candidates[0]; c.Confidence > 0.2 {
			t.Errorf("%s alone (%d groups): %s %.3f, want at most 0.2", id, m.nTech[ti], c.Group.Name, c.Confidence)
		}
	}
	if checked < 50 {
		t.Errorf("checked %d techniques known for more than 10 groups, want at least 50", checked)
	}
}
