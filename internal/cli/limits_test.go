package cli

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSizeValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64 // 0: an error
	}{
		{"1024", 1024},
		{"64K", 64 << 10},
		{"500M", 500 << 20},
		{"16G", 16 << 30},
		{"16GiB", 16 << 30},
		{"2TB", 2 << 40},
		{"1.5G", 3 << 29},
		{"0", 0},
		{"-1G", 0},
		{"5X", 0},
		{"G", 0},
		{"0.1", 0}, // under a byte: not 0, the default
		{"0.5K", 512},
	} {
		var v sizeValue
		err := v.Set(tc.in)
		if got := int64(v); (err != nil) != (tc.want == 0) || got != tc.want {
			t.Errorf("Set(%q): got %d, %v; want %d", tc.in, got, err, tc.want)
		}
		// A value with no number first is not blamed on its unit.
		if err != nil && strings.HasPrefix(tc.in, "-") && strings.Contains(err.Error(), "unit") {
			t.Errorf("Set(%q): got %q, want no mention of a unit", tc.in, err)
		}
	}
}

// TestLimitsFlags checks that dump and hunt take --max-decompressed and
// --max-ratio, and that a bad value is a usage error.
func TestLimitsFlags(t *testing.T) {
	for _, args := range [][]string{
		{"dump", "--max-decompressed", "lots", "x"},
		{"hunt", "--max-ratio", "-2", "x"},
	} {
		if code, _, _ := run(t, t.Context(), args...); code != ExitUsage {
			t.Errorf("%q: got exit %d, want %d", args, code, ExitUsage)
		}
	}
}

// TestLimitReached: an input stopped by a limit is named with the flags
// that raise it, and a run that read nothing else says nothing could be
// read (not that there were no logs).
func TestLimitReached(t *testing.T) {
	requireJSONReader(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(strings.Repeat(`{"Channel":"Security","EventID":4624}`+"\n", 1000)))
	zw.Close()
	gz := filepath.Join(t.TempDir(), "events.json.gz")
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, t.Context(), "dump", "-q", "--max-decompressed", "1K", gz)
	for _, want := range []string{gz, "--max-decompressed and --max-ratio raise the limits", "nothing could be read"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr: got %q, want it to contain %q", stderr, want)
		}
	}
	if code != ExitFailure {
		t.Errorf("got exit %d, want %d", code, ExitFailure)
	}
}
