package sigma

import (
	"errors"
	"strings"
)

// NewFieldMatch builds the FieldMatch a rule would hold for the key
// ("CommandLine|contains", "|re" for a keyword regular expression, "" for
// plain keywords) and values, checked as the loader checks a rule's: an
// unknown modifier, a chain that does not combine, a value its modifiers
// cannot take (a bad regular expression, a malformed network) is an error.
// Warnings are dropped. It is how queries that are not written as YAML
// (spoor search) become detections.
func NewFieldMatch(key string, values []Value) (*FieldMatch, error) {
	if len(values) == 0 {
		return nil, errors.New("no value")
	}
	parts := strings.Split(key, "|")
	mods, err := parseModifiers(parts[1:])
	if err != nil {
		return nil, err
	}
	fm := &FieldMatch{Field: parts[0], Modifiers: mods, Values: values}
	if fm.Field == "" && len(parts) > 1 && len(mods) == 0 {
		return nil, errors.New("empty field name")
	}
	for _, p := range checkModifiers(fm.Field == "", parts[1:], mods, values) {
		if !p.warning {
			return nil, errors.New(p.msg)
		}
	}
	return fm, nil
}

// PlainValue is the Value of text written as a plain YAML scalar: a
// number when it reads as one, true or false as a boolean, else a
// string (null and ~ stay strings: a query asks for text).
func PlainValue(text string) Value {
	if f, ok := parseNumber(text); ok && text != "" && strings.TrimLeft(text, "+-.0123456789") == "" {
		return Value{Kind: NumberValue, Raw: text, Number: f}
	}
	switch text {
	case "true", "false":
		return Value{Kind: BoolValue, Raw: text, Bool: text == "true"}
	}
	return Value{Kind: StringValue, Raw: text}
}

// EscapeWildcards returns s as a Sigma string value that matches s
// literally: the wildcards * and ? and the backslash escaped.
func EscapeWildcards(s string) string {
	if !strings.ContainsAny(s, `*?\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '*' || c == '?' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
