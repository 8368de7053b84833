package attack

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// tinyBundle is tinyBundleJSON loaded.
func tinyBundle(t *testing.T) *KB {
	t.Helper()
	kb, err := LoadBundle(strings.NewReader(tinyBundleJSON()))
	if err != nil {
		t.Fatal(err)
	}
	return kb
}

// tinyBundleJSON is a STIX bundle of two groups, three techniques and one
// software, whose relationships cite reports A, B and C.
func tinyBundleJSON() string {
	obj := func(typ, id, attackID, name, extra string) string {
		return fmt.Sprintf(`{"type":%q,"id":%q,"name":%q,"external_references":[{"source_name":"mitre-attack","external_id":%q}]%s}`, typ, id, name, attackID, extra)
	}
	rel := func(id, src, dst string, reports ...string) string {
		refs := []string{`{"source_name":"mitre-attack","external_id":"ignored"}`}
		for _, r := range reports {
			refs = append(refs, fmt.Sprintf(`{"source_name":%q,"description":"a report"}`, r))
		}
		return fmt.Sprintf(`{"type":"relationship","id":%q,"relationship_type":"uses","source_ref":%q,"target_ref":%q,"external_references":[%s]}`,
			id, src, dst, strings.Join(refs, ","))
	}
	phase := `,"kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"execution"}]`
	objs := []string{
		obj("x-mitre-tactic", "x-mitre-tactic--1", "TA0002", "Execution", `,"x_mitre_shortname":"execution"`),
		obj("attack-pattern", "attack-pattern--1", "T1001", "One", phase),
		obj("attack-pattern", "attack-pattern--2", "T1002", "Two", phase),
		obj("attack-pattern", "attack-pattern--3", "T1003", "Three", phase),
		obj("intrusion-set", "intrusion-set--1", "G0001", "First", ""),
		obj("intrusion-set", "intrusion-set--2", "G0002", "Second", ""),
		obj("malware", "malware--1", "S0001", "Tool", ""),
		rel("relationship--a", "intrusion-set--1", "attack-pattern--1", "Report A"),
		rel("relationship--b", "intrusion-set--1", "attack-pattern--2", "Report A", "Report B"),
		rel("relationship--c", "intrusion-set--1", "malware--1", "Report A", "Report A"),
		rel("relationship--d", "intrusion-set--1", "attack-pattern--3", "Report A"),
		rel("relationship--e", "intrusion-set--1", "attack-pattern--3", "Report C"),
		rel("relationship--f", "intrusion-set--2", "attack-pattern--1", "Report B"),
		rel("relationship--g", "malware--1", "attack-pattern--1", "Report C"),
	}
	return `{"type":"bundle","objects":[` + strings.Join(objs, ",") + `]}`
}

func TestRelationshipCitations(t *testing.T) {
	kb := tinyBundle(t)
	if got := len(kb.Relationships()); got != 7 {
		t.Fatalf("relationships: got %d, want 7", got)
	}
	for _, tc := range []struct {
		id, src, dst string
		cites        []string
	}{
		{"relationship--a", "G0001", "T1001", []string{"Report A"}},
		{"relationship--b", "G0001", "T1002", []string{"Report A", "Report B"}},
		{"relationship--c", "G0001", "S0001", []string{"Report A"}},
		{"relationship--g", "S0001", "T1001", []string{"Report C"}},
	} {
		r, ok := kb.Relationship(tc.id)
		if !ok {
			t.Errorf("%s: not found", tc.id)
			continue
		}
		if r.Source != tc.src || r.Target != tc.dst || !slices.Equal(r.Citations, tc.cites) {
			t.Errorf("%s: got %s -> %s cited by %q, want %s -> %s cited by %q", tc.id, r.Source, r.Target, r.Citations, tc.src, tc.dst, tc.cites)
		}
	}
	if _, ok := kb.Relationship("relationship--zz"); ok {
		t.Error("relationship--zz: found, want not found")
	}
}

// TestHeldOut checks the leave-one-report-out rule: a listed relationship
// goes only when the held-out report is its only citation, and a link
// another kept relationship also makes stays.
func TestHeldOut(t *testing.T) {
	full := tinyBundle(t)
	c := reportCase{Group: "G0001", Report: "Report A",
		Relationships: []string{"relationship--a", "relationship--b", "relationship--c", "relationship--d", "relationship--missing"}}
	if got, want := heldOut(full, c), []string{"relationship--a", "relationship--c", "relationship--d"}; !slices.Equal(got, want) {
		t.Fatalf("held out: got %q, want %q", got, want)
	}

	groups := []*Group{&full.Groups[0], &full.Groups[1]}
	pos := map[string]int{"G0001": 0, "G0002": 1}
	ck := newCaseKB(full, groups, pos, c)
	g := ck.groups[0]
	// T1002 is also cited by Report B; T1003 is also linked by
	// relationship--e (Report C).
	if want := []string{"T1002", "T1003"}; !slices.Equal(g.Techniques, want) {
		t.Errorf("G0001 techniques without Report A: got %q, want %q", g.Techniques, want)
	}
	if len(g.Software) != 0 {
		t.Errorf("G0001 software without Report A: got %q, want none", g.Software)
	}
	if want := []string{"T1001", "T1002", "T1003"}; !slices.Equal(full.Groups[0].Techniques, want) {
		t.Errorf("full KB changed: G0001 techniques %q, want %q", full.Groups[0].Techniques, want)
	}
	if got := len(ck.kb.Relationships()); got != 4 {
		t.Errorf("view relationships: got %d, want 4", got)
	}
	if got, want := ck.df, map[string]int{"T1001": 1, "T1002": 1, "T1003": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("df: got %v, want %v", got, want)
	}
	// Reports other than A: G0001 B and C, G0002 B.
	if want := []int{2, 1}; !slices.Equal(ck.reports, want) {
		t.Errorf("reports: got %v, want %v", ck.reports, want)
	}

	// The view has its own attribution model: G0001 explains S0001 in
	// the full KB only.
	ev := Evidence{Software: []string{"S0001"}}
	explains := func(kb *KB) []string {
		var out []string
		for _, cand := range Attribute(kb, ev).Candidates {
			if len(cand.Matches) > 0 {
				out = append(out, cand.Group.ID)
			}
		}
		return out
	}
	if got := explains(full); !slices.Equal(got, []string{"G0001"}) {
		t.Errorf("full KB: groups explaining S0001: got %q, want [G0001]", got)
	}
	if got := explains(ck.kb); len(got) != 0 {
		t.Errorf("view without Report A: groups explaining S0001: got %q, want none", got)
	}
}

func TestPlacement(t *testing.T) {
	inf := math.Inf(-1)
	for _, tc := range []struct {
		scores           []float64
		truth            int
		top1, top3, top5 float64
		better, tied     int
	}{
		{[]float64{3, 5, 5, 1, 5}, 1, 1.0 / 3, 1, 1, 0, 2},
		{[]float64{3, 5, 5, 1, 5}, 0, 0, 0, 1, 3, 0},
		{[]float64{3, 5, 5, 1, 5}, 3, 0, 0, 1, 4, 0},
		{[]float64{9, 8, 7, 6, inf, inf, inf, inf}, 4, 0, 0, 0.25, 4, 3},
		{[]float64{1}, 0, 1, 1, 1, 0, 0},
	} {
		b, tied := placement(tc.scores, tc.truth)
		if b != tc.better || tied != tc.tied {
			t.Errorf("%v, truth %d: got %d better and %d tied, want %d and %d", tc.scores, tc.truth, b, tied, tc.better, tc.tied)
		}
		got := [3]float64{topK(b, tied, 1), topK(b, tied, 3), topK(b, tied, 5)}
		if want := [3]float64{tc.top1, tc.top3, tc.top5}; got != want {
			t.Errorf("%v, truth %d: got top-1/3/5 %v, want %v", tc.scores, tc.truth, got, want)
		}
	}
}

func TestECE(t *testing.T) {
	conf := []float64{0.05, 0.15, 0.15, 0.95, 1}
	hit := []float64{0, 1, 0, 1, 0.5}
	// Bins: 0.0-0.1 one case at 0.05, right 0; 0.1-0.2 two at 0.15,
	// right 0.5; 0.9-1.0 two at 0.975, right 0.75.
	e, bins := ece(conf, hit, 10)
	if want := (0.05 + 2*0.35 + 2*0.225) / 5; math.Abs(e-want) > 1e-12 {
		t.Errorf("ECE: got %v, want %v", e, want)
	}
	for _, tc := range []struct {
		bin  int
		want [3]float64
	}{{0, [3]float64{1, 0.05, 0}}, {1, [3]float64{2, 0.15, 0.5}}, {5, [3]float64{}}, {9, [3]float64{2, 0.975, 0.75}}} {
		got := bins[tc.bin]
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-12 {
				t.Errorf("bin %d: got %v, want %v", tc.bin, got, tc.want)
				break
			}
		}
	}
}

// FuzzLoadBundle reads arbitrary bundles: no panic, and when one loads,
// its relationships are sorted and hold every list entry: without all of
// them no group, software or campaign keeps any, and the KB they came
// from is unchanged. Inputs are capped at 64 KiB, which bounds the work.
func FuzzLoadBundle(f *testing.F) {
	f.Add(tinyBundleJSON())
	f.Add(`{"type":"bundle","objects":[]}`)
	f.Add(strings.ReplaceAll(tinyBundleJSON(), "relationship--e", "relationship--a"))
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 64<<10 {
			t.Skip()
		}
		kb, err := LoadBundle(strings.NewReader(in))
		if err != nil {
			return
		}
		rels := kb.Relationships()
		if !slices.IsSortedFunc(rels, func(a, b Relationship) int { return strings.Compare(a.ID, b.ID) }) {
			t.Fatal("relationships not sorted by ID")
		}
		before := fmt.Sprint(kb.Groups, kb.Software, kb.Campaigns)
		ids := make([]string, len(rels))
		for i, r := range rels {
			ids[i] = r.ID
		}
		v := kb.Without(ids...)
		if n := len(v.Relationships()); n != 0 {
			t.Errorf("without every relationship: got %d left, want 0", n)
		}
		for _, g := range v.Groups {
			if len(g.Techniques)+len(g.Software) > 0 {
				t.Errorf("group %s without every relationship: got %q and %q, want none", g.ID, g.Techniques, g.Software)
			}
		}
		for _, s := range v.Software {
			if len(s.Techniques) > 0 {
				t.Errorf("software %s without every relationship: got %q, want none", s.ID, s.Techniques)
			}
		}
		for _, c := range v.Campaigns {
			if len(c.Techniques)+len(c.Software) > 0 {
				t.Errorf("campaign %s without every relationship: got %q and %q, want none", c.ID, c.Techniques, c.Software)
			}
		}
		if after := fmt.Sprint(kb.Groups, kb.Software, kb.Campaigns); after != before {
			t.Errorf("Without changed the KB it was made from")
		}
	})
}
