package archive

import (
	"archive/zip"
	"context"
	"errors"
	"io"
	"io/fs"
	"math"
	"strings"
)

// Zip is a zip archive read through its central directory.
type Zip struct {
	zr *zip.Reader
}

// OpenZip reads the central directory of the zip archive in ra. Unsafe
// member names are not an error here (see the package comment). An
// archive without a readable central directory, as a copy cut short, is
// an error: WalkCutZip reads such an archive from its local headers.
func OpenZip(ra io.ReaderAt, size int64) (*Zip, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, err
	}
	return &Zip{zr: zr}, nil
}

// Len returns the number of members the central directory lists.
func (z *Zip) Len() int { return len(z.zr.File) }

// maxLink bounds the target of a symbolic link read from a zip member.
const maxLink = 4096

// Walk calls fn for every member in the order of the central directory,
// until fn returns an error, ctx is done or b is spent; it returns that
// error.
func (z *Zip) Walk(ctx context.Context, b *Budget, fn func(e *Entry) error) error {
	for _, f := range z.zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := b.Err(); err != nil {
			return err
		}
		e := &Entry{Name: f.Name, Size: sizeHint(f.UncompressedSize64)}
		mode := f.Mode()
		switch {
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			e.Kind = Dir
		case mode&fs.ModeSymlink != 0:
			e.Kind = Symlink
		case mode.IsRegular():
			e.Kind = File
		default:
			e.Kind = Other
		}
		e.open = func() (io.Reader, error) {
			s, err := openZipFile(f, b)
			e.stream = s
			if s == nil {
				return nil, err
			}
			return s, err
		}
		if e.Kind == Symlink {
			// A link whose target cannot be read has none.
			if r, err := e.Open(); err == nil {
				if target, err := io.ReadAll(io.LimitReader(r, maxLink)); err == nil {
					e.Link = string(target)
				}
			}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// openZipFile returns the content of the member f.
func openZipFile(f *zip.File, b *Budget) (*Stream, error) {
	if f.Flags&flagEncrypted != 0 {
		return nil, ErrEncrypted
	}
	var s *Stream
	switch f.Method {
	case zip.Store, zip.Deflate:
		raw, err := f.OpenRaw()
		if err != nil {
			return nil, err
		}
		if f.Method == zip.Store {
			s = newStored(raw)
		} else {
			s = newFlate(raw, b)
		}
	default:
		return nil, ErrMethod
	}
	s.expect(sizeHint(f.UncompressedSize64), f.CRC32, true)
	return s, nil
}

// sizeHint returns a size from an archive header as an int64, -1 when it
// cannot be one.
func sizeHint(n uint64) int64 {
	if n > math.MaxInt64 {
		return -1
	}
	return int64(n)
}
