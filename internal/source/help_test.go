package source

import (
	"sync/atomic"
	"testing"
	"time"
)

// fakeHelpable has parts to decode until it has none left.
type fakeHelpable struct{ left, done atomic.Int64 }

func (f *fakeHelpable) Help() bool {
	if f.left.Add(-1) < 0 {
		return false
	}
	f.done.Add(1)
	return true
}

// TestHelpers checks that a worker with no file left decodes the parts of
// the readers open until they have none, waits while they have none, and
// stops once no worker reads files.
func TestHelpers(t *testing.T) {
	h := &helpers{}
	h.reading.Store(1)
	a, b := &fakeHelpable{}, &fakeHelpable{}
	a.left.Store(5)
	b.left.Store(3)
	h.add(a)
	h.add(b)
	stopped := make(chan struct{})
	go func() { h.help(t.Context()); close(stopped) }()
	deadline := time.Now().Add(5 * time.Second)
	for a.done.Load()+b.done.Load() < 8 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if a.done.Load() != 5 || b.done.Load() != 3 {
		t.Fatalf("helped %d and %d parts, want 5 and 3", a.done.Load(), b.done.Load())
	}
	h.remove(a)
	select {
	case <-stopped:
		t.Fatal("helping stopped while a worker still reads files")
	case <-time.After(20 * time.Millisecond):
	}
	h.reading.Store(0)
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("helping did not stop once no worker reads files")
	}
}
