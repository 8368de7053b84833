package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/report"
	"github.com/spoor-hunt/spoor/internal/shared"
)

func TestAttackGroup(t *testing.T) {
	t.Setenv("SPOOR_CACHE_DIR", t.TempDir())
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStdout []string
		wantStderr []string
	}{
		{"alias", []string{"attack", "group", "BARIUM"}, ExitOK, []string{"APT41 (G0096)", `matched the alias "BARIUM"`, "Winnti Group (G0044)", "T1003.002 Security Account Manager"}, nil},
		{"alias two words", []string{"attack", "group", "wicked", "panda"}, ExitOK, []string{"APT41 (G0096)"}, nil},
		{"partial name", []string{"attack", "group", "Winnti"}, ExitOK, []string{"Winnti Group (G0044)", "ATT&CK keeps Winnti Group apart", "APT41 (G0096): its description names Winnti Group"}, nil},
		{"alias of Winnti Group", []string{"attack", "group", "blackfly"}, ExitOK, []string{"Winnti Group (G0044)", "APT41 (G0096)"}, nil},
		{"revoked id", []string{"attack", "group", "G0057"}, ExitOK, []string{"OilRig (G0049)"}, []string{"G0057 (APT34) was revoked", "replaced by G0049"}},
		{"several", []string{"attack", "group", "panda"}, ExitOK, []string{"groups match", "G0096", "Wicked Panda"}, nil},
		{"unknown", []string{"attack", "group", "Nobody Here"}, ExitFailure, nil, []string{`no ATT&CK group is named "Nobody Here"`}},
		{"no args", []string{"attack", "group"}, ExitUsage, nil, nil},
		{"technique", []string{"attack", "technique", "t1059.003"}, ExitOK, []string{"T1059.003 Windows Command Shell", "sub-technique of T1059", "Execution (TA0002)", "detection DET"}, nil},
		{"revoked technique", []string{"attack", "technique", "T1073"}, ExitOK, []string{"T1574.001 DLL"}, []string{"T1073 (DLL Side-Loading) was revoked"}},
		{"unknown technique", []string{"attack", "technique", "T9999"}, ExitFailure, nil, []string{`no ATT&CK technique has the ID "T9999"`}},
		{"search", []string{"attack", "search", "BARIUM"}, ExitOK, []string{"group", "G0096", "APT41"}, nil},
		{"search nothing", []string{"attack", "search", "zzzqqq"}, ExitFailure, nil, []string{"nothing in ATT&CK matches"}},
		{"search empty", []string{"attack", "search", "", " "}, ExitUsage, nil, []string{"search needs some TEXT"}},
		{"update needs --from", []string{"attack", "update"}, ExitUsage, nil, []string{"--from FILE is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, t.Context(), tt.args...)
			if code != tt.code {
				t.Fatalf("exit code: got %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout: got %q, want it to contain %q", stdout, w)
				}
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr: got %q, want it to contain %q", stderr, w)
				}
			}
		})
	}
}

func TestAttackGroupJSON(t *testing.T) {
	t.Setenv("SPOOR_CACHE_DIR", t.TempDir())
	code, stdout, stderr := run(t, t.Context(), "attack", "group", "--json", "Blackfly")
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	var g report.GroupView
	if err := json.Unmarshal([]byte(stdout), &g); err != nil {
		t.Fatalf("got %v, want a JSON object: %s", err, stdout)
	}
	if g.ID != "G0044" || g.MatchedBy != "alias" || len(g.Techniques) != 6 || len(g.Software) != 3 {
		t.Errorf("got %s by %s with %d techniques and %d software, want G0044 by alias with 6 and 3", g.ID, g.MatchedBy, len(g.Techniques), len(g.Software))
	}
	found := false
	for _, r := range g.Related {
		found = found || r.ID == "G0096" && r.Direction == "mentioned by"
	}
	if !found {
		t.Errorf("related: got %+v, want G0096 mentioned by", g.Related)
	}
}

// TestAttackUpdate installs the shared bundle into an empty cache and
// checks that the commands then read the installed file.
func TestAttackUpdate(t *testing.T) {
	bundle := shared.Path(t, "datasets", "attack", "enterprise-attack-18.1-without-campaigns.json")
	cache := t.TempDir()
	t.Setenv("SPOOR_CACHE_DIR", cache)
	code, stdout, stderr := run(t, t.Context(), "attack", "update", "--from", bundle)
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	if !strings.Contains(stdout, "172 groups") && !strings.Contains(stdout, "181 groups") {
		t.Errorf("stdout: got %q, want the group count", stdout)
	}
	installed := filepath.Join(cache, "attack", "enterprise-attack.bin")
	if _, err := os.Stat(installed); err != nil {
		t.Fatalf("installed file: %v", err)
	}
	// A damaged install is reported, not silently replaced by the embedded data.
	if err := os.WriteFile(installed, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, t.Context(), "attack", "technique", "T1003")
	if code != ExitFailure || !strings.Contains(stderr, installed) {
		t.Errorf("damaged install: got exit %d, stderr %q, want 1 naming %s", code, stderr, installed)
	}
	// Not a bundle: an error, and nothing installed over the old file.
	notBundle := writeFile(t, filepath.Join(t.TempDir(), "x.json"), `{"type":"bundle","objects":[]}`)
	if code, _, stderr := run(t, t.Context(), "attack", "update", "--from", notBundle); code != ExitFailure || !strings.Contains(stderr, "not an ATT&CK STIX bundle") {
		t.Errorf("update from a non-bundle: got exit %d, stderr %q, want 1", code, stderr)
	}
}
