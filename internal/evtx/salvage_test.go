package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// salvageSample is a real file of 15 chunks whose records are damaged in
// memory by TestSalvageRealFile.
const salvageSample = "datasets/evtx-attack-samples/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx"

// recordOffsets returns the offsets in a healthy chunk of its records.
func recordOffsets(c []byte) []int {
	var out []int
	free := int(binary.LittleEndian.Uint32(c[48:]))
	for pos := chunkHeaderSize; pos+minRecordSize <= free; {
		size := int(binary.LittleEndian.Uint32(c[pos+4:]))
		if size < minRecordSize {
			break
		}
		out = append(out, pos)
		pos += size
	}
	return out
}

func locators(evs []*event.Event) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Locator
	}
	return out
}

// TestSalvageRealFile damages a real file in memory and checks that every
// record not hit by the damage is read, and that the skip says what was
// lost.
func TestSalvageRealFile(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(shared.Dir(t), salvageSample))
	if err != nil {
		t.Skip(err)
	}
	clean, skips := readAll(t, orig, 1)
	if len(skips) != 0 || len(clean) < 500 {
		t.Fatalf("clean file: got %d events, skips %v", len(clean), skips)
	}
	all := locators(clean)
	without := func(ids ...int64) []int64 {
		return slices.DeleteFunc(slices.Clone(all), func(id int64) bool { return slices.Contains(ids, id) })
	}
	recID := func(c []byte, pos int) int64 { return int64(binary.LittleEndian.Uint64(c[pos+8:])) }
	c1 := recordOffsets(chunkAt(orig, 1))
	c3 := recordOffsets(chunkAt(orig, 3))
	cutAt := c3[len(c3)/2] + 100 // inside a record
	var cutIDs []int64
	for _, pos := range c3[len(c3)/2:] {
		cutIDs = append(cutIDs, recID(chunkAt(orig, 3), pos))
	}
	for _, id := range all {
		if id > cutIDs[len(cutIDs)-1] {
			cutIDs = append(cutIDs, id)
		}
	}
	for _, tc := range []struct {
		name    string
		damage  func(b []byte) []byte
		want    []int64
		err     error
		where   string
		lost    int
		message string
	}{
		{
			name:   "record signature",
			damage: func(b []byte) []byte { chunkAt(b, 1)[c1[2]] ^= 0xff; return b },
			want:   without(recID(chunkAt(orig, 1), c1[2])),
			err:    ErrChecksum, where: "chunk 1 at offset 0x11000", lost: 1,
			message: fmt.Sprintf("%d records recovered, 1 lost", len(c1)-1),
		},
		{
			name: "record size",
			damage: func(b []byte) []byte {
				binary.LittleEndian.PutUint32(chunkAt(b, 1)[c1[5]+4:], 0x30)
				return b
			},
			want: without(recID(chunkAt(orig, 1), c1[5])),
			err:  ErrChecksum, where: "chunk 1 at offset 0x11000", lost: 1,
		},
		{
			name:   "chunk header",
			damage: func(b []byte) []byte { chunkAt(b, 1)[300] ^= 0x10; return b },
			want:   all,
			err:    ErrChecksum, where: "chunk 1 at offset 0x11000",
			message: fmt.Sprintf("%d records recovered, 0 lost", len(c1)),
		},
		{
			name:   "cut mid-chunk",
			damage: func(b []byte) []byte { return b[:fileHeaderSize+3*chunkSize+cutAt] },
			want:   without(cutIDs...),
			err:    ErrTruncated, where: "chunk 3 at offset 0x31000", lost: len(c3) - len(c3)/2,
		},
		{
			name:   "file signature",
			damage: func(b []byte) []byte { b[3] ^= 0x01; return b },
			want:   all,
			err:    ErrBadSignature, where: "file header",
		},
		{
			name:   "file header zeroed",
			damage: func(b []byte) []byte { clear(b[:fileHeaderSize]); return b },
			want:   all,
			err:    ErrBadSignature, where: "file header",
		},
		{
			name: "shifted",
			damage: func(b []byte) []byte {
				b[0] = 'X'
				return append(bytes.Repeat([]byte{0x5a}, 777), b...)
			},
			want: all,
			err:  ErrBadSignature, where: "file header",
		},
		{
			name: "bogus chunk count",
			damage: func(b []byte) []byte {
				binary.LittleEndian.PutUint16(b[42:], 0)
				return b
			},
			want: all,
			err:  ErrChecksum, where: "file header",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, workers := range []int{1, 2, -2} {
				evs, skips := readAll(t, tc.damage(bytes.Clone(orig)), workers)
				if got := locators(evs); !slices.Equal(got, tc.want) {
					t.Errorf("workers %d: got %d records, want %d (missing %v)", workers, len(got), len(tc.want),
						slices.DeleteFunc(slices.Clone(tc.want), func(id int64) bool { return slices.Contains(got, id) }))
				}
				if len(skips) != 1 {
					t.Fatalf("workers %d: got skips %v, want 1", workers, skips)
				}
				s := skips[0]
				if !errors.Is(s, tc.err) || s.Where != tc.where || s.Records != tc.lost {
					t.Errorf("workers %d: got %v (where %q, lost %d); want %v, %q, %d", workers, s, s.Where, s.Records, tc.err, tc.where, tc.lost)
				}
				if !strings.Contains(s.Error(), tc.message) {
					t.Errorf("workers %d: got %q, want it to say %q", workers, s, tc.message)
				}
				if errors.Is(s, ErrInternal) {
					t.Errorf("workers %d: got %v", workers, s)
				}
			}
		})
	}
}

// refChunk returns a chunk of n records that share one template, defined
// in the first record, and the offsets of the records.
func refChunk(firstID uint64, n int) (*chunkBuilder, []int) {
	c := newChunkBuilder(firstID)
	var offs []int
	def := 0
	for i := range n {
		id := firstID + uint64(i)
		offs = append(offs, len(c.b))
		c.record(func() {
			c.fragment()
			if i == 0 {
				def = c.systemTemplate(func() {})
			} else {
				c.templateRef(def)
			}
			c.values(systemValues(id)...)
			c.eof()
		})
	}
	return c, offs
}

// TestSalvageBadTemplate breaks a record's template reference in a chunk
// that fails its checksum: that record is lost, not the chunk.
func TestSalvageBadTemplate(t *testing.T) {
	for _, off := range []uint32{0xfffffff0, 0xfff0, 0x1234, chunkHeaderSize + 30} {
		c, offs := refChunk(1, 4)
		b := c.bytes()
		// The reference: record header, fragment header, then the
		// template token, its unknown byte and identifier.
		binary.LittleEndian.PutUint32(b[offs[2]+recordHeaderSize+4+6:], off)
		evs, skips := readAll(t, fileOf(b), 1)
		if got := locators(evs); !slices.Equal(got, []int64{1, 2, 4}) {
			t.Errorf("offset 0x%x: got records %v, want [1 2 4]", off, got)
		}
		if len(skips) != 1 || !errors.Is(skips[0], ErrChecksum) || skips[0].Records != 1 {
			t.Errorf("offset 0x%x: got skips %v, want one ErrChecksum losing 1", off, skips)
		}
	}
}

// carveFile builds a file with records outside the record areas:
//
//   - chunk 0 holds records 1-3; record 4 and a record 90 whose template
//     cannot be resolved sit in its free space;
//   - chunk slot 1 holds records 5-7 in a chunk whose header was
//     overwritten;
//   - the file ends with part of a chunk whose header was overwritten,
//     holding record 8 whole and record 9 cut.
func carveFile() []byte {
	c0, offs := refChunk(1, 4)
	c0.record(func() {
		c0.fragment()
		c0.templateRef(0xfff0)
		c0.values(systemValues(90)...)
		c0.eof()
	})
	b0 := c0.bytes()
	binary.LittleEndian.PutUint32(b0[48:], uint32(offs[3])) // free space starts at record 4
	binary.LittleEndian.PutUint64(b0[16:], 3)
	binary.LittleEndian.PutUint64(b0[32:], 3)
	fixRecordsCRC(b0)

	c1, _ := refChunk(5, 3)
	b1 := c1.bytes()
	clear(b1[:chunkHeaderSize])

	c2, offs2 := refChunk(8, 2)
	b2 := c2.bytes()
	clear(b2[:chunkHeaderSize])
	data := fileOf(b0, b1)
	return append(data, b2[:offs2[1]+40]...)
}

func TestCarve(t *testing.T) {
	data := carveFile()
	for _, workers := range []int{1, 2, -2} {
		evs, skips := readAll(t, data, workers)
		if got := locators(evs); !slices.Equal(got, []int64{1, 2, 3}) {
			t.Errorf("workers %d, no carving: got records %v, want [1 2 3]", workers, got)
		}
		if len(skips) != 1 || !errors.Is(skips[0], ErrBadSignature) {
			t.Errorf("workers %d, no carving: got skips %v, want the overwritten chunk header", workers, skips)
		}

		evs, skips = readWith(t, data, workers, Options{Carve: true})
		if got := locators(evs); !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Errorf("workers %d: got records %v, want [1 2 3 4 5 6 7 8]", workers, got)
		}
		for _, ev := range evs {
			if want := ev.Locator > 3; ev.Carved != want {
				t.Errorf("workers %d: record %d: got carved %v, want %v", workers, ev.Locator, ev.Carved, want)
			}
			if ev.Locator == 6 && render(ev) != fmt.Sprintf(systemRendered, 6) {
				t.Errorf("workers %d: got carved record\n%s", workers, render(ev))
			}
		}
		var kinds []string
		for _, s := range skips {
			switch {
			case errors.Is(s, ErrCarve):
				kinds = append(kinds, fmt.Sprintf("carve %d", s.Records))
			case errors.Is(s, ErrBadSignature):
				kinds = append(kinds, "signature")
			default:
				kinds = append(kinds, s.Error())
			}
		}
		// Record 90's template is gone; record 9, cut, is no record.
		if want := []string{"carve 1", "signature"}; !slices.Equal(kinds, want) {
			t.Errorf("workers %d: got skips %v, want %v", workers, kinds, want)
		}
	}
}

// TestCarveStats checks the counts of carved records.
func TestCarveStats(t *testing.T) {
	data := carveFile()
	r, err := Open(bytes.NewReader(data), int64(len(data)), Options{Workers: 1, Carve: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		if _, err := r.Next(); err != nil && !errors.As(err, new(*event.SkipError)) {
			break
		}
	}
	if st := r.Stats(); st.Records != 8 || st.Carved != 5 || st.RecordsLost != 1 {
		t.Errorf("got %+v, want 8 records, 5 carved, 1 lost", st)
	}
}

// TestCarveHealthy: carving finds nothing more in a file without records
// outside its record areas.
func TestCarveHealthy(t *testing.T) {
	data := synthFile(3)
	evs, skips := readWith(t, data, 1, Options{Carve: true})
	if len(evs) != 9 || len(skips) != 0 {
		t.Errorf("got %d events, skips %v; want 9, none", len(evs), skips)
	}
}

// TestCarveCopiesOfLive: Windows starts a chunk from a copy of the previous
// one, so a chunk's free space repeats records that are live in another
// chunk. Carving leaves those out (a hunt with --carve found each of their
// detections twice) and keeps the records no live chunk holds, whether the
// live copy comes before or after the stale one.
func TestCarveCopiesOfLive(t *testing.T) {
	live, _ := refChunk(6, 2) // records 6 and 7
	c, offs := refChunk(4, 5) // records 4 and 5 live; 6, 7 and 8 in its free space
	stale := c.bytes()
	binary.LittleEndian.PutUint32(stale[48:], uint32(offs[2]))
	binary.LittleEndian.PutUint64(stale[16:], 5)
	binary.LittleEndian.PutUint64(stale[32:], 5)
	fixRecordsCRC(stale)
	for _, tc := range []struct {
		name string
		data []byte
		want []int64
	}{
		{"live first", fileOf(live.bytes(), stale), []int64{6, 7, 4, 5, 8}},
		{"live last", fileOf(stale, live.bytes()), []int64{4, 5, 8, 6, 7}},
	} {
		for _, workers := range []int{1, 2, -2} {
			evs, skips := readWith(t, tc.data, workers, Options{Carve: true})
			if got := locators(evs); !slices.Equal(got, tc.want) {
				t.Errorf("%s, workers %d: got records %v, want %v", tc.name, workers, got, tc.want)
			}
			for _, ev := range evs {
				if want := ev.Locator == 8; ev.Carved != want {
					t.Errorf("%s, workers %d: record %d: got carved %v, want %v", tc.name, workers, ev.Locator, ev.Carved, want)
				}
			}
			if len(skips) != 0 {
				t.Errorf("%s, workers %d: got skips %v, want none", tc.name, workers, skips)
			}
		}
		r, err := Open(bytes.NewReader(tc.data), int64(len(tc.data)), Options{Workers: 1, Carve: true})
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil && !errors.As(err, new(*event.SkipError)) {
				break
			}
		}
		r.Close()
		if st := r.Stats(); st.Carved != 1 || st.CarvedCopies != 2 {
			t.Errorf("%s: got %d carved, %d copies; want 1, 2", tc.name, st.Carved, st.CarvedCopies)
		}
	}
}
