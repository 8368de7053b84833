//go:build unix

package source

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

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

// TestStreamCancel checks that a run blocked on a stream ends, with the
// context's error, once the context is cancelled: a named pipe no writer
// opens (blocked in open), a pipe whose writer never writes (blocked in
// read), and a standard input that never answers.
func TestStreamCancel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) (string, Options)
	}{
		{"pipe without writer", func(t *testing.T) (string, Options) {
			return fifo(t), Options{}
		}},
		{"pipe with idle writer", func(t *testing.T) (string, Options) {
			p := fifo(t)
			go func() {
				f, err := os.OpenFile(p, os.O_WRONLY, 0)
				if err != nil {
					return
				}
				<-t.Context().Done()
				f.Close()
			}()
			return p, Options{}
		}},
		{"idle stdin", func(t *testing.T) (string, Options) {
			return Stdin, Options{Stdin: blockingReader{t.Context().Done()}}
		}},
		{"stdin pipe with idle writer", func(t *testing.T) (string, Options) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close(); w.Close() })
			return Stdin, Options{Stdin: r}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, opts := tc.setup(t)
			opts.formats = fakeFormats
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			var sum *Summary
			go func() {
				var err error
				sum, err = Run(ctx, []string{path}, opts, func(int, *event.Event) error { return nil })
				done <- err
			}()
			time.Sleep(50 * time.Millisecond) // let Run block
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("got %v, want %v", err, context.Canceled)
				}
				if len(sum.Failed) != 0 {
					t.Errorf("failed: got %v, want none (a cancelled read is no failure)", sum.Failed)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run still blocked 10 s after the cancel")
			}
		})
	}
}

// fifo makes a named pipe, or skips the test.
func fifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "logs.pipe")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return p
}

// blockingReader blocks until done is closed.
type blockingReader struct{ done <-chan struct{} }

func (b blockingReader) Read([]byte) (int, error) {
	<-b.done
	return 0, io.EOF
}

// TestOpenPipeUnblocked checks that a cancelled openPipe leaves no open
// of the pipe waiting: a writer that comes later finds no reader.
func TestOpenPipeUnblocked(t *testing.T) {
	p := fifo(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	if f, err := openPipe(ctx, p); !errors.Is(err, context.Canceled) {
		f.Close()
		t.Fatalf("got %v, want %v", err, context.Canceled)
	}
	// A reader still waiting in open would take this writer.
	if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); !errors.Is(err, syscall.ENXIO) {
		if err == nil {
			f.Close()
		}
		t.Errorf("open for writing: got %v, want %v (no reader left)", err, syscall.ENXIO)
	}
}

// TestSpecialFilesNamed: a named pipe or socket in a folder (or a link to
// one) is not read, since it may never end, but it is named as not read
// rather than skipped silently.
func TestSpecialFilesNamed(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "p")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	link(t, fifo, filepath.Join(dir, "q"))
	files, failed := Walk([]string{dir})
	if len(files) != 0 {
		t.Errorf("files: got %v, want none", files)
	}
	var names []string
	for _, f := range failed {
		if !errors.Is(f.Err, errSpecial) {
			t.Errorf("failure %v: want errSpecial", f)
		}
		names = append(names, filepath.Base(f.Name))
	}
	if !slices.Equal(names, []string{"p", "q"}) {
		t.Errorf("named: got %v, want [p q]", names)
	}
}
