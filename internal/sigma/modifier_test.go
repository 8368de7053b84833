package sigma

import (
	"strings"
	"testing"
)

// selectionRule wraps the lines of one search into a complete rule.
func selectionRule(body string) string {
	var b strings.Builder
	b.WriteString("title: t\nlogsource:\n    product: windows\ndetection:\n    selection:\n")
	for _, line := range strings.Split(body, "\n") {
		b.WriteString("        " + line + "\n")
	}
	b.WriteString("    condition: selection\n")
	return b.String()
}

// firstError returns the first non-warning error of c, or nil.
func firstError(c *Collection) *Error {
	for _, e := range c.Errors {
		if !e.Warning {
			return e
		}
	}
	return nil
}

func warnings(c *Collection) []*Error {
	var out []*Error
	for _, e := range c.Errors {
		if e.Warning {
			out = append(out, e)
		}
	}
	return out
}

func TestModifiers(t *testing.T) {
	tests := []struct {
		body string
		// want is "" when the rule loads, else a fragment of the error.
		want string
	}{
		// The specification's own examples.
		{`Image: 'C:\Windows\System32\whoami.exe'`, ""},
		{`Image|endswith: '\\example.exe'`, ""},
		{`Description|contains: 'Test executable'`, ""},
		{`PasswordLastSet|exists: true`, ""},
		{`DestinationIp|cidr: 10.0.0.0/8`, ""},
		{`field|expand: '%name%'`, ""},
		{`field|expand: '\%plain%name%'`, ""},
		{"CommandLine|contains|all:\n    - ' -a '\n    - ' -b '", ""},

		// Generic and string modifiers.
		{`f|startswith: x`, ""},
		{`f|contains|cased: x`, ""},
		{`f|cased: x`, ""},
		{`f|neq: x`, ""},
		{`f|neq: 5`, ""},
		{`f|contains|neq: x`, ""},
		{`f|windash|contains: ' -f '`, ""},
		{`f|contains|windash: ' -f '`, ""},
		{`f|endswith|windash: ' -f'`, ""},
		{`f|contains: 4688`, ""},
		{`f|contains: x`, ""},

		// Regular expressions.
		{`f|re: '^a.*b$'`, ""},
		{`f|re|i: 'abc'`, ""},
		{`f|re|i|m: 'abc'`, ""},
		{`f|re|m|s: 'a.b'`, ""},
		{`f|re|ignorecase: 'abc'`, ""},
		{`f|re|multiline|dotall: 'abc'`, ""},
		{`f|re: '\d+\s\w\bx(?i)y'`, ""},
		{`f|re: '[a-z]{2,3}(foo|bar)+?'`, ""},
		{`f|re: 'a(?=b)'`, "lookahead"},
		{`f|re: 'a(?!b)'`, "negative lookahead"},
		{`f|re: '(?<=a)b'`, "lookbehind"},
		{`f|re: '(?<!a)b'`, "negative lookbehind"},
		{`f|re: '(a)\1'`, "backreference"},
		{`f|re: '(?>a)'`, "atomic group"},
		{`f|re: 'a++'`, "possessive"},
		{`f|re: 'a{2}+'`, "possessive"},
		{`f|re: '[a\d]'`, ""},
		{`f|re: '\++'`, ""},
		{`f|re: '[+]+'`, ""},
		{`f|re: '(?<name>a)'`, ""},
		{`f|re: '(unclosed'`, "invalid regular expression"},
		{`f|re: 'a{1001}'`, "invalid regular expression"},
		{`f|re: '\Z'`, "invalid regular expression"},
		{`f|i: 'abc'`, "sub-modifier of re"},
		{`f|i|re: 'abc'`, "must follow re"},
		{`f|re|i|i: 'abc'`, "repeated"},
		{`f|re|contains: 'abc'`, "cannot be combined"},
		{`f|contains|re: 'abc'`, "cannot be combined"},
		{`f|re|cased: 'abc'`, "cannot be combined"},
		{`f|re: true`, "expects a regular expression"},

		// Match modifiers conflict.
		{`f|contains|startswith: x`, "conflict"},
		{`f|startswith|endswith: x`, "conflict"},
		{`f|contains|contains: x`, "repeated"},
		{`f|all: x`, ""}, // a warning, see TestModifierWarnings

		// Encodings.
		{`f|base64: x`, ""},
		{`f|base64|contains: x`, ""},
		{`f|base64offset|contains: x`, ""},
		{`f|utf16le|base64offset|contains: x`, ""},
		{`f|utf16be|base64offset|contains: x`, ""},
		{`f|utf16|base64offset|contains: x`, ""},
		{`f|wide|base64offset|contains: x`, ""},
		{`f|windash|base64offset|contains: x`, ""},
		{`f|base64offset: x`, "base64offset needs contains"},
		{`f|base64offset|startswith: x`, "base64offset needs contains"},
		{`f|contains|base64: x`, "must come after"},
		{`f|base64|base64offset|contains: x`, "conflict"},
		{`f|base64offset|utf16le|contains: x`, "must come before"},
		{`f|wide: x`, "must be followed by base64"},
		{`f|wide|utf16le|base64: x`, "conflict"},
		{`f|base64|windash: x`, "must come before"},
		{`f|base64: true`, "expects strings"},

		// exists.
		{`f|exists: true`, ""},
		{`f|exists: false`, ""},
		{`f|exists: 'yes'`, "exists expects one value, true or false"},
		{`f|exists: 1`, "exists expects one value, true or false"},
		{"f|exists:\n    - true\n    - false", "exists expects one value"},
		{`f|exists|contains: true`, "cannot be combined"},
		{`f|neq|exists: true`, "cannot be combined"},

		// Numeric comparisons.
		{`f|gt: 5`, ""},
		{`f|gte: 5.5`, ""},
		{`f|lt: -1`, ""},
		{`f|lte: 0x10`, ""},
		{`f|gt: '5'`, "expects a number"},
		{`f|gt: abc`, "expects a number"},
		{`f|gt|lt: 5`, "conflict"},
		{`f|gt|contains: 5`, "cannot be combined"},
		{`f|gt|neq: 5`, "cannot be combined"},

		// Time modifiers.
		{`f|hour: 3`, ""},
		{`f|minute|gte: 30`, ""},
		{`f|year|lt: 2020`, ""},
		{`f|month|neq: 12`, ""},
		{`f|week: 53`, ""},
		{`f|hour: 24`, "0 to 23"},
		{`f|day: 0`, "1 to 31"},
		{`f|month: 13`, "1 to 12"},
		{`f|minute: 1.5`, "expects an integer"},
		{`f|hour: 'three'`, "expects a number"},
		{`f|gt|hour: 3`, "must come first"},
		{`f|hour|day: 3`, "conflict"},
		{`f|hour|contains: 3`, "cannot be combined"},

		// cidr.
		{`f|cidr: 'fe80::/10'`, ""},
		{"f|cidr:\n    - 10.0.0.0/8\n    - 192.168.0.0/16", ""},
		{`f|cidr: 10.0.0.1`, "not a network"},
		{`f|cidr: 10.0.0.0/33`, "not a network"},
		{`f|cidr|contains: 10.0.0.0/8`, "cannot be combined"},
		{`f|contains|cidr: 10.0.0.0/8`, "cannot be combined"},
		{`f|cidr|neq: 10.0.0.0/8`, "cannot be combined"},
		{`f|cidr: 8`, "cidr expects a network"},

		// expand and fieldref.
		{`f|contains|expand: '%Servers%'`, ""},
		{`f|expand|re: '%x%'`, "cannot be combined"},
		{`f|fieldref: OtherField`, ""},
		{`f|fieldref|startswith: OtherField`, ""},
		{`f|fieldref|neq: OtherField`, ""},
		{`f|fieldref|cased: OtherField`, ""},
		{`f|fieldref: ''`, "fieldref expects a field name"},
		{`f|fieldref: 5`, "fieldref expects a field name"},
		{`f|fieldref|re: x`, "cannot be combined"},
		{`f|fieldref|base64: x`, "cannot be combined"},

		// Names.
		{`Image|contans: x`, `unknown modifier "contans"`},
		{`Image|Contains: x`, `modifiers are lowercase`},
		{`Image||contains: x`, "empty modifier"},
		{`Image|: x`, "empty modifier"},
		{`Image|utf16le|base64: x`, ""},

		// Values.
		{"f: []", "empty value list"},
		{"f:\n    - ''\n    - null", "null cannot be part of a value list"},
		{"f|contains: null", "null takes no modifiers"},
		{"f:\n    - a\n    - [b]", "a value must be a scalar"},
		{"f:\n    a: b", "a value must be a scalar or a list"},
		{"f: null", ""},
		{"f: ''", ""},
		{"f: true", ""},
		{"f|contains: true", "expects strings"},
		{"'|all':\n    - a\n    - b", ""},
		{"'|contains': a", ""},
		{"'|gt': 5", "needs a field name"},
		{"'|exists': true", "needs a field name"},
		{"'': a", "empty field name"},
	}
	for _, tt := range tests {
		c := Parse([]byte(selectionRule(tt.body)), "t.yml")
		e := firstError(c)
		switch {
		case tt.want == "" && e != nil:
			t.Errorf("%s: got error %v, want none", tt.body, e)
		case tt.want != "" && e == nil:
			t.Errorf("%s: got no error, want one containing %q", tt.body, tt.want)
		case tt.want != "" && !strings.Contains(e.Msg, tt.want):
			t.Errorf("%s: got error %q, want one containing %q", tt.body, e.Msg, tt.want)
		case tt.want == "" && len(c.Rules) != 1:
			t.Errorf("%s: got %d rules, want 1", tt.body, len(c.Rules))
		}
	}
}

func TestModifierErrorLocation(t *testing.T) {
	src := "title: t\nlogsource:\n    product: windows\ndetection:\n    selection:\n        Image|contans: x\n        Regex|re:\n            - 'ok'\n            - 'a(?=b)'\n    condition: selection\n"
	e := firstError(Parse([]byte(src), "r.yml"))
	if e == nil {
		t.Fatal("got no error, want unknown modifier")
	}
	if got, want := e.Error(), `r.yml:6:9: detection.selection.Image|contans: unknown modifier "contans"`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	src = strings.Replace(src, "Image|contans", "Image|contains", 1)
	e = firstError(Parse([]byte(src), "r.yml"))
	if e == nil {
		t.Fatal("got no error, want lookahead")
	}
	if e.Pos.Line != 9 || e.Pos.Column != 15 || e.Key != "detection.selection.Regex|re" {
		t.Errorf("got %v, want r.yml:9:15 at detection.selection.Regex|re", e)
	}
}

func TestModifierWarnings(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{`f|contains|all: x`, "all with a single value"},
		{`f|expand: 'plain'`, "holds no %placeholder%"},
	}
	for _, tt := range tests {
		c := Parse([]byte(selectionRule(tt.body)), "t.yml")
		if len(c.Rules) != 1 {
			t.Errorf("%s: got %d rules (%v), want 1", tt.body, len(c.Rules), c.Errors)
			continue
		}
		ws := warnings(c)
		if len(ws) != 1 || !strings.Contains(ws[0].Msg, tt.want) {
			t.Errorf("%s: got warnings %v, want one containing %q", tt.body, ws, tt.want)
		}
	}
}

func TestModifierAliases(t *testing.T) {
	c := Parse([]byte(selectionRule(`f|re|ignorecase|multiline|dotall: x`)), "t.yml")
	if len(c.Rules) != 1 {
		t.Fatalf("got errors %v, want a rule", c.Errors)
	}
	fm := c.Rules[0].Detection.Searches[0].Alternatives[0][0]
	want := []Modifier{ModRe, ModReI, ModReM, ModReS}
	if len(fm.Modifiers) != len(want) {
		t.Fatalf("got %v, want %v", fm.Modifiers, want)
	}
	for i := range want {
		if fm.Modifiers[i] != want[i] {
			t.Errorf("modifier %d: got %q, want %q", i, fm.Modifiers[i], want[i])
		}
	}
}

// TestModifierTable checks that every constant has a name and a category
// and that the compatibility relation is symmetric.
func TestModifierTable(t *testing.T) {
	for name, m := range modifierNames {
		if categoryOf(m) == numCats {
			t.Errorf("modifier %q (%q) has no category", name, m)
		}
	}
	for a := range numCats {
		for b := range numCats {
			ab := compatible[a]&(1<<b) != 0
			ba := compatible[b]&(1<<a) != 0
			if ab != ba {
				t.Errorf("compatible[%s] has %s = %v, but compatible[%s] has %s = %v", catNames[a], catNames[b], ab, catNames[b], catNames[a], ba)
			}
		}
	}
}

func TestPlaceholders(t *testing.T) {
	tests := []struct {
		raw  string
		want []string
	}{
		{"%Administrators%", []string{"Administrators"}},
		{"plain", nil},
		{`\%plain%name%`, []string{"name"}},
		{`%a%-%b%`, []string{"a", "b"}},
		{`%a`, nil},
		{`%%`, nil},
		{`%%x%`, []string{"x"}},
		{`\\%x%`, []string{"x"}},
		{`*\%x\%*`, nil},
	}
	for _, tt := range tests {
		got := Placeholders(Value{Kind: StringValue, Raw: tt.raw})
		if strings.Join(got, ",") != strings.Join(tt.want, ",") || len(got) != len(tt.want) {
			t.Errorf("Placeholders(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
	if got := Placeholders(Value{Kind: NumberValue, Raw: "5"}); got != nil {
		t.Errorf("Placeholders(number) = %q, want nil", got)
	}
}
