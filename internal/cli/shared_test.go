package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/shared"
)

func TestDumpSharedEVTX(t *testing.T) {
	path := shared.Path(t, "datasets", "deepbluecli", "evtx", "smb-password-guessing-security.evtx")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !evtx.Sniff(b[:min(len(b), 4096)]) {
		t.Skip("the evtx reader does not recognise EVTX files yet")
	}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	code, _, stderr := run(t, t.Context(), "dump", "--workers", "4", "-o", out, path)
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	failed, lines := 0, 0
	var lastID float64
	for sc.Scan() {
		lines++
		var ev struct {
			EventID       int
			Channel       string
			EventRecordID float64
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d: got error %v, want valid JSON", lines, err)
		}
		if ev.Channel != "Security" {
			t.Fatalf("line %d: Channel: got %q, want Security", lines, ev.Channel)
		}
		if ev.EventRecordID <= lastID {
			t.Fatalf("line %d: EventRecordID %v after %v: want records in file order", lines, ev.EventRecordID, lastID)
		}
		lastID = ev.EventRecordID
		if ev.EventID == 4625 {
			failed++
		}
	}
	if failed != 3561 {
		t.Errorf("failed logons (4625): got %d, want 3561", failed)
	}
	if !strings.Contains(stderr, "1 evtx") {
		t.Errorf("summary: got %q, want it to count 1 evtx", stderr)
	}
}
