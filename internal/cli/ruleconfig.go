package cli

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/spoor-hunt/spoor/internal/detect"
)

// placeholdersFlagUsage describes --placeholders, shared by the commands
// that compile rules.
const placeholdersFlagUsage = "values of the rules' %placeholders% (|expand) from the YAML `FILE` (name: [values]); rules using a placeholder without a value are not compiled"

// addPlaceholdersFlag adds --placeholders to a command's flags.
func addPlaceholdersFlag(fl *pflag.FlagSet, path *string) {
	fl.StringVar(path, "placeholders", "", placeholdersFlagUsage)
}

// readPlaceholders loads the --placeholders file; "" gives none.
func readPlaceholders(path string) (map[string][]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--placeholders: %w", err)
	}
	vals, err := detect.LoadPlaceholders(data, path)
	if err != nil {
		return nil, fmt.Errorf("--placeholders: %w", err)
	}
	return vals, nil
}
