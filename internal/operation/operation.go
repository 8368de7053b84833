package operation

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
)

// Operations: detections joined into the story of one intrusion.
//
// Build joins two detections when the entities of their events
// are linked in the Index. Each detection reaches, from the entities of its
// own event, a bounded set of nodes (processes, logon sessions, dropped
// files, services, tasks) through these edges:
//
//   - parent: a process and its parent, up to MaxAncestors generations
//     (shared ancestors join their descendants);
//   - logon: a process and the logon session it runs in (LogonId =
//     TargetLogonId of the 4624); an event and the session it names;
//   - file: a dropped file (written, Sysmon 11) and the processes that
//     wrote it; a process whose image, or a detection whose loaded DLL,
//     driver, service image or task command, is a dropped file;
//   - service / task: a service or task and what it ran (a process under
//     services.exe whose image is the service's image path; a process under
//     the Task Scheduler whose command line holds the task's command, or
//     whose PID TaskScheduler 129 gives); its image or command; the logon
//     that created it (4697/4698 SubjectLogonId);
//   - lateral: a network or remote-interactive logon (4624 type 3, 10), a
//     service or task created, or a process started by WMI or WinRM on host
//     B, and the action on host A aimed at B shortly before (a command line
//     naming B: \\B\, /S B, /node:B, -ComputerName B, winrs -r:B; a
//     connection to an admin port of B; explicit credentials for B). For a
//     logon, A must be its source host (IpAddress mapped to a host, or
//     WorkstationName), known and not B: a logon from a loopback,
//     link-local or unknown address is not traced.
//
// Times: each node a detection reaches carries the time the path touched
// it: the detection's own time, or past a persistent link the time of that
// link (a file's writing, a task's creation, the source command of a
// lateral move), and windows compare these times.
//
// Guards keep operations honest:
//
//   - ubiquitous system processes (see ubiquitous) are never joining
//     points, unless the instance itself is implicated: the subject of a
//     detection, or the loader or runner of a dropped file (the svchost that
//     side-loaded a DLL is the attacker's);
//   - the built-in service accounts' logons (0x3e7, 0x3e4, 0x3e5) never
//     join;
//   - time windows per edge: a process or logon joins detections within
//     its lifetime when both ends are known or it is itself a detection's
//     subject, otherwise only detections at most Window (24 h) apart,
//     chained; a logon session only within its known span (logon to
//     logoff), a process only from its start (IDs are reused); a lateral
//     edge needs the source action at most LateralWindow (10 min) before
//     the target event; a PID-only parent link needs the parent to have
//     started within 24 h (PID reuse), and is refused when two processes
//     from before the evidence had that PID;
//   - persistent artifacts (dropped files, services, tasks) have no window:
//     the same dropped DLL or driver joins its operation however much later
//     it is seen again; a service or task joins per instance (each
//     installation or creation), so PsExec's service installed again a
//     month later, by someone else, is another artifact;
//   - a detection whose event names no actor (no process, no user session:
//     a log-cleared record, a correlation match) joins the nearest linked
//     detection on the same host within ProximityWindow (60 s), and
//     nothing else;
//   - an operation never grows past MaxEntities entities: a join that would
//     pass it is refused (as Defender refuses incident merges past its
//     entity cap), and each reach is bounded by MaxReach nodes.

// checkEvery is how many detections or nodes Build handles
// between two looks at its context.
const checkEvery = 1024

// Options tunes Build. The zero value uses the defaults.
type Options struct {
	// Window is how far apart two detections joined by a process or logon
	// of unknown lifetime may be (default 24 h).
	Window time.Duration
	// LateralWindow is how long before a target event its source action
	// may be (default 10 min).
	LateralWindow time.Duration
	// ProximityWindow is how far an unlinked detection looks for a linked
	// one on its host (default 60 s; negative: never).
	ProximityWindow time.Duration
	// MaxAncestors is how many generations above a process are walked
	// (default 4).
	MaxAncestors int
	// MaxEntities caps the entities of one operation (default 500).
	MaxEntities int
	// MaxReach caps the nodes one detection reaches (default 128).
	MaxReach int
	// KeepSingletons keeps every operation; by default one that is all
	// informational detections, or all of one low or audit-type rule, is
	// left out (see listed; its detections stay plain detections).
	KeepSingletons bool
	// TechniqueTactics returns the ATT&CK tactics (kill-chain short names)
	// of a technique ID, nil when ATT&CK does not know it; nil: the
	// tactics a rule names are its steps' (see tagsOf).
	TechniqueTactics func(technique string) []string
}

func (o Options) withDefaults() Options {
	if o.Window <= 0 {
		o.Window = 24 * time.Hour
	}
	if o.LateralWindow <= 0 {
		o.LateralWindow = 10 * time.Minute
	}
	if o.ProximityWindow == 0 {
		o.ProximityWindow = 60 * time.Second
	}
	if o.MaxAncestors <= 0 {
		o.MaxAncestors = 4
	}
	if o.MaxEntities <= 0 {
		o.MaxEntities = 500
	}
	if o.MaxReach <= 0 {
		o.MaxReach = 128
	}
	return o
}

// DormantGap is the quiet time before a step that the story tells.
const DormantGap = 7 * 24 * time.Hour

// node kinds.
const (
	kProc byte = iota + 1
	kLogon
	kFile
	kService
	kTask
)

type nodeKey struct {
	kind byte
	host string
	key  string
	idx  int32
	// inst is the instance of a service or task: the time (Unix ns) of
	// the installation or creation in effect. A service installed again
	// later (PsExec's PSEXESVC each time it is used) is another instance.
	inst int64
}

// reach is one node a detection reached, and how.
type reach struct {
	node int32
	prev int32 // index in the same reach list, -1 for an anchor
	edge edge  // how node was reached from prev
	// at is when the path touched the node: the detection's time, or,
	// past a persistent edge, the time of the link (a file's writing, a
	// task's creation, the source command of a lateral move). Windows
	// compare these times, so that an artifact carries the time of its
	// making.
	at time.Time
}

type builder struct {
	ix    *Index
	o     Options
	dets  refList
	host  []string // HostName of each detection
	procs []int32  // each detection's own process, -1 when none

	// Nodes are numbered: node i < len(ix.procs) is process i, the others
	// are numbered in nodes in the order the detections reach them.
	nodes   map[nodeKey]int32
	keys    []nodeKey      // by node
	subject map[int32]bool // processes that are a detection's subject

	reached [][]reach
	// tags are the ATT&CK tactics and techniques of the rules, tagsOf
	// each detection's (see ruleTagsOf).
	tags   []ruleTags
	tagsOf []int32
	// byIndex gives the position in dets of a DetectionRef.Index, when
	// they differ.
	byIndex map[int]int
}

// refList is the detections a builder joins, by position: a slice of
// DetectionRefs (Build), or a RefTable (BuildTable). Ref returns a copy;
// time and index are its Time and Index.
type refList interface {
	Len() int
	Ref(i int) DetectionRef
	time(i int) time.Time
	index(i int) int
}

// refSlice is the refList of a slice.
type refSlice []DetectionRef

func (s refSlice) Len() int               { return len(s) }
func (s refSlice) Ref(i int) DetectionRef { return s[i] }
func (s refSlice) time(i int) time.Time   { return s[i].Time }
func (s refSlice) index(i int) int        { return s[i].Index }

// ref returns the detection whose DetectionRef.Index is i.
func (b *builder) ref(i int) DetectionRef {
	if b.byIndex != nil {
		return b.dets.Ref(b.byIndex[i])
	}
	return b.dets.Ref(i)
}

// ruleTags returns the tactics and techniques of detection i's rule.
func (b *builder) ruleTags(i int) ruleTags { return b.tags[b.tagsOf[i]] }

type tagsKey struct {
	first    *string
	n, level int
}

type ruleTags struct{ tactics, techniques []string }

// ruleTagsOf returns the distinct tactics and techniques of the
// detections' tags (see tagsOf), the first those of none, and each
// detection's among them, parsing each distinct list once (by its first
// element, length and level: a rule's detections share its list).
func ruleTagsOf(dets refList, lookup func(string) []string) (tags []ruleTags, of []int32) {
	tags = []ruleTags{{}}
	of = make([]int32, dets.Len())
	seen := map[tagsKey]int32{}
	for i := range of {
		d := dets.Ref(i)
		if len(d.Tags) == 0 {
			continue
		}
		k := tagsKey{&d.Tags[0], len(d.Tags), levelRank(d.Level)}
		n, ok := seen[k]
		if !ok {
			n = int32(len(tags))
			tags = append(tags, tagsOf(d.Tags, d.Level, lookup))
			seen[k] = n
		}
		of[i] = n
	}
	return tags, of
}

// Build joins detections into operations through the entities of
// idx (Finish is called if it was not). The result is sorted most severe
// first (then by score, then first time); see Options for which
// single detections become operations. dets are not modified.
//
// Build returns ctx's error, and no operation, when ctx is done
// before it ends (it looks every checkEvery detections or nodes).
func Build(ctx context.Context, dets []DetectionRef, idx *Index, opts Options) ([]result.Operation, error) {
	return build(ctx, refSlice(dets), idx, opts)
}

// BuildTable is Build of the refs of a table: the same operations as
// Build of the same refs in a slice.
func BuildTable(ctx context.Context, refs *RefTable, idx *Index, opts Options) ([]result.Operation, error) {
	return build(ctx, refs, idx, opts)
}

func build(ctx context.Context, dets refList, idx *Index, opts Options) ([]result.Operation, error) {
	if idx == nil {
		idx = NewIndex(1)
	}
	idx.Finish()
	b := &builder{ix: idx, o: opts.withDefaults(), dets: dets, nodes: map[nodeKey]int32{},
		subject: map[int32]bool{}}
	b.tags, b.tagsOf = ruleTagsOf(dets, b.o.TechniqueTactics)
	b.keys = make([]nodeKey, len(idx.procs))
	for i := range b.keys {
		b.keys[i] = b.procNode(int32(i))
	}
	n := dets.Len()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, c int) int {
		// Detections of one time in a hunt's order of its detections
		// (host, record, rule title, source, locator, rule id), whatever
		// their ids: a case rebuilt from the store, its ids in the order
		// workers committed, tells its steps as a hunt of the same evidence.
		if t := dets.time(a).Compare(dets.time(c)); t != 0 {
			return t
		}
		x, y := dets.Ref(a), dets.Ref(c)
		return cmp.Or(cmp.Compare(x.Host, y.Host), cmp.Compare(x.RecordID, y.RecordID),
			cmp.Compare(x.Title, y.Title), cmp.Compare(x.Source, y.Source), cmp.Compare(x.Locator, y.Locator),
			cmp.Compare(x.RuleID, y.RuleID), cmp.Compare(x.Index, y.Index))
	})
	for i := range n {
		if dets.index(i) != i {
			b.byIndex = make(map[int]int, n)
			for j := range n {
				b.byIndex[dets.index(j)] = j
			}
			break
		}
	}
	b.host = make([]string, n)
	b.procs = make([]int32, n)
	for i := range n {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		d := dets.Ref(i)
		b.host[i] = HostName(d.Host)
		b.procs[i] = b.detProc(&d, b.host[i])
		if p := b.procs[i]; p >= 0 && (!idx.procs[p].ubiq || ownDoing(&d)) {
			b.subject[p] = true
		}
	}
	if err := b.reachAll(ctx); err != nil {
		return nil, err
	}
	uf, err := b.join(ctx, order)
	if err != nil {
		return nil, err
	}
	return b.operations(ctx, uf, order)
}

// detProc returns the process of a detection's event, or -1.
func (b *builder) detProc(d *DetectionRef, host string) int32 {
	ix := b.ix
	if g := normGUID(d.ProcessGUID); g != "" {
		if j, ok := ix.byGUID[hostKey{host, g}]; ok {
			return j
		}
	}
	if d.PID != 0 && host != "" {
		return ix.byPIDAt(host, d.PID, d.Time, -1)
	}
	return -1
}

func (b *builder) node(k nodeKey) int32 {
	if k.kind == kProc {
		return k.idx
	}
	if n, ok := b.nodes[k]; ok {
		return n
	}
	n := int32(len(b.keys))
	b.nodes[k] = n
	b.keys = append(b.keys, k)
	return n
}

func (b *builder) procNode(i int32) nodeKey { return nodeKey{kind: kProc, idx: i} }

// joinable reports whether a node may join detections (ubiquitous
// processes and system logons may not, unless implicated).
func (b *builder) joinable(k nodeKey) bool {
	switch k.kind {
	case kProc:
		p := &b.ix.procs[k.idx]
		return !p.ubiq || b.subject[k.idx] || b.ix.implic[k.idx]
	case kLogon:
		return !systemLogons[k.key]
	}
	return true
}

// persistent reports whether a node joins its detections whatever the
// time between them: artifacts, and processes and logons of known lifetime
// or that are themselves a detection's subject.
func (b *builder) persistent(k nodeKey) bool {
	switch k.kind {
	case kProc:
		p := &b.ix.procs[k.idx]
		return b.subject[k.idx] || (!p.start.IsZero() && !p.end.IsZero())
	case kLogon:
		l := b.logonOf(k)
		return l != nil && !l.end.IsZero()
	}
	return true
}

type walkItem struct {
	k     nodeKey
	prev  int32
	edge  edge
	depth int // generations above the first process of this walk
	at    time.Time
}

// edge is the kind of link by which a walk reached a node.
type edge byte

const (
	eAnchor  edge = iota // the detection's own entity
	eParent              // parent or child process
	eLogon               // a process and its logon session
	eFile                // a dropped file and its writer, loader or runner
	eService             // a service and what it ran, its image, its installer
	eTask                // a task and what it ran, its command, its creator
	eLateral             // a remote action and its effect on the target host
)

// walker is the scratch space of one goroutine walking from detections.
type walker struct {
	seen  map[nodeKey]bool
	queue []walkItem
	// pend are the nodes other than processes this walker reached, which
	// its reaches name as -1-i until reachAll numbers them.
	pend []nodeKey
	// files are the file keys of paths (see fileNode).
	files map[string]string
}

// reachAll walks from every detection (see reach), on all cores, and
// numbers the nodes reached in the order of the detections, as one walk
// after the other would.
func (b *builder) reachAll(ctx context.Context) error {
	n := b.dets.Len()
	b.reached = make([][]reach, n)
	by := make([]int32, n) // the walker of each detection
	var ws []*walker
	err := parallel(ctx, n, func(nw int) {
		ws = make([]*walker, nw)
		for w := range ws {
			ws[w] = &walker{seen: map[nodeKey]bool{}, files: map[string]string{}}
		}
	}, func(w, i int) {
		b.reached[i] = b.reach(ws[w], i)
		by[i] = int32(w)
	})
	if err != nil {
		return err
	}
	for i, rs := range b.reached {
		for k := range rs {
			if r := &rs[k]; r.node < 0 {
				r.node = b.node(ws[by[i]].pend[-1-r.node])
			}
		}
	}
	return nil
}

// reach walks from the entities of detection i's event along the edges,
// within the guards, and returns the nodes it reached (those other than
// processes as -1-i, i in w.pend).
func (b *builder) reach(w *walker, i int) []reach {
	d := b.dets.Ref(i)
	host := b.host[i]
	ix := b.ix
	var out []reach
	seen := w.seen
	clear(seen)
	queue := w.queue[:0]
	defer func() { w.queue = queue }()
	at := d.Time
	push := func(k nodeKey, prev int32, e edge, depth int) {
		if seen[k] || len(seen) >= b.o.MaxReach {
			return
		}
		seen[k] = true
		queue = append(queue, walkItem{k, prev, e, depth, at})
	}
	if p := b.procs[i]; p >= 0 {
		push(b.procNode(p), -1, eAnchor, 0)
	} else if d.ParentProcessGUID != "" || d.ParentPID != 0 {
		if j, ok := ix.byGUID[hostKey{host, normGUID(d.ParentProcessGUID)}]; ok {
			push(b.procNode(j), -1, eAnchor, 1)
		} else if d.ParentPID != 0 {
			if j := ix.byPIDAt(host, d.ParentPID, d.Time, -1); j >= 0 {
				push(b.procNode(j), -1, eAnchor, 1)
			}
		}
	}
	for _, l := range []string{d.LogonID, d.TargetLogonID} {
		if l = normLogon(l); !systemLogons[l] && host != "" {
			push(b.logonNode(host, l, d.Time), -1, eAnchor, 0)
		}
	}
	for _, f := range d.Files {
		if k, ok := b.fileNode(w, host, f, d.Time); ok {
			push(k, -1, eAnchor, 0)
		}
	}
	if d.Service != "" {
		push(b.serviceNode(host, strings.ToLower(d.Service), d.Time), -1, eAnchor, 0)
	}
	if d.Task != "" {
		push(b.taskNode(host, strings.ToLower(d.Task), d.Time), -1, eAnchor, 0)
	}

	for q := 0; q < len(queue); q++ {
		it := queue[q]
		n := it.k.idx
		if it.k.kind != kProc {
			n = int32(-1 - len(w.pend))
			w.pend = append(w.pend, it.k)
		}
		at = it.at
		out = append(out, reach{node: n, prev: it.prev, edge: it.edge, at: at})
		self := int32(len(out) - 1)
		if !b.joinable(it.k) {
			continue // a node, never a bridge
		}
		switch it.k.kind {
		case kProc:
			p := &ix.procs[it.k.idx]
			if p.parent >= 0 && it.depth < b.o.MaxAncestors {
				push(b.procNode(p.parent), self, eParent, it.depth+1)
			}
			if !systemLogons[p.logon] {
				push(b.logonNode(p.host, p.logon, cmp.Or(p.start, at)), self, eLogon, 0)
			}
			if key, ok := ix.imgFile[it.k.idx]; ok {
				if k, ok := b.fileKey(hostKey{p.host, key}, cmp.Or(p.start, at)); ok {
					push(k, self, eFile, 0)
				}
			}
			if k, ok := ix.taskRun[it.k.idx]; ok {
				push(b.taskNode(k.host, k.key, p.start), self, eTask, 0)
			}
			if k, ok := ix.svcRun[it.k.idx]; ok {
				push(b.serviceNode(k.host, k.key, p.start), self, eService, 0)
			}
			if pi := ix.parentImage(it.k.idx); pi != "" && !p.start.IsZero() {
				switch baseName(strings.ToLower(pi)) {
				case "wmiprvse.exe", "wsmprovhost.exe":
					if s, st := b.lateral(p.host, "", p.start); s >= 0 {
						at = st
						push(b.procNode(s), self, eLateral, 0)
					}
				}
			}
		case kLogon:
			// A remote logon: the action on another host that caused it
			// (see lateralLogon).
			if l := b.logonOf(it.k); l != nil {
				if s, st := b.lateralLogon(l); s >= 0 {
					at = st
					push(b.procNode(s), self, eLateral, 0)
				}
			}
		case kFile:
			// The write this instance is: its writer only (two processes
			// writing one path, a cache or a log, are not one story).
			f := ix.files[hostKey{it.k.host, it.k.key}]
			wr := f.writes[it.k.inst-1]
			if wr.idx >= 0 && (wr.guid != "" || wr.pid != 0) {
				at = wr.t
				push(b.procNode(wr.idx), self, eFile, 0)
			}
			// A copy to this host's admin share from another host.
			if s, st := b.lateralDrop(it.k.host, it.k.key, wr.t); s >= 0 {
				at = st
				push(b.procNode(s), self, eLateral, 0)
			}
		case kService:
			sv := ix.services[hostKey{it.k.host, it.k.key}]
			if sv == nil {
				break
			}
			inst := instTime(it.k.inst)
			if !inst.IsZero() {
				at = inst
			}
			if k, ok := b.fileNode(w, sv.host, sv.image, cmp.Or(inst, at)); ok {
				push(k, self, eService, 0)
			}
			if !systemLogons[sv.logon] && inst.Equal(instanceAt(sv.installs, sv.installed)) {
				push(b.logonNode(sv.host, sv.logon, sv.installed), self, eService, 0)
			}
			if !inst.IsZero() {
				if s, st := b.lateral(sv.host, "", inst); s >= 0 {
					at = st
					push(b.procNode(s), self, eLateral, 0)
				}
			}
		case kTask:
			tk := ix.tasks[hostKey{it.k.host, it.k.key}]
			if tk == nil {
				break
			}
			inst := instTime(it.k.inst)
			if !inst.IsZero() {
				at = inst
			}
			if k, ok := b.fileNode(w, tk.host, tk.command, cmp.Or(inst, at)); ok {
				push(k, self, eTask, 0)
			}
			if !systemLogons[tk.logon] && inst.Equal(instanceAt(tk.creates, tk.created)) {
				push(b.logonNode(tk.host, tk.logon, tk.created), self, eTask, 0)
			} else if !inst.IsZero() {
				if s, st := b.lateral(tk.host, "", inst); s >= 0 {
					at = st
					push(b.procNode(s), self, eLateral, 0)
				}
			}
		}
	}
	return out
}

// serviceNode returns the node of the instance of a service in effect at
// t (see nodeKey.inst).
func (b *builder) serviceNode(host, name string, t time.Time) nodeKey {
	k := nodeKey{kind: kService, host: host, key: name}
	if sv := b.ix.services[hostKey{host, name}]; sv != nil {
		k.inst = b.instanceOn(host, instanceAt(sv.installs, t), t)
	}
	return k
}

// taskNode returns the node of the instance of a task in effect at t.
func (b *builder) taskNode(host, name string, t time.Time) nodeKey {
	k := nodeKey{kind: kTask, host: host, key: name}
	if tk := b.ix.tasks[hostKey{host, name}]; tk != nil {
		k.inst = b.instanceOn(host, instanceAt(tk.creates, t), t)
	}
	return k
}

// instanceOn returns the key of an instance created at inst and named at
// t: inst, unless it was created on an earlier machine of that name (see
// incarnation): then an instance of t's machine whose creation is not in
// the evidence, named by that machine's start as -1 - its nanoseconds.
func (b *builder) instanceOn(host string, inst, t time.Time) int64 {
	if !inst.IsZero() && !b.ix.sameIncarnation(host, inst, t) {
		at, _ := b.ix.incarnationAt(host, t)
		return -1 - instNanos(at)
	}
	return instNanos(inst)
}

func instNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// instTime is the creation time an instance key names (zero for one
// whose creation is not in the evidence).
func instTime(n int64) time.Time {
	if n <= 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// fileNode returns the node of a dropped file (one the index saw written)
// as it was at t: the write in effect then.
func (b *builder) fileNode(w *walker, host, path string, t time.Time) (nodeKey, bool) {
	if host == "" || path == "" {
		return nodeKey{}, false
	}
	key, ok := w.files[path]
	if !ok {
		key = strings.ToLower(NormPath(path))
		w.files[path] = key
	}
	return b.fileKey(hostKey{host, key}, t)
}

// fileKey returns the node of the file k as it was at t (see fileNode).
func (b *builder) fileKey(k hostKey, t time.Time) (nodeKey, bool) {
	f := b.ix.files[k]
	if f == nil {
		return nodeKey{}, false
	}
	i := f.writeAt(t)
	if i < 0 || !b.ix.sameIncarnation(k.host, f.writes[i].t, t) {
		return nodeKey{}, false // written on an earlier machine of that name
	}
	return nodeKey{kind: kFile, host: k.host, key: k.key, inst: int64(i + 1)}, true
}

// lateral returns the process on another host (src, when known) whose
// action aimed at host most recently before t, within LateralWindow, and
// the time of that action; -1 when there is none.
func (b *builder) lateral(host, src string, t time.Time) (int32, time.Time) {
	l := b.ix.intents[host]
	// The last intent at or before t (a second of clock skew allowed).
	k, _ := slices.BinarySearchFunc(l, t.Add(time.Second), func(in intent, t time.Time) int {
		if in.t.After(t) {
			return 1
		}
		return -1
	})
	for k--; k >= 0; k-- {
		in := &l[k]
		if t.Sub(in.t) > b.o.LateralWindow {
			return -1, time.Time{}
		}
		if in.ref.idx < 0 || (src != "" && in.ref.host != src) {
			continue
		}
		return in.ref.idx, in.t
	}
	return -1, time.Time{}
}

// unionFind joins detections; each root keeps the set of entities of its
// component, for the entity cap.
type unionFind struct {
	parent []int
	ents   []map[int32]struct{}
	// links are the nodes through which two detections were joined.
	links [][2]int
	via   []int32
}

func (u *unionFind) find(x int) int {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

// union joins a and c unless the result would hold more than max entities.
func (u *unionFind) union(a, c int, max int, via int32) bool {
	ra, rc := u.find(a), u.find(c)
	if ra == rc {
		return true
	}
	ea, ec := u.ents[ra], u.ents[rc]
	if len(ea) < len(ec) {
		ra, rc, ea, ec = rc, ra, ec, ea
	}
	n := len(ea)
	for e := range ec {
		if _, ok := ea[e]; !ok {
			n++
		}
	}
	if n > max {
		return false
	}
	for e := range ec {
		ea[e] = struct{}{}
	}
	u.parent[rc] = ra
	u.ents[rc] = nil
	u.links = append(u.links, [2]int{a, c})
	u.via = append(u.via, via)
	return true
}

type entry struct {
	det int
	t   time.Time
}

// join unions the detections that share a joinable node, within the
// node's window, then places unlinked detections by proximity.
func (b *builder) join(ctx context.Context, order []int) (*unionFind, error) {
	n := b.dets.Len()
	u := &unionFind{parent: make([]int, n), ents: make([]map[int32]struct{}, n)}
	byNode := make([][]entry, len(b.keys))
	var nodes []int32
	for i := range n {
		u.parent[i] = i
		// A detection that reaches nothing joinable keeps a nil map (union
		// only adds into the larger of two, never into an empty one).
		for _, r := range b.reached[i] {
			if !b.joinable(b.keys[r.node]) {
				continue
			}
			if u.ents[i] == nil {
				u.ents[i] = make(map[int32]struct{}, len(b.reached[i]))
			}
			u.ents[i][r.node] = struct{}{}
		}
	}
	for _, i := range order {
		for _, r := range b.reached[i] {
			if !b.joinable(b.keys[r.node]) {
				continue
			}
			if byNode[r.node] == nil {
				nodes = append(nodes, r.node)
			}
			byNode[r.node] = append(byNode[r.node], entry{i, r.at})
		}
	}
	for ni, n := range nodes {
		if ni%checkEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		es := b.inSpan(b.keys[n], byNode[n])
		if len(es) < 2 {
			continue
		}
		slices.SortStableFunc(es, func(a, c entry) int { return a.t.Compare(c.t) })
		if b.persistent(b.keys[n]) {
			for _, e := range es[1:] {
				u.union(es[0].det, e.det, b.o.MaxEntities, n)
			}
			continue
		}
		// Not chained: a session or process of unknown lifetime joins
		// detections at most Window after the first of their run, so that
		// a desktop session or a console left open for days does not tie a
		// week of unrelated work together.
		for k, first := 1, 0; k < len(es); k++ {
			if es[k].t.Sub(es[first].t) > b.o.Window {
				first = k
				continue
			}
			u.union(es[k-1].det, es[k].det, b.o.MaxEntities, n)
		}
	}
	// Unlinked detections: the nearest linked one on the same host.
	if b.o.ProximityWindow > 0 {
		linked := func(i int) bool { return len(u.ents[i]) > 0 || u.find(i) != i }
		for oi, i := range order {
			if d := b.dets.Ref(i); len(u.ents[i]) > 0 || b.host[i] == "" || !actorless(&d) {
				continue
			}
			best, bestGap := -1, b.o.ProximityWindow+1
			for dir := -1; dir <= 1; dir += 2 {
				for k := oi + dir; k >= 0 && k < len(order); k += dir {
					j := order[k]
					gap := absDur(b.dets.time(j).Sub(b.dets.time(i)))
					if gap > b.o.ProximityWindow {
						break
					}
					if b.host[j] == b.host[i] && len(b.reached[j]) > 0 && linked(j) && gap < bestGap {
						best, bestGap = j, gap
						break
					}
				}
			}
			if best >= 0 {
				u.union(best, i, b.o.MaxEntities, -1)
			}
		}
	}
	return u, nil
}

// spanSlack allows for clock skew between a process's or session's start
// and end records and the events in it.
const spanSlack = 2 * time.Second

// inSpan keeps the entries of a node that fall in its known lifetime. For
// a logon session: from its logon to its logoff (each when seen); an entry
// outside belongs to another session that had the same ID (logon IDs
// repeat after a reboot). For a process: from its start (a descendant may
// outlive it, so its end bounds nothing); an entry before it belongs to an
// earlier process that had the same ID.
func (b *builder) inSpan(k nodeKey, es []entry) []entry {
	var lo, hi time.Time
	switch k.kind {
	case kProc:
		lo = b.ix.procs[k.idx].start
	case kLogon:
		if l := b.logonOf(k); l != nil {
			lo, hi = l.start, l.end
		}
	default:
		return es
	}
	if lo.IsZero() && hi.IsZero() {
		return es
	}
	out := es[:0:0]
	for _, e := range es {
		if (!lo.IsZero() && e.t.Before(lo.Add(-spanSlack))) || (!hi.IsZero() && e.t.After(hi.Add(spanSlack))) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// ownDoing reports whether a detection's event is something its process
// did of its own accord, so that a ubiquitous process it names is
// implicated: it was started (Sysmon 1, Security 4688), loaded an image
// (Sysmon 7) or started a thread in another process (Sysmon 8). What
// services.exe or svchost.exe writes to the registry or to disk, opens or
// connects to is its job done for whoever asked (a service installed, a
// file served), and says nothing of the instance.
func ownDoing(d *DetectionRef) bool {
	if isProcessCreation(d) {
		return true
	}
	return strings.Contains(d.Channel, "Sysmon") && (d.EventID == 7 || d.EventID == 8)
}

// actorless reports whether a detection's event names no acting process
// nor session (a log-cleared record, a correlation match): only those may
// join by proximity. An event that names its actor but links to nothing
// is left alone: its actor is simply not part of anything.
func actorless(d *DetectionRef) bool {
	return d.ProcessGUID == "" && d.PID == 0 && d.ParentProcessGUID == "" && d.ParentPID == 0 &&
		systemLogons[normLogon(d.LogonID)] && systemLogons[normLogon(d.TargetLogonID)] &&
		d.Service == "" && d.Task == "" && len(d.Files) == 0
}

// operations turns the components into Operations.
func (b *builder) operations(ctx context.Context, u *unionFind, order []int) ([]result.Operation, error) {
	comps := map[int][]int{}
	var roots []int
	for _, i := range order {
		r := u.find(i)
		if _, ok := comps[r]; !ok {
			roots = append(roots, r)
		}
		comps[r] = append(comps[r], i)
	}
	linksOf := map[int][]int{}
	for k, l := range u.links {
		r := u.find(l[0])
		linksOf[r] = append(linksOf[r], k)
	}
	ruleCount := map[string]int{}
	for i := range b.dets.Len() {
		ruleCount[b.dets.Ref(i).RuleID]++
	}
	// Only the components listed become operations: a hunt's detections
	// are mostly unlisted singletons, and building each to drop it cost
	// as much memory again as the operations kept.
	kept := roots[:0]
	for _, r := range roots {
		if b.o.KeepSingletons || b.listed(comps[r]) {
			kept = append(kept, r)
		}
	}
	var ops []result.Operation
	if len(kept) > 0 {
		ops = make([]result.Operation, len(kept))
	}
	err := parallel(ctx, len(kept), nil, func(_, k int) {
		r := kept[k]
		ops[k] = b.operation(comps[r], linksOf[r], u, ruleCount)
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ops, func(a, c result.Operation) int {
		return cmp.Or(
			cmp.Compare(c.Score, a.Score),
			cmp.Compare(levelRank(c.Severity), levelRank(a.Severity)),
			a.First.Compare(c.First),
			cmp.Compare(a.ID, c.ID),
		)
	})
	if err := parallel(ctx, len(ops), nil, func(_, k int) { b.finish(&ops[k]) }); err != nil {
		return nil, err
	}
	return ops, nil
}

// finish draws the graph of a listed operation and gives it the form of a
// hunt's result: its score rounded to 3 decimals (so that JSON and golden
// files do not carry the noise of float arithmetic), no nil list.
func (b *builder) finish(op *result.Operation) {
	op.Score = math.Round(op.Score*1000) / 1000
	for _, l := range []*[]string{&op.Tactics, &op.Techniques, &op.Narrative} {
		if *l == nil {
			*l = []string{}
		}
	}
	if op.Detections == nil {
		op.Detections = []int{}
	}
	if op.Steps == nil {
		op.Steps = []result.Step{}
	}
	if op.Context == nil {
		op.Context = []result.Entity{}
	}
	if op.Joins == nil {
		op.Joins = []result.Join{}
	}
	if op.Lateral == nil {
		op.Lateral = []result.Hop{}
	}
	op.Graph = graphOf(op.Steps, b.ref, op.Hosts)
	labelLateral(&op.Graph, op.Lateral)
}

func (b *builder) operation(members, links []int, u *unionFind, ruleCount map[string]int) result.Operation {
	first := b.dets.Ref(members[0])
	op := result.Operation{ID: operationID(&first, b.host[members[0]])}
	op.First, op.Last = b.span(members)
	hosts, users := map[string]bool{}, map[string]bool{}
	for _, i := range members {
		d := b.dets.Ref(i)
		op.Detections = append(op.Detections, d.Index)
		d.Counted.addTo(hosts, users)
		if b.host[i] != "" {
			hosts[b.host[i]] = true
		}
		for _, us := range []string{d.User, d.TargetUser} {
			if us != "" && !systemUser(us) {
				users[us] = true
			}
		}
		if p := b.procs[i]; p >= 0 && b.ix.procs[p].user != "" && !systemUser(b.ix.procs[p].user) {
			users[b.ix.procs[p].user] = true
		}
	}
	op.Hosts = sortedKeys(hosts)
	op.Users = sortedKeys(users)
	op.Context = b.context(members, links, u)
	op.Joins, op.Lateral = b.joins(links, u)
	var evidenceSteps int
	op.Steps, evidenceSteps = b.steps(members)
	b.assess(&op, members, evidenceSteps, ruleCount)
	for _, s := range op.Steps {
		op.Narrative = append(op.Narrative, s.Sentence)
	}
	if op.Hosts == nil {
		op.Hosts = []string{}
	}
	if op.Users == nil {
		op.Users = []string{}
	}
	return op
}

// context lists the entities on the paths through which the members were
// joined, except the members' own processes.
func (b *builder) context(members, links []int, u *unionFind) []result.Entity {
	own := map[int32]bool{}
	for _, i := range members {
		if p := b.procs[i]; p >= 0 {
			own[b.node(b.procNode(p))] = true
		}
	}
	in := map[int32]bool{}
	var nodes []int32
	add := func(det int, via int32) {
		rs := b.reached[det]
		for k := range rs {
			if rs[k].node != via {
				continue
			}
			for j := int32(k); j >= 0; j = rs[j].prev {
				n := rs[j].node
				if !own[n] && !in[n] {
					in[n] = true
					nodes = append(nodes, n)
				}
			}
			return
		}
	}
	for _, k := range links {
		via := u.via[k]
		if via < 0 {
			continue
		}
		add(u.links[k][0], via)
		add(u.links[k][1], via)
	}
	var out []result.Entity
	for _, n := range nodes {
		out = append(out, b.entity(b.keys[n]))
	}
	slices.SortStableFunc(out, func(a, c result.Entity) int {
		return cmp.Or(cmp.Compare(a.Host, c.Host), cmp.Compare(a.Kind, c.Kind), cmp.Compare(a.Key, c.Key))
	})
	if out == nil {
		out = []result.Entity{}
	}
	return out
}

// entity describes a node in one line.
func (b *builder) entity(k nodeKey) result.Entity {
	ix := b.ix
	switch k.kind {
	case kProc:
		p := &ix.procs[k.idx]
		key := p.guid
		if key == "" {
			key = "pid " + strconv.FormatInt(p.pid, 10)
		}
		desc := baseName(p.image)
		if desc == "" {
			desc = "process"
		}
		desc += " (pid " + strconv.FormatInt(p.pid, 10) + ")"
		if p.cmd != "" {
			desc += ": " + excerpt(p.cmd, 100)
		}
		if p.user != "" {
			desc += " as " + p.user
		}
		if !p.start.IsZero() {
			desc += ", started " + p.start.UTC().Format("2006-01-02 15:04:05")
		}
		return result.Entity{Kind: "process", Host: p.host, Key: key, Description: desc}
	case kLogon:
		desc := "logon session " + k.key
		if l := b.logonOf(k); l != nil {
			if l.user != "" {
				desc += " of " + l.user
			}
			if l.logonType != 0 {
				desc += ", type " + strconv.Itoa(l.logonType)
			}
			if l.ip != "" {
				desc += " from " + l.ip
				if h := ix.hostOf(l.ip); h != "" {
					desc += " (" + h + ")"
				}
			}
			if !l.start.IsZero() {
				desc += ", " + l.start.UTC().Format("2006-01-02 15:04:05")
			}
		}
		return result.Entity{Kind: "logon", Host: k.host, Key: k.key, Description: desc}
	case kFile:
		f := ix.files[hostKey{k.host, k.key}]
		wr := f.writes[k.inst-1]
		desc := f.path + " written"
		if wr.idx >= 0 {
			desc += " by " + baseName(ix.procs[wr.idx].image)
		}
		desc += " " + wr.t.UTC().Format("2006-01-02 15:04:05")
		return result.Entity{Kind: "file", Host: k.host, Key: f.path, Description: desc}
	case kService:
		sv := ix.services[hostKey{k.host, k.key}]
		if sv == nil {
			return result.Entity{Kind: "service", Host: k.host, Key: k.key, Description: "service " + k.key}
		}
		desc := "service " + sv.name
		if sv.image != "" {
			desc += " runs " + sv.image
		}
		if inst := instTime(k.inst); !inst.IsZero() {
			desc += ", installed " + inst.Format("2006-01-02 15:04:05")
		}
		return result.Entity{Kind: "service", Host: k.host, Key: sv.name, Description: desc}
	case kTask:
		tk := ix.tasks[hostKey{k.host, k.key}]
		if tk == nil {
			return result.Entity{Kind: "task", Host: k.host, Key: k.key, Description: "task " + k.key}
		}
		desc := "task " + tk.name
		if tk.command != "" {
			desc += " runs " + tk.command
		}
		if inst := instTime(k.inst); !inst.IsZero() {
			desc += ", created " + inst.Format("2006-01-02 15:04:05")
		}
		return result.Entity{Kind: "task", Host: k.host, Key: tk.name, Description: desc}
	}
	return result.Entity{}
}

// operationID hashes the first detection.
func operationID(d *DetectionRef, host string) string {
	h := sha256.New()
	h.Write([]byte(d.Time.UTC().Format(time.RFC3339Nano) + "|" + host + "|" + d.RuleID + "|" + d.ProcessGUID + "|" +
		strconv.FormatInt(d.PID, 10) + "|" + strconv.FormatInt(d.RecordID, 10)))
	return "op-" + hex.EncodeToString(h.Sum(nil))[:12]
}

func systemUser(u string) bool {
	lu := strings.ToLower(u)
	return strings.HasPrefix(lu, `nt authority\`) || lu == "system" || lu == "localsystem" || strings.HasSuffix(lu, "$")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// parallel calls setup(nw), then f(w, i) for every i in [0, n) on nw
// goroutines (w in [0, nw) names the caller's; nw is GOMAXPROCS at most,
// fewer for a small n), and returns when every call has. Which goroutine
// gets which i is left to the scheduler: f's results must not depend on w.
// When ctx is done the goroutines stop at their next chunk and parallel
// returns ctx's error (some calls not made).
func parallel(ctx context.Context, n int, setup func(nw int), f func(w, i int)) error {
	const chunk = 16
	nw := max(1, min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk))
	if setup != nil {
		setup(nw)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range nw {
		wg.Go(func() {
			for {
				start := int(next.Add(chunk)) - chunk
				if start >= n || ctx.Err() != nil {
					return
				}
				for i := start; i < min(start+chunk, n); i++ {
					f(w, i)
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}
