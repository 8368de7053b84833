package detect

import (
	"slices"
	"unicode"
	"unicode/utf8"
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
