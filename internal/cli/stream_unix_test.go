//go:build unix

package cli

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// idleReader is a standard input that never answers until done.
type idleReader struct{ done <-chan struct{} }

func (r idleReader) Read([]byte) (int, error) {
	<-r.done
	return 0, io.EOF
}

// TestBlockedInputInterrupted checks that dump and hunt blocked on an
// input that never comes (a named pipe no writer opens, an idle standard
// input) end as interrupted once the context is cancelled.
func TestBlockedInputInterrupted(t *testing.T) {
	pipe := filepath.Join(t.TempDir(), "logs.pipe")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, args := range [][]string{
		{"dump", pipe},
		{"dump", "-q", "-"},
		{"hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules, pipe},
		{"hunt", "--no-builtin", "--no-sigmahq", "--rules", huntRules, "-"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			var stdout, stderr bytes.Buffer
			env := Env{Stdout: &stdout, Stderr: &stderr, Stdin: idleReader{t.Context().Done()}}
			done := make(chan int, 1)
			go func() { done <- Execute(ctx, env, args) }()
			time.Sleep(100 * time.Millisecond) // let it block
			cancel()
			select {
			case code := <-done:
				if code != ExitInterrupted {
					t.Errorf("exit code: got %d, want %d (stderr %q)", code, ExitInterrupted, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still blocked 10 s after the cancel")
			}
		})
	}
}

// TestUnreadableInFolder checks that a file in a folder given that cannot
// be read (a dangling link) is reported in the summary, and does not make
// the exit status 1 when the rest was read.
func TestUnreadableInFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.jsonl"), `{"EventID":1,"Channel":"Security","Computer":"H"}`+"\n")
	gone := filepath.Join(dir, "gone.jsonl")
	if err := syscall.Symlink("nowhere.jsonl", gone); err != nil {
		t.Skipf("symlink: %v", err)
	}
	code, _, stderr := run(t, t.Context(), "dump", dir)
	if code != ExitOK || !strings.Contains(stderr, "could not read 1 file") || !strings.Contains(stderr, gone) {
		t.Errorf("got exit %d, stderr %q; want %d and %s reported", code, stderr, ExitOK, gone)
	}
}
