package sigma

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// loader loads one document and collects its problems. Only the first
// error of a document is kept (the document is rejected); every warning is
// kept.
type loader struct {
	file   string
	meta   *Meta
	errs   []*Error
	failed bool
	// agg is the v1 aggregation found in the condition, if any; timeframe
	// is the node of the detection's timeframe.
	agg          *aggInfo
	timeframe    *yaml.Node
	timeframeKey string
	// categories lists the logsource's categories when it lists several.
	categories     []string
	categoriesNode *yaml.Node
	// hayabusa is set for a rule in Hayabusa's format (ruletype:
	// Hayabusa), which may leave out the condition of a single search.
	hayabusa bool
}

func (l *loader) add(n *yaml.Node, key, msg string, warning bool) {
	pos := Pos{File: l.file}
	if n != nil {
		pos.Line, pos.Column = n.Line, n.Column
	}
	l.addAt(pos, key, msg, warning)
}

func (l *loader) addAt(pos Pos, key, msg string, warning bool) {
	if l.failed && !warning {
		return
	}
	e := &Error{Key: key, Msg: msg, Warning: warning, Pos: pos}
	if l.meta != nil {
		e.RuleID, e.Title = l.meta.ID, l.meta.Title
	}
	if !warning {
		l.failed = true
	}
	l.errs = append(l.errs, e)
}

// fail records the error that rejects the document.
func (l *loader) fail(n *yaml.Node, key, msg string) { l.add(n, key, msg, false) }

// warn records a problem that does not reject the document.
func (l *loader) warn(n *yaml.Node, key, msg string) { l.add(n, key, msg, true) }

// Keys of the specification shared by every document kind, and the
// additional ones of each kind.
var (
	metaKeys = map[string]bool{
		"title": true, "id": true, "name": true, "related": true, "taxonomy": true,
		"status": true, "description": true, "license": true, "author": true,
		"references": true, "date": true, "modified": true, "falsepositives": true,
		"level": true, "tags": true, "fields": true, "scope": true,
	}
	ruleKeys        = map[string]bool{"logsource": true, "detection": true}
	correlationKeys = map[string]bool{"correlation": true, "generate": true}
	filterKeys      = map[string]bool{"logsource": true, "filter": true}
)

var (
	levels   = map[string]bool{"informational": true, "low": true, "medium": true, "high": true, "critical": true}
	statuses = map[string]bool{"stable": true, "test": true, "experimental": true, "deprecated": true, "unsupported": true}
	relTypes = map[string]bool{"derived": true, "obsolete": true, "merged": true, "renamed": true, "similar": true}
)

// readMeta fills m from the document root; own lists the keys the document
// kind adds to the shared ones.
func (l *loader) readMeta(root *yaml.Node, m *Meta, own map[string]bool) {
	l.meta = m
	m.Pos = Pos{File: l.file, Line: root.Line, Column: root.Column}
	// Identify the rule first so that every error carries id and title.
	if n := mapGet(root, "id"); n != nil {
		m.ID = l.str(n, "id")
	}
	if n := mapGet(root, "title"); n != nil {
		m.Title = l.str(n, "title")
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			l.fail(k, "", "a key must be a string")
			continue
		}
		if prev, ok := seen[key]; ok {
			l.fail(k, key, fmt.Sprintf("duplicate key (first at line %d)", prev.Line))
			continue
		}
		seen[key] = k
		switch key {
		case "id", "title":
			// Read above.
		case "name":
			m.Name = l.str(v, key)
		case "description":
			m.Description = l.str(v, key)
		case "status":
			m.Status = l.str(v, key)
			if m.Status != "" && !statuses[m.Status] {
				l.warn(v, key, fmt.Sprintf("unknown status %q (want stable, test, experimental, deprecated or unsupported)", m.Status))
			}
		case "level":
			m.Level = l.str(v, key)
			if m.Level != "" && !levels[m.Level] {
				l.warn(v, key, fmt.Sprintf("unknown level %q (want informational, low, medium, high or critical)", m.Level))
			}
		case "author":
			m.Author = l.str(v, key)
		case "date":
			m.Date = l.str(v, key)
			l.checkDate(v, key, m.Date)
		case "modified":
			m.Modified = l.str(v, key)
			l.checkDate(v, key, m.Modified)
		case "references":
			m.References = l.strList(v, key)
		case "tags":
			m.Tags = l.strList(v, key)
		case "falsepositives":
			m.FalsePositives = l.strList(v, key)
		case "fields":
			m.Fields = l.strList(v, key)
		case "related":
			m.Related = l.related(v)
		case "taxonomy", "license", "scope":
			// Known, not kept in the model.
		default:
			if own[key] {
				continue
			}
			if key == "timeframe" {
				continue // handled with the detection
			}
			if m.Custom == nil {
				m.Custom = map[string]string{}
			}
			m.Custom[key] = scalarText(v)
			l.warn(k, key, "key is not in the Sigma specification (kept as custom)")
		}
	}
	if m.Title == "" && !l.failed {
		if mapGet(root, "title") == nil {
			l.fail(root, "title", "missing title")
		} else {
			l.fail(mapGet(root, "title"), "title", "empty title")
		}
	}
}

// checkDate warns when a date is not written YYYY-MM-DD.
func (l *loader) checkDate(n *yaml.Node, key, s string) {
	if s == "" {
		return
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		l.warn(n, key, "date is not written YYYY-MM-DD")
	}
}

// str returns the text of a scalar; "" for null. Anything else is an error.
func (l *loader) str(n *yaml.Node, key string) string {
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		l.fail(n, key, "expected a string, got "+kindName(n))
		return ""
	}
	return n.Value
}

// strList returns a list of scalars; a single scalar is a list of one and
// null an empty list.
// maxCategories bounds the categories of a logsource that lists several
// (Sigma's taxonomy has about 40 for Windows).
const maxCategories = 64

func (l *loader) strList(n *yaml.Node, key string) []string {
	switch {
	case isNull(n):
		return nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}
	case n.Kind != yaml.SequenceNode:
		l.fail(n, key, "expected a list of strings, got "+kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, e := range n.Content {
		if isNull(e) {
			continue
		}
		if e.Kind != yaml.ScalarNode {
			l.fail(e, fmt.Sprintf("%s[%d]", key, i), "expected a string, got "+kindName(e))
			return nil
		}
		out = append(out, e.Value)
	}
	return out
}

func (l *loader) related(n *yaml.Node) []Related {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.fail(n, "related", "expected a list of {id, type}, got "+kindName(n))
		return nil
	}
	var out []Related
	for i, e := range n.Content {
		key := fmt.Sprintf("related[%d]", i)
		if e.Kind != yaml.MappingNode {
			l.fail(e, key, "expected {id, type}, got "+kindName(e))
			return nil
		}
		var r Related
		if v := mapGet(e, "id"); v != nil {
			r.ID = l.str(v, key+".id")
		}
		if v := mapGet(e, "type"); v != nil {
			r.Type = l.str(v, key+".type")
		}
		if r.ID == "" {
			l.warn(e, key, "related entry without id")
		}
		if r.Type != "" && !relTypes[r.Type] {
			l.warn(e, key+".type", fmt.Sprintf("unknown related type %q", r.Type))
		}
		out = append(out, r)
	}
	return out
}

// scalarText renders a node for Meta.Custom: a scalar's text, or the YAML
// of anything else, without comments (the fast YAML parser drops them).
func scalarText(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	b, err := yaml.Marshal(withoutComments(n))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

// withoutComments returns a deep copy of n without comments.
func withoutComments(n *yaml.Node) *yaml.Node {
	out := *n
	out.HeadComment, out.LineComment, out.FootComment = "", "", ""
	out.Content = make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out.Content[i] = withoutComments(c)
	}
	return &out
}

func (l *loader) logsource(root *yaml.Node) Logsource {
	var ls Logsource
	n := mapGet(root, "logsource")
	if n == nil {
		l.fail(root, "logsource", "missing logsource")
		return ls
	}
	if n.Kind != yaml.MappingNode {
		l.fail(n, "logsource", "expected a mapping of category, product, service, got "+kindName(n))
		return ls
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := "logsource." + k.Value
		switch k.Value {
		case "category":
			if v.Kind == yaml.SequenceNode {
				// Some packs list several categories: the rule is loaded
				// once per category (perCategory).
				cats := l.strList(v, key)
				if len(cats) == 0 {
					l.fail(v, key, "empty list of categories")
					break
				}
				// Each makes a rule: a repeat would make two with one id,
				// and a long list a rule pack of its own.
				seen := map[string]bool{}
				uniq := cats[:0]
				for _, c := range cats {
					if !seen[c] {
						seen[c] = true
						uniq = append(uniq, c)
					}
				}
				if len(uniq) < len(cats) {
					l.warn(v, key, "a category listed twice is loaded once")
				}
				cats = uniq
				if len(cats) > maxCategories {
					l.fail(v, key, fmt.Sprintf("lists %d categories, more than the %d a rule may be loaded for", len(cats), maxCategories))
					break
				}
				ls.Category = cats[0]
				if len(cats) > 1 {
					l.categories, l.categoriesNode = cats, v
				}
				break
			}
			ls.Category = l.str(v, key)
		case "product":
			ls.Product = l.str(v, key)
		case "service":
			ls.Service = l.str(v, key)
		case "definition":
			ls.Definition = l.str(v, key)
		default:
			// The specification allows further optional elements.
		}
	}
	return ls
}

// rule loads a detection rule.
func (l *loader) rule(root *yaml.Node) *Rule {
	r := &Rule{}
	l.readMeta(root, &r.Meta, ruleKeys)
	r.Logsource = l.logsource(root)
	dk, det := mapGetKV(root, "detection")
	if det == nil {
		l.fail(root, "detection", "missing detection")
		return nil
	}
	if rt := mapGet(root, "ruletype"); rt != nil && strings.EqualFold(rt.Value, "hayabusa") {
		l.hayabusa = true
	}
	r.Detection = l.detection(dk, det, "detection", nil)
	if tf := mapGet(root, "timeframe"); tf != nil {
		r.Detection.Timeframe = l.readTimeframe(tf, "timeframe")
	}
	if l.failed {
		return nil
	}
	l.timeframeUnused()
	return r
}

// timeframeUnused warns about a timeframe no v1 aggregation uses.
func (l *loader) timeframeUnused() {
	if l.timeframe != nil && l.agg == nil {
		l.warn(l.timeframe, l.timeframeKey, "timeframe is deprecated (it belonged to v1 aggregations; use a correlation rule)")
	}
}

// filter loads a Sigma filter.
func (l *loader) filter(root *yaml.Node) *Filter {
	f := &Filter{}
	l.readMeta(root, &f.Meta, filterKeys)
	f.Logsource = l.logsource(root)
	fk, n := mapGetKV(root, "filter")
	if n.Kind != yaml.MappingNode {
		l.fail(n, "filter", "expected a mapping of rules, searches and condition, got "+kindName(n))
		return nil
	}
	if rules := mapGet(n, "rules"); rules != nil {
		f.Rules = l.strList(rules, "filter.rules")
	}
	if len(f.Rules) == 0 {
		l.warn(n, "filter.rules", "filter names no rules: it applies to every rule of its logsource")
	}
	f.Detection = l.detection(fk, n, "filter", map[string]bool{"rules": true})
	if l.categories != nil {
		l.fail(l.categoriesNode, "logsource.category", "a filter names one category")
	}
	if l.agg != nil {
		l.fail(l.agg.node, l.agg.key, "a filter cannot hold a v1 aggregation")
	}
	if l.failed {
		return nil
	}
	l.timeframeUnused()
	return f
}

// detection loads a detection section n under the key node k (or the
// searches of a filter); skip names keys that are not searches.
func (l *loader) detection(k, n *yaml.Node, key string, skip map[string]bool) Detection {
	var d Detection
	if n.Kind != yaml.MappingNode {
		l.fail(n, key, "expected a mapping of searches and condition, got "+kindName(n))
		return d
	}
	var cond *yaml.Node
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		sk, v := n.Content[i], n.Content[i+1]
		if sk.Kind != yaml.ScalarNode {
			l.fail(sk, key, "a search identifier must be a string")
			return d
		}
		name := sk.Value
		path := key + "." + name
		if prev, ok := seen[name]; ok {
			l.fail(sk, path, fmt.Sprintf("duplicate key (first at line %d)", prev.Line))
			return d
		}
		seen[name] = sk
		switch {
		case skip[name]:
		case name == "condition":
			cond = v
		case name == "timeframe":
			d.Timeframe = l.readTimeframe(v, path)
		default:
			if s := l.search(sk, v, path); s != nil {
				d.Searches = append(d.Searches, s)
			}
		}
	}
	if cond == nil && l.hayabusa && len(d.Searches) == 1 {
		// Hayabusa reads its rules so (its rule parser takes the sole
		// selection as the condition); Sigma requires a condition.
		name := d.Searches[0].Name
		cond = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name, Line: k.Line, Column: k.Column}
		l.warn(k, key+".condition", fmt.Sprintf("missing condition: the only search, %q, is the condition, as Hayabusa reads a rule of its format (ruletype: Hayabusa) without one", name))
	}
	if cond == nil {
		l.fail(k, key+".condition", "missing condition")
		return d
	}
	l.conditions(cond, key+".condition", &d)
	return d
}

// readTimeframe reads the deprecated timeframe of v1 aggregations.
func (l *loader) readTimeframe(n *yaml.Node, key string) time.Duration {
	l.timeframe, l.timeframeKey = n, key
	if n.Kind != yaml.ScalarNode {
		l.fail(n, key, "expected a duration such as 5m, got "+kindName(n))
		return 0
	}
	d, err := parseTimespan(n.Value)
	if err != nil {
		l.fail(n, key, err.Error())
	}
	return d
}

// conditions parses the condition (a string or a list of strings, ORed)
// and checks that the identifiers it names exist. A v1 aggregation in the
// condition is split off into l.agg for the caller to convert.
func (l *loader) conditions(n *yaml.Node, key string, d *Detection) {
	var nodes []*yaml.Node
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		nodes = []*yaml.Node{n}
	case n.Kind == yaml.SequenceNode && len(n.Content) > 0:
		nodes = n.Content
	default:
		l.fail(n, key, "condition must be a string or a list of strings, got "+kindName(n))
		return
	}
	used := map[string]bool{}
	for i, c := range nodes {
		ckey := key
		if n.Kind == yaml.SequenceNode {
			ckey = fmt.Sprintf("%s[%d]", key, i)
		}
		if c.Kind != yaml.ScalarNode || isNull(c) {
			l.fail(c, ckey, "condition must be a string, got "+kindName(c))
			return
		}
		if statefulProgram(c.Value) {
			l.failCond(c, ckey, 1, "column 1: a stateful program (\"write FIELD from SEARCH to %VAR%; then if ... -> alert\"), a draft form no Sigma version defines: neither a condition nor a v1 aggregation, it cannot be converted")
			return
		}
		text, off := c.Value, 0
		if search, searchOff, aggText, aggOff, ok := splitAggregation(c.Value); ok {
			if len(nodes) > 1 {
				l.failCond(c, ckey, aggOff+1, "column "+strconv.Itoa(aggOff+1)+": a v1 aggregation in a list of conditions cannot be converted to a correlation rule")
				return
			}
			a, err := parseAggregation(aggText)
			if err != nil {
				se := err.(*SyntaxError)
				l.failCond(c, ckey, aggOff+se.Column, "column "+strconv.Itoa(aggOff+se.Column)+": "+se.Msg)
				return
			}
			if strings.TrimSpace(search) == "" {
				l.failCond(c, ckey, 1, "column 1: v1 aggregation without a search to aggregate")
				return
			}
			text, off = search, searchOff
			l.agg = &aggInfo{aggregation: a, node: c, key: ckey, search: strings.TrimSpace(search)}
			for i, term := range a.near {
				e, ok := l.condition(c, ckey, term, aggOff+a.nearOff[i], d, used)
				if !ok {
					return
				}
				l.agg.nearExprs = append(l.agg.nearExprs, e)
			}
		}
		e, ok := l.condition(c, ckey, text, off, d, used)
		if !ok {
			return
		}
		d.Conditions = append(d.Conditions, e)
		d.ConditionText = append(d.ConditionText, strings.TrimSpace(text))
	}
	for _, s := range d.Searches {
		if !used[s.Name] {
			l.addAt(s.Pos, key, fmt.Sprintf("search %q is not used by the condition", s.Name), true)
		}
	}
}

// statefulProgram reports whether condition s is written in a draft form
// of stateful detection, "write X from S to %V%; then if ... -> alert",
// which some retired SigmaHQ rules use.
func statefulProgram(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) > 6 && strings.EqualFold(s[:6], "write ") && strings.Contains(s, ";") && strings.Contains(s, "->")
}

// condition parses text, found at byte offset off of the condition c, and
// checks that the searches it names exist, marking them in used.
func (l *loader) condition(c *yaml.Node, ckey, text string, off int, d *Detection, used map[string]bool) (Expr, bool) {
	e, offs, err := parseCondition(text, true)
	if err != nil {
		col := 0
		if se, ok := err.(*SyntaxError); ok {
			col = se.Column + off
			err = &SyntaxError{Column: col, Msg: se.Msg}
		}
		l.failCond(c, ckey, col, err.Error())
		return nil, false
	}
	var bad string
	badOff := 0
	Walk(e, func(x Expr) {
		if bad != "" {
			return
		}
		switch x := x.(type) {
		case *IdentExpr:
			if !hasSearch(d.Searches, x.Name) {
				bad, badOff = fmt.Sprintf("condition names search %q, which the detection does not define", x.Name), offs[x]
			}
			used[x.Name] = true
		case *OfExpr:
			n := 0
			for _, s := range d.Searches {
				if x.Match(s.Name) {
					n++
					used[s.Name] = true
				}
			}
			if n == 0 {
				bad, badOff = fmt.Sprintf("%q matches no search of the detection", x.String()), offs[x]
			}
		}
	})
	if bad != "" {
		col := badOff + off + 1
		l.failCond(c, ckey, col, "column "+strconv.Itoa(col)+": "+bad)
		return nil, false
	}
	return e, true
}

// failCond reports a condition error at column col (1-based, in the
// condition text) of the scalar c.
func (l *loader) failCond(c *yaml.Node, key string, col int, msg string) {
	pos := nodePos(l.file, c)
	if col > 0 && !strings.Contains(c.Value, "\n") {
		switch c.Style {
		case 0: // plain
			pos.Column = c.Column + col - 1
		case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
			pos.Column = c.Column + col
		}
	}
	l.addAt(pos, key, msg, false)
}

func hasSearch(ss []*Search, name string) bool {
	for _, s := range ss {
		if s.Name == name {
			return true
		}
	}
	return false
}

// search loads one search identifier.
func (l *loader) search(k, n *yaml.Node, path string) *Search {
	s := &Search{Name: k.Value, Pos: nodePos(l.file, k)}
	switch n.Kind {
	case yaml.MappingNode:
		alt := l.fieldMatches(n, path)
		if alt == nil {
			return nil
		}
		s.Alternatives = append(s.Alternatives, alt)
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			l.fail(n, path, "empty search")
			return nil
		}
		var kw *FieldMatch
		for i, e := range n.Content {
			epath := fmt.Sprintf("%s[%d]", path, i)
			switch e.Kind {
			case yaml.MappingNode:
				alt := l.fieldMatches(e, epath)
				if alt == nil {
					return nil
				}
				s.Alternatives = append(s.Alternatives, alt)
			case yaml.ScalarNode:
				if isNull(e) {
					l.fail(e, epath, "null in a keyword list")
					return nil
				}
				if kw == nil {
					kw = &FieldMatch{Pos: nodePos(l.file, e)}
					s.Alternatives = append(s.Alternatives, []*FieldMatch{kw})
				}
				kw.Values = append(kw.Values, scalarValue(e))
			default:
				l.fail(e, epath, "expected a keyword or a mapping of fields, got "+kindName(e))
				return nil
			}
		}
	case yaml.ScalarNode:
		if isNull(n) {
			l.fail(k, path, "empty search")
			return nil
		}
		s.Alternatives = [][]*FieldMatch{{{Pos: nodePos(l.file, n), Values: []Value{scalarValue(n)}}}}
	default:
		l.fail(n, path, "expected a mapping of fields or a list, got "+kindName(n))
		return nil
	}
	return s
}

// fieldMatches loads a mapping of `field|modifiers: values` (ANDed).
func (l *loader) fieldMatches(n *yaml.Node, path string) []*FieldMatch {
	if len(n.Content) == 0 {
		l.fail(n, path, "empty search")
		return nil
	}
	out := make([]*FieldMatch, 0, len(n.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.fail(k, path, "a field name must be a string")
			return nil
		}
		fpath := path + "." + k.Value
		if prev, ok := seen[k.Value]; ok {
			l.fail(k, fpath, fmt.Sprintf("duplicate field (first at line %d)", prev.Line))
			return nil
		}
		seen[k.Value] = k
		fm := l.fieldMatch(k, v, fpath)
		if fm == nil {
			return nil
		}
		out = append(out, fm)
	}
	return out
}

// fieldMatch loads one `field|modifiers: values` entry.
func (l *loader) fieldMatch(k, v *yaml.Node, path string) *FieldMatch {
	parts := strings.Split(k.Value, "|")
	fm := &FieldMatch{Field: parts[0], Pos: nodePos(l.file, k)}
	mods, err := parseModifiers(parts[1:])
	if err != nil {
		l.fail(k, path, err.Error())
		return nil
	}
	fm.Modifiers = mods
	var valNodes []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		valNodes = []*yaml.Node{v}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			l.fail(v, path, "empty value list")
			return nil
		}
		for i, e := range v.Content {
			if e.Kind != yaml.ScalarNode {
				l.fail(e, fmt.Sprintf("%s[%d]", path, i), "a value must be a scalar, got "+kindName(e))
				return nil
			}
			if isNull(e) && len(v.Content) > 1 {
				l.fail(e, fmt.Sprintf("%s[%d]", path, i), "null cannot be part of a value list (write a separate search)")
				return nil
			}
		}
		valNodes = v.Content
	default:
		l.fail(v, path, "a value must be a scalar or a list of scalars, got "+kindName(v))
		return nil
	}
	fm.Values = make([]Value, len(valNodes))
	for i, e := range valNodes {
		fm.Values[i] = scalarValue(e)
	}
	if fm.Field == "" && len(mods) == 0 {
		l.fail(k, path, "empty field name")
		return nil
	}
	for _, p := range checkModifiers(fm.Field == "", parts[1:], mods, fm.Values) {
		at := k
		if p.value >= 0 {
			at = valNodes[p.value]
		}
		l.add(at, path, p.msg, p.warning)
	}
	if l.failed {
		return nil
	}
	return fm
}

// scalarValue converts a YAML scalar into a Value, keeping its text.
func scalarValue(n *yaml.Node) Value {
	v := Value{Kind: StringValue, Raw: n.Value}
	switch n.Tag {
	case "!!null":
		v.Kind = NullValue
	case "!!bool":
		v.Kind = BoolValue
		v.Bool = strings.EqualFold(n.Value, "true")
	case "!!int", "!!float":
		if f, ok := parseNumber(n.Value); ok {
			v.Kind = NumberValue
			v.Number = f
		}
	}
	return v
}

// parseNumber parses the text of a YAML 1.2 number (decimal, 0x, 0o, 0b,
// optional underscores, .inf, .nan).
func parseNumber(s string) (float64, bool) {
	t := strings.ReplaceAll(s, "_", "")
	base := 0
	if d := strings.TrimLeft(t, "+-"); len(d) > 1 && d[0] == '0' && d[1] >= '0' && d[1] <= '9' {
		base = 10 // 017 is seventeen, not YAML 1.1 octal
	}
	if i, err := strconv.ParseInt(t, base, 64); err == nil {
		return float64(i), true
	}
	if u, err := strconv.ParseUint(t, base, 64); err == nil {
		return float64(u), true
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		return f, true
	}
	switch strings.ToLower(strings.TrimLeft(t, "+")) {
	case ".inf":
		return math.Inf(1), true
	case "-.inf":
		return math.Inf(-1), true
	case ".nan":
		return math.NaN(), true
	}
	return 0, false
}
