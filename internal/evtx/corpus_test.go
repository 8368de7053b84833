package evtx

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
)

// Totals of the EVTX datasets in ../shared, checked against the chunk
// headers (see headerRecords) when they were pinned.
const (
	attackSamplesFiles   = 277
	attackSamplesRecords = 8255
	deepBlueFiles        = 23
	deepBlueRecords      = 8095
)

// evtxFiles returns the .evtx files under dir.
func evtxFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".evtx") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// headerRecords sums the record counts (last record identifier − first + 1)
// in the headers of the chunks of data whose checksums pass. It reads the
// layout itself rather than through the decoder.
func headerRecords(data []byte) int {
	n := 0
	for off := fileHeaderSize; off+chunkSize <= len(data); off += chunkSize {
		c := data[off : off+chunkSize]
		if !bytes.Equal(c[:8], []byte("ElfChnk\x00")) {
			continue
		}
		crc := crc32.Update(crc32.ChecksumIEEE(c[:120]), crc32.IEEETable, c[128:512])
		if crc != binary.LittleEndian.Uint32(c[124:]) {
			continue
		}
		free := binary.LittleEndian.Uint32(c[48:])
		if free < 512 || free > chunkSize || crc32.ChecksumIEEE(c[512:free]) != binary.LittleEndian.Uint32(c[52:]) {
			continue
		}
		n += int(binary.LittleEndian.Uint64(c[32:]) - binary.LittleEndian.Uint64(c[24:]) + 1)
	}
	return n
}

func TestDatasets(t *testing.T) {
	root := shared.Dir(t)
	for _, tc := range []struct {
		dir            string
		files, records int
	}{
		{"datasets/evtx-attack-samples", attackSamplesFiles, attackSamplesRecords},
		{"datasets/deepbluecli", deepBlueFiles, deepBlueRecords},
	} {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			files := evtxFiles(t, filepath.Join(root, tc.dir))
			total := 0
			for _, p := range files {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				evs, skips := readAll(t, data, 1)
				if len(skips) != 0 {
					t.Errorf("%s: got skips %v, want none", p, skips)
				}
				if want := headerRecords(data); len(evs) != want {
					t.Errorf("%s: got %d records, want %d (chunk headers)", p, len(evs), want)
				}
				for _, ev := range evs {
					if _, ok := ev.Get("EventID"); !ok {
						t.Errorf("%s: record %d has no EventID", p, ev.Locator)
						break
					}
					seen := map[string]bool{}
					for _, f := range ev.Fields {
						if seen[f.Name] {
							t.Errorf("%s: record %d: duplicate field %q", p, ev.Locator, f.Name)
						}
						seen[f.Name] = true
					}
				}
				total += len(evs)
			}
			if len(files) != tc.files || total != tc.records {
				t.Errorf("got %d files, %d records; want %d files, %d records", len(files), total, tc.files, tc.records)
			}
		})
	}
}

// TestParallelMatchesSerial decodes every dataset file with one and with
// several workers, and helped by other goroutines, and compares the
// renderings.
func TestParallelMatchesSerial(t *testing.T) {
	root := shared.Dir(t)
	files := evtxFiles(t, filepath.Join(root, "datasets/deepbluecli"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		serial, _ := readAll(t, data, 1)
		for _, workers := range []int{4, -1, -3} { // -n: helped by n goroutines
			parallel, _ := readAll(t, data, workers)
			if len(serial) != len(parallel) {
				t.Fatalf("%s: workers %d: got %d records, want %d", p, workers, len(parallel), len(serial))
			}
			for i := range serial {
				if a, b := render(serial[i]), render(parallel[i]); a != b {
					t.Fatalf("%s: workers %d: record %d differs:\n%s\nvs\n%s", p, workers, i, a, b)
				}
			}
		}
	}
}

// TestGoldenSample spot-checks one record of SigmaHQ's regression data
// against its evtx_dump rendering (the full comparison is golden_test.go).
func TestGoldenSample(t *testing.T) {
	p := filepath.Join(shared.Dir(t), "datasets/sigma/regression_data/rules-emerging-threats/2026/Exploits/CVE-2026-33829/proc_creation_win_exploit_cve_2026_33829/7c3a5b1d-9e2f-4a8c-b5d7-1e0f3c6a9b2d.evtx")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Skip(err)
	}
	evs, _ := readAll(t, data, 1)
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2", len(evs))
	}
	ev := evs[0]
	for _, tc := range []struct{ name, want string }{
		{"Provider_Name", "Microsoft-Windows-Sysmon"},
		{"Provider_Guid", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"},
		{"EventID", "1"},
		{"Keywords", "0x8000000000000000"},
		{"TimeCreated", "2026-04-20T10:00:35.6466242Z"},
		{"EventRecordID", "86918"},
		{"ProcessID", "3208"},
		{"Channel", "Microsoft-Windows-Sysmon/Operational"},
		{"UserID", "S-1-5-18"},
		{"ProcessId", "6180"},
		{"LogonId", "0x33e8d150"},
		{"TerminalSessionId", "2"},
		{"ParentUser", `swachchhanda\xodih`},
	} {
		if got := ev.Lookup(tc.name).Text(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := ev.Fields[0].Name; got != "Provider_Name" {
		t.Errorf("first field: got %q, want Provider_Name", got)
	}
}
