package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/evtx/evtxedit"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// TestGapsCommand runs spoor gaps on a log with records cut out, as a
// table and as JSON lines.
func TestGapsCommand(t *testing.T) {
	orig, err := os.ReadFile(shared.Path(t, "datasets", "deepbluecli", "evtx", "password-spray.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	edited, _, err := evtxedit.Remove(orig, 10, 12)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "Security.evtx")
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, t.Context(), "gaps", "-q", path)
	if code != 0 || !strings.Contains(stdout, "HIGH  records-removed") || !strings.Contains(stdout, "records 10-12") {
		t.Errorf("spoor gaps: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, _ = run(t, t.Context(), "gaps", "-q", "--json", path)
	var kinds []string
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var f struct {
			Kind        string `json:"kind"`
			FirstRecord int64  `json:"first_record"`
			Chunks      string `json:"chunks"`
		}
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		kinds = append(kinds, f.Kind)
		if f.Kind == "records-removed" && (f.FirstRecord != 10 || f.Chunks != "chunk 0") {
			t.Errorf("records-removed: record %d in %q, want 10 in chunk 0", f.FirstRecord, f.Chunks)
		}
	}
	// The file also starts with a 1102 (cleared) record.
	if code != 0 || strings.Join(kinds, ",") != "log-cleared,records-removed" {
		t.Errorf("spoor gaps --json: exit %d, kinds %v, want log-cleared,records-removed", code, kinds)
	}
}

// TestLogonsCommand runs spoor logons on DeepBlueCLI's SMB guessing log.
func TestLogonsCommand(t *testing.T) {
	path := shared.Path(t, "datasets", "deepbluecli", "evtx", "smb-password-guessing-security.evtx")
	code, stdout, stderr := run(t, t.Context(), "logons", "-q", path)
	if code != 0 || !strings.Contains(stdout, `failure  .\Administrator`) || !strings.Contains(stdout, "password-guessing") {
		t.Errorf("spoor logons: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, _ = run(t, t.Context(), "logons", "-q", "--json", path)
	types := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var rec struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		types[rec.Type]++
	}
	if code != 0 || types["logon"] != 3 || types["flag"] != 1 {
		t.Errorf("spoor logons --json: exit %d, records by type %v, want 3 logon and 1 flag", code, types)
	}
	if code, _, _ := run(t, t.Context(), "logons"); code != 2 {
		t.Errorf("spoor logons without a path: exit %d, want 2", code)
	}
}
