package rulepkg

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtract feeds arbitrary archives to extract: it must not panic, and
// whatever it writes stays inside its folder as regular files and folders.
func FuzzExtract(f *testing.F) {
	t := &testing.T{}
	f.Add(buildZip(t, rules("rules", 0, 3)))
	f.Add(buildZip(t, append(rules("rules", 0, 2), member{name: "version.txt", body: "r2026-01-01"}, member{name: "rules/l", link: "../x"})))
	f.Add(buildTarGz(t, append([]member{{name: "top/"}}, member{name: "top/rules/a.yml", body: ruleYAML(1)}, member{name: "top/rules/l.yml", link: "a.yml"})))
	f.Add([]byte("PK\x05\x06"))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		name := filepath.Join(base, "archive")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		a := &fetched{f: file, size: int64(len(data))}
		opts := Options{MaxUnpacked: 1 << 20, MaxFile: 1 << 16, MaxEntries: 1000}
		opts.defaults()
		dir := filepath.Join(base, "out")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		a.extract(t.Context(), dir, &opts)
		filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if p == base || p == name {
				return nil
			}
			if !strings.HasPrefix(p, dir) {
				t.Errorf("written outside: %s", p)
			}
			if !d.IsDir() && !d.Type().IsRegular() {
				t.Errorf("not a regular file: %s (%v)", p, d.Type())
			}
			return nil
		})
	})
}
