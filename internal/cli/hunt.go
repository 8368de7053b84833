package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/spoor-hunt/spoor/internal/exposure"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/report"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/rulepkg"
	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/source"
	"github.com/spoor-hunt/spoor/internal/store"
)

// ExitDetections is the exit code of `spoor hunt --fail-on LEVEL` when a
// detection at or above LEVEL was found.
const ExitDetections = 3

// huntFlags are the flags of `spoor hunt`.
type huntFlags struct {
	rules        []string
	noBuiltin    bool
	sigmaHQ      bool
	noSigmaHQ    bool
	noisy        bool
	minLevel     string
	status       []string
	tags         []string
	exclude      []string
	from, to     string
	workers      int
	quiet        bool
	noProgress   bool
	limit        int
	limits       limitsFlags
	timeline     string
	json         bool
	html         string
	operations   string
	failOn       string
	events       bool
	crownJewels  string
	placeholders string
	pipelines    []string
	carve        bool
	stix         stixFlags
	// store, caseName, tenant: hunt into a case of a store (hunt_store.go).
	store, caseName, tenant string
}

func newHunt(env Env) *cobra.Command {
	var f huntFlags
	cmd := &cobra.Command{
		Use:   "hunt PATH...",
		Short: "Hunt evidence with Sigma rules: what happened, where, and how bad",
		Long: `Hunt reads event logs (EVTX files, JSON exports, folders and archives of
them, "-" for the standard input, as spoor dump does), matches every event
against Sigma rules, and reports the detections.

Rules: spoor's built-in set and the SigmaHQ rules (embedded in spoor, or
the package "spoor rules update" installed when it is newer), plus --rules
(a Sigma rule file or folder; repeatable). A rule under --rules with the
same id as a built-in or SigmaHQ rule replaces it, so a SigmaHQ checkout
given with --rules replaces the package's rules. --no-builtin leaves the
built-in set out, --no-sigmahq the SigmaHQ rules. The SigmaHQ rules that
fire too often on ordinary activity are left out unless --noisy is given
(the list and how it was measured: docs/default-rules.md). Rules that cannot
be loaded or compiled are counted and skipped ("spoor rules lint" says why);
deprecated and unsupported rules are left out unless --status asks for
them.

Output: on stdout, a summary (what was read and skipped, the rules used),
the operations first: detections joined into the story of each intrusion
across processes, logons and hosts, strongest evidence first, each with its
hosts, users, time span, ATT&CK tactics in kill-chain order, the ATT&CK
groups its evidence resembles (a resemblance, never an identification) and
its steps; then detections by level, top rules, the hosts with most
detections, the ATT&CK tactics seen, and the detections, most severe first,
with the fields that explain each one, cut at --limit. Sigma correlation
rules (built-in ones count failed logons) are detections too; the
detections they count are not listed on their own. --operations writes the
operations with their detections as JSON. --json prints the whole result as one JSON
document instead. --timeline writes every detection, in time order, as CSV
(.csv) or JSON lines (.jsonl, .json, .ndjson) with stable columns for
Timeline Explorer and Timesketch; --html writes a self-contained HTML report.
On a terminal, progress is shown on stderr.

Times (--from, --to) are RFC 3339 (2022-02-07T14:00:00Z) or a date
(2022-02-07, UTC): --from a date starts at its midnight, --to a date ends at
its last second. Both bounds are included.

Exit status: 0 when the hunt ran, with or without detections; 1 on error
(nothing readable, a PATH given that could not be read, a rule path missing,
an output not writable); 2 for a bad command line; 3 with --fail-on LEVEL
when a detection of LEVEL or more severe was found (even if a PATH could not
be read: it is named on stderr, with --quiet too).`,
		Example: `  # The built-in rules over a folder of collected logs
  spoor hunt C:\Triage\Logs\

  # Only spoor's own rules and those of a folder, high and critical only
  spoor hunt --no-sigmahq --rules ./my-rules --min-level high collection.zip

  # A timeline for Timeline Explorer and the whole result as JSON
  spoor hunt --timeline timeline.csv --json logs/ > result.json

  # In a sweep script: fail when anything high or worse is found
  spoor hunt --quiet --fail-on high \\host42\c$\Windows\System32\winevt\Logs`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("hunt needs at least one PATH (file, folder or archive)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("tag") && (len(f.tags) == 0 || slices.Contains(f.tags, "")) {
				// --tag "" would otherwise keep every rule, silently.
				return &usageError{errors.New("--tag: empty tag")}
			}
			opts, err := f.options()
			if err != nil {
				return &usageError{err}
			}
			opts.Stdin = env.Stdin
			if f.crownJewels != "" {
				// A file that cannot be read is an error (exit 1), as a
				// missing rule path is.
				if opts.CrownJewels, err = exposure.LoadJewels(f.crownJewels); err != nil {
					return err
				}
			}
			return runHunt(cmd.Context(), quietEnv(env, cmd, f.quiet), f, opts, args)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.rules, "rules", nil, "also use the Sigma rules in `PATH` (file or folder; repeatable)")
	fl.BoolVar(&f.noBuiltin, "no-builtin", false, "do not use the built-in rules")
	fl.BoolVar(&f.sigmaHQ, "sigmahq", false, "the SigmaHQ rules (used by default)")
	cmd.Flags().MarkDeprecated("sigmahq", "the SigmaHQ rules are used by default (the package of spoor rules update when it is newer than the embedded one)")
	fl.BoolVar(&f.noSigmaHQ, "no-sigmahq", false, "do not use the SigmaHQ rules (embedded, or installed by spoor rules update)")
	fl.BoolVar(&f.noisy, "noisy", false, "also use the SigmaHQ rules left out by default as too noisy")
	fl.StringVar(&f.minLevel, "min-level", "", "only rules of `LEVEL` or more severe (informational, low, medium, high, critical)")
	fl.StringSliceVar(&f.status, "status", nil, "only rules of these `STATUSES` (stable, test, experimental, ...; comma-separated or repeated)")
	fl.StringSliceVar(&f.tags, "tag", nil, "only rules with a tag starting with `TAG` (attack.t1003, credential-access, cve; repeatable)")
	fl.StringSliceVar(&f.exclude, "exclude-rule", nil, "leave out the rule with this `ID` or title (repeatable)")
	fl.StringVar(&f.from, "from", "", "only events at or after `TIME` (RFC 3339 or YYYY-MM-DD, UTC)")
	fl.StringVar(&f.to, "to", "", "only events at or before `TIME` (RFC 3339 or YYYY-MM-DD, UTC)")
	fl.IntVar(&f.workers, "workers", runtime.NumCPU(), "files read and matched in parallel")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress, no terminal report and no log lines: only the files and JSON asked for (a path that cannot be read is still named)")
	fl.BoolVar(&f.noProgress, "no-progress", false, "do not show the progress line")
	fl.IntVar(&f.limit, "limit", report.DefaultLimit, "list at most `N` detections on the terminal (0: all, and every operation with all its steps)")
	fl.StringVar(&f.timeline, "timeline", "", "write every detection to `FILE`: CSV (.csv) or JSON lines (.jsonl, .json, .ndjson)")
	fl.BoolVar(&f.json, "json", false, "print the whole result as one JSON document on stdout (instead of the terminal report)")
	fl.StringVar(&f.html, "html", "", "write a self-contained HTML report to `FILE`")
	fl.StringVar(&f.operations, "operations", "", "write the operations (detections joined into intrusions, with the ATT&CK groups they resemble) to `FILE` as JSON")
	fl.StringVar(&f.failOn, "fail-on", "", "exit with status 3 when a detection of `LEVEL` or more severe is found")
	fl.StringVar(&f.crownJewels, "crown-jewels", "", "mark exposure touching the valuable locations in `FILE` (YAML, or lines: path globs, \\\\host\\share, hosts, each with an optional | label) and raise the severity of operations that touch them (docs/exposure.md)")
	fl.BoolVar(&f.events, "events", false, "keep the whole event in every detection of the --json output")
	addPlaceholdersFlag(fl, &f.placeholders)
	addPipelineFlag(fl, &f.pipelines)
	addCarveFlag(fl, &f.carve)
	addLimitsFlags(fl, &f.limits)
	f.stix.add(fl, "write the operations as a STIX 2.1 bundle to `FILE` (see spoor case export)")
	fl.StringVar(&f.store, "store", "", "hunt into a case of the store in `DIR` or at a postgres:// URL: detections stored as found, the case's operations rebuilt (needs --case)")
	fl.StringVar(&f.caseName, "case", "", "the `CASE` of --store to hunt into (created when missing)")
	fl.StringVar(&f.tenant, "tenant", store.DefaultTenant, "the `TENANT` of --case")
	return cmd
}

// options checks the flags and turns them into hunt options; an error is a
// usage error.
func (f *huntFlags) options() (hunt.Options, error) {
	opts := hunt.Options{
		NoBuiltin:  f.noBuiltin,
		Rules:      f.rules,
		Noisy:      f.noisy,
		Statuses:   f.status,
		Tags:       f.tags,
		Exclude:    f.exclude,
		Workers:    f.workers,
		KeepEvents: f.events,
		Carve:      f.carve,
	}
	if f.workers < 1 {
		return opts, fmt.Errorf("--workers must be at least 1, not %d", f.workers)
	}
	limits, err := f.limits.limits()
	if err != nil {
		return opts, err
	}
	opts.Limits = limits
	if f.limit < 0 {
		return opts, fmt.Errorf("--limit must be 0 (all) or more, not %d", f.limit)
	}
	if f.sigmaHQ && f.noSigmaHQ {
		return opts, errors.New("--sigmahq and --no-sigmahq contradict each other")
	}
	if f.noBuiltin && f.noSigmaHQ && len(f.rules) == 0 {
		return opts, errors.New("--no-builtin and --no-sigmahq leave no rules: add --rules PATH")
	}
	for _, st := range f.status {
		if !slices.Contains(ruleset.Statuses, strings.ToLower(st)) {
			return opts, fmt.Errorf("--status %q: want one of %s", st, strings.Join(ruleset.Statuses, ", "))
		}
	}
	if f.minLevel != "" {
		l, err := ruleset.ParseLevel(f.minLevel)
		if err != nil {
			return opts, fmt.Errorf("--min-level: %w", err)
		}
		opts.MinLevel = l
	}
	if f.failOn != "" {
		if _, err := ruleset.ParseLevel(f.failOn); err != nil {
			return opts, fmt.Errorf("--fail-on: %w", err)
		}
	}
	if opts.From, err = parseTime(f.from, false); err != nil {
		return opts, fmt.Errorf("--from: %w", err)
	}
	if opts.To, err = parseTime(f.to, true); err != nil {
		return opts, fmt.Errorf("--to: %w", err)
	}
	if !opts.From.IsZero() && !opts.To.IsZero() && opts.To.Before(opts.From) {
		return opts, fmt.Errorf("--to %s is before --from %s", f.to, f.from)
	}
	if _, err := f.stix.options(); err != nil {
		return opts, err
	}
	if f.timeline != "" {
		if _, err := report.FormatOf(f.timeline); err != nil {
			return opts, fmt.Errorf("--timeline: %w", err)
		}
	}
	if err := f.checkStore(); err != nil {
		return opts, err
	}
	return opts, nil
}

// parseTime reads a time flag: RFC 3339, or a date (UTC) that stands for
// its first second, or with end its last instant. "" is the zero time.
func parseTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2022-02-07T14:00:00Z) nor a date (2022-02-07)", s)
	}
	if end {
		t = t.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}
	return t, nil
}

func runHunt(ctx context.Context, env Env, f huntFlags, opts hunt.Options, paths []string) error {
	if err := refuseInputs([]output{{"--timeline", f.timeline}, {"--operations", f.operations}, {"--html", f.html}, {"--stix", f.stix.file}}, paths); err != nil {
		return err
	}
	for _, out := range []string{f.timeline, f.operations, f.html, f.stix.file, stdoutFile(env.Stdout)} {
		if out != "" {
			opts.Outputs = append(opts.Outputs, out)
		}
	}
	var err error
	if opts.Placeholders, err = readPlaceholders(f.placeholders); err != nil {
		return err
	}
	if opts.Pipeline, err = readPipeline(f.pipelines); err != nil {
		return err
	}
	if !f.noSigmaHQ {
		if opts.SigmaHQ, err = rulepkg.Open(); err != nil {
			return err
		}
	}
	// An output that cannot be written is found before the hunt, not after
	// a collection has been read for minutes.
	for _, o := range []struct{ what, path string }{
		{"write timeline", f.timeline}, {"write operations", f.operations}, {"write HTML report", f.html}, {"write STIX bundle", f.stix.file},
	} {
		if err := checkOutput(o.path); err != nil {
			return fmt.Errorf("%s: %w", o.what, err)
		}
	}
	opts.Logger = env.logger()
	// Attribution ranks with the installed ATT&CK data when there is one.
	if kb, _, err := loadKB(); err == nil {
		opts.Attack = kb
	} else {
		opts.Logger.Warn("installed ATT&CK data not used", "err", err)
	}

	var prog source.Progress
	opts.Progress = &prog
	var pd *progressDisplay
	if !f.quiet && !f.noProgress && env.stderrIsTerminal() {
		pd = startProgress(env.Stderr, &prog)
	}
	opts.OnPhase = env.OnHuntPhase
	if f.store != "" {
		err := runHuntStore(ctx, env, f, opts, paths)
		pd.stop()
		return err
	}
	res, err := hunt.Run(ctx, paths, opts)
	pd.stop()
	if ctx.Err() != nil {
		return interrupted(ctx, &prog, false)
	}
	if err != nil {
		if errors.Is(err, hunt.ErrNoRules) {
			return fmt.Errorf("%w (%s)", err, rulesLine(res, opts))
		}
		return err
	}
	res.Version = env.Build.Version
	for _, x := range res.Rules.UnknownExcludes {
		fmt.Fprintf(env.Stderr, "spoor: warning: --exclude-rule %q names no rule loaded\n", x)
	}
	if !f.quiet {
		if n := res.Rules.Replaced; n > 0 {
			fmt.Fprintf(env.Stderr, "spoor: note: %s given with --rules replaced the built-in or SigmaHQ %s of the same id\n",
				plural(n, "rule"), pluralNoun(int64(n), "rule"))
		}
		if res.Rules.SigmaHQNote != "" {
			fmt.Fprintf(env.Stderr, "spoor: note: %s\n", res.Rules.SigmaHQNote)
		}
	}

	// The output files are written aside and put in place together, once
	// all are whole: an error or an interruption leaves every one as it was.
	var files pendingFiles
	defer files.discard()
	for _, o := range []struct {
		what, path string
		write      func(io.Writer) error
	}{
		{"write timeline", f.timeline, func(w io.Writer) error {
			format, _ := report.FormatOf(f.timeline) // checked by options
			return report.Timeline(w, res, format)
		}},
		{"write operations", f.operations, func(w io.Writer) error { return report.Operations(w, res) }},
		{"write HTML report", f.html, func(w io.Writer) error { return writeHTML(w, res) }},
		{"write STIX bundle", f.stix.file, func(w io.Writer) error {
			so, _ := f.stix.options() // checked by options
			return exportSTIX(w, resultOperations(res), so, ruleSources{!f.noBuiltin, opts.SigmaHQ, f.rules}, opts.Attack)
		}},
	} {
		if o.path == "" {
			continue
		}
		file, err := files.create(o.path)
		if err == nil {
			err = o.write(ctxWriter{ctx, file})
		}
		if ctx.Err() != nil {
			return interrupted(ctx, &prog, false)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", o.what, err)
		}
	}
	if err := files.commit(ctx); err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx, &prog, false)
		}
		return fmt.Errorf("write output: %w", err)
	}
	switch {
	case f.json:
		if err := report.JSON(env.Stdout, res); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
	case !f.quiet:
		color, _ := env.stdoutIsTerminal()
		color = color && os.Getenv("NO_COLOR") == ""
		if err := report.Terminal(env.Stdout, res, report.TerminalOptions{Color: color, Limit: f.limit}); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	if !f.quiet && f.json && env.stderrIsTerminal() {
		fmt.Fprintf(env.Stderr, "spoor: %s in %s; %s\n", plural64(res.Evidence.Events, "event"),
			time.Duration(res.ElapsedSeconds*float64(time.Second)).Round(time.Millisecond), rulesLine(res, opts))
	}

	// A path given that could not be read is named on stderr, whatever
	// the flags; and when no terminal report says why nothing was read,
	// stderr does.
	named := 0
	for _, fl := range res.Evidence.Failed {
		if fl.Named {
			named++
		}
		if fl.Named || ((f.quiet || f.json) && res.Evidence.Events == 0) {
			fmt.Fprintf(env.Stderr, "spoor: could not read %s: %s\n", fl.Name, fl.Error)
		}
	}
	switch {
	case res.Evidence.Logs == 0 && len(res.Evidence.Failed) == 0:
		return &exitError{ExitFailure, errors.New("no event logs found in the paths given")}
	case res.Evidence.Logs == 0:
		return &exitError{ExitFailure, errors.New("nothing could be read")}
	case res.Evidence.Events == 0 && (len(res.Evidence.Failed) > 0 || len(res.Evidence.Damaged) > 0):
		return &exitError{ExitFailure, errors.New("no events could be read")}
	}
	if f.failOn != "" {
		min := sigma.LevelRank(f.failOn)
		n := 0
		for i := range res.Detections {
			if sigma.LevelRank(res.Detections[i].Rule.Level) >= min {
				n++
			}
		}
		if n > 0 {
			return &exitError{ExitDetections, fmt.Errorf("%s of level %s or more severe (--fail-on)", plural(n, "detection"), strings.ToLower(f.failOn))}
		}
	}
	if named > 0 {
		return unreadablePaths(named)
	}
	return nil
}

// rulesLine says how many rules were used and skipped.
func rulesLine(res *result.Result, opts hunt.Options) string {
	if res == nil {
		return "no rule loaded"
	}
	s := fmt.Sprintf("%s loaded", plural(res.Rules.Loaded, "rule"))
	if res.Rules.Skipped > 0 {
		s += fmt.Sprintf(", %d skipped (run spoor rules lint for details)", res.Rules.Skipped)
	}
	if res.Rules.Filtered > 0 {
		s += fmt.Sprintf(", %d left out by filters", res.Rules.Filtered)
	}
	return s
}

// checkOutput reports an output path ("" is none) that cannot be created:
// a directory, or one whose folder does not exist.
func checkOutput(path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("open %s: is a directory", path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("open %s: folder %s: %w", path, dir, errors.Unwrap(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("open %s: %s is not a folder", path, dir)
	}
	return nil
}
