package attack

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/shared"
)

// The report-case harness (issue 11) measures attribution on what real
// reports say groups did. Each case of
// ../shared/datasets/attack/attribution-reports.json is what one report
// cited by ATT&CK says one group used, with the ids of those
// relationships. A case is evaluated leave-one-report-out: the knowledge
// base loses the case's relationships that only this report supports (a
// relationship that another report also cites stays: ATT&CK would still
// know it without this report), every candidate group is scored on the
// case's techniques and software, and the true group's place is recorded.
// Each case is also evaluated on evidence cut down to 1, 2, 3 and 5 of its
// items (reportDraws draws each, fixed seeds), which is where calibration
// matters.
//
// Run it with
//
//	go test ./internal/attack -run TestEvaluateReports -eval -v
//
// A new model is one more line in reportScorers.

// reportDataset is the cases file.
type reportDataset struct {
	Description string       `json:"description"`
	Bundle      string       `json:"bundle"`
	MinItems    int          `json:"min_items"`
	Cases       []reportCase `json:"cases"`
}

// reportCase is what one report says one group used.
type reportCase struct {
	Group         string   `json:"group"`
	Name          string   `json:"name"`
	Report        string   `json:"report"`
	Techniques    []string `json:"techniques"`
	Software      []string `json:"software"`
	Relationships []string `json:"relationships"`
}

// heldOut returns the relationships of c that the knowledge base loses
// when c's report is held out: those of c's list whose only citation is
// c's report. A relationship another report also cites is kept, and so
// is one kb does not have.
//
// The links ATT&CK's prose makes between the group and software
// (Relationship.Described) that only c's report supports are held out too:
// they are the same knowledge written in a description.
func heldOut(kb *KB, c reportCase) []string {
	var out []string
	only := func(r Relationship) bool {
		return !slices.ContainsFunc(r.Citations, func(s string) bool { return s != c.Report })
	}
	for _, id := range c.Relationships {
		if r, ok := kb.Relationship(id); ok && only(r) {
			out = append(out, id)
		}
	}
	for _, r := range kb.Relationships() {
		if r.Described && r.Source == c.Group && only(r) {
			out = append(out, r.ID)
		}
	}
	return out
}

// caseKB is the knowledge base of one case, its report held out, and what
// the baselines derive from it.
type caseKB struct {
	kb *KB // the view without the held-out relationships
	// report is the held-out report ("" when nothing is held out).
	report string
	// groups are the candidates, the same in every case: the active
	// groups of the full knowledge base with techniques or software
	// (those Attribute ranks). Scores are indexed like groups.
	groups []*Group
	pos    map[string]int // group ID -> index in groups
	// df is the number of candidate groups using each item in kb.
	df map[string]int
	// reports[i] is the number of distinct reports kb cites for the
	// group's relationships, the held-out report left out.
	reports []int
	// earlier is the model until issue 11 on kb, built on first use.
	earlier *model
	// memo holds what other scorers build once per case, by their key.
	memo sync.Map
}

// foldRegressions caches the report classifier learned without each fold
// of reports (reportFold), by knowledge base and fold.
var foldRegressions struct {
	sync.Mutex
	m map[foldKey]*foldEntry
}

type foldKey struct {
	kb   *KB
	fold int
}

type foldEntry struct {
	once    sync.Once
	learned learned
}

// foldRegression returns full's report classifier learned without the
// reports of the fold: every case whose report is in the fold is scored
// with it, so no case's report is among its samples (a little stricter
// than leaving the one report out, and 10 trainings instead of 540).
func foldRegression(full *KB, fold int) learned {
	foldRegressions.Lock()
	if foldRegressions.m == nil {
		foldRegressions.m = make(map[foldKey]*foldEntry)
	}
	k := foldKey{full, fold}
	e := foldRegressions.m[k]
	if e == nil {
		e = &foldEntry{}
		foldRegressions.m[k] = e
	}
	foldRegressions.Unlock()
	e.once.Do(func() {
		e.learned = full.learnRegression(func(report string) bool { return reportFold(report) == fold })
	})
	return e.learned
}

// newCaseKB returns the case's view of full; groups and pos are shared by
// every case. A case without a report holds nothing out.
func newCaseKB(full *KB, groups []*Group, pos map[string]int, c reportCase) *caseKB {
	v := full
	if c.Report != "" {
		v = full.WithoutReport(c.Report, heldOut(full, c)...)
		// The report classifier learned without the report's fold.
		v.setRegression(foldRegression(full, reportFold(c.Report)))
	}
	ck := &caseKB{kb: v, report: c.Report, groups: make([]*Group, len(groups)), pos: pos, df: make(map[string]int), reports: make([]int, len(groups))}
	for i, g := range groups {
		vg, _, _ := v.Group(g.ID)
		ck.groups[i] = vg
		for _, id := range vg.Techniques {
			ck.df[id]++
		}
		for _, id := range vg.Software {
			ck.df[id]++
		}
	}
	cited := make([]map[string]bool, len(groups))
	for _, r := range v.Relationships() {
		i, ok := pos[r.Source]
		if !ok {
			continue
		}
		if cited[i] == nil {
			cited[i] = make(map[string]bool)
		}
		for _, s := range r.Citations {
			if s != c.Report {
				cited[i][s] = true
			}
		}
	}
	for i := range cited {
		ck.reports[i] = len(cited[i])
	}
	return ck
}

// has reports whether group i's profile in the case's knowledge base
// holds the technique or software id.
func (ck *caseKB) has(i int, id string) bool {
	list := ck.groups[i].Techniques
	if KindOf(id) == KindSoftware {
		list = ck.groups[i].Software
	}
	_, ok := slices.BinarySearch(list, id)
	return ok
}

// items returns the evidence's techniques and software, without repeats.
func items(ev Evidence) []string {
	out := make([]string, 0, len(ev.Techniques)+len(ev.Software))
	for _, id := range append(slices.Clone(ev.Techniques), ev.Software...) {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// A reportScorer scores every candidate group of a case on the evidence:
// scores[i] for ck.groups[i], higher is better (-Inf for a group it does
// not rank). It returns the probability it states that its best-scored
// group is the true one, or NaN when it states none.
type reportScorer func(ck *caseKB, ev Evidence, scores []float64) (confidence float64)

// rankingScorer makes a reportScorer of an attribution model: Attribute,
// or a new model with Attribute's signature. The confidence is that of its
// first candidate among the groups (see below); groups it leaves out score
// -Inf.
func rankingScorer(attribute func(*KB, Evidence) Ranking) reportScorer {
	return func(ck *caseKB, ev Evidence, scores []float64) float64 {
		for i := range scores {
			scores[i] = math.Inf(-1)
		}
		rk := attribute(ck.kb, ev)
		for _, c := range rk.Candidates {
			if i, ok := ck.pos[c.Group.ID]; ok {
				scores[i] = c.Score
			}
		}
		if len(rk.Candidates) == 0 {
			return math.NaN()
		}
		// The confidence among ATT&CK's groups: every case's actor is one
		// of them, so the share the model keeps for an unknown actor (a
		// judgement these cases cannot measure) is taken out.
		if rk.UnknownActor >= 1 {
			return math.NaN()
		}
		return rk.Candidates[0].Confidence / (1 - rk.UnknownActor)
	}
}

// normalised returns the best score's share of the sum of the scores (all
// at least 0): the stated confidence of the scorers that state none.
func normalised(scores []float64) float64 {
	sum, best := 0.0, 0.0
	for _, s := range scores {
		sum += s
		best = max(best, s)
	}
	if sum == 0 {
		return 1 / float64(len(scores))
	}
	return best / sum
}

// idfWeights returns the evidence's items, the IDF of each and their sum.
func (ck *caseKB) idfWeights(ev Evidence) (its []string, idf []float64, total float64) {
	its = items(ev)
	n := float64(len(ck.groups))
	idf = make([]float64, len(its))
	for j, id := range its {
		idf[j] = math.Log((n + 1) / float64(ck.df[id]+1))
		total += idf[j]
	}
	return its, idf, total
}

// idfContainment: the share of the evidence's IDF weight that a group's
// profile covers, idf = ln((N+1)/(df+1)) with N candidate groups and df
// the groups using the item.
func idfContainment(ck *caseKB, ev Evidence, scores []float64) float64 {
	its, idf, total := ck.idfWeights(ev)
	for i := range ck.groups {
		s := 0.0
		for j, id := range its {
			if ck.has(i, id) {
				s += idf[j]
			}
		}
		scores[i] = s / total
	}
	return normalised(scores)
}

// jaccardReports: |evidence ∩ profile| / |evidence ∪ profile|.
func jaccardReports(ck *caseKB, ev Evidence, scores []float64) float64 {
	its := items(ev)
	for i, g := range ck.groups {
		inter := 0
		for _, id := range its {
			if ck.has(i, id) {
				inter++
			}
		}
		if union := len(its) + len(g.Techniques) + len(g.Software) - inter; union > 0 {
			scores[i] = float64(inter) / float64(union)
		} else {
			scores[i] = 0
		}
	}
	return normalised(scores)
}

// nbEpsilon is the naive Bayes baseline's P(item | g) for an item outside
// g's profile, against 1 for one inside it: a judgement, not fitted.
const nbEpsilon = 0.01

// naiveBayes: a prior proportional to the number of distinct reports
// behind the group (plus one, so that a group no other report documents
// is not ruled out), times P(item | g) over the items; the posterior over
// the candidate groups is the stated confidence.
func naiveBayes(ck *caseKB, ev Evidence, scores []float64) float64 {
	its := items(ev)
	logEps := math.Log(nbEpsilon)
	for i := range ck.groups {
		s := math.Log(float64(ck.reports[i] + 1))
		for _, id := range its {
			if !ck.has(i, id) {
				s += logEps
			}
		}
		scores[i] = s
	}
	mx := slices.Max(scores)
	sum := 0.0
	for _, s := range scores {
		sum += math.Exp(s - mx)
	}
	return 1 / sum
}

// reportScorers are the models and baselines the harness compares, with
// how each states its confidence. A new model is one more line:
// {"name", rankingScorer(NewAttribute), "its top candidate's confidence"}.
var reportScorers = []struct {
	name, confidence string
	score            reportScorer
}{
	{"spoor (Attribute)", "its first candidate's confidence among the groups: as stated, divided by the groups' share (1 − unknown actor)", rankingScorer(Attribute)},
	{"spoor until issue 11 (every item 1, λ integrated)", "as spoor's", func(ck *caseKB, ev Evidence, scores []float64) float64 {
		if ck.earlier == nil {
			ck.earlier = buildModel(ck.kb, earlierParams)
		}
		return rankingScorer(func(kb *KB, ev Evidence) Ranking { return rankModel(kb, ck.earlier, ev, 0) })(ck, ev, scores)
	}},
	{"spoor without the report classifier (before branch attrib2)", "as spoor's", paramsScorer(func() params { p := defaultParams; p.regression = 0; return p }())},
	{"IDF containment", "the best score's share of the sum of scores", idfContainment},
	{"Jaccard", "the best score's share of the sum of scores", jaccardReports},
	{fmt.Sprintf("naive Bayes, report-count prior (ε = %g)", nbEpsilon), "the posterior over the groups", naiveBayes},
}

// placement is where the true group lands in scores: the groups scoring
// strictly better, and the others tied with it.
func placement(scores []float64, truth int) (better, tied int) {
	for i, s := range scores {
		switch {
		case i == truth:
		case s > scores[truth]:
			better++
		case s == scores[truth]:
			tied++
		}
	}
	return better, tied
}

// topK is the chance that the true group is among the first k when ties
// are broken at random: it takes each place from better+1 to
// better+tied+1 alike.
func topK(better, tied, k int) float64 {
	return max(0, min(1, float64(k-better)/float64(tied+1)))
}

// Evidence sizes: full, then the cut-down ones, each drawn reportDraws
// times per case.
var (
	reportSizes = []int{1, 2, 3, 5}
	reportDraws = []uint64{1, 2, 3}
)

// sizeName names an evidence size; 0 is the full evidence.
func sizeName(k int) string {
	if k == 0 {
		return "full"
	}
	return fmt.Sprint(k)
}

// cutEvidence returns k of the case's items drawn with a fixed seed.
func cutEvidence(c reportCase, caseIndex int, k int, seed uint64) Evidence {
	its := append(slices.Clone(c.Techniques), c.Software...)
	rng := rand.New(rand.NewPCG(uint64(caseIndex), seed))
	rng.Shuffle(len(its), func(i, j int) { its[i], its[j] = its[j], its[i] })
	var ev Evidence
	for _, id := range its[:min(k, len(its))] {
		if KindOf(id) == KindSoftware {
			ev.Software = append(ev.Software, id)
		} else {
			ev.Techniques = append(ev.Techniques, id)
		}
	}
	return ev
}

// outcome is one scorer on one evaluation of a case.
type outcome struct {
	size                         int // 0 for the full evidence
	top1, top3, top5, rank, conf float64
}

// tally sums outcomes.
type tally struct {
	n                      int
	top1, top3, top5, rank float64
	conf, hit              []float64
}

func (t *tally) add(o outcome) {
	t.n++
	t.top1 += o.top1
	t.top3 += o.top3
	t.top5 += o.top5
	t.rank += o.rank
	if !math.IsNaN(o.conf) {
		t.conf = append(t.conf, o.conf)
		t.hit = append(t.hit, o.top1)
	}
}

// caseEvidence returns the case's full evidence and its cut-down draws,
// with their sizes (0 for the full evidence).
func caseEvidence(c reportCase, ci int) ([]Evidence, []int) {
	evs := []Evidence{{Techniques: c.Techniques, Software: c.Software}}
	sizes := []int{0}
	for _, k := range reportSizes {
		for _, seed := range reportDraws {
			evs = append(evs, cutEvidence(c, ci, k, seed))
			sizes = append(sizes, k)
		}
	}
	return evs, sizes
}

// evaluateCase runs every scorer on the case's full and cut-down
// evidence: out[scorer] lists the outcomes.
func evaluateCase(full *KB, groups []*Group, pos map[string]int, c reportCase, ci int) [][]outcome {
	ck := newCaseKB(full, groups, pos, c)
	truth := pos[c.Group]
	evs, sizes := caseEvidence(c, ci)
	out := make([][]outcome, len(reportScorers))
	scores := make([]float64, len(groups))
	for si, sc := range reportScorers {
		for ei, ev := range evs {
			conf := sc.score(ck, ev, scores)
			b, t := placement(scores, truth)
			out[si] = append(out[si], outcome{size: sizes[ei], top1: topK(b, t, 1), top3: topK(b, t, 3), top5: topK(b, t, 5),
				rank: float64(b+1) + float64(t)/2, conf: conf})
		}
	}
	return out
}

// TestEvaluateReports is the report-case harness; see the comment at the
// top of this file. It runs with -eval only.
func TestEvaluateReports(t *testing.T) {
	if !*evalFlag {
		t.Skip("the report-case harness runs with -eval")
	}
	start := time.Now()
	ds, full, groups, pos := loadReports(t)
	loaded := time.Since(start)

	missing, removed, listed := 0, 0, 0
	for _, c := range ds.Cases {
		if _, ok := pos[c.Group]; !ok {
			t.Fatalf("case of %s (%s): not a candidate group", c.Group, c.Report)
		}
		listed += len(c.Relationships)
		removed += len(heldOut(full, c))
		for _, id := range c.Relationships {
			if _, ok := full.Relationship(id); !ok {
				missing++
			}
		}
	}

	results := make([][][]outcome, len(ds.Cases))
	eachCase(len(ds.Cases), func(ci int) {
		results[ci] = evaluateCase(full, groups, pos, ds.Cases[ci], ci)
	})

	// tallies[scorer][size]: size 0 is the full evidence, -1 all pooled.
	tallies := make([]map[int]*tally, len(reportScorers))
	for si := range reportScorers {
		tallies[si] = make(map[int]*tally)
		for _, r := range results {
			for _, o := range r[si] {
				for _, k := range []int{o.size, -1} {
					if tallies[si][k] == nil {
						tallies[si][k] = &tally{}
					}
					tallies[si][k].add(o)
				}
			}
		}
	}

	var w strings.Builder
	fmt.Fprintf(&w, "ATT&CK %s (modified %s), %s: %d cases of %d groups (%d candidate groups); %d of %d listed relationships held out (only their report cites them), %d not in the bundle; cut-down evidence: %v items, %d draws each (seeds %v); %d workers; bundle loaded in %.1fs, run %.1fs\n\n",
		full.Domain, full.Modified, ds.Bundle, len(ds.Cases), countGroups(ds.Cases), len(groups), removed, listed, missing,
		reportSizes, len(reportDraws), reportDraws, runtime.GOMAXPROCS(0), loaded.Seconds(), time.Since(start).Seconds())
	w.WriteString("Ties are broken at random in expectation: a true group tied with t others is in the top k with chance (k − better)/(t+1), clamped to [0, 1], and its rank is better + 1 + t/2.\n\n")
	w.WriteString("| scorer | evidence | evaluations | top-1 | top-3 | top-5 | mean rank | ECE (10 bins) |\n|---|---|---|---|---|---|---|---|\n")
	sizes := append([]int{0}, reportSizes...)
	for si, sc := range reportScorers {
		for _, k := range append(slices.Clone(sizes), -1) {
			x := tallies[si][k]
			name := "all pooled"
			if k >= 0 {
				name = sizeName(k)
			}
			e, _ := ece(x.conf, x.hit, 10)
			fmt.Fprintf(&w, "| %s | %s | %d | %.3f | %.3f | %.3f | %.1f | %.3f |\n", sc.name, name, x.n,
				x.top1/float64(x.n), x.top3/float64(x.n), x.top5/float64(x.n), x.rank/float64(x.n), e)
		}
	}
	for si, sc := range reportScorers {
		fmt.Fprintf(&w, "\nReliability of %s (confidence: %s); each cell: evaluations, mean confidence, top-1 rate:\n\n| confidence |", sc.name, sc.confidence)
		bins := make(map[int][][3]float64)
		for _, k := range append(slices.Clone(sizes), -1) {
			_, bins[k] = ece(tallies[si][k].conf, tallies[si][k].hit, 10)
			if k >= 0 {
				fmt.Fprintf(&w, " %s |", sizeName(k))
			} else {
				w.WriteString(" all pooled |")
			}
		}
		w.WriteString("\n|---|" + strings.Repeat("---|", len(sizes)+1) + "\n")
		for bi := range 10 {
			fmt.Fprintf(&w, "| %.1f–%.1f |", float64(bi)/10, float64(bi+1)/10)
			for _, k := range append(slices.Clone(sizes), -1) {
				if bn := bins[k][bi]; bn[0] > 0 {
					fmt.Fprintf(&w, " %d, %.2f, %.2f |", int(bn[0]), bn[1], bn[2])
				} else {
					w.WriteString(" |")
				}
			}
			w.WriteString("\n")
		}
	}
	t.Log("\n" + w.String())
}

// countGroups returns the number of distinct groups of the cases.
func countGroups(cases []reportCase) int {
	seen := make(map[string]bool)
	for _, c := range cases {
		seen[c.Group] = true
	}
	return len(seen)
}

// loadReports reads the cases and their bundle and returns them with the
// candidate groups: those Attribute ranks on the full knowledge base, and
// their indexes.
func loadReports(t *testing.T) (reportDataset, *KB, []*Group, map[string]int) {
	t.Helper()
	b, err := os.ReadFile(shared.Path(t, "datasets", "attack", "attribution-reports.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ds reportDataset
	if err := json.Unmarshal(b, &ds); err != nil {
		t.Fatalf("attribution-reports.json: %v", err)
	}
	var full *KB
	if ds.Bundle == bundlePath[len(bundlePath)-1] {
		full = fromBundle(t)
	} else {
		f, err := os.Open(shared.Path(t, "datasets", "attack", ds.Bundle))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if full, err = LoadBundle(f); err != nil {
			t.Fatalf("%s: %v", ds.Bundle, err)
		}
	}
	var groups []*Group
	pos := make(map[string]int)
	for _, c := range Attribute(full, Evidence{}).Candidates {
		pos[c.Group.ID] = len(groups)
		groups = append(groups, c.Group)
	}
	return ds, full, groups, pos
}

// eachCase calls fn with every case index below n, on as many goroutines
// as Go runs at once.
func eachCase(n int, fn func(ci int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for ci := range next {
				fn(ci)
			}
		})
	}
	for ci := range n {
		next <- ci
	}
	close(next)
	wg.Wait()
}
