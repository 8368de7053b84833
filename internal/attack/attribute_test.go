package attack

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestAttribute(t *testing.T) {
	kb := embeddedKB(t)
	// A slice of APT41's own profile, with a rare software of its own.
	ev := Evidence{
		Techniques: []string{"T1195.002", "T1542.003", "T1574.006", "T1003.002", "T1059.003", "t1073"},
		Software:   []string{"S0430", "cobalt strike", "S9999"},
	}
	ins, resolved := kb.ResolveEvidence(ev)
	if len(ins) != 9 {
		t.Fatalf("inputs: got %d, want 9", len(ins))
	}
	if ins[5].ID != "T1574.001" || ins[5].Note == "" {
		t.Errorf("revoked T1073: got %q note %q, want T1574.001 with a note", ins[5].ID, ins[5].Note)
	}
	if ins[7].ID != "S0154" {
		t.Errorf("software by name: got %q, want S0154", ins[7].ID)
	}
	if ins[8].ID != "" {
		t.Errorf("unknown S9999: got %q, want unresolved", ins[8].ID)
	}
	if len(resolved.Software) != 2 || len(resolved.Techniques) != 6 {
		t.Errorf("resolved: got %v, want 6 techniques and 2 software", resolved)
	}
	rk := Attribute(kb, ev)
	cs := rk.Candidates
	if cs[0].Group.ID != "G0096" {
		t.Fatalf("top candidate: got %s %s, want G0096 APT41", cs[0].Group.ID, cs[0].Group.Name)
	}
	sum := rk.UnknownActor
	for i, c := range cs {
		sum += c.Confidence
		if c.Rank != i+1 || i > 0 && c.Score > cs[i-1].Score {
			t.Fatalf("candidate %d: rank %d score %v after %v, want ranks in score order", i, c.Rank, c.Score, cs[i-1].Score)
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("confidences with the unknown: got sum %v, want 1", sum)
	}
	top := cs[0]
	// Rare evidence first (Bootkit, Dynamic Linker Hijacking, Winnti for
	// Linux: a handful of groups each), the Windows shell of 71 groups last.
	if len(top.Matches) == 0 || top.Matches[0].Groups > 4 || top.Matches[len(top.Matches)-1].ID != "T1059.003" {
		t.Errorf("most distinctive shared evidence: got %+v, want an item of at most 4 groups first and T1059.003 last", top.Matches)
	}
	for i := 1; i < len(top.Matches); i++ {
		if top.Matches[i].Bits > top.Matches[i-1].Bits {
			t.Errorf("matches: got %v after %v bits, want most distinctive first", top.Matches[i].Bits, top.Matches[i-1].Bits)
		}
	}
	if len(top.Unseen) == 0 || len(top.Unseen) > MaxUnseen {
		t.Errorf("unseen: got %d items, want 1 to %d", len(top.Unseen), MaxUnseen)
	}
	for _, u := range top.Unseen {
		if slices.Contains(resolved.Techniques, u.ID) || slices.Contains(resolved.Software, u.ID) {
			t.Errorf("unseen: got %s, which was observed", u.ID)
		}
	}
	// Deprecated groups are never candidates.
	for _, c := range cs {
		if c.Group.Deprecated {
			t.Errorf("candidate %s is deprecated", c.Group.ID)
		}
	}
}

func TestAttributeSubTechniqueCredit(t *testing.T) {
	kb := embeddedKB(t)
	m := kb.model()
	find := func(parent bool) (string, string) {
		// A group known for a parent technique but none of its
		// sub-techniques, and one such sub-technique.
		for _, g := range m.groups {
			for _, id := range g.Techniques {
				subs := kb.SubTechniques(id)
				if len(subs) == 0 {
					continue
				}
				if parent && !slices.ContainsFunc(g.Techniques, func(x string) bool { return parentID(x) == id }) {
					return g.ID, subs[0]
				}
			}
		}
		return "", ""
	}
	gid, sub := find(true)
	if gid == "" {
		t.Fatal("no group known for a parent technique only")
	}
	check := func(gid, obs, wantVia string) {
		t.Helper()
		gi, ti := m.groupIndex[gid], m.techIndex[obs]
		credit := m.techCredit[gi][ti]
		if credit <= 0 || credit >= 1 || !strings.HasPrefix(m.via(gi, ti), wantVia) {
			t.Errorf("%s observed, %s: got credit %v via %q, want partial credit via %s", obs, gid, credit, m.via(gi, ti), wantVia)
		}
		// The top candidate's explanation names the link too.
		cs := Attribute(kb, Evidence{Techniques: []string{obs}, GroupHints: []string{gid}}).Candidates
		if cs[0].Group.ID == gid && (len(cs[0].Matches) != 1 || !strings.HasPrefix(cs[0].Matches[0].Via, wantVia)) {
			t.Errorf("%s observed, %s hinted: got matches %+v, want one via %s", obs, gid, cs[0].Matches, wantVia)
		}
	}
	check(gid, sub, "parent ")
	// And the other way: an observed parent credits a group known for a
	// sub-technique (APT41 for T1059.001).
	check("G0096", "T1059", "sub-technique ")
}

func TestAttributeHint(t *testing.T) {
	kb := embeddedKB(t)
	ev := Evidence{Techniques: []string{"T1059.003", "T1003.002"}, Software: []string{"S0154"}}
	before := Attribute(kb, ev).Candidates
	ev.GroupHints = []string{"G0044"}
	after := Attribute(kb, ev).Candidates
	rank := func(cs []Candidate, id string) (int, bool) {
		for _, c := range cs {
			if c.Group.ID == id {
				return c.Rank, c.Hinted
			}
		}
		return 0, false
	}
	r0, _ := rank(before, "G0044")
	r1, hinted := rank(after, "G0044")
	if r1 >= r0 || !hinted {
		t.Errorf("hint G0044: got rank %d (hinted %v), want better than %d and hinted", r1, hinted, r0)
	}
}

func BenchmarkAttribute(b *testing.B) {
	kb, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	// The largest input: every technique and every software.
	var ev Evidence
	for _, t := range kb.Techniques {
		ev.Techniques = append(ev.Techniques, t.ID)
	}
	for _, s := range kb.Software {
		ev.Software = append(ev.Software, s.ID)
	}
	ev.GroupHints = []string{"G0096"}
	Attribute(kb, ev) // the model is built once per KB
	b.ReportAllocs()
	for b.Loop() {
		Attribute(kb, ev)
	}
}

// BenchmarkAttributeCold includes loading the embedded data and building
// the model: what one `spoor attribute` run costs.
func BenchmarkAttributeCold(b *testing.B) {
	ev := Evidence{Techniques: []string{"T1059.003", "T1003.002", "T1574.001", "T1190"}, Software: []string{"S0154", "S0002"}}
	b.ReportAllocs()
	for b.Loop() {
		kb, err := Load()
		if err != nil {
			b.Fatal(err)
		}
		Attribute(kb, ev)
	}
}

func BenchmarkBuildModel(b *testing.B) {
	kb, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		buildModel(kb, defaultParams)
	}
}

// A technique tagged with its sub-technique (attack.t1218 with
// attack.t1218.010) is implied by it: the pair is the same evidence as
// the sub-technique alone, and the parent appears in no explanation.
func TestAttributeParentImpliedBySubTechnique(t *testing.T) {
	kb := embeddedKB(t)
	for _, tc := range []struct {
		name       string
		with, want Evidence
	}{
		{"one pair",
			Evidence{Techniques: []string{"T1218.010", "T1218", "T1140"}},
			Evidence{Techniques: []string{"T1218.010", "T1140"}}},
		{"parent of two sub-techniques",
			Evidence{Techniques: []string{"T1218", "T1218.010", "T1218.011", "T1059.005", "T1059", "T1105"}},
			Evidence{Techniques: []string{"T1218.010", "T1218.011", "T1059.005", "T1105"}}},
		{"parent in lower case, with software",
			Evidence{Techniques: []string{"T1003.001", "t1003"}, Software: []string{"S0002"}},
			Evidence{Techniques: []string{"T1003.001"}, Software: []string{"S0002"}}},
	} {
		got, want := Attribute(kb, tc.with), Attribute(kb, tc.want)
		if math.Abs(got.UnknownActor-want.UnknownActor) > 1e-12 {
			t.Errorf("%s: unknown actor: got %.4f, want %.4f as without the parent", tc.name, got.UnknownActor, want.UnknownActor)
		}
		for i := range 5 {
			g, w := got.Candidates[i], want.Candidates[i]
			if g.Group.ID != w.Group.ID || math.Abs(g.Score-w.Score) > 1e-9 || math.Abs(g.Confidence-w.Confidence) > 1e-12 {
				t.Errorf("%s: candidate %d: got %s score %.3f confidence %.4f, want %s %.3f %.4f as without the parent",
					tc.name, i+1, g.Group.ID, g.Score, g.Confidence, w.Group.ID, w.Score, w.Confidence)
			}
			for _, id := range append(slices.Clone(g.Unexplained), matchIDs(g.Matches)...) {
				if !slices.Contains(tc.want.Techniques, id) && !slices.Contains(tc.want.Software, id) {
					t.Errorf("%s: candidate %s: got %s in its explanation, want only the most specific evidence", tc.name, g.Group.ID, id)
				}
			}
		}
	}
	// A parent observed without any of its sub-techniques is evidence.
	alone, none := Attribute(kb, Evidence{Techniques: []string{"T1218", "T1140"}}), Attribute(kb, Evidence{Techniques: []string{"T1140"}})
	if alone.Candidates[0].Score == none.Candidates[0].Score && alone.UnknownActor == none.UnknownActor {
		t.Errorf("parent alone: got the same ranking as without it, want it counted")
	}
}

func matchIDs(ms []Match) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// TestPrepare checks that Prepare builds the model, so that the first
// Attribute finds it.
func TestPrepare(t *testing.T) {
	kb, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if x := kb.index(); x.model.v != nil {
		t.Fatal("model built before Prepare")
	}
	kb.Prepare()
	if x := kb.index(); x.model.v == nil || len(x.model.v.groups) == 0 {
		t.Fatal("Prepare did not build the model")
	}
}

// TestEvidenceWeights: an item carrying half the weight moves the
// generative model's scores half as far; with the report classifier (not
// linear in the weights) it moves them part of the way; weights of 1
// change nothing.
func TestEvidenceWeights(t *testing.T) {
	kb := embeddedKB(t)
	alone := defaultParams
	alone.regression = 0
	ev := Evidence{Techniques: []string{"T1542.003", "T1059.003"}}
	for _, tc := range []struct {
		name   string
		m      *model
		linear bool
	}{{"generative", buildModel(kb, alone), true}, {"with the classifier", kb.model(), false}} {
		score := func(ev Evidence, g string) float64 {
			for _, c := range rankModel(kb, tc.m, ev, 0).Candidates {
				if c.Group.ID == g {
					return c.Score
				}
			}
			t.Fatalf("%s not ranked", g)
			return 0
		}
		full := score(ev, "G0096")
		ones := ev
		ones.Weights = map[string]float64{"T1542.003": 1, "T1059.003": 1}
		if got := score(ones, "G0096"); math.Abs(got-full) > 1e-9 {
			t.Errorf("%s: weights of 1: score %v, want %v", tc.name, got, full)
		}
		half := ev
		half.Weights = map[string]float64{"T1542.003": 0.5}
		onlyShell := score(Evidence{Techniques: []string{"T1059.003"}}, "G0096")
		got := score(half, "G0096")
		if want := onlyShell + (full-onlyShell)/2; tc.linear && math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: bootkit at half weight: score %v, want %v", tc.name, got, want)
		}
		if lo, hi := min(onlyShell, full), max(onlyShell, full); got <= lo || got >= hi {
			t.Errorf("%s: bootkit at half weight: score %v, want between %v (without it) and %v (whole)", tc.name, got, onlyShell, full)
		}
	}
}

// A parent technique observed alone (a rule tagged attack.t1558) means
// "some sub-technique of it": its evidence spreads over every group known
// for the parent or any of its sub-techniques. Before, it went to the few
// ATT&CK credits with the bare parent (T1558 alone: Akira 0.82; T1547:
// APT42 0.79, among 57 groups knowing it or a sub-technique).
func TestAttributeParentMeansSomeSubTechnique(t *testing.T) {
	kb := embeddedKB(t)
	m := kb.model()
	checked := 0
	for p, children := range m.children {
		if len(children) == 0 {
			continue
		}
		family := make(map[int]int) // group -> its techniques in the family
		subs := 0                   // groups known for a sub-technique
		for gi := range m.groups {
			sub := false
			for _, x := range m.profileT[gi] {
				if x == p || m.parent[x] == p {
					family[gi]++
					sub = sub || x != p
				}
			}
			if sub {
				subs++
			}
		}
		if subs < 4 {
			continue
		}
		checked++
		rk := Attribute(kb, Evidence{Techniques: []string{m.techs[p]}})
		for _, c := range rk.Candidates {
			gi := m.groupIndex[c.Group.ID]
			bare := family[gi] == 1 && slices.Contains(m.profileT[gi], p)
			if bare && c.Confidence > 0.2 {
				t.Errorf("%s alone (%d groups know a sub-technique): got %s, known for the bare parent only, at %.2f, want at most 0.2",
					m.techs[p], subs, c.Group.Name, c.Confidence)
			}
		}
		if top := rk.Candidates[0]; len(family) > 10 && top.Confidence > 0.4 {
			t.Errorf("%s alone (%d groups know it or a sub-technique): got %s at %.2f, want no group above 0.4",
				m.techs[p], len(family), top.Group.Name, top.Confidence)
		}
	}
	if checked < 20 {
		t.Fatalf("checked %d parent techniques, want at least 20", checked)
	}
}
