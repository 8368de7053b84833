package intake

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/store"
)

// queued is how many encoded detections wait for the store: the hunt's
// workers encode on their own cores and wait only when the store falls
// this far behind.
const queued = 1024

// item is one detection encoded for the store.
type item struct{ det, ref []byte }

// sink is the hunt's hunt.Sink: its workers encode each detection and one
// goroutine writes them through the store's Writer (which is for one
// goroutine), so memory holds at most queued detections and a batch.
type sink struct {
	items    chan item
	count    atomic.Int64 // detections handed to the store
	oversize atomic.Int64 // detections left out: larger than the store takes
	err      error        // the writer's first error; read after done
	failed   atomic.Bool
	done     chan struct{}
	once     sync.Once
	entities []byte // the index, encoded; nil until Entities
}

func newSink(ctx context.Context, w *store.Writer, cancel context.CancelCauseFunc) *sink {
	s := &sink{items: make(chan item, queued), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for it := range s.items {
			if s.err != nil {
				continue // drained: the hunt is stopping
			}
			if err := w.WriteRef(ctx, it.det, it.ref); err != nil {
				s.err = err
				s.failed.Store(true)
				cancel(err)
				continue
			}
			s.count.Add(1)
		}
		// The last batch stays buffered: Finish writes it with the hunt's
		// completion, Abort drops it.
	}()
	return s
}

// Detection encodes d (as `spoor hunt --json` does) and its ref, and
// queues them.
func (s *sink) Detection(d *result.Detection, ref *operation.DetectionRef) error {
	if s.failed.Load() {
		return errStopped
	}
	det, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if len(det) > maxCorrelationSize && d.Correlation != nil {
		det, err = trimCorrelation(d)
		if err != nil {
			return err
		}
	}
	if len(det) > store.MaxDetectionSize {
		s.oversize.Add(1) // one detection is not worth the hunt
		return nil
	}
	var r []byte
	if ref != nil {
		if r, err = json.Marshal(ref); err != nil {
			return err
		}
	}
	s.items <- item{det, r}
	return nil
}

// Entities encodes the hunt's index, saved once every detection is.
func (s *sink) Entities(ix *operation.Index) error {
	var err error
	s.entities, err = ix.AppendBinary(nil)
	return err
}

// close waits for every queued detection to be written and returns the
// first error writing them.
func (s *sink) close() error {
	s.once.Do(func() { close(s.items) })
	<-s.done
	return s.err
}

// errStopped: the store failed and the hunt stops (its error is the
// store's, given by close).
var errStopped = stoppedError{}

type stoppedError struct{}

func (stoppedError) Error() string { return "stopped: the store failed" }

// maxCorrelationSize bounds the JSON of a correlation's match in the
// store: over a large collection one can count tens of thousands of
// detections (4 MiB and more of JSON each), and a batch of them would
// hold hundreds of MB.
const maxCorrelationSize = 256 << 10

// maxCounted bounds the detections a correlation's match keeps as the
// hunt makes it (hunt.Options.MaxCounted): a detection's JSON is 1 to 2
// KiB, so most of these fit maxCorrelationSize, and the hunt's memory no
// longer grows with what its correlations counted.
const maxCounted = 100

// trimCorrelation encodes a correlation's match d with the first of the
// detections it counted only, as many as fit maxCorrelationSize (its
// count says how many there were).
func trimCorrelation(d *result.Detection) ([]byte, error) {
	c := *d.Correlation
	t := *d
	t.Correlation = &c
	for n := len(c.Detections) / 2; ; n /= 2 {
		c.Detections = d.Correlation.Detections[:n]
		det, err := json.Marshal(&t)
		if err != nil || len(det) <= maxCorrelationSize || n == 0 {
			return det, err
		}
	}
}
