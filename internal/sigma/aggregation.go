package sigma

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Sigma 1.x wrote aggregations in the condition ("selection | count() by
// host > 5", "a | near b", with a detection-level timeframe). The
// specification replaced them with correlation rules, and so does the
// loader: such a rule becomes the detection rule(s) of its searches plus a
// correlation over them (see convert.go).

// aggregation is the parsed aggregation part of a v1 condition.
type aggregation struct {
	fn      string // count, min, max, avg, sum or near
	field   string // the argument of count/min/max/avg/sum; "" for count()
	groupBy []string
	op      string // gt, gte, lt, lte, eq, neq
	value   float64
	// near: the searches that must occur near the main condition, as
	// condition texts (each a positive term) with their byte offsets in the
	// aggregation text, and the negated terms left out.
	near, nearNot []string
	nearOff       []int
}

// maxGroupBy bounds the fields a correlation groups by: every event of its
// rules is keyed by all of them.
const maxGroupBy = 32

// v1Funcs are the aggregation functions of Sigma 1.x.
var v1Funcs = map[string]bool{"count": true, "min": true, "max": true, "avg": true, "sum": true}

// splitAggregation finds a v1 aggregation in the condition text s. It
// returns the search condition (what selects the events) and the
// aggregation text, each with its byte offset in s; ok is false when s has
// no aggregation. Two forms are found: "SEARCH | AGG" and, as some
// pre-specification rules write it, "AGG and SEARCH" with the aggregation
// first.
func splitAggregation(s string) (search string, searchOff int, agg string, off int, ok bool) {
	if i := strings.IndexByte(s, '|'); i >= 0 {
		return s[:i], 0, s[i+1:], i + 1, true
	}
	t := strings.TrimLeftFunc(s, unicode.IsSpace)
	name, _, found := strings.Cut(t, "(")
	if !found || !v1Funcs[strings.ToLower(strings.TrimSpace(name))] {
		return "", 0, "", 0, false
	}
	lead := len(s) - len(t)
	// The aggregation ends after its comparison's number; what follows,
	// after "and", is the search.
	end := aggregationEnd(t)
	rest := strings.TrimSpace(t[end:])
	if w, r, _ := strings.Cut(rest, " "); strings.EqualFold(w, "and") {
		rest = r
	}
	return rest, len(strings.TrimRightFunc(s, unicode.IsSpace)) - len(rest), t[:end], lead, true
}

// aggregationEnd returns the end of a leading "fn(field) by X op N" in t:
// just past the number after the first comparison operator.
func aggregationEnd(t string) int {
	i := strings.IndexAny(t, "<>=!")
	if i < 0 {
		return len(t)
	}
	for i < len(t) && strings.IndexByte("<>=!", t[i]) >= 0 {
		i++
	}
	for i < len(t) && t[i] == ' ' {
		i++
	}
	for i < len(t) && t[i] != ' ' {
		i++
	}
	return i
}

// parseAggregation parses "count(field) by a, b > 5", "near x and y and
// not z". Errors are *SyntaxError with columns relative to s.
func parseAggregation(s string) (*aggregation, error) {
	p := aggLexer{src: s}
	p.skip()
	start := p.pos
	word := p.word()
	if word == "" {
		return nil, p.errf("expected an aggregation function (count, min, max, avg, sum) or near after '|'")
	}
	fn := strings.ToLower(word)
	if fn == "near" {
		return p.near()
	}
	if !v1Funcs[fn] {
		p.pos = start
		return nil, p.errf("unknown aggregation function %q (want count, min, max, avg, sum or near)", word)
	}
	a := &aggregation{fn: fn}
	if !p.take('(') {
		return nil, p.errf("expected '(' after %s", word)
	}
	a.field = p.word()
	if !p.take(')') {
		return nil, p.errf("expected ')' after the field of %s", word)
	}
	if fn != "count" && a.field == "" {
		return nil, p.errf("%s() needs a field", fn)
	}
	for {
		save := p.pos
		w := strings.ToLower(p.word())
		if w != "by" && w != "per" {
			p.pos = save
			break
		}
		for {
			if len(a.groupBy) == maxGroupBy {
				p.skip()
				return nil, p.errf("groups by more than %d fields", maxGroupBy)
			}
			g := p.word()
			if g == "" {
				return nil, p.errf("expected a field after %q", w)
			}
			a.groupBy = append(a.groupBy, g)
			if !p.take(',') {
				break
			}
		}
	}
	op := p.operator()
	if op == "" {
		return nil, p.errf("expected a comparison (>, >=, <, <=, ==, !=) and a number")
	}
	a.op = op
	num := p.word()
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return nil, p.errf("expected a number after the comparison, got %q", num)
	}
	a.value = v
	if p.skip(); p.pos < len(s) {
		return nil, p.errf("unexpected %q after the aggregation", s[p.pos:])
	}
	return a, nil
}

// maxNearTerms bounds the searches of a near: each becomes a detection
// rule with the whole detection (convert).
const maxNearTerms = 32

// near parses the terms after "near": searches joined by "and", some
// negated. A term is an identifier, "1 of X"/"all of X", or parenthesised.
func (p *aggLexer) near() (*aggregation, error) {
	a := &aggregation{fn: "near"}
	for {
		p.skip()
		start := p.pos
		neg := false
		if save := p.pos; strings.EqualFold(p.word(), "not") {
			neg = true
			p.skip()
			start = p.pos
		} else {
			p.pos = save
		}
		end := p.termEnd()
		raw := p.src[start:end]
		term := strings.TrimSpace(raw)
		start += len(raw) - len(strings.TrimLeftFunc(raw, unicode.IsSpace)) // skip spares \v, \f and others
		if term == "" {
			return nil, p.errf("expected a search after near")
		}
		if len(a.near)+len(a.nearNot) == maxNearTerms {
			p.pos = start
			return nil, p.errf("near joins at most %d searches", maxNearTerms)
		}
		p.pos = end
		if neg {
			a.nearNot = append(a.nearNot, term)
		} else {
			a.near = append(a.near, term)
			a.nearOff = append(a.nearOff, start)
		}
		if p.skip(); p.pos >= len(p.src) {
			break
		}
		if !strings.EqualFold(p.word(), "and") {
			return nil, p.errf("near joins searches with 'and' only")
		}
	}
	if len(a.near) == 0 {
		return nil, p.errf("near needs at least one search that is not negated")
	}
	return a, nil
}

// termEnd returns the end of the near term starting at p.pos: up to the
// next top-level " and ".
func (p *aggLexer) termEnd() int {
	depth := 0
	for i := p.pos; i < len(p.src); i++ {
		switch p.src[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ' ', '\t':
			if depth == 0 && len(p.src)-i > 4 && strings.EqualFold(p.src[i+1:i+4], "and") && (p.src[i+4] == ' ' || p.src[i+4] == '(') {
				return i
			}
		}
	}
	return len(p.src)
}

// aggLexer reads the tokens of an aggregation.
type aggLexer struct {
	src string
	pos int
}

func (p *aggLexer) errf(format string, args ...any) error {
	return &SyntaxError{Column: p.pos + 1, Msg: "v1 aggregation: " + fmt.Sprintf(format, args...)}
}

func (p *aggLexer) skip() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

// word reads a field name, function name or number.
func (p *aggLexer) word() string {
	p.skip()
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || strings.IndexByte("(),<>=!|", c) >= 0 {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *aggLexer) take(c byte) bool {
	p.skip()
	if p.pos < len(p.src) && p.src[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// operator reads a comparison and returns its correlation name.
func (p *aggLexer) operator() string {
	p.skip()
	for _, o := range [...]struct{ text, op string }{
		{">=", "gte"}, {"<=", "lte"}, {"==", "eq"}, {"!=", "neq"}, {"<>", "neq"},
		{">", "gt"}, {"<", "lt"}, {"=", "eq"},
	} {
		if strings.HasPrefix(p.src[p.pos:], o.text) {
			p.pos += len(o.text)
			return o.op
		}
	}
	return ""
}
