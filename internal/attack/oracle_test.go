package attack

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// toyKB is a small ATT&CK: two technique families with sub-techniques,
// top-level techniques, three groups the harness draws and one it does
// not (it only weighs the noise).
func toyKB() *KB {
	kb := &KB{}
	for _, id := range []string{"T1001", "T1001.001", "T1001.002", "T1001.003", "T1002", "T1002.001", "T1002.002"} {
		kb.Techniques = append(kb.Techniques, Technique{ID: id, Name: id})
	}
	for i := 3; i <= 16; i++ {
		id := fmt.Sprintf("T10%02d", i)
		kb.Techniques = append(kb.Techniques, Technique{ID: id, Name: id})
	}
	for i := 1; i <= 4; i++ {
		id := fmt.Sprintf("S000%d", i)
		kb.Software = append(kb.Software, Software{ID: id, Name: id})
	}
	kb.Groups = []Group{
		{ID: "G0001", Name: "one", Techniques: []string{"T1001", "T1001.001", "T1002.001", "T1003", "T1004", "T1005", "T1006", "T1007", "T1008", "T1009"}, Software: []string{"S0001", "S0002", "S0003"}},
		{ID: "G0002", Name: "two", Techniques: []string{"T1001.002", "T1002", "T1004", "T1005", "T1006", "T1007", "T1008", "T1009", "T1010", "T1011", "T1012"}, Software: []string{"S0002", "S0003", "S0004"}},
		{ID: "G0003", Name: "three", Techniques: []string{"T1005", "T1006", "T1007", "T1008", "T1009", "T1010", "T1011", "T1012", "T1013", "T1014", "T1015", "T1016"}, Software: []string{"S0001"}},
		{ID: "G0004", Name: "small", Techniques: []string{"T1003", "T1010", "T1001.003"}},
	}
	return kb
}

// drawn is an observation with its exact probability.
type drawn struct {
	techs, softs []int
	p            float64
}

// enumerateDraws returns the exact probability of every observation
// drawObservations can make from group gi under cond, keyed by obsKey, by
// enumerating its random choices one by one: the shown software, the
// shown techniques in the order drawn, the blur of each, the noise in
// the order drawn.
func enumerateDraws(m *model, cond condition, gi int) map[string]*drawn {
	techs, softs := drawnItems(m, gi)
	if cond.noSoftware {
		softs = nil
	}
	kT, kS, noise := drawSizes(cond, len(techs), len(softs))
	pSoft := math.Exp(-lnChoose(len(softs), kS))
	out := make(map[string]*drawn)
	cur := make([]int, 0, kT+noise)
	var shownSofts []int
	var drawTechs, blurAt, drawNoise func(i int, p float64)
	drawTechs = func(i int, p float64) {
		if i == kT {
			blurAt(0, p)
			return
		}
		for _, t := range techs {
			if !slices.Contains(cur, t) {
				cur = append(cur, t)
				drawTechs(i+1, p/float64(len(techs)-i))
				cur = cur[:len(cur)-1]
			}
		}
	}
	blurAt = func(i int, p float64) {
		if i == kT {
			drawNoise(0, p)
			return
		}
		near := neighbours(m, cur[i])
		if cond.blur == 0 || len(near) == 0 {
			blurAt(i+1, p)
			return
		}
		blurAt(i+1, p*(1-cond.blur))
		for _, nb := range near {
			q := p * cond.blur / float64(len(near))
			if slices.Contains(cur, nb) {
				blurAt(i+1, q)
				continue
			}
			t := cur[i]
			cur[i] = nb
			blurAt(i+1, q)
			cur[i] = t
		}
	}
	drawNoise = func(i int, p float64) {
		if i == noise {
			key := obsKey(cur, shownSofts)
			if d, ok := out[key]; ok {
				d.p += p * pSoft
			} else {
				out[key] = &drawn{slices.Clone(cur), slices.Clone(shownSofts), p * pSoft}
			}
			return
		}
		total := 0.0
		for t, n := range m.nTech {
			if !slices.Contains(cur, t) {
				total += float64(n)
			}
		}
		for t, n := range m.nTech {
			if n > 0 && !slices.Contains(cur, t) {
				cur = append(cur, t)
				drawNoise(i+1, p*float64(n)/total)
				cur = cur[:len(cur)-1]
			}
		}
	}
	forSubsets(len(softs), kS, func(idx []int) {
		shownSofts = shownSofts[:0]
		for _, i := range idx {
			shownSofts = append(shownSofts, softs[i])
		}
		drawTechs(0, 1)
	})
	return out
}

// forSubsets calls fn with every k-subset of 0..n−1, ascending.
func forSubsets(n, k int, fn func([]int)) {
	idx := make([]int, k)
	var rec func(start, i int)
	rec = func(start, i int) {
		if i == k {
			fn(idx)
			return
		}
		for j := start; j < n; j++ {
			idx[i] = j
			rec(j+1, i+1)
		}
	}
	rec(0, 0)
}

// obsKey identifies an observation as two sets.
func obsKey(techs, softs []int) string {
	return fmt.Sprint(slices.Sorted(slices.Values(techs)), slices.Sorted(slices.Values(softs)))
}

// TestOracleLikelihood checks the oracle's likelihood against an exact
// enumeration of the drawing process on a toy ATT&CK, for every
// observation any group can produce and every group, with and without
// blur (collisions included: group one has a technique and its
// sub-technique).
func TestOracleLikelihood(t *testing.T) {
	m := buildModel(toyKB(), defaultParams)
	for _, cond := range []condition{
		{name: "plain", share: 0.2, noise: 1.0 / 3},
		{name: "blurred", share: 0.2, noise: 1.0 / 3, blur: 0.3},
		{name: "no software", share: 0.2, noise: 1.0 / 3, noSoftware: true},
	} {
		o := newOracle(m, cond, false)
		all := make(map[string]*drawn)
		exact := make([]map[string]*drawn, len(m.groups))
		for gi := range m.groups {
			if !o.groups[gi].drawn {
				continue
			}
			exact[gi] = enumerateDraws(m, cond, gi)
			sum := 0.0
			for key, d := range exact[gi] {
				sum += d.p
				all[key] = d
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Fatalf("%s: enumeration of %s: got total %v, want 1", cond.name, m.groups[gi].ID, sum)
			}
		}
		worst := 0.0
		for key, d := range all {
			for gi := range m.groups {
				want := 0.0
				if e, ok := exact[gi][key]; ok {
					want = e.p
				}
				got := math.Exp(o.logLikelihood(d.techs, d.softs, gi))
				if math.Abs(got-want) > 1e-9*want {
					t.Errorf("%s: P(%s | %s): got %v, want %v", cond.name, key, m.groups[gi].ID, got, want)
				}
				if want > 0 {
					worst = max(worst, math.Abs(got-want)/want)
				}
			}
		}
		t.Logf("%s: %d observations, worst relative error %.1e", cond.name, len(all), worst)
	}
}
