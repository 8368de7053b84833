package attack

import (
	"math"
	"slices"
)

// The oracle is the Bayes-optimal scorer of the harness's own draws: it
// knows exactly how drawObservations makes an observation from a group,
// and ranks groups by the probability of the observation under that
// process, with the prior of the process (uniform over the groups that
// are drawn, those with at least evalMinTechniques techniques; the others
// are never drawn and get probability 0). No scorer can have a higher
// expected top-1 accuracy on these draws, so its accuracy is the ceiling
// of each condition; it is not a model of real evidence.
//
// The likelihood of an observation (T techniques, S software) under group
// g, whose drawn items are its group-level techniques Tg and software Sg
// (drawnItems), with kT, kS and n noise techniques (drawSizes), is the
// product of three independent parts.
//
// Software: S is a uniform kS-subset of Sg, so P(S|g) = 1/C(|Sg|, kS) when
// |S| = kS and S ⊆ Sg, else 0.
//
// Sizes: |T| = kT + n, else 0 (blurring never changes how many true
// techniques there are, and noise never repeats an observed technique).
// This alone rules out most groups: the size of an observation tells
// roughly the size of the group, which no real evidence does.
//
// Techniques: the group's shown techniques are a uniform kT-subset A of Tg
// in a uniformly random order; under blur, each a ∈ A in that order is,
// with probability β, replaced by a neighbour drawn uniformly from
// neighbours(a), unless that neighbour is already among the observed
// techniques (then a stays). The result is a set B of kT techniques. The
// noise N is then n techniques drawn one by one without replacement, each
// with probability proportional to its weight w (the number of groups
// using it), from all techniques but B. T = B ∪ N, disjoint, and any
// split of T into such a B and N may have produced it:
//
//	P(T|g) = Σ_{B ⊆ T, |B| = kT} P(B|g) · P(N = T∖B | B excluded)
//
// Drawing without replacement by weight is ordering independent
// exponential clocks X_i ~ Exp(w_i); N is the first n to ring iff all of N
// ring before any of the rest, whose total weight is R = W − w(T) for every
// split (W the weight of all techniques). With M ~ Exp(R) the first of
// the rest to ring (Wallenius):
//
//	P(N | B excluded) = E[Π_{i∈N} (1 − e^{−w_i·M})]
//	                  = ∫₀^∞ e^{−s} Π_{i∈N} f_i(s) ds,   f_i(s) = 1 − e^{−s·w_i/R}
//
// Since R does not depend on the split, the sum over splits moves inside
// the integral. Blurring stays inside a technique family (a technique and
// its sub-techniques; neighbours are always in the family) and whether a
// neighbour collides depends only on the family's own items, so P(B|g)
// factors over families given the subset sizes:
//
//	P(B|g) = 1/C(|Tg|, kT) · Π_F q_F(B_F),
//	q_F(B_F) = Σ_{A_F ⊆ Tg∩F, |A_F| = |B_F|} P(blurring A_F, in a uniform order, gives B_F)
//
// (with no blur, q_F(B_F) is 1 when B_F ⊆ Tg and 0 otherwise). Then, at
// each s, Σ over splits is the coefficient of x^kT in
//
//	Π_F Σ_{B_F ⊆ T∩F} q_F(B_F) · x^{|B_F|} · Π_{i ∈ (T∩F)∖B_F} f_i(s)
//
// and the integral over s is taken by composite Gauss-Legendre quadrature
// on [0, n + 12·√(n+1) + 30]: the integrand is at most e^{−s}·s^n·Π(w_i/R)
// times a constant, a Gamma(n+1) shape whose mass beyond that bound is
// below e^{−30} of the rest. Everything is exact but the quadrature
// (relative error below 1e-9, checked against exact enumeration in
// TestOracleLikelihood).
//
// The size-blind oracle is the same likelihood given the observed counts,
// P(T, S | g, |T|, |S|): it takes kS = |S| and the kT whose noise count
// makes |T| (kT ↦ kT + n is increasing, so there is at most one) for every
// group, as if all groups drew their counts alike. It is the ceiling for
// scorers that judge what was observed, not how much: on the harness the
// counts give a group's size away, which real evidence does not.
type oracle struct {
	m         *model
	cond      condition
	sizeBlind bool
	w         []float64 // noise weight of each technique (0: never noise)
	total     float64   // W
	groups    []oracleGroup
	nodes     []float64 // Gauss-Legendre on [−1, 1]
	wts       []float64
}

// oracleGroup is what the oracle knows of one candidate group.
type oracleGroup struct {
	drawn         bool
	techs         []int // Tg
	nS            int   // |Sg|
	hasT, hasS    map[int]bool
	kT, kS, noise int
	logNorm       float64 // −ln C(|Tg|, kT) − ln C(|Sg|, kS)
}

func newOracle(m *model, cond condition, sizeBlind bool) *oracle {
	o := &oracle{m: m, cond: cond, sizeBlind: sizeBlind, w: make([]float64, len(m.techs))}
	for t, n := range m.nTech {
		o.w[t] = float64(n)
		o.total += float64(n)
	}
	for gi := range m.groups {
		techs, softs := drawnItems(m, gi)
		if cond.noSoftware {
			softs = nil
		}
		g := oracleGroup{drawn: len(techs) >= evalMinTechniques, techs: techs, nS: len(softs), hasT: make(map[int]bool), hasS: make(map[int]bool)}
		for _, t := range techs {
			g.hasT[t] = true
		}
		for _, s := range softs {
			g.hasS[s] = true
		}
		g.kT, g.kS, g.noise = drawSizes(cond, len(techs), len(softs))
		g.logNorm = -lnChoose(len(techs), g.kT) - lnChoose(len(softs), g.kS)
		o.groups = append(o.groups, g)
	}
	o.nodes, o.wts = gaussLegendre(8)
	return o
}

func lnChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// gaussLegendre returns the n nodes and weights of Gauss-Legendre
// quadrature on [−1, 1] (Newton's method on the Legendre polynomial).
func gaussLegendre(n int) (x, w []float64) {
	x, w = make([]float64, n), make([]float64, n)
	for i := range n {
		z := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		var dp float64
		for range 100 {
			p0, p1 := 1.0, z
			for k := 2; k <= n; k++ {
				p0, p1 = p1, ((2*float64(k)-1)*z*p1-float64(k-1)*p0)/float64(k)
			}
			dp = float64(n) * (z*p1 - p0) / (z*z - 1)
			dz := p1 / dp
			z -= dz
			if math.Abs(dz) < 1e-15 {
				break
			}
		}
		x[i], w[i] = z, 2/((1-z*z)*dp*dp)
	}
	return x, w
}

// scorer returns the oracle as a harness scorer: log2 P(observation | g),
// rounded to 1e-9 so that groups the observation cannot tell apart tie.
func (o *oracle) scorer() scorer {
	name := "oracle"
	if o.sizeBlind {
		name = "size-blind oracle"
	}
	return scorer{name, len(o.m.groups), func(ob observation, scores []float64) {
		for gi := range scores {
			scores[gi] = math.Round(o.logLikelihood(ob.techs, ob.softs, gi)/math.Ln2*1e9) / 1e9
		}
	}}
}

// oracleTerm is one choice of B_F in a family: its size, q_F(B_F) and
// the family's observed techniques left to the noise (positions in the
// observation).
type oracleTerm struct {
	size int
	q    float64
	rest []int
}

// logLikelihood returns ln P(techs, softs | group gi) under the drawing
// process; −Inf when the group cannot have produced them.
func (o *oracle) logLikelihood(techs, softs []int, gi int) float64 {
	g := &o.groups[gi]
	if o.sizeBlind {
		g = o.givenCounts(g, len(techs), len(softs))
	}
	if g == nil || !g.drawn || len(softs) != g.kS || len(techs) != g.kT+g.noise {
		return math.Inf(-1)
	}
	for _, s := range softs {
		if !g.hasS[s] {
			return math.Inf(-1)
		}
	}
	r := o.total
	for _, t := range techs {
		r -= o.w[t]
	}
	// The observed techniques (positions in techs) by family, and each
	// family's terms.
	var roots []int
	byRoot := make(map[int][]int)
	for i, t := range techs {
		root := t
		if p := o.m.parent[t]; p >= 0 {
			root = p
		}
		if _, ok := byRoot[root]; !ok {
			roots = append(roots, root)
		}
		byRoot[root] = append(byRoot[root], i)
	}
	families := make([][]oracleTerm, 0, len(roots))
	for _, root := range roots {
		items := byRoot[root]
		var terms []oracleTerm
	masks:
		for mask := 0; mask < 1<<len(items); mask++ {
			var b, rest []int
			for j, i := range items {
				if mask&(1<<j) != 0 {
					b = append(b, techs[i])
				} else if o.w[techs[i]] == 0 {
					continue masks // never noise
				} else {
					rest = append(rest, i)
				}
			}
			if q := o.familyProb(g, root, b); q > 0 {
				terms = append(terms, oracleTerm{len(b), q, rest})
			}
		}
		if len(terms) == 0 {
			return math.Inf(-1)
		}
		families = append(families, terms)
	}
	// ∫₀^smax e^{−s} [x^kT] Π_F Σ_terms ... ds, composite Gauss-Legendre.
	n := float64(g.noise)
	smax := n + 12*math.Sqrt(n+1) + 30
	const panels = 32
	h := smax / panels
	poly := make([]float64, g.kT+1)
	next := make([]float64, g.kT+1)
	f := make([]float64, len(techs))
	sum := 0.0
	for p := range panels {
		for j, x := range o.nodes {
			s := h * (float64(p) + (x+1)/2)
			for i, t := range techs {
				f[i] = -math.Expm1(-s * o.w[t] / r)
			}
			clear(poly)
			poly[0] = 1
			for _, terms := range families {
				clear(next)
				for _, tm := range terms {
					v := tm.q
					for _, i := range tm.rest {
						v *= f[i]
					}
					for k := 0; k+tm.size <= g.kT; k++ {
						next[k+tm.size] += poly[k] * v
					}
				}
				poly, next = next, poly
			}
			sum += o.wts[j] * h / 2 * math.Exp(-s) * poly[g.kT]
		}
	}
	if sum <= 0 {
		return math.Inf(-1)
	}
	return math.Log(sum) + g.logNorm
}

// givenCounts returns a copy of g drawing nT techniques in all and nS
// software, or nil when it cannot (see the size-blind oracle).
func (o *oracle) givenCounts(g *oracleGroup, nT, nS int) *oracleGroup {
	if nS > g.nS {
		return nil
	}
	for kT := 1; kT <= min(nT, len(g.techs)); kT++ {
		if noise := noiseCount(o.cond, kT+nS); kT+noise == nT {
			c := *g
			c.kT, c.kS, c.noise = kT, nS, noise
			c.logNorm = -lnChoose(len(g.techs), kT) - lnChoose(g.nS, nS)
			return &c
		}
	}
	return nil
}

// familyProb returns q_F(b): the probability, summed over the subsets A_F
// of the group's techniques in the family of root with |b| members, that
// blurring A_F in a uniformly random order gives exactly the set b.
func (o *oracle) familyProb(g *oracleGroup, root int, b []int) float64 {
	var fam []int // Tg ∩ F
	for _, t := range g.techs {
		if t == root || o.m.parent[t] == root {
			fam = append(fam, t)
		}
	}
	if o.cond.blur == 0 {
		for _, t := range b {
			if !g.hasT[t] {
				return 0
			}
		}
		return 1
	}
	k := len(b)
	if k == 0 {
		return 1
	}
	if k > len(fam) {
		return 0
	}
	total := 0.0
	a := make([]int, k)
	var choose func(start, i int)
	choose = func(start, i int) {
		if i == k {
			total += o.blurProb(a, b)
			return
		}
		for j := start; j < len(fam); j++ {
			a[i] = fam[j]
			choose(j+1, i+1)
		}
	}
	choose(0, 0)
	return total
}

// blurProb returns the probability that blurring the set a, in a
// uniformly random order, gives exactly the set b, following
// drawObservations: each item in turn, with probability β, becomes a
// uniform neighbour unless that neighbour is already present.
func (o *oracle) blurProb(a, b []int) float64 {
	beta := o.cond.blur
	cur := slices.Clone(a)
	total := 0.0
	var orders int
	var step func(order []int, i int, p float64)
	step = func(order []int, i int, p float64) {
		if i == len(order) {
			total += p
			return
		}
		pos := order[i]
		t := cur[pos]
		near := neighbours(o.m, t)
		stay := 1.0
		if len(near) > 0 {
			stay = 1 - beta
			for _, nb := range near {
				if slices.Contains(cur, nb) {
					stay += beta / float64(len(near))
					continue
				}
				if !slices.Contains(b, nb) {
					continue // its final value is outside b
				}
				cur[pos] = nb
				step(order, i+1, p*beta/float64(len(near)))
				cur[pos] = t
			}
		}
		if slices.Contains(b, t) {
			step(order, i+1, p*stay)
		}
	}
	forPermutations(len(a), func(order []int) {
		orders++
		step(order, 0, 1)
	})
	return total / float64(orders)
}

// forPermutations calls fn with every permutation of 0..n−1 (the slice
// is reused).
func forPermutations(n int, fn func([]int)) {
	perm := make([]int, n)
	used := make([]bool, n)
	var rec func(i int)
	rec = func(i int) {
		if i == n {
			fn(perm)
			return
		}
		for v := range n {
			if !used[v] {
				used[v], perm[i] = true, v
				rec(i + 1)
				used[v] = false
			}
		}
	}
	rec(0)
}
