package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// fuzzSeedFiles are real files whose chunks and records seed the fuzzers.
var fuzzSeedFiles = []string{
	"datasets/deepbluecli/evtx/many-events-application.evtx",
	"datasets/deepbluecli/evtx/sliver-sysmon.evtx",
	"datasets/deepbluecli/evtx/new-user-security.evtx",
	"datasets/evtx-attack-samples/Other/Win_SysmonMon_PS_WMIC_CMD_T1047_T1086_T1059.evtx",
}

// seedChunks returns the used part of the first chunk of each seed file
// that exists, and synthetic chunks.
func seedChunks(f *testing.F) [][]byte {
	var out [][]byte
	c := newChunkBuilder(1)
	c.record(func() {
		c.fragment()
		c.systemTemplate(func() {})
		c.values(systemValues(1)...)
		c.eof()
	})
	b := c.bytes()
	out = append(out, b[:binary.LittleEndian.Uint32(b[48:])])
	// Chunks crafted to cost much more than their size: thousands of text
	// tokens in one element (quadratic before), a template used again by
	// every record, the same through BinXml values. The last two are cut
	// to 16 KiB, so that an input costs a few milliseconds rather than the
	// whole budget.
	text, _ := textChunk(11000)
	work, _ := bombChunk(300, true, val{typeNull, nil})
	nested, _ := nestedBombChunk(300)
	out = append(out, text[:binary.LittleEndian.Uint32(text[48:])], work[:16<<10], nested[:16<<10])
	if os.Getenv("SPOOR_SHARED") == "" {
		if _, err := os.Stat(filepath.Join("..", "..", "..", "shared")); err != nil {
			return out
		}
	}
	dir := shared.Dir(f)
	for _, p := range fuzzSeedFiles {
		data, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || len(data) < fileHeaderSize+chunkSize {
			continue
		}
		ch := data[fileHeaderSize : fileHeaderSize+chunkSize]
		// The header and the first records (with their inline
		// templates): small inputs let the mutator reach the structure.
		free := min(binary.LittleEndian.Uint32(ch[48:]), 8192)
		out = append(out, bytes.Clone(ch[:free]))
	}
	return out
}

// fixChunk pads data to a chunk and, when it has a chunk signature, makes
// its free space offset and checksums valid, so that mutations reach the
// record decoder.
func fixChunk(data []byte) []byte {
	b := make([]byte, chunkSize)
	copy(b, data)
	if !bytes.Equal(b[:8], chunkSignature) {
		return b
	}
	free := binary.LittleEndian.Uint32(b[48:])
	if free < chunkHeaderSize || free > chunkSize {
		free = uint32(max(min(len(data), chunkSize), chunkHeaderSize))
		binary.LittleEndian.PutUint32(b[48:], free)
	}
	binary.LittleEndian.PutUint32(b[52:], crc32.ChecksumIEEE(b[chunkHeaderSize:free]))
	fixChunkCRC(b)
	return b
}

// checkResult fails on a recovered panic and on broken invariants.
func checkResult(t *testing.T, res *chunkResult) {
	for _, it := range res.items {
		if it.skip != nil {
			if errors.Is(it.skip, ErrInternal) {
				t.Fatalf("recovered panic: %v", it.skip)
			}
			continue
		}
		if it.start > it.end || int(it.end) > len(res.fields) {
			t.Fatalf("item fields [%d:%d] of %d", it.start, it.end, len(res.fields))
		}
		seen := map[string]bool{}
		for _, f := range res.fields[it.start:it.end] {
			if seen[f.Name] {
				t.Fatalf("duplicate field %q", f.Name)
			}
			seen[f.Name] = true
			_ = f.Value.AppendJSON(nil)
		}
	}
}

// Bounds on what decoding one fuzz input may cost, from the chunk's
// budget: the work and output one step past the limit can add before the
// check that stops the chunk (a part list, a record's fields compared or
// grouped, a compile, one value of 64 KiB expanded to list elements), and
// the allocation of output buffers that grow by a quarter at a time.
const (
	fuzzMaxWork   = maxChunkWork + 1<<17
	fuzzMaxOutput = maxChunkOutput + 8<<20
	fuzzMaxAlloc  = 5*fuzzMaxOutput + 16<<20
)

// decodeBounded runs decode and fails when it goes past the fuzz bounds.
func decodeBounded(t *testing.T, d *decoder, decode func()) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	decode()
	runtime.ReadMemStats(&after)
	if work := maxChunkWork - d.work; work > fuzzMaxWork {
		t.Fatalf("decoding took %d units of work, want at most %d", work, fuzzMaxWork)
	}
	if out := d.output(); out > fuzzMaxOutput {
		t.Fatalf("decoding made %d bytes of output, want at most %d", out, fuzzMaxOutput)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > fuzzMaxAlloc {
		t.Fatalf("decoding allocated %d bytes, want at most %d", n, fuzzMaxAlloc)
	}
}

// FuzzChunk decodes one chunk (padded to 64 KiB, checksums fixed up).
func FuzzChunk(f *testing.F) {
	for _, s := range seedChunks(f) {
		f.Add(s)
	}
	d := newDecoder("fuzz")
	res := newChunkResult()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > chunkSize {
			return
		}
		res.reset()
		res.n = copy(res.buf, fixChunk(data))
		res.carve = true // the free space too
		decodeBounded(t, d, func() { d.decodeChunk(res) })
		checkResult(t, res)
	})
}

// FuzzBinXML decodes data as the binary XML of a record at the start of an
// otherwise empty chunk.
func FuzzBinXML(f *testing.F) {
	for _, s := range seedChunks(f) {
		// The first record's binary XML.
		if len(s) < chunkHeaderSize+minRecordSize {
			continue
		}
		size := int(binary.LittleEndian.Uint32(s[chunkHeaderSize+4:]))
		if size < minRecordSize || chunkHeaderSize+size > len(s) {
			continue
		}
		f.Add(bytes.Clone(s[chunkHeaderSize+recordHeaderSize : chunkHeaderSize+size-4]))
	}
	f.Add([]byte{tokFragment, 1, 1, 0, tokOpenStart, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, tokCloseEmpty, tokEOF})
	d := newDecoder("fuzz")
	res := newChunkResult()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > chunkSize-chunkHeaderSize-minRecordSize {
			return
		}
		res.reset()
		clear(res.buf)
		size := recordHeaderSize + len(data) + 4
		b := res.buf[chunkHeaderSize:]
		copy(b, recordSignature)
		binary.LittleEndian.PutUint32(b[4:], uint32(size))
		binary.LittleEndian.PutUint64(b[8:], 1)
		copy(b[recordHeaderSize:], data)
		binary.LittleEndian.PutUint32(b[size-4:], uint32(size))
		res.n = chunkSize
		d.begin(res)
		var err error
		decodeBounded(t, d, func() { err = d.record(chunkHeaderSize, size) })
		if err != nil {
			if errors.Is(err, ErrInternal) {
				t.Fatalf("recovered panic: %v", err)
			}
			return
		}
		res.items = append(res.items, item{start: int32(d.recStart), end: int32(len(res.fields))})
		checkResult(t, res)
	})
}

// maxFuzzFile bounds the inputs of FuzzFile: a file header, a chunk and
// part of another, so that every input costs at most two chunks' decoding
// and carving.
const maxFuzzFile = fileHeaderSize + chunkSize + 16<<10

// FuzzFile reads a whole file (checksums not fixed up, so damaged chunks
// are salvaged) with carving on. Seeds are small (chunks cut after their
// records, which is damage too) so that the mutator works on structure.
func FuzzFile(f *testing.F) {
	c, offs := refChunk(1, 4)
	c.record(func() {
		c.fragment()
		c.templateRef(0x1000)
		c.values(systemValues(5)...)
		c.eof()
	})
	used := len(c.b)
	b := c.bytes()
	binary.LittleEndian.PutUint32(b[48:], uint32(offs[3])) // records 4 and 5 in free space
	fixRecordsCRC(b)
	f.Add(b[:used])                           // a bare chunk, cut after its records
	f.Add(fileOf(b)[:fileHeaderSize+used])    // a file, cut
	f.Add(append(fileOf(b), b[:used]...)[1:]) // file signature broken, a headerless chunk after
	b[offs[1]] ^= 0xff                        // a record signature: the records checksum fails
	f.Add(b[:used])
	for _, s := range seedChunks(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzFile {
			return
		}
		r, err := Open(bytes.NewReader(data), int64(len(data)), Options{Source: "fuzz", Workers: 1, Carve: true})
		if err != nil {
			return
		}
		defer r.Close()
		// Each record takes at least minRecordSize bytes; every chunk slot
		// may add a few skips.
		limit := len(data)/minRecordSize + 8*(len(data)/chunkSize+2)
		for n := 0; ; n++ {
			if n > limit {
				t.Fatalf("more than %d results from %d bytes", limit, len(data))
			}
			ev, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if se, ok := errors.AsType[*event.SkipError](err); ok {
					if errors.Is(se, ErrInternal) {
						t.Fatalf("recovered panic: %v", se)
					}
					continue
				}
				t.Fatalf("Next: %v", err)
			}
			seen := map[string]bool{}
			for _, f := range ev.Fields {
				if seen[f.Name] {
					t.Fatalf("duplicate field %q", f.Name)
				}
				seen[f.Name] = true
				_ = f.Value.AppendJSON(nil)
			}
		}
	})
}
