package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/ruletest"
)

// rulesTestFlags are the flags of `spoor rules test`.
type rulesTestFlags struct {
	workers      int
	placeholders string
	pipelines    []string
}

func newRulesTest(env Env) *cobra.Command {
	var f rulesTestFlags
	cmd := &cobra.Command{
		Use:   "test [PATH...]",
		Short: "Run the tests of rules through the detection engine",
		Long: `Test runs the tests of Sigma rules with the full engine: each rule is compiled
with the default logsource pipeline and events are matched as a hunt would.
Without PATH it tests the built-in rules. A PATH is a rule file (its
regression test, and the test file beside it), a test file, or a folder
walked for both. Two kinds of test are run:

  Regression tests (SigmaHQ): a rule's regression_tests_path key names an
  info.yml relative to the Sigma repository root, the folder above the rule
  that holds regression_data/. Each entry of its regression_tests_info
  names an event file (path) and match_count: the test passes when the rule,
  compiled alone, matches at least match_count of the file's events (at
  least one when match_count is absent). Other rules are not run. A test
  whose info.yml or event file is missing is skipped.

  Test files (*.test.yml, spoor's format): rules, the rule files under test
  relative to the test file; cases, each with a name, an event (field names
  as rules see them; YAML types kept: integers, booleans, timestamps, lists;
  TimeCreated read as a time) and detections, the ids of the rules that
  must fire on it: exactly those, [] for none.

Each failing test is printed on stdout with the reason; -v prints the
passing and skipped ones too. A summary goes to stderr.

Exit status:
  0  every test passed (skipped ones allowed)
  1  a test failed, no test was found, or a PATH could not be read
  2  bad command line`,
		Example: `  # The built-in rules' tests
  spoor rules test

  # SigmaHQ's regression tests, in a clone of the Sigma repository
  spoor rules test ./sigma

  # One rule and its test file, listing every case
  spoor rules test -v rules/windows/process_creation/proc_creation_win_certutil_decode.yml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.workers < 1 {
				return &usageError{fmt.Errorf("--workers must be at least 1, not %d", f.workers)}
			}
			verbose, _ := cmd.Flags().GetBool("verbose")
			return runRulesTest(cmd, env, f, verbose, args)
		},
	}
	cmd.Flags().IntVar(&f.workers, "workers", defaultWorkers(), "tests run in parallel")
	addPlaceholdersFlag(cmd.Flags(), &f.placeholders)
	addPipelineFlag(cmd.Flags(), &f.pipelines)
	return cmd
}

func runRulesTest(cmd *cobra.Command, env Env, f rulesTestFlags, verbose bool, paths []string) error {
	vals, err := readPlaceholders(f.placeholders)
	if err != nil {
		return err
	}
	pipeline, err := readPipeline(f.pipelines)
	if err != nil {
		return err
	}
	set, loadErr := loadRules(paths)
	if loadErr != nil {
		return loadErr
	}
	rep, err := ruletest.Run(cmd.Context(), set, ruletest.Options{Router: pipeline, Workers: f.workers, Placeholders: vals})
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(env.Stdout)
	for i := range rep.Results {
		if r := &rep.Results[i]; verbose || r.Status == ruletest.Failed {
			writeResult(bw, r)
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	passed, failed, skipped := rep.Count(ruletest.Passed), rep.Count(ruletest.Failed), rep.Count(ruletest.Skipped)
	summary := fmt.Sprintf("%s: %d passed, %d failed, %d skipped", plural(len(rep.Results), "test"), passed, failed, skipped)
	switch {
	case len(rep.Results) == 0:
		return &exitError{ExitFailure, errors.New("no tests found in the paths given (rules with regression_tests_path, *.test.yml files)")}
	case failed > 0:
		return &exitError{ExitFailure, errors.New(summary)}
	}
	fmt.Fprintf(env.Stderr, "spoor: %s\n", summary)
	return nil
}

// writeResult writes one test result as one line:
//
//	FAIL file:line: case "name": reason
//	FAIL file:line: rule ID (title): regression "name" data.evtx: reason
func writeResult(w io.Writer, r *ruletest.Result) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Status, r.File)
	if r.Line > 0 {
		fmt.Fprintf(&b, ":%d", r.Line)
	}
	switch r.Kind {
	case ruletest.CaseTest:
		if r.Name != "" {
			fmt.Fprintf(&b, ": case %q", r.Name)
		}
	case ruletest.RegressionTest:
		fmt.Fprintf(&b, ": rule %s (%s): regression", r.RuleID, r.RuleTitle)
		if r.Name != "" {
			fmt.Fprintf(&b, " %q", r.Name)
		}
		if r.Status == ruletest.Passed {
			fmt.Fprintf(&b, ": %d matches (want ≥%d) of %d events", r.Matches, r.WantMatches, r.Events)
		}
	}
	if r.Reason != "" {
		b.WriteString(": " + r.Reason)
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// defaultWorkers is the default of --workers: one test per CPU.
func defaultWorkers() int { return runtime.NumCPU() }
