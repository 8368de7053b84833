// Package ctxtest provides contexts for tests of cancellation that do not
// depend on timing.
package ctxtest

import (
	"context"
	"sync/atomic"
)

// Countdown is a context whose Err returns context.Canceled once it has
// been called more than n times: a cancellation at a given place in the
// work, whatever the timing. Its Done channel is Background's (nil): code
// under test must look at Err.
type Countdown struct {
	context.Context
	n atomic.Int64
}

// After returns a Countdown cancelled after n calls of Err (at once when
// n < 1).
func After(n int64) *Countdown {
	c := &Countdown{Context: context.Background()}
	c.n.Store(n)
	return c
}

// Err returns context.Canceled once n calls have been made.
func (c *Countdown) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// Never is the n of a Countdown that counts the looks of a whole run:
// Looks tells how many there were.
const Never = 1 << 40

// Looks returns how many times Err was called on a Countdown made by
// After(Never).
func (c *Countdown) Looks() int64 { return Never - c.n.Load() }

// Cancelled returns a context cancelled before the work starts.
func Cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
