package stix

import (
	"bytes"
	"cmp"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
)

// Record is one observation a matcher reads: an event's time and fields
// (as text, under Sigma's names, as a detection keeps them).
type Record struct {
	Time   time.Time
	Fields []result.Field
}

// Matcher is a compiled STIX pattern: it finds the records, or the sets of
// records, that match it. It is safe for concurrent use.
type Matcher struct {
	pattern *Pattern
	root    obsNode
	leaves  []obsLeaf
}

// Compile turns a pattern into a matcher over Windows events. A pattern
// that names an object or property spoor's events never hold (email
// messages, certificates, a file's size...) is rejected with an error
// saying which and what spoor can match, as is a MATCHES whose regular
// expression uses PCRE features RE2 lacks.
func Compile(p *Pattern) (*Matcher, error) {
	m := &Matcher{pattern: p}
	root, err := m.compileObs(p.Root)
	if err != nil {
		return nil, err
	}
	m.root = root
	return m, nil
}

// Observed is what one record shows to matchers: its observables, made
// once for all the matchers a record is given to.
type Observed struct{ scos []sco }

// Observe returns what a record's fields show to matchers.
func Observe(fields []result.Field) Observed { return Observed{observables(fields)} }

// Single reports whether the pattern is one observation expression
// without qualifiers: a record matches it alone (see Matches).
func (m *Matcher) Single() bool {
	_, ok := m.root.(obsLeaf)
	return ok
}

// Matches reports whether o satisfies one of the pattern's observation
// expressions: for a Single pattern, whether the record matches; for
// others, whether it can be part of a match, so that a caller reading a
// stream keeps only those records for Match.
func (m *Matcher) Matches(o Observed) bool {
	for _, l := range m.leaves {
		for i := range o.scos {
			if l.c.match(&o.scos[i]) {
				return true
			}
		}
	}
	return false
}

// Pattern returns the pattern m was compiled from.
func (m *Matcher) Pattern() *Pattern { return m.pattern }

// MaxHits bounds the matches kept per observation expression: AND,
// FOLLOWEDBY and REPEATS combine them, and the combinations of a pattern
// that matches everything would otherwise grow without bound. The
// earliest are kept.
const MaxHits = 1000

// Match returns the matches of the pattern among recs: each a set of
// indices of recs (one for a single observation expression), sorted.
func (m *Matcher) Match(recs []Record) [][]int {
	obs := make([][]sco, len(recs))
	for i := range recs {
		obs[i] = observables(recs[i].Fields)
	}
	budget := MaxSteps
	hits := m.root.eval(&evalState{recs, obs, &budget})
	out := make([][]int, len(hits))
	for i, h := range hits {
		out[i] = h.recs
	}
	return out
}

// hit is one match of an observation expression: the records it took,
// and the earliest and latest of their times.
type hit struct {
	recs        []int
	first, last time.Time
}

func (a hit) disjoint(b hit) bool {
	for _, i := range a.recs {
		if slices.Contains(b.recs, i) {
			return false
		}
	}
	return true
}

func (a hit) merge(b hit) hit {
	recs := append(slices.Clone(a.recs), b.recs...)
	slices.Sort(recs)
	first, last := a.first, a.last
	if b.first.Before(first) {
		first = b.first
	}
	if b.last.After(last) {
		last = b.last
	}
	return hit{recs, first, last}
}

// MaxSteps bounds the work of one Match: the pairs of hits AND and
// FOLLOWEDBY try, the hits REPEATS gathers. A pattern written to make a
// retro-hunt combine without end is cut short there, keeping the matches
// found.
const MaxSteps = 10_000_000

// evalState is what the nodes of one Match share.
type evalState struct {
	recs   []Record
	obs    [][]sco
	budget *int
}

// step spends n of the budget and reports whether any was left.
func (st *evalState) step(n int) bool {
	*st.budget -= n
	return *st.budget >= 0
}

type obsNode interface {
	eval(st *evalState) []hit
}

type obsLeaf struct{ c compNode }

func (n obsLeaf) eval(st *evalState) []hit {
	var out []hit
	for i := range st.recs {
		for _, s := range st.obs[i] {
			if n.c.match(&s) {
				out = append(out, hit{[]int{i}, st.recs[i].Time, st.recs[i].Time})
				break
			}
		}
		if len(out) == MaxHits {
			break
		}
	}
	return out
}

type obsBin struct {
	op   string
	l, r obsNode
}

func (n obsBin) eval(st *evalState) []hit {
	l, r := n.l.eval(st), n.r.eval(st)
	if n.op == "OR" {
		return capHits(append(l, r...))
	}
	var out []hit
	for _, a := range l {
		for _, b := range r {
			if !st.step(len(a.recs) * len(b.recs)) {
				return out
			}
			if !a.disjoint(b) || (n.op == "FOLLOWEDBY" && b.first.Before(a.last)) {
				continue
			}
			out = append(out, a.merge(b))
			if len(out) == MaxHits {
				return out
			}
		}
	}
	return out
}

func capHits(h []hit) []hit {
	slices.SortStableFunc(h, func(a, b hit) int { return a.first.Compare(b.first) })
	return h[:min(len(h), MaxHits)]
}

type obsQual struct {
	q *Qualified
	x obsNode
}

func (n obsQual) eval(st *evalState) []hit {
	in := n.x.eval(st)
	var out []hit
	switch n.q.Kind {
	case "WITHIN":
		window := time.Duration(n.q.Within * float64(time.Second))
		for _, h := range in {
			if h.last.Sub(h.first) < window {
				out = append(out, h)
			}
		}
	case "START":
		for _, h := range in {
			if !h.first.Before(n.q.Start) && h.last.Before(n.q.Stop) {
				out = append(out, h)
			}
		}
	case "REPEATS":
		// From each hit in time order, the next hits that share no
		// record with those taken, until there are Repeats of them.
		in = capHits(in)
		for i := range in {
			acc, taken := in[i], 1
			for j := i + 1; j < len(in) && taken < n.q.Repeats; j++ {
				if !st.step(len(acc.recs) * len(in[j].recs)) {
					return out
				}
				if acc.disjoint(in[j]) {
					acc, taken = acc.merge(in[j]), taken+1
				}
			}
			if taken == n.q.Repeats {
				out = append(out, acc)
			}
		}
	}
	return out
}

func (m *Matcher) compileObs(x ObsExpr) (obsNode, error) {
	switch x := x.(type) {
	case *Observation:
		if _, err := obsType(x.Expr); err != nil {
			return nil, err
		}
		c, err := compileComp(x.Expr)
		m.leaves = append(m.leaves, obsLeaf{c})
		return obsLeaf{c}, err
	case *ObsOp:
		l, err := m.compileObs(x.L)
		if err != nil {
			return nil, err
		}
		r, err := m.compileObs(x.R)
		return obsBin{x.Op, l, r}, err
	case *Qualified:
		in, err := m.compileObs(x.X)
		return obsQual{x, in}, err
	}
	return nil, fmt.Errorf("unknown observation expression %T", x)
}

// obsType checks section 9.5's rule that the operands of AND in one
// observation expression are of one object type (they must hold for one
// object); it returns that type, or "" for an OR of several.
func obsType(c CompExpr) (string, error) {
	switch c := c.(type) {
	case *Comparison:
		return c.Path.Type, nil
	case *BoolOp:
		l, err := obsType(c.L)
		if err != nil {
			return "", err
		}
		r, err := obsType(c.R)
		if err != nil {
			return "", err
		}
		if c.Op == "AND" && l != "" && r != "" && l != r {
			return "", fmt.Errorf("%s AND %s in one observation expression: its comparisons must hold for one object, of one type (section 9.5)", l, r)
		}
		if l != r {
			return "", nil
		}
		return l, nil
	}
	return "", nil
}

type compNode interface{ match(s *sco) bool }

type compBin struct {
	and  bool
	l, r compNode
}

func (n compBin) match(s *sco) bool {
	if n.and {
		return n.l.match(s) && n.r.match(s)
	}
	return n.l.match(s) || n.r.match(s)
}

// compLeaf is one comparison compiled: the property it reads and the
// test of its value.
type compLeaf struct {
	typ, key string
	not      bool
	exists   bool
	// parent: EXISTS of a list, dictionary or reference (key) whose items
	// the observables hold (key[*]..., key....).
	parent bool
	test   func(v string) bool
}

func (n compLeaf) match(s *sco) bool {
	if s.typ != n.typ {
		return false
	}
	v, ok := s.get(n.key)
	if n.exists {
		if n.parent {
			ok = slices.ContainsFunc(s.props, func(p result.Field) bool { return isChild(p.Name, n.key) })
		}
		return ok != n.not
	}
	if !ok {
		return false // a property not present makes the comparison false, NOT or not (section 9.6)
	}
	return n.test(v) != n.not
}

func compileComp(c CompExpr) (compNode, error) {
	switch c := c.(type) {
	case *BoolOp:
		l, err := compileComp(c.L)
		if err != nil {
			return nil, err
		}
		r, err := compileComp(c.R)
		return compBin{c.Op == "AND", l, r}, err
	case *Comparison:
		return compileComparison(c)
	}
	return nil, fmt.Errorf("unknown comparison %T", c)
}

// pathKey is a path's property as observables name it: names joined by
// dots, unquoted, list indices as [*] (spoor's observables hold one item
// per list).
func pathKey(p Path) string {
	var b strings.Builder
	for i, s := range p.Steps {
		switch {
		case s.Any || s.Index >= 0:
			b.WriteString("[*]")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Name)
		}
	}
	return b.String()
}

func compileComparison(c *Comparison) (compNode, error) {
	keys, ok := properties[c.Path.Type]
	if !ok {
		return nil, fmt.Errorf("%s: spoor's Windows events hold no %s objects (it matches %s)", c.Path, c.Path.Type, strings.Join(slices.Sorted(mapKeysOf(properties)), ", "))
	}
	key := pathKey(c.Path)
	// EXISTS of a list, dictionary or reference asks for any of its items
	// (section 9.6.1's EXISTS windows-registry-key:values).
	parent := c.Op == "EXISTS" && !slices.Contains(keys, key) && slices.ContainsFunc(keys, func(k string) bool { return isChild(k, key) })
	if !slices.Contains(keys, key) && !parent {
		return nil, fmt.Errorf("%s: spoor's Windows events give no %s of a %s (it matches %s)", c.Path, key, c.Path.Type, strings.Join(keys, ", "))
	}
	n := compLeaf{typ: c.Path.Type, key: key, not: c.Not, parent: parent}
	fold := foldCase(c.Path.Type, key)
	switch c.Op {
	case "EXISTS":
		n.exists = true
	case "=", "!=":
		eq, err := equal(c.Value, fold, isAddr(c.Path.Type, key))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", c.Path, c.Op, err)
		}
		n.test = eq
		if c.Op == "!=" {
			n.test = func(v string) bool { return !eq(v) }
		}
	case "IN":
		var tests []func(string) bool
		for _, v := range c.Set {
			eq, err := equal(v, fold, isAddr(c.Path.Type, key))
			if err != nil {
				return nil, fmt.Errorf("%s IN: %w", c.Path, err)
			}
			tests = append(tests, eq)
		}
		n.test = func(v string) bool {
			return slices.ContainsFunc(tests, func(t func(string) bool) bool { return t(v) })
		}
	case "<", "<=", ">", ">=":
		n.test = order(c.Op, c.Value)
	case "LIKE":
		var re strings.Builder
		re.WriteString(`(?s)^`)
		if fold {
			re.WriteString(`(?i)`)
		}
		for _, r := range c.Value.Str {
			switch r {
			case '%':
				re.WriteString(".*")
			case '_':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString("$")
		rx := regexp.MustCompile(re.String()) // made of quoted text and .*
		n.test = rx.MatchString
	case "MATCHES":
		rx, err := regexp.Compile(`(?s)` + c.Value.Str)
		if err != nil {
			return nil, fmt.Errorf("%s MATCHES %s: %v (spoor's regular expressions are RE2: PCRE's backreferences and lookaround are not supported)", c.Path, Quote(c.Value.Str), err)
		}
		n.test = rx.MatchString
	case "ISSUBSET", "ISSUPERSET":
		if !isAddr(c.Path.Type, key) {
			return nil, fmt.Errorf("%s %s: only an address's value can be a subset or superset", c.Path, c.Op)
		}
		b, err := prefix(c.Value.Str)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", c.Path, c.Op, err)
		}
		sub := c.Op == "ISSUBSET"
		n.test = func(v string) bool {
			a, err := prefix(v)
			if err != nil || a.Addr().Is4() != b.Addr().Is4() {
				return false
			}
			if sub {
				return a.Bits() >= b.Bits() && b.Contains(a.Addr())
			}
			return b.Bits() >= a.Bits() && a.Contains(b.Addr())
		}
	default:
		return nil, fmt.Errorf("%s: operator %s", c.Path, c.Op)
	}
	return n, nil
}

// isChild reports whether the property key is within parent: an item of
// its list or a property of its dictionary or object.
func isChild(key, parent string) bool {
	rest, ok := strings.CutPrefix(key, parent)
	return ok && (strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "["))
}

func mapKeysOf[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// foldCase reports whether a property compares without case: hashes are
// hexadecimal, registry keys are case-insensitive in Windows (and the
// specification says so of windows-registry-key's key).
func foldCase(typ, key string) bool {
	return strings.HasPrefix(key, "hashes.") || strings.Contains(key, ".hashes.") || typ == "windows-registry-key" && key == "key"
}

func isAddr(typ, key string) bool {
	return (typ == "ipv4-addr" || typ == "ipv6-addr") && key == "value" || strings.HasSuffix(key, "_ref.value") && typ == "network-traffic"
}

// prefix reads an address or a CIDR block.
func prefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// equal returns the test of equality with a constant.
func equal(c Constant, fold, addr bool) (func(string) bool, error) {
	switch c.Kind {
	case ConstString:
		if addr {
			if p, err := prefix(c.Str); err == nil {
				return func(v string) bool {
					a, err := prefix(v)
					return err == nil && a == p
				}, nil
			}
		}
		if fold {
			return func(v string) bool { return strings.EqualFold(v, c.Str) }, nil
		}
		return func(v string) bool { return v == c.Str }, nil
	case ConstInt, ConstFloat:
		return func(v string) bool {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && f == c.Num
		}, nil
	case ConstBool:
		return func(v string) bool {
			b, err := strconv.ParseBool(strings.ToLower(v))
			return err == nil && b == c.Bool
		}, nil
	case ConstTimestamp:
		return func(v string) bool {
			t, err := time.Parse(time.RFC3339Nano, v)
			return err == nil && t.Equal(c.Time)
		}, nil
	case ConstHex, ConstBinary:
		return func(v string) bool { return bytes.Equal([]byte(v), c.Bytes) }, nil
	}
	return nil, fmt.Errorf("constant of unknown type")
}

// order returns the test of an ordering comparison: numbers numerically,
// timestamps in time, strings by code point (section 9.6.2).
func order(op string, c Constant) func(string) bool {
	var compare func(v string) (int, bool)
	switch c.Kind {
	case ConstInt, ConstFloat:
		compare = func(v string) (int, bool) {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return cmp.Compare(f, c.Num), err == nil
		}
	case ConstTimestamp:
		compare = func(v string) (int, bool) {
			t, err := time.Parse(time.RFC3339Nano, v)
			return t.Compare(c.Time), err == nil
		}
	case ConstHex, ConstBinary:
		compare = func(v string) (int, bool) { return bytes.Compare([]byte(v), c.Bytes), true }
	default:
		compare = func(v string) (int, bool) { return strings.Compare(v, c.Str), true }
	}
	return func(v string) bool {
		r, ok := compare(v)
		if !ok {
			return false
		}
		switch op {
		case "<":
			return r < 0
		case "<=":
			return r <= 0
		case ">":
			return r > 0
		}
		return r >= 0
	}
}
