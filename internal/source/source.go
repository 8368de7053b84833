// Package source turns the paths a user gives (files, folders, archives) into
// opened event readers and streams their events.
//
// The type of every file, and of every member of an archive, is sniffed from
// its content, never from its name: zip, gzip and tar archives are opened and
// their members looked at in turn (archives inside archives too); EVTX files
// go to the evtx reader, JSON logs to the jsonlog reader; anything else is
// counted as "not an event log" and skipped quietly.
//
// Bad evidence never stops a run: a file that cannot be opened, or whose
// reader fails, is recorded in the Summary and the other files go on; each
// part a reader skips (an *event.SkipError) is counted per file, the first
// few with their location. Events read before a failure are delivered.
package source

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"

	"github.com/spoor-hunt/spoor/internal/archive"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/jsonlog"
)

// Type is the kind of content of a file or archive member, sniffed from its
// first bytes.
type Type uint8

// The types of content source knows. EVTX and JSON are event logs; Zip, Gzip
// and Tar are containers whose content is looked at in turn.
const (
	Unknown Type = iota // not an event log
	EVTX                // Windows XML event log (.evtx)
	JSON                // JSON lines, a JSON array or concatenated objects
	Zip                 // zip archive
	Gzip                // gzip stream (a single file, or a tar)
	Tar                 // tar archive
	numTypes
)

var typeNames = [numTypes]string{"unknown", "evtx", "json", "zip", "gzip", "tar"}

// String returns the lower-case name of t.
func (t Type) String() string {
	if t < numTypes {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// IsLog reports whether t is an event log type (EVTX or JSON).
func (t Type) IsLog() bool { return t == EVTX || t == JSON }

// HeadSize is how many leading bytes of a file Sniff is given: enough to
// see the first chunk of an EVTX file past a damaged file header.
const HeadSize = evtx.SniffSize

var (
	zipMagic      = []byte("PK\x03\x04")
	zipEmptyMagic = []byte("PK\x05\x06")
	gzipMagic     = []byte{0x1f, 0x8b}
	tarMagic      = []byte("ustar")
)

// Sniff reports the type of a file from head, its first bytes (up to
// HeadSize; fewer when the file is shorter).
func Sniff(head []byte) Type { return realFormats.sniff(head) }

// Reasons recorded in Summary.Failed, besides the errors of the operating
// system, the archive packages and the readers.
var (
	// errNotRegular: a path given is neither a regular file nor a folder.
	errNotRegular = errors.New("not a regular file or folder")
	// errSpecial: a named pipe, socket or device found in a folder is
	// not read (it may never end); it is named, not skipped silently.
	errSpecial = errors.New("a named pipe, socket or device: not read")
	// errLinkLoop: a symbolic link to a folder that holds it, not followed.
	errLinkLoop = errors.New("symbolic link to a folder that holds it (a loop): not followed")
	// errPseudoFS: a folder reached in a walk is on a kernel pseudo file
	// system (a link to /proc in a collection): not walked.
	errPseudoFS = errors.New("a kernel pseudo file system (such as /proc or /sys): not walked")
	// errTooDeep: archives nested more than maxDepth levels (a zip bomb, or
	// a mistake).
	errTooDeep = errors.New("archives nested too deeply")
	// errReaderPanic: a reader panicked on this input.
	errReaderPanic = errors.New("reader panic")
)

// Options configures Run. The zero value is ready to use.
type Options struct {
	// Workers is how many files are read in parallel; < 1 means 1. Each
	// file (with all the members of an archive) is read by one worker, so
	// its events reach the callback in order.
	Workers int
	// EVTXWorkers is how many chunks of one EVTX file are decoded in
	// parallel (see evtx.Options). 0 (the default) means: by the worker
	// reading the file, so that a chunk stays on the core that decodes it,
	// helped by the workers that have no file left to read (see
	// evtx.Options.Helped).
	EVTXWorkers int
	// MemoryLimit is the largest stream (archive member, standard input)
	// that is copied into memory when a reader needs random access to it
	// (EVTX, nested zip); larger ones are spooled to a temporary file
	// removed afterwards. 0 means DefaultMemoryLimit.
	MemoryLimit int64
	// TempDir is where temporary files go; "" means os.TempDir().
	TempDir string
	// Limits bound what each input file (with the archives nested in it)
	// may decompress and spool; past them the member being read fails
	// with an error wrapping archive.ErrLimit and the file ends there.
	// The zero value means archive's defaults.
	Limits archive.Limits
	// MaxSkips is how many skipped parts are kept per log, with their
	// location, for the Summary (all are counted); 0 means 5.
	MaxSkips int
	// Progress, when not nil, is updated as reading goes; another goroutine
	// may read it at any time.
	Progress *Progress
	// Logger receives debug messages (archives opened, temp files); nil
	// discards them. Nothing is logged per event.
	Logger *slog.Logger
	// Stdin is what the path Stdin ("-") reads; nil means os.Stdin.
	Stdin io.Reader
	// Exclude names files that are not read even when a path given or a
	// folder walked holds them, such as the output file being written
	// (compared by identity, not by name).
	Exclude []string
	// Carve makes the EVTX reader also recover records from the free space
	// of chunks and from slack (see evtx.Options.Carve); their events are
	// marked event.Event.Carved.
	Carve bool

	// formats replaces the real readers in tests; zero means the real ones.
	formats formats
}

// DefaultMemoryLimit is the default Options.MemoryLimit: 4 MiB. Spooling
// to disk costs little next to decoding, and a reader's memory stays
// small whatever the size of what it reads.
const DefaultMemoryLimit = 4 << 20

// maxDepth bounds how deeply archives may nest (a zip in a tar.gz is 2).
const maxDepth = 8

func (o Options) withDefaults() Options {
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.EVTXWorkers < 0 {
		o.EVTXWorkers = 0
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	o.Limits = o.Limits.WithDefaults()
	if o.MaxSkips <= 0 {
		o.MaxSkips = 5
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.formats.openEVTX == nil {
		o.formats = realFormats
	}
	return o
}

// formats are the event log readers source dispatches to: the real evtx and
// jsonlog packages, or fakes in tests.
type formats struct {
	sniffEVTX func(head []byte) bool
	openEVTX  func(r io.ReaderAt, size int64, opts evtx.Options) (event.Reader, error)
	sniffJSON func(head []byte) bool
	openJSON  func(r io.Reader, source string) (event.Reader, error)
}

var realFormats = formats{
	sniffEVTX: evtx.Sniff,
	openEVTX: func(r io.ReaderAt, size int64, opts evtx.Options) (event.Reader, error) {
		er, err := evtx.Open(r, size, opts)
		if err != nil {
			return nil, err
		}
		return er, nil
	},
	sniffJSON: jsonlog.Sniff,
	openJSON: func(r io.Reader, source string) (event.Reader, error) {
		return jsonlog.NewReader(r, jsonlog.Options{Source: source}), nil
	},
}

// maxPadding bounds how far NUL padding at the start of a file is looked
// past for the JSON log after it (a log file zero-filled after a crash, or
// preallocated).
const maxPadding = 64 << 20

// firstNonNUL returns the index of the first byte of b that is not NUL, or
// -1.
func firstNonNUL(b []byte) int {
	for i, c := range b {
		if c != 0 {
			return i
		}
	}
	return -1
}

// afterPadding returns up to HeadSize bytes of in after the NUL bytes at its
// start, looking at most maxPadding bytes far (a stream: as far as br
// buffers), or nil. It does not move the stream.
func afterPadding(in input, br *bufio.Reader) []byte {
	if in.ra == nil {
		b, _ := br.Peek(br.Size())
		if i := firstNonNUL(b); i >= 0 {
			return b[i:min(len(b), i+HeadSize)]
		}
		return nil
	}
	buf := make([]byte, 64<<10)
	for off := int64(0); off < min(in.size, maxPadding); off += int64(len(buf)) {
		n, err := in.ra.ReadAt(buf, off)
		if i := firstNonNUL(buf[:n]); i >= 0 {
			head := make([]byte, HeadSize)
			m, _ := in.ra.ReadAt(head, off+int64(i))
			return head[:m]
		}
		if err != nil {
			return nil
		}
	}
	return nil
}

func (f formats) sniff(head []byte) Type {
	switch {
	case bytes.HasPrefix(head, zipMagic), bytes.HasPrefix(head, zipEmptyMagic):
		return Zip
	case bytes.HasPrefix(head, gzipMagic):
		return Gzip
	case f.sniffEVTX(head):
		return EVTX
	case len(head) >= 262 && bytes.Equal(head[257:262], tarMagic):
		return Tar
	case f.sniffJSON(head):
		return JSON
	}
	return Unknown
}
