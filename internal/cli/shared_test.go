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

// TestDumpCarve: --carve adds the records left in the file's free space
// and slack, each line marked "carved":true; without it nothing changes.
// The stale records of smb-password-guessing-security.evtx are all copies
// of live ones (the free space of its last chunk repeats the chunk before):
// they are not read twice.
func TestDumpCarve(t *testing.T) {
	count := func(path string, args ...string) (plain, carved int) {
		t.Helper()
		code, stdout, stderr := run(t, t.Context(), append([]string{"dump", "-q"}, append(args, path)...)...)
		if code != ExitOK {
			t.Fatalf("%v: exit code %d, want 0 (stderr %q)", args, code, stderr)
		}
		for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
			var ev struct {
				Carved  *bool `json:"carved"`
				EventID int
			}
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("%v: got %v, want JSON lines", args, err)
			}
			switch {
			case ev.Carved == nil:
				plain++
			case *ev.Carved && strings.HasSuffix(l, `,"carved":true}`) && ev.EventID != 0:
				carved++
			default:
				t.Fatalf("%v: got line %s", args, l)
			}
		}
		return plain, carved
	}
	for _, tc := range []struct {
		path          []string
		plain, carved int
	}{
		{[]string{"deepbluecli", "evtx", "smb-password-guessing-security.evtx"}, 3561, 0},
		{[]string{"evtx-attack-samples", "Privilege Escalation", "Sysmon_uacme_58.evtx"}, 6, 35},
	} {
		path := shared.Path(t, append([]string{"datasets"}, tc.path...)...)
		if plain, carved := count(path); plain != tc.plain || carved != 0 {
			t.Errorf("%s without --carve: got %d events, %d carved; want %d, 0", path, plain, carved, tc.plain)
		}
		if plain, carved := count(path, "--carve"); plain != tc.plain || carved != tc.carved {
			t.Errorf("%s --carve: got %d events, %d carved; want %d, %d", path, plain, carved, tc.plain, tc.carved)
		}
	}
}
