package operation

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/source"
)

// The scenario acceptance test: the CuckooBees intrusion of
// examples/cuckoobees (the attack events alone, in testdata/cuckoobees,
// written by that example's generator) mixed at test time into real
// background events from Security-Datasets, moved onto the scenario's hosts
// and times.

// benignSets are OTRF Security-Datasets recordings that none of the
// built-in rules fires on (so, to spoor, background): each is moved onto
// the scenario's hosts (Computer renamed) and shifted so that it starts at
// the given time, over a moment of the intrusion where a wrong join would
// be easiest: the recon burst, each lateral move, the side-loading, the
// collection and exfiltration, the log clearing. They are recordings of a
// lab domain (theshire.local, mordor.local) with their own network logons,
// service starts and WMI, which is what the guards have to keep out.
var benignSets = []struct {
	path  string
	start time.Time
}{
	{"lateral_movement/host/covenant_dcom_executeexcel4macro_allowed.zip", time.Date(2022, 2, 7, 14, 3, 0, 0, time.UTC)},
	{"lateral_movement/host/covenant_dcom_registerxll.zip", time.Date(2022, 2, 14, 22, 49, 0, 0, time.UTC)},
	{"defense_evasion/host/cmd_wevtutil_modify_security_eventlog_path.zip", time.Date(2022, 2, 14, 23, 9, 0, 0, time.UTC)},
	{"defense_evasion/host/empire_dllinjection_LoadLibrary_CreateRemoteThread.zip", time.Date(2022, 2, 16, 3, 18, 0, 0, time.UTC)},
	{"lateral_movement/host/covenant_sharpwmi_create_dcerpc_wmi.zip", time.Date(2022, 2, 16, 3, 39, 0, 0, time.UTC)},
	{"defense_evasion/host/cmd_stop_event_logging_controlset001_minint_key.zip", time.Date(2022, 2, 28, 23, 0, 0, 0, time.UTC)},
	{"defense_evasion/host/cmd_psh_stop_netprofm_eventlog_before_reboot.zip", time.Date(2022, 3, 2, 2, 58, 30, 0, time.UTC)},
	{"credential_access/host/empire_mimikatz_extract_keys.zip", time.Date(2022, 2, 7, 14, 20, 0, 0, time.UTC)},
	{"credential_access/host/empire_mimikatz_sam_access.zip", time.Date(2022, 3, 1, 1, 30, 0, 0, time.UTC)},
}

// benignHosts maps the recordings' computers onto the scenario's.
var benignHosts = map[string]string{
	"WORKSTATION5": "ERP01.corp.local", "WORKSTATION6": "FS01.corp.local", "MORDORDC": "DC01.corp.local",
	"PEDRO01": "FS01.corp.local", "DESKTOP-CQF82L6": "FS01.corp.local",
}

// benignPaths returns the benign recordings and a mutate function for
// huntOps that moves their events (and leaves the others alone).
func benignPaths(t *testing.T) ([]string, func(ev *event.Event) bool) {
	base := shared.Path(t, "datasets", "security-datasets", "datasets", "atomic", "windows")
	var paths []string
	first := map[string]time.Time{}
	for _, b := range benignSets {
		p := filepath.Join(base, filepath.FromSlash(b.path))
		paths = append(paths, p)
		first[p] = b.start
	}
	// Each recording's own first time, to shift by.
	starts := map[string]time.Time{}
	recording := func(ev *event.Event) (string, bool) {
		src, _, _ := strings.Cut(ev.Source, "!")
		_, ok := first[src]
		return src, ok
	}
	for _, p := range paths {
		var min time.Time
		collectTimes(t, p, func(tm time.Time) {
			if min.IsZero() || tm.Before(min) {
				min = tm
			}
		})
		starts[p] = min
	}
	mutate := func(ev *event.Event) bool {
		src, ok := recording(ev)
		if !ok {
			return true
		}
		host := HostName(ev.Lookup(event.FieldComputer).Text())
		to, ok := benignHosts[host]
		if !ok {
			return false // a computer the scenario has no place for
		}
		ev.Set(event.FieldComputer, event.StringValue(to))
		if tm := ev.Time(); !tm.IsZero() {
			ev.Set(event.FieldTimeCreated, event.TimeValue(tm.Add(first[src].Sub(starts[src]))))
		}
		return true
	}
	return paths, mutate
}

// collectTimes calls fn with the time of every event of path.
func collectTimes(t *testing.T, path string, fn func(time.Time)) {
	t.Helper()
	_, err := source.Run(t.Context(), []string{path}, source.Options{Workers: 1}, func(_ int, ev *event.Event) error {
		fn(ev.Time())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fixtureKeys returns every quoted string of the attack fixture's lines
// (lower-cased): the GUIDs, logon IDs, paths, names an attack entity can
// have.
func fixtureKeys(t *testing.T, dir string) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	re := regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			for _, m := range re.FindAllStringSubmatch(sc.Text(), -1) {
				v := strings.ReplaceAll(m[1], `\\`, `\`)
				keys[strings.ToLower(v)] = true
				keys[strings.ToLower(NormPath(v))] = true
				keys[normLogon(v)] = true
			}
		}
		fh.Close()
	}
	return keys
}

// attackSteps are the intrusion's steps as the narrative tells them, in
// order: each pattern must match a sentence after the previous one's.
var attackSteps = []struct{ host, pattern string }{
	{"ERP01", `java\.exe wrote .*about_us\.jsp`},                             // web shell
	{"ERP01", `java\.exe started cmd\.exe /c whoami`},                        // first command
	{"ERP01", `net\.exe group "domain admins" /domain`},                      // recon burst
	{"ERP01", `nltest\.exe /dclist`},                                         // recon burst
	{"ERP01", `wscript //E:VBScript\.Encode`},                                // encoded VBScript
	{"ERP01", `certutil -urlcache`},                                          // tool download
	{"ERP01", `reg save HKLM\\SAM`},                                          // hive dumps
	{"ERP01", `reg save HKLM\\SECURITY`},                                     // hive dumps
	{"ERP01", `rundll32\.exe "lsadump::sam`},                                 // masqueraded dumper
	{"ERP01", `winrm\.vbs`},                                                  // WinRM listener
	{"ERP01", `(?i)schtasks /Create /S 10\.10\.20\.15 .* → FS01`},            // remote task
	{"FS01", `task \\test created by CORP\\adm\.wang`},                       // the task on FS01
	{"FS01", `cmd\.exe wrote .*WindowsPowerShell\\v1\.0\\prntvpt\.dll`},      // PRIVATELOG dropped
	{"FS01", `svchost\.exe loaded .*WindowsPowerShell\\v1\.0\\prntvpt\.dll`}, // side-loaded
	{"FS01", `svchost\.exe loaded .*clfsw32\.dll`},                           // CLFS loader
	{"FS01", `drmstore\.blf`},                                                // CLFS log
	{"FS01", `service wmifilt installed`},                                    // driver service
	{"FS01", `driver .*wmifilt\.sys loaded`},                                 // rootkit
	{"ERP01", `(?i)wmic /node:10\.10\.20\.5 .* → DC01`},                      // WMI to the DC
	{"DC01", `WmiPrvSE\.exe started cmd\.exe /c copy`},                       // on the DC
	{"DC01", `cmd\.exe wrote C:\\Windows\\System32\\wlbsctrl\.dll`},          // phantom DLL
	{"DC01", `svchost\.exe loaded C:\\Windows\\System32\\wlbsctrl\.dll`},     // IKEEXT side-load
	{"DC01", `ntdsutil "ac i ntds" ifm`},                                     // NTDS copy
	{"FS01", `makecab\.exe /F`},                                              // staging
	{"FS01", `rar\.exe a -hp`},                                               // RAR staging
	{"FS01", `rar\.exe wrote C:\\\$Recycle\.Bin\\d1\.part3\.rar`},            // archive parts
	{"ERP01", `curl\.exe connected to .*storage\.live\.com`},                 // outbound transfer
	{"FS01", `wevtutil\.exe cl Security`},                                    // log clearing
	{"FS01", `the Security log was cleared`},                                 // 1102
	{"FS01", `an event log was cleared`},                                     // System 104
}

func TestScenarioCuckooBees(t *testing.T) {
	benign, mutate := benignPaths(t)
	hs, idx := huntOps(t, append([]string{scenarioFixture}, benign...), 4, mutate)
	checkScenario(t, hs, idx)
}

// TestScenarioWithSigmaHQ is the scenario with the SigmaHQ Windows rules
// added to the built-in ones: hundreds of detections on the background, of
// every level, and still one operation with the whole intrusion and none of
// them.
func TestScenarioWithSigmaHQ(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the SigmaHQ rules")
	}
	set, err := sigma.LoadPaths([]string{shared.Path(t, "datasets", "sigma", "rules", "windows")})
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := detect.Compile(append(reportedBuiltin(t), set.Rules...), nil, detect.Options{}) // rules that do not compile are left out
	benign, mutate := benignPaths(t)
	hs, idx := huntWith(t, eng, append([]string{scenarioFixture}, benign...), 4, mutate)
	checkScenario(t, hs, idx)
}

var scenarioFixture = filepath.Join("testdata", "cuckoobees")

// checkScenario checks the operations of a scenario hunt.
func checkScenario(t *testing.T, hs []hunted, idx *Index) {
	t.Helper()
	fixture := scenarioFixture
	isAttack := func(h hunted) bool { return strings.HasPrefix(filepath.ToSlash(h.source), "testdata/cuckoobees/") }
	var nAttack, nBenign int
	for _, h := range hs {
		if isAttack(h) {
			nAttack++
		} else {
			nBenign++
		}
	}
	if nAttack < 150 {
		t.Fatalf("got %d detections on the intrusion, want over 150", nAttack)
	}
	ops := mustOperations(t, refsOf(hs), idx, Options{})
	st := idx.Stats()
	t.Logf("%d detections on the intrusion, %d on the background; %d operations; index %+v", nAttack, nBenign, len(ops), st)
	if st.Events < 100000 || st.Processes < 500 || st.Hosts != 3 {
		t.Errorf("got index %+v, want the background in it: over 100,000 events, 500 processes on 3 hosts", st)
	}

	// Exactly one operation holds attack detections; it holds all of them
	// and nothing else.
	var op *result.Operation
	for i := range ops {
		attack, other := 0, 0
		for _, d := range ops[i].Detections {
			if isAttack(hs[d]) {
				attack++
			} else {
				other++
			}
		}
		if attack == 0 {
			continue
		}
		if op != nil {
			t.Fatalf("got a second operation with attack detections:\n%s", describeOps(ops[i:i+1]))
		}
		op = &ops[i]
		if attack != nAttack || other != 0 {
			t.Errorf("got an operation with %d of %d attack detections and %d background ones, want all and none", attack, nAttack, other)
		}
	}
	if op == nil {
		t.Fatal("got no operation with the intrusion")
	}
	if t.Failed() || testing.Verbose() {
		t.Log(describeOps([]result.Operation{*op}))
	}
	if !slices.Equal(op.Hosts, []string{"DC01", "ERP01", "FS01"}) || op.Severity != "critical" {
		t.Errorf("got hosts %v, severity %s; want DC01 ERP01 FS01, critical", op.Hosts, op.Severity)
	}
	for _, tac := range []string{"initial-access", "discovery", "credential-access", "lateral-movement", "persistence", "defense-evasion", "collection", "exfiltration"} {
		if !slices.Contains(op.Tactics, tac) {
			t.Errorf("got tactics %v, want %s among them", op.Tactics, tac)
		}
	}

	// Every step, on its host, in order.
	for i := 1; i < len(op.Steps); i++ {
		if op.Steps[i].Time.Before(op.Steps[i-1].Time) {
			t.Errorf("step %d (%s) is before step %d", i, op.Steps[i].Sentence, i-1)
		}
	}
	k := 0
	for _, st := range attackSteps {
		re := regexp.MustCompile(st.pattern)
		found := false
		for ; k < len(op.Narrative); k++ {
			if re.MatchString(op.Narrative[k]) {
				if op.Steps[k].Host != st.host {
					t.Errorf("step %q: got host %s, want %s", st.pattern, op.Steps[k].Host, st.host)
				}
				found = true
				k++
				break
			}
		}
		if !found {
			t.Errorf("got no step matching %q (on %s) in order", st.pattern, st.host)
			k = 0
		}
	}

	// The entities that link the steps are all the intrusion's.
	keys := fixtureKeys(t, fixture)
	for _, e := range op.Context {
		key := strings.ToLower(e.Key)
		if strings.HasPrefix(key, "pid ") {
			key = strings.TrimPrefix(key, "pid ")
		}
		if !keys[key] && !keys[strings.ToLower(NormPath(e.Key))] {
			t.Errorf("context entity %s %s %q (%s) is not one of the intrusion's", e.Host, e.Kind, e.Key, e.Description)
		}
	}
	if len(op.Context) == 0 {
		t.Error("got no context entities, want the links (task, logons, dropped files)")
	}
}

// TestScenarioBackgroundAlone: the background events alone yield no
// operation above low severity.
func TestScenarioBackgroundAlone(t *testing.T) {
	benign, mutate := benignPaths(t)
	hs, idx := huntOps(t, benign, 4, mutate)
	ops := mustOperations(t, refsOf(hs), idx, Options{KeepSingletons: true})
	t.Logf("%d detections, %d operations", len(hs), len(ops))
	for _, op := range ops {
		if levelRank(op.Severity) > levelRank("low") {
			t.Errorf("got a %s operation from background events:\n%s", op.Severity, describeOps([]result.Operation{op}))
		}
	}
}
