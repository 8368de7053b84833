package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spoor-hunt/spoor/internal/archive"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/outfile"
	"github.com/spoor-hunt/spoor/internal/source"
)

// dumpFlags are the flags of `spoor dump`.
type dumpFlags struct {
	output     string
	workers    int
	quiet      bool
	noProgress bool
	carve      bool
	limits     limitsFlags
}

// outputBuffer is the size of the buffer in front of dump's output.
const outputBuffer = 1 << 20

func newDump(env Env) *cobra.Command {
	var f dumpFlags
	cmd := &cobra.Command{
		Use:   "dump PATH...",
		Short: "Print every event as one JSON object per line (what the rules see)",
		Long: `Dump reads event logs and prints each event as one JSON object per line
(JSONL), with the field names and typed values that Sigma rules are matched
against: EventID, Channel, Provider_Name, Computer, TimeCreated, then the
EventData fields by name. It is the way to check what spoor makes of your
evidence, and a fast EVTX-to-JSON converter (like "evtx_dump -o jsonl" or
"chainsaw dump", but with Sigma's field names whatever the input format).

PATH may be an .evtx file, a JSON or JSON-lines export (Winlogbeat/ECS,
evtx_dump), a folder (read recursively, in name order), or a .zip, .gz,
.tar.gz/.tgz or .tar archive of those (archives in archives too). Types are
recognised by content, not by name; other files are skipped and counted.
Events of an archive member name it as "archive.zip!member/path". "-" reads
the standard input (events name it "stdin"), and a named pipe such as a
shell's <(zcat logs.json.gz) is read as a stream too.

Events come out in input order: files in walk order, each file's events in
record order. EVTX chunks are decoded in parallel (--workers).

A corrupt chunk, record or line is skipped and reported at the end with its
location; the rest is read (the records of a damaged EVTX chunk one by one).
--carve also recovers EVTX records left outside the chunks' record areas
(free space, slack); their lines end with "carved":true. On a terminal, progress is shown on stderr; the
summary goes to stderr, the events to stdout (or --output).

A file reached twice (a path given twice, a link, a file inside a folder
given too) is read once. Symbolic links to folders are followed; a link to a
folder that holds it (a loop) is reported and not followed.

Exit status: 0 when events were read (even if some files found in folders
or archives were skipped), 1 when nothing could be read or a PATH given
could not be (missing, no permission, a dangling link: named on stderr even
with --quiet), 2 for a bad command line.`,
		Example: `  # Convert one log to JSON lines
  spoor dump Security.evtx > security.jsonl

  # A whole collection: folders and archives, into a file
  spoor dump ./triage/ collection.zip -o events.jsonl

  # Search with jq: failed logons
  spoor dump -q Security.evtx | jq -c 'select(.EventID == 4625)'

  # In a script: no progress, no summary
  spoor dump --quiet logs.tar.gz | gzip > events.jsonl.gz

  # From a pipe
  zcat winlogbeat.json.gz | spoor dump - > events.jsonl`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("dump needs at least one PATH (file, folder or archive)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.workers < 1 {
				return &usageError{fmt.Errorf("--workers must be at least 1, not %d", f.workers)}
			}
			limits, err := f.limits.limits()
			if err != nil {
				return &usageError{err}
			}
			return runDump(cmd.Context(), quietEnv(env, cmd, f.quiet), f, limits, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "", "write the events to `FILE` instead of stdout")
	fl.IntVar(&f.workers, "workers", runtime.NumCPU(), "EVTX chunks decoded in parallel")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print no progress, no summary and no log lines (a path that cannot be read is still named; when nothing could be read, it says why)")
	fl.BoolVar(&f.noProgress, "no-progress", false, "do not show the progress line")
	addCarveFlag(fl, &f.carve)
	addLimitsFlags(fl, &f.limits)
	return cmd
}

func runDump(ctx context.Context, env Env, f dumpFlags, limits archive.Limits, paths []string) error {
	if err := refuseInputs([]output{{"-o", f.output}}, paths); err != nil {
		return err
	}
	var out io.Writer = env.Stdout
	var file *outfile.File // the output, put in place when the dump succeeds
	if f.output != "" {
		var err error
		if file, err = outfile.Create(f.output); err != nil {
			return err // names the file
		}
		defer file.Discard()
		out = file
	}
	bw := bufio.NewWriterSize(out, outputBuffer)

	var prog source.Progress
	var pd *progressDisplay
	if !f.quiet && !f.noProgress && env.stderrIsTerminal() {
		pd = startProgress(env.Stderr, &prog)
	}

	var buf []byte
	opts := source.Options{
		Workers:     1, // one file at a time: output in input order
		EVTXWorkers: f.workers,
		Progress:    &prog,
		Logger:      env.logger(),
		Stdin:       env.Stdin,
		Carve:       f.carve,
		Limits:      limits,
	}
	if f.output != "" {
		// The output may be in a folder being dumped: not read back.
		opts.Exclude = []string{f.output, file.Temp()}
	} else if out := stdoutFile(env.Stdout); out != "" {
		opts.Exclude = []string{out}
	}
	sum, runErr := source.Run(ctx, paths, opts, func(_ int, ev *event.Event) error {
		buf = ev.AppendJSON(buf[:0])
		if ev.Carved {
			buf = append(buf[:len(buf)-1], `,"carved":true}`...)
		}
		buf = append(buf, '\n')
		_, err := bw.Write(buf)
		return err
	})
	pd.stop()
	flushErr := bw.Flush()

	// Quiet or not, a dump that reads nothing says why (the files that
	// failed or were skipped) before it exits 1, and a path given that
	// could not be read is named.
	named := reportRun(env, f.quiet, sum, runErr)
	if err := readFailure(ctx, &prog, sum, runErr, flushErr, "write events", file == nil); err != nil {
		return err
	}
	if file != nil {
		if err := file.Commit(); err != nil {
			return fmt.Errorf("write events: %w", err)
		}
	}
	if len(named) > 0 {
		// The events of the paths read are written all the same.
		return unreadablePaths(len(named))
	}
	return nil
}

// addCarveFlag adds --carve, shared by dump and hunt.
func addCarveFlag(fl *pflag.FlagSet, carve *bool) {
	fl.BoolVar(carve, "carve", false, "also recover EVTX records from chunks' free space and slack (stale or deleted records), marked carved")
}
