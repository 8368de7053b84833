package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/ruletest"
)

// rulesLintFlags are the flags of `spoor rules lint`.
type rulesLintFlags struct {
	strict       bool
	quiet        bool
	placeholders string
	pipelines    []string
}

func newRulesLint(env Env) *cobra.Command {
	var f rulesLintFlags
	cmd := &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Check rules: load and compile them, report every problem",
		Long: `Lint loads every rule, correlation rule and filter under PATH (a rule file,
or a folder walked for *.yml and *.yaml, test files *.test.yml left out;
without PATH, the built-in rules) and compiles them with the detection engine
and the default logsource pipeline, as a hunt would. Every problem is printed
on stdout as

  file:line:col: severity: key: message

where severity is "error" (the rule cannot run: malformed YAML, an unknown
modifier, a bad regular expression, a condition naming a missing search, a
placeholder without a configured value, a duplicate id) or "warning" (the
rule runs but something is off: a key outside the Sigma specification, a
logsource no pipeline route serves so that the rule never meets an event, a
correlation or filter naming a rule that is not loaded). A summary goes to
stderr.

Exit status:
  0  no errors (warnings allowed, unless --strict)
  1  errors were found (or warnings, with --strict), or a PATH could not
     be read
  2  bad command line`,
		Example: `  # The built-in rules
  spoor rules lint

  # Your own rules, warnings failing the check (for CI)
  spoor rules lint --strict ./my-rules/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRulesLint(env, f, args)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.strict, "strict", false, "count warnings as errors for the exit status")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print errors only (no warnings, no summary)")
	addPlaceholdersFlag(fl, &f.placeholders)
	addPipelineFlag(fl, &f.pipelines)
	return cmd
}

func runRulesLint(env Env, f rulesLintFlags, paths []string) error {
	vals, err := readPlaceholders(f.placeholders)
	if err != nil {
		return err
	}
	pipeline, err := readPipeline(f.pipelines)
	if err != nil {
		return err
	}
	set, loadErr := loadRules(paths)
	problems := ruletest.Lint(set, ruletest.Options{Router: pipeline, Placeholders: vals})
	var errs, warns int
	bw := bufio.NewWriter(env.Stdout)
	for _, p := range problems {
		if p.Severity == ruletest.Error {
			errs++
		} else {
			warns++
			if f.quiet {
				continue
			}
		}
		fmt.Fprintln(bw, p.String())
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if loadErr != nil {
		return loadErr
	}
	summary := lintSummary(set, errs, warns)
	if errs > 0 || f.strict && warns > 0 {
		return &exitError{ExitFailure, errors.New(summary)}
	}
	if !f.quiet {
		fmt.Fprintf(env.Stderr, "spoor: %s\n", summary)
	}
	return nil
}

// lintSummary says what was linted and what was found:
// "3 files, 5 rules, 1 correlation: 2 errors, 1 warning".
func lintSummary(s *ruleset.Set, errs, warns int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s", plural(len(s.Files), "file"), plural(len(s.Rules), "rule"))
	if n := len(s.Correlations); n > 0 {
		fmt.Fprintf(&b, ", %s", plural(n, "correlation"))
	}
	if n := len(s.Filters); n > 0 {
		fmt.Fprintf(&b, ", %s", plural(n, "filter"))
	}
	if n := loadFailures(s); n > 0 {
		fmt.Fprintf(&b, " (%d not loaded)", n)
	}
	fmt.Fprintf(&b, ": %s, %s", plural(errs, "error"), plural(warns, "warning"))
	return b.String()
}
