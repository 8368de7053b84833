package detect

import (
	"encoding/base64"
	"fmt"
)

// The base64 and base64offset modifiers: the value (after any utf16
// encoding) is Base64-encoded. base64offset gives the three encodings of the
// value shifted by zero, one and two bytes, trimmed to the characters that do
// not depend on the surrounding bytes, so that contains finds the value
// anywhere inside a longer encoded text. Both need values without
// wildcards.

// encodeBase64 encodes the literal text of s.
func encodeBase64(s sigmaString) ([]sigmaString, error) {
	if s.hasWildcards() {
		return nil, fmt.Errorf("%w: base64 of a value with wildcards (%s)", ErrValue, s)
	}
	return []sigmaString{literalString(base64.StdEncoding.EncodeToString([]byte(s.plain())))}, nil
}

// encodeBase64Offset returns the three shifted encodings of s.
func encodeBase64Offset(s sigmaString) ([]sigmaString, error) {
	if s.hasWildcards() {
		return nil, fmt.Errorf("%w: base64offset of a value with wildcards (%s)", ErrValue, s)
	}
	return base64Offsets(s.plain()), nil
}

// base64Offsets encodes v behind 0, 1 and 2 filler bytes and keeps the part
// of each encoding that only v's bytes determine.
func base64Offsets(v string) []sigmaString {
	var out []sigmaString
	for shift := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, shift), v...))
		// The filler bytes own the first 0, 2 or 3 characters (the second
		// or third is shared with v's first byte).
		start := [3]int{0, 2, 3}[shift]
		// A final group of one or two bytes ends in a character shared
		// with the padding, then the '=' signs.
		end := len(enc) - [3]int{0, 3, 2}[(len(v)+shift)%3]
		if end > start {
			out = append(out, literalString(enc[start:end]))
		}
	}
	return out
}
