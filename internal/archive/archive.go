// Package archive reads the containers that evidence and rule packages come
// in: zip archives (one cut short, without its central directory, too: its
// members are found from their local headers), tar archives and gzip
// streams, all within one set of Limits.
//
// A walk presents the members of an archive in order as Entries; a
// member's content is a stream that ends where its data ends. Damage that
// leaves part of a member readable (compressed data cut short, a checksum
// that does not match) does not stop the content: it reads as far as it
// goes, then Entry.Damage says what was wrong. Every byte a decompressor
// produces, and every byte spooled to a temporary file, is charged to the
// Budget of the input it came from; past its Limits reading stops with an
// error wrapping ErrLimit.
//
// Nothing here follows member names onto the file system: callers check
// names before they use them (see rulepkg).
package archive

import (
	"errors"
	"fmt"
	"io"
)

// Problems an archive may have, besides the errors of archive/zip and
// archive/tar.
var (
	// ErrLimit: the input holds more than its Limits allow (a
	// decompression bomb, or evidence larger than the limit).
	ErrLimit = errors.New("decompression limit reached")
	// ErrCut: compressed data ends before its stream does (a copy cut
	// short); what came before it was read.
	ErrCut = errors.New("compressed data cut short")
	// ErrChecksum: the data read does not match the checksum stored with
	// it.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrTrailing: bytes that are not a gzip member follow a gzip stream.
	ErrTrailing = errors.New("data after the end of the gzip stream")
	// ErrEncrypted: an encrypted zip member, which cannot be read.
	ErrEncrypted = errors.New("encrypted zip member")
	// ErrMethod: a zip member compressed with a method other than store
	// and deflate.
	ErrMethod = errors.New("zip compression method not supported")
)

// Kind is the type of an archive member.
type Kind uint8

// The kinds of members.
const (
	File     Kind = iota // a regular file
	Dir                  // a folder
	Symlink              // a symbolic link (Entry.Link is its target)
	Hardlink             // a hard link (tar)
	Other                // anything else (devices, fifos)
)

// Entry is an archive member as a walk presents it. It is valid only
// during the walk's callback.
type Entry struct {
	// Name is the member's name as the archive gives it.
	Name string
	// Kind is its type.
	Kind Kind
	// Link is the target of a link.
	Link string
	// Size is the size of its content as the archive claims it: a hint
	// that may lie; < 0 when unknown.
	Size int64

	open   func() (io.Reader, error)
	stream *Stream // the content once opened, for Damage
}

// Open returns the member's content, read once, valid during the walk's
// callback. The error is ErrEncrypted or ErrMethod for content that
// cannot be read.
func (e *Entry) Open() (io.Reader, error) {
	if e.open == nil {
		return eof{}, nil
	}
	return e.open()
}

// Damage reports, once the content was read to its end, why it is not the
// whole member (ErrCut) or not what was stored (ErrChecksum); nil when it
// is whole or was not read.
func (e *Entry) Damage() error {
	if e.stream == nil {
		return nil
	}
	return e.stream.Damage()
}

type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }

// Limits bound what one input (a file given, with all the archives nested
// in it) may cost. The zero value means the defaults.
type Limits struct {
	// MaxBytes bounds the bytes decompressed from one input, and apart
	// the bytes it spools to temporary files (DefaultMaxBytes).
	MaxBytes int64
	// MaxRatio bounds how much a compressed stream may expand: once it
	// has produced RatioFloor bytes, at most MaxRatio times the
	// compressed bytes it consumed (DefaultMaxRatio); < 0 means no bound.
	MaxRatio int64
}

// Defaults of Limits. Deflate expands at most about 1032 times (runs of
// one byte); real EVTX and JSON logs about 5 to 150 times (EVTX files
// that are mostly empty chunks the most). A ratio of 500 past the first
// 64 MiB stops a bomb of zeros after 64 MiB while no real log comes near
// it; the byte limit bounds what a bomb of a lower ratio may cost.
const (
	DefaultMaxBytes = 16 << 30
	DefaultMaxRatio = 500
	RatioFloor      = 64 << 20
)

// WithDefaults returns l with its zero fields set to the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxRatio == 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	return l
}

// Budget is what is left of the Limits of one input. It is not safe for
// concurrent use: one input is read by one goroutine.
type Budget struct {
	lim          Limits
	decompressed int64
	spooled      int64
	err          error
}

// NewBudget returns the budget of one input.
func NewBudget(l Limits) *Budget { return &Budget{lim: l.WithDefaults()} }

// Err returns the ErrLimit error once the budget is spent, else nil.
func (b *Budget) Err() error { return b.err }

// Decompressed returns how many bytes decompressors produced so far.
func (b *Budget) Decompressed() int64 { return b.decompressed }

// charge adds n bytes produced by a decompressor whose stream has produced
// out bytes from in compressed bytes.
func (b *Budget) charge(n int, out, in int64) error {
	if b.err != nil {
		return b.err
	}
	b.decompressed += int64(n)
	switch {
	case b.decompressed > b.lim.MaxBytes:
		b.err = fmt.Errorf("%w: more than %s decompressed", ErrLimit, FormatSize(b.lim.MaxBytes))
	case b.lim.MaxRatio > 0 && out > RatioFloor && out/max(in, 1) > b.lim.MaxRatio:
		b.err = fmt.Errorf("%w: %s decompressed from %s, more than %d times its size", ErrLimit, FormatSize(out), FormatSize(in), b.lim.MaxRatio)
	}
	return b.err
}

// chargeSpool adds n bytes written to a temporary file.
func (b *Budget) chargeSpool(n int) error {
	if b.err != nil {
		return b.err
	}
	b.spooled += int64(n)
	if b.spooled > b.lim.MaxBytes {
		b.err = fmt.Errorf("%w: more than %s spooled to temporary files", ErrLimit, FormatSize(b.lim.MaxBytes))
	}
	return b.err
}

// FormatSize renders n bytes in binary units: "16 GiB", "1.5 MiB", "700 B".
func FormatSize(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n)/1024, 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %ciB", int64(v), units[u])
	}
	return fmt.Sprintf("%.1f %ciB", v, units[u])
}
