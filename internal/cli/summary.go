package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/archive"
	"github.com/spoor-hunt/spoor/internal/source"
)

// maxNotLogs is how many skipped non-log files the summary names.
const maxNotLogs = 5

// printSummary writes what a run read and skipped, for a person, to w.
func printSummary(w io.Writer, s *source.Summary) {
	var b strings.Builder
	fmt.Fprintf(&b, "spoor: read %s", plural(s.Logs, "event log"))
	if kinds := typeCounts(s, source.EVTX, source.JSON); kinds != "" {
		fmt.Fprintf(&b, " (%s)", kinds)
	}
	fmt.Fprintf(&b, " from %s", plural(s.Files, "file"))
	if kinds := typeCounts(s, source.Zip, source.Gzip, source.Tar); kinds != "" {
		fmt.Fprintf(&b, " (archives: %s)", kinds)
	}
	fmt.Fprintf(&b, ": %s, %s MB in %s (%.0f events/s)\n",
		plural64(s.Events, "event"), mb(s.Bytes), s.Elapsed.Round(time.Millisecond), rate(s.Events, s.Elapsed))

	if n := len(s.NotLogs); n > 0 {
		fmt.Fprintf(&b, "spoor: skipped %s not event logs: %s", plural(n, "file"), strings.Join(s.NotLogs[:min(n, maxNotLogs)], ", "))
		if n > maxNotLogs {
			fmt.Fprintf(&b, " and %d more", n-maxNotLogs)
		}
		b.WriteString("\n")
	}
	if n := len(s.Duplicates); n > 0 {
		fmt.Fprintf(&b, "spoor: %s given twice (the same path, a link, or in a folder given), read once: %s", plural(n, "path"), strings.Join(s.Duplicates[:min(n, maxNotLogs)], ", "))
		if n > maxNotLogs {
			fmt.Fprintf(&b, " and %d more", n-maxNotLogs)
		}
		b.WriteString("\n")
	}
	if len(s.Failed) > 0 {
		fmt.Fprintf(&b, "spoor: could not read %s:\n", plural(len(s.Failed), "file"))
		for _, f := range s.Failed {
			fmt.Fprintf(&b, "  %s", failure(f))
			if f.Events > 0 {
				fmt.Fprintf(&b, " (after %s)", plural64(f.Events, "event"))
			}
			b.WriteString("\n")
		}
	}
	if s.Carved > 0 || s.CarveDropped > 0 {
		fmt.Fprintf(&b, "spoor: carved %s from EVTX free space and slack", plural64(s.Carved, "record"))
		if s.CarveDropped > 0 {
			fmt.Fprintf(&b, "; %s found whole could not be decoded (their templates overwritten)", plural64(s.CarveDropped, "stale record"))
		}
		b.WriteString("\n")
	}
	if len(s.Damaged) > 0 {
		fmt.Fprintf(&b, "spoor: skipped unreadable parts of %s:\n", plural(len(s.Damaged), "log"))
		for _, d := range s.Damaged {
			fmt.Fprintf(&b, "  %s: %s skipped", d.Name, plural(d.Skips, "part"))
			if d.Records > 0 {
				fmt.Fprintf(&b, ", at least %s lost", plural(d.Records, "record"))
			}
			b.WriteString("\n")
			for _, e := range d.First {
				fmt.Fprintf(&b, "    %s: %v\n", e.Where, e.Err)
			}
			if more := d.Skips - len(d.First); more > 0 {
				fmt.Fprintf(&b, "    and %d more\n", more)
			}
		}
	}
	io.WriteString(w, b.String())
}

// unreadablePaths is the error of a run in which n paths given could not
// be read (missing, no permission, a dangling link): exit code 1, even
// when the other paths were read.
func unreadablePaths(n int) error {
	return &exitError{ExitFailure, fmt.Errorf("%s given could not be read", plural(n, "path"))}
}

// quietEnv is env for a command run with --quiet: no log lines, unless
// --verbose asks for them.
func quietEnv(env Env, cmd *cobra.Command, quiet bool) Env {
	if v, _ := cmd.Flags().GetBool("verbose"); quiet && !v {
		env.Logger = nil
	}
	return env
}

// failure renders a failure without naming the file twice: errors of the
// operating system name it already.
func failure(f source.Failure) string {
	s := f.Error()
	if pe, ok := errors.AsType[*fs.PathError](f.Err); ok && pe.Path == f.Name {
		s = f.Err.Error()
	}
	if errors.Is(f.Err, archive.ErrLimit) {
		s += " (--max-decompressed and --max-ratio raise the limits)"
	}
	return s
}

// typeCounts renders the non-zero counts of types: "2 evtx, 1 json".
func typeCounts(s *source.Summary, types ...source.Type) string {
	var parts []string
	for _, t := range types {
		if n := s.Count(t); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, t))
		}
	}
	return strings.Join(parts, ", ")
}

func plural(n int, noun string) string { return plural64(int64(n), noun) }

func plural64(n int64, noun string) string {
	return strconv.FormatInt(n, 10) + " " + pluralNoun(n, noun)
}
