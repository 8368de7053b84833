package source

import (
	"io"
	"sync/atomic"
)

// Progress counts how far a Run has got. Run updates it from its workers;
// any goroutine may call Snapshot at any time. The zero value is ready to
// use; a Progress must not be copied after first use.
type Progress struct {
	filesTotal atomic.Int64
	filesDone  atomic.Int64
	bytesTotal atomic.Int64
	bytesDone  atomic.Int64
	events     atomic.Int64
}

// Snapshot is the state of a Progress at one instant.
type Snapshot struct {
	// FilesTotal is how many input files the walk found; FilesDone how many
	// of them are finished.
	FilesTotal, FilesDone int64
	// BytesTotal is the summed size of the input files; BytesDone how many
	// of those bytes have been read (compressed bytes for archives).
	BytesTotal, BytesDone int64
	// Events is how many events were handed to the callback so far.
	Events int64
}

// Snapshot returns the current counts. Each count is read atomically; the
// counts are not one consistent cut, which is fine for a display.
func (p *Progress) Snapshot() Snapshot {
	return Snapshot{
		FilesTotal: p.filesTotal.Load(),
		FilesDone:  p.filesDone.Load(),
		BytesTotal: p.bytesTotal.Load(),
		BytesDone:  p.bytesDone.Load(),
		Events:     p.events.Load(),
	}
}

// countingReaderAt counts the bytes read from one input file into
// Progress.bytesDone, never more than the file's size in all, however often
// a reader reads the same bytes. ReadAt may be called concurrently.
type countingReaderAt struct {
	r    io.ReaderAt
	p    *Progress
	left atomic.Int64 // bytes of the file not counted yet
}

func newCountingReaderAt(r io.ReaderAt, size int64, p *Progress) *countingReaderAt {
	c := &countingReaderAt{r: r, p: p}
	c.left.Store(size)
	return c
}

func (c *countingReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(b, off)
	if n > 0 {
		for {
			left := c.left.Load()
			add := min(int64(n), left)
			if add == 0 {
				break
			}
			if c.left.CompareAndSwap(left, left-add) {
				c.p.bytesDone.Add(add)
				break
			}
		}
	}
	return n, err
}

// finish counts the rest of the file as read.
func (c *countingReaderAt) finish() {
	c.p.bytesDone.Add(c.left.Swap(0))
}
