package ruletest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/ruleset"
)

// summary renders a result for comparison: status, file, line, name and
// reason.
func summary(r Result) string {
	return fmt.Sprintf("%s %s:%d %q %s", r.Status, filepath.ToSlash(r.File), r.Line, r.Name, r.Reason)
}

func TestRunCases(t *testing.T) {
	set, err := ruleset.Load([]string{filepath.Join("testdata", "cases")})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(t.Context(), set, Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	const (
		whoami = "1c1b0a7e-5d4f-4c1a-9a53-5a7e0f3d2b11"
		logon  = "2d2c1b8f-6e5a-4d2b-8b64-6b8f1a4e3c22"
		dir    = "testdata/cases/"
	)
	want := []string{
		`FAIL ` + dir + `broken.test.yml:0 "" line 6: unknown key "detection"`,
		`FAIL ` + dir + `late_logon.test.yml:3 "expects a rule that does not fire" got [], want [` + whoami + `]: did not fire: ` + whoami + ` (Whoami Run by a Web Server)`,
		`FAIL ` + dir + `late_logon.test.yml:10 "expects nothing but a rule fires" got [` + logon + `], want []: fired unexpectedly: ` + logon + ` (Network Logon With a Numeric Field)`,
		`FAIL ` + dir + `late_logon.test.yml:17 "wrong channel for the pipeline" got [], want [` + logon + `]: did not fire: ` + logon + ` (Network Logon With a Numeric Field)`,
		`FAIL ` + dir + `late_logon.test.yml:24 "expects a rule not under test" expects 99999999-9999-4999-8999-999999999999, not among the rules under test (late_logon.yml, whoami.yml)`,
		`pass ` + dir + `late_logon.test.yml:29 "passes among failures" `,
		`FAIL ` + dir + `nowhere.test.yml:0 "" rule file: open ` + filepath.Join("testdata", "cases", "nowhere.yml") + `: no such file or directory`,
		`FAIL ` + dir + `orphan.test.yml:0 "" rules: orphan.yml, the rule of this test file, is not listed`,
		`pass ` + dir + `whoami.test.yml:5 "whoami under IIS (Sysmon)" `,
		`pass ` + dir + `whoami.test.yml:13 "whoami under IIS (Security 4688)" `,
		`pass ` + dir + `whoami.test.yml:20 "network logon" `,
		`pass ` + dir + `whoami.test.yml:27 "LogonType as a string still matches a number" `,
		`pass ` + dir + `whoami.test.yml:34 "whoami from a shell" `,
	}
	var got []string
	for _, r := range rep.Results {
		got = append(got, summary(r))
	}
	if !slices.Equal(got, want) {
		t.Errorf("results:\ngot:\n%q\nwant:\n%q", got, want)
	}
	if p, f, s := rep.Count(Passed), rep.Count(Failed), rep.Count(Skipped); p != 6 || f != 7 || s != 0 {
		t.Errorf("counts: got %d passed, %d failed, %d skipped, want 6, 7, 0", p, f, s)
	}
	r := rep.Results[2]
	if !slices.Equal(r.Got, []string{logon}) || len(r.Want) != 0 || r.Want == nil {
		t.Errorf("got/want ids: got %q and %q, want [%s] and []", r.Got, r.Want, logon)
	}
}

func TestRunRegression(t *testing.T) {
	set, err := ruleset.Load([]string{filepath.Join("testdata", "sigma")})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(t.Context(), set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(filepath.Join("testdata", "sigma"))
	if err != nil {
		t.Fatal(err)
	}
	const rules = "testdata/sigma/rules/windows/"
	type res struct {
		st         Status
		file, name string
		want, got  int
		events     int64
		reason     string
	}
	want := []res{
		{Skipped, rules + "proc_creation_win_no_data.yml", "", 0, 0, 0,
			"regression info not found: " + filepath.Join(abs, "regression_data", "rules", "windows", "missing", "info.yml")},
		{Passed, rules + "proc_creation_win_whoami.yml", "Positive Detection Test", 2, 2, 3, ""},
		{Passed, rules + "proc_creation_win_whoami.yml", "Without match_count", 1, 2, 3, ""},
		{Failed, rules + "proc_creation_win_whoami_all.yml", "Positive Detection Test", 3, 2, 3, "expected ≥3 matches, got 2 (of 3 events)"},
		{Skipped, rules + "proc_creation_win_whoami_all.yml", "Data Missing", 1, 0, 0,
			"regression data not found: " + filepath.Join(abs, "regression_data", "rules", "windows", "whoami_all", "gone.evtx")},
	}
	var got []res
	for _, r := range rep.Results {
		if r.Kind != RegressionTest {
			t.Errorf("kind: got %v, want regression", r.Kind)
		}
		got = append(got, res{r.Status, filepath.ToSlash(r.File), r.Name, r.WantMatches, r.Matches, r.Events, r.Reason})
	}
	if !slices.Equal(got, want) {
		t.Errorf("results:\ngot:\n%+v\nwant:\n%+v", got, want)
	}
}

func TestRunRegressionUnloadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "regression_data"), 0o755); err != nil {
		t.Fatal(err)
	}
	rule := filepath.Join(dir, "bad.yml")
	data := "title: Bad\nid: x\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel:\n        Image|nope: x\n    condition: sel\nregression_tests_path: regression_data/x/info.yml\n"
	if err := os.WriteFile(rule, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := ruleset.Load([]string{rule})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(t.Context(), set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Status != Failed {
		t.Fatalf("results: got %+v, want one failure", rep.Results)
	}
	if got, want := rep.Results[0].Reason, "rule does not load: "+rule+`:6:9: detection.sel.Image|nope: unknown modifier "nope"`; got != want {
		t.Errorf("reason: got %q, want %q", got, want)
	}
}

func TestRunFS(t *testing.T) {
	fsys := fstest.MapFS{
		"w/r.yml": {Data: []byte("title: R\nid: r1\nlogsource: {product: windows, category: process_creation}\n" +
			"detection:\n    sel:\n        Image|endswith: '\\x.exe'\n    condition: sel\n")},
		"w/r.test.yml": {Data: []byte("rules: [r.yml]\ncases:\n  - name: hit\n    event: {Channel: Security, EventID: 4688, NewProcessName: 'C:\\x.exe'}\n    detections: [r1]\n")},
	}
	set, err := ruleset.LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(t.Context(), set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Status != Passed {
		t.Errorf("results: got %+v, want one pass", rep.Results)
	}
}

func TestRunCancelled(t *testing.T) {
	set, err := ruleset.Load([]string{filepath.Join("testdata", "cases")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Run(ctx, set, Options{}); err != context.Canceled {
		t.Errorf("got error %v, want %v", err, context.Canceled)
	}
}

func TestParseTestFileValues(t *testing.T) {
	data := []byte(`rules: [r.yml]
cases:
  - name: typed
    event:
      EventID: 4624
      Negative: -5
      Big: 18446744073709551615
      Ratio: 0.5
      Elevated: true
      Empty: null
      Quoted: '42'
      TimeCreated: 2026-11-25T10:00:00.5Z
      Stamp: 2026-11-25 10:00:00
      Hashes: [a, 1]
    detections: []
`)
	tf, err := ParseTestFile(data, "t.test.yml")
	if err != nil {
		t.Fatal(err)
	}
	ev := tf.Cases[0].Event
	tm := time.Date(2026, 11, 25, 10, 0, 0, 5e8, time.UTC)
	want := []event.Field{
		{Name: "EventID", Value: event.UintValue(4624)},
		{Name: "Negative", Value: event.IntValue(-5)},
		{Name: "Big", Value: event.UintValue(18446744073709551615)},
		{Name: "Ratio", Value: event.FloatValue(0.5)},
		{Name: "Elevated", Value: event.BoolValue(true)},
		{Name: "Empty", Value: event.Value{}},
		{Name: "Quoted", Value: event.StringValue("42")},
		{Name: "TimeCreated", Value: event.TimeValue(tm)},
		{Name: "Stamp", Value: event.TimeValue(tm.Add(-5e8))},
		{Name: "Hashes", Value: event.ListValue([]event.Value{event.StringValue("a"), event.UintValue(1)})},
	}
	if len(ev.Fields) != len(want) {
		t.Fatalf("fields: got %d, want %d", len(ev.Fields), len(want))
	}
	for i, f := range ev.Fields {
		if f.Name != want[i].Name || f.Value.Kind() != want[i].Value.Kind() || !f.Value.Equal(want[i].Value) {
			t.Errorf("field %d: got %s=%v (%v), want %s=%v (%v)", i, f.Name, f.Value, f.Value.Kind(), want[i].Name, want[i].Value, want[i].Value.Kind())
		}
	}
	if ev.Source != "t.test.yml" || ev.Locator != 1 || tf.Cases[0].Line != 3 {
		t.Errorf("source, locator, line: got %q, %d, %d, want t.test.yml, 1, 3", ev.Source, ev.Locator, tf.Cases[0].Line)
	}
}

func TestParseTestFileErrors(t *testing.T) {
	tests := []struct{ data, want string }{
		{"", "empty test file"},
		{"cases: []\n", "no rules under test (rules: [file.yml])"},
		{"rules: [r.yml]\n", "no cases"},
		{"rules: [r.yml]\nextra: 1\n", `line 2: unknown key "extra"`},
		{"rules: [r.yml]\ncases:\n  - event: {EventID: 1}\n    detections: []\n", "line 3: case 1: no name"},
		{"rules: [r.yml]\ncases:\n  - name: a\n    detections: []\n", `line 3: case "a": no event`},
		{"rules: [r.yml]\ncases:\n  - name: a\n    event: {EventID: 1}\n", `line 3: case "a": no detections (write [] when no rule may fire)`},
		{"rules: [r.yml]\ncases:\n  - name: a\n    event: [1]\n    detections: []\n", `line 3: case "a": line 4: event must be a mapping of field names to values`},
		{"rules: [r.yml]\ncases:\n  - name: a\n    event: {X: {y: 1}}\n    detections: []\n", `line 3: case "a": line 4: field X: want a scalar or a list of scalars`},
		{"rules: [r.yml]\ncases:\n  - name: a\n    event: {X: [[1]]}\n    detections: []\n", `line 3: case "a": line 4: field X: lists cannot nest`},
		{"rules: [r.yml]\ncases:\n  - name: a\n    event: {TimeCreated: yesterday}\n    detections: []\n", `line 3: case "a": line 4: field TimeCreated: time "yesterday": want RFC 3339, such as 2026-11-25T10:00:00Z`},
	}
	for _, tt := range tests {
		_, err := ParseTestFile([]byte(tt.data), "t.test.yml")
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: got error %v, want %q", tt.data, err, tt.want)
		}
	}
}
