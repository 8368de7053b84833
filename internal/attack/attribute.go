package attack

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// Attribution ranks ATT&CK groups by how well each explains the evidence:
// the techniques and software observed in one operation.
//
// The model is generative. Real evidence mixes an actor's own activity with
// common techniques from unrelated activity (administrators, other
// malware, the rules' own noise). Under group g, each observed item x, a
// technique or a software, comes either from g's profile, with share λ_g,
// or from the background:
//
//	P(x | g) = λ_g·p_g(x) + (1−λ_g)·b(x)
//
// The profile p_g(x) = c(x,g)/Z(g) weighs what the group is known for by
// how well it is documented: c(x,g) = r^½ for an item r reports support
// (Group.Reports), so what many reports describe is what the group does,
// and Z(g) is the sum of c over techniques and software alike. Software
// ATT&CK's prose associates with the group (Group.Associated: "ShadowPad
// ... used by APT41") is in the profile too. The background b(x) is the
// item's share of all groups' weights (add-one smoothed): what an actor
// ATT&CK does not know is expected to show. The share is Dirichlet
// smoothing, λ_g = Z(g)/(Z(g)+μ), μ = 400: a well-documented group's
// profile is trusted more, as real reports are most often about such
// groups. With a_i = p_g(x_i)/b(x_i):
//
//	score(g) = Σ_i log2(λ_g·a_i + 1 − λ_g)
//
// in bits against the background. Rare evidence weighs more (a_i is
// inversely proportional to b); software is strong evidence because most
// is used by few groups; items a group does not explain cost it log2(1−λ_g).
// These choices were measured on real report cases
// (attribution_reports_eval_test.go, BENCHMARKS.md) against the earlier
// model (every item 1, λ integrated out), IDF containment, Jaccard and
// naive Bayes.
//
// The alternative that the evidence is none of these groups' — an actor
// ATT&CK does not profile, or unrelated activity — has score 0: by the
// choice of b, what an unprofiled actor is expected to show. Its prior is
// UnknownPrior, a judgement, not a measurement. Weak or common evidence
// therefore leaves much of the confidence with it.
//
// Evidence is collapsed to its most specific techniques: a technique
// observed together with one of its sub-techniques is left out. Rules tag
// a sub-technique with its parent (attack.t1003 and attack.t1003.001), so
// the parent is implied by the sub-technique and adds no information of
// its own. An observed T1059.003 is credited c/k to a group known for its
// parent T1059, where k is the parent's number of sub-techniques. A parent
// observed alone (a rule tagged attack.t1558) means "the parent or some
// sub-technique of it": under a group and under the background its
// probability sums over the family (familyRatio), so it points to the
// groups known for its sub-techniques, not to the few ATT&CK credits with
// the bare parent. Profiles are the group-level uses plus those of
// campaigns attributed to the group.
//
// To the generative score the report classifier (regression.go) adds its
// weight of evidence, RegressionWeight·log2(G·P(g | items)) with P its
// probability of the group among the G groups: a multinomial logistic
// regression learned from ATT&CK's reports as samples (each report's items
// for one group), which weighs what sets a group apart from the groups
// sharing its other items, and how often reports are about it. It learned
// from whole reports, so its weight grows with the evidence up to
// RegressionItems items. Measured on the real report cases with the case's
// report in none of its samples: top-1 0.554 → 0.581 on whole reports;
// +0.011, +0.007, +0.009 and −0.002 on 1, 2, 3 and 5 items
// (BENCHMARKS.md).
//
// Group hints (rules tagged attack.gNNNN) multiply a group's prior by
// HintRatio, which is a judgement: about the weight of a software used by
// a handful of groups. Confidence is the posterior over ATT&CK's groups
// and the unknown alternative, each group's weight 2^(score/T) times its
// prior, T = Temperature·n^TemperatureGrowth for n items: the temperature
// corrects the items' naive independence and was set on the real report
// cases, where the confidence among the groups is calibrated.

// Model constants; see the Attribution comment.
const (
	// HintRatio is the likelihood ratio of a group hint.
	HintRatio = 20.0
	// UnknownPrior is the prior probability that the evidence is none of
	// ATT&CK's groups': as likely as not, since most intrusions seen in
	// the field are by actors ATT&CK does not profile and hunts also
	// surface unrelated and test activity. The groups share the rest
	// equally.
	UnknownPrior = 0.5
	// Temperature and TemperatureGrowth divide the log-likelihoods before
	// the softmax that gives confidences: by Temperature·n^TemperatureGrowth
	// for n items of evidence. The division corrects the items' naive
	// independence, and more so the more items there are (items of one
	// report are far from independent). Both were set on the real report
	// cases (TestEvaluateReports -eval), where the posterior among the
	// groups is calibrated to an ECE of about 0.05 at 1, 2, 3, 5 items and
	// on whole reports; no single temperature was within 0.1 at every size
	// (BENCHMARKS.md). Set again with the report classifier in the score
	// (TestSweepTemperature, branch attrib2).
	Temperature       = 0.38
	TemperatureGrowth = 0.33
	// RegressionWeight is the weight of the report classifier's log-odds
	// (regression.go) in the score, set with its L2 penalty on the report
	// cases.
	RegressionWeight = 0.5
	// RegressionItems is the evidence, in items, at which the report
	// classifier has its full weight; on n fewer items it has n/RegressionItems
	// of it. A judgement (ATT&CK's reports, its samples, name about 10
	// items), not fitted.
	RegressionItems = 10.0
)

// Evidence is what one operation showed.
type Evidence struct {
	// Techniques are technique IDs (T1059.003; any case; revoked IDs
	// stand for their replacements).
	Techniques []string
	// Software are software IDs (S0154) or names and aliases (Cobalt
	// Strike, any case).
	Software []string
	// GroupHints are group IDs or names suggested by the evidence itself,
	// such as rules tagged attack.g0096.
	GroupHints []string
	// Procedures are artefacts of ATT&CK's procedure texts that were seen,
	// as KB.RecognizeProcedures returns them.
	Procedures []string
	// Weights are the shares of evidence carried by techniques and
	// software, by ID as given, in (0, 1]; an item not in it (or a nil map)
	// carries 1. A rule tagged with k techniques says one of them
	// happened: each carries 1/k unless another rule names it alone.
	Weights map[string]float64
}

// Input is one item of Evidence and what it resolved to.
type Input struct {
	// Kind is the expected kind: technique, software or group (a hint).
	Kind Kind
	// Given is the item as given.
	Given string
	// ID is the active ID it resolved to; "" when unknown.
	ID string
	// Name is the name of the object.
	Name string
	// Note explains a revocation or a name match; "" otherwise.
	Note string
}

// Candidate is a group ranked by Attribute.
type Candidate struct {
	Group *Group
	// Rank is 1 for the best candidate.
	Rank int
	// Score is the log-likelihood ratio of the evidence, in bits, against
	// the background (an actor ATT&CK does not know), hint included:
	// positive when the group explains the evidence better than that;
	// plus the report classifier's weight of evidence (see the
	// Attribution comment).
	Score float64
	// Confidence is the calibrated posterior probability (0 to 1) that
	// the evidence is this group's; Ranking.Unknown holds the rest.
	Confidence float64
	// Hinted is set when a group hint named the group.
	Hinted bool
	// Matches is the evidence the group explains, most distinctive first;
	// a technique observed with one of its sub-techniques is not evidence
	// of its own (see the Attribution comment) and is in neither Matches
	// nor Unexplained.
	Matches []Match
	// Unexplained are the observed IDs the group is not known for.
	Unexplained []string
	// Unseen is what the group is known for that was not observed, most
	// distinctive first (at most MaxUnseen).
	Unseen []Unseen
	// Procedures are the observed artefacts the group's procedure texts
	// name, most distinctive first.
	Procedures []ProcedureMatch
}

// MaxUnseen caps Candidate.Unseen.
const MaxUnseen = 5

// MaxExplained is the number of best candidates whose Matches,
// Unexplained and Unseen Attribute fills; the others carry their rank,
// score and confidence only.
const MaxExplained = 20

// Match is one observed item a group explains.
type Match struct {
	ID   string
	Name string
	Kind Kind
	// Via says how a related item was credited: "" for a direct match,
	// otherwise the group's technique that relates to it: "parent T1059"
	// or "sub-technique T1059.001".
	Via string
	// Groups is the number of groups known for the item (directly).
	Groups int
	// Bits is the item's likelihood ratio, the group's profile against
	// the background, in bits: how much it points to the group.
	Bits float64
}

// Unseen is an item a group is known for that was not observed.
type Unseen struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Groups is the number of groups known for it.
	Groups int `json:"groups"`
}

// weight returns the weight of a resolved ID (see Evidence.Weights).
func (ev Evidence) weight(id string) float64 {
	if w, ok := ev.Weights[id]; ok && w > 0 && w < 1 {
		return w
	}
	return 1
}

// ResolveEvidence resolves every item of ev: IDs case-insensitively and
// through revocations, software and hint names through names and aliases.
// It returns the inputs in order with their resolution (ID "" for unknown
// items) and the evidence made of the resolved IDs, without repeats.
func (kb *KB) ResolveEvidence(ev Evidence) ([]Input, Evidence) {
	var ins []Input
	var out Evidence
	add := func(list *[]string, id string) {
		if !slices.Contains(*list, id) {
			*list = append(*list, id)
		}
	}
	// carry moves the weight of a given item to its resolved ID: the
	// largest when several resolve to one.
	carry := func(given, id string) {
		if ev.Weights == nil {
			return
		}
		if out.Weights == nil {
			out.Weights = make(map[string]float64)
		}
		w, ok := ev.Weights[given]
		if !ok {
			w = 1
		}
		out.Weights[id] = max(out.Weights[id], w)
	}
	for _, s := range ev.Techniques {
		in := Input{Kind: KindTechnique, Given: s}
		if t, res, err := kb.Technique(s); err == nil {
			in.ID, in.Name, in.Note = t.ID, t.Name, res.Note()
			add(&out.Techniques, t.ID)
			carry(s, t.ID)
		}
		ins = append(ins, in)
	}
	for _, s := range ev.Software {
		in := Input{Kind: KindSoftware, Given: s}
		if sw, res, err := kb.SoftwareByID(s); err == nil {
			in.ID, in.Name, in.Note = sw.ID, sw.Name, res.Note()
		} else if sw := kb.softwareByName(s); sw != nil {
			in.ID, in.Name = sw.ID, sw.Name
		}
		if in.ID != "" {
			add(&out.Software, in.ID)
			carry(s, in.ID)
		}
		ins = append(ins, in)
	}
	if len(ev.Procedures) > 0 {
		pm := kb.procMatcher()
		for _, a := range ev.Procedures {
			if len(pm.groups[a]) > 0 {
				add(&out.Procedures, a)
			}
		}
	}
	for _, s := range ev.GroupHints {
		in := Input{Kind: KindGroup, Given: s}
		if ms := kb.FindGroups(s); len(ms) == 1 && ms[0].By != "partial name" {
			in.ID, in.Name, in.Note = ms[0].Group.ID, ms[0].Group.Name, ms[0].Resolution.Note()
			add(&out.GroupHints, in.ID)
		}
		ins = append(ins, in)
	}
	return ins, out
}

// softwareByName returns the software with the name or alias, or nil.
func (kb *KB) softwareByName(name string) *Software {
	name = strings.TrimSpace(name)
	for i := range kb.Software {
		s := &kb.Software[i]
		if strings.EqualFold(s.Name, name) || slices.ContainsFunc(s.Aliases, func(a string) bool { return strings.EqualFold(a, name) }) {
			return s
		}
	}
	return nil
}

// Ranking is the outcome of Attribute.
type Ranking struct {
	// Candidates are ATT&CK's active groups, best first.
	Candidates []Candidate
	// UnknownActor is the confidence that the evidence is none of these
	// groups': an actor ATT&CK does not profile, or unrelated activity.
	UnknownActor float64
}

// Attribute ranks ATT&CK's active groups by how well each explains ev,
// best first, with explanations for the first MaxExplained; the model is
// described at the top of attribute.go. Items of ev that do not resolve
// (see ResolveEvidence) are left out: callers report them. With no usable
// evidence every group ties and the confidence stays with the unknown at
// its prior.
func Attribute(kb *KB, ev Evidence) Ranking { return rank(kb, ev, MaxExplained) }

// rank is Attribute with explanations for the first explained candidates.
func rank(kb *KB, ev Evidence, explained int) Ranking {
	return rankModel(kb, kb.model(), ev, explained)
}

// rankModel is rank with model m of kb.
func rankModel(kb *KB, m *model, ev Evidence, explained int) Ranking {
	_, ev = kb.ResolveEvidence(ev)
	obsT := m.mostSpecific(m.techIndexes(ev.Techniques))
	obsS := m.softIndexes(ev.Software)
	scores := make([]float64, len(m.groups))
	var wT, wS []float64
	if ev.Weights != nil {
		wT, wS = make([]float64, len(obsT)), make([]float64, len(obsS))
		for j, t := range obsT {
			wT[j] = ev.weight(m.techs[t])
		}
		for j, x := range obsS {
			wS[j] = ev.weight(m.softs[x])
		}
	}
	m.score(obsT, obsS, wT, wS, scores)
	m.regress(obsT, obsS, wT, wS, scores)
	kb.procedureScores(m, ev.Procedures, scores)
	hinted := make([]bool, len(m.groups))
	for _, h := range ev.GroupHints {
		if gi, ok := m.groupIndex[h]; ok {
			hinted[gi] = true
			scores[gi] += math.Log2(HintRatio)
		}
	}
	// The temperature's n counts weighted items by their weight.
	n := float64(len(ev.Procedures))
	for j := range obsT {
		n += weightAt(wT, j)
	}
	for j := range obsS {
		n += weightAt(wS, j)
	}
	conf, unknown := posterior(scores, temperature(n), UnknownPrior)
	maskT, maskS := make([]bool, len(m.techs)), make([]bool, len(m.softs))
	for _, t := range obsT {
		maskT[t] = true
	}
	for _, x := range obsS {
		maskS[x] = true
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(scores[b], scores[a]); c != 0 {
			return c
		}
		return strings.Compare(m.groups[a].ID, m.groups[b].ID)
	})
	out := make([]Candidate, len(order))
	for r, gi := range order {
		c := Candidate{Group: m.groups[gi], Rank: r + 1, Score: scores[gi], Confidence: conf[gi], Hinted: hinted[gi]}
		if r < explained {
			m.explain(gi, obsT, obsS, maskT, maskS, &c)
			if len(ev.Procedures) > 0 {
				c.Procedures = kb.procedureMatches(m, c.Group.ID, ev.Procedures)
			}
		}
		out[r] = c
	}
	return Ranking{Candidates: out, UnknownActor: unknown}
}

// temperature is the softmax temperature for n items of evidence.
func temperature(n float64) float64 {
	return Temperature * math.Pow(max(1, n), TemperatureGrowth)
}

// posterior returns the confidence of each group and of the unknown
// alternative: each group's weight is 2^(s/T) times its prior
// (1−unknown)/G, the unknown's 2^0 times its prior unknown (0 gives the
// posterior among the groups alone). The temperature tempers the
// evidence, not the priors.
func posterior(scores []float64, temp, unknown float64) ([]float64, float64) {
	logPrior := math.Log2((1 - unknown) / float64(len(scores)))
	logUnknown := math.Log2(unknown) // -Inf for 0: weight 0
	out := make([]float64, len(scores))
	mx := logUnknown
	for _, s := range scores {
		mx = max(mx, s/temp+logPrior)
	}
	w := func(bits float64) float64 { return math.Exp((bits - mx) * math.Ln2) }
	u := w(logUnknown)
	sum := u
	for i, s := range scores {
		out[i] = w(s/temp + logPrior)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out, u / sum
}

// model is the attribution model of one KB, built on first use.
type model struct {
	groups     []*Group
	groupIndex map[string]int
	techs      []string // technique IDs by index
	techIndex  map[string]int
	softs      []string
	softIndex  map[string]int
	// techRatio[g][t] and softRatio[g][s]: a = p_g(x)/b(x), 0 for items
	// the group is not credited with.
	techRatio, softRatio [][]float32
	// techCredit[g][t]: c(t,g), and how it was earned.
	techCredit [][]float32
	// nTech[t], nSoft[s]: groups directly known for the item.
	nTech, nSoft []int
	// Names, the technique tree and the profiles, by index.
	techNames, softNames []string
	parent               []int
	children             [][]int
	profileT, profileS   [][]int
	// zT[g], zS[g]: the sizes of the technique and software profiles.
	zT, zS []float64
	// bT[t], bS[s]: the background b(x) of each item.
	bT, bS []float64
	// regT[g][t], regS[g][s], regB[g]: the group's weights and intercept
	// in the report classifier (Group.Regression), nil when no group has
	// any.
	regT, regS [][]float32
	regB       []float64
	p          params
}

// params are the model's parameters; defaultParams is what Attribute
// uses. Other values serve the evaluations' sensitivity studies.
type params struct {
	related  float64 // multiplier of the parent-child credit
	software bool    // credit techniques of the group's software
	siblings bool    // credit siblings of the group's sub-techniques
	zDirect  bool    // profile size Z counts direct uses only
	perChild bool    // parent-child credit divided among the children
	// share is how λ is set: shareIntegrated, a fixed share in (0, 1),
	// or shareDirichlet: λ = Z/(Z+μ), Dirichlet smoothing, with μ = mu,
	// or the mean Z over groups when mu is 0. (Shares set per group from
	// its rate of novel items were measured and removed: BENCHMARKS.md,
	// branch attrlam.)
	share float64
	mu    float64
	// weight: an item's credit is Reports^weight (the reports ATT&CK
	// cites for the group's use of it); 0 credits every item 1.
	weight float64
	// pooled: techniques and software share one profile and one
	// background, so Z counts both; otherwise each kind has its own.
	pooled bool
	// associated: software linked to the group by ATT&CK's prose
	// (Group.Associated) is in the profile.
	associated bool
	// family: an observed parent technique means "the parent or some
	// sub-technique of it", so its probability under a group and under the
	// background sums over the family (see familyRatio).
	family bool
	// regression is the weight of the report classifier's log-odds in the
	// score (0: left out).
	regression float64
}

const (
	shareIntegrated = 0
	shareDirichlet  = -1
)

var defaultParams = params{related: 1, perChild: true, share: shareDirichlet, mu: 400, weight: 0.5, pooled: true, associated: true, family: true, regression: RegressionWeight}

// earlierParams is the model of the synthetic harness's era (until
// issue 11): every item credited 1, λ integrated, kinds apart.
var earlierParams = params{related: 1, perChild: true}

// Prepare builds what attribution needs (the look-up index and the
// model) ahead of the first Attribute or Summarize, for a caller that has
// a spare core now and a hurry later. It is safe for concurrent use.
func (kb *KB) Prepare() { kb.model() }

func (kb *KB) model() *model {
	x := kb.index()
	return x.model.get(func() *model { return buildModel(kb, defaultParams) })
}

func buildModel(kb *KB, p params) *model {
	m := &model{groupIndex: make(map[string]int), techIndex: make(map[string]int), softIndex: make(map[string]int), p: p}
	for i := range kb.Techniques {
		m.techIndex[kb.Techniques[i].ID] = len(m.techs)
		m.techs = append(m.techs, kb.Techniques[i].ID)
		m.techNames = append(m.techNames, kb.Techniques[i].Name)
	}
	for i := range kb.Software {
		m.softIndex[kb.Software[i].ID] = len(m.softs)
		m.softs = append(m.softs, kb.Software[i].ID)
		m.softNames = append(m.softNames, kb.Software[i].Name)
	}
	// Profiles: group-level uses plus those of campaigns attributed to
	// the group (and, with p.associated, the software ATT&CK's prose
	// links to it), each item with its weight.
	type profile struct {
		techs, softs []int
		tw, sw       []float64 // weights, by position in techs and softs
	}
	campaignsOf := make(map[string][]*Campaign)
	for i := range kb.Campaigns {
		c := &kb.Campaigns[i]
		if c.Deprecated {
			continue
		}
		for _, g := range c.Groups {
			campaignsOf[g] = append(campaignsOf[g], c)
		}
	}
	var profiles []profile
	for i := range kb.Groups {
		g := &kb.Groups[i]
		if g.Deprecated {
			continue
		}
		weight := func(id string) float64 {
			if p.weight == 0 {
				return 1
			}
			return math.Pow(float64(max(1, g.Reports[id])), p.weight)
		}
		var pr profile
		techs, softs := slices.Clone(g.Techniques), slices.Clone(g.Software)
		if p.associated {
			softs = append(softs, g.Associated...)
		}
		for _, c := range campaignsOf[g.ID] {
			techs = append(techs, c.Techniques...)
			softs = append(softs, c.Software...)
		}
		for _, t := range techs {
			if ti, ok := m.techIndex[t]; ok && !slices.Contains(pr.techs, ti) {
				pr.techs = append(pr.techs, ti)
				pr.tw = append(pr.tw, weight(t))
			}
		}
		for _, s := range softs {
			if si, ok := m.softIndex[s]; ok && !slices.Contains(pr.softs, si) {
				pr.softs = append(pr.softs, si)
				pr.sw = append(pr.sw, weight(s))
			}
		}
		if len(pr.techs)+len(pr.softs) == 0 {
			continue
		}
		m.groupIndex[g.ID] = len(m.groups)
		m.groups = append(m.groups, g)
		profiles = append(profiles, pr)
	}
	nT, nS := len(m.techs), len(m.softs)
	m.nTech, m.nSoft = make([]int, nT), make([]int, nS)
	// Background: the items' shares of the groups' weights, add-one
	// smoothed; pooled, techniques and software share the denominator.
	wT, wS := make([]float64, nT), make([]float64, nS)
	for _, pr := range profiles {
		for j, t := range pr.techs {
			m.nTech[t]++
			wT[t] += pr.tw[j]
		}
		for j, s := range pr.softs {
			m.nSoft[s]++
			wS[s] += pr.sw[j]
		}
	}
	sum := func(w []float64) float64 {
		total := 0.0
		for _, c := range w {
			total += c + 1
		}
		return total
	}
	totT, totS := sum(wT), sum(wS)
	if p.pooled {
		totT += totS
		totS = totT
	}
	fT, fS := make([]float64, nT), make([]float64, nS)
	for i, c := range wT {
		fT[i] = (c + 1) / totT
	}
	for i, c := range wS {
		fS[i] = (c + 1) / totS
	}
	m.bT, m.bS = fT, fS

	// Technique tree: parent and children by index.
	parent := make([]int, nT)
	children := make([][]int, nT)
	for i, id := range m.techs {
		parent[i] = -1
		if p, ok := m.techIndex[parentID(id)]; ok {
			parent[i] = p
			children[p] = append(children[p], i)
		}
	}
	m.parent, m.children = parent, children
	for _, pr := range profiles {
		m.profileT = append(m.profileT, pr.techs)
		m.profileS = append(m.profileS, pr.softs)
	}
	softTechs := make([][]int, nS)
	for i := range kb.Software {
		for _, t := range kb.Software[i].Techniques {
			if ti, ok := m.techIndex[t]; ok {
				softTechs[i] = append(softTechs[i], ti)
			}
		}
	}

	const g2 = 0.25 // siblings and software techniques, in the variants
	// childShare is the credit between a technique and one of its
	// sub-techniques: 1/k for k sub-techniques when p.perChild, else 1.
	childShare := func(parent int) float64 {
		if !p.perChild || len(children[parent]) == 0 {
			return 1
		}
		return 1 / float64(len(children[parent]))
	}
	credits := make([][]float32, len(profiles))
	m.zT = make([]float64, len(profiles))
	m.zS = make([]float64, len(profiles))
	for gi, pr := range profiles {
		c := make([]float32, nT)
		raise := func(t int, v float64) {
			if float32(v) > c[t] {
				c[t] = float32(v)
			}
		}
		for j, t := range pr.techs {
			w := pr.tw[j]
			raise(t, w)
			if pt := parent[t]; pt >= 0 {
				raise(pt, w*p.related*childShare(pt))
				if p.siblings {
					for _, sib := range children[pt] {
						raise(sib, w*g2)
					}
				}
			}
			for _, ch := range children[t] {
				raise(ch, w*p.related*childShare(t))
			}
		}
		if p.software {
			for _, s := range pr.softs {
				for _, t := range softTechs[s] {
					raise(t, g2)
				}
			}
		}
		if p.zDirect {
			for _, w := range pr.tw {
				m.zT[gi] += w
			}
		} else {
			for _, v := range c {
				m.zT[gi] += float64(v)
			}
		}
		for _, w := range pr.sw {
			m.zS[gi] += w
		}
		credits[gi] = c
	}

	m.techRatio = make([][]float32, len(profiles))
	m.softRatio = make([][]float32, len(profiles))
	m.techCredit = credits
	for gi, pr := range profiles {
		zT, zS := m.zT[gi], m.zS[gi]
		if p.pooled {
			zT = zT + zS
			zS = zT
		}
		tr := make([]float32, nT)
		for t, c := range credits[gi] {
			if c > 0 {
				tr[t] = float32(float64(c) / zT / fT[t])
			}
		}
		if p.family {
			familyRatio(tr, pr.techs, pr.tw, zT, wT, totT, parent, children)
		}
		sr := make([]float32, nS)
		for j, s := range pr.softs {
			sr[s] = float32(pr.sw[j] / zS / fS[s])
		}
		m.techRatio[gi], m.softRatio[gi] = tr, sr
	}
	if p.regression > 0 {
		m.learned()
	}
	return m
}

// learned fills regT and regS from the groups' Regression, leaving them
// nil when no group has any.
func (m *model) learned() {
	if !slices.ContainsFunc(m.groups, func(g *Group) bool { return len(g.Regression) > 0 }) {
		return
	}
	m.regT, m.regS = make([][]float32, len(m.groups)), make([][]float32, len(m.groups))
	m.regB = make([]float64, len(m.groups))
	for gi, g := range m.groups {
		m.regB[gi] = float64(g.Intercept)
		m.regT[gi], m.regS[gi] = make([]float32, len(m.techs)), make([]float32, len(m.softs))
		for id, w := range g.Regression {
			if t, ok := m.techIndex[id]; ok {
				m.regT[gi][t] = w
			} else if s, ok := m.softIndex[id]; ok {
				m.regS[gi][s] = w
			}
		}
	}
}

// regress adds to scores the report classifier's weight of evidence for
// each group, in bits: RegressionWeight·log2(G·P(g)), P the classifier's
// probability of the group among the G groups on the (weighted) items,
// its intercept included, so that the term is 0 for a group it rates at
// the uniform 1/G. Nothing when there is no item (every group still ties)
// or no classifier.
func (m *model) regress(obsT, obsS []int, wT, wS []float64, scores []float64) {
	if m.regT == nil || m.p.regression == 0 || len(obsT)+len(obsS) == 0 {
		return
	}
	logits := slices.Clone(m.regB)
	for gi := range m.groups {
		for j, t := range obsT {
			logits[gi] += weightAt(wT, j) * float64(m.regT[gi][t])
		}
		for j, x := range obsS {
			logits[gi] += weightAt(wS, j) * float64(m.regS[gi][x])
		}
	}
	mx := slices.Max(logits)
	sum := 0.0
	for _, l := range logits {
		sum += math.Exp(l - mx)
	}
	lse := mx + math.Log(sum)
	// The classifier learned from whole reports: on a few items it
	// speaks outside what it was fitted on, so its weight grows with the
	// evidence up to RegressionItems items.
	n := 0.0
	for j := range obsT {
		n += weightAt(wT, j)
	}
	for j := range obsS {
		n += weightAt(wS, j)
	}
	alpha := m.p.regression * min(1, n/RegressionItems)
	for gi, l := range logits {
		scores[gi] += alpha * (l - lse + math.Log(float64(len(m.groups)))) / math.Ln2
	}
}

// familyRatio sets a group's ratio for each parent technique to that of
// its family: a rule tagged with a parent (attack.t1558) says that some
// sub-technique of it, or the parent itself, was seen, so under the group
// its probability is the sum of the group's direct weights over the
// family, and under the background the sum of all groups' weights over
// the family (add-one smoothed like b). The parent's own weights alone
// would make the few groups ATT&CK credits with the bare parent (Akira
// for T1558) near certain on it, though many groups are known for its
// sub-techniques. techs and tw are the group's direct uses and weights,
// z its profile size; wT and totT are the background's weights and total.
func familyRatio(tr []float32, techs []int, tw []float64, z float64, wT []float64, totT float64, parent []int, children [][]int) {
	fam := make(map[int]float64) // parent -> the group's weight over its family
	for j, t := range techs {
		if len(children[t]) > 0 {
			fam[t] += tw[j]
		} else if pt := parent[t]; pt >= 0 {
			fam[pt] += tw[j]
		}
	}
	for pt, c := range fam {
		bg := wT[pt] + 1
		for _, ch := range children[pt] {
			bg += wT[ch]
		}
		tr[pt] = float32(c / z / (bg / totT))
	}
}

// z is the size of group gi's profile that sets its share under
// Dirichlet smoothing.
func (m *model) z(gi int) float64 {
	if m.p.pooled {
		return m.zT[gi] + m.zS[gi]
	}
	return m.zT[gi]
}

func (m *model) techIndexes(ids []string) []int {
	out := make([]int, 0, len(ids))
	for _, id := range ids {
		if i, ok := m.techIndex[id]; ok {
			out = append(out, i)
		}
	}
	return out
}

// mostSpecific returns the techniques (indexes) without those observed
// with one of their sub-techniques, in order; techs is not changed.
func (m *model) mostSpecific(techs []int) []int {
	out := make([]int, 0, len(techs))
	for _, t := range techs {
		if !slices.ContainsFunc(techs, func(x int) bool { return m.parent[x] == t }) {
			out = append(out, t)
		}
	}
	return out
}

func (m *model) softIndexes(ids []string) []int {
	out := make([]int, 0, len(ids))
	for _, id := range ids {
		if i, ok := m.softIndex[id]; ok {
			out = append(out, i)
		}
	}
	return out
}

// score sets scores[g] to the group's log-likelihood ratio in bits
// against the background, log2 L(g) of the Attribution comment.
//
// wT and wS weigh the items (nil: all 1; see Evidence.Weights); the
// integrated share, the earlier model, ignores them.
func (m *model) score(obsT, obsS []int, wT, wS []float64, scores []float64) {
	n := len(obsT) + len(obsS)
	mean := m.p.mu // μ, for shareDirichlet
	if m.p.share == shareDirichlet && mean == 0 {
		for gi := range m.groups {
			mean += m.z(gi)
		}
		mean /= float64(len(m.groups))
	}
	var ratios []float64
	var s integral
	for gi := range m.groups {
		share := m.p.share
		if share == shareIntegrated {
			ratios = ratios[:0]
			for _, t := range obsT {
				if a := m.techRatio[gi][t]; a > 0 {
					ratios = append(ratios, float64(a))
				}
			}
			for _, x := range obsS {
				if a := m.softRatio[gi][x]; a > 0 {
					ratios = append(ratios, float64(a))
				}
			}
			scores[gi] = s.log2(ratios, n)
			continue
		}
		if share == shareDirichlet {
			share = m.z(gi) / (m.z(gi) + mean)
		}
		// Σ_i w_i·log2(λ·a_i + 1 − λ).
		scores[gi] = 0
		for j, t := range obsT {
			scores[gi] += weightAt(wT, j) * math.Log2(share*float64(m.techRatio[gi][t])+1-share)
		}
		for j, x := range obsS {
			scores[gi] += weightAt(wS, j) * math.Log2(share*float64(m.softRatio[gi][x])+1-share)
		}
	}
}

// weightAt returns w[j], or 1 when w is nil.
func weightAt(w []float64, j int) float64 {
	if w == nil {
		return 1
	}
	return w[j]
}

// integral computes log2 ∫₀¹ Π_i (λ·a_i + 1 − λ) dλ exactly. In the
// Bernstein basis the product is Σ_k e_k·λ^k·(1−λ)^(n−k), with e_k the
// elementary symmetric polynomial of degree k of the a_i (items with
// a_i = 0 only raise n), and ∫ λ^k (1−λ)^(n−k) dλ = k!(n−k)!/(n+1)!.
// The coefficients are kept scaled (scale is their log) against
// overflow; the buffers are reused between calls.
type integral struct {
	e      []float64
	lnFact []float64 // ln k! for k ≤ n+1
	terms  []float64
}

func (x *integral) log2(ratios []float64, n int) float64 {
	for len(x.lnFact) < n+2 {
		k := len(x.lnFact)
		if k == 0 {
			x.lnFact = append(x.lnFact, 0)
			continue
		}
		x.lnFact = append(x.lnFact, x.lnFact[k-1]+math.Log(float64(k)))
	}
	e := append(x.e[:0], 1)
	scale := 0.0
	for _, a := range ratios {
		e = append(e, 0)
		top := 0.0
		for k := len(e) - 1; k > 0; k-- {
			e[k] += e[k-1] * a
			top = max(top, e[k])
		}
		top = max(top, e[0])
		if top > 1e150 {
			for k := range e {
				e[k] /= top
			}
			scale += math.Log(top)
		}
	}
	x.e = e
	// ln Σ_k e_k·k!(n−k)!/(n+1)!, by log-sum-exp.
	terms := x.terms[:0]
	mx := math.Inf(-1)
	for k, c := range e {
		if c == 0 {
			terms = append(terms, math.Inf(-1))
			continue
		}
		t := math.Log(c) + x.lnFact[k] + x.lnFact[n-k] - x.lnFact[n+1]
		terms = append(terms, t)
		mx = max(mx, t)
	}
	x.terms = terms
	sum := 0.0
	for _, t := range terms {
		sum += math.Exp(t - mx)
	}
	return (mx + math.Log(sum) + scale) / math.Ln2
}

// explain fills the candidate's matches, unexplained and unseen items;
// obsT and obsS are marked in the masks.
func (m *model) explain(gi int, obsT, obsS []int, maskT, maskS []bool, c *Candidate) {
	c.Matches = make([]Match, 0, len(obsT)+len(obsS))
	for _, t := range obsT {
		credit := m.techCredit[gi][t]
		if credit == 0 {
			c.Unexplained = append(c.Unexplained, m.techs[t])
			continue
		}
		mt := Match{ID: m.techs[t], Name: m.techNames[t], Kind: KindTechnique, Groups: m.nTech[t], Bits: math.Log2(float64(m.techRatio[gi][t]))}
		if credit < 1 {
			mt.Via = m.via(gi, t)
		}
		c.Matches = append(c.Matches, mt)
	}
	for _, s := range obsS {
		if m.softRatio[gi][s] == 0 {
			c.Unexplained = append(c.Unexplained, m.softs[s])
			continue
		}
		c.Matches = append(c.Matches, Match{ID: m.softs[s], Name: m.softNames[s], Kind: KindSoftware, Groups: m.nSoft[s], Bits: math.Log2(float64(m.softRatio[gi][s]))})
	}
	slices.SortFunc(c.Matches, func(a, b Match) int {
		// At equal weight, software first: it names a tool, not a behaviour.
		return cmp.Or(cmp.Compare(b.Bits, a.Bits), cmp.Compare(b.Kind, a.Kind), strings.Compare(a.ID, b.ID))
	})

	// Unseen: the group's rarest items neither observed nor credited
	// through a parent or sub-technique.
	var unseen []Unseen
	for _, t := range m.profileT[gi] {
		if maskT[t] || m.parent[t] >= 0 && maskT[m.parent[t]] || slices.ContainsFunc(m.children[t], func(ch int) bool { return maskT[ch] }) {
			continue
		}
		unseen = append(unseen, Unseen{ID: m.techs[t], Name: m.techNames[t], Kind: KindTechnique, Groups: m.nTech[t]})
	}
	for _, s := range m.profileS[gi] {
		if !maskS[s] {
			unseen = append(unseen, Unseen{ID: m.softs[s], Name: m.softNames[s], Kind: KindSoftware, Groups: m.nSoft[s]})
		}
	}
	slices.SortStableFunc(unseen, func(a, b Unseen) int {
		if c := cmp.Compare(a.Groups, b.Groups); c != 0 {
			return c
		}
		if a.Kind != b.Kind {
			return cmp.Compare(b.Kind, a.Kind) // software first at equal rarity
		}
		return strings.Compare(a.ID, b.ID)
	})
	c.Unseen = unseen[:min(len(unseen), MaxUnseen):min(len(unseen), MaxUnseen)]
}

// via names the group's technique that earned partial credit for the
// observed technique t.
func (m *model) via(gi, t int) string {
	if p := m.parent[t]; p >= 0 && slices.Contains(m.profileT[gi], p) {
		return "parent " + m.techs[p]
	}
	for _, ch := range m.children[t] {
		if slices.Contains(m.profileT[gi], ch) {
			return "sub-technique " + m.techs[ch]
		}
	}
	return "related"
}
