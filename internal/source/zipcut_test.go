package source

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/archive"
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

// deflated returns data compressed with raw deflate, as in a zip member.
func deflated(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	fw, err := flate.NewWriter(&b, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// manyLines returns n fake events, in JSON lines or as a fake EVTX.
func manyLines(n int) []string {
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf(`{"EventID":%d,"pad":"%d"}`, i+1, i*7919))
	}
	return lines
}

// TestCutMember checks that a deflated member cut short, in a zip with its
// central directory or without (cut inside its first member), yields the
// events before the cut and is reported damaged, the archive never failed.
// Before, an EVTX member (spooled for random access) so cut lost all its
// events, a JSON one was reported failed, and a zip cut inside its first
// member was reported failed.
func TestCutMember(t *testing.T) {
	lines := manyLines(400)
	for _, tc := range []struct {
		name    string
		content []byte
		central bool // cut the deflate data, keep the central directory
	}{
		{"evtx, central directory", fakeEVTX(lines...), true},
		{"json, central directory", jsonLines(lines...), true},
		{"evtx, cut in the first member", fakeEVTX(lines...), false},
		{"json, cut in the first member", jsonLines(lines...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var data []byte
			if tc.central {
				raw := deflated(t, tc.content)
				raw = raw[:len(raw)/2]
				var b bytes.Buffer
				zw := zip.NewWriter(&b)
				w, err := zw.CreateRaw(&zip.FileHeader{Name: "log", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(tc.content),
					CompressedSize64: uint64(len(raw)), UncompressedSize64: uint64(len(tc.content))})
				if err != nil {
					t.Fatal(err)
				}
				w.Write(raw)
				if err := zw.Close(); err != nil {
					t.Fatal(err)
				}
				data = b.Bytes()
			} else {
				full := zipBytes(t, member{"log", tc.content}, member{"two.json", jsonLines(`{"EventID":1}`)})
				data = full[:bytes.Index(full, []byte("two.json"))/2]
			}
			path := writeFile(t, filepath.Join(t.TempDir(), "a.zip"), data)
			events, sum := read(t, []string{path}, Options{MemoryLimit: 64})
			if len(events) < 50 || len(events) >= len(lines) {
				t.Errorf("events: got %d, want some of %d (those before the cut)", len(events), len(lines))
			}
			if len(sum.Failed) != 0 {
				t.Errorf("failed: got %v, want none", sum.Failed)
			}
			var cut bool
			for _, d := range sum.Damaged {
				for _, s := range d.First {
					if d.Name == path+"!log" && errors.Is(s.Err, archive.ErrCut) {
						cut = true
					}
				}
			}
			if !cut {
				t.Errorf("damaged: got %+v, want the member cut (%v)", sum.Damaged, archive.ErrCut)
			}
		})
	}
}
