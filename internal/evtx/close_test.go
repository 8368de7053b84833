package evtx

import (
	"bytes"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"
)

// smallChunks returns a file of n chunks of one record each.
func smallChunks(n int) []byte {
	var chunks [][]byte
	for i := range n {
		c := newChunkBuilder(uint64(i + 1))
		c.record(func() {
			c.fragment()
			c.systemTemplate(func() {})
			c.values(systemValues(uint64(i + 1))...)
			c.eof()
		})
		chunks = append(chunks, c.bytes())
	}
	return fileOf(chunks...)
}

// readOneClose opens data, reads an event and closes the reader.
func readOneClose(t *testing.T, data []byte, opts Options) *Reader {
	t.Helper()
	r, err := Open(bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return r
}

// goroutinesSettle waits (up to 10 s) for the number of goroutines to drop
// to want and returns the last count.
func goroutinesSettle(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); n > want && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestCloseLeaksNothing opens a file, reads one event and closes the
// reader, many times: no goroutine is left behind (one was, now and then,
// waiting for a chunk that the stopped dispatcher never gave a worker).
// The event sits between empty chunk slots, so that the dispatcher is busy
// when Close comes.
func TestCloseLeaksNothing(t *testing.T) {
	var chunks [][]byte
	for range 30 {
		chunks = append(chunks, make([]byte, chunkSize))
	}
	chunks = append(chunks, smallChunks(1)[fileHeaderSize:])
	for range 30 {
		chunks = append(chunks, make([]byte, chunkSize))
	}
	data := fileOf(chunks...)
	for _, tc := range []struct {
		name  string
		opts  Options
		times int
	}{
		{"parallel", Options{Workers: 8}, 200},
		{"helped", Options{Helped: true}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			for range tc.times {
				readOneClose(t, data, tc.opts)
			}
			if after := goroutinesSettle(before); after > before {
				t.Errorf("got %d goroutines after %d Closes, want %d as before", after, tc.times, before)
			}
		})
	}
}

// gatedReader is an io.ReaderAt whose reads of chunks wait until release
// is closed; entered receives a value when the first such read starts.
type gatedReader struct {
	r       *bytes.Reader
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGatedReader(data []byte) *gatedReader {
	return &gatedReader{r: bytes.NewReader(data), entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= fileHeaderSize {
		g.once.Do(func() { close(g.entered) })
		<-g.release
	}
	return g.r.ReadAt(p, off)
}

// within runs f and fails the test when it does not return within 10 s.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return within 10 s", what)
	}
}

// TestCloseWhileNextWaits closes a reader from another goroutine while
// Next waits for a chunk being read: Close returns once the read ends, and
// Next returns io.EOF (no event after Close, no panic, no hang).
func TestCloseWhileNextWaits(t *testing.T) {
	data := smallChunks(20)
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"serial", Options{Workers: 1}},
		{"parallel", Options{Workers: 4}},
		{"helped", Options{Helped: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGatedReader(data)
			r, err := Open(g, int64(len(data)), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			next := make(chan error, 1)
			go func() {
				_, err := r.Next()
				next <- err
			}()
			<-g.entered
			closed := make(chan struct{})
			go func() {
				r.Close()
				close(closed)
			}()
			for !r.closed.Load() {
				runtime.Gosched()
			}
			close(g.release)
			within(t, "Close", func() { <-closed })
			within(t, "Next", func() {
				if err := <-next; err != io.EOF {
					t.Errorf("Next: got %v, want io.EOF", err)
				}
			})
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next after Close: got %v, want io.EOF", err)
			}
		})
	}
}

// TestCloseWhileHelping closes a Helped reader while another goroutine
// decodes a chunk for it in Help: Close waits for that chunk, and Help does
// nothing after Close.
func TestCloseWhileHelping(t *testing.T) {
	data := smallChunks(20)
	g := newGatedReader(data)
	r, err := Open(g, int64(len(data)), Options{Helped: true})
	if err != nil {
		t.Fatal(err)
	}
	helped := make(chan bool, 1)
	go func() { helped <- r.Help() }()
	<-g.entered
	closed := make(chan struct{})
	go func() {
		r.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while Help was reading the input")
	case <-time.After(20 * time.Millisecond):
	}
	close(g.release)
	within(t, "Close", func() { <-closed })
	within(t, "Help", func() {
		if !<-helped {
			t.Error("Help: got false, want true (it decoded a chunk)")
		}
	})
	if r.Help() {
		t.Error("Help after Close: got true, want false")
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after Close: got %v, want io.EOF", err)
	}
}
