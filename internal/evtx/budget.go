package evtx

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/spoor-hunt/spoor/internal/event"
)

// A chunk's decoding has a budget, so that no 64 KiB chunk, however
// crafted, costs more than a bounded amount of time and memory: a template
// referenced by thousands of records, BinXml values expanded again at each
// reference, templates parsed at overlapping offsets and the like multiply
// the work a chunk's bytes hold. Work is counted in units (a binary XML
// token parsed, an element compiled, a field emitted, a part of a value
// joined, a field compared, 16 bytes of a value decoded); output is the
// memory its events take: the bytes of their strings, fields and list
// elements. The limits are far above what real chunks need: see
// TestChunkBudgetReal for the most the datasets use.
const (
	maxChunkWork   = 1 << 20 // work units
	maxChunkOutput = 8 << 20 // bytes
)

// Sizes of what a chunk's output holds besides text.
const (
	fieldSize = int(unsafe.Sizeof(event.Field{}))
	valueSize = int(unsafe.Sizeof(event.Value{}))
)

// budgetError reports a chunk whose decoding went over its budget.
type budgetError struct {
	what  string
	limit int
}

func (e *budgetError) Error() string {
	return fmt.Sprintf("chunk goes over its budget of %d %s", e.limit, e.what)
}

// Unwrap makes a budgetError match ErrTooComplex.
func (e *budgetError) Unwrap() error { return ErrTooComplex }

// output returns the bytes of the chunk's output so far.
func (d *decoder) output() int {
	return len(d.arena.b) + fieldSize*len(d.res.fields) + valueSize*len(d.res.vals)
}

// overBudget reports whether the chunk went over its budget of work or
// output.
func (d *decoder) overBudget() bool {
	return d.work < 0 || d.output() > maxChunkOutput
}

// spend charges n units of work to the chunk and fails when the chunk is
// over its budget.
func (d *decoder) spend(n int) error {
	d.work -= n
	if d.overBudget() {
		return d.budgetErr()
	}
	return nil
}

// budgetErr returns the error for the limit the chunk went over.
func (d *decoder) budgetErr() error {
	if d.work < 0 {
		return &budgetError{what: "units of work", limit: maxChunkWork}
	}
	return &budgetError{what: "bytes of output", limit: maxChunkOutput}
}

// stopChunk reports whether err, the failure of the record id at pos, is
// the chunk going over its budget; the rest of the chunk is then skipped
// (the records decoded before stay).
func (d *decoder) stopChunk(err error, id uint64, pos int, h chunkHeader) bool {
	var be *budgetError
	if !errors.As(err, &be) {
		return false
	}
	lost := 0
	if h.lastID >= id && h.lastID-id < chunkSize/minRecordSize {
		lost = int(h.lastID - id + 1)
	}
	where := fmt.Sprintf("%s, from record %d at offset 0x%x", d.chunkWhere(), id, d.res.offset+int64(pos))
	d.skip(where, lost, fmt.Errorf("decode record %d: %w", id, err))
	d.res.skipped = true
	return true
}

// Capacities past which the buffers a chunk's decoding grew are dropped
// rather than kept for the next chunk: only a chunk near its budget grows
// them so far (real chunks stay below a tenth of these).
const (
	keepArena  = 1 << 20 // bytes
	keepFields = 1 << 15
	keepValues = 1 << 14
	keepDecode = 1 << 14 // the decoder's per-record scratch, in elements
)

// oversized reports whether r grew buffers too large to keep for reuse.
func (r *chunkResult) oversized() bool {
	return cap(r.arena.b) > keepArena || cap(r.fields) > keepFields || cap(r.vals) > keepValues
}

// trim drops r's oversized buffers for new ones of the starting size.
func (r *chunkResult) trim() {
	if cap(r.arena.b) > keepArena {
		r.arena.b = make([]byte, 0, startArena)
	}
	if cap(r.fields) > keepFields {
		r.fields = make([]event.Field, 0, startFields)
	}
	if cap(r.vals) > keepValues {
		r.vals = make([]event.Value, 0, startValues)
	}
}

// trim drops the decoder's per-record scratch buffers that a large record
// grew.
func (d *decoder) trim() {
	if cap(d.descs) > keepDecode {
		d.descs = make([]valDesc, 0, 256)
	}
	if cap(d.pend) > keepDecode {
		d.pend = nil
	}
	if cap(d.secs) > keepDecode {
		d.secs = nil
	}
	if cap(d.scratch) > keepDecode {
		d.scratch = nil
	}
}

// scribbleFields overwrites fields that the reader is about to reuse, in
// builds with the spoorscribble tag (see event.Scribble): a consumer that
// kept them past the reuse contract sees junk names and values.
func scribbleFields(fs []event.Field) {
	if !event.Scribbling {
		return
	}
	for i := range fs {
		fs[i] = event.Field{Name: scribbled, Value: event.StringValue(scribbled)}
	}
}

// scribbleValues does for list elements what scribbleFields does for
// fields.
func scribbleValues(vs []event.Value) {
	if !event.Scribbling {
		return
	}
	for i := range vs {
		vs[i] = event.StringValue(scribbled)
	}
}

// scribbled is the junk that scribbled fields and values hold.
const scribbled = "\xdb\xdb\xdb\xdb"
