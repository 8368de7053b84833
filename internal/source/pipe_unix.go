//go:build unix

package source

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// openPipe opens the named pipe at path for reading. Opening a pipe waits
// for a writer; when ctx is done first, openPipe returns ctx's error and
// ends the wait by opening the pipe for writing itself, writing nothing, so
// that no goroutine is left blocked (unless the pipe cannot be opened for
// writing: then the wait ends when a writer comes or the process exits).
func openPipe(ctx context.Context, path string) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		return o.f, o.err
	case <-ctx.Done():
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		wf, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			wf.Close()
		} else if !errors.Is(err, syscall.ENXIO) {
			// ENXIO: no reader yet (the open above has not started);
			// anything else: the wait cannot be ended from here.
			go func() {
				if o := <-done; o.f != nil {
					o.f.Close()
				}
			}()
			return nil, ctx.Err()
		}
		select {
		case o := <-done:
			if o.f != nil {
				o.f.Close()
			}
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// openFile opens a file the walk found regular without waiting: a file
// replaced since by a named pipe would block the open until a writer came
// (O_NONBLOCK has no effect on a regular file). The caller checks that
// what it opened is still a regular file.
func openFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
