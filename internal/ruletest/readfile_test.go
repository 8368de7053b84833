package ruletest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spoor-hunt/spoor/internal/sigma"
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

// TestLoadTooLarge checks that a rule file over sigma.MaxFileSize is
// refused, located at the file and naming the limit, the other files
// loading, and that no more of it is read than needed to tell.
func TestLoadTooLarge(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yml")
	data := append([]byte("title: Big\nid: 5c1b0a7e-5d4f-4c1a-9a53-5a7e0f3d2b99\nlogsource: {product: windows, category: process_creation}\n"+
		"detection:\n    sel:\n        Hashes|contains:\n"), bytes.Repeat([]byte("            - 'd41d8cd98f00b204e9800998ecf8427e'\n"), sigma.MaxFileSize/48+100)...)
	data = append(data, "    condition: sel\n"...)
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.yml")
	if err := os.WriteFile(small, []byte("title: Small\nid: 5c1b0a7e-5d4f-4c1a-9a53-5a7e0f3d2b98\nlogsource: {product: windows, category: process_creation}\n"+
		"detection:\n    sel:\n        Image: x\n    condition: sel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := readFile(big); err != nil || len(got) != sigma.MaxFileSize+1 {
		t.Errorf("readFile: got %d bytes, %v, want %d", len(got), err, sigma.MaxFileSize+1)
	}
	for name, load := range map[string]func() (*Set, error){
		"Load":      func() (*Set, error) { return Load([]string{dir}) },
		"LoadFiles": func() (*Set, error) { return LoadFiles([]string{big, small}) },
		"LoadFS":    func() (*Set, error) { return LoadFS(os.DirFS(dir)) },
	} {
		s, err := load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, p := range Lint(s, Options{}) {
			got = append(got, p.String())
		}
		file := big
		if name == "LoadFS" {
			file = "big.yml"
		}
		want := []string{file + ": error: rule file larger than 8 MiB, the limit on rule files (sigma.MaxFileSize): not loaded"}
		if !slices.Equal(got, want) || len(s.Rules) != 1 {
			t.Errorf("%s: got %d rules, problems %q, want 1 rule, %q", name, len(s.Rules), got, want)
		}
	}
}
