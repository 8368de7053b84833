package evtx

import (
	"fmt"
	"io"
	"runtime"
	"sync"
)

// helpState is the shared part of a Helped Reader: the chunks other
// goroutines claimed and decode ahead of the consumer (the goroutine
// calling Next), and what they decode with.
//
// Chunks are claimed in file order under mu. The consumer takes chunk next:
// one a helper claimed (it waits for its result), or else it claims and
// decodes it itself. Helpers claim the chunks after the last one claimed,
// at most window ahead of the consumer, so that memory stays bounded.
type helpState struct {
	mu      sync.Mutex
	claim   int                       // the next chunk nobody claimed
	pending map[int]chan *chunkResult // claimed by helpers, not yet taken
	closed  bool
	window  int
	busy    sync.WaitGroup // helpers decoding

	free     chan *chunkResult // results to reuse
	decoders chan *decoder     // helpers' decoders (each keeps its template cache)
	own      *decoder          // the consumer's
}

func newHelpState() *helpState {
	n := runtime.GOMAXPROCS(0)
	return &helpState{
		pending:  map[int]chan *chunkResult{},
		window:   2 * n,
		free:     make(chan *chunkResult, 2*n+2),
		decoders: make(chan *decoder, n),
	}
}

// Help decodes one chunk ahead of the consumer of a Helped Reader, from
// another goroutine, and reports whether there was one to decode: false
// when every chunk is claimed, the consumer is a window behind, the Reader
// is closed or not Helped. It is safe to call concurrently with Next and
// with other calls of Help.
func (r *Reader) Help() bool {
	h := r.help
	if h == nil {
		return false
	}
	h.mu.Lock()
	if h.closed || h.claim >= r.slots || h.claim >= r.next+h.window {
		h.mu.Unlock()
		return false
	}
	i := h.claim
	h.claim++
	ch := make(chan *chunkResult, 1)
	h.pending[i] = ch
	h.busy.Add(1)
	h.mu.Unlock()
	defer h.busy.Done()

	var d *decoder
	select {
	case d = <-h.decoders:
	default:
		d = newDecoder(r.opts.Source)
	}
	res := h.result()
	defer func() {
		// The consumer waits for this chunk: it gets a result whatever
		// happens (decoding recovers its own panics; reading may not).
		if p := recover(); p != nil {
			res.reset()
			res.index, res.skipped = i, true
			d.res = res
			d.skip(fmt.Sprintf("chunk %d", i), 0, fmt.Errorf("read chunk %d: %v: %w", i, p, ErrInternal))
			d = newDecoder(r.opts.Source)
		}
		select {
		case h.decoders <- d:
		default:
		}
		ch <- res
	}()
	r.load(d, res, i)
	return true
}

// result returns a chunk result to decode into.
func (h *helpState) result() *chunkResult {
	select {
	case res := <-h.free:
		return res
	default:
		return newChunkResult()
	}
}

// nextHelped releases the current chunk and returns the next one, taken
// from a helper or decoded here.
func (r *Reader) nextHelped() (*chunkResult, error) {
	h := r.help
	if r.cur != nil && !r.cur.oversized() {
		select {
		case h.free <- r.cur:
		default:
		}
	}
	r.cur = nil
	h.mu.Lock()
	if r.next >= r.slots {
		h.mu.Unlock()
		return nil, io.EOF
	}
	i := r.next
	r.next++
	ch, helped := h.pending[i]
	if helped {
		delete(h.pending, i)
	} else {
		h.claim = i + 1 // chunks before next are all claimed: claim == i
	}
	h.mu.Unlock()
	if helped {
		return <-ch, nil
	}
	if h.own == nil {
		h.own = newDecoder(r.opts.Source)
	}
	res := h.result()
	r.load(h.own, res, i)
	return res, nil
}

// closeHelped stops helping and waits for the helpers decoding, so that
// the input is no longer read once Close returns.
func (r *Reader) closeHelped() {
	h := r.help
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.busy.Wait()
}
