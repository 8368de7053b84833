//go:build !spoorscribble

package event

// Scribbling is true in builds with the spoorscribble tag. Readers then
// overwrite every buffer they own with junk before they reuse or drop it, so
// a consumer that kept a string past the reader's reuse contract sees
// garbage in tests instead of plausible text.
const Scribbling = false

// Scribble overwrites b with junk when Scribbling is true; otherwise it does
// nothing (and compiles to nothing).
func Scribble(b []byte) {}
