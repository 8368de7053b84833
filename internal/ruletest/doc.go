// Package ruletest checks Sigma rules the way a rule author needs: it lints
// a rule set (a ruleset.Set) with the detection engine's compiler, and runs
// its tests.
//
// Two kinds of test are run, with the full engine (rules compiled with the
// logsource pipeline, events matched by a detect.Matcher):
//
//   - SigmaHQ regression tests: a rule's regression_tests_path key names an
//     info.yml under the Sigma repository's regression_data folder, which
//     lists EVTX files and how many of their events the rule must match;
//   - test files (*.test.yml) next to the rules: events written in YAML with
//     the exact set of rule ids each must fire (see ParseTestFile).
//
// Results are plain data (Report, Problem) for the command line and for the
// built-in rules' own Go test to render or assert.
package ruletest
