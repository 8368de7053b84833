package event

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Kind is the type of a Value.
type Kind uint8

// The kinds of value an event field can hold. GUIDs, SIDs, hex numbers and
// binary data are Strings holding their canonical text rendering.
const (
	Null   Kind = iota // no value (an empty or absent element)
	String             // text
	Int                // signed 64-bit integer
	Uint               // unsigned 64-bit integer
	Float              // 64-bit floating point
	Bool               // true or false
	Time               // an instant, UTC, nanosecond resolution
	List               // an ordered list of values
)

var kindNames = [...]string{"null", "string", "int", "uint", "float", "bool", "time", "list"}

// String returns the lower-case name of k.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a typed field value. The zero Value is Null.
//
// A Value is small and is passed by value. Strings inside a Value that a
// Reader returned may alias the reader's buffers: see Reader for how long they
// stay valid, and Clone for keeping them.
type Value struct {
	kind Kind
	ns   uint32  // Time: nanoseconds within the second; String: knownASCII or 0
	s    string  // String
	n    uint64  // Int, Uint, Float (bits), Bool, Time (unix seconds)
	list []Value // List
}

// StringValue returns a String value.
func StringValue(s string) Value { return Value{kind: String, s: s} }

// ASCIIStringValue returns a String value whose text the caller knows to
// be ASCII (no byte of 0x80 or more), as a reader converting text often
// knows for free: matchers then need not check before folding case.
func ASCIIStringValue(s string) Value { return Value{kind: String, s: s, ns: knownASCII} }

// knownASCII marks, in ns, a String value made by ASCIIStringValue.
const knownASCII = 1

// KnownASCII reports whether v is a String value known to be ASCII (made
// by ASCIIStringValue or cloned from one); false means not known.
func (v Value) KnownASCII() bool { return v.kind == String && v.ns == knownASCII }

// IntValue returns an Int value.
func IntValue(i int64) Value { return Value{kind: Int, n: uint64(i)} }

// UintValue returns a Uint value.
func UintValue(u uint64) Value { return Value{kind: Uint, n: u} }

// FloatValue returns a Float value.
func FloatValue(f float64) Value { return Value{kind: Float, n: math.Float64bits(f)} }

// BoolValue returns a Bool value.
func BoolValue(b bool) Value {
	v := Value{kind: Bool}
	if b {
		v.n = 1
	}
	return v
}

// TimeValue returns a Time value holding the instant t (rendered in UTC).
// Any instant is kept, including the 1601 epoch of Windows FILETIMEs.
func TimeValue(t time.Time) Value {
	return Value{kind: Time, n: uint64(t.Unix()), ns: uint32(t.Nanosecond())}
}

// UnixValue returns a Time value from seconds and nanoseconds since 1970
// UTC; nsec must be in [0, 999999999].
func UnixValue(sec int64, nsec uint32) Value {
	return Value{kind: Time, n: uint64(sec), ns: nsec}
}

// ListValue returns a List value. The list is not copied.
func ListValue(vs []Value) Value { return Value{kind: List, list: vs} }

// Kind reports the type of v.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is Null.
func (v Value) IsNull() bool { return v.kind == Null }

// Str returns the text of a String value, or "" for other kinds. Use
// AppendText for the text rendering of any kind.
func (v Value) Str() string { return v.s }

// Int returns an Int value, a Uint value converted, or 0 for other kinds.
func (v Value) Int() int64 { return int64(v.n) }

// Uint returns a Uint value, an Int value converted, or 0 for other kinds.
func (v Value) Uint() uint64 { return v.n }

// Float returns a Float value, or 0 for other kinds.
func (v Value) Float() float64 {
	if v.kind != Float {
		return 0
	}
	return math.Float64frombits(v.n)
}

// Bool returns a Bool value, or false for other kinds.
func (v Value) Bool() bool { return v.kind == Bool && v.n != 0 }

// Time returns a Time value in UTC, or the zero time for other kinds.
func (v Value) Time() time.Time {
	if v.kind != Time {
		return time.Time{}
	}
	return time.Unix(int64(v.n), int64(v.ns)).UTC()
}

// Unix returns a Time value as seconds and nanoseconds since 1970 UTC.
func (v Value) Unix() (sec int64, nsec uint32) { return int64(v.n), v.ns }

// List returns the elements of a List value, or nil for other kinds. The
// returned slice must not be modified.
func (v Value) List() []Value { return v.list }

// Number reports v as a float64 when it is numeric: Int, Uint, Float, or a
// String holding a decimal or 0x-prefixed hexadecimal integer or a decimal
// float.
func (v Value) Number() (float64, bool) {
	switch v.kind {
	case Int:
		return float64(int64(v.n)), true
	case Uint:
		return float64(v.n), true
	case Float:
		return math.Float64frombits(v.n), true
	case String:
		s := v.s
		if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
			u, err := strconv.ParseUint(s[2:], 16, 64)
			return float64(u), err == nil
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	return 0, false
}

// Integer returns v as an integer: an Int or Uint, or a number Number
// reads (truncated); 0 otherwise.
func (v Value) Integer() int64 {
	switch v.kind {
	case Int:
		return int64(v.n)
	case Uint:
		return int64(v.n)
	}
	if f, ok := v.Number(); ok {
		return int64(f)
	}
	return 0
}

// TimeLayout is the text rendering of Time values: RFC 3339 in UTC with
// the fractional seconds the value has (up to nanoseconds).
const TimeLayout = time.RFC3339Nano

// AppendText appends the text rendering of v to dst: strings as they are,
// integers in decimal, floats in the shortest form that round-trips, bools as
// true/false, times in TimeLayout, lists as their elements joined by ", ",
// Null as nothing.
func (v Value) AppendText(dst []byte) []byte {
	switch v.kind {
	case String:
		return append(dst, v.s...)
	case Int:
		return strconv.AppendInt(dst, int64(v.n), 10)
	case Uint:
		return strconv.AppendUint(dst, v.n, 10)
	case Float:
		return strconv.AppendFloat(dst, math.Float64frombits(v.n), 'g', -1, 64)
	case Bool:
		return strconv.AppendBool(dst, v.n != 0)
	case Time:
		return v.Time().AppendFormat(dst, TimeLayout)
	case List:
		for i, e := range v.list {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = e.AppendText(dst)
		}
	}
	return dst
}

// Text returns the text rendering of v (see AppendText).
func (v Value) Text() string {
	if v.kind == String {
		return v.s
	}
	return string(v.AppendText(nil))
}

// String implements fmt.Stringer with the text rendering of v.
func (v Value) String() string { return v.Text() }

// AppendJSON appends v as a JSON value: strings as JSON strings, numbers as
// numbers (non-finite floats as strings), bools, times as strings in
// TimeLayout, lists as arrays, Null as null.
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.kind {
	case String:
		return AppendJSONString(dst, v.s)
	case Int, Uint, Bool:
		return v.AppendText(dst)
	case Float:
		f := math.Float64frombits(v.n)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			dst = append(dst, '"')
			dst = v.AppendText(dst)
			return append(dst, '"')
		}
		return v.AppendText(dst)
	case Time:
		dst = append(dst, '"')
		dst = v.AppendText(dst)
		return append(dst, '"')
	case List:
		dst = append(dst, '[')
		for i, e := range v.list {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.AppendJSON(dst)
		}
		return append(dst, ']')
	}
	return append(dst, "null"...)
}

// Equal reports whether v and w have the same kind and value.
func (v Value) Equal(w Value) bool {
	if v.kind != w.kind {
		return false
	}
	switch v.kind {
	case String:
		return v.s == w.s
	case List:
		if len(v.list) != len(w.list) {
			return false
		}
		for i := range v.list {
			if !v.list[i].Equal(w.list[i]) {
				return false
			}
		}
		return true
	}
	return v.n == w.n && v.ns == w.ns
}

// Clone returns a copy of v that shares no memory with v, so it stays valid
// after the reader that produced v moves on.
func (v Value) Clone() Value {
	switch v.kind {
	case String:
		v.s = cloneString(v.s)
	case List:
		l := make([]Value, len(v.list))
		for i, e := range v.list {
			l[i] = e.Clone()
		}
		v.list = l
	}
	return v
}

func cloneString(s string) string {
	if s == "" {
		return ""
	}
	b := make([]byte, len(s))
	copy(b, s)
	return string(b)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a quoted JSON string. Invalid UTF-8 is
// replaced by U+FFFD; control characters and the characters <, >, & are
// not escaped beyond what JSON requires.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain ASCII bytes at a time: no control character, no
		// quote, no backslash, nothing above 0x7f.
		for i+8 <= len(s) {
			if !plainWord(loadWord(s[i : i+8])) {
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// loadWord reads the first eight bytes of s (len(s) >= 8) as a
// little-endian word; the compiler turns it into one load.
func loadWord(s string) uint64 {
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// plainWord reports whether the eight bytes of w are all printable ASCII
// other than '"' and '\\', so they need no escaping in JSON. It may report
// false for some plain words; never true for a word needing work.
func plainWord(w uint64) bool {
	ctl := (w - 0x20*ones) & ^w // high bit set where a byte < 0x20 (or above a borrow)
	q := w ^ '"'*ones
	q = (q - ones) & ^q // high bit where a byte is '"'
	bs := w ^ '\\'*ones
	bs = (bs - ones) & ^bs // high bit where a byte is '\\'
	return (w|ctl|q|bs)&highs == 0
}
