package operation

import (
	"strconv"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Cross-host joins, one per way of running something on another host: a
// jump host J (10.0.0.11) acts on a domain controller DC named by its
// address only (10.0.0.5, which no event of DC gives); DC logs the logon
// from J's address without a workstation name (Kerberos), and what ran in
// it.

const (
	jumpIP = "10.0.0.11"
	dcIP   = "10.0.0.5"
)

// startAs is Sysmon 1 for p, child of parent, run by user.
func startAs(at time.Duration, p, parent proc, user string) *event.Event {
	e := start(at, p, parent)
	for i := range e.Fields {
		if e.Fields[i].Name == "User" {
			e.Fields[i].Value = event.StringValue(user)
		}
	}
	return e
}

func jproc(n int, image, cmd string) proc { return child("J", n, image, cmd) }

func dcproc(n int, image, cmd, logon string) proc {
	p := child("DC", n, image, cmd)
	p.logon = logon
	return p
}

var (
	jShell     = proc{"J", guid("J", 1), 3100, `C:\Windows\System32\cmd.exe`, `cmd.exe`, "0x2f00a"}
	dcServices = proc{"DC", guid("DC", 1), 640, `C:\Windows\System32\services.exe`, `services.exe`, "0x3e7"}
	dcSvchost  = proc{"DC", guid("DC", 2), 900, `C:\Windows\System32\svchost.exe`, `svchost.exe -k DcomLaunch`, "0x3e7"}
	dcSystem   = proc{"DC", guid("DC", 9), 4, "System", "", "0x3e7"}
	dcWmiPrvSE = dcproc(3, `C:\Windows\System32\wbem\WmiPrvSE.exe`, `wmiprvse.exe -secured -Embedding`, "0x3e4")
)

// remoteLogon4624 is the logon on DC of CORP\user from J's address, with no
// workstation name.
func remoteLogon4624(at time.Duration, id, user string, typ int) *event.Event {
	return logon4624("DC", at, id, user, typ, jumpIP, "-")
}

// wmiScene: wmic on J runs a command on DC as CORP\adm; DC logs the logon
// of user and the command run in it.
func wmiScene(user string) *scene {
	wmic := jproc(10, `C:\Windows\System32\wbem\WMIC.exe`,
		`wmic /node:`+dcIP+` /user:CORP\adm /password:x process call create "cmd /c ntdsutil \"ac i ntds\" ifm \"create full c:\temp\" q q"`)
	cmd := dcproc(20, `C:\Windows\System32\cmd.exe`, `cmd /c ntdsutil "ac i ntds" ifm "create full c:\temp" q q`, "0x3e4a1f")
	nt := dcproc(21, `C:\Windows\System32\ntdsutil.exe`, `ntdsutil "ac i ntds" ifm "create full c:\temp" q q`, "0x3e4a1f")
	s := (&scene{}).add(start(-time.Hour, dcWmiPrvSE, dcSvchost))
	s.det(startAs(0, wmic, jShell, `CORP\jdoe`))
	s.add(remoteLogon4624(0, "0x3e4a1f", user, 3))
	s.det(startAs(time.Second, cmd, dcWmiPrvSE, `CORP\`+user))
	s.det(startAs(2*time.Second, nt, cmd, `CORP\`+user))
	return s
}

// dropScene: cmd on J copies e.exe to DC's admin share; DC logs System
// writing written and, an hour later, running it.
func dropScene(written string) *scene {
	cp := jproc(10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c copy /y C:\Temp\e.exe \\`+dcIP+`\c$\Windows\Temp\e.exe`)
	run := dcproc(20, written, written+` -s`, "0x3e7")
	s := &scene{}
	s.det(startAs(0, cp, jShell, `CORP\jdoe`))
	s.add(write(2*time.Second, dcSystem, written))
	s.det(start(time.Hour, run, dcServices))
	return s
}

func TestLateralJoins(t *testing.T) {
	for _, c := range []struct {
		name  string
		scene func() *scene
		want  [][]int
		hop   string // "" when no join is wanted
	}{
		{"WMI", func() *scene { return wmiScene("adm") }, [][]int{{0, 1, 2}}, `J→DC network logon 0x3e4a1f of CORP\adm ← WMIC.exe`},
		{"WMI, the session of another account", func() *scene { return wmiScene("backup") }, [][]int{{0}, {1, 2}}, ""},
		{"PsExec service", func() *scene {
			px := jproc(10, `C:\Tools\PsExec64.exe`, `PsExec64.exe \\`+dcIP+` -u CORP\adm -p x -s cmd /c whoami`)
			svc := dcproc(20, `C:\Windows\PSEXESVC.exe`, `C:\Windows\PSEXESVC.exe`, "0x3e7")
			who := dcproc(21, `C:\Windows\System32\cmd.exe`, `cmd /c whoami`, "0x3e7")
			s := &scene{}
			s.det(startAs(0, px, jShell, `CORP\jdoe`))
			s.add(remoteLogon4624(time.Second, "0x51aa", "adm", 3))
			s.det(ev("DC", 2*time.Second, "Security", 4697, "SubjectLogonId", "0x51aa", "SubjectUserName", "adm",
				"ServiceName", "PSEXESVC", "ServiceFileName", `%SystemRoot%\PSEXESVC.exe`))
			s.add(start(3*time.Second, svc, dcServices))
			s.det(start(4*time.Second, who, svc))
			return s
		}, [][]int{{0, 1, 2}}, `J→DC network logon 0x51aa of CORP\adm ← PsExec64.exe`},
		{"scheduled task", func() *scene {
			st := jproc(10, `C:\Windows\System32\schtasks.exe`,
				`schtasks /create /s `+dcIP+` /u CORP\adm /p x /tn upd /tr C:\Windows\Temp\u.bat /sc once /st 00:00 /ru SYSTEM`)
			sched := dcproc(4, `C:\Windows\System32\svchost.exe`, `svchost.exe -k netsvcs -p -s Schedule`, "0x3e7")
			run := dcproc(20, `C:\Windows\System32\cmd.exe`, `C:\Windows\SYSTEM32\cmd.exe /c "C:\Windows\Temp\u.bat"`, "0x3e7")
			s := (&scene{}).add(start(-time.Hour, sched, dcServices))
			s.det(startAs(0, st, jShell, `CORP\jdoe`))
			s.add(remoteLogon4624(time.Second, "0x61bb", "adm", 3))
			s.det(ev("DC", 2*time.Second, "Security", 4698, "SubjectLogonId", "0x61bb", "SubjectUserName", "adm", "TaskName", `\upd`,
				"TaskContent", `<Task><Actions><Exec><Command>C:\Windows\Temp\u.bat</Command></Exec></Actions></Task>`))
			s.det(start(5*time.Minute, run, sched))
			return s
		}, [][]int{{0, 1, 2}}, `J→DC network logon 0x61bb of CORP\adm ← schtasks.exe`},
		{"WinRM", func() *scene {
			ps := jproc(10, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
				`powershell.exe -c "Invoke-Command -ComputerName `+dcIP+` -ScriptBlock { whoami /all }"`)
			prov := dcproc(5, `C:\Windows\System32\wsmprovhost.exe`, `wsmprovhost.exe -Embedding`, "0x71cc")
			who := dcproc(20, `C:\Windows\System32\whoami.exe`, `"C:\Windows\system32\whoami.exe" /all`, "0x71cc")
			s := &scene{}
			s.det(startAs(0, ps, jShell, `CORP\adm`))
			s.add(remoteLogon4624(time.Second, "0x71cc", "adm", 3), startAs(2*time.Second, prov, dcSvchost, `CORP\adm`))
			s.det(startAs(3*time.Second, who, prov, `CORP\adm`))
			return s
		}, [][]int{{0, 1}}, `J→DC network logon 0x71cc of CORP\adm ← powershell.exe`},
		{"DCOM", func() *scene {
			// The command names no host: the connection to DC's RPC port
			// is the remote action, and gives J's address.
			ps := jproc(10, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
				`powershell.exe -c "$c=[activator]::CreateInstance([type]::GetTypeFromProgID('MMC20.Application','`+dcIP+`'));$c.Document.ActiveView.ExecuteShellCommand('cmd',$null,'/c whoami','7')"`)
			mmc := dcproc(6, `C:\Windows\System32\mmc.exe`, `"C:\Windows\system32\mmc.exe" -Embedding`, "0x81dd")
			cmd := dcproc(20, `C:\Windows\System32\cmd.exe`, `"C:\Windows\system32\cmd.exe" /c whoami`, "0x81dd")
			s := &scene{}
			s.det(startAs(0, ps, jShell, `CORP\adm`))
			s.add(connect(time.Second, ps, jumpIP, dcIP, "", 135))
			s.add(remoteLogon4624(2*time.Second, "0x81dd", "adm", 3), startAs(2*time.Second, mmc, dcSvchost, `CORP\adm`))
			s.det(startAs(3*time.Second, cmd, mmc, `CORP\adm`))
			return s
		}, [][]int{{0, 1}}, `J→DC network logon 0x81dd of CORP\adm ← powershell.exe`},
		{"RDP", func() *scene {
			rdp := jproc(10, `C:\Windows\System32\mstsc.exe`, `mstsc.exe /v:`+dcIP)
			explorer := dcproc(7, `C:\Windows\explorer.exe`, `C:\Windows\Explorer.EXE`, "0x91ee")
			cmd := dcproc(20, `C:\Windows\System32\cmd.exe`, `cmd.exe`, "0x91ee")
			s := &scene{}
			s.det(startAs(0, rdp, jShell, `CORP\adm`))
			s.add(remoteLogon4624(20*time.Second, "0x91ee", "adm", 10), startAs(30*time.Second, explorer, dcServices, `CORP\adm`))
			s.det(startAs(3*time.Minute, cmd, explorer, `CORP\adm`))
			return s
		}, [][]int{{0, 1}}, `J→DC RDP logon 0x91ee of CORP\adm ← mstsc.exe`},
		{"explicit credentials of one account, then another's", func() *scene {
			// The first account's try and the second's logon, in one
			// minute: the second's 4648 is its own intent.
			x := jproc(10, `C:\Tools\x.exe`, `x.exe`)
			cmd := dcproc(20, `C:\Windows\System32\cmd.exe`, `cmd.exe /c whoami`, "0x51aa")
			explicit := func(at time.Duration, user string) *event.Event {
				return ev("J", at, "Security", 4648, "ProcessId", strconv.Itoa(x.pid), "TargetServerName", "DC",
					"TargetUserName", user, "TargetDomainName", "CORP")
			}
			s := &scene{}
			s.det(startAs(0, x, jShell, `CORP\jdoe`))
			s.add(explicit(time.Second, "svc"), explicit(10*time.Second, "adm"))
			s.add(logon4624("DC", 11*time.Second, "0x51aa", "adm", 3, jumpIP, "J"))
			s.det(startAs(12*time.Second, cmd, dcServices, `CORP\adm`))
			return s
		}, [][]int{{0, 1}}, `J→DC network logon 0x51aa of CORP\adm ← x.exe`},
		{"SMB file drop, then run", func() *scene { return dropScene(`C:\Windows\Temp\e.exe`) }, [][]int{{0, 1}},
			`J→DC file C:\Windows\Temp\e.exe copied ← cmd.exe`},
		{"SMB copy of another file", func() *scene { return dropScene(`C:\Windows\Temp\f.exe`) }, [][]int{{0}, {1}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ops := checkGroups(t, c.scene(), Options{}, c.want)
			if c.hop == "" {
				return
			}
			checkJoin(t, ops, "remote target", "", "", c.hop)
			if len(ops) > 0 && len(ops[0].Lateral) == 0 {
				t.Errorf("got no lateral hops, want %s", c.hop)
			}
		})
	}
}

// TestLateralSourceAddress: a logon from an address known to be another
// host's is not traced to J's action, though its account matches.
func TestLateralSourceAddress(t *testing.T) {
	s := wmiScene("adm")
	other := proc{"K", guid("K", 1), 700, `C:\Windows\System32\svchost.exe`, `svchost.exe`, "0x3e7"}
	s.add(connect(-time.Minute, other, "10.0.0.12", dcIP, "", 445))
	for i, e := range s.events {
		if id, _ := e.Get(event.FieldEventID); id.Int() == 4624 {
			s.events[i] = logon4624("DC", 0, "0x3e4a1f", "adm", 3, "10.0.0.12", "-")
		}
	}
	checkGroups(t, s, Options{}, [][]int{{0}, {1, 2}})
}
