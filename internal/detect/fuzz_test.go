package detect

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// wildcardRegexp translates a raw Sigma string to an anchored regular
// expression, written as plainly as the specification states the rules: `*`
// any run, `?` one character, a backslash escapes `*`, `?` and itself and
// is literal before anything else. Literals are lower-cased unless cased.
func wildcardRegexp(raw string, cased bool) string {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	lit := func(s string) {
		if !cased {
			s = strings.ToLower(s)
		}
		b.WriteString(regexp.QuoteMeta(s))
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '\\' && i+1 < len(raw) && strings.IndexByte(`*?\`, raw[i+1]) >= 0:
			lit(raw[i+1 : i+2])
			i++
		case c == '*':
			b.WriteString(`.*`)
		case c == '?':
			b.WriteString(`.`)
		default:
			_, size := utf8.DecodeRuneInString(raw[i:])
			lit(raw[i : i+size])
			i += size - 1
		}
	}
	b.WriteString(`$`)
	return b.String()
}

// FuzzWildcard checks the Sigma string parser and the pattern matcher (with
// the contains, startswith and endswith wrappings, cased or not) against
// wildcardRegexp.
func FuzzWildcard(f *testing.F) {
	for _, s := range [][2]string{
		{`*\\*.exe`, `C:\Windows\cmd.EXE`},
		{`a?c`, `abc`},
		{`a\*c`, `a*c`},
		{`\\\*`, `\*`},
		{`\\\\`, `\\`},
		{`a\b`, `A\B`},
		{`*ab*ab*`, `xabab`},
		{`?`, `é`},
		{`é*Ω`, `ÉxΩ`},
		{`\`, `\`},
		{`**?*`, ``},
	} {
		for mode := range byte(8) {
			f.Add(s[0], s[1], mode)
		}
	}
	f.Fuzz(func(t *testing.T, raw, text string, mode byte) {
		if !utf8.ValidString(raw) || !utf8.ValidString(text) {
			// The reference cannot express patterns or texts that are not
			// UTF-8 (regexp reads an invalid byte as U+FFFD).
			return
		}
		cased := mode&4 != 0
		s := parseString(raw)
		if got := parseString(s.String()); !slices.Equal(got, s) {
			t.Fatalf("parse(%q) = %v renders as %q, which parses as %v", raw, s, s.String(), got)
		}
		// The raw equivalent of the wrapping: a star around raw, with a
		// lone backslash at its end (literal) doubled so that the star
		// after it stays a wildcard.
		tail := raw
		if n := len(raw) - len(strings.TrimRight(raw, `\`)); n%2 == 1 {
			tail += `\`
		}
		ref := raw
		switch mode & 3 {
		case 1:
			s, ref = s.wrap(true, true), "*"+tail+"*"
		case 2:
			s, ref = s.wrap(false, true), tail+"*"
		case 3:
			s, ref = s.wrap(true, false), "*"+raw
		}
		re, err := regexp.Compile(wildcardRegexp(ref, cased))
		if err != nil {
			t.Fatalf("reference for %q: %v", ref, err)
		}
		p := compilePattern(s, cased)
		in := text
		if !cased {
			in = toLower(text)
		}
		if got, want := p.match(in), re.MatchString(in); got != want {
			t.Fatalf("pattern %q (mode %d) on %q: got %v, want %v (reference %s)", raw, mode, text, got, want, re)
		}
	})
}

// FuzzAhoCorasick checks the automaton, the gram set, the shift set and
// the rare-byte set against strings.Contains for each needle. needles holds the needles
// separated by newlines; the scanners read the text ASCII-folded and the
// needles hold no ASCII upper-case letter.
func FuzzAhoCorasick(f *testing.F) {
	f.Add("he\nshe\nhis\nhers", "ushers")
	f.Add("mimikatz\nsekurlsa::\nlsadump::", `C:\Temp\MimiKatz.exe "SEKURLSA::logonpasswords"`)
	f.Add("aaaaa\naaab\naab", "aaaaaaab")
	f.Add("\\cmd.exe\n.exe\n\\windows\\", `C:\WINDOWS\System32\CMD.EXE`)
	f.Add("abcde\nbcdef\ncdefg\nxyz", "ABCDEFG")
	f.Add("zzzzq\nmimikatz", "zzzzzzzzzzQ MIMIKATz")
	f.Fuzz(func(t *testing.T, needleText, text string) {
		var needles []string
		for n := range strings.SplitSeq(needleText, "\n") {
			if n = asciiLower(n); n != "" && len(needles) < 100 {
				needles = append(needles, n)
			}
		}
		if len(needles) == 0 {
			return
		}
		folded := asciiLower(text)
		var want []int32
		for k, n := range needles {
			if strings.Contains(folded, n) {
				want = append(want, int32(k))
			}
		}
		check := func(name string, find func(string, func(int32))) {
			t.Helper()
			var got []int32
			find(text, func(n int32) {
				if !slices.Contains(got, n) {
					got = append(got, n)
				}
			})
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: needles %q in %q: got %v, want %v", name, needles, text, got, want)
			}
		}
		check("automaton", buildAutomaton(needles).find)
		if ss := buildShiftSet(needles); ss != nil {
			check("shift set", ss.find)
		}
		if rs := buildRareSet(needles); rs != nil {
			check("rare-byte set", rs.find)
		}
		// The index splits large sets: short needles to an automaton, the
		// others to a gram set.
		short, shortNums, long, longNums := splitShort(needles)
		check("automaton and gram set", func(t string, hit func(int32)) {
			if len(short) > 0 {
				buildAutomatonNums(short, shortNums).find(t, hit)
			}
			if len(long) > 0 {
				buildGramSet(long, longNums).find(t, hit)
			}
		})
	})
}

// asciiLower lower-cases the ASCII letters of s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = foldASCII[c]
	}
	return string(b)
}
