package archive

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A zip archive's table of contents (the central directory) is at its end,
// so a copy cut short, as collections sometimes arrive, has none. Its
// members can still be found from the front: each starts with a local
// header that names it and, unless it was written as a stream, gives its
// size. WalkCutZip reads them that way. Every size and offset read there
// is checked against the file, and every step moves forward: the walk
// ends.

const (
	localHeaderSig  = 0x04034b50
	localHeaderSize = 30
	dataDescSig     = 0x08074b50
	flagEncrypted   = 0x1
	flagStreamed    = 0x8 // sizes in a data descriptor after the data
	methodStore     = 0
	methodDeflate   = 8
)

// CutZip is what WalkCutZip read.
type CutZip struct {
	// Members is how many members were found (and given to fn), the one
	// a cut ends included.
	Members int
	// End is the offset where reading stopped.
	End int64
	// Stop is why reading stopped before the end of the local headers
	// (a member cut, a header that makes no sense); nil when the headers
	// simply ran out (the central directory, or the end of the data).
	Stop error
}

// WalkCutZip calls fn for every member of the zip archive in ra found from
// its local headers, in order, until the data ends or stops making sense
// (CutZip.Stop). The member a cut ends reads as far as it goes (its
// Damage is ErrCut). It returns the error of fn, ctx or b, which stops the
// walk.
func WalkCutZip(ctx context.Context, ra io.ReaderAt, size int64, b *Budget, fn func(e *Entry) error) (CutZip, error) {
	var cz CutZip
	for {
		if err := ctx.Err(); err != nil {
			return cz, err
		}
		if err := b.Err(); err != nil {
			return cz, err
		}
		next, stop, err := cutMember(ra, size, cz.End, b, &cz, fn)
		if err != nil {
			return cz, err
		}
		if stop != nil {
			if !errors.Is(stop, errZipEnd) {
				cz.Stop = stop
			}
			return cz, nil
		}
		if next <= cz.End { // cannot happen: a member is at least its header
			cz.Stop = fmt.Errorf("member at offset 0x%x does not move forward", cz.End)
			return cz, nil
		}
		cz.End = min(next, size) // a data descriptor may be cut off
	}
}

// errZipEnd: no further local header (the central directory, or the end).
var errZipEnd = errors.New("no further member")

// cutMember reads the member whose local header is at off and returns
// where the next one starts; stop says why there is none, err is the
// error of fn (or of the budget) that stops the walk.
func cutMember(ra io.ReaderAt, size, off int64, b *Budget, cz *CutZip, fn func(e *Entry) error) (next int64, stop, err error) {
	var h [localHeaderSize]byte
	if off > size-localHeaderSize {
		return off, errZipEnd, nil
	}
	if n, _ := ra.ReadAt(h[:], off); n < len(h) || binary.LittleEndian.Uint32(h[:]) != localHeaderSig {
		return off, errZipEnd, nil
	}
	flags := binary.LittleEndian.Uint16(h[6:])
	method := binary.LittleEndian.Uint16(h[8:])
	crc := binary.LittleEndian.Uint32(h[14:])
	csize := uint64(binary.LittleEndian.Uint32(h[18:]))
	usize := uint64(binary.LittleEndian.Uint32(h[22:]))
	nameLen := int64(binary.LittleEndian.Uint16(h[26:]))
	extraLen := int64(binary.LittleEndian.Uint16(h[28:]))
	data := off + localHeaderSize + nameLen + extraLen
	if data > size {
		return off, fmt.Errorf("local header at offset 0x%x cut", off), nil
	}
	meta := make([]byte, nameLen+extraLen)
	if n, _ := ra.ReadAt(meta, off+localHeaderSize); int64(n) < int64(len(meta)) {
		return off, fmt.Errorf("local header at offset 0x%x cut", off), nil
	}
	if zc, zu, ok := zip64Sizes(meta[nameLen:], csize, usize); ok {
		csize, usize = zc, zu
	}
	streamed := flags&flagStreamed != 0
	sized := !streamed || csize > 0
	avail := uint64(size - data)
	cut := sized && csize > avail // the data goes past the end of the file
	length := int64(min(csize, avail))
	if !sized {
		length = int64(avail)
	}

	e := &Entry{Name: string(meta[:nameLen]), Kind: File, Size: sizeHint(usize)}
	if e.Name != "" && e.Name[len(e.Name)-1] == '/' {
		e.Kind = Dir
	}
	var s *Stream
	switch {
	case flags&flagEncrypted != 0:
		e.open = func() (io.Reader, error) { return nil, ErrEncrypted }
	case method != methodStore && method != methodDeflate:
		e.open = func() (io.Reader, error) { return nil, ErrMethod }
	case method == methodStore && !sized:
		return off, fmt.Errorf("stored member %q at offset 0x%x of unknown size", e.Name, off), nil
	default:
		sr := io.NewSectionReader(ra, data, length)
		if method == methodStore {
			s = newStored(sr)
		} else {
			s = newFlate(sr, b)
		}
		switch {
		case cut:
			s.expect(e.Size, 0, false)
			s.cut = true
		case !streamed:
			s.expect(e.Size, crc, true)
		}
		e.open = func() (io.Reader, error) { e.stream = s; return s, nil }
	}
	cz.Members++
	if err := fn(e); err != nil {
		return off, nil, err
	}
	switch {
	case cut:
		return off, fmt.Errorf("member %q at offset 0x%x cut", e.Name, off), nil
	case sized:
		next := data + int64(csize)
		if streamed {
			next = skipDataDescriptor(ra, next)
		}
		return next, nil, nil
	case s == nil:
		return off, fmt.Errorf("member %q at offset 0x%x of unknown size", e.Name, off), nil
	}
	// A streamed deflate member: its data ends where the deflate stream
	// does, known once it was read to its end.
	if err := s.drain(); err != nil {
		if errors.Is(err, ErrLimit) {
			return off, nil, err
		}
		return off, fmt.Errorf("member %q at offset 0x%x: %w", e.Name, off, err), nil
	}
	if s.Damage() != nil {
		return off, fmt.Errorf("member %q at offset 0x%x cut", e.Name, off), nil
	}
	return skipDataDescriptor(ra, data+s.in.n), nil, nil
}

// zip64Sizes returns the sizes of a zip64 extra field, when the header's
// are the zip64 marker.
func zip64Sizes(extra []byte, csize, usize uint64) (uint64, uint64, bool) {
	if csize != 0xffffffff && usize != 0xffffffff {
		return 0, 0, false
	}
	for len(extra) >= 4 {
		id, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
		body := extra[4:min(4+n, len(extra))]
		if id == 0x0001 && len(body) >= 16 {
			return binary.LittleEndian.Uint64(body[8:]), binary.LittleEndian.Uint64(body), true
		}
		extra = extra[min(4+n, len(extra)):]
	}
	return 0, 0, false
}

// skipDataDescriptor returns the offset after the data descriptor at off
// (with or without its signature; 32-bit sizes, or 64-bit ones when a
// local header follows only then).
func skipDataDescriptor(ra io.ReaderAt, off int64) int64 {
	var b [4]byte
	ra.ReadAt(b[:], off)
	start := off
	if binary.LittleEndian.Uint32(b[:]) == dataDescSig {
		start += 4
	}
	for _, n := range []int64{12, 20} { // crc + sizes of 4 or 8 bytes
		ra.ReadAt(b[:], start+n)
		if binary.LittleEndian.Uint32(b[:]) == localHeaderSig {
			return start + n
		}
	}
	return start + 12
}
