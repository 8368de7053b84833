package ruleset

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

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
		for _, e := range s.Errors {
			got = append(got, e.Error())
		}
		file := big
		if name == "LoadFS" {
			file = "big.yml"
		}
		want := []string{file + ": rule file larger than 8 MiB, the limit on rule files (sigma.MaxFileSize): not loaded"}
		if !slices.Equal(got, want) || len(s.Rules) != 1 {
			t.Errorf("%s: got %d rules, problems %q, want 1 rule, %q", name, len(s.Rules), got, want)
		}
	}
}

func TestLoadRuleFileFindsItsTest(t *testing.T) {
	fsys := fstest.MapFS{
		"r/x.yml":      {Data: []byte("title: X\n")},
		"r/x.test.yml": {Data: []byte("rules: [x.yml]\n")},
	}
	set, err := LoadFS(fsys, "r/x.yml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := set.Tests, []string{"r/x.test.yml"}; !slices.Equal(got, want) {
		t.Errorf("tests: got %v, want %v", got, want)
	}
	if _, err := LoadFS(fsys, "r/missing.yml"); err == nil {
		t.Error("missing file: got no error, want one")
	}
}

// TestLoadFiles checks that LoadFiles loads the rule files given, without
// test files, and names the files it cannot read.
func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	rule := filepath.Join(dir, "x.yml")
	os.WriteFile(rule, []byte("title: X\nid: 5f7c1a3e-8f1d-4c6b-9f61-3a1c2b4d5e6f\nlogsource: {product: windows}\ndetection:\n  sel: {Image: a}\n  condition: sel\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "x.test.yml"), []byte("rules: [x.yml]\n"), 0o644)
	missing := filepath.Join(dir, "missing.yml")
	set, err := LoadFiles([]string{rule, missing})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("error: got %v, want one naming %s", err, missing)
	}
	if len(set.Rules) != 1 || set.Rules[0].Title != "X" || len(set.Tests) != 0 || !slices.Equal(set.Files, []string{rule}) {
		t.Errorf("got %d rules, tests %v, files %v; want rule X, no tests, files [%s]", len(set.Rules), set.Tests, set.Files, rule)
	}
}

// TestFiles checks that Files lists what Load loads: a file given whatever
// its name, a folder's *.yml and *.yaml files in lexical order, never a
// test file nor a hidden folder's files, and names the paths it cannot
// read.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.yml", "a.YAML", "a.test.yml", "notes.txt", ".git/x.yml", "sub/c.yml"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("title: X\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.yml")
	paths := []string{dir, filepath.Join(dir, "notes.txt"), filepath.Join(dir, "a.test.yml"), missing}
	got, err := Files(paths)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("error: got %v, want one naming %s", err, missing)
	}
	want := []string{filepath.Join(dir, "a.YAML"), filepath.Join(dir, "b.yml"), filepath.Join(dir, "sub", "c.yml"), filepath.Join(dir, "notes.txt")}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	s, _ := Load(paths)
	if !slices.Equal(s.Files, want) {
		t.Errorf("Load read %v, want the files Files lists, %v", s.Files, want)
	}
}
