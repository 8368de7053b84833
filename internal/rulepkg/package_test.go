package rulepkg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/rules/sigmahq"
)

// TestEmbeddedUpToDate packs the shared SigmaHQ checkout again: the
// embedded zip must be exactly what `go generate` makes of it (the rules
// unchanged, the generator deterministic, the data not stale).
func TestEmbeddedUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("reads every SigmaHQ rule")
	}
	src := shared.Path(t, "datasets", "sigma")
	var buf bytes.Buffer
	info, err := Pack(&buf, src)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != sigmahq.Zip {
		t.Fatalf("packing %s gives %d bytes (%d files), not the embedded %d: run go generate ./rules/sigmahq", src, buf.Len(), info.Files, len(sigmahq.Zip))
	}
	if got := strings.TrimSpace(sigmahq.Version); !strings.HasPrefix(got, info.Newest+" ") && got != info.Newest {
		t.Errorf("got VERSION %q, want it to start with the newest rule's date, %s", got, info.Newest)
	}
	if !strings.Contains(sigmahq.License, "Detection Rule License") {
		t.Error("LICENSE does not name the Detection Rule License")
	}
}

// TestEmbedded reads the embedded package: every file is the checkout's,
// byte for byte, and only Windows (or product-less) rules are there.
func TestEmbedded(t *testing.T) {
	pkg, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	files, err := pkg.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != pkg.Info.Files || len(files) < 2000 {
		t.Fatalf("got %d files listed, Info.Files %d, want the same and over 2,000", len(files), pkg.Info.Files)
	}
	if !strings.HasPrefix(pkg.Name(), "embedded SigmaHQ 20") {
		t.Errorf("got name %q", pkg.Name())
	}
	for _, f := range files {
		if strings.Contains(f, "/linux/") || strings.Contains(f, "/macos/") || strings.HasPrefix(f, "rules-placeholder/") {
			t.Errorf("%s is packed, want only rules spoor can use", f)
		}
	}
	src := shared.Path(t, "datasets", "sigma")
	for _, f := range []string{files[0], files[len(files)/2], files[len(files)-1]} {
		got, err := fs.ReadFile(pkg.FS, f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the checkout's", f)
		}
	}
}

// TestOpenIn chooses between the installed package and the embedded one.
func TestOpenIn(t *testing.T) {
	emb, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	edate := emb.Info.Date()
	if edate == "" {
		t.Fatalf("embedded version %q has no date", emb.Info.Version)
	}
	install := func(t *testing.T, info Info) string {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, rulesName, "rules"), 0o755); err != nil {
			t.Fatal(err)
		}
		rule := "title: x\nid: 5d7a9d3c-3c2b-4c1e-9d55-3d0f0a7e7a11\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '\\x.exe'\n    condition: sel\n"
		if err := os.WriteFile(filepath.Join(dir, rulesName, "rules", "x.yml"), []byte(rule), 0o644); err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(info)
		if err := os.WriteFile(filepath.Join(dir, manifestName), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, tt := range []struct {
		name     string
		dir      func(t *testing.T) string
		embedded bool
		note     string
	}{
		{"none installed", func(t *testing.T) string { return t.TempDir() }, true, ""},
		{"older by its rules", func(t *testing.T) string { return install(t, Info{Version: "r2099-01-01", Newest: "2020-01-01"}) }, true, "not newer"},
		{"same date", func(t *testing.T) string { return install(t, Info{Version: "x", Newest: edate}) }, true, "not newer"},
		{"older by its tag", func(t *testing.T) string { return install(t, Info{Version: "r2021-02-03"}) }, true, "not newer"},
		{"newer", func(t *testing.T) string { return install(t, Info{Version: "r2099-01-01", Newest: "2099-01-01"}) }, false, "is newer than"},
		{"date unknown", func(t *testing.T) string { return install(t, Info{Version: "sha256:0123456789ab"}) }, false, "date is unknown"},
		{"broken manifest", func(t *testing.T) string {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, manifestName), []byte("{"), 0o644)
			return dir
		}, true, "not used"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pkg, err := OpenIn(tt.dir(t))
			if err != nil {
				t.Fatal(err)
			}
			if pkg.Embedded != tt.embedded {
				t.Errorf("got embedded %v, want %v (note %q)", pkg.Embedded, tt.embedded, pkg.Note)
			}
			if !strings.Contains(pkg.Note, tt.note) {
				t.Errorf("got note %q, want it to say %q", pkg.Note, tt.note)
			}
			files, err := pkg.Files()
			if err != nil || len(files) == 0 {
				t.Errorf("got %d files, %v", len(files), err)
			}
			if !tt.embedded && (len(files) != 1 || files[0] != "rules/x.yml") {
				t.Errorf("got files %v, want the installed rules/x.yml", files)
			}
		})
	}
}

// TestNoisyIDs reads the noise list format.
func TestNoisyIDs(t *testing.T) {
	ids := noisyIDs("# comment\nAAA-1  # title (12/M)\n\n  bbb-2\n")
	if len(ids) != 2 || !ids["aaa-1"] || !ids["bbb-2"] {
		t.Errorf("got %v, want aaa-1 and bbb-2", ids)
	}
}

// TestCheckNewestIgnoresBadDates: an installed package is dated by its
// rules' real dates up to today; a rule dated in the future or on no day
// of the calendar does not make it newer than every embedded package.
func TestCheckNewestIgnoresBadDates(t *testing.T) {
	dir := t.TempDir()
	rule := "title: x%d\nid: 5d7a9d3c-3c2b-4c1e-9d55-3d0f0a7e7a1%d\ndate: %s\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '\\x.exe'\n    condition: sel\n"
	for i, d := range []string{"2024-01-02", "2099/01/01", "2025-13-40", "2024-01-01"} {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("r%d.yml", i)), fmt.Appendf(nil, rule, i, i, d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info, err := check(dir, &Options{MinRules: 1, MaxFailRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	if info.Newest != "2024-01-02" {
		t.Errorf("got newest %q, want 2024-01-02", info.Newest)
	}
}
