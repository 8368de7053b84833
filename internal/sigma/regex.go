package sigma

import (
	"fmt"
	"regexp"
)

// checkRegex reports whether expr, a value of the re modifier with the
// sub-modifier flags (some of "i", "m", "s"), can be compiled by Go's
// regexp package.
//
// The specification defines a PCRE subset (. ^ $ * + ? {n,m} [..] | ( )).
// Rules in the wild use more (\d, \s, \b, (?i), non-greedy quantifiers),
// which RE2 also supports, so those are accepted. PCRE constructs that RE2
// lacks (lookaround, backreferences, atomic groups, possessive
// quantifiers, recursion) are outside the subset and cannot be matched:
// they are rejected with the construct named.
func checkRegex(expr, flags string) error {
	if what, off := pcreOnly(expr); what != "" {
		return fmt.Errorf("regular expression uses %s at offset %d: outside the Sigma regex subset and not supported by Go's RE2 engine", what, off)
	}
	prefix := ""
	if flags != "" {
		prefix = "(?" + flags + ")"
	}
	if _, err := regexp.Compile(prefix + expr); err != nil {
		return fmt.Errorf("invalid regular expression: %w", err)
	}
	return nil
}

// pcreOnly finds the first PCRE construct that RE2 does not have, returning
// its description and byte offset, or "" when there is none.
func pcreOnly(s string) (string, int) {
	inClass := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return "", 0 // a trailing backslash: regexp reports it
			}
			n := s[i+1]
			if !inClass {
				switch {
				case n >= '1' && n <= '9':
					return "a backreference (\\" + string(n) + ")", i
				case n == 'k' || n == 'g':
					return "a backreference (\\" + string(n) + ")", i
				}
			}
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			// A ']' right after '[' or '[^' is a literal.
			if i+1 < len(s) && s[i+1] == '^' {
				i++
			}
			if i+1 < len(s) && s[i+1] == ']' {
				i++
			}
		case c == '(' && i+2 < len(s) && s[i+1] == '?':
			rest := s[i+2:]
			switch {
			case hasPrefix(rest, "="):
				return "a lookahead (?=", i
			case hasPrefix(rest, "!"):
				return "a negative lookahead (?!", i
			case hasPrefix(rest, "<="):
				return "a lookbehind (?<=", i
			case hasPrefix(rest, "<!"):
				return "a negative lookbehind (?<!", i
			case hasPrefix(rest, ">"):
				return "an atomic group (?>", i
			case hasPrefix(rest, "|"):
				return "a branch reset group (?|", i
			case hasPrefix(rest, "#"):
				return "a comment group (?#", i
			case hasPrefix(rest, "R") || hasPrefix(rest, "&") || rest[0] >= '0' && rest[0] <= '9' || hasPrefix(rest, "+") || hasPrefix(rest, "-") && len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9':
				return "a recursion or subroutine call (?" + string(rest[0]), i
			case hasPrefix(rest, "P=") || hasPrefix(rest, "P>"):
				return "a named backreference (?" + rest[:2], i
			}
		case (c == '+') && i > 0 && isQuantifierEnd(s, i-1):
			return "a possessive quantifier", i - 1
		}
	}
	return "", 0
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// isQuantifierEnd reports whether s[i] ends a quantifier (*, +, ?, or the
// '}' of {n,m}) that is not escaped.
func isQuantifierEnd(s string, i int) bool {
	c := s[i]
	if c != '*' && c != '+' && c != '?' && c != '}' {
		return false
	}
	// Count the backslashes before s[i]: an odd number escapes it.
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	if n%2 == 1 {
		return false
	}
	if c == '?' && i > 0 && s[i-1] == '(' {
		return false
	}
	return true
}
