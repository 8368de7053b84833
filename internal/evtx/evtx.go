// Package evtx reads Windows XML event log files (.evtx): the file header,
// its 64 KiB chunks, their records and the binary XML inside them, into
// event.Events.
//
// # Fields
//
// A record becomes a flat list of fields in record order. System fields get
// the names Sigma uses (Provider_Name, Provider_Guid, EventSourceName,
// EventID, Qualifiers, Version, Level, Task, Opcode, Keywords, TimeCreated,
// EventRecordID, ActivityID, RelatedActivityID, ProcessID, ThreadID,
// Channel, Computer, UserID, and any other System element or attribute by
// its own name). EventData/Data elements are named by their Name attribute,
// unnamed Data elements form one field "Data", EventData/Binary is
// "Binary", and UserData leaves are named by element name. A name that
// repeats within a section makes one List field; a data field whose name
// is taken by a System field is prefixed with its section
// ("UserData_Channel", "EventData_ProcessID"); elements of other sections
// of the event (RenderingInfo, ProcessingErrorData) are prefixed with the
// section name. An element omitted by an optional substitution of a Null
// value yields no field; an empty element yields a Null field.
//
// Values keep their binary XML type: integers are Int or Uint, FILETIME and
// SYSTEMTIME are Time, GUIDs are "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}",
// SIDs "S-1-5-18", hex numbers and size_t "0x..." in lower case, binary
// data upper-case hex, arrays Lists; text written in the XML itself stays
// String. String values lose trailing white space, as evtx_dump renders
// them (and as SigmaHQ's regression data expects). BinXml values are
// decoded and their fields flattened into the event.
//
// # Speed
//
// Chunks are independent, so a Reader decodes them in parallel (see
// Options.Workers) and delivers their events in file order. Each template is
// compiled once into a list of output fields and kept across the chunks of
// a file (by template GUID and definition size), so a record costs little
// more than reading its substitution values. Events returned by Next alias
// the reader's per-chunk buffers (see event.Reader for the contract).
//
// # Damage
//
// Damage never stops a read: a chunk whose header or records fail their
// CRC32, a record that cannot be decoded or a chunk slot that holds garbage
// is reported by Next as an *event.SkipError, and reading goes on. A chunk
// that fails its checks or is cut short gives up its records one by one,
// wherever a record's own header is consistent and it decodes; its
// SkipError says how many were recovered and lost. Chunk slots are scanned
// to the end of the file, so files whose header undercounts their chunks
// (dirty files) are read fully; a file whose header is damaged is read
// from its first chunk signature. With Options.Carve, records in the
// chunks' free space and in slack are recovered too, marked
// event.Event.Carved. Limits on nesting, values and fields per record,
// and a budget of work and output per chunk, guard against hostile input:
// a chunk over its budget ends in a SkipError for the rest of it.
package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Errors that a SkipError (or Open) wraps to say why a part of a file was
// not decoded. Match them with errors.Is.
var (
	// ErrBadSignature: the file, or a chunk slot, does not start with the
	// EVTX signature.
	ErrBadSignature = errors.New("evtx: bad signature")
	// ErrChecksum: a file header, chunk header or the event records of a
	// chunk fail their CRC32.
	ErrChecksum = errors.New("evtx: checksum mismatch")
	// ErrTruncated: data ends before a structure it holds.
	ErrTruncated = errors.New("evtx: truncated")
	// ErrBadHeader: a chunk header field is out of range.
	ErrBadHeader = errors.New("evtx: bad chunk header")
	// ErrBadRecord: an event record's signature or size is broken.
	ErrBadRecord = errors.New("evtx: bad record")
	// ErrBadToken: the binary XML holds a token where it is not allowed.
	ErrBadToken = errors.New("evtx: bad binary XML token")
	// ErrTooComplex: the binary XML exceeds a limit on nesting, values or
	// fields, or its chunk the budget of work and output, that guards the
	// decoder against hostile input.
	ErrTooComplex = errors.New("evtx: binary XML too complex")
	// ErrCarve: carving met records that look whole but do not decode,
	// most often because the template they use was overwritten.
	ErrCarve = errors.New("evtx: carved record not decodable")
	// ErrInternal: the decoder failed on the input in an unexpected way (a
	// recovered panic); the part was skipped.
	ErrInternal = errors.New("evtx: internal decoder error")
)

// Options configures a Reader.
type Options struct {
	// Source names the input in events and errors (a file path).
	Source string
	// Workers is how many chunks are decoded in parallel; 0 means
	// runtime.GOMAXPROCS(0). Ignored when Helped is set.
	Workers int
	// Helped makes the goroutine calling Next decode the chunks itself,
	// one after another, unless other goroutines decoded them ahead by
	// calling Help: a caller that reads several files at once, one per
	// core, keeps each chunk on the core that decodes and consumes it, and
	// lends the cores that have no file left to the files still read.
	Helped bool
	// Carve also reads the records left outside the chunks' record
	// areas: in a chunk's free space, in chunk slots that hold no chunk
	// and after the last chunk. Their events are marked event.Event.Carved.
	Carve bool
	// FirstChunk and EndChunk limit the read to the chunk slots
	// [FirstChunk, EndChunk) of the file (EndChunk 0: to its end), as a
	// collector following a live log reads only its new chunks. Chunk
	// numbers in errors stay the file's.
	FirstChunk, EndChunk int
}

// Stats counts what a Reader has read so far.
type Stats struct {
	// Chunks is the number of chunks whose checksums passed.
	Chunks int
	// ChunksSkipped is the number of chunks (or chunk slots holding
	// garbage) skipped as corrupt, nothing recovered from them.
	ChunksSkipped int
	// ChunksSalvaged is the number of chunks that failed their checks
	// (or were cut short) and from which records were recovered.
	ChunksSalvaged int
	// Records is the number of events returned, Carved ones included.
	Records int
	// Carved is the number of carved events returned (Options.Carve).
	Carved int
	// CarvedCopies is the number of records carving found that are
	// copies of live records of the file (same record identifier as a
	// record a checked chunk header holds) and that were left out:
	// Windows starts a chunk from a copy of the previous one, so the free
	// space of a log's last chunk repeats records that are still live.
	CarvedCopies int
	// RecordsLost is the number of records known to be lost in skipped
	// chunks and records.
	RecordsLost int
}

// Reader decodes the events of one EVTX file. It implements event.Reader:
// the event returned by Next, its fields and their strings are valid until
// the next call to Next or Close. A Reader is not safe for concurrent use,
// except that Close may be called while another goroutine waits in Next
// (which then returns io.EOF) and that Help may be called from any
// goroutine.
type Reader struct {
	r       io.ReaderAt
	size    int64
	opts    Options
	base    int64 // offset of the first chunk slot
	slots   int   // chunk slots in the file
	claimed int   // chunks the file header claims
	// live holds the record identifiers of the chunks whose header
	// checks, sorted and merged (Options.Carve): carved records with one
	// of them are copies of live records.
	live []idRange

	pending []*event.SkipError // reported before the first chunk
	ev      event.Event
	cur     *chunkResult
	pos     int
	stats   Stats

	// first is the first chunk slot read (Options.FirstChunk).
	first int

	// Serial decoding (Workers == 1), and helped.
	dec  *decoder
	next int

	// Helped decoding: see helped.go.
	help *helpState

	// Parallel decoding.
	results chan chan *chunkResult
	free    chan *chunkResult
	quit    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex // orders start and Close when Close comes from another goroutine
	started bool       // written under mu
	closed  atomic.Bool
}

// fileHeader is the part of the file header the reader uses.
type fileHeader struct {
	chunks    int
	headerCRC uint32
}

// Open starts reading the EVTX file in r, of the given size. It reads the
// file header: an error means the input is not an EVTX file (ErrBadSignature)
// or is too short to be one (ErrTruncated). A bare chunk (a file that starts
// with a chunk signature) is read too. Damage after the header is reported
// by Next.
func Open(r io.ReaderAt, size int64, opts Options) (*Reader, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	rd := &Reader{r: r, size: size, opts: opts}
	rd.ev.Source = opts.Source
	head := make([]byte, fileHeaderSize)
	n, err := r.ReadAt(head[:min(int64(fileHeaderSize), max(size, 0))], 0)
	if err != nil && err != io.EOF && n < len(head[:min(int64(fileHeaderSize), max(size, 0))]) {
		return nil, fmt.Errorf("read file header: %w", err)
	}
	head = head[:n]
	switch {
	case len(head) >= 8 && bytes.Equal(head[:8], chunkSignature):
		rd.base = 0
	case len(head) < 8 && bytes.HasPrefix(fileSignature, head):
		return nil, fmt.Errorf("file of %d bytes: %w", size, ErrTruncated)
	case len(head) < 8 || !bytes.Equal(head[:8], fileSignature):
		// A damaged file header: the chunks are read where they are.
		base, err := findChunk(r, size)
		if err != nil {
			return nil, err
		}
		if base < 0 {
			return nil, fmt.Errorf("file signature %q: %w", head[:min(len(head), 8)], ErrBadSignature)
		}
		rd.base = base
		rd.pending = append(rd.pending, &event.SkipError{
			Source: opts.Source, Where: "file header",
			Err: fmt.Errorf("file signature %q, chunks from offset 0x%x: %w", head[:min(len(head), 8)], base, ErrBadSignature),
		})
	case len(head) < fileHeaderSize:
		return nil, fmt.Errorf("file header of %d bytes: %w", len(head), ErrTruncated)
	default:
		rd.base = fileHeaderSize
		rd.claimed = int(binary.LittleEndian.Uint16(head[42:]))
		stored := binary.LittleEndian.Uint32(head[124:])
		if crc := crc32.ChecksumIEEE(head[:120]); crc != stored {
			rd.pending = append(rd.pending, &event.SkipError{
				Source: opts.Source, Where: "file header",
				Err: fmt.Errorf("file header CRC32 0x%08x, stored 0x%08x: %w", crc, stored, ErrChecksum),
			})
		}
	}
	if size > rd.base {
		rd.slots = int((size - rd.base + chunkSize - 1) / chunkSize)
	}
	if opts.EndChunk > 0 {
		rd.slots = min(rd.slots, opts.EndChunk)
	}
	rd.first = min(max(opts.FirstChunk, 0), rd.slots)
	rd.next = rd.first
	if opts.Carve {
		rd.live = liveRanges(r, rd.base, rd.slots)
	}
	if opts.Helped {
		rd.help = newHelpState()
		rd.help.claim = rd.first
	}
	return rd, nil
}

// Stats returns counts of what has been read so far.
func (r *Reader) Stats() Stats { return r.stats }

// Next implements event.Reader.
func (r *Reader) Next() (*event.Event, error) {
	if r.closed.Load() {
		return nil, io.EOF
	}
	if len(r.pending) > 0 {
		e := r.pending[0]
		r.pending = r.pending[1:]
		return nil, e
	}
	for {
		if r.cur != nil && r.pos < len(r.cur.items) {
			it := &r.cur.items[r.pos]
			r.pos++
			if it.skip != nil {
				return nil, it.skip
			}
			r.ev.Fields = r.cur.fields[it.start:it.end:it.end]
			r.ev.Locator = int64(it.id)
			r.ev.Carved = it.carved
			r.stats.Records++
			if it.carved {
				r.stats.Carved++
			}
			return &r.ev, nil
		}
		res, err := r.nextChunk()
		if err != nil {
			return nil, err
		}
		if r.closed.Load() {
			// Closed while this goroutine waited: Close may have
			// happened before the chunk was decoded, and nothing is
			// returned after it.
			return nil, io.EOF
		}
		r.cur, r.pos = res, 0
		if res.read {
			r.stats.Chunks++
		}
		if res.skipped {
			r.stats.ChunksSkipped++
		}
		if res.salvaged {
			r.stats.ChunksSalvaged++
		}
		r.stats.RecordsLost += res.lost
		r.stats.CarvedCopies += res.copies
	}
}

// nextChunk releases the current chunk and returns the next decoded one, or
// io.EOF.
func (r *Reader) nextChunk() (*chunkResult, error) {
	if r.help != nil {
		return r.nextHelped()
	}
	if r.opts.Workers == 1 {
		if r.next >= r.slots {
			return nil, io.EOF
		}
		if r.dec == nil {
			r.dec = newDecoder(r.opts.Source)
			r.cur = newChunkResult()
		}
		res := r.cur
		r.load(r.dec, res, r.next)
		r.next++
		return res, nil
	}
	if r.cur != nil {
		r.release(r.cur)
		r.cur = nil
	}
	if !r.started && !r.start() {
		return nil, io.EOF
	}
	ch, ok := <-r.results
	if !ok {
		return nil, io.EOF
	}
	res := <-ch
	if res == nil { // the reader was closed
		return nil, io.EOF
	}
	return res, nil
}

func (r *Reader) release(res *chunkResult) {
	if res.oversized() {
		return // not kept for reuse
	}
	select {
	case r.free <- res:
	default:
	}
}

// start launches the dispatcher and the workers, unless the reader is
// closed; it reports whether it did. At most 2×Workers chunks are in
// flight beyond the one the consumer holds.
//
// Every chunk channel the dispatcher hands to the consumer gets exactly one
// result, a nil one when the reader is closed first, so that neither a
// Next waiting for it nor anyone else is left blocked: the dispatcher and
// the workers end once quit is closed, without anybody draining them.
func (r *Reader) start() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return false
	}
	r.started = true
	w := r.opts.Workers
	r.results = make(chan chan *chunkResult, 2*w)
	r.free = make(chan *chunkResult, 3*w+2)
	r.quit = make(chan struct{})
	type job struct {
		slot int
		out  chan *chunkResult
	}
	jobs := make(chan job, 2*w)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(jobs)
		defer close(r.results)
		for i := r.first; i < r.slots; i++ {
			out := make(chan *chunkResult, 1)
			select {
			case r.results <- out:
			case <-r.quit:
				return
			}
			select {
			case jobs <- job{slot: i, out: out}:
			case <-r.quit:
				out <- nil // no worker will: the consumer may wait for it
				return
			}
		}
	}()
	for range w {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			d := newDecoder(r.opts.Source)
			for j := range jobs {
				select {
				case <-r.quit:
					j.out <- nil
					continue
				default:
				}
				var res *chunkResult
				select {
				case res = <-r.free:
				default:
					res = newChunkResult()
				}
				r.load(d, res, j.slot)
				j.out <- res
			}
		}()
	}
	return true
}

// load reads chunk slot i and decodes it into res.
func (r *Reader) load(d *decoder, res *chunkResult, i int) {
	res.reset()
	res.index = i
	res.offset = r.base + int64(i)*chunkSize
	n := int(min(int64(chunkSize), r.size-res.offset))
	m, err := r.r.ReadAt(res.buf[:n], res.offset)
	res.n = m
	res.carve = r.opts.Carve
	res.live = r.live
	d.res = res
	where := fmt.Sprintf("chunk %d at offset 0x%x", i, res.offset)
	if err != nil && err != io.EOF && m < n {
		d.skip(where, 0, fmt.Errorf("read chunk %d: %w", i, err))
		res.skipped = true
		return
	}
	b := res.buf[:m]
	if len(b) < 8 || !bytes.Equal(b[:8], chunkSignature) {
		// Unused slots are zero, or hold stale data past the chunks the
		// header counts; garbage inside the counted chunks is damage.
		if i < r.claimed && !allZero(b) {
			d.skip(where, 0, fmt.Errorf("chunk %d: %w", i, ErrBadSignature))
			res.skipped = true
		}
		if res.carve {
			d.carveSlot(res)
		}
		return
	}
	d.decodeChunk(res)
}

// chunkSearch is how far into a file whose header is damaged findChunk
// looks for a chunk: past the header and a whole chunk slot, so that a
// file shifted by a few bytes, or whose first chunk is damaged too, is
// found.
const chunkSearch = fileHeaderSize + 2*chunkSize

// findChunk returns where the chunk slots of a file with a damaged header
// start: at the first chunk signature in the file's first chunkSearch
// bytes, less as many whole slots as fit before it (the slots before a
// damaged chunk are read too); -1 when there is none.
func findChunk(r io.ReaderAt, size int64) (int64, error) {
	b := make([]byte, min(size, chunkSearch))
	n, err := r.ReadAt(b, 0)
	if err != nil && err != io.EOF && n < len(b) {
		return 0, fmt.Errorf("read file: %w", err)
	}
	i := bytes.Index(b[:n], chunkSignature)
	if i < 0 {
		return -1, nil
	}
	return int64(i) % chunkSize, nil
}

// Close implements event.Reader. It stops the decoding goroutines and
// returns once they are done (a chunk being read is read to its end).
// The last chunk's buffers go with the Reader: a Next waiting in another
// goroutine may still hold them.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	if r.help != nil {
		r.closeHelped()
	}
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	if started {
		close(r.quit)
		r.wg.Wait()
	}
	return nil
}

// SniffSize is how many leading bytes of a file Sniff needs to recognise
// an EVTX file whose file header is damaged: the header and the signature
// of the first chunk.
const SniffSize = fileHeaderSize + 8

// Sniff reports whether head, the first bytes of a file, look like an EVTX
// file (or a bare EVTX chunk): the file signature, the chunk signature, or
// a damaged file header recognised by its other fields (header size,
// format version, header block size) or by the signature of the first
// chunk after it (when head holds SniffSize bytes).
func Sniff(head []byte) bool {
	if len(head) < 8 {
		return false
	}
	if bytes.Equal(head[:8], fileSignature) || bytes.Equal(head[:8], chunkSignature) {
		return true
	}
	if len(head) >= SniffSize && bytes.Equal(head[fileHeaderSize:SniffSize], chunkSignature) {
		return true
	}
	return len(head) >= 44 && binary.LittleEndian.Uint32(head[32:]) == 128 &&
		binary.LittleEndian.Uint16(head[38:]) == 3 && binary.LittleEndian.Uint16(head[40:]) == fileHeaderSize
}
