//go:build unix

package source

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
)

// TestNamedPipe checks that a named pipe given as a path (a shell's
// <(zcat logs.json.gz)) is read as a stream, not refused as not regular.
func TestNamedPipe(t *testing.T) {
	p := filepath.Join(t.TempDir(), "logs.pipe")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	go func() {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.Write(jsonLines(`{"EventID":1}`, `{"EventID":2}`, `{"EventID":3}`))
		f.Close()
	}()
	n := 0
	sum, err := Run(t.Context(), []string{p}, Options{}, func(_ int, ev *event.Event) error {
		if ev.Source != p {
			t.Errorf("source: got %q, want %q", ev.Source, p)
		}
		n++
		return nil
	})
	if err != nil || len(sum.Failed) > 0 || n != 3 {
		t.Errorf("got %d events, err %v, failed %v; want 3", n, err, sum.Failed)
	}
}
