package attack

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

var evalFlag = flag.Bool("eval", false, "run the attribution evaluation harness (TestEvaluate) and print its report")

// Harness settings (issue 6): one observation per group with at least
// evalMinTechniques techniques, per seed and condition (see conditions).
// Temperature is fitted on fitSeeds, results are reported on evalSeeds.
const evalMinTechniques = 10

var (
	evalSeeds = []uint64{1, 2, 3, 4, 5}
	fitSeeds  = []uint64{101, 102, 103, 104, 105}
)

// observation is one drawn test case.
type observation struct {
	truth      int   // index in model.groups
	techs      []int // technique indexes
	softs      []int
	techIDs    []string
	softIDs    []string
	noiseCount int
}

// condition is how observations are drawn.
type condition struct {
	name string
	// share of the group's techniques and software observed.
	share float64
	// noise is the share of the final observation that is common
	// techniques drawn by overall frequency.
	noise float64
	// blur is the chance that an observed technique of the group is
	// reported as its parent or a sibling instead (technique extraction
	// confuses neighbours).
	blur float64
	// noSoftware drops software from observations.
	noSoftware bool
}

// conditions: the harness first, then harder ones.
var conditions = []condition{
	{name: "issue harness: 30% of techniques and software, noise 1/3", share: 0.3, noise: 1.0 / 3},
	{name: "sparse: 15% of techniques and software, noise 1/2", share: 0.15, noise: 0.5},
	{name: "blurred: as the issue, 30% of true techniques swapped for parent or sibling", share: 0.3, noise: 1.0 / 3, blur: 0.3},
	{name: "no software: 30% of techniques, noise 1/3", share: 0.3, noise: 1.0 / 3, noSoftware: true},
}

// drawnItems returns what the harness draws a group's observations
// from: its group-level techniques and software (not its campaigns'), as
// model indexes in ATT&CK's order.
func drawnItems(m *model, gi int) (techs, softs []int) {
	g := m.groups[gi]
	for _, id := range g.Techniques {
		if t, ok := m.techIndex[id]; ok {
			techs = append(techs, t)
		}
	}
	for _, id := range g.Software {
		if s, ok := m.softIndex[id]; ok {
			softs = append(softs, s)
		}
	}
	return techs, softs
}

// drawSizes returns how many of a group's nT techniques and nS software
// an observation shows (nS must already be 0 under noSoftware), and how
// many noise techniques are added.
func drawSizes(cond condition, nT, nS int) (kT, kS, noise int) {
	kT = max(1, int(math.Round(cond.share*float64(nT))))
	kS = int(math.Round(cond.share * float64(nS)))
	return kT, kS, noiseCount(cond, kT+kS)
}

// noiseCount returns how many noise techniques join shown true items so
// that they make up cond.noise of the observation.
func noiseCount(cond condition, shown int) int {
	return int(math.Round(float64(shown) * cond.noise / (1 - cond.noise)))
}

// neighbours returns what a blurred technique t may be reported as: its
// parent and siblings for a sub-technique, its sub-techniques otherwise.
func neighbours(m *model, t int) []int {
	p := m.parent[t]
	if p < 0 {
		return m.children[t]
	}
	near := []int{p}
	for _, sib := range m.children[p] {
		if sib != t {
			near = append(near, sib)
		}
	}
	return near
}

// drawObservations draws one observation per eligible group for a seed.
func drawObservations(m *model, cond condition, seed uint64) []observation {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	// Overall technique frequency: number of groups using it.
	var pool []int
	var weights []float64
	for t, n := range m.nTech {
		if n > 0 {
			pool = append(pool, t)
			weights = append(weights, float64(n))
		}
	}
	var out []observation
	for gi := range m.groups {
		techs, softs := drawnItems(m, gi)
		if len(techs) < evalMinTechniques {
			continue
		}
		if cond.noSoftware {
			softs = nil
		}
		kT, kS, noise := drawSizes(cond, len(techs), len(softs))
		rng.Shuffle(len(techs), func(i, j int) { techs[i], techs[j] = techs[j], techs[i] })
		rng.Shuffle(len(softs), func(i, j int) { softs[i], softs[j] = softs[j], softs[i] })
		o := observation{truth: gi, techs: slices.Clone(techs[:kT]), softs: slices.Clone(softs[:kS]), noiseCount: noise}
		for i, t := range o.techs {
			if cond.blur == 0 || rng.Float64() >= cond.blur {
				continue
			}
			if near := neighbours(m, t); len(near) > 0 {
				n := near[rng.IntN(len(near))]
				if !slices.Contains(o.techs, n) {
					o.techs[i] = n
				}
			}
		}
		// Noise: cond.noise of the final observation, drawn by
		// frequency without replacement.
		w := slices.Clone(weights)
		for _, t := range o.techs {
			if i := slices.Index(pool, t); i >= 0 {
				w[i] = 0
			}
		}
		for range o.noiseCount {
			total := 0.0
			for _, x := range w {
				total += x
			}
			r := rng.Float64() * total
			i := 0
			for ; i < len(w)-1; i++ {
				r -= w[i]
				if r < 0 && w[i] > 0 {
					break
				}
			}
			o.techs = append(o.techs, pool[i])
			w[i] = 0
		}
		for _, t := range o.techs {
			o.techIDs = append(o.techIDs, m.techs[t])
		}
		for _, s := range o.softs {
			o.softIDs = append(o.softIDs, m.softs[s])
		}
		out = append(out, o)
	}
	return out
}

// rankOf returns the 1-based rank of truth in scores, ties counted
// against it.
func rankOf(scores []float64, truth int) int {
	r := 1
	for i, s := range scores {
		if i != truth && s >= scores[truth] {
			r++
		}
	}
	return r
}

// scorer ranks groups for an observation.
type scorer struct {
	name  string
	n     int // number of groups scored
	score func(o observation, scores []float64)
}

// jaccard is the baseline: |obs ∩ profile| / |obs ∪ profile| over
// technique and software IDs.
func jaccard(m *model) scorer {
	profiles := make([]map[string]bool, len(m.groups))
	for gi, g := range m.groups {
		p := make(map[string]bool)
		for _, id := range g.Techniques {
			p[id] = true
		}
		for _, id := range g.Software {
			p[id] = true
		}
		profiles[gi] = p
	}
	return scorer{"Jaccard baseline", len(m.groups), func(o observation, scores []float64) {
		items := append(slices.Clone(o.techIDs), o.softIDs...)
		for gi, p := range profiles {
			inter := 0
			for _, id := range items {
				if p[id] {
					inter++
				}
			}
			scores[gi] = float64(inter) / float64(len(items)+len(p)-inter)
		}
	}}
}

// idfOverlap is a second baseline: the sum of log(N/n) over the observed
// items a group is known for (rarity without the size correction).
func idfOverlap(m *model) scorer {
	n := float64(len(m.groups))
	return scorer{"IDF overlap, no size correction", len(m.groups), func(o observation, scores []float64) {
		for gi, g := range m.groups {
			s := 0.0
			for _, t := range o.techs {
				if slices.Contains(g.Techniques, m.techs[t]) {
					s += math.Log(n / float64(m.nTech[t]))
				}
			}
			for _, x := range o.softs {
				if slices.Contains(g.Software, m.softs[x]) {
					s += math.Log(n / float64(m.nSoft[x]))
				}
			}
			scores[gi] = s
		}
	}}
}

func modelScorer(name string, m *model) scorer {
	return scorer{name, len(m.groups), func(o observation, scores []float64) { m.score(m.mostSpecific(o.techs), o.softs, nil, nil, scores) }}
}

// evalResult is the outcome of one scorer over a set of observations.
type evalResult struct {
	n                int
	top1, top3, top5 int
	conf             []float64 // stated confidence of the top candidate, among the groups
	hit              []float64 // 1 when the top candidate was right, else 0
	// shipped and shippedHit are the top candidate's confidence as
	// Attribute states it (with the unknown alternative) and whether it
	// was right, over each observation twice: as drawn, and with its true
	// group taken out of ATT&CK (an unknown actor, whose top candidate is
	// always wrong), which weighs the two as the prior UnknownPrior 1/2.
	shipped    []float64
	shippedHit []float64
	nll        float64 // mean -log P(truth)
	meanRank   float64
	// tied counts the observations where the true group has the best
	// score but shares it.
	tied int
}

// modelTemperature, as evaluate's temp, is the shipped model's own:
// temperature(n) for n items observed.
const modelTemperature = -1

func evaluate(sc scorer, obs []observation, temp float64) evalResult {
	var r evalResult
	for _, o := range obs {
		s := make([]float64, sc.n)
		sc.score(o, s)
		rank := rankOf(s, o.truth)
		if rank > 1 && s[o.truth] == slices.Max(s) {
			r.tied++
		}
		r.n++
		if rank == 1 {
			r.top1++
		}
		if rank <= 3 {
			r.top3++
		}
		if rank <= 5 {
			r.top5++
		}
		r.meanRank += float64(rank)
		if temp != 0 {
			temp := temp
			if temp == modelTemperature {
				temp = temperature(float64(len(o.techs) + len(o.softs)))
			}
			p, _ := posterior(s, temp, 0)
			q, _ := posterior(s, temp, UnknownPrior)
			best := slices.Index(s, slices.Max(s))
			r.conf = append(r.conf, p[best])
			r.hit = append(r.hit, b2f(best == o.truth && rank == 1))
			out := slices.Delete(slices.Clone(s), o.truth, o.truth+1)
			q2, _ := posterior(out, temp, UnknownPrior)
			r.shipped = append(r.shipped, q[best], slices.Max(q2))
			r.shippedHit = append(r.shippedHit, b2f(best == o.truth && rank == 1), 0)
			r.nll -= math.Log(max(p[o.truth], 1e-300))
		}
	}
	r.meanRank /= float64(r.n)
	r.nll /= float64(r.n)
	return r
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ece returns the expected calibration error over bins equal-width bins
// of stated confidence, and the bins (count, mean confidence, hit rate).
// hit[i] is 1 when the case's top candidate was right, 0 when wrong, or
// the chance it was right when the top is a tie broken at random.
func ece(conf, hit []float64, bins int) (float64, [][3]float64) {
	out := make([][3]float64, bins)
	for i, c := range conf {
		b := max(0, min(int(c*float64(bins)), bins-1))
		out[b][0]++
		out[b][1] += c
		out[b][2] += hit[i]
	}
	e := 0.0
	for b := range out {
		if out[b][0] == 0 {
			continue
		}
		out[b][1] /= out[b][0]
		out[b][2] /= out[b][0]
		e += out[b][0] / float64(len(conf)) * math.Abs(out[b][1]-out[b][2])
	}
	return e, out
}

// fitTemperature returns the temperature minimising the mean negative
// log-likelihood of the true group on obs (temperature scaling).
func fitTemperature(sc scorer, obs []observation) float64 {
	best, bestNLL := 1.0, math.Inf(1)
	for t := 0.05; t <= 6; t += 0.05 {
		if r := evaluate(sc, obs, t); r.nll < bestNLL {
			best, bestNLL = t, r.nll
		}
	}
	return best
}

func drawAll(m *model, cond condition, seeds []uint64) []observation {
	var obs []observation
	for _, s := range seeds {
		obs = append(obs, drawObservations(m, cond, s)...)
	}
	return obs
}

// TestEvaluate is the attribution evaluation harness; run it with
//
//	go test ./internal/attack -run TestEvaluate -eval -v
//
// Without -eval it runs on one seed and checks the targets only.
func TestEvaluate(t *testing.T) {
	kb := embeddedKB(t)
	m := buildModel(kb, defaultParams)
	seeds := evalSeeds
	if !*evalFlag {
		seeds = evalSeeds[:1]
	}
	pct := func(k, n int) float64 { return float64(k) / float64(n) }
	main := modelScorer("spoor model", m)
	jac := jaccard(m)
	var b strings.Builder
	type condResult struct {
		cond      condition
		obs       []observation
		res, base evalResult
		oracle    evalResult // with -eval only
		blind     evalResult // size-blind oracle, with -eval only
	}
	var results []condResult
	for _, cond := range conditions {
		obs := drawAll(m, cond, seeds)
		r := condResult{cond: cond, obs: obs, res: evaluate(main, obs, modelTemperature), base: evaluate(jac, obs, 0)}
		if *evalFlag {
			// Temperature 1: the oracle's scores are exact log-likelihoods.
			r.oracle = evaluate(newOracle(m, cond, false).scorer(), obs, 1)
			r.blind = evaluate(newOracle(m, cond, true).scorer(), obs, 1)
			r.oracle.shipped, r.blind.shipped = nil, nil
		}
		results = append(results, r)
		top1, base1 := pct(r.res.top1, r.res.n), pct(r.base.top1, r.base.n)
		e, _ := ece(r.res.conf, r.res.hit, 10)
		// Draws from a group's own profile reward what real reports do
		// not (issue 11: Jaccard, which penalises large profiles, wins
		// here and loses on the report cases), so this harness is a
		// secondary check: the model must stay useful on it, not beat it.
		if top1 < 0.6 || top1 < base1-0.15 {
			t.Errorf("%s: top-1: got %.3f, want at least 0.6 and within 0.15 of the Jaccard baseline's %.3f", cond.name, top1, base1)
		}
		// The temperature is set on real report cases, noisier than
		// these draws from the groups' own profiles: here the model may
		// be underconfident, never overconfident.
		if mc := meanOf(r.res.conf); mc > top1+0.05 {
			t.Errorf("%s: mean confidence %.3f, top-1 %.3f: want no more confidence than accuracy (ECE %.3f)", cond.name, mc, top1, e)
		}
	}
	if !*evalFlag {
		return
	}

	obs0 := results[0].obs
	nGroups := 0
	for gi := range m.groups {
		if slices.ContainsFunc(obs0, func(o observation) bool { return o.truth == gi }) {
			nGroups++
		}
	}
	fmt.Fprintf(&b, "ATT&CK %s (modified %s): %d candidate groups (active, with techniques or software); %d groups with >= %d techniques drawn; seeds %v\n\n",
		kb.Domain, kb.Modified, len(m.groups), nGroups, evalMinTechniques, evalSeeds)

	var fitObs []observation
	for _, cond := range conditions {
		fitObs = append(fitObs, drawAll(m, cond, fitSeeds)...)
	}
	fitted := fitTemperature(main, fitObs)
	fmt.Fprintf(&b, "Temperature fitted on seeds %v pooled over the conditions (minimum NLL, grid 0.05): %.2f; committed Temperature = %.2f\n\n", fitSeeds, fitted, Temperature)

	fmt.Fprintf(&b, "| condition | observations (true techniques + software + noise, mean) | scorer | top-1 | top-3 | top-5 | mean rank | ECE among groups | ECE as stated (known and unknown actors) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		mt, ms, mn := 0.0, 0.0, 0.0
		for _, o := range r.obs {
			mt += float64(len(o.techs) - o.noiseCount)
			ms += float64(len(o.softs))
			mn += float64(o.noiseCount)
		}
		k := float64(len(r.obs))
		desc := fmt.Sprintf("%d (%.1f + %.1f + %.1f)", len(r.obs), mt/k, ms/k, mn/k)
		row := func(name string, x evalResult) {
			eceS, eceU := "n/a", "n/a"
			if x.conf != nil {
				e, _ := ece(x.conf, x.hit, 10)
				eceS = fmt.Sprintf("%.3f", e)
			}
			if x.shipped != nil {
				u, _ := ece(x.shipped, x.shippedHit, 10)
				eceU = fmt.Sprintf("%.3f", u)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.3f | %.3f | %.3f | %.1f | %s | %s |\n", r.cond.name, desc, name,
				pct(x.top1, x.n), pct(x.top3, x.n), pct(x.top5, x.n), x.meanRank, eceS, eceU)
		}
		row("**spoor model**", r.res)
		row("Jaccard baseline", r.base)
		row("IDF overlap, no size correction", evaluate(idfOverlap(m), r.obs, 0))
		row("oracle: knows the drawing process; an upper bound, not a model", r.oracle)
		row("size-blind oracle: the same, given the observed counts", r.blind)
	}

	fmt.Fprintf(&b, "\nThe ceiling (oracle: the exact posterior under the drawing process, uniform prior over the drawn groups; see oracle_eval_test.go):\n\n")
	fmt.Fprintf(&b, "| condition | oracle | top-1 | expected top-1 of the optimal decision (mean top posterior) | ambiguous: true group not the unique argmax | of which tied with another group |\n|---|---|---|---|---|---|\n")
	for _, r := range results {
		for _, x := range []struct {
			name string
			r    evalResult
		}{{"oracle", r.oracle}, {"size-blind oracle", r.blind}} {
			bayes := 0.0
			for _, c := range x.r.conf {
				bayes += c
			}
			fmt.Fprintf(&b, "| %s | %s | %.3f | %.3f | %d of %d | %d |\n", r.cond.name, x.name, pct(x.r.top1, x.r.n), bayes/float64(len(x.r.conf)),
				x.r.n-x.r.top1, x.r.n, x.r.tied)
		}
	}
	fmt.Fprintf(&b, "\nWhat the oracle uses that the others cannot (top-1 misses of spoor and Jaccard, and how the oracle rules out the group they put first):\n\n")
	fmt.Fprintf(&b, "| condition | scorer | misses | winner ruled out by the counts alone (the observation's technique or software count is impossible for it) | winner possible, less likely |\n|---|---|---|---|---|\n")
	for ci, r := range results {
		orc := newOracle(m, r.cond, false)
		for _, sc := range []scorer{main, jac} {
			misses, bySize := 0, 0
			s := make([]float64, sc.n)
			for _, o := range r.obs {
				sc.score(o, s)
				if rankOf(s, o.truth) == 1 {
					continue
				}
				misses++
				best := -1
				for gi := range s {
					if gi != o.truth && (best < 0 || s[gi] > s[best]) {
						best = gi
					}
				}
				if g := orc.groups[best]; !g.drawn || len(o.softs) != g.kS || len(o.techs) != g.kT+g.noise {
					bySize++
				}
			}
			fmt.Fprintf(&b, "| %d | %s | %d | %d | %d |\n", ci+1, sc.name, misses, bySize, misses-bySize)
		}
	}

	fmt.Fprintf(&b, "\nSensitivity (top-1 per condition, same observations):\n\n| model |")
	for i := range conditions {
		fmt.Fprintf(&b, " condition %d |", i+1)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(conditions)) + "\n")
	variants := []struct {
		name string
		p    params
	}{
		{"defaults (λ integrated, parent-child credit 1/k)", defaultParams},
		{"earlier model: λ = Z/(Z+μ), μ = mean Z (Dirichlet smoothing)", params{related: 1, perChild: true, share: shareDirichlet}},
		{"until issue 11: every item credited 1, λ integrated", earlierParams},
		{"λ fixed at 1/2", params{related: 1, perChild: true, share: 0.5}},
		{"λ fixed at 2/3", params{related: 1, perChild: true, share: 2.0 / 3}},
		{"no partial credit", params{related: 0}},
		{"flat parent-child credit 1/2", params{related: 0.5}},
		{"+ siblings 1/4", params{related: 1, perChild: true, siblings: true}},
		{"+ techniques of the group's software 1/4", params{related: 1, perChild: true, software: true}},
		{"Z = direct uses only", params{related: 1, perChild: true, zDirect: true}},
	}
	sensitivity := func(sc scorer) {
		fmt.Fprintf(&b, "| %s |", sc.name)
		for _, r := range results {
			x := evaluate(sc, r.obs, 0)
			fmt.Fprintf(&b, " %.3f |", pct(x.top1, x.n))
		}
		b.WriteString("\n")
	}
	for _, v := range variants {
		sensitivity(modelScorer(v.name, buildModel(kb, v.p)))
	}
	sensitivity(scorer{"a technique observed with its sub-technique counted as evidence too (before 2026-11-26)", len(m.groups), func(o observation, scores []float64) {
		m.score(o.techs, o.softs, nil, nil, scores)
	}})

	var conf, shipped []float64
	var hit, shippedHit []float64
	for _, r := range results {
		conf = append(conf, r.res.conf...)
		shipped = append(shipped, r.res.shipped...)
		hit = append(hit, r.res.hit...)
		shippedHit = append(shippedHit, r.res.shippedHit...)
	}
	for _, rel := range []struct {
		what string
		conf []float64
		hit  []float64
	}{
		{"among the groups (every case by a known group)", conf, hit},
		{fmt.Sprintf("as stated, with the unknown alternative at prior %.2f (each case twice: as drawn, and with its group taken out of ATT&CK)", UnknownPrior), shipped, shippedHit},
	} {
		eAll, bins := ece(rel.conf, rel.hit, 10)
		fmt.Fprintf(&b, "\nReliability of the top candidate's confidence %s, all conditions pooled (Temperature %.2f, ECE %.3f):\n\n", rel.what, Temperature, eAll)
		fmt.Fprintf(&b, "| stated confidence | cases | mean stated | observed top-1 rate |\n|---|---|---|---|\n")
		for i, bin := range bins {
			if bin[0] == 0 {
				continue
			}
			fmt.Fprintf(&b, "| %.1f–%.1f | %d | %.3f | %.3f |\n", float64(i)/10, float64(i+1)/10, int(bin[0]), bin[1], bin[2])
		}
	}
	fmt.Fprintf(&b, "\nTop-1 by size of the true group's profile (issue harness):\n\n| techniques | observations | spoor | Jaccard |\n|---|---|---|---|\n")
	for _, bk := range []struct {
		name   string
		lo, hi int
	}{{"10–19", 10, 19}, {"20–39", 20, 39}, {"40–79", 40, 79}, {"80+", 80, 1 << 30}} {
		var sub []observation
		for _, o := range obs0 {
			if n := len(m.groups[o.truth].Techniques); n >= bk.lo && n <= bk.hi {
				sub = append(sub, o)
			}
		}
		if len(sub) == 0 {
			continue
		}
		r1, r2 := evaluate(main, sub, 0), evaluate(jac, sub, 0)
		fmt.Fprintf(&b, "| %s | %d | %.3f | %.3f |\n", bk.name, len(sub), pct(r1.top1, r1.n), pct(r2.top1, r2.n))
	}
	t.Log("\n" + b.String())
}

// meanOf returns the mean of xs (0 for none).
func meanOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}
