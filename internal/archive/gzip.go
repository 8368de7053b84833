package archive

import (
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Gzip is the content of a gzip stream (RFC 1952): its members one after
// another, decompressed as far as the data goes. A stream that ends
// without its last trailer (CRC-32 and size), as some archives in the wild
// do, is read in full and noted by TrailerMissing; deflate data cut short
// ends the content with Damage ErrCut; a member whose trailer does not
// match its content is Damage ErrChecksum; bytes after the last member
// other than zeros (padding) are Damage ErrTrailing.
type Gzip struct {
	in       *byteCounter
	fr       io.ReadCloser
	budget   *Budget
	out      int64 // of the whole stream
	member   int64 // bytes of the current member
	sum      uint32
	noTrail  bool
	damage   error
	err      error
	inMember bool
}

// errNotGzip: the stream does not start with a gzip header.
var errNotGzip = errors.New("not a gzip stream")

// NewGzip opens the gzip stream r, charging what it decompresses to b. The
// error is about its first header.
func NewGzip(r io.Reader, b *Budget) (*Gzip, error) {
	g := &Gzip{in: newByteCounter(r), budget: b}
	if err := g.header(); err != nil {
		return nil, fmt.Errorf("gzip header: %w", err)
	}
	return g, nil
}

// header reads a member's header and starts its deflate data.
func (g *Gzip) header() error {
	var h [10]byte
	if _, err := io.ReadFull(g.in, h[:]); err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 {
		return errNotGzip
	}
	flg := h[3]
	if flg&0x04 != 0 { // FEXTRA
		var n [2]byte
		if _, err := io.ReadFull(g.in, n[:]); err != nil {
			return io.ErrUnexpectedEOF
		}
		if _, err := io.CopyN(io.Discard, g.in, int64(binary.LittleEndian.Uint16(n[:]))); err != nil {
			return io.ErrUnexpectedEOF
		}
	}
	for _, bit := range []byte{0x08, 0x10} { // FNAME, FCOMMENT: zero-terminated
		if flg&bit == 0 {
			continue
		}
		for {
			c, err := g.in.ReadByte()
			if err != nil {
				return io.ErrUnexpectedEOF
			}
			if c == 0 {
				break
			}
		}
	}
	if flg&0x02 != 0 { // FHCRC
		if _, err := io.CopyN(io.Discard, g.in, 2); err != nil {
			return io.ErrUnexpectedEOF
		}
	}
	if g.fr == nil {
		g.fr = flate.NewReader(g.in)
	} else if err := g.fr.(flate.Resetter).Reset(g.in, nil); err != nil {
		return err
	}
	g.member, g.sum, g.inMember = 0, 0, true
	return nil
}

// Read reads the decompressed content.
func (g *Gzip) Read(p []byte) (int, error) {
	for g.err == nil {
		if !g.inMember {
			g.err = g.next()
			continue
		}
		n, err := g.fr.Read(p)
		g.member += int64(n)
		g.out += int64(n)
		g.sum = crc32.Update(g.sum, crc32.IEEETable, p[:n])
		if n > 0 {
			if berr := g.budget.charge(n, g.out, g.in.n); berr != nil {
				g.err = berr
				return 0, berr // nothing past the limit
			}
		}
		switch err {
		case nil:
		case io.EOF:
			g.inMember = false
			g.err = g.trailer()
		case io.ErrUnexpectedEOF:
			g.damage, g.err = ErrCut, io.EOF
		default:
			g.err = err
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, g.err
}

// trailer checks a member's trailer; nil means another member may follow.
func (g *Gzip) trailer() error {
	var t [8]byte
	n, _ := io.ReadFull(g.in, t[:])
	if n < len(t) {
		g.noTrail = true
		return io.EOF
	}
	if binary.LittleEndian.Uint32(t[:]) != g.sum || binary.LittleEndian.Uint32(t[4:]) != uint32(g.member) {
		g.damage = ErrChecksum
	}
	return nil
}

// next starts the member after a trailer, or ends the stream.
func (g *Gzip) next() error {
	b, err := g.in.br.Peek(2)
	if len(b) == 0 && err != nil {
		return io.EOF
	}
	if len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b {
		if err := g.header(); err != nil {
			g.damage = fmt.Errorf("gzip header: %w", err)
			if errors.Is(err, io.ErrUnexpectedEOF) {
				g.damage = ErrCut
			}
			return io.EOF
		}
		return nil
	}
	// Zeros after the stream are padding (tapes, block devices); anything
	// else is not part of it. A megabyte of zeros is enough to say so.
	for range maxPadding {
		c, err := g.in.ReadByte()
		if err != nil {
			return io.EOF
		}
		if c != 0 {
			g.damage = ErrTrailing
			return io.EOF
		}
	}
	return io.EOF
}

// maxPadding is how many zeros after a gzip stream are looked at.
const maxPadding = 1 << 20

// TrailerMissing reports whether the stream ended without its last
// trailer (the content was then read in full, but not checked).
func (g *Gzip) TrailerMissing() bool { return g.noTrail }

// Damage reports, once the content was read to its end, why it is not the
// whole (ErrCut), not what was compressed (ErrChecksum), or followed by
// something else (ErrTrailing); nil when it is whole.
func (g *Gzip) Damage() error { return g.damage }
