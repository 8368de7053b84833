package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
)

// synthFile returns a file of n chunks of three records each.
func synthFile(n int) []byte {
	var chunks [][]byte
	id := uint64(1)
	for range n {
		c := newChunkBuilder(id)
		for range 3 {
			c.record(func() {
				c.fragment()
				c.systemTemplate(func() {})
				c.values(systemValues(id)...)
				c.eof()
			})
			id++
		}
		chunks = append(chunks, c.bytes())
	}
	return fileOf(chunks...)
}

func chunkAt(data []byte, i int) []byte {
	off := fileHeaderSize + i*chunkSize
	return data[off : off+chunkSize]
}

// wantSkip checks that skips holds one error of each of the given kinds,
// in order.
func wantSkips(t *testing.T, skips []error, want ...error) {
	t.Helper()
	if len(skips) != len(want) {
		t.Fatalf("got %d skips %v, want %d", len(skips), skips, len(want))
	}
	for i := range want {
		if !errors.Is(skips[i], want[i]) {
			t.Errorf("skip %d: got %v, want %v", i, skips[i], want[i])
		}
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short signature", []byte("ElfF"), ErrTruncated},
		{"short header", fileOf()[:1000], ErrTruncated},
		{"not evtx", []byte(strings.Repeat("{\"a\":1}\n", 1000)), ErrBadSignature},
	} {
		_, err := Open(bytes.NewReader(tc.data), int64(len(tc.data)), Options{})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestHeaderOnly(t *testing.T) {
	evs, skips := readAll(t, fileOf(), 1)
	if len(evs) != 0 || len(skips) != 0 {
		t.Errorf("got %d events, %d skips; want none", len(evs), len(skips))
	}
}

func TestCorruptChunks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(b []byte) []byte
		events  int
		want    []error
		where   string
		lost    int
	}{
		{
			name:    "file header checksum",
			corrupt: func(b []byte) []byte { b[100] ^= 1; return b },
			events:  9, want: []error{ErrChecksum}, where: "file header",
		},
		{
			name:    "records checksum",
			corrupt: func(b []byte) []byte { chunkAt(b, 1)[700] ^= 0x55; return b },
			// The byte is in a value: the records all decode again.
			events: 9, want: []error{ErrChecksum}, where: "chunk 1 at offset 0x11000", lost: 0,
		},
		{
			name:    "chunk header checksum",
			corrupt: func(b []byte) []byte { chunkAt(b, 2)[200] ^= 1; return b },
			events:  9, want: []error{ErrChecksum}, where: "chunk 2 at offset 0x21000", lost: 0,
		},
		{
			name: "free space offset",
			corrupt: func(b []byte) []byte {
				c := chunkAt(b, 0)
				binary.LittleEndian.PutUint32(c[48:], 0x20000)
				fixChunkCRC(c)
				return b
			},
			events: 9, want: []error{ErrBadHeader}, where: "chunk 0 at offset 0x1000", lost: 0,
		},
		{
			name:    "truncated mid-chunk",
			corrupt: func(b []byte) []byte { return b[:fileHeaderSize+2*chunkSize+3000] },
			events:  8, want: []error{ErrTruncated}, where: "chunk 2 at offset 0x21000", lost: 1,
		},
		{
			name:    "garbage chunk",
			corrupt: func(b []byte) []byte { copy(chunkAt(b, 1), bytes.Repeat([]byte{0xa5}, chunkSize)); return b },
			events:  6, want: []error{ErrBadSignature}, where: "chunk 1 at offset 0x11000",
		},
		{
			name: "record size",
			corrupt: func(b []byte) []byte {
				c := chunkAt(b, 0)
				binary.LittleEndian.PutUint32(c[chunkHeaderSize+4:], 99999)
				fixRecordsCRC(c)
				return b
			},
			events: 8, want: []error{ErrBadRecord}, where: "record 1 at offset 0x1200", lost: 1,
		},
		{
			name: "record signature",
			corrupt: func(b []byte) []byte {
				c := chunkAt(b, 0)
				c[chunkHeaderSize] = 'X'
				fixRecordsCRC(c)
				return b
			},
			events: 8, want: []error{ErrBadRecord}, where: "record 1 at offset 0x1200", lost: 1,
		},
		{
			name: "bad token",
			corrupt: func(b []byte) []byte {
				c := chunkAt(b, 0)
				// The first record's fragment header, then the template
				// instance token: make it an end-of-element token.
				c[chunkHeaderSize+recordHeaderSize+4] = tokEndElement
				fixRecordsCRC(c)
				return b
			},
			events: 8, want: []error{ErrBadToken}, where: "record 1 at offset 0x1200", lost: 1,
		},
		{
			name: "zero slot then chunk",
			corrupt: func(b []byte) []byte {
				clear(chunkAt(b, 1))
				binary.LittleEndian.PutUint16(b[42:], 1) // header undercounts
				binary.LittleEndian.PutUint32(b[124:], crcIEEE(b[:120]))
				return b
			},
			events: 6,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, workers := range []int{1, 2, -2} {
				data := tc.corrupt(synthFile(3))
				evs, skips := readAll(t, data, workers)
				if len(evs) != tc.events {
					t.Errorf("workers %d: got %d events, want %d", workers, len(evs), tc.events)
				}
				errs := make([]error, len(skips))
				for i, s := range skips {
					errs[i] = s
				}
				wantSkips(t, errs, tc.want...)
				if len(skips) > 0 {
					if skips[0].Where != tc.where || skips[0].Records != tc.lost || skips[0].Source != "test.evtx" {
						t.Errorf("got where %q, records %d, source %q; want %q, %d, test.evtx",
							skips[0].Where, skips[0].Records, skips[0].Source, tc.where, tc.lost)
					}
				}
			}
		})
	}
}

// TestResync breaks the middle record of a chunk: the records before and
// after it are read.
func TestResync(t *testing.T) {
	data := synthFile(1)
	c := chunkAt(data, 0)
	size := int(binary.LittleEndian.Uint32(c[chunkHeaderSize+4:]))
	second := chunkHeaderSize + size
	binary.LittleEndian.PutUint32(c[second+4:], 7) // too small
	fixRecordsCRC(c)
	evs, skips := readAll(t, data, 1)
	if len(evs) != 2 || len(skips) != 1 {
		t.Fatalf("got %d events, %d skips; want 2, 1", len(evs), len(skips))
	}
	if evs[0].Locator != 1 || evs[1].Locator != 3 {
		t.Errorf("got records %d, %d; want 1, 3", evs[0].Locator, evs[1].Locator)
	}
	if !errors.Is(skips[0], ErrBadRecord) || skips[0].Records != 1 {
		t.Errorf("got %v (records %d), want ErrBadRecord, 1", skips[0], skips[0].Records)
	}
}

// TestRandom feeds random bytes, bare and behind a valid file header, and
// random damage to a valid file: no panic, and Next ends with io.EOF.
func TestRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i := range 50 {
		bare := random(rng.IntN(3 * chunkSize))
		if _, err := Open(bytes.NewReader(bare), int64(len(bare)), Options{}); err == nil && !Sniff(bare) {
			t.Errorf("random input %d: Open succeeded", i)
		}
		withHeader := append(fileOf(), random(rng.IntN(3*chunkSize))...)
		binary.LittleEndian.PutUint16(withHeader[42:], 3)
		binary.LittleEndian.PutUint32(withHeader[124:], crcIEEE(withHeader[:120]))
		readAll(t, withHeader, 1+i%2)
		// Chunks with valid headers and random records.
		damaged := synthFile(2)
		for j := 0; j < 40; j++ {
			c := chunkAt(damaged, rng.IntN(2))
			c[chunkHeaderSize+rng.IntN(2000)] = byte(rng.Uint32())
		}
		fixRecordsCRC(chunkAt(damaged, 0))
		fixRecordsCRC(chunkAt(damaged, 1))
		readAll(t, damaged, 1)
	}
}

// TestRealFileDamage damages a real multi-chunk file: a flipped byte in a
// value of one chunk loses no record (the chunk's records are recovered one
// by one); a cut file loses only the records the cut goes through.
func TestRealFileDamage(t *testing.T) {
	p := filepath.Join(shared.Dir(t), "datasets/deepbluecli/evtx/smb-password-guessing-security.evtx")
	orig, err := os.ReadFile(p)
	if err != nil {
		t.Skip(err)
	}
	clean, _ := readAll(t, orig, 1)
	chunks := (len(orig) - fileHeaderSize) / chunkSize
	if chunks < 3 {
		t.Fatalf("got %d chunks, want at least 3", chunks)
	}
	perChunk := func(i int) int {
		c := chunkAt(orig, i)
		return int(binary.LittleEndian.Uint64(c[32:]) - binary.LittleEndian.Uint64(c[24:]) + 1)
	}

	flipped := bytes.Clone(orig)
	chunkAt(flipped, 1)[5000] ^= 0xff
	evs, skips := readAll(t, flipped, 2)
	if len(skips) != 1 || !errors.Is(skips[0], ErrChecksum) {
		t.Fatalf("flipped: got skips %v, want one ErrChecksum", skips)
	}
	if len(evs) != len(clean) || skips[0].Records != 0 {
		t.Errorf("flipped: got %d events, %d lost; want %d, 0", len(evs), skips[0].Records, len(clean))
	}

	cutAt := chunkSize / 2
	cut := orig[:fileHeaderSize+2*chunkSize+cutAt]
	evs, skips = readAll(t, cut, 1)
	if len(skips) != 1 || !errors.Is(skips[0], ErrTruncated) {
		t.Fatalf("cut: got skips %v, want one ErrTruncated", skips)
	}
	whole := recordsBefore(chunkAt(orig, 2), cutAt)
	if want := perChunk(0) + perChunk(1) + whole; len(evs) != want || skips[0].Records != perChunk(2)-whole {
		t.Errorf("cut: got %d events, %d lost; want %d, %d", len(evs), skips[0].Records, want, perChunk(2)-whole)
	}
}

// recordsBefore counts the records of a healthy chunk that end within its
// first n bytes.
func recordsBefore(c []byte, n int) int {
	pos, count := chunkHeaderSize, 0
	free := int(binary.LittleEndian.Uint32(c[48:]))
	for pos+minRecordSize <= free {
		size := int(binary.LittleEndian.Uint32(c[pos+4:]))
		if size < minRecordSize || pos+size > n {
			break
		}
		pos += size
		count++
	}
	return count
}

func crcIEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
