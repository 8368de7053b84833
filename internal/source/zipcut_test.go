package source

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cutZipFixture writes an archive of three JSON-lines members, the first
// two deflated as archive/zip streams them (sizes in data descriptors),
// the third stored with its sizes in the header, and returns it with the
// offset where each member's data starts.
func cutZipFixture(t *testing.T) ([]byte, []member) {
	t.Helper()
	ms := []member{
		{"a/one.json", jsonLines(`{"EventID":1}`, `{"EventID":2}`)},
		{"a/two.json", jsonLines(`{"EventID":3}`)},
		{"three.json", jsonLines(`{"EventID":4}`, `{"EventID":5}`, `{"EventID":6}`)},
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range ms[:2] {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.data)
	}
	h := &zip.FileHeader{Name: ms[2].name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(ms[2].data),
		CompressedSize64: uint64(len(ms[2].data)), UncompressedSize64: uint64(len(ms[2].data))}
	w, err := zw.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(ms[2].data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), ms
}

// TestCutZip checks that a zip archive cut short (no central directory)
// yields the members before the cut from their local headers, the member
// it cuts as far as it goes, and is reported damaged, not failed.
func TestCutZip(t *testing.T) {
	full, ms := cutZipFixture(t)
	third := bytes.Index(full, ms[2].data) // the stored member's data
	central := bytes.LastIndex(full, []byte("PK\x01\x02"))
	for _, tc := range []struct {
		name string
		cut  int
		want []string // events, by source#line
	}{
		{"central directory lost", central, []string{"one.json#1", "one.json#2", "two.json#1", "three.json#1", "three.json#2", "three.json#3"}},
		{"cut inside the stored member", third + len(ms[2].data) - 5, []string{"one.json#1", "one.json#2", "two.json#1", "three.json#1", "three.json#2"}},
		{"cut inside the second member", bytes.Index(full, []byte("two.json")) + 20, []string{"one.json#1", "one.json#2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(t.TempDir(), "cut.zip"), full[:tc.cut])
			events, sum := read(t, []string{path}, Options{})
			var got []string
			for _, n := range names(events) {
				_, member, _ := strings.Cut(n, "!")
				got = append(got, member[strings.LastIndex(member, "/")+1:])
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("events: got %v, want %v", got, tc.want)
			}
			// The member a cut ends may fail or be damaged; the archive
			// is damaged, never failed.
			if slices.Contains(failureNames(sum), path) {
				t.Errorf("failed: got %v, want the archive only damaged", sum.Failed)
			}
			i := slices.IndexFunc(sum.Damaged, func(d Damage) bool { return d.Name == path })
			if i < 0 || !strings.Contains(sum.Damaged[i].First[0].Where, "central directory") {
				t.Errorf("damaged: got %+v, want the archive, its central directory named", sum.Damaged)
			}
		})
	}
}
