//go:build unix

package source

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFileBecamePipe: a file the walk listed as regular that is a named
// pipe by the time it is read (replaced in between) is reported as not a
// regular file; opening it does not wait for a writer that never comes.
func TestFileBecamePipe(t *testing.T) {
	p := filepath.Join(t.TempDir(), "Security.evtx")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip(err)
	}
	opts := &Options{}
	w := &worker{opts: opts, prog: &Progress{}, res: &result{}}
	done := make(chan error, 1)
	go func() { done <- w.file(t.Context(), File{Path: p, Size: 69632}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("got %v, want nil (a failure of the file, not of the run)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a file replaced by a named pipe did not end within 10 s")
	}
	if len(w.res.failed) != 1 || !errors.Is(w.res.failed[0].Err, errNotRegular) {
		t.Errorf("got failures %v, want one: %v", w.res.failed, errNotRegular)
	}
}
