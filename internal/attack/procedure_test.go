package attack

import (
	"math"
	"slices"
	"testing"
)

func TestRecognizeProcedures(t *testing.T) {
	kb := embeddedKB(t)
	for _, c := range []struct {
		text string
		want []string
	}{
		// APT41's procedure text quotes `net config Workstation`.
		// Tokens in order: net.exe's "exe" breaks the sequence.
		{`C:\Windows\system32\net.exe config workstation`, nil},
		{`cmd /c net config Workstation`, []string{"net config workstation"}},
		// Every discovery technique names whoami: not an artefact.
		{`whoami /all`, nil},
		{`cmd.exe /c dir`, nil},
		// One stretch of text is one observation: "net view" (named for
		// some groups) within "net view /domain" (named for others) is
		// not a second one.
		{`net view /domain`, []string{"net view domain"}},
		{`net view /domain & net view`, []string{"net view", "net view domain"}},
	} {
		got := kb.RecognizeProcedures(c.text)
		if !slices.Equal(got, c.want) {
			t.Errorf("RecognizeProcedures(%q): got %q, want %q", c.text, got, c.want)
		}
	}
}

func TestAttributeProcedures(t *testing.T) {
	kb := embeddedKB(t)
	arts := kb.RecognizeProcedures(`cmd /c net config Workstation`)
	without := Summarize(kb, Evidence{Techniques: []string{"T1016"}}, 200)
	with := Summarize(kb, Evidence{Techniques: []string{"T1016"}, Procedures: arts}, 200)
	rank := func(s *Summary) int {
		return slices.IndexFunc(s.Candidates, func(r Resemblance) bool { return r.ID == "G0096" })
	}
	if rw, ro := rank(with), rank(without); rw != 0 || ro == 0 {
		t.Fatalf("APT41 with its documented `net config workstation`: rank %d, without it %d; want first only with it", rw+1, ro+1)
	}
	ps := with.Candidates[0].Procedures
	if len(ps) != 1 || ps[0].Artefact != "net config workstation" || len(ps[0].Sources) == 0 || ps[0].Target == "" || ps[0].Bits <= 0 {
		t.Errorf("APT41's matched procedures: got %+v, want net config workstation with its technique and sources", ps)
	}
	if len(with.Candidates[1].Procedures) != 0 && with.Candidates[1].Procedures[0].Groups == 1 {
		t.Errorf("runner-up %s credited a procedure only APT41 is documented with", with.Candidates[1].Name)
	}
}

// TestArtefactsCodeTags: ATT&CK quotes code in HTML's <code> as well as in
// backticks; both are artefacts (APT41's `reg save` and `net share` are
// written in <code>).
func TestArtefactsCodeTags(t *testing.T) {
	got := artefacts("used the <code>net share</code> command and `net config Workstation`; <code>whoami</code>")
	want := []artefact{{"net share", "net share"}, {"net config workstation", "net config Workstation"}}
	if !slices.Equal(got, want) {
		t.Errorf("artefacts: got %q, want %q", got, want)
	}
	kb := embeddedKB(t)
	for _, a := range []string{"reg save", "net share"} {
		if !slices.ContainsFunc(kb.Procedures, func(p Procedure) bool { return p.Group == "G0096" && p.Artefact == a }) {
			t.Errorf("APT41's procedures: %q missing", a)
		}
	}
}

// FuzzRecognizeProcedures: any text gives known artefacts, sorted, once.
func FuzzRecognizeProcedures(f *testing.F) {
	kb, err := Load()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`cmd /c net config Workstation`, `fsutil fsinfo drives`, "\xff\xfe net", `makecab.exe /f x`, ``} {
		f.Add(s)
	}
	pm := kb.procMatcher()
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return
		}
		arts := kb.RecognizeProcedures(text)
		byGroup := map[string][]string{}
		for i, a := range arts {
			if len(pm.groups[a]) == 0 || (i > 0 && arts[i-1] >= a) {
				t.Fatalf("got %q: %q unknown or out of order", arts, a)
			}
			for _, g := range pm.groups[a] {
				byGroup[g] = append(byGroup[g], a)
			}
		}
		// Each group counts one artefact at least, none for more than it
		// weighs alone.
		for g, as := range byGroup {
			counted := 0
			for i, b := range pm.counted(g, as, 172) {
				if b < 0 || b > procedureBits(pm.named(as[i]), 172)+1e-12 {
					t.Fatalf("%s: %q counted %v bits", g, as[i], b)
				}
				if b > 0 {
					counted++
				}
			}
			if counted == 0 {
				t.Fatalf("%s: none of %q counted", g, as)
			}
		}
	})
}

// TestSummarizeCluster: a candidate shows the groups ATT&CK relates to it
// with their confidence, and the cluster's together.
func TestSummarizeCluster(t *testing.T) {
	kb := embeddedKB(t)
	s := Summarize(kb, Evidence{Techniques: []string{"T1195.002", "T1542.003", "T1574.006"}, Software: []string{"S0430"}}, 5)
	i := slices.IndexFunc(s.Candidates, func(r Resemblance) bool { return r.ID == "G0044" })
	if i < 0 {
		t.Fatalf("Winnti Group not among %+v", s.Candidates)
	}
	w := s.Candidates[i]
	j := slices.IndexFunc(w.Related, func(r RelatedShare) bool { return r.ID == "G0096" })
	if j < 0 {
		t.Fatalf("Winnti Group's related: got %+v, want APT41", w.Related)
	}
	sum := w.Confidence
	for _, r := range w.Related {
		sum += r.Confidence
	}
	if math.Abs(w.ClusterConfidence-sum) > 0.002 || w.ClusterConfidence < w.Related[j].Confidence {
		t.Errorf("cluster confidence %v, want Winnti's %v plus its related groups' (%v)", w.ClusterConfidence, w.Confidence, sum)
	}
}

// TestProcedureReports: the artefacts one report describes a group doing
// count as one observation (its strongest), those of different reports
// one each. ESET's ComRAT report quotes Turla's reconnaissance burst;
// APT41's `net share` and `reg save` come from different reports.
func TestProcedureReports(t *testing.T) {
	kb := embeddedKB(t)
	burst := kb.RecognizeProcedures("net session & net time & net user /domain & net view /domain & net accounts /domain")
	if len(burst) != 5 {
		t.Fatalf("RecognizeProcedures: got %q, want five artefacts", burst)
	}
	check := func(group string, arts []string, wantCounted int) {
		t.Helper()
		s := Summarize(kb, Evidence{Procedures: arts}, 200)
		i := slices.IndexFunc(s.Candidates, func(r Resemblance) bool { return r.ID == group })
		if i < 0 {
			t.Fatalf("%s not among the candidates", group)
		}
		ps := s.Candidates[i].Procedures
		counted, best, sum := 0, 0.0, 0.0
		for _, p := range ps {
			if p.Bits > 0 {
				counted++
			}
			best, sum = max(best, p.Bits), sum+p.Bits
		}
		if len(ps) != len(arts) || counted != wantCounted {
			t.Errorf("%s: %d procedures matched, %d counted; want %d matched, %d counted: %+v", group, len(ps), counted, len(arts), wantCounted, ps)
		}
		if wantCounted == 1 && math.Abs(sum-best) > 1e-9 {
			t.Errorf("%s: the burst weighs %.3f bits, want its strongest artefact's %.3f", group, sum, best)
		}
	}
	check("G0010", burst, 1)
	check("G0096", kb.RecognizeProcedures("net share & reg save HKLM\\SAM sam.hiv"), 2)
}
