package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/source"
)

// analyseFlags are the flags of the commands that read the evidence once
// and summarise it (logons, gaps).
type analyseFlags struct {
	json       bool
	workers    int
	quiet      bool
	noProgress bool
	limits     limitsFlags
}

func addAnalyseFlags(cmd *cobra.Command, f *analyseFlags) {
	fl := cmd.Flags()
	fl.BoolVar(&f.json, "json", false, "write JSON lines instead of a table")
	fl.IntVar(&f.workers, "workers", runtime.NumCPU(), "files read in parallel")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print no progress and no summary of what was read")
	fl.BoolVar(&f.noProgress, "no-progress", false, "do not show the progress line")
	addLimitsFlags(fl, &f.limits)
}

// analyseEvidence reads the evidence under paths and hands every event to
// fn, one worker per file (fn's worker argument, in [0, workers)): the
// events of one log come from one worker, in record order. It prints the
// run's summary on stderr (unless quiet) and returns the Summary, or an
// error saying why nothing could be read.
func analyseEvidence(ctx context.Context, cmd *cobra.Command, env Env, f analyseFlags, paths []string, fn source.Func) (*source.Summary, error) {
	if f.workers < 1 {
		return nil, &usageError{fmt.Errorf("--workers must be at least 1, not %d", f.workers)}
	}
	limits, err := f.limits.limits()
	if err != nil {
		return nil, &usageError{err}
	}
	env = quietEnv(env, cmd, f.quiet)
	var prog source.Progress
	var pd *progressDisplay
	if !f.quiet && !f.noProgress && env.stderrIsTerminal() {
		pd = startProgress(env.Stderr, &prog)
	}
	opts := source.Options{
		Workers:  f.workers,
		Progress: &prog,
		Logger:   env.logger(),
		Stdin:    env.Stdin,
		Limits:   limits,
	}
	sum, runErr := source.Run(ctx, paths, opts, fn)
	pd.stop()
	named := reportRun(env, f.quiet, sum, runErr)
	if runErr != nil {
		if ctx.Err() != nil {
			return sum, interrupted(ctx, &prog, false)
		}
		return sum, runErr
	}
	if err := readNothing(sum); err != nil {
		return sum, err
	}
	if len(named) > 0 {
		return sum, unreadablePaths(len(named))
	}
	return sum, nil
}

// analyse reads the evidence under paths into one observer per worker
// (made by newObserver; each gets the events of whole logs, in record
// order), then has write write what they found to a buffered standard
// output. A run that read some events but stopped (interrupted, or a path
// that could not be read) writes what it has and returns its error.
func analyse[O interface{ Observe(*event.Event) }](cmd *cobra.Command, env Env, f analyseFlags, paths []string,
	newObserver func() O, write func(w io.Writer, obs []O, sum *source.Summary) error) error {
	obs := make([]O, max(f.workers, 1))
	for i := range obs {
		obs[i] = newObserver()
	}
	sum, err := analyseEvidence(cmd.Context(), cmd, env, f, paths, func(w int, ev *event.Event) error {
		obs[w].Observe(ev)
		return nil
	})
	if sum == nil || (err != nil && sum.Events == 0) {
		return err
	}
	bw := bufio.NewWriter(env.Stdout)
	if werr := write(bw, obs, sum); werr != nil {
		return fmt.Errorf("write output: %w", werr)
	}
	if ferr := bw.Flush(); ferr != nil {
		return fmt.Errorf("write output: %w", ferr)
	}
	return err
}

// needPaths is the Args check of the analysing commands.
func needPaths(name string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return &usageError{fmt.Errorf("%s needs at least one PATH (file, folder or archive)", name)}
		}
		return nil
	}
}

// reportRun tells on stderr what a run read: its summary, unless quiet.
// Quiet or not, a run that read nothing says why (the files that failed or
// were skipped), and a path given that could not be read is named. It
// returns those paths.
func reportRun(env Env, quiet bool, sum *source.Summary, runErr error) []source.Failure {
	named := sum.NamedFailed()
	if !quiet || (runErr == nil && sum.NothingRead()) {
		printSummary(env.Stderr, sum)
	} else {
		for _, fl := range named {
			fmt.Fprintf(env.Stderr, "spoor: could not read %s\n", failure(fl))
		}
	}
	return named
}

// readNothing is the error of a run that read no event (exit status 1),
// saying why; nil when it read some.
func readNothing(sum *source.Summary) error {
	switch {
	case sum.Logs == 0 && len(sum.Failed) == 0:
		return &exitError{ExitFailure, errors.New("no event logs found in the paths given")}
	case sum.Logs == 0:
		return &exitError{ExitFailure, errors.New("nothing could be read")}
	case sum.NothingRead():
		return &exitError{ExitFailure, errors.New("no events could be read")}
	}
	return nil
}
