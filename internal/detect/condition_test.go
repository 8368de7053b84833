package detect

import (
	"errors"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

func TestConditions(t *testing.T) {
	searches := `
    sel1:
        A: 1
    sel2:
        B: 1
    sel3:
        C: 1
    _hidden:
        H: 1
`
	abc := func(a, b, c, h bool) matchCase {
		var kv []any
		for _, f := range []struct {
			name string
			on   bool
		}{{"A", a}, {"B", b}, {"C", c}, {"H", h}} {
			v := 0
			if f.on {
				v = 1
			}
			kv = append(kv, f.name, v)
		}
		return matchCase{evt(kv...), false}
	}
	// want reports, for each of the 16 combinations of A, B, C, H, whether
	// the condition holds.
	tests := []struct {
		cond string
		want func(a, b, c, h bool) bool
	}{
		{"sel1", func(a, b, c, h bool) bool { return a }},
		{"sel1 and sel2", func(a, b, c, h bool) bool { return a && b }},
		{"sel1 or sel2", func(a, b, c, h bool) bool { return a || b }},
		{"not sel1", func(a, b, c, h bool) bool { return !a }},
		{"sel1 and not sel2", func(a, b, c, h bool) bool { return a && !b }},
		{"sel1 or sel2 and sel3", func(a, b, c, h bool) bool { return a || b && c }},
		{"(sel1 or sel2) and sel3", func(a, b, c, h bool) bool { return (a || b) && c }},
		{"not sel1 and sel2", func(a, b, c, h bool) bool { return !a && b }},
		{"not (sel1 and sel2)", func(a, b, c, h bool) bool { return !(a && b) }},
		{"sel1 and (sel2 or not sel3)", func(a, b, c, h bool) bool { return a && (b || !c) }},
		{"1 of sel*", func(a, b, c, h bool) bool { return a || b || c }},
		{"all of sel*", func(a, b, c, h bool) bool { return a && b && c }},
		{"1 of them", func(a, b, c, h bool) bool { return a || b || c }},
		{"all of them", func(a, b, c, h bool) bool { return a && b && c }}, // _hidden excluded
		{"all of them and _hidden", func(a, b, c, h bool) bool { return a && b && c && h }},
		{"1 of _*", func(a, b, c, h bool) bool { return h }},
		{"1 of sel* and not 1 of _*", func(a, b, c, h bool) bool { return (a || b || c) && !h }},
		{"all of sel* and not sel3", func(a, b, c, h bool) bool { return false }},
		{"1 of *2", func(a, b, c, h bool) bool { return b }},
	}
	for _, tc := range tests {
		var cases []matchCase
		for bits := range 16 {
			a, b, c, h := bits&1 != 0, bits&2 != 0, bits&4 != 0, bits&8 != 0
			mc := abc(a, b, c, h)
			mc.want = tc.want(a, b, c, h)
			cases = append(cases, mc)
		}
		checkRule(t, searches+"    condition: "+tc.cond+"\n", Options{}, cases...)
	}
	// A list of conditions is ORed.
	var cases []matchCase
	for bits := range 16 {
		a, b, c, h := bits&1 != 0, bits&2 != 0, bits&4 != 0, bits&8 != 0
		mc := abc(a, b, c, h)
		mc.want = (a && b) || c
		cases = append(cases, mc)
	}
	checkRule(t, searches+"    condition:\n        - sel1 and sel2\n        - sel3\n", Options{}, cases...)
}

func TestSearchShapes(t *testing.T) {
	// The specification's examples: a map ANDs, a list ORs.
	checkRule(t, `
    selection:
        EventLog: Security
        EventID:
            - 517
            - 1102
    condition: selection
`, Options{},
		yes("EventLog", "Security", "EventID", 517),
		yes("EventLog", "security", "EventID", "1102"),
		no("EventLog", "Security", "EventID", 4624),
		no("EventLog", "System", "EventID", 517),
	)
	checkRule(t, `
    selection:
        - Image|endswith: '\example.exe'
        - Description|contains: 'Test executable'
    condition: selection
`, Options{},
		yes("Image", `C:\example.exe`),
		yes("Description", "A test executable"),
		no("Image", `C:\other.exe`, "Description", "other"),
	)
	checkRule(t, `
    selection:
        EventLog: Security
        EventID: 4769
        TicketOptions: '0x40810000'
        TicketEncryption: '0x17'
    condition: selection
`, Options{},
		yes("EventLog", "Security", "EventID", 4769, "TicketOptions", "0x40810000", "TicketEncryption", "0x17"),
		no("EventLog", "Security", "EventID", 4769, "TicketOptions", "0x40810000", "TicketEncryption", "0x12"),
	)
}

// handRule builds a rule with one search "sel" holding one field match.
func handRule(field string, mods []sigma.Modifier, cond sigma.Expr, values ...sigma.Value) *sigma.Rule {
	return &sigma.Rule{
		Meta: sigma.Meta{ID: "rule-1", Title: "hand made", Pos: sigma.Pos{File: "hand.yml", Line: 1}},
		Detection: sigma.Detection{
			Searches:   []*sigma.Search{{Name: "sel", Alternatives: [][]*sigma.FieldMatch{{{Field: field, Modifiers: mods, Values: values}}}}},
			Conditions: []sigma.Expr{cond},
		},
	}
}

func str(s string) sigma.Value { return sigma.Value{Kind: sigma.StringValue, Raw: s} }

func TestCompileErrors(t *testing.T) {
	sel := &sigma.IdentExpr{Name: "sel"}
	tests := []struct {
		name string
		rule *sigma.Rule
		opts Options
		want error
	}{
		{"bad regexp", handRule("F", []sigma.Modifier{sigma.ModRe}, sel, str("(?<=x)y")), Options{}, ErrRegexp},
		{"unclosed group", handRule("F", []sigma.Modifier{sigma.ModRe}, sel, str("(ab")), Options{}, ErrRegexp},
		{"base64 and base64offset", handRule("F", []sigma.Modifier{sigma.ModBase64, sigma.ModBase64Offset}, sel, str("x")), Options{}, ErrModifier},
		{"utf16 after base64", handRule("F", []sigma.Modifier{sigma.ModBase64, sigma.ModWide}, sel, str("x")), Options{}, ErrModifier},
		{"base64 of a wildcard", handRule("F", []sigma.Modifier{sigma.ModContains, sigma.ModBase64}, sel, str("x")), Options{}, ErrValue},
		{"re with contains", handRule("F", []sigma.Modifier{sigma.ModRe, sigma.ModContains}, sel, str("x")), Options{}, ErrModifier},
		{"gt on text", handRule("F", []sigma.Modifier{sigma.ModGt}, sel, str("abc")), Options{}, ErrValue},
		{"bad cidr", handRule("F", []sigma.Modifier{sigma.ModCIDR}, sel, str("10.0.0.0/33")), Options{}, ErrValue},
		{"missing search", handRule("F", nil, &sigma.IdentExpr{Name: "selection"}, str("x")), Options{}, ErrCondition},
		{"pattern matching nothing", handRule("F", nil, &sigma.OfExpr{Pattern: "filter*"}, str("x")), Options{}, ErrCondition},
		{"placeholder without value", handRule("F", []sigma.Modifier{sigma.ModExpand}, sel, str("%Servers%")), Options{}, ErrPlaceholder},
		{"other placeholder configured", handRule("F", []sigma.Modifier{sigma.ModExpand}, sel, str("%Servers%")),
			Options{Placeholders: map[string][]string{"Workstations": {"ws*"}}}, ErrPlaceholder},
		{"unknown logsource", handRule("F", nil, sel, str("x")),
			Options{Router: RouterFunc(func(sigma.Logsource) (Route, error) { return Route{}, ErrUnknownLogsource })}, ErrUnknownLogsource},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.Router == nil {
				tc.opts.Router = everyEvent
			}
			e, errs := Compile([]*sigma.Rule{tc.rule}, nil, tc.opts)
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want 1", len(errs), errs)
			}
			if !errors.Is(errs[0], tc.want) {
				t.Errorf("got %v, want %v", errs[0], tc.want)
			}
			var re *RuleError
			if !errors.As(errs[0], &re) || re.ID != "rule-1" {
				t.Errorf("got %#v, want a *RuleError for rule-1", errs[0])
			}
			if msg := errs[0].Error(); !strings.HasPrefix(msg, "hand.yml:1: rule rule-1 (hand made): ") {
				t.Errorf("message: got %q, want it to name file, line and rule", msg)
			}
			if len(e.Rules()) != 0 {
				t.Errorf("got %d compiled rules, want 0", len(e.Rules()))
			}
		})
	}
	// The good rules of a set still compile.
	good := handRule("F", nil, sel, str("x"))
	e, errs := Compile([]*sigma.Rule{good, tests[0].rule}, nil, Options{Router: everyEvent})
	if len(errs) != 1 || len(e.Rules()) != 1 {
		t.Errorf("got %d rules and %d errors, want 1 and 1", len(e.Rules()), len(errs))
	}
}

func TestHandBuiltRules(t *testing.T) {
	// Modifier combinations the loader rejects but the engine handles.
	sel := &sigma.IdentExpr{Name: "sel"}
	r := handRule("F", []sigma.Modifier{sigma.ModUTF16LE}, sel, str("cmd"))
	e, errs := Compile([]*sigma.Rule{r}, nil, Options{Router: everyEvent})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := matchIDs(e, evt("F", "c\x00m\x00d\x00")); got != "rule-1" {
		t.Errorf("utf16le alone: got %q, want rule-1", got)
	}
	r = handRule("IP", []sigma.Modifier{sigma.ModCIDR, sigma.ModNeq}, sel, str("10.0.0.0/8"))
	e, _ = Compile([]*sigma.Rule{r}, nil, Options{Router: everyEvent})
	if got := matchIDs(e, evt("IP", "8.8.8.8")); got != "rule-1" {
		t.Errorf("cidr|neq outside: got %q, want rule-1", got)
	}
	if got := matchIDs(e, evt("IP", "10.1.1.1")); got != "" {
		t.Errorf("cidr|neq inside: got %q, want no match", got)
	}
}
