package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

// Spooled is content copied out of a stream for random access: in memory,
// or in a temporary file. Where the system allows it (not on Windows) the
// file's name is removed as soon as it is created, so that nothing is left
// behind even when the process is killed; elsewhere Close removes it.
type Spooled struct {
	io.ReaderAt
	// Size is the size of the content.
	Size    int64
	file    *os.File
	removed bool // the file's name is removed already
}

// Path returns the temporary file's name, "" when the content is in
// memory.
func (s *Spooled) Path() string {
	if s.file == nil {
		return ""
	}
	return s.file.Name()
}

// Close releases the content, removing its temporary file.
func (s *Spooled) Close() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	if s.removed {
		s.file = nil
		return err
	}
	if rerr := os.Remove(s.file.Name()); err == nil {
		err = rerr
	}
	s.file = nil
	return err
}

// spoolChunk is how much is copied at a time, between checks of the
// context.
const spoolChunk = 256 << 10

// Spool copies r for random access: into memory when it holds at most
// memLimit bytes, else into a temporary file in dir ("" means
// os.TempDir()), whose bytes are charged to b. hint is the size expected
// (a hint that may lie, < 0 when unknown).
//
// When ctx is done or the budget is spent, nothing is kept: the temporary
// file is removed and the error returned. When r fails otherwise, the
// content read until then is returned with the error (nothing read is
// lost): the caller reads it and reports the error as damage.
func (b *Budget) Spool(ctx context.Context, r io.Reader, hint int64, dir string, memLimit int64) (*Spooled, error) {
	// In memory first, the buffer growing to at most memLimit+1 bytes:
	// one more byte read than memLimit means a file.
	buf := make([]byte, 0, min(max(hint, 0), memLimit)+1)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > memLimit {
				break // more than memLimit: a file
			}
			grown := make([]byte, len(buf), min(max(2*int64(cap(buf)), 64<<10), memLimit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return &Spooled{ReaderAt: bytes.NewReader(buf), Size: int64(len(buf))}, nil
		}
		if err != nil {
			if stops(err) {
				return nil, err
			}
			return &Spooled{ReaderAt: bytes.NewReader(buf), Size: int64(len(buf))}, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}

	f, err := os.CreateTemp(dir, "spoor-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("spool to temporary file: %w", err)
	}
	sp := &Spooled{ReaderAt: f, file: f}
	if runtime.GOOS != "windows" {
		// The open file stays readable; a second Ctrl-C, a kill or a
		// crash leaves no spool of up to the whole budget in the
		// temporary folder.
		sp.removed = os.Remove(f.Name()) == nil
	}
	if err := sp.copy(ctx, b, buf, r); err != nil {
		if stops(err) {
			sp.Close()
			return nil, err
		}
		return sp, err
	}
	return sp, nil
}

// copy writes head then the rest of r into the temporary file.
func (s *Spooled) copy(ctx context.Context, b *Budget, head []byte, r io.Reader) error {
	if err := s.write(b, head); err != nil {
		return err
	}
	chunk := head[:cap(head)]
	if len(chunk) < spoolChunk {
		chunk = make([]byte, spoolChunk)
	}
	chunk = chunk[:min(len(chunk), spoolChunk)]
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(r, chunk)
		if werr := s.write(b, chunk[:n]); werr != nil {
			return werr
		}
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			// ReadFull's short read: the end of r (a Stream has
			// turned any cut into a plain end already).
			return nil
		default:
			return err
		}
	}
}

func (s *Spooled) write(b *Budget, p []byte) error {
	if err := b.chargeSpool(len(p)); err != nil {
		return err
	}
	if _, err := s.file.Write(p); err != nil {
		return &writeError{err}
	}
	s.Size += int64(len(p))
	return nil
}

// writeError is a failure to write the temporary file (a full disk): the
// spool is abandoned.
type writeError struct{ err error }

func (e *writeError) Error() string { return "spool to temporary file: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// stops reports whether err abandons a spool: the context, the budget or
// the temporary file failed, not the content.
func stops(err error) bool {
	var we *writeError
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrLimit) || errors.As(err, &we)
}
