package event

import (
	"fmt"
)

// Reader is an iterator over the events of one source.
//
// Next returns the next event, or io.EOF after the last one. The returned
// *Event, its Fields slice and every string in it are owned by the reader and
// are valid only until the next call to Next or Close; a consumer that keeps
// an event past that point must Clone it.
//
// When a part of the input cannot be decoded, Next returns a *SkipError for
// it; the part is skipped and the caller may call Next again to go on with
// the rest of the input. Any other error ends the iteration.
//
// A Reader is not safe for concurrent use. Close releases its resources.
type Reader interface {
	Next() (*Event, error)
	Close() error
}

// SkipError reports a part of the input that a reader could not decode and
// skipped: a corrupt EVTX chunk or record, a malformed JSON line. Reading can
// go on after it.
type SkipError struct {
	// Source is the file (or archive member) being read.
	Source string
	// Where locates the skipped part, such as "chunk 3 at offset 0x31000",
	// "record 1234 at offset 0x31a20" or "line 42".
	Where string
	// Records is how many records were lost, when known (0 when unknown).
	Records int
	// Err is why it was skipped.
	Err error
}

// Error implements error.
func (e *SkipError) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.Source, e.Where, e.Err)
}

// Unwrap returns the reason the part was skipped.
func (e *SkipError) Unwrap() error { return e.Err }
