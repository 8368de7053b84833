package source

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
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

// TestSharedEVTXDamagedHeader reads a real EVTX file whose file header is
// damaged (a byte of its signature flipped, or the header zeroed): it is
// still sniffed as EVTX, its events are all read, and the damage is
// reported.
func TestSharedEVTXDamagedHeader(t *testing.T) {
	orig, err := os.ReadFile(shared.Path(t, "datasets", "deepbluecli", "evtx", "smb-password-guessing-security.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	flipped := bytes.Clone(orig)
	flipped[2] ^= 0x20
	zeroed := bytes.Clone(orig)
	clear(zeroed[:4096])
	for name, data := range map[string][]byte{"flipped.evtx": flipped, "zeroed.evtx": zeroed} {
		p := writeFile(t, filepath.Join(dir, name), data)
		if got := Sniff(head(t, p)); got != EVTX {
			t.Errorf("%s: sniffed %v, want evtx", name, got)
		}
		events := 0
		sum, err := Run(t.Context(), []string{p}, Options{}, func(_ int, ev *event.Event) error {
			events++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if events != 3561 {
			t.Errorf("%s: got %d events, want 3561", name, events)
		}
		if len(sum.Damaged) != 1 || sum.Damaged[0].Skips != 1 || sum.Damaged[0].First[0].Where != "file header" {
			t.Errorf("%s: got damage %+v, want the file header", name, sum.Damaged)
		}
	}
}

// TestSharedEVTXCarve hides the last record of a real file's first chunk
// in its free space (the chunk's header says the records end before it,
// checksums made valid): only Options.Carve reads it, marked Carved.
func TestSharedEVTXCarve(t *testing.T) {
	data, err := os.ReadFile(shared.Path(t, "datasets", "deepbluecli", "evtx", "smb-password-guessing-security.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	c := data[4096 : 4096+65536]
	free := int(binary.LittleEndian.Uint32(c[48:]))
	last := 512
	for pos := 512; pos < free; pos += int(binary.LittleEndian.Uint32(c[pos+4:])) {
		last = pos
	}
	binary.LittleEndian.PutUint32(c[48:], uint32(last))
	binary.LittleEndian.PutUint64(c[32:], binary.LittleEndian.Uint64(c[32:])-1)
	binary.LittleEndian.PutUint32(c[52:], crc32.ChecksumIEEE(c[512:last]))
	crc := crc32.Update(crc32.ChecksumIEEE(c[:120]), crc32.IEEETable, c[128:512])
	binary.LittleEndian.PutUint32(c[124:], crc)
	hidden := int64(binary.LittleEndian.Uint64(c[last+8:]))
	p := writeFile(t, filepath.Join(t.TempDir(), "hidden.evtx"), data)
	for _, carve := range []bool{false, true} {
		events, found := 0, false
		sum, err := Run(t.Context(), []string{p}, Options{Carve: carve}, func(_ int, ev *event.Event) error {
			if !ev.Carved {
				events++
			}
			if ev.Locator == hidden {
				found = true
				if !ev.Carved {
					t.Errorf("carve %v: record %d not marked carved", carve, hidden)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if events != 3560 || found != carve || len(sum.Damaged) != 0 {
			t.Errorf("carve %v: got %d events not carved, record %d found %v, damage %v; want 3560, %v, none",
				carve, events, hidden, found, sum.Damaged, carve)
		}
	}
}

// TestCarveIsNotDamage: stale records that carving finds but cannot decode
// (their templates long overwritten) are counted apart; they are not damage
// to the logs, which read the same with carving as without.
func TestCarveIsNotDamage(t *testing.T) {
	dir := shared.Path(t, "datasets", "sigma", "regression_data")
	var damaged [2]int
	for i, carve := range []bool{false, true} {
		var carved int64
		sum, err := Run(t.Context(), []string{dir}, Options{Carve: carve}, func(_ int, ev *event.Event) error {
			if ev.Carved {
				carved++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		damaged[i] = len(sum.Damaged)
		if sum.Carved != carved {
			t.Errorf("carve %v: Summary.Carved %d, want the %d events marked carved", carve, sum.Carved, carved)
		}
		if carve && (carved == 0 || sum.CarveDropped == 0) {
			t.Errorf("carve: got %d carved, %d dropped; want both (the regression data is full of stale records)", carved, sum.CarveDropped)
		}
		if !carve && (carved != 0 || sum.CarveDropped != 0) {
			t.Errorf("no carve: got %d carved, %d dropped; want none", carved, sum.CarveDropped)
		}
	}
	if damaged[0] != damaged[1] {
		t.Errorf("damaged logs: got %d with carving, want %d as without", damaged[1], damaged[0])
	}
}
