package html

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/spoor-hunt/spoor/internal/hunt"
)

// The operation view: one card per operation (severity, hosts, users,
// time span, tactics, the ATT&CK groups it resembles, its story) with a
// graph of its hosts and processes drawn as inline SVG: one lane per host,
// processes as boxes laid out as trees (parent left of child), parent edges
// within a lane and lateral edges from a process to the lane of the host
// it reached.

// Limits of the operation view.
const (
	maxOperations = 50  // cards
	maxSteps      = 200 // sentences per card
	maxGraphNodes = 150 // processes per graph
)

// Graph geometry, in SVG user units.
const (
	gLaneLabelW = 104.0 // host label box
	gLeft       = 124.0 // x of depth 0
	gColW       = 156.0
	gNodeW      = 136.0
	gNodeH      = 22.0
	gRowH       = 30.0
	gPad        = 10.0
	gMaxDepth   = 12
	gLabelRunes = 19
)

type opCard struct {
	Index       int
	ID          string
	Severity    string // CSS level name
	Score       string
	Hosts       []string
	Users       []string
	First, Last string
	Tactics     []string // names, kill-chain order
	Detections  int
	Steps       []string
	MoreSteps   int
	TotalSteps  int
	Candidates  []candRow
	// None is the confidence that the evidence is none of ATT&CK's
	// groups'; NoneFirst is set when that is likelier than the best group.
	None      string
	NoneFirst bool
	Unknown   string
	Graph     *opGraph
}

type candRow struct {
	Rank       int
	ID, Name   string
	Confidence string
	Shared     string // IDs, most distinctive first
	SharedFull string // "ID name" list, for the title
}

type opGraph struct {
	Width, Height float64
	Lanes         []gLane
	Nodes         []gNode
	Edges         []gEdge
	Hidden        int // processes not drawn (past maxGraphNodes)
	Marker        string
	Desc          string
}

type gLane struct {
	Host           string
	Y, H           float64
	LabelX, LabelY float64
	Width          float64
}

type gNode struct {
	X, Y     float64
	Label    string
	Title    string
	Detected bool
}

type gEdge struct {
	D     string // SVG path
	Kind  string // parent or lateral
	Title string // a lateral edge's keys, shown on hover
}

// operationCards returns the cards of r's operations, most severe first
// (as r lists them), at most maxOperations.
func operationCards(r *hunt.Result) []opCard {
	ops := r.Operations[:min(len(r.Operations), maxOperations)]
	cards := make([]opCard, 0, len(ops))
	for i := range ops {
		op := &ops[i]
		c := opCard{
			Index: i + 1, ID: op.ID, Severity: levels[levelIndex(op.Severity)].Name,
			Score:      strconv.FormatFloat(op.Score, 'f', -1, 64),
			Hosts:      op.Hosts,
			Users:      op.Users,
			First:      op.First.UTC().Format(timeLayout),
			Last:       op.Last.UTC().Format(timeLayout),
			Detections: len(op.Detections),
		}
		for _, t := range op.Tactics {
			c.Tactics = append(c.Tactics, tacticName(t))
		}
		c.Steps = op.Narrative[:min(len(op.Narrative), maxSteps)]
		c.MoreSteps = len(op.Narrative) - len(c.Steps)
		c.TotalSteps = len(op.Narrative)
		if at := op.Attribution; at != nil {
			for _, cand := range at.Candidates {
				row := candRow{Rank: cand.Rank, ID: cand.ID, Name: cand.Name, Confidence: strconv.FormatFloat(cand.Confidence, 'f', 2, 64)}
				var ids, full []string
				for _, s := range cand.Shared {
					ids = append(ids, s.ID)
					full = append(full, s.ID+" "+s.Name)
				}
				row.Shared = cmp.Or(strings.Join(ids, ", "), "no shared evidence")
				row.SharedFull = strings.Join(full, "; ")
				c.Candidates = append(c.Candidates, row)
			}
			c.Unknown = strings.Join(at.Unknown, ", ")
			c.None = strconv.FormatFloat(at.UnknownActor, 'f', 2, 64)
			c.NoneFirst = len(at.Candidates) > 0 && at.UnknownActor >= at.Candidates[0].Confidence
		}
		c.Graph = layoutGraph(&op.Graph, op.Hosts, i+1)
		cards = append(cards, c)
	}
	return cards
}

// layoutGraph places the graph of an operation: a lane per host (in hosts
// order, then any other host of a node), each process tree depth first,
// children by first detection. It returns nil for a graph without a
// process.
func layoutGraph(g *hunt.Graph, hosts []string, n int) *opGraph {
	type place struct {
		lane       int
		row, depth int
		drawn      bool
	}
	procs := 0
	for _, nd := range g.Nodes {
		if nd.Kind == "process" {
			procs++
		}
	}
	if procs == 0 {
		return nil
	}
	laneOf := map[string]int{}
	var laneHosts []string
	addLane := func(h string) {
		if _, ok := laneOf[h]; !ok {
			laneOf[h] = len(laneHosts)
			laneHosts = append(laneHosts, h)
		}
	}
	for _, h := range hosts {
		addLane(h)
	}
	for _, nd := range g.Nodes {
		addLane(nd.Host)
	}

	// Which processes are drawn: the first maxGraphNodes in graph order
	// (the order of the story).
	byID := map[string]int{}
	drawn := map[string]bool{}
	k := 0
	for i, nd := range g.Nodes {
		byID[nd.ID] = i
		if nd.Kind == "process" && k < maxGraphNodes {
			drawn[nd.ID] = true
			k++
		}
	}
	children := map[string][]string{}
	hasParent := map[string]bool{}
	for _, e := range g.Edges {
		if e.Kind == "parent" && drawn[e.From] && drawn[e.To] {
			children[e.From] = append(children[e.From], e.To)
			hasParent[e.To] = true
		}
	}
	places := map[string]*place{}
	rows := make([]int, len(laneHosts))
	// A first child shares its parent's row; each other child starts a
	// row of its own below everything placed so far.
	var visit func(id string, depth, row int)
	visit = func(id string, depth, row int) {
		if places[id] != nil {
			return
		}
		nd := &g.Nodes[byID[id]]
		l := laneOf[nd.Host]
		if row < 0 {
			row = rows[l]
		}
		places[id] = &place{lane: l, row: row, depth: min(depth, gMaxDepth), drawn: true}
		rows[l] = max(rows[l], row+1)
		for i, c := range children[id] {
			if i == 0 && laneOf[g.Nodes[byID[c]].Host] == l {
				visit(c, depth+1, row)
			} else {
				visit(c, depth+1, -1)
			}
		}
	}
	for _, nd := range g.Nodes {
		if drawn[nd.ID] && !hasParent[nd.ID] {
			visit(nd.ID, 0, -1)
		}
	}
	for _, nd := range g.Nodes { // cycles, if any: drawn at depth 0
		if drawn[nd.ID] {
			visit(nd.ID, 0, -1)
		}
	}
	maxDepth := 0
	for _, p := range places {
		maxDepth = max(maxDepth, p.depth)
	}

	og := &opGraph{Hidden: procs - len(drawn), Marker: fmt.Sprintf("op%d-arrow", n)}
	og.Width = gLeft + float64(maxDepth)*gColW + gNodeW + gPad
	laneY := make([]float64, len(laneHosts))
	y := 0.0
	for l, h := range laneHosts {
		hgt := float64(max(rows[l], 1))*gRowH + 2*gPad - (gRowH - gNodeH)
		laneY[l] = y
		og.Lanes = append(og.Lanes, gLane{Host: h, Y: y, H: hgt, LabelX: 8, LabelY: y + gPad, Width: og.Width})
		y += hgt + 6
	}
	og.Height = y
	pos := func(id string) (x, y float64, ok bool) {
		p := places[id]
		if p == nil {
			return 0, 0, false
		}
		return gLeft + float64(p.depth)*gColW, laneY[p.lane] + gPad + float64(p.row)*gRowH, true
	}
	for _, nd := range g.Nodes {
		x, y, ok := pos(nd.ID)
		if !ok {
			continue
		}
		title := nd.Host + ": " + cmp.Or(nd.Image, nd.Label)
		if nd.CommandLine != "" {
			title += "\n" + cut(nd.CommandLine, 500)
		}
		if len(nd.Detections) > 0 {
			title += "\n" + count(len(nd.Detections), "detection")
		}
		og.Nodes = append(og.Nodes, gNode{X: x, Y: y, Label: cut(nd.Label, gLabelRunes), Title: title, Detected: len(nd.Detections) > 0})
	}
	for _, e := range g.Edges {
		x1, y1, ok1 := pos(e.From)
		switch e.Kind {
		case "parent":
			x2, y2, ok2 := pos(e.To)
			if !ok1 || !ok2 {
				continue
			}
			ax, ay := x1+gNodeW, y1+gNodeH/2
			bx, by := x2, y2+gNodeH/2
			mx := (ax + bx) / 2
			og.Edges = append(og.Edges, gEdge{Kind: "parent", D: "M" + px(ax) + " " + px(ay) + " C" + px(mx) + " " + px(ay) + " " + px(mx) + " " + px(by) + " " + px(bx) + " " + px(by)})
		case "lateral":
			to := g.Nodes[byID[e.To]]
			var bx, by float64
			if to.Kind == "host" {
				l, ok := laneOf[to.Host]
				if !ok {
					continue
				}
				bx, by = 8+gLaneLabelW/2, laneY[l]+gPad
			} else {
				x2, y2, ok2 := pos(e.To)
				if !ok2 {
					continue
				}
				bx, by = x2+gNodeW/2, y2
			}
			from := g.Nodes[byID[e.From]]
			var ax, ay float64
			if from.Kind == "host" {
				l, ok := laneOf[from.Host]
				if !ok {
					continue
				}
				ax, ay = 8+gLaneLabelW/2, laneY[l]+gPad+gNodeH
			} else {
				if !ok1 {
					continue
				}
				ax, ay = x1+gNodeW/2, y1+gNodeH
				if by < ay {
					ay = y1
				}
			}
			cx := min(ax, bx) - 40
			og.Edges = append(og.Edges, gEdge{Kind: "lateral", Title: e.Label, D: "M" + px(ax) + " " + px(ay) + " Q" + px(max(cx, 4)) + " " + px((ay+by)/2) + " " + px(bx) + " " + px(by)})
		}
	}
	procWord := "processes"
	if len(og.Nodes) == 1 {
		procWord = "process"
	}
	og.Desc = fmt.Sprintf("%s %s on %s; %s.", num(len(og.Nodes)), procWord, count(len(laneHosts), "host"), count(len(og.Edges), "link"))
	return og
}
