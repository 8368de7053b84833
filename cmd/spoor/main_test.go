//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestMain runs spoor itself when the test binary is started as spoor by
// the tests below (SPOOR_TEST_MAIN=1), so that they send real signals to a
// real process without building another binary.
func TestMain(m *testing.M) {
	if os.Getenv("SPOOR_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// eventLine is one JSON line of evidence.
func eventLine(n int) string {
	return fmt.Sprintf(`{"TimeCreated":"2024-03-04T11:00:00Z","Computer":"FS01","Channel":"Security","EventID":4624,"EventRecordID":%d}`+"\n", n)
}

// TestSignal: a signal in the middle of a run (reading a named pipe that
// never ends, after two files) stops it within seconds; it says how far it
// got, exits 130 (SIGINT) or 143 (SIGTERM), and leaves the previous output
// file as it was, with no temporary file beside it.
func TestSignal(t *testing.T) {
	rules, err := filepath.Abs("../../internal/hunt/testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sig  syscall.Signal
		code int
		out  string
		args []string // the output and the paths follow
	}{
		{"hunt SIGINT", syscall.SIGINT, 130, "timeline.csv", []string{"hunt", "--no-builtin", "--rules", rules, "--workers", "1", "--timeline"}},
		{"hunt SIGTERM", syscall.SIGTERM, 143, "report.html", []string{"hunt", "--no-builtin", "--rules", rules, "--workers", "1", "--html"}},
		{"dump SIGINT", syscall.SIGINT, 130, "events.jsonl", []string{"dump", "-q", "-o"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			logs := filepath.Join(dir, "logs")
			outDir := filepath.Join(dir, "out")
			for _, d := range []string{logs, outDir} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, name := range []string{"a.jsonl", "b.jsonl"} {
				var b strings.Builder
				for i := range 100 {
					b.WriteString(eventLine(i))
				}
				if err := os.WriteFile(filepath.Join(logs, name), []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			fifo := filepath.Join(logs, "z.fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skip(err)
			}
			out := filepath.Join(outDir, tt.out)
			const previous = "the previous output\n"
			if err := os.WriteFile(out, []byte(previous), 0o644); err != nil {
				t.Fatal(err)
			}

			// A pipe is read when named (a folder's are not walked).
			args := append(tt.args, out, filepath.Join(logs, "a.jsonl"), filepath.Join(logs, "b.jsonl"), fifo)
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), "SPOOR_TEST_MAIN=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer cmd.Process.Kill()

			// The pipe opens for writing once spoor has opened it to read,
			// that is once it has read the two files before it.
			var w *os.File
			deadline := time.Now().Add(30 * time.Second)
			for w == nil {
				w, err = os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
				switch {
				case err == nil:
				case !errors.Is(err, syscall.ENXIO):
					t.Fatal(err)
				case time.Now().After(deadline):
					t.Fatalf("spoor did not open the pipe within 30 s (stderr %q)", stderr.String())
				default:
					select {
					case err := <-exited:
						t.Fatalf("spoor ended before reading the pipe: %v (stderr %q)", err, stderr.String())
					case <-time.After(10 * time.Millisecond):
					}
				}
			}
			defer w.Close()
			var written atomic.Int64
			go func() {
				for i := 0; ; i++ {
					if _, err := w.WriteString(eventLine(i)); err != nil {
						return // spoor closed the pipe
					}
					written.Add(1)
				}
			}()
			// A pipe holds a few hundred lines: past that, spoor is reading.
			for written.Load() < 5000 {
				select {
				case err := <-exited:
					t.Fatalf("spoor ended while the pipe was written: %v (stderr %q)", err, stderr.String())
				case <-time.After(time.Millisecond):
				}
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				t.Fatalf("spoor still running 10 s after %v (stderr %q)", tt.sig, stderr.String())
			}

			if got := cmd.ProcessState.ExitCode(); got != tt.code {
				t.Errorf("exit code: got %d, want %d (stderr %q)", got, tt.code, stderr.String())
			}
			m := regexp.MustCompile(`spoor: interrupted: read 2 of 3 files, ([0-9,]+) events; no output written\n$`).FindStringSubmatch(stderr.String())
			if m == nil {
				t.Errorf("stderr: got %q, want it to end with the interruption message", stderr.String())
			} else if n, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", "")); n < 200 || int64(n) > written.Load()+200 {
				t.Errorf("events read: got %d, want from 200 (the two files) to %d (all written)", n, written.Load()+200)
			}
			if got, err := os.ReadFile(out); err != nil || string(got) != previous {
				t.Errorf("output: got %q (%v), want the previous content %q", got, err, previous)
			}
			if des, _ := os.ReadDir(outDir); len(des) != 1 {
				var names []string
				for _, de := range des {
					names = append(names, de.Name())
				}
				t.Errorf("output folder: got %q, want only the previous output (no temporary file)", names)
			}
		})
	}
}
