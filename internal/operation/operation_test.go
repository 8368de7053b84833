package operation

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/result"
)

// Unit tests of the operation builder: one per edge and per guard, on
// hand-made events.

const chSysmon = "Microsoft-Windows-Sysmon/Operational"

var opT0 = time.Date(2022, 2, 7, 14, 0, 0, 0, time.UTC)

// ev builds an event: system fields, then name/value pairs.
func ev(host string, at time.Duration, channel string, id int, kv ...string) *event.Event {
	e := &event.Event{}
	e.Add(event.FieldChannel, event.StringValue(channel))
	e.Add(event.FieldEventID, event.IntValue(int64(id)))
	e.Add(event.FieldComputer, event.StringValue(host+".corp.local"))
	e.Add(event.FieldTimeCreated, event.TimeValue(opT0.Add(at)))
	for i := 0; i+1 < len(kv); i += 2 {
		e.Add(kv[i], event.StringValue(kv[i+1]))
	}
	return e
}

// proc describes a process for the helpers below.
type proc struct {
	host, guid string
	pid        int
	image, cmd string
	logon      string
}

func guid(host string, n int) string {
	return fmt.Sprintf("{%08X-0000-0000-0000-%012d}", []byte(host)[0], n)
}

// start is Sysmon 1 for p, child of parent.
func start(at time.Duration, p, parent proc) *event.Event {
	logon := p.logon
	if logon == "" {
		logon = "0x3e7"
	}
	return ev(p.host, at, chSysmon, 1, "ProcessGuid", p.guid, "ProcessId", strconv.Itoa(p.pid), "Image", p.image,
		"CommandLine", p.cmd, "User", `CORP\user`, "LogonId", logon, "ParentProcessGuid", parent.guid,
		"ParentProcessId", strconv.Itoa(parent.pid), "ParentImage", parent.image, "ParentCommandLine", parent.cmd)
}

func stop(at time.Duration, p proc) *event.Event {
	return ev(p.host, at, chSysmon, 5, "ProcessGuid", p.guid, "ProcessId", strconv.Itoa(p.pid), "Image", p.image)
}

func write(at time.Duration, p proc, path string) *event.Event {
	return ev(p.host, at, chSysmon, 11, "ProcessGuid", p.guid, "ProcessId", strconv.Itoa(p.pid), "Image", p.image, "TargetFilename", path)
}

func load(at time.Duration, p proc, path string) *event.Event {
	return ev(p.host, at, chSysmon, 7, "ProcessGuid", p.guid, "ProcessId", strconv.Itoa(p.pid), "Image", p.image, "ImageLoaded", path)
}

func connect(at time.Duration, p proc, src, dst, dstName string, port int) *event.Event {
	return ev(p.host, at, chSysmon, 3, "ProcessGuid", p.guid, "ProcessId", strconv.Itoa(p.pid), "Image", p.image,
		"Initiated", "true", "SourceIp", src, "DestinationIp", dst, "DestinationHostname", dstName, "DestinationPort", strconv.Itoa(port))
}

func logon4624(host string, at time.Duration, id, user string, typ int, ip, ws string) *event.Event {
	return ev(host, at, "Security", 4624, "TargetUserName", user, "TargetDomainName", "CORP", "TargetLogonId", id,
		"LogonType", strconv.Itoa(typ), "IpAddress", ip, "WorkstationName", ws)
}

// scene is a set of events, some of them detected.
type scene struct {
	events   []*event.Event
	detected []int
	levels   map[int]string
}

// add appends events; detected ones are marked with det.
func (s *scene) add(es ...*event.Event) *scene {
	s.events = append(s.events, es...)
	return s
}

// det appends an event and marks it detected; it returns its detection
// number (the order of det calls).
func (s *scene) det(e *event.Event) int {
	s.events = append(s.events, e)
	s.detected = append(s.detected, len(s.events)-1)
	return len(s.detected) - 1
}

// build indexes the events over two shards (alternating, so that merging
// is exercised) and builds the operations of the detected ones.
func (s *scene) build(opts Options) []result.Operation {
	idx := NewIndex(2)
	var refs []DetectionRef
	isDet := map[int]int{}
	for k, i := range s.detected {
		isDet[i] = k
	}
	for i, e := range s.events {
		sh := idx.Shard(i % 2)
		sh.Observe(e)
		if k, ok := isDet[i]; ok {
			r := sh.Ref(e)
			r.Index, r.RuleID, r.Title, r.Level = k, "rule-"+strconv.Itoa(k), "Rule "+strconv.Itoa(k), "medium"
			if l := s.levels[k]; l != "" {
				r.Level = l
			}
			r.Tags = []string{"attack.execution", "attack.t1059.003"}
			refs = append(refs, r)
		}
	}
	slices.SortFunc(refs, func(a, b DetectionRef) int { return a.Index - b.Index })
	ops, err := Build(context.Background(), refs, idx, opts)
	if err != nil {
		panic(err) // Background is never cancelled
	}
	return ops
}

// groups returns the detection numbers of each operation, sorted.
func groups(ops []result.Operation) [][]int {
	var out [][]int
	for _, op := range ops {
		g := slices.Clone(op.Detections)
		slices.Sort(g)
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b []int) int { return a[0] - b[0] })
	return out
}

func checkGroups(t *testing.T, s *scene, opts Options, want [][]int) []result.Operation {
	t.Helper()
	opts.KeepSingletons = true
	ops := s.build(opts)
	if got := groups(ops); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("got operations %v, want %v\n%s", got, want, describeOps(ops))
	}
	return ops
}

// Common processes on host A.
var (
	services = proc{"A", guid("A", 1), 684, `C:\Windows\System32\services.exe`, `C:\Windows\system32\services.exe`, "0x3e7"}
	svchost  = proc{"A", guid("A", 2), 1108, `C:\Windows\System32\svchost.exe`, `C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`, "0x3e7"}
	w3wp     = proc{"A", guid("A", 3), 2412, `C:\Windows\System32\inetsrv\w3wp.exe`, `w3wp.exe -ap DefaultAppPool`, "0x3e7"}
)

func child(host string, n int, image, cmd string) proc {
	return proc{host, guid(host, n), 4000 + 4*n, image, cmd, ""}
}

func TestEdgeParentChild(t *testing.T) {
	cmd := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c whoami`)
	who := child("A", 11, `C:\Windows\System32\whoami.exe`, `whoami`)
	s := &scene{}
	s.det(start(0, cmd, w3wp))
	s.det(start(time.Second, who, cmd))
	checkJoin(t, checkGroups(t, s, Options{}, [][]int{{0, 1}}), "process tree", "A", cmd.guid, "")
}

func TestEdgeSharedAncestor(t *testing.T) {
	bat := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c i.bat`)
	net := child("A", 11, `C:\Windows\System32\net.exe`, `net group "domain admins" /domain`)
	net1 := child("A", 12, `C:\Windows\System32\net1.exe`, `net1 group "domain admins" /domain`)
	fsu := child("A", 13, `C:\Windows\System32\fsutil.exe`, `fsutil fsinfo drives`)
	s := (&scene{}).add(start(0, bat, w3wp), start(time.Second, net, bat))
	s.det(start(2*time.Second, net1, net)) // grandchild of bat
	s.det(start(3*time.Second, fsu, bat))  // child of bat
	checkGroups(t, s, Options{}, [][]int{{0, 1}})
}

func TestGuardUbiquitous(t *testing.T) {
	// Two services started by services.exe share nothing.
	a := child("A", 10, `C:\Program Files\A\a.exe`, `a.exe`)
	b := child("A", 11, `C:\Program Files\B\b.exe`, `b.exe`)
	s := &scene{}
	s.det(start(0, a, services))
	s.det(start(time.Minute, b, services))
	checkGroups(t, s, Options{}, [][]int{{0}, {1}})

	// An svchost instance that is itself detected is implicated: its
	// children join it.
	host := child("A", 20, `C:\Windows\System32\svchost.exe`, `svchost.exe -k print`)
	c1 := child("A", 21, `C:\Windows\System32\cmd.exe`, `cmd.exe /c dir`)
	c2 := child("A", 22, `C:\Windows\System32\cmd.exe`, `cmd.exe /c makecab`)
	s = (&scene{}).add(start(0, host, services))
	s.det(load(time.Second, host, `C:\Windows\System32\clfsw32.dll`))
	s.det(start(time.Hour, c1, host))
	s.det(start(2*time.Hour, c2, host))
	checkGroups(t, s, Options{}, [][]int{{0, 1, 2}})

	// The same without the detection on svchost: the children stay apart.
	s = (&scene{}).add(start(0, host, services), load(time.Second, host, `C:\Windows\System32\clfsw32.dll`))
	s.det(start(time.Hour, c1, host))
	s.det(start(2*time.Hour, c2, host))
	checkGroups(t, s, Options{}, [][]int{{0}, {1}})
}

func TestGuardAncestorDepth(t *testing.T) {
	// root → p1 → p2 → p3 → p4 → leaf: the leaf is 5 generations below root;
	// a detection under root's other child joins it only when the walk goes
	// that far up.
	root := child("A", 10, `C:\Tools\root.exe`, `root.exe`)
	s := (&scene{}).add(start(0, root, w3wp))
	prev := root
	for n := 11; n <= 14; n++ {
		p := child("A", n, `C:\Windows\System32\cmd.exe`, `cmd.exe /c step`+strconv.Itoa(n))
		s.add(start(time.Duration(n)*time.Second, p, prev))
		prev = p
	}
	leaf := child("A", 15, `C:\Tools\leaf.exe`, `leaf.exe`)
	other := child("A", 16, `C:\Tools\other.exe`, `other.exe`)
	s.det(start(20*time.Second, leaf, prev))
	s.det(start(21*time.Second, other, root))
	checkGroups(t, s, Options{}, [][]int{{0}, {1}})
	checkGroups(t, s, Options{MaxAncestors: 5}, [][]int{{0, 1}})
}

func TestGuardProcessWindow(t *testing.T) {
	bat := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /k`)
	a := child("A", 11, `C:\Windows\System32\whoami.exe`, `whoami`)
	b := child("A", 12, `C:\Windows\System32\net.exe`, `net user`)
	c := child("A", 13, `C:\Windows\System32\net.exe`, `net view`)
	// The shared parent's end is unknown: detections more than 24 h apart
	// do not join through it; chained ones within 24 h do.
	s := (&scene{}).add(start(0, bat, w3wp))
	s.det(start(time.Hour, a, bat))
	s.det(start(20*time.Hour, b, bat))
	s.det(start(70*time.Hour, c, bat))
	checkGroups(t, s, Options{}, [][]int{{0, 1}, {2}})
	// Its lifetime known (Sysmon 5): every child joins.
	s.add(stop(80*time.Hour, bat))
	checkGroups(t, s, Options{}, [][]int{{0, 1, 2}})
}

func TestEdgeFileSideLoad(t *testing.T) {
	// A batch writes a DLL; a service's svchost loads it 400 days later.
	bat := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c 1.bat`)
	sc := child("A", 11, `C:\Windows\System32\sc.exe`, `sc start PrintNotify`)
	host := child("A", 12, `C:\Windows\System32\svchost.exe`, `svchost.exe -k print`)
	dll := `C:\Windows\System32\WindowsPowerShell\v1.0\prntvpt.dll`
	s := (&scene{}).add(start(0, bat, svchost), write(time.Second, bat, dll))
	s.det(start(2*time.Second, sc, bat))
	later := 400 * 24 * time.Hour
	s.add(start(later, host, services))
	s.det(load(later+time.Second, host, dll))
	ops := checkGroups(t, s, Options{}, [][]int{{0, 1}})
	// The story tells the quiet year.
	if len(ops) == 1 && (len(ops[0].Steps) != 2 || ops[0].Steps[1].Dormant != "13 months" ||
		!strings.HasPrefix(ops[0].Narrative[1], "[dormant 13 months] ")) {
		t.Errorf("got narrative %q, want its second step dormant 13 months", ops[0].Narrative)
	}

	// A DLL nobody was seen writing joins nothing.
	s = &scene{}
	s.det(load(0, host, `C:\Windows\System32\clfsw32.dll`))
	other := child("A", 13, `C:\Windows\System32\svchost.exe`, `svchost.exe -k netsvcs`)
	s.det(load(time.Hour, other, `C:\Windows\System32\clfsw32.dll`))
	checkGroups(t, s, Options{}, [][]int{{0}, {1}})
}

func TestEdgeFileRun(t *testing.T) {
	// A tool dropped by one process and run by another, days later.
	dl := child("A", 10, `C:\Windows\System32\certutil.exe`, `certutil -decode u.txt C:\ProgramData\DRM\rundll32.exe`)
	tool := child("A", 11, `C:\ProgramData\DRM\rundll32.exe`, `rundll32.exe lsadump::sam`)
	cmd := child("A", 12, `C:\Windows\System32\cmd.exe`, `cmd.exe`)
	s := &scene{}
	s.det(start(0, dl, w3wp))
	s.add(write(time.Second, dl, `C:\ProgramData\DRM\rundll32.exe`), start(72*time.Hour, cmd, services))
	s.det(start(72*time.Hour+time.Second, tool, cmd))
	checkJoin(t, checkGroups(t, s, Options{}, [][]int{{0, 1}}), "shared file", "A", `C:\ProgramData\DRM\rundll32.exe`, "")
}

func TestEdgeService(t *testing.T) {
	// A dropper writes a driver and installs it as a service; System 7045
	// and the service's own process are detected later.
	drop := child("A", 10, `C:\Windows\Temp\d.exe`, `d.exe`)
	svc := child("A", 11, `C:\Windows\System32\drivers\x.exe`, `C:\Windows\System32\drivers\x.exe`)
	s := &scene{}
	s.det(start(0, drop, w3wp))
	s.add(write(time.Second, drop, `C:\Windows\System32\drivers\x.exe`))
	s.det(ev("A", 10*24*time.Hour, "System", 7045, "ServiceName", "xsvc", "ImagePath", `\SystemRoot\System32\drivers\x.exe`))
	s.det(start(30*24*time.Hour, svc, services)) // what the service ran, under services.exe
	checkGroups(t, s, Options{}, [][]int{{0, 1, 2}})
}

func TestEdgeTask(t *testing.T) {
	// A task is created (4698); much later the Task Scheduler runs its
	// command.
	run := child("A", 10, `C:\Windows\System32\cmd.exe`, `C:\Windows\SYSTEM32\cmd.exe /c "C:\Windows\Temp\1.bat"`)
	s := &scene{}
	s.det(ev("A", 0, "Security", 4698, "SubjectLogonId", "0x3e7", "TaskName", `\test`,
		"TaskContent", `<Task><Actions><Exec><Command>C:\Windows\Temp\1.bat</Command></Exec></Actions></Task>`))
	s.det(start(5*24*time.Hour, run, svchost))
	// Another cmd under the scheduler, not the task's command.
	s.det(start(5*24*time.Hour+time.Minute, child("A", 11, `C:\Windows\System32\cmd.exe`, `cmd.exe /c backup.cmd`), svchost))
	checkGroups(t, s, Options{}, [][]int{{0, 1}, {2}})
}

func TestEdgeLogonSession(t *testing.T) {
	explorer := child("A", 9, `C:\Windows\explorer.exe`, `explorer.exe`)
	a := child("A", 10, `C:\Windows\System32\whoami.exe`, `whoami /all`)
	b := child("A", 11, `C:\Windows\System32\net.exe`, `net group /domain`)
	a.logon, b.logon = "0x51f00", "0x51f00"
	s := (&scene{}).add(logon4624("A", 0, "0x51F00", "mallory", 10, "10.0.0.9", "KALI"))
	s.det(start(time.Minute, a, explorer))
	s.det(start(2*time.Hour, b, explorer))
	checkJoin(t, checkGroups(t, s, Options{}, [][]int{{0, 1}}), "logon session", "A", "0x51f00", "")

	// The built-in accounts' sessions join nothing.
	a.logon, b.logon = "0x3e7", "0x3e7"
	s = &scene{}
	s.det(start(time.Minute, a, explorer))
	s.det(start(2*time.Hour, b, explorer))
	checkGroups(t, s, Options{}, [][]int{{0}, {1}})

	// A session of unknown span joins detections within 24 h only; with
	// its logoff known, its whole span.
	a.logon, b.logon = "0x77", "0x77"
	s = &scene{}
	s.det(start(time.Minute, a, explorer))
	s.det(start(50*time.Hour, b, explorer))
	checkGroups(t, s, Options{}, [][]int{{0}, {1}})
	s.add(logon4624("A", 0, "0x77", "mallory", 2, "", ""), ev("A", 60*time.Hour, "Security", 4634, "TargetLogonId", "0x77"))
	checkGroups(t, s, Options{}, [][]int{{0, 1}})
}

func TestEdgeLateralScheduledTask(t *testing.T) {
	// Host A runs schtasks /S against B; B logs the network logon from A's
	// address, the task created in that session, and runs it.
	schtasks := child("A", 10, `C:\Windows\System32\schtasks.exe`, `schtasks /create /S 10.0.0.15 /U corp\adm /p x /tn test /tr C:\Windows\Temp\1.bat /sc once /ru SYSTEM`)
	bSched := proc{"B", guid("B", 2), 1316, `C:\Windows\System32\svchost.exe`, `svchost.exe -k netsvcs -p -s Schedule`, "0x3e7"}
	run := child("B", 20, `C:\Windows\System32\cmd.exe`, `cmd.exe /c "C:\Windows\Temp\1.bat"`)
	s := (&scene{}).add(connect(0, w3wp, "10.0.0.11", "10.0.0.15", "B.corp.local", 135))
	s.det(start(time.Second, schtasks, w3wp))
	s.add(logon4624("B", 2*time.Second, "0xabc", "adm", 3, "10.0.0.11", "A"))
	s.det(ev("B", 3*time.Second, "Security", 4698, "SubjectLogonId", "0xabc", "TaskName", `\test`,
		"TaskContent", `<Exec><Command>C:\Windows\Temp\1.bat</Command></Exec>`))
	s.det(start(12*time.Minute, run, bSched))
	ops := checkGroups(t, s, Options{}, [][]int{{0, 1, 2}})
	if len(ops) == 1 && !slices.Equal(ops[0].Hosts, []string{"A", "B"}) {
		t.Errorf("got hosts %v, want [A B]", ops[0].Hosts)
	}

	// The same logon 11 minutes after the command is not traced to it.
	s = (&scene{}).add(connect(0, w3wp, "10.0.0.11", "10.0.0.15", "B.corp.local", 135))
	s.det(start(time.Second, schtasks, w3wp))
	s.add(logon4624("B", 11*time.Minute, "0xabc", "adm", 3, "10.0.0.11", "A"))
	s.det(ev("B", 11*time.Minute+time.Second, "Security", 4698, "SubjectLogonId", "0xabc", "TaskName", `\test`,
		"TaskContent", `<Exec><Command>C:\Windows\Temp\1.bat</Command></Exec>`))
	checkGroups(t, s, Options{}, [][]int{{0}, {1}})
}

func TestEdgeLateralWMI(t *testing.T) {
	// wmic /node:B on A; on B a shell under WmiPrvSE, no logon event.
	wmic := child("A", 10, `C:\Windows\System32\wbem\WMIC.exe`, `wmic /node:B process call create "cmd.exe /c whoami"`)
	wmiprvse := proc{"B", guid("B", 3), 2920, `C:\Windows\System32\wbem\WmiPrvSE.exe`, `wmiprvse.exe -Embedding`, "0x3e4"}
	shell := child("B", 20, `C:\Windows\System32\cmd.exe`, `cmd.exe /c whoami`)
	s := &scene{}
	s.det(start(0, wmic, w3wp))
	s.det(start(2*time.Second, shell, wmiprvse))
	// Another WMI shell on B an hour later is not the same action.
	s.det(start(time.Hour, child("B", 21, `C:\Windows\System32\cmd.exe`, `cmd.exe /c ipconfig`), wmiprvse))
	ops := checkGroups(t, s, Options{}, [][]int{{0, 1}, {2}})
	checkJoin(t, ops, "remote target", "", "", "A→B WmiPrvSE.exe started cmd.exe ← WMIC.exe")
}

func TestEdgeLateralServiceOverSMB(t *testing.T) {
	// PsExec from A: a service installed on B half a minute later.
	psexec := child("A", 10, `C:\Tools\PsExec.exe`, `PsExec.exe \\B -s cmd.exe`)
	s := &scene{}
	s.det(start(0, psexec, w3wp))
	s.det(ev("B", 30*time.Second, "System", 7045, "ServiceName", "PSEXESVC", "ImagePath", `%SystemRoot%\PSEXESVC.exe`))
	s.det(ev("B", 30*time.Minute, "System", 7045, "ServiceName", "Other", "ImagePath", `C:\Other\o.exe`))
	checkGroups(t, s, Options{}, [][]int{{0, 1}, {2}})
}

func TestEdgeLateralWinRM(t *testing.T) {
	// winrs -r:B on A; on B wsmprovhost.exe starts the command in a network
	// logon from A.
	winrs := child("A", 10, `C:\Windows\System32\winrs.exe`, `winrs -r:B.corp.local whoami`)
	prov := proc{"B", guid("B", 4), 3100, `C:\Windows\System32\wsmprovhost.exe`, `wsmprovhost.exe -Embedding`, "0x5e1"}
	who := child("B", 20, `C:\Windows\System32\whoami.exe`, `whoami`)
	who.logon = "0x5e1"
	s := (&scene{}).add(logon4624("B", time.Second, "0x5e1", "adm", 3, "10.0.0.11", "A"))
	s.det(start(0, winrs, w3wp))
	s.add(start(2*time.Second, prov, svchost))
	s.det(start(3*time.Second, who, prov))
	checkGroups(t, s, Options{}, [][]int{{0, 1}})
}

func TestGuardProximity(t *testing.T) {
	cmd := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c wevtutil cl Security`)
	wev := child("A", 11, `C:\Windows\System32\wevtutil.exe`, `wevtutil cl Security`)
	s := (&scene{}).add(start(0, cmd, w3wp))
	s.det(start(time.Second, wev, cmd))
	s.det(ev("A", 2*time.Second, "Security", 1102, "SubjectLogonId", "0x3e7")) // joins
	s.det(ev("A", 3*time.Minute, "System", 104))                               // too late
	s.det(ev("B", 3*time.Second, "Security", 1102, "SubjectLogonId", "0x3e7")) // other host
	checkGroups(t, s, Options{}, [][]int{{0, 1}, {2}, {3}})
	checkGroups(t, s, Options{ProximityWindow: -1}, [][]int{{0}, {1}, {2}, {3}})
}

func TestGuardEntityCap(t *testing.T) {
	bat := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c i.bat`)
	s := (&scene{}).add(start(0, bat, w3wp))
	for n := range 6 {
		s.det(start(time.Duration(n+1)*time.Second, child("A", 20+n, `C:\Windows\System32\net.exe`, `net view`), bat))
	}
	checkGroups(t, s, Options{}, [][]int{{0, 1, 2, 3, 4, 5}})
	// Each detection brings its own process and the shared batch (and its
	// w3wp parent): four entities hold two detections, five hold three.
	checkGroups(t, s, Options{MaxEntities: 4}, [][]int{{0, 1}, {2, 3}, {4, 5}})
}

func TestIndexSecurity4688(t *testing.T) {
	// Security 4688 only (no Sysmon): PIDs in hex, parents by PID and time.
	p4688 := func(at time.Duration, pid, ppid int, image, cmd string) *event.Event {
		return ev("A", at, "Security", 4688, "NewProcessId", "0x"+strconv.FormatInt(int64(pid), 16),
			"ProcessId", "0x"+strconv.FormatInt(int64(ppid), 16), "NewProcessName", image, "CommandLine", cmd,
			"SubjectLogonId", "0x3e7", "TargetLogonId", "0x0")
	}
	s := (&scene{}).add(p4688(0, 5000, 2412, `C:\Windows\System32\cmd.exe`, `cmd.exe /c i.bat`))
	s.det(p4688(time.Second, 5004, 5000, `C:\Windows\System32\net.exe`, `net view`))
	s.det(p4688(2*time.Second, 5008, 5000, `C:\Windows\System32\net.exe`, `net user`))
	checkGroups(t, s, Options{}, [][]int{{0, 1}})

	// PID reuse: a "parent" that started 25 h before, still running for
	// all we know, is not trusted.
	s = (&scene{}).add(p4688(0, 5000, 2412, `C:\Windows\System32\cmd.exe`, `cmd.exe /c i.bat`))
	s.det(p4688(25*time.Hour, 5004, 5000, `C:\Windows\System32\net.exe`, `net view`))
	s.det(p4688(25*time.Hour+time.Second, 5008, 5000, `C:\Windows\System32\net.exe`, `net user`))
	checkGroups(t, s, Options{}, [][]int{{0}, {1}})

	// The Sysmon 1 and Security 4688 records of one process are one step.
	cmd := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c whoami`)
	s = &scene{}
	s.det(start(0, cmd, w3wp))
	s.det(ev("A", 0, "Security", 4688, "NewProcessId", "0x"+strconv.FormatInt(int64(cmd.pid), 16), "ProcessId", "0x96c",
		"NewProcessName", cmd.image, "CommandLine", cmd.cmd, "SubjectLogonId", "0x3e7", "ParentProcessName", w3wp.image))
	ops := checkGroups(t, s, Options{}, [][]int{{0, 1}})
	if len(ops) == 1 && len(ops[0].Steps) != 1 {
		t.Errorf("got %d steps, want 1: %v", len(ops[0].Steps), ops[0].Narrative)
	}
}

func TestOperationSays(t *testing.T) {
	cmd := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c whoami`)
	who := child("A", 11, `C:\Windows\System32\whoami.exe`, `whoami`)
	s := &scene{levels: map[int]string{1: "high"}}
	s.det(start(2*time.Minute, cmd, w3wp))
	s.det(start(2*time.Minute+time.Second, who, cmd))
	ops := checkGroups(t, s, Options{}, [][]int{{0, 1}})
	if len(ops) != 1 {
		return
	}
	op := ops[0]
	// whoami.exe is the helper that carries out cmd.exe /c whoami: one
	// step, both rules.
	want := []string{
		"2022-02-07 14:02 A: w3wp.exe started cmd.exe /c whoami (Rule 0; Rule 1; T1059.003)",
	}
	if !slices.Equal(op.Narrative, want) {
		t.Errorf("got narrative\n%s\nwant\n%s", strings.Join(op.Narrative, "\n"), strings.Join(want, "\n"))
	}
	// One host, one tactic, two rules that fired once: 7 + 0 + 0 + 2.
	if op.Score != 9 || op.Severity != "high" {
		t.Errorf("got score %v severity %s, want 9 high", op.Score, op.Severity)
	}
	if !slices.Equal(op.Tactics, []string{"execution"}) || !slices.Equal(op.Techniques, []string{"T1059.003"}) {
		t.Errorf("got tactics %v techniques %v", op.Tactics, op.Techniques)
	}
	if len(op.Steps) != 1 || len(op.Steps[0].Detections) != 2 {
		t.Errorf("got steps %+v, want one of both detections", op.Steps)
	}
	if !strings.HasPrefix(op.ID, "op-") || len(op.ID) != 15 {
		t.Errorf("got ID %q", op.ID)
	}
	// The ID does not depend on the input order.
	again := s.build(Options{})
	if again[0].ID != op.ID {
		t.Errorf("got ID %s, then %s", op.ID, again[0].ID)
	}
}

func TestSingletons(t *testing.T) {
	s := &scene{levels: map[int]string{0: "low", 1: "medium"}}
	s.det(start(0, child("A", 10, `C:\x\a.exe`, `a.exe`), services))
	s.det(start(time.Hour, child("A", 11, `C:\x\b.exe`, `b.exe`), services))
	ops := s.build(Options{})
	if got := groups(ops); !slices.EqualFunc(got, [][]int{{1}}, slices.Equal) {
		t.Errorf("got %v, want only the medium singleton", got)
	}
	ops = s.build(Options{KeepSingletons: true})
	if len(ops) != 2 || ops[0].Severity != "medium" || ops[1].Severity != "low" {
		t.Errorf("got %s, want medium then low", describeOps(ops))
	}
}

// TestShardsConcurrent feeds one scene's events to several shards from
// several goroutines, in a shuffled order, and gets the operations one
// shard gives (run with -race).
func TestShardsConcurrent(t *testing.T) {
	bat := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c i.bat`)
	var events []*event.Event
	events = append(events, start(0, bat, w3wp))
	for n := range 200 {
		p := child("A", 20+n, `C:\Windows\System32\net.exe`, `net view`)
		events = append(events, start(time.Duration(n)*time.Second, p, bat), write(time.Duration(n)*time.Second, p, `C:\t\`+strconv.Itoa(n)))
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	const workers = 4
	idx := NewIndex(workers)
	var wg sync.WaitGroup
	refs := make([][]DetectionRef, workers)
	for w := range workers {
		wg.Go(func() {
			sh := idx.Shard(w)
			for i := w; i < len(events); i += workers {
				sh.Observe(events[i])
				if n, _ := events[i].Get(event.FieldEventID); n.Int() == 11 {
					r := sh.Ref(events[i])
					r.RuleID, r.Level = "r", "low"
					refs[w] = append(refs[w], r)
				}
			}
		})
	}
	wg.Wait()
	var all []DetectionRef
	for _, r := range refs {
		all = append(all, r...)
	}
	for i := range all {
		all[i].Index = i
	}
	ops := mustOperations(t, all, idx, Options{KeepSingletons: true})
	if len(ops) != 1 || len(ops[0].Detections) != 200 {
		t.Fatalf("got %d operations, want one of 200 detections:\n%s", len(ops), describeOps(ops))
	}
}

func TestGuardServiceInstances(t *testing.T) {
	// PSEXESVC installed on B from A, and again two weeks later from C:
	// each installation is its own instance, so the two uses stay apart.
	a := child("A", 10, `C:\Tools\PsExec.exe`, `PsExec.exe \\B -s cmd.exe`)
	cProc := proc{"C", guid("C", 10), 4040, `C:\Tools\PsExec.exe`, `PsExec.exe \\B -s whoami`, ""}
	cParent := proc{"C", guid("C", 3), 2000, `C:\Windows\System32\cmd.exe`, `cmd.exe`, ""}
	later := 14 * 24 * time.Hour
	s := &scene{}
	s.det(start(0, a, w3wp))
	s.det(ev("B", 20*time.Second, "System", 7045, "ServiceName", "PSEXESVC", "ImagePath", `%SystemRoot%\PSEXESVC.exe`))
	s.det(start(later, cProc, cParent))
	s.det(ev("B", later+20*time.Second, "System", 7045, "ServiceName", "PSEXESVC", "ImagePath", `%SystemRoot%\PSEXESVC.exe`))
	checkGroups(t, s, Options{}, [][]int{{0, 1}, {2, 3}})
}

func TestGuardLogonSpan(t *testing.T) {
	// Logon ID 0x99 ends at 1 h; after a reboot the same ID is another
	// session: a detection in it does not join the first session's.
	explorer := child("A", 9, `C:\Windows\explorer.exe`, `explorer.exe`)
	a := child("A", 10, `C:\Windows\System32\whoami.exe`, `whoami /all`)
	b := child("A", 11, `C:\Windows\System32\net.exe`, `net group /domain`)
	a.logon, b.logon = "0x99", "0x99"
	s := (&scene{}).add(logon4624("A", 0, "0x99", "mallory", 2, "", ""), ev("A", time.Hour, "Security", 4634, "TargetLogonId", "0x99"))
	s.det(start(time.Minute, a, explorer))
	s.det(start(3*time.Hour, b, explorer))
	checkGroups(t, s, Options{}, [][]int{{0}, {1}})
}

func TestGuardLateralSource(t *testing.T) {
	// wmic /node:B on A; on B, a logon from ::1, one from an address no
	// host is known by, and one from A: only the last is traced to A.
	wmic := child("A", 10, `C:\Windows\System32\wbem\WMIC.exe`, `wmic /node:B process call create "cmd.exe /c whoami"`)
	s := (&scene{}).add(connect(0, w3wp, "10.0.0.11", "10.0.0.15", "B.corp.local", 135))
	s.det(start(time.Second, wmic, w3wp))
	for i, ip := range []string{"::1", "fe80::6c96:34e3:33cb:dbba", "10.9.9.9", "10.0.0.11"} {
		id := "0x" + strconv.Itoa(700+i)
		s.add(logon4624("B", time.Duration(10+i)*time.Second, id, "B$", 3, ip, ""))
		s.det(ev("B", time.Duration(20+i)*time.Second, "Security", 4634, "TargetLogonId", id, "TargetUserName", "B$"))
	}
	checkGroups(t, s, Options{}, [][]int{{0, 4}, {1}, {2}, {3}})
}

func TestGuardProximityNeedsActorless(t *testing.T) {
	// A registry event of a process the index knows nothing else about,
	// next to a detection: it names its actor, so it does not join by
	// proximity (an actorless 1102 does).
	cmd := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c whoami`)
	other := child("A", 50, `C:\Windows\System32\svchost.exe`, `svchost.exe -k netsvcs`)
	s := &scene{}
	s.det(start(0, cmd, w3wp))
	s.det(ev("A", 20*time.Second, chSysmon, 13, "ProcessGuid", other.guid, "ProcessId", strconv.Itoa(other.pid), "Image", other.image,
		"TargetObject", `HKU\S-1-5-21-1\Software\x`))
	s.det(ev("A", 2*time.Second, "Security", 1102, "SubjectLogonId", "0x3e7"))
	checkGroups(t, s, Options{}, [][]int{{0, 2}, {1}})
}

func TestNarrativeHelpers(t *testing.T) {
	// net.exe hands "group /domain" to net1.exe at once: one step. A child
	// started a minute later, or one the command does not name, is a step
	// of its own.
	bat := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c i.bat`)
	net := child("A", 11, `C:\Windows\System32\net.exe`, `net group "domain admins" /domain`)
	net1 := child("A", 12, `C:\Windows\System32\net1.exe`, `C:\Windows\system32\net1 group "domain admins" /domain`)
	late := child("A", 13, `C:\Windows\System32\net1.exe`, `net1 user`)
	other := child("A", 14, `C:\Windows\System32\whoami.exe`, `whoami`)
	s := (&scene{}).add(start(0, bat, w3wp))
	s.det(start(time.Second, net, bat))
	s.det(start(time.Second+20*time.Millisecond, net1, net))
	s.det(start(time.Minute, late, net))
	s.det(start(time.Minute, other, net))
	ops := checkGroups(t, s, Options{}, [][]int{{0, 1, 2, 3}})
	if len(ops) == 1 && len(ops[0].Steps) != 3 {
		t.Errorf("got %d steps, want 3:\n%s", len(ops[0].Steps), strings.Join(ops[0].Narrative, "\n"))
	}
}

// hasJoin reports whether op records a join of kind through an entity on
// host whose key holds key, and, when hop is not "", a lateral hop whose
// "from→to label" holds hop.
func hasJoin(op result.Operation, kind, host, key, hop string) bool {
	for _, j := range op.Joins {
		if j.Kind != kind || (host != "" && j.Host != host) || !strings.Contains(j.Key, key) {
			continue
		}
		if hop == "" {
			return true
		}
		for _, h := range j.Lateral {
			if strings.Contains(h.From+"→"+h.To+" "+h.Label, hop) {
				return true
			}
		}
	}
	return false
}

// checkJoin fails unless the only operation of ops records the join (see
// hasJoin).
func checkJoin(t *testing.T, ops []result.Operation, kind, host, key, hop string) {
	t.Helper()
	if len(ops) == 0 {
		t.Fatalf("got no operation, want one joined by %s %s", kind, key)
	}
	if !hasJoin(ops[0], kind, host, key, hop) {
		t.Errorf("got joins %+v, want %s via %s %q %q", ops[0].Joins, kind, host, key, hop)
	}
}

// TestFalseJoins: identifiers that were only reused join nothing.
func TestFalseJoins(t *testing.T) {
	explorer := child("A", 9, `C:\Windows\explorer.exe`, `explorer.exe`)
	a := child("A", 10, `C:\Windows\System32\whoami.exe`, `whoami /all`)
	b := child("A", 11, `C:\Windows\System32\net.exe`, `net group /domain`)
	a.logon, b.logon = "0x99", "0x99"
	boot := ev("A", 2*time.Hour, "Security", 4608)
	p4688 := func(at time.Duration, pid, ppid int, image, cmd string) *event.Event {
		return ev("A", at, "Security", 4688, "NewProcessId", "0x"+strconv.FormatInt(int64(pid), 16),
			"ProcessId", "0x"+strconv.FormatInt(int64(ppid), 16), "NewProcessName", image, "CommandLine", cmd,
			"SubjectLogonId", "0x3e7", "TargetLogonId", "0x0")
	}
	exit4689 := func(at time.Duration, pid int) *event.Event {
		return ev("A", at, "Security", 4689, "ProcessId", "0x"+strconv.FormatInt(int64(pid), 16), "SubjectLogonId", "0x3e7")
	}
	for _, c := range []struct {
		name string
		s    func() *scene
	}{
		{"logon ID reused after a reboot", func() *scene {
			// No 4624 for either: only the boot between tells them apart.
			s := (&scene{}).add(boot)
			s.det(start(time.Hour, a, explorer))
			s.det(start(3*time.Hour, b, explorer))
			return s
		}},
		{"logon ID reused after a reboot, with its logons", func() *scene {
			s := (&scene{}).add(logon4624("A", 0, "0x99", "mallory", 3, "10.0.0.9", "KALI"), boot,
				logon4624("A", 2*time.Hour+time.Minute, "0x99", "bob", 3, "10.0.0.7", "PC7"))
			s.det(start(time.Hour, a, explorer))
			s.det(start(3*time.Hour, b, explorer))
			return s
		}},
		{"logon ID reused after a logoff, its next logon not logged", func() *scene {
			s := (&scene{}).add(logon4624("A", 0, "0x99", "mallory", 3, "10.0.0.9", "KALI"),
				ev("A", 2*time.Hour, "Security", 4634, "TargetLogonId", "0x99"))
			s.det(start(time.Hour, a, explorer))
			s.det(start(3*time.Hour, b, explorer))
			return s
		}},
		{"PID reused after its process exited", func() *scene {
			s := (&scene{}).add(p4688(0, 5000, 2412, `C:\Windows\System32\cmd.exe`, `cmd.exe /c i.bat`), exit4689(time.Minute, 5000))
			s.det(p4688(30*time.Second, 5004, 5000, `C:\Windows\System32\net.exe`, `net view`))
			// Another process got PID 5000; its parent is not logged.
			s.det(p4688(time.Hour, 5008, 5000, `C:\Windows\System32\net.exe`, `net user`))
			return s
		}},
		{"PID reused after a reboot", func() *scene {
			s := (&scene{}).add(p4688(0, 5000, 2412, `C:\Windows\System32\cmd.exe`, `cmd.exe /c i.bat`), boot)
			s.det(p4688(30*time.Second, 5004, 5000, `C:\Windows\System32\net.exe`, `net view`))
			s.det(p4688(3*time.Hour, 5008, 5000, `C:\Windows\System32\net.exe`, `net user`))
			return s
		}},
		{"same host name, another year: logon ID and parent PID", func() *scene {
			year := 365 * 24 * time.Hour
			s := (&scene{}).add(p4688(0, 5000, 2412, `C:\Windows\System32\cmd.exe`, `cmd.exe /c i.bat`))
			s.det(start(time.Hour, a, explorer))
			s.det(p4688(30*time.Second, 5004, 5000, `C:\Windows\System32\net.exe`, `net view`))
			s.det(start(year, b, explorer))
			s.det(p4688(year+time.Minute, 5008, 5000, `C:\Windows\System32\net.exe`, `net user`))
			return s
		}},
		{"same path written again by another process", func() *scene {
			// A cache file two unrelated tools write a month apart: each
			// write is its own instance.
			x := child("A", 20, `C:\Tools\x.exe`, `x.exe`)
			y := child("A", 21, `C:\Tools\y.exe`, `y.exe`)
			path := `C:\Users\u\AppData\Local\Microsoft\Windows\SchCache\corp.local.sch`
			s := (&scene{}).add(start(0, x, w3wp), start(30*24*time.Hour, y, w3wp))
			s.det(write(time.Second, x, path))
			s.det(write(30*24*time.Hour+time.Second, y, path))
			return s
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.s()
			var want [][]int
			for i := range s.detected {
				want = append(want, []int{i})
			}
			checkGroups(t, s, Options{}, want)
		})
	}
}

// TestFalseJoinsRebuiltHost: a host name given to another machine (the
// processes' Sysmon GUIDs change their machine prefix for good) is another
// host from then on, for logon IDs and for dropped files alike.
func TestFalseJoinsRebuiltHost(t *testing.T) {
	other := func(p proc) proc {
		p.guid = "{BEEF" + p.guid[5:]
		return p
	}
	explorer := child("A", 9, `C:\Windows\explorer.exe`, `explorer.exe`)
	a := child("A", 10, `C:\Windows\System32\whoami.exe`, `whoami /all`)
	b := child("A", 11, `C:\Windows\System32\net.exe`, `net group /domain`)
	a.logon, b.logon = "0x99", "0x99"
	// The lab is rebuilt two hours later: the same logon ID, no boot
	// logged, no 4624.
	s := (&scene{}).add(start(0, explorer, services))
	s.det(start(time.Hour, a, explorer))
	s.add(start(2*time.Hour, other(explorer), other(services)))
	s.det(start(3*time.Hour, other(b), other(explorer)))
	checkGroups(t, s, Options{}, [][]int{{0}, {1}})

	// A tool written on the first machine; a process with that path on
	// the second, a year later.
	drop := child("A", 12, `C:\Windows\System32\certutil.exe`, `certutil -decode u.txt C:\ProgramData\t.exe`)
	tool := child("A", 13, `C:\ProgramData\t.exe`, `t.exe`)
	year := 365 * 24 * time.Hour
	s = (&scene{}).add(start(0, explorer, services), write(time.Minute, drop, `C:\ProgramData\t.exe`))
	s.det(start(time.Second, drop, explorer))
	s.add(start(year, other(explorer), other(services)))
	s.det(start(year+time.Hour, other(tool), other(explorer)))
	checkGroups(t, s, Options{}, [][]int{{0}, {1}})
	// On the same machine, the year is no obstacle (the durable key).
	s = (&scene{}).add(start(0, explorer, services), write(time.Minute, drop, `C:\ProgramData\t.exe`))
	s.det(start(time.Second, drop, explorer))
	s.det(start(year+time.Hour, tool, explorer))
	checkGroups(t, s, Options{}, [][]int{{0, 1}})
}
