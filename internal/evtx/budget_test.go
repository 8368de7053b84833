package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// textChunk returns a chunk of one record whose Data element holds n
// string tokens ("ab"), character references ('c') and entity references
// ("&amp;"), and the text they make.
func textChunk(n int) ([]byte, string) {
	c := newChunkBuilder(1)
	var want strings.Builder
	c.record(func() {
		c.fragment()
		c.open("Event", false)
		c.closeStart()
		c.open("EventData", false)
		c.closeStart()
		c.open("Data", false)
		c.closeStart()
		for i := range n {
			switch {
			case i%7 == 6:
				c.entityRef("amp")
				want.WriteByte('&')
			case i%2 == 0:
				c.text("ab")
				want.WriteString("ab")
			default:
				c.charRef('c')
				want.WriteByte('c')
			}
		}
		c.end() // Data
		c.end() // EventData
		c.end() // Event
		c.eof()
	})
	return c.bytes(), want.String()
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestTextTokensLinear decodes an element of thousands of text and
// character reference tokens: its text is built in one pass (it was copied
// again at every token, a gigabyte of allocation for one chunk).
func TestTextTokensLinear(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tokens int
	}{
		{"few", 8},
		{"many", 11000}, // close to a full chunk
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunk, want := textChunk(tc.tokens)
			data := fileOf(chunk)
			var evs int
			var got string
			n := allocated(func() {
				events, skips := readAll(t, data, 1)
				for _, s := range skips {
					t.Errorf("skip: %v", s)
				}
				evs = len(events)
				if evs == 1 && len(events[0].Fields) == 1 {
					got = events[0].Fields[0].Value.Text()
				}
			})
			if evs != 1 {
				t.Fatalf("got %d events, want 1", evs)
			}
			if got != want {
				t.Errorf("got Data of %d bytes %.40q..., want %d bytes %.40q...", len(got), got, len(want), want)
			}
			if limit := uint64(16 << 20); n > limit {
				t.Errorf("decoding allocated %d bytes, want at most %d", n, limit)
			}
		})
	}
}

// TestChunkBudgetReal decodes every chunk of the real files in the shared
// datasets and checks that the most work and output a chunk needs stays far
// (8 times) below the chunk's budget.
func TestChunkBudgetReal(t *testing.T) {
	root := shared.Dir(t)
	var files []string
	for _, dir := range []string{"datasets/evtx-attack-samples", "datasets/deepbluecli", "datasets/sigma"} {
		files = append(files, evtxFiles(t, filepath.Join(root, dir))...)
	}
	d := newDecoder("budget")
	res := newChunkResult()
	var most struct{ work, output, text, values, fields int }
	var where [5]string
	chunks := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for off := fileHeaderSize; off+chunkHeaderSize <= len(data); off += chunkSize {
			res.reset()
			res.index, res.offset = chunks, int64(off)
			res.n = copy(res.buf, data[off:])
			d.decodeChunk(res)
			chunks++
			for _, it := range res.items {
				var be *budgetError
				if it.skip != nil && errors.As(it.skip, &be) {
					t.Errorf("%s: %v", p, it.skip)
				}
			}
			name := fmt.Sprintf("%s chunk at 0x%x", filepath.Base(p), off)
			for i, m := range []struct{ got, most *int }{
				{ptr(maxChunkWork - d.work), &most.work},
				{ptr(d.output()), &most.output},
				{ptr(len(res.arena.b)), &most.text},
				{ptr(len(res.vals)), &most.values},
				{ptr(len(res.fields)), &most.fields},
			} {
				if *m.got > *m.most {
					*m.most, where[i] = *m.got, name
				}
			}
		}
	}
	if chunks == 0 {
		t.Skip("no EVTX files in the datasets")
	}
	t.Logf("%d files, %d chunks; most a chunk needs:", len(files), chunks)
	t.Logf("work:   %8d units of %8d (%s)", most.work, maxChunkWork, where[0])
	t.Logf("output: %8d bytes of %8d (%s)", most.output, maxChunkOutput, where[1])
	t.Logf("  text: %8d bytes (%s)", most.text, where[2])
	t.Logf("  list elements: %d (%s)", most.values, where[3])
	t.Logf("  fields: %d (%s)", most.fields, where[4])
	for _, c := range []struct {
		what        string
		most, limit int
	}{
		{"work", most.work, maxChunkWork},
		{"output", most.output, maxChunkOutput},
	} {
		if c.most > c.limit/8 {
			t.Errorf("a real chunk needs %d of %s, more than 1/8 of the budget of %d", c.most, c.what, c.limit)
		}
	}
}

func ptr(n int) *int { return &n }

// dataTemplate writes, in a record, the definition of a template of n
// Data elements in EventData, each holding substitution 0 of type typ
// (optional when opt), and values vs for it; it returns the definition's
// offset.
func (c *chunkBuilder) dataTemplate(n int, typ byte, opt bool, vs ...val) int {
	var def int
	c.record(func() {
		c.fragment()
		def = c.templateDef(func() {
			c.open("Event", false)
			c.closeStart()
			c.open("EventData", false)
			c.closeStart()
			for range n {
				c.open("Data", false)
				c.closeStart()
				c.sub(0, typ, opt)
				c.end()
			}
			c.end()
			c.end()
		})
		c.values(vs...)
		c.eof()
	})
	return def
}

// fillRecords adds records that use the template at def with the values
// vs, as many as fit in the chunk.
func (c *chunkBuilder) fillRecords(def int, vs ...val) {
	size := 64
	for _, v := range vs {
		size += len(v.data)
	}
	for len(c.b)+size < chunkSize {
		c.record(func() {
			c.fragment()
			c.templateRef(def)
			c.values(vs...)
			c.eof()
		})
	}
}

// bombChunk returns a chunk whose first record defines a template of n
// Data elements, each holding substitution 0 (optional when opt), and
// whose other records, as many as fit, use it again with the value v:
// little input that multiplies into much work (opt with a Null value:
// every element is considered and omitted) or much output (every element
// is a value of v). It also returns how many records it holds.
func bombChunk(n int, opt bool, v val) ([]byte, int) {
	c := newChunkBuilder(1)
	c.fillRecords(c.dataTemplate(n, v.typ, opt, v), v)
	return c.bytes(), c.recs
}

// nestedBombChunk returns a chunk like bombChunk's with opt and a Null
// value, except that its records use the template of n elements through
// BinXml values, each 8 times.
func nestedBombChunk(n int) ([]byte, int) {
	c := newChunkBuilder(1)
	null := val{typeNull, nil}
	big := c.dataTemplate(n, typeNull, true, null)
	// The BinXml value, an instance of the big template, refers to it by
	// offset only: it can be written anywhere.
	inner := &chunkBuilder{}
	inner.fragment()
	inner.templateRef(big)
	inner.values(null)
	inner.eof()
	bx := val{typeBinXML, inner.b}
	outer := c.dataTemplate(8, typeBinXML, false, bx)
	c.fillRecords(outer, bx)
	return c.bytes(), c.recs
}

// TestChunkBudget decodes chunks crafted to cost far more work or output
// than their size: decoding stops when the chunk goes over its budget, the
// records decoded before stay, and the rest of the chunk is one SkipError
// that names the chunk and the record where it stopped.
func TestChunkBudget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		nested bool
		opt    bool
		v      val
		what   string
	}{
		{"work", false, true, val{typeNull, nil}, "units of work"},
		{"nested", true, true, val{typeNull, nil}, "units of work"},
		{"output", false, false, val{typeUint32, u32v(7)}, "bytes of output"},
		{"text", false, false, val{typeString, strv(strings.Repeat("x", 200))}, "bytes of output"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunk, records := bombChunk(2000, tc.opt, tc.v)
			if tc.nested {
				chunk, records = nestedBombChunk(2000)
			}
			data := fileOf(chunk)
			var events int
			var skips []*event.SkipError
			n := allocated(func() { events, skips = countAll(t, data) })
			if len(skips) != 1 {
				t.Fatalf("got %d skips %v, want 1", len(skips), skips)
			}
			se := skips[0]
			var be *budgetError
			if !errors.As(se, &be) || be.what != tc.what || !errors.Is(se, ErrTooComplex) {
				t.Errorf("got skip %v, want the chunk over its budget of %s", se, tc.what)
			}
			if !strings.HasPrefix(se.Where, "chunk 0 at offset 0x1000, from record ") {
				t.Errorf("got skip at %q, want chunk 0 and the record", se.Where)
			}
			if events == 0 || events+se.Records != records {
				t.Errorf("got %d events and %d records lost, want some events and %d records in all", events, se.Records, records)
			}
			// The output's buffers grow by a quarter at a time when large:
			// five times the budget, and the reader's own buffers.
			if limit := uint64(5*maxChunkOutput + 4<<20); n > limit {
				t.Errorf("decoding allocated %d bytes, want at most %d", n, limit)
			}
			t.Logf("%d records, %d decoded, %d bytes allocated; %v", records, events, n, se)
		})
	}
}

// countAll reads data with one worker and returns how many events it holds
// and the skips.
func countAll(tb testing.TB, data []byte) (int, []*event.SkipError) {
	tb.Helper()
	r, err := Open(bytes.NewReader(data), int64(len(data)), Options{Source: "test.evtx", Workers: 1})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	defer r.Close()
	n := 0
	var skips []*event.SkipError
	for {
		_, err := r.Next()
		var se *event.SkipError
		switch {
		case err == io.EOF:
			return n, skips
		case errors.As(err, &se):
			skips = append(skips, se)
		case err != nil:
			tb.Fatalf("Next: %v", err)
		default:
			n++
		}
	}
}

// TestReuseCapped reads a chunk that grows the reader's buffers to its
// budget, then a small one: the grown buffers are not kept for reuse.
func TestReuseCapped(t *testing.T) {
	bomb, _ := bombChunk(2000, false, val{typeUint32, u32v(7)})
	small, _ := textChunk(8)
	data := fileOf(bomb, small)
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"serial", Options{Workers: 1}},
		{"parallel", Options{Workers: 2}},
		{"helped", Options{Helped: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(bytes.NewReader(data), int64(len(data)), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for {
				if _, err := r.Next(); err == io.EOF {
					break
				}
			}
			// What the reader keeps for the next chunks.
			kept := []*chunkResult{r.cur}
			for _, free := range []chan *chunkResult{r.free, helpFree(r)} {
				for len(free) > 0 {
					kept = append(kept, <-free)
				}
			}
			for _, res := range kept {
				if res != nil && (cap(res.arena.b) > keepArena || cap(res.fields) > keepFields || cap(res.vals) > keepValues) {
					t.Errorf("kept a chunk result of %d bytes of arena, %d fields, %d values; want at most %d, %d, %d",
						cap(res.arena.b), cap(res.fields), cap(res.vals), keepArena, keepFields, keepValues)
				}
			}
		})
	}
}

func helpFree(r *Reader) chan *chunkResult {
	if r.help == nil {
		return nil
	}
	return r.help.free
}

// TestProgramCacheBounded decodes chunks that each define a template of
// another GUID holding 30 KB of text: the decoder's cross-chunk cache of
// compiled templates stays within its bound of memory.
func TestProgramCacheBounded(t *testing.T) {
	d := newDecoder("cache")
	res := newChunkResult()
	text := strings.Repeat("x", 15000)
	for i := range 1200 { // 36 MB of text in all
		c := newChunkBuilder(1)
		c.record(func() {
			c.fragment()
			def := c.templateDef(func() {
				c.open("Event", false)
				c.closeStart()
				c.open("Data", false)
				c.closeStart()
				c.text(text)
				c.sub(0, typeString, false)
				c.end()
				c.end()
			})
			binary.LittleEndian.PutUint64(c.b[def+4:], uint64(i+1)) // GUID
			c.values(val{typeString, strv("y")})
			c.eof()
		})
		res.reset()
		res.n = copy(res.buf, c.bytes())
		d.decodeChunk(res)
		if res.records != 1 {
			t.Fatalf("chunk %d: got %d records, want 1 (%v)", i, res.records, res.items)
		}
	}
	total := 0
	for _, p := range d.cache {
		total += p.size()
	}
	t.Logf("%d programs, %d bytes", len(d.cache), total)
	if total > maxCachedBytes {
		t.Errorf("got %d bytes of cached programs, want at most %d", total, maxCachedBytes)
	}
}

// TestScribbleReused keeps an event's fields past Next, which the reuse
// contract forbids: in builds with the spoorscribble tag the reader
// overwrites them when it reuses its buffers, so that such a consumer sees
// junk (names and numbers too, which live outside the arena).
func TestScribbleReused(t *testing.T) {
	if !event.Scribbling {
		t.Skip("needs -tags spoorscribble")
	}
	empty := newChunkBuilder(2).bytes()
	data := fileOf(smallChunks(1)[fileHeaderSize:], empty)
	r, err := Open(bytes.NewReader(data), int64(len(data)), Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ev, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	kept := ev.Fields // not cloned
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("Next: got %v, want io.EOF", err)
	}
	for _, f := range kept {
		if f.Name != scribbled || f.Value.Kind() != event.String || f.Value.Str() != scribbled {
			t.Errorf("got kept field %q=%v, want scribbled", f.Name, f.Value)
		}
	}
}

// TestChunkBudgetSalvage decodes a work bomb in a chunk that fails its
// checks (salvaged) and in one whose header is gone (carved): decoding
// stops at the record that goes over the budget, and the chunk's one skip
// says so (it is not counted as records that do not decode).
func TestChunkBudgetSalvage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func([]byte)
		opts   Options
	}{
		{"salvaged", func(b []byte) { b[124] ^= 0xff }, Options{}},
		{"carved", func(b []byte) { clear(b[:chunkHeaderSize]) }, Options{Carve: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunk, _ := bombChunk(2000, true, val{typeNull, nil})
			tc.damage(chunk)
			evs, skips := readWith(t, fileOf(chunk), 1, tc.opts)
			var budget, carve int
			for _, se := range skips {
				if errors.Is(se, ErrTooComplex) {
					budget++
				}
				if errors.Is(se, ErrCarve) {
					carve++
				}
			}
			if len(evs) == 0 || budget != 1 || carve != 0 {
				t.Errorf("got %d events and skips %v, want some events and one skip for the budget, none for records not decodable", len(evs), skips)
			}
		})
	}
}
