package cli

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/result"
)

// TestDuplicatePathsCounted checks that evidence named twice (the same
// path, a folder and a file in it, a link to a file) gives the events and
// detections of evidence named once, for dump and hunt, and that the
// summary says what was read once.
func TestDuplicatePathsCounted(t *testing.T) {
	sysmon := filepath.Join(huntEvidence, "sysmon.jsonl")
	link := filepath.Join(t.TempDir(), "sysmon-link.jsonl")
	abs, err := filepath.Abs(sysmon)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, link); err != nil {
		t.Skipf("symlink: %v", err)
	}
	dump := func(paths ...string) (int, string) {
		code, stdout, stderr := run(t, t.Context(), append([]string{"dump"}, paths...)...)
		if code != ExitOK {
			t.Fatalf("dump %v: exit %d, stderr %q", paths, code, stderr)
		}
		return strings.Count(stdout, "\n"), stderr
	}
	huntJSON := func(paths ...string) result.Result {
		args := append([]string{"hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules, "--json"}, paths...)
		code, stdout, stderr := run(t, t.Context(), args...)
		if code != ExitOK {
			t.Fatalf("hunt %v: exit %d, stderr %q", paths, code, stderr)
		}
		var res result.Result
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	onceEvents, _ := dump(huntEvidence)
	once := huntJSON(huntEvidence)
	for _, tc := range []struct {
		name  string
		paths []string
		dups  int
	}{
		{"folder twice", []string{huntEvidence, huntEvidence}, 1},
		{"folder and a file in it", []string{huntEvidence, sysmon}, 1},
		{"file, its link and its folder", []string{sysmon, link, huntEvidence}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, stderr := dump(tc.paths...); got != onceEvents || !strings.Contains(stderr, "read once") {
				t.Errorf("dump: got %d events, stderr %q; want %d, and what was read once", got, stderr, onceEvents)
			}
			res := huntJSON(tc.paths...)
			if res.Evidence.Events != once.Evidence.Events || len(res.Detections) != len(once.Detections) || len(res.Evidence.Duplicates) != tc.dups {
				t.Errorf("hunt: got %d events, %d detections, duplicates %q; want %d, %d, %d duplicates",
					res.Evidence.Events, len(res.Detections), res.Evidence.Duplicates, once.Evidence.Events, len(once.Detections), tc.dups)
			}
		})
	}
}

// TestUnreadablePathQuiet checks that a path given that cannot be read
// (missing, a dangling link) is named on stderr, with --quiet too, and
// makes the exit status 1 though the other paths were read; --fail-on
// still decides when it is met.
func TestUnreadablePathQuiet(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.jsonl")
	dangling := filepath.Join(dir, "dangling.jsonl")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Skipf("symlink: %v", err)
	}
	base := []string{"hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules}
	for _, tc := range []struct {
		name   string
		args   []string
		want   int
		stdout bool // events or a report on stdout
	}{
		{"dump", []string{"dump", huntEvidence, missing}, ExitFailure, true},
		{"dump quiet", []string{"dump", "-q", huntEvidence, missing}, ExitFailure, true},
		{"dump quiet, dangling link", []string{"dump", "-q", huntEvidence, dangling}, ExitFailure, true},
		{"dump to a file", []string{"dump", "-q", "-o", filepath.Join(dir, "out.jsonl"), huntEvidence, missing}, ExitFailure, false},
		{"hunt", append(base, huntEvidence, missing), ExitFailure, true},
		{"hunt quiet", append(base, "-q", huntEvidence, missing), ExitFailure, false},
		{"hunt json, dangling link", append(base, "--json", huntEvidence, dangling), ExitFailure, true},
		{"hunt quiet, fail-on met", append(base, "-q", "--fail-on", "high", huntEvidence, missing), ExitDetections, false},
		{"hunt quiet, fail-on not met", append(base, "-q", "--fail-on", "critical", "--exclude-rule", "Registry Hive Saved", huntEvidence, missing), ExitFailure, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, t.Context(), tc.args...)
			bad := tc.args[len(tc.args)-1]
			if code != tc.want {
				t.Errorf("exit code: got %d, want %d (stderr %q)", code, tc.want, stderr)
			}
			if !strings.Contains(stderr, bad) {
				t.Errorf("stderr: got %q, want it to name %s", stderr, bad)
			}
			if (stdout != "") != tc.stdout {
				t.Errorf("stdout: got %.200q, want output %v", stdout, tc.stdout)
			}
			if out := filepath.Join(dir, "out.jsonl"); slices.Contains(tc.args, out) {
				// What was read is written, the missing path apart.
				if data, err := os.ReadFile(out); err != nil || !bytes.Contains(data, []byte(`"EventID"`)) {
					t.Errorf("%s: got %.100q, %v; want the events read", out, data, err)
				}
			}
		})
	}
}

// TestQuietLogs checks that --quiet silences log lines, unless --verbose
// asks for them.
func TestQuietLogs(t *testing.T) {
	dir := t.TempDir()
	zipped := filepath.Join(dir, "a.zip") // an archive opened is logged
	data, err := os.ReadFile(filepath.Join(huntEvidence, "sysmon.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("sysmon.jsonl")
	if err == nil {
		_, err = w.Write(data)
	}
	if err != nil || zw.Close() != nil {
		t.Fatal(err)
	}
	writeFile(t, zipped, b.String())
	for _, tc := range []struct {
		args []string
		logs bool
	}{
		{[]string{"dump", zipped}, true},
		{[]string{"dump", "-q", zipped}, false},
		{[]string{"dump", "-q", "-v", zipped}, true},
		{[]string{"hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules, zipped}, true},
		{[]string{"hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules, "-q", zipped}, false},
	} {
		t.Run(strings.Join(tc.args[:len(tc.args)-1], " "), func(t *testing.T) {
			var stdout, stderr, logs bytes.Buffer
			env := Env{Stdout: &stdout, Stderr: &stderr, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			if code := Execute(t.Context(), env, tc.args); code != ExitOK {
				t.Fatalf("exit %d, stderr %q", code, stderr.String())
			}
			if got := logs.Len() > 0; got != tc.logs {
				t.Errorf("log lines: got %q, want some %v", logs.String(), tc.logs)
			}
		})
	}
}
