package cli

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestRulesLint(t *testing.T) {
	dir := filepath.Join("testdata", "lint")
	f := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantStderr string
	}{
		{"good", []string{f("good.yml")}, ExitOK, "",
			"spoor: 1 file, 1 rule: 0 errors, 0 warnings\n"},
		{"unknown modifier", []string{f("unknown_modifier.yml")}, ExitFailure,
			f("unknown_modifier.yml") + `:11:9: error: detection.selection.CommandLine|contians: unknown modifier "contians"` + "\n",
			"spoor: 1 file, 0 rules (1 not loaded): 1 error, 0 warnings\n"},
		{"bad regex", []string{f("bad_regex.yml")}, ExitFailure,
			f("bad_regex.yml") + ":10:25: error: detection.selection.CommandLine|re: invalid regular expression: error parsing regexp: missing closing ): `powershell.*(-enc`\n",
			"spoor: 1 file, 0 rules (1 not loaded): 1 error, 0 warnings\n"},
		{"missing selection", []string{f("missing_selection.yml")}, ExitFailure,
			f("missing_selection.yml") + `:13:34: error: detection.condition: column 19: condition names search "filter_main", which the detection does not define` + "\n",
			"spoor: 1 file, 0 rules (1 not loaded): 1 error, 0 warnings\n"},
		{"placeholder", []string{f("placeholder.yml")}, ExitFailure,
			f("placeholder.yml") + ":11:9: error: detection.selection.User|expand: placeholder without a configured value: %Admins%\n",
			"spoor: 1 file, 1 rule: 1 error, 0 warnings\n"},
		{"unroutable", []string{f("unroutable.yml")}, ExitOK,
			f("unroutable.yml") + ":5:1: warning: logsource: no route for this logsource: the rule never runs (unknown logsource: product: linux, category: process_creation)\n",
			"spoor: 1 file, 1 rule: 0 errors, 1 warning\n"},
		{"unroutable strict", []string{"--strict", f("unroutable.yml")}, ExitFailure,
			f("unroutable.yml") + ":5:1: warning: logsource: no route for this logsource: the rule never runs (unknown logsource: product: linux, category: process_creation)\n",
			"spoor: 1 file, 1 rule: 0 errors, 1 warning\n"},
		{"quiet drops warnings", []string{"-q", f("unroutable.yml"), f("good.yml")}, ExitOK, "", ""},
		{"folder", []string{dir}, ExitFailure,
			f("bad_regex.yml") + ":10:25: error: detection.selection.CommandLine|re: invalid regular expression: error parsing regexp: missing closing ): `powershell.*(-enc`\n" +
				f("missing_selection.yml") + `:13:34: error: detection.condition: column 19: condition names search "filter_main", which the detection does not define` + "\n" +
				f("placeholder.yml") + ":11:9: error: detection.selection.User|expand: placeholder without a configured value: %Admins%\n" +
				f("unknown_modifier.yml") + `:11:9: error: detection.selection.CommandLine|contians: unknown modifier "contians"` + "\n" +
				f("unroutable.yml") + ":5:1: warning: logsource: no route for this logsource: the rule never runs (unknown logsource: product: linux, category: process_creation)\n",
			"spoor: 6 files, 3 rules (3 not loaded): 4 errors, 1 warning\n"},
		{"correlation cycles", []string{"--strict", filepath.Join("testdata", "lint-cycle")}, ExitFailure,
			filepath.Join("testdata", "lint-cycle", "cycle.yml") + ":21:5: error: correlation.rules: correlations reference each other in a cycle: self -> self\n" +
				filepath.Join("testdata", "lint-cycle", "cycle.yml") + ":36:5: error: correlation.rules: correlations reference each other in a cycle: loop_a -> loop_b -> loop_a\n" +
				filepath.Join("testdata", "lint-cycle", "cycle.yml") + ":51:5: error: correlation.rules: it references correlation loop_a, which cannot run\n",
			"spoor: 1 file, 1 rule, 3 correlations: 3 errors, 0 warnings\n"},
		{"list fixtures with a test file and a correlation", []string{listFixtures}, ExitOK, "",
			"spoor: 4 files, 3 rules, 1 correlation: 0 errors, 0 warnings\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, t.Context(), append([]string{"rules", "lint"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit code: got %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if stdout != tt.wantOut {
				t.Errorf("stdout:\ngot:\n%s\nwant:\n%s", stdout, tt.wantOut)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr: got %q, want %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestRulesLintBuiltin(t *testing.T) {
	code, stdout, stderr := run(t, t.Context(), "rules", "lint", "--strict")
	if code != ExitOK {
		t.Errorf("built-in rules: got exit %d, want 0:\n%s%s", code, stdout, stderr)
	}
	// An exit 0 proves nothing if no rule was linted (the embedded set
	// lost, or the walk finding nothing): the summary must count them all.
	m := regexp.MustCompile(`(\d+) files, (\d+) rules, (\d+) correlations: 0 errors, 0 warnings`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("summary: got %q, want files, rules and correlations counted, 0 errors, 0 warnings", stderr)
	}
	files, _ := strconv.Atoi(m[1])
	rules, _ := strconv.Atoi(m[2])
	corrs, _ := strconv.Atoi(m[3])
	if rules < 50 || corrs < 1 || files != rules+corrs {
		t.Errorf("summary %q: want at least 50 rules and 1 correlation, one file each", m[0])
	}
	if stdout != "" {
		t.Errorf("stdout: got %q, want no problem printed", stdout)
	}
}

func TestRulesUsage(t *testing.T) {
	code, _, stderr := run(t, t.Context(), "rules", "lnit")
	if code != ExitUsage || !strings.Contains(stderr, `unknown command "lnit" for "spoor rules"`) {
		t.Errorf("unknown subcommand: got exit %d and %q, want %d and unknown command", code, stderr, ExitUsage)
	}
	code, stdout, _ := run(t, t.Context(), "rules")
	if code != ExitOK || !strings.Contains(stdout, "Available Commands:") {
		t.Errorf("rules alone: got exit %d and %q, want 0 and the help", code, stdout)
	}
}

func TestRulesLintUsage(t *testing.T) {
	code, _, stderr := run(t, t.Context(), "rules", "lint", "--bogus")
	if code != ExitUsage || !strings.Contains(stderr, "unknown flag: --bogus") {
		t.Errorf("got exit %d and %q, want %d and unknown flag", code, stderr, ExitUsage)
	}
	_, stdout, _ := run(t, t.Context(), "rules", "lint", "--help")
	for _, w := range []string{"Exit status:", "--strict", "file:line:col: severity: key: message"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("lint --help: want it to contain %q", w)
		}
	}
}
