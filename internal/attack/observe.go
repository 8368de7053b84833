package attack

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Software from observables: RecognizeSoftware finds ATT&CK software named
// in what a detection saw (a command line, a file path, an image, a rule
// title). Precision matters more than recall, since a name matched by
// accident is false evidence, so every name and alias is classed once, from
// the knowledge base alone (the spelling ATT&CK gives it, its type and
// ATT&CK's own prose), into how it may be matched:
//
//   - Texts and names are compared as lower-case tokens: runs of letters
//     and digits; everything else (spaces, quotes, dots, dashes,
//     underscores, path separators) is a boundary. A name of several
//     tokens (Cobalt Strike, China Chopper, Invoke-PSImage, an alias such
//     as net.exe) must occur as that sequence of whole tokens, anywhere;
//     it also matches written as one token (cobaltstrike).
//   - A one-token name is ordinary when it is shorter than 4 characters
//     (at, Net, cmd, Tor, WCE) or when ATT&CK's prose uses it as a
//     lower-case word in at least two descriptions other than the
//     software's own (Page, Wiper, Expand, route, netsh, certutil: common
//     words and commands). An ordinary tool is matched only as the
//     basename of an executable (TextImage), trailing digits allowed
//     (net.exe, net1.exe: Net), and so is an alias that is an
//     executable's name of such a tool; an ordinary malware name never.
//   - A one-token name ATT&CK spells with a digit or with a capital after
//     its first letter (PlugX, ShadowPad, LaZagne, BRc4, T9000) is not a
//     word of any language: it matches as a whole token anywhere.
//   - Any other one-token name is word-shaped (Mimikatz, Winnti, Ebury,
//     Empire, Carbon, CALENDAR): it might be a word, a person's or a
//     vendor's name in a path (C:\Users\Elise, Carbon Black). It matches
//     only as a file name's stem (mimikatz.exe, Rubeus.ps1), as an
//     executable's basename, or in a rule title, which names software
//     on purpose.
type softMatcher struct {
	// anywhere maps a one-token form to the software it names, matched
	// as a whole token in any text.
	anywhere map[string][]int
	// fileName maps word-shaped forms: matched as a file name's stem, an
	// executable's basename or a token of a rule title.
	fileName map[string][]int
	// exeOnly maps ordinary tool names: matched only as an executable's
	// basename.
	exeOnly map[string][]int
	// seqs are the names of several tokens, by their first token.
	seqs map[string][]tokenSeq
	// ordinary are the tools whose name is an ordinary tool's, by index.
	ordinary map[int]bool
}

type tokenSeq struct {
	toks []string
	sw   int
}

// TextKind says what a text given to RecognizeSoftware is.
type TextKind int

const (
	// TextFree is any other text: a command line, a file path, a
	// service or pipe name.
	TextFree TextKind = iota
	// TextProgram is the path of an executable that ran: its basename
	// (trailing digits allowed: PsExec64.exe) is matched against the
	// names matched as file names or anywhere.
	TextProgram
	// TextImage is TextProgram that also matches the basename against
	// ordinary tool names (net.exe, net1.exe: Net; cmd.exe: cmd).
	TextImage
	// TextTitle is a rule title.
	TextTitle
)

// minNameLen is the shortest one-token name matched outside executables'
// basenames.
const minNameLen = 4

func (kb *KB) softMatcher() *softMatcher {
	return kb.index().soft.get(func() *softMatcher { return buildSoftMatcher(kb) })
}

// PrepareSoftware builds the matcher of RecognizeSoftware now, so that its
// first use does not pay for it.
func (kb *KB) PrepareSoftware() { kb.softMatcher() }

// RecognizeSoftware returns the IDs of the ATT&CK software whose name or
// alias text shows, of kind k, sorted, each once; the rules are described
// at the top of observe.go. The matcher is built on first use.
func (kb *KB) RecognizeSoftware(text string, k TextKind) []string {
	m := kb.softMatcher()
	var hits []int
	add := func(sws []int) {
		for _, s := range sws {
			if !slices.Contains(hits, s) {
				hits = append(hits, s)
			}
		}
	}
	toks, fileStem := tokenize(text)
	for i, t := range toks {
		add(m.anywhere[t])
		if k == TextTitle || fileStem[i] {
			add(m.fileName[t])
		}
		for _, sq := range m.seqs[t] {
			if i+len(sq.toks) <= len(toks) && slices.Equal(toks[i:i+len(sq.toks)], sq.toks) {
				add([]int{sq.sw})
			}
		}
	}
	if k == TextProgram || k == TextImage {
		if stem := exeStem(text); stem != "" {
			bare := strings.TrimRightFunc(stem, unicode.IsDigit)
			for _, s := range []string{stem, bare} {
				add(m.anywhere[s])
				add(m.fileName[s])
				if k == TextImage {
					add(m.exeOnly[s])
				}
			}
		}
	}
	ids := make([]string, 0, len(hits))
	for _, s := range hits {
		ids = append(ids, kb.Software[s].ID)
	}
	slices.Sort(ids)
	return ids
}

// OrdinaryTool reports whether the software with the ID is a tool whose
// name is an ordinary word or command (cmd, Net, schtasks, certutil; see
// the top of observe.go). ATT&CK records such a tool for a few groups
// while many more run it (cmd: 6 groups, the Windows command shell's
// technique 71), so its use is its technique's evidence, not the
// software's.
func (kb *KB) OrdinaryTool(id string) bool {
	m := kb.softMatcher()
	for i := range kb.Software {
		if kb.Software[i].ID == id {
			return m.ordinary[i]
		}
	}
	return false
}

// tokenize splits text into lower-case tokens of letters and digits, and
// marks those that are a file name's stem: followed by a dot and an
// extension of 1 to 4 letters or digits that ends the token run (a
// boundary other than a dot follows it, or the text ends).
func tokenize(text string) ([]string, []bool) {
	var toks []string
	var starts, ends []int
	start := -1
	for i, r := range text {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		if alnum && start < 0 {
			start = i
		} else if !alnum && start >= 0 {
			toks, starts, ends = append(toks, strings.ToLower(text[start:i])), append(starts, start), append(ends, i)
			start = -1
		}
	}
	if start >= 0 {
		toks, starts, ends = append(toks, strings.ToLower(text[start:])), append(starts, start), append(ends, len(text))
	}
	stem := make([]bool, len(toks))
	for i := 0; i+1 < len(toks); i++ {
		ext := toks[i+1]
		if ends[i] != starts[i+1]-1 || text[ends[i]] != '.' || len(ext) > 4 {
			continue
		}
		if e := ends[i+1]; e == len(text) || text[e] != '.' {
			stem[i] = true
		}
	}
	return toks, stem
}

// exeStem returns the lower-case basename of the path p without its
// extension, or "" when it has none.
func exeStem(p string) string {
	p = strings.Trim(strings.TrimSpace(p), `"'`)
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	if i := strings.LastIndexByte(p, '.'); i > 0 {
		p = p[:i]
	}
	return strings.ToLower(p)
}

// eachWord calls fn with each run of letters and digits in s, in order.
func eachWord(s string, fn func(w string)) {
	start := -1
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		alnum := r < utf8.RuneSelf && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') ||
			r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
		switch {
		case alnum && start < 0:
			start = i
		case !alnum && start >= 0:
			fn(s[start:i])
			start = -1
		}
		i += n
	}
	if start >= 0 {
		fn(s[start:])
	}
}

// nameTokens returns the tokens of the software names that ordinary is
// asked about: one-token names and the stems of names like net.exe.
func nameTokens(kb *KB) map[string]bool {
	cand := map[string]bool{}
	for i := range kb.Software {
		s := &kb.Software[i]
		if s.Deprecated {
			continue
		}
		for _, n := range append([]string{s.Name}, s.Aliases...) {
			toks, _ := tokenize(n)
			if len(toks) == 1 || len(toks) == 2 && toks[1] == "exe" {
				cand[toks[0]] = true
			}
		}
	}
	return cand
}

func buildSoftMatcher(kb *KB) *softMatcher {
	m := &softMatcher{anywhere: map[string][]int{}, fileName: map[string][]int{}, exeOnly: map[string][]int{}, seqs: map[string][]tokenSeq{}, ordinary: map[int]bool{}}
	// used[w] counts the descriptions that use the name token w in lower
	// case; own uses are subtracted below. Only name tokens are counted
	// (scanning every word of the prose cost most of the build).
	cand := nameTokens(kb)
	used := map[string]int{}
	if tx, err := kb.texts(); err == nil {
		seen := map[string]bool{}
		for _, d := range tx.Desc {
			clear(seen)
			eachWord(d, func(w string) {
				if cand[w] && !seen[w] {
					seen[w] = true
					used[w]++
				}
			})
		}
	}
	add := func(mp map[string][]int, k string, i int) {
		if !slices.Contains(mp[k], i) {
			mp[k] = append(mp[k], i)
		}
	}
	for i := range kb.Software {
		s := &kb.Software[i]
		if s.Deprecated {
			continue
		}
		own := map[string]bool{}
		eachWord(kb.Description(s.ID), func(w string) {
			if cand[w] {
				own[w] = true
			}
		})
		for _, n := range append([]string{s.Name}, s.Aliases...) {
			toks, _ := tokenize(n)
			switch {
			case len(toks) == 0:
			case len(toks) > 1:
				if len(toks) == 2 && toks[1] == "exe" {
					// net.exe, cipher.exe: an executable's name, matched
					// as such (an ordinary tool's only as a basename).
					if s.Type == "tool" {
						add(m.exeOnly, toks[0], i)
					}
					if !ordinary(toks[0], used, own) {
						m.seqs[toks[0]] = append(m.seqs[toks[0]], tokenSeq{toks, i})
					}
					continue
				}
				m.seqs[toks[0]] = append(m.seqs[toks[0]], tokenSeq{toks, i})
				if j := strings.Join(toks, ""); len(j) >= minNameLen+2 {
					add(m.anywhere, j, i)
				}
			default:
				t := toks[0]
				switch {
				case ordinary(t, used, own):
					if s.Type == "tool" {
						add(m.exeOnly, t, i)
						// A short name is ordinary for its length
						// alone (Tor, FRP); a command has its .exe too.
						if n == s.Name && (len(t) >= minNameLen || slices.ContainsFunc(s.Aliases, func(a string) bool { return strings.EqualFold(a, t+".exe") })) {
							m.ordinary[i] = true
						}
					}
				case marked(n):
					add(m.anywhere, t, i)
				default:
					add(m.fileName, t, i)
				}
			}
		}
	}
	return m
}

// ordinary reports whether the token t is too short or a lower-case word
// of ATT&CK's prose: used in at least two descriptions (used counts them)
// other than the software's own (own holds its words).
func ordinary(t string, used map[string]int, own map[string]bool) bool {
	others := used[t]
	if own[t] {
		others--
	}
	return len(t) < minNameLen || others >= 2
}

// marked reports whether a one-token name is spelt with a digit or with a
// capital after its first letter (PlugX, T9000), but not all in capitals.
func marked(name string) bool {
	upper, lower := false, false
	for i, r := range name {
		switch {
		case unicode.IsDigit(r):
			return true
		case unicode.IsUpper(r):
			if i > 0 {
				upper = true
			}
		case unicode.IsLower(r):
			lower = true
		}
	}
	return upper && lower
}
