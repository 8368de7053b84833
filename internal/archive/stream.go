package archive

import (
	"bufio"
	"compress/flate"
	"hash/crc32"
	"io"
)

// byteCounter counts the bytes its callers take, so that the end of a
// deflate stream (which reads through io.ByteReader, never ahead) is
// known: the compressed size of a streamed zip member, the ratio of a
// stream.
type byteCounter struct {
	br *bufio.Reader
	n  int64
}

func newByteCounter(r io.Reader) *byteCounter {
	return &byteCounter{br: bufio.NewReaderSize(r, 32<<10)}
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.br.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *byteCounter) ReadByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// Stream is the content of one compressed (or stored) member: it reads as
// far as the data goes, then io.EOF; Damage tells whether that was the
// whole. Decompressed bytes are charged to the Budget.
type Stream struct {
	r      io.Reader    // the content: a decompressor, or the stored bytes
	in     *byteCounter // compressed bytes consumed, for a decompressor
	budget *Budget      // nil for stored content
	out    int64
	size   int64 // expected content size, < 0 unknown
	crc    uint32
	hasCRC bool
	cut    bool // the data is known to end before the content does
	sum    uint32
	damage error
	err    error // sticky: the error returned last
}

// newFlate returns the content of the deflate data r under b.
func newFlate(r io.Reader, b *Budget) *Stream {
	in := newByteCounter(r)
	return &Stream{r: flate.NewReader(in), in: in, budget: b, size: -1}
}

// newStored returns stored content r.
func newStored(r io.Reader) *Stream { return &Stream{r: r, size: -1} }

// expect sets the size and checksum the content should have.
func (s *Stream) expect(size int64, crc uint32, hasCRC bool) {
	s.size, s.crc, s.hasCRC = size, crc, hasCRC
}

// Read reads the content; a cut in the compressed data ends it (io.EOF)
// and is reported by Damage.
func (s *Stream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.out += int64(n)
	if s.hasCRC {
		s.sum = crc32.Update(s.sum, crc32.IEEETable, p[:n])
	}
	if s.budget != nil && n > 0 {
		if berr := s.budget.charge(n, s.out, s.in.n); berr != nil {
			s.err = berr
			return 0, berr // nothing past the limit
		}
	}
	switch err {
	case nil:
		return n, nil
	case io.EOF:
		s.finish(false)
	case io.ErrUnexpectedEOF:
		s.finish(true)
		err = io.EOF
	}
	s.err = err
	return n, err
}

// finish checks the content against its expected size and checksum once
// it has ended.
func (s *Stream) finish(cut bool) {
	switch {
	case cut || s.cut || (s.size >= 0 && s.out < s.size):
		s.damage = ErrCut
	case s.hasCRC && s.sum != s.crc:
		s.damage = ErrChecksum
	}
}

// Damage reports why the content read is not the whole member (ErrCut)
// or not what was stored (ErrChecksum), once it was read to its end.
func (s *Stream) Damage() error { return s.damage }

// drain reads the rest of the content, returning the error that ended it
// (nil at its end).
func (s *Stream) drain() error {
	var buf [8 << 10]byte
	for {
		_, err := s.Read(buf[:])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
