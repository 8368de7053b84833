package evtx

import (
	"runtime"
	"strings"
	"testing"
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
