package operation

import (
	"slices"
	"testing"

	"github.com/spoor-hunt/spoor/internal/result"
)

// TestLabelLateral: a lateral edge is labelled with the hops of its own
// process, else with those between its hosts; a hop no edge shows is drawn
// from host to host.
func TestLabelLateral(t *testing.T) {
	g := result.Graph{
		Nodes: []result.Node{{ID: "p1", Kind: "process", Host: "J"}, {ID: "proc:J:{W}", Kind: "process", Host: "J"}, {ID: "host:DC", Kind: "host", Host: "DC"}},
		Edges: []result.Edge{{From: "p1", To: "host:DC", Kind: "lateral"}, {From: "proc:J:{W}", To: "host:DC", Kind: "lateral"}},
	}
	hops := []result.Hop{
		{From: "J", To: "DC", Label: "network logon 0x1 of CORP\\adm ← WMIC.exe", ProcessGUID: "{W}"},
		{From: "J", To: "DC", Label: "service PSEXESVC ← PsExec.exe", ProcessGUID: "{P}"},
		{From: "J", To: "FS", Label: "file C:\\t\\e.exe copied ← cmd.exe"},
	}
	labelLateral(&g, hops)
	want := []result.Edge{
		{From: "p1", To: "host:DC", Kind: "lateral", Label: "network logon 0x1 of CORP\\adm ← WMIC.exe; service PSEXESVC ← PsExec.exe"},
		{From: "proc:J:{W}", To: "host:DC", Kind: "lateral", Label: "network logon 0x1 of CORP\\adm ← WMIC.exe"},
		{From: "host:J", To: "host:FS", Kind: "lateral", Label: "file C:\\t\\e.exe copied ← cmd.exe"},
	}
	if !slices.Equal(g.Edges, want) {
		t.Errorf("got edges %+v, want %+v", g.Edges, want)
	}
	if len(g.Nodes) != 5 {
		t.Errorf("got nodes %+v, want J's and FS's host nodes added", g.Nodes)
	}
}
