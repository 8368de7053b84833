package hunt

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/rulepkg"
	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/rules"
	"github.com/spoor-hunt/spoor/rules/sigmahq"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixture hunts testdata/evidence with the rules of testdata/rules only.
func fixture(t *testing.T, opts Options) *result.Result {
	t.Helper()
	opts.NoBuiltin = true
	opts.Rules = append(opts.Rules, "testdata/rules")
	res, err := Run(t.Context(), []string{"testdata/evidence"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// found renders the detections as "record:rule-id-suffix" in result order.
func found(res *result.Result) []string {
	var out []string
	for _, d := range res.Detections {
		out = append(out, fmt.Sprintf("%d:%s", d.RecordID, d.Rule.ID[len(d.Rule.ID)-1:]))
	}
	return out
}

func TestRunFixture(t *testing.T) {
	res := fixture(t, Options{Workers: 2})
	// Rules: 1 whoami, 2 reg save, 3 RDP logon, 4 service; 5 is
	// deprecated, 6 broken, 7 for Linux.
	if got, want := found(res), []string{"102:1", "104:2", "5001:3", "7:2", "900:4"}; !slices.Equal(got, want) {
		t.Errorf("detections: got %v, want %v", got, want)
	}
	r := res.Rules
	if r.Loaded != 4 || r.Filtered != 1 || r.Skipped != 1 || r.Unsupported != 1 || len(r.Errors) != 1 {
		t.Errorf("rules: got %+v, want 4 loaded, 1 filtered, 1 skipped with its error, 1 unsupported", r)
	}
	e := res.Evidence
	if e.Files != 3 || e.Logs != 2 || e.Events != 8 || e.Hunted != 8 || len(e.NotLogs) != 1 || len(e.Damaged) != 1 {
		t.Errorf("evidence: got %+v, want 3 files, 2 logs, 8 events hunted, 1 not a log, 1 damaged", e)
	}
	if got, want := e.First.Format(time.RFC3339), "2024-03-04T09:00:00Z"; got != want {
		t.Errorf("first: got %s, want %s", got, want)
	}
	if got, want := res.Levels, (result.LevelCounts{Critical: 2, High: 1, Medium: 1, Low: 1}); got != want {
		t.Errorf("levels: got %+v, want %+v", got, want)
	}
	if got := res.RuleCounts[0]; got.ID != "00000000-0000-4000-8000-000000000002" || got.Count != 2 || got.Hosts != 2 || got.Description == "" {
		t.Errorf("top rule: got %+v, want the reg save rule, 2 detections on 2 hosts, with its description", got)
	}
	if got := res.Hosts; len(got) != 2 || got[0].Computer != "WEB01.example.org" || got[0].Count != 3 || got[0].Levels.Critical != 1 {
		t.Errorf("hosts: got %+v, want WEB01 first with 3 (1 critical)", got)
	}
	var tactics []string
	for _, tc := range res.Tactics {
		tactics = append(tactics, tc.Short)
	}
	want := []string{"initial-access", "persistence", "privilege-escalation", "credential-access", "discovery", "lateral-movement"}
	if !slices.Equal(tactics, want) {
		t.Errorf("tactics: got %v, want %v (kill-chain order)", tactics, want)
	}
	if got := res.BySeverity(); got[0].Rule.Level != "critical" || got[len(got)-1].Rule.Level != "low" {
		t.Errorf("BySeverity: got %s first and %s last, want critical and low", got[0].Rule.Level, got[len(got)-1].Rule.Level)
	}
}

func TestDetectionFields(t *testing.T) {
	res := fixture(t, Options{KeepEvents: true})
	byRecord := map[int64]*result.Detection{}
	for i := range res.Detections {
		byRecord[res.Detections[i].RecordID] = &res.Detections[i]
	}
	tests := []struct {
		record int64
		want   []string // the first field names, in order
	}{
		// The rule's fields first, then the category's key fields.
		{102, []string{"Image", "ParentImage", "CommandLine", "User"}},
		{104, []string{"Image", "CommandLine", "ParentImage", "User"}},
		// A Security logon: the rule's LogonType, then the logon's fields.
		{5001, []string{"LogonType", "TargetUserName", "TargetDomainName", "IpAddress"}},
		{900, []string{"ImagePath", "ServiceName", "ServiceType", "StartType"}},
	}
	for _, tt := range tests {
		d := byRecord[tt.record]
		if d == nil {
			t.Errorf("record %d: no detection", tt.record)
			continue
		}
		var names []string
		for _, f := range d.Fields {
			names = append(names, f.Name)
		}
		if len(names) < len(tt.want) || !slices.Equal(names[:len(tt.want)], tt.want) {
			t.Errorf("record %d: got fields %v, want them to start with %v", tt.record, names, tt.want)
		}
		if !bytes.Contains(d.Event, []byte(`"EventRecordID":`)) {
			t.Errorf("record %d: got event %s, want the whole event with KeepEvents", tt.record, d.Event)
		}
	}
	d := byRecord[102]
	if d.Computer != "WEB01.example.org" || d.Channel != "Microsoft-Windows-Sysmon/Operational" || d.EventID != 1 ||
		d.Provider != "Microsoft-Windows-Sysmon" || !strings.HasSuffix(d.Source, "sysmon.jsonl") || d.Locator != 2 {
		t.Errorf("record 102: got %+v", d)
	}
	if got, want := d.Time.Format(time.RFC3339Nano), "2024-03-04T10:15:02.25Z"; got != want {
		t.Errorf("record 102 time: got %s, want %s", got, want)
	}
	if !slices.Equal(d.Rule.Tactics, []string{"initial-access", "discovery"}) || !slices.Equal(d.Rule.Techniques, []string{"T1033", "T1190"}) {
		t.Errorf("record 102 ATT&CK: got %v %v, want kill-chain tactics and upper-case techniques", d.Rule.Tactics, d.Rule.Techniques)
	}
}

func TestFilters(t *testing.T) {
	day := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"min level high", Options{MinLevel: "high"}, []string{"102:1", "104:2", "7:2"}},
		{"min level critical", Options{MinLevel: "CRITICAL"}, []string{"104:2", "7:2"}},
		{"status stable", Options{Statuses: []string{"stable"}}, []string{"104:2", "7:2"}},
		{"status deprecated", Options{Statuses: []string{"deprecated"}}, []string{"103:5"}},
		{"tag technique", Options{Tags: []string{"attack.t1003"}}, []string{"104:2", "7:2"}},
		{"tag without namespace, underscore", Options{Tags: []string{"Credential_Access"}}, []string{"104:2", "7:2"}},
		{"two tags", Options{Tags: []string{"t1021", "persistence"}}, []string{"5001:3", "900:4"}},
		{"exclude by id", Options{Exclude: []string{"00000000-0000-4000-8000-000000000002"}}, []string{"102:1", "5001:3", "900:4"}},
		{"exclude by title", Options{Exclude: []string{"remote desktop logon", "Whoami Run by a Web Server"}}, []string{"104:2", "7:2", "900:4"}},
		{"from", Options{From: day("2024-03-04T11:00:00Z")}, []string{"5001:3", "7:2", "900:4"}},
		{"to, inclusive", Options{To: day("2024-03-04T11:00:00Z")}, []string{"102:1", "104:2", "5001:3"}},
		{"from and to", Options{From: day("2024-03-04T10:20:00Z"), To: day("2024-03-05T00:00:00Z")}, []string{"104:2", "5001:3"}},
		{"nothing in range", Options{From: day("2030-01-01T00:00:00Z")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := fixture(t, tt.opts)
			if got := found(res); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestUnknownExcludes checks that --exclude-rule names that name no loaded
// rule are reported (a typo would otherwise pass silently), and that a
// name counts as known even when another filter also leaves its rule out.
func TestUnknownExcludes(t *testing.T) {
	res := fixture(t, Options{MinLevel: "high", Exclude: []string{"Remote Desktop Logon", "Remote Desktop Logn", "00000000-0000-4000-8000-000000000002"}})
	if got, want := res.Rules.UnknownExcludes, []string{"Remote Desktop Logn"}; !slices.Equal(got, want) {
		t.Errorf("unknown excludes: got %q, want %q", got, want)
	}
}

func TestTimeRangeCounts(t *testing.T) {
	from, _ := time.Parse(time.RFC3339, "2024-03-04T10:00:00Z")
	res := fixture(t, Options{From: from})
	e := res.Evidence
	if e.Events != 8 || e.Hunted != 7 || e.OutOfRange != 1 {
		t.Errorf("got %d events, %d hunted, %d out of range; want 8, 7, 1", e.Events, e.Hunted, e.OutOfRange)
	}
	if got, want := e.First.Format(time.RFC3339Nano), "2024-03-04T10:15:02.25Z"; got != want {
		t.Errorf("first event hunted: got %s, want %s", got, want)
	}
	if res.Filters.From != from {
		t.Errorf("filters: got %v, want From %v", res.Filters, from)
	}
}

func TestRulesErrors(t *testing.T) {
	if _, err := Run(t.Context(), []string{"testdata/evidence"}, Options{Rules: []string{"testdata/no-such-rules"}}); err == nil {
		t.Error("missing rule path: got no error, want one")
	}
	res, err := Run(t.Context(), []string{"testdata/evidence"}, Options{NoBuiltin: true, Rules: []string{"testdata/rules/linux.yml"}})
	if err != ErrNoRules || res == nil || res.Rules.Unsupported != 1 {
		t.Errorf("only a Linux rule: got %v, %+v; want ErrNoRules and a Result counting 1 unsupported", err, res)
	}
	if _, err := Run(t.Context(), []string{"testdata/evidence"}, Options{MinLevel: "severe"}); err == nil {
		t.Error("bad level: got no error, want one")
	}
	// The same rules twice: each used once.
	res = fixture(t, Options{Rules: []string{"testdata/rules"}})
	if res.Rules.Duplicates != 6 || res.Total != 5 {
		t.Errorf("rules given twice: got %d duplicates, %d detections; want 6, 5", res.Rules.Duplicates, res.Total)
	}
}

func TestAttackOf(t *testing.T) {
	tactics, techniques := attackOf([]string{"attack.t1003.001", "attack.Impact", "attack.defense_evasion", "attack.g0044", "attack.s0002", "car.2013-07-001", "attack.T1003.001", "attack.t1059"})
	if want := []string{"defense-evasion", "impact"}; !slices.Equal(tactics, want) {
		t.Errorf("tactics: got %v, want %v", tactics, want)
	}
	if want := []string{"T1003.001", "T1059"}; !slices.Equal(techniques, want) {
		t.Errorf("techniques: got %v, want %v", techniques, want)
	}
	// ATT&CK v19's halves of Defense Evasion are tactics, in its place in
	// the kill chain; technique IDs newer than spoor's ATT&CK are kept.
	tactics, techniques = attackOf([]string{"attack.credential-access", "attack.defense-impairment", "attack.stealth", "attack.execution", "attack.t1685.001", "attack.t1686"})
	if want := []string{"execution", "stealth", "defense-impairment", "credential-access"}; !slices.Equal(tactics, want) {
		t.Errorf("v19 tactics: got %v, want %v", tactics, want)
	}
	if want := []string{"T1685.001", "T1686"}; !slices.Equal(techniques, want) {
		t.Errorf("v19 techniques: got %v, want %v", techniques, want)
	}
}

// TestMarkUnknown: techniques the ATT&CK knowledge base does not know stay
// listed and are marked.
func TestMarkUnknown(t *testing.T) {
	kb, err := attack.Load()
	if err != nil {
		t.Fatal(err)
	}
	rule := &result.Rule{Techniques: []string{"T1003.001", "T1686", "T1685.001"}}
	r := &result.Result{
		Tactics:    []result.TacticCount{{Short: "stealth", Techniques: []string{"T1003.001", "T1685.001"}}},
		Detections: []result.Detection{{Rule: rule}},
	}
	markUnknown(r, kb)
	if want := []string{"T1685.001"}; !slices.Equal(r.Tactics[0].Unknown, want) || !slices.Equal(r.Tactics[0].Techniques, []string{"T1003.001", "T1685.001"}) {
		t.Errorf("got tactic techniques %v, unknown %v; want both kept, %v unknown", r.Tactics[0].Techniques, r.Tactics[0].Unknown, want)
	}
	if want := []string{"T1685.001", "T1686"}; !slices.Equal(r.UnknownTechniques, want) || r.ATTACKModified == "" {
		t.Errorf("got unknown techniques %v, release %q; want %v and a release", r.UnknownTechniques, r.ATTACKModified, want)
	}
}

// ---- Real evidence from ../shared ----

// sigmaRules returns the SigmaHQ rules folder of the shared data.
func sigmaRules(t *testing.T) string { return shared.Path(t, "datasets", "sigma", "rules") }

var (
	samplesOnce sync.Once
	samplesRes  *result.Result
	samplesErr  error
)

// samples hunts all of evtx-attack-samples with the SigmaHQ rules, once.
func samples(t *testing.T) (*result.Result, string) {
	t.Helper()
	dir := shared.Path(t, "datasets", "evtx-attack-samples")
	rules := sigmaRules(t)
	samplesOnce.Do(func() {
		samplesRes, samplesErr = Run(t.Context(), []string{dir}, Options{Rules: []string{rules}})
	})
	if samplesErr != nil {
		t.Fatal(samplesErr)
	}
	return samplesRes, dir
}

// TestAttackSamplesEveryTactic: the SigmaHQ rules find something in every
// top-level folder of evtx-attack-samples.
func TestAttackSamplesEveryTactic(t *testing.T) {
	res, dir := samples(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, d := range res.Detections {
		src := d.Source
		if c := d.Correlation; c != nil && len(c.Detections) > 0 {
			src = c.Detections[0].Source // a correlation has no file of its own
		}
		rel, err := filepath.Rel(dir, src)
		if err != nil {
			t.Fatal(err)
		}
		per[strings.Split(filepath.ToSlash(rel), "/")[0]]++
	}
	folders := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		folders++
		if per[e.Name()] == 0 {
			t.Errorf("%s: got no detection, want some", e.Name())
		}
		t.Logf("%-22s %5d detections", e.Name(), per[e.Name()])
	}
	if folders < 9 {
		t.Errorf("got %d tactic folders, want at least 9", folders)
	}
	if res.Rules.Loaded < 2000 || res.Evidence.Events < 8000 {
		t.Errorf("got %d rules loaded and %d events, want over 2000 and 8000", res.Rules.Loaded, res.Evidence.Events)
	}
}

// goldenSamples are the files of evtx-attack-samples whose detections are
// pinned in testdata/attack_samples.golden.
var goldenSamples = []string{
	"Credential Access/CA_DCSync_4662.evtx",
	"Credential Access/CA_sysmon_hashdump_cmd_meterpreter.evtx",
	"Lateral Movement/LM_wmiexec_impacket_sysmon_whoami.evtx",
	"Defense Evasion/DE_1102_security_log_cleared.evtx",
	"Defense Evasion/DE_Fake_ComputerAccount_4720.evtx",
	"Execution/exec_sysmon_1_11_lolbin_rundll32_openurl_FileProtocolHandler.evtx",
}

// TestAttackSamplesGolden pins the exact detections (record ID, rule ID and
// title) of a handful of files by the SigmaHQ rules of the shared snapshot
// (the built-in rules' detections are left out: they change with the rule
// set, and their own tests pin them).
func TestAttackSamplesGolden(t *testing.T) {
	res, dir := samples(t)
	set, err := ruleset.LoadFS(rules.FS)
	if err != nil {
		t.Fatal(err)
	}
	builtin := map[string]bool{}
	for _, r := range set.Rules {
		builtin[r.ID] = true
	}
	var b strings.Builder
	for _, name := range goldenSamples {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var lines []string
		for _, d := range res.Detections {
			if !builtin[d.Rule.ID] && filepath.ToSlash(d.Source) == filepath.ToSlash(filepath.Join(dir, name)) {
				lines = append(lines, fmt.Sprintf("%s\t%d\t%s\t%s\t%s", name, d.RecordID, d.Rule.ID, d.Rule.Level, d.Rule.Title))
			}
		}
		if len(lines) == 0 {
			t.Errorf("%s: got no detection, want some", name)
		}
		sort.Strings(lines)
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	golden(t, "attack_samples.golden", []byte(b.String()))
}

// TestSecurityDatasets hunts the JSON exports of OTRF Security-Datasets
// (zip archives of JSON lines): a few folders in -short mode, all of the
// Windows atomic datasets otherwise.
func TestSecurityDatasets(t *testing.T) {
	base := shared.Path(t, "datasets", "security-datasets", "datasets", "atomic", "windows")
	paths := []string{base}
	if testing.Short() {
		paths = []string{filepath.Join(base, "execution"), filepath.Join(base, "discovery"), filepath.Join(base, "privilege_escalation")}
	}
	res, err := Run(t.Context(), paths, Options{Rules: []string{sigmaRules(t)}})
	if err != nil {
		t.Fatal(err)
	}
	e := res.Evidence
	t.Logf("%d files, %d logs, %d events, %d detections", e.Files, e.Logs, e.Events, res.Total)
	if e.JSON == 0 || e.Archives == 0 || e.Events < 10000 {
		t.Errorf("got %d JSON logs in %d archives, %d events; want JSON in archives, over 10,000 events", e.JSON, e.Archives, e.Events)
	}
	if len(e.Failed) > 0 {
		t.Errorf("got %d files failed, first %+v; want none", len(e.Failed), e.Failed[0])
	}
	if res.Total < 50 || res.Levels.High == 0 {
		t.Errorf("got %d detections (%+v), want at least 50, some high", res.Total, res.Levels)
	}
	for _, d := range res.Detections {
		if d.Computer == "" || d.Time.IsZero() || len(d.Fields) == 0 {
			t.Fatalf("got a detection without computer, time or fields: %+v", d)
		}
	}
}

// TestCuckooBees hunts examples/cuckoobees with the built-in rules only:
// every rule the example's README names fires.
func TestCuckooBees(t *testing.T) {
	readme, err := os.ReadFile("../../examples/cuckoobees/README.md")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z0-9_]+_win_[a-z0-9_]+)`").FindAllStringSubmatch(string(readme), -1) {
		names[m[1]] = true
	}
	if len(names) < 20 {
		t.Fatalf("got %d rule names in the README, want at least 20", len(names))
	}
	// Rule file name → rule ID.
	ids := map[string]string{}
	err = fs.WalkDir(rules.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || rules.IsTest(p) {
			return err
		}
		data, err := rules.FS.ReadFile(p)
		if err != nil {
			return err
		}
		for _, r := range sigma.Parse(data, p).Rules {
			ids[strings.TrimSuffix(path.Base(p), ".yml")] = r.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	res, err := Run(t.Context(), []string{"../../examples/cuckoobees"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fired := map[string]int{}
	for _, rc := range res.RuleCounts {
		fired[rc.ID] = rc.Count
	}
	for name := range names {
		id, ok := ids[name]
		if !ok {
			t.Errorf("%s: named in the README but not a built-in rule", name)
			continue
		}
		if fired[id] == 0 {
			t.Errorf("%s: did not fire, want it to", name)
		}
	}
	if len(res.Hosts) != 3 {
		t.Errorf("got %d hosts with detections, want 3", len(res.Hosts))
	}
	if res.Rules.Skipped != 0 || res.Rules.Unsupported != 0 {
		t.Errorf("built-in rules: got %d skipped, %d unsupported, want none", res.Rules.Skipped, res.Rules.Unsupported)
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// sigmaHQ returns the embedded SigmaHQ package, the test skipped with
// -short (every SigmaHQ rule is loaded).
func sigmaHQ(t *testing.T) *rulepkg.Package {
	t.Helper()
	if testing.Short() {
		t.Skip("loads every SigmaHQ rule")
	}
	pkg, err := rulepkg.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}

// TestSigmaHQPackage: the package's rules are loaded beside the built-in
// ones, its noisy rules left out unless Options.Noisy, and a rule given
// with Options.Rules replaces the package's rule of its id.
func TestSigmaHQPackage(t *testing.T) {
	pkg := sigmaHQ(t)
	run := func(opts Options) *result.Result {
		t.Helper()
		res, err := Run(t.Context(), []string{"testdata/evidence"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	base := run(Options{SigmaHQ: pkg, NoAttribution: true, NoOperations: true})
	if want := []string{"builtin", pkg.Name()}; !slices.Equal(base.Rules.Sources, want) || base.Rules.SigmaHQ != pkg.Name() {
		t.Errorf("got sources %q, SigmaHQ %q; want %q", base.Rules.Sources, base.Rules.SigmaHQ, want)
	}
	if base.Rules.Noisy < 10 || base.Rules.Loaded < 2000 {
		t.Errorf("got %d noisy left out, %d loaded; want the noise list's rules out, over 2,000 loaded", base.Rules.Noisy, base.Rules.Loaded)
	}
	noisy := run(Options{SigmaHQ: pkg, Noisy: true, NoAttribution: true, NoOperations: true})
	if noisy.Rules.Noisy != 0 || noisy.Rules.Loaded != base.Rules.Loaded+base.Rules.Noisy {
		t.Errorf("Noisy: got %d noisy, %d loaded; want 0 and %d", noisy.Rules.Noisy, noisy.Rules.Loaded, base.Rules.Loaded+base.Rules.Noisy)
	}
	// A noisy rule given with Rules replaces the package's and is used.
	var id, name string
	for line := range strings.Lines(sigmahq.Noisy) {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			id = f[0]
			break
		}
	}
	files, _ := pkg.Files()
	for _, f := range files {
		data, _ := fs.ReadFile(pkg.FS, f)
		if strings.Contains(string(data), "id: "+id) {
			name = f
			break
		}
	}
	if name == "" {
		t.Fatalf("noisy rule %s not in the package", id)
	}
	data, _ := fs.ReadFile(pkg.FS, name)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	got := run(Options{SigmaHQ: pkg, Rules: []string{dir}, NoAttribution: true, NoOperations: true})
	if got.Rules.Replaced != 1 || got.Rules.Noisy != base.Rules.Noisy-1 || got.Rules.Loaded != base.Rules.Loaded+1 {
		t.Errorf("noisy rule given: got %d replaced, %d noisy, %d loaded; want 1, %d, %d",
			got.Rules.Replaced, got.Rules.Noisy, got.Rules.Loaded, base.Rules.Noisy-1, base.Rules.Loaded+1)
	}
}

// TestPhases checks that a Run tells OnPhase its phases in order, and ends
// with PhaseDone when no rule is left.
func TestPhases(t *testing.T) {
	var got []Phase
	fixture(t, Options{OnPhase: func(p Phase) { got = append(got, p) }})
	if want := []Phase{PhaseRules, PhaseEvidence, PhaseDone}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	got = nil
	_, err := Run(t.Context(), []string{"testdata/evidence"}, Options{NoBuiltin: true, Rules: []string{"testdata/rules/linux.yml"}, OnPhase: func(p Phase) { got = append(got, p) }})
	if want := []Phase{PhaseRules, PhaseEvidence, PhaseDone}; !errors.Is(err, ErrNoRules) || !slices.Equal(got, want) {
		t.Errorf("no rules: got %v, %v, want %v, ErrNoRules", got, err, want)
	}
}
