package stix

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// A STIX pattern (section 9) is parsed into a tree of observation
// expressions (ObsExpr) whose leaves hold comparison expressions
// (CompExpr). Precedence, highest first: parentheses, AND, OR, FOLLOWEDBY
// (section 9.5.3); qualifiers bind to the observation expression before
// them and are not greedy.

// Pattern is a parsed STIX pattern.
type Pattern struct {
	Root ObsExpr
	// Text is the pattern as given.
	Text string
}

// ObsExpr is an observation expression: *Observation, *ObsOp or
// *Qualified.
type ObsExpr interface{ obsExpr() }

// Observation is one bracketed observation expression: comparisons that
// one observation must satisfy.
type Observation struct{ Expr CompExpr }

// ObsOp joins two observation expressions with AND, OR or FOLLOWEDBY.
type ObsOp struct {
	Op   string
	L, R ObsExpr
}

// Qualified is an observation expression with one qualifier: WITHIN
// (Within seconds), REPEATS (Repeats times) or START/STOP.
type Qualified struct {
	X           ObsExpr
	Kind        string // WITHIN, REPEATS or START
	Within      float64
	Repeats     int
	Start, Stop time.Time
}

func (*Observation) obsExpr() {}
func (*ObsOp) obsExpr()       {}
func (*Qualified) obsExpr()   {}

// CompExpr is a comparison expression: *BoolOp or *Comparison.
type CompExpr interface{ compExpr() }

// BoolOp joins two comparison expressions with AND or OR.
type BoolOp struct {
	Op   string
	L, R CompExpr
}

// Comparison is an object path compared with a constant: Op is one of
// = != < <= > >= IN LIKE MATCHES ISSUBSET ISSUPERSET EXISTS; Not negates
// it. IN holds its set in Set; EXISTS has no constant.
type Comparison struct {
	Path  Path
	Not   bool
	Op    string
	Value Constant
	Set   []Constant
}

func (*BoolOp) compExpr()     {}
func (*Comparison) compExpr() {}

// Path is an object path (section 9.7): the object type and the steps
// from it.
type Path struct {
	Type  string
	Steps []Step
}

// Step is one step of a path: a property (or dictionary key, or the
// property of a referenced object), or a list index (Index >= 0, or Any
// for [*]).
type Step struct {
	Name  string
	Index int // -1 for a property step
	Any   bool
}

// String writes the path as it is written in a pattern, names quoted
// when they need to be.
func (p Path) String() string {
	var b strings.Builder
	b.WriteString(p.Type)
	b.WriteByte(':')
	for i, s := range p.Steps {
		switch {
		case s.Any:
			b.WriteString("[*]")
		case s.Index >= 0:
			fmt.Fprintf(&b, "[%d]", s.Index)
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			if plainName(s.Name) {
				b.WriteString(s.Name)
			} else {
				b.WriteString(Quote(s.Name))
			}
		}
	}
	return b.String()
}

func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ConstKind is the type of a constant (section 9.2).
type ConstKind uint8

// The constant types of section 9.2.
const (
	ConstString ConstKind = iota
	ConstInt
	ConstFloat
	ConstBool
	ConstTimestamp
	ConstHex
	ConstBinary
)

// Constant is a constant of a comparison.
type Constant struct {
	Kind  ConstKind
	Str   string // a string's text
	Num   float64
	Bool  bool
	Time  time.Time
	Bytes []byte // hex and binary constants
}

// Limits of what ParsePattern reads: a pattern is a line of intelligence,
// not a program.
const (
	MaxPatternBytes = 64 << 10
	maxDepth        = 64
)

// ParsePattern parses a STIX pattern. Errors say where (the byte offset)
// and what was expected.
func ParsePattern(s string) (*Pattern, error) {
	if len(s) > MaxPatternBytes {
		return nil, fmt.Errorf("pattern of %d bytes: at most %d", len(s), MaxPatternBytes)
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("pattern is not UTF-8")
	}
	p := &parser{lx: lexer{src: s}}
	if err := p.next(); err != nil {
		return nil, err
	}
	root, err := p.obsFollowedBy(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errorf("unexpected %s after the pattern", p.tok)
	}
	return &Pattern{Root: root, Text: s}, nil
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tInt
	tFloat
	tTimestamp
	tHex
	tBinary
	tPunct // [ ] ( ) , : . and the comparison operators
)

type token struct {
	kind tokKind
	text string // the identifier, punctuation or keyword; the string's value
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of pattern"
	case tString:
		return Quote(t.text)
	case tTimestamp:
		return "t" + Quote(t.text)
	case tHex:
		return "h" + Quote(t.text)
	case tBinary:
		return "b" + Quote(t.text)
	}
	return strconv.Quote(t.text)
}

type lexer struct {
	src string
	pos int
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[l.pos:])
		if !unicode.IsSpace(r) {
			break
		}
		l.pos += n
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	switch {
	case c == '\'':
		s, err := l.str()
		return token{kind: tString, text: s, pos: start}, err
	case (c == 't' || c == 'h' || c == 'b') && l.pos+1 < len(l.src) && l.src[l.pos+1] == '\'':
		l.pos++
		s, err := l.str()
		kind := map[byte]tokKind{'t': tTimestamp, 'h': tHex, 'b': tBinary}[c]
		return token{kind: kind, text: s, pos: start}, err
	case c == '-' || c == '+' || c >= '0' && c <= '9':
		l.pos++
		for l.pos < len(l.src) && l.src[l.pos] >= '0' && l.src[l.pos] <= '9' {
			l.pos++
		}
		kind := tInt
		if l.pos < len(l.src) && l.src[l.pos] == '.' {
			kind = tFloat
			l.pos++
			for l.pos < len(l.src) && l.src[l.pos] >= '0' && l.src[l.pos] <= '9' {
				l.pos++
			}
		}
		text := l.src[start:l.pos]
		if text == "-" || text == "+" || strings.HasSuffix(text, ".") {
			return token{}, fmt.Errorf("offset %d: bad number %q", start, text)
		}
		return token{kind: kind, text: text, pos: start}, nil
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		l.pos++
		for l.pos < len(l.src) {
			c := l.src[l.pos]
			if c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
				l.pos++
				continue
			}
			break
		}
		return token{kind: tIdent, text: l.src[start:l.pos], pos: start}, nil
	}
	for _, op := range []string{"!=", "<>", "<=", ">=", "=", "<", ">", "[", "]", "(", ")", ",", ":", ".", "*"} {
		if strings.HasPrefix(l.src[l.pos:], op) {
			l.pos += len(op)
			return token{kind: tPunct, text: op, pos: start}, nil
		}
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return token{}, fmt.Errorf("offset %d: unexpected character %q", start, r)
}

// str reads a quoted string at l.pos: only \' and \\ are escapes
// (section 9.2).
func (l *lexer) str() (string, error) {
	start := l.pos
	l.pos++ // the opening quote
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '\'':
			l.pos++
			return b.String(), nil
		case '\\':
			if l.pos+1 >= len(l.src) || (l.src[l.pos+1] != '\'' && l.src[l.pos+1] != '\\') {
				return "", fmt.Errorf("offset %d: in a string, a backslash escapes only ' and \\", l.pos)
			}
			b.WriteByte(l.src[l.pos+1])
			l.pos += 2
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return "", fmt.Errorf("offset %d: string not closed", start)
}

type parser struct {
	lx  lexer
	tok token
}

func (p *parser) next() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.tok.pos, fmt.Sprintf(format, args...))
}

func (p *parser) is(text string) bool {
	return (p.tok.kind == tIdent || p.tok.kind == tPunct) && p.tok.text == text
}

func (p *parser) expect(text string) error {
	if !p.is(text) {
		return p.errorf("want %q, got %s", text, p.tok)
	}
	return p.next()
}

func (p *parser) deeper(depth int) error {
	if depth > maxDepth {
		return p.errorf("nested more than %d levels", maxDepth)
	}
	return nil
}

// obsFollowedBy: obsOr (FOLLOWEDBY obsOr)*
func (p *parser) obsFollowedBy(depth int) (ObsExpr, error) {
	return p.obsBinary(depth, "FOLLOWEDBY", p.obsOr)
}

func (p *parser) obsOr(depth int) (ObsExpr, error) { return p.obsBinary(depth, "OR", p.obsAnd) }

func (p *parser) obsAnd(depth int) (ObsExpr, error) { return p.obsBinary(depth, "AND", p.obsQualified) }

func (p *parser) obsBinary(depth int, op string, sub func(int) (ObsExpr, error)) (ObsExpr, error) {
	return binary(p, depth, op, sub, func(l, r ObsExpr) ObsExpr { return &ObsOp{Op: op, L: l, R: r} })
}

// binary parses sub (op sub)*, joined left to right.
func binary[T any](p *parser, depth int, op string, sub func(int) (T, error), join func(l, r T) T) (T, error) {
	l, err := sub(depth)
	if err != nil {
		return l, err
	}
	for p.is(op) {
		if err := p.next(); err != nil {
			return l, err
		}
		r, err := sub(depth)
		if err != nil {
			return l, err
		}
		l = join(l, r)
	}
	return l, nil
}

// obsQualified: ( '[' comparison ']' | '(' obsFollowedBy ')' ) qualifier*
func (p *parser) obsQualified(depth int) (ObsExpr, error) {
	if err := p.deeper(depth); err != nil {
		return nil, err
	}
	var x ObsExpr
	switch {
	case p.is("["):
		if err := p.next(); err != nil {
			return nil, err
		}
		c, err := p.compOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect("]"); err != nil {
			return nil, err
		}
		x = &Observation{Expr: c}
	case p.is("("):
		if err := p.next(); err != nil {
			return nil, err
		}
		inner, err := p.obsFollowedBy(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		x = inner
	default:
		return nil, p.errorf("want an observation expression ('[' or '('), got %s", p.tok)
	}
	seen := map[string]bool{}
	for p.is("WITHIN") || p.is("REPEATS") || p.is("START") {
		kind := p.tok.text
		if seen[kind] {
			return nil, p.errorf("a second %s qualifier (section 9.5.1 allows one of each type)", kind)
		}
		seen[kind] = true
		q := &Qualified{X: x, Kind: kind}
		if err := p.next(); err != nil {
			return nil, err
		}
		switch kind {
		case "WITHIN":
			if p.tok.kind != tInt && p.tok.kind != tFloat {
				return nil, p.errorf("WITHIN wants a number of seconds, got %s", p.tok)
			}
			v, err := strconv.ParseFloat(p.tok.text, 64)
			if err != nil || v <= 0 {
				return nil, p.errorf("WITHIN %s: want a positive number", p.tok.text)
			}
			q.Within = v
			if err := p.next(); err != nil {
				return nil, err
			}
			if err := p.expect("SECONDS"); err != nil {
				return nil, err
			}
		case "REPEATS":
			n, err := strconv.Atoi(p.tok.text)
			if p.tok.kind != tInt || err != nil || n < 1 {
				return nil, p.errorf("REPEATS wants a positive integer, got %s", p.tok)
			}
			q.Repeats = n
			if err := p.next(); err != nil {
				return nil, err
			}
			if err := p.expect("TIMES"); err != nil {
				return nil, err
			}
		case "START":
			t, err := p.timestamp()
			if err != nil {
				return nil, err
			}
			if err := p.expect("STOP"); err != nil {
				return nil, err
			}
			u, err := p.timestamp()
			if err != nil {
				return nil, err
			}
			if !u.After(t) {
				return nil, p.errorf("STOP %s is not after START %s", Timestamp(u), Timestamp(t))
			}
			q.Start, q.Stop = t, u
		}
		x = q
	}
	return x, nil
}

func (p *parser) timestamp() (time.Time, error) {
	if p.tok.kind != tTimestamp {
		return time.Time{}, p.errorf("want a timestamp t'...', got %s", p.tok)
	}
	t, err := parseTimestamp(p.tok.text, false)
	if err != nil {
		return time.Time{}, p.errorf("%v", err)
	}
	return t, p.next()
}

func (p *parser) compOr(depth int) (CompExpr, error) { return p.compBinary(depth, "OR", p.compAnd) }

func (p *parser) compAnd(depth int) (CompExpr, error) {
	return p.compBinary(depth, "AND", p.comparison)
}

func (p *parser) compBinary(depth int, op string, sub func(int) (CompExpr, error)) (CompExpr, error) {
	return binary(p, depth, op, sub, func(l, r CompExpr) CompExpr { return &BoolOp{Op: op, L: l, R: r} })
}

// comparison: '(' compOr ')' | NOT? EXISTS path | path NOT? op constant
// (the NOT of EXISTS as the grammar of the OASIS pattern validator has it:
// section 9.6.1 lets NOT precede any comparison operator).
func (p *parser) comparison(depth int) (CompExpr, error) {
	if err := p.deeper(depth); err != nil {
		return nil, err
	}
	if p.is("(") {
		if err := p.next(); err != nil {
			return nil, err
		}
		c, err := p.compOr(depth + 1)
		if err != nil {
			return nil, err
		}
		return c, p.expect(")")
	}
	not := p.is("NOT")
	if not {
		if err := p.next(); err != nil {
			return nil, err
		}
		if !p.is("EXISTS") {
			return nil, p.errorf("want EXISTS after a NOT before an object path, got %s", p.tok)
		}
	}
	if p.is("EXISTS") {
		if err := p.next(); err != nil {
			return nil, err
		}
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		return &Comparison{Path: path, Op: "EXISTS", Not: not}, nil
	}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	c := &Comparison{Path: path}
	if p.is("NOT") {
		c.Not = true
		if err := p.next(); err != nil {
			return nil, err
		}
	}
	if p.tok.kind != tPunct && p.tok.kind != tIdent {
		return nil, p.errorf("want a comparison operator after %s, got %s", path, p.tok)
	}
	switch op := p.tok.text; op {
	case "=", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET":
		if op == "<>" {
			op = "!="
		}
		c.Op = op
		if err := p.next(); err != nil {
			return nil, err
		}
		v, err := p.constant()
		if err != nil {
			return nil, err
		}
		switch {
		case (op == "LIKE" || op == "MATCHES" || op == "ISSUBSET" || op == "ISSUPERSET") && v.Kind != ConstString:
			return nil, p.errorf("%s wants a string constant", op)
		case (op == "<" || op == "<=" || op == ">" || op == ">=") && v.Kind == ConstBool:
			return nil, p.errorf("%s cannot compare a boolean", op)
		}
		c.Value = v
	case "IN":
		c.Op = op
		if err := p.next(); err != nil {
			return nil, err
		}
		if err := p.expect("("); err != nil {
			return nil, err
		}
		for {
			v, err := p.constant()
			if err != nil {
				return nil, err
			}
			if len(c.Set) > 0 && c.Set[0].Kind != v.Kind {
				return nil, p.errorf("the constants of IN must be of one type (section 9.6.1)")
			}
			c.Set = append(c.Set, v)
			if !p.is(",") {
				break
			}
			if err := p.next(); err != nil {
				return nil, err
			}
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
	default:
		return nil, p.errorf("want a comparison operator after %s, got %s", path, p.tok)
	}
	return c, nil
}

// path: type ':' name ('.' name | '[' (int|'*') ']')*
func (p *parser) path() (Path, error) {
	if p.tok.kind != tIdent || keyword[p.tok.text] {
		return Path{}, p.errorf("want an object type, got %s", p.tok)
	}
	path := Path{Type: p.tok.text}
	if err := p.next(); err != nil {
		return path, err
	}
	if err := p.expect(":"); err != nil {
		return path, err
	}
	name, err := p.name()
	if err != nil {
		return path, err
	}
	path.Steps = append(path.Steps, Step{Name: name, Index: -1})
	for p.is(".") || p.is("[") {
		if p.is(".") {
			if err := p.next(); err != nil {
				return path, err
			}
			name, err := p.name()
			if err != nil {
				return path, err
			}
			path.Steps = append(path.Steps, Step{Name: name, Index: -1})
			continue
		}
		if err := p.next(); err != nil {
			return path, err
		}
		switch {
		case p.is("*"):
			path.Steps = append(path.Steps, Step{Index: -1, Any: true})
		case p.tok.kind == tInt:
			n, err := strconv.Atoi(p.tok.text)
			if err != nil || n < 0 {
				return path, p.errorf("list index %s: want 0 or more, or *", p.tok.text)
			}
			path.Steps = append(path.Steps, Step{Index: n})
		default:
			return path, p.errorf("want a list index or *, got %s", p.tok)
		}
		if err := p.next(); err != nil {
			return path, err
		}
		if err := p.expect("]"); err != nil {
			return path, err
		}
	}
	if len(path.Steps) > maxDepth {
		return path, p.errorf("object path of more than %d steps", maxDepth)
	}
	return path, nil
}

// name reads a property name: an identifier or a quoted string (for names
// with hyphens or dots).
func (p *parser) name() (string, error) {
	switch p.tok.kind {
	case tIdent:
		if strings.Contains(p.tok.text, "-") {
			return "", p.errorf("property name %s has a hyphen: quote it ('%s')", p.tok.text, p.tok.text)
		}
	case tString:
	default:
		return "", p.errorf("want a property name, got %s", p.tok)
	}
	n := p.tok.text
	return n, p.next()
}

var keyword = map[string]bool{"AND": true, "OR": true, "NOT": true, "FOLLOWEDBY": true, "LIKE": true, "MATCHES": true,
	"ISSUBSET": true, "ISSUPERSET": true, "EXISTS": true, "IN": true, "WITHIN": true, "SECONDS": true, "REPEATS": true,
	"TIMES": true, "START": true, "STOP": true}

func (p *parser) constant() (Constant, error) {
	t := p.tok
	var c Constant
	switch t.kind {
	case tString:
		c = Constant{Kind: ConstString, Str: t.text}
	case tInt:
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return c, p.errorf("integer %s: %v", t.text, err)
		}
		c = Constant{Kind: ConstInt, Num: float64(n), Str: t.text}
	case tFloat:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return c, p.errorf("float %s: %v", t.text, err)
		}
		c = Constant{Kind: ConstFloat, Num: f, Str: t.text}
	case tTimestamp:
		tm, err := parseTimestamp(t.text, false)
		if err != nil {
			return c, p.errorf("%v", err)
		}
		c = Constant{Kind: ConstTimestamp, Time: tm, Str: t.text}
	case tHex:
		b, err := hex.DecodeString(t.text)
		if err != nil {
			return c, p.errorf("hex constant h'%s': an even number of hex digits", t.text)
		}
		c = Constant{Kind: ConstHex, Bytes: b, Str: t.text}
	case tBinary:
		b, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\n", "", "\r", "").Replace(t.text))
		if err != nil {
			return c, p.errorf("binary constant b'...': not base64: %v", err)
		}
		c = Constant{Kind: ConstBinary, Bytes: b, Str: t.text}
	case tIdent:
		if t.text != "true" && t.text != "false" {
			return c, p.errorf("want a constant, got %s", t)
		}
		c = Constant{Kind: ConstBool, Bool: t.text == "true", Str: t.text}
	default:
		return c, p.errorf("want a constant, got %s", t)
	}
	return c, p.next()
}
