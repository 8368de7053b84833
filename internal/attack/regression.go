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
	// regressionMin is the smallest weight kept (after each item's
	// weights are centred on their median): smaller ones move no score
	// by more than 0.03 nats per item.
	regressionMin = 0.03
	// maxRegressionCells bounds items × groups of the classifier (two
	// float32 each while learning: 32 MB), and maxRegressionWork the
	// item-group updates of one epoch. ATT&CK v18.1 gives 1,041 samples of
	// 1,082 items over 172 groups (0.19 M cells, 1.5 M updates an epoch).
	maxRegressionCells = 1 << 22
	maxRegressionWork  = 1 << 27
	// regressionSeed fixes the order of the samples, so that a bundle
	// always gives the same weights.
	regressionSeed = 11
)

// reportBags returns the samples of kb's relationships: for each pair of a
// group and a report cited by its relationships (reports for which skip
// is true left out), the items (indexes into items) the report says the
// group used, and the group (index into groups). Pairs are in the order of
// group ID, then report; groups are kb's active groups, in kb's order,
// with or without samples.
func (kb *KB) reportBags(skip func(report string) bool) (bags [][]int, labels []int, items, groups []string) {
	type pair struct{ group, report string }
	byPair := make(map[pair][]string)
	groupIndex := make(map[string]int)
	for i := range kb.Groups {
		if !kb.Groups[i].Deprecated {
			groupIndex[kb.Groups[i].ID] = len(groups)
			groups = append(groups, kb.Groups[i].ID)
		}
	}
	for _, r := range kb.rels {
		if _, ok := groupIndex[r.Source]; !ok {
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
	for _, p := range pairs {
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
		labels = append(labels, groupIndex[p.group])
	}
	return bags, labels, items, groups
}

// learned is the report classifier of one knowledge base: each group's
// weights by item ID (those below regressionMin in size dropped) and its
// intercept, by group ID.
type learned struct {
	weights    map[string]map[string]float32
	intercepts map[string]float32
}

// learnRegression fits the report classifier on kb's relationships
// (reports for which skip is true left out). A KB without relationships
// gives an empty classifier, and so does a bundle far larger than ATT&CK's
// (maxRegressionCells, maxRegressionWork), which attribution then scores
// without one rather than take unbounded memory or time.
func (kb *KB) learnRegression(skip func(report string) bool) learned {
	bags, labels, items, groups := kb.reportBags(skip)
	work := 0
	for _, b := range bags {
		work += len(b)
	}
	if len(bags) == 0 || len(items)*len(groups) > maxRegressionCells || work*len(groups) > maxRegressionWork {
		return learned{}
	}
	sm := trainSoftmax(len(items), len(groups), bags, labels, regressionL2, regressionEpochs, false, regressionSeed)
	// The probabilities do not change when one constant is added to an
	// item's weights for every group; taking away their median leaves
	// most of them near 0, and small enough to drop.
	col := make([]float32, len(groups))
	for x := range items {
		row := sm.w[x*sm.classes : (x+1)*sm.classes]
		copy(col, row)
		slices.Sort(col)
		med := col[len(col)/2]
		for g := range row {
			row[g] -= med
		}
	}
	out := learned{weights: make(map[string]map[string]float32, len(groups)), intercepts: make(map[string]float32, len(groups))}
	for gi, g := range groups {
		out.intercepts[g] = sm.bias[gi]
		for x, id := range items {
			if w := sm.w[x*sm.classes+gi]; math.Abs(float64(w)) >= regressionMin {
				if out.weights[g] == nil {
					out.weights[g] = make(map[string]float32)
				}
				out.weights[g][id] = w
			}
		}
	}
	return out
}

// setRegression gives kb's groups the weights and intercepts of l (a
// group it does not have has none).
func (kb *KB) setRegression(l learned) {
	for i := range kb.Groups {
		g := &kb.Groups[i]
		g.Regression, g.Intercept = l.weights[g.ID], l.intercepts[g.ID]
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
