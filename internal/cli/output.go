package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spoor-hunt/spoor/internal/outfile"
	"github.com/spoor-hunt/spoor/internal/source"
)

// output is a file a command writes, by the flag that names it.
type output struct {
	flag string // "-o", "--timeline"
	path string // "" when not asked for
}

// refuseInputs returns a usage error when an output is a file the command
// reads as evidence, compared by identity (symbolic links, hard links and
// spellings such as ./ name the same file): an input path given, or an
// existing file that a folder given holds and that spoor would read (an
// event log or an archive, by content). Outputs are written by replacing
// the file, so the evidence would be lost.
//
// An output that does not exist yet is no evidence, wherever it is: the
// commands never read their own outputs back (source.Options.Exclude). An
// existing file in an input folder that is not evidence (an earlier
// timeline.csv or report.html: not a log, never read) is replaced as any
// output is. An earlier output that spoor would read (a dump's JSON lines,
// a .jsonl timeline) cannot be told from collected evidence: refused.
func refuseInputs(outs []output, paths []string) error {
	if err := sameOutputs(outs); err != nil {
		return err
	}
	var (
		existing []output
		infos    []os.FileInfo
	)
	for _, o := range outs {
		if o.path == "" {
			continue
		}
		if fi, err := os.Stat(o.path); err == nil && fi.Mode().IsRegular() {
			existing = append(existing, o)
			infos = append(infos, fi)
		}
	}
	if len(existing) == 0 {
		return nil
	}
	for _, p := range paths {
		if p == source.Stdin {
			continue
		}
		pi, err := os.Stat(p)
		if err != nil {
			continue // reported by the run
		}
		files, _ := source.Walk([]string{p})
		for _, f := range files {
			if f.Size < 0 {
				continue // a named pipe
			}
			fi, err := os.Stat(f.Path)
			if err != nil {
				continue
			}
			for i, o := range existing {
				switch {
				case !os.SameFile(fi, infos[i]):
				case !pi.IsDir():
					return &usageError{fmt.Errorf("%s %s is the input %s: spoor never overwrites evidence; choose another output file", o.flag, o.path, p)}
				case isEvidence(f.Path):
					return &usageError{fmt.Errorf("%s %s is %s, evidence in the input folder %s: spoor never overwrites evidence; choose another output file (or remove this one first if it is an earlier output)", o.flag, o.path, f.Path, p)}
				}
			}
		}
	}
	return nil
}

// sameOutputs returns a usage error when two outputs name the same file
// (one would replace the other), by identity when both exist, else by
// absolute path.
func sameOutputs(outs []output) error {
	same := func(a, b string) bool {
		ai, aerr := os.Stat(a)
		bi, berr := os.Stat(b)
		if aerr == nil && berr == nil {
			return os.SameFile(ai, bi)
		}
		aa, aerr := filepath.Abs(a)
		ba, berr := filepath.Abs(b)
		return aerr == nil && berr == nil && aa == ba
	}
	for i, a := range outs {
		for _, b := range outs[i+1:] {
			if a.path != "" && b.path != "" && same(a.path, b.path) {
				return &usageError{fmt.Errorf("%s %s and %s %s name the same file: give each output its own", a.flag, a.path, b.flag, b.path)}
			}
		}
	}
	return nil
}

// stdoutFile returns a path to the file standard output is redirected to
// when it is a regular file ("" otherwise), so that a command does not read
// its own growing output back (spoor dump logs > logs/events.jsonl).
func stdoutFile(w io.Writer) string {
	f, ok := w.(*os.File)
	if !ok {
		return ""
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return "/dev/fd/" + strconv.Itoa(int(f.Fd()))
}

// isEvidence reports whether spoor reads the file at path as evidence: an
// event log or an archive, by content. A file that cannot be read is taken
// for evidence.
func isEvidence(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	head := make([]byte, source.HeadSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return true
	}
	return source.Sniff(head[:n]) != source.Unknown
}

// ctxWriter fails its writes once ctx is done, so that an interrupted
// report stops being written.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.w.Write(p)
}

// pendingFiles are output files written but not yet in place: Commit puts
// them all in place, Discard (deferred) removes what was not committed.
type pendingFiles []*outfile.File

// create starts writing path (see outfile.Create).
func (p *pendingFiles) create(path string) (*outfile.File, error) {
	f, err := outfile.Create(path)
	if err != nil {
		return nil, err
	}
	*p = append(*p, f)
	return f, nil
}

// commit puts every file in place, in order, unless ctx is done.
func (p pendingFiles) commit(ctx context.Context) error {
	for _, f := range p {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := f.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// discard removes the files not committed.
func (p pendingFiles) discard() {
	for _, f := range p {
		f.Discard()
	}
}

// interruptedError is the error of a command stopped by a signal (its
// context done): what it had done by then, for the message.
type interruptedError struct {
	err  error  // the context's cause
	done string // "read 3 of 12 files, 1,234,567 events; no output written"
}

func (e *interruptedError) Error() string { return "interrupted: " + e.done }
func (e *interruptedError) Unwrap() error { return e.err }

// interrupted returns the error of a run that ctx stopped after what prog
// counted; written says whether the output it had made is kept.
func interrupted(ctx context.Context, prog *source.Progress, written bool) error {
	s := prog.Snapshot()
	var done string
	if s.FilesTotal == 0 && s.Events == 0 {
		done = "before reading the evidence"
	} else {
		done = fmt.Sprintf("read %d of %s, %s %s", s.FilesDone, plural64(s.FilesTotal, "file"),
			thousands(int(s.Events)), pluralNoun(s.Events, "event"))
	}
	if !written {
		done += "; no output written"
	}
	return &interruptedError{err: context.Cause(ctx), done: done}
}

// pluralNoun returns noun for 1 and its plural otherwise.
func pluralNoun(n int64, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
