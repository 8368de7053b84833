package operation

import (
	"slices"
	"strconv"
	"strings"

	"github.com/spoor-hunt/spoor/internal/result"
)

// graphOf draws the processes of the detections of steps (ref gives the
// DetectionRef of an Index) and their parents, with parent and lateral
// edges; hosts are the operation's hosts.
func graphOf(steps []result.Step, ref func(int) DetectionRef, hosts []string) result.Graph {
	g := result.Graph{Nodes: []result.Node{}, Edges: []result.Edge{}}
	index := map[string]int{}
	node := func(n result.Node) int {
		if i, ok := index[n.ID]; ok {
			m := &g.Nodes[i]
			if m.Image == "" {
				m.Image, m.Label = n.Image, n.Label
			}
			if m.CommandLine == "" {
				m.CommandLine = n.CommandLine
			}
			return i
		}
		index[n.ID] = len(g.Nodes)
		g.Nodes = append(g.Nodes, n)
		return len(g.Nodes) - 1
	}
	edges := map[result.Edge]bool{}
	edge := func(e result.Edge) {
		if e.From != e.To && !edges[e] {
			edges[e] = true
			g.Edges = append(g.Edges, e)
		}
	}
	hostNode := func(h string) string {
		id := "host:" + h
		node(result.Node{ID: id, Kind: "host", Host: h, Label: h})
		return id
	}
	inOp := func(name string) string {
		h := HostName(name)
		if slices.Contains(hosts, h) {
			return h
		}
		return ""
	}
	// The Security 4688 twin of a Sysmon 1 process creation knows the
	// PID only: it is drawn as the process with that GUID.
	guids := map[hostPID]string{}
	for _, st := range steps {
		for _, di := range st.Detections {
			r := ref(di)
			host := HostName(r.Host)
			if r.ProcessGUID != "" && r.PID > 0 {
				guids[hostPID{host, r.PID}] = r.ProcessGUID
			}
			if r.ParentProcessGUID != "" && r.ParentPID > 0 {
				guids[hostPID{host, r.ParentPID}] = r.ParentProcessGUID
			}
		}
	}
	procID := func(host, guid string, pid int64) string {
		if guid == "" && pid > 0 {
			guid = guids[hostPID{host, pid}]
		}
		return processID(host, guid, pid)
	}
	for _, st := range steps {
		for _, di := range st.Detections {
			graphStep(&g, st, di, ref, procID, node, edge, hostNode, inOp)
		}
	}
	return g
}

// graphStep adds detection di of step st to the graph.
func graphStep(g *result.Graph, st result.Step, di int, ref func(int) DetectionRef, procID func(string, string, int64) string,
	node func(result.Node) int, edge func(result.Edge),
	hostNode func(string) string, inOp func(string) string) {
	{
		r := ref(di)
		host := HostName(r.Host)
		id := procID(host, r.ProcessGUID, r.PID)
		var self string
		if id != "" {
			i := node(result.Node{ID: id, Kind: "process", Host: host, Label: nodeLabel(r.Image), Image: r.Image, CommandLine: r.CommandLine})
			n := &g.Nodes[i]
			if n.First.IsZero() || r.Time.Before(n.First) {
				n.First = r.Time
			}
			if !slices.Contains(n.Detections, di) {
				n.Detections = append(n.Detections, di)
			}
			self = id
			if pid := procID(host, r.ParentProcessGUID, r.ParentPID); pid != "" {
				node(result.Node{ID: pid, Kind: "process", Host: host, Label: nodeLabel(r.ParentImage), Image: r.ParentImage})
				edge(result.Edge{From: pid, To: id, Kind: "parent"})
			}
		}
		// Lateral: a command naming another host of the operation (by
		// name, or by address as the step's sentence resolves it: "→
		// FS01"), a logon from another host of the operation.
		targets := CommandTargets(r.CommandLine)
		if _, after, ok := strings.Cut(st.Sentence, " → "); ok {
			if name, _, _ := strings.Cut(after, " "); name != "" {
				targets = append(targets, name)
			}
		}
		for _, t := range targets {
			if th := inOp(t); th != "" && th != host && self != "" {
				edge(result.Edge{From: self, To: hostNode(th), Kind: "lateral"})
			}
		}
		if r.TargetLogonID != "" && (r.LogonType == 3 || r.LogonType == 10) {
			if src := inOp(r.Detail); src != "" && src != host {
				to := self
				if to == "" {
					to = hostNode(host)
				}
				edge(result.Edge{From: hostNode(src), To: to, Kind: "lateral"})
			}
		}
	}
}

// labelLateral sets the label of each lateral edge of g to the keys of the
// hops between its two hosts, and draws the hops no edge shows (a command
// naming its target by an address the graph cannot place) from host to
// host.
func labelLateral(g *result.Graph, hops []result.Hop) {
	host := make(map[string]string, len(g.Nodes))
	for _, n := range g.Nodes {
		host[n.ID] = n.Host
	}
	// The hops of the edge's own process, else all those between its
	// hosts.
	labels := func(from, to, proc string) string {
		var l, own []string
		for _, h := range hops {
			if h.From == from && h.To == to && !slices.Contains(l, h.Label) {
				l = append(l, h.Label)
				if proc != "" && processID(h.From, h.ProcessGUID, h.PID) == proc {
					own = append(own, h.Label)
				}
			}
		}
		if len(own) > 0 {
			l = own
		}
		return strings.Join(l, "; ")
	}
	drawn := map[[2]string]bool{}
	for i := range g.Edges {
		e := &g.Edges[i]
		if e.Kind != "lateral" {
			continue
		}
		k := [2]string{host[e.From], host[e.To]}
		drawn[k] = true
		e.Label = labels(k[0], k[1], e.From)
	}
	for _, h := range hops {
		k := [2]string{h.From, h.To}
		if drawn[k] || h.From == "" || h.To == "" || h.From == h.To {
			continue
		}
		drawn[k] = true
		for _, hn := range k {
			if _, ok := host["host:"+hn]; !ok {
				host["host:"+hn] = hn
				g.Nodes = append(g.Nodes, result.Node{ID: "host:" + hn, Kind: "host", Host: hn, Label: hn})
			}
		}
		g.Edges = append(g.Edges, result.Edge{From: "host:" + h.From, To: "host:" + h.To, Kind: "lateral", Label: labels(h.From, h.To, "")})
	}
}

// processID names a process node: its ProcessGuid, else its PID, on its
// host; "" when neither is known.
func processID(host, guid string, pid int64) string {
	switch {
	case guid != "":
		return "proc:" + host + ":" + guid
	case pid > 0:
		return "proc:" + host + ":pid" + strconv.FormatInt(pid, 10)
	}
	return ""
}

// nodeLabel returns the file name of a Windows or POSIX path ("?" when
// empty).
func nodeLabel(p string) string {
	if b := baseName(p); b != "" {
		return b
	}
	return "?"
}
