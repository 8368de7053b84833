package ruletest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/spoor-hunt/spoor/internal/event"
)

// TestFile is a rule test file (*.test.yml), as rules/README.md specifies;
// the tests of foo.yml are in foo.test.yml, whose rules must list foo.yml:
//
//	rules:                  # the rule files under test, relative to this file
//	  - proc_creation_win_certutil_decode.yml
//	cases:
//	  - name: certutil -decode a text file into a DLL
//	    event:              # one event, canonical field names
//	      Channel: Microsoft-Windows-Sysmon/Operational
//	      EventID: 1
//	      Image: C:\Windows\System32\certutil.exe
//	    detections: [289c463b-f19b-4211-af3c-ebc42516bc62]   # exactly; [] for none
type TestFile struct {
	// Rules are the rule files under test, relative to the test file.
	Rules []string
	Cases []Case
}

// Case is one event and the rules that must fire on it.
type Case struct {
	Name string
	// Line is the line of the case in the test file.
	Line  int
	Event *event.Event
	// Detections are the ids of the rules that must match the event:
	// exactly these, none other of the rules under test.
	Detections []string
}

// testFileYAML is the strict shape of a test file.
type testFileYAML struct {
	Rules []string       `yaml:"rules"`
	Cases []testCaseYAML `yaml:"cases"`
}

type testCaseYAML struct {
	Name       string    `yaml:"name"`
	Event      yaml.Node `yaml:"event"`
	Detections *[]string `yaml:"detections"`
}

// ParseTestFile parses a test file; name becomes the Source of the events
// (errors do not repeat it). Decoding is
// strict: unknown keys, a case without a name, event or detections key, and
// event values that are not scalars or lists of scalars are errors.
//
// Event values keep their YAML type: integers become Uint values (Int when
// negative), floats Float, booleans Bool, null Null, timestamps and the
// TimeCreated field Time (RFC 3339), lists List, and every other scalar
// (quoted or not) String. Events are numbered as their case (Locator) and
// name the test file as their Source.
func ParseTestFile(data []byte, name string) (*TestFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var tf testFileYAML
	if err := dec.Decode(&tf); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty test file")
		}
		if te, ok := errors.AsType[*yaml.TypeError](err); ok {
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				msgs[i] = unknownField.ReplaceAllString(m, `unknown key "$1"`)
			}
			return nil, errors.New(strings.Join(msgs, "; "))
		}
		return nil, err
	}
	if len(tf.Rules) == 0 {
		return nil, errors.New("no rules under test (rules: [file.yml])")
	}
	if len(tf.Cases) == 0 {
		return nil, errors.New("no cases")
	}
	lines := caseLines(data)
	out := &TestFile{Rules: tf.Rules}
	for i, c := range tf.Cases {
		line := c.Event.Line
		if i < len(lines) {
			line = lines[i]
		}
		where := fmt.Sprintf("line %d: case %d", line, i+1)
		if c.Name == "" {
			return nil, fmt.Errorf("%s: no name", where)
		}
		where = fmt.Sprintf("line %d: case %q", line, c.Name)
		if c.Event.Kind == 0 {
			return nil, fmt.Errorf("%s: no event", where)
		}
		if c.Detections == nil {
			return nil, fmt.Errorf("%s: no detections (write [] when no rule may fire)", where)
		}
		ev, err := caseEvent(&c.Event)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		ev.Source, ev.Locator = name, int64(i+1)
		out.Cases = append(out.Cases, Case{Name: c.Name, Line: line, Event: ev, Detections: *c.Detections})
	}
	return out, nil
}

// unknownField matches the YAML decoder's message for an unknown key, which
// names a Go type.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// caseLines returns the line of every case of a test file that decoded.
func caseLines(data []byte) []int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	var lines []int
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "cases" {
			for _, c := range root.Content[i+1].Content {
				lines = append(lines, c.Line)
			}
		}
	}
	return lines
}

// caseEvent builds the event of a case from its YAML mapping.
func caseEvent(n *yaml.Node) (*event.Event, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: event must be a mapping of field names to values", n.Line)
	}
	ev := &event.Event{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			return nil, fmt.Errorf("line %d: a field name must be a non-empty string", k.Line)
		}
		if _, dup := ev.Get(k.Value); dup {
			return nil, fmt.Errorf("line %d: field %s given twice", k.Line, k.Value)
		}
		val, err := caseValue(k.Value, v, true)
		if err != nil {
			return nil, fmt.Errorf("line %d: field %s: %w", v.Line, k.Value, err)
		}
		ev.Add(k.Value, val)
	}
	return ev, nil
}

// caseValue converts one YAML value; list says whether a list is allowed.
func caseValue(field string, n *yaml.Node, list bool) (event.Value, error) {
	switch n.Kind {
	case yaml.SequenceNode:
		if !list {
			return event.Value{}, errors.New("lists cannot nest")
		}
		vs := make([]event.Value, len(n.Content))
		for i, c := range n.Content {
			v, err := caseValue(field, c, false)
			if err != nil {
				return v, err
			}
			vs[i] = v
		}
		return event.ListValue(vs), nil
	case yaml.ScalarNode:
	default:
		return event.Value{}, errors.New("want a scalar or a list of scalars")
	}
	switch n.ShortTag() {
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			var u uint64
			if err := n.Decode(&u); err != nil {
				return event.Value{}, err
			}
			return event.UintValue(u), nil
		}
		if i < 0 {
			return event.IntValue(i), nil
		}
		return event.UintValue(uint64(i)), nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return event.Value{}, err
		}
		if math.IsNaN(f) {
			return event.Value{}, errors.New("NaN is not a value")
		}
		return event.FloatValue(f), nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return event.Value{}, err
		}
		return event.BoolValue(b), nil
	case "!!null":
		return event.Value{}, nil
	case "!!timestamp":
		var t time.Time
		if err := n.Decode(&t); err != nil {
			return event.Value{}, err
		}
		return event.TimeValue(t), nil
	}
	if field == event.FieldTimeCreated {
		t, err := parseTime(n.Value)
		if err != nil {
			return event.Value{}, err
		}
		return event.TimeValue(t), nil
	}
	return event.StringValue(n.Value), nil
}

// parseTime reads an RFC 3339 instant; without a zone it is UTC, and a
// space may replace the T.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %s: want RFC 3339, such as 2026-11-25T10:00:00Z", strconv.Quote(s))
}
