// Package jsonlog reads JSON event logs (JSON lines, a JSON array, or
// concatenated objects, optionally gzip-compressed) in the shapes exporters
// write them (flat, Winlogbeat/ECS, evtx_dump) into event.Events with the
// same canonical field names the evtx reader gives.
//
// # Framing
//
// The framing is found from the content. Input that starts with the gzip
// magic (1f 8b) is decompressed; a gzip stream cut before its trailer ends
// at the last byte that could be decompressed. A UTF-8 byte order mark is
// skipped. Then:
//
//   - "[": a JSON array whose elements are events, streamed element by
//     element; several arrays may follow each other.
//   - "{": objects one after another. When the first object is on one line
//     the input is read as JSON lines (NDJSON, "\n" or "\r\n"): a bad line
//     costs that line only. Otherwise objects may span lines (pretty-printed
//     objects one after another, as evtx_dump writes them).
//   - anything else (a file cut in the middle of a line, garbage): junk,
//     skipped up to the first line that starts with "{" and reported as
//     one *event.SkipError ("line 1 (offset 0)"); with no such line in its
//     first 1 MiB the input is not JSON events and Next fails.
//
// A malformed object, a value that is not an object, or a line or object
// longer than 64 MiB is returned by Next as an *event.SkipError locating it
// ("line 42", the line where it starts); reading goes on at the next line
// (in JSON lines), after the bad element when it ends on its line (in an
// array), or at the next line that starts with "{" (otherwise). Nesting
// deeper than 64 levels is malformed. A run of NUL bytes (a file zero-filled
// after a crash, preallocated space), wherever it is and however long, is
// one *event.SkipError ("line 7 (offset 8192)"); it ends the line before it.
//
// # Shapes
//
// Each object is mapped on its own (a file may mix shapes) onto the names of
// the event package: the System fields under their canonical names
// (EventID, Channel, Provider_Name, Computer, EventRecordID, TimeCreated,
// ...), EventData by name, unnamed EventData/Data as one "Data" field (a
// List when there are several), EventData/Binary as "Binary", UserData
// leaves by element name. Values keep their JSON types: integers are Int
// (Uint above the int64 range), other numbers Float, strings String, true
// and false Bool, arrays List, null Null; an object found inside an array
// is a String holding its JSON text.
//
// evtx_dump: {"Event": {"System": ..., "EventData": ..., "UserData": ...}}.
// System elements and attributes give Provider_Name, Provider_Guid and
// EventSourceName (Provider attributes), EventID and Qualifiers (from
// {"#attributes": {"Qualifiers": ..}, "#text": ..} or a plain value),
// Version, Level, Task, Opcode, Keywords, TimeCreated (SystemTime),
// EventRecordID, ActivityID and RelatedActivityID (Correlation), ProcessID
// and ThreadID (Execution), Channel, Computer, UserID (Security), in input
// order; other attributes of these elements go by their own names. Data
// elements written as {"#attributes": {"Name": ..}, "#text": ..} go by their
// Name. UserData elements and their attributes go by their own names (an
// element with neither text nor children is Null). Other sections (such as
// RenderingInfo) are read like UserData with the section name as prefix
// ("RenderingInfo_Message"), as the evtx reader names them.
//
// Winlogbeat 7+ / ECS: winlog.event_data.* by name, winlog.user_data.*
// leaves by name (without Winlogbeat's "xml_name"); winlog.channel,
// event_id, computer_name, provider_name, provider_guid, record_id,
// process.pid, process.thread.id, user.identifier, opcode, task, keywords,
// activity_id, related_activity_id and version under the canonical names.
// Winlogbeat 6 (an object with log_name, event_data or user_data): the
// top-level log_name, source_name, provider_guid, computer_name, event_id,
// record_number, process_id, thread_id, user.identifier, activity_id,
// related_activity_id, opcode, task, keywords, level and version likewise.
// In both, "message" becomes "Message" (the name nxlog exports use for the
// rendered message), event.code is a fallback for EventID, host.name for
// Computer; System fields come first, in EVTX order. Other keys of nested
// objects are kept under their dotted paths ("host.name", "agent.version",
// "winlog.user.name"), so nothing is lost.
//
// Flat (nxlog im_msvistalog, Azure Sentinel / Log Analytics, OTRF
// Security-Datasets, and any other JSON): keys are kept under their own
// names in input order, nested objects flattened with dots; the well-known
// exporter names of System fields take the canonical name when the event
// has no better one: Hostname → Computer, SourceName (then EventSourceName,
// then Source) → Provider_Name, ProviderGuid → Provider_Guid, RecordNumber
// → EventRecordID, ExecutionProcessID → ProcessID, EventLog → Channel, and
// for TimeCreated: TimeCreated, then TimeGenerated, then EventTime, then
// @timestamp (a time without a zone, such as nxlog's local EventTime, ranks
// below one with a zone and is read as UTC).
//
// Values of canonical fields get the kinds the evtx reader gives: a decimal
// string in EventID, Qualifiers, Version, Level, Task, Opcode,
// EventRecordID, ProcessID or ThreadID becomes an Int; an integer Keywords
// becomes its hexadecimal text ("0x8000000000000000", nxlog writes it as a
// signed integer); TimeCreated becomes a Time, read from RFC 3339 or from
// "2006-01-02 15:04:05.000" (any number of fractional digits). A candidate
// that is not a time keeps its own name.
//
// A name appears at most once in an event, by the evtx reader's rule: fields
// of one section that share a name (repeated Data elements, a JSON object
// with a repeated key) become one List of their values, in order, at the
// place of the first; a data field that meets a field of another section
// takes its section's name as prefix, so that System fields keep theirs:
// the EventData "ProcessID" of a Security 5156 becomes "EventData_ProcessID"
// (UserData fields take "UserData_"; keys of flat objects count as
// EventData).
//
// # Speed
//
// A Reader parses with its own byte-level JSON parser: it walks each object
// once, strings without escapes point into the input buffer and others are
// unescaped into a reused arena, so reading allocates next to nothing per
// event. What Next returns is valid until the next call (see event.Reader).
package jsonlog

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Options configures a Reader.
type Options struct {
	// Source names the input in events and errors (a file path).
	Source string
	// Line is how many lines of the file come before the input (a part
	// of a file read from the start of its line Line+1): Locators and
	// errors count lines from there.
	Line int64
}

const (
	defaultMaxLine = 64 << 20 // longest line or object read
	initialBuf     = 256 << 10
	readChunk      = 64 << 10
)

var (
	errNotObject  = errors.New("not a JSON object")
	errTruncLine  = errors.New("unexpected end of line")
	errTrailing   = errors.New("unexpected data after the object")
	errArrayEnd   = errors.New("unexpected end of input inside an array")
	errClosed     = errors.New("jsonlog: reader closed")
	errNotJSONLog = errors.New("not JSON events")
	errInternal   = errors.New("internal error")
	errPadding    = errors.New("NUL padding")
	errJunk       = errors.New("not JSON events before the first object line")
)

// maxJunk bounds the bytes that go before the first object line of an
// input (besides NUL padding, which is skipped whatever its length): past
// it, the input is not JSON events.
const maxJunk = 1 << 20

// Framing states.
const (
	stTop        = iota // between top-level values
	stArrayFirst        // after "[": an element or "]"
	stArrayElem         // after ",": an element
	stArrayNext         // after an element: "," or "]"
)

// Reader decodes the events of one JSON input. It implements event.Reader.
type Reader struct {
	src  io.Reader
	in   io.Reader
	gz   *gzip.Reader
	opts Options

	buf    []byte
	base   int64 // input offset of buf[0]
	r, w   int   // unread bytes are buf[r:w]
	eof    bool  // in has no more bytes
	line   int64 // newlines before buf[lineAt]
	lineAt int

	started bool
	lines   bool // JSON lines framing
	decided bool // whether lines was decided
	// decidePending: decide lines before the next object, after the first
	// one, which spans lines when firstMultiline.
	decidePending  bool
	firstMultiline bool

	state   int
	resync  bool // looking for a line that starts with "{"
	seen    bool // a top-level "{" or "[" was met
	discard bool // dropping the rest of an over-long line
	maxLine int

	err error // sticky error ending the iteration
	b   builder
}

// NewReader starts reading JSON events from r. The Reader does not close r.
func NewReader(r io.Reader, opts Options) *Reader {
	return &Reader{src: r, in: r, opts: opts, maxLine: defaultMaxLine, line: max(opts.Line, 0)}
}

// Next implements event.Reader. Events carry the line number where their
// object starts as Locator.
func (r *Reader) Next() (ev *event.Event, err error) {
	if r.err != nil {
		return nil, r.err
	}
	defer func() {
		if p := recover(); p != nil {
			r.err = fmt.Errorf("jsonlog: %s: %v: %w", r.opts.Source, p, errInternal)
			ev, err = nil, r.err
		}
	}()
	if !r.started {
		r.started = true
		if err := r.start(); err != nil {
			r.err = err
			return nil, err
		}
	}
	ev, err = r.next()
	if err != nil {
		if _, ok := err.(*event.SkipError); !ok {
			r.err = err
		}
		return nil, err
	}
	ev.Source = r.opts.Source
	return ev, nil
}

// Close implements event.Reader. It releases the buffers and the gzip
// reader, if any; it does not close the io.Reader given to NewReader.
func (r *Reader) Close() error {
	var err error
	if r.gz != nil {
		err = r.gz.Close()
		r.gz = nil
	}
	r.buf = nil
	r.b = builder{}
	r.err = errClosed
	return err
}

// start detects gzip, skips a byte order mark and checks that the input
// starts like JSON events.
func (r *Reader) start() error {
	r.buf = make([]byte, initialBuf)
	if err := r.atLeast(2); err != nil {
		return err
	}
	if r.w-r.r >= 2 && r.buf[0] == 0x1f && r.buf[1] == 0x8b {
		head := bytes.Clone(r.buf[:r.w])
		gz, err := gzip.NewReader(io.MultiReader(bytes.NewReader(head), r.src))
		if err != nil {
			return fmt.Errorf("jsonlog: %s: %w", r.opts.Source, err)
		}
		r.gz, r.in = gz, gz
		r.r, r.w, r.eof = 0, 0, false
	}
	if err := r.atLeast(3); err != nil {
		return err
	}
	if bytes.HasPrefix(r.buf[r.r:r.w], []byte("\xef\xbb\xbf")) {
		r.r += 3
		r.lineAt = r.r
	}
	for {
		for r.r < r.w && isSpace(r.buf[r.r]) {
			r.r++
		}
		if r.r < r.w {
			break
		}
		if r.eof {
			return nil // empty: Next returns io.EOF
		}
		if err := r.fill(); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// atLeast fills the buffer until it holds n unread bytes or the input ends.
func (r *Reader) atLeast(n int) error {
	for r.w-r.r < n && !r.eof {
		if err := r.fill(); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// fill moves the unread bytes to the front of the buffer, grows it when it
// is full, and reads more. It returns io.EOF when the input has ended.
func (r *Reader) fill() error {
	if r.eof {
		return io.EOF
	}
	if r.r > 0 {
		r.countLines(r.r)
		n := copy(r.buf, r.buf[r.r:r.w])
		event.Scribble(r.buf[n:r.w]) // consumed bytes, strings of the last event among them
		r.base += int64(r.r)
		r.w = n
		r.lineAt -= r.r
		r.r = 0
	}
	if len(r.buf)-r.w < readChunk/4 && len(r.buf) < r.maxLine+readChunk {
		nb := make([]byte, min(2*len(r.buf), r.maxLine+readChunk))
		copy(nb, r.buf[:r.w])
		event.Scribble(r.buf)
		r.buf = nb
	}
	for range 100 {
		n, err := r.in.Read(r.buf[r.w:])
		r.w += n
		switch {
		case err == io.EOF, err == io.ErrUnexpectedEOF && r.gz != nil:
			// A gzip stream without its trailer ends where its data ends.
			r.eof = true
			if n > 0 {
				return nil
			}
			return io.EOF
		case err != nil:
			return fmt.Errorf("jsonlog: %s: %w", r.opts.Source, err)
		case n > 0:
			return nil
		}
	}
	return fmt.Errorf("jsonlog: %s: %w", r.opts.Source, io.ErrNoProgress)
}

// fillMore reads until the unread bytes have doubled (or the input ends),
// so that parsing a value again from its start after each read costs
// linear time even when the input comes in small pieces.
func (r *Reader) fillMore() error {
	want := min(2*(r.w-r.r)+512, r.maxLine+1)
	for r.w-r.r < want && !r.eof {
		if err := r.fill(); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// countLines counts the newlines up to buf[pos].
func (r *Reader) countLines(pos int) {
	if pos > r.lineAt {
		r.line += int64(bytes.Count(r.buf[r.lineAt:pos], []byte{'\n'}))
		r.lineAt = pos
	}
}

// lineOf returns the 1-based line number of buf[pos].
func (r *Reader) lineOf(pos int) int64 {
	r.countLines(pos)
	return r.line + 1
}

func (r *Reader) skipErr(line int64, err error) *event.SkipError {
	return &event.SkipError{
		Source:  r.opts.Source,
		Where:   "line " + strconv.FormatInt(line, 10),
		Records: 1,
		Err:     err,
	}
}

// skipByte reports err at the byte at r.r, steps over that byte and
// resynchronises on the next object.
func (r *Reader) skipByte(err error) *event.SkipError {
	line := r.lineOf(r.r)
	r.r++
	r.resync = true
	return r.skipErr(line, err)
}

// next finds and decodes the next event.
func (r *Reader) next() (*event.Event, error) {
	for {
		switch {
		case r.discard:
			if err := r.dropLine(); err != nil {
				return nil, err
			}
			r.discard = false
			continue
		case r.resync:
			if err := r.findObjectLine(-1); err != nil {
				return nil, err
			}
			r.resync = false
			continue
		case r.decidePending:
			if err := r.decide(); err != nil {
				return nil, err
			}
			r.decidePending = false
			continue
		case r.lines && r.state == stTop:
			return r.nextLine()
		}
		// Skip whitespace, reading more as needed.
		for r.r < r.w && isSpace(r.buf[r.r]) {
			r.r++
		}
		if r.r == r.w {
			if !r.eof {
				if err := r.fill(); err != nil && err != io.EOF {
					return nil, err
				}
				continue
			}
			if r.state != stTop {
				r.state = stTop
				return nil, r.skipErr(r.lineOf(r.r), errArrayEnd)
			}
			return nil, io.EOF
		}
		c := r.buf[r.r]
		if c == 0 {
			return nil, r.skipPadding()
		}
		switch r.state {
		case stTop:
			switch c {
			case '{':
				r.seen = true
				return r.scanObject()
			case '[':
				r.seen = true
				r.r++
				r.state = stArrayFirst
				continue
			}
			if !r.seen {
				return nil, r.skipJunk()
			}
			return nil, r.skipByte(errNotObject)
		case stArrayFirst, stArrayElem:
			if c == ']' && r.state == stArrayFirst {
				r.r++
				r.state = stTop
				continue
			}
			if c == '{' {
				return r.scanObject()
			}
			return nil, r.skipElement()
		case stArrayNext:
			switch c {
			case ',':
				r.r++
				r.state = stArrayElem
				continue
			case ']':
				r.r++
				r.state = stTop
				continue
			case '{':
				// A missing comma, or objects one after another where
				// reading resumed inside an array after damage: the next
				// object is an element all the same.
				return r.scanObject()
			}
			return nil, r.skipByte(fmt.Errorf("invalid character %s after array element", strconv.QuoteRune(rune(c))))
		}
	}
}

// scanObject decodes the object at buf[r.r], reading more input until it
// is complete.
func (r *Reader) scanObject() (*event.Event, error) {
	for {
		r.b.reset(r.buf[:r.w], r.r)
		err := r.b.object()
		if err == nil {
			start := r.r
			line := r.lineOf(start)
			r.r = r.b.pos
			if r.b.pos-start > r.maxLine {
				r.resync = true
				return nil, r.skipErr(line, fmt.Errorf("object longer than %d bytes", r.maxLine))
			}
			if r.state == stTop {
				if !r.decided && !r.decidePending {
					r.decidePending = true
					r.firstMultiline = bytes.IndexByte(r.buf[start:r.r], '\n') >= 0
				}
			} else {
				r.state = stArrayNext
			}
			r.b.ev.Locator = line
			return &r.b.ev, nil
		}
		if err == errShort && !r.eof {
			if r.w-r.r >= r.maxLine {
				return nil, r.skipByte(fmt.Errorf("object longer than %d bytes", r.maxLine))
			}
			if err := r.fillMore(); err != nil {
				return nil, err
			}
			continue
		}
		return nil, r.skipBad(err)
	}
}

// skipBad reports err for the value at r.r. Inside an array whose value
// ends on its line, as far as its brackets tell, reading goes on after it
// (the rest of a one-line array is kept); otherwise it resynchronises on
// the next line that starts with "{".
func (r *Reader) skipBad(err error) *event.SkipError {
	if r.state == stTop {
		return r.skipByte(err)
	}
	end := balancedEnd(r.buf[r.r:r.w])
	if end < 0 {
		return r.skipByte(err)
	}
	line := r.lineOf(r.r)
	r.r += end
	r.state = stArrayNext
	return r.skipErr(line, err)
}

// balancedEnd returns the length of the value at the start of b, found by
// its brackets and strings alone (the value need not be valid JSON), or -1
// when it does not end before a newline or the end of b.
func balancedEnd(b []byte) int {
	depth, inStr, esc := 0, false, false
	for i, c := range b {
		switch {
		case c == '\n':
			return -1
		case esc:
			esc = false
		case inStr:
			switch c {
			case '\\':
				esc = true
			case '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case depth == 0 && (c == ',' || c == ']'):
			if i == 0 {
				return -1
			}
			return i // a bad scalar ends before the separator
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth <= 0 {
				return i + 1
			}
		}
	}
	return -1
}

// decide chooses JSON lines framing when the first top-level object is on
// one line that ends after it (only blanks between the object and the
// newline). It runs before the next object, when the buffer may be filled
// again.
func (r *Reader) decide() error {
	for i := r.r; ; i++ {
		if i == r.w {
			if r.eof {
				r.decided = true
				return nil
			}
			off := i - r.r
			if err := r.fillMore(); err != nil {
				return err
			}
			i = r.r + off - 1
			continue
		}
		switch r.buf[i] {
		case '\n':
			r.decided, r.lines = true, !r.firstMultiline
			return nil
		case ' ', '\t', '\r':
		default:
			r.decided = true
			return nil
		}
	}
}

// skipElement steps over an array element that is not an object.
func (r *Reader) skipElement() error {
	for {
		r.b.reset(r.buf[:r.w], r.r)
		err := r.b.skip()
		if err == errShort && !r.eof {
			if r.w-r.r >= r.maxLine {
				break
			}
			if err := r.fillMore(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return r.skipBad(err)
		}
		line := r.lineOf(r.r)
		r.r = r.b.pos
		r.state = stArrayNext
		return r.skipErr(line, errNotObject)
	}
	return r.skipByte(fmt.Errorf("value longer than %d bytes", r.maxLine))
}

// skipJunk steps over what comes before the first object line of the
// input (a file cut in the middle of a line, garbage bytes), reported as
// one skipped part. An input with no line starting with "{" within its
// first maxJunk bytes is not JSON events: that error ends the reader.
func (r *Reader) skipJunk() error {
	line, off := r.lineOf(r.r), r.base+int64(r.r)
	err := r.findObjectLine(maxJunk)
	if err == errJunk || err == io.EOF {
		return fmt.Errorf("jsonlog: %s: %w (no line starting with \"{\" in its first %d bytes)", r.opts.Source, errNotJSONLog, maxJunk)
	}
	if err != nil {
		return err
	}
	return r.skipSpan(line, off, errJunk)
}

// skipSpan reports the bytes from off (on line) to r.r, skipped for err.
func (r *Reader) skipSpan(line, off int64, err error) *event.SkipError {
	return &event.SkipError{
		Source: r.opts.Source,
		Where:  "line " + strconv.FormatInt(line, 10) + " (offset " + strconv.FormatInt(off, 10) + ")",
		Err:    fmt.Errorf("%d bytes: %w", r.base+int64(r.r)-off, err),
	}
}

// skipPadding steps over the NUL bytes at r.r, however many, and reports
// them as one skipped part.
func (r *Reader) skipPadding() *event.SkipError {
	line, off := r.lineOf(r.r), r.base+int64(r.r)
	for {
		for r.r < r.w && r.buf[r.r] == 0 {
			r.r++
		}
		if r.r < r.w || r.eof {
			break
		}
		if err := r.fill(); err != nil && err != io.EOF {
			break // the read error comes back from the next read
		}
	}
	return r.skipSpan(line, off, errPadding)
}

// nextLine decodes the next non-blank line as one object. A NUL byte ends
// a line too: the padding that follows is skipped and reported on its own.
func (r *Reader) nextLine() (*event.Event, error) {
	for {
		if r.r < r.w && r.buf[r.r] == 0 {
			return nil, r.skipPadding()
		}
		i := bytes.IndexByte(r.buf[r.r:r.w], '\n')
		nul := false // the line ends at a NUL, which stays to be read
		if z := bytes.IndexByte(r.buf[r.r:r.r+max(i, 0)], 0); i >= 0 && z >= 0 {
			i, nul = z, true
		} else if i < 0 {
			if z := bytes.IndexByte(r.buf[r.r:r.w], 0); z >= 0 {
				i, nul = z, true
			}
		}
		if i < 0 {
			if !r.eof {
				if r.w-r.r >= r.maxLine {
					line := r.lineOf(r.r)
					r.r = r.w
					r.discard = true
					return nil, r.skipErr(line, fmt.Errorf("line longer than %d bytes", r.maxLine))
				}
				if err := r.fillMore(); err != nil {
					return nil, err
				}
				continue
			}
			if r.r == r.w {
				return nil, io.EOF
			}
			i = r.w - r.r
		}
		start, end := r.r, r.r+i
		next := min(end+1, r.w)
		if nul {
			next = end
		}
		for end > start && isSpace(r.buf[end-1]) {
			end--
		}
		s := start
		for s < end && isSpace(r.buf[s]) {
			s++
		}
		if s == end {
			r.r = next
			continue
		}
		line := r.lineOf(start)
		r.r = next
		if end-s > r.maxLine {
			return nil, r.skipErr(line, fmt.Errorf("line longer than %d bytes", r.maxLine))
		}
		if r.buf[s] != '{' {
			return nil, r.skipErr(line, errNotObject)
		}
		r.b.reset(r.buf[:end], s)
		err := r.b.object()
		switch {
		case err == errShort:
			return nil, r.skipErr(line, errTruncLine)
		case err != nil:
			return nil, r.skipErr(line, err)
		case r.b.pos != end:
			return nil, r.skipErr(line, errTrailing)
		}
		r.b.ev.Locator = line
		return &r.b.ev, nil
	}
}

// dropLine discards input up to and including the next newline, or up to
// a NUL byte (padding, which next skips and reports on its own).
func (r *Reader) dropLine() error {
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			if z := bytes.IndexByte(r.buf[r.r:r.r+i], 0); z >= 0 {
				r.r += z
				return nil
			}
			r.r += i + 1
			return nil
		}
		if z := bytes.IndexByte(r.buf[r.r:r.w], 0); z >= 0 {
			r.r += z
			return nil
		}
		r.r = r.w
		if err := r.fill(); err != nil {
			return err
		}
	}
}

// findObjectLine discards input up to the next line whose first
// non-blank byte is "{", and leaves r.r there. With limit < 0 (within the
// events) it also stops at NUL padding, which the caller reports on its
// own. With limit >= 0 (before the first object line) padding is part of
// what is discarded, not counted against limit, so junk broken by NULs is
// one skipped part rather than one per fragment; it gives up with errJunk
// after discarding more than limit other bytes.
func (r *Reader) findObjectLine(limit int64) error {
	from := r.base + int64(r.r)
	var pad int64
	for {
		if limit >= 0 && r.base+int64(r.r)-from-pad > limit {
			return errJunk
		}
		if err := r.dropLine(); err != nil {
			return err
		}
		if r.r < r.w && r.buf[r.r] == 0 {
			if limit < 0 {
				return nil
			}
			// A NUL ends a line: what follows it starts one.
			for r.r < r.w && r.buf[r.r] == 0 || r.r == r.w {
				if r.r == r.w {
					if err := r.fill(); err != nil {
						return err
					}
					continue
				}
				r.r++
				pad++
			}
		}
		for {
			for r.r < r.w && (r.buf[r.r] == ' ' || r.buf[r.r] == '\t' || r.buf[r.r] == '\r') {
				r.r++
			}
			if r.r < r.w {
				break
			}
			if err := r.fill(); err != nil {
				return err
			}
		}
		if r.buf[r.r] == '{' {
			if r.state != stTop {
				r.state = stArrayElem
			}
			return nil
		}
	}
}

// IsLines reports whether an input whose first bytes are head is read
// as JSON lines, line by line: it is not compressed and its first object
// ends on its first line (after a byte order mark, blanks and NUL
// padding), which head holds whole with its newline.
func IsLines(head []byte) bool {
	b := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return false
	}
	var p parser
	p.reset(b, i)
	if p.skip() != nil || bytes.IndexByte(b[i:p.pos], '\n') >= 0 {
		return false
	}
	for j := p.pos; j < len(b); j++ {
		switch b[j] {
		case '\n':
			return true
		case ' ', '\t', '\r':
		default:
			return false
		}
	}
	return false
}

// Sniff reports whether head, the first bytes of a file, look like JSON
// events: an object or an array of objects, possibly gzip-compressed.
func Sniff(head []byte) bool {
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(bytes.NewReader(head))
		if err != nil {
			return false
		}
		var out [512]byte
		n, _ := io.ReadFull(gz, out[:])
		return sniffText(out[:n])
	}
	return sniffText(head)
}

// sniffText accepts text that starts, after blanks and NUL padding, like
// an object or an array of objects, or whose first line is junk (a cut
// line, garbage, a deep unclosed array) and the next starts with a whole
// non-empty object, as the Reader skips to it.
func sniffText(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	i := skipSpace(b, 0)
	if i == len(b) {
		return false
	}
	var want string
	switch b[i] {
	case '{':
		want = "\"}"
	case '[':
		want = "{]"
	}
	if want != "" {
		j := skipSpace(b, i+1)
		if j == len(b) || bytes.IndexByte([]byte(want), b[j]) >= 0 {
			return true
		}
	}
	// Junk: one line at most (a text file whose lines are mostly not
	// JSON is not JSON events), then a whole object.
	lines := 0
	for i < len(b) {
		if b[i] == '{' && wholeObject(b, i) {
			return true
		}
		n := bytes.IndexAny(b[i:], "\n\x00")
		if n < 0 {
			return false
		}
		if b[i+n] == '\n' {
			if lines++; lines > 1 {
				return false
			}
		}
		i = skipSpace(b, i+n+1)
	}
	return false
}

// wholeObject reports whether a valid object with at least one member
// starts at b[i] and ends within b.
func wholeObject(b []byte, i int) bool {
	if j := skipSpace(b, i+1); j == len(b) || b[j] != '"' {
		return false
	}
	var p parser
	p.reset(b, i)
	return p.skip() == nil
}

// skipSpace skips blanks and NUL padding.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (isSpace(b[i]) || b[i] == 0) {
		i++
	}
	return i
}
