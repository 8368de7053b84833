package evtx

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Value types of binary XML substitutions ([MS-EVEN6] 2.2.12 and 3.1.4.7.3).
const (
	typeNull      = 0x00
	typeString    = 0x01
	typeAnsi      = 0x02
	typeInt8      = 0x03
	typeUint8     = 0x04
	typeInt16     = 0x05
	typeUint16    = 0x06
	typeInt32     = 0x07
	typeUint32    = 0x08
	typeInt64     = 0x09
	typeUint64    = 0x0a
	typeReal32    = 0x0b
	typeReal64    = 0x0c
	typeBool      = 0x0d
	typeBinary    = 0x0e
	typeGUID      = 0x0f
	typeSizeT     = 0x10
	typeFileTime  = 0x11
	typeSysTime   = 0x12
	typeSID       = 0x13
	typeHexInt32  = 0x14
	typeHexInt64  = 0x15
	typeBinXML    = 0x21
	typeArrayFlag = 0x80
)

// arena is an append-only byte buffer that backs the strings of one chunk's
// events. Strings made by it alias its memory: they stay valid until the
// arena is reset, which the reader does only after the consumer has moved
// past every event of the chunk. Growing the arena moves later writes to new
// memory and never touches bytes that a string already refers to.
type arena struct {
	b []byte
}

func (a *arena) reset() {
	event.Scribble(a.b)
	a.b = a.b[:0]
}

// str returns the bytes written since start as a string over the arena.
func (a *arena) str(start int) string {
	if start >= len(a.b) {
		return ""
	}
	return unsafe.String(&a.b[start], len(a.b)-start)
}

// offset returns where the non-empty string s starts in the arena's
// current buffer, or -1 when s does not lie in it (it is elsewhere, or in
// the memory the arena had before it grew).
func (a *arena) offset(s string) int {
	if len(s) == 0 || len(a.b) == 0 {
		return -1
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(a.b)))
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	if p < base || p-base > uintptr(len(a.b)) || uintptr(len(s)) > uintptr(len(a.b))-(p-base) {
		return -1
	}
	return int(p - base)
}

// utf16 appends the UTF-16LE text in p (an even or odd number of bytes; an
// odd trailing byte is ignored) as UTF-8 and returns it as a string.
// Unpaired surrogates become U+FFFD.
func (a *arena) utf16(p []byte) string {
	start := len(a.b)
	a.b = appendUTF16(a.b, p)
	return a.str(start)
}

// utf16Value returns the UTF-16LE text in p as a String value, marked
// ASCII when it is: exactly then is the UTF-8 one byte per code unit (any
// other code unit, pair or invalid unit takes two bytes or more).
func (a *arena) utf16Value(p []byte) event.Value {
	start := len(a.b)
	a.b = appendUTF16(a.b, p)
	if len(a.b)-start == len(p)/2 {
		return event.ASCIIStringValue(a.str(start))
	}
	return event.StringValue(a.str(start))
}

// appendUTF16 appends the UTF-16LE text in p to dst as UTF-8.
func appendUTF16(dst, p []byte) []byte {
	n := len(p) / 2
	i := 0
	// Fast path: ASCII, eight code units at a time, written in place.
	if n >= 8 {
		dst = slices.Grow(dst, n)
		out := dst[len(dst) : len(dst)+n]
		for ; i+8 <= n; i += 8 {
			w0 := binary.LittleEndian.Uint64(p[2*i:])
			w1 := binary.LittleEndian.Uint64(p[2*i+8:])
			if (w0|w1)&0xff80ff80ff80ff80 != 0 {
				break
			}
			binary.LittleEndian.PutUint64(out[i:], pack4(w0)|pack4(w1)<<32)
		}
		for ; i+4 <= n; i += 4 {
			w := binary.LittleEndian.Uint64(p[2*i:])
			if w&0xff80ff80ff80ff80 != 0 {
				break
			}
			binary.LittleEndian.PutUint32(out[i:], uint32(pack4(w)))
		}
		dst = dst[:len(dst)+i]
	} else {
		for ; i+4 <= n; i += 4 {
			w := binary.LittleEndian.Uint64(p[2*i:])
			if w&0xff80ff80ff80ff80 != 0 {
				break
			}
			dst = binary.LittleEndian.AppendUint32(dst, uint32(pack4(w)))
		}
	}
	for ; i < n; i++ {
		c := uint16(p[2*i]) | uint16(p[2*i+1])<<8
		switch {
		case c < utf8.RuneSelf:
			dst = append(dst, byte(c))
		case c < 0xd800 || c > 0xdfff:
			dst = utf8.AppendRune(dst, rune(c))
		case c < 0xdc00 && i+1 < n:
			c2 := uint16(p[2*i+2]) | uint16(p[2*i+3])<<8
			if c2 >= 0xdc00 && c2 <= 0xdfff {
				dst = utf8.AppendRune(dst, utf16.DecodeRune(rune(c), rune(c2)))
				i++
				continue
			}
			dst = utf8.AppendRune(dst, utf8.RuneError)
		default:
			dst = utf8.AppendRune(dst, utf8.RuneError)
		}
	}
	return dst
}

// pack4 packs the low bytes of four little-endian 16-bit units into 32 bits.
func pack4(w uint64) uint64 {
	return w&0xff | w>>8&0xff00 | w>>16&0xff0000 | w>>24&0xff000000
}

// trimUTF16 drops trailing NUL and white space (space, tab, CR, LF) code
// units from UTF-16LE text. String values lose trailing white space as
// evtx_dump renders them, which is what SigmaHQ's regression data (and so
// the rules tested against it) expect.
func trimUTF16(p []byte) []byte {
	p = p[:len(p)&^1]
	for len(p) >= 2 && p[len(p)-1] == 0 && (p[len(p)-2] == 0 || isSpace(p[len(p)-2])) {
		p = p[:len(p)-2]
	}
	return p
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// appendAnsi appends 8-bit text as UTF-8, reading bytes above 0x7f as
// Latin-1 (the code page is not recorded in the file).
func appendAnsi(dst, p []byte) []byte {
	for _, c := range p {
		if c < utf8.RuneSelf {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return dst
}

const upperHex = "0123456789ABCDEF"

// appendGUID appends the 16-byte GUID in p as {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}.
func appendGUID(dst, p []byte) []byte {
	var b [38]byte
	_ = p[15]
	hex := func(at int, c byte) {
		b[at], b[at+1] = upperHex[c>>4], upperHex[c&0xf]
	}
	b[0], b[9], b[14], b[19], b[24], b[37] = '{', '-', '-', '-', '-', '}'
	hex(1, p[3])
	hex(3, p[2])
	hex(5, p[1])
	hex(7, p[0])
	hex(10, p[5])
	hex(12, p[4])
	hex(15, p[7])
	hex(17, p[6])
	hex(20, p[8])
	hex(22, p[9])
	for i := 10; i < 16; i++ {
		hex(25+2*(i-10), p[i])
	}
	return append(dst, b[:]...)
}

// sidLen returns the size of the SID at the start of p, or 0 when p is too
// short to hold one.
func sidLen(p []byte) int {
	if len(p) < 8 {
		return 0
	}
	n := 8 + 4*int(p[1])
	if n > len(p) {
		return 0
	}
	return n
}

// appendSID appends the SID in p (see sidLen) in its S-1-5-18 form.
func appendSID(dst, p []byte) []byte {
	dst = append(dst, 'S', '-')
	dst = strconv.AppendUint(dst, uint64(p[0]), 10)
	var auth uint64
	for _, c := range p[2:8] {
		auth = auth<<8 | uint64(c)
	}
	dst = append(dst, '-')
	if auth >= 1<<32 {
		dst = append(dst, '0', 'x')
		for s := 44; s >= 0; s -= 4 {
			dst = append(dst, upperHex[auth>>uint(s)&0xf])
		}
	} else {
		dst = strconv.AppendUint(dst, auth, 10)
	}
	for i := 8; i+4 <= len(p); i += 4 {
		dst = append(dst, '-')
		dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(p[i:])), 10)
	}
	return dst
}

// appendHex appends u as 0x followed by lower-case hex digits.
func appendHex(dst []byte, u uint64) []byte {
	dst = append(dst, '0', 'x')
	return strconv.AppendUint(dst, u, 16)
}

// appendBinary appends p as upper-case hex digits.
func appendBinary(dst, p []byte) []byte {
	for _, c := range p {
		dst = append(dst, upperHex[c>>4], upperHex[c&0xf])
	}
	return dst
}

// Seconds from 1601-01-01 (the FILETIME epoch) to 1970-01-01.
const filetimeEpochDelta = 11644473600

// filetimeValue converts a FILETIME (100 ns intervals since 1601 UTC) to a
// Time value.
func filetimeValue(ft uint64) event.Value {
	return event.UnixValue(int64(ft/1e7)-filetimeEpochDelta, uint32(ft%1e7)*100)
}

// systemtimeValue converts a 16-byte SYSTEMTIME to a Time value.
func systemtimeValue(p []byte) event.Value {
	u := func(i int) int { return int(binary.LittleEndian.Uint16(p[2*i:])) }
	t := time.Date(u(0), time.Month(u(1)), u(3), u(4), u(5), u(6), u(7)*1e6, time.UTC)
	return event.TimeValue(t)
}

// fixedSize is the size of one element of the fixed-size value types, 0 for
// variable-size ones.
var fixedSize = [32]uint8{
	typeInt8: 1, typeUint8: 1, typeInt16: 2, typeUint16: 2,
	typeInt32: 4, typeUint32: 4, typeInt64: 8, typeUint64: 8,
	typeReal32: 4, typeReal64: 8, typeBool: 4, typeGUID: 16,
	typeFileTime: 8, typeSysTime: 16, typeHexInt32: 4, typeHexInt64: 8,
}

// scalar decodes one value of a non-array type from p, which holds exactly
// that value's bytes. Strings are written to a. Sizes that do not match the
// type are read leniently: missing bytes count as zero.
func scalar(a *arena, typ byte, p []byte) event.Value {
	if fs := int(fixedSize[typ&0x1f]); typ < 0x20 && fs > 0 && len(p) < fs {
		var pad [16]byte
		copy(pad[:], p)
		p = pad[:fs]
	}
	switch typ {
	case typeNull:
		return event.Value{}
	case typeString:
		return a.utf16Value(trimUTF16(p))
	case typeAnsi:
		for len(p) > 0 && (p[len(p)-1] == 0 || isSpace(p[len(p)-1])) {
			p = p[:len(p)-1]
		}
		start := len(a.b)
		a.b = appendAnsi(a.b, p)
		return event.StringValue(a.str(start))
	case typeInt8:
		return event.IntValue(int64(int8(p[0])))
	case typeUint8:
		return event.UintValue(uint64(p[0]))
	case typeInt16:
		return event.IntValue(int64(int16(binary.LittleEndian.Uint16(p))))
	case typeUint16:
		return event.UintValue(uint64(binary.LittleEndian.Uint16(p)))
	case typeInt32:
		return event.IntValue(int64(int32(binary.LittleEndian.Uint32(p))))
	case typeUint32:
		return event.UintValue(uint64(binary.LittleEndian.Uint32(p)))
	case typeInt64:
		return event.IntValue(int64(binary.LittleEndian.Uint64(p)))
	case typeUint64:
		return event.UintValue(binary.LittleEndian.Uint64(p))
	case typeReal32:
		return event.FloatValue(float64(math.Float32frombits(binary.LittleEndian.Uint32(p))))
	case typeReal64:
		return event.FloatValue(math.Float64frombits(binary.LittleEndian.Uint64(p)))
	case typeBool:
		for _, c := range p {
			if c != 0 {
				return event.BoolValue(true)
			}
		}
		return event.BoolValue(false)
	case typeGUID:
		start := len(a.b)
		a.b = appendGUID(a.b, p)
		return event.StringValue(a.str(start))
	case typeSizeT, typeHexInt32, typeHexInt64:
		var u uint64
		switch {
		case len(p) >= 8:
			u = binary.LittleEndian.Uint64(p)
		case len(p) >= 4:
			u = uint64(binary.LittleEndian.Uint32(p))
		default:
			for i := len(p) - 1; i >= 0; i-- {
				u = u<<8 | uint64(p[i])
			}
		}
		if typ == typeHexInt32 {
			u &= 0xffffffff
		}
		start := len(a.b)
		a.b = appendHex(a.b, u)
		return event.StringValue(a.str(start))
	case typeFileTime:
		return filetimeValue(binary.LittleEndian.Uint64(p))
	case typeSysTime:
		return systemtimeValue(p)
	case typeSID:
		n := sidLen(p)
		if n == 0 {
			return hexString(a, p)
		}
		start := len(a.b)
		a.b = appendSID(a.b, p[:n])
		return event.StringValue(a.str(start))
	}
	// Binary, and types this decoder does not know: hex.
	return hexString(a, p)
}

func hexString(a *arena, p []byte) event.Value {
	if len(p) == 0 {
		return event.StringValue("")
	}
	start := len(a.b)
	a.b = appendBinary(a.b, p)
	return event.StringValue(a.str(start))
}

// array decodes an array value (typ has the 0x80 flag) from p into a List
// whose elements are appended to *vals. Arrays of strings are separated by
// NUL characters; arrays of SIDs are self-delimiting.
func array(a *arena, vals *[]event.Value, typ byte, p []byte) event.Value {
	base := typ &^ typeArrayFlag
	start := len(*vals)
	switch base {
	case typeString:
		p = p[:len(p)&^1]
		for len(p) > 0 {
			end := 0
			for end+1 < len(p) && (p[end] != 0 || p[end+1] != 0) {
				end += 2
			}
			*vals = append(*vals, a.utf16Value(trimUTF16(p[:end])))
			if end+2 > len(p) {
				break
			}
			p = p[end+2:]
		}
	case typeAnsi:
		for len(p) > 0 {
			end := 0
			for end < len(p) && p[end] != 0 {
				end++
			}
			s := len(a.b)
			a.b = appendAnsi(a.b, p[:end])
			*vals = append(*vals, event.StringValue(a.str(s)))
			if end+1 > len(p) {
				break
			}
			p = p[end+1:]
		}
	case typeSID:
		for len(p) > 0 {
			n := sidLen(p)
			if n == 0 {
				*vals = append(*vals, hexString(a, p))
				break
			}
			*vals = append(*vals, scalar(a, typeSID, p[:n]))
			p = p[n:]
		}
	case typeSizeT:
		// Size types in arrays pair with 64-bit hex on 64-bit systems.
		for len(p) >= 8 {
			*vals = append(*vals, scalar(a, typeHexInt64, p[:8]))
			p = p[8:]
		}
	default:
		fs := 0
		if base < 0x20 {
			fs = int(fixedSize[base])
		}
		if fs == 0 {
			return hexString(a, p)
		}
		for len(p) >= fs {
			*vals = append(*vals, scalar(a, base, p[:fs]))
			p = p[fs:]
		}
	}
	if len(*vals) == start {
		return event.Value{}
	}
	return event.ListValue((*vals)[start:len(*vals):len(*vals)])
}

func unsafeStringData(s string) *byte { return unsafe.StringData(s) }
