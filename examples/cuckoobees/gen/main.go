// Command gen writes the CuckooBees example evidence set: Winlogbeat 7 JSON
// lines for three hosts of a fictional manufacturer (an ERP web server, a
// file server and a domain controller) over four weeks of February and March
// 2022, with an intrusion modelled on Operation CuckooBees among a few
// hundred events of ordinary activity. The output is deterministic: the same
// seed gives the same bytes.
//
// Run it from the repository root:
//
//	go run ./examples/cuckoobees/gen
//
// Every name, address, account, hash and GUID in the output is invented.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	out := flag.String("out", filepath.Join("examples", "cuckoobees"), "folder to write the .jsonl files into")
	attackOut := flag.String("attack-out", filepath.Join("internal", "operation", "testdata", "cuckoobees"),
		"folder to write the intrusion's events alone into (the operation builder's scenario test)")
	seed := flag.Uint64("seed", 2022, "random seed")
	flag.Parse()
	for _, f := range generate(*seed) {
		if err := os.WriteFile(filepath.Join(*out, f.name), f.data, 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.MkdirAll(*attackOut, 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*attackOut, f.name), f.attackData, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// file is one output file.
type file struct {
	name string
	data []byte
	// attack tells, per line, whether the event is part of the intrusion
	// (for the generator's test; not written).
	attack []bool
	// attackData holds the intrusion's lines alone (every event the
	// intrusion wrote, in the same order and with the same record IDs).
	attackData []byte
}

// generate builds the whole evidence set.
func generate(seed uint64) []file {
	w := newWorld(seed)
	w.baseline()
	w.inIntrusion = true
	w.intrusion()
	w.inIntrusion = false
	var files []file
	for _, h := range w.hosts {
		files = append(files, h.render())
	}
	return files
}

// obj is a JSON object that keeps its keys in order.
type obj []kv

type kv struct {
	k string
	v any
}

// MarshalJSON writes the keys in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshal(p.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal encodes v without escaping <, > and & (Winlogbeat does not).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Channels and providers.
const (
	chSysmon   = "Microsoft-Windows-Sysmon/Operational"
	chSecurity = "Security"
	chSystem   = "System"

	provSysmon   = "Microsoft-Windows-Sysmon"
	provSecurity = "Microsoft-Windows-Security-Auditing"
	provSCM      = "Service Control Manager"
	provEventlog = "Microsoft-Windows-Eventlog"
)

var providerGUID = map[string]string{
	provSysmon:   "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
	provSecurity: "{54849625-5478-4994-a5ba-3e3b0328c30d}",
	provSCM:      "{555908d1-a6d7-4695-8e1e-26931d2012f4}",
	provEventlog: "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}",
}

// Accounts.
type account struct {
	name, domain, sid string
}

var (
	acctSystem   = account{"SYSTEM", "NT AUTHORITY", "S-1-5-18"}
	acctNetSvc   = account{"NETWORK SERVICE", "NT AUTHORITY", "S-1-5-20"}
	acctAdmWang  = account{"adm.wang", "CORP", "S-1-5-21-3623811015-3361044348-30300820-1109"}
	acctBackup   = account{"svc_backup", "CORP", "S-1-5-21-3623811015-3361044348-30300820-1132"}
	acctSQL      = account{"svc_sql", "CORP", "S-1-5-21-3623811015-3361044348-30300820-1133"}
	domainUsers  = []account{{"jdoe", "CORP", "S-1-5-21-3623811015-3361044348-30300820-1104"}, {"mchen", "CORP", "S-1-5-21-3623811015-3361044348-30300820-1105"}, {"lzhang", "CORP", "S-1-5-21-3623811015-3361044348-30300820-1106"}, {"kpatel", "CORP", "S-1-5-21-3623811015-3361044348-30300820-1107"}, {"agarcia", "CORP", "S-1-5-21-3623811015-3361044348-30300820-1108"}}
	userStations = []string{"10.10.30.21", "10.10.30.22", "10.10.30.23", "10.10.30.24", "10.10.30.25"}
)

// Addresses.
const (
	ipERP      = "10.10.20.11"
	ipFS       = "10.10.20.15"
	ipDC       = "10.10.20.5"
	ipAdminWks = "10.10.30.50"
	ipAttacker = "203.0.113.77"  // web shell operator
	ipStager   = "198.51.100.23" // tool download server
	ipCloud    = "192.0.2.80"    // the cloud storage the data is uploaded to
)

// world holds the hosts and the shared random source.
type world struct {
	rng   *rand.Rand
	hosts []*host
	erp   *host
	fs    *host
	dc    *host
	java  *proc // the ERP application server on ERP01
	// inIntrusion marks every event added as part of the intrusion.
	inIntrusion bool
}

func newWorld(seed uint64) *world {
	w := &world{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	w.erp = w.newHost("ERP01", ipERP, "7a3c0011")
	w.fs = w.newHost("FS01", ipFS, "7a3c0015")
	w.dc = w.newHost("DC01", ipDC, "7a3c0005")
	w.hosts = []*host{w.erp, w.fs, w.dc}
	return w
}

// host is one machine and the events it logged.
type host struct {
	w       *world
	name    string
	fqdn    string
	ip      string
	guidPfx string
	nextPID int
	nextSeq int
	nextLog uint64
	events  []*record

	// Long-running processes that exist before the collection window.
	system, services, svcNetsvcs, svcSchedule, wmiprvse, lsass *proc
}

// record is one event before rendering.
type record struct {
	t        time.Time
	seq      int
	channel  string
	provider string
	eventID  int
	task     string
	keywords []string
	data     obj
	userData obj // Winlogbeat user_data (events with UserData)
	message  string
	attack   bool
	pid      int
}

func (w *world) newHost(name, ip, guidPfx string) *host {
	h := &host{w: w, name: name, fqdn: name + ".corp.local", ip: ip, guidPfx: guidPfx, nextPID: 3000, nextLog: 0x1a0000}
	boot := time.Date(2022, 1, 18, 6, 12, 0, 0, time.UTC)
	h.system = h.existing(boot, nil, `System`, "", acctSystem, "0x3e7", 4)
	h.services = h.existing(boot, h.system, `C:\Windows\System32\services.exe`, `C:\Windows\system32\services.exe`, acctSystem, "0x3e7", 684)
	h.lsass = h.existing(boot, h.system, `C:\Windows\System32\lsass.exe`, `C:\Windows\system32\lsass.exe`, acctSystem, "0x3e7", 700)
	h.svcNetsvcs = h.existing(boot, h.services, `C:\Windows\System32\svchost.exe`, `C:\Windows\system32\svchost.exe -k netsvcs -p`, acctSystem, "0x3e7", 1108)
	h.svcSchedule = h.existing(boot, h.services, `C:\Windows\System32\svchost.exe`, `C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`, acctSystem, "0x3e7", 1316)
	h.wmiprvse = h.existing(boot, h.svcNetsvcs, `C:\Windows\System32\wbem\WmiPrvSE.exe`, `C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding`, acctNetSvc, "0x3e4", 2920)
	return h
}

// proc is a process instance.
type proc struct {
	h         *host
	guid      string
	pid       int
	image     string
	cmd       string
	cwd       string
	user      account
	logonID   string
	integrity string
	parent    *proc
}

// guid returns a new Sysmon-style process GUID for the host.
func (h *host) guid(t time.Time) string {
	h.nextSeq++
	return fmt.Sprintf("{%s-%04x-%04x-%04x-%012x}", h.guidPfx, uint16(t.Unix()>>16), uint16(t.Unix()), 0x0100+h.nextSeq%0x0f00, h.nextSeq)
}

func (h *host) existing(t time.Time, parent *proc, image, cmd string, u account, logonID string, pid int) *proc {
	return &proc{h: h, guid: h.guid(t), pid: pid, image: image, cmd: cmd, cwd: `C:\Windows\system32\`, user: u, logonID: logonID, integrity: "System", parent: parent}
}

// logon returns a fresh logon ID.
func (h *host) logon() string {
	h.nextLog += 0x1000 + uint64(h.w.rng.IntN(0x8000))
	return "0x" + strconv.FormatUint(h.nextLog, 16)
}

// pid returns a fresh process ID (multiple of 4, as Windows gives them).
func (h *host) pid() int {
	h.nextPID += 4 * (1 + h.w.rng.IntN(60))
	if h.nextPID > 15000 {
		h.nextPID = 1200 + 4*h.w.rng.IntN(100)
	}
	return h.nextPID
}

func (h *host) add(r *record) *record {
	if h.w.inIntrusion {
		r.attack = true
	}
	h.nextSeq++
	r.seq = h.nextSeq
	h.events = append(h.events, r)
	return r
}

// Event options.
type evopt func(*record)

func attack(r *record) { r.attack = true }

// userString is the DOMAIN\name form Sysmon writes.
func (a account) userString() string { return a.domain + `\` + a.name }

func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") }

func hexPID(pid int) string { return "0x" + strconv.FormatInt(int64(pid), 16) }

// fileMeta is what Sysmon knows about well-known images.
var fileMeta = map[string][4]string{
	// base name: FileVersion, Description, Company, OriginalFileName
	"cmd.exe":        {"10.0.17763.1697 (WinBuild.160101.0800)", "Windows Command Processor", "Microsoft Corporation", "Cmd.Exe"},
	"net.exe":        {"10.0.17763.1 (WinBuild.160101.0800)", "Net Command", "Microsoft Corporation", "net.exe"},
	"net1.exe":       {"10.0.17763.1 (WinBuild.160101.0800)", "Net Command", "Microsoft Corporation", "net1.exe"},
	"whoami.exe":     {"10.0.17763.1 (WinBuild.160101.0800)", "whoami - displays logged on user information", "Microsoft Corporation", "whoami.exe"},
	"systeminfo.exe": {"10.0.17763.1 (WinBuild.160101.0800)", "Displays system information", "Microsoft Corporation", "sysinfo.exe"},
	"tasklist.exe":   {"10.0.17763.1 (WinBuild.160101.0800)", "Lists the current running tasks", "Microsoft Corporation", "tasklist.exe"},
	"ipconfig.exe":   {"10.0.17763.1 (WinBuild.160101.0800)", "IP Configuration Utility", "Microsoft Corporation", "ipconfig.exe"},
	"netstat.exe":    {"10.0.17763.1 (WinBuild.160101.0800)", "TCP/IP Netstat Command", "Microsoft Corporation", "netstat.exe"},
	"route.exe":      {"10.0.17763.1 (WinBuild.160101.0800)", "TCP/IP Route Command", "Microsoft Corporation", "route.exe"},
	"nbtstat.exe":    {"10.0.17763.1 (WinBuild.160101.0800)", "TCP/IP NetBios Information", "Microsoft Corporation", "nbtstat.exe"},
	"fsutil.exe":     {"10.0.17763.1 (WinBuild.160101.0800)", "fsutil.exe", "Microsoft Corporation", "fsutil.exe"},
	"query.exe":      {"10.0.17763.1 (WinBuild.160101.0800)", "Query Utility", "Microsoft Corporation", "query.exe"},
	"quser.exe":      {"10.0.17763.1 (WinBuild.160101.0800)", "Query User Utility", "Microsoft Corporation", "quser.exe"},
	"dsquery.exe":    {"10.0.17763.1 (WinBuild.160101.0800)", "Active Directory Domain Services Directory Query", "Microsoft Corporation", "dsquery.exe"},
	"dsget.exe":      {"10.0.17763.1 (WinBuild.160101.0800)", "Active Directory Domain Services Get Command", "Microsoft Corporation", "dsget.exe"},
	"nltest.exe":     {"10.0.17763.1 (WinBuild.160101.0800)", "Microsoft Logon Server Test Utility", "Microsoft Corporation", "nltestrk.exe"},
	"ping.exe":       {"10.0.17763.1 (WinBuild.160101.0800)", "TCP/IP Ping Command", "Microsoft Corporation", "ping.exe"},
	"wscript.exe":    {"5.812.10240.16384", "Microsoft ® Windows Based Script Host", "Microsoft Corporation", "wscript.exe"},
	"cscript.exe":    {"5.812.10240.16384", "Microsoft ® Console Based Script Host", "Microsoft Corporation", "cscript.exe"},
	"certutil.exe":   {"10.0.17763.1 (WinBuild.160101.0800)", "CertUtil.exe", "Microsoft Corporation", "CertUtil.exe"},
	"reg.exe":        {"10.0.17763.1 (WinBuild.160101.0800)", "Registry Console Tool", "Microsoft Corporation", "reg.exe"},
	"schtasks.exe":   {"10.0.17763.1 (WinBuild.160101.0800)", "Task Scheduler Configuration Tool", "Microsoft Corporation", "schtasks.exe"},
	"sc.exe":         {"10.0.17763.1 (WinBuild.160101.0800)", "Service Control Manager Configuration Tool", "Microsoft Corporation", "sc.exe"},
	"WMIC.exe":       {"10.0.17763.1 (WinBuild.160101.0800)", "WMI Commandline Utility", "Microsoft Corporation", "wmic.exe"},
	"ntdsutil.exe":   {"10.0.17763.1 (WinBuild.160101.0800)", "NT5DS", "Microsoft Corporation", "ntdsutil.exe"},
	"makecab.exe":    {"5.00 (WinBuild.160101.0800)", "Microsoft® Cabinet Maker", "Microsoft Corporation", "makecab.exe"},
	"wevtutil.exe":   {"10.0.17763.1 (WinBuild.160101.0800)", "Eventing Command Line Utility", "Microsoft Corporation", "wevtutil.exe"},
	"svchost.exe":    {"10.0.17763.1 (WinBuild.160101.0800)", "Host Process for Windows Services", "Microsoft Corporation", "svchost.exe"},
	"robocopy.exe":   {"10.0.17763.1 (WinBuild.160101.0800)", "Microsoft Robocopy", "Microsoft Corporation", "robocopy.exe"},
	"taskhostw.exe":  {"10.0.17763.1 (WinBuild.160101.0800)", "Host Process for Windows Tasks", "Microsoft Corporation", "taskhostw.exe"},
	"mmc.exe":        {"10.0.17763.1 (WinBuild.160101.0800)", "Microsoft Management Console", "Microsoft Corporation", "mmc.exe"},
	"explorer.exe":   {"10.0.17763.1697 (WinBuild.160101.0800)", "Windows Explorer", "Microsoft Corporation", "EXPLORER.EXE"},
	"rdpclip.exe":    {"10.0.17763.1 (WinBuild.160101.0800)", "RDP Clipboard Monitor", "Microsoft Corporation", "rdpclip.exe"},
	"MpCmdRun.exe":   {"4.18.2201.10 (WinBuild.160101.0800)", "Microsoft Malware Protection Command Line Utility", "Microsoft Corporation", "MpCmdRun.exe"},
	"TiWorker.exe":   {"10.0.17763.2450 (WinBuild.160101.0800)", "Windows Modules Installer Worker", "Microsoft Corporation", "TiWorker.exe"},
	"7z.exe":         {"21.07", "7-Zip Console", "Igor Pavlov", "7z.exe"},
}

func base(p string) string { return p[strings.LastIndexByte(p, '\\')+1:] }

func fakeHash(s string) string {
	sum := sha256.Sum256([]byte("spoor-example:" + strings.ToLower(s)))
	return "SHA256=" + strings.ToUpper(hex.EncodeToString(sum[:]))
}

// start records a process creation as Sysmon 1 and Security 4688 and returns
// the new process. The child runs as its parent's user unless asUser is used.
func (h *host) start(t time.Time, parent *proc, image, cmd string, opts ...procopt) *proc {
	p := &proc{h: h, guid: h.guid(t), pid: h.pid(), image: image, cmd: cmd, cwd: parent.cwd,
		user: parent.user, logonID: parent.logonID, integrity: parent.integrity, parent: parent}
	var evo []evopt
	for _, o := range opts {
		if e := o(p); e != nil {
			evo = append(evo, e)
		}
	}
	meta, ok := fileMeta[base(image)]
	product := "Microsoft® Windows® Operating System"
	if !ok || !strings.HasPrefix(image, `C:\Windows\`) {
		meta, product = [4]string{"?", "?", "?", "?"}, "?"
	}
	logonGUID := "{" + h.guidPfx + "-0000-0000-0000-000000000000}"
	r := h.sysmon(t, 1, "Process Create (rule: ProcessCreate)", obj{
		{"RuleName", "-"}, {"UtcTime", utc(t)}, {"ProcessGuid", p.guid}, {"ProcessId", strconv.Itoa(p.pid)},
		{"Image", image}, {"FileVersion", meta[0]}, {"Description", meta[1]}, {"Product", product},
		{"Company", meta[2]}, {"OriginalFileName", meta[3]}, {"CommandLine", cmd}, {"CurrentDirectory", p.cwd},
		{"User", p.user.userString()}, {"LogonGuid", logonGUID}, {"LogonId", p.logonID}, {"TerminalSessionId", "0"},
		{"IntegrityLevel", p.integrity}, {"Hashes", fakeHash(image)}, {"ParentProcessGuid", parent.guid},
		{"ParentProcessId", strconv.Itoa(parent.pid)}, {"ParentImage", parent.image}, {"ParentCommandLine", parent.cmd},
		{"ParentUser", parent.user.userString()},
	}, "Process Create", evo...)
	r.pid = 2816
	subj := parent.user
	subjName, subjDomain := subj.name, subj.domain
	if subj.sid == acctSystem.sid || subj.sid == acctNetSvc.sid {
		subjName, subjDomain = h.name+"$", "CORP"
	}
	label := map[string]string{"System": "S-1-16-16384", "High": "S-1-16-12288", "Medium": "S-1-16-8192"}[p.integrity]
	sr := h.security(t, 4688, "Process Creation", obj{
		{"SubjectUserSid", subj.sid}, {"SubjectUserName", subjName}, {"SubjectDomainName", subjDomain},
		{"SubjectLogonId", parent.logonID}, {"NewProcessId", hexPID(p.pid)}, {"NewProcessName", image},
		{"TokenElevationType", "%%1936"}, {"ProcessId", hexPID(parent.pid)}, {"CommandLine", cmd},
		{"TargetUserSid", "S-1-0-0"}, {"TargetUserName", "-"}, {"TargetDomainName", "-"}, {"TargetLogonId", "0x0"},
		{"ParentProcessName", parent.image}, {"MandatoryLabel", label},
	}, "A new process has been created.", evo...)
	_ = sr
	return p
}

// procopt adjusts a new process; it may return an event option.
type procopt func(*proc) evopt

func isAttack() procopt { return func(*proc) evopt { return attack } }

func asUser(u account, logonID, integrity string) procopt {
	return func(p *proc) evopt { p.user, p.logonID, p.integrity = u, logonID, integrity; return nil }
}

func inDir(dir string) procopt { return func(p *proc) evopt { p.cwd = dir; return nil } }

// sysmon adds a Sysmon event.
func (h *host) sysmon(t time.Time, id int, task string, data obj, msg string, opts ...evopt) *record {
	r := &record{t: t, channel: chSysmon, provider: provSysmon, eventID: id, task: task, data: data, message: msg, pid: 2816}
	for _, o := range opts {
		o(r)
	}
	return h.add(r)
}

// security adds a Security event.
func (h *host) security(t time.Time, id int, task string, data obj, msg string, opts ...evopt) *record {
	r := &record{t: t, channel: chSecurity, provider: provSecurity, eventID: id, task: task, data: data, message: msg,
		keywords: []string{"Audit Success"}, pid: 700}
	for _, o := range opts {
		o(r)
	}
	return h.add(r)
}

// system adds a System event.
func (h *host) systemEvent(t time.Time, provider string, id int, data obj, msg string, opts ...evopt) *record {
	r := &record{t: t, channel: chSystem, provider: provider, eventID: id, task: "None", data: data, message: msg,
		keywords: []string{"Classic"}, pid: 684}
	for _, o := range opts {
		o(r)
	}
	return h.add(r)
}

// Sysmon helpers.

func (h *host) netconn(t time.Time, p *proc, initiated bool, srcIP string, srcPort int, dstIP, dstHost string, dstPort int, opts ...evopt) {
	h.sysmon(t, 3, "Network connection detected (rule: NetworkConnect)", obj{
		{"RuleName", "-"}, {"UtcTime", utc(t)}, {"ProcessGuid", p.guid}, {"ProcessId", strconv.Itoa(p.pid)},
		{"Image", p.image}, {"User", p.user.userString()}, {"Protocol", "tcp"}, {"Initiated", strconv.FormatBool(initiated)},
		{"SourceIsIpv6", "false"}, {"SourceIp", srcIP}, {"SourceHostname", "-"}, {"SourcePort", strconv.Itoa(srcPort)},
		{"SourcePortName", "-"}, {"DestinationIsIpv6", "false"}, {"DestinationIp", dstIP}, {"DestinationHostname", dstHost},
		{"DestinationPort", strconv.Itoa(dstPort)}, {"DestinationPortName", "-"},
	}, "Network connection detected", opts...)
}

func (h *host) fileCreate(t time.Time, p *proc, target string, opts ...evopt) {
	h.sysmon(t, 11, "File created (rule: FileCreate)", obj{
		{"RuleName", "-"}, {"UtcTime", utc(t)}, {"ProcessGuid", p.guid}, {"ProcessId", strconv.Itoa(p.pid)},
		{"Image", p.image}, {"TargetFilename", target}, {"CreationUtcTime", utc(t)}, {"User", p.user.userString()},
	}, "File created", opts...)
}

func (h *host) imageLoad(t time.Time, p *proc, dll string, signed bool, signature, status string, opts ...evopt) {
	meta := [4]string{"10.0.17763.1 (WinBuild.160101.0800)", "", "Microsoft Corporation", base(dll)}
	if !signed {
		meta = [4]string{"?", "?", "?", "?"}
	}
	h.sysmon(t, 7, "Image loaded (rule: ImageLoad)", obj{
		{"RuleName", "-"}, {"UtcTime", utc(t)}, {"ProcessGuid", p.guid}, {"ProcessId", strconv.Itoa(p.pid)},
		{"Image", p.image}, {"ImageLoaded", dll}, {"FileVersion", meta[0]}, {"Description", meta[1]},
		{"Product", "?"}, {"Company", meta[2]}, {"OriginalFileName", meta[3]}, {"Hashes", fakeHash(dll)},
		{"Signed", strconv.FormatBool(signed)}, {"Signature", signature}, {"SignatureStatus", status},
		{"User", p.user.userString()},
	}, "Image loaded", opts...)
}

func (h *host) regSet(t time.Time, p *proc, key, details string, opts ...evopt) {
	h.sysmon(t, 13, "Registry value set (rule: RegistryEvent)", obj{
		{"RuleName", "-"}, {"EventType", "SetValue"}, {"UtcTime", utc(t)}, {"ProcessGuid", p.guid},
		{"ProcessId", strconv.Itoa(p.pid)}, {"Image", p.image}, {"TargetObject", key}, {"Details", details},
		{"User", p.user.userString()},
	}, "Registry value set", opts...)
}

// Security helpers.

func (h *host) logonEvent(t time.Time, u account, logonType int, ip string, pkg string, opts ...evopt) string {
	id := h.logon()
	proc, lproc, auth := "-", "Kerberos", "Kerberos"
	workstation := "-"
	if pkg == "NTLM" {
		lproc, auth = "NtLmSsp ", "NTLM"
		// NTLM logons name the client's computer.
		for _, x := range h.w.hosts {
			if x.ip == ip {
				workstation = x.name
			}
		}
	}
	if logonType == 10 {
		proc, lproc, auth = `C:\Windows\System32\svchost.exe`, "User32 ", "Negotiate"
	}
	h.security(t, 4624, "Logon", obj{
		{"SubjectUserSid", "S-1-0-0"}, {"SubjectUserName", "-"}, {"SubjectDomainName", "-"}, {"SubjectLogonId", "0x0"},
		{"TargetUserSid", u.sid}, {"TargetUserName", u.name}, {"TargetDomainName", u.domain}, {"TargetLogonId", id},
		{"LogonType", strconv.Itoa(logonType)}, {"LogonProcessName", lproc}, {"AuthenticationPackageName", auth},
		{"WorkstationName", workstation}, {"LogonGuid", "{00000000-0000-0000-0000-000000000000}"}, {"TransmittedServices", "-"},
		{"LmPackageName", "-"}, {"KeyLength", "0"}, {"ProcessId", "0x0"}, {"ProcessName", proc}, {"IpAddress", ip},
		{"IpPort", strconv.Itoa(49152 + h.w.rng.IntN(16000))}, {"ImpersonationLevel", "%%1833"}, {"RestrictedAdminMode", "-"},
		{"TargetOutboundUserName", "-"}, {"TargetOutboundDomainName", "-"}, {"VirtualAccount", "%%1843"},
		{"TargetLinkedLogonId", "0x0"}, {"ElevatedToken", "%%1842"},
	}, "An account was successfully logged on.", opts...)
	return id
}

func (h *host) logoff(t time.Time, u account, id string, logonType int) {
	h.security(t, 4634, "Logoff", obj{
		{"TargetUserSid", u.sid}, {"TargetUserName", u.name}, {"TargetDomainName", u.domain},
		{"TargetLogonId", id}, {"LogonType", strconv.Itoa(logonType)},
	}, "An account was logged off.")
}

func (h *host) serviceState(t time.Time, name, state string) {
	h.systemEvent(t, provSCM, 7036, obj{{"param1", name}, {"param2", state}, {"Binary", ""}},
		"The "+name+" service entered the "+state+" state.")
}

func (h *host) serviceInstall(t time.Time, name, image, typ, start, account string, opts ...evopt) {
	h.systemEvent(t, provSCM, 7045, obj{{"ServiceName", name}, {"ImagePath", image}, {"ServiceType", typ},
		{"StartType", start}, {"AccountName", account}}, "A service was installed in the system.", opts...)
}

// at returns a time on a day of the collection window.
func at(day, hour, min, sec int) time.Time {
	return time.Date(2022, 2, 1, hour, min, sec, 0, time.UTC).AddDate(0, 0, day)
}

// jitter adds up to n seconds.
func (w *world) jitter(t time.Time, n int) time.Time {
	return t.Add(time.Duration(w.rng.IntN(n*1000)) * time.Millisecond)
}

// baseline writes the ordinary activity of every day from 1 February to
// 4 March 2022.
func (w *world) baseline() {
	for day := 0; day < 32; day++ {
		weekday := at(day, 0, 0, 0).Weekday() != time.Saturday && at(day, 0, 0, 0).Weekday() != time.Sunday
		for _, h := range w.hosts {
			// Nightly backup job started by the Task Scheduler.
			t := w.jitter(at(day, 1, 0, 0), 30)
			bl := h.logon()
			job := h.start(t, h.svcSchedule, `C:\Windows\System32\cmd.exe`, `C:\Windows\system32\cmd.exe /c "C:\Scripts\backup.cmd"`,
				asUser(acctBackup, bl, "High"), inDir(`C:\Scripts\`))
			rc := h.start(t.Add(2*time.Second), job, `C:\Windows\System32\Robocopy.exe`,
				`robocopy D:\Data \\NAS01\backup\`+h.name+` /MIR /R:1 /W:1 /LOG:C:\Scripts\logs\backup.log`)
			h.fileCreate(t.Add(3*time.Second), rc, `C:\Scripts\logs\backup.log`)
			h.netconn(t.Add(4*time.Second), rc, true, h.ip, 50000+w.rng.IntN(9000), "10.10.40.10", "NAS01.corp.local", 445)

			// Defender signature update.
			t = w.jitter(at(day, 3, 30, 0), 600)
			mp := h.start(t, h.svcNetsvcs, `C:\Program Files\Windows Defender\MpCmdRun.exe`, `"C:\Program Files\Windows Defender\MpCmdRun.exe" -SignatureUpdate -ScheduleJob -RestrictPrivileges`)
			h.regSet(t.Add(40*time.Second), mp, `HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates\SignatureType`, "DWORD (0x00000001)")

			// Windows Update service runs and stops.
			t = w.jitter(at(day, 4, 0, 0), 1800)
			h.serviceState(t, "Windows Update", "running")
			h.serviceState(t.Add(time.Duration(5+w.rng.IntN(20))*time.Minute), "Windows Update", "stopped")

			// Kerberos and LDAP to the DC.
			if h != w.dc {
				t = w.jitter(at(day, 6, 0, 0), 3600)
				h.netconn(t, h.lsass, true, h.ip, 50000+w.rng.IntN(9000), ipDC, "DC01.corp.local", 88)
			}
		}

		// Patch Tuesday: the servicing stack compresses CBS logs with makecab.
		if at(day, 0, 0, 0).Weekday() == time.Tuesday {
			for _, h := range w.hosts {
				t := w.jitter(at(day, 5, 10, 0), 900)
				ti := h.start(t, h.services, `C:\Windows\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.17763.2450_none_7e2b1a4d2a3f5c11\TiWorker.exe`,
					`C:\Windows\winsxs\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.17763.2450_none_7e2b1a4d2a3f5c11\TiWorker.exe -Embedding`)
				log := fmt.Sprintf(`C:\Windows\Logs\CBS\CbsPersist_202202%02d%02d%02d.log`, day+1, 5, 10)
				mc := h.start(t.Add(20*time.Second), ti, `C:\Windows\System32\makecab.exe`,
					`C:\Windows\system32\makecab.exe `+log+` `+strings.TrimSuffix(log, ".log")+".cab")
				h.fileCreate(t.Add(22*time.Second), mc, strings.TrimSuffix(log, ".log")+".cab")
			}
		}

		if !weekday {
			continue
		}
		// Users open their shares on the file server, with tickets from the DC.
		for i, u := range domainUsers {
			if w.rng.IntN(5) == 0 {
				continue
			}
			t := w.jitter(at(day, 7, 30, 0), 5400)
			w.dc.security(t, 4768, "Kerberos Authentication Service", obj{
				{"TargetUserName", u.name}, {"TargetDomainName", "CORP.LOCAL"}, {"TargetSid", u.sid},
				{"ServiceName", "krbtgt"}, {"ServiceSid", "S-1-5-21-3623811015-3361044348-30300820-502"},
				{"TicketOptions", "0x40810010"}, {"Status", "0x0"}, {"TicketEncryptionType", "0x12"},
				{"PreAuthType", "2"}, {"IpAddress", "::ffff:" + userStations[i]}, {"IpPort", "0"},
			}, "A Kerberos authentication ticket (TGT) was requested.")
			w.dc.security(t.Add(300*time.Millisecond), 4769, "Kerberos Service Ticket Operations", obj{
				{"TargetUserName", u.name + "@CORP.LOCAL"}, {"TargetDomainName", "CORP.LOCAL"}, {"ServiceName", "FS01$"},
				{"ServiceSid", "S-1-5-21-3623811015-3361044348-30300820-1201"}, {"TicketOptions", "0x40810000"},
				{"TicketEncryptionType", "0x12"}, {"IpAddress", "::ffff:" + userStations[i]}, {"IpPort", "0"},
				{"Status", "0x0"}, {"LogonGuid", "{00000000-0000-0000-0000-000000000000}"}, {"TransmittedServices", "-"},
			}, "A Kerberos service ticket was requested.")
			id := w.fs.logonEvent(t.Add(time.Second), u, 3, userStations[i], "Kerberos")
			w.fs.logoff(t.Add(time.Duration(3600+w.rng.IntN(18000))*time.Second), u, id, 3)
		}
		// The SQL service account's ticket is AES.
		t := w.jitter(at(day, 8, 0, 0), 600)
		w.dc.security(t, 4769, "Kerberos Service Ticket Operations", obj{
			{"TargetUserName", "ERP01$@CORP.LOCAL"}, {"TargetDomainName", "CORP.LOCAL"}, {"ServiceName", acctSQL.name},
			{"ServiceSid", acctSQL.sid}, {"TicketOptions", "0x40810000"}, {"TicketEncryptionType", "0x12"},
			{"IpAddress", "::ffff:" + ipERP}, {"IpPort", "0"}, {"Status", "0x0"},
			{"LogonGuid", "{00000000-0000-0000-0000-000000000000}"}, {"TransmittedServices", "-"},
		}, "A Kerberos service ticket was requested.")
		// The second DC replicates with its machine account.
		t = w.jitter(at(day, 9, 0, 0), 3600)
		w.dc.security(t, 4662, "Directory Service Access", obj{
			{"SubjectUserSid", "S-1-5-21-3623811015-3361044348-30300820-1002"}, {"SubjectUserName", "DC02$"},
			{"SubjectDomainName", "CORP"}, {"SubjectLogonId", w.dc.logon()}, {"ObjectServer", "DS"},
			{"ObjectType", "%{19195a5b-6da0-11d0-afd3-00c04fd930c9}"}, {"ObjectName", "%{5c3e9b2e-7a1d-4b6f-9d2e-1f0a3c4b5d6e}"},
			{"OperationType", "Object Access"}, {"HandleId", "0x0"}, {"AccessList", "%%7688\r\n\t\t\t\t"}, {"AccessMask", "0x100"},
			{"Properties", "%%7688\r\n\t\t{1131f6ad-9c07-11d1-f79f-00c04fc2dcd2}\r\n\t{19195a5b-6da0-11d0-afd3-00c04fd930c9}\r\n"},
			{"AdditionalInfo", "-"}, {"AdditionalInfo2", ""},
		}, "An operation was performed on an object.")

		// The ERP application writes its log; users reach it on 8443.
		t = w.jitter(at(day, 10, 0, 0), 3600)
		java := w.erpJava()
		w.erp.netconn(t, java, false, userStations[w.rng.IntN(len(userStations))], 50000+w.rng.IntN(9000), ipERP, "ERP01.corp.local", 8443)
		w.erp.fileCreate(t.Add(time.Second), java, fmt.Sprintf(`D:\ERP\jboss-4.2.3\server\default\log\server.log.2022-%02d-%02d`, int(t.Month()), t.Day()))

		// Once a week the administrator connects with RDP and looks around.
		if at(day, 0, 0, 0).Weekday() == time.Wednesday {
			for _, h := range w.hosts {
				w.adminSession(h, w.jitter(at(day, 9, 30, 0), 3600))
			}
		}
	}
	// A backup agent is installed on the file server (ordinary service).
	agent := w.fs.start(at(2, 10, 12, 0), w.fs.services, `C:\Windows\System32\msiexec.exe`, `C:\Windows\system32\msiexec.exe /V`)
	w.fs.serviceInstall(at(2, 10, 13, 5), "VendorBackupAgent", `"C:\Program Files\Vendor\Backup\agent.exe" -service`, "user mode service", "auto start", "LocalSystem")
	w.fs.regSet(at(2, 10, 13, 6), agent, `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\VendorBackupTray`, `"C:\Program Files\Vendor\Backup\tray.exe" /background`)
}

// erpJava is the ERP application server: JBoss on Java, a service running
// as SYSTEM since before the collection window.
func (w *world) erpJava() *proc {
	if w.java == nil {
		w.java = w.erp.existing(time.Date(2022, 1, 18, 6, 13, 0, 0, time.UTC), w.erp.services,
			`D:\ERP\jboss-4.2.3\jdk\bin\java.exe`,
			`"D:\ERP\jboss-4.2.3\jdk\bin\java.exe" -server -Xmx4096m -Djava.endorsed.dirs=D:\ERP\jboss-4.2.3\lib\endorsed -classpath D:\ERP\jboss-4.2.3\bin\run.jar org.jboss.Main -c default -b 0.0.0.0`,
			acctSystem, "0x3e7", 2412)
		w.java.cwd = `D:\ERP\jboss-4.2.3\bin\`
	}
	return w.java
}

// adminSession is the legitimate administrator's weekly RDP visit.
func (w *world) adminSession(h *host, t time.Time) {
	id := h.logonEvent(t, acctAdmWang, 10, ipAdminWks, "Negotiate")
	h.security(t, 4672, "Special Logon", obj{
		{"SubjectUserSid", acctAdmWang.sid}, {"SubjectUserName", acctAdmWang.name}, {"SubjectDomainName", "CORP"},
		{"SubjectLogonId", id}, {"PrivilegeList", "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeDebugPrivilege"},
	}, "Special privileges assigned to new logon.")
	winlogon := h.existing(t, h.system, `C:\Windows\System32\winlogon.exe`, `winlogon.exe`, acctSystem, "0x3e7", 560)
	ex := h.start(t.Add(8*time.Second), winlogon, `C:\Windows\explorer.exe`, `C:\Windows\Explorer.EXE`,
		asUser(acctAdmWang, id, "High"), inDir(`C:\Users\adm.wang\`))
	cmd := h.start(t.Add(2*time.Minute), ex, `C:\Windows\System32\cmd.exe`, `"C:\Windows\system32\cmd.exe"`)
	h.start(t.Add(2*time.Minute+20*time.Second), cmd, `C:\Windows\System32\ipconfig.exe`, `ipconfig /all`)
	switch h {
	case w.dc:
		h.start(t.Add(3*time.Minute), cmd, `C:\Windows\System32\dsquery.exe`, `dsquery user -name `+domainUsers[w.rng.IntN(len(domainUsers))].name)
	case w.fs:
		h.start(t.Add(3*time.Minute), cmd, `C:\Windows\System32\net.exe`, `net share Projects`)
	case w.erp:
		h.start(t.Add(3*time.Minute), cmd, `C:\Windows\System32\net.exe`, `net use S: \\FS01\shared /persistent:no`)
	}
	h.start(t.Add(5*time.Minute), ex, `C:\Windows\System32\mmc.exe`, `"C:\Windows\system32\mmc.exe" "C:\Windows\system32\eventvwr.msc" /s`)
	h.logoff(t.Add(40*time.Minute), acctAdmWang, id, 10)
}

// render sorts a host's events by time and writes them as Winlogbeat 7
// JSON lines, numbering records per channel.
func (h *host) render() file {
	sort.SliceStable(h.events, func(i, j int) bool {
		if !h.events[i].t.Equal(h.events[j].t) {
			return h.events[i].t.Before(h.events[j].t)
		}
		return h.events[i].seq < h.events[j].seq
	})
	recordIDs := map[string]int64{chSysmon: 184021, chSecurity: 5531207, chSystem: 41877}
	var b bytes.Buffer
	f := file{name: strings.ToLower(h.name) + ".jsonl"}
	for _, r := range h.events {
		recordIDs[r.channel]++
		created := r.t.Add(time.Duration(1+h.w.rng.IntN(4)) * time.Second)
		winlog := obj{
			{"api", "wineventlog"},
			{"channel", r.channel},
			{"computer_name", h.fqdn},
		}
		if r.data != nil {
			winlog = append(winlog, kv{"event_data", r.data})
		}
		if r.userData != nil {
			winlog = append(winlog, kv{"user_data", r.userData})
		}
		winlog = append(winlog,
			kv{"event_id", r.eventID},
		)
		if len(r.keywords) > 0 {
			winlog = append(winlog, kv{"keywords", r.keywords})
		}
		winlog = append(winlog,
			kv{"opcode", "Info"},
			kv{"process", obj{{"pid", r.pid}, {"thread", obj{{"id", 3000 + h.w.rng.IntN(4000)}}}}},
			kv{"provider_guid", providerGUID[r.provider]},
			kv{"provider_name", r.provider},
			kv{"record_id", recordIDs[r.channel]},
			kv{"task", r.task},
		)
		if r.channel == chSysmon {
			winlog = append(winlog, kv{"user", obj{{"domain", "NT AUTHORITY"}, {"identifier", "S-1-5-18"}, {"name", "SYSTEM"}, {"type", "User"}}})
			winlog = append(winlog, kv{"version", 5})
		}
		ev := obj{
			{"@timestamp", r.t.UTC().Format("2006-01-02T15:04:05.000Z")},
			{"agent", obj{{"hostname", h.name}, {"name", h.name}, {"type", "winlogbeat"}, {"version", "7.17.0"}}},
			{"ecs", obj{{"version", "1.12.0"}}},
			{"event", obj{{"code", strconv.Itoa(r.eventID)}, {"created", created.UTC().Format("2006-01-02T15:04:05.000Z")},
				{"kind", "event"}, {"provider", r.provider}}},
			{"host", obj{{"name", h.fqdn}}},
			{"log", obj{{"level", "information"}}},
			{"message", r.message},
			{"winlog", winlog},
		}
		line, err := marshal(ev)
		if err != nil {
			log.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
		f.attack = append(f.attack, r.attack)
		if r.attack {
			f.attackData = append(f.attackData, line...)
			f.attackData = append(f.attackData, '\n')
		}
	}
	f.data = b.Bytes()
	return f
}
