package jsonlog

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/spoor-hunt/spoor/internal/event"
)

// maxDepth bounds the nesting of objects and arrays in one event, so that
// hostile input cannot exhaust the stack.
const maxDepth = 64

// errShort reports that the value runs past the end of the bytes at hand:
// more input may complete it.
var errShort = errors.New("unexpected end of input")

// syntaxError is a malformed JSON value; off is the offset in the input
// window where it was noticed.
type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string { return e.msg }

// parser walks one JSON value in d starting at pos. Strings without escapes
// alias d; unescaped strings and built names live in arena. Both stay valid
// until the owner resets them for the next event.
type parser struct {
	d     []byte
	pos   int
	depth int

	arena []byte        // unescaped strings and joined names
	vals  []event.Value // backing of List values
	stack []event.Value // elements of arrays being parsed
}

func (p *parser) reset(d []byte, pos int) {
	p.d = d
	p.pos = pos
	p.depth = 0
	event.Scribble(p.arena) // the last event's unescaped strings and names
	p.arena = p.arena[:0]
	clear(p.vals)
	p.vals = p.vals[:0]
	clear(p.stack)
	p.stack = p.stack[:0]
}

func (p *parser) fail(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...), off: p.pos}
}

// unexpected reports the byte at p.pos, or errShort at the end of d.
func (p *parser) unexpected(what string) error {
	if p.pos >= len(p.d) {
		return errShort
	}
	return p.fail("invalid character %q %s", p.d[p.pos], what)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t'
}

// ws skips whitespace and returns the next byte, or errShort at the end.
func (p *parser) ws() (byte, error) {
	d := p.d
	for i := p.pos; i < len(d); i++ {
		if c := d[i]; c > ' ' || !isSpace(c) {
			p.pos = i
			return c, nil
		}
	}
	p.pos = len(d)
	return 0, errShort
}

// enter and leave bound the depth of nesting.
func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.fail("nesting deeper than %d", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// objStart consumes '{' and reports whether the object is empty (then its
// '}' is consumed too).
func (p *parser) objStart() (empty bool, err error) {
	if err := p.enter(); err != nil {
		return false, err
	}
	p.pos++ // '{'
	c, err := p.ws()
	if err != nil {
		return false, err
	}
	if c == '}' {
		p.pos++
		p.leave()
		return true, nil
	}
	return false, nil
}

// key reads an object key and the ':' after it, leaving p.pos at the
// value's first byte.
func (p *parser) key() (string, error) {
	c, err := p.ws()
	if err != nil {
		return "", err
	}
	if c != '"' {
		return "", p.unexpected("looking for beginning of object key string")
	}
	k, err := p.str()
	if err != nil {
		return "", err
	}
	if c, err = p.ws(); err != nil {
		return "", err
	}
	if c != ':' {
		return "", p.unexpected("after object key")
	}
	p.pos++
	if _, err = p.ws(); err != nil {
		return "", err
	}
	return k, nil
}

// objNext consumes the ',' or '}' after a member and reports whether
// another member follows.
func (p *parser) objNext() (more bool, err error) {
	c, err := p.ws()
	if err != nil {
		return false, err
	}
	switch c {
	case ',':
		p.pos++
		return true, nil
	case '}':
		p.pos++
		p.leave()
		return false, nil
	}
	return false, p.unexpected("after object key:value pair")
}

// str reads a JSON string at p.pos (which holds '"').
func (p *parser) str() (string, error) {
	d := p.d
	start := p.pos + 1
	q := bytes.IndexByte(d[start:], '"')
	if q < 0 {
		return "", errShort
	}
	if bytes.IndexByte(d[start:start+q], '\\') < 0 {
		p.pos = start + q + 1
		if q == 0 {
			return "", nil
		}
		return unsafe.String(&d[start], q), nil
	}
	return p.strSlow(start)
}

// strSlow unescapes a string starting at d[start] into the arena.
func (p *parser) strSlow(start int) (string, error) {
	d := p.d
	a := p.arena
	off := len(a)
	i := start
	q := -1 // position of the next '"' at or after i
	for {
		if q < i {
			k := bytes.IndexByte(d[i:], '"')
			if k < 0 {
				p.arena = a
				return "", errShort
			}
			q = i + k
		}
		j := q
		if k := bytes.IndexByte(d[i:q], '\\'); k >= 0 {
			j = i + k
		}
		a = append(a, d[i:j]...)
		if j == q {
			p.pos = j + 1
			p.arena = a
			if len(a) == off {
				return "", nil
			}
			return unsafe.String(&a[off], len(a)-off), nil
		}
		// backslash
		if j+1 >= len(d) {
			p.arena = a
			return "", errShort
		}
		e := d[j+1]
		if c := simpleEscape[e]; c != 0 {
			a = append(a, c)
			i = j + 2
			continue
		}
		if e != 'u' {
			p.pos = j
			p.arena = a
			return "", p.fail("invalid escape character %q in string", e)
		}
		r, n := hex4(d[j+2:])
		if n < 0 {
			p.arena = a
			return "", errShort
		}
		if n == 0 {
			p.pos = j
			p.arena = a
			return "", p.fail("invalid \\u escape in string")
		}
		i = j + 6
		if utf16.IsSurrogate(r) {
			r2, n2 := rune(-1), 0
			if i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
				r2, n2 = hex4(d[i+2:])
				if n2 < 0 {
					p.arena = a
					return "", errShort
				}
			} else if i+1 >= len(d) {
				p.arena = a
				return "", errShort
			}
			if dec := utf16.DecodeRune(r, r2); n2 > 0 && dec != utf8.RuneError {
				r = dec
				i += 6
			} else {
				r = utf8.RuneError
			}
		}
		a = utf8.AppendRune(a, r)
	}
}

// simpleEscape maps the character after a backslash to the byte it stands
// for in the one-character escapes; 0 for the others.
var simpleEscape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// hex4 decodes four hex digits: n is 4 on success, 0 on a bad digit, -1
// when b is too short.
func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		for _, c := range b {
			if unhex(c) < 0 {
				return 0, 0
			}
		}
		return 0, -1
	}
	var r rune
	for _, c := range b[:4] {
		v := unhex(c)
		if v < 0 {
			return 0, 0
		}
		r = r<<4 | v
	}
	return r, 4
}

func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// number reads a JSON number: Int when it is an integer that fits, Uint for
// larger positive integers, Float otherwise.
func (p *parser) number() (event.Value, error) {
	d := p.d
	start := p.pos
	i := start
	neg := false
	if d[i] == '-' {
		neg = true
		i++
	}
	var u uint64
	overflow := false
	ds := i
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		c := uint64(d[i] - '0')
		if u > (math.MaxUint64-c)/10 {
			overflow = true
		} else {
			u = u*10 + c
		}
		i++
	}
	if i == ds {
		if i >= len(d) {
			return event.Value{}, errShort
		}
		p.pos = i
		return event.Value{}, p.fail("invalid character %q in numeric literal", d[i])
	}
	if d[ds] == '0' && i-ds > 1 {
		p.pos = ds + 1
		return event.Value{}, p.fail("invalid leading zero in numeric literal")
	}
	float := false
	if i < len(d) && d[i] == '.' {
		float = true
		i++
		fs := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == fs {
			if i >= len(d) {
				return event.Value{}, errShort
			}
			p.pos = i
			return event.Value{}, p.fail("invalid character %q after decimal point in numeric literal", d[i])
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		float = true
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		es := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == es {
			if i >= len(d) {
				return event.Value{}, errShort
			}
			p.pos = i
			return event.Value{}, p.fail("invalid character %q in exponent of numeric literal", d[i])
		}
	}
	if i >= len(d) {
		// The number might go on in the next bytes.
		return event.Value{}, errShort
	}
	p.pos = i
	if !float && !overflow {
		switch {
		case !neg && u <= math.MaxInt64:
			return event.IntValue(int64(u)), nil
		case !neg:
			return event.UintValue(u), nil
		case u <= 1<<63:
			return event.IntValue(int64(-u)), nil
		}
	}
	f, err := strconv.ParseFloat(unsafe.String(&d[start], i-start), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return event.Value{}, p.fail("invalid numeric literal")
	}
	return event.FloatValue(f), nil
}

// literal reads true, false or null.
func (p *parser) literal() (event.Value, error) {
	d := p.d[p.pos:]
	var word string
	var v event.Value
	switch d[0] {
	case 't':
		word, v = "true", event.BoolValue(true)
	case 'f':
		word, v = "false", event.BoolValue(false)
	default:
		word = "null"
	}
	n := min(len(d), len(word))
	if string(d[:n]) != word[:n] {
		return event.Value{}, p.fail("invalid character %q in literal %s", d[0], word)
	}
	if n < len(word) {
		return event.Value{}, errShort
	}
	p.pos += len(word)
	return v, nil
}

// value reads any JSON value as an event.Value. Arrays become Lists; an
// object (found only inside arrays or where no mapping applies) becomes a
// String holding its JSON text.
func (p *parser) value() (event.Value, error) {
	if p.pos >= len(p.d) {
		return event.Value{}, errShort
	}
	switch c := p.d[p.pos]; {
	case c == '"':
		s, err := p.str()
		return event.StringValue(s), err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't' || c == 'f' || c == 'n':
		return p.literal()
	case c == '[':
		return p.array()
	case c == '{':
		start := p.pos
		if err := p.skip(); err != nil {
			return event.Value{}, err
		}
		return event.StringValue(unsafe.String(&p.d[start], p.pos-start)), nil
	}
	return event.Value{}, p.unexpected("looking for beginning of value")
}

// array reads a JSON array as a List value.
func (p *parser) array() (event.Value, error) {
	if err := p.enter(); err != nil {
		return event.Value{}, err
	}
	p.pos++ // '['
	base := len(p.stack)
	c, err := p.ws()
	if err != nil {
		return event.Value{}, err
	}
	if c != ']' {
		for {
			v, err := p.value()
			if err != nil {
				return event.Value{}, err
			}
			p.stack = append(p.stack, v)
			if c, err = p.ws(); err != nil {
				return event.Value{}, err
			}
			if c == ',' {
				p.pos++
				if _, err = p.ws(); err != nil {
					return event.Value{}, err
				}
				continue
			}
			if c == ']' {
				break
			}
			return event.Value{}, p.unexpected("after array element")
		}
	}
	p.pos++ // ']'
	p.leave()
	return event.ListValue(p.list(base)), nil
}

// list moves p.stack[base:] into the vals arena and returns it.
func (p *parser) list(base int) []event.Value {
	n := len(p.stack) - base
	if n == 0 {
		return []event.Value{}
	}
	off := len(p.vals)
	p.vals = append(p.vals, p.stack[base:]...)
	clear(p.stack[base:])
	p.stack = p.stack[:base]
	return p.vals[off : off+n : off+n]
}

// skip validates and steps over any value.
func (p *parser) skip() error {
	if p.pos >= len(p.d) {
		return errShort
	}
	switch c := p.d[p.pos]; {
	case c == '"':
		_, err := p.str()
		return err
	case c == '{':
		empty, err := p.objStart()
		if err != nil || empty {
			return err
		}
		for {
			if _, err := p.key(); err != nil {
				return err
			}
			if err := p.skip(); err != nil {
				return err
			}
			more, err := p.objNext()
			if err != nil || !more {
				return err
			}
		}
	case c == '[':
		return p.elements(p.skip)
	default:
		_, err := p.value()
		return err
	}
}

// elements walks the array at p.pos, calling f for each element with p.pos
// at it, which f must consume.
func (p *parser) elements(f func() error) error {
	if err := p.enter(); err != nil {
		return err
	}
	p.pos++ // '['
	c, err := p.ws()
	if err != nil {
		return err
	}
	if c != ']' {
		for {
			if err := f(); err != nil {
				return err
			}
			if c, err = p.ws(); err != nil {
				return err
			}
			if c == ']' {
				break
			}
			if c != ',' {
				return p.unexpected("after array element")
			}
			p.pos++
			if _, err = p.ws(); err != nil {
				return err
			}
		}
	}
	p.pos++ // ']'
	p.leave()
	return nil
}

// joinRaw returns prefix + name as a string in the arena.
func (p *parser) joinRaw(prefix, name string) string {
	if prefix == "" {
		return name
	}
	off := len(p.arena)
	p.arena = append(p.arena, prefix...)
	p.arena = append(p.arena, name...)
	return unsafe.String(&p.arena[off], len(p.arena)-off)
}

// join returns prefix + "." + name as a string in the arena.
func (p *parser) join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	off := len(p.arena)
	p.arena = append(p.arena, prefix...)
	p.arena = append(p.arena, '.')
	p.arena = append(p.arena, name...)
	return unsafe.String(&p.arena[off], len(p.arena)-off)
}
