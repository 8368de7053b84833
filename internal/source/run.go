package source

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spoor-hunt/spoor/internal/archive"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
)

// Func receives the events of a Run.
//
// worker is the index, in [0, Options.Workers), of the worker calling; the
// calls from one worker are sequential, so per-worker state indexed by it
// needs no lock. With Options.Workers > 1 the calls of different workers are
// concurrent. The events of one log (a file or an archive member) all come
// from one worker, in the order the reader returns them; logs of one input
// file (the members of an archive) come one after another from one worker.
//
// ev and everything in it are valid only until Func returns (see
// event.Reader); a Func that keeps an event must Clone it. A non-nil error
// stops the Run, which returns that error.
type Func func(worker int, ev *event.Event) error

// Run walks paths (see Walk), opens every file with the reader its content
// calls for, and hands each event to fn.
//
// Problems with the evidence do not stop Run: they are recorded in the
// Summary and reading goes on. Run returns an error only when fn returns one
// or ctx is done; the Summary then covers what was read so far. The Summary
// is never nil.
func Run(ctx context.Context, paths []string, opts Options, fn Func) (*Summary, error) {
	start := time.Now()
	opts = opts.withDefaults()
	wk := newWalker()
	wk.walk(ctx, paths)
	files := exclude(wk.files, opts.Exclude)

	prog := opts.Progress
	if prog == nil {
		prog = new(Progress)
	}
	var total int64
	for _, f := range files {
		total += max(f.Size, 0) // a stream's size is not known
	}
	prog.filesTotal.Add(int64(len(files)))
	prog.bytesTotal.Add(total)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	results := make([]result, len(files))
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	workers := min(opts.Workers, max(len(files), 1))
	helpers := &helpers{}
	if opts.EVTXWorkers == 0 {
		// Workers with no file left help the others decode theirs.
		workers = opts.Workers
	}
	helpers.reading.Store(int64(workers))
	for id := range workers {
		wg.Go(func() {
			w := &worker{id: id, opts: &opts, prog: prog, fn: fn, helpers: helpers}
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					helpers.reading.Add(-1)
					helpers.help(ctx)
					return
				}
				w.res = &results[i]
				if err := w.file(ctx, files[i]); err != nil {
					// Stopped in the middle: the file is not done.
					cancel(err)
					return
				}
				prog.filesDone.Add(1)
			}
		})
	}
	wg.Wait()

	sum := &Summary{Files: len(files), Failed: wk.failed, Duplicates: wk.dups}
	for i := range results {
		sum.add(&results[i])
	}
	sum.Elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		// A read the cancellation ended is no failure of the evidence.
		sum.Failed = slices.DeleteFunc(sum.Failed, func(f Failure) bool { return errors.Is(f.Err, err) })
		return sum, context.Cause(ctx)
	}
	return sum, nil
}

// worker reads input files one at a time.
type worker struct {
	id   int
	opts *Options
	prog *Progress
	fn   Func
	res  *result // of the file being read
	// budget is what the file being read may still decompress and spool.
	budget *archive.Budget
	// helpers are the EVTX readers open that workers with no file left
	// may help decode (EVTXWorkers 0).
	helpers *helpers

	head [HeadSize]byte
}

// input is one thing whose content is looked at: a file or an archive
// member, with random access or as a stream.
type input struct {
	name  string
	ra    io.ReaderAt // random access to the content, or nil
	size  int64       // size of ra; for a stream, a hint (<= 0: unknown)
	r     io.Reader   // the content as a stream, when ra is nil
	depth int         // archive nesting
}

// file reads one input file. It returns only errors that stop the Run.
func (w *worker) file(ctx context.Context, f File) error {
	w.budget = archive.NewBudget(w.opts.Limits)
	if f.Size < 0 { // a stream: standard input or a named pipe
		return w.stream(ctx, f)
	}
	// The file may have changed since the walk: a named pipe or a device
	// in its place is not read (it could block or never end).
	fh, err := openFile(f.Path)
	if err != nil {
		w.res.failFile(f, err)
		return nil
	}
	defer fh.Close()
	size := f.Size
	if fi, err := fh.Stat(); err == nil {
		if !fi.Mode().IsRegular() {
			w.res.failFile(f, errNotRegular)
			return nil
		}
		size = fi.Size()
	}
	cr := newCountingReaderAt(fh, size, w.prog)
	defer cr.finish()
	w.res.bytes += size
	return w.visit(ctx, input{name: f.Path, ra: cr, size: size})
}

// stream reads a file that is a stream (see File.Size): its bytes count
// for Progress as they are read.
func (w *worker) stream(ctx context.Context, f File) error {
	var r io.Reader
	name := f.Path
	if f.Path == Stdin {
		r, name = w.opts.Stdin, "stdin"
	} else {
		fh, err := openPipe(ctx, f.Path)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.res.failFile(f, err)
			return nil
		}
		defer fh.Close()
		r = fh
	}
	// A stream may block for ever (an idle terminal, a pipe's writer that
	// never writes): reading it ends when ctx is done.
	r, stop := withContext(ctx, r)
	defer stop()
	cr := &countingReader{r: r, prog: w.prog}
	err := w.visit(ctx, input{name: name, r: cr})
	w.res.bytes += cr.n
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // what failed on the way was the cancellation
	}
	return err
}

// countingReader counts the bytes read through it, into Progress too.
type countingReader struct {
	r    io.Reader
	prog *Progress
	n    int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.prog.bytesDone.Add(int64(n))
	return n, err
}

// visit sniffs the content of in and reads it as what it is.
func (w *worker) visit(ctx context.Context, in input) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if in.depth > maxDepth {
		w.res.fail(in.name, errTooDeep, 0)
		return nil
	}
	var (
		head []byte
		br   *bufio.Reader
	)
	if in.ra != nil {
		n, err := in.ra.ReadAt(w.head[:min(int64(len(w.head)), max(in.size, 0))], 0)
		if err != nil && err != io.EOF {
			w.res.fail(in.name, err, 0)
			return nil
		}
		head = w.head[:n]
	} else {
		br = bufio.NewReaderSize(in.r, streamBuffer)
		var err error
		head, err = br.Peek(HeadSize)
		if err != nil && len(head) == 0 && !errors.Is(err, io.EOF) {
			w.res.fail(in.name, err, 0)
			return nil
		}
		// With some content, a read error is left to whoever reads on:
		// the reader of a truncated member delivers what it can first.
	}
	t := w.opts.formats.sniff(head)
	if t == Unknown && len(head) == HeadSize && firstNonNUL(head) < 0 && w.opts.formats.sniffJSON(afterPadding(in, br)) {
		t = JSON // a JSON log after NUL padding, which its reader skips
	}
	switch t {
	case EVTX:
		return w.evtx(ctx, in, br)
	case JSON:
		return w.json(ctx, in, br)
	case Zip:
		return w.zip(ctx, in, br)
	case Gzip:
		return w.gzip(ctx, in, br)
	case Tar:
		return w.tar(ctx, in, br)
	}
	w.res.notLogs = append(w.res.notLogs, in.name)
	return nil
}

// stream returns the content of in as a stream from its start.
func stream(in input, br *bufio.Reader) io.Reader {
	if br != nil {
		return br
	}
	return bufio.NewReaderSize(io.NewSectionReader(in.ra, 0, in.size), streamBuffer)
}

func (w *worker) evtx(ctx context.Context, in input, br *bufio.Reader) error {
	ra, size := in.ra, in.size
	var spoolErr error // the content ended early: read what there is
	if ra == nil {
		sp, err := w.spool(ctx, in, br)
		if sp == nil {
			return w.failSpool(ctx, in.name, err)
		}
		defer sp.Close()
		ra, size, spoolErr = sp, sp.Size, err
	}
	r, err := safeOpen(func() (event.Reader, error) {
		return w.opts.formats.openEVTX(ra, size, evtx.Options{
			Source: in.name, Workers: w.opts.EVTXWorkers, Helped: w.opts.EVTXWorkers == 0, Carve: w.opts.Carve,
		})
	})
	if err != nil {
		w.res.fail(in.name, err, 0)
		return nil
	}
	w.res.byType[EVTX]++
	if h, ok := r.(helpable); ok && w.opts.EVTXWorkers == 0 {
		w.helpers.add(h)
		defer w.helpers.remove(h)
	}
	err = w.read(ctx, in.name, r)
	if spoolErr != nil {
		w.res.damage(in.name, "decompressed data", spoolErr, w.opts.MaxSkips)
	}
	return err
}

func (w *worker) json(ctx context.Context, in input, br *bufio.Reader) error {
	r, err := safeOpen(func() (event.Reader, error) {
		return w.opts.formats.openJSON(stream(in, br), in.name)
	})
	if err != nil {
		w.res.fail(in.name, err, 0)
		return nil
	}
	w.res.byType[JSON]++
	return w.read(ctx, in.name, r)
}

// flushEvery is how many events a worker counts before it adds them to the
// shared Progress and checks for cancellation.
const flushEvery = 1024

// read hands every event of r to the callback, records the parts r skips
// and its failure, and closes r.
func (w *worker) read(ctx context.Context, name string, r event.Reader) (err error) {
	w.res.logs++
	var (
		events  int64 // of this log
		pending int64 // not yet added to Progress
		dmg     *Damage
	)
	defer func() {
		w.prog.events.Add(pending)
		w.res.events += events
		if dmg != nil {
			w.res.damaged = append(w.res.damaged, *dmg)
		}
		if cerr := safeClose(r); cerr != nil && err == nil {
			w.opts.Logger.Debug("close reader", "source", name, "err", cerr)
		}
	}()
	for {
		ev, rerr := safeNext(r)
		if rerr == nil {
			if ev.Source == "" {
				ev.Source = name
			}
			if err := w.fn(w.id, ev); err != nil {
				return err
			}
			events++
			if ev.Carved {
				w.res.carved++
			}
			if pending++; pending == flushEvery {
				w.prog.events.Add(pending)
				pending = 0
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			continue
		}
		if rerr == io.EOF {
			return nil
		}
		if se, ok := errors.AsType[*event.SkipError](rerr); ok {
			if errors.Is(se.Err, evtx.ErrCarve) {
				// Stale records that did not decode: what carving
				// could not give, not damage to the log.
				w.res.carveDropped += int64(se.Records)
				continue
			}
			if dmg == nil {
				dmg = &Damage{Name: name}
			}
			dmg.Skips++
			dmg.Records += se.Records
			if len(dmg.First) < w.opts.MaxSkips {
				c := event.SkipError{Source: name, Where: strings.Clone(se.Where), Records: se.Records, Err: se.Err}
				dmg.First = append(dmg.First, c)
			}
			continue
		}
		w.res.fail(name, rerr, events)
		return nil
	}
}

// safeOpen calls open, turning a panic of the reader into an error: bad
// evidence never stops a run.
func safeOpen(open func() (event.Reader, error)) (r event.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("%w: %v", errReaderPanic, p)
		}
	}()
	return open()
}

func safeNext(r event.Reader) (ev *event.Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			ev, err = nil, fmt.Errorf("%w: %v", errReaderPanic, p)
		}
	}()
	return r.Next()
}

func safeClose(r event.Reader) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errReaderPanic, p)
		}
	}()
	return r.Close()
}

// exclude drops from files those that are one of the files named by skip
// (the same file by os.SameFile, whatever the path).
func exclude(files []File, skip []string) []File {
	var skipped []os.FileInfo
	for _, p := range skip {
		if fi, err := os.Stat(p); err == nil {
			skipped = append(skipped, fi)
		}
	}
	if len(skipped) == 0 {
		return files
	}
	kept := files[:0]
	for _, f := range files {
		fi, err := os.Stat(f.Path)
		if err == nil && slices.ContainsFunc(skipped, func(s os.FileInfo) bool { return os.SameFile(fi, s) }) {
			continue
		}
		kept = append(kept, f)
	}
	return kept
}
