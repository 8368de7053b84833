package fleet

import (
	"bytes"
	"cmp"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
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
	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/jsonlog"
	"github.com/spoor-hunt/spoor/internal/outfile"
	"github.com/spoor-hunt/spoor/internal/source"
)

// The collector (spoor ship): it reads its inputs with internal/source,
// as spoor dump and hunt do, and publishes their events in batches, one
// per host and window of events, moving its bookmark past a window once
// each of its batches is acknowledged by the server, or spooled to disk
// while the server is away (spool.go).
//
// An input is read in passes. A pass over an EVTX file starts at the
// chunk where the last one ended (a live log's last chunk grows in place:
// it is read again) and ends before the first chunk slot after it that
// holds no newer records; a pass over JSON lines starts at the byte after
// the last whole line of the passes before and ends after the last whole
// line of the file (a line without its newline waits for it); a pass over
// anything else (an archive, a JSON array) reads the whole file. The
// events of earlier complete passes (each log's record numbers, or JSON
// line numbers, up to the highest shipped: the bookmark's High) are passed
// over, and the others are numbered in the pass (their ordinal). The
// bookmark says how many of the pass were shipped (Done); a collector
// restarted mid-pass reads the pass again from where it started, skips
// those and goes on, so nothing is lost and nothing is sent twice but the
// window in flight when it stopped, which JetStream's duplicate window
// (same message id) and the workers' idempotent store absorb. With
// --follow a file that grows is read again in a new pass; a file replaced
// (rotated: a new inode at the path) is a new input, and the renamed one
// keeps its bookmark. Windows recycles the chunks of a full log (a
// circular log): when the first record of the first chunk slot, or of
// the chunk a pass starts at, is not the one the last pass saw, the log
// wrapped, and the pass reads the whole file.

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
	// Head is the CRC32 of the file's first HeadSize bytes (at most
	// headCheck) when its last complete pass began: other first bytes
	// say its content was replaced in place.
	Head     uint32 `json:"head,omitempty"`
	HeadSize int    `json:"head_size,omitempty"`
	// Events is how many events of the input were shipped in all.
	Events  int64     `json:"events"`
	Updated time.Time `json:"updated"`

	// Kind is how the input is read: "evtx" (a pass starts at chunk slot
	// Chunk), "lines" (at byte Offset), "file" (every pass reads all of
	// it); "" until known (a file too short to tell, or a bookmark of a
	// spoor that read every input whole).
	Kind string `json:"kind,omitempty"`
	// Chunk is the chunk slot of an EVTX file where the pass under way,
	// or the next, starts; ChunkFirst is the first record id of that
	// chunk and Oldest that of slot 0, as the last pass planned them: a
	// change says the log wrapped.
	Chunk      int    `json:"chunk,omitempty"`
	ChunkFirst uint64 `json:"chunk_first,omitempty"`
	Oldest     uint64 `json:"oldest,omitempty"`
	// Whole says the EVTX pass under way reads the whole file: the first,
	// or the one after the log wrapped.
	Whole bool `json:"whole,omitempty"`
	// Offset is where the pass under way, or the next, starts in JSON
	// lines: the start of line Line+1.
	Offset int64 `json:"offset,omitempty"`
	Line   int64 `json:"line,omitempty"`
}

// Kinds of input (Bookmark.Kind).
const (
	kindEVTX  = "evtx"
	kindLines = "lines"
	kindFile  = "file"
)

// Publisher publishes one batch message on subject with the message id
// msgID and returns once the server acknowledged it.
type Publisher interface {
	Publish(ctx context.Context, subject string, msg []byte, msgID string) error
}

// ErrDisconnected: the connection to NATS is down (being re-established).
var ErrDisconnected = errors.New("not connected to the NATS server")

// JetStreamPublisher publishes through JetStream with acknowledgements.
type JetStreamPublisher struct{ JS jetstream.JetStream }

// Publish implements Publisher. While the connection is down it fails at
// once (a collector spools, or waits, rather than stalling on each batch
// for the timeout).
func (p JetStreamPublisher) Publish(ctx context.Context, subject string, msg []byte, msgID string) error {
	if nc := p.JS.Conn(); nc != nil && !nc.IsConnected() {
		return ErrDisconnected
	}
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
	// Buffer is how many bytes of batches are spooled to disk, under
	// State, while the server is away; at the limit reading stops until
	// the server takes them. 0 spools nothing: reading waits for the
	// server.
	Buffer int64
	// Logger receives warnings (retries, dropped events); nil discards.
	Logger *slog.Logger
	// Stats, when not nil, is updated as shipping goes.
	Stats *ShipStats
}

// ShipStats count what a collector did; read at any time.
type ShipStats struct {
	Events, Batches, Bytes, Retries, Dropped, Inputs atomic.Int64
	// Read is how many bytes were read from the inputs.
	Read atomic.Int64
	// Spooled and SpoolBytes are the batches, and their bytes, waiting
	// in the spool; SpoolEvents their events. Blocked says reading
	// stopped: the spool is full.
	Spooled, SpoolBytes, SpoolEvents atomic.Int64
	Blocked                          atomic.Bool
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
	s := &shipper{pub: pub, opts: opts, wait: minWait}
	if opts.Buffer > 0 {
		sp, damaged, err := openSpool(filepath.Join(opts.State, "spool"), opts.Buffer)
		if err != nil {
			return err
		}
		for _, d := range damaged {
			opts.Logger.Error("spooled batch damaged", "file", d)
		}
		s.spool = sp
		s.spoolStats()
		if n := len(sp.items); n > 0 {
			opts.Logger.Info("batches spooled by an earlier run: publishing them first", "batches", n, "bytes", sp.bytes)
		}
	}
	for {
		// What was spooled goes first, in order (without waiting when
		// the server is still away).
		if err := s.drain(ctx, false); err != nil {
			return err
		}
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
			// Done once the spool is empty.
			return s.drain(ctx, true)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(opts.Poll):
		}
	}
}

// The wait between tries to publish while the server is away.
const (
	minWait = 250 * time.Millisecond
	maxWait = 10 * time.Second
)

type shipper struct {
	pub  Publisher
	opts ShipOptions
	// the window being read
	encs  map[string]*Encoder // by host
	free  []*Encoder
	zw    *flate.Writer // the encoders' compressor, one at a time
	start int64         // ordinal of the window's first event
	count int
	// away is when publishing began to fail (zero when it works); the
	// next try is at retry, wait after the one before.
	away, retry time.Time
	wait        time.Duration
	spool       *spool // nil without Options.Buffer
	blocked     bool   // reading stopped: the spool is full
	// known holds the bookmarks (without High) by input id, once rotated
	// first needs them.
	known map[string]*Bookmark
}

// inputID is the id of the file of identity ident for this collector.
func (s *shipper) inputID(ident string) string {
	sum := sha256.Sum256([]byte(s.opts.Collector + "\x00" + ident))
	return hex.EncodeToString(sum[:12])
}

// input runs a pass over f when it changed since its bookmark.
func (s *shipper) input(ctx context.Context, f source.File) error {
	fh, err := source.OpenFile(f.Path)
	if err != nil {
		s.opts.Logger.Warn("input not read", "path", f.Path, "err", err)
		return nil
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		s.opts.Logger.Warn("input not read", "path", f.Path, "err", cmp.Or(err, errors.New("not a regular file")))
		return nil
	}
	ident := source.Identity(f.Path, fi)
	id := s.inputID(ident)
	bm, err := s.load(id)
	if err != nil {
		return err
	}
	if bm != nil && bm.Complete && fi.Size() == bm.Size && fi.ModTime().Equal(bm.ModTime) && bm.Pass > 0 {
		return nil // nothing new
	}
	ra := &countingReaderAt{r: fh, n: &s.opts.Stats.Read}
	head, err := readHead(ra, fi.Size())
	if err != nil {
		s.opts.Logger.Warn("input not read", "path", f.Path, "err", err)
		return nil
	}
	if bm == nil || replaced(bm, fi.Size(), head) {
		// A new file at a path given by name may be a rotation's, even
		// with the bookmark of a file once there (ext4 gives a freed
		// inode to the next file made).
		if f.Named {
			if err := s.rotated(ctx, f.Path, ident); err != nil {
				return err
			}
		}
		// New, cut short or replaced: read from its start, in a pass
		// of its own.
		pass := int64(0)
		if bm != nil {
			pass = bm.Pass
			s.opts.Logger.Warn("input shrank or was replaced: read again from its start", "path", f.Path, "was", bm.Size, "now", fi.Size())
		}
		bm = &Bookmark{Input: id, File: ident, Pass: pass, Complete: true, High: map[string]int64{}}
	}
	bm.Path = f.Path
	if bm.Kind == "" {
		if bm.Kind, err = kindOf(ra, fi.Size()); err != nil {
			s.opts.Logger.Warn("input not read", "path", f.Path, "err", err)
			return nil
		}
		// Read whole first: what a bookmark of an earlier spoor left
		// unread may be anywhere.
		bm.Whole = bm.Kind == kindEVTX
	}
	resume := !bm.Complete
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
	fn := func(_ int, ev *event.Event) error {
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
		size, k := enc.Size(), enc.Len()
		enc.Add(ord, ev)
		if k > 0 && enc.Size()-size > MaxMessage-maxRaw {
			// A huge event starts a window: with the events before
			// it, its batch could pass MaxMessage and be dropped
			// whole.
			enc.cut(size, k)
			if err := s.flush(ctx, bm, ord); err != nil {
				return err
			}
			enc = s.encoder(h)
			enc.Add(ord, ev)
		}
		s.count++
		if s.count >= s.opts.Window || enc.Size() >= maxRaw {
			return s.flush(ctx, bm, n)
		}
		return nil
	}
	var (
		parts []source.Part // read in turn
		done  func()        // moves the bookmark's start of the next pass
		cut   error         // the part could not be read to its end
	)
	switch bm.Kind {
	case kindEVTX:
		parts, done, err = s.planEVTX(ra, fi.Size(), bm, resume)
	case kindLines:
		parts, done, err = s.planLines(ra, fi.Size(), bm)
	}
	if err != nil {
		// A file changing as it is looked at: again at the next poll.
		s.opts.Logger.Warn("input not read", "path", f.Path, "err", err)
		return nil
	}
	if done != nil {
		for _, part := range parts {
			if _, err = source.ReadPart(ctx, part, sopts, fn); err != nil {
				break
			}
			if part.Lines != nil {
				// The lines a failed read left unread are counted too.
				_, cut = io.Copy(io.Discard, part.Lines)
			}
		}
	} else {
		s.opts.Stats.Read.Add(fi.Size())
		_, err = source.Run(ctx, []string{f.Path}, sopts, fn)
	}
	if err == nil {
		err = s.flush(ctx, bm, n)
	}
	if err != nil {
		s.drop()
		return err
	}
	if cut != nil {
		// The pass goes on at the next poll, from where it started.
		s.opts.Logger.Warn("input read in part: again at the next poll", "path", f.Path, "err", cut)
		return nil
	}
	bm.Complete = true
	for src, hi := range passHigh {
		bm.High[src] = max(bm.High[src], *hi)
	}
	if done != nil {
		done()
	}
	bm.Size, bm.ModTime = fi.Size(), fi.ModTime()
	if bm.Kind != kindLines {
		// A file read whole may rewrite its end as it grows (a JSON
		// array's closing bracket, a zip's central directory): a
		// small one, all head, was taken for replaced and shipped
		// again. Its first half is kept.
		head = head[:min(int64(len(head)), fi.Size()/2)]
	}
	bm.Head, bm.HeadSize = crc32.ChecksumIEEE(head), len(head)
	return s.save(bm)
}

// headCheck is how much of a file's start its bookmark keeps a checksum
// of.
const headCheck = 1 << 10

// readHead returns the first bytes of the file ra of size bytes, at most
// headCheck.
func readHead(ra io.ReaderAt, size int64) ([]byte, error) {
	head := make([]byte, min(size, headCheck))
	if n, err := ra.ReadAt(head, 0); err != nil && (err != io.EOF || n < len(head)) {
		return nil, err
	}
	return head, nil
}

// replaced reports whether the file of size bytes that starts with head
// is no longer the content bm was kept for: cut short, or other first
// bytes. An EVTX file's header changes as it grows; other files keep
// their first bytes, unless their content was replaced in place
// (copytruncate and more written by this poll, cp over it, a reused
// inode): then the offset and locators of bm are another content's.
func replaced(bm *Bookmark, size int64, head []byte) bool {
	return size < bm.Size || bm.Kind != kindEVTX && bm.HeadSize > 0 &&
		(bm.HeadSize > len(head) || crc32.ChecksumIEEE(head[:bm.HeadSize]) != bm.Head)
}

// rotated ships what is left of the files that were at path, a file
// given by name, before it was rotated (renamed in its folder, a new one
// at path, of identity ident): out of the paths walked, they lost what
// was written to them since the last poll. input calls it when it takes
// the file at path for new (no bookmark, or one it shrank from or whose
// Head it lost).
func (s *shipper) rotated(ctx context.Context, path, ident string) error {
	if s.known == nil {
		// Read once, then kept by save: read at each new file, the
		// bookmarks of a thousand files given by name were read a
		// million times.
		ents, err := os.ReadDir(s.opts.State)
		if err != nil {
			return fmt.Errorf("state folder: %w", err)
		}
		s.known = map[string]*Bookmark{}
		for _, e := range ents {
			id, ok := strings.CutSuffix(e.Name(), ".json")
			if !ok || e.IsDir() {
				continue
			}
			// A damaged bookmark is said by its own input's pass.
			if bm, err := s.load(id); err == nil && bm != nil {
				bm.High = nil // its size grows with an archive's members
				s.known[id] = bm
			}
		}
	}
	gone := map[string]*Bookmark{} // of the files once at path, by identity
	for _, bm := range s.known {
		if bm.Path == path && bm.File != ident {
			gone[bm.File] = bm
		}
	}
	if len(gone) == 0 {
		return nil
	}
	// A link's target is renamed in its own folder.
	dir := filepath.Dir(path)
	if p, err := filepath.EvalSymlinks(path); err == nil {
		dir = filepath.Dir(p)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		bm := gone[source.Identity(p, fi)]
		// A file that only has the inode of one once at path (a copy,
		// a compressed log, made after it was deleted) is not read:
		// its content may have been shipped.
		if bm == nil || s.other(p, fi.Size(), bm) {
			continue
		}
		if err := s.input(ctx, source.File{Path: p, Size: fi.Size()}); err != nil {
			return err
		}
	}
	return nil
}

// other reports whether the file p of size bytes is not the content bm
// was kept for (or cannot be read).
func (s *shipper) other(p string, size int64, bm *Bookmark) bool {
	fh, err := source.OpenFile(p)
	if err != nil {
		return true
	}
	defer fh.Close()
	head, err := readHead(&countingReaderAt{r: fh, n: &s.opts.Stats.Read}, size)
	return err != nil || replaced(bm, size, head)
}

// evtxSignature starts an EVTX file with its file header.
const evtxSignature = "ElfFile\x00"

// headLines is how much of a JSON file's start kindOf looks at for its
// first line, at first; maxFirstLine how far it looks for the end of a
// line that starts an object (a script block event passes 64 KiB).
const (
	headLines    = 64 << 10
	maxFirstLine = 4 << 20
)

// kindOf tells how the file ra of size bytes is read: an EVTX file with
// its header, JSON lines, or "" when it cannot tell yet (a JSON file's
// first line not whole, a file too short to hold the EVTX signature: it
// is read whole until it can).
func kindOf(ra io.ReaderAt, size int64) (string, error) {
	for n := min(size, headLines); ; n = min(size, 4*n, maxFirstLine) {
		head := make([]byte, n)
		if k, err := ra.ReadAt(head, 0); err != nil && (err != io.EOF || k < len(head)) {
			return "", err
		}
		switch {
		case len(head) < len(evtxSignature) && strings.HasPrefix(evtxSignature, string(head)):
			// Empty (created by a rotation, a copy just begun) or the
			// start of an EVTX header: decided once there is more.
			return "", nil
		case bytes.HasPrefix(head, []byte(evtxSignature)):
			return kindEVTX, nil
		case jsonlog.IsLines(head):
			return kindLines, nil
		case bytes.IndexByte(head, '\n') >= 0 || source.Sniff(head[:min(len(head), source.HeadSize)]) != source.JSON:
			return kindFile, nil
		case n == size:
			return "", nil // the first line not whole yet
		case n >= maxFirstLine || !bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r"), []byte("{")):
			return kindFile, nil
		}
	}
}

// chunkSize is the size of an EVTX chunk slot, fileHeader that of its
// file header.
const (
	chunkSize  = 64 << 10
	fileHeader = 4 << 10
)

// planEVTX plans a pass over the EVTX file ra of size bytes: from the
// chunk slot the bookmark says to the first slot after it that holds no
// newer records (unused, being written, or older: a circular log's next
// slot to recycle), or the whole file (the first pass, or the log wrapped
// since the last), oldest chunk first. A pass resumed after a restart
// keeps its plan. done records where the next pass starts: the slot of
// the newest chunk the pass read, which may grow still.
func (s *shipper) planEVTX(ra io.ReaderAt, size int64, bm *Bookmark, resume bool) ([]source.Part, func(), error) {
	slots := int(max(size-fileHeader+chunkSize-1, 0) / chunkSize)
	oldest, ok0, err := evtx.ChunkAt(ra, 0)
	if err != nil {
		return nil, nil, err
	}
	from, ok, err := evtx.ChunkAt(ra, bm.Chunk)
	if err != nil {
		return nil, nil, err
	}
	if !ok { // being written: what the last pass saw stands
		from = evtx.ChunkInfo{Index: bm.Chunk, FirstID: bm.ChunkFirst}
	}
	if !resume && !bm.Whole && (ok0 && oldest.FirstID != bm.Oldest || from.FirstID != bm.ChunkFirst) {
		s.opts.Logger.Info("log wrapped (its chunks recycled): read whole", "path", bm.Path,
			"first record", oldest.FirstID, "was", bm.Oldest)
		bm.Whole = true
	}
	part := source.Part{Name: bm.Path, Type: source.EVTX, R: ra, Size: size}
	next := from
	if bm.Whole {
		// The next pass starts at the newest chunk.
		next = evtx.ChunkInfo{}
		for i := range slots {
			c, ok, err := evtx.ChunkAt(ra, i)
			if err != nil {
				return nil, nil, err
			}
			if ok && c.LastID >= next.LastID {
				next = c
			}
		}
		if next.Index+1 < slots {
			// A wrapped log's newest chunk, which may grow still, is
			// read last, after the older ones in the slots after it:
			// a pass started again after a kill numbers the records
			// as the first did, whatever it gained since.
			older := part
			older.FirstChunk = next.Index + 1
			part.EndChunk = next.Index + 1
			return []source.Part{older, part}, s.planned(bm, next, oldest, ok0), nil
		}
	} else {
		high := uint64(max(bm.High[""], 0))
		part.FirstChunk, part.EndChunk = bm.Chunk, bm.Chunk+1
		for i := bm.Chunk + 1; i < slots; i++ {
			c, ok, err := evtx.ChunkAt(ra, i)
			if err != nil {
				return nil, nil, err
			}
			if !ok || c.FirstID <= high {
				break
			}
			next, part.EndChunk = c, i+1
		}
	}
	return []source.Part{part}, s.planned(bm, next, oldest, ok0), nil
}

// planned returns the done of a pass planned by planEVTX: the next starts
// at chunk next; oldest is slot 0's chunk, when ok0.
func (s *shipper) planned(bm *Bookmark, next, oldest evtx.ChunkInfo, ok0 bool) func() {
	return func() {
		bm.Whole = false
		bm.Chunk, bm.ChunkFirst = next.Index, next.FirstID
		bm.Oldest = 0
		if ok0 {
			bm.Oldest = oldest.FirstID
		}
	}
}

// planLines plans a pass over the JSON lines file ra of size bytes: from
// the bookmark's offset to the end of its last whole line. done records
// where the next pass starts: after that line.
func (s *shipper) planLines(ra io.ReaderAt, size int64, bm *Bookmark) ([]source.Part, func(), error) {
	end, err := lastLineEnd(ra, bm.Offset, size)
	if err != nil {
		return nil, nil, err
	}
	lines := &lineCounter{r: io.NewSectionReader(ra, bm.Offset, end-bm.Offset)}
	part := source.Part{Name: bm.Path, Type: source.JSON, Lines: lines, Line: bm.Line}
	return []source.Part{part}, func() { bm.Offset, bm.Line = end, bm.Line+lines.n }, nil
}

// lastLineEnd returns the offset after the last newline of ra in [from,
// size), or from when there is none; it reads from the end backwards.
func lastLineEnd(ra io.ReaderAt, from, size int64) (int64, error) {
	buf := make([]byte, 4<<10)
	for end := size; end > from; {
		start := max(from, end-int64(len(buf)))
		b := buf[:end-start]
		if n, err := ra.ReadAt(b, start); err != nil && (err != io.EOF || n < len(b)) {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return from, nil
}

// lineCounter counts the newlines read through it.
type lineCounter struct {
	r io.Reader
	n int64
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(bytes.Count(p[:n], []byte{'\n'}))
	return n, err
}

// countingReaderAt counts the bytes read through it into n.
type countingReaderAt struct {
	r io.ReaderAt
	n *atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	k, err := c.r.ReadAt(p, off)
	c.n.Add(int64(k))
	return k, err
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
		// One grown by a huge event (a JSON line of megabytes) is let
		// go: kept, its memory was the collector's for good.
		if cap(e.events) <= 2*maxRaw {
			s.free = append(s.free, e)
		}
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
		// One compressor (1.2 MB) for every host's encoder: a window
		// of a thousand hosts took a thousand.
		e.zw = s.zw
		msg, err := e.Message()
		s.zw = e.zw
		if err != nil {
			return err
		}
		h := e.Header()
		if len(msg) > MaxMessage {
			s.opts.Stats.Dropped.Add(int64(e.Len()))
			s.opts.Logger.Warn("events too large to ship: dropped", "path", h.Input.Path, "host", host, "events", e.Len(), "bytes", len(msg))
			continue
		}
		if err := s.deliver(ctx, Subject(h.Tenant, host), msg, h.MsgID(bm.Pass, s.start, end), e.Len()); err != nil {
			return err
		}
		events += int64(e.Len())
	}
	s.drop()
	bm.Done, s.start = end, end
	bm.Events += events
	return s.save(bm)
}

// deliver hands a batch of events to the server and returns once it is
// acknowledged, or, with a spool, once it is spooled: while the server is
// away, or while the spool holds batches read before it (the order is
// kept). With a full spool it waits until the server takes enough of
// what is spooled; without a spool, until it takes the batch.
func (s *shipper) deliver(ctx context.Context, subject string, msg []byte, id string, events int) error {
	if s.spool == nil {
		return s.publish(ctx, subject, msg, id, events)
	}
	if err := s.drain(ctx, false); err != nil {
		return err
	}
	if len(s.spool.items) == 0 && !time.Now().Before(s.retry) {
		if ok, err := s.try(ctx, subject, msg, id, events); ok || err != nil {
			return err
		}
	}
	size := spoolSize(subject, id, msg)
	for !s.spool.fits(size) {
		if len(s.spool.items) == 0 {
			// A batch larger than the whole spool: it waits for the
			// server.
			return s.publish(ctx, subject, msg, id, events)
		}
		if !s.blocked {
			s.blocked = true
			s.opts.Stats.Blocked.Store(true)
			s.opts.Logger.Warn("spool full: reading stopped until the server takes what waits (events would be dropped here)",
				"spooled", s.spool.bytes, "batches", len(s.spool.items), "events", s.spool.events(), "limit", s.spool.limit)
		}
		if _, err := s.drainOne(ctx, true); err != nil {
			return err
		}
	}
	if s.blocked {
		s.blocked = false
		s.opts.Stats.Blocked.Store(false)
		s.opts.Logger.Info("spool has room: reading again", "spooled", s.spool.bytes)
	}
	if err := s.spool.add(subject, id, events, msg); err != nil {
		return err
	}
	s.spoolStats()
	return nil
}

// drain publishes the spooled batches, oldest first, until the spool is
// empty or, unless wait, until the server refuses one (it is tried again
// at the next drain after the backoff).
func (s *shipper) drain(ctx context.Context, wait bool) error {
	for s.spool != nil && len(s.spool.items) > 0 {
		if !wait && time.Now().Before(s.retry) {
			return nil
		}
		ok, err := s.drainOne(ctx, wait)
		if err != nil {
			return err
		}
		if !ok && !wait {
			return nil
		}
	}
	return nil
}

// drainOne publishes the oldest spooled batch and removes it once
// acknowledged; when the server refuses it, it waits for the next try
// (wait) or returns false.
func (s *shipper) drainOne(ctx context.Context, wait bool) (bool, error) {
	if wait {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(time.Until(s.retry)):
		}
	}
	it, msg, err := s.spool.first()
	if err != nil {
		s.opts.Logger.Error("spooled batch damaged", "file", s.spool.setAside(it.name, err))
		s.opts.Stats.Dropped.Add(it.events)
		err = s.spool.pop()
		s.spoolStats()
		return err == nil, err
	}
	if ok, err := s.try(ctx, it.subject, msg, it.id, int(it.events)); !ok || err != nil {
		return false, err
	}
	err = s.spool.pop()
	s.spoolStats()
	return err == nil, err
}

// spoolStats copies what the spool holds to Stats.
func (s *shipper) spoolStats() {
	st := s.opts.Stats
	st.Spooled.Store(int64(len(s.spool.items)))
	st.SpoolBytes.Store(s.spool.bytes)
	st.SpoolEvents.Store(s.spool.events())
}

// acked counts a batch the server acknowledged.
func (s *shipper) acked(bytes, events int) {
	if !s.away.IsZero() {
		s.opts.Logger.Info("server back: shipping again", "after", time.Since(s.away).Round(time.Second))
		s.away = time.Time{}
	}
	s.wait, s.retry = minWait, time.Time{}
	st := s.opts.Stats
	st.LastAck.Store(time.Now().UnixNano())
	st.Batches.Add(1)
	st.Bytes.Add(int64(bytes))
	st.Events.Add(int64(events))
}

// failed notes a publication the server refused: the next try waits, from
// 250 ms up to 10 s.
func (s *shipper) failed(subject string, err error) {
	if s.away.IsZero() {
		s.away = time.Now()
		if s.spool != nil {
			s.opts.Logger.Warn("publish failed: spooling to disk until the server takes it", "subject", subject, "err", err,
				"spool", s.spool.dir, "limit", s.spool.limit)
		} else {
			// The inputs themselves are the buffer: nothing is
			// dropped while the server is away, the bookmark waits.
			s.opts.Logger.Warn("publish failed: retrying until the server takes it", "subject", subject, "err", err)
		}
	}
	s.opts.Stats.Retries.Add(1)
	s.retry = time.Now().Add(s.wait)
	s.wait = min(2*s.wait, maxWait)
}

// publish publishes until the server acknowledges; only ctx ends it.
func (s *shipper) publish(ctx context.Context, subject string, msg []byte, id string, events int) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(s.retry)):
		}
		if ok, err := s.try(ctx, subject, msg, id, events); ok || err != nil {
			return err
		}
	}
}

// try publishes once and reports whether the server acknowledged; a
// refusal is noted for the backoff, and only ctx's end is an error.
func (s *shipper) try(ctx context.Context, subject string, msg []byte, id string, events int) (bool, error) {
	err := s.pub.Publish(ctx, subject, msg, id)
	if err == nil {
		s.acked(len(msg), events)
		return true, nil
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	s.failed(subject, err)
	return false, nil
}

// maxBookmark bounds a bookmark file, as written and as read: its High
// holds a key for each log of an archive (about 60 bytes each), so an
// archive of a million logs fits.
const maxBookmark = 64 << 20

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
		err = fmt.Errorf("larger than %d MiB", maxBookmark>>20)
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
	if len(b) > maxBookmark {
		// Written, it would stop the collector's next start.
		return fmt.Errorf("bookmark of %s: %d bytes, over the %d MiB a bookmark may hold", bm.Path, len(b), maxBookmark>>20)
	}
	if err := outfile.Write(s.bookmarkPath(bm.Input), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return fmt.Errorf("bookmark: %w", err)
	}
	c := *bm
	c.High = nil // its size grows with an archive's members
	if s.known != nil {
		s.known[bm.Input] = &c
	}
	if s.opts.Stats != nil {
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
