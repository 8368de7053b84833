// Package evtx reads Windows XML event log files (.evtx): the file header,
// its 64 KiB chunks, their records and the binary XML inside them, into
// event.Events.
package evtx

import (
	"errors"
	"io"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Options configures a Reader.
type Options struct {
	// Source names the input in events and errors (a file path).
	Source string
	// Workers is how many chunks are decoded in parallel; 0 means
	// runtime.GOMAXPROCS(0).
	Workers int
}

// Reader decodes the events of one EVTX file. It implements event.Reader.
type Reader struct{}

// Open starts reading the EVTX file in r, of the given size.
func Open(r io.ReaderAt, size int64, opts Options) (*Reader, error) {
	return nil, errors.New("evtx: not implemented")
}

// Next implements event.Reader.
func (r *Reader) Next() (*event.Event, error) { return nil, io.EOF }

// Close implements event.Reader.
func (r *Reader) Close() error { return nil }

// Sniff reports whether head, the first bytes of a file, look like an EVTX
// file (or a bare EVTX chunk).
func Sniff(head []byte) bool { return false }
