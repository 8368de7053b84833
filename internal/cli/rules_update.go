package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/rulepkg"
)

// rulesUpdateFlags are the flags of `spoor rules update`.
type rulesUpdateFlags struct {
	from  string
	url   string
	force bool
}

func newRulesUpdate(env Env) *cobra.Command {
	var f rulesUpdateFlags
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Download and install a newer SigmaHQ rule package for spoor hunt",
		Long: `Update installs the SigmaHQ rule package, which "spoor hunt" then uses
instead of the SigmaHQ rules embedded in spoor when it is newer (by the
date of its newest rule): by default the latest release's sigma_all_rules.zip, downloaded from
GitHub. --url takes another release asset (sigma_core.zip, sigma_core+.zip,
sigma_emerging_threats_addon.zip...) or a source archive of the repository
(.zip or .tar.gz, whose rules* folders are installed); --from installs an
archive already on disk, for machines without internet.

The package goes to spoor/sigmahq in the user's cache directory
($XDG_CACHE_HOME, else ~/.cache on Linux, ~/Library/Caches on macOS,
%LocalAppData% on Windows), or to sigmahq in $SPOOR_CACHE_DIR when that is
set. Before it replaces
the installed one, the archive is checked: a well-formed zip or tar.gz
without member names leading outside it, within size limits, holding at
least 100 rules that spoor loads with fewer than 5% failing. The switch is
atomic: a failed update leaves the previous rules in place.

The version installed is the package's version.txt, else the release tag in
the URL or file name, else the start of the archive's SHA-256. An archive
identical to the one installed is not installed again unless --force.

Exit status: 0 when the rules are installed or up to date, 1 when the
update failed (the installed rules are unchanged), 2 for a bad command line.`,
		Example: `  # Install or update the latest SigmaHQ release
  spoor rules update

  # Offline: download the asset on a machine with internet...
  curl -LO https://github.com/SigmaHQ/sigma/releases/latest/download/sigma_all_rules.zip
  # ...copy it over, and install it
  spoor rules update --from sigma_all_rules.zip

  # A given release, or the core rules only
  spoor rules update --url https://github.com/SigmaHQ/sigma/archive/refs/tags/r2024-03-26.tar.gz
  spoor rules update --url https://github.com/SigmaHQ/sigma/releases/latest/download/sigma_core.zip

  # Then hunt with them
  spoor hunt C:\Triage\Logs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.from != "" && cmd.Flags().Changed("url") {
				return &usageError{errors.New("--from and --url cannot be used together")}
			}
			return runRulesUpdate(cmd, env, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "install the archive `FILE` instead of downloading")
	fl.StringVar(&f.url, "url", rulepkg.DefaultURL, "download the archive from `URL`")
	fl.BoolVar(&f.force, "force", false, "install even when the archive is the one installed")
	return cmd
}

func runRulesUpdate(cmd *cobra.Command, env Env, f rulesUpdateFlags) error {
	dir, err := rulepkg.Dir()
	if err != nil {
		return err
	}
	src := rulepkg.Source{URL: f.url}
	if f.from != "" {
		src = rulepkg.Source{File: f.from}
	}
	opts := rulepkg.Options{
		Dir:       dir,
		UserAgent: "spoor/" + env.Build.resolve().Version,
		Force:     f.force,
	}
	var bar *downloadBar
	if src.URL != "" && env.stderrIsTerminal() {
		bar = &downloadBar{w: env.Stderr}
		opts.Progress = bar.update
	}
	prev, _ := rulepkg.InstalledIn(dir)
	info, err := rulepkg.Install(cmd.Context(), src, opts)
	bar.clear()
	switch {
	case errors.Is(err, rulepkg.ErrUpToDate):
		_, err = fmt.Fprintf(env.Stdout, "SigmaHQ rules %s are up to date (%s in %s); --force reinstalls them\n",
			info.Version, ruleCount(info), displayPath(dir))
		return err
	case err != nil:
		state := "no rules were installed"
		if prev != nil {
			state = fmt.Sprintf("the installed rules (%s) are unchanged", prev.Version)
		}
		return fmt.Errorf("update SigmaHQ rules from %s (%s): %w", src, state, err)
	}
	msg := fmt.Sprintf("installed SigmaHQ rules %s (%s) into %s", info.Version, ruleCount(info), displayPath(dir))
	if prev != nil && prev.Version != info.Version {
		msg += ", replacing " + prev.Version
	}
	_, err = fmt.Fprintln(env.Stdout, msg)
	return err
}

// ruleCount says how many rules of info load and fail.
func ruleCount(info *rulepkg.Info) string {
	s := thousands(info.Rules) + " rules"
	if info.Failed > 0 {
		s += ", " + thousands(info.Failed) + " failed to load"
	}
	return s
}

// thousands renders n with commas between groups of three digits.
func thousands(n int) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// displayPath writes a path under the home directory with "~".
func displayPath(p string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return p
	}
	if rel, err := filepath.Rel(home, p); err == nil && filepath.IsLocal(rel) {
		return filepath.Join("~", rel)
	}
	return p
}

// downloadBar shows the bytes downloaded on one terminal line, at most ten
// times a second. A nil *downloadBar does nothing.
type downloadBar struct {
	w     io.Writer
	last  time.Time
	shown bool
}

func (d *downloadBar) update(done, total int64) {
	if now := time.Now(); now.Sub(d.last) >= 100*time.Millisecond || done == total {
		d.last = now
		d.shown = true
		if total > 0 {
			fmt.Fprintf(d.w, "\rdownloading %s / %s MB (%d%%) ", mb(done), mb(total), done*100/total)
		} else {
			fmt.Fprintf(d.w, "\rdownloading %s MB ", mb(done))
		}
	}
}

// clear erases the line when something was shown.
func (d *downloadBar) clear() {
	if d != nil && d.shown {
		fmt.Fprint(d.w, "\r\033[K")
	}
}
