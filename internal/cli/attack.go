package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/attack"
)

// newAttack returns `spoor attack` and its subcommands.
func newAttack(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "attack",
		Short: "Look up MITRE ATT&CK groups, techniques and software",
		Long: `The attack commands look up the MITRE ATT&CK Enterprise knowledge base built
into spoor: tactics, techniques and sub-techniques, groups with their aliases,
techniques and software, software with its techniques.

A newer ATT&CK release can be installed with "spoor attack update --from
enterprise-attack.json"; it then takes precedence over the built-in one.
It is kept under $SPOOR_CACHE_DIR/attack when that is set, otherwise
spoor/attack in the user's cache folder ($XDG_CACHE_HOME or the system's).

ATT&CK® is © The MITRE Corporation, reproduced and distributed with its
permission; its terms of use come with spoor's source
(internal/attack/data/LICENSE.txt).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newAttackGroup(env), newAttackTechnique(env), newAttackSearch(env), newAttackUpdate(env))
	return cmd
}

// loadKB loads the installed ATT&CK knowledge base, or the embedded one.
func loadKB() (*attack.KB, attack.Source, error) {
	dir, err := attack.CacheDir()
	if err != nil {
		dir = "" // no cache folder: the embedded data
	}
	return attack.LoadDefault(dir)
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newAttackUpdate(env Env) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "update --from FILE",
		Short: "Install a newer ATT&CK release from a STIX bundle",
		Long: `Update reads an ATT&CK STIX 2.0 or 2.1 bundle (enterprise-attack.json from
github.com/mitre/cti or github.com/mitre-attack/attack-stix-data), converts it
to spoor's compact form and installs it in the cache folder, where every
attack and attribute command then prefers it to the built-in release.
Nothing is downloaded: fetch the bundle yourself.

Exit status: 0 when installed, 1 when the file is not a usable bundle or
cannot be written, 2 for a bad command line.`,
		Example: `  spoor attack update --from enterprise-attack-19.0.json`,
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if from == "" {
				return &usageError{errors.New("--from FILE is required")}
			}
			f, err := os.Open(from)
			if err != nil {
				return err
			}
			defer f.Close()
			kb, err := attack.LoadBundle(f)
			if err != nil {
				return fmt.Errorf("%s: %w", from, err)
			}
			dir, err := attack.CacheDir()
			if err != nil {
				return err
			}
			path, err := attack.Install(kb, dir)
			if err != nil {
				return fmt.Errorf("install: %w", err)
			}
			fmt.Fprintf(env.Stdout, "installed %s (modified %s): %d tactics, %d techniques, %d groups, %d software, %d campaigns, %d revoked\n",
				kb.Domain, kb.Modified, len(kb.Tactics), len(kb.Techniques), len(kb.Groups), len(kb.Software), len(kb.Campaigns), len(kb.Revoked))
			fmt.Fprintf(env.Stdout, "at %s; it now takes precedence over the built-in release (remove the file to go back)\n", path)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the STIX bundle `FILE` to install")
	return cmd
}

//END
