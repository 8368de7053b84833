package attack

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// The report classifier: a multinomial logistic regression of the group
// behind a report on the techniques and software the report says it used.
// Each (group, report) pair of a bundle's relationships is one sample: the
// targets of the group's relationships that cite the report. Where the
// generative model (attribute.go) asks how well a group's pooled profile
// explains each item alone, the classifier learns, from how ATT&CK's
// reports actually read, which items set a group apart from the groups
// that share its other items. It adds to the attribution score (see
// RegressionWeight), measured on the report cases with the case's report
// never among its samples (BENCHMARKS.md).

// Regression constants: the L2 penalty and the epochs of AdaGrad, set on
// a plateau of the report cases (L2 0.003–0.01, weight 0.25–0.5 within
// 0.01 of each other, on both halves of the groups).
const (
	regressionL2     = 0.01
	regressionEpochs = 25
	regressionRate   = 0.5
	// regressionMin is the smallest weight kept: smaller ones move no
	// score by more than a hundredth of a nat per item.
	regressionMin = 0.01
	// regressionSeed fixes the order of the samples, so that a bundle
	// always gives the same weights.
	regressionSeed = 11
)

// reportBags returns the samples of kb's relationships: for each pair of a
// group and a report cited by its relationships (reports for which skip
// is true left out), the items (indexes into items) the report says the
// group used, and the group (index into groups). Pairs are in the order of
// group ID, then report.
func (kb *KB) reportBags(skip func(report string) bool) (bags [][]int, labels []int, items, groups []string) {
	type pair struct{ group, report string }
	byPair := make(map[pair][]string)
	active := make(map[string]bool)
	for i := range kb.Groups {
		if !kb.Groups[i].Deprecated {
			active[kb.Groups[i].ID] = true
		}
	}
	for _, r := range kb.rels {
		if !active[r.Source] {
			continue
		}
		if k := KindOf(r.Target); k != KindTechnique && k != KindSoftware {
			continue
		}
		for _, c := range r.Citations {
			if skip == nil || !skip(c) {
				p := pair{r.Source, c}
				byPair[p] = append(byPair[p], r.Target)
			}
		}
	}
	pairs := make([]pair, 0, len(byPair))
	for p := range byPair {
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.report, b.report)) })
	itemIndex := make(map[string]int)
	groupIndex := make(map[string]int)
	for _, p := range pairs {
		gi, ok := groupIndex[p.group]
		if !ok {
			gi = len(groups)
			groupIndex[p.group] = gi
			groups = append(groups, p.group)
		}
		var bag []int
		for _, id := range byPair[p] {
			x, ok := itemIndex[id]
			if !ok {
				x = len(items)
				itemIndex[id] = x
				items = append(items, id)
			}
			if !slices.Contains(bag, x) {
				bag = append(bag, x)
			}
		}
		bags = append(bags, bag)
		labels = append(labels, gi)
	}
	return bags, labels, items, groups
}

// learnRegression fits the report classifier on kb's relationships
// (reports for which skip is true left out) and returns each group's
// weights by item ID, those below regressionMin in size dropped. The
// intercepts are not kept: a prior by the number of reports did not help
// on the report cases, and the classifier is a source of evidence, not a
// prior. A KB without relationships gives nil.
func (kb *KB) learnRegression(skip func(report string) bool) map[string]map[string]float32 {
	bags, labels, items, groups := kb.reportBags(skip)
	if len(bags) == 0 {
		return nil
	}
	sm := trainSoftmax(len(items), len(groups), bags, labels, regressionL2, regressionEpochs, false, regressionSeed)
	out := make(map[string]map[string]float32, len(groups))
	for gi, g := range groups {
		for x, id := range items {
			if w := sm.w[x*sm.classes+gi]; math.Abs(float64(w)) >= regressionMin {
				if out[g] == nil {
					out[g] = make(map[string]float32)
				}
				out[g][id] = w
			}
		}
	}
	return out
}

// setRegression gives kb's groups the weights of learned (by group ID; a
// group without any has none).
func (kb *KB) setRegression(learned map[string]map[string]float32) {
	for i := range kb.Groups {
		kb.Groups[i].Regression = learned[kb.Groups[i].ID]
	}
}

// softmaxModel is a multinomial logistic regression over binary item
// features: logit_g = bias_g + Σ_{x in bag} w[x·classes+g].
type softmaxModel struct {
	classes int
	w       []float32 // items × classes
	bias    []float32
}

// logits returns the regression's logit of each class for the items.
func (sm *softmaxModel) logits(items []int) []float64 {
	out := make([]float64, sm.classes)
	for g := range out {
		out[g] = float64(sm.bias[g])
	}
	for _, x := range items {
		row := sm.w[x*sm.classes : (x+1)*sm.classes]
		for g, v := range row {
			out[g] += float64(v)
		}
	}
	return out
}

// trainSoftmax fits the regression on the bags (samples; items are
// indexes below items) and their labels (classes) by AdaGrad over epochs
// of the samples in a shuffled order (seeded), with an L2 penalty on the
// weights; the intercepts learn the classes' shares of the samples. With
// thin, each presentation of a bag is, at random, the whole bag or 1, 2,
// 3 or 5 of its items, so that the classifier learns what thin evidence
// says too.
func trainSoftmax(items, classes int, bags [][]int, labels []int, l2 float64, epochs int, thin bool, seed uint64) *softmaxModel {
	sm := &softmaxModel{classes: classes, w: make([]float32, items*classes), bias: make([]float32, classes)}
	gw := make([]float32, items*classes) // AdaGrad's sums of squared gradients
	gb := make([]float32, classes)
	p := make([]float64, classes)
	order := make([]int, len(bags))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	for range epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var sub []int
		for _, b := range order {
			bag := bags[b]
			if thin {
				if k := [...]int{1, 2, 3, 5, 0}[rng.IntN(5)]; k > 0 && k < len(bag) {
					sub = append(sub[:0], bag...)
					rng.Shuffle(len(sub), func(i, j int) { sub[i], sub[j] = sub[j], sub[i] })
					bag = sub[:k]
				}
			}
			lg := sm.logits(bag)
			mx := slices.Max(lg)
			sum := 0.0
			for g, v := range lg {
				p[g] = math.Exp(v - mx)
				sum += p[g]
			}
			for g := range p {
				grad := p[g] / sum
				if g == labels[b] {
					grad--
				}
				gb[g] += float32(grad * grad)
				sm.bias[g] -= float32(regressionRate * grad / math.Sqrt(float64(gb[g])+1e-8))
				for _, x := range bag {
					k := x*classes + g
					gx := grad + l2*float64(sm.w[k])
					gw[k] += float32(gx * gx)
					sm.w[k] -= float32(regressionRate * gx / math.Sqrt(float64(gw[k])+1e-8))
				}
			}
		}
	}
	return sm
}
