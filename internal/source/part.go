package source

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/jsonlog"
)

// Part is a part of one event log file, read by ReadPart: what a
// collector following a log that grows reads of it (the chunks it
// gained, or the lines after those it shipped) instead of the whole file.
type Part struct {
	// Name names the log in events and errors (its path).
	Name string
	// Type is EVTX or JSON (JSON lines, read from a line's start).
	Type Type
	// EVTX: the file's content, of Size bytes, of which the chunk slots
	// [FirstChunk, EndChunk) are read (EndChunk 0: to the end).
	R                    io.ReaderAt
	Size                 int64
	FirstChunk, EndChunk int
	// JSON lines: Lines is the content from the start of the file's line
	// Line+1 (Locators count from there).
	Lines io.Reader
	Line  int64
}

// ReadPart reads p as Run reads a file, handing its events to fn (as
// worker 0): damage is counted in the Summary and skipped, a reader's
// failure ends the part and is recorded. It returns an error only when
// fn returns one or ctx is done.
func ReadPart(ctx context.Context, p Part, opts Options, fn Func) (*Summary, error) {
	start := time.Now()
	opts = opts.withDefaults()
	prog := opts.Progress
	if prog == nil {
		prog = new(Progress)
	}
	res := &result{}
	w := &worker{opts: &opts, prog: prog, fn: fn, res: res, helpers: &helpers{}}
	var (
		r   event.Reader
		err error
	)
	switch p.Type {
	case EVTX:
		r, err = safeOpen(func() (event.Reader, error) {
			workers := max(opts.EVTXWorkers, 1)
			er, err := evtx.Open(p.R, p.Size, evtx.Options{
				Source: p.Name, Workers: workers, Carve: opts.Carve, FirstChunk: p.FirstChunk, EndChunk: p.EndChunk,
			})
			if err != nil {
				return nil, err
			}
			return er, nil
		})
		res.bytes += p.Size
	case JSON:
		r = jsonlog.NewReader(p.Lines, jsonlog.Options{Source: p.Name, Line: p.Line})
	default:
		err = fmt.Errorf("%s: a part of a %s file is not read", p.Name, p.Type)
	}
	if err == nil {
		res.byType[p.Type]++
		err = w.read(ctx, p.Name, r)
	} else {
		res.fail(p.Name, err, 0)
		err = nil
	}
	sum := &Summary{Files: 1}
	sum.add(res)
	sum.Elapsed = time.Since(start)
	return sum, err
}

// OpenFile opens path to read it as Run does: a named pipe or a device
// found in a file's place does not block the open (check the mode of its
// Stat before reading).
func OpenFile(path string) (*os.File, error) { return openFile(path) }
