package source

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// streamBuffer is the size of the buffer in front of streamed content.
const streamBuffer = 64 << 10

// memberName names a member of an archive: "archive.zip!dir/member.json".
func memberName(archive, member string) string { return archive + "!" + member }

// zip reads every member of a zip archive, in the order of its central
// directory.
func (w *worker) zip(ctx context.Context, in input, br *bufio.Reader) error {
	ra, size := in.ra, in.size
	if ra == nil {
		sp, err := w.spool(br, in.size)
		if err != nil {
			w.res.fail(in.name, err, 0)
			return nil
		}
		defer sp.Close()
		ra, size = sp, sp.size
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		// No readable central directory (a copy cut short): the members
		// are found from the front.
		return w.cutZip(ctx, in, ra, size, fmt.Errorf("open zip: %w", err))
	}
	w.res.byType[Zip]++
	w.opts.Logger.Debug("open archive", "source", in.name, "type", Zip, "members", len(zr.File))
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		name := memberName(in.name, f.Name)
		if f.Flags&0x1 != 0 {
			w.res.fail(name, errEncrypted, 0)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			w.res.fail(name, err, 0)
			continue
		}
		err = w.visit(ctx, input{name: name, r: rc, size: int64(f.UncompressedSize64), depth: in.depth + 1})
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// gzip reads the content of a gzip stream (several concatenated members are
// one stream). The content keeps the name of the compressed file.
func (w *worker) gzip(ctx context.Context, in input, br *bufio.Reader) error {
	zr, err := gzip.NewReader(stream(in, br))
	if err != nil {
		w.res.fail(in.name, fmt.Errorf("open gzip: %w", err), 0)
		return nil
	}
	defer zr.Close()
	w.res.byType[Gzip]++
	lz := &lenientGzip{zr: zr}
	err = w.visit(ctx, input{name: in.name, r: lz, depth: in.depth + 1})
	if lz.truncated {
		w.opts.Logger.Debug("gzip stream ends without its trailer", "source", in.name)
	}
	return err
}

// lenientGzip reads a gzip stream that may lack its trailer, as some
// archives in the wild do: an io.ErrUnexpectedEOF, which gzip only returns
// when its input ended, is the end of the data. If the deflate data itself
// was cut, the reader of the content sees a truncated last record and
// reports it.
type lenientGzip struct {
	zr        *gzip.Reader
	truncated bool
}

func (l *lenientGzip) Read(p []byte) (int, error) {
	n, err := l.zr.Read(p)
	if err == io.ErrUnexpectedEOF {
		l.truncated = true
		err = io.EOF
	}
	return n, err
}

// tar reads every regular file of a tar archive, in archive order.
func (w *worker) tar(ctx context.Context, in input, br *bufio.Reader) error {
	tr := tar.NewReader(stream(in, br))
	w.res.byType[Tar]++
	w.opts.Logger.Debug("open archive", "source", in.name, "type", Tar)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			if errors.Is(err, io.ErrUnexpectedEOF) && w.lastFailureIn(in.name) {
				return nil // the truncated member is reported already
			}
			w.res.fail(in.name, fmt.Errorf("read tar: %w", err), 0)
			return nil
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		err = w.visit(ctx, input{name: memberName(in.name, strings.TrimPrefix(h.Name, "./")), r: tr, size: h.Size, depth: in.depth + 1})
		if err != nil {
			return err
		}
	}
}

// lastFailureIn reports whether the last failure recorded is of a member
// of archive.
func (w *worker) lastFailureIn(archive string) bool {
	f := w.res.failed
	return len(f) > 0 && strings.HasPrefix(f[len(f)-1].Name, archive+"!")
}

// spooled is content copied out of a stream for random access: in memory,
// or in a temporary file that Close removes.
type spooled struct {
	io.ReaderAt
	size int64
	file *os.File
}

func (s *spooled) Close() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	if rerr := os.Remove(s.file.Name()); err == nil {
		err = rerr
	}
	return err
}

// spool copies r for random access: into memory when it holds at most
// Options.MemoryLimit bytes, else into a temporary file. hint is the
// expected size (<= 0 when unknown).
func (w *worker) spool(r io.Reader, hint int64) (*spooled, error) {
	limit := w.opts.MemoryLimit
	var buf []byte
	if hint <= limit {
		// The hint comes from an archive header and may lie: it only sizes
		// the first allocation.
		buf = make([]byte, 0, max(min(hint, limit), 0)+bytes.MinRead)
		b := bytes.NewBuffer(buf)
		n, err := b.ReadFrom(io.LimitReader(r, limit+1))
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		if n <= limit {
			return &spooled{ReaderAt: bytes.NewReader(b.Bytes()), size: n}, nil
		}
		buf = b.Bytes()
	}
	f, err := os.CreateTemp(w.opts.TempDir, "spoor-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("spool to temporary file: %w", err)
	}
	sp := &spooled{ReaderAt: f, file: f}
	w.opts.Logger.Debug("spool to temporary file", "path", f.Name())
	if _, err := f.Write(buf); err != nil {
		sp.Close()
		return nil, fmt.Errorf("spool to temporary file: %w", err)
	}
	n, err := io.Copy(f, r)
	if err != nil {
		sp.Close()
		return nil, fmt.Errorf("spool to temporary file: %w", err)
	}
	sp.size = int64(len(buf)) + n
	return sp, nil
}
