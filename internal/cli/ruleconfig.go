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

// pipelineFlagUsage describes --pipeline, shared by the commands that
// compile rules.
const pipelineFlagUsage = "extend the built-in logsource pipeline with the YAML `FILE` (format: internal/detect/pipeline/windows.yml); a route for a logsource replaces the built-in one, extend: true adds sources to it (repeatable, applied in order)"

// addPipelineFlag adds --pipeline to a command's flags.
func addPipelineFlag(fl *pflag.FlagSet, paths *[]string) {
	fl.StringArrayVar(paths, "pipeline", nil, pipelineFlagUsage)
}

// readPipeline returns the built-in pipeline extended by the --pipeline
// files, in order.
func readPipeline(paths []string) (*detect.Pipeline, error) {
	p := detect.DefaultPipeline()
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--pipeline: %w", err)
		}
		if p, err = p.Extend(data, path); err != nil {
			return nil, fmt.Errorf("--pipeline: %w", err)
		}
	}
	return p, nil
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
