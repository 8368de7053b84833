package detect

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// compiler compiles one rule or filter for one Source.
type compiler struct {
	eng  *Engine
	opts *Options
	src  *Source
	// used records the field names the compile resolved and the Source's
	// candidates for each (nil: looked up as written).
	used map[string][]string
}

// compiledDetection is one compile of a rule's detection and filters.
type compiledDetection struct {
	cond     node
	searches []namedNode
	filters  []node
	need     need
	ids      []uint32
	idsOK    bool
	used     map[string][]string
}

// resolvesAlike reports whether src resolves every field name the compile
// used as the Source it was compiled for did, which makes compiling again
// for src give the same nodes.
func (cp *compiledDetection) resolvesAlike(src *Source) bool {
	for name, cands := range cp.used {
		if !slices.Equal(src.Fields[name], cands) {
			return false
		}
	}
	return true
}

// compileRule compiles r once per Source of its Route; Sources that
// resolve the rule's fields alike (a rule's Route often lists channels
// with the same field names) share one compile.
func (e *Engine) compileRule(r *Rule, opts *Options) ([]*variant, error) {
	sr := r.Sigma
	fail := func(key string, err error) error {
		return &RuleError{Pos: sr.Pos, ID: sr.ID, Title: sr.Title, Key: key, Err: err}
	}
	route, err := opts.Router.Route(sr.Logsource)
	if err != nil {
		return nil, fail("logsource", err)
	}
	sources := route.Sources
	if len(sources) == 0 {
		sources = []Source{{}}
	}
	var out []*variant
	var done []*compiledDetection
	for k := range sources {
		src := &sources[k]
		var cp *compiledDetection
		for _, d := range done {
			if d.resolvesAlike(src) {
				cp = d
				break
			}
		}
		if cp == nil {
			if cp, err = e.compileDetection(r, opts, src); err != nil {
				return nil, err
			}
			done = append(done, cp)
		}
		v := &variant{
			rule:     r,
			channel:  src.Channel,
			eventIDs: src.EventIDs,
			provider: src.Provider,
			fields:   src.Fields,
			cond:     cp.cond,
			searches: cp.searches,
			filters:  cp.filters,
			need:     cp.need,
		}
		// Narrow the event IDs to those the condition requires.
		if cp.idsOK {
			if len(v.eventIDs) == 0 {
				v.eventIDs = cp.ids
			} else {
				v.eventIDs = intersect(v.eventIDs, cp.ids)
				if len(v.eventIDs) == 0 {
					continue // this Source can never satisfy the rule
				}
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// compileDetection compiles r's detection and filters for src.
func (e *Engine) compileDetection(r *Rule, opts *Options, src *Source) (*compiledDetection, error) {
	sr := r.Sigma
	c := &compiler{eng: e, opts: opts, src: src, used: map[string][]string{}}
	cond, searches, key, err := c.detection(&sr.Detection)
	if err != nil {
		return nil, &RuleError{Pos: sr.Pos, ID: sr.ID, Title: sr.Title, Key: key, Err: err}
	}
	cp := &compiledDetection{cond: cond, searches: searches, used: c.used}
	for _, f := range r.Filters {
		fcond, _, key, err := c.detection(&f.Detection)
		if err != nil {
			return nil, &RuleError{Pos: f.Pos, ID: f.ID, Title: f.Title, Key: key,
				Err: fmt.Errorf("filter for rule %s: %w", sr.ID, err)}
		}
		cp.filters = append(cp.filters, fcond)
	}
	cp.need = cond.need()
	cp.ids, cp.idsOK = eventIDsOf(e, cond)
	return cp, nil
}

// detection compiles the searches and conditions of d. On error it also
// returns the key of the offending part.
func (c *compiler) detection(d *sigma.Detection) (node, []namedNode, string, error) {
	searches := make([]namedNode, 0, len(d.Searches))
	for _, s := range d.Searches {
		n, key, err := c.search(s)
		if err != nil {
			return nil, nil, key, err
		}
		searches = append(searches, namedNode{s.Name, n})
	}
	if len(d.Conditions) == 0 {
		return nil, nil, "detection.condition", fmt.Errorf("%w: no condition", ErrCondition)
	}
	var conds orNode
	for k, ce := range d.Conditions {
		n, err := conditionNode(ce, searches)
		if err != nil {
			key := "detection.condition"
			if k < len(d.ConditionText) {
				key += " " + strconv.Quote(d.ConditionText[k])
			}
			return nil, nil, key, err
		}
		conds = append(conds, n)
	}
	if len(conds) == 1 {
		return conds[0], searches, "", nil
	}
	return conds, searches, "", nil
}

// search compiles one search: its alternatives ORed, the field matches of
// an alternative ANDed.
func (c *compiler) search(s *sigma.Search) (node, string, error) {
	var alts orNode
	for _, alt := range s.Alternatives {
		var and andNode
		for _, fm := range alt {
			n, err := c.fieldMatch(fm)
			if err != nil {
				key := "detection." + s.Name
				if fm.Field != "" || len(fm.Modifiers) > 0 {
					key += "." + fieldKey(fm)
				}
				return nil, key, err
			}
			and = append(and, n)
		}
		if len(and) == 1 {
			alts = append(alts, and[0])
		} else {
			alts = append(alts, and)
		}
	}
	if len(alts) == 1 {
		return alts[0], "", nil
	}
	return alts, "", nil
}

// fieldKey renders field|mod|mod.
func fieldKey(fm *sigma.FieldMatch) string {
	s := fm.Field
	for _, m := range fm.Modifiers {
		s += "|" + string(m)
	}
	return s
}

// field resolves a Sigma field name through the Source's field names.
func (c *compiler) field(name string) int32 {
	cands := c.src.Fields[name]
	c.used[name] = cands
	if len(cands) > 0 {
		return c.eng.field(cands)
	}
	return c.eng.field([]string{name})
}

// mods is a FieldMatch's modifiers sorted out.
type mods struct {
	all, cased, neq, exists, fieldref, cidr, expand bool
	re, reI, reM, reS                               bool
	cmp                                             cmpOp
	cmpMod                                          sigma.Modifier // lt, lte, gt or gte; "" for none
	timePart                                        sigma.Modifier // minute..year; "" for none
	// steps are the value transformations in the order written: windash,
	// utf16*, base64*, contains, startswith, endswith.
	steps []sigma.Modifier
	wrap  sigma.Modifier // the one of contains, startswith, endswith
}

// sortMods checks the modifiers of fm and sorts them out.
func sortMods(fm *sigma.FieldMatch) (mods, error) {
	var m mods
	encoded := false // utf16 or base64 seen
	base64 := false
	bad := func(format string, args ...any) (mods, error) {
		return mods{}, fmt.Errorf("%w: "+format, append([]any{ErrModifier}, args...)...)
	}
	for _, mod := range fm.Modifiers {
		switch mod {
		case sigma.ModAll:
			m.all = true
		case sigma.ModCased:
			m.cased = true
		case sigma.ModNeq:
			m.neq = true
		case sigma.ModExists:
			m.exists = true
		case sigma.ModFieldRef:
			m.fieldref = true
		case sigma.ModCIDR:
			m.cidr = true
		case sigma.ModExpand:
			m.expand = true
		case sigma.ModRe:
			m.re = true
		case sigma.ModReI, sigma.ModReM, sigma.ModReS:
			if !m.re {
				return bad("%s without re before it", mod)
			}
			m.reI = m.reI || mod == sigma.ModReI
			m.reM = m.reM || mod == sigma.ModReM
			m.reS = m.reS || mod == sigma.ModReS
		case sigma.ModLt, sigma.ModLte, sigma.ModGt, sigma.ModGte:
			if m.cmpMod != "" {
				return bad("%s and %s together", m.cmpMod, mod)
			}
			m.cmpMod = mod
			m.cmp = map[sigma.Modifier]cmpOp{sigma.ModLt: opLt, sigma.ModLte: opLte, sigma.ModGt: opGt, sigma.ModGte: opGte}[mod]
		case sigma.ModMinute, sigma.ModHour, sigma.ModDay, sigma.ModWeek, sigma.ModMonth, sigma.ModYear:
			if m.timePart != "" {
				return bad("%s and %s together", m.timePart, mod)
			}
			m.timePart = mod
		case sigma.ModContains, sigma.ModStartsWith, sigma.ModEndsWith:
			if m.wrap != "" {
				return bad("%s and %s together", m.wrap, mod)
			}
			m.wrap = mod
			m.steps = append(m.steps, mod)
		case sigma.ModWindash:
			if encoded {
				return bad("windash after an encoding")
			}
			m.steps = append(m.steps, mod)
		case sigma.ModUTF16, sigma.ModUTF16LE, sigma.ModUTF16BE, sigma.ModWide:
			if base64 {
				return bad("%s after base64 (utf16 encodings come first)", mod)
			}
			if encoded {
				return bad("two utf16 encodings")
			}
			encoded = true
			m.steps = append(m.steps, mod)
		case sigma.ModBase64, sigma.ModBase64Offset:
			if base64 {
				return bad("base64 and base64offset together")
			}
			base64, encoded = true, true
			m.steps = append(m.steps, mod)
		default:
			return bad("unknown modifier %q", mod)
		}
	}
	// Type modifiers exclude each other and the string transformations.
	types := 0
	for _, b := range []bool{m.exists, m.fieldref, m.cidr, m.re, m.cmpMod != "" || m.timePart != ""} {
		if b {
			types++
		}
	}
	if types > 1 {
		return bad("%s", "more than one of exists, fieldref, cidr, re, lt/lte/gt/gte and time modifiers")
	}
	transforms := len(m.steps) > 0 || m.expand
	switch {
	case m.exists && (transforms || m.all || m.neq || m.cased):
		return bad("exists with other modifiers")
	case m.re && (transforms || m.cased):
		return bad("re with string modifiers")
	case (m.cidr || m.cmpMod != "" || m.timePart != "") && (transforms || m.cased):
		return bad("string modifiers with a cidr, numeric or time modifier")
	case m.cmpMod != "" && m.neq:
		return bad("neq with %s", m.cmpMod)
	case m.fieldref && (m.expand || len(m.steps) > 0 && (len(m.steps) > 1 || m.wrap == "")):
		return bad("fieldref with modifiers other than contains, startswith, endswith, cased, neq, all")
	}
	return m, nil
}

// fieldMatch compiles one `field|modifiers: values` entry.
func (c *compiler) fieldMatch(fm *sigma.FieldMatch) (node, error) {
	m, err := sortMods(fm)
	if err != nil {
		return nil, err
	}
	if len(fm.Values) == 0 {
		return nil, fmt.Errorf("%w: no values", ErrValue)
	}
	keyword := fm.Field == ""
	var fid int32
	if !keyword {
		fid = c.field(fm.Field)
	} else if m.exists || m.fieldref || m.cidr || m.cmpMod != "" || m.timePart != "" || m.neq {
		return nil, fmt.Errorf("%w: keyword search with a modifier that needs a field", ErrModifier)
	}

	if m.exists {
		if len(fm.Values) != 1 || fm.Values[0].Kind != sigma.BoolValue {
			return nil, fmt.Errorf("%w: exists takes one boolean", ErrValue)
		}
		return &existsNode{field: fid, want: fm.Values[0].Bool}, nil
	}

	// null is its own selection: no modifiers, not part of a list.
	var null node
	values := fm.Values
	for k, v := range fm.Values {
		if v.Kind != sigma.NullValue {
			continue
		}
		if keyword || len(fm.Modifiers) > 0 && !(len(fm.Modifiers) == 1 && m.all) {
			return nil, fmt.Errorf("%w: null with modifiers or in a keyword search", ErrValue)
		}
		null = &nullNode{field: fid}
		values = append(slices.Clip(values[:k:k]), values[k+1:]...)
		break
	}
	if null != nil && len(values) == 0 {
		return null, nil
	}

	var preds []valuePred
	str := &strPred{all: m.all, cased: m.cased, keyword: keyword}
	if len(values) > 1 {
		str.pats = make([]pattern, 0, len(values))
	}
	for _, v := range values {
		if v.Kind == sigma.NullValue {
			return nil, fmt.Errorf("%w: more than one null", ErrValue)
		}
		ps, pats, err := c.value(fid, &m, v)
		if err != nil {
			return nil, err
		}
		preds = append(preds, ps...)
		str.pats = append(str.pats, pats...)
	}
	if len(str.pats) > 0 {
		preds = append(preds, str)
	}
	var pred valuePred
	if len(preds) == 1 {
		pred = preds[0]
	} else {
		pred = &multiPred{preds: preds, all: m.all}
	}
	var n node
	switch {
	case keyword && m.all && len(values) > 1:
		// Each keyword in some field, not necessarily the same one.
		var and andNode
		for _, p := range preds {
			if p != valuePred(str) {
				and = append(and, &keywordNode{pred: p})
			}
		}
		for _, p := range str.pats {
			and = append(and, &keywordNode{pred: &strPred{pats: []pattern{p}, cased: m.cased, keyword: true}})
		}
		n = and
	case keyword:
		n = &keywordNode{pred: pred}
	default:
		// fieldref applies neq itself: a missing reference fails both ways.
		n = &fieldNode{field: fid, pred: pred, neq: m.neq && !m.fieldref}
	}
	if null != nil {
		if m.all {
			return andNode{null, n}, nil
		}
		return orNode{null, n}, nil
	}
	return n, nil
}

// value compiles one value: into predicates, or into string patterns that
// fieldMatch gathers in one strPred.
func (c *compiler) value(fid int32, m *mods, v sigma.Value) ([]valuePred, []pattern, error) {
	raw := v.Raw
	if v.Kind == sigma.BoolValue {
		raw = strconv.FormatBool(v.Bool)
	}
	switch {
	case m.fieldref:
		if v.Kind != sigma.StringValue || raw == "" {
			return nil, nil, fmt.Errorf("%w: fieldref takes field names", ErrValue)
		}
		mode := patExact
		switch m.wrap {
		case sigma.ModContains:
			mode = patContains
		case sigma.ModStartsWith:
			mode = patPrefix
		case sigma.ModEndsWith:
			mode = patSuffix
		}
		return []valuePred{&fieldrefPred{other: c.field(raw), mode: mode, cased: m.cased, neq: m.neq}}, nil, nil
	case m.re:
		re, err := compileRe(raw, m.reI, m.reM, m.reS)
		if err != nil {
			return nil, nil, err
		}
		p := &rePred{re: re, needle: -1}
		p.minLen, p.dotAll = minLength(re)
		if lit := requiredLiteral(re); lit != "" {
			p.needle, p.needleLit = c.eng.needle(fid, lit), lit
		}
		return []valuePred{p}, nil, nil
	case m.cidr:
		pfx, err := parseCIDR(raw)
		if err != nil {
			return nil, nil, err
		}
		return []valuePred{&cidrPred{prefix: pfx}}, nil, nil
	case m.cmpMod != "" || m.timePart != "":
		n, ok := numberOfRule(v)
		if !ok {
			return nil, nil, fmt.Errorf("%w: %q is not a number", ErrValue, raw)
		}
		if m.timePart != "" {
			return []valuePred{&timePred{part: m.timePart, op: m.cmp, n: n}}, nil, nil
		}
		return []valuePred{&numCmpPred{op: m.cmp, n: n}}, nil, nil
	case v.Kind == sigma.NumberValue && len(m.steps) == 0 && !m.expand && fid != 0:
		p := &numEqPred{n: v.Number, raw: toLower(raw), needle: -1}
		if canonicalInt(raw, v.Number) {
			p.needle = c.eng.needle(fid, raw)
		}
		return []valuePred{p}, nil, nil
	}

	// A string: expand placeholders, parse wildcards, transform.
	raws := []string{raw}
	if m.expand && v.Kind == sigma.StringValue {
		var err error
		if raws, err = expandPlaceholders(raw, c.opts.Placeholders); err != nil {
			return nil, nil, err
		}
	}
	var strs []sigmaString
	for _, r := range raws {
		if v.Kind == sigma.StringValue {
			strs = append(strs, parseString(r))
		} else {
			strs = append(strs, literalString(r))
		}
	}
	for _, step := range m.steps {
		var next []sigmaString
		for _, s := range strs {
			var out []sigmaString
			var err error
			switch step {
			case sigma.ModContains:
				out = []sigmaString{s.wrap(true, true)}
			case sigma.ModStartsWith:
				out = []sigmaString{s.wrap(false, true)}
			case sigma.ModEndsWith:
				out = []sigmaString{s.wrap(true, false)}
			case sigma.ModWindash:
				out, err = windash(s)
			case sigma.ModBase64:
				out, err = encodeBase64(s)
			case sigma.ModBase64Offset:
				out, err = encodeBase64Offset(s)
			default: // utf16 encodings
				out, err = encodeUTF16(s, step)
			}
			if err != nil {
				return nil, nil, err
			}
			next = append(next, out...)
		}
		strs = next
	}
	if fid == 0 { // keywords are implicitly contains
		for k, s := range strs {
			strs[k] = s.wrap(true, true)
		}
	}
	pats := make([]pattern, 0, len(strs))
	for _, s := range strs {
		p := compilePattern(s, m.cased)
		p.needle = c.eng.needle(fid, p.needleLit)
		pats = append(pats, p)
	}
	if m.all && len(strs) > 1 {
		// A value that expanded into alternatives (windash, base64offset,
		// placeholders) matches when any alternative does, even under all.
		return []valuePred{&strPred{pats: pats, cased: m.cased, keyword: fid == 0}}, nil, nil
	}
	return nil, pats, nil
}

// numberOfRule returns a rule value as a number: a YAML number or a string
// holding one.
func numberOfRule(v sigma.Value) (float64, bool) {
	switch v.Kind {
	case sigma.NumberValue:
		return v.Number, true
	case sigma.StringValue:
		return parseNumber(v.Raw)
	}
	return 0, false
}

// intersect returns the elements of a also in b.
func intersect(a, b []uint32) []uint32 {
	var out []uint32
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
