package sigma

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SyntaxError is a malformed condition. Column is the 1-based byte column
// in the condition text where the problem was found.
type SyntaxError struct {
	Column int
	Msg    string
}

// Error implements error as "column N: msg".
func (e *SyntaxError) Error() string {
	return "column " + strconv.Itoa(e.Column) + ": " + e.Msg
}

// ParseCondition parses one Sigma condition, such as
// "selection and not 1 of filter_*". The grammar, from the loosest to the
// tightest binding: or, and, not, "1 of" / "all of", parentheses. Keywords
// are case-insensitive; "any of" is accepted as "1 of". Identifiers are made
// of letters, digits, '_', '-' and '.'; patterns after "of" may also hold '*'.
// The deprecated v1 aggregations ("| count() by X > 5", "near") are
// rejected: the specification replaced them with correlation rules, and
// the loader splits them off a rule's condition and converts them
// (convert.go) before the rest comes here.
//
// ParseCondition checks syntax only; the loader checks that identifiers
// name existing searches.
func ParseCondition(s string) (Expr, error) {
	e, _, err := parseCondition(s, false)
	return e, err
}

// parseCondition parses s; with offsets it also returns the byte offset of
// every IdentExpr and OfExpr, for error messages.
func parseCondition(s string, offsets bool) (Expr, map[Expr]int, error) {
	p := condParser{src: s}
	if offsets {
		p.offs = make(map[Expr]int)
	}
	e, err := p.parse()
	return e, p.offs, err
}

func (p *condParser) parse() (Expr, error) {
	p.lex()
	if len(p.toks) == 1 { // only the end token
		return nil, &SyntaxError{Column: 1, Msg: "empty condition"}
	}
	e, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		if t.kind == tokRParen {
			return nil, p.errAt(t, "unbalanced ')'")
		}
		return nil, p.errAt(t, "unexpected "+t.describe()+" after a complete expression (missing 'and' or 'or'?)")
	}
	return e, nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokNot
	tokOf
	tokAll  // all
	tokOne  // 1 or any
	tokThem // them
	tokBad  // a lexical error; msg says what
)

type token struct {
	kind tokKind
	text string
	off  int    // byte offset in the source
	msg  string // for tokBad
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of condition"
	case tokLParen:
		return "'('"
	case tokRParen:
		return "')'"
	case tokIdent:
		return "identifier '" + t.text + "'"
	}
	return "keyword '" + t.text + "'"
}

// maxConditionDepth bounds nesting so that hostile input cannot exhaust the
// stack.
const maxConditionDepth = 200

type condParser struct {
	src  string
	toks []token
	pos  int
	offs map[Expr]int // nil unless offsets are wanted
}

func (p *condParser) record(e Expr, t token) Expr {
	if p.offs != nil {
		p.offs[e] = t.off
	}
	return e
}

// errAt reports msg at token t; at a lexical error token, that error is
// reported instead: the parser reaches it only when everything before it
// parsed.
func (p *condParser) errAt(t token, msg string) error {
	if t.kind == tokBad {
		msg = t.msg
	}
	return &SyntaxError{Column: t.off + 1, Msg: msg}
}

// bad ends the token list with a lexical error at offset off.
func (p *condParser) bad(off int, msg string) {
	p.toks = append(p.toks, token{kind: tokBad, off: off, msg: msg}, token{kind: tokEOF, off: len(p.src)})
}

func isIdentRune(r rune) bool {
	return r == '_' || r == '-' || r == '.' || r == '*' ||
		unicode.IsLetter(r) || unicode.IsDigit(r)
}

func (p *condParser) lex() {
	s := p.src
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			i += n
		case r == '(':
			p.toks = append(p.toks, token{kind: tokLParen, text: "(", off: i})
			i++
		case r == ')':
			p.toks = append(p.toks, token{kind: tokRParen, text: ")", off: i})
			i++
		case r == '|':
			p.bad(i, "v1 aggregation ('| count() ...') is not supported: use a correlation rule")
			return
		case isIdentRune(r):
			start := i
			for i < len(s) {
				r, n := utf8.DecodeRuneInString(s[i:])
				if !isIdentRune(r) {
					break
				}
				i += n
			}
			word := s[start:i]
			t := token{kind: tokIdent, text: word, off: start}
			switch strings.ToLower(word) {
			case "and":
				t.kind = tokAnd
			case "or":
				t.kind = tokOr
			case "not":
				t.kind = tokNot
			case "of":
				t.kind = tokOf
			case "all":
				t.kind = tokAll
			case "1", "any":
				t.kind = tokOne
			case "them":
				t.kind = tokThem
			case "near":
				p.bad(start, "v1 'near' aggregation is not supported: use a temporal correlation rule")
				return
			}
			p.toks = append(p.toks, t)
		default:
			if r == utf8.RuneError && n == 1 {
				p.bad(i, "invalid UTF-8")
			} else {
				p.bad(i, "unexpected character "+strconv.QuoteRune(r))
			}
			return
		}
	}
	p.toks = append(p.toks, token{kind: tokEOF, off: len(s)})
}

func (p *condParser) peek() token { return p.toks[p.pos] }

func (p *condParser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *condParser) parseOr(depth int) (Expr, error) {
	first, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tokOr {
		return first, nil
	}
	ops := []Expr{first}
	for p.peek().kind == tokOr {
		p.next()
		e, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		ops = append(ops, e)
	}
	return &OrExpr{Operands: ops}, nil
}

func (p *condParser) parseAnd(depth int) (Expr, error) {
	first, err := p.parseNot(depth)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tokAnd {
		return first, nil
	}
	ops := []Expr{first}
	for p.peek().kind == tokAnd {
		p.next()
		e, err := p.parseNot(depth)
		if err != nil {
			return nil, err
		}
		ops = append(ops, e)
	}
	return &AndExpr{Operands: ops}, nil
}

func (p *condParser) parseNot(depth int) (Expr, error) {
	if depth > maxConditionDepth {
		return nil, p.errAt(p.peek(), "condition nested too deeply")
	}
	if p.peek().kind == tokNot {
		p.next()
		e, err := p.parseNot(depth + 1)
		if err != nil {
			return nil, err
		}
		return &NotExpr{Operand: e}, nil
	}
	return p.parsePrimary(depth)
}

func (p *condParser) parsePrimary(depth int) (Expr, error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		if p.peek().kind == tokRParen {
			return nil, p.errAt(p.peek(), "empty parentheses")
		}
		e, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tokRParen {
			if c.kind == tokEOF {
				return nil, p.errAt(t, "unclosed '('")
			}
			return nil, p.errAt(c, "expected ')' or an operator, got "+c.describe())
		}
		p.next()
		return e, nil
	case tokOne, tokAll:
		of := p.next()
		if of.kind != tokOf {
			return nil, p.errAt(of, "expected 'of' after '"+t.text+"', got "+of.describe())
		}
		pat := p.next()
		switch pat.kind {
		case tokThem:
			return p.record(&OfExpr{All: t.kind == tokAll, Pattern: "them"}, t), nil
		case tokIdent:
			return p.record(&OfExpr{All: t.kind == tokAll, Pattern: pat.text}, t), nil
		}
		return nil, p.errAt(pat, "expected a search identifier pattern or 'them' after 'of', got "+pat.describe())
	case tokIdent:
		if n, err := strconv.Atoi(t.text); err == nil && p.peek().kind == tokOf {
			return nil, p.errAt(t, "'"+strconv.Itoa(n)+" of' is not supported: only '1 of' and 'all of'")
		}
		if p.peek().kind == tokLParen {
			switch strings.ToLower(t.text) {
			case "count", "min", "max", "avg", "sum":
				return nil, p.errAt(t, "v1 aggregation ('"+t.text+"(...)') is not supported: use a correlation rule")
			}
		}
		if strings.Contains(t.text, "*") {
			return nil, p.errAt(t, "wildcard identifier '"+t.text+"' must follow '1 of' or 'all of'")
		}
		return p.record(&IdentExpr{Name: t.text}, t), nil
	case tokEOF:
		return nil, p.errAt(t, "unexpected end of condition")
	}
	return nil, p.errAt(t, "unexpected "+t.describe())
}

// String renders "(a and b)".
func (e *AndExpr) String() string { return joinExprs(e.Operands, " and ") }

// String renders "(a or b)".
func (e *OrExpr) String() string { return joinExprs(e.Operands, " or ") }

// String renders "not x".
func (e *NotExpr) String() string { return "not " + e.Operand.String() }

// String renders the identifier.
func (e *IdentExpr) String() string { return e.Name }

// String renders "1 of pattern" or "all of pattern".
func (e *OfExpr) String() string {
	if e.All {
		return "all of " + e.Pattern
	}
	return "1 of " + e.Pattern
}

func joinExprs(ops []Expr, sep string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, o := range ops {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(o.String())
	}
	b.WriteByte(')')
	return b.String()
}

// Match reports whether a search named name is among those the expression
// selects: for "them", every search whose name does not start with '_'; for
// a pattern, every search whose name matches it ('*' matches any run of
// characters).
func (e *OfExpr) Match(name string) bool {
	if e.Pattern == "them" {
		return !strings.HasPrefix(name, "_")
	}
	return wildcardMatch(e.Pattern, name)
}

// wildcardMatch matches name against pattern where '*' stands for any run
// of characters and everything else is literal.
func wildcardMatch(pattern, name string) bool {
	// Greedy matching with backtracking to the last star: linear enough for
	// identifier patterns.
	px, nx := 0, 0
	starPx, starNx := -1, 0
	for nx < len(name) {
		switch {
		case px < len(pattern) && pattern[px] == '*':
			starPx, starNx = px, nx
			px++
		case px < len(pattern) && pattern[px] == name[nx]:
			px++
			nx++
		case starPx >= 0:
			px = starPx + 1
			starNx++
			nx = starNx
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// Walk calls fn for e and every expression below it, depth first.
func Walk(e Expr, fn func(Expr)) {
	fn(e)
	switch x := e.(type) {
	case *AndExpr:
		for _, o := range x.Operands {
			Walk(o, fn)
		}
	case *OrExpr:
		for _, o := range x.Operands {
			Walk(o, fn)
		}
	case *NotExpr:
		Walk(x.Operand, fn)
	}
}
