package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/rulepkg"
)

// Build describes the binary. Version and Commit are set at link time by
// main (go build -ldflags "-X main.version=v1.2.3 -X main.commit=abc123");
// what is missing is taken from the build information Go records.
type Build struct {
	// Version is the release, "dev" for a development build.
	Version string
	// Commit is the VCS revision the binary was built from, when known.
	Commit string
	// Date is when that revision was committed, when known.
	Date string
}

// resolve fills what is missing from runtime/debug.ReadBuildInfo.
func (b Build) resolve() Build {
	if b.Version == "" {
		b.Version = "dev"
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version // go install module@version
	}
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Commit == "" {
				b.Commit = s.Value
			}
		case "vcs.time":
			if b.Date == "" {
				b.Date = s.Value
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && b.Commit != "" {
		b.Commit += "-dirty"
	}
	return b
}

func newVersion(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := env.Build.resolve()
			commit := b.Commit
			if commit == "" {
				commit = "unknown"
			}
			if b.Date != "" {
				commit += " (" + b.Date + ")"
			}
			_, err := fmt.Fprintf(env.Stdout, "spoor %s\ncommit: %s\ngo: %s %s/%s\n",
				b.Version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if err != nil {
				return err
			}
			pkg, err := rulepkg.Open()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(env.Stdout, "%s\n", sigmaHQLine(pkg))
			return err
		},
	}
}
