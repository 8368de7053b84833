package rulepkg

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// member is a file (or, with link set, a symbolic link) of a test archive.
type member struct {
	name, body, link string
}

// ruleYAML is a small valid detection rule, different for each i.
func ruleYAML(i int) string {
	return fmt.Sprintf(`title: Test rule %d
id: 00000000-0000-4000-8000-%012d
status: test
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\tool%d.exe'
    condition: selection
level: medium
`, i, i, i)
}

// badYAML is a rule document that does not load.
const badYAML = "title: Broken\nlogsource:\n    product: windows\ndetection:\n    condition: nothing\n"

// rules returns n rule files under dir, numbered from first.
func rules(dir string, first, n int) []member {
	var ms []member
	for i := first; i < first+n; i++ {
		ms = append(ms, member{name: fmt.Sprintf("%s/rule_%03d.yml", dir, i), body: ruleYAML(i)})
	}
	return ms
}

func buildZip(t testing.TB, ms []member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range ms {
		h := &zip.FileHeader{Name: m.name, Method: zip.Deflate}
		body := m.body
		if m.link != "" {
			h.SetMode(os.ModeSymlink | 0o777)
			body = m.link
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// buildTarGz builds a tar.gz with a pax global header first, as GitHub's
// source archives have.
func buildTarGz(t testing.TB, ms []member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": "0123456789abcdef"}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.body)), Typeflag: tar.TypeReg}
		if m.link != "" {
			h = &tar.Header{Name: m.name, Linkname: m.link, Typeflag: tar.TypeSymlink}
		} else if strings.HasSuffix(m.name, "/") {
			h = &tar.Header{Name: m.name, Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(m.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// serve serves files by URL path; a path not listed is a 404.
func serve(t *testing.T, files map[string][]byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got, want := r.UserAgent(), "spoor/test"; got != want {
			t.Errorf("user agent: got %q, want %q", got, want)
		}
		if to, ok := strings.CutPrefix(r.URL.Path, "/redirect"); ok {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// testOptions installs into a folder of t's temporary directory.
func testOptions(t *testing.T) Options {
	return Options{Dir: filepath.Join(t.TempDir(), "sigmahq"), UserAgent: "spoor/test", Timeout: 10 * time.Second}
}

// loadCount returns the number of rules that sigma.LoadPaths loads from dir.
func loadCount(t *testing.T, dir string) int {
	t.Helper()
	c, err := sigma.LoadPaths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	return Count(c)
}

func TestInstall(t *testing.T) {
	release := append(rules("rules/windows", 0, 100), rules("rules-emerging-threats/2024", 100, 20)...)
	withVersion := append([]member{{name: "version.txt", body: "r2026-08-05\n"}, {name: "LICENSE.Detection.Rules.md", body: "DRL"}}, release...)
	source := []member{{name: "sigma-r2024-03-26/"}, {name: "sigma-r2024-03-26/README.md", body: "# Sigma"}}
	for _, m := range append(rules("rules", 0, 90), rules("rules-threat-hunting/windows", 90, 15)...) {
		source = append(source, member{name: "sigma-r2024-03-26/" + m.name, body: m.body})
	}
	source = append(source,
		member{name: "sigma-r2024-03-26/tests/config.yml", body: "not: a rule\n"},
		member{name: "sigma-r2024-03-26/deprecated/old.yml", body: ruleYAML(999)},
		member{name: "sigma-r2024-03-26/regression_data/x.evtx", body: "binary"},
		member{name: "sigma-r2024-03-26/rules/link.yml", link: "rule_000.yml"},
	)
	flat := rules("", 0, 110) // members named "/rule_000.yml" fixed below
	for i := range flat {
		flat[i].name = strings.TrimPrefix(flat[i].name, "/")
	}
	srv := serve(t, map[string][]byte{
		"/releases/download/r2025-01-02/sigma_all_rules.zip": buildZip(t, release),
		"/releases/download/r2026-08-05/sigma_all_rules.zip": buildZip(t, withVersion),
		"/archive/refs/tags/r2024-03-26.tar.gz":              buildTarGz(t, source),
		"/archive/refs/tags/r2024-03-26.zip":                 buildZip(t, source),
		"/download/rules.zip":                                buildZip(t, flat),
	})
	tests := []struct {
		path         string
		version      string
		rules, files int
	}{
		{"/releases/download/r2025-01-02/sigma_all_rules.zip", "r2025-01-02", 120, 120},
		{"/releases/download/r2026-08-05/sigma_all_rules.zip", "r2026-08-05", 120, 120},
		{"/redirect/releases/download/r2025-01-02/sigma_all_rules.zip", "r2025-01-02", 120, 120}, // tag found in the redirect
		{"/archive/refs/tags/r2024-03-26.tar.gz", "r2024-03-26", 105, 105},
		{"/archive/refs/tags/r2024-03-26.zip", "r2024-03-26", 105, 105},
		{"/download/rules.zip", "sha256:", 110, 110},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			opts := testOptions(t)
			var progressed int64
			opts.Progress = func(done, total int64) { progressed = done }
			info, err := Install(t.Context(), Source{URL: srv.URL + tt.path}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(info.Version, tt.version) {
				t.Errorf("version: got %q, want %q", info.Version, tt.version)
			}
			if info.Rules != tt.rules || info.Files != tt.files || info.Failed != 0 {
				t.Errorf("got %d rules in %d files, %d failed, want %d in %d, 0 failed", info.Rules, info.Files, info.Failed, tt.rules, tt.files)
			}
			if progressed == 0 {
				t.Error("progress was not reported")
			}
			if got := loadCount(t, filepath.Join(opts.Dir, rulesName)); got != tt.rules {
				t.Errorf("rules loaded from the install: got %d, want %d", got, tt.rules)
			}
			got, err := InstalledIn(opts.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != info.Version || got.SHA256 != info.SHA256 || got.Rules != info.Rules || got.Source != srv.URL+tt.path {
				t.Errorf("manifest: got %+v, want %+v", got, info)
			}
			leftovers(t, filepath.Dir(opts.Dir))
		})
	}
}

// leftovers fails when parent holds anything but the install folder.
func leftovers(t *testing.T, parent string) {
	t.Helper()
	ents, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "sigmahq" {
			t.Errorf("left in %s: %s", parent, e.Name())
		}
	}
}

func TestInstallRefused(t *testing.T) {
	good := buildZip(t, rules("rules", 0, 100))
	truncated := buildZip(t, rules("rules", 0, 150))
	truncated = truncated[:len(truncated)/2]
	tooManyFailures := rules("rules", 0, 100)
	for i := range 10 {
		tooManyFailures = append(tooManyFailures, member{name: fmt.Sprintf("rules/bad_%d.yml", i), body: badYAML})
	}
	mux := http.NewServeMux()
	files := map[string][]byte{
		"/good.zip":      good,
		"/slip.zip":      buildZip(t, append(rules("rules", 0, 100), member{name: "../evil.yml", body: ruleYAML(1000)})),
		"/slipdeep.zip":  buildZip(t, append(rules("rules", 0, 100), member{name: "rules/../../evil.yml", body: ruleYAML(1000)})),
		"/absolute.zip":  buildZip(t, append(rules("rules", 0, 100), member{name: "/tmp/evil.yml", body: ruleYAML(1000)})),
		"/backslash.zip": buildZip(t, append(rules("rules", 0, 100), member{name: `..\evil.yml`, body: ruleYAML(1000)})),
		"/zipLink.zip":   buildZip(t, append(rules("rules", 0, 100), member{name: "rules/etc", link: "../../../etc"})),
		"/tarLink.tar.gz": buildTarGz(t, append(rules("rules", 0, 100),
			member{name: "rules/passwd.yml", link: "/etc/passwd"})),
		"/tarSlip.tar.gz": buildTarGz(t, append(rules("rules", 0, 100), member{name: "../evil.yml", body: ruleYAML(1000)})),
		"/truncated.zip":  truncated,
		"/truncated.tgz":  buildTarGz(t, rules("rules", 0, 150))[:2000],
		"/norules.zip":    buildZip(t, []member{{name: "README.md", body: "nothing here"}, {name: "rules/x.txt", body: "x"}}),
		"/fewrules.zip":   buildZip(t, rules("rules", 0, 20)),
		"/failing.zip":    buildZip(t, tooManyFailures),
		"/notarchive.zip": []byte("<html>Not an archive</html>"),
		"/large.zip":      buildZip(t, append(rules("rules", 0, 100), member{name: "rules/large.yml", body: strings.Repeat("# padding\n", 200_000)})),
	}
	for p, data := range files {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { w.Write(data) })
	}
	mux.HandleFunc("/slow.zip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(good)))
		w.Write(good[:100])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/huge.zip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000000")
		w.Write(good)
	})
	mux.HandleFunc("/stream.zip", func(w http.ResponseWriter, r *http.Request) {
		for range 100 { // no Content-Length: cut by the limit
			w.Write(good)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		path string
		want error // nil: any error but ErrInvalid
	}{
		{"/slip.zip", ErrInvalid},
		{"/slipdeep.zip", ErrInvalid},
		{"/absolute.zip", ErrInvalid},
		{"/backslash.zip", ErrInvalid},
		{"/zipLink.zip", ErrInvalid},
		{"/tarLink.tar.gz", ErrInvalid},
		{"/tarSlip.tar.gz", ErrInvalid},
		{"/truncated.zip", ErrInvalid},
		{"/truncated.tgz", ErrInvalid},
		{"/norules.zip", ErrInvalid},
		{"/fewrules.zip", ErrInvalid},
		{"/failing.zip", ErrInvalid},
		{"/notarchive.zip", ErrInvalid},
		{"/large.zip", ErrInvalid},
		{"/huge.zip", ErrInvalid},
		{"/stream.zip", ErrInvalid},
		{"/missing.zip", nil},
		{"/slow.zip", context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			opts := testOptions(t)
			opts.UserAgent = ""
			before, err := Install(t.Context(), Source{URL: srv.URL + "/good.zip"}, opts)
			if err != nil {
				t.Fatal(err)
			}
			opts.Timeout = 500 * time.Millisecond
			opts.MaxFile = 1 << 20
			opts.MaxDownload = 1 << 20
			info, err := Install(t.Context(), Source{URL: srv.URL + tt.path}, opts)
			if err == nil {
				t.Fatalf("installed %+v, want an error", info)
			}
			switch {
			case tt.want == nil && errors.Is(err, ErrInvalid):
				t.Errorf("got %v, want an error that is not ErrInvalid", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("got %v, want %v", err, tt.want)
			}
			t.Log(err)
			after, err := InstalledIn(opts.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if after.SHA256 != before.SHA256 || after.InstalledAt != before.InstalledAt {
				t.Errorf("the install changed: got %+v, want %+v", after, before)
			}
			if got := loadCount(t, filepath.Join(opts.Dir, rulesName)); got != 100 {
				t.Errorf("rules of the previous install: got %d, want 100", got)
			}
			leftovers(t, filepath.Dir(opts.Dir))
			for _, p := range []string{"evil.yml", "../evil.yml"} {
				if _, err := os.Stat(filepath.Join(filepath.Dir(opts.Dir), p)); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}

func TestInstallReplaces(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "first.zip")
	second := filepath.Join(dir, "sigma_all_rules-r2025-06-01.zip")
	if err := os.WriteFile(first, buildZip(t, rules("rules", 0, 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(second, buildZip(t, append(rules("rules/new", 0, 130), member{name: "rules/bad.yml", body: badYAML})), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	if _, err := InstalledIn(opts.Dir); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("before any install: got %v, want ErrNotInstalled", err)
	}
	info, err := Install(t.Context(), Source{File: first}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.Version, "sha256:") || info.Source != first {
		t.Errorf("got version %q from %q, want sha256:... from %q", info.Version, info.Source, first)
	}

	again, err := Install(t.Context(), Source{File: first}, opts)
	if !errors.Is(err, ErrUpToDate) || again == nil || again.SHA256 != info.SHA256 {
		t.Errorf("same archive again: got %+v, %v, want the installed info and ErrUpToDate", again, err)
	}
	opts.Force = true
	if _, err := Install(t.Context(), Source{File: first}, opts); err != nil {
		t.Errorf("forced: %v", err)
	}
	opts.Force = false

	info, err = Install(t.Context(), Source{File: second}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "r2025-06-01" || info.Rules != 130 || info.Failed != 1 || info.Files != 131 {
		t.Errorf("got %+v, want version r2025-06-01 with 130 rules, 1 failed, 131 files", info)
	}
	got, err := InstalledIn(opts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != "r2025-06-01" {
		t.Errorf("installed version: got %q, want r2025-06-01", got.Version)
	}
	if _, err := os.Stat(filepath.Join(opts.Dir, rulesName, "rule_000.yml")); err == nil {
		t.Error("a file of the previous install is left")
	}
	if got := loadCount(t, filepath.Join(opts.Dir, rulesName)); got != 130 {
		t.Errorf("rules: got %d, want 130", got)
	}
	leftovers(t, filepath.Dir(opts.Dir))

	if _, err := Install(t.Context(), Source{File: filepath.Join(dir, "missing.zip")}, opts); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
}

func TestDir(t *testing.T) {
	t.Setenv("SPOOR_CACHE_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg/cache")
	if got, err := Dir(); err != nil || got != filepath.FromSlash("/xdg/cache/spoor/sigmahq") {
		t.Errorf("with XDG_CACHE_HOME: got %q, %v, want /xdg/cache/spoor/sigmahq", got, err)
	}
	t.Setenv("SPOOR_CACHE_DIR", "/override")
	if got, err := Dir(); err != nil || got != filepath.FromSlash("/override/sigmahq") {
		t.Errorf("with SPOOR_CACHE_DIR: got %q, %v, want /override/sigmahq", got, err)
	}

	cache := t.TempDir()
	t.Setenv("SPOOR_CACHE_DIR", cache)
	if _, err := Installed(); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("Installed: got %v, want ErrNotInstalled", err)
	}
	if _, err := RulesPath(); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("RulesPath: got %v, want ErrNotInstalled", err)
	}
	archive := filepath.Join(cache, "rules.zip")
	if err := os.WriteFile(archive, buildZip(t, rules("rules", 0, 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(t.Context(), Source{File: archive}, Options{}); err != nil {
		t.Fatal(err)
	}
	p, err := RulesPath()
	if err != nil || p != filepath.Join(cache, "sigmahq", "rules") {
		t.Errorf("RulesPath: got %q, %v, want %s", p, err, filepath.Join(cache, "sigmahq", "rules"))
	}
	if info, err := Installed(); err != nil || info.Rules != 100 || info.Path != filepath.Join(cache, "sigmahq") {
		t.Errorf("Installed: got %+v, %v", info, err)
	}
}

func TestLocalName(t *testing.T) {
	for name, want := range map[string]string{
		"rules/a.yml": "rules/a.yml", "./rules/a.yml": "rules/a.yml", "rules/": "rules",
		"a//b.yml": "a/b.yml", "./": "",
		"../a.yml": "!", "a/../../b": "!", "a/../b": "!", "/etc/passwd": "!", `a\b`: "!",
		"C:/x.yml": "!", "a\x00b": "!", "..": "!",
	} {
		got, err := localName(name)
		if err != nil {
			got = "!"
		}
		if got != want {
			t.Errorf("localName(%q): got %q, want %q", name, got, want)
		}
	}
}
