package html

import (
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/hunt"
)

// opGraphFixture is a web shell on WEB01 (w3wp → cmd → net, and cmd →
// wmic reaching DC01, where WmiPrvSE → cmd ran).
func opGraphFixture() hunt.Graph {
	return hunt.Graph{
		Nodes: []hunt.Node{
			{ID: "w3wp", Kind: "process", Host: "WEB01", Label: "w3wp.exe"},
			{ID: "cmd", Kind: "process", Host: "WEB01", Label: "cmd.exe", CommandLine: `cmd.exe /c whoami`, Detections: []int{0}},
			{ID: "net", Kind: "process", Host: "WEB01", Label: "net.exe", Detections: []int{1}},
			{ID: "wmic", Kind: "process", Host: "WEB01", Label: "WMIC.exe", CommandLine: `wmic /node:DC01 process call create "cmd"`, Detections: []int{2}},
			{ID: "host:DC01", Kind: "host", Host: "DC01", Label: "DC01"},
			{ID: "wmiprvse", Kind: "process", Host: "DC01", Label: "WmiPrvSE.exe"},
			{ID: "dccmd", Kind: "process", Host: "DC01", Label: "cmd.exe", Detections: []int{3}},
		},
		Edges: []hunt.Edge{
			{From: "w3wp", To: "cmd", Kind: "parent"},
			{From: "cmd", To: "net", Kind: "parent"},
			{From: "cmd", To: "wmic", Kind: "parent"},
			{From: "wmic", To: "host:DC01", Kind: "lateral", Label: `network logon 0x3e4a1f of CORP\adm ← WMIC.exe`},
			{From: "wmiprvse", To: "dccmd", Kind: "parent"},
		},
	}
}

// TestLayoutGraph: one lane per host in the operation's order, processes
// placed by depth (parent left of child) and row, every edge drawn, the
// lateral one ending at the DC01 lane's label.
func TestLayoutGraph(t *testing.T) {
	g := opGraphFixture()
	og := layoutGraph(&g, []string{"WEB01", "DC01"}, 1)
	if og == nil {
		t.Fatal("got no graph")
	}
	if len(og.Lanes) != 2 || og.Lanes[0].Host != "WEB01" || og.Lanes[1].Host != "DC01" {
		t.Fatalf("lanes: got %+v, want WEB01 then DC01", og.Lanes)
	}
	if len(og.Nodes) != 6 || len(og.Edges) != 5 {
		t.Errorf("got %d nodes and %d edges, want 6 processes and 5 edges", len(og.Nodes), len(og.Edges))
	}
	at := map[string]gNode{}
	for _, n := range og.Nodes {
		at[n.Label+"@"+strings.SplitN(n.Title, ":", 2)[0]] = n
	}
	w3, cmd, net, wmic := at["w3wp.exe@WEB01"], at["cmd.exe@WEB01"], at["net.exe@WEB01"], at["WMIC.exe@WEB01"]
	if !(w3.X < cmd.X && cmd.X < net.X && net.X == wmic.X && net.Y < wmic.Y && w3.Y == cmd.Y && cmd.Y == net.Y) {
		t.Errorf("tree layout: got w3wp %v,%v cmd %v,%v net %v,%v wmic %v,%v", w3.X, w3.Y, cmd.X, cmd.Y, net.X, net.Y, wmic.X, wmic.Y)
	}
	dc := at["cmd.exe@DC01"]
	if dc.Y < og.Lanes[1].Y || dc.Y > og.Lanes[1].Y+og.Lanes[1].H || !dc.Detected || w3.Detected {
		t.Errorf("DC01 cmd.exe: got %+v, want it in the DC01 lane, detected (w3wp not)", dc)
	}
	var lateral []gEdge
	for _, e := range og.Edges {
		if e.Kind == "lateral" {
			lateral = append(lateral, e)
		}
	}
	if len(lateral) != 1 || !strings.HasSuffix(lateral[0].D, px(8+gLaneLabelW/2)+" "+px(og.Lanes[1].Y+gPad)) {
		t.Errorf("lateral edges: got %+v, want one ending at the DC01 label", lateral)
	} else if lateral[0].Title != `network logon 0x3e4a1f of CORP\adm ← WMIC.exe` {
		t.Errorf("lateral edge title: got %q, want its join keys", lateral[0].Title)
	}
	if og.Width <= gLeft+2*gColW || og.Height <= og.Lanes[1].Y {
		t.Errorf("size: got %v x %v", og.Width, og.Height)
	}
	if g := layoutGraph(&hunt.Graph{Nodes: []hunt.Node{{ID: "host:X", Kind: "host", Host: "X"}}}, nil, 2); g != nil {
		t.Errorf("a graph without processes: got %+v, want nil", g)
	}
}

// TestLayoutGraphCap: past maxGraphNodes processes, the rest are counted,
// not drawn.
func TestLayoutGraphCap(t *testing.T) {
	var g hunt.Graph
	for i := range maxGraphNodes + 7 {
		g.Nodes = append(g.Nodes, hunt.Node{ID: "p" + num(i), Kind: "process", Host: "H", Label: "x.exe"})
	}
	og := layoutGraph(&g, []string{"H"}, 1)
	if len(og.Nodes) != maxGraphNodes || og.Hidden != 7 {
		t.Errorf("got %d nodes drawn, %d hidden; want %d and 7", len(og.Nodes), og.Hidden, maxGraphNodes)
	}
}

// fixtureOperations gives the fixture's Result one operation across WEB01
// and DC01, with a hostile command line in its story and graph.
func fixtureOperations(r *hunt.Result) {
	g := opGraphFixture()
	g.Nodes[1].CommandLine = hostileCommand
	r.Operations = []hunt.Operation{{
		ID: "op-0123456789ab", Severity: "critical", Score: 21.5,
		Hosts: []string{"WEB01", "DC01"}, Users: []string{`CORP\svc_web`},
		First: t0, Last: t0.Add(4*time.Hour + 30*time.Minute),
		Tactics:    []string{"initial-access", "persistence", "discovery", "credential-access", "lateral-movement"},
		Techniques: []string{"T1003.002", "T1190", "T1505.003"},
		Detections: []int{0, 1, 2, 3, 4},
		Narrative: []string{
			"2024-05-14 09:12 WEB01: w3wp.exe started cmd.exe /c whoami (Web server spawns a shell; T1505.003, T1190)",
			"2024-05-14 09:14 WEB01: cmd.exe started net.exe user /domain (Reconnaissance burst; T1087)",
			"2024-05-14 11:17 DC01: cmd.exe started " + hostileCommand + " (" + hostileRule + ")",
		},
		Graph: g,
		Attribution: &hunt.Attribution{
			Evidence: hunt.AttributionEvidence{Techniques: []string{"T1003.002", "T1190", "T1505.003"}, Software: []string{}, GroupHints: []string{}},
			Candidates: []hunt.Candidate{
				{Rank: 1, ID: "G0096", Name: "APT41", Score: 3.2, Confidence: 0.42, Shared: []hunt.SharedEvidence{
					{ID: "T1505.003", Name: "Web Shell", Kind: "technique", Groups: 30}, {ID: "T1003.002", Name: "Security Account Manager", Kind: "technique", Groups: 13}}},
				{Rank: 2, ID: "G0125", Name: "HAFNIUM", Score: 2.1, Confidence: 0.2, Shared: []hunt.SharedEvidence{{ID: "T1505.003", Name: "Web Shell", Kind: "technique", Groups: 30}}},
				{Rank: 3, ID: "G0027", Name: "Threat Group-3390", Score: 1.0, Confidence: 0.1, Shared: []hunt.SharedEvidence{}},
			},
		},
	}}
}
