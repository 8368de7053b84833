package fleet

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/spoor-hunt/spoor/internal/gaps"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/store"
)

// The tampering findings (records cut out of a log, its logging stopped
// or disabled) come from each log's whole sequence of record numbers, in
// its reader's order, which no batch holds and which reaches a worker
// out of order when a partition changes hands (the messages its previous
// owner had not acknowledged come again after the new owner's). So a
// worker keeps, with each batch's commit, what internal/gaps reads of its
// events (gaps.Fact, about 15 bytes an event, store.FleetGap), and the
// rebuild of a case feeds the facts of all its batches to one
// gaps.Analyzer in the collectors' order (input, pass, ordinal), each
// once, then makes the case's tampering detections those of the offline
// hunt (hunt.Rules.Tampering), replaced as a set.
//
//	facts  = version(1) count(uvarint) fact*count
//	fact   = flags(byte: sign 0-2, 8 no time, 16 user, 32 cleared)
//	         source computer channel (uvarint: 0 then a string, the next of the table; or i, the i-th)
//	         ordinal locator record event-id (zigzag varints; the first three less the previous fact's)
//	         [seconds (zigzag, less the previous time's) nanoseconds (uvarint)] [user] [cleared]
//	string = uvarint length, bytes

const (
	gapsVersion  = 1
	gapNoTime    = 8
	gapUser      = 16
	gapCleared   = 32
	gapSignMask  = 7
	maxGapTable  = 1 << 16
	minGapRecord = 8 // bytes: flags, three names, four numbers, no time
)

// gapEncoder encodes the facts of one batch's events.
type gapEncoder struct {
	buf   []byte
	n     int
	table map[string]int
	// the previous fact's ordinal, locator, record and time (seconds)
	ord, loc, rid, sec int64
}

// add appends the fact of the event of ordinal ord.
func (e *gapEncoder) add(ord int64, f *gaps.Fact) {
	if f.Carved {
		return
	}
	if e.table == nil {
		e.table = map[string]int{}
	}
	flags := byte(f.Sign) & gapSignMask
	if f.Time.IsZero() {
		flags |= gapNoTime
	}
	if f.User != "" {
		flags |= gapUser
	}
	if f.Cleared != "" {
		flags |= gapCleared
	}
	e.buf = append(e.buf, flags)
	for _, s := range []string{f.Source, f.Computer, f.Channel} {
		if i, ok := e.table[s]; ok {
			e.buf = binary.AppendUvarint(e.buf, uint64(i))
			continue
		}
		e.buf = append(e.buf, 0)
		e.buf = appendGapString(e.buf, s)
		if len(e.table) < maxGapTable {
			e.table[strings.Clone(s)] = len(e.table) + 1
		}
	}
	e.buf = binary.AppendVarint(e.buf, ord-e.ord)
	e.buf = binary.AppendVarint(e.buf, f.Locator-e.loc)
	e.buf = binary.AppendVarint(e.buf, f.RecordID-e.rid)
	e.buf = binary.AppendVarint(e.buf, f.EventID)
	e.ord, e.loc, e.rid = ord, f.Locator, f.RecordID
	if !f.Time.IsZero() {
		sec := f.Time.Unix()
		e.buf = binary.AppendVarint(e.buf, sec-e.sec)
		e.buf = binary.AppendUvarint(e.buf, uint64(f.Time.Nanosecond()))
		e.sec = sec
	}
	if f.User != "" {
		e.buf = appendGapString(e.buf, f.User)
	}
	if f.Cleared != "" {
		e.buf = appendGapString(e.buf, f.Cleared)
	}
	e.n++
}

// reset makes e empty.
func (e *gapEncoder) reset() {
	e.buf, e.n = e.buf[:0], 0
	clear(e.table)
	e.ord, e.loc, e.rid, e.sec = 0, 0, 0, 0
}

func appendGapString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// gap returns the facts added as a store.FleetGap of the events of
// ordinals from first of pass pass over input, or false when none was.
func (e *gapEncoder) gap(input string, pass, first int64) (store.FleetGap, bool) {
	if e.n == 0 {
		return store.FleetGap{}, false
	}
	data := binary.AppendUvarint([]byte{gapsVersion}, uint64(e.n))
	data = append(data, e.buf...)
	h := sha256.New()
	h.Write([]byte(input))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(pass, 10)))
	h.Write([]byte{0})
	h.Write(data)
	return store.FleetGap{Key: hex.EncodeToString(h.Sum(nil)[:16]), Input: input, Pass: pass, First: first, Data: data}, true
}

// gapRecord is a decoded fact with its place in its input's pass.
type gapRecord struct {
	ordinal int64
	fact    gaps.Fact
}

// errGaps: stored gap facts that do not decode.
var errGaps = errors.New("bad gap facts")

// decodeGaps calls fn with each fact of data, in order; the record is
// fn's only during the call (its strings are copies).
func decodeGaps(data []byte, fn func(*gapRecord)) error {
	if len(data) < 1 || data[0] != gapsVersion {
		return fmt.Errorf("%w: version", errGaps)
	}
	d := gapDecoder{data: data, off: 1}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(data))/minGapRecord {
		return fmt.Errorf("%w: %d facts in %d bytes", errGaps, n, len(data))
	}
	var r gapRecord
	var sec int64
	for i := uint64(0); i < n && d.err == nil; i++ {
		flags := d.byte()
		if flags&^(gapSignMask|gapNoTime|gapUser|gapCleared) != 0 || gaps.Sign(flags&gapSignMask) >= gaps.Signs {
			return fmt.Errorf("%w: fact %d at byte %d: flags %#x", errGaps, i, d.off-1, flags)
		}
		r.fact.Sign = gaps.Sign(flags & gapSignMask)
		r.fact.Source, r.fact.Computer, r.fact.Channel = d.name(), d.name(), d.name()
		r.ordinal += d.varint()
		r.fact.Locator += d.varint()
		r.fact.RecordID += d.varint()
		r.fact.EventID = d.varint()
		r.fact.Time = time.Time{}
		if flags&gapNoTime == 0 {
			sec += d.varint()
			ns := d.uvarint()
			if ns >= 1e9 {
				d.fail("nanoseconds")
			}
			r.fact.Time = time.Unix(sec, int64(ns)).UTC()
		}
		r.fact.User, r.fact.Cleared = "", ""
		if flags&gapUser != 0 {
			r.fact.User = d.string()
		}
		if flags&gapCleared != 0 {
			r.fact.Cleared = d.string()
		}
		if d.err == nil {
			fn(&r)
		}
	}
	if d.err == nil && d.off != len(data) {
		d.fail("trailing bytes")
	}
	return d.err
}

// gapDecoder reads the parts of gap facts; the first error sticks.
type gapDecoder struct {
	data  []byte
	off   int
	table []string
	err   error
}

func (d *gapDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", errGaps, what, d.off)
	}
}

func (d *gapDecoder) byte() byte {
	if d.err != nil || d.off >= len(d.data) {
		d.fail("truncated")
		return 0
	}
	d.off++
	return d.data[d.off-1]
}

func (d *gapDecoder) uvarint() uint64 { return number(d, binary.Uvarint) }
func (d *gapDecoder) varint() int64   { return number(d, binary.Varint) }

// number reads a number with read (binary.Uvarint or Varint).
func number[T int64 | uint64](d *gapDecoder, read func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.data[d.off:])
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.off += n
	return v
}

func (d *gapDecoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.data)-d.off) {
		d.fail("string past the end")
		return ""
	}
	s := string(d.data[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

func (d *gapDecoder) name() string {
	i := d.uvarint()
	switch {
	case d.err != nil:
		return ""
	case i == 0:
		s := d.string()
		if len(d.table) < maxGapTable {
			d.table = append(d.table, s)
		}
		return s
	case i > uint64(len(d.table)):
		d.fail("name not in the table")
		return ""
	}
	return d.table[i-1]
}

// msgPass is the pass over its input of a batch message, from its
// JetStream message id (Header.MsgID); 0 when it has none.
func msgPass(msg jetstream.Msg) int64 {
	parts := strings.SplitN(msg.Headers().Get(jetstream.MsgIDHeader), ":", 3)
	if len(parts) < 3 {
		return 0
	}
	pass, _ := strconv.ParseInt(parts[1], 10, 64)
	return pass
}

// caseAnalyzer feeds the facts of every batch of a case (store.FleetGaps,
// in the order of input, pass and first ordinal) to one gaps.Analyzer,
// each once and in its input's order: the batches of one window (one per
// host) overlap, and are merged by ordinal.
func caseAnalyzer(ctx context.Context, st *store.Store, tenant, caseName string) (*gaps.Analyzer, error) {
	a := gaps.New()
	var m runMerge
	var input string
	pass := int64(-1)
	last := int64(-1) // ordinal of the last fact observed in (input, pass)
	observe := func(r *gapRecord) {
		if r.ordinal <= last {
			return // the same event in two batches
		}
		last = r.ordinal
		a.ObserveFact(&r.fact)
	}
	err := st.FleetGaps(ctx, tenant, caseName, func(g store.FleetGap) error {
		if g.Input != input || g.Pass != pass {
			m.flush(-1, observe)
			input, pass, last = g.Input, g.Pass, -1
		} else {
			m.flush(g.First, observe)
		}
		run := make([]gapRecord, 0, len(g.Data)/16) // a fact is about 15 bytes
		if err := decodeGaps(g.Data, func(r *gapRecord) { run = append(run, *r) }); err != nil {
			return err
		}
		m.add(run)
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.flush(-1, observe)
	return a, nil
}

// runMerge merges runs of records by ordinal: each run is one batch's
// facts, its host's events in the collector's order, and the batches of
// one window interleave. A heap of runs by their first ordinal, a few
// hosts deep, rather than of every record: a rebuild merges every fact of
// the case (a million for Security-Datasets).
type runMerge struct{ runs [][]gapRecord }

func byOrdinal(a, b gapRecord) int { return cmp.Compare(a.ordinal, b.ordinal) }

// add adds a run (sorted first if it is not).
func (m *runMerge) add(run []gapRecord) {
	if len(run) == 0 {
		return
	}
	if !slices.IsSortedFunc(run, byOrdinal) {
		slices.SortStableFunc(run, byOrdinal)
	}
	m.runs = append(m.runs, run)
	for i := len(m.runs) - 1; i > 0; {
		p := (i - 1) / 2
		if m.first(p) <= m.first(i) {
			break
		}
		m.runs[p], m.runs[i] = m.runs[i], m.runs[p]
		i = p
	}
}

func (m *runMerge) first(i int) int64 { return m.runs[i][0].ordinal }

// flush gives fn the records of ordinal below upTo (all: -1), in order.
func (m *runMerge) flush(upTo int64, fn func(*gapRecord)) {
	for len(m.runs) > 0 && (upTo < 0 || m.first(0) < upTo) {
		fn(&m.runs[0][0])
		if m.runs[0] = m.runs[0][1:]; len(m.runs[0]) == 0 {
			n := len(m.runs) - 1
			m.runs[0], m.runs[n] = m.runs[n], nil
			m.runs = m.runs[:n]
			if n == 0 {
				return
			}
		}
		for i := 0; ; {
			c := 2*i + 1
			if c >= len(m.runs) {
				break
			}
			if c+1 < len(m.runs) && m.first(c+1) < m.first(c) {
				c++
			}
			if m.first(i) <= m.first(c) {
				break
			}
			m.runs[i], m.runs[c] = m.runs[c], m.runs[i]
			i = c
		}
	}
}

// tamperCase makes the case's tampering detections those of the facts of
// all its batches (caseAnalyzer), as one set, and reports whether they
// changed. Missing records of an EVTX file are placed in its chunks when
// the worker can read the file at the path its collector named (one
// machine); otherwise by number only. What a collector's reader lost to
// damage is not known here (gaps.Options.Damaged).
func tamperCase(ctx context.Context, st *store.Store, tenant, caseName, actor string, rules *hunt.Rules) (bool, error) {
	a, err := caseAnalyzer(ctx, st, tenant, caseName)
	if err != nil {
		return false, err
	}
	ds, refs, err := rules.Tampering(a, gaps.Options{Chunks: gaps.FileChunks})
	if err != nil {
		return false, err
	}
	set := make([]store.FleetDetection, 0, len(ds))
	for i := range ds {
		det, err := json.Marshal(&ds[i])
		if err != nil {
			return false, err
		}
		ref, err := json.Marshal(&refs[i])
		if err != nil {
			return false, err
		}
		if len(det) > store.MaxDetectionSize {
			continue
		}
		set = append(set, store.FleetDetection{Key: DetectionKey(&ds[i]), JSON: det, Ref: ref})
	}
	return st.ReplaceTampering(ctx, tenant, caseName, actor, set)
}
