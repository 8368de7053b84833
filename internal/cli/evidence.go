package cli

import (
	"context"
	"fmt"
	"runtime"

	"github.com/spf13/pflag"

	"github.com/spoor-hunt/spoor/internal/source"
)

// evidenceFlags are the flags of the commands that read evidence and
// print what they found on stdout (search, metrics): how it is read, and
// what is said on stderr.
type evidenceFlags struct {
	workers    int
	quiet      bool
	noProgress bool
	carve      bool
	limits     limitsFlags
}

// add adds the flags to fl.
func (f *evidenceFlags) add(fl *pflag.FlagSet) {
	fl.IntVar(&f.workers, "workers", runtime.NumCPU(), "files read in parallel")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print no progress, no read summary and no log lines (a path that cannot be read is still named)")
	fl.BoolVar(&f.noProgress, "no-progress", false, "do not show the progress line")
	addCarveFlag(fl, &f.carve)
	addLimitsFlags(fl, &f.limits)
}

// options returns the source options of the flags, counting into prog; an
// error is a usage error.
func (f *evidenceFlags) options(env Env, prog *source.Progress) (source.Options, error) {
	if f.workers < 1 {
		return source.Options{}, &usageError{fmt.Errorf("--workers must be at least 1, not %d", f.workers)}
	}
	limits, err := f.limits.limits()
	if err != nil {
		return source.Options{}, &usageError{err}
	}
	opts := source.Options{Workers: f.workers, Progress: prog, Logger: env.logger(), Stdin: env.Stdin, Carve: f.carve, Limits: limits}
	if out := stdoutFile(env.Stdout); out != "" {
		// Stdout redirected into a folder being read: not read back.
		opts.Exclude = []string{out}
	}
	return opts, nil
}

// progress shows prog on a terminal unless the flags say not to; stop the
// display it returns (nil when none) when the reading ends.
func (f *evidenceFlags) progress(env Env, prog *source.Progress) *progressDisplay {
	if f.quiet || f.noProgress || !env.stderrIsTerminal() {
		return nil
	}
	return startProgress(env.Stderr, prog)
}

// summary writes what was read to stderr: the whole summary, or with
// --quiet only the paths given that could not be read (and why nothing
// was, when so).
func (f *evidenceFlags) summary(env Env, sum *source.Summary, runErr error) {
	reportRun(env, f.quiet, sum, runErr)
}

// readFailed reports whether a run read nothing usable or stopped.
func readFailed(sum *source.Summary, runErr error) bool {
	return runErr != nil || sum.Logs == 0 || sum.NothingRead()
}

// readError is the error of a command that read evidence and wrote to
// stdout, by dump's rules: readFailure's, else a path given that could not
// be read (exit 1 even when the rest was read).
func readError(ctx context.Context, prog *source.Progress, sum *source.Summary, runErr, writeErr error, what string) error {
	if err := readFailure(ctx, prog, sum, runErr, writeErr, what, true); err != nil {
		return err
	}
	if n := len(sum.NamedFailed()); n > 0 {
		return unreadablePaths(n)
	}
	return nil
}

// readFailure is the error of a run that stopped (interrupted: written
// says whether its output is kept), failed to write, or read nothing;
// nil otherwise.
func readFailure(ctx context.Context, prog *source.Progress, sum *source.Summary, runErr, writeErr error, what string, written bool) error {
	switch {
	case runErr != nil:
		if ctx.Err() != nil {
			return interrupted(ctx, prog, written)
		}
		return fmt.Errorf("%s: %w", what, runErr)
	case writeErr != nil:
		return fmt.Errorf("%s: %w", what, writeErr)
	}
	return readNothing(sum)
}
