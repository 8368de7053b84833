package operation

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/source"
)

// fingerprint renders what an index resolved, sorted.
func fingerprint(ix *Index) []string {
	id := func(i int32) string {
		if i < 0 {
			return "-"
		}
		p := ix.procs[i]
		return fmt.Sprintf("%s/%s/%d/%v", p.host, p.guid, p.pid, p.start)
	}
	var out []string
	for i, p := range ix.procs {
		if _, ok := ix.alias[int32(i)]; ok {
			continue
		}
		parent := ""
		if p.parent >= 0 {
			q := ix.procs[p.parent]
			parent = fmt.Sprintf("%s/%d/%v", q.guid, q.pid, q.start)
		}
		out = append(out, fmt.Sprintf("p %s|%s|%d|%v|%v|%v|%s|%s|%s|%s|%s|%v", p.host, p.guid, p.pid, p.start, p.end, p.created,
			p.image, p.cmd, p.user, p.logon, parent, ix.implic[int32(i)]))
	}
	for k, lid := range ix.logons {
		for _, l := range lid.inst {
			out = append(out, fmt.Sprintf("l %s|%s|%s|%s|%s|%d|%v|%v|%v", k.host, k.key, l.user, l.ip, l.workstation, l.logonType, l.start, l.end, l.elevated))
		}
		out = append(out, fmt.Sprintf("le %s|%s|%v", k.host, k.key, lid.ends))
	}
	for h, l := range ix.boots {
		out = append(out, fmt.Sprintf("b %s|%v", h, l))
	}
	intents := func(kind string, m map[string][]intent) {
		for h, l := range m {
			for _, in := range l {
				out = append(out, fmt.Sprintf("%s %s|%s|%v|%s|%s|%s|%s", kind, h, id(in.ref.idx), in.t, in.what, in.account, in.host, in.path))
			}
		}
	}
	intents("i", ix.intents)
	intents("iu", ix.unknown)
	intents("id", ix.drops)
	for k, sv := range ix.services {
		out = append(out, fmt.Sprintf("s %s|%s|%s|%s|%s|%v|%v", k.host, k.key, sv.name, sv.image, sv.logon, sv.installed, sv.installs))
	}
	for k, tk := range ix.tasks {
		out = append(out, fmt.Sprintf("t %s|%s|%s|%s|%s|%v|%v|%v", k.host, k.key, tk.name, tk.command, tk.logon, tk.created, tk.creates, tk.pids))
	}
	for i, k := range ix.taskRun {
		out = append(out, fmt.Sprintf("tr %s|%s", id(i), k))
	}
	for i, k := range ix.svcRun {
		out = append(out, fmt.Sprintf("sr %s|%s", id(i), k))
	}
	for ip, h := range ix.hostIPs {
		out = append(out, "a "+ip+"|"+h)
	}
	for k, f := range ix.files {
		ws := make([]string, 0, len(f.writes))
		for _, w := range f.writes {
			ws = append(ws, fmt.Sprintf("%v@%s", w.t, id(w.idx)))
		}
		ls := make([]string, 0, len(f.loaders))
		for _, l := range f.loaders {
			ls = append(ls, fmt.Sprintf("%v@%s", l.t, id(l.idx)))
		}
		out = append(out, fmt.Sprintf("f %s|%s|%s|%v|%d|%v|%v", k.host, k.key, f.path, f.first, f.nwrite, ls, ws))
	}
	slices.Sort(out)
	return out
}

// TestIndexOrderIndependent indexes the same recordings with one worker
// and with four (files spread over shards in whatever order the workers
// take them): the index is the same.
func TestIndexOrderIndependent(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the lateral-movement recordings of Security-Datasets")
	}
	dir := filepath.Join(shared.Dir(t), "datasets", "security-datasets", "datasets", "atomic", "windows", "lateral_movement")
	build := func(workers int) *Index {
		idx := NewIndex(workers)
		_, err := source.Run(t.Context(), []string{dir}, source.Options{Workers: workers}, func(w int, ev *event.Event) error {
			idx.Shard(w).Observe(ev)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		idx.Finish()
		return idx
	}
	one, four := build(1), build(4)
	a, b := fingerprint(one), fingerprint(four)
	if st := one.Stats(); st.Processes < 500 || st.Logons < 50 {
		t.Fatalf("got %+v, want over 500 processes and 50 logons", st)
	}
	if !slices.Equal(a, b) {
		n := 0
		for _, x := range a {
			if !slices.Contains(b, x) && n < 10 {
				t.Errorf("one worker only: %s", x)
				n++
			}
		}
		for _, x := range b {
			if !slices.Contains(a, x) && n < 20 {
				t.Errorf("four workers only: %s", x)
				n++
			}
		}
	}
}

func TestCommandTargets(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		want []string
	}{
		{`net use \\10.10.20.15\c$ /user:corp\adm x`, []string{"10.10.20.15"}},
		{`SCHTASKS /Create /S 10.10.20.15 /U corp\adm /TN test`, []string{"10.10.20.15"}},
		{`schtasks.exe /create /s:FS01 /tn x`, []string{"FS01"}},
		{`cmd.exe /c dir /s /b D:\Data`, nil}, // /s of dir is no host
		{`wmic /node:"DC01","FS01" process call create x`, []string{"DC01", "FS01"}},
		{`powershell Invoke-Command -ComputerName srv2 -ScriptBlock {whoami}`, []string{"srv2"}},
		{`winrs -r:B.corp.local whoami`, []string{"B.corp.local"}},
		{`mstsc.exe /v:10.0.0.5`, []string{"10.0.0.5"}},
		{`PsExec.exe \\WS01 -s cmd`, []string{"WS01"}},
		{`copy x \\localhost\c$\y`, nil},
		{`\\?\C:\Windows\x.exe`, nil},
		{`"C:\Program Files\x.exe" --flag`, nil},
	} {
		if got := CommandTargets(c.cmd); !slices.Equal(got, c.want) {
			t.Errorf("CommandTargets(%q): got %q, want %q", c.cmd, got, c.want)
		}
	}
}

func TestNormPath(t *testing.T) {
	for in, want := range map[string]string{
		`\SystemRoot\System32\drivers\wmifilt.sys`:               `C:\Windows\System32\drivers\wmifilt.sys`,
		`%SystemRoot%\PSEXESVC.exe`:                              `C:\Windows\PSEXESVC.exe`,
		`"C:\Program Files\Vendor\agent.exe" -service`:           `C:\Program Files\Vendor\agent.exe`,
		`C:\Windows\system32\svchost.exe -k netsvcs -p`:          `C:\Windows\system32\svchost.exe`,
		`System32\drivers\x.sys`:                                 `C:\Windows\System32\drivers\x.sys`,
		`\??\C:\Windows\Temp\x.sys`:                              `C:\Windows\Temp\x.sys`,
		`-`:                                                      ``,
		`C:\Windows\SYSTEM32\cmd.exe /c "C:\Windows\Temp\1.bat"`: `C:\Windows\SYSTEM32\cmd.exe`,
	} {
		if got := NormPath(in); got != want {
			t.Errorf("NormPath(%q): got %q, want %q", in, got, want)
		}
	}
	if got := TaskCommand(`<Exec><Command>"C:\Windows\Temp\1.bat"</Command><Arguments>-x</Arguments></Exec>`); got != `C:\Windows\Temp\1.bat` {
		t.Errorf("TaskCommand: got %q", got)
	}
}

// TestObserveCopies checks that the index keeps no memory of the events:
// the events' strings are overwritten after Observe, and the index still
// says what they said.
func TestObserveCopies(t *testing.T) {
	buf := []byte(`ERP01.corp.local|{7A3C0011-0000-0000-0000-000000000001}|C:\Windows\System32\cmd.exe|0x1A2B3`)
	s := string(buf) // a string the test will "reuse" below, as readers do
	parts := splitOn(s, '|')
	e := ev("X", 0, chSysmon, 1)
	e.Set(event.FieldComputer, event.StringValue(parts[0]))
	e.Add("ProcessGuid", event.StringValue(parts[1]))
	e.Add("ProcessId", event.StringValue("4242"))
	e.Add("Image", event.StringValue(parts[2]))
	e.Add("LogonId", event.StringValue(parts[3]))
	idx := NewIndex(1)
	idx.Shard(0).Observe(e)
	ref := idx.Shard(0).Ref(e)
	// Overwrite the event's memory.
	for i := range buf {
		buf[i] = 'x'
	}
	idx.Finish()
	if len(idx.procs) != 1 {
		t.Fatalf("got %d processes, want 1", len(idx.procs))
	}
	p := idx.procs[0]
	if p.host != "ERP01" || p.image != `C:\Windows\System32\cmd.exe` || p.logon != "0x1a2b3" || p.guid != "{7A3C0011-0000-0000-0000-000000000001}" {
		t.Errorf("got %+v after the event's memory was reused", p)
	}
	if ref.Image != `C:\Windows\System32\cmd.exe` || ref.Host != "ERP01.corp.local" {
		t.Errorf("got ref %+v after the event's memory was reused", ref)
	}
}

func splitOn(s string, sep byte) []string {
	var out []string
	for {
		i := 0
		for i < len(s) && s[i] != sep {
			i++
		}
		out = append(out, s[:i])
		if i == len(s) {
			return out
		}
		s = s[i+1:]
	}
}

func TestCommandTargetsThroughShell(t *testing.T) {
	for cmd, want := range map[string][]string{
		`cmd.exe /c SCHTASKS /Create /S 10.10.20.15 /U corp\adm /TN test`: {"10.10.20.15"},
		`cmd.exe /c winrs -r:srv3 whoami`:                                 {"srv3"},
		`cmd.exe /c dir /s C:\`:                                           nil,
	} {
		if got := CommandTargets(cmd); !slices.Equal(got, want) {
			t.Errorf("CommandTargets(%q): got %q, want %q", cmd, got, want)
		}
	}
}

func TestCommandAccountAndDrops(t *testing.T) {
	for _, c := range []struct{ cmd, account, drops string }{
		{`wmic /node:10.0.0.5 /user:CORP\adm /password:x process call create "cmd"`, `CORP\adm`, ""},
		{`schtasks /create /S h /U corp\adm /P x /TN t`, `corp\adm`, ""},
		{`PsExec64.exe \\10.0.0.5 -u CORP\adm -p x cmd`, `CORP\adm`, ""},
		{`powershell -c "Enter-PSSession -ComputerName h -Credential $c"`, "", ""},
		{`powershell -c "Invoke-Command -ComputerName h -Credential adm@corp.local {x}"`, "adm@corp.local", ""},
		{`cmd /c copy /y C:\t\e.exe \\10.0.0.5\c$\Windows\Temp\e.exe`, "", `10.0.0.5 C:\Windows\Temp\e.exe`},
		{`copy a "\\FS01\ADMIN$\Temp\my tool.exe"`, "", `FS01 C:\Windows\Temp\my tool.exe`},
		{`net use \\FS01\share /user:corp\adm`, `corp\adm`, ""},
	} {
		if got := CommandAccount(c.cmd); got != c.account {
			t.Errorf("CommandAccount(%q) = %q, want %q", c.cmd, got, c.account)
		}
		var drops []string
		for _, d := range CommandDrops(c.cmd) {
			drops = append(drops, d[0]+" "+d[1])
		}
		if got := strings.Join(drops, "; "); got != c.drops {
			t.Errorf("CommandDrops(%q) = %q, want %q", c.cmd, got, c.drops)
		}
	}
	if !sameAccount(`CORP\Adm`, "adm@corp.local") || sameAccount("", "") || sameAccount(`CORP\adm`, `CORP\adm2`) {
		t.Error("sameAccount: want names compared without domain or case, empty never the same")
	}
}

// TestLogonRepeatsDropped: a 4624 read again, in a row or after others,
// makes one logon instance; each other time of the ID makes its own.
func TestLogonRepeatsDropped(t *testing.T) {
	l := func(at time.Duration) *event.Event {
		return ev("dc", at, "Security", 4624, "TargetLogonId", "0x3e7", "TargetUserName", "SYSTEM")
	}
	for _, shards := range []int{1, 2} {
		idx := NewIndex(shards)
		for i, e := range []*event.Event{l(0), l(0), l(time.Minute), l(0), l(2 * time.Minute), l(time.Minute)} {
			idx.Shard(i % shards).Observe(e)
		}
		idx.Finish()
		if got := idx.Stats().Logons; got != 3 {
			t.Errorf("%d shards: got %d logons, want 3", shards, got)
		}
	}
}

// TestIncarnationsRandomGUIDs: processes whose GUIDs all differ in the
// machine's prefix are not each a new machine (no boot between them), while
// two prefixes one after the other are.
func TestIncarnationsRandomGUIDs(t *testing.T) {
	// build returns the boots and incarnations of one host's n processes.
	build := func(n int, prefix func(i int) int) (boots, incarn int) {
		idx := NewIndex(1)
		for i := range n {
			idx.Shard(0).Observe(ev("ws", time.Duration(i)*time.Minute, chSysmon, 1,
				"ProcessGuid", fmt.Sprintf("{%08X-0000-0000-0000-%012d}", prefix(i), i), "ProcessId", strconv.Itoa(100+i)))
		}
		idx.Finish()
		for _, l := range idx.boots {
			boots += len(l)
		}
		for _, l := range idx.incarn {
			incarn += len(l)
		}
		return boots, incarn
	}
	if b, in := build(200, func(i int) int { return i }); b != 0 || in != 0 {
		t.Errorf("200 prefixes: got %d boots and %d incarnations, want none", b, in)
	}
	if b, in := build(20, func(i int) int { return i / 10 }); b != 1 || in != 2 {
		t.Errorf("2 prefixes in turn: got %d boots and %d incarnations, want 1 and 2", b, in)
	}
}

// TestExitEndsProcessThen: a 4689 ends the process that had the PID then,
// not a later or earlier holder of it.
func TestExitEndsProcessThen(t *testing.T) {
	idx := NewIndex(1)
	for _, e := range []*event.Event{
		ev("ws", 0, "Security", 4688, "NewProcessId", "0x10"),
		ev("ws", 10*time.Minute, "Security", 4688, "NewProcessId", "0x10"),
		ev("ws", 20*time.Minute, "Security", 4688, "NewProcessId", "0x10"),
		ev("ws", 15*time.Minute, "Security", 4689, "ProcessId", "0x10"),
	} {
		idx.Shard(0).Observe(e)
	}
	idx.Finish()
	var ends []time.Duration
	for _, p := range idx.procs {
		if p.end.IsZero() {
			ends = append(ends, -1)
		} else {
			ends = append(ends, p.end.Sub(p.start))
		}
	}
	slices.Sort(ends)
	if want := []time.Duration{-1, -1, 5 * time.Minute}; !slices.Equal(ends, want) {
		t.Errorf("got process lifetimes %v, want %v", ends, want)
	}
}
