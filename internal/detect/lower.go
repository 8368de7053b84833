package detect

import (
	"encoding/binary"
	"slices"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Case-insensitive matching compares lower-cased forms: every rune is mapped
// with unicode.ToLower (a one-to-one rune mapping, so a `?` wildcard still
// matches exactly one character), and bytes that are not valid UTF-8 are
// kept as they are. Rule literals are lower-cased once at compile time and
// event text once per event.

// appendLower appends the lower-cased form of s to dst.
func appendLower(dst []byte, s string) []byte {
	dst = slices.Grow(dst, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, lowerASCII[c])
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, c)
			i++
			continue
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		i += size
	}
	return dst
}

// firstUpper returns the offset of the first character of s that
// lower-casing changes, or -1 when s is its own lower-cased form.
func firstUpper(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				return i
			}
			continue
		}
		// Rare: non-ASCII text, checked rune by rune from here.
		for j := i; j < len(s); {
			r, size := utf8.DecodeRuneInString(s[j:])
			if r < utf8.RuneSelf {
				if 'A' <= r && r <= 'Z' {
					return j
				}
			} else if !(r == utf8.RuneError && size == 1) && unicode.ToLower(r) != r {
				return j
			}
			j += size
		}
		return -1
	}
	return -1
}

// lowerASCII maps each ASCII byte to its lower case.
var lowerASCII = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		t[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			t[c] += 'a' - 'A'
		}
	}
	return t
}()

// foldASCII maps each byte to its ASCII lower case (bytes of 0x80 and
// above to themselves). The prefilter's scanners read text through it, so
// that ASCII text needs no lower-cased copy: for ASCII text, folding byte
// by byte is exactly lower-casing.
var foldASCII = func() (t [256]byte) {
	for c := range t {
		t[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			t[c] += 'a' - 'A'
		}
	}
	return t
}()

// isASCII reports whether s holds only ASCII bytes.
func isASCII(s string) bool {
	b := unsafe.Slice(unsafe.StringData(s), len(s)) // read only
	for len(b) >= 16 {
		if (binary.LittleEndian.Uint64(b)|binary.LittleEndian.Uint64(b[8:]))&0x8080808080808080 != 0 {
			return false
		}
		b = b[16:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// hasFoldPrefix reports whether t starts with lit (lower-case) once t's
// ASCII letters are folded.
func hasFoldPrefix(t, lit string) bool {
	if len(t) < len(lit) {
		return false
	}
	for k := 0; k < len(lit); k++ {
		if foldASCII[t[k]] != lit[k] {
			return false
		}
	}
	return true
}

// isLower reports whether s is its own lower-cased form, so it can be used
// without copying.
func isLower(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !(r == utf8.RuneError && size == 1) && unicode.ToLower(r) != r {
			return false
		}
		i += size
	}
	return true
}

// toLower returns the lower-cased form of s (compile time only).
func toLower(s string) string {
	if isLower(s) {
		return s
	}
	return string(appendLower(nil, s))
}
