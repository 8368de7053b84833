package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputIsInput: an output that is a file the command reads as
// evidence is refused before anything is read (here, before the cancelled
// context is seen), whatever names it: a usage error naming both, the
// evidence untouched. A new output in an input folder, or an earlier one
// that is no evidence, is written.
func TestOutputIsInput(t *testing.T) {
	requireJSONReader(t)
	const evidence = `{"TimeCreated":"2024-03-04T11:00:00Z","Computer":"FS01","Channel":"Security","EventID":4624,"EventRecordID":1}` + "\n"
	dir := t.TempDir()
	c := filepath.Join(dir, "c")
	if err := os.Mkdir(c, 0o755); err != nil {
		t.Fatal(err)
	}
	fs01 := writeFile(t, filepath.Join(c, "fs01.jsonl"), evidence)
	s := writeFile(t, filepath.Join(dir, "s.evtx"), evidence)
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(fs01, link); err != nil {
		t.Skip(err)
	}
	hard := filepath.Join(dir, "hard.jsonl")
	if err := os.Link(fs01, hard); err != nil {
		t.Skip(err)
	}
	earlier := writeFile(t, filepath.Join(c, "timeline.jsonl"), `{"timestamp":1,"computer":"FS01"}`+"\n")
	hunt := []string{"hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules}
	refused := []struct {
		name string
		args []string
		want []string // in the message, besides "never overwrites evidence"
	}{
		{"hunt timeline in input folder", append(hunt, "--timeline", fs01, c), []string{"--timeline " + fs01, "input folder " + c}},
		{"dump -o the input", []string{"dump", fs01, "-o", fs01}, []string{"-o " + fs01, "the input " + fs01}},
		{"hunt html the input", append(hunt, "--html", s, s), []string{"--html " + s, "the input " + s}},
		{"spelled with ./", []string{"dump", filepath.Join(c, ".", "fs01.jsonl"), "-o", filepath.Join(dir, "c", "..", "c", "fs01.jsonl")}, []string{"the input"}},
		{"symbolic link", []string{"dump", c, "-o", link}, []string{"-o " + link, fs01}},
		{"hard link", []string{"dump", c, "-o", hard}, []string{"-o " + hard, fs01}},
		{"operations", append(hunt, "--operations", fs01, dir), []string{"--operations " + fs01, "input folder " + dir}},
		{"earlier output read as evidence", append(hunt, "--timeline", earlier, c), []string{"--timeline " + earlier, "earlier output"}},
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, ctx, tt.args...)
			if code != ExitUsage || stdout != "" {
				t.Errorf("got exit %d, stdout %q, stderr %q; want %d and nothing on stdout", code, stdout, stderr, ExitUsage)
			}
			for _, w := range append(tt.want, "never overwrites evidence") {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr: got %q, want it to contain %q", stderr, w)
				}
			}
			if got, _ := os.ReadFile(fs01); string(got) != evidence {
				t.Errorf("evidence: got %q, want it untouched", got)
			}
		})
	}

	old := writeFile(t, filepath.Join(c, "old.csv"), "an earlier timeline\n")
	for _, tt := range []struct {
		name string
		args []string
		out  string
		want string // in the output
	}{
		{"new output in the input folder", append(hunt, "--timeline", filepath.Join(c, "new.csv"), c), filepath.Join(c, "new.csv"), "timestamp,"},
		{"earlier output that is no evidence", append(hunt, "--timeline", old, c), old, "timestamp,"},
		{"dump beside the evidence", []string{"dump", c, "-o", filepath.Join(c, "events.jsonl")}, filepath.Join(c, "events.jsonl"), `"EventID":4624`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, t.Context(), tt.args...)
			if code != ExitOK {
				t.Fatalf("got exit %d (stderr %q), want 0", code, stderr)
			}
			if got, err := os.ReadFile(tt.out); err != nil || !strings.Contains(string(got), tt.want) {
				t.Errorf("%s: got %q (%v), want the output", tt.out, got, err)
			}
		})
	}
}

// TestSameOutputFile: two outputs naming one file (however spelled) would
// replace each other: a usage error before anything is read.
func TestSameOutputFile(t *testing.T) {
	requireJSONReader(t)
	dir := t.TempDir()
	ev := writeFile(t, filepath.Join(dir, "ev.jsonl"), `{"Channel":"Security","EventID":4624}`+"\n")
	out := filepath.Join(dir, "out.csv")
	code, _, stderr := run(t, t.Context(), "hunt", "--timeline", out, "--html", filepath.Join(dir, ".", "out.csv"), ev)
	if code != ExitUsage || !strings.Contains(stderr, "name the same file") {
		t.Errorf("got exit %d, stderr %q; want %d naming the same file", code, stderr, ExitUsage)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("got %s written (%v), want nothing", out, err)
	}
}

// TestStdoutInInputFolder: standard output redirected to a file in the
// folder being read (spoor dump logs > logs/events.jsonl) is not read back:
// it would grow as it is read.
func TestStdoutInInputFolder(t *testing.T) {
	requireJSONReader(t)
	dir := t.TempDir()
	const line = `{"Channel":"Security","EventID":4624,"EventRecordID":1}` + "\n"
	const events = 40000 // more than the output buffer holds
	writeFile(t, filepath.Join(dir, "ev.jsonl"), strings.Repeat(line, events))
	out, err := os.Create(filepath.Join(dir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var stderr strings.Builder
	code := Execute(t.Context(), Env{Stdout: out, Stderr: &stderr}, []string{"dump", "-q", dir})
	data, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); code != ExitOK || n != events {
		t.Errorf("got exit %d, %d events written (stderr %q); want %d and the %d of ev.jsonl", code, n, stderr.String(), ExitOK, events)
	}
}
