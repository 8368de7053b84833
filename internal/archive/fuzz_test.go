package archive

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"runtime"
	"testing"
	"time"
)

// Every fuzz target reads inputs of at most maxFuzzInput bytes under a
// budget of fuzzLimits, and fails an input not read within fuzzDeadline
// (an endless loop) or that allocates more than maxFuzzAlloc.
const (
	maxFuzzInput = 1 << 20
	fuzzDeadline = 10 * time.Second
	maxFuzzAlloc = 256 << 20
)

var fuzzLimits = Limits{MaxBytes: 8 << 20}

// bounded runs read, failing t when it does not end within fuzzDeadline or
// allocates more than maxFuzzAlloc.
func bounded(t *testing.T, read func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	go func() {
		defer close(done)
		read()
	}()
	select {
	case <-done:
	case <-time.After(fuzzDeadline):
		t.Fatalf("input not read within %v", fuzzDeadline)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > maxFuzzAlloc {
		t.Fatalf("allocated %d bytes, want at most %d", n, maxFuzzAlloc)
	}
}

// readAll reads every member a walk presents, checking the budget holds.
func readAll(t *testing.T, b *Budget) func(e *Entry) error {
	return func(e *Entry) error {
		r, err := e.Open()
		if err != nil {
			return nil
		}
		io.Copy(io.Discard, r)
		e.Damage()
		if b.Decompressed() > fuzzLimits.MaxBytes {
			t.Errorf("decompressed %d bytes, past the budget of %d", b.Decompressed(), fuzzLimits.MaxBytes)
		}
		return nil
	}
}

// zip64Header returns a stored member's local header with zip64 sizes.
func zip64Header(csize, usize uint64, name string, data int) []byte {
	h := make([]byte, 30, 30+len(name)+20+data)
	binary.LittleEndian.PutUint32(h, localHeaderSig)
	binary.LittleEndian.PutUint32(h[18:], 0xffffffff)
	binary.LittleEndian.PutUint32(h[22:], 0xffffffff)
	binary.LittleEndian.PutUint16(h[26:], uint16(len(name)))
	binary.LittleEndian.PutUint16(h[28:], 20)
	h = append(h, name...)
	h = binary.LittleEndian.AppendUint16(h, 1)
	h = binary.LittleEndian.AppendUint16(h, 16)
	h = binary.LittleEndian.AppendUint64(h, usize)
	h = binary.LittleEndian.AppendUint64(h, csize)
	return append(h, make([]byte, data)...)
}

func zipSeeds(f *testing.F) {
	full := zipBytes(f, member{"a.json", []byte(`{"EventID":1}`)}, member{"b/c.json", bytes.Repeat([]byte("x"), 3000)})
	f.Add(full)
	f.Add(full[:len(full)/2])
	f.Add(full[:40])
	f.Add(zip64Header(1<<64-52, 24, "ab", 24)) // leads back to its own header
	f.Add(zip64Header(1<<63, 1<<63, "a", 8))
	f.Add([]byte("PK\x05\x06"))
}

// FuzzCutZip reads arbitrary bytes as a zip without central directory.
func FuzzCutZip(f *testing.F) {
	zipSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		bounded(t, func() {
			b := NewBudget(fuzzLimits)
			cz, _ := WalkCutZip(context.Background(), bytes.NewReader(data), int64(len(data)), b, readAll(t, b))
			if cz.End > int64(len(data)) {
				t.Errorf("stopped at offset %d, past the end %d", cz.End, len(data))
			}
		})
	})
}

// FuzzZip reads arbitrary bytes as a zip through its central directory.
func FuzzZip(f *testing.F) {
	zipSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		bounded(t, func() {
			z, err := OpenZip(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				return
			}
			b := NewBudget(fuzzLimits)
			z.Walk(context.Background(), b, readAll(t, b))
		})
	})
}

// FuzzTar reads arbitrary bytes as a tar archive.
func FuzzTar(f *testing.F) {
	full := tarBytes(f, member{"a.json", []byte(`{"EventID":1}`)}, member{"b", bytes.Repeat([]byte("x"), 3000)})
	f.Add(full)
	f.Add(full[:700])
	f.Add(full[:100])
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		bounded(t, func() {
			b := NewBudget(fuzzLimits)
			WalkTar(context.Background(), bytes.NewReader(data), b, readAll(t, b))
		})
	})
}

// FuzzGzip reads arbitrary bytes as a gzip stream: never more content
// than the budget, and a whole stream is what was compressed.
func FuzzGzip(f *testing.F) {
	text := bytes.Repeat([]byte("line\n"), 500)
	one := gzipBytes(f, text)
	f.Add(one)
	f.Add(gzipBytes(f, text[:7], text[7:]))
	f.Add(one[:len(one)-8])
	f.Add(one[:len(one)/2])
	f.Add(append(bytes.Clone(one), 0, 0, 'x'))
	f.Add([]byte{0x1f, 0x8b, 8, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 'a', 0, 'b', 0, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		bounded(t, func() {
			g, err := NewGzip(bytes.NewReader(data), NewBudget(fuzzLimits))
			if err != nil {
				return
			}
			n, _ := io.Copy(io.Discard, g)
			if n > fuzzLimits.MaxBytes {
				t.Errorf("content: got %d bytes, past the budget of %d", n, fuzzLimits.MaxBytes)
			}
		})
	})
}
