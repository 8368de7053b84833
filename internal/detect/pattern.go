package detect

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// A Sigma string is text with two wildcards: `*` (any run of characters,
// possibly empty) and `?` (exactly one character, a rune). A backslash
// escapes `*`, `?` and itself; before any other character it is a plain
// backslash. So `\*` is a literal star, `\\*` a backslash then a wildcard,
// `\\\*` a backslash then a literal star, and `\\\\` two backslashes.

// tokKind is the kind of one token of a parsed Sigma string.
type tokKind uint8

const (
	tokLit tokKind = iota // literal text
	tokOne                // ? : exactly one character
	tokAny                // * : any run of characters
)

// token is one element of a parsed Sigma string.
type token struct {
	kind tokKind
	lit  string // for tokLit
}

// sigmaString is a parsed Sigma string: literal runs and wildcards, with
// adjacent literals merged and runs of `*` collapsed.
type sigmaString []token

// parseString parses the raw text of a Sigma string value.
func parseString(raw string) sigmaString {
	var s sigmaString
	var lit []byte
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '\\':
			if i+1 < len(raw) && (raw[i+1] == '*' || raw[i+1] == '?' || raw[i+1] == '\\') {
				lit = append(lit, raw[i+1])
				i++
			} else {
				lit = append(lit, '\\')
			}
		case '*':
			s = s.addLit(string(lit))
			lit = lit[:0]
			s = s.add(token{kind: tokAny})
		case '?':
			s = s.addLit(string(lit))
			lit = lit[:0]
			s = s.add(token{kind: tokOne})
		default:
			lit = append(lit, c)
		}
	}
	return s.addLit(string(lit))
}

// literalString returns the Sigma string holding exactly the text lit.
func literalString(lit string) sigmaString { return sigmaString(nil).addLit(lit) }

// add appends t, merging literals and collapsing stars.
func (s sigmaString) add(t token) sigmaString {
	if t.kind == tokLit {
		return s.addLit(t.lit)
	}
	if t.kind == tokAny && len(s) > 0 && s[len(s)-1].kind == tokAny {
		return s
	}
	return append(slices.Clip(s), t)
}

// addLit appends literal text, merging it with a literal before it.
func (s sigmaString) addLit(lit string) sigmaString {
	if lit == "" {
		return s
	}
	if n := len(s); n > 0 && s[n-1].kind == tokLit {
		out := append(sigmaString(nil), s...)
		out[n-1].lit += lit
		return out
	}
	return append(slices.Clip(s), token{kind: tokLit, lit: lit})
}

// concat returns s followed by t.
func (s sigmaString) concat(t sigmaString) sigmaString {
	out := append(sigmaString(nil), s...)
	for _, tk := range t {
		out = out.add(tk)
	}
	return out
}

// hasWildcards reports whether s holds a `*` or `?`.
func (s sigmaString) hasWildcards() bool {
	for _, t := range s {
		if t.kind != tokLit {
			return true
		}
	}
	return false
}

// plain returns the text of s, which has no wildcards.
func (s sigmaString) plain() string {
	var b strings.Builder
	for _, t := range s {
		b.WriteString(t.lit)
	}
	return b.String()
}

// String renders s back in Sigma syntax (for messages and tests).
func (s sigmaString) String() string {
	var b strings.Builder
	for _, t := range s {
		switch t.kind {
		case tokAny:
			b.WriteByte('*')
		case tokOne:
			b.WriteByte('?')
		default:
			for i := 0; i < len(t.lit); i++ {
				if c := t.lit[i]; c == '*' || c == '?' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(t.lit[i])
			}
		}
	}
	return b.String()
}

// wrap puts `*` before and/or after s (contains, startswith, endswith).
func (s sigmaString) wrap(before, after bool) sigmaString {
	var out sigmaString
	if before {
		out = out.add(token{kind: tokAny})
	}
	out = out.concat(s)
	if after {
		out = out.add(token{kind: tokAny})
	}
	return out
}

// patKind is the shape of a compiled pattern, from fastest to slowest.
type patKind uint8

const (
	patExact    patKind = iota // lit
	patPrefix                  // lit*
	patSuffix                  // *lit
	patContains                // *lit*
	patAnything                // *
	patGlob                    // anything else
)

// pattern is a compiled Sigma string, matched against one text.
type pattern struct {
	kind  patKind
	cased bool   // compare as written; otherwise lit and segs are lower-cased
	lit   string // patExact, patPrefix, patSuffix, patContains
	// patGlob: the runs between stars, each of literals and `?`.
	segs        []sigmaString
	anchorStart bool // no star before the first run
	anchorEnd   bool // no star after the last run
	// needle is the literal the pattern cannot match without (lower-cased),
	// registered with the engine for the prefilter; -1 when none.
	needle    int32
	needleLit string
}

// compilePattern compiles s; unless cased, literals are lower-cased and the
// pattern must be matched against lower-cased text.
func compilePattern(s sigmaString, cased bool) pattern {
	if !cased {
		low := make(sigmaString, len(s))
		for i, t := range s {
			if t.kind == tokLit {
				t.lit = toLower(t.lit)
			}
			low[i] = t
		}
		s = low
	}
	p := pattern{cased: cased, needle: -1}
	for _, t := range s {
		if t.kind == tokLit && len(t.lit) > len(p.needleLit) {
			p.needleLit = toLower(t.lit)
		}
	}
	n := len(s)
	switch {
	case n == 0:
		p.kind = patExact
		return p
	case n == 1 && s[0].kind == tokLit:
		p.kind, p.lit = patExact, s[0].lit
		return p
	case n == 1 && s[0].kind == tokAny:
		p.kind = patAnything
		return p
	case n == 2 && s[0].kind == tokLit && s[1].kind == tokAny:
		p.kind, p.lit = patPrefix, s[0].lit
		return p
	case n == 2 && s[0].kind == tokAny && s[1].kind == tokLit:
		p.kind, p.lit = patSuffix, s[1].lit
		return p
	case n == 3 && s[0].kind == tokAny && s[1].kind == tokLit && s[2].kind == tokAny:
		p.kind, p.lit = patContains, s[1].lit
		return p
	}
	p.kind = patGlob
	p.anchorStart = s[0].kind != tokAny
	p.anchorEnd = s[n-1].kind != tokAny
	var seg sigmaString
	for _, t := range s {
		if t.kind == tokAny {
			if len(seg) > 0 {
				p.segs = append(p.segs, seg)
				seg = nil
			}
			continue
		}
		seg = append(seg, t)
	}
	if len(seg) > 0 {
		p.segs = append(p.segs, seg)
	}
	return p
}

// match reports whether the pattern matches t (lower-cased unless cased).
func (p *pattern) match(t string) bool {
	switch p.kind {
	case patExact:
		return t == p.lit
	case patPrefix:
		return strings.HasPrefix(t, p.lit)
	case patSuffix:
		return strings.HasSuffix(t, p.lit)
	case patContains:
		return strings.Contains(t, p.lit)
	case patAnything:
		return true
	}
	return p.matchGlob(t)
}

// matchGlob matches the runs between stars: the first at the start and the
// last at the end when anchored, the others leftmost in order. Leftmost is
// enough because a run consumes a fixed number of characters.
func (p *pattern) matchGlob(t string) bool {
	segs := p.segs
	if p.anchorStart && p.anchorEnd && len(segs) == 1 {
		end, ok := segMatchAt(segs[0], t, 0)
		return ok && end == len(t)
	}
	pos, limit := 0, len(t)
	if p.anchorStart {
		end, ok := segMatchAt(segs[0], t, 0)
		if !ok {
			return false
		}
		pos = end
		segs = segs[1:]
	}
	if p.anchorEnd {
		start, ok := segMatchEnd(segs[len(segs)-1], t)
		if !ok || start < pos {
			return false
		}
		limit = start
		segs = segs[:len(segs)-1]
	}
	for _, seg := range segs {
		end, ok := segFind(seg, t[:limit], pos)
		if !ok {
			return false
		}
		pos = end
	}
	return true
}

// segMatchAt matches the run seg at t[p:] and returns where it ends.
func segMatchAt(seg sigmaString, t string, p int) (int, bool) {
	for _, tk := range seg {
		if tk.kind == tokLit {
			if !strings.HasPrefix(t[p:], tk.lit) {
				return 0, false
			}
			p += len(tk.lit)
			continue
		}
		if p >= len(t) {
			return 0, false
		}
		_, size := utf8.DecodeRuneInString(t[p:])
		p += size
	}
	return p, true
}

// segMatchEnd matches the run seg at the end of t and returns where it
// starts.
func segMatchEnd(seg sigmaString, t string) (int, bool) {
	p := len(t)
	for i := len(seg) - 1; i >= 0; i-- {
		tk := seg[i]
		if tk.kind == tokLit {
			if !strings.HasSuffix(t[:p], tk.lit) {
				return 0, false
			}
			p -= len(tk.lit)
			continue
		}
		if p == 0 {
			return 0, false
		}
		_, size := utf8.DecodeLastRuneInString(t[:p])
		p -= size
	}
	return p, true
}

// segFind finds the leftmost match of seg in t at or after from and
// returns where it ends.
func segFind(seg sigmaString, t string, from int) (int, bool) {
	if seg[0].kind == tokLit {
		lit := seg[0].lit
		for from <= len(t) {
			i := strings.Index(t[from:], lit)
			if i < 0 {
				return 0, false
			}
			if end, ok := segMatchAt(seg, t, from+i); ok {
				return end, true
			}
			from += i + 1
		}
		return 0, false
	}
	// Step by rune: a `?` tried from inside a character would take its
	// continuation bytes for characters of their own.
	for from < len(t) {
		if end, ok := segMatchAt(seg, t, from); ok {
			return end, true
		}
		_, size := utf8.DecodeRuneInString(t[from:])
		from += size
	}
	return 0, false
}
