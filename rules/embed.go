// Package rules holds spoor's built-in Sigma rule set, embedded in the binary.
//
// FS holds every YAML file under this folder, with paths relative to it
// (for example "windows/process_creation/proc_creation_win_webshell_spawns_shell.yml").
// Two kinds of file live side by side:
//
//   - rule files (*.yml but not *.test.yml): one Sigma detection rule per
//     file, specification v2.1, loaded with sigma.Parse;
//   - test files (*.test.yml): the tests of the rule file with the same base
//     name, in spoor's rule-test format (see README.md): the rules under test
//     and cases, each one event and the exact rule ids that must fire on it.
//
// Callers that load rules must skip the test files (IsTest).
package rules

import (
	"embed"
	"strings"
)

// FS is the embedded rule set: rule files and their test files.
//
//go:embed windows/*/*.yml windows/*/*/*.yml
var FS embed.FS

// TestSuffix ends the name of every rule test file.
const TestSuffix = ".test.yml"

// IsTest reports whether the file at path is a rule test file rather than a
// rule file.
func IsTest(path string) bool { return strings.HasSuffix(path, TestSuffix) }
