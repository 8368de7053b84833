package hunt

import (
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/result"
)

// TestOperationsCuckooBees: the CuckooBees example (an intrusion across an
// ERP web server, a domain controller and a file server) is one critical
// operation holding every detection, its tactics in kill-chain order, its
// story one sentence per step, a graph of its processes on the three hosts
// with the lateral moves from ERP01, and the groups it resembles.
func TestOperationsCuckooBees(t *testing.T) {
	res, err := Run(t.Context(), []string{"../../examples/cuckoobees"}, Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Operations) != 1 {
		for _, op := range res.Operations {
			t.Logf("%s %s %v %d detections", op.ID, op.Severity, op.Hosts, len(op.Detections))
		}
		t.Fatalf("got %d operations, want 1", len(res.Operations))
	}
	op := res.Operations[0]
	if want := []string{"DC01", "ERP01", "FS01"}; !slices.Equal(op.Hosts, want) || op.Severity != "critical" {
		t.Errorf("got hosts %v severity %s, want %v critical", op.Hosts, op.Severity, want)
	}
	if len(op.Detections) != len(res.Detections) {
		t.Errorf("got %d of the %d detections in the operation, want all", len(op.Detections), len(res.Detections))
	}
	for i, d := range op.Detections {
		if d < 0 || d >= len(res.Detections) || (i > 0 && res.Detections[d].Time.Before(res.Detections[op.Detections[i-1]].Time)) {
			t.Fatalf("detection %d: index %d out of range or out of time order", i, d)
		}
	}
	if !op.First.Equal(res.Detections[op.Detections[0]].Time) || op.Last.Before(op.First) {
		t.Errorf("got first %v last %v", op.First, op.Last)
	}
	last := -1
	for _, ta := range op.Tactics {
		i := tacticIndex(ta)
		if i <= last {
			t.Errorf("tactics %v not in kill-chain order", op.Tactics)
		}
		last = i
	}
	for _, want := range []string{"initial-access", "credential-access", "lateral-movement", "exfiltration"} {
		if !slices.Contains(op.Tactics, want) {
			t.Errorf("tactics: got %v, want %s among them", op.Tactics, want)
		}
	}
	if len(op.Narrative) != len(op.Steps) || len(op.Narrative) < 50 {
		t.Errorf("got %d sentences for %d steps, want one per step, at least 50", len(op.Narrative), len(op.Steps))
	}
	if !strings.Contains(op.Narrative[0], "ERP01") || !strings.Contains(op.Narrative[0], "T1505.003") {
		t.Errorf("first step: got %q, want the web shell on ERP01", op.Narrative[0])
	}

	// Graph: nodes on the operation's hosts, edges between known nodes,
	// parent edges on one host, lateral edges from ERP01 to DC01 and FS01.
	g := op.Graph
	nodes := map[string]result.Node{}
	for _, n := range g.Nodes {
		if _, dup := nodes[n.ID]; dup {
			t.Errorf("node %s twice", n.ID)
		}
		nodes[n.ID] = n
		if !slices.Contains(op.Hosts, n.Host) {
			t.Errorf("node %s on host %q, not one of the operation's", n.ID, n.Host)
		}
	}
	lateral := map[string]bool{}
	for _, e := range g.Edges {
		from, ok1 := nodes[e.From]
		to, ok2 := nodes[e.To]
		if !ok1 || !ok2 {
			t.Fatalf("edge %+v: unknown node", e)
		}
		switch e.Kind {
		case "parent":
			if from.Host != to.Host {
				t.Errorf("parent edge %+v across hosts", e)
			}
		case "lateral":
			lateral[from.Host+">"+to.Host] = true
		default:
			t.Errorf("edge %+v: unknown kind", e)
		}
	}
	if !lateral["ERP01>DC01"] || !lateral["ERP01>FS01"] {
		t.Errorf("lateral edges: got %v, want ERP01>DC01 and ERP01>FS01", lateral)
	}
	// Every join is recorded; the move to DC01 is the WMI command's
	// network logon, and its edge says so.
	if len(op.Joins) < len(op.Detections)-1 {
		t.Errorf("got %d joins for %d detections, want one per union at least", len(op.Joins), len(op.Detections))
	}
	var labelled bool
	for _, e := range g.Edges {
		labelled = labelled || (e.Kind == "lateral" && nodes[e.From].Host == "ERP01" && nodes[e.To].Host == "DC01" &&
			strings.Contains(e.Label, `network logon`) && strings.Contains(e.Label, `WMIC.exe`))
	}
	if !labelled {
		t.Errorf("lateral edges: got %+v (hops %+v), want ERP01>DC01 labelled with the WMI logon", g.Edges, op.Lateral)
	}
	var w3 bool
	for _, n := range g.Nodes {
		w3 = w3 || (n.Host == "ERP01" && strings.EqualFold(n.Label, "java.exe"))
	}
	if !w3 {
		t.Error("graph: want the web server's java.exe on ERP01")
	}

	checkTacticsOfTechniques(t, res, &op)

	at := op.Attribution
	if at == nil || len(at.Candidates) != MaxCandidates || len(at.Evidence.Techniques) < 20 {
		t.Fatalf("attribution: got %+v, want %d candidates over at least 20 techniques", at, MaxCandidates)
	}
	if res.Attribution != nil {
		t.Error("whole-hunt attribution: got one, want none when there are operations")
	}
	// The intrusion is modelled on APT41's: APT41 is a candidate, and
	// what it is credited with includes the commands its ATT&CK
	// procedures quote (in <code>: `reg save`, `net share`) and the
	// operation ran.
	i := slices.IndexFunc(at.Candidates, func(c result.Candidate) bool { return c.ID == "G0096" })
	if i < 0 {
		t.Fatalf("candidates: got %v, want APT41 among them", candidateNames(at.Candidates))
	}
	var procs []string
	for _, p := range at.Candidates[i].Procedures {
		procs = append(procs, p.Artefact)
	}
	for _, want := range []string{"reg save", "net share"} {
		if !slices.Contains(procs, want) {
			t.Errorf("APT41's matched procedures: got %q, want %q among them", procs, want)
		}
	}
}

// TestCuckooBeesDefaultRules: with the default rules (built-in and
// SigmaHQ's package, as `spoor hunt` uses them) the intrusion's operation
// has APT41 among its first three candidates, credited with the commands
// its ATT&CK procedures quote. Nothing in the rules or the knowledge base
// names the example; what moves APT41 is how the evidence is weighed (a
// report's quoted commands count once, TestProcedureReports).
func TestCuckooBeesDefaultRules(t *testing.T) {
	res, err := Run(t.Context(), []string{"../../examples/cuckoobees"}, Options{SigmaHQ: sigmaHQ(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Operations) == 0 || res.Operations[0].Attribution == nil {
		t.Fatal("no operation with an attribution")
	}
	at := res.Operations[0].Attribution
	i := slices.IndexFunc(at.Candidates, func(c result.Candidate) bool { return c.ID == "G0096" })
	if i < 0 {
		t.Fatalf("candidates: got %v, want APT41 among the first %d", candidateNames(at.Candidates), MaxCandidates)
	}
	if len(at.Candidates[i].Procedures) == 0 || len(at.Candidates[i].Shared) == 0 {
		t.Errorf("APT41: got procedures %+v and shared %+v, want what it matched named", at.Candidates[i].Procedures, at.Candidates[i].Shared)
	}
}

func candidateNames(cs []result.Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// checkTacticsOfTechniques checks that the hunt's tactics list each
// technique only under its own tactics in ATT&CK, and that each step of op
// reaches only tactics of its detections' techniques (the CuckooBees rule
// for WinRM's compatibility listener is tagged initial access and
// persistence for T1133, lateral movement for T1021.006: T1021.006 is
// under lateral movement alone).
func checkTacticsOfTechniques(t *testing.T, res *result.Result, op *result.Operation) {
	t.Helper()
	kb, err := attack.Load()
	if err != nil {
		t.Fatal(err)
	}
	tacticsOf := techniqueTactics(kb)
	for _, tc := range res.Tactics {
		for _, id := range tc.Techniques {
			if of := tacticsOf(id); of != nil && !slices.Contains(of, tc.Short) {
				t.Errorf("hunt tactics: %s listed under %s, its tactics are %v", id, tc.Short, of)
			}
		}
	}
	winrm := false
	for _, st := range op.Steps {
		reached := map[string]bool{}
		for _, d := range st.Detections {
			r := res.Detections[d].Rule
			for _, id := range r.Techniques {
				of := tacticsOf(id)
				if of == nil {
					of = r.Tactics
				}
				for _, ta := range of {
					reached[ta] = true
				}
			}
			if slices.Contains(r.Techniques, "T1021.006") && slices.Contains(r.Techniques, "T1133") {
				winrm = true
			}
		}
		for _, ta := range st.Tactics {
			if !reached[ta] {
				t.Errorf("step %q: tactic %s, reached by none of its techniques", st.Sentence, ta)
			}
		}
	}
	if !winrm {
		t.Error("want the WinRM listener step (T1133, T1021.006) in the operation")
	}
	for _, tc := range res.Tactics {
		if (tc.Short == "initial-access" || tc.Short == "persistence") && slices.Contains(tc.Techniques, "T1021.006") {
			t.Errorf("hunt tactics: T1021.006 under %s", tc.Short)
		}
	}
}

// TestOperationsOff: NoOperations leaves the entity index and the
// operations out; the whole hunt is attributed instead.
func TestOperationsOff(t *testing.T) {
	res := fixture(t, Options{Workers: 2, NoOperations: true})
	if len(res.Operations) != 0 || res.Operations == nil {
		t.Errorf("got %d operations (nil %v), want an empty list", len(res.Operations), res.Operations == nil)
	}
	if res.Attribution == nil {
		t.Error("got no whole-hunt attribution, want one")
	}
	if got := fixture(t, Options{Workers: 2}); len(got.Operations) == 0 {
		t.Error("fixture: got no operations, want some")
	}
}

// TestTechniqueTactics: a technique's tactics come from ATT&CK, through a
// revocation, and an unknown sub-technique has its parent's.
func TestTechniqueTactics(t *testing.T) {
	kb, err := attack.Load()
	if err != nil {
		t.Fatal(err)
	}
	of := techniqueTactics(kb)
	for _, c := range []struct {
		id   string
		want []string
	}{
		{"T1021.006", []string{"lateral-movement"}},
		{"T1133", []string{"persistence", "initial-access"}},
		{"T1021.999", []string{"lateral-movement"}},
		{"T9999", nil},
		{"T9999.001", nil},
	} {
		got := slices.Clone(of(c.id))
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", c.id, got, c.want)
		}
	}
	revoked := 0
	for _, r := range kb.Revoked {
		if attack.KindOf(r.ID) != attack.KindTechnique {
			continue
		}
		revoked++
		if by, _, err := kb.Technique(r.By); err == nil && !slices.Equal(of(r.ID), by.Tactics) {
			t.Errorf("revoked %s: got %v, want its replacement %s's %v", r.ID, of(r.ID), r.By, by.Tactics)
		}
	}
	if revoked == 0 {
		t.Error("no revoked technique in ATT&CK: the revocation is untested")
	}
}
