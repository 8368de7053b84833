package operation

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

// The entity index: a compact record of the processes, logon sessions,
// services, scheduled tasks, dropped files and cross-host hints seen while
// hunting, kept so that Build can join detections without the
// events. It never keeps an event: Observe copies the few strings it needs
// (interned per shard, so an image path or a user name repeated in a million
// events is stored once). Memory grows with the number of distinct
// processes, logons, services, tasks and written files, not with events.
//
// Concurrency: an Index holds one IndexShard per worker. A shard is used by
// one goroutine at a time (the worker whose id it has); shards share
// nothing, so workers never lock. After every Observe call has returned (for
// source.Run: after Run returns, which waits for its workers), one goroutine
// calls Index.Finish, which merges the shards and resolves the links; from
// then on the Index is read-only and safe for concurrent readers.

// Index is the entity index of a hunt. Create it with NewIndex, feed each
// worker's events to Shard(worker).Observe, then call Finish.
type Index struct {
	shards []*IndexShard
	done   bool

	strs map[string]string

	procs    []process
	byGUID   map[hostKey]int32   // by host and ProcessGuid
	byPID    map[hostPID][]int32 // sorted by start time
	logons   map[hostKey]*logonID
	boots    map[string][]time.Time   // by host, sorted
	incarn   map[string][]incarnation // by host, when it had several
	services map[hostKey]*service
	tasks    map[hostKey]*task
	files    map[hostKey]*file
	hashes   map[string][]hostKey // dropped files by hash
	hostIPs  map[string]string    // IP → host
	hostName map[string]string    // any spelling (FQDN, short, IP) upper-case → host
	intents  map[string][]intent  // target host → remote actions naming it, by time
	// unknown are the remote actions aimed at an address no host is known
	// by, by the name of the account they used (see accountName: only a
	// logon of that account may be traced to them), by time; drops the
	// files a command copied to another host's admin share
	// (\\host\c$\path), by local path and time.
	unknown map[string][]intent
	drops   map[string][]intent
	taskRun map[int32]hostKey // process → task it ran
	svcRun  map[int32]hostKey // process → service it ran
	implic  map[int32]bool    // processes that loaded or ran a dropped file
	imgFile map[int32]string  // processes whose image is a dropped file → its key
	alias   map[int32]int32   // Security 4688 records → their Sysmon 1 twin
	events  int64             // events observed
}

// NewIndex returns an empty index with one shard per worker (at least one).
func NewIndex(workers int) *Index {
	ix := &Index{}
	for range max(workers, 1) {
		ix.shards = append(ix.shards, newShard())
	}
	return ix
}

// Shard returns the shard of worker i. Shard is safe for concurrent use;
// the shard it returns is not (see Index).
func (ix *Index) Shard(i int) *IndexShard { return ix.shards[i] }

// hostKey names an entity on one host: a lower-cased logon ID, service
// name, task name or file path.
type hostKey struct{ host, key string }

type hostPID struct {
	host string
	pid  int64
}

// process is one process instance.
type process struct {
	host       string
	guid       string // "" when only Security 4688 saw it
	pid        int64
	start, end time.Time // zero when not seen
	parentGUID string
	parentPID  int64
	parent     int32 // resolved by Finish; -1 when unknown
	image      string
	cmd        string
	user       string
	logon      string // lower-case hex
	created    bool   // its creation event was seen
	pidSure    bool   // pid comes from the creation event
	ubiq       bool   // its image is ubiquitous (set by Finish)
}

// logon is one logon session (Security 4624).
type logon struct {
	host, id    string
	user        string // DOMAIN\name
	ip          string
	workstation string
	logonType   int
	start, end  time.Time
	elevated    bool // 4672 special privileges
}

// service is one installed service (System 7045, Security 4697). Its
// image and logon are each the earliest one an event says (see
// sayFirst), whichever event said the other.
type service struct {
	host      string
	name      string      // the smallest spelling an event gives (its key is lower-cased)
	image     string      // normalized path
	installed time.Time   // first installation
	installs  []time.Time // every installation: each is an instance
	logon     string      // installer's logon ID (4697)
	// imageAt and logonAt are when the events that said image and logon
	// were written.
	imageAt, logonAt time.Time
}

// task is one scheduled task (Security 4698/4702, TaskScheduler 106); its
// command and logon are the earliest a 4698 or 4702 says (TaskScheduler
// 106 says neither).
type task struct {
	host    string
	name    string      // the smallest spelling an event gives (its key is lower-cased)
	command string      // the action's command (and arguments), normalized
	created time.Time   // first creation
	creates []time.Time // every creation: each is an instance
	logon   string      // creator's logon ID
	pids    []int64
	// commandAt and logonAt are when the events that said command and
	// logon were written.
	commandAt, logonAt time.Time
}

// sayFirst keeps in *cur, said at *at, the value the earliest event says
// (v, said at t), empty values aside; of events of one time, the smaller
// value; of an event without a time, only when no other says one. Kept
// so, a value does not depend on the order events come in, nor on how
// they are cut into shards. It reports whether it kept v.
func sayFirst(cur *string, at *time.Time, v string, t time.Time) bool {
	if v == "" || (*cur != "" && !saidBefore(t, v, *at, *cur)) {
		return false
	}
	*cur, *at = v, t
	return true
}

// saidBefore reports whether v said at t comes before w said at u: a time
// before none, the earlier, then the smaller value.
func saidBefore(t time.Time, v string, u time.Time, w string) bool {
	if t.IsZero() != u.IsZero() {
		return u.IsZero()
	}
	if c := t.Compare(u); c != 0 {
		return c < 0
	}
	return v < w
}

// sayFirst is the package's sayFirst of a value interned when kept.
func (s *IndexShard) sayFirst(cur *string, at *time.Time, v string, t time.Time) {
	if sayFirst(cur, at, v, t) {
		*cur = s.intern(v)
	}
}

// file is one written file (Sysmon 11), with who wrote it and who loaded
// or ran it.
type file struct {
	host, path string // path as its earliest write spells it (see sayFirst)
	pathAt     time.Time
	first      time.Time
	// writes are its writes, each an instance of the file (see
	// addWrite): a loader or runner is linked to the write before it.
	writes  []procRef
	nwrite  int
	loaders []procRef // first few loaders (Sysmon 6/7) or runners
	hash    string
}

func compareRefs(a, b procRef) int {
	return cmp.Or(a.t.Compare(b.t), strings.Compare(a.guid, b.guid), cmp.Compare(a.pid, b.pid))
}

// procRef names a process before the shards are merged.
type procRef struct {
	host string
	guid string
	pid  int64
	t    time.Time
	idx  int32 // resolved by Finish
}

// intent is an action on one host aimed at another: a command line naming
// it, a connection to one of its admin ports, explicit credentials for it.
type intent struct {
	ref  procRef
	t    time.Time
	what string
	// account is the account the command or 4648 names ("" when none).
	account string
	host    string // the target host ("" when unknown)
	path    string // a dropped file's local path on the target, lower-cased
}

// ubiquitous lists the images that parent or host everything on a Windows
// machine: a shared one says nothing about two detections, so they are
// never joining points (they remain nodes: a narrative may name them).
//   - System, smss, csrss, wininit, winlogon, services, svchost: boot and
//     service hosts, the parents of every service and session;
//   - lsass: it starts few processes but every credential tool touches it;
//   - explorer, userinit, sihost, runtimebroker, dllhost, conhost: a
//     user's desktop and COM hosts; everything a user does all day has
//     them as ancestors (the logon session joins a user's actions instead,
//     with its own window);
//   - wmiprvse, taskeng, taskhostw: shared execution hosts of WMI and the
//     Task Scheduler; remote WMI is joined by the network logon and the
//     lateral edge, tasks by the task edge.
//
// wsmprovhost.exe is not listed: WinRM starts one per remote session, so its
// children are one session's commands. cmd.exe and powershell.exe are not
// listed: one batch file or console is one story.
var ubiquitous = map[string]bool{
	"system": true, "smss.exe": true, "csrss.exe": true, "wininit.exe": true, "winlogon.exe": true,
	"services.exe": true, "svchost.exe": true, "lsass.exe": true, "explorer.exe": true, "userinit.exe": true,
	"sihost.exe": true, "runtimebroker.exe": true, "dllhost.exe": true, "conhost.exe": true,
	"wmiprvse.exe": true, "taskeng.exe": true, "taskhostw.exe": true,
}

// systemLogons are the logon IDs of the built-in service accounts (and the
// null session): everything a service does runs in them.
var systemLogons = map[string]bool{"0x3e7": true, "0x3e4": true, "0x3e5": true, "0x0": true, "": true}

// maxCommand bounds the command lines kept (longer ones are cut).
const maxCommand = 1024

// IndexShard is the part of an Index one worker fills. It is not safe for
// concurrent use.
type IndexShard struct {
	strs     map[string]string
	procs    []process
	byGUID   map[hostKey]int32  // by host and ProcessGuid
	byPIDT   map[pidStart]int32 // processes without a GUID
	logons   map[hostKey]*logonSet
	boots    []hostTime // boots seen
	exits    []hostTime // exits of processes known by PID only (Security 4689)
	services map[hostKey]*service
	tasks    map[hostKey]*task
	files    map[hostKey]*file
	loads    map[hostKey][]procRef // files loaded, before Finish knows which were written
	hostIPs  map[ipHost]*int       // how often an address was seen as a host's
	intents  []intentRaw
	// intentAt is the intent kept of each process, target and minute (its
	// place in intents), so that a process that connects to a share all
	// day keeps one intent a minute, not one per connection.
	intentAt map[intentKey]int
	events   int64
	// The last Computer seen and its HostName: events of one log come
	// from one computer.
	lastComputer, lastHost string
	// names and paths remember, for each spelling seen, its HostName and
	// the key of the file path it names (see pathKey), so that a name or
	// a DLL path seen in a million events is normalized once.
	names, paths map[string]string
	// f is the current event's fields.
	f fields
}

type pidStart struct {
	host string
	pid  int64
	// start is the creation's time (Unix nanoseconds): a PID is reused
	// within a second on a busy host (a conhost.exe's, then a cmd.exe's,
	// half a second apart), and two processes are not one.
	start int64
}

// intentRaw is an intent whose target is not resolved to a host yet.
type intentRaw struct {
	ref     procRef
	target  string // host name or IP as written
	what    string
	account string // the account named, if any
	path    string // for a drop: the file's local path on the target
}

func newShard() *IndexShard {
	return &IndexShard{
		strs: map[string]string{}, byGUID: map[hostKey]int32{}, byPIDT: map[pidStart]int32{},
		logons: map[hostKey]*logonSet{}, services: map[hostKey]*service{}, tasks: map[hostKey]*task{},
		files: map[hostKey]*file{}, loads: map[hostKey][]procRef{}, hostIPs: map[ipHost]*int{},
		intentAt: map[intentKey]int{}, names: map[string]string{}, paths: map[string]string{},
	}
}

// intern returns a copy of s that shares no memory with the event, the same
// copy for equal strings.
func (s *IndexShard) intern(v string) string {
	if v == "" {
		return ""
	}
	if c, ok := s.strs[v]; ok {
		return c
	}
	c := strings.Clone(v)
	s.strs[c] = c
	return c
}

// host returns the interned HostName of a Computer field.
func (s *IndexShard) host(computer string) string {
	if computer != s.lastComputer || s.lastComputer == "" {
		s.lastComputer = strings.Clone(computer)
		s.lastHost = s.hostName(computer)
	}
	return s.lastHost
}

// hostName returns the interned HostName of a computer name.
func (s *IndexShard) hostName(computer string) string {
	if h, ok := s.names[computer]; ok {
		return h
	}
	h := s.intern(HostName(computer))
	s.names[strings.Clone(computer)] = h
	return h
}

// pathKey returns the key of the file an event's path names on host: the
// path normalized (NormPath), lower-cased and interned; "" when there is
// none.
func (s *IndexShard) pathKey(host, raw string) hostKey {
	k, ok := s.paths[raw]
	if !ok {
		k = s.intern(strings.ToLower(NormPath(raw)))
		s.paths[strings.Clone(raw)] = k
	}
	return hostKey{host, k}
}

// key returns the map key of an entity named k on host: k lower-cased
// and interned (strings.ToLower returns its argument when there is nothing
// to change, and the argument may live in the event's buffer).
func (s *IndexShard) key(host, k string) hostKey {
	return hostKey{host, s.intern(strings.ToLower(k))}
}

// HostName returns the short, upper-case name of a computer name:
// "erp01.corp.local" → "ERP01".
func HostName(computer string) string {
	computer = strings.TrimSpace(computer)
	if i := strings.IndexByte(computer, '.'); i > 0 && !isIP(computer) {
		computer = computer[:i]
	}
	return strings.ToUpper(computer)
}

func parseNum(s string) int64 {
	s = strings.TrimSpace(s)
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		n, err := strconv.ParseInt(s[2:], 16, 64)
		if err != nil {
			return 0
		}
		return n
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// normLogon lower-cases a logon ID and drops leading zeros: "0x00003E7" →
// "0x3e7". It returns s itself when it is in that form already.
func normLogon(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(s, "0x") {
		t := strings.TrimLeft(s[2:], "0")
		if t == "" {
			t = "0"
		}
		if len(t) == len(s)-2 {
			return s
		}
		return "0x" + t
	}
	if s != "" && strings.Trim(s, "0123456789") == "" { // spares ParseUint's error values
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return "0x" + strconv.FormatUint(n, 16)
		}
	}
	return s
}

// normGUID upper-cases a GUID and adds braces.
func normGUID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == "{00000000-0000-0000-0000-000000000000}" {
		return ""
	}
	if s[0] != '{' {
		s = "{" + s + "}"
	}
	return strings.ToUpper(s)
}

// Observe records what ev says about entities. It copies what it keeps; ev
// may be reused once Observe returns.
func (s *IndexShard) Observe(ev *event.Event) {
	s.events++
	f := &s.f
	f.scan(ev)
	id := f.num(fEventID)
	if id == 0 {
		return
	}
	ch := f.str(fChannel)
	host := s.host(f.str(fComputer))
	if host == "" {
		return
	}
	t := f.time()
	sysmon := strings.Contains(ch, "Sysmon")
	// Forwarded logs may spell the channels in lower case.
	security, system := strings.EqualFold(ch, "Security"), strings.EqualFold(ch, "System")
	if bootEvent(security, system, id) && !t.IsZero() {
		s.boots = append(s.boots, hostTime{host: host, t: t})
		return
	}
	switch {
	case sysmon:
		s.sysmon(id, host, t)
	case security:
		s.security(id, host, t)
	case system:
		if id == 7045 {
			name := f.str(fServiceName)
			if name == "" {
				return
			}
			sv := s.service(host, name)
			sv.installs = append(sv.installs, t)
			sv.installed = minTime(sv.installed, t)
			s.sayFirst(&sv.image, &sv.imageAt, NormPath(f.str(fImagePath)), t)
		}
	case strings.Contains(ch, "TaskScheduler"):
		name := f.str(fTaskName)
		if name == "" {
			return
		}
		tk := s.task(host, name)
		if id == 106 {
			tk.creates = append(tk.creates, t)
			tk.created = minTime(tk.created, t)
		}
		if id == 129 { // task process created
			if pid := f.num(fProcessID); pid != 0 {
				tk.pids = append(tk.pids, pid)
			}
		}
	}
}

// sysmon records a Sysmon event (its fields in s.f).
func (s *IndexShard) sysmon(id int64, host string, t time.Time) {
	f := &s.f
	switch id {
	case 1:
		pid := f.num(fProcessId)
		p := s.proc(host, normGUID(f.str(fProcessGuid)), pid, t)
		cmd := cut(f.str(fCommandLine))
		pg, ppid := normGUID(f.str(fParentProcessGuid)), f.num(fParentProcessId)
		c := process{start: t, image: f.str(fImage), cmd: cmd, user: f.str(fUser),
			logon: normLogon(f.str(fLogonId)), parentGUID: pg, parentPID: ppid}
		if creation(p, &c) {
			if pid != 0 {
				p.pid, p.pidSure = pid, true
			}
			s.takeFacts(p, &c)
		}
		if pg != "" {
			pp := s.proc(host, pg, ppid, time.Time{})
			if !pp.created {
				s.keepMin(&pp.image, f.str(fParentImage))
				s.keepMin(&pp.cmd, cut(f.str(fParentCommandLine)))
				s.keepMin(&pp.user, f.str(fParentUser))
			}
		}
		s.intentsOf(procRef{host: host, guid: p.guid, pid: p.pid, t: t}, cmd)
	case 5:
		p := s.proc(host, normGUID(f.str(fProcessGuid)), f.num(fProcessId), time.Time{})
		p.end = minTime(p.end, t) // of two exits, the earliest, as Finish keeps it of two shards
	case 2, 12, 13, 14, 15, 17, 18, 22, 23, 26:
		// The acting process is named (a detection on such an event
		// resolves to it), nothing else is kept.
		s.ref(host, t)
	case 3:
		ref := s.ref(host, t)
		src, dst := f.str(fSourceIp), f.str(fDestinationIp)
		srcName, dstName := f.str(fSourceHostname), f.str(fDestinationHostname)
		if f.isTrue(fInitiated) {
			s.mapIP(src, host)
			if dstName != "" {
				s.mapIP(dst, s.hostName(dstName))
			}
			if adminPort(f.num(fDestinationPort)) && !isLoopback(dst) {
				s.addIntent(intentRaw{ref: ref, target: dst, what: "connect"})
			}
		} else {
			s.mapIP(dst, host)
			if srcName != "" {
				s.mapIP(src, s.hostName(srcName))
			}
		}
	case 6:
		k := s.pathKey(host, f.str(fImageLoaded))
		s.loads[k] = addLoader(s.loads[k], procRef{host: host, t: t})
	case 7:
		k := s.pathKey(host, f.str(fImageLoaded))
		s.loads[k] = addLoader(s.loads[k], s.ref(host, t))
	case 11:
		raw := f.str(fTargetFilename)
		k := s.pathKey(host, raw)
		if k.key == "" {
			return
		}
		fl := s.files[k]
		if fl == nil {
			fl = &file{host: host}
			s.files[k] = fl
		}
		if fl.path == "" || fl.pathAt.IsZero() || (!t.IsZero() && !t.After(fl.pathAt)) {
			s.sayFirst(&fl.path, &fl.pathAt, NormPath(raw), t)
		}
		fl.addWrite(s.ref(host, t))
		fl.nwrite++
	}
}

// ref names the process of a Sysmon event (its fields in s.f).
func (s *IndexShard) ref(host string, t time.Time) procRef {
	f := &s.f
	r := procRef{host: host, pid: f.num(fProcessId), t: t}
	if g := normGUID(f.str(fProcessGuid)); g != "" {
		p := s.proc(host, g, r.pid, time.Time{})
		r.guid = p.guid
		if !p.created {
			s.keepMin(&p.image, f.str(fImage))
		}
	}
	return r
}

// security records a Security event (its fields in s.f).
func (s *IndexShard) security(id int64, host string, t time.Time) {
	f := &s.f
	switch id {
	case 4688:
		pid := f.num(fNewProcessId)
		if pid == 0 {
			return
		}
		p := s.proc(host, "", pid, t)
		cmd := cut(f.str(fCommandLine))
		s.intentsOf(procRef{host: host, pid: pid, t: t}, cmd)
		lid := normLogon(f.str(fTargetLogonId))
		user := f.str(fTargetUserName)
		if systemLogons[lid] {
			lid = normLogon(f.str(fSubjectLogonId))
			user = f.str(fSubjectUserName)
			if d := f.str(fSubjectDomainName); d != "" && user != "" {
				user = d + `\` + user
			}
		}
		c := process{start: t, image: f.str(fNewProcessName), cmd: cmd, user: user, logon: lid,
			parentPID: f.num(fProcessId)}
		if creation(p, &c) {
			s.takeFacts(p, &c)
		}
	case 4689:
		if pid := f.num(fProcessId); pid != 0 && !t.IsZero() {
			s.exits = append(s.exits, hostTime{host: host, pid: pid, t: t})
		}
	case 4624:
		lid := normLogon(f.str(fTargetLogonId))
		if lid == "" || t.IsZero() {
			return
		}
		l := &logon{host: host, id: s.intern(lid), start: t}
		l.user = s.intern(account(f.str(fTargetDomainName), f.str(fTargetUserName)))
		l.ip = s.intern(normIP(f.str(fIpAddress)))
		l.workstation = s.hostName(f.str(fWorkstationName))
		l.logonType = int(f.num(fLogonType))
		s.logon(host, lid).addStart(l)
		// Every 4624 is a sighting, the same one read twice included, as
		// every Sysmon 3 is: a count that depends on which were kept
		// would depend on how the events were cut into shards.
		if l.ip != "" && l.workstation != "" && !isLoopback(l.ip) {
			s.mapIP(l.ip, l.workstation)
		}
	case 4634, 4647:
		lid := normLogon(f.str(fTargetLogonId))
		if lid == "" {
			return
		}
		ls := s.logon(host, lid)
		ls.ends = append(ls.ends, t)
	case 4672:
		if lid := normLogon(f.str(fSubjectLogonId)); lid != "" {
			ls := s.logon(host, lid)
			ls.privs = append(ls.privs, t)
		}
	case 4648:
		target := f.str(fTargetServerName)
		if target == "" || strings.EqualFold(target, "localhost") {
			return
		}
		r := procRef{host: host, pid: f.num(fProcessId), t: t}
		s.addIntent(intentRaw{ref: r, target: target, what: "explicit credentials",
			account: s.intern(account(f.str(fTargetDomainName), f.str(fTargetUserName)))})
	case 4697:
		name := f.str(fServiceName)
		if name == "" {
			return
		}
		sv := s.service(host, name)
		sv.installs = append(sv.installs, t)
		sv.installed = minTime(sv.installed, t)
		s.sayFirst(&sv.image, &sv.imageAt, NormPath(f.str(fServiceFileName)), t)
		s.sayFirst(&sv.logon, &sv.logonAt, normLogon(f.str(fSubjectLogonId)), t)
	case 4698, 4702:
		name := f.str(fTaskName)
		if name == "" {
			return
		}
		tk := s.task(host, name)
		if id == 4698 {
			tk.creates = append(tk.creates, t)
		}
		tk.created = minTime(tk.created, t)
		s.sayFirst(&tk.logon, &tk.logonAt, normLogon(f.str(fSubjectLogonId)), t)
		s.sayFirst(&tk.command, &tk.commandAt, TaskCommand(f.str(fTaskContent)), t)
	}
}

// creation marks p created by the creation record c (its start and
// facts) and reports whether c is the one to take p's facts from: of two
// creation records of one process (a GUID's Sysmon 1 read twice, or two
// that disagree), the first by createdBefore, as Finish keeps of two
// shards' (mergeProc).
func creation(p, c *process) bool {
	if p.created && !createdBefore(c, p) {
		return false
	}
	p.created, p.start = true, c.start
	return true
}

// createdBefore reports whether the creation record a comes before b: one
// with a time before one without (an export that lost it must not erase
// the start of the process, as sayFirst), the earlier, then of one time
// (one creation in two exports, one without the command line) the one that
// says more, then the smaller values. The PID is left out: a shard's may
// come from other events than the creation.
func createdBefore(a, b *process) bool {
	if a.start.IsZero() != b.start.IsZero() {
		return b.start.IsZero()
	}
	return cmp.Or(a.start.Compare(b.start), compareSaid(a.image, b.image), compareSaid(a.cmd, b.cmd),
		compareSaid(a.user, b.user), compareSaid(a.logon, b.logon), compareSaid(a.parentGUID, b.parentGUID),
		cmp.Compare(a.parentPID, b.parentPID)) < 0
}

// compareSaid orders two values an event says: a value before none, then
// the smaller.
func compareSaid(a, b string) int {
	if (a == "") != (b == "") {
		if a == "" {
			return 1
		}
		return -1
	}
	return strings.Compare(a, b)
}

// takeFacts sets p's facts to the creation record c's, interned.
func (s *IndexShard) takeFacts(p, c *process) {
	p.image, p.cmd, p.user, p.logon = s.intern(c.image), s.intern(c.cmd), s.intern(c.user), s.intern(c.logon)
	p.parentGUID, p.parentPID = s.intern(c.parentGUID), c.parentPID
}

// keepMin sets *dst to v (interned) when v is the smaller non-empty string
// (see minStr), interning only then.
func (s *IndexShard) keepMin(dst *string, v string) {
	if v != "" && (*dst == "" || v < *dst) {
		*dst = s.intern(v)
	}
}

// proc returns the process with guid (normalized, see normGUID) on host,
// or, without a GUID, the one with pid started at start; it is added when
// new.
func (s *IndexShard) proc(host, guid string, pid int64, start time.Time) *process {
	if guid != "" {
		if i, ok := s.byGUID[hostKey{host, guid}]; ok {
			p := &s.procs[i]
			if !p.pidSure {
				p.pid = minPID(p.pid, pid)
			}
			return p
		}
		guid = s.intern(guid)
		s.procs = append(s.procs, process{host: host, guid: guid, pid: pid, parent: -1})
		s.byGUID[hostKey{host, guid}] = int32(len(s.procs) - 1)
		return &s.procs[len(s.procs)-1]
	}
	k := pidStart{host, pid, instNanos(start)}
	if i, ok := s.byPIDT[k]; ok {
		return &s.procs[i]
	}
	s.procs = append(s.procs, process{host: host, pid: pid, start: start, parent: -1})
	s.byPIDT[k] = int32(len(s.procs) - 1)
	return &s.procs[len(s.procs)-1]
}

func (s *IndexShard) logon(host, id string) *logonSet {
	if l := s.logons[hostKey{host, id}]; l != nil {
		return l
	}
	id = s.intern(id)
	l := &logonSet{}
	s.logons[hostKey{host, id}] = l
	return l
}

func (s *IndexShard) service(host, name string) *service {
	k := s.key(host, name)
	sv := s.services[k]
	if sv == nil {
		sv = &service{host: host, name: s.intern(name)}
		s.services[k] = sv
	} else {
		s.keepMin(&sv.name, name) // of two spellings, one whatever the order
	}
	return sv
}

func (s *IndexShard) task(host, name string) *task {
	k := s.key(host, name)
	tk := s.tasks[k]
	if tk == nil {
		tk = &task{host: host, name: s.intern(name)}
		s.tasks[k] = tk
	} else {
		s.keepMin(&tk.name, name)
	}
	return tk
}

// mapIP records that ip belongs to host.
func (s *IndexShard) mapIP(ip, host string) {
	ip = normIP(ip)
	if ip == "" || host == "" {
		return
	}
	if a, err := netip.ParseAddr(ip); err != nil || a.IsLoopback() || a.IsUnspecified() {
		return
	}
	k := ipHost{ip, host}
	if n := s.hostIPs[k]; n != nil {
		*n++
		return
	}
	s.hostIPs[ipHost{s.intern(ip), s.intern(host)}] = new(1)
}

// intentKey is what makes two intents one: the same process aiming at
// the same target (as written), the same way, with the same account, in
// the same minute. The account is part of it: a process that tries one
// account's credentials, then another's, caused a logon of the second,
// which the first does not join (lateralLogon).
type intentKey struct {
	host, guid                  string
	pid                         int64
	target, what, path, account string
	minute                      int64
}

// intentEvery is the span of time in which the same process aiming at the
// same target is one intent: each minute of the clock (minutes, not a
// minute since the last one kept, so that which intents are kept does not
// depend on the order events come in, nor on how a log is cut into
// shards: a fleet worker's index is one shard per commit).
const intentEvery = time.Minute

func keyOf(in *intentRaw) intentKey {
	return intentKey{in.ref.host, in.ref.guid, in.ref.pid, in.target, in.what, in.path, in.account,
		in.ref.t.Truncate(intentEvery).Unix()}
}

// earlierIntent reports whether a is kept rather than b, b being the same
// intent (see intentKey): the earlier.
func earlierIntent(a, b *intentRaw) bool { return a.ref.t.Before(b.ref.t) }

// addIntent keeps in, unless the same process aimed at the same target
// earlier in the same minute (it replaces a later one); its strings are
// interned when kept.
func (s *IndexShard) addIntent(in intentRaw) {
	k := keyOf(&in)
	if i, ok := s.intentAt[k]; ok {
		if kept := &s.intents[i]; earlierIntent(&in, kept) {
			kept.ref.t = in.ref.t
		}
		return
	}
	in.target = s.intern(in.target)
	in.path = s.intern(in.path)
	k.target, k.path = in.target, in.path
	s.intentAt[k] = len(s.intents)
	s.intents = append(s.intents, in)
}

// intentsOf records the remote hosts a command line names.
func (s *IndexShard) intentsOf(r procRef, cmd string) {
	tgs := CommandTargets(cmd)
	if len(tgs) == 0 {
		return
	}
	acct := s.intern(CommandAccount(cmd))
	for _, tg := range tgs {
		s.addIntent(intentRaw{ref: r, target: tg, what: "command", account: acct})
	}
	for _, d := range CommandDrops(cmd) {
		s.addIntent(intentRaw{ref: r, target: d[0], what: "drop", account: acct, path: strings.ToLower(d[1])})
	}
}

type ipHost struct{ ip, host string }

// maxLoaders is how many loaders of one file are kept: the earliest (of
// one time, by process), so that the choice does not depend on the order
// events are read in, nor on how they are cut into shards.
const maxLoaders = 8

// addLoader adds r to the earliest loaders of a file.
func addLoader(l []procRef, r procRef) []procRef {
	if len(l) == maxLoaders && compareRefs(r, l[len(l)-1]) >= 0 {
		return l
	}
	i := len(l)
	for i > 0 && compareRefs(r, l[i-1]) < 0 {
		i--
	}
	l = slices.Insert(l, i, r)
	if len(l) > maxLoaders {
		l = l[:maxLoaders]
	}
	return l
}

// minPID returns the smaller non-zero PID (a process's PID does not change;
// when two events disagree, the choice must not depend on their order).
func minPID(a, b int64) int64 {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// minTime returns the earlier non-zero time.
func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// minStr returns the smaller non-empty string (for the same reason).
func minStr(a, b string) string {
	if a == "" || (b != "" && b < a) {
		return b
	}
	return a
}

func cut(s string) string {
	if len(s) > maxCommand {
		return s[:maxCommand]
	}
	return s
}

func account(domain, name string) string {
	if name == "" {
		return ""
	}
	if domain == "" {
		return name
	}
	return domain + `\` + name
}

// adminPort reports whether a destination port is one remote
// administration uses: RPC/DCOM (WMI, schtasks, sc), SMB, RDP, WinRM, SSH.
func adminPort(p int64) bool {
	switch p {
	case 135, 139, 445, 3389, 5985, 5986, 22:
		return true
	}
	return false
}
