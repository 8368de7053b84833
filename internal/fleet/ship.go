package fleet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/outfile"
	"github.com/spoor-hunt/spoor/internal/source"
)

// The collector (spoor ship): it reads its inputs with internal/source,
// as spoor dump and hunt do, and publishes their events in batches, one
// per host and window of events, waiting for each batch's acknowledgement
// before it moves its bookmark past it.
//
// An input is read in passes: a pass reads the file from its start with
// the ordinary reader; the events of earlier complete passes (each log's
// record numbers, or JSON line numbers, up to the highest shipped: the
// bookmark's High) are passed over, and the others are numbered in the
// pass (their ordinal). The bookmark says how many of the pass were
// shipped (Done); a collector restarted mid-pass skips those and goes on,
// so nothing is lost and nothing is sent twice but the window in flight
// when it stopped, which JetStream's duplicate window (same message id)
// and the workers' idempotent store absorb. With --follow a file that
// grows is read again in a new pass; a file replaced (rotated: a new
// inode at the path) is a new input, and the renamed one keeps its
// bookmark.

// Bookmark is where a collector stands in one input, kept as JSON in its
// state folder and written whole (outfile) after every acknowledged
// window.
type Bookmark struct {
	Input string `json:"input"` // Input.ID
	Path  string `json:"path"`
	File  string `json:"file"` // source.Identity of the file
	// Pass is the pass under way, or the last one when Complete.
	Pass int64 `json:"pass"`
	// Done is how many events of the pass were shipped and acknowledged.
	Done     int64 `json:"done"`
	Complete bool  `json:"complete"`
	// High is, per log of the input (its event.Event.Source less the
	// input's path: "" for the file itself, "!member" in an archive), the
	// highest locator (record number, line) of the complete passes.
	High map[string]int64 `json:"high"`
	// Size and ModTime are the file's when its last complete pass began.
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
	// Events is how many events of the input were shipped in all.
	Events  int64     `json:"events"`
	Updated time.Time `json:"updated"`
}

// Publisher publishes one batch message on subject with the message id
// msgID and returns once the server acknowledged it.
type Publisher interface {
	Publish(ctx context.Context, subject string, msg []byte, msgID string) error
}

// JetStreamPublisher publishes through JetStream with acknowledgements.
type JetStreamPublisher struct{ JS jetstream.JetStream }

// Publish implements Publisher.
func (p JetStreamPublisher) Publish(ctx context.Context, subject string, msg []byte, msgID string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := p.JS.Publish(ctx, subject, msg, jetstream.WithMsgID(msgID))
	return err
}

// ShipOptions configure Ship.
type ShipOptions struct {
	// Tenant and Case are where the events go (the case is created by the
	// worker when missing).
	Tenant, Case string
	// Collector names this collector (its inputs' ids derive from it).
	Collector string
	// State is the folder of the bookmarks (required).
	State string
	// Follow keeps reading: inputs that grow, new files under the paths.
	Follow bool
	// Poll is how often Follow looks for changes; 0 means 1 s.
	Poll time.Duration
	// Window is how many events are read before their batches are
	// published and the bookmark moved; 0 means 1,000.
	Window int
	// Source configures the reading (limits, carving, temp folder);
	// Workers is 1: an input's events are read in order.
	Source source.Options
	// Logger receives warnings (retries, dropped events); nil discards.
	Logger *slog.Logger
	// Stats, when not nil, is updated as shipping goes.
	Stats *ShipStats
}

// ShipStats count what a collector did; read at any time.
type ShipStats struct {
	Events, Batches, Bytes, Retries, Dropped, Inputs atomic.Int64
	// LastAck is the time (Unix nanoseconds) of the last acknowledgement.
	LastAck atomic.Int64
	// Last is the bookmark moved last (a copy).
	Last atomic.Pointer[Bookmark]
}

// maxRaw bounds a batch's events before compression, so that its message
// stays under MaxMessage.
const maxRaw = 768 << 10

// Ship ships the events of paths (files, folders, archives: what spoor
// dump reads) until every input is read to its end, or, with
// opts.Follow, until ctx is done. It returns ctx's error when ctx ends
// it, or the error that stopped it (a bookmark that cannot be read or
// written); a server that is away is waited for, with backoff.
func Ship(ctx context.Context, pub Publisher, paths []string, opts ShipOptions) error {
	if opts.State == "" || opts.Tenant == "" || opts.Collector == "" {
		return errors.New("ship: state folder, tenant and collector are required")
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Window <= 0 {
		opts.Window = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Stats == nil {
		opts.Stats = new(ShipStats)
	}
	if err := os.MkdirAll(opts.State, 0o700); err != nil {
		return fmt.Errorf("state folder: %w", err)
	}
	s := &shipper{pub: pub, opts: opts}
	for {
		files, failed := source.Walk(paths)
		for _, f := range failed {
			opts.Logger.Warn("input not read", "path", f.Name, "err", f.Err)
		}
		for _, f := range files {
			if f.Size < 0 {
				opts.Logger.Warn("streams are not shipped (no bookmark can resume them)", "path", f.Path)
				continue
			}
			if err := s.input(ctx, f); err != nil {
				return err
			}
		}
		if !opts.Follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(opts.Poll):
		}
	}
}

type shipper struct {
	pub  Publisher
	opts ShipOptions
	// the window being read
	encs  map[string]*Encoder // by host
	free  []*Encoder
	start int64 // ordinal of the window's first event
	count int
	away  time.Time // when publishing began to fail; zero when it works
}

// inputID is the id of the file of identity ident for this collector.
func (s *shipper) inputID(ident string) string {
	sum := sha256.Sum256([]byte(s.opts.Collector + "\x00" + ident))
	return hex.EncodeToString(sum[:12])
}

// input runs a pass over f when it changed since its bookmark.
func (s *shipper) input(ctx context.Context, f source.File) error {
	fi, err := os.Stat(f.Path)
	if err != nil {
		s.opts.Logger.Warn("input not read", "path", f.Path, "err", err)
		return nil
	}
	ident := source.Identity(f.Path, fi)
	id := s.inputID(ident)
	bm, err := s.load(id)
	if err != nil {
		return err
	}
	if bm == nil || fi.Size() < bm.Size {
		// New, or cut short (truncated, or a new file on a reused
		// inode): read from its start, in a pass of its own.
		pass := int64(0)
		if bm != nil {
			pass = bm.Pass
			s.opts.Logger.Warn("input shrank: read again from its start", "path", f.Path, "was", bm.Size, "now", fi.Size())
		}
		bm = &Bookmark{Input: id, File: ident, Pass: pass, Complete: true, High: map[string]int64{}}
	}
	bm.Path = f.Path
	if bm.Complete && fi.Size() == bm.Size && fi.ModTime().Equal(bm.ModTime) && bm.Pass > 0 {
		return nil // nothing new
	}
	if bm.Complete {
		bm.Pass++
		bm.Done, bm.Complete = 0, false
	}
	s.opts.Stats.Inputs.Add(1)
	h := Header{Tenant: s.opts.Tenant, Case: s.opts.Case, Collector: s.opts.Collector, Input: Input{ID: id, Path: f.Path}}
	passHigh := map[string]*int64{}
	var n int64 // ordinal of the next event of the pass
	s.start, s.count = bm.Done, 0
	sopts := s.opts.Source
	sopts.Workers, sopts.Logger = 1, s.opts.Logger
	_, err = source.Run(ctx, []string{f.Path}, sopts, func(_ int, ev *event.Event) error {
		// A log is known by its place in the input ("" for the file
		// itself, "!member" in an archive), not by the input's name,
		// which a rotation changes.
		log, _ := strings.CutPrefix(ev.Source, f.Path)
		if ev.Locator > 0 && ev.Locator <= bm.High[log] {
			return nil // shipped in an earlier pass
		}
		ord := n
		n++
		// Keys are copies made once: a map assignment to an existing
		// string key stores the key given, here the reader's text.
		hi := passHigh[log]
		if hi == nil {
			hi = new(int64)
			passHigh[strings.Clone(log)] = hi
		}
		*hi = max(*hi, ev.Locator)
		if ord < bm.Done {
			return nil // shipped earlier in this pass
		}
		h.Host = ev.Lookup(event.FieldComputer).Text()
		enc := s.encoder(h)
		enc.Add(ord, ev)
		s.count++
		if s.count >= s.opts.Window || enc.Size() >= maxRaw {
			return s.flush(ctx, bm, n)
		}
		return nil
	})
	if err == nil {
		err = s.flush(ctx, bm, n)
	}
	if err != nil {
		s.drop()
		return err
	}
	bm.Complete = true
	for src, hi := range passHigh {
		bm.High[src] = max(bm.High[src], *hi)
	}
	bm.Size, bm.ModTime = fi.Size(), fi.ModTime()
	return s.save(bm)
}

// encoder returns the window's encoder of h's host.
func (s *shipper) encoder(h Header) *Encoder {
	if s.encs == nil {
		s.encs = map[string]*Encoder{}
	}
	if e := s.encs[h.Host]; e != nil {
		return e
	}
	// The host is the reader's text, valid until its next event: the
	// window keeps a copy.
	h.Host = strings.Clone(h.Host)
	var e *Encoder
	if n := len(s.free); n > 0 {
		e, s.free = s.free[n-1], s.free[:n-1]
		e.Reset(h)
	} else {
		e = NewEncoder(h)
	}
	s.encs[h.Host] = e
	return e
}

// drop forgets the window's events.
func (s *shipper) drop() {
	for h, e := range s.encs {
		s.free = append(s.free, e)
		delete(s.encs, h)
	}
	s.count = 0
}

// flush publishes the window's batches, ordinals [s.start, end) of the
// pass, and moves the bookmark to end once all are acknowledged.
func (s *shipper) flush(ctx context.Context, bm *Bookmark, end int64) error {
	if s.count == 0 && end == s.start {
		return nil
	}
	hosts := make([]string, 0, len(s.encs))
	for h := range s.encs {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	var events int64
	for _, host := range hosts {
		e := s.encs[host]
		msg, err := e.Message()
		if err != nil {
			return err
		}
		h := e.Header()
		if len(msg) > MaxMessage {
			s.opts.Stats.Dropped.Add(int64(e.Len()))
			s.opts.Logger.Warn("events too large to ship: dropped", "path", h.Input.Path, "host", host, "events", e.Len(), "bytes", len(msg))
			continue
		}
		if err := s.publish(ctx, Subject(h.Tenant, host), msg, h.MsgID(bm.Pass, s.start, end)); err != nil {
			return err
		}
		events += int64(e.Len())
		s.opts.Stats.Batches.Add(1)
		s.opts.Stats.Bytes.Add(int64(len(msg)))
	}
	s.drop()
	s.opts.Stats.Events.Add(events)
	bm.Done, s.start = end, end
	bm.Events += events
	return s.save(bm)
}

// publish publishes until the server acknowledges, waiting between tries
// from 250 ms up to 10 s; only ctx ends it.
func (s *shipper) publish(ctx context.Context, subject string, msg []byte, id string) error {
	wait := 250 * time.Millisecond
	for {
		err := s.pub.Publish(ctx, subject, msg, id)
		if err == nil {
			if !s.away.IsZero() {
				s.opts.Logger.Info("server back: shipping again", "after", time.Since(s.away).Round(time.Second))
				s.away = time.Time{}
			}
			s.opts.Stats.LastAck.Store(time.Now().UnixNano())
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s.away.IsZero() {
			s.away = time.Now()
			// The inputs themselves are the buffer: nothing is dropped
			// while the server is away, the bookmark waits.
			s.opts.Logger.Warn("publish failed: retrying until the server takes it", "subject", subject, "err", err)
		}
		s.opts.Stats.Retries.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// maxBookmark bounds a bookmark file.
const maxBookmark = 4 << 20

func (s *shipper) bookmarkPath(id string) string {
	return filepath.Join(s.opts.State, id+".json")
}

// load reads the bookmark of input id; nil when there is none.
func (s *shipper) load(id string) (*Bookmark, error) {
	p := s.bookmarkPath(id)
	fh, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bookmark: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxBookmark+1))
	if err == nil && len(b) > maxBookmark {
		err = errors.New("larger than 4 MiB")
	}
	var bm Bookmark
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(&bm)
	}
	if err == nil && (bm.Input != id || bm.Done < 0 || bm.Pass < 0) {
		err = errors.New("not this input's")
	}
	if err != nil {
		return nil, fmt.Errorf("bookmark %s: %w (remove it to ship the input again from its start)", p, err)
	}
	if bm.High == nil {
		bm.High = map[string]int64{}
	}
	return &bm, nil
}

// save writes bm whole, or not at all.
func (s *shipper) save(bm *Bookmark) error {
	bm.Updated = time.Now().UTC()
	b, err := json.Marshal(bm)
	if err != nil {
		return err
	}
	if err := outfile.Write(s.bookmarkPath(bm.Input), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return fmt.Errorf("bookmark: %w", err)
	}
	if s.opts.Stats != nil {
		c := *bm
		c.High = nil // its size grows with an archive's members
		s.opts.Stats.Last.Store(&c)
	}
	return nil
}

// Bookmarks returns the bookmarks in the state folder dir, for status.
func Bookmarks(dir string) ([]Bookmark, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	s := &shipper{opts: ShipOptions{State: dir}}
	var out []Bookmark
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		bm, err := s.load(id)
		if err != nil {
			return out, err
		}
		if bm != nil {
			out = append(out, *bm)
		}
	}
	return out, nil
}
