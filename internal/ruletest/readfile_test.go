package ruletest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4095, 4096, 70000} {
		p := filepath.Join(dir, "rule.yml")
		want := bytes.Repeat([]byte("a"), size)
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("size %d: got %d bytes, %v", size, len(got), err)
		}
	}
	missing := filepath.Join(dir, "missing.yml")
	if _, err := readFile(missing); !errors.Is(err, fs.ErrNotExist) || !bytes.Contains([]byte(err.Error()), []byte(missing)) {
		t.Errorf("missing file: got %v, want a not-exist error naming it", err)
	}
}
