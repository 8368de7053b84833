package evtx

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Layout of the file and its chunks.
const (
	fileHeaderSize  = 4096
	chunkSize       = 65536
	chunkHeaderSize = 512
	minRecordSize   = recordHeaderSize + 4
)

var (
	fileSignature   = []byte("ElfFile\x00")
	chunkSignature  = []byte("ElfChnk\x00")
	recordSignature = []byte("**\x00\x00")
)

// item is one entry of a decoded chunk, in file order: an event (its
// fields are result.fields[start:end]) or a skipped part.
type item struct {
	start, end int32
	id         uint64
	skip       *event.SkipError
	carved     bool
}

// chunkResult holds a chunk's bytes and everything decoded from them. The
// events' fields, list values and strings all live in its buffers, which
// are reused for another chunk only after the consumer is done with it.
type chunkResult struct {
	index  int   // chunk slot number
	offset int64 // file offset of the chunk
	buf    []byte
	n      int // valid bytes in buf
	items  []item
	fields []event.Field
	vals   []event.Value
	arena  arena
	carve  bool      // carve free space and slack (Options.Carve)
	live   []idRange // the file's live record identifiers (Reader.live)
	// stats
	read, skipped bool
	salvaged      bool // damaged, some records recovered
	records       int
	lost          int
	carved        int
	copies        int // carved records left out as copies of live ones
}

// Starting capacities of a chunk result's buffers.
const (
	startFields = 4096
	startValues = 64
	startArena  = 128 << 10
)

func newChunkResult() *chunkResult {
	return &chunkResult{
		buf:    make([]byte, chunkSize),
		fields: make([]event.Field, 0, startFields),
		vals:   make([]event.Value, 0, startValues),
		arena:  arena{b: make([]byte, 0, startArena)},
	}
}

func (r *chunkResult) reset() {
	r.items = r.items[:0]
	scribbleFields(r.fields)
	scribbleValues(r.vals)
	r.fields = r.fields[:0]
	r.vals = r.vals[:0]
	event.Scribble(r.buf)
	r.arena.reset()
	r.trim()
	r.read, r.skipped, r.salvaged = false, false, false
	r.records, r.lost, r.carved, r.copies = 0, 0, 0, 0
}

// template is a template definition parsed once per chunk, with its
// programs compiled for each context it was used in.
type template struct {
	root  *node
	err   error
	progs []ctxProgram
}

type ctxProgram struct {
	ctx  walkCtx
	prog *program
}

type nameEntry struct {
	s    string
	size int
}

// valDesc locates one substitution value of a template instance.
type valDesc struct {
	off  int32
	size uint16
	typ  uint8
}

// valueTable is the substitution values of one template instance.
type valueTable []valDesc

func (t valueTable) get(i uint16) valDesc {
	if int(i) < len(t) {
		return t[i]
	}
	return valDesc{}
}

type pending struct {
	field int
	v     event.Value
}

// decoder decodes chunks. One decoder serves one goroutine; its caches are
// per chunk and cleared when the next chunk starts.
type decoder struct {
	source     string
	res        *chunkResult
	data       []byte
	arena      *arena
	names      map[uint32]nameEntry
	templates  map[uint32]*template
	cache      map[progKey]*program // across chunks
	cacheBytes int                  // memory the cached programs hold
	bloom      [4]uint64            // hashes of the record's field names
	scratch    []op                 // for compiling
	recent     [8]recentProgram     // per chunk
	descs      []valDesc
	pend       []pending
	secs       []uint8 // section of each field of the record
	recStart   int
	dyn        bool
	budget     int // the record's ops
	work       int // the chunk's work units left (see maxChunkWork)
}

func newDecoder(source string) *decoder {
	return &decoder{
		source:    source,
		names:     make(map[uint32]nameEntry, 64),
		templates: make(map[uint32]*template, 16),
		cache:     make(map[progKey]*program, 64),
		descs:     make([]valDesc, 0, 256),
	}
}

// chunkHeader is the part of a chunk header the decoder uses.
type chunkHeader struct {
	firstID, lastID uint64
	freeOffset      int
	recordsCRC      uint32
	headerCRC       uint32
}

func parseChunkHeader(b []byte) chunkHeader {
	return chunkHeader{
		firstID:    binary.LittleEndian.Uint64(b[24:]),
		lastID:     binary.LittleEndian.Uint64(b[32:]),
		freeOffset: int(binary.LittleEndian.Uint32(b[48:])),
		recordsCRC: binary.LittleEndian.Uint32(b[52:]),
		headerCRC:  binary.LittleEndian.Uint32(b[124:]),
	}
}

// records is the number of records the header claims, or 0 when the
// identifiers make no sense.
func (h chunkHeader) records() int {
	if h.lastID < h.firstID || h.lastID-h.firstID >= chunkSize/minRecordSize {
		return 0
	}
	return int(h.lastID - h.firstID + 1)
}

// checkChunk verifies a chunk's signature, size and checksums.
func checkChunk(b []byte) (chunkHeader, error) {
	if len(b) < chunkHeaderSize {
		return chunkHeader{}, fmt.Errorf("chunk of %d bytes: %w", len(b), ErrTruncated)
	}
	if !bytes.Equal(b[:8], chunkSignature) {
		return chunkHeader{}, fmt.Errorf("chunk signature %q: %w", b[:8], ErrBadSignature)
	}
	h := parseChunkHeader(b)
	crc := crc32.ChecksumIEEE(b[:120])
	crc = crc32.Update(crc, crc32.IEEETable, b[128:chunkHeaderSize])
	if crc != h.headerCRC {
		return h, fmt.Errorf("chunk header CRC32 0x%08x, stored 0x%08x: %w", crc, h.headerCRC, ErrChecksum)
	}
	if len(b) < chunkSize {
		return h, fmt.Errorf("chunk of %d bytes: %w", len(b), ErrTruncated)
	}
	if h.freeOffset < chunkHeaderSize || h.freeOffset > chunkSize {
		return h, fmt.Errorf("free space offset 0x%x: %w", h.freeOffset, ErrBadHeader)
	}
	if crc := crc32.ChecksumIEEE(b[chunkHeaderSize:h.freeOffset]); crc != h.recordsCRC {
		return h, fmt.Errorf("event records CRC32 0x%08x, stored 0x%08x: %w", crc, h.recordsCRC, ErrChecksum)
	}
	return h, nil
}

func (d *decoder) chunkWhere() string {
	return fmt.Sprintf("chunk %d at offset 0x%x", d.res.index, d.res.offset)
}

func (d *decoder) skip(where string, records int, err error) {
	d.res.items = append(d.res.items, item{skip: &event.SkipError{
		Source: d.source, Where: where, Records: records, Err: err,
	}})
	d.res.lost += records
}

// recoverPanic, deferred, reports a panic while decoding the chunk as a
// skip of the rest of the chunk.
func (d *decoder) recoverPanic() {
	if p := recover(); p != nil {
		d.res.fields = d.res.fields[:d.recStart]
		d.skip(d.chunkWhere(), 0, fmt.Errorf("decode chunk %d: %v: %w", d.res.index, p, ErrInternal))
		d.res.skipped = true
	}
}

// decodeChunk decodes the chunk in res.buf[:res.n] into res. A chunk that
// fails its checks but has a header gives up what records it still holds
// (see salvageChunk); with res.carve, the chunk's free space is carved.
// A panic is recovered and reported as a skip of the rest of the chunk.
func (d *decoder) decodeChunk(res *chunkResult) {
	d.begin(res)
	defer d.recoverPanic()
	h, err := checkChunk(d.data)
	carveFrom := 0
	switch {
	case err == nil:
		res.read = true
		d.records(h)
		carveFrom = h.freeOffset
	case len(d.data) >= chunkHeaderSize && !errors.Is(err, ErrBadSignature):
		carveFrom = d.salvageChunk(h, err)
	default:
		d.skip(d.chunkWhere(), h.records(), err)
		res.skipped = true
	}
	if res.carve {
		d.carve(carveFrom)
	}
}

// begin starts decoding the chunk in res.buf[:res.n] into res: the
// per-chunk caches are cleared and the chunk's budget is full.
func (d *decoder) begin(res *chunkResult) {
	d.res = res
	d.data = res.buf[:res.n]
	d.arena = &res.arena
	clear(d.names)
	clear(d.templates)
	d.recent = [8]recentProgram{}
	d.work = maxChunkWork
	d.trim()
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// records decodes the event records of a checked chunk.
func (d *decoder) records(h chunkHeader) {
	data := d.data
	end := h.freeOffset
	next := h.firstID
	pos := chunkHeaderSize
	for pos < end {
		if end-pos < minRecordSize || !bytes.Equal(data[pos:pos+4], recordSignature) {
			if allZero(data[pos:end]) {
				return
			}
			pos = d.resync(pos, end, next, h, fmt.Errorf("no record signature: %w", ErrBadRecord))
			continue
		}
		size := int(binary.LittleEndian.Uint32(data[pos+4:]))
		if size < minRecordSize || size > end-pos || int(binary.LittleEndian.Uint32(data[pos+size-4:])) != size {
			pos = d.resync(pos, end, next, h, fmt.Errorf("record size %d: %w", size, ErrBadRecord))
			continue
		}
		id := binary.LittleEndian.Uint64(data[pos+8:])
		if err := d.record(pos, size); err != nil {
			if d.stopChunk(err, id, pos, h) {
				return
			}
			d.skip(fmt.Sprintf("record %d at offset 0x%x", id, d.res.offset+int64(pos)), 1,
				fmt.Errorf("decode record %d: %w", id, err))
		} else {
			d.res.items = append(d.res.items, item{start: int32(d.recStart), end: int32(len(d.res.fields)), id: id})
			d.res.records++
		}
		next = id + 1
		pos += size
	}
}

// resync reports the broken record at pos and returns the offset of the
// next record signature in the chunk (or end when there is none).
func (d *decoder) resync(pos, end int, next uint64, h chunkHeader, err error) int {
	where := fmt.Sprintf("record %d at offset 0x%x", next, d.res.offset+int64(pos))
	i := bytes.Index(d.data[pos+1:end], recordSignature)
	if i < 0 {
		lost := 0
		if h.lastID >= next && h.lastID-next < chunkSize/minRecordSize {
			lost = int(h.lastID - next + 1)
		}
		d.skip(where, lost, err)
		return end
	}
	np := pos + 1 + i
	lost := 0
	if np+16 <= end {
		if id := binary.LittleEndian.Uint64(d.data[np+8:]); id >= next && id-next < chunkSize/minRecordSize {
			lost = int(id - next)
		}
	}
	d.skip(where, lost, err)
	return np
}

// record decodes one event record into the result's fields. On error the
// record's fields are dropped.
func (d *decoder) record(pos, size int) (err error) {
	d.recStart = len(d.res.fields)
	d.dyn = false
	d.pend = d.pend[:0]
	d.secs = d.secs[:0]
	d.bloom = [4]uint64{}
	d.descs = d.descs[:0]
	d.budget = maxOpsPerRecord
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v: %w", p, ErrInternal)
		}
		if err != nil {
			clear(d.res.fields[d.recStart:])
			d.res.fields = d.res.fields[:d.recStart]
		}
	}()
	c := cursor{b: d.data, pos: pos + recordHeaderSize, end: pos + size - 4}
	if err := d.fragment(&c, walkCtx{sec: secRoot}, 0, false); err != nil {
		return err
	}
	d.finish()
	return nil
}

// finish turns repeated names into lists.
func (d *decoder) finish() {
	if len(d.pend) == 0 {
		return
	}
	fields := d.res.fields
	// Group the values by field, each group in record order.
	slices.SortStableFunc(d.pend, func(a, b pending) int { return cmp.Compare(a.field, b.field) })
	for i := 0; i < len(d.pend); {
		f := d.pend[i].field
		start := len(d.res.vals)
		d.res.vals = append(d.res.vals, fields[f].Value)
		for ; i < len(d.pend) && d.pend[i].field == f; i++ {
			d.res.vals = append(d.res.vals, d.pend[i].v)
		}
		fields[f].Value = event.ListValue(d.res.vals[start:len(d.res.vals):len(d.res.vals)])
	}
	d.work -= len(d.pend)
}

// nameAt returns the name structure at off and its size.
func (d *decoder) nameAt(off uint32) (string, int, error) {
	if e, ok := d.names[off]; ok {
		return e.s, e.size, nil
	}
	o := int(off)
	if o+nameHeaderSize > len(d.data) || o < 0 {
		return "", 0, fmt.Errorf("name at offset 0x%x: %w", off, ErrTruncated)
	}
	n := int(binary.LittleEndian.Uint16(d.data[o+6:]))
	size := nameHeaderSize + 2*n + 2
	if o+size > len(d.data) {
		return "", 0, fmt.Errorf("name at offset 0x%x: %w", off, ErrTruncated)
	}
	s := d.arena.utf16(d.data[o+nameHeaderSize : o+nameHeaderSize+2*n])
	d.names[off] = nameEntry{s: s, size: size}
	return s, size, nil
}

// template returns the template definition at off, parsing it on first use.
func (d *decoder) template(off uint32) (*template, error) {
	t := d.templates[off]
	if t != nil && (t.root != nil || t.err != nil) {
		return t, t.err
	}
	if t == nil {
		t = &template{}
		d.templates[off] = t
	}
	// else the entry holds only programs from the cross-chunk cache.
	o := int(off)
	if o < 0 || o+templateDefSize > len(d.data) {
		t.err = fmt.Errorf("template at offset 0x%x: %w", off, ErrTruncated)
		return t, t.err
	}
	size := int(binary.LittleEndian.Uint32(d.data[o+20:]))
	end := o + templateDefSize + size
	if size < 0 || end > len(d.data) || end < o {
		t.err = fmt.Errorf("template at offset 0x%x of %d bytes: %w", off, size, ErrTruncated)
		return t, t.err
	}
	c := cursor{b: d.data, pos: o + templateDefSize, end: end}
	root, err := parser{d: d}.fragment(&c)
	if err == nil && root == nil {
		err = fmt.Errorf("template at offset 0x%x holds no element: %w", off, ErrBadToken)
	}
	if err != nil {
		t.err = fmt.Errorf("template at offset 0x%x: %w", off, err)
		return t, t.err
	}
	t.root = root
	return t, nil
}

// progKey identifies a compiled template across chunks: the template's
// GUID, the size of its definition and the context it is used in.
type progKey struct {
	guid [16]byte
	size uint32
	ctx  walkCtx
}

// maxCachedPrograms and maxCachedBytes bound the decoder's cross-chunk
// program cache (real files use a few hundred programs of a few KB).
const (
	maxCachedPrograms = 16384
	maxCachedBytes    = 16 << 20
)

// program returns the template whose definition is at off compiled for ctx.
// Programs are kept per chunk, and across chunks by template GUID and
// definition size: the same template in another chunk differs only in the
// offsets of its names, so it compiles to the same program.
func (d *decoder) program(off uint32, ctx walkCtx) (*program, error) {
	slot := &d.recent[off%uint32(len(d.recent))]
	if slot.prog != nil && slot.off == off && slot.ctx == ctx {
		return slot.prog, nil
	}
	p, err := d.lookupProgram(off, ctx)
	if err == nil {
		*slot = recentProgram{off: off, ctx: ctx, prog: p}
	}
	return p, err
}

// recentProgram is an entry of the decoder's small direct-mapped cache of
// the programs used last, which saves a map lookup per record.
type recentProgram struct {
	off  uint32
	ctx  walkCtx
	prog *program
}

func (d *decoder) lookupProgram(off uint32, ctx walkCtx) (*program, error) {
	t := d.templates[off]
	if t != nil {
		if t.err != nil {
			return nil, t.err
		}
		d.work -= len(t.progs)
		for i := range t.progs {
			if t.progs[i].ctx == ctx {
				return t.progs[i].prog, nil
			}
		}
	}
	o := int(off)
	if o < 0 || o+templateDefSize > len(d.data) {
		return nil, fmt.Errorf("template at offset 0x%x: %w", off, ErrTruncated)
	}
	key := progKey{size: binary.LittleEndian.Uint32(d.data[o+20:]), ctx: ctx}
	copy(key.guid[:], d.data[o+4:o+20])
	cacheable := key.guid != [16]byte{}
	if cacheable {
		if p, ok := d.cache[key]; ok {
			if t == nil {
				t = &template{}
				d.templates[off] = t
			}
			t.progs = append(t.progs, ctxProgram{ctx: ctx, prog: p})
			return p, nil
		}
	}
	t, err := d.template(off)
	if err != nil {
		return nil, err
	}
	p := compile(t.root, ctx, &d.scratch)
	d.work -= p.cost
	if cacheable {
		key.ctx.prefix = strings.Clone(key.ctx.prefix)
		p = p.detach()
		size := p.size() + len(key.ctx.prefix)
		if len(d.cache) >= maxCachedPrograms || d.cacheBytes+size > maxCachedBytes {
			clear(d.cache)
			d.cacheBytes = 0
		}
		d.cache[key] = p
		d.cacheBytes += size
	}
	t.progs = append(t.progs, ctxProgram{ctx: ctx, prog: p})
	return p, nil
}

// instance reads a template instance at the cursor: the offset of the
// template definition (inline, or a reference back to it) and the value
// descriptors.
func (d *decoder) instance(c *cursor) (uint32, valueTable, error) {
	if err := c.need(10); err != nil {
		return 0, nil, err
	}
	c.pos += 6 // token, unknown byte, template identifier
	off, _ := c.u32()
	if int(off) == c.pos {
		if err := c.need(templateDefSize); err != nil {
			return 0, nil, err
		}
		size := int(binary.LittleEndian.Uint32(c.b[c.pos+20:]))
		if err := c.need(templateDefSize + size); err != nil {
			return 0, nil, err
		}
		c.pos += templateDefSize + size
	}
	n, err := c.u32()
	if err != nil {
		return 0, nil, err
	}
	if n > maxValues {
		return 0, nil, fmt.Errorf("%d substitution values: %w", n, ErrTooComplex)
	}
	if err := c.need(4 * int(n)); err != nil {
		return 0, nil, err
	}
	start := len(d.descs)
	off2 := c.pos + 4*int(n)
	d.descs = slices.Grow(d.descs, int(n))[:start+int(n)]
	descs := d.descs[start:]
	spec := c.b[c.pos : c.pos+4*int(n)]
	for i := range descs {
		size := binary.LittleEndian.Uint16(spec[4*i:])
		descs[i] = valDesc{off: int32(off2), size: size, typ: spec[4*i+2]}
		off2 += int(size)
	}
	c.pos += 4 * int(n)
	if err := c.need(off2 - c.pos); err != nil {
		return 0, nil, fmt.Errorf("substitution values: %w", err)
	}
	c.pos = off2
	return off, valueTable(d.descs[start:len(d.descs):len(d.descs)]), nil
}

// fragment decodes the binary XML fragment at the cursor as fields in the
// given context.
func (d *decoder) fragment(c *cursor, ctx walkCtx, depth int, noDep bool) error {
	if depth > maxNestedDepth {
		return fmt.Errorf("BinXml nested deeper than %d: %w", maxNestedDepth, ErrTooComplex)
	}
	root, err := parser{d: d, noDep: noDep}.fragment(c)
	if err != nil {
		return err
	}
	if root != nil {
		p := compile(root, ctx, &d.scratch)
		d.work -= p.cost
		return d.run(p, nil, depth)
	}
	if tok, err := c.peek(); err != nil || tok != tokTemplate {
		return fmt.Errorf("fragment without element or template at offset 0x%x: %w", c.pos, ErrBadToken)
	}
	off, vt, err := d.instance(c)
	if err != nil {
		return err
	}
	p, err := d.program(off, ctx)
	if err != nil {
		return err
	}
	return d.run(p, vt, depth)
}

// nested decodes a BinXml substitution value.
func (d *decoder) nested(v valDesc, ctx walkCtx, depth int) error {
	d.dyn = true
	// Charge the record's budget for parsing, so that a template that
	// references one large value many times cannot make a record cost more
	// than a bounded amount of work.
	d.budget -= 1 + int(v.size)/32
	if d.budget < 0 {
		return fmt.Errorf("more than %d fields: %w", maxOpsPerRecord, ErrTooComplex)
	}
	start, end := int(v.off), int(v.off)+int(v.size)
	c := cursor{b: d.data, pos: start, end: end}
	mark, pendMark := len(d.res.fields), len(d.pend)
	err := d.fragment(&c, ctx, depth+1, false)
	if err != nil && start < end && d.data[start]&^tokMoreFlag == tokOpenStart {
		// An element in a BinXml value may lack the dependency identifier:
		// drop what the first attempt emitted and try without.
		clear(d.res.fields[mark:])
		d.res.fields = d.res.fields[:mark]
		d.secs = d.secs[:mark-d.recStart]
		d.pend = d.pend[:pendMark]
		c = cursor{b: d.data, pos: start, end: end}
		if err2 := d.fragment(&c, ctx, depth+1, true); err2 == nil {
			return nil
		}
	}
	return err
}

// mayExist reports whether a field of the name with hash h may have been
// emitted already in this record.
func (d *decoder) mayExist(checked bool, h uint8) bool {
	return (checked || d.dyn) && d.bloom[h>>6]&(1<<(h&63)) != 0
}

// valueInto decodes a substitution value into *dst.
func (d *decoder) valueInto(dst *event.Value, v valDesc) {
	d.work -= int(v.size) >> 4
	p := d.data[v.off : int(v.off)+int(v.size)]
	if v.typ&typeArrayFlag != 0 {
		*dst = array(d.arena, &d.res.vals, v.typ, p)
		return
	}
	*dst = scalar(d.arena, v.typ, p)
}

// value decodes a substitution value.
func (d *decoder) value(v valDesc) event.Value {
	d.work -= int(v.size) >> 4
	p := d.data[v.off : int(v.off)+int(v.size)]
	if v.typ&typeArrayFlag != 0 {
		return array(d.arena, &d.res.vals, v.typ, p)
	}
	return scalar(d.arena, v.typ, p)
}

// run executes a program with the substitution values vt.
func (d *decoder) run(p *program, vt valueTable, depth int) error {
	for i := range p.ops {
		o := &p.ops[i]
		d.budget--
		d.work--
		if d.overBudget() {
			return d.budgetErr()
		}
		if d.budget < 0 {
			return fmt.Errorf("more than %d fields: %w", maxOpsPerRecord, ErrTooComplex)
		}
		omit := false
		for _, g := range o.guards {
			if vt.get(g).typ == typeNull {
				omit = true
				break
			}
		}
		if omit {
			continue
		}
		var v event.Value
		switch len(o.parts) {
		case 0:
		case 1:
			pt := &o.parts[0]
			if pt.kind == partText {
				v = o.value
				break
			}
			dsc := vt.get(pt.sub)
			if dsc.typ == typeBinXML {
				if err := d.nested(dsc, o.child, depth); err != nil {
					return err
				}
				continue
			}
			if o.nameArgs == nil && !d.mayExist(o.checked, o.hash) {
				// Fast path: a new name; decode into the field's slot.
				d.res.fields = append(d.res.fields, event.Field{Name: o.name})
				d.secs = append(d.secs, o.sec)
				d.bloom[o.hash>>6] |= 1 << (o.hash & 63)
				d.valueInto(&d.res.fields[len(d.res.fields)-1].Value, dsc)
				continue
			}
			v = d.value(dsc)
		default:
			v = event.StringValue(d.concat(o.parts, vt))
			for j := range o.parts {
				if pt := &o.parts[j]; pt.kind == partSub {
					if dsc := vt.get(pt.sub); dsc.typ == typeBinXML {
						if err := d.nested(dsc, o.child, depth); err != nil {
							return err
						}
					}
				}
			}
		}
		if o.nameArgs != nil {
			name := o.name
			if s := d.concat(o.nameArgs, vt); s != "" {
				name = s
			}
			d.emit(name, v, true, o.sec, nameHash(name))
			continue
		}
		d.emit(o.name, v, o.checked, o.sec, o.hash)
	}
	return nil
}

// concat renders parts as text (BinXml substitutions contribute nothing).
func (d *decoder) concat(parts []part, vt valueTable) string {
	var scratch [64]byte
	start := len(d.arena.b)
	d.work -= len(parts)
	for j := range parts {
		if len(d.arena.b) > maxChunkOutput {
			break // the chunk is over its budget: the next op stops it
		}
		pt := &parts[j]
		if pt.kind == partText {
			d.arena.b = append(d.arena.b, pt.text...)
			continue
		}
		dsc := vt.get(pt.sub)
		if dsc.typ == typeBinXML || dsc.typ == typeNull {
			continue
		}
		v := d.value(dsc)
		if v.Kind() == event.String {
			// The value's text is already at the end of the arena.
			s := v.Str()
			if len(s) > 0 && len(d.arena.b) >= len(s) && &d.arena.b[len(d.arena.b)-len(s)] == unsafeStringData(s) {
				continue
			}
			d.arena.b = append(d.arena.b, s...)
			continue
		}
		d.arena.b = append(d.arena.b, v.AppendText(scratch[:0])...)
	}
	return d.arena.str(start)
}

// emit appends a field. When a field of the name exists already (which
// only a checked op or a record with BinXml values can meet) the value joins
// it as a list if both come from the same section; a data field that meets
// a field of another section (a UserData "Channel" after System's) is named
// with its section as prefix instead, so that System fields keep theirs.
func (d *decoder) emit(name string, v event.Value, checked bool, sec uint8, h uint8) {
	w, bit := h>>6, uint64(1)<<(h&63)
	if (checked || d.dyn) && d.bloom[w]&bit != 0 {
		if i := d.find(name); i >= 0 {
			if d.secs[i-d.recStart] == sec {
				d.pend = append(d.pend, pending{field: i, v: v})
				return
			}
			if p := sectionPrefix(sec); p != "" {
				start := len(d.arena.b)
				d.arena.b = append(d.arena.b, p...)
				d.arena.b = append(d.arena.b, '_')
				d.arena.b = append(d.arena.b, name...)
				n := d.arena.str(start)
				d.emit(n, v, true, sec, nameHash(n))
				return
			}
			d.pend = append(d.pend, pending{field: i, v: v})
			return
		}
	}
	d.res.fields = append(d.res.fields, event.Field{Name: name, Value: v})
	d.secs = append(d.secs, sec)
	d.bloom[w] |= bit
}

// find returns the index of the record's first field named name, or -1.
// The fields compared are charged to the chunk's work.
func (d *decoder) find(name string) int {
	for i := d.recStart; i < len(d.res.fields); i++ {
		if d.res.fields[i].Name == name {
			d.work -= i - d.recStart
			return i
		}
	}
	d.work -= len(d.res.fields) - d.recStart
	return -1
}

// nameHash is an 8-bit FNV-1a hash of a field name, for the record's
// filter of names seen.
func nameHash(s string) uint8 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return uint8(h ^ h>>8 ^ h>>16 ^ h>>24)
}

func sectionPrefix(sec uint8) string {
	switch sec {
	case secEventData:
		return "EventData"
	case secUserData:
		return "UserData"
	case secEvent, secRoot:
		return "Event"
	}
	return ""
}
