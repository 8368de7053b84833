package source

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// helpable is a reader that other goroutines can help decode ahead of the
// one reading it (evtx.Reader with Options.Helped): Help decodes one part
// and reports whether there was one.
type helpable interface {
	Help() bool
}

// helpers is the set of helpable readers open in a Run. A worker that has
// no file left to read lends its core to the files still being read,
// instead of leaving it idle while the last, or only, big file is read.
type helpers struct {
	mu      sync.Mutex
	readers []helpable
	// reading counts the workers still reading files; helping ends when
	// none is.
	reading atomic.Int64
}

func (h *helpers) add(r helpable) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.readers = append(h.readers, r)
}

func (h *helpers) remove(r helpable) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if i := slices.Index(h.readers, r); i >= 0 {
		h.readers = slices.Delete(h.readers, i, i+1)
	}
}

// A helper with nothing to do (the consumers are a window ahead of it, or
// the files being read cannot be helped, such as JSON) waits helpIdle,
// twice as long each time up to helpIdleMax, before it looks again.
const (
	helpIdle    = 50 * time.Microsecond
	helpIdleMax = 2 * time.Millisecond
)

// help decodes parts of the open readers ahead of their consumers until no
// worker is reading files any more or ctx is done.
func (h *helpers) help(ctx context.Context) {
	idle := helpIdle
	var rs []helpable // scratch: the readers open, copied out of the lock
	for ctx.Err() == nil && h.reading.Load() > 0 {
		var did bool
		if rs, did = h.helpOne(rs[:0]); did {
			idle = helpIdle
			continue
		}
		time.Sleep(idle)
		idle = min(2*idle, helpIdleMax)
	}
}

// helpOne decodes one part of the first reader that has one (the readers
// are copied into rs, returned for reuse: Help runs outside the lock); it
// reports whether it did.
func (h *helpers) helpOne(rs []helpable) ([]helpable, bool) {
	h.mu.Lock()
	rs = append(rs, h.readers...)
	h.mu.Unlock()
	for _, r := range rs {
		if safeHelp(r) {
			return rs, true
		}
	}
	return rs, false
}

// safeHelp calls r.Help, turning a panic of the reader into "nothing
// done": the reader's own goroutine meets the same part and reports it.
func safeHelp(r helpable) (did bool) {
	defer func() {
		if recover() != nil {
			did = false
		}
	}()
	return r.Help()
}
