// Package cli holds spoor's command line: one constructor per command, each
// a thin layer of flags and output over the packages that do the work.
//
// Execute runs the whole command tree and returns the process exit code;
// only main calls os.Exit.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/outfile"
)

// Exit codes of spoor.
const (
	ExitOK          = 0   // success, possibly with some evidence skipped
	ExitFailure     = 1   // nothing could be done (nothing readable, an I/O error)
	ExitUsage       = 2   // bad command line
	ExitInterrupted = 130 // stopped by SIGINT (Ctrl-C)
	ExitTerminated  = 143 // stopped by SIGTERM
)

// SignalError is the cause main gives the context it cancels when a signal
// arrives (context.WithCancelCause): Execute then exits ExitTerminated for
// SIGTERM and ExitInterrupted for any other.
type SignalError struct{ Signal os.Signal }

func (e *SignalError) Error() string { return e.Signal.String() + " signal received" }

// interruptedCode returns the exit code of a command stopped by ctx.
func interruptedCode(ctx context.Context) int {
	if se, ok := errors.AsType[*SignalError](context.Cause(ctx)); ok && se.Signal == syscall.SIGTERM {
		return ExitTerminated
	}
	return ExitInterrupted
}

// Env is what the commands get from the process: streams, logger, build
// information. Tests build one with buffers.
type Env struct {
	// Stdout receives data (events, findings).
	Stdout io.Writer
	// Stderr receives progress, summaries and errors. Progress is shown
	// only when Stderr is a terminal.
	Stderr io.Writer
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// LogLevel, when not nil, is lowered to debug by --verbose.
	LogLevel *slog.LevelVar
	// Build describes this binary for `spoor version`.
	Build Build
	// Stdin is what the path "-" reads; nil means os.Stdin.
	Stdin io.Reader
	// OnHuntPhase, when not nil, is told the phases of a hunt
	// (hunt.Options.OnPhase): main tunes the process to them.
	OnHuntPhase func(hunt.Phase)
	// LimitMemory, when not nil, is given the peak a hunt into a case
	// store aims at (StoreHuntMemory) before it starts: the process's
	// business, like OnHuntPhase.
	LimitMemory func(bytes int64)
}

func (e *Env) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

// stderrIsTerminal reports whether Stderr is an interactive terminal.
func (e *Env) stderrIsTerminal() bool {
	f, ok := e.Stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// usageError is a bad command line: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// exitError carries the exit code for an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Execute runs the spoor command line with args (without the program name)
// and returns the exit code: ExitOK, ExitFailure when nothing could be
// done, ExitUsage for a bad command line, ExitInterrupted (ExitTerminated
// when the cause is a SIGTERM SignalError) when ctx was cancelled. Errors
// are written to env.Stderr.
func Execute(ctx context.Context, env Env, args []string) int {
	root := New(env)
	root.SetArgs(args)
	ran := false
	var profile *outfile.File
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		ran = true
		if v, _ := cmd.Flags().GetBool("verbose"); v && env.LogLevel != nil {
			env.LogLevel.Set(slog.LevelDebug)
		}
		if path, _ := cmd.Flags().GetString("cpuprofile"); path != "" {
			f, err := outfile.Create(path)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Discard()
				return fmt.Errorf("cpu profile %s: %w", path, err)
			}
			profile = f
		}
		return nil
	}
	cmd, err := root.ExecuteContextC(ctx)
	if profile != nil {
		// A profile is whole once stopped, even of a command that failed
		// or was interrupted: it is kept.
		pprof.StopCPUProfile()
		if cerr := profile.Commit(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err == nil {
		return ExitOK
	}
	code := ExitFailure
	var ue *usageError
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.Cause(ctx))):
		code = interruptedCode(ctx)
	case errors.As(err, &ue), !ran:
		// Everything cobra rejects before a command runs is usage: unknown
		// commands and flags, wrong number of arguments.
		code = ExitUsage
	}
	var ie *interruptedError
	switch {
	case errors.As(err, &ie):
		fmt.Fprintf(env.Stderr, "spoor: %v\n", ie)
	case code == ExitInterrupted || code == ExitTerminated:
		fmt.Fprintln(env.Stderr, "spoor: interrupted")
	default:
		fmt.Fprintf(env.Stderr, "spoor: %v\n", err)
	}
	if code == ExitUsage {
		fmt.Fprintf(env.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// New returns the root command with every subcommand.
func New(env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "spoor",
		Short: "Hunt for long-hidden intrusions in Windows event logs",
		Long: `spoor is a threat-hunting engine for the evidence defenders already have:
Windows event logs (.evtx, Sysmon), JSON exports (Winlogbeat/ECS, evtx_dump,
JSON lines), and whole folders and archives (.zip, .gz, .tar.gz) of them.

File types are recognised by content, not by name, so logs collected under
odd names or packed in archives are read as they are.

Exit status (each command's --help says when, for it):
  0    success
  1    error: nothing readable, a path missing, an output not writable
  2    bad command line (an output file that is evidence read, too)
  3    hunt --fail-on LEVEL: a detection of LEVEL or more severe was found
  130  interrupted (Ctrl-C)
  143  terminated (SIGTERM)

Output files are written whole or not at all: an error or an interruption
leaves the file as it was.`,
		Example: `  # Hunt a folder of collected logs with the built-in Sigma rules
  spoor hunt C:\Triage\Logs\

  # What spoor sees in a collection (EVTX, JSON, archives), as JSON lines
  spoor dump C:\Triage\Logs\ > events.jsonl
  spoor dump kape-collection.zip -o events.jsonl

  # Version and build information
  spoor version`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// No Run: "spoor" alone prints help.
	}
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err}
	})
	root.PersistentFlags().BoolP("verbose", "v", false, "log diagnostics (archives opened, temporary files) to stderr")
	// For performance reports: go tool pprof spoor FILE.
	root.PersistentFlags().String("cpuprofile", "", "write a CPU profile of the command to `FILE`")
	root.PersistentFlags().MarkHidden("cpuprofile")
	root.AddCommand(newVersion(env), newDump(env), newHunt(env), newRules(env), newAttack(env), newAttribute(env), newCase(env), newServe(env), newTenant(env), newUser(env), newSearch(env), newMetrics(env), newGaps(env), newLogons(env), newIntel(env), newTAXII(env), newShip(env), newWorker(env), newFleet(env))
	return root
}
