package html

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spoor-hunt/spoor/internal/result"
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
	gLabelX     = 8.0   // host label box
	gLaneLabelW = 104.0 //
	gArcGap     = 4.0   // between a host label and the arcs
	gLeft       = 150.0 // x of depth 0: a gutter for the arcs
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
	Steps       []stepRow
	MoreSteps   int
	TotalSteps  int
	Candidates  []candRow
	// None is the confidence that the evidence is none of ATT&CK's
	// groups'; NoneFirst is set when that is likelier than the best group.
	None      string
	NoneFirst bool
	Unknown   string
	Graph     *opGraph
	// Exposure is what the operation's evidence shows taken (nil: none).
	Exposure *result.Exposure
	Exposed  []exposureRow
}

// exposureRow is one exposure item as the card's table shows it.
type exposureRow struct {
	Kind, Time, Host, Tool string
	From, To               string
	Notes                  string
	Strength               string // strong, medium, weak
	Level                  string // CSS level of the strength
	Why                    string
	Command                string
}

// stepRow is one sentence of a story, with the tactics its step reaches.
type stepRow struct {
	Sentence string
	Tactics  string // names, kill-chain order
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
	Label          string // the host, cut to fit its box
	Y, H           float64
	LabelX, LabelY float64
	Width          float64
}

type gNode struct {
	X, Y     float64
	Label    string
	Title    string
	Detected bool
	Count    int      // processes drawn as this box
	IDs      []string // the graph node IDs of those processes (the console selects by them)
}

type gEdge struct {
	D     string // SVG path
	Kind  string // parent or lateral
	Title string // a lateral edge's keys, shown on hover
}

// Layout is an operation's graph laid out as the report draws it: host
// lanes, process boxes and edge paths in SVG user units. The console draws
// the same layout, interactive.
type Layout = opGraph

// LayoutOperation lays out op's graph; nil when it has no process.
func LayoutOperation(op *result.Operation) *Layout { return layoutGraph(&op.Graph, op.Hosts, 1) }

// operationCards returns the cards of r's operations, highest score first
// (as r lists them), at most maxOperations.
func operationCards(r *result.Result) []opCard {
	ops := r.Operations[:min(len(r.Operations), maxOperations)]
	cards := make([]opCard, 0, len(ops))
	for i := range ops {
		op := &ops[i]
		c := opCard{
			Index: i + 1, ID: op.ID, Severity: levels[levelIndex(op.Severity)].Name,
			Score:      strconv.FormatFloat(op.Score, 'f', -1, 64),
			Hosts:      op.Hosts,
			Users:      op.Users,
			First:      instant(op.First),
			Last:       instant(op.Last),
			Detections: len(op.Detections),
		}
		for _, t := range op.Tactics {
			c.Tactics = append(c.Tactics, tacticName(t))
		}
		for k, sentence := range op.Narrative[:min(len(op.Narrative), maxSteps)] {
			row := stepRow{Sentence: sentence}
			if k < len(op.Steps) {
				row.Tactics = tacticNames(op.Steps[k].Tactics)
			}
			c.Steps = append(c.Steps, row)
		}
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
		if e := op.Exposure; e != nil {
			c.Exposure = e
			for k := range e.Items {
				c.Exposed = append(c.Exposed, exposureRowOf(&e.Items[k]))
			}
		}
		cards = append(cards, c)
	}
	return cards
}

// exposureRowOf is the table row of an exposure item.
func exposureRowOf(it *result.ExposureItem) exposureRow {
	row := exposureRow{Kind: it.Kind, Time: instant(it.Time), Host: it.Host, Tool: it.Tool, To: it.Destination,
		Strength: it.Strength, Why: it.Why, Command: it.CommandLine}
	row.From = strings.Join(it.Sources, ", ")
	row.Level = map[string]string{"strong": "high", "medium": "medium"}[it.Strength]
	if row.Level == "" {
		row.Level = "low"
	}
	var notes []string
	if it.Recursive {
		notes = append(notes, "recursive")
	}
	if it.Password {
		notes = append(notes, "password")
	}
	if it.HeadersEncrypted {
		notes = append(notes, "file names hidden")
	}
	if it.SizeNote != "" {
		notes = append(notes, it.SizeNote)
	} else if len(it.Files) > 0 {
		notes = append(notes, fmt.Sprintf("%d file(s) seen: %s", len(it.Files), strings.Join(it.Files, ", ")))
	}
	if len(it.Valuable) > 0 {
		notes = append(notes, "valuable: "+strings.Join(it.Valuable, ", "))
	}
	if it.Account != "" {
		notes = append(notes, "by "+it.Account)
	}
	row.Notes = strings.Join(notes, "; ")
	return row
}

// instant writes t in timeLayout, "(no time)" when it is zero.
func instant(t time.Time) string {
	if t.IsZero() {
		return "(no time)"
	}
	return t.UTC().Format(timeLayout)
}

// A box is one drawn process, or several: repeated siblings (processes
// of one parent, or roots of one host, with the same image: cmd.exe →
// reg.exe three times) are one box with a count, their children merged.
type box struct {
	ids  []string // graph node IDs, in graph order
	host string
	kids []*box
}

// boxes groups the drawn processes into boxes: roots (no drawn parent)
// per host and image, then each box's children (those of all its
// processes) likewise; a process in a parent cycle that no root reaches
// is a root. It returns the boxes in placing order and each process's box.
func boxes(g *result.Graph, byID map[string]*result.Node, drawn map[string]bool, children map[string][]string, hasParent map[string]bool) ([]*box, map[string]*box) {
	of := map[string]*box{}
	var group func(ids []string) []*box
	group = func(ids []string) []*box {
		var out []*box
		by := map[string]*box{}
		for _, id := range ids {
			if of[id] != nil {
				continue // reached twice (a cycle)
			}
			nd := byID[id]
			k := nd.Host + "\x00" + strings.ToLower(nd.Label)
			bx := by[k]
			if bx == nil {
				bx = &box{host: nd.Host}
				by[k] = bx
				out = append(out, bx)
			}
			bx.ids = append(bx.ids, id)
			of[id] = bx
		}
		for _, bx := range out {
			var kids []string
			for _, id := range bx.ids {
				kids = append(kids, children[id]...)
			}
			bx.kids = group(kids)
		}
		return out
	}
	var roots []string
	for _, nd := range g.Nodes {
		if drawn[nd.ID] && !hasParent[nd.ID] {
			roots = append(roots, nd.ID)
		}
	}
	top := group(roots)
	for _, nd := range g.Nodes { // cycles, if any
		if drawn[nd.ID] && of[nd.ID] == nil {
			top = append(top, group([]string{nd.ID})...)
		}
	}
	return top, of
}

// gHostRunes is how much of a host name its label box holds.
const gHostRunes = 13

// layoutGraph places the graph of an operation: a lane per host (in hosts
// order, then any other host of a node), each process tree depth first,
// children by first detection, repeated siblings as one box (see box). Host
// labels sit in a column of their own left of the processes, and lateral
// arcs keep to the right of it. It returns nil for a graph without a
// process.
func layoutGraph(g *result.Graph, hosts []string, n int) *opGraph {
	type place struct {
		lane, row, depth int
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
	drawn := map[string]bool{}
	byID := map[string]*result.Node{}
	k := 0
	for i := range g.Nodes {
		nd := &g.Nodes[i]
		byID[nd.ID] = nd
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
	top, boxOf := boxes(g, byID, drawn, children, hasParent)

	places := map[*box]*place{}
	var order []*box
	rows := make([]int, len(laneHosts))
	// A first child shares its parent's row; each other child starts a
	// row of its own below everything placed so far.
	var visit func(bx *box, depth, row int)
	visit = func(bx *box, depth, row int) {
		if places[bx] != nil {
			return
		}
		l := laneOf[bx.host]
		if row < 0 {
			row = rows[l]
		}
		places[bx] = &place{lane: l, row: row, depth: min(depth, gMaxDepth)}
		order = append(order, bx)
		rows[l] = max(rows[l], row+1)
		for i, c := range bx.kids {
			if i == 0 && laneOf[c.host] == l {
				visit(c, depth+1, row)
			} else {
				visit(c, depth+1, -1)
			}
		}
	}
	for _, bx := range top {
		visit(bx, 0, -1)
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
		og.Lanes = append(og.Lanes, gLane{Host: h, Label: cut(h, gHostRunes), Y: y, H: hgt, LabelX: gLabelX, LabelY: y + gPad, Width: og.Width})
		y += hgt + 6
	}
	og.Height = y
	pos := func(id string) (x, y float64, ok bool) {
		p := places[boxOf[id]]
		if p == nil {
			return 0, 0, false
		}
		return gLeft + float64(p.depth)*gColW, laneY[p.lane] + gPad + float64(p.row)*gRowH, true
	}
	for _, bx := range order {
		x, y, _ := pos(bx.ids[0])
		og.Nodes = append(og.Nodes, boxNode(byID, bx, x, y))
	}
	// The host label's side, where arcs from or to a host without a known
	// process end.
	hostSide := func(h string) (x, y float64, ok bool) {
		l, ok := laneOf[h]
		return gLabelX + gLaneLabelW + gArcGap, laneY[l] + gPad + gNodeH/2, ok
	}
	seen := map[string]bool{}
	for _, e := range g.Edges {
		from, to := byID[e.From], byID[e.To]
		if from == nil || to == nil {
			continue
		}
		// Edges between boxes: once each.
		key := e.Kind + "\x00" + boxKey(boxOf[e.From], e.From) + "\x00" + boxKey(boxOf[e.To], e.To)
		if seen[key] {
			continue
		}
		seen[key] = true
		x1, y1, ok1 := pos(e.From)
		switch e.Kind {
		case "parent":
			x2, y2, ok2 := pos(e.To)
			if !ok1 || !ok2 || boxOf[e.From] == boxOf[e.To] {
				continue
			}
			ax, ay := x1+gNodeW, y1+gNodeH/2
			bx, by := x2, y2+gNodeH/2
			mx := (ax + bx) / 2
			og.Edges = append(og.Edges, gEdge{Kind: "parent", D: "M" + px(ax) + " " + px(ay) + " C" + px(mx) + " " + px(ay) + " " + px(mx) + " " + px(by) + " " + px(bx) + " " + px(by)})
		case "lateral":
			var ax, ay, bx, by float64
			var ok bool
			if to.Kind == "host" {
				bx, by, ok = hostSide(to.Host)
			} else {
				bx, by, ok = pos(e.To)
				bx += gNodeW / 2
				if ok1 && by < y1 {
					by += gNodeH // into a box above from below
				}
			}
			if !ok {
				continue
			}
			if from.Kind == "host" {
				if ax, ay, ok = hostSide(from.Host); !ok {
					continue
				}
			} else {
				if !ok1 {
					continue
				}
				ax, ay = x1+gNodeW/2, y1+gNodeH
				if by < ay {
					ay = y1
				}
			}
			// The control point keeps left of both ends but right of the
			// host labels: a quadratic arc stays within the hull of its
			// three points, so it never crosses a label.
			cx := max(min(ax, bx)-40, gLabelX+gLaneLabelW+2*gArcGap)
			og.Edges = append(og.Edges, gEdge{Kind: "lateral", Title: e.Label, D: "M" + px(ax) + " " + px(ay) + " Q" + px(cx) + " " + px((ay+by)/2) + " " + px(bx) + " " + px(by)})
		}
	}
	procWord := "processes"
	if len(drawn) == 1 {
		procWord = "process"
	}
	og.Desc = fmt.Sprintf("%s %s on %s; %s.", num(len(drawn)), procWord, count(len(laneHosts), "host"), count(len(og.Edges), "link"))
	if len(og.Nodes) < len(drawn) && len(og.Nodes) > 1 {
		og.Desc = fmt.Sprintf("%s %s in %s boxes on %s (repeated siblings drawn once, with a count); %s.", num(len(drawn)), procWord,
			num(len(og.Nodes)), count(len(laneHosts), "host"), count(len(og.Edges), "link"))
	}
	return og
}

// boxKey names the end of an edge: its box, or a host node's ID.
func boxKey(bx *box, id string) string {
	if bx == nil {
		return id
	}
	return bx.ids[0]
}

// A box's hover text lists at most maxTitleCommands command lines, each
// cut to titleCommandRunes (one process's to 500).
const (
	maxTitleCommands  = 40
	titleCommandRunes = 300
)

// boxNode draws box bx at x, y: its label (with the count of its processes
// when more than one), and a hover text with the host, image, each
// distinct command line and the detections.
func boxNode(byID map[string]*result.Node, bx *box, x, y float64) gNode {
	first := byID[bx.ids[0]]
	var cmds []string
	dets := 0
	for _, id := range bx.ids {
		nd := byID[id]
		if c := nd.CommandLine; c != "" && !slices.Contains(cmds, c) {
			cmds = append(cmds, c)
		}
		dets += len(nd.Detections)
	}
	label := cut(first.Label, gLabelRunes)
	title := first.Host + ": " + cmp.Or(first.Image, first.Label)
	if len(bx.ids) > 1 {
		suffix := " ×" + strconv.Itoa(len(bx.ids))
		label = cut(first.Label, gLabelRunes-utf8.RuneCountInString(suffix)) + suffix
		title += " (" + num(len(bx.ids)) + " processes)"
	}
	n := 500
	if len(cmds) > 1 {
		n = titleCommandRunes
	}
	for _, c := range cmds[:min(len(cmds), maxTitleCommands)] {
		title += "\n" + cut(c, n)
	}
	if len(cmds) > maxTitleCommands {
		title += "\nand " + count(len(cmds)-maxTitleCommands, "more command line")
	}
	if dets > 0 {
		title += "\n" + count(dets, "detection")
	}
	return gNode{X: x, Y: y, Label: label, Title: title, Detected: dets > 0, Count: len(bx.ids), IDs: bx.ids}
}
