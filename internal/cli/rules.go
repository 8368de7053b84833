package cli

import (
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/rules"
)

// newRules returns `spoor rules` and its subcommands.
func newRules(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, lint and test Sigma rules",
		Long: `The rules commands work on Sigma rules: the built-in set embedded in spoor
(when no PATH is given) or rule files and folders of your own, such as a
clone of the SigmaHQ repository.`,
		Args: cobra.NoArgs, // an unknown subcommand is a usage error
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newRulesList(env), newRulesLint(env), newRulesTest(env), newRulesUpdate(env))
	return cmd
}

// loadRules loads the rules under paths, or the built-in set when there are
// none. The error joins the paths that could not be read.
func loadRules(paths []string) (*ruleset.Set, error) {
	if len(paths) == 0 {
		return ruleset.LoadFS(rules.FS)
	}
	return ruleset.Load(paths)
}

// stdoutIsTerminal reports whether Stdout is an interactive terminal, and
// its width in columns (0 when unknown).
func (e *Env) stdoutIsTerminal() (bool, int) {
	f, ok := e.Stdout.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return true, 0
	}
	return true, w
}
