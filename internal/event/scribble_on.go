//go:build spoorscribble

package event

// Scribbling is true in builds with the spoorscribble tag: see scribble.go.
const Scribbling = true

// Scribble overwrites b with a byte pattern that is never valid text (0xDB
// is a UTF-8 lead byte with no continuation), so any string still pointing
// into b reads as junk.
func Scribble(b []byte) {
	for i := range b {
		b[i] = 0xDB
	}
}
