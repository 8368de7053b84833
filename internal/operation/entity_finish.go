package operation

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"
)

// Windows of the index's own links.
const (
	// twinWindow is how far apart the Sysmon 1 and Security 4688 records
	// of one process creation may be.
	twinWindow = 2 * time.Second
	// pidReuseWindow bounds a link made by PID alone (no ProcessGuid): the
	// process with that PID counts only if it started at most this long
	// before, or is known to be still running. PIDs are reused within
	// minutes on a busy host.
	pidReuseWindow = 24 * time.Hour
)

// Finish merges the shards and resolves the links between entities. Call it
// once, after every Observe call has returned; the Index is read-only
// afterwards. Calling it again does nothing.
func (ix *Index) Finish() {
	if ix.done {
		return
	}
	ix.done = true
	ix.strs = map[string]string{}
	ix.byGUID = map[hostKey]int32{}
	ix.byPID = map[hostPID][]int32{}
	ix.logons = map[hostKey]*logonID{}
	ix.boots = map[string][]time.Time{}
	ix.incarn = map[string][]incarnation{}
	ix.services = map[hostKey]*service{}
	ix.tasks = map[hostKey]*task{}
	ix.files = map[hostKey]*file{}
	ix.hashes = map[string][]hostKey{}
	ix.hostIPs = map[string]string{}
	ix.hostName = map[string]string{}
	ix.intents = map[string][]intent{}
	ix.drops = map[string][]intent{}
	ix.unknown = map[string][]intent{}
	ix.taskRun = map[int32]hostKey{}
	ix.svcRun = map[int32]hostKey{}
	ix.implic = map[int32]bool{}
	ix.imgFile = map[int32]string{}

	byPIDT := map[pidStart]int32{}
	ipSeen := map[ipHost]int{}
	logons := map[hostKey]*logonSet{}
	var boots, exits []hostTime
	for _, s := range ix.shards {
		boots = append(boots, s.boots...)
		exits = append(exits, s.exits...)
		ix.events += s.events
		for i := range s.procs {
			p := s.procs[i]
			if p.guid != "" {
				if j, ok := ix.byGUID[hostKey{p.host, p.guid}]; ok {
					mergeProc(&ix.procs[j], &p)
					continue
				}
				ix.byGUID[hostKey{p.host, p.guid}] = int32(len(ix.procs))
			} else {
				k := pidStart{p.host, p.pid, instNanos(p.start)}
				if j, ok := byPIDT[k]; ok {
					mergeProc(&ix.procs[j], &p)
					continue
				}
				byPIDT[k] = int32(len(ix.procs))
			}
			p.parent = -1
			ix.procs = append(ix.procs, p)
		}
		for k, l := range s.logons {
			m := logons[k]
			if m == nil {
				logons[k] = l
				continue
			}
			m.starts = append(m.starts, l.starts...) // repeats dropped by finishLogons
			m.ends = append(m.ends, l.ends...)
			m.privs = append(m.privs, l.privs...)
		}
		for k, sv := range s.services {
			if m := ix.services[k]; m != nil {
				m.name = minStr(m.name, sv.name)
				m.installs = append(m.installs, sv.installs...)
				m.installed = minTime(m.installed, sv.installed)
				sayFirst(&m.image, &m.imageAt, sv.image, sv.imageAt)
				sayFirst(&m.logon, &m.logonAt, sv.logon, sv.logonAt)
			} else {
				ix.services[k] = sv
			}
		}
		for k, tk := range s.tasks {
			if m := ix.tasks[k]; m != nil {
				m.name = minStr(m.name, tk.name)
				m.creates = append(m.creates, tk.creates...)
				m.created = minTime(m.created, tk.created)
				sayFirst(&m.command, &m.commandAt, tk.command, tk.commandAt)
				sayFirst(&m.logon, &m.logonAt, tk.logon, tk.logonAt)
				m.pids = append(m.pids, tk.pids...)
			} else {
				ix.tasks[k] = tk
			}
		}
		for k, f := range s.files {
			if m := ix.files[k]; m != nil {
				sayFirst(&m.path, &m.pathAt, f.path, f.pathAt)
				for _, w := range f.writes {
					m.addWrite(w)
				}
				m.nwrite += f.nwrite
			} else {
				ix.files[k] = f
			}
		}
		for k, n := range s.hostIPs {
			ipSeen[k] += *n
		}
	}

	boots = append(boots, ix.finishIncarnations()...) // a new machine started
	ix.finishBoots(boots)
	ix.finishLogons(logons)
	for _, sv := range ix.services {
		sv.installs = instances(sv.installs)
	}
	for _, tk := range ix.tasks {
		tk.creates = instances(tk.creates)
	}

	// An address belongs to the host it was seen as most often (ties: the
	// first name in order), whatever the order the files were read in.
	best := map[string]int{}
	for k, n := range ipSeen {
		if h, ok := ix.hostIPs[k.ip]; !ok || n > best[k.ip] || (n == best[k.ip] && k.host < h) {
			ix.hostIPs[k.ip], best[k.ip] = k.host, n
		}
	}

	// A Security 4688 record and the Sysmon 1 record of the same process
	// creation are one process: the 4688 one becomes an alias.
	alias := map[int32]int32{}
	for i := range ix.procs {
		p := &ix.procs[i]
		ix.hostName[p.host] = p.host
		if p.guid != "" && p.pid != 0 {
			k := hostPID{p.host, p.pid}
			ix.byPID[k] = append(ix.byPID[k], int32(i))
		}
	}
	// In the order of what they are, not of where they are in procs (which
	// depends on the order shards are merged in): the twin found and what
	// it takes of its 4688s.
	byStart := func(a, b int32) int {
		p, q := &ix.procs[a], &ix.procs[b]
		return cmp.Or(p.start.Compare(q.start), strings.Compare(p.guid, q.guid))
	}
	for _, l := range ix.byPID {
		slices.SortFunc(l, byStart)
	}
	var bare []int32 // the processes only Security 4688 saw
	for i := range ix.procs {
		if ix.procs[i].guid == "" {
			bare = append(bare, int32(i))
		}
	}
	slices.SortFunc(bare, func(a, b int32) int {
		p, q := &ix.procs[a], &ix.procs[b]
		return cmp.Or(strings.Compare(p.host, q.host), cmp.Compare(p.pid, q.pid), p.start.Compare(q.start))
	})
	for _, i := range bare {
		p := &ix.procs[i]
		twin := int32(-1)
		for _, j := range ix.byPID[hostPID{p.host, p.pid}] {
			q := &ix.procs[j]
			if !q.start.IsZero() && absDur(q.start.Sub(p.start)) <= twinWindow {
				twin = j
				break
			}
		}
		if twin >= 0 {
			alias[i] = twin
			q := &ix.procs[twin]
			q.logon = cmp.Or(q.logon, p.logon)
			q.user = cmp.Or(q.user, p.user)
			q.cmd = cmp.Or(q.cmd, p.cmd)
			continue
		}
	}
	for i := range ix.procs {
		p := &ix.procs[i]
		if p.guid == "" && p.pid != 0 {
			if _, ok := alias[int32(i)]; !ok {
				k := hostPID{p.host, p.pid}
				ix.byPID[k] = append(ix.byPID[k], int32(i))
			}
		}
	}
	for _, l := range ix.byPID {
		slices.SortFunc(l, byStart)
	}
	// Security 4689: the exit of the process with that PID running then.
	slices.SortFunc(exits, func(a, b hostTime) int { return a.t.Compare(b.t) })
	// The last process started by then (a second of skew allowed), found by
	// binary search: a scan from the latest is quadratic in one PID's reuse.
	for _, e := range exits {
		l := ix.byPID[hostPID{e.host, e.pid}]
		by := e.t.Add(time.Second)
		k, _ := slices.BinarySearchFunc(l, by, func(i int32, t time.Time) int {
			if ix.procs[i].start.After(t) {
				return 1
			}
			return -1
		})
		if k > 0 {
			if q := &ix.procs[l[k-1]]; q.end.IsZero() {
				q.end = e.t
			}
		}
	}
	// Aliases point at their twin through byPIDT look-ups.
	for k, i := range byPIDT {
		if t, ok := alias[i]; ok {
			byPIDT[k] = t
		}
	}
	for i := range ix.procs {
		p := &ix.procs[i]
		if _, ok := alias[int32(i)]; ok {
			continue // its twin's parent, once resolved
		}
		switch {
		case p.parentGUID != "":
			if j, ok := ix.byGUID[hostKey{p.host, p.parentGUID}]; ok {
				p.parent = j
			}
		case p.parentPID != 0 && !p.start.IsZero():
			p.parent = ix.byPIDAt(p.host, p.parentPID, p.start, int32(i))
		}
	}
	for i, t := range alias {
		ix.procs[i].parent = ix.procs[t].parent
	}
	ix.alias = alias

	// Files loaded or run: mark dropped files' loaders as implicated.
	for _, s := range ix.shards {
		for k, refs := range s.loads {
			if f := ix.files[k]; f != nil {
				for _, r := range refs {
					f.loaders = addLoader(f.loaders, r)
				}
			}
		}
	}
	for _, f := range ix.files {
		for i := range f.loaders {
			r := &f.loaders[i]
			if r.idx = ix.resolve(*r); r.idx >= 0 {
				ix.implic[r.idx] = true
			}
		}
	}
	// Each process's image as a file key, once: whether it is ubiquitous,
	// a dropped file, what a service ran.
	imgKey := make([]string, len(ix.procs))
	for i := range ix.procs {
		p := &ix.procs[i]
		p.ubiq = ubiquitous[baseName(strings.ToLower(p.image))]
		if p.image == "" {
			continue
		}
		imgKey[i] = strings.ToLower(NormPath(p.image))
		if f := ix.files[hostKey{p.host, imgKey[i]}]; f != nil {
			ix.imgFile[int32(i)] = imgKey[i]
			if f.first.IsZero() || p.start.IsZero() || !p.start.Before(f.first) {
				ix.implic[int32(i)] = true
			}
		}
	}
	for _, f := range ix.files {
		for w := range f.writes {
			f.writes[w].idx = ix.resolve(f.writes[w])
		}
	}

	// Remote intents, by target host and time: one of each process,
	// target and minute of all the shards', as a shard keeps them.
	intents := map[intentKey]intentRaw{}
	for _, s := range ix.shards {
		for _, in := range s.intents {
			k := keyOf(&in)
			if kept, ok := intents[k]; !ok || earlierIntent(&in, &kept) {
				intents[k] = in
			}
		}
	}
	for _, in := range intents {
		h := ix.hostOf(in.target)
		if h == in.ref.host && h != "" {
			continue
		}
		r := in.ref
		r.idx = ix.resolve(r)
		x := intent{ref: r, t: r.t, what: in.what, account: in.account, host: h, path: in.path}
		switch {
		case in.what == "drop":
			ix.drops[in.path] = append(ix.drops[in.path], x)
		case h == "":
			acct := x.account
			if acct == "" && r.idx >= 0 {
				acct = ix.procs[r.idx].user
			}
			if name := accountName(acct); name != "" {
				ix.unknown[name] = append(ix.unknown[name], x)
			}
		default:
			ix.intents[h] = append(ix.intents[h], x)
		}
	}
	// The same evidence read twice gives the same intents once.
	compact := func(l []intent) []intent {
		slices.SortFunc(l, compareIntents)
		return slices.CompactFunc(l, func(a, b intent) bool { return compareIntents(a, b) == 0 })
	}
	for h, l := range ix.intents {
		ix.intents[h] = compact(l)
	}
	for p, l := range ix.drops {
		ix.drops[p] = compact(l)
	}
	for a, l := range ix.unknown {
		ix.unknown[a] = compact(l)
	}
	for _, tk := range ix.tasks {
		slices.Sort(tk.pids)
		tk.pids = slices.Compact(tk.pids)
	}

	// What tasks and services ran.
	perHost := map[string][]int32{}
	for i := range ix.procs {
		if _, ok := alias[int32(i)]; !ok && ix.procs[i].created {
			perHost[ix.procs[i].host] = append(perHost[ix.procs[i].host], int32(i))
		}
	}
	// A process two tasks (or services) could have run is the first's by
	// name: the maps' order is random.
	compareKeys := func(a, b hostKey) int { return cmp.Or(strings.Compare(a.host, b.host), strings.Compare(a.key, b.key)) }
	for _, k := range slices.SortedFunc(maps.Keys(ix.tasks), compareKeys) {
		tk := ix.tasks[k]
		cmdl := strings.ToLower(tk.command)
		for _, i := range perHost[tk.host] {
			p := &ix.procs[i]
			if !tk.created.IsZero() && p.start.Before(tk.created.Add(-time.Second)) {
				continue
			}
			byPID := slices.Contains(tk.pids, p.pid)
			if !byPID && (cmdl == "" || !schedulerHost(ix.parentImage(i)) || !strings.Contains(strings.ToLower(p.cmd), cmdl)) {
				continue
			}
			if _, ok := ix.taskRun[i]; !ok {
				ix.taskRun[i] = k
			}
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(ix.services), compareKeys) {
		sv := ix.services[k]
		img := strings.ToLower(sv.image)
		if img == "" {
			continue
		}
		for _, i := range perHost[sv.host] {
			if _, ok := ix.svcRun[i]; !ok && imgKey[i] == img && baseName(strings.ToLower(ix.parentImage(i))) == "services.exe" {
				ix.svcRun[i] = k
			}
		}
	}
	ix.shards = nil
}

// compareIntents orders intents by time, then by what they are, never by
// where their process is in the index (which depends on the order shards
// are merged in): Build takes the last one before a logon as its cause.
func compareIntents(a, b intent) int {
	return cmp.Or(a.t.Compare(b.t), strings.Compare(a.ref.host, b.ref.host), strings.Compare(a.ref.guid, b.ref.guid),
		cmp.Compare(a.ref.pid, b.ref.pid), strings.Compare(a.what, b.what), strings.Compare(a.host, b.host),
		strings.Compare(a.account, b.account), strings.Compare(a.path, b.path))
}

// instanceGap is how close two installations of a service (System 7045 and
// Security 4697 log the same one) or creations of a task must be to count
// as one.
const instanceGap = 10 * time.Second

// instances sorts times and keeps the first of each run closer than
// instanceGap.
func instances(ts []time.Time) []time.Time {
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	var out []time.Time
	for _, t := range ts {
		if len(out) == 0 || t.Sub(out[len(out)-1]) > instanceGap {
			out = append(out, t)
		}
	}
	return out
}

// instanceAt returns the instance in effect at t: the last one created at
// or before t (instanceGap of skew allowed), else the first; zero when
// there is none.
func instanceAt(ts []time.Time, t time.Time) time.Time {
	var at time.Time
	for _, x := range ts {
		if x.After(t.Add(instanceGap)) {
			break
		}
		at = x
	}
	if at.IsZero() && len(ts) > 0 {
		at = ts[0]
	}
	return at
}

// byPIDAt returns the process with pid on host that was running at t (see
// pidReuseWindow), or -1. self is left out.
func (ix *Index) byPIDAt(host string, pid int64, t time.Time, self int32) int32 {
	l := ix.byPID[hostPID{host, pid}]
	for k := len(l) - 1; k >= 0; k-- {
		j := l[k]
		if j == self {
			continue
		}
		q := &ix.procs[j]
		if q.start.After(t.Add(twinWindow)) {
			continue
		}
		if !q.end.IsZero() && q.end.Before(t.Add(-time.Second)) {
			return -1
		}
		if ix.bootBetween(host, q.start, t) {
			return -1 // the host rebooted since it started
		}
		if !q.start.IsZero() && q.end.IsZero() && t.Sub(q.start) > pidReuseWindow {
			return -1
		}
		if q.start.IsZero() && k > 0 && ix.procs[l[k-1]].start.IsZero() && l[k-1] != self {
			return -1 // two processes with this PID from before the evidence: which one is unknown
		}
		return j
	}
	return -1
}

// resolve returns the process a reference names, or -1.
func (ix *Index) resolve(r procRef) int32 {
	if r.guid != "" {
		if j, ok := ix.byGUID[hostKey{r.host, r.guid}]; ok {
			return j
		}
	}
	if r.pid == 0 || r.host == "" {
		return -1
	}
	if r.t.IsZero() {
		l := ix.byPID[hostPID{r.host, r.pid}]
		if len(l) == 1 {
			return l[0]
		}
		return -1
	}
	return ix.byPIDAt(r.host, r.pid, r.t, -1)
}

// hostOf returns the host a name or an address in evidence means ("" when
// unknown).
func (ix *Index) hostOf(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return ""
	}
	if ip := normIP(name); isIP(ip) {
		return ix.hostIPs[ip]
	}
	return HostName(name)
}

func (ix *Index) parentImage(i int32) string {
	if p := ix.procs[i].parent; p >= 0 {
		return ix.procs[p].image
	}
	return ""
}

// schedulerHost reports whether an image is one the Task Scheduler starts
// task actions from.
func schedulerHost(image string) bool {
	switch baseName(strings.ToLower(image)) {
	case "svchost.exe", "taskeng.exe", "taskhostw.exe", "taskhost.exe":
		return true
	}
	return false
}

func mergeProc(dst, src *process) {
	if src.created && (!dst.created || createdBefore(src, dst)) {
		end, pid, sure := dst.end, dst.pid, dst.pidSure
		*dst = *src
		if dst.end.IsZero() || (!end.IsZero() && end.Before(dst.end)) {
			dst.end = end
		}
		if !dst.pidSure {
			dst.pid = minPID(dst.pid, pid)
			dst.pidSure = sure
		}
		return
	}
	if !dst.pidSure {
		if src.pidSure {
			dst.pid, dst.pidSure = src.pid, true
		} else {
			dst.pid = minPID(dst.pid, src.pid)
		}
	}
	if !dst.created {
		dst.image = minStr(dst.image, src.image)
		dst.cmd = minStr(dst.cmd, src.cmd)
		dst.user = minStr(dst.user, src.user)
		dst.logon = minStr(dst.logon, src.logon)
		dst.parentGUID = minStr(dst.parentGUID, src.parentGUID)
	}
	if dst.end.IsZero() || (!src.end.IsZero() && src.end.Before(dst.end)) {
		dst.end = src.end
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// IndexStats counts what an Index holds.
type IndexStats struct {
	// Events is how many events were observed.
	Events int64
	// Processes, Logons, Services, Tasks and Files count the entities
	// (Files: files seen written); Intents the remote actions kept for
	// lateral edges; Hosts the computers with processes.
	Processes, Logons, Services, Tasks, Files, Intents, Hosts int
}

// Stats counts the entities of a finished Index (Finish is called if it
// was not).
func (ix *Index) Stats() IndexStats {
	ix.Finish()
	st := IndexStats{
		Events:    ix.events,
		Processes: len(ix.procs) - len(ix.alias),
		Logons:    ix.logonCount(), Services: len(ix.services), Tasks: len(ix.tasks), Files: len(ix.files),
		Hosts: len(ix.hostName),
	}
	for _, l := range ix.intents {
		st.Intents += len(l)
	}
	return st
}

func (ix *Index) logonCount() int {
	n := 0
	for _, l := range ix.logons {
		n += len(l.inst)
	}
	return n
}
