package hunt

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spoor-hunt/spoor/internal/operation"
)

// Operation is the story of one intrusion: detections joined across
// processes, logon sessions and hosts by operation.Build, with
// the ATT&CK groups its evidence resembles.
type Operation struct {
	// ID is stable across runs over the same evidence.
	ID string `json:"id"`
	// Severity is informational, low, medium, high or critical (its most
	// severe detection, or its score's band); Score ranks operations by
	// evidence of an intrusion (highest level, tactics and techniques
	// reached by distinct steps, hosts, rarity of its rules).
	Severity string  `json:"severity"`
	Score    float64 `json:"score"`
	// Hosts and Users are the computers (short names) and accounts
	// involved, sorted.
	Hosts []string `json:"hosts"`
	Users []string `json:"users"`
	// First and Last are the times of its first and last detection.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Tactics are the ATT&CK tactics its steps reach, in kill-chain
	// order; Techniques the technique IDs of its rules, sorted. Neither
	// counts informational rules (enrichment, no evidence).
	Tactics    []string `json:"tactics"`
	Techniques []string `json:"techniques"`
	// Detections are the indices of its detections in
	// Result.Detections, in time order.
	Detections []int `json:"detections"`
	// Narrative tells the story, one plain sentence per step, in time
	// order.
	Narrative []string `json:"narrative"`
	// Steps are the steps the sentences tell: one event (or the Sysmon
	// and Security records of one process creation) and its detections.
	Steps []Step `json:"steps"`
	// Context are the entities that link the detections beyond their own
	// processes: ancestors, logon sessions, dropped files, services,
	// tasks.
	Context []Entity `json:"context"`
	// Joins say which entity joined each pair of detections the builder
	// joined, and how (process tree, logon session, remote target, shared
	// file, service, task, nearby), for audit.
	Joins []Join `json:"joins"`
	// Lateral are the cross-host links the joins went through: from a
	// host to another, with a short label of the keys that made them.
	Lateral []Hop `json:"lateral"`
	// Graph is the hosts and processes of the operation and the links
	// between them, for drawing.
	Graph Graph `json:"graph"`
	// Attribution says which ATT&CK groups its evidence resembles; nil
	// when its rules name nothing ATT&CK knows.
	Attribution *Attribution `json:"attribution,omitempty"`
}

// Step is one step of an operation: one event and the rules it matched
// (Detections are indices in Result.Detections).
type Step = operation.Step

// Entity is one entity that links an operation's detections.
type Entity = operation.Entity

// Join is one link between two detections of an operation (Detections
// are indices in Result.Detections).
type Join = operation.Join

// Hop is one cross-host link of an operation.
type Hop = operation.Hop

// Graph is the processes of an operation on their hosts and the edges
// between them: parent to child on one host, and lateral movement from a
// process (or a host) to another host.
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Node is a process on a host, or a host itself (Kind "host": the end of a
// lateral edge with no known process).
type Node struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // process or host
	Host string `json:"host"`
	// Label is the process image's base name (or the host name).
	Label string `json:"label"`
	// Image is the process image as logged; CommandLine its command line
	// (cut); both "" for a host or a parent known only by name.
	Image       string `json:"image,omitempty"`
	CommandLine string `json:"command_line,omitempty"`
	// First is the time of its first detection (zero for a parent seen
	// only as one).
	First time.Time `json:"first,omitzero"`
	// Detections are the indices in Result.Detections of its detections.
	Detections []int `json:"detections,omitempty"`
}

// Edge links two nodes.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Kind is parent (From started To) or lateral (From reached the host
	// of To: a remote command, a network logon from its host).
	Kind string `json:"kind"`
	// Label, on a lateral edge, names the keys that joined the two hosts
	// (the labels of the operation's hops between them, "; "-separated).
	Label string `json:"label,omitempty"`
}

// buildOperations joins the detections of res (refs[i] describes
// res.Detections[i]) into res.Operations, each with its attribution. The
// operations are drawn and attributed on all cores, each goroutine with
// its own attributor (a KB is safe for concurrent use; only the caches
// are not). It returns ctx's error, and leaves res.Operations as it was,
// when ctx is done first.
func buildOperations(ctx context.Context, res *Result, refs []operation.DetectionRef, idx *operation.Index, at *attributor, tacticsOf func(string) []string) error {
	ops, err := operation.Build(ctx, refs, idx, operation.Options{TechniqueTactics: tacticsOf})
	if err != nil {
		return err
	}
	out := make([]Operation, len(ops))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(ops)) {
		var own *attributor
		if at != nil {
			own = &attributor{kb: at.kb}
		}
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(ops) && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				out[i] = operationOf(&ops[i], res.Detections, refs, own)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	res.Operations = out
	return nil
}

// operationOf is the Operation of o, drawn from refs and attributed by at.
func operationOf(o *operation.Operation, dets []Detection, refs []operation.DetectionRef, at *attributor) Operation {
	op := Operation{
		ID: o.ID, Severity: o.Severity, Score: round(o.Score, 3),
		Hosts: orEmpty(o.Hosts), Users: orEmpty(o.Users), First: o.First, Last: o.Last,
		Tactics: orEmpty(o.Tactics), Techniques: orEmpty(o.Techniques),
		Detections: o.Detections, Narrative: orEmpty(o.Narrative),
		Steps: make([]Step, 0, len(o.Steps)), Context: make([]Entity, 0, len(o.Context)),
	}
	if op.Detections == nil {
		op.Detections = []int{}
	}
	op.Steps = append(op.Steps, o.Steps...)
	op.Context = append(op.Context, o.Context...)
	op.Joins = append(make([]Join, 0, len(o.Joins)), o.Joins...)
	op.Lateral = append(make([]Hop, 0, len(o.Lateral)), o.Lateral...)
	op.Graph = graphOf(op.Steps, refs, op.Hosts)
	labelLateral(&op.Graph, op.Lateral)
	// Informational rules enrich events: their tags are no evidence of
	// an actor when the operation has other rules.
	informational := !slices.ContainsFunc(op.Detections, func(d int) bool { return LevelRank(dets[d].Rule.Level) != 0 })
	rules := make([]*Rule, 0, len(op.Detections))
	ds := make([]*Detection, 0, len(op.Detections))
	for _, d := range op.Detections {
		if !informational && LevelRank(dets[d].Rule.Level) == 0 {
			continue
		}
		rules = append(rules, dets[d].Rule)
		ds = append(ds, &dets[d])
	}
	op.Attribution = at.attributeSeen(rules, ds)
	return op
}

// graphOf draws the processes of the detections of steps (indices into
// refs) and their parents, with parent and lateral edges; hosts are the
// operation's hosts.
func graphOf(steps []Step, refs []operation.DetectionRef, hosts []string) Graph {
	g := Graph{Nodes: []Node{}, Edges: []Edge{}}
	index := map[string]int{}
	node := func(n Node) int {
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
	edges := map[Edge]bool{}
	edge := func(e Edge) {
		if e.From != e.To && !edges[e] {
			edges[e] = true
			g.Edges = append(g.Edges, e)
		}
	}
	hostNode := func(h string) string {
		id := "host:" + h
		node(Node{ID: id, Kind: "host", Host: h, Label: h})
		return id
	}
	inOp := func(name string) string {
		h := operation.HostName(name)
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
			r := &refs[di]
			host := operation.HostName(r.Host)
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
			graphStep(&g, st, di, refs, procID, node, edge, hostNode, inOp)
		}
	}
	return g
}

type hostPID struct {
	host string
	pid  int64
}

// graphStep adds detection di of step st to the graph.
func graphStep(g *Graph, st Step, di int, refs []operation.DetectionRef, procID func(string, string, int64) string,
	node func(Node) int, edge func(Edge),
	hostNode func(string) string, inOp func(string) string) {
	{
		r := &refs[di]
		host := operation.HostName(r.Host)
		id := procID(host, r.ProcessGUID, r.PID)
		var self string
		if id != "" {
			i := node(Node{ID: id, Kind: "process", Host: host, Label: baseName(r.Image), Image: r.Image, CommandLine: r.CommandLine})
			n := &g.Nodes[i]
			if n.First.IsZero() || r.Time.Before(n.First) {
				n.First = r.Time
			}
			if !slices.Contains(n.Detections, di) {
				n.Detections = append(n.Detections, di)
			}
			self = id
			if pid := procID(host, r.ParentProcessGUID, r.ParentPID); pid != "" {
				node(Node{ID: pid, Kind: "process", Host: host, Label: baseName(r.ParentImage), Image: r.ParentImage})
				edge(Edge{From: pid, To: id, Kind: "parent"})
			}
		}
		// Lateral: a command naming another host of the operation (by
		// name, or by address as the step's sentence resolves it: "→
		// FS01"), a logon from another host of the operation.
		targets := operation.CommandTargets(r.CommandLine)
		if _, after, ok := strings.Cut(st.Sentence, " → "); ok {
			if name, _, _ := strings.Cut(after, " "); name != "" {
				targets = append(targets, name)
			}
		}
		for _, t := range targets {
			if th := inOp(t); th != "" && th != host && self != "" {
				edge(Edge{From: self, To: hostNode(th), Kind: "lateral"})
			}
		}
		if r.TargetLogonID != "" && (r.LogonType == 3 || r.LogonType == 10) {
			if src := inOp(r.Detail); src != "" && src != host {
				to := self
				if to == "" {
					to = hostNode(host)
				}
				edge(Edge{From: hostNode(src), To: to, Kind: "lateral"})
			}
		}
	}
}

// labelLateral sets the label of each lateral edge of g to the keys of the
// hops between its two hosts, and draws the hops no edge shows (a command
// naming its target by an address the graph cannot place) from host to
// host.
func labelLateral(g *Graph, hops []Hop) {
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
				g.Nodes = append(g.Nodes, Node{ID: "host:" + hn, Kind: "host", Host: hn, Label: hn})
			}
		}
		g.Edges = append(g.Edges, Edge{From: "host:" + h.From, To: "host:" + h.To, Kind: "lateral", Label: labels(h.From, h.To, "")})
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

// baseName returns the file name of a Windows or POSIX path ("?" when
// empty).
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	if p == "" {
		return "?"
	}
	return p
}
