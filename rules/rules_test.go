package rules

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// This file checks the built-in rule set until the rule-test runner
// (internal/ruletest, spoor rules test) exists: every rule loads cleanly and
// carries the metadata we promise, every rule has a test file in the format
// of README.md, the CuckooBees chain is covered, and every test case gives
// exactly its expected detections through the real engine and the default
// logsource pipeline.

// loaded is one rule file.
type loaded struct {
	path string
	rule *sigma.Rule
}

// testFile is a rule test file (see README.md).
type testFile struct {
	Rules []string   `yaml:"rules"`
	Cases []testCase `yaml:"cases"`
}

type testCase struct {
	Name       string    `yaml:"name"`
	Event      yaml.Node `yaml:"event"`
	Detections []string  `yaml:"detections"`
}

func files(t *testing.T) (rules, tests []string) {
	t.Helper()
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".yml") {
			return nil
		}
		if IsTest(p) {
			tests = append(tests, p)
		} else {
			rules = append(rules, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rules, tests
}

// loadRule parses one rule file and fails the test on any error or warning.
func loadRule(t *testing.T, p string) *sigma.Rule {
	t.Helper()
	data, err := FS.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c := sigma.Parse(data, p)
	for _, e := range c.Errors {
		t.Errorf("%s: %v (warning %v)", p, e, e.Warning)
	}
	if len(c.Rules) != 1 || len(c.Correlations) != 0 || len(c.Filters) != 0 {
		t.Fatalf("%s: got %d rules, %d correlations, %d filters, want exactly one rule",
			p, len(c.Rules), len(c.Correlations), len(c.Filters))
	}
	return c.Rules[0]
}

func loadAll(t *testing.T) map[string]*loaded {
	t.Helper()
	rs, _ := files(t)
	m := map[string]*loaded{}
	for _, p := range rs {
		m[p] = &loaded{path: p, rule: loadRule(t, p)}
	}
	return m
}

var (
	uuidV4     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	techTag    = regexp.MustCompile(`^attack\.t\d{4}(\.\d{3})?$`)
	tacticTags = map[string]bool{
		"attack.reconnaissance": true, "attack.resource-development": true,
		"attack.initial-access": true, "attack.execution": true, "attack.persistence": true,
		"attack.privilege-escalation": true, "attack.defense-evasion": true,
		"attack.credential-access": true, "attack.discovery": true,
		"attack.lateral-movement": true, "attack.collection": true,
		"attack.command-and-control": true, "attack.exfiltration": true, "attack.impact": true,
	}
	fileName = regexp.MustCompile(`^[a-z0-9_]{10,70}\.yml$`)
)

func TestRuleMetadata(t *testing.T) {
	all := loadAll(t)
	if len(all) < 45 {
		t.Errorf("got %d rules, want at least 45", len(all))
	}
	ids := map[string]string{}
	for p, l := range all {
		r := l.rule
		if !uuidV4.MatchString(r.ID) {
			t.Errorf("%s: id %q is not a lower-case UUIDv4", p, r.ID)
		}
		if other, dup := ids[r.ID]; dup {
			t.Errorf("%s: id %s already used by %s", p, r.ID, other)
		}
		ids[r.ID] = p
		if r.Title == "" || r.Description == "" {
			t.Errorf("%s: title and description are required", p)
		}
		if !slices.Contains([]string{"experimental", "test", "stable"}, r.Status) {
			t.Errorf("%s: status %q, want experimental, test or stable", p, r.Status)
		}
		if !slices.Contains([]string{"informational", "low", "medium", "high", "critical"}, r.Level) {
			t.Errorf("%s: level %q", p, r.Level)
		}
		if r.Author != "spoor project" || r.Date != "2026-11-25" {
			t.Errorf("%s: author %q date %q", p, r.Author, r.Date)
		}
		if len(r.References) == 0 || len(r.FalsePositives) == 0 {
			t.Errorf("%s: references and falsepositives are required", p)
		}
		var tech, tactic bool
		for _, tag := range r.Tags {
			switch {
			case techTag.MatchString(tag):
				tech = true
			case tacticTags[tag]:
				tactic = true
			default:
				t.Errorf("%s: tag %q is neither an ATT&CK tactic nor a technique", p, tag)
			}
		}
		if !tech || !tactic {
			t.Errorf("%s: want at least one attack.<tactic> and one attack.tNNNN tag, got %v", p, r.Tags)
		}
		if r.Logsource.Product != "windows" {
			t.Errorf("%s: logsource product %q", p, r.Logsource.Product)
		}
		if !fileName.MatchString(path.Base(p)) {
			t.Errorf("%s: file name must be 10-70 lower-case letters, digits or _ plus .yml", p)
		}
	}
}

// readTest parses a test file.
func readTest(t *testing.T, p string) *testFile {
	t.Helper()
	data, err := FS.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var tf testFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return &tf
}

func TestEveryRuleHasTests(t *testing.T) {
	all := loadAll(t)
	_, tests := files(t)
	for p := range all {
		tp := strings.TrimSuffix(p, ".yml") + TestSuffix
		if !slices.Contains(tests, tp) {
			t.Errorf("%s: no test file %s", p, tp)
		}
	}
	for _, tp := range tests {
		tf := readTest(t, tp)
		own := strings.TrimSuffix(path.Base(tp), TestSuffix) + ".yml"
		if !slices.Contains(tf.Rules, own) {
			t.Errorf("%s: does not test its own rule %s", tp, own)
		}
		ids := map[string]bool{}
		processCreation := false
		for _, rf := range tf.Rules {
			l, ok := all[path.Join(path.Dir(tp), rf)]
			if !ok {
				t.Errorf("%s: rule file %s not found", tp, rf)
				continue
			}
			ids[l.rule.ID] = true
			processCreation = processCreation || l.rule.Logsource.Category == "process_creation"
		}
		var pos, neg int
		security4688 := false
		for _, c := range tf.Cases {
			if c.Name == "" {
				t.Errorf("%s: a case has no name", tp)
			}
			if c.Event.Kind != yaml.MappingNode {
				t.Errorf("%s: case %q: event is not a map", tp, c.Name)
			}
			for _, id := range c.Detections {
				if !ids[id] {
					t.Errorf("%s: case %q: %s is not the id of a rule under test", tp, c.Name, id)
				}
			}
			if len(c.Detections) == 0 {
				neg++
				continue
			}
			pos++
			ev := toEvent(t, &c.Event)
			if ev.Lookup("Channel").Str() == "Security" && ev.Lookup("EventID").Int() == 4688 {
				security4688 = true
			}
		}
		if pos < 2 || neg < 2 {
			t.Errorf("%s: %d positive and %d negative cases, want at least 2 of each", tp, pos, neg)
		}
		if processCreation && !security4688 {
			t.Errorf("%s: process_creation rules need a positive case in the Security 4688 shape", tp)
		}
	}
}

// toEvent turns a test case's event map into an event with typed values:
// YAML integers become Int, floats Float, booleans Bool, timestamps Time,
// null Null and everything else (quoted or not) String; a list becomes a
// List.
func toEvent(t *testing.T, n *yaml.Node) *event.Event {
	t.Helper()
	ev := &event.Event{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		ev.Add(n.Content[i].Value, toValue(t, n.Content[i+1]))
	}
	return ev
}

func toValue(t *testing.T, n *yaml.Node) event.Value {
	t.Helper()
	if n.Kind == yaml.SequenceNode {
		vs := make([]event.Value, len(n.Content))
		for i, c := range n.Content {
			vs[i] = toValue(t, c)
		}
		return event.ListValue(vs)
	}
	if n.Kind != yaml.ScalarNode {
		t.Fatalf("line %d: event values are scalars or lists", n.Line)
	}
	switch n.ShortTag() {
	case "!!int":
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			t.Fatalf("line %d: %v", n.Line, err)
		}
		return event.IntValue(i)
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			t.Fatalf("line %d: %v", n.Line, err)
		}
		return event.FloatValue(f)
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			t.Fatalf("line %d: %v", n.Line, err)
		}
		return event.BoolValue(b)
	case "!!null":
		return event.Value{}
	case "!!timestamp":
		var tm time.Time
		if err := n.Decode(&tm); err != nil {
			t.Fatalf("line %d: %v", n.Line, err)
		}
		return event.TimeValue(tm)
	}
	return event.StringValue(n.Value)
}

// TestRuleCases runs every case of every test file through the real engine
// with the default pipeline: the rules listed in the test file must give
// exactly the expected detections.
func TestRuleCases(t *testing.T) {
	all := loadAll(t)
	_, tests := files(t)
	for _, tp := range tests {
		t.Run(strings.TrimSuffix(path.Base(tp), TestSuffix), func(t *testing.T) {
			tf := readTest(t, tp)
			var rs []*sigma.Rule
			for _, rf := range tf.Rules {
				if l, ok := all[path.Join(path.Dir(tp), rf)]; ok {
					rs = append(rs, l.rule)
				}
			}
			eng, errs := detect.Compile(rs, nil, detect.Options{})
			for _, err := range errs {
				t.Errorf("compile: %v", err)
			}
			m := eng.NewMatcher()
			for _, c := range tf.Cases {
				ev := toEvent(t, &c.Event)
				var got []string
				for _, d := range m.Match(ev, nil) {
					got = append(got, d.Rule.Sigma.ID)
				}
				want := slices.Clone(c.Detections)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("case %q: got %v, want %v", c.Name, fmtIDs(got, all), fmtIDs(want, all))
				}
			}
		})
	}
}

func fmtIDs(ids []string, all map[string]*loaded) string {
	var s []string
	for _, id := range ids {
		name := id
		for p, l := range all {
			if l.rule.ID == id {
				name = path.Base(p)
			}
		}
		s = append(s, name)
	}
	return fmt.Sprint(s)
}
