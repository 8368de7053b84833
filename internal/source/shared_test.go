package source

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/jsonlog"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// End-to-end tests with the real readers on the shared datasets.

func requireReader(t *testing.T, name string, sniff func([]byte) bool, sample []byte) {
	t.Helper()
	if !sniff(sample) {
		t.Skipf("the %s reader does not recognise its input yet", name)
	}
}

func head(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, HeadSize)
	n, _ := f.Read(b)
	return b[:n]
}

// readReal runs paths with the real readers and counts the events by
// Source.
func readReal(t *testing.T, paths ...string) (map[string]int, *Summary) {
	t.Helper()
	bySource := map[string]int{}
	sum, err := Run(t.Context(), paths, Options{}, func(_ int, ev *event.Event) error {
		bySource[ev.Source]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Failed) > 0 || len(sum.Damaged) > 0 {
		t.Errorf("got failures %v and damage %v, want none", sum.Failed, sum.Damaged)
	}
	return bySource, sum
}

func TestSharedEVTXFolder(t *testing.T) {
	dir := shared.Path(t, "datasets", "deepbluecli", "evtx")
	smb := filepath.Join(dir, "smb-password-guessing-security.evtx")
	requireReader(t, "evtx", evtx.Sniff, head(t, smb))
	bySource, sum := readReal(t, dir)
	if got, want := sum.Count(EVTX), 23; got != want {
		t.Errorf("evtx logs: got %d, want %d", got, want)
	}
	if got := bySource[smb]; got < 3561 {
		t.Errorf("events of %s: got %d, want at least 3561", smb, got)
	}
}

func TestSharedJSONArchives(t *testing.T) {
	host := shared.Path(t, "datasets", "security-datasets", "datasets", "atomic", "windows")
	requireReader(t, "jsonlog", jsonlog.Sniff, []byte(`{"EventID":5156,"Channel":"Security"}`+"\n"))
	zipPath := filepath.Join(host, "credential_access", "host", "cmd_lsass_memory_dumpert_syscalls.zip")
	tgzPath := filepath.Join(host, "persistence", "host", "covenant_persistwmi.tar.gz") // lacks its gzip trailer
	bySource, sum := readReal(t, zipPath, tgzPath)
	tests := []struct {
		name string
		want int
	}{
		{zipPath + "!cmd_lsass_memory_dumpert_syscalls_2020-10-1822561997.json", 118},
		{tgzPath + "!covenant_persistwmi_2019-12-05044734.json", 1001},
	}
	for _, tt := range tests {
		if got := bySource[tt.name]; got != tt.want {
			t.Errorf("events of %s: got %d, want %d (sources %v)", tt.name, got, tt.want, keys(bySource))
		}
	}
	if sum.Count(Zip) != 1 || sum.Count(Gzip) != 1 || sum.Count(Tar) != 1 || sum.Count(JSON) != 2 {
		t.Errorf("types: got %v, want 1 zip, 1 gzip, 1 tar, 2 json", sum.ByType)
	}
}

func keys(m map[string]int) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return strings.Join(ks, ", ")
}

// TestHelpedMatchesSerial reads real EVTX files with workers helping each
// other decode (EVTXWorkers 0, the default) and with each file decoded by
// its reader alone, and requires the same events in the same order for
// every file: helping changes who decodes a chunk, never what a file
// yields. One file read by three workers makes two of them helpers from
// the start.
func TestHelpedMatchesSerial(t *testing.T) {
	dir := shared.Path(t, "datasets", "deepbluecli", "evtx")
	big := filepath.Join(dir, "smb-password-guessing-security.evtx")
	requireReader(t, "evtx", evtx.Sniff, head(t, big))
	for _, tc := range []struct {
		name    string
		paths   []string
		workers int
	}{
		{"one file, three workers", []string{big}, 3},
		{"a folder, two workers", []string{dir}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := func(evtxWorkers int) map[string][]string {
				var mu sync.Mutex
				seq := map[string][]string{}
				sum, err := Run(t.Context(), tc.paths, Options{Workers: tc.workers, EVTXWorkers: evtxWorkers}, func(_ int, ev *event.Event) error {
					line := fmt.Sprintf("%d %s", ev.Locator, ev.Lookup(event.FieldEventRecordID).Text())
					mu.Lock()
					seq[ev.Source] = append(seq[ev.Source], line)
					mu.Unlock()
					return nil
				})
				if err != nil || len(sum.Failed) > 0 {
					t.Fatalf("Run: %v, failed %v", err, sum.Failed)
				}
				return seq
			}
			helped, alone := read(0), read(1)
			if len(helped) == 0 || len(helped) != len(alone) {
				t.Fatalf("got %d logs helped, %d alone", len(helped), len(alone))
			}
			for src, want := range alone {
				if got := helped[src]; !slices.Equal(got, want) {
					t.Errorf("%s: helped read gave %d events (first %.40q), alone %d", src, len(got), got, len(want))
				}
			}
		})
	}
}
