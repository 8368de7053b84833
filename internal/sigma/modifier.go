package sigma

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
)

// modifierNames maps every accepted modifier spelling to its Modifier. The
// aliases ignorecase, multiline and dotall (pySigma spellings of the re
// sub-modifiers) are accepted too.
var modifierNames = map[string]Modifier{
	"contains": ModContains, "startswith": ModStartsWith, "endswith": ModEndsWith,
	"all": ModAll, "exists": ModExists, "cased": ModCased, "neq": ModNeq,
	"windash": ModWindash,
	"re":      ModRe, "i": ModReI, "m": ModReM, "s": ModReS,
	"ignorecase": ModReI, "multiline": ModReM, "dotall": ModReS,
	"base64": ModBase64, "base64offset": ModBase64Offset,
	"utf16le": ModUTF16LE, "utf16be": ModUTF16BE, "utf16": ModUTF16, "wide": ModWide,
	"lt": ModLt, "lte": ModLte, "gt": ModGt, "gte": ModGte,
	"minute": ModMinute, "hour": ModHour, "day": ModDay, "week": ModWeek, "month": ModMonth, "year": ModYear,
	"cidr":   ModCIDR,
	"expand": ModExpand, "fieldref": ModFieldRef,
}

// modCat groups modifiers that play the same part in a chain.
type modCat uint8

const (
	catMatch    modCat = iota // contains, startswith, endswith
	catAll                    // all
	catExists                 // exists
	catCased                  // cased
	catNeq                    // neq
	catWindash                // windash
	catRe                     // re
	catReFlag                 // i, m, s
	catBase64                 // base64, base64offset
	catUTF16                  // utf16le, utf16be, utf16, wide
	catCompare                // lt, lte, gt, gte
	catTime                   // minute ... year
	catCIDR                   // cidr
	catExpand                 // expand
	catFieldRef               // fieldref
	numCats
)

var catNames = [numCats]string{"match", "all", "exists", "cased", "neq", "windash", "re", "re flag",
	"base64", "utf16", "comparison", "time", "cidr", "expand", "fieldref"}

func categoryOf(m Modifier) modCat {
	switch m {
	case ModContains, ModStartsWith, ModEndsWith:
		return catMatch
	case ModAll:
		return catAll
	case ModExists:
		return catExists
	case ModCased:
		return catCased
	case ModNeq:
		return catNeq
	case ModWindash:
		return catWindash
	case ModRe:
		return catRe
	case ModReI, ModReM, ModReS:
		return catReFlag
	case ModBase64, ModBase64Offset:
		return catBase64
	case ModUTF16LE, ModUTF16BE, ModUTF16, ModWide:
		return catUTF16
	case ModLt, ModLte, ModGt, ModGte:
		return catCompare
	case ModMinute, ModHour, ModDay, ModWeek, ModMonth, ModYear:
		return catTime
	case ModCIDR:
		return catCIDR
	case ModExpand:
		return catExpand
	case ModFieldRef:
		return catFieldRef
	}
	return numCats
}

func cats(cs ...modCat) uint32 {
	var s uint32
	for _, c := range cs {
		s |= 1 << c
	}
	return s
}

// compatible[c] is the set of categories a modifier of category c may be
// chained with. The relation is symmetric (a test checks it). Two
// modifiers of one category conflict (contains|startswith, base64|
// base64offset, lt|gt, ...), except the re flags.
var compatible = [numCats]uint32{
	catMatch:    cats(catAll, catCased, catNeq, catWindash, catBase64, catUTF16, catExpand, catFieldRef),
	catAll:      cats(catMatch, catCased, catNeq, catWindash, catBase64, catUTF16, catExpand, catFieldRef),
	catExists:   0,
	catCased:    cats(catMatch, catAll, catNeq, catWindash, catBase64, catUTF16, catExpand, catFieldRef),
	catNeq:      cats(catMatch, catAll, catCased, catWindash, catBase64, catUTF16, catExpand, catFieldRef, catTime),
	catWindash:  cats(catMatch, catAll, catCased, catNeq, catBase64, catUTF16, catExpand),
	catRe:       cats(catReFlag),
	catReFlag:   cats(catRe, catReFlag),
	catBase64:   cats(catMatch, catAll, catCased, catNeq, catWindash, catUTF16),
	catUTF16:    cats(catMatch, catAll, catCased, catNeq, catWindash, catBase64),
	catCompare:  cats(catTime),
	catTime:     cats(catCompare, catNeq),
	catCIDR:     0,
	catExpand:   cats(catMatch, catAll, catCased, catNeq, catWindash),
	catFieldRef: cats(catMatch, catAll, catCased, catNeq),
}

// parseModifiers resolves the modifier names of a key ("field|a|b" gives
// ["a", "b"]).
func parseModifiers(names []string) ([]Modifier, error) {
	if len(names) == 0 {
		return nil, nil
	}
	mods := make([]Modifier, len(names))
	for i, n := range names {
		if n == "" {
			return nil, fmt.Errorf("empty modifier (doubled or trailing '|')")
		}
		m, ok := modifierNames[n]
		if !ok {
			if m, ok := modifierNames[strings.ToLower(n)]; ok {
				return nil, fmt.Errorf("unknown modifier %q (modifiers are lowercase: %q)", n, string(m))
			}
			return nil, fmt.Errorf("unknown modifier %q", n)
		}
		mods[i] = m
	}
	return mods, nil
}

// modProblem is a problem with a field's modifiers or values; value is the
// index of the offending value, or -1 when the chain itself is wrong.
type modProblem struct {
	value   int
	msg     string
	warning bool
}

// checkModifiers validates a modifier chain (names as written, mods
// resolved) against the values it applies to. It returns the problems
// found, errors first; keyword is true for a search without a field name.
func checkModifiers(keyword bool, names []string, mods []Modifier, vals []Value) []modProblem {
	chain := func(msg string, args ...any) []modProblem {
		return []modProblem{{value: -1, msg: fmt.Sprintf(msg, args...)}}
	}
	at := func(i int, msg string, args ...any) []modProblem {
		return []modProblem{{value: i, msg: fmt.Sprintf(msg, args...)}}
	}
	var has [numCats]int // 1 + index of the first modifier of each category
	for i, m := range mods {
		c := categoryOf(m)
		for j := 0; j < i; j++ {
			if mods[j] == m {
				return chain("modifier %q repeated", names[i])
			}
			cj := categoryOf(mods[j])
			if cj == c && c != catReFlag {
				return chain("modifiers %q and %q conflict", names[j], names[i])
			}
			if cj != c && (compatible[c]&(1<<cj) == 0 || compatible[cj]&(1<<c) == 0) {
				return chain("modifier %q cannot be combined with %q", names[i], names[j])
			}
		}
		if has[c] == 0 {
			has[c] = i + 1
		}
	}
	first := func(c modCat) int { return has[c] - 1 } // -1 when absent
	// after reports whether both categories are present and a comes after b.
	after := func(a, b modCat) bool {
		return has[a] != 0 && has[b] != 0 && first(a) > first(b)
	}
	name := func(c modCat) string { return names[first(c)] }

	// Order and dependencies.
	if has[catReFlag] != 0 && has[catRe] == 0 {
		return chain("modifier %q is a sub-modifier of re (write re|%s)", name(catReFlag), name(catReFlag))
	}
	if after(catRe, catReFlag) {
		return chain("modifier %q must follow re", name(catReFlag))
	}
	if has[catUTF16] != 0 && has[catBase64] == 0 {
		return chain("modifier %q must be followed by base64 or base64offset", name(catUTF16))
	}
	if after(catUTF16, catBase64) {
		return chain("modifier %q must come before %q (the text is encoded to UTF-16 first)", name(catUTF16), name(catBase64))
	}
	if after(catBase64, catMatch) {
		return chain("modifier %q must come after %q (wildcards cannot be base64-encoded)", name(catMatch), name(catBase64))
	}
	if after(catWindash, catBase64) {
		return chain("modifier %q must come before %q", name(catWindash), name(catBase64))
	}
	if has[catBase64] != 0 && mods[first(catBase64)] == ModBase64Offset {
		if has[catMatch] == 0 || mods[first(catMatch)] != ModContains {
			return chain("base64offset needs contains (it matches a fragment of an encoded string)")
		}
	}
	if after(catTime, catCompare) || after(catTime, catNeq) {
		return chain("time modifier %q must come first", name(catTime))
	}
	if keyword {
		for _, c := range []modCat{catExists, catCompare, catTime, catCIDR, catFieldRef, catNeq} {
			if has[c] != 0 {
				return chain("modifier %q needs a field name", name(c))
			}
		}
	}

	// Values.
	for i, v := range vals {
		if v.Kind == NullValue && len(mods) > 0 {
			return at(i, "null takes no modifiers (use exists to test for a field)")
		}
	}
	switch {
	case has[catExists] != 0:
		if len(vals) != 1 || vals[0].Kind != BoolValue {
			return chain("exists expects one value, true or false")
		}
		return nil
	case has[catCompare] != 0 || has[catTime] != 0:
		for i, v := range vals {
			if v.Kind != NumberValue {
				return at(i, "modifier %q expects a number, got %s", names[len(names)-1], kindText(v))
			}
			if has[catTime] != 0 {
				if p := checkTimeValue(mods[first(catTime)], v.Number); p != "" {
					return at(i, "%s", p)
				}
			}
		}
	case has[catCIDR] != 0:
		for i, v := range vals {
			if v.Kind != StringValue {
				return at(i, "cidr expects a network such as 10.0.0.0/8, got %s", kindText(v))
			}
			if _, err := netip.ParsePrefix(v.Raw); err != nil {
				return at(i, "cidr: %q is not a network such as 10.0.0.0/8 or fe80::/10", v.Raw)
			}
		}
	case has[catRe] != 0:
		flags := ""
		for _, m := range mods {
			if categoryOf(m) == catReFlag {
				flags += string(m)
			}
		}
		for i, v := range vals {
			if v.Kind != StringValue && v.Kind != NumberValue {
				return at(i, "re expects a regular expression, got %s", kindText(v))
			}
			if err := checkRegex(v.Raw, flags); err != nil {
				return at(i, "%v", err)
			}
		}
	case has[catFieldRef] != 0:
		for i, v := range vals {
			if v.Kind != StringValue || v.Raw == "" {
				return at(i, "fieldref expects a field name, got %s", kindText(v))
			}
		}
	default:
		for _, c := range []modCat{catMatch, catWindash, catBase64, catUTF16, catExpand, catCased} {
			if has[c] == 0 {
				continue
			}
			for i, v := range vals {
				if v.Kind != StringValue && v.Kind != NumberValue {
					return at(i, "modifier %q expects strings, got %s", name(c), kindText(v))
				}
			}
		}
	}
	var warns []modProblem
	if has[catAll] != 0 && len(vals) == 1 {
		warns = append(warns, modProblem{value: -1, warning: true, msg: "all with a single value has no effect (the specification disallows it)"})
	}
	if has[catExpand] != 0 {
		for i, v := range vals {
			if len(Placeholders(v)) == 0 {
				warns = append(warns, modProblem{value: i, warning: true, msg: fmt.Sprintf("expand: %q holds no %%placeholder%%", v.Raw)})
			}
		}
	}
	return warns
}

func checkTimeValue(m Modifier, f float64) string {
	if f != math.Trunc(f) {
		return fmt.Sprintf("%s expects an integer, got %v", m, f)
	}
	lo, hi := 0.0, 0.0
	switch m {
	case ModMinute:
		lo, hi = 0, 59
	case ModHour:
		lo, hi = 0, 23
	case ModDay:
		lo, hi = 1, 31
	case ModWeek:
		lo, hi = 1, 53
	case ModMonth:
		lo, hi = 1, 12
	default:
		return ""
	}
	if f < lo || f > hi {
		return fmt.Sprintf("%s expects %v to %v, got %v", m, lo, hi, f)
	}
	return ""
}

func kindText(v Value) string {
	switch v.Kind {
	case StringValue:
		return fmt.Sprintf("string %q", v.Raw)
	case NumberValue:
		return "number " + v.Raw
	case BoolValue:
		return "boolean " + v.Raw
	}
	return "null"
}
