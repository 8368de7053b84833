package source

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestNULPadding checks that a JSON log after NUL padding longer than the
// head sniffed (a log zero-filled after a crash, or preallocated) is still
// read as JSON, from a file and from a stream (a gzip member), and that a
// file of NULs alone is not a log.
func TestNULPadding(t *testing.T) {
	dir := t.TempDir()
	lines := []byte("{\"EventID\":1}\n{\"EventID\":2}\n")
	padded := writeFile(t, filepath.Join(dir, "padded.json"), append(make([]byte, 1<<20), lines...))
	streamed := writeFile(t, filepath.Join(dir, "streamed.json.gz"), gzipBytes(t, append(make([]byte, 32<<10), lines...)))
	zeros := writeFile(t, filepath.Join(dir, "zeros.bin"), make([]byte, 1<<20))
	got, sum := read(t, []string{padded, streamed, zeros}, Options{formats: realFormats})
	want := []string{padded + "#1", padded + "#2", streamed + "#1", streamed + "#2"}
	if g := names(got); !slices.Equal(g, want) {
		t.Errorf("events: got %q, want %q", g, want)
	}
	if !slices.Equal(sum.NotLogs, []string{zeros}) {
		t.Errorf("not logs: got %q, want %q", sum.NotLogs, zeros)
	}
}
