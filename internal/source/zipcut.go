package source

import (
	"bufio"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/spoor-hunt/spoor/internal/event"
)

// A zip archive's table of contents (the central directory) is at its end,
// so a copy cut short, as collections sometimes arrive, has none. Its
// members can still be found from the front: each starts with a local
// header that names it and, unless it was written as a stream, gives its
// size. cutZip reads them that way.

const (
	localHeaderSig   = 0x04034b50
	localHeaderSize  = 30
	dataDescSig      = 0x08074b50
	zipFlagEncrypted = 0x1
	zipFlagStreamed  = 0x8 // sizes in a data descriptor after the data
)

// cutZip reads the members of the zip archive in ra whose central
// directory could not be read (openErr), from their local headers, until
// the data ends or stops making sense. The archive is reported damaged
// with openErr and how far it was read; the members before the cut are
// read in full, the one it cuts as far as it goes. When not even one
// member is whole, the archive is reported failed, as before.
func (w *worker) cutZip(ctx context.Context, in input, ra io.ReaderAt, size int64, openErr error) error {
	off, members := int64(0), 0
	var stop error
	for stop == nil {
		var err error
		off, err = w.cutZipMember(ctx, in, ra, size, off)
		switch {
		case errors.Is(err, errZipEnd):
			stop = errZipEnd
		case err != nil && ctx.Err() != nil:
			return err
		case err != nil:
			stop = err
		default:
			members++
		}
	}
	if members == 0 {
		// Not a zip that was cut, or cut in its first member: nothing
		// to show for it.
		w.res.fail(in.name, openErr, 0)
		return nil
	}
	w.res.byType[Zip]++
	where := fmt.Sprintf("central directory (%d members read from their local headers)", members)
	if !errors.Is(stop, errZipEnd) {
		where = fmt.Sprintf("central directory (%d members read from their local headers; stopped at offset 0x%x: %v)", members, off, stop)
	}
	w.res.damaged = append(w.res.damaged, Damage{Name: in.name, Skips: 1,
		First: []event.SkipError{{Source: in.name, Where: where, Err: openErr}}})
	w.opts.Logger.Debug("zip without central directory", "source", in.name, "members", members)
	return nil
}

// errZipEnd: no further local header (the central directory, or the end).
var errZipEnd = errors.New("no further member")

// cutZipMember reads the member whose local header is at off and returns
// where the next one starts.
func (w *worker) cutZipMember(ctx context.Context, in input, ra io.ReaderAt, size, off int64) (int64, error) {
	var h [localHeaderSize]byte
	if n, _ := ra.ReadAt(h[:], off); n < len(h) || binary.LittleEndian.Uint32(h[:]) != localHeaderSig {
		return off, errZipEnd
	}
	flags := binary.LittleEndian.Uint16(h[6:])
	method := binary.LittleEndian.Uint16(h[8:])
	csize := int64(binary.LittleEndian.Uint32(h[18:]))
	usize := int64(binary.LittleEndian.Uint32(h[22:]))
	nameLen := int64(binary.LittleEndian.Uint16(h[26:]))
	extraLen := int64(binary.LittleEndian.Uint16(h[28:]))
	meta := make([]byte, nameLen+extraLen)
	if n, _ := ra.ReadAt(meta, off+localHeaderSize); int64(n) < nameLen+extraLen {
		return off, fmt.Errorf("local header cut")
	}
	if zc, zu, ok := zip64Sizes(meta[nameLen:], csize, usize); ok {
		csize, usize = zc, zu
	}
	data := off + localHeaderSize + nameLen + extraLen
	name := memberName(in.name, string(meta[:nameLen]))
	streamed := flags&zipFlagStreamed != 0
	sized := !streamed || csize > 0
	switch {
	case flags&zipFlagEncrypted != 0:
		w.res.fail(name, errEncrypted, 0)
		if !sized {
			return data, fmt.Errorf("encrypted member of unknown size")
		}
		return data + csize, nil
	case method != 0 && method != 8:
		w.res.fail(name, fmt.Errorf("zip method %d not supported", method), 0)
		if !sized {
			return data, fmt.Errorf("member of unknown size")
		}
		return data + csize, nil
	case method == 0 && !sized:
		return data, fmt.Errorf("stored member of unknown size")
	}
	end := size
	if sized {
		end = min(data+csize, size)
	}
	cr := &countingByteReader{br: bufio.NewReader(io.NewSectionReader(ra, data, end-data))}
	var r io.Reader = cr
	if method == 8 {
		fr := flate.NewReader(cr)
		defer fr.Close()
		r = fr
	}
	if err := w.visit(ctx, input{name: name, r: r, size: usize, depth: in.depth + 1}); err != nil {
		return data, err
	}
	if sized {
		if data+csize > size {
			return data, fmt.Errorf("member %s cut", name)
		}
		next := data + csize
		if streamed {
			next = skipDataDescriptor(ra, next)
		}
		return next, nil
	}
	// A streamed deflate member: its data ends where the stream does.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return data, fmt.Errorf("member %s cut: %w", name, err)
	}
	return skipDataDescriptor(ra, data+cr.n), nil
}

// zip64Sizes returns the sizes of a zip64 extra field, when the header's
// are the zip64 marker.
func zip64Sizes(extra []byte, csize, usize int64) (int64, int64, bool) {
	if csize != 0xffffffff && usize != 0xffffffff {
		return 0, 0, false
	}
	for len(extra) >= 4 {
		id, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
		body := extra[4:min(4+n, len(extra))]
		if id == 0x0001 && len(body) >= 16 {
			return int64(binary.LittleEndian.Uint64(body[8:])), int64(binary.LittleEndian.Uint64(body)), true
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

// countingByteReader counts the bytes its callers take, so that the end of
// a deflate stream (which reads through io.ByteReader, never ahead) is
// known.
type countingByteReader struct {
	br *bufio.Reader
	n  int64
}

func (c *countingByteReader) Read(p []byte) (int, error) {
	n, err := c.br.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingByteReader) ReadByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}
