package source

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spoor-hunt/spoor/internal/archive"
	"github.com/spoor-hunt/spoor/internal/event"
)

// streamBuffer is the size of the buffer in front of streamed content.
const streamBuffer = 64 << 10

// memberName names a member of an archive: "archive.zip!dir/member.json".
func memberName(archive, member string) string { return archive + "!" + member }

// zip reads every member of a zip archive, in the order of its central
// directory, or from its local headers when it has none.
func (w *worker) zip(ctx context.Context, in input, br *bufio.Reader) error {
	ra, size := in.ra, in.size
	if ra == nil {
		sp, err := w.spool(ctx, in, br)
		if sp == nil {
			return w.failSpool(ctx, in.name, err)
		}
		defer sp.Close()
		if err != nil {
			w.res.damage(in.name, "decompressed data", err, w.opts.MaxSkips)
		}
		ra, size = sp, sp.Size
	}
	z, err := archive.OpenZip(ra, size)
	if err != nil {
		// No readable central directory (a copy cut short): the members
		// are found from the front.
		return w.cutZip(ctx, in, ra, size, fmt.Errorf("open zip: %w", err))
	}
	w.res.byType[Zip]++
	w.opts.Logger.Debug("open archive", "source", in.name, "type", Zip, "members", z.Len())
	return walkErr(z.Walk(ctx, w.budget, func(e *archive.Entry) error {
		return w.member(ctx, in, e)
	}))
}

// cutZip reads the members of the zip archive in ra whose central
// directory could not be read (openErr), from their local headers. The
// archive is reported damaged with openErr and how far it was read; the
// members before the cut are read in full, the one it cuts as far as it
// goes. When not even one member was found, the archive is reported
// failed.
func (w *worker) cutZip(ctx context.Context, in input, ra io.ReaderAt, size int64, openErr error) error {
	cz, err := archive.WalkCutZip(ctx, ra, size, w.budget, func(e *archive.Entry) error {
		return w.member(ctx, in, e)
	})
	if cz.Members == 0 {
		// Not a zip that was cut: nothing to show for it.
		w.res.fail(in.name, openErr, 0)
		return walkErr(err)
	}
	w.res.byType[Zip]++
	where := fmt.Sprintf("central directory (%d members read from their local headers)", cz.Members)
	if cz.Stop != nil {
		where = fmt.Sprintf("central directory (%d members read from their local headers; stopped at offset 0x%x: %v)", cz.Members, cz.End, cz.Stop)
	}
	w.res.damage(in.name, where, openErr, w.opts.MaxSkips)
	w.opts.Logger.Debug("zip without central directory", "source", in.name, "members", cz.Members)
	return walkErr(err)
}

// member reads one member of an archive.
func (w *worker) member(ctx context.Context, in input, e *archive.Entry) error {
	if e.Kind != archive.File {
		return nil
	}
	name := memberName(in.name, strings.TrimPrefix(e.Name, "./"))
	r, err := e.Open()
	if err != nil {
		w.res.fail(name, err, 0)
		return nil
	}
	if err := w.visit(ctx, input{name: name, r: r, size: e.Size, depth: in.depth + 1}); err != nil {
		return err
	}
	if d := e.Damage(); d != nil {
		w.res.damage(name, "compressed data", d, w.opts.MaxSkips)
	}
	return nil
}

// walkErr returns the error of an archive walk that stops the Run: ctx's
// or the callback's. A spent budget ends only the input (the member or
// spool that spent it is reported failed already).
func walkErr(err error) error {
	if errors.Is(err, archive.ErrLimit) {
		return nil
	}
	return err
}

// gzip reads the content of a gzip stream (several concatenated members are
// one stream). The content keeps the name of the compressed file.
func (w *worker) gzip(ctx context.Context, in input, br *bufio.Reader) error {
	gz, err := archive.NewGzip(stream(in, br), w.budget)
	if err != nil {
		w.res.fail(in.name, err, 0)
		return nil
	}
	w.res.byType[Gzip]++
	err = w.visit(ctx, input{name: in.name, r: gz, depth: in.depth + 1})
	if d := gz.Damage(); d != nil {
		w.res.damage(in.name, "gzip stream", d, w.opts.MaxSkips)
	}
	if gz.TrailerMissing() {
		w.opts.Logger.Debug("gzip stream ends without its trailer", "source", in.name)
	}
	return err
}

// tar reads every regular file of a tar archive, in archive order.
func (w *worker) tar(ctx context.Context, in input, br *bufio.Reader) error {
	w.res.byType[Tar]++
	w.opts.Logger.Debug("open archive", "source", in.name, "type", Tar)
	var stop error // of the callback: stops the Run
	err := archive.WalkTar(ctx, stream(in, br), w.budget, func(e *archive.Entry) error {
		stop = w.member(ctx, in, e)
		return stop
	})
	switch {
	case err == nil || err == stop || ctx.Err() != nil:
		return walkErr(err)
	case errors.Is(err, archive.ErrLimit):
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF) && w.lastFailureIn(in.name):
		return nil // the truncated member is reported already
	}
	w.res.fail(in.name, err, 0)
	return nil
}

// lastFailureIn reports whether the last failure recorded is of a member
// of archive.
func (w *worker) lastFailureIn(archive string) bool {
	f := w.res.failed
	return len(f) > 0 && strings.HasPrefix(f[len(f)-1].Name, archive+"!")
}

// spool copies the stream of in for random access (EVTX, a nested zip).
func (w *worker) spool(ctx context.Context, in input, br *bufio.Reader) (*archive.Spooled, error) {
	sp, err := w.budget.Spool(ctx, br, in.size, w.opts.TempDir, w.opts.MemoryLimit)
	if sp != nil && sp.Path() != "" {
		w.opts.Logger.Debug("spool to temporary file", "source", in.name, "path", sp.Path())
	}
	return sp, err
}

// failSpool records that in could not be spooled; only ctx's error stops
// the Run.
func (w *worker) failSpool(ctx context.Context, name string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	w.res.fail(name, fmt.Errorf("spool: %w", err), 0)
	return nil
}

// damage records a damaged part of the log or archive name, with the
// damage its reader reported if any.
func (r *result) damage(name, where string, err error, maxSkips int) {
	var d *Damage
	if n := len(r.damaged); n > 0 && r.damaged[n-1].Name == name {
		d = &r.damaged[n-1]
	} else {
		r.damaged = append(r.damaged, Damage{Name: name})
		d = &r.damaged[len(r.damaged)-1]
	}
	d.Skips++
	if len(d.First) < maxSkips {
		d.First = append(d.First, event.SkipError{Source: name, Where: where, Err: err})
	}
}
