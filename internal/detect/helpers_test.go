package detect

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// everyEvent routes every logsource to every event.
var everyEvent = RouterFunc(func(sigma.Logsource) (Route, error) { return Route{}, nil })

// evt builds an event from name, value pairs: string, int, uint64, float64,
// bool, time.Time, nil (Null), []event.Value (List) or event.Value.
func evt(kv ...any) *event.Event {
	ev := &event.Event{}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Add(kv[i].(string), val(kv[i+1]))
	}
	return ev
}

func val(x any) event.Value {
	switch v := x.(type) {
	case nil:
		return event.Value{}
	case string:
		return event.StringValue(v)
	case int:
		return event.IntValue(int64(v))
	case uint64:
		return event.UintValue(v)
	case float64:
		return event.FloatValue(v)
	case bool:
		return event.BoolValue(v)
	case time.Time:
		return event.TimeValue(v)
	case []event.Value:
		return event.ListValue(v)
	case event.Value:
		return v
	}
	panic(fmt.Sprintf("val: %T", x))
}

// ruleYAML wraps a detection body (indented by four spaces) in a rule.
func ruleYAML(detection string) string {
	return "title: test rule\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n    product: windows\n" +
		"detection:\n" + detection
}

// parseRules loads YAML rules and filters, failing the test on load errors.
func parseRules(t *testing.T, yaml string) *sigma.Collection {
	t.Helper()
	c := sigma.Parse([]byte(yaml), "test.yml")
	for _, err := range c.Errors {
		if !err.Warning {
			t.Fatalf("load: %v", err)
		}
	}
	return c
}

// compileYAML compiles YAML rules with every logsource on every event.
func compileYAML(t *testing.T, yaml string, opts Options) (*Engine, []error) {
	t.Helper()
	c := parseRules(t, yaml)
	if opts.Router == nil {
		opts.Router = everyEvent
	}
	return Compile(c.Rules, c.Filters, opts)
}

// mustCompile compiles YAML rules that must compile.
func mustCompile(t *testing.T, yaml string, opts Options) *Engine {
	t.Helper()
	e, errs := compileYAML(t, yaml, opts)
	for _, err := range errs {
		t.Fatalf("compile: %v", err)
	}
	return e
}

// matchIDs returns the ids of the rules matching ev, joined by commas.
func matchIDs(e *Engine, ev *event.Event) string {
	var ids []string
	for _, d := range e.NewMatcher().Match(ev, nil) {
		ids = append(ids, d.Rule.Sigma.ID)
	}
	return strings.Join(ids, ",")
}

// matchCase is one event and whether the rule must match it.
type matchCase struct {
	ev   *event.Event
	want bool
}

// checkRule compiles one detection and checks it against events.
func checkRule(t *testing.T, detection string, opts Options, cases ...matchCase) {
	t.Helper()
	e := mustCompile(t, ruleYAML(detection), opts)
	if len(e.Rules()) != 1 {
		t.Fatalf("compiled %d rules, want 1", len(e.Rules()))
	}
	for _, c := range cases {
		got := len(e.NewMatcher().Match(c.ev, nil)) == 1
		if got != c.want {
			t.Errorf("detection\n%s\nevent %s: got match %v, want %v", detection, c.ev.AppendJSON(nil), got, c.want)
		}
	}
}

// yes and no make matchCases.
func yes(kv ...any) matchCase { return matchCase{evt(kv...), true} }
func no(kv ...any) matchCase  { return matchCase{evt(kv...), false} }
