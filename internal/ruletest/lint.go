package ruletest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/spoor-hunt/spoor/internal/correlate"
	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// Severity says whether a Problem stops a rule from running.
type Severity uint8

// The severities of a Problem.
const (
	// Warning: the rule runs, but something is off (a key outside the
	// specification, a logsource no pipeline route serves).
	Warning Severity = iota
	// Error: the rule cannot be loaded or compiled; it will not run.
	Error
)

// String returns "warning" or "error".
func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// Problem is one finding of Lint, located in a rule file.
type Problem struct {
	// Pos is where the problem is: the offending key when known, else the
	// rule's first line.
	Pos sigma.Pos
	// Key is the YAML path of the offending key, such as
	// "detection.selection.Image|re"; "" for the whole document.
	Key string
	// RuleID identifies the rule when known.
	RuleID   string
	Msg      string
	Severity Severity
}

// String renders the problem as "file:line:col: severity: key: message".
func (p Problem) String() string {
	var b strings.Builder
	if p.Pos.File != "" {
		b.WriteString(p.Pos.File)
		if p.Pos.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Pos.Line))
			if p.Pos.Column > 0 {
				b.WriteString(":" + strconv.Itoa(p.Pos.Column))
			}
		}
		b.WriteString(": ")
	}
	b.WriteString(p.Severity.String() + ": ")
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Options configures Lint and Run.
type Options struct {
	// Router routes logsources; nil selects detect.DefaultPipeline().
	Router detect.Router
	// Placeholders gives the values of expand placeholders (see
	// detect.Options); a rule using one without a value does not compile.
	Placeholders map[string][]string
	// Workers is how many tests run in parallel; < 1 means
	// runtime.GOMAXPROCS(0).
	Workers int
}

func (o Options) router() detect.Router {
	if o.Router == nil {
		return detect.DefaultPipeline()
	}
	return o.Router
}

// Lint reports every problem of the rules in s: what the loader found
// (malformed YAML, unknown modifiers, bad regular expressions, conditions
// naming missing searches...), what the engine's compiler finds
// (placeholders without configured values, modifier combinations,
// logsources the router cannot place), and what only the whole set shows
// (duplicate ids; correlations and filters naming rules not in the set;
// correlations the hunt would reject, such as cycles, by the hunt's own
// check, correlate.Compile). Problems come sorted by file and position.
func Lint(s *ruleset.Set, opts Options) []Problem {
	var out []Problem
	for _, e := range s.Errors {
		sev := Error
		if e.Warning {
			sev = Warning
		}
		out = append(out, Problem{Pos: e.Pos, Key: e.Key, RuleID: e.RuleID, Msg: e.Msg, Severity: sev})
	}

	// Compile rule by rule: only the errors are wanted, and the engine's
	// index over a whole corpus costs far more than the rules themselves.
	dopts := detect.Options{Router: opts.router(), Placeholders: opts.Placeholders}
	var errs []error
	for _, r := range s.Rules {
		_, es := detect.Compile([]*sigma.Rule{r}, s.Filters, dopts)
		errs = append(errs, es...)
	}
	seen := map[string]bool{}
	for _, err := range errs {
		p := Problem{Severity: Error, Msg: err.Error()}
		if re, ok := errors.AsType[*detect.RuleError](err); ok {
			p.Pos, p.Key, p.RuleID, p.Msg = re.Pos, re.Key, re.ID, re.Err.Error()
			if errors.Is(re.Err, detect.ErrUnknownLogsource) {
				p.Severity = Warning
				p.Msg = "no route for this logsource: the rule never runs (" + re.Err.Error() + ")"
			}
			p.Pos = locate(s, p.Pos, p.Key)
		}
		if k := p.String(); !seen[k] { // a filter fails once per rule it applies to
			seen[k] = true
			out = append(out, p)
		}
	}

	out = append(out, crossChecks(s)...)
	out = append(out, correlationChecks(s)...)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Column, b.Pos.Column))
	})
	return out
}

// crossChecks finds what only the whole set shows: duplicate ids, rules
// without an id, and correlations and filters naming rules not in the set.
func crossChecks(s *ruleset.Set) []Problem {
	var out []Problem
	first := map[string]sigma.Pos{}
	refs := map[string]bool{}
	meta := func(m *sigma.Meta) {
		if m.Name != "" {
			refs[m.Name] = true
		}
		if m.ID == "" {
			out = append(out, Problem{Pos: locate(s, m.Pos, ""), Key: "id", Msg: "missing id (tests, filters and correlations refer to rules by id)", Severity: Warning})
			return
		}
		refs[m.ID] = true
		if p, ok := first[m.ID]; ok {
			out = append(out, Problem{Pos: locate(s, m.Pos, "id"), Key: "id", RuleID: m.ID,
				Msg: fmt.Sprintf("duplicate id %s (also %s:%d)", m.ID, p.File, p.Line), Severity: Error})
			return
		}
		first[m.ID] = m.Pos
	}
	for _, r := range s.Rules {
		meta(&r.Meta)
	}
	for _, c := range s.Correlations {
		meta(&c.Meta)
	}
	for _, f := range s.Filters {
		meta(&f.Meta)
	}
	unknown := func(m *sigma.Meta, key string, names []string) {
		for _, n := range names {
			if !refs[n] {
				out = append(out, Problem{Pos: locate(s, m.Pos, key), Key: key, RuleID: m.ID,
					Msg: fmt.Sprintf("rule %q is not among the rules loaded", n), Severity: Warning})
			}
		}
	}
	for _, c := range s.Correlations {
		unknown(&c.Meta, "correlation.rules", c.Rules)
	}
	for _, f := range s.Filters {
		unknown(&f.Meta, "filter.rules", f.Rules)
	}
	return out
}

// correlationChecks reports what makes the hunt reject a correlation
// (a cycle, an ambiguous reference, a condition it cannot evaluate), found
// by the hunt's own compiler. References to rules outside the set and
// duplicate ids are left to crossChecks, which reports them once.
func correlationChecks(s *ruleset.Set) []Problem {
	if len(s.Correlations) == 0 {
		return nil
	}
	_, errs := correlate.Compile(s.Correlations, s.Rules)
	var out []Problem
	for _, err := range errs {
		if errors.Is(err, correlate.ErrUnresolved) || errors.Is(err, correlate.ErrDuplicateID) {
			continue
		}
		p := Problem{Severity: Error, Msg: err.Error()}
		if se, ok := errors.AsType[*sigma.Error](err); ok {
			p.Pos, p.Key, p.RuleID, p.Msg = locate(s, se.Pos, se.Key), se.Key, se.RuleID, se.Msg
		}
		out = append(out, p)
	}
	return out
}

// locate returns the position of key (a path such as
// "detection.selection.Image|re" or `detection.condition "sel and x"`)
// inside the document that starts at doc, or doc when the key cannot be
// found.
func locate(s *ruleset.Set, doc sigma.Pos, key string) sigma.Pos {
	data := s.Data(doc.File)
	if data == nil || doc.Line == 0 {
		return doc
	}
	root := findDocument(data, doc.Line, doc.Column)
	if root == nil || key == "" {
		return doc
	}
	if i := strings.IndexByte(key, ' '); i >= 0 {
		key = key[:i] // `detection.condition "..."`
	}
	n, found := root, (*yaml.Node)(nil)
	for key != "" && n != nil {
		var k *yaml.Node
		n, k, key = descend(n, key)
		if k != nil {
			found = k
		}
	}
	if found == nil {
		return doc
	}
	return sigma.Pos{File: doc.File, Line: found.Line, Column: found.Column}
}

// findDocument returns the root mapping of the YAML document of data that
// starts at line and column.
func findDocument(data []byte, line, col int) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return nil // io.EOF, or a syntax error the loader reported
		}
		if len(doc.Content) == 0 {
			continue
		}
		if r := doc.Content[0]; r.Line == line && (col == 0 || r.Column == col) {
			return r
		}
	}
}

// descend finds the longest leading part of key (split at dots) that is a
// key of mapping n, or of a mapping in list n, and returns its value and
// key nodes and the rest of key. Field names may hold dots, hence the
// longest match.
func descend(n *yaml.Node, key string) (val, k *yaml.Node, rest string) {
	var maps []*yaml.Node
	switch n.Kind {
	case yaml.MappingNode:
		maps = []*yaml.Node{n}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind == yaml.MappingNode {
				maps = append(maps, c)
			}
		}
	}
	name := key
	if i := strings.IndexByte(name, '['); i > 0 {
		name = name[:i] // tags[2]: the key of the list
	}
	for {
		for _, m := range maps {
			for i := 0; i+1 < len(m.Content); i += 2 {
				if m.Content[i].Value == name {
					rest = strings.TrimPrefix(key[len(name):], ".")
					if strings.HasPrefix(rest, "[") {
						rest = ""
					}
					return m.Content[i+1], m.Content[i], rest
				}
			}
		}
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			return nil, nil, ""
		}
		name = name[:i]
	}
}
