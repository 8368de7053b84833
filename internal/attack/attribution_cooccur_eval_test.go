package attack

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// Variants that learn from the co-occurrence of items across reports and
// groups (issue 11, branch attrib2): what a group is likely to do that its
// remaining reports do not mention. A held-out case's items are exactly
// what its group's profile lacks once the report is held out, so the
// question is whether the items the group is known for predict them.
//
// What is learned (co-occurrence counts, embeddings, a classifier) is
// learned per fold of reports, never per case: the reports are split into
// coFolds folds by a hash of their name, and a case whose report is in
// fold k is scored with what was learned from the reports of the other
// folds only. The held-out report is therefore in nothing learned, and
// neither are the other reports of its fold (a little stricter than
// leave-one-report-out; TestReportCooccurFolds checks it). The groups'
// own profiles are the case's knowledge base, as for spoor.

// spoorAlone is spoor's generative score without the report classifier:
// the model of main before the classifier was shipped.
var spoorAlone = paramsScorer(func() params { p := defaultParams; p.regression = 0; return p }())

// coFolds is the number of folds of reports.
const coFolds = 10

// reportFold is the fold of a report, by its name.
func reportFold(report string) int {
	h := fnv.New32a()
	h.Write([]byte(report))
	return int(h.Sum32() % coFolds)
}

// coStore learns per fold, each fold on first use. Items are indexed as
// in the full knowledge base's model: techniques, then software.
type coStore struct {
	full  *KB
	m     *model
	pos   map[string]int // candidate group -> index, as the harness's
	folds [coFolds]struct {
		once sync.Once
		f    *coFold
	}
}

func newCoStore(full *KB, pos map[string]int) *coStore {
	return &coStore{full: full, m: full.model(), pos: pos}
}

func (s *coStore) items() int { return len(s.m.techs) + len(s.m.softs) }

// index returns an item's index, or -1.
func (s *coStore) index(id string) int {
	if i, ok := s.m.techIndex[id]; ok {
		return i
	}
	if i, ok := s.m.softIndex[id]; ok {
		return len(s.m.techs) + i
	}
	return -1
}

// coFold is what is learned without one fold's reports.
type coFold struct {
	// bags are the items one report says one group used, for every
	// (group, report) pair of the other folds; group[b] is the bag's
	// group (index in the harness's candidates) and report[b] its report.
	bags   [][]int
	group  []int
	report []string
	// Co-occurrence over the report bags (rep) and over the groups'
	// unions of them (grp): count[x·n+y] the bags holding both x and y
	// (0 on the diagonal), df[x] the bags holding x.
	rep, grp cooc
	// lrs are multinomial logistic regressions on the report bags, by
	// lrConfig (*lrEntry).
	lrs sync.Map
	// unit are PPMI-SVD item embeddings of rep, by item, of unit length
	// (zero for an item in no bag); unitGrp the same of grp (d = 32).
	unit, unitGrp [][]float64
}

type cooc struct {
	n      int
	count  []float32
	df     []float64
	rowSum []float64 // Σ_y count[x·n+y]
}

func newCooc(n int, bags [][]int) cooc {
	c := cooc{n: n, count: make([]float32, n*n), df: make([]float64, n), rowSum: make([]float64, n)}
	for _, b := range bags {
		for _, x := range b {
			c.df[x]++
			for _, y := range b {
				if x != y {
					c.count[x*n+y]++
					c.rowSum[x]++
				}
			}
		}
	}
	return c
}

// fold returns what was learned without fold k's reports.
func (s *coStore) fold(k int) *coFold {
	s.folds[k].once.Do(func() { s.folds[k].f = s.learn(k) })
	return s.folds[k].f
}

func (s *coStore) learn(k int) *coFold {
	type key struct{ group, report string }
	bagOf := make(map[key]map[int]bool)
	for _, r := range s.full.Relationships() {
		if _, ok := s.pos[r.Source]; !ok {
			continue
		}
		x := s.index(r.Target)
		if x < 0 {
			continue
		}
		for _, c := range r.Citations {
			if reportFold(c) == k {
				continue
			}
			kk := key{r.Source, c}
			if bagOf[kk] == nil {
				bagOf[kk] = make(map[int]bool)
			}
			bagOf[kk][x] = true
		}
	}
	keys := make([]key, 0, len(bagOf))
	for kk := range bagOf {
		keys = append(keys, kk)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.report, b.report)) })
	f := &coFold{}
	n := s.items()
	byGroup := make(map[int]map[int]bool)
	for _, kk := range keys {
		var b []int
		for x := range bagOf[kk] {
			b = append(b, x)
		}
		slices.Sort(b)
		g := s.pos[kk.group]
		f.bags = append(f.bags, b)
		f.group = append(f.group, g)
		f.report = append(f.report, kk.report)
		if byGroup[g] == nil {
			byGroup[g] = make(map[int]bool)
		}
		for _, x := range b {
			byGroup[g][x] = true
		}
	}
	f.rep = newCooc(n, f.bags)
	var gbags [][]int
	for _, set := range byGroup {
		var b []int
		for x := range set {
			b = append(b, x)
		}
		gbags = append(gbags, b)
	}
	f.grp = newCooc(n, gbags)
	f.unitGrp = unitRows(ppmiEmbedding(f.grp, 32, uint64(k)))
	f.unit = unitRows(ppmiEmbedding(f.rep, 64, uint64(k)))
	return f
}

// profile returns the group's items in the case's knowledge base with
// spoor's weights, c = r^½.
func (s *coStore) profile(g *Group) (items []int, w []float64) {
	for _, list := range [][]string{g.Techniques, g.Software, g.Associated} {
		for _, id := range list {
			if x := s.index(id); x >= 0 && !slices.Contains(items, x) {
				items = append(items, x)
				w = append(w, math.Sqrt(float64(max(1, g.Reports[id]))))
			}
		}
	}
	return items, w
}

// caseFold returns the fold learned without the case's report.
func (s *coStore) caseFold(ck *caseKB) *coFold {
	if ck.report == "" {
		// Nothing held out (TestReportVariantsKept): any fold will do,
		// the case's report being in the knowledge base anyway.
		return s.fold(0)
	}
	return s.fold(reportFold(ck.report))
}

// evidence returns spoor's model of the case and the evidence's items as
// spoor scores them (resolved, collapsed to the most specific
// techniques): techniques and software by the model's indexes.
func caseEvidenceItems(ck *caseKB, ev Evidence) (*model, []int, []int) {
	m := ck.kb.model()
	_, ev = ck.kb.ResolveEvidence(ev)
	return m, m.mostSpecific(m.techIndexes(ev.Techniques)), m.softIndexes(ev.Software)
}

// A qModel gives, for the group with the items and weights of a profile,
// a second distribution q_g over the items (combined indexes), prepared
// once per case and group.
type qModel func(f *coFold, items []int, w []float64) func(x int) float64

// mixScorer is spoor's score with each item's profile probability mixed
// with q_g:
//
//	p'_g(x) = (1−β)·p_g(x) + β·q_g(x)
//
// and the ratio to the background, λ_g and the sum of log2 as spoor's;
// with missingOnly, p_g is kept where it is positive and only the items
// the profile lacks get β·q_g(x). name keys what is prepared per case.
func (s *coStore) mixScorer(name string, beta float64, missingOnly bool, q qModel) reportScorer {
	mixed := func(a, q, b float64) float64 {
		switch {
		case beta == 0, missingOnly && a > 0:
			return a
		case missingOnly:
			return beta * q / b
		}
		return (1-beta)*a + beta*q/b
	}
	return func(ck *caseKB, ev Evidence, scores []float64) float64 {
		for i := range scores {
			scores[i] = math.Inf(-1)
		}
		m, obsT, obsS := caseEvidenceItems(ck, ev)
		v, ok := ck.memo.Load(name)
		if !ok {
			f := s.caseFold(ck)
			qs := make([]func(int) float64, len(m.groups))
			for gi, g := range m.groups {
				items, w := s.profile(g)
				qs[gi] = q(f, items, w)
			}
			v, _ = ck.memo.LoadOrStore(name, qs)
		}
		qs := v.([]func(int) float64)
		for gi, g := range m.groups {
			i, ok := ck.pos[g.ID]
			if !ok {
				continue
			}
			share := m.z(gi) / (m.z(gi) + m.p.mu)
			sc := 0.0
			for _, t := range obsT {
				a := mixed(float64(m.techRatio[gi][t]), qs[gi](t), m.bT[t])
				sc += math.Log2(share*a + 1 - share)
			}
			for _, x := range obsS {
				a := mixed(float64(m.softRatio[gi][x]), qs[gi](len(m.techs)+x), m.bS[x])
				sc += math.Log2(share*a + 1 - share)
			}
			scores[i] = sc
		}
		return math.NaN()
	}
}

// conditional is q_g(x) ∝ Σ_y c(y,g)·P(x | y) over the group's items y,
// P(x | y) = n(x,y)/(n(y)+kappa) over the bags of c, normalised over all
// items x: what the items the group is known for predict.
func conditional(pick func(*coFold) *cooc, kappa float64) qModel {
	return func(f *coFold, items []int, w []float64) func(int) float64 {
		c := pick(f)
		den := 0.0
		for j, y := range items {
			den += w[j] * c.rowSum[y] / (c.df[y] + kappa)
		}
		return func(x int) float64 {
			if den == 0 {
				return 0
			}
			num := 0.0
			for j, y := range items {
				num += w[j] * float64(c.count[y*c.n+x]) / (c.df[y] + kappa)
			}
			return num / den
		}
	}
}

// nearItems is q_g(x) ∝ max(0, cos(e_x, v_g))^power, v_g the weighted sum
// of the embeddings of the group's items, normalised over all items: the
// items close to the group's in the PPMI-SVD space.
func nearItems(power float64) qModel {
	return func(f *coFold, items []int, w []float64) func(int) float64 {
		d := len(f.unit[0])
		v := make([]float64, d)
		for j, y := range items {
			for k, e := range f.unit[y] {
				v[k] += w[j] * e
			}
		}
		nv := norm(v)
		if nv == 0 {
			return func(int) float64 { return 0 }
		}
		sim := func(x int) float64 {
			dot := 0.0
			for k, e := range f.unit[x] {
				dot += v[k] * e
			}
			return math.Pow(max(0, dot/nv), power)
		}
		den := 0.0
		for x := range f.unit {
			den += sim(x)
		}
		return func(x int) float64 { return sim(x) / den }
	}
}

// unitRows scales each row of e to unit length (a zero row stays zero).
func unitRows(e [][]float64) [][]float64 {
	for _, r := range e {
		if n := norm(r); n > 0 {
			for k := range r {
				r[k] /= n
			}
		}
	}
	return e
}

func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// lrConfig is how a logistic regression is trained.
type lrConfig struct {
	l2      float64 // the L2 penalty
	epochs  int
	parents bool // a sub-technique's parent is a feature too
	noBias  bool // scores leave the intercept out
	thin    bool // bags presented whole or cut down (trainSoftmax)
}

// lrEntry is one regression of a fold, trained on first use.
type lrEntry struct {
	once sync.Once
	sm   *softmaxModel
}

// features returns the items with, under cfg.parents, the parents of
// their sub-techniques, without repeats.
func (s *coStore) features(cfg lrConfig, items []int) []int {
	out := slices.Clone(items)
	if cfg.parents {
		for _, x := range items {
			if x < len(s.m.techs) && s.m.parent[x] >= 0 && !slices.Contains(out, s.m.parent[x]) {
				out = append(out, s.m.parent[x])
			}
		}
	}
	return out
}

// regression returns fold k's regression under cfg.
func (s *coStore) regression(k int, cfg lrConfig) *softmaxModel {
	f := s.fold(k)
	v, _ := f.lrs.LoadOrStore(cfg, &lrEntry{})
	e := v.(*lrEntry)
	e.once.Do(func() {
		bags := make([][]int, len(f.bags))
		for b, bag := range f.bags {
			bags[b] = s.features(cfg, bag)
		}
		e.sm = trainSoftmax(s.items(), len(s.pos), bags, f.group, cfg.l2, cfg.epochs, cfg.thin, uint64(k))
	})
	return e.sm
}

// lrScorer is spoor's bits plus alpha times the regression's log-odds of
// each group in bits; with alpha < 0, the regression's alone.
func (s *coStore) lrScorer(cfg lrConfig, alpha float64) reportScorer {
	spoor := spoorAlone
	return func(ck *caseKB, ev Evidence, scores []float64) float64 {
		k := 0
		if ck.report != "" {
			k = reportFold(ck.report)
		}
		var obs []int
		for _, id := range items(ev) {
			if x := s.index(id); x >= 0 {
				obs = append(obs, x)
			}
		}
		sm := s.regression(k, cfg)
		lr := sm.logits(s.features(cfg, obs))
		if cfg.noBias {
			for g := range lr {
				lr[g] -= float64(sm.bias[g])
			}
		}
		spoor(ck, ev, scores)
		for i := range scores {
			if alpha < 0 {
				// Groups spoor leaves out (no profile left) stay out.
				if !math.IsInf(scores[i], -1) {
					scores[i] = lr[i] / math.Ln2
				}
				continue
			}
			scores[i] += alpha * lr[i] / math.Ln2
		}
		return math.NaN()
	}
}

// ppmiEmbedding returns item embeddings of rank d from the positive PMI
// of c: U·|Σ|^½ of the PPMI matrix's leading eigenpairs, by subspace
// iteration and a Jacobi eigensolve of the projected matrix. Items in no
// bag have zero vectors.
func ppmiEmbedding(c cooc, d int, seed uint64) [][]float64 {
	n := c.n
	total := 0.0
	rowSum := make([]float64, n)
	for x := range n {
		for y := range n {
			rowSum[x] += float64(c.count[x*n+y])
		}
		total += rowSum[x]
	}
	// PPMI, sparse by row.
	type entry struct {
		y int
		v float64
	}
	rows := make([][]entry, n)
	for x := range n {
		for y := range n {
			nxy := float64(c.count[x*n+y])
			if nxy == 0 {
				continue
			}
			if pmi := math.Log(nxy * total / (rowSum[x] * rowSum[y])); pmi > 0 {
				rows[x] = append(rows[x], entry{y, pmi})
			}
		}
	}
	mul := func(q [][]float64) [][]float64 { // M·Q, Q n×d as rows
		out := make([][]float64, n)
		for x := range n {
			out[x] = make([]float64, d)
			for _, e := range rows[x] {
				for k := range d {
					out[x][k] += e.v * q[e.y][k]
				}
			}
		}
		return out
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	q := make([][]float64, n)
	for x := range q {
		q[x] = make([]float64, d)
		for k := range d {
			q[x][k] = rng.NormFloat64()
		}
	}
	orthonormalise(q)
	for range 12 {
		q = mul(q)
		orthonormalise(q)
	}
	// B = Qᵀ M Q, d×d symmetric; B = V Λ Vᵀ; U = Q V.
	mq := mul(q)
	b := make([][]float64, d)
	for i := range d {
		b[i] = make([]float64, d)
		for j := range d {
			for x := range n {
				b[i][j] += q[x][i] * mq[x][j]
			}
		}
	}
	lambda, v := jacobiEigen(b)
	emb := make([][]float64, n)
	for x := range n {
		emb[x] = make([]float64, d)
		for k := range d {
			u := 0.0
			for i := range d {
				u += q[x][i] * v[i][k]
			}
			emb[x][k] = u * math.Sqrt(math.Abs(lambda[k]))
		}
	}
	return emb
}

// orthonormalise makes the columns of q (n×d, as rows) orthonormal by
// modified Gram-Schmidt.
func orthonormalise(q [][]float64) {
	d := len(q[0])
	for k := range d {
		for j := range k {
			dot := 0.0
			for x := range q {
				dot += q[x][k] * q[x][j]
			}
			for x := range q {
				q[x][k] -= dot * q[x][j]
			}
		}
		nrm := 0.0
		for x := range q {
			nrm += q[x][k] * q[x][k]
		}
		nrm = math.Sqrt(nrm)
		if nrm == 0 {
			continue
		}
		for x := range q {
			q[x][k] /= nrm
		}
	}
}

// jacobiEigen returns the eigenvalues and eigenvectors (columns of v) of
// the symmetric matrix a, which it overwrites, by cyclic Jacobi rotations.
func jacobiEigen(a [][]float64) ([]float64, [][]float64) {
	n := len(a)
	v := make([][]float64, n)
	for i := range v {
		v[i] = make([]float64, n)
		v[i][i] = 1
	}
	for range 100 {
		off := 0.0
		for i := range n {
			for j := i + 1; j < n; j++ {
				off += a[i][j] * a[i][j]
			}
		}
		if off < 1e-18 {
			break
		}
		for p := range n {
			for r := p + 1; r < n; r++ {
				if math.Abs(a[p][r]) < 1e-15 {
					continue
				}
				theta := (a[r][r] - a[p][p]) / (2 * a[p][r])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range n {
					akp, akr := a[k][p], a[k][r]
					a[k][p], a[k][r] = c*akp-s*akr, s*akp+c*akr
				}
				for k := range n {
					apk, ark := a[p][k], a[r][k]
					a[p][k], a[r][k] = c*apk-s*ark, s*apk+c*ark
				}
				for k := range n {
					vkp, vkr := v[k][p], v[k][r]
					v[k][p], v[k][r] = c*vkp-s*vkr, s*vkp+c*vkr
				}
			}
		}
	}
	lambda := make([]float64, n)
	for i := range n {
		lambda[i] = a[i][i]
	}
	return lambda, v
}

// nearScorer is spoor's bits plus alpha times Σ_x cos(e_x, v_g) over the
// evidence's items, v_g the weighted sum of the embeddings (pick) of the
// group's items in the case.
func (s *coStore) nearScorer(name string, alpha float64, pick func(*coFold) [][]float64) reportScorer {
	spoor := spoorAlone
	return func(ck *caseKB, ev Evidence, scores []float64) float64 {
		emb := pick(s.caseFold(ck))
		v, ok := ck.memo.Load(name)
		if !ok {
			vs := make([][]float64, len(ck.groups))
			for i, g := range ck.groups {
				items, w := s.profile(g)
				vg := make([]float64, len(emb[0]))
				for j, y := range items {
					for k, e := range emb[y] {
						vg[k] += w[j] * e
					}
				}
				if n := norm(vg); n > 0 {
					for k := range vg {
						vg[k] /= n
					}
				}
				vs[i] = vg
			}
			v, _ = ck.memo.LoadOrStore(name, vs)
		}
		vs := v.([][]float64)
		spoor(ck, ev, scores)
		for _, id := range items(ev) {
			x := s.index(id)
			if x < 0 {
				continue
			}
			for i, vg := range vs {
				dot := 0.0
				for k, e := range emb[x] {
					dot += vg[k] * e
				}
				scores[i] += alpha * dot
			}
		}
		return math.NaN()
	}
}

// TestReportCooccurFolds checks the folds' hold-out: no bag learned for a
// fold comes from a report of that fold, so no case's report is in what
// its score learned.
func TestReportCooccurFolds(t *testing.T) {
	if !*evalFlag {
		t.Skip("runs with -eval")
	}
	ds, full, _, pos := loadReports(t)
	s := newCoStore(full, pos)
	seen := make(map[int]bool)
	for _, c := range ds.Cases {
		k := reportFold(c.Report)
		if seen[k] {
			continue
		}
		seen[k] = true
		f := s.fold(k)
		for b, r := range f.report {
			if r == c.Report || reportFold(r) == k {
				t.Fatalf("fold %d: bag %d is from report %q of the fold", k, b, r)
			}
		}
	}
}

// TestReportCooccur compares the co-occurrence variants with spoor and
// IDF containment. Run it with
//
//	go test ./internal/attack -run 'TestReportCooccur$' -eval -v -timeout 60m
func TestReportCooccur(t *testing.T) {
	if !*evalFlag {
		t.Skip("runs with -eval")
	}
	_, full, _, pos := loadReports(t)
	s := newCoStore(full, pos)
	rep := func(f *coFold) *cooc { return &f.rep }
	grp := func(f *coFold) *cooc { return &f.grp }
	vs := []variant{
		{"spoor (Attribute)", rankingScorer(Attribute)},
		{"IDF containment", idfContainment},
		{"spoor replica (mixture, β = 0)", s.mixScorer("replica", 0, false, conditional(rep, 1))},
	}
	mix := func(name string, beta float64, missing bool, q qModel) {
		label := fmt.Sprintf("spoor, p mixed with %s, β = %g", name, beta)
		if missing {
			label = fmt.Sprintf("spoor, missing items get β·%s, β = %g", name, beta)
		}
		vs = append(vs, variant{label, s.mixScorer(name, beta, missing, q)})
	}
	add := func(name string, sc reportScorer) { vs = append(vs, variant{name, sc}) }
	if *evalFullFlag {
		add("spoor alone (no classifier)", spoorAlone)
		add("spoor alone + 0.5·logistic regression, L2 0.01 (the variant)", s.lrScorer(lrConfig{l2: 0.01, epochs: 25}, 0.5))
		runVariants(t, true, vs)
		return
	}
	mix("co-occurrence over reports (κ = 1)", 0.1, false, conditional(rep, 1))
	mix("co-occurrence over reports (κ = 1)", 0.3, false, conditional(rep, 1))
	mix("co-occurrence over groups (κ = 1)", 0.3, false, conditional(grp, 1))
	mix("PPMI-SVD neighbours (d = 64, cos²)", 0.3, false, nearItems(2))
	add("spoor + 1·Σ cos(item, group), PPMI-SVD of reports (d = 64)", s.nearScorer("near rep", 1, func(f *coFold) [][]float64 { return f.unit }))
	add("logistic regression on report bags alone (L2 0.01)", s.lrScorer(lrConfig{l2: 0.01, epochs: 25}, -1))
	add("spoor + 0.25·logistic regression (L2 1e-4)", s.lrScorer(lrConfig{l2: 1e-4, epochs: 25}, 0.25))
	add("spoor + 0.25·logistic regression (L2 0.003)", s.lrScorer(lrConfig{l2: 0.003, epochs: 25}, 0.25))
	add("spoor + 0.5·logistic regression (L2 0.01)", s.lrScorer(lrConfig{l2: 0.01, epochs: 25}, 0.5))
	runVariants(t, true, vs)
}
