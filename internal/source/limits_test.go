package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/spoor-hunt/spoor/internal/archive"
	"github.com/spoor-hunt/spoor/internal/event"
)

// zerosBomb returns a gzip stream of a fake EVTX header followed by n
// zeros, compressed as tightly as deflate allows (about 1000 times).
func zerosBomb(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(fakeEVTX(`{"EventID":1}`))
	zeros := make([]byte, 1<<20)
	for range n >> 20 {
		zw.Write(zeros)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// leftIn fails the test when dir holds anything.
func leftIn(t *testing.T, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("temporary files left: got %d (%s), want none", len(left), left[0].Name())
	}
}

// TestLimits checks that each input file has one budget of decompressed
// and spooled bytes: past it (or past the expansion ratio of a stream
// once it has produced archive.RatioFloor bytes) the member or file being
// read fails with archive.ErrLimit, named, what came before is kept, and
// no temporary file is left. Before, a gzip of a header and zeros was
// spooled whole, whatever its size.
func TestLimits(t *testing.T) {
	small := jsonLines(`{"EventID":1}`, `{"EventID":2}`)
	type test struct {
		name   string
		data   []byte
		stdin  bool
		limits archive.Limits
		events int
		failed string // relative to the path, "" for stdin
	}
	tests := []test{
		{name: "byte limit across members", data: zipBytes(t, member{"a.json", small}, member{"b.json", small}, member{"c.json", small}),
			limits: archive.Limits{MaxBytes: int64(len(small)) + 10}, events: 2, failed: "!b.json"},
		{name: "spool limit on stdin", data: fakeEVTX(manyLines(200)...), stdin: true, limits: archive.Limits{MaxBytes: 1000}},
	}
	if !testing.Short() { // 96 MiB to decompress: slow under the race detector
		tests = append(tests, test{name: "zeros bomb stops at the ratio", data: zerosBomb(t, archive.RatioFloor+32<<20)})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			path := writeFile(t, filepath.Join(t.TempDir(), "in"), tc.data)
			opts := Options{MemoryLimit: 64, TempDir: tmp, Limits: tc.limits}
			name := path
			if tc.stdin {
				opts.Stdin, path, name = bytes.NewReader(tc.data), Stdin, "stdin"
			}
			events, sum := read(t, []string{path}, opts)
			if len(events) != tc.events {
				t.Errorf("events: got %d, want %d", len(events), tc.events)
			}
			i := slices.IndexFunc(sum.Failed, func(f Failure) bool { return errors.Is(f.Err, archive.ErrLimit) })
			if i < 0 || sum.Failed[i].Name != name+tc.failed || len(sum.Failed) != 1 {
				t.Errorf("failed: got %v, want %s%s with %v", sum.Failed, name, tc.failed, archive.ErrLimit)
			}
			leftIn(t, tmp)
		})
	}
}

// cancelReader delivers head then zeros, up to 256 MiB, and cancels its
// context after n bytes; after is how many it delivered since (atomic: a
// cancelled stream's read may still be under way on the reading goroutine,
// which the run abandons, when the test looks).
type cancelReader struct {
	n      int
	after  atomic.Int64
	cancel context.CancelFunc
	head   []byte
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if len(c.head) > 0 {
		n := copy(p, c.head)
		c.head = c.head[n:]
		return n, nil
	}
	if c.n <= -256<<20 {
		return 0, io.EOF
	}
	clear(p)
	if c.n -= len(p); c.n <= 0 {
		c.after.Add(int64(len(p)))
		c.cancel()
	}
	return len(p), nil
}

// failReader delivers r, then err.
type failReader struct {
	r   io.Reader
	err error
}

func (f *failReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// TestSpoolCleanup checks that temporary spool files are removed when the
// run is cancelled while spooling, and that content whose stream fails is
// read as far as it goes, its spool removed too.
func TestSpoolCleanup(t *testing.T) {
	t.Run("cancelled", func(t *testing.T) {
		tmp := t.TempDir()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		in := &cancelReader{n: 8 << 20, cancel: cancel, head: fakeEVTX(`{"EventID":1}`)}
		opts := Options{MemoryLimit: 64, TempDir: tmp, Stdin: in, formats: fakeFormats}
		_, err := Run(ctx, []string{Stdin}, opts, func(int, *event.Event) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run: got %v, want %v", err, context.Canceled)
		}
		if after := in.after.Load(); after > 4<<20 {
			t.Errorf("read after the cancellation: got %d bytes, want at most %d", after, 4<<20)
		}
		leftIn(t, tmp)
	})
	t.Run("stream fails", func(t *testing.T) {
		tmp := t.TempDir()
		broken := errors.New("broken pipe")
		in := &failReader{r: bytes.NewReader(fakeEVTX(manyLines(100)...)), err: broken}
		events, sum := read(t, []string{Stdin}, Options{MemoryLimit: 64, TempDir: tmp, Stdin: in})
		if len(events) != 100 {
			t.Errorf("events: got %d, want 100", len(events))
		}
		if len(sum.Damaged) != 1 || !errors.Is(sum.Damaged[0].First[0].Err, broken) {
			t.Errorf("damaged: got %+v, want stdin with %v", sum.Damaged, broken)
		}
		leftIn(t, tmp)
	})
}

// TestSpoolMemory checks that a large stream needing random access (EVTX
// in a gzip) goes to disk, not memory: before, up to 256 MiB were held in
// a growing buffer, 1 GiB of memory for a 300 MB EVTX.
func TestSpoolMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("48 MiB to compress and spool")
	}
	const size = 48 << 20
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	zw.Write(fakeEVTX(`{"EventID":1}`))
	zw.Write(bytes.Repeat([]byte{'\n'}, size))
	zw.Close()
	path := writeFile(t, filepath.Join(t.TempDir(), "e.evtx.gz"), b.Bytes())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	events, sum := read(t, []string{path}, Options{TempDir: t.TempDir()})
	runtime.ReadMemStats(&after)
	if len(events) != 1 || len(sum.Failed) != 0 {
		t.Errorf("got %d events, failed %v; want 1, none", len(events), sum.Failed)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated: got %d bytes, want at most %d for a %d-byte spool", alloc, 16<<20, size)
	}
}
