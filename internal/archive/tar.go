package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
)

// WalkTar calls fn for every member of the tar archive r, in archive
// order (global headers left out), until fn returns an error, ctx is done
// or b is spent; it returns that error, or the error that ended the
// archive (wrapping io.ErrUnexpectedEOF for one cut short). A member's
// content is read from r itself: a member cut short fails its reader with
// io.ErrUnexpectedEOF.
func WalkTar(ctx context.Context, r io.Reader, b *Budget, fn func(e *Entry) error) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := b.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fmt.Errorf("read tar: %w", err)
		}
		e := &Entry{Name: h.Name, Link: h.Linkname, Size: h.Size}
		switch h.Typeflag {
		case tar.TypeXGlobalHeader:
			continue
		case tar.TypeReg, tar.TypeRegA:
			e.Kind = File
			e.open = func() (io.Reader, error) { return tr, nil }
		case tar.TypeDir:
			e.Kind = Dir
		case tar.TypeSymlink:
			e.Kind = Symlink
		case tar.TypeLink:
			e.Kind = Hardlink
		default:
			e.Kind = Other
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}
