package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/jsonlog"
	"github.com/spoor-hunt/spoor/internal/source"
)

// run executes the command line in-process and returns its exit code,
// stdout and stderr.
func run(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute(ctx, Env{Stdout: &stdout, Stderr: &stderr, Build: Build{Version: "v9.8.7", Commit: "abc123"}}, args)
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	txt := writeFile(t, filepath.Join(dir, "notes.txt"), "not a log\n")
	missing := filepath.Join(dir, "missing.evtx")
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr []string
	}{
		{"no command", nil, ExitOK, nil},
		{"help", []string{"dump", "--help"}, ExitOK, nil},
		{"version", []string{"version"}, ExitOK, nil},
		{"unknown command", []string{"hutn", "x"}, ExitUsage, []string{`unknown command "hutn"`, "spoor --help"}},
		{"unknown flag", []string{"dump", "--bogus", txt}, ExitUsage, []string{"unknown flag: --bogus", "spoor dump --help"}},
		{"no path", []string{"dump"}, ExitUsage, []string{"at least one PATH"}},
		{"bad workers", []string{"dump", "--workers", "0", txt}, ExitUsage, []string{"--workers must be at least 1"}},
		{"version takes no args", []string{"version", "x"}, ExitUsage, nil},
		{"nothing readable", []string{"dump", txt}, ExitFailure, []string{"no event logs found", txt}},
		{"only a damaged log", []string{"dump", writeFile(t, filepath.Join(dir, "h.evtx"), "ElfFile\x00"+strings.Repeat("\x00", 4096))}, ExitFailure, []string{"checksum", "no events could be read"}},
		{"missing path", []string{"dump", missing}, ExitFailure, []string{missing, "no such file"}},
		{"missing path, quiet", []string{"dump", "-q", missing}, ExitFailure, []string{missing, "no such file", "nothing could be read"}},
		{"unwritable output", []string{"dump", "-o", filepath.Join(dir, "no", "such", "dir", "out.jsonl"), txt}, ExitFailure, []string{"out.jsonl"}},
	}
	if runtime.GOOS == "linux" {
		// A full disk: the error names the file. (outfile's tests show the
		// previous file kept and no temporary file left.)
		ev := writeFile(t, filepath.Join(dir, "ev.jsonl"), `{"EventID":4624,"Channel":"Security"}`+"\n")
		tests = append(tests, struct {
			name       string
			args       []string
			want       int
			wantStderr []string
		}{"full disk", []string{"dump", "-q", "-o", "/dev/full", ev}, ExitFailure, []string{"write events: write /dev/full: no space left on device"}})
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

// TestDumpOutputInInput: dump -o FILE inside a folder being dumped does
// not read its own output back.
func TestDumpOutputInInput(t *testing.T) {
	requireJSONReader(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.jsonl"), `{"EventID":4624,"Channel":"Security"}`+"\n"+`{"EventID":4625,"Channel":"Security"}`+"\n")
	out := filepath.Join(dir, "z.jsonl")
	code, _, stderr := run(t, t.Context(), "dump", "-o", out, dir)
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != 2 || !strings.Contains(stderr, "from 1 file:") {
		t.Errorf("got %d events and summary %q, want 2 events from 1 file", n, stderr)
	}
}

func TestInterrupted(t *testing.T) {
	ctx, cancelPlain := context.WithCancel(t.Context())
	cancelPlain()
	var cancel context.CancelCauseFunc
	txt := writeFile(t, filepath.Join(t.TempDir(), "a.txt"), "x")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"dump", txt}, "spoor: interrupted: read 0 of 1 file, 0 events\n"},
		{[]string{"dump", "-o", filepath.Join(t.TempDir(), "out.jsonl"), txt}, "spoor: interrupted: read 0 of 1 file, 0 events; no output written\n"},
	} {
		if code, _, stderr := run(t, ctx, tt.args...); code != ExitInterrupted {
			t.Errorf("%q: exit code: got %d, want %d (stderr %q)", tt.args, code, ExitInterrupted, stderr)
		} else if !strings.HasSuffix(stderr, tt.want) {
			t.Errorf("%q: stderr: got %q, want it to end with %q", tt.args, stderr, tt.want)
		}
	}
	// A SIGTERM (the cause main gives) exits 143.
	ctx, cancel = context.WithCancelCause(t.Context())
	cancel(&SignalError{Signal: syscall.SIGTERM})
	if code, _, stderr := run(t, ctx, "dump", txt); code != ExitTerminated {
		t.Errorf("SIGTERM: exit code: got %d, want %d (stderr %q)", code, ExitTerminated, stderr)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := run(t, t.Context(), "version")
	if code != ExitOK || stderr != "" {
		t.Errorf("version: got exit %d and stderr %q, want 0 and nothing", code, stderr)
	}
	for _, w := range []string{"spoor v9.8.7", "commit: abc123", runtime.Version(), "SigmaHQ rules: ", "rule files", "Detection Rule License (DRL) 1.1"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("version: got %q, want it to contain %q (exit %d)", stdout, w, code)
		}
	}
	var out bytes.Buffer
	Execute(t.Context(), Env{Stdout: &out, Stderr: &out}, []string{"version"})
	if !strings.HasPrefix(out.String(), "spoor dev\n") {
		t.Errorf("default version: got %q, want it to start with %q", out.String(), "spoor dev\n")
	}
}

func TestHelp(t *testing.T) {
	code, root, _ := run(t, t.Context(), "--help")
	for _, w := range []string{"spoor hunt C:\\Triage\\Logs\\", "Exit status", "130  interrupted", "3    hunt --fail-on"} {
		if code != ExitOK || !strings.Contains(root, w) {
			t.Errorf("spoor --help: got exit %d, want 0 and %q in the help", code, w)
		}
	}
	_, stdout, _ := run(t, t.Context(), "dump", "--help")
	for _, w := range []string{"Examples:", "spoor dump Security.evtx", "--output", "--workers", "--quiet", "--no-progress", "archive.zip!member"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("dump --help: want it to contain %q", w)
		}
	}
}

// requireJSONReader skips tests that need the real jsonlog reader until it
// recognises JSON lines.
func requireJSONReader(t *testing.T) {
	t.Helper()
	if !jsonlog.Sniff([]byte(`{"EventID":4624,"Channel":"Security"}` + "\n")) {
		t.Skip("the jsonlog reader does not recognise JSON lines yet")
	}
}

func TestDumpJSON(t *testing.T) {
	requireJSONReader(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.json"),
		`{"EventID":4624,"Channel":"Security","Computer":"ws1","TargetUserName":"alice"}`+"\n"+
			`{"EventID":4625,"Channel":"Security","Computer":"ws1","TargetUserName":"bob"}`+"\n")
	writeFile(t, filepath.Join(dir, "notes.txt"), "hello\n")

	for _, tt := range []struct {
		name string
		args []string
	}{
		{"stdout", []string{"dump", dir}},
		{"file", []string{"dump", "-o", filepath.Join(dir, "..", "out.jsonl"), dir}},
		{"quiet", []string{"dump", "-q", dir}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, t.Context(), tt.args...)
			if code != ExitOK {
				t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
			}
			if tt.name == "file" {
				b, err := os.ReadFile(filepath.Join(dir, "..", "out.jsonl"))
				if err != nil {
					t.Fatal(err)
				}
				if stdout != "" {
					t.Errorf("stdout with -o: got %q, want nothing", stdout)
				}
				stdout = string(b)
			}
			var lines []map[string]any
			sc := bufio.NewScanner(strings.NewReader(stdout))
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("line %q: got error %v, want valid JSON", sc.Text(), err)
				}
				lines = append(lines, m)
			}
			if len(lines) != 2 {
				t.Fatalf("events: got %d lines, want 2:\n%s", len(lines), stdout)
			}
			if got := lines[1]["EventID"]; got != float64(4625) {
				t.Errorf("EventID of event 2: got %v, want 4625", got)
			}
			if got := lines[0]["TargetUserName"]; got != "alice" {
				t.Errorf("TargetUserName of event 1: got %v, want alice", got)
			}
			switch {
			case tt.name == "quiet" && stderr != "":
				t.Errorf("stderr with -q: got %q, want nothing", stderr)
			case tt.name != "quiet" && !strings.Contains(stderr, "2 events"):
				t.Errorf("summary: got %q, want it to mention 2 events", stderr)
			}

		})
	}
}

func TestPrintSummary(t *testing.T) {
	s := &source.Summary{
		Files:      4,
		Logs:       3,
		Events:     1234,
		Bytes:      2_500_000,
		Elapsed:    2 * time.Second,
		NotLogs:    []string{"a.txt", "b.txt", "c.txt", "d.txt", "e.txt", "f.txt", "g.txt"},
		Duplicates: []string{"logs/a.evtx", "link.evtx"},
		Failed: []source.Failure{
			{Name: "x.evtx", Err: &os.PathError{Op: "open", Path: "x.evtx", Err: os.ErrPermission}},
			{Name: "y.json", Err: context.DeadlineExceeded, Events: 12},
		},
		Damaged: []source.Damage{{
			Name: "z.evtx", Skips: 4, Records: 100,
			First: []event.SkipError{{Where: "chunk 3 at offset 0x31000", Err: os.ErrInvalid}},
		}},
	}
	s.ByType[source.EVTX], s.ByType[source.JSON], s.ByType[source.Zip] = 2, 1, 1
	var b bytes.Buffer
	printSummary(&b, s)
	want := `spoor: read 3 event logs (2 evtx, 1 json) from 4 files (archives: 1 zip): 1234 events, 2.5 MB in 2s (617 events/s)
spoor: skipped 7 files not event logs: a.txt, b.txt, c.txt, d.txt, e.txt and 2 more
spoor: 2 paths given twice (the same path, a link, or in a folder given), read once: logs/a.evtx, link.evtx
spoor: could not read 2 files:
  open x.evtx: permission denied
  y.json: context deadline exceeded (after 12 events)
spoor: skipped unreadable parts of 1 log:
  z.evtx: 4 parts skipped, at least 100 records lost
    chunk 3 at offset 0x31000: invalid argument
    and 3 more
`
	if got := b.String(); got != want {
		t.Errorf("summary:\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestAppendProgress(t *testing.T) {
	tests := []struct {
		s       source.Snapshot
		elapsed time.Duration
		want    string
	}{
		{source.Snapshot{FilesTotal: 10, FilesDone: 2, BytesTotal: 100e6, BytesDone: 25e6, Events: 50_000}, 5 * time.Second,
			"spoor: 2/10 files  25.0/100.0 MB  50.0k events (10.0k/s)  ETA 0:15"},
		{source.Snapshot{FilesTotal: 1, FilesDone: 1, BytesTotal: 1e6, BytesDone: 1e6, Events: 10}, time.Second,
			"spoor: 1/1 files  1.0/1.0 MB  10 events (10/s)"},
		{source.Snapshot{}, 0, "spoor: 0/0 files  0.0/0.0 MB  0 events (0/s)"},
	}
	for _, tt := range tests {
		if got := string(appendProgress(nil, tt.s, tt.elapsed)); got != tt.want {
			t.Errorf("progress: got %q, want %q", got, tt.want)
		}
	}
}

func TestProgressDisplay(t *testing.T) {
	var b bytes.Buffer // read only after stop, which waits for the writer
	var p source.Progress
	d := startProgress(&b, &p)
	d.stop()
	if got := b.String(); !strings.HasSuffix(got, clearLine) {
		t.Errorf("after stop: got %q, want it to end by clearing the line", got)
	}
	var nilDisplay *progressDisplay
	nilDisplay.stop() // must not panic
}

// TestStdinDash checks that "-" reads the events of the standard input,
// for dump and for hunt.
func TestStdinDash(t *testing.T) {
	in := `{"EventID":4688,"Channel":"Security","Computer":"H","NewProcessName":"C:\\Windows\\System32\\whoami.exe"}` + "\n" +
		`{"EventID":4624,"Channel":"Security","Computer":"H"}` + "\n"
	var stdout, stderr bytes.Buffer
	code := Execute(t.Context(), Env{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(in)}, []string{"dump", "-q", "-"})
	if code != ExitOK || strings.Count(stdout.String(), "\n") != 2 || !strings.Contains(stdout.String(), `"EventID":4624`) {
		t.Errorf("dump -: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	code = Execute(t.Context(), Env{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(in)}, []string{"hunt", "--no-sigmahq", "--json", "-"})
	if code != ExitOK || !strings.Contains(stdout.String(), `"events": 2`) {
		t.Errorf("hunt -: exit %d, stdout %.300q, stderr %q", code, stdout.String(), stderr.String())
	}
}
