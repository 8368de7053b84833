package rulepkg

import (
	"archive/zip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// TestInstallSigmaHQ installs a zip made like a SigmaHQ release asset from
// the real rules of the shared dataset: every rule that sigma.LoadPaths
// finds in the folder must be installed.
func TestInstallSigmaHQ(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every SigmaHQ rule")
	}
	src := shared.Path(t, "datasets", "sigma", "rules")
	archive := filepath.Join(t.TempDir(), "sigma_all_rules.zip")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create("version.txt")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "r2026-08-05\n")
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		w, err := zw.Create("rules/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	c, err := sigma.LoadPaths([]string{src})
	if err != nil {
		t.Fatal(err)
	}
	want := Count(c)
	opts := testOptions(t)
	info, err := Install(t.Context(), Source{File: archive}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rules, %d failed, %d files", info.Rules, info.Failed, info.Files)
	if info.Rules != want || info.Version != "r2026-08-05" {
		t.Errorf("got %d rules, version %q, want %d rules, version r2026-08-05", info.Rules, info.Version, want)
	}
	if got := loadCount(t, filepath.Join(opts.Dir, rulesName)); got != want {
		t.Errorf("rules loaded from the install: got %d, want %d", got, want)
	}
	// The same checkout as the embedded package: its newest rule dates it,
	// not its (later) tag, so it is not newer and the embedded one is used.
	if info.Newest == "" || info.Newest > "2026-08-05" {
		t.Errorf("got newest rule date %q, want one no later than the checkout", info.Newest)
	}
	pkg, err := OpenIn(opts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !pkg.Embedded || !strings.Contains(pkg.Note, "not newer") {
		t.Errorf("got embedded %v, note %q; want the embedded package, the installed one not newer", pkg.Embedded, pkg.Note)
	}
}
