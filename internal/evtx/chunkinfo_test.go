package evtx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
)

func TestChunks(t *testing.T) {
	data, err := os.ReadFile(shared.Path(t, "datasets", "deepbluecli", "evtx", "password-spray.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Chunks(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	// Record identifiers 1-104, 105-210, 211-295 (python's struct reading
	// of the headers, the format document's offsets 24 and 32).
	want := []ChunkInfo{{0, 4096, 1, 104}, {1, 4096 + 65536, 105, 210}, {2, 4096 + 2*65536, 211, 295}}
	if len(got) != len(want) {
		t.Fatalf("got %d chunks %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("chunk %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	// A header byte changed: that chunk fails its CRC and is left out.
	bad := bytes.Clone(data)
	bad[4096+65536+30]++
	if got, _ := Chunks(bytes.NewReader(bad), int64(len(bad))); len(got) != 2 || got[1].Index != 2 {
		t.Errorf("damaged chunk 1: got %+v, want chunks 0 and 2", got)
	}
}

func FuzzChunks(f *testing.F) {
	for _, name := range []string{"password-spray.evtx", "new-user-security.evtx"} {
		p := filepath.Join(shared.Dir(f), "datasets", "deepbluecli", "evtx", name)
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b[:min(len(b), 3*chunkSize)])
		}
	}
	f.Add([]byte("ElfChnk\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, _ := Chunks(bytes.NewReader(b), int64(len(b)))
		for _, c := range cs {
			if c.Offset < 0 || c.Offset+chunkHeaderSize > int64(len(b)) {
				t.Fatalf("chunk %+v outside a file of %d bytes", c, len(b))
			}
			// A file with its header: ChunkAt reads each slot as Chunks.
			if bytes.HasPrefix(b, fileSignature) {
				if got, ok, err := ChunkAt(bytes.NewReader(b), c.Index); !ok || err != nil || got != c {
					t.Fatalf("ChunkAt(%d): got %+v, %v, %v, want %+v", c.Index, got, ok, err, c)
				}
			}
		}
		for _, i := range []int{-1, len(b) / chunkSize, 1 << 20} {
			ChunkAt(bytes.NewReader(b), i)
		}
	})
}

// TestChunkRange: FirstChunk and EndChunk read only those chunk slots,
// whatever the decoding (serial, parallel, helped), and ChunkAt reads
// one slot's header as Chunks does.
func TestChunkRange(t *testing.T) {
	data, err := os.ReadFile(shared.Path(t, "datasets", "deepbluecli", "evtx", "password-spray.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	ra := bytes.NewReader(data)
	for i, want := range []ChunkInfo{{0, 4096, 1, 104}, {1, 4096 + 65536, 105, 210}, {2, 4096 + 2*65536, 211, 295}} {
		if got, ok, err := ChunkAt(ra, i); !ok || err != nil || got != want {
			t.Errorf("ChunkAt(%d): got %+v, %v, %v, want %+v", i, got, ok, err, want)
		}
	}
	if _, ok, err := ChunkAt(ra, 3); ok || err != nil {
		t.Errorf("ChunkAt past the end: got %v, %v, want false, nil", ok, err)
	}
	for _, o := range []Options{{Workers: 1}, {Workers: 3}, {Helped: true}} {
		for _, r := range []struct{ first, end, lo, hi int64 }{{1, 0, 105, 295}, {1, 2, 105, 210}, {0, 1, 1, 104}, {3, 0, 0, 0}, {2, 9, 211, 295}} {
			o.FirstChunk, o.EndChunk = int(r.first), int(r.end)
			rd, err := Open(ra, int64(len(data)), o)
			if err != nil {
				t.Fatal(err)
			}
			var lo, hi, n int64
			for {
				ev, err := rd.Next()
				if err != nil {
					break
				}
				if n == 0 {
					lo = ev.Locator
				}
				hi = ev.Locator
				n++
			}
			rd.Close()
			if lo != r.lo || hi != r.hi || (n > 0 && n != hi-lo+1) {
				t.Errorf("%+v: records %d-%d (%d), want %d-%d", o, lo, hi, n, r.lo, r.hi)
			}
		}
	}
}
