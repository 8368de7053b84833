package archive

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"testing"
)

// TestSpoolLeavesNoName: a spool in a temporary file is read back whole,
// and (where the system allows it) its file has no name in the folder
// while it is open, so that a process killed while spooling leaves
// nothing behind; after Close the folder is empty everywhere.
func TestSpoolLeavesNoName(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("spoor"), 100<<10) // 500 KiB
	b := NewBudget(Limits{})
	sp, err := b.Spool(context.Background(), bytes.NewReader(data), -1, dir, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if n, err := sp.ReadAt(got, 0); n != len(data) || !bytes.Equal(got, data) {
		t.Errorf("got %d bytes (%v), want the %d spooled", n, err, len(data))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && len(entries) != 0 {
		t.Errorf("while open: got %d files in the folder (%s), want none", len(entries), entries[0].Name())
	}
	if err := sp.Close(); err != nil {
		t.Errorf("Close: got %v, want nil", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("after Close: got %d files, want none", len(entries))
	}
}
