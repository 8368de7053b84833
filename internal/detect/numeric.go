package detect

import (
	"math"
	"strconv"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Numbers. A rule's number (a YAML number) equals an event value when the
// value is numeric (Int, Uint, Float) and equal by value, or when its text
// is the number as written: EventID: 4688 matches Uint 4688 and the string
// "4688". The lt, lte, gt and gte modifiers compare numerically: the event
// value must be numeric or a string holding a decimal or 0x-hexadecimal
// number; anything else never matches.

// cmpOp is a comparison of the numeric and time modifiers.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opLt
	opLte
	opGt
	opGte
)

// compare applies op to a and b.
func (op cmpOp) compare(a, b float64) bool {
	switch op {
	case opLt:
		return a < b
	case opLte:
		return a <= b
	case opGt:
		return a > b
	case opGte:
		return a >= b
	}
	return a == b
}

// numberOf returns v as a number, without allocating.
func numberOf(v event.Value) (float64, bool) {
	switch v.Kind() {
	case event.Int, event.Uint, event.Float:
		return v.Number()
	case event.String:
		return parseNumber(v.Str())
	}
	return 0, false
}

// parseNumber parses a decimal number (with optional sign, fraction and
// exponent) or a 0x-prefixed hexadecimal integer. It checks the syntax
// first, so that strconv never fails and never allocates an error.
func parseNumber(s string) (float64, bool) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		if len(s) > 18 {
			return 0, false
		}
		var u uint64
		for i := 2; i < len(s); i++ {
			c := s[i]
			switch {
			case '0' <= c && c <= '9':
				c -= '0'
			case 'a' <= c && c <= 'f':
				c -= 'a' - 10
			case 'A' <= c && c <= 'F':
				c -= 'A' - 10
			default:
				return 0, false
			}
			u = u<<4 | uint64(c)
		}
		return float64(u), true
	}
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 || exp > 3 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// numEqPred matches a rule number by value or by text.
type numEqPred struct {
	n   float64
	raw string // the number as written, lower-cased
	// needle is raw when every equal value's text contains it, or -1.
	needle int32
}

// canonicalInt reports whether raw is how numeric event values equal to n
// render, so that it can serve as a prefilter needle.
func canonicalInt(raw string, n float64) bool {
	if n != math.Trunc(n) || math.Abs(n) >= 1<<53 {
		return false
	}
	return raw == strconv.FormatInt(int64(n), 10)
}

func (p *numEqPred) match(st *state, v event.Value, i int) bool {
	if p.needle >= 0 && st.absent(p.needle) {
		return false
	}
	switch v.Kind() {
	case event.Int, event.Uint, event.Float:
		f, _ := v.Number()
		return f == p.n
	}
	return st.lower(v, i) == p.raw
}

func (p *numEqPred) need() need {
	if p.needle < 0 {
		return anyNeed
	}
	return needleNeed(p.needle, len(p.raw))
}

// numCmpPred is lt, lte, gt or gte.
type numCmpPred struct {
	op cmpOp
	n  float64
}

func (p *numCmpPred) match(_ *state, v event.Value, _ int) bool {
	f, ok := numberOf(v)
	return ok && p.op.compare(f, p.n)
}

func (p *numCmpPred) need() need { return anyNeed }
