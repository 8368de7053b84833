package ruletest

import (
	"slices"
	"testing"
	"testing/fstest"

	"github.com/spoor-hunt/spoor/internal/ruleset"
)

func TestLintSet(t *testing.T) {
	rule := func(id, extra string) string {
		return "title: T\nid: " + id + "\nlogsource:\n    category: process_creation\n    product: windows\n" +
			"detection:\n    sel:\n        Image|endswith: '\\x.exe'\n    condition: sel\n" + extra
	}
	fsys := fstest.MapFS{
		"a/one.yml":      {Data: []byte(rule("aaaaaaaa-0000-4000-8000-000000000001", ""))},
		"a/one.test.yml": {Data: []byte("not: a rule\n")},
		"b/two.yml":      {Data: []byte(rule("aaaaaaaa-0000-4000-8000-000000000001", "level: high\n"))},
		"b/noid.yml":     {Data: []byte("title: No Id\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n        Image: x\n    condition: sel\n")},
		"c/corr.yml": {Data: []byte("title: C\nid: cccccccc-0000-4000-8000-000000000003\ncorrelation:\n    type: event_count\n" +
			"    rules:\n        - aaaaaaaa-0000-4000-8000-000000000001\n        - missing-rule\n    timespan: 5m\n    group-by: [User]\n    condition:\n        gte: 3\n")},
	}
	set, err := ruleset.LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := set.Tests, []string{"a/one.test.yml"}; !slices.Equal(got, want) {
		t.Errorf("tests: got %v, want %v", got, want)
	}
	if got, want := set.Files, []string{"a/one.yml", "b/noid.yml", "b/two.yml", "c/corr.yml"}; !slices.Equal(got, want) {
		t.Errorf("files: got %v, want %v", got, want)
	}
	var got []string
	for _, p := range Lint(set, Options{}) {
		got = append(got, p.String())
	}
	want := []string{
		"b/noid.yml:1:1: warning: id: missing id (tests, filters and correlations refer to rules by id)",
		"b/two.yml:2:1: error: id: duplicate id aaaaaaaa-0000-4000-8000-000000000001 (also a/one.yml:1)",
		`c/corr.yml:5:5: warning: correlation.rules: rule "missing-rule" is not among the rules loaded`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\ngot  %q\nwant %q", got, want)
	}
}

// TestLintCorrelationCycle checks that lint reports the correlations the
// hunt rejects (correlate.Compile's check), located at their rules key, and
// not again the unknown references crossChecks warns about.
func TestLintCorrelationCycle(t *testing.T) {
	corr := func(name, refs string) string {
		return "title: " + name + "\nname: " + name + "\ncorrelation:\n    type: event_count\n    rules: [" + refs + "]\n" +
			"    group-by: [User]\n    timespan: 5m\n    condition:\n        gte: 3\n"
	}
	fsys := fstest.MapFS{
		"self.yml": {Data: []byte("id: 00000000-0000-4000-8000-000000000001\n" + corr("self", "self"))},
		"ab.yml": {Data: []byte("id: 00000000-0000-4000-8000-000000000002\n" + corr("a", "b") + "---\n" +
			"id: 00000000-0000-4000-8000-000000000003\n" + corr("b", "a"))},
		"gone.yml": {Data: []byte("id: 00000000-0000-4000-8000-000000000004\n" + corr("gone", "missing") + "---\n" +
			"id: 00000000-0000-4000-8000-000000000005\n" + corr("on_gone", "gone"))},
	}
	got := lintFS(t, fsys)
	want := []string{
		"ab.yml:6:5: error: correlation.rules: correlations reference each other in a cycle: a -> b -> a",
		"ab.yml:17:5: error: correlation.rules: it references correlation a, which cannot run",
		`gone.yml:6:5: warning: correlation.rules: rule "missing" is not among the rules loaded`,
		"self.yml:6:5: error: correlation.rules: correlations reference each other in a cycle: self -> self",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\ngot  %q\nwant %q", got, want)
	}
}

// lintFS loads the rules of fsys and returns Lint's problems as strings.
func lintFS(t *testing.T, fsys fstest.MapFS) []string {
	t.Helper()
	set, err := ruleset.LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range Lint(set, Options{}) {
		got = append(got, p.String())
	}
	return got
}

func TestLintLocatesCompileErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"r.yml": {Data: []byte(`title: First
id: 11111111-0000-4000-8000-000000000001
logsource: {product: windows, category: process_creation}
detection:
    sel:
        Image: x
    condition: sel
---
title: Second, With a Dotted Field
id: 11111111-0000-4000-8000-000000000002
logsource: {product: windows, service: security}
detection:
    sel:
        - EventID: 4688
        - winlog.event_data.User|expand: '%Admins%'
    condition: sel
`)},
	}
	got := lintFS(t, fsys)
	want := []string{"r.yml:15:11: error: detection.sel.winlog.event_data.User|expand: placeholder without a configured value: %Admins%"}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\ngot  %q\nwant %q", got, want)
	}
	// With a value for the placeholder the rule compiles.
	set, err := ruleset.LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if ps := Lint(set, Options{Placeholders: map[string][]string{"Admins": {"root"}}}); len(ps) != 0 {
		t.Errorf("with the placeholder set: got %v, want no problems", ps)
	}
}
