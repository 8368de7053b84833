package cli

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/rulepkg"
)

// ruleZip returns a zip of n valid rules under rules/, with extra members
// given as name and content pairs.
func ruleZip(t *testing.T, n int, extra ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	for i := range n {
		add(fmt.Sprintf("rules/windows/rule_%03d.yml", i), fmt.Sprintf(`title: Update test %d
id: 00000000-0000-4000-8000-%012d
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\tool%d.exe'
    condition: selection
level: low
`, i, i, i))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		add(extra[i], extra[i+1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRulesUpdate(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("SPOOR_CACHE_DIR", cache)
	dir := filepath.Join(cache, "sigmahq")
	files := map[string][]byte{
		"/releases/download/r2025-01-02/sigma_all_rules.zip": ruleZip(t, 1200),
		"/releases/download/r2026-08-05/sigma_all_rules.zip": ruleZip(t, 150, "version.txt", "r2026-08-05\n",
			"rules/broken.yml", "title: Broken\nlogsource:\n    product: windows\ndetection:\n    condition: nothing\n"),
		"/slip.zip": ruleZip(t, 150, "../evil.yml", "title: x\n"),
	}
	var agents []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agents = append(agents, r.UserAgent())
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	offline := filepath.Join(t.TempDir(), "sigma_core.zip")
	if err := os.WriteFile(offline, ruleZip(t, 100, "version.txt", "r2027-01-01"), 0o644); err != nil {
		t.Fatal(err)
	}
	notZip := writeFile(t, filepath.Join(t.TempDir(), "rules.zip"), "not a zip")

	steps := []struct {
		name       string
		args       []string
		code       int
		stdout     string // a line it must have
		stderr     string // text it must have
		version    string // installed afterwards ("": none)
		rulesAfter int
	}{
		{"404 with nothing installed", []string{"--url", srv.URL + "/missing.zip"}, ExitFailure, "", "HTTP 404 Not Found", "", 0},
		{"download", []string{"--url", srv.URL + "/releases/download/r2025-01-02/sigma_all_rules.zip"}, ExitOK,
			"installed SigmaHQ rules r2025-01-02 (1,200 rules) into " + dir, "", "r2025-01-02", 1200},
		{"same again", []string{"--url", srv.URL + "/releases/download/r2025-01-02/sigma_all_rules.zip"}, ExitOK,
			"SigmaHQ rules r2025-01-02 are up to date (1,200 rules in " + dir + "); --force reinstalls them", "", "r2025-01-02", 1200},
		{"forced", []string{"--force", "--url", srv.URL + "/releases/download/r2025-01-02/sigma_all_rules.zip"}, ExitOK,
			"installed SigmaHQ rules r2025-01-02 (1,200 rules) into " + dir, "", "r2025-01-02", 1200},
		{"zip slip", []string{"--url", srv.URL + "/slip.zip"}, ExitFailure,
			"", `the installed rules (r2025-01-02) are unchanged): invalid rule package: unsafe member name "../evil.yml"`, "r2025-01-02", 1200},
		{"not a zip", []string{"--from", notZip}, ExitFailure,
			"", "not a zip or tar.gz archive", "r2025-01-02", 1200},
		{"newer", []string{"--url", srv.URL + "/releases/download/r2026-08-05/sigma_all_rules.zip"}, ExitOK,
			"installed SigmaHQ rules r2026-08-05 (150 rules, 1 failed to load) into " + dir + ", replacing r2025-01-02", "", "r2026-08-05", 150},
		{"offline", []string{"--from", offline}, ExitOK,
			"installed SigmaHQ rules r2027-01-01 (100 rules) into " + dir + ", replacing r2026-08-05", "", "r2027-01-01", 100},
		{"missing file", []string{"--from", offline + ".missing"}, ExitFailure, "", "no such file", "r2027-01-01", 100},
		{"from and url", []string{"--from", offline, "--url", srv.URL}, ExitUsage, "", "--from and --url cannot be used together", "r2027-01-01", 100},
		{"argument", []string{"rules.zip"}, ExitUsage, "", "unknown command", "r2027-01-01", 100},
	}
	for _, s := range steps {
		code, stdout, stderr := run(t, t.Context(), append([]string{"rules", "update"}, s.args...)...)
		if code != s.code {
			t.Errorf("%s: exit code: got %d, want %d (stderr %q)", s.name, code, s.code, stderr)
		}
		if s.stdout != "" && !strings.Contains(stdout, s.stdout+"\n") {
			t.Errorf("%s: stdout: got %q, want %q", s.name, stdout, s.stdout)
		}
		if !strings.Contains(stderr, s.stderr) {
			t.Errorf("%s: stderr: got %q, want %q in it", s.name, stderr, s.stderr)
		}
		info, err := rulepkg.Installed()
		switch {
		case s.version == "" && err == nil:
			t.Errorf("%s: got version %s installed, want none", s.name, info.Version)
		case s.version != "" && err != nil:
			t.Errorf("%s: %v", s.name, err)
		case s.version != "" && (info.Version != s.version || info.Rules != s.rulesAfter):
			t.Errorf("%s: installed: got %s with %d rules, want %s with %d", s.name, info.Version, info.Rules, s.version, s.rulesAfter)
		}
	}
	for _, a := range agents {
		if a != "spoor/v9.8.7" {
			t.Errorf("user agent: got %q, want spoor/v9.8.7", a)
		}
	}
	// The rules installed are what hunt --sigmahq loads.
	p, err := rulepkg.RulesPath()
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, t.Context(), "rules", "list", "--json", p)
	if code != ExitOK || strings.Count(stdout, `"id"`) != 100 {
		t.Errorf("rules list of the install: got exit code %d and %d rules (stderr %q), want 0 and 100", code, strings.Count(stdout, `"id"`), stderr)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 3780: "3,780", 1234567: "1,234,567", -1200: "-1,200"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d): got %q, want %q", n, got, want)
		}
	}
}
