package detect

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"unicode/utf8"

	"github.com/spoor-hunt/spoor/internal/event"
)

// The re modifier: the value is a regular expression, matched (unanchored)
// against the field's text as it is, case-sensitively unless the i
// sub-modifier is given; m makes ^ and $ match at line breaks, s lets .
// match a newline. Go's RE2 syntax is a superset of the PCRE subset the
// specification allows, except for backreferences and lookaround, which
// RE2 rejects: such rules do not compile.

// rePred matches a value's text against a regular expression.
type rePred struct {
	re *regexp.Regexp
	// minLen > 0 replaces the expression `.{n,}` (RE2 unrolls it into n
	// states, which is slow): a line (a text, with s) of at least n runes.
	minLen int
	dotAll bool
	// needle is a literal every match contains (lower-cased), or -1.
	needle    int32
	needleLit string
}

// compileRe compiles the expression of the re modifier with its flags.
func compileRe(expr string, i, m, s bool) (*regexp.Regexp, error) {
	flags := ""
	if i {
		flags += "i"
	}
	if m {
		flags += "m"
	}
	if s {
		flags += "s"
	}
	if flags != "" {
		expr = "(?" + flags + ")" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRegexp, err)
	}
	return re, nil
}

// requiredLiteral returns the longest literal that every match of re
// contains, lower-cased, or "" when there is none.
func requiredLiteral(re *regexp.Regexp) string {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return ""
	}
	return toLower(reqLit(t.Simplify()))
}

func reqLit(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		return string(re.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return reqLit(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reqLit(re.Sub[0])
		}
	case syntax.OpConcat:
		best, run := "", ""
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				run += string(sub.Rune)
				if len(run) > len(best) {
					best = run
				}
				continue
			}
			run = ""
			if l := reqLit(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}

func (p *rePred) match(st *state, v event.Value, i int) bool {
	if p.needle >= 0 && st.absent(p.needle) {
		return false
	}
	t := st.text(v, i)
	if p.minLen > 0 {
		return longRun(t, p.minLen, p.dotAll)
	}
	return p.re.MatchString(t)
}

// longRun reports whether t has at least n runes, on one line unless
// dotAll.
func longRun(t string, n int, dotAll bool) bool {
	if len(t) < n {
		return false
	}
	run := 0
	for _, r := range t {
		if r == '\n' && !dotAll {
			run = 0
			continue
		}
		if run++; run >= n {
			return true
		}
	}
	return false
}

// minLength recognises `.{n,}` (unanchored, n > 1) and returns n and
// whether . matches a newline.
func minLength(re *regexp.Regexp) (int, bool) {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil || t.Op != syntax.OpRepeat || t.Max != -1 || t.Min < 2 {
		return 0, false
	}
	switch t.Sub[0].Op {
	case syntax.OpAnyCharNotNL:
		return t.Min, false
	case syntax.OpAnyChar:
		return t.Min, true
	}
	return 0, false
}

func (p *rePred) need() need {
	if p.needle < 0 {
		return anyNeed
	}
	return needleNeed(p.needle, utf8.RuneCountInString(p.needleLit))
}
