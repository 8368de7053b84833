package cli

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// listFixtures holds four documents: a (high, stable, process_creation,
// credential_access/t1003.001), b (medium, test, security, t1003), c in sub/
// (low, experimental, image_load, t1574.001) and a correlation d in sub/
// (high, test); a_lsass_dump.test.yml is a test file, not a rule.
var listFixtures = filepath.Join("testdata", "rules")

const (
	idA = "11111111-1111-4111-8111-111111111111"
	idB = "22222222-2222-4222-8222-222222222222"
	idC = "33333333-3333-4333-8333-333333333333"
	idD = "44444444-4444-4444-8444-444444444444"
)

func TestRulesListFilters(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"all", nil, []string{idA, idB, idC, idD}},
		{"level high", []string{"--level", "high"}, []string{idA, idD}},
		{"level medium", []string{"--level", "MEDIUM"}, []string{idA, idB, idD}},
		{"tag prefix", []string{"--tag", "attack.t1003"}, []string{idA, idB}},
		{"tag sub-technique", []string{"--tag", "attack.t1003.001"}, []string{idA}},
		{"tag underscore or dash", []string{"--tag", "attack.credential-access"}, []string{idA, idB}},
		{"tag without attack.", []string{"--tag", "t1574"}, []string{idC}},
		{"tags ORed", []string{"--tag", "attack.t1574", "--tag", "attack.t1003.001"}, []string{idA, idC}},
		{"tag with spaces, as a hunt reads it", []string{"--tag", " T1003 "}, []string{idA, idB}},
		{"logsource slash", []string{"--logsource", "windows/process_creation"}, []string{idA}},
		{"logsource service", []string{"--logsource", "windows/security"}, []string{idB}},
		{"logsource product only", []string{"--logsource", "windows"}, []string{idA, idB, idC}},
		{"logsource key", []string{"--logsource", "category=image_load"}, []string{idC}},
		{"logsource keys", []string{"--logsource", "product=windows,service=security"}, []string{idB}},
		{"logsource key mismatch", []string{"--logsource", "service=process_creation"}, nil},
		{"status", []string{"--status", "test"}, []string{idB, idD}},
		{"statuses ORed", []string{"--status", "stable", "--status", "experimental"}, []string{idA, idC}},
		{"filters ANDed", []string{"--level", "medium", "--tag", "attack.t1003", "--status", "test"}, []string{idB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"rules", "list", "--json"}, tt.args...), listFixtures)
			code, stdout, stderr := run(t, t.Context(), args...)
			if code != ExitOK {
				t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
			}
			var rows []ruleRow
			if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
				t.Fatalf("got error %v, want a JSON array: %s", err, stdout)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ids: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRulesListJSON(t *testing.T) {
	code, stdout, stderr := run(t, t.Context(), "rules", "list", "--json", "--tag", "attack.t1003.001", listFixtures)
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	want := `[
  {
    "id": "11111111-1111-4111-8111-111111111111",
    "title": "LSASS Dump With Procdump",
    "kind": "rule",
    "level": "high",
    "status": "stable",
    "logsource": {
      "product": "windows",
      "category": "process_creation"
    },
    "tags": [
      "attack.credential_access",
      "attack.t1003.001"
    ],
    "file": "` + filepath.Join(listFixtures, "a_lsass_dump.yml") + `",
    "line": 1
  }
]
`
	if stdout != want {
		t.Errorf("json:\ngot:\n%s\nwant:\n%s", stdout, want)
	}
	code, stdout, _ = run(t, t.Context(), "rules", "list", "--json", "--level", "critical", listFixtures)
	if code != ExitOK || stdout != "[]\n" {
		t.Errorf("nothing listed: got exit %d and %q, want 0 and %q", code, stdout, "[]\n")
	}
}

func TestRulesListTable(t *testing.T) {
	code, stdout, stderr := run(t, t.Context(), "rules", "list", "--level", "high", listFixtures)
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	want := `ID                                    LEVEL  STATUS  LOGSOURCE                 ATT&CK                       TITLE
11111111-1111-4111-8111-111111111111  high   stable  windows/process_creation  credential_access,t1003.001  LSASS Dump With Procdump
44444444-4444-4444-8444-444444444444  high   test    correlation:event_count   -                            Many Replication Requests
`
	if stdout != want {
		t.Errorf("table:\ngot:\n%s\nwant:\n%s", stdout, want)
	}
	if stderr != "" {
		t.Errorf("stderr: got %q, want nothing", stderr)
	}
}

func TestRulesListTableCut(t *testing.T) {
	var b strings.Builder
	rows := []*ruleRow{{ID: "x", Title: strings.Repeat("long title ", 10), Level: "low", Status: "test"}}
	if err := writeRuleTable(&b, rows, 60); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), b.String())
	}
	if n := len([]rune(lines[1])); n > 60 {
		t.Errorf("line width: got %d, want at most 60: %q", n, lines[1])
	}
	if !strings.HasSuffix(lines[1], "…") {
		t.Errorf("cut title: got %q, want it to end with …", lines[1])
	}
}

func TestRulesListBuiltin(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every SigmaHQ rule")
	}
	t.Setenv("SPOOR_CACHE_DIR", t.TempDir())
	code, stdout, stderr := run(t, t.Context(), "rules", "list", "--json")
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	var rows []ruleRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("built-in rules: got none, want some")
	}
	sources := map[string]int{}
	noisy := 0
	for _, r := range rows {
		sources[r.Source]++
		if r.Noisy {
			noisy++
		}
		if r.ID == "" || r.Title == "" || strings.HasSuffix(r.File, ".test.yml") {
			t.Errorf("rule %+v: want an id, a title and a rule file", r)
		}
	}
	if sources["builtin"] == 0 || sources["sigmahq"] < 2000 || noisy == 0 {
		t.Errorf("got %v rules by source, %d noisy; want built-in ones, over 2,000 SigmaHQ ones, some noisy", sources, noisy)
	}
	for _, w := range []string{"SigmaHQ rules: embedded SigmaHQ 20", "Detection Rule License (DRL) 1.1"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("got stderr %q, want it to name %q", stderr, w)
		}
	}
	code, stdout, _ = run(t, t.Context(), "rules", "list", "--json", "--no-sigmahq")
	rows = nil
	if err := json.Unmarshal([]byte(stdout), &rows); code != ExitOK || err != nil || len(rows) != sources["builtin"] {
		t.Errorf("--no-sigmahq: got exit %d, %d rows (%v), want the %d built-in ones", code, len(rows), err, sources["builtin"])
	}
}

func TestRulesListUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--level", "severe"}, `--level "severe": want one of informational, low, medium, high, critical`},
		{[]string{"--status", "beta"}, `--status "beta"`},
		{[]string{"--logsource", "os=windows"}, `want product=, category= or service=`},
		{[]string{"--logsource", "windows//x"}, `empty part`},
		{[]string{"--tag", ""}, `empty tag`},
		{[]string{"--tag", " "}, `empty tag`},
	}
	for _, tt := range tests {
		code, _, stderr := run(t, t.Context(), append(append([]string{"rules", "list"}, tt.args...), listFixtures)...)
		if code != ExitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: got exit %d and %q, want %d and %q", tt.args, code, stderr, ExitUsage, tt.want)
		}
	}
	code, _, stderr := run(t, t.Context(), "rules", "list", filepath.Join(t.TempDir(), "missing"))
	if code != ExitFailure || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing path: got exit %d and %q, want %d and no such file", code, stderr, ExitFailure)
	}
}

func TestRulesListLoadFailures(t *testing.T) {
	code, stdout, stderr := run(t, t.Context(), "rules", "list", "--json", filepath.Join("testdata", "lint"))
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	var rows []ruleRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Errorf("rules listed: got %d, want 3 (good, placeholder, unroutable)", len(rows))
	}
	if want := "spoor: 3 rule documents could not be loaded (see spoor rules lint)\n"; stderr != want {
		t.Errorf("stderr: got %q, want %q", stderr, want)
	}
}
