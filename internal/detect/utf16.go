package detect

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// The utf16le (alias wide), utf16be and utf16 modifiers encode the value's
// text as UTF-16: little-endian, big-endian, or little-endian behind the
// byte order mark FF FE. They are meant to be chained before base64 or
// base64offset, and need values without wildcards.

// encodeUTF16 encodes the literal text of s as mod says.
func encodeUTF16(s sigmaString, mod sigma.Modifier) ([]sigmaString, error) {
	if s.hasWildcards() {
		return nil, fmt.Errorf("%w: %s of a value with wildcards (%s)", ErrValue, mod, s)
	}
	text := s.plain()
	var b []byte
	if mod == sigma.ModUTF16 {
		b = append(b, 0xff, 0xfe)
	}
	for _, u := range utf16.Encode([]rune(validUTF8(text))) {
		if mod == sigma.ModUTF16BE {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return []sigmaString{literalString(string(b))}, nil
}

// validUTF8 returns s with invalid bytes replaced by U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string([]rune(s))
}
