package detect

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// The windash modifier: every dash that leads a command-line flag (a `-`,
// `/`, en dash, em dash or horizontal bar that starts the value or follows a
// non-word character, and is followed by a word character) may be written
// with any of the five characters. The value expands to every combination.

// dashes are the characters windash makes interchangeable.
var dashes = [...]string{"-", "/", "\u2013", "\u2014", "\u2015"}

// maxWindashFlags bounds the expansion (5^n values).
const maxWindashFlags = 6

func isDash(r rune) bool {
	return r == '-' || r == '/' || r == '\u2013' || r == '\u2014' || r == '\u2015'
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// windash expands s into every permutation of its flag dashes.
func windash(s sigmaString) ([]sigmaString, error) {
	// Split s into pieces: tokens, with literals cut at each flag dash.
	type piece struct {
		tok  token
		dash bool
	}
	var pieces []piece
	flags := 0
	prevWord := false // the character before is a word character
	for ti, t := range s {
		if t.kind != tokLit {
			pieces = append(pieces, piece{tok: t})
			prevWord = false
			continue
		}
		lit := t.lit
		start := 0
		for i := 0; i < len(lit); {
			r, size := utf8.DecodeRuneInString(lit[i:])
			if isDash(r) && !prevWord {
				var next rune = -1
				if i+size < len(lit) {
					next, _ = utf8.DecodeRuneInString(lit[i+size:])
				} else if ti+1 < len(s) && s[ti+1].kind == tokLit {
					next, _ = utf8.DecodeRuneInString(s[ti+1].lit)
				}
				if next >= 0 && isWord(next) {
					if start < i {
						pieces = append(pieces, piece{tok: token{kind: tokLit, lit: lit[start:i]}})
					}
					pieces = append(pieces, piece{dash: true})
					flags++
					start = i + size
				}
			}
			prevWord = isWord(r)
			i += size
		}
		if start < len(lit) {
			pieces = append(pieces, piece{tok: token{kind: tokLit, lit: lit[start:]}})
		}
	}
	if flags > maxWindashFlags {
		return nil, fmt.Errorf("%w: windash of a value with %d flags (at most %d)", ErrValue, flags, maxWindashFlags)
	}
	out := []sigmaString{nil}
	for _, p := range pieces {
		if !p.dash {
			for k := range out {
				out[k] = out[k].add(p.tok)
			}
			continue
		}
		next := make([]sigmaString, 0, len(out)*len(dashes))
		for _, o := range out {
			for _, d := range dashes {
				next = append(next, o.addLit(d))
			}
		}
		out = next
	}
	return out, nil
}
