package fleet

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	// Inflating was a quarter of a worker's CPU: this one takes a fifth
	// less CPU than compress/flate's on the same batches, and allocates
	// nothing at each Reset (BenchmarkDecode).
	inflate "github.com/klauspost/compress/flate"

	"github.com/spoor-hunt/spoor/internal/event"
)

// A batch is what a collector publishes: events of one host read from one
// input, each with its place in that input, as one NATS message.
//
//	message  = "SPB" version(1) flate(payload)
//	payload  = tenant case host collector input-id input-path   (strings)
//	           count(uvarint) event*count
//	event    = ordinal(uvarint) locator(varint) flags(byte: 1 carved) source(string)
//	           nfields(uvarint) field*nfields
//	field    = name value
//	name     = uvarint: 0 then a string (the next name of the batch's table), or i (the i-th name)
//	value    = kind(byte: event.Kind, 0x10 on a string known to be ASCII) then by kind:
//	           string: string; int: varint; uint: uvarint; float: 8 bytes little-endian;
//	           bool: byte; time: varint seconds, uvarint nanoseconds; list: uvarint n, value*n
//	string   = uvarint length, bytes
//
// The events keep their types exactly (a Time stays a Time, an Int an Int),
// so that a worker matches what the collector read as an in-process hunt
// would. JSON would have lost them or needed a schema of its own; this
// costs one pass to encode and to decode, and the names repeated in every
// event are sent once per batch.

// Header says where a batch's events come from.
type Header struct {
	// Tenant and Case are where its detections go; the case is created
	// when missing.
	Tenant, Case string
	// Host is the host of all its events (their Computer field).
	Host string
	// Collector names the collector that read them.
	Collector string
	// Input is the input they were read from.
	Input Input
}

// Input identifies one input of a collector: a file, with every event it
// holds numbered in the order its reader returns them (the ordinal).
type Input struct {
	// ID is the collector's stable id of the input (its bookmark's key).
	ID string
	// Path is the file as the collector named it.
	Path string
}

// Record is one event of a batch with its ordinal in its input.
type Record struct {
	Ordinal int64
	Event   event.Event
}

// Batch is a decoded batch.
type Batch struct {
	Header
	Records []Record
}

// MsgID is the JetStream message id of the batch of h's host holding the
// events of ordinals [first, end) of pass pass over h's input (see
// Bookmark): a batch published again (after a lost ack, or by a collector
// restarted from its bookmark) is stored once while it is in the stream's
// duplicate window, and no two different batches share an id.
func (h *Header) MsgID(pass, first, end int64) string {
	return h.Input.ID + ":" + strconv.FormatInt(pass, 10) + ":" + strconv.FormatInt(first, 10) + "-" + strconv.FormatInt(end, 10) + ":" + Token(h.Host)
}

// Limits bound what Decode accepts.
type Limits struct {
	// Message is the largest message (compressed); 0 means 8 MiB.
	Message int
	// Payload is the largest payload once decompressed; 0 means 16 MiB.
	Payload int
	// Events is the most events in a batch; 0 means 65,536.
	Events int
	// Values is the most fields and list elements of all its events
	// together (each costs 64 bytes decoded); 0 means 1,048,576.
	Values int
}

func (l Limits) withDefaults() Limits {
	if l.Message <= 0 {
		l.Message = 8 << 20
	}
	if l.Payload <= 0 {
		l.Payload = 16 << 20
	}
	if l.Events <= 0 {
		l.Events = 1 << 16
	}
	if l.Values <= 0 {
		l.Values = 1 << 20
	}
	return l
}

// maxDepth bounds the nesting of lists in a value.
const maxDepth = 8

const (
	magic        = "SPB"
	version      = 1
	asciiFlag    = 0x10
	carvedFlag   = 1
	maxNameTable = 1 << 16
)

// ErrBatch: a message that is not a batch Decode accepts (wrapped, with
// where and why).
var ErrBatch = errors.New("bad batch")

// Encoder builds a batch one event at a time, so that a collector never
// holds the events it read (an event is the reader's only until its next
// call). An Encoder is for one goroutine; Reset starts a new batch.
type Encoder struct {
	h      Header
	events []byte // the encoded events
	n      int
	first  int64 // ordinal of the first event
	names  map[string]int
	out    bytes.Buffer
	zw     *flate.Writer
}

// NewEncoder returns an Encoder for batches of h.
func NewEncoder(h Header) *Encoder {
	e := &Encoder{names: map[string]int{}}
	e.Reset(h)
	return e
}

// Reset empties e for a new batch of h.
func (e *Encoder) Reset(h Header) {
	e.h = h
	e.events = e.events[:0]
	e.n = 0
	clear(e.names)
}

// Len is how many events e holds.
func (e *Encoder) Len() int { return e.n }

// Size is the size of e's events encoded, before compression.
func (e *Encoder) Size() int { return len(e.events) }

// First is the ordinal of e's first event.
func (e *Encoder) First() int64 { return e.first }

// Header is the header of e's batch.
func (e *Encoder) Header() Header { return e.h }

// Add appends ev, the event of ordinal in the input, to the batch; ev is
// not kept.
func (e *Encoder) Add(ordinal int64, ev *event.Event) {
	if e.n == 0 {
		e.first = ordinal
	}
	e.n++
	b := binary.AppendUvarint(e.events, uint64(ordinal))
	b = binary.AppendVarint(b, ev.Locator)
	var flags byte
	if ev.Carved {
		flags |= carvedFlag
	}
	b = append(b, flags)
	b = appendString(b, ev.Source)
	b = binary.AppendUvarint(b, uint64(len(ev.Fields)))
	for _, f := range ev.Fields {
		if i, ok := e.names[f.Name]; ok {
			b = binary.AppendUvarint(b, uint64(i))
		} else {
			if len(e.names) < maxNameTable {
				// The name is the reader's, rewritten at its next
				// event: a key kept as it is came to read as another
				// name and gave that name this one's number.
				e.names[strings.Clone(f.Name)] = len(e.names) + 1
			}
			b = append(b, 0)
			b = appendString(b, f.Name)
		}
		b = appendValue(b, f.Value, 0)
	}
	e.events = b
}

// cut takes back the events added since e held n events of size bytes.
// Their names stay in e's table, as if sent: e is to be flushed and Reset
// before it takes another event.
func (e *Encoder) cut(size, n int) {
	e.events, e.n = e.events[:size], n
}

// Message returns the batch as a message (valid until e's next call).
func (e *Encoder) Message() ([]byte, error) {
	e.out.Reset()
	e.out.WriteString(magic)
	e.out.WriteByte(version)
	if e.zw == nil {
		var err error
		if e.zw, err = flate.NewWriter(&e.out, flate.BestSpeed); err != nil {
			return nil, err
		}
	} else {
		e.zw.Reset(&e.out)
	}
	var head []byte
	for _, s := range []string{e.h.Tenant, e.h.Case, e.h.Host, e.h.Collector, e.h.Input.ID, e.h.Input.Path} {
		head = appendString(head, s)
	}
	head = binary.AppendUvarint(head, uint64(e.n))
	if _, err := e.zw.Write(head); err != nil {
		return nil, err
	}
	if _, err := e.zw.Write(e.events); err != nil {
		return nil, err
	}
	if err := e.zw.Close(); err != nil {
		return nil, err
	}
	return e.out.Bytes(), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue appends v; lists deeper than maxDepth are cut to Null.
func appendValue(b []byte, v event.Value, depth int) []byte {
	k := v.Kind()
	switch k {
	case event.String:
		if v.KnownASCII() {
			b = append(b, byte(k)|asciiFlag)
		} else {
			b = append(b, byte(k))
		}
		return appendString(b, v.Str())
	case event.Int:
		return binary.AppendVarint(append(b, byte(k)), v.Int())
	case event.Uint:
		return binary.AppendUvarint(append(b, byte(k)), v.Uint())
	case event.Float:
		return binary.LittleEndian.AppendUint64(append(b, byte(k)), math.Float64bits(v.Float()))
	case event.Bool:
		if v.Bool() {
			return append(b, byte(k), 1)
		}
		return append(b, byte(k), 0)
	case event.Time:
		sec, ns := v.Unix()
		b = binary.AppendVarint(append(b, byte(k)), sec)
		return binary.AppendUvarint(b, uint64(ns))
	case event.List:
		if depth >= maxDepth {
			return append(b, byte(event.Null))
		}
		l := v.List()
		b = binary.AppendUvarint(append(b, byte(k)), uint64(len(l)))
		for _, x := range l {
			b = appendValue(b, x, depth+1)
		}
		return b
	}
	return append(b, byte(event.Null))
}

// Decode decodes a message within lim. Every string of the batch's events
// is a part of one copy of the payload, so a batch costs its payload and
// its fields, whatever its number of strings. A message Decode refuses is
// an error wrapping ErrBatch that says where and why. The batch is the
// caller's (Decoder.Decode reuses its memory instead).
func Decode(msg []byte, lim Limits) (*Batch, error) {
	return (&Decoder{lim: lim.withDefaults(), own: true}).Decode(msg)
}

// Decoder decodes batches into memory it reuses: the Batch Decode
// returns, its events and every string in them are valid until the next
// call to Decode, as an event.Reader's events are; a consumer that keeps
// one copies it (the hunt's Hunter does). A Decoder is for one goroutine.
type Decoder struct {
	lim    Limits
	own    bool // each batch's memory its own (Decode)
	zr     io.ReadCloser
	src    bytes.Reader
	raw    []byte
	batch  Batch
	fields []event.Field
	starts []int
	names  []string
}

// NewDecoder returns a Decoder within lim.
func NewDecoder(lim Limits) *Decoder { return &Decoder{lim: lim.withDefaults()} }

// Decode decodes msg (see the package-level Decode for what it refuses).
func (dc *Decoder) Decode(msg []byte) (*Batch, error) {
	lim := dc.lim
	if len(msg) > lim.Message {
		return nil, fmt.Errorf("%w: message of %d bytes, more than %d", ErrBatch, len(msg), lim.Message)
	}
	if len(msg) < len(magic)+1 || string(msg[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: no batch header", ErrBatch)
	}
	if v := msg[len(magic)]; v != version {
		return nil, fmt.Errorf("%w: version %d, this spoor reads %d", ErrBatch, v, version)
	}
	dc.src.Reset(msg[len(magic)+1:])
	if dc.zr == nil {
		dc.zr = inflate.NewReader(&dc.src)
	} else if err := dc.zr.(inflate.Resetter).Reset(&dc.src, nil); err != nil {
		return nil, fmt.Errorf("%w: decompress: %v", ErrBatch, err)
	}
	raw, err := readPayload(dc.zr, dc.raw[:0], lim.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: decompress: %v", ErrBatch, err)
	}
	var text string
	if dc.own {
		text = string(raw)
	} else {
		dc.raw = raw
		if len(raw) > 0 {
			text = unsafe.String(&raw[0], len(raw))
		}
	}
	d := decoder{s: text, values: lim.Values, names: dc.names[:0]}
	defer func() { dc.names = d.names[:0] }()
	b := &dc.batch
	if dc.own {
		b = &Batch{}
	}
	*b = Batch{Records: b.Records[:0]}
	for _, p := range []*string{&b.Tenant, &b.Case, &b.Host, &b.Collector, &b.Input.ID, &b.Input.Path} {
		*p = d.str()
	}
	n := d.uvarint()
	if d.err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrBatch, d.err)
	}
	// Every event takes at least 5 bytes.
	if n > uint64(lim.Events) || n > uint64(d.left()/5) {
		return nil, fmt.Errorf("%w: %d events: more than %d, or than the payload holds", ErrBatch, n, lim.Events)
	}
	b.Records = slices.Grow(b.Records[:0], int(n))[:n]
	fields := dc.fields[:0] // the events' fields, one array for all
	if dc.own {
		fields = nil
	}
	starts := slices.Grow(dc.starts[:0], int(n)+1)[:n+1]
	for i := range b.Records {
		r := &b.Records[i]
		*r = Record{}
		ord := d.uvarint()
		if ord > math.MaxInt64 {
			d.fail("ordinal past 2^63")
		}
		r.Ordinal = int64(ord)
		r.Event.Locator = d.varint()
		flags := d.byte()
		if flags&^carvedFlag != 0 {
			d.fail("unknown flags")
		}
		r.Event.Carved = flags&carvedFlag != 0
		r.Event.Source = d.str()
		nf := d.uvarint()
		if d.err == nil && nf > uint64(d.left()/2) { // a field takes 2 bytes at least
			d.fail(fmt.Sprintf("%d fields: more than the payload holds", nf))
		}
		d.spend(nf)
		starts[i] = len(fields)
		for j := uint64(0); j < nf && d.err == nil; j++ {
			name := d.name()
			v := d.value(0)
			if d.err != nil {
				d.err = fmt.Errorf("field %d: %w", j, d.err)
				break
			}
			fields = append(fields, event.Field{Name: name, Value: v})
		}
		if d.err != nil {
			return nil, fmt.Errorf("%w: event %d: %v", ErrBatch, i, d.err)
		}
	}
	starts[n] = len(fields)
	if !dc.own {
		dc.fields, dc.starts = fields, starts
	}
	if d.left() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last event", ErrBatch, d.left())
	}
	for i := range b.Records {
		b.Records[i].Event.Fields = fields[starts[i]:starts[i+1]:starts[i+1]]
	}
	return b, nil
}

// readPayload appends what r gives to buf, refusing more than limit bytes.
func readPayload(r io.Reader, buf []byte, limit int) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(cap(buf), 64<<10), limit+1-len(buf)))
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit+1)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return buf, fmt.Errorf("payload past %d bytes", limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// decoder reads a payload; its first error sticks.
type decoder struct {
	s     string
	off   int
	err   error
	names []string
	// values is how many more fields and list elements may be decoded.
	values int
}

// spend takes n from the values left.
func (d *decoder) spend(n uint64) {
	if d.err == nil && n > uint64(d.values) {
		d.fail("more fields and list values than the limit")
		return
	}
	d.values -= int(n)
}

func (d *decoder) left() int { return len(d.s) - d.off }

func (d *decoder) fail(why string) {
	if d.err == nil {
		d.err = fmt.Errorf("at payload byte %d: %s", d.off, why)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.off >= len(d.s) {
			d.fail("cut in a number")
			return 0
		}
		c := d.s[d.off]
		d.off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				d.fail("number past 64 bits")
				return 0
			}
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.fail("number past 64 bits")
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.s) {
		d.fail("cut")
		return 0
	}
	c := d.s[d.off]
	d.off++
	return c
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(d.left()) {
		d.fail(fmt.Sprintf("string of %d bytes past the end", n))
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *decoder) name() string {
	i := d.uvarint()
	if d.err != nil {
		return ""
	}
	if i == 0 {
		s := d.str()
		if d.err == nil && len(d.names) < maxNameTable {
			d.names = append(d.names, s)
		}
		return s
	}
	if i > uint64(len(d.names)) {
		d.fail(fmt.Sprintf("name %d of %d", i, len(d.names)))
		return ""
	}
	return d.names[i-1]
}

func (d *decoder) value(depth int) event.Value {
	k := d.byte()
	if d.err != nil {
		return event.Value{}
	}
	ascii := k&asciiFlag != 0
	k &^= asciiFlag
	if ascii && event.Kind(k) != event.String {
		d.fail("ASCII flag on a value that is not a string")
		return event.Value{}
	}
	switch event.Kind(k) {
	case event.Null:
		return event.Value{}
	case event.String:
		s := d.str()
		if ascii {
			if !isASCII(s) {
				d.fail("string flagged ASCII is not")
			}
			return event.ASCIIStringValue(s)
		}
		return event.StringValue(s)
	case event.Int:
		return event.IntValue(d.varint())
	case event.Uint:
		return event.UintValue(d.uvarint())
	case event.Float:
		if d.left() < 8 {
			d.fail("cut in a float")
			return event.Value{}
		}
		var bits uint64
		for i := 7; i >= 0; i-- {
			bits = bits<<8 | uint64(d.s[d.off+i])
		}
		d.off += 8
		return event.FloatValue(math.Float64frombits(bits))
	case event.Bool:
		switch d.byte() {
		case 0:
			return event.BoolValue(false)
		case 1:
			return event.BoolValue(true)
		}
		d.fail("bool neither 0 nor 1")
		return event.Value{}
	case event.Time:
		sec := d.varint()
		ns := d.uvarint()
		if ns >= 1e9 {
			d.fail("nanoseconds past a second")
			return event.Value{}
		}
		return event.UnixValue(sec, uint32(ns))
	case event.List:
		if depth >= maxDepth {
			d.fail("lists nested too deep")
			return event.Value{}
		}
		n := d.uvarint()
		if d.err == nil && n > uint64(d.left()) { // a value takes a byte at least
			d.fail(fmt.Sprintf("list of %d values past the end", n))
		}
		d.spend(n)
		if d.err != nil {
			return event.Value{}
		}
		l := make([]event.Value, n)
		for i := range l {
			l[i] = d.value(depth + 1)
		}
		return event.ListValue(l)
	}
	d.fail("unknown kind " + strconv.Itoa(int(k)))
	return event.Value{}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
