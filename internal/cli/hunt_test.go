package cli

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/rulepkg"
)

// The fixture of the hunt package: evidence with 5 detections by its own
// rules (critical 2, high 1, medium 1, low 1).
const (
	huntEvidence = "../hunt/testdata/evidence"
	huntRules    = "../hunt/testdata/rules"
)

func TestHuntExitCodes(t *testing.T) {
	dir := t.TempDir()
	txt := writeFile(t, filepath.Join(dir, "notes.txt"), "not a log\n")
	badHeader := writeFile(t, filepath.Join(dir, "h.evtx"), "ElfFile\x00"+strings.Repeat("\x00", 4096))
	base := []string{"hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules}
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr []string
	}{
		{"help", []string{"hunt", "--help"}, ExitOK, nil},
		{"detections", append(base, "-q", huntEvidence), ExitOK, nil},
		{"fail-on met", append(base, "-q", "--fail-on", "high", huntEvidence), ExitDetections, []string{"3 detections of level high or more severe"}},
		{"fail-on met, any case", append(base, "-q", "--fail-on", "Critical", huntEvidence), ExitDetections, []string{"2 detections"}},
		{"fail-on not met", append(base, "-q", "--fail-on", "critical", "--exclude-rule", "Registry Hive Saved", huntEvidence), ExitOK, nil},
		{"fail-on nothing found", append(base, "-q", "--fail-on", "low", "--from", "2030-01-01", huntEvidence), ExitOK, nil},
		{"no path", []string{"hunt"}, ExitUsage, []string{"at least one PATH"}},
		{"bad level", append(base, "--min-level", "severe", huntEvidence), ExitUsage, []string{"--min-level", "unknown level"}},
		{"bad fail-on", append(base, "--fail-on", "bad", huntEvidence), ExitUsage, []string{"--fail-on"}},
		{"bad from", append(base, "--from", "yesterday", huntEvidence), ExitUsage, []string{"--from", "RFC 3339"}},
		{"to before from", append(base, "--from", "2024-03-05", "--to", "2024-03-04", huntEvidence), ExitUsage, []string{"before"}},
		{"bad timeline", append(base, "--timeline", filepath.Join(dir, "t.xlsx"), huntEvidence), ExitUsage, []string{"--timeline", ".csv"}},
		{"bad workers", append(base, "--workers", "0", huntEvidence), ExitUsage, []string{"--workers"}},
		{"bad status", append(base, "--status", "stable,bogus", huntEvidence), ExitUsage, []string{"--status", "bogus", "experimental"}},
		{"empty tag", append(base, "--tag", "", huntEvidence), ExitUsage, []string{"--tag: empty tag"}},
		{"empty tag in a list", append(base, "--tag", "attack.t1003,", huntEvidence), ExitUsage, []string{"--tag: empty tag"}},
		{"status any case", append(base, "-q", "--status", "Test,EXPERIMENTAL,stable", huntEvidence), ExitOK, nil},
		{"bad limit", append(base, "--limit", "-1", huntEvidence), ExitUsage, []string{"--limit"}},
		{"no rules at all", []string{"hunt", "--no-builtin", "--no-sigmahq", huntEvidence}, ExitUsage, []string{"--no-builtin and --no-sigmahq leave no rules"}},
		{"sigmahq both ways", append(base, "--sigmahq", huntEvidence), ExitUsage, []string{"contradict"}},
		{"unknown flag", []string{"hunt", "--bogus", huntEvidence}, ExitUsage, []string{"unknown flag"}},
		{"nothing readable", append(base, txt), ExitFailure, []string{"no event logs found"}},
		{"missing path, quiet", append(base, "-q", filepath.Join(dir, "gone")), ExitFailure, []string{"could not read " + filepath.Join(dir, "gone") + ": ", "no such file", "nothing could be read"}},
		{"only a damaged log", append(base, badHeader), ExitFailure, []string{"no events could be read"}},
		{"missing rules", []string{"hunt", "--rules", filepath.Join(dir, "nope"), huntEvidence}, ExitFailure, []string{"nope"}},
		{"rules all unsupported", []string{"hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules + "/linux.yml", huntEvidence}, ExitFailure, []string{"no rules to hunt with"}},
		{"unwritable timeline", append(base, "--timeline", filepath.Join(dir, "no", "dir", "t.csv"), huntEvidence), ExitFailure, []string{"write timeline"}},
		{"unwritable operations", append(base, "--operations", filepath.Join(dir, "no", "dir", "ops.json"), huntEvidence), ExitFailure, []string{"write operations"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, t.Context(), tt.args...)
			if code != tt.want {
				t.Errorf("exit code: got %d, want %d (stderr %q)", code, tt.want, stderr)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr: got %q, want it to contain %q", stderr, w)
				}
			}
		})
	}
}

// TestHuntSigmaHQDefault: a hunt with no rule flags uses the built-in
// rules and the embedded SigmaHQ package (none installed), says so, and
// --no-sigmahq leaves the package out.
func TestHuntSigmaHQDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("hunts with every SigmaHQ rule, more than once")
	}
	t.Setenv("SPOOR_CACHE_DIR", t.TempDir())
	code, stdout, stderr := run(t, t.Context(), "hunt", "--json", huntEvidence)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var res result.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Rules.Sources) != 2 || res.Rules.Sources[0] != "builtin" || !strings.HasPrefix(res.Rules.Sources[1], "embedded SigmaHQ ") ||
		res.Rules.Loaded < 2000 || res.Rules.Noisy == 0 {
		t.Errorf("got sources %q, %d rules loaded, %d noisy; want builtin and the embedded SigmaHQ package, over 2,000 rules, the noisy left out",
			res.Rules.Sources, res.Rules.Loaded, res.Rules.Noisy)
	}
	code, stdout, stderr = run(t, t.Context(), "hunt", "--json", "--no-sigmahq", huntEvidence)
	if code != ExitOK {
		t.Fatalf("--no-sigmahq: exit %d, stderr %q", code, stderr)
	}
	res = result.Result{}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Rules.Sources) != 1 || res.Rules.Sources[0] != "builtin" || res.Rules.Loaded > 1000 {
		t.Errorf("--no-sigmahq: got sources %q and %d rules, want the built-in ones alone", res.Rules.Sources, res.Rules.Loaded)
	}
	// --sigmahq, once needed, still parses (deprecated).
	if code, _, stderr := run(t, t.Context(), "hunt", "-q", "--sigmahq", "--no-builtin", huntEvidence); code != ExitOK {
		t.Errorf("--sigmahq: exit %d, stderr %q", code, stderr)
	}
}

// TestHuntRulesReplaceSigmaHQ: a SigmaHQ rule given with --rules replaces
// the package's rule with its id, with a note, and is counted once.
func TestHuntRulesReplaceSigmaHQ(t *testing.T) {
	if testing.Short() {
		t.Skip("hunts with every SigmaHQ rule, more than once")
	}
	t.Setenv("SPOOR_CACHE_DIR", t.TempDir())
	pkg, err := rulepkg.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	const name = "rules/windows/process_creation/proc_creation_win_reg_dumping_sensitive_hives.yml"
	data, err := fs.ReadFile(pkg.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yml"), string(data))
	writeFile(t, filepath.Join(dir, "b.yml"), string(data)) // given twice
	count := func(args ...string) (result.Result, string) {
		t.Helper()
		code, stdout, stderr := run(t, t.Context(), append([]string{"hunt", "--json"}, args...)...)
		if code != ExitOK {
			t.Fatalf("%q: exit %d, stderr %q", args, code, stderr)
		}
		var res result.Result
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		return res, stderr
	}
	base, _ := count(huntEvidence)
	got, stderr := count("--rules", dir, huntEvidence)
	if got.Rules.Replaced != 1 || got.Rules.Duplicates != 1 || got.Rules.Loaded != base.Rules.Loaded {
		t.Errorf("got %d replaced, %d duplicates, %d loaded; want 1, 1 and %d as without --rules",
			got.Rules.Replaced, got.Rules.Duplicates, got.Rules.Loaded, base.Rules.Loaded)
	}
	if got.Total != base.Total {
		t.Errorf("got %d detections, want %d as without --rules (none counted twice)", got.Total, base.Total)
	}
	if !strings.Contains(stderr, "1 rule given with --rules replaced") {
		t.Errorf("got stderr %q, want a note of the replaced rule", stderr)
	}
	fired := false
	for _, d := range got.Detections {
		if strings.Contains(d.Rule.Title, "Dumping of Sensitive Hives") {
			fired = true
		}
	}
	if !fired {
		t.Error("the replacing rule did not fire")
	}
}

func TestHuntOutputs(t *testing.T) {
	dir := t.TempDir()
	csvPath, jsonlPath := filepath.Join(dir, "t.csv"), filepath.Join(dir, "t.jsonl")
	code, stdout, stderr := run(t, t.Context(), "hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules,
		"--timeline", csvPath, "--json", huntEvidence)
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr: got %q, want nothing when not a terminal", stderr)
	}
	var res result.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("--json: %v", err)
	}
	if res.Total != 5 || res.Version != "v9.8.7" {
		t.Errorf("--json: got %d detections, version %q; want 5, v9.8.7", res.Total, res.Version)
	}
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(data), "\n"); got != 6 {
		t.Errorf("CSV timeline: got %d lines, want a header and 5 rows", got)
	}

	// The terminal report, --limit, and a JSON-lines timeline.
	code, stdout, stderr = run(t, t.Context(), "hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules, "--limit", "2",
		"--timeline", jsonlPath, huntEvidence)
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	for _, want := range []string{"Detections: 5", "Top rules", "Hosts with most detections", "ATT&CK tactics seen", "(2 of 5; --limit 0 lists all)", "4 loaded", "1 skipped (run spoor rules lint for details)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("terminal report: got %q, want it to contain %q", stdout, want)
		}
	}
	if strings.Contains(stdout, "\x1b[") {
		t.Errorf("terminal report: got colour escapes when stdout is not a terminal")
	}
	data, err = os.ReadFile(jsonlPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(data), "\n"); got != 5 {
		t.Errorf("JSONL timeline: got %d lines, want 5", got)
	}

	// --quiet: nothing on stdout.
	code, stdout, _ = run(t, t.Context(), "hunt", "-q", "--no-builtin", "--no-sigmahq", "--rules", huntRules, huntEvidence)
	if code != ExitOK || stdout != "" {
		t.Errorf("--quiet: got %d, %q; want 0 and no output", code, stdout)
	}
}

func TestHuntFilterFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int // detections
	}{
		{"all", nil, 5},
		{"min-level", []string{"--min-level", "high"}, 3},
		{"status", []string{"--status", "stable,experimental"}, 3},
		{"status any case", []string{"--status", "Stable,EXPERIMENTAL"}, 3},
		{"tag", []string{"--tag", "attack.t1003"}, 2},
		{"exclude-rule", []string{"--exclude-rule", "00000000-0000-4000-8000-000000000002"}, 3},
		{"exclude-rule naming no rule", []string{"--exclude-rule", "No Such Rule"}, 5},
		{"from date", []string{"--from", "2024-03-05"}, 2},
		{"to date includes the whole day", []string{"--to", "2024-03-04"}, 3},
		{"from and to RFC 3339", []string{"--from", "2024-03-04T10:20:00Z", "--to", "2024-03-04T11:00:00+00:00"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules, "--json"}, tt.args...)
			code, stdout, stderr := run(t, t.Context(), append(args, huntEvidence)...)
			if code != ExitOK {
				t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
			}
			var res result.Result
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatal(err)
			}
			if res.Total != tt.want {
				t.Errorf("got %d detections, want %d", res.Total, tt.want)
			}
			warned := strings.Contains(stderr, `--exclude-rule "No Such Rule" names no rule loaded`)
			if want := slices.Contains(tt.args, "No Such Rule"); warned != want {
				t.Errorf("warning about an --exclude-rule naming no rule: got %v, want %v (stderr %q)", warned, want, stderr)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		end  bool
		want string
	}{
		{"", false, "0001-01-01T00:00:00Z"},
		{"2024-03-04", false, "2024-03-04T00:00:00Z"},
		{"2024-03-04", true, "2024-03-04T23:59:59.999999999Z"},
		{"2024-03-04T10:00:00+02:00", false, "2024-03-04T08:00:00Z"},
		{"2024-03-04T10:00:00", true, "2024-03-04T10:00:00Z"},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in, tt.end)
		if err != nil || got.Format(time.RFC3339Nano) != tt.want {
			t.Errorf("parseTime(%q, %v): got %v, %v; want %s", tt.in, tt.end, got, err, tt.want)
		}
	}
	if _, err := parseTime("03/04/2024", false); err == nil {
		t.Error("parseTime(03/04/2024): got no error, want one")
	}
}

// TestHuntCuckooBees is the README's first command: the built-in rules over
// the example evidence find the intrusion on its three hosts.
func TestHuntCuckooBees(t *testing.T) {
	args := []string{"hunt", "../../examples/cuckoobees"}
	if testing.Short() { // the race detector's run: the SigmaHQ rules make it minutes
		args = append(args, "--no-sigmahq")
	}
	code, stdout, stderr := run(t, t.Context(), args...)
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	for _, want := range []string{"ERP01.corp.local", "FS01.corp.local", "DC01.corp.local", "critical", "Credential Access"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("got no %q in the report", want)
		}
	}
}

func TestHuntHTML(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.html")
	code, _, stderr := run(t, t.Context(), "hunt", "-q", "--no-builtin", "--no-sigmahq", "--rules", huntRules, "--html", out, huntEvidence)
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<html", "Registry Hive Saved", "WEB01.example.org"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("HTML report: got no %q", want)
		}
	}
}

// TestHuntOutputCheckedFirst: an output that cannot be written fails the
// hunt before any log is read (here, before the cancelled context is seen).
func TestHuntOutputCheckedFirst(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	dir := t.TempDir()
	for _, tt := range []struct{ flag, path, want string }{
		{"--timeline", filepath.Join(dir, "no", "t.csv"), "write timeline: open "},
		{"--operations", filepath.Join(dir, "no", "ops.json"), "write operations: open "},
		{"--html", filepath.Join(dir, "no", "r.html"), "write HTML report: open "},
		{"--html", dir, "is a directory"},
	} {
		code, stdout, stderr := run(t, ctx, "hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules, tt.flag, tt.path, huntEvidence)
		if code != ExitFailure || stdout != "" || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s %s: got %d, stdout %q, stderr %q; want %d, no report, %q", tt.flag, tt.path, code, stdout, stderr, ExitFailure, tt.want)
		}
	}
}

func TestHuntInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	code, stdout, stderr := run(t, ctx, "hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules, huntEvidence)
	// How far it got depends on where the cancelled context is first seen.
	if code != ExitInterrupted || stdout != "" || !strings.HasPrefix(stderr, "spoor: interrupted: ") || !strings.HasSuffix(stderr, "; no output written\n") {
		t.Errorf("got %d, stdout %q, stderr %q; want %d, no report, interrupted", code, stdout, stderr, ExitInterrupted)
	}
}

// TestHuntOperationsFile: --operations FILE writes the operations of the
// CuckooBees example as JSON, each with its detections in full, its story,
// graph and the ATT&CK groups it resembles; the terminal report lists the
// operation first, with "resembles" wording.
func TestHuntOperationsFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ops.json")
	code, stdout, stderr := run(t, t.Context(), "hunt", "--no-progress", "--no-sigmahq", "--operations", out, "../../examples/cuckoobees")
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tool       string `json:"tool"`
		Operations []struct {
			ID          string              `json:"id"`
			Severity    string              `json:"severity"`
			Score       float64             `json:"score"`
			Hosts       []string            `json:"hosts"`
			Users       []string            `json:"users"`
			First       time.Time           `json:"first"`
			Last        time.Time           `json:"last"`
			Tactics     []string            `json:"tactics"`
			Narrative   []string            `json:"narrative"`
			Detections  []result.Detection  `json:"detections"`
			Graph       result.Graph        `json:"graph"`
			Attribution *result.Attribution `json:"attribution"`
		} `json:"operations"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("operations file: %v", err)
	}
	if doc.Tool != "spoor" || len(doc.Operations) != 1 {
		t.Fatalf("got tool %q and %d operations, want spoor and 1", doc.Tool, len(doc.Operations))
	}
	op := doc.Operations[0]
	if op.ID == "" || op.Severity != "critical" || op.Score <= 0 || len(op.Hosts) != 3 || len(op.Tactics) < 8 ||
		len(op.Narrative) == 0 || len(op.Detections) < 100 || len(op.Graph.Nodes) == 0 || len(op.Graph.Edges) == 0 {
		t.Errorf("operation: got id %q severity %s score %v hosts %v tactics %v, %d sentences, %d detections, graph %d/%d",
			op.ID, op.Severity, op.Score, op.Hosts, op.Tactics, len(op.Narrative), len(op.Detections), len(op.Graph.Nodes), len(op.Graph.Edges))
	}
	if op.Detections[0].Rule.Title == "" || op.Detections[0].Computer == "" {
		t.Errorf("first detection: got %+v, want it in full", op.Detections[0])
	}
	if at := op.Attribution; at == nil || len(at.Candidates) != 3 || at.Candidates[0].Confidence <= 0 || len(at.Candidates[0].Shared) == 0 {
		t.Errorf("attribution: got %+v, want 3 candidates, the first with confidence and shared evidence", at)
	}
	ops := strings.Index(stdout, "Operations: 1")
	dets := strings.Index(stdout, "Detections: ")
	if ops < 0 || dets < ops {
		t.Errorf("terminal: want the operations listed before the detections")
	}
	// Runners-up, or the closest groups when none of ATT&CK's is likelier.
	if !strings.Contains(stdout, "it resembles ") || !strings.Contains(stdout, "runner-up ") && !strings.Contains(stdout, "next closest ") || strings.Contains(stdout, " is APT") {
		t.Errorf("terminal: want 'it resembles' and the other candidates, never 'is'")
	}
}
