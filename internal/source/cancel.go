package source

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// withContext returns a reader of r whose Read returns ctx's error as soon
// as ctx is done, even while r blocks (an idle standard input, a pipe
// whose writer is slow), and a stop function to call once reading is over.
//
// A file the runtime polls (a named pipe opened by path, a non-blocking
// descriptor) gets a read deadline when ctx is done, which ends the read
// at once and leaves nothing behind. Any other reader is read by a
// goroutine, one read at a time into a buffer of its own, while Read waits
// for it or for ctx: a read that blocks for ever keeps that goroutine
// until it returns (for standard input, until the process exits).
func withContext(ctx context.Context, r io.Reader) (io.Reader, func()) {
	if f, ok := r.(*os.File); ok && f.SetReadDeadline(time.Time{}) == nil {
		stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
		return &deadlineReader{ctx: ctx, f: f}, func() { stop() }
	}
	c := &chanReader{
		ctx: ctx, r: r, buf: make([]byte, streamBuffer),
		ask: make(chan struct{}, 1), got: make(chan readResult, 1), quit: make(chan struct{}),
	}
	go c.loop()
	return c, c.stop
}

// deadlineReader reads a polled file whose read deadline is set when ctx
// is done.
type deadlineReader struct {
	ctx context.Context
	f   *os.File
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	n, err := d.f.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && d.ctx.Err() != nil {
		err = d.ctx.Err()
	}
	return n, err
}

// chanReader reads r on a goroutine of its own (loop), so that Read can
// give up when ctx is done.
type chanReader struct {
	ctx context.Context
	r   io.Reader
	// buf is what loop reads into; rest is the part of it not yet handed
	// out. loop writes buf only when asked, once rest is empty.
	buf, rest []byte
	err       error // the error that ended r
	asked     bool  // a read is under way
	ask       chan struct{}
	got       chan readResult
	quit      chan struct{}
}

type readResult struct {
	n   int
	err error
}

func (c *chanReader) loop() {
	for {
		select {
		case <-c.quit:
			return
		case <-c.ask:
		}
		n, err := c.r.Read(c.buf)
		c.got <- readResult{n, err} // never blocks: one read at a time
		if err != nil {
			return
		}
	}
}

func (c *chanReader) Read(p []byte) (int, error) {
	for len(c.rest) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if !c.asked {
			c.ask <- struct{}{}
			c.asked = true
		}
		select {
		case res := <-c.got:
			c.asked = false
			c.rest, c.err = c.buf[:res.n], res.err
		case <-c.ctx.Done():
			return 0, c.ctx.Err()
		}
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	return n, nil
}

// stop ends loop once its read under way, if any, returns.
func (c *chanReader) stop() { close(c.quit) }
