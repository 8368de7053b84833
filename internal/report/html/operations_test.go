package html

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/result"
)

// opGraphFixture is a web shell on WEB01 (w3wp → cmd → net, and cmd →
// wmic reaching DC01, where WmiPrvSE → cmd ran).
func opGraphFixture() result.Graph {
	return result.Graph{
		Nodes: []result.Node{
			{ID: "w3wp", Kind: "process", Host: "WEB01", Label: "w3wp.exe"},
			{ID: "cmd", Kind: "process", Host: "WEB01", Label: "cmd.exe", CommandLine: `cmd.exe /c whoami`, Detections: []int{0}},
			{ID: "net", Kind: "process", Host: "WEB01", Label: "net.exe", Detections: []int{1}},
			{ID: "wmic", Kind: "process", Host: "WEB01", Label: "WMIC.exe", CommandLine: `wmic /node:DC01 process call create "cmd"`, Detections: []int{2}},
			{ID: "host:DC01", Kind: "host", Host: "DC01", Label: "DC01"},
			{ID: "wmiprvse", Kind: "process", Host: "DC01", Label: "WmiPrvSE.exe"},
			{ID: "dccmd", Kind: "process", Host: "DC01", Label: "cmd.exe", Detections: []int{3}},
		},
		Edges: []result.Edge{
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
	if len(lateral) != 1 || !strings.HasSuffix(lateral[0].D, px(gLabelX+gLaneLabelW+gArcGap)+" "+px(og.Lanes[1].Y+gPad+gNodeH/2)) {
		t.Errorf("lateral edges: got %+v, want one ending beside the DC01 label", lateral)
	} else if lateral[0].Title != `network logon 0x3e4a1f of CORP\adm ← WMIC.exe` {
		t.Errorf("lateral edge title: got %q, want its join keys", lateral[0].Title)
	}
	if og.Width <= gLeft+2*gColW || og.Height <= og.Lanes[1].Y {
		t.Errorf("size: got %v x %v", og.Width, og.Height)
	}
	if g := layoutGraph(&result.Graph{Nodes: []result.Node{{ID: "host:X", Kind: "host", Host: "X"}}}, nil, 2); g != nil {
		t.Errorf("a graph without processes: got %+v, want nil", g)
	}
}

// TestLayoutGraphCap: past maxGraphNodes processes, the rest are counted,
// not drawn.
func TestLayoutGraphCap(t *testing.T) {
	var g result.Graph
	for i := range maxGraphNodes + 7 {
		g.Nodes = append(g.Nodes, result.Node{ID: "p" + num(i), Kind: "process", Host: "H", Label: "x" + num(i) + ".exe"})
	}
	og := layoutGraph(&g, []string{"H"}, 1)
	if len(og.Nodes) != maxGraphNodes || og.Hidden != 7 {
		t.Errorf("got %d nodes drawn, %d hidden; want %d and 7", len(og.Nodes), og.Hidden, maxGraphNodes)
	}
}

// TestLayoutGraphRepeatedSiblings: a parent that starts cmd.exe → reg.exe
// three times is drawn with one cmd.exe box and one reg.exe box, each
// with its count, their hover text holding every command line.
func TestLayoutGraphRepeatedSiblings(t *testing.T) {
	g := result.Graph{Nodes: []result.Node{{ID: "ps", Kind: "process", Host: "A", Label: "powershell.exe", CommandLine: "powershell -enc AAA"}}}
	for i := range 3 {
		c, r := "cmd"+num(i), "reg"+num(i)
		g.Nodes = append(g.Nodes,
			result.Node{ID: c, Kind: "process", Host: "A", Label: "cmd.exe", CommandLine: "cmd.exe /c reg query HKLM\\k" + num(i)},
			result.Node{ID: r, Kind: "process", Host: "A", Label: "reg.exe", CommandLine: "reg query HKLM\\k" + num(i), Detections: []int{i}})
		g.Edges = append(g.Edges, result.Edge{From: "ps", To: c, Kind: "parent"}, result.Edge{From: c, To: r, Kind: "parent"})
	}
	// A sibling with another image stays apart.
	g.Nodes = append(g.Nodes, result.Node{ID: "who", Kind: "process", Host: "A", Label: "whoami.exe", CommandLine: "whoami"})
	g.Edges = append(g.Edges, result.Edge{From: "ps", To: "who", Kind: "parent"})
	og := layoutGraph(&g, []string{"A"}, 1)
	labels := map[string]gNode{}
	for _, n := range og.Nodes {
		labels[n.Label] = n
	}
	if len(og.Nodes) != 4 || len(og.Edges) != 3 {
		t.Fatalf("got %d boxes %v and %d edges, want 4 boxes and 3 edges", len(og.Nodes), labels, len(og.Edges))
	}
	cmd, reg := labels["cmd.exe ×3"], labels["reg.exe ×3"]
	if cmd.Count != 3 || reg.Count != 3 || !reg.Detected || labels["whoami.exe"].Count != 1 {
		t.Errorf("got boxes %+v, want cmd.exe ×3, reg.exe ×3 (detected) and whoami.exe", labels)
	}
	for i := range 3 {
		if want := "reg query HKLM\\k" + num(i); !strings.Contains(reg.Title, "\n"+want+"\n") && !strings.HasSuffix(reg.Title, "\n"+want) {
			t.Errorf("reg.exe box title %q: want command line %q", reg.Title, want)
		}
	}
	if !strings.Contains(labels["powershell.exe"].Title, "powershell -enc AAA") || !strings.Contains(reg.Title, "3 detections") {
		t.Errorf("titles: got %q and %q, want the command line and the detections", labels["powershell.exe"].Title, reg.Title)
	}
	if !strings.Contains(og.Desc, "8 processes in 4 boxes") {
		t.Errorf("got description %q", og.Desc)
	}
}

// TestLateralArcsClearOfLabels: lateral arcs, whichever way they go, stay
// right of the host labels (a quadratic arc stays within the hull of its
// three points), and a long host name is cut to fit its label.
func TestLateralArcsClearOfLabels(t *testing.T) {
	long := "WORKSTATION-FINANCE-042"
	g := result.Graph{
		Nodes: []result.Node{
			{ID: "a", Kind: "process", Host: "WEB01", Label: "w3wp.exe"},
			{ID: "b", Kind: "process", Host: "WEB01", Label: "cmd.exe"},
			{ID: "host:DC01", Kind: "host", Host: "DC01", Label: "DC01"},
			{ID: "c", Kind: "process", Host: long, Label: "wsmprovhost.exe"},
			{ID: "host:WEB01", Kind: "host", Host: "WEB01", Label: "WEB01"},
			{ID: "d", Kind: "process", Host: "DC01", Label: "cmd.exe"},
		},
		Edges: []result.Edge{
			{From: "a", To: "b", Kind: "parent"},
			{From: "b", To: "host:DC01", Kind: "lateral"},
			{From: "b", To: "c", Kind: "lateral"},
			{From: "c", To: "host:WEB01", Kind: "lateral"},
			{From: "host:WEB01", To: "d", Kind: "lateral"},
		},
	}
	og := layoutGraph(&g, []string{"WEB01", long, "DC01"}, 1)
	right := gLabelX + gLaneLabelW
	n := 0
	for _, e := range og.Edges {
		if e.Kind != "lateral" {
			continue
		}
		n++
		var ax, ay, cx, cy, bx, by float64
		if _, err := fmt.Sscanf(e.D, "M%f %f Q%f %f %f %f", &ax, &ay, &cx, &cy, &bx, &by); err != nil {
			t.Fatalf("lateral path %q: %v", e.D, err)
		}
		if min(ax, cx, bx) <= right {
			t.Errorf("lateral path %q reaches x %v, over the host labels (right edge %v)", e.D, min(ax, cx, bx), right)
		}
	}
	if n != 4 {
		t.Errorf("got %d lateral arcs, want 4", n)
	}
	for _, l := range og.Lanes {
		if utf8.RuneCountInString(l.Label) > gHostRunes || !strings.HasPrefix(l.Host, strings.TrimSuffix(l.Label, "…")) {
			t.Errorf("lane %q: label %q, want at most %d runes of it", l.Host, l.Label, gHostRunes)
		}
	}
}

// fixtureOperations gives the fixture's Result one operation across WEB01
// and DC01, with a hostile command line in its story and graph.
func fixtureOperations(r *result.Result) {
	g := opGraphFixture()
	g.Nodes[1].CommandLine = hostileCommand
	r.Operations = []result.Operation{{
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
		Steps: []result.Step{{Tactics: []string{"initial-access", "persistence"}}, {Tactics: []string{"discovery"}}, {Tactics: []string{}}},
		Graph: g,
		Attribution: &result.Attribution{
			Evidence: result.AttributionEvidence{Techniques: []string{"T1003.002", "T1190", "T1505.003"}, Software: []string{}, GroupHints: []string{}},
			Candidates: []result.Candidate{
				{Rank: 1, ID: "G0096", Name: "APT41", Score: 3.2, Confidence: 0.42, Shared: []result.SharedEvidence{
					{ID: "T1505.003", Name: "Web Shell", Kind: "technique", Groups: 30}, {ID: "T1003.002", Name: "Security Account Manager", Kind: "technique", Groups: 13}}},
				{Rank: 2, ID: "G0125", Name: "HAFNIUM", Score: 2.1, Confidence: 0.2, Shared: []result.SharedEvidence{{ID: "T1505.003", Name: "Web Shell", Kind: "technique", Groups: 30}}},
				{Rank: 3, ID: "G0027", Name: "Threat Group-3390", Score: 1.0, Confidence: 0.1, Shared: []result.SharedEvidence{}},
			},
		},
	}}
}

// TestOperationCardNoTime: an operation whose detections have no time
// says so, not 0001-01-01; each step shows the tactics it reaches.
func TestOperationCardNoTime(t *testing.T) {
	r := &result.Result{Operations: []result.Operation{{ID: "op-1", Severity: "high", Hosts: []string{"A"}, Narrative: []string{"(no time) A: x"},
		Steps: []result.Step{{Sentence: "(no time) A: x", Tactics: []string{"lateral-movement", "persistence"}}}}}}
	c := operationCards(r)
	if len(c) != 1 || c[0].First != "(no time)" || c[0].Last != "(no time)" {
		t.Fatalf("got %+v, want first and last (no time)", c)
	}
	if got := c[0].Steps; len(got) != 1 || got[0].Tactics != "Lateral Movement, Persistence" {
		t.Errorf("got steps %+v, want the step's tactics by name", got)
	}
}

// TestCuckooBeesGraph: on the CuckooBees example's operation (web shell on
// ERP01, moves to DC01 and FS01), no two boxes of one parent share an
// image (its 27 cmd.exe under java.exe are one box), each box's hover text
// holds its command lines, and no lateral arc reaches into the host
// label column.
func TestCuckooBeesGraph(t *testing.T) {
	res, err := hunt.Run(t.Context(), []string{"../../../examples/cuckoobees"}, hunt.Options{Workers: 2, NoAttribution: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Operations) != 1 {
		t.Fatalf("got %d operations, want 1", len(res.Operations))
	}
	op := &res.Operations[0]
	og := layoutGraph(&op.Graph, op.Hosts, 1)
	type spot struct {
		x, y float64
	}
	at := map[spot]gNode{}
	repeated := 0
	for _, n := range og.Nodes {
		at[spot{n.X, n.Y}] = n
		if n.Count > 1 {
			repeated++
		}
	}
	if repeated == 0 || len(og.Nodes) >= len(op.Graph.Nodes) {
		t.Errorf("got %d boxes for %d nodes, %d of them repeated; want repeated siblings collapsed", len(og.Nodes), len(op.Graph.Nodes), repeated)
	}
	// Siblings: the boxes a parent edge leaves one box for.
	kids := map[spot][]gNode{}
	for _, e := range og.Edges {
		if e.Kind != "parent" {
			continue
		}
		var ax, ay, c1, c2, c3, c4, bx, by float64
		if _, err := fmt.Sscanf(e.D, "M%f %f C%f %f %f %f %f %f", &ax, &ay, &c1, &c2, &c3, &c4, &bx, &by); err != nil {
			t.Fatalf("parent path %q: %v", e.D, err)
		}
		from := spot{ax - gNodeW, ay - gNodeH/2}
		kids[from] = append(kids[from], at[spot{bx, by - gNodeH/2}])
	}
	for from, ks := range kids {
		seen := map[string]bool{}
		for _, k := range ks {
			name := strings.Fields(k.Label)[0]
			if seen[name] {
				t.Errorf("box %q: two children %s", at[from].Label, name)
			}
			seen[name] = true
		}
	}
	for i := range op.Graph.Nodes {
		nd := &op.Graph.Nodes[i]
		if nd.CommandLine == "" || nd.Kind != "process" {
			continue
		}
		found := false
		for _, n := range og.Nodes {
			found = found || strings.Contains(n.Title, cut(nd.CommandLine, titleCommandRunes))
		}
		if !found {
			t.Errorf("command line %q of %s in no box's hover text", nd.CommandLine, nd.Label)
		}
	}
	for _, e := range og.Edges {
		if e.Kind != "lateral" {
			continue
		}
		var ax, ay, cx, cy, bx, by float64
		if _, err := fmt.Sscanf(e.D, "M%f %f Q%f %f %f %f", &ax, &ay, &cx, &cy, &bx, &by); err != nil {
			t.Fatalf("lateral path %q: %v", e.D, err)
		}
		if min(ax, cx, bx) <= gLabelX+gLaneLabelW {
			t.Errorf("lateral path %q over the host labels", e.D)
		}
	}
}

// TestExposureTable: an operation's exposure is a table on its card, each
// item with its paths, size note, strength and why, and the note that
// valuable data was inferred.
func TestExposureTable(t *testing.T) {
	r := &result.Result{Tool: "spoor", Operations: []result.Operation{{ID: "op-1", Severity: "high", Exposure: &result.Exposure{
		Summary: "1 staged", Inferred: true, CrownJewels: []string{"CAD drawings (inferred)"},
		Items: []result.ExposureItem{{Kind: "staged", Tool: "rar", Host: "FS03", Sources: []string{`D:\CAD\*.dwg`}, Destination: `C:\t\<a>.rar`,
			Password: true, SizeNote: "3 volumes of 100 MiB", Strength: "strong", Why: "the command names its sources"}},
	}}}}
	var b strings.Builder
	if err := Write(&b, r); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{`<table class="exposure">`, `D:\CAD\*.dwg`, `C:\t\&lt;a&gt;.rar`, "password; 3 volumes of 100 MiB", `lv-high" title="the command names its sources">strong`, "Valuable data inferred"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
