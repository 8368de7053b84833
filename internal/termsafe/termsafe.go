// Package termsafe makes text read from evidence safe to print on a
// terminal. Event data, rule packs and partners' bundles are written by
// whoever wrote them, an attacker included, and a terminal obeys the
// control characters in them: escape sequences move the cursor, retitle
// the window, hide text or colour it away; a carriage return lets a line
// overwrite the one before it; bidirectional overrides show a name
// reversed. Such characters are printed escaped instead (\x1b, \u202e), so
// that the reader sees them.
package termsafe

import (
	"io"
	"unicode/utf8"
)

// Writer escapes what is written through it: control characters but for
// line feeds and tabs, DEL, the C1 controls, bidirectional formatting
// characters and bytes that are not UTF-8. The escape sequences in Keep
// (the report's own colours) pass as they are. Each Write must hold whole
// characters and whole kept sequences, as one fmt.Fprintf's write does:
// put a Writer above any buffering, not below it.
type Writer struct {
	W    io.Writer
	Keep []string
	buf  []byte
}

// NewWriter escapes what is written to w.
func NewWriter(w io.Writer, keep ...string) *Writer { return &Writer{W: w, Keep: keep} }

// Write writes p escaped; it reports len(p) when the escaped text was
// written whole.
func (w *Writer) Write(p []byte) (int, error) {
	if clean(p) {
		return w.W.Write(p)
	}
	w.buf = appendEscaped(w.buf[:0], p, w.Keep)
	if _, err := w.W.Write(w.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// String returns s escaped, with no sequence kept.
func String(s string) string {
	if clean([]byte(s)) {
		return s
	}
	return string(appendEscaped(nil, []byte(s), nil))
}

// clean reports whether p is printable ASCII, line feeds and tabs: the
// common case, passed through with no copy.
func clean(p []byte) bool {
	for _, c := range p {
		if c >= 0x7f || c < ' ' && c != '\n' && c != '\t' {
			return false
		}
	}
	return true
}

func appendEscaped(dst, p []byte, keep []string) []byte {
	for i := 0; i < len(p); {
		c := p[i]
		if c == 0x1b {
			if k := kept(p[i:], keep); k > 0 {
				dst = append(dst, p[i:i+k]...)
				i += k
				continue
			}
		}
		if c < utf8.RuneSelf {
			if c >= ' ' && c != 0x7f || c == '\n' || c == '\t' {
				dst = append(dst, c)
			} else {
				dst = append(dst, `\x`...)
				dst = append(dst, hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, `\x`...)
			dst = append(dst, hex[c>>4], hex[c&0xf])
		case unsafeRune(r):
			dst = append(dst, `\u`...) // every unsafe rune is below U+10000
			dst = append(dst, hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			dst = append(dst, p[i:i+n]...)
		}
		i += n
	}
	return dst
}

const hex = "0123456789abcdef"

// kept is the length of the sequence of keep that p starts with, or 0.
func kept(p []byte, keep []string) int {
	for _, k := range keep {
		if len(p) >= len(k) && string(p[:len(k)]) == k {
			return len(k)
		}
	}
	return 0
}

// unsafeRune reports the characters beyond ASCII a terminal acts on or
// that reorder what is shown: C1 controls, bidirectional marks, embeddings,
// overrides and isolates, and the line and paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
