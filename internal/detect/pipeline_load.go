package detect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// pipelineVersion is the only format version of pipeline files.
const pipelineVersion = 1

// pipelineFile is one pipeline YAML file as written. It decodes strictly:
// a key it does not define is an error.
type pipelineFile struct {
	// Version is the format version; it must be 1.
	Version int `yaml:"version"`
	// Logs are the event logs by a name of the file's choosing.
	Logs map[string]*pipelineLog `yaml:"logs"`
	// Routes say which logs carry each logsource.
	Routes []*pipelineRoute `yaml:"routes"`

	name string // the file's name, for messages
}

// pipelineLog is one event log: a channel, and the provider that writes
// only that channel when there is one, with the renames every source of
// the log gets (a source's own renames win for the same field).
type pipelineLog struct {
	Channel  string                   `yaml:"channel"`
	Provider string                   `yaml:"provider"`
	Fields   map[string]pipelineNames `yaml:"fields"`

	pos        pipelinePos
	fieldLines map[string]int // line of each key of Fields
}

// pipelineRoute serves one Sigma logsource.
type pipelineRoute struct {
	Product  string `yaml:"product"`
	Category string `yaml:"category"`
	Service  string `yaml:"service"`
	// Any routes every event to the logsource; it excludes Sources.
	Any bool `yaml:"any"`
	// Extend appends Sources to the route of an earlier file instead of
	// replacing it.
	Extend  bool              `yaml:"extend"`
	Sources []*pipelineSource `yaml:"sources"`

	pos pipelinePos
}

// pipelineSource is one kind of event of a route: a log, optionally some
// of its event IDs, and field renames.
type pipelineSource struct {
	Log      string                   `yaml:"log"`
	EventIDs []uint32                 `yaml:"event_ids"`
	Fields   map[string]pipelineNames `yaml:"fields"`

	pos        pipelinePos
	fieldLines map[string]int // line of each key of Fields
}

// pipelineNames is the event field names of one rename: one name, or a
// list tried in order.
type pipelineNames []string

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (n *pipelineNames) UnmarshalYAML(node *yaml.Node) error {
	switch node.Kind {
	case yaml.ScalarNode:
		*n = pipelineNames{node.Value}
		return nil
	case yaml.SequenceNode:
		out := make(pipelineNames, 0, len(node.Content))
		for _, c := range node.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: want an event field name", c.Line)
			}
			out = append(out, c.Value)
		}
		*n = out
		return nil
	}
	return fmt.Errorf("line %d: want an event field name or a list of them", node.Line)
}

// pipelinePos is a place in a pipeline file.
type pipelinePos struct {
	file string
	line int
}

func (p pipelinePos) String() string {
	if p.line == 0 {
		return p.file
	}
	return fmt.Sprintf("%s:%d", p.file, p.line)
}

// pipelineDecode decodes one pipeline file strictly and records the line
// of every log, route, source and rename for messages.
func pipelineDecode(data []byte, name string) (*pipelineFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	f := &pipelineFile{name: name}
	if err := dec.Decode(f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("pipeline %s: empty file", name)
		}
		return nil, fmt.Errorf("pipeline %s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("pipeline %s: line %d: more than one YAML document", name, extra.Line)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", name, err)
	}
	f.annotate(&root)
	return f, nil
}

// annotate copies line numbers from the document's node tree into f. The
// tree has the shape f was decoded from, so lookups cannot miss except
// where a value is absent.
func (f *pipelineFile) annotate(root *yaml.Node) {
	doc := pipelineDeref(root)
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = pipelineDeref(doc.Content[0])
	}
	if logs := pipelineValue(doc, "logs"); logs != nil {
		for i := 0; i+1 < len(logs.Content); i += 2 {
			if l := f.Logs[logs.Content[i].Value]; l != nil {
				l.pos = pipelinePos{f.name, logs.Content[i].Line}
				l.fieldLines = fieldLines(pipelineDeref(logs.Content[i+1]))
			}
		}
	}
	for _, l := range f.Logs {
		if l != nil && l.pos.file == "" {
			l.pos = pipelinePos{file: f.name}
		}
	}
	routes := pipelineValue(doc, "routes")
	for i, r := range f.Routes {
		if r == nil {
			continue
		}
		r.pos = pipelinePos{file: f.name}
		if routes == nil || i >= len(routes.Content) {
			continue
		}
		rn := pipelineDeref(routes.Content[i])
		r.pos.line = rn.Line
		sources := pipelineValue(rn, "sources")
		for j, s := range r.Sources {
			if s == nil {
				continue
			}
			s.pos = r.pos
			if sources == nil || j >= len(sources.Content) {
				continue
			}
			sn := pipelineDeref(sources.Content[j])
			s.pos.line = sn.Line
			s.fieldLines = fieldLines(sn)
		}
	}
}

// fieldLines returns the line of each key of the fields mapping of n, or
// nil when n has none.
func fieldLines(n *yaml.Node) map[string]int {
	fields := pipelineValue(n, "fields")
	if fields == nil {
		return nil
	}
	out := make(map[string]int, len(fields.Content)/2)
	for k := 0; k+1 < len(fields.Content); k += 2 {
		out[fields.Content[k].Value] = fields.Content[k].Line
	}
	return out
}

// pipelineDeref follows aliases.
func pipelineDeref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// pipelineValue returns the value of key in mapping n, or nil.
func pipelineValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return pipelineDeref(n.Content[i+1])
		}
	}
	return nil
}

// Validate checks the file on its own: the version, that every log has a
// channel or a provider, that every route names a logsource once in the
// file and has either "any" or sources, and that event IDs and renames are
// well formed. Whether the logs that sources name exist is checked when
// files are merged (Pipeline.Validate), as a later file may use the logs
// of an earlier one.
func (f *pipelineFile) Validate() error {
	var errs []error
	if f.Version != pipelineVersion {
		errs = append(errs, fmt.Errorf("%s: version: got %d, want %d", f.name, f.Version, pipelineVersion))
	}
	for _, name := range pipelineSortedNames(f.Logs) {
		l := f.Logs[name]
		switch {
		case l == nil:
			errs = append(errs, fmt.Errorf("%s: logs: %s: no channel or provider", f.name, name))
		case strings.TrimSpace(name) == "":
			errs = append(errs, fmt.Errorf("%s: logs: empty log name", l.pos))
		case l.Channel == "" && l.Provider == "":
			errs = append(errs, fmt.Errorf("%s: logs: %s: no channel or provider", l.pos, name))
		case l.Channel != strings.TrimSpace(l.Channel) || l.Provider != strings.TrimSpace(l.Provider):
			errs = append(errs, fmt.Errorf("%s: logs: %s: leading or trailing space in channel or provider", l.pos, name))
		}
		if l != nil {
			errs = append(errs, renameErrors(l.Fields, l.fieldLines, l.pos, "logs: "+name)...)
		}
	}
	seen := make(map[pipelineKey]*pipelineRoute)
	for i, r := range f.Routes {
		if r == nil {
			errs = append(errs, fmt.Errorf("%s: routes[%d]: empty route", f.name, i))
			continue
		}
		k := r.key()
		if k == (pipelineKey{}) {
			errs = append(errs, r.errorf("no product, category or service"))
			continue
		}
		if prev, dup := seen[k]; dup {
			errs = append(errs, r.errorf("logsource already routed at %s", prev.pos))
			continue
		}
		seen[k] = r
		switch {
		case r.Any && (len(r.Sources) > 0 || r.Extend):
			errs = append(errs, r.errorf("any: true excludes sources and extend"))
		case !r.Any && len(r.Sources) == 0:
			errs = append(errs, r.errorf("no sources (use any: true for every event)"))
		}
		for j, s := range r.Sources {
			if s == nil {
				errs = append(errs, r.errorf("sources[%d]: empty source", j))
				continue
			}
			errs = append(errs, s.validate(r, j)...)
		}
	}
	return errors.Join(errs...)
}

// validate checks one source of route r on its own.
func (s *pipelineSource) validate(r *pipelineRoute, i int) []error {
	var errs []error
	if s.Log == "" {
		errs = append(errs, s.errorf(r, i, "no log"))
	}
	seen := make(map[uint32]bool, len(s.EventIDs))
	for _, id := range s.EventIDs {
		if id > 0xffff {
			errs = append(errs, s.errorf(r, i, "event_ids: %d is not a Windows event ID (0..65535)", id))
		}
		if seen[id] {
			errs = append(errs, s.errorf(r, i, "event_ids: %d listed twice", id))
		}
		seen[id] = true
	}
	errs = append(errs, renameErrors(s.Fields, s.fieldLines, s.pos, fmt.Sprintf("route (%s): sources[%d]", r.key(), i))...)
	return errs
}

// renameErrors checks the renames of a log or source placed at pos (lines
// gives the line of each field), where names it in messages.
func renameErrors(fields map[string]pipelineNames, lines map[string]int, pos pipelinePos, where string) []error {
	var errs []error
	for _, field := range pipelineSortedNames(fields) {
		names := fields[field]
		bad := func(format string, args ...any) {
			at := pos
			if line, ok := lines[field]; ok {
				at.line = line
			}
			errs = append(errs, fmt.Errorf("%s: %s: fields: %s: %s", at, where, field, fmt.Sprintf(format, args...)))
		}
		switch {
		case !pipelineValidName(field):
			bad("not a field name")
		case len(names) == 0:
			bad("no event field names")
		case len(names) == 1 && names[0] == field:
			bad("renamed to itself")
		}
		for k, n := range names {
			if !pipelineValidName(n) {
				bad("%q is not a field name", n)
			} else if slices.Contains(names[:k], n) {
				bad("%q listed twice", n)
			}
		}
	}
	return errs
}

// pipelineValidName reports whether s can be a field name: not empty, no
// surrounding space, no modifier separator, no control character.
func pipelineValidName(s string) bool {
	if s == "" || s != strings.TrimSpace(s) || strings.Contains(s, "|") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func (r *pipelineRoute) key() pipelineKey {
	return pipelineKeyOf(pipelineKey{r.Product, r.Category, r.Service}.logsource())
}

// errorf returns an error placed at r.
func (r *pipelineRoute) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: route (%s): %s", r.pos, r.key(), fmt.Sprintf(format, args...))
}

// errorf returns an error placed at s, source i of route r.
func (s *pipelineSource) errorf(r *pipelineRoute, i int, format string, args ...any) error {
	return fmt.Errorf("%s: route (%s): sources[%d]: %s", s.pos, r.key(), i, fmt.Sprintf(format, args...))
}

// pipelineSortedNames returns the keys of m in order, for stable messages.
func pipelineSortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
