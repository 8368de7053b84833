package attack

import (
	"math"
	"regexp"
	"slices"
	"strings"
)

// Procedures are what analysts attribute by: ATT&CK's procedure texts
// (the descriptions of group-level "uses" relationships) name concrete
// artefacts, "used `net config Workstation`", "copied ntdsutil.exe". A
// Procedure is one artefact of one group's procedure text: a fragment
// ATT&CK quotes as code, or a file name with an executable's or script's
// extension written in the prose. RecognizeProcedures finds them in what a
// detection saw, and Attribute credits the groups documented doing exactly
// that, by how few groups share the artefact.
type Procedure struct {
	// Group is the group's ID; Target the technique or software of the
	// relationship whose text names the artefact.
	Group  string `json:"group"`
	Target string `json:"target"`
	// Artefact is the artefact's tokens (runs of letters and digits, in
	// lower case) joined by spaces: the key RecognizeProcedures returns and
	// Evidence.Procedures holds; `net group "Domain Admins" /domain` and
	// its spelling with curly quotes are one artefact. Text is the
	// artefact as ATT&CK writes it.
	Artefact string `json:"artefact"`
	Text     string `json:"text"`
	// Rel is the relationship's STIX id; Citations its reports.
	Rel       string   `json:"rel"`
	Citations []string `json:"citations,omitempty"`
	// Groups is the number of groups whose procedure texts name the
	// artefact, quoted or not: how common it is (whoami: dozens).
	Groups int `json:"groups"`
}

// MaxProcedureGroups is the most groups an artefact may be named for and
// still be evidence: past it (cmd.exe, whoami, c:\windows) it tells groups
// apart no better than its technique.
const MaxProcedureGroups = 8

// countProcedureGroups sets each procedure's Groups from texts, the
// procedure texts of the group-level relationships by group ID.
func countProcedureGroups(ps []Procedure, texts map[string][]string) {
	type pos struct{ text, at int }
	var toks [][]string
	var owner []string
	index := map[string][]pos{}
	for g, ts := range texts {
		for _, t := range ts {
			tk, _ := tokenize(t)
			for j, w := range tk {
				index[w] = append(index[w], pos{len(toks), j})
			}
			toks = append(toks, tk)
			owner = append(owner, g)
		}
	}
	counted := map[string]int{}
	for i := range ps {
		a := ps[i].Artefact
		if n, ok := counted[a]; ok {
			ps[i].Groups = n
			continue
		}
		seq := strings.Fields(a)
		groups := map[string]bool{}
		for _, p := range index[seq[0]] {
			t := toks[p.text]
			if p.at+len(seq) <= len(t) && slices.Equal(t[p.at:p.at+len(seq)], seq) {
				groups[owner[p.text]] = true
			}
		}
		counted[a] = max(1, len(groups))
		ps[i].Groups = counted[a]
	}
}

// ProcedureShare is the weight of a matched procedure: a group documented
// doing what was seen gets the likelihood ratio 1 + (G/k − 1)·ProcedureShare
// over the background, with G groups and k of them documented doing it
// (1.4 bits for one of 172 groups, 0.3 bits for one of 8). A judgement:
// the report cases carry IDs, not texts, so it cannot be fitted there. It
// is kept low because ATT&CK documents a command for a few groups that
// many more run: one matched procedure with a common technique leaves
// most of the confidence with the unknown actor.
const ProcedureShare = 0.01

var (
	// codeSpan is a fragment ATT&CK quotes as code: in Markdown's
	// backticks or in HTML's <code> (about 3,300 and 2,500 spans of v18;
	// "used the <code>net share</code> command").
	codeSpan = regexp.MustCompile("`([^`\n]{3,200})`|<code>([^<\n]{3,200})</code>")
	// fileName is a file name with an executable's, library's or
	// script's extension in prose.
	fileName = regexp.MustCompile(`(?i)\b[a-z0-9_][a-z0-9_.-]*\.(?:exe|dll|sys|ps1|psm1|bat|cmd|vbs|vbe|js|jse|hta|scr|msi|lnk|jsp|aspx?|php)\b`)
)

// artefact is one artefact of a procedure text: its key and its text.
type artefact struct{ key, text string }

// artefacts returns the artefacts a procedure text names, each once. A
// command, path or file name of one word (whoami, makecab.exe, ntdsutil)
// is left out: it names a tool, which dozens of groups run while ATT&CK
// documents a few; a procedure is a tool used in a particular way (`net
// config Workstation`, `fsutil fsinfo drives`, `reg save`), and so is a
// tool with a lone switch (`cmd.exe /c`).
func artefacts(desc string) []artefact {
	var out []artefact
	add := func(s string) {
		s = strings.Join(strings.Fields(strings.Trim(s, ` "'`)), " ")
		toks, _ := tokenize(s)
		if len(toks) >= 2 && fileName.FindString(s) == s {
			toks = toks[:len(toks)-1] // a file name: its extension is not a word
		}
		if len(toks) < 2 || len(strings.Join(toks, "")) < minArtefact {
			return
		}
		// What follows the program must say how it is used: `cmd.exe /c`
		// (quoted in <code> for 7 groups) is how any command runs.
		args := toks[1:]
		if args[0] == "exe" {
			args = args[1:]
		}
		if len(strings.Join(args, "")) < minArgument {
			return
		}
		key := strings.Join(toks, " ")
		if !slices.ContainsFunc(out, func(a artefact) bool { return a.key == key }) {
			out = append(out, artefact{key, s})
		}
	}
	for _, m := range codeSpan.FindAllStringSubmatch(desc, -1) {
		add(m[1] + m[2]) // one of them is empty
	}
	// File names outside code spans and Markdown links' targets.
	prose := mdLinkTarget.ReplaceAllString(codeSpan.ReplaceAllString(desc, " "), "")
	for _, m := range fileName.FindAllString(prose, -1) {
		add(m)
	}
	return out
}

// minArtefact is the fewest letters and digits an artefact has;
// minArgument the fewest after its first token (and an .exe).
const (
	minArtefact = 5
	minArgument = 3
)

// mdLinkTarget is the target of a Markdown link, "(https://...)".
var mdLinkTarget = regexp.MustCompile(`\]\([^)]*\)`)

// procMatcher finds artefacts in texts.
type procMatcher struct {
	// seqs are the artefacts' token sequences by their first token.
	seqs map[string][]procSeq
	// groups[a] are the groups documented with artefact a, sorted;
	// common[a] the groups whose procedure texts name it at all.
	groups map[string][]string
	common map[string]int
	// cites[a][g] are the reports ATT&CK cites for group g's procedures
	// naming artefact a.
	cites map[string]map[string][]string
}

type procSeq struct {
	toks     []string
	artefact string
}

func (kb *KB) procMatcher() *procMatcher {
	return kb.index().proc.get(func() *procMatcher { return buildProcMatcher(kb) })
}

// buildProcMatcher indexes the artefacts of active groups' procedures,
// but for those named in more than MaxProcedureGroups groups' procedure
// texts.
func buildProcMatcher(kb *KB) *procMatcher {
	m := &procMatcher{seqs: map[string][]procSeq{}, groups: map[string][]string{}, common: map[string]int{}, cites: map[string]map[string][]string{}}
	active := map[string]bool{}
	for i := range kb.Groups {
		if !kb.Groups[i].Deprecated {
			active[kb.Groups[i].ID] = true
		}
	}
	for _, p := range kb.Procedures {
		if !active[p.Group] || p.Groups > MaxProcedureGroups {
			continue
		}
		toks := strings.Fields(p.Artefact)
		m.common[p.Artefact] = max(m.common[p.Artefact], p.Groups)
		if _, ok := m.groups[p.Artefact]; !ok {
			m.seqs[toks[0]] = append(m.seqs[toks[0]], procSeq{toks, p.Artefact})
		}
		if !slices.Contains(m.groups[p.Artefact], p.Group) {
			m.groups[p.Artefact] = append(m.groups[p.Artefact], p.Group)
		}
		if m.cites[p.Artefact] == nil {
			m.cites[p.Artefact] = map[string][]string{}
		}
		for _, c := range p.Citations {
			if !slices.Contains(m.cites[p.Artefact][p.Group], c) {
				m.cites[p.Artefact][p.Group] = append(m.cites[p.Artefact][p.Group], c)
			}
		}
	}
	for _, gs := range m.groups {
		slices.Sort(gs)
	}
	return m
}

// named is the number of groups the artefact a tells apart from: those
// documented with it or naming it in any procedure text, the larger.
func (pm *procMatcher) named(a string) int { return max(len(pm.groups[a]), pm.common[a]) }

// RecognizeProcedures returns the artefacts of ATT&CK's procedure texts
// that text shows (their keys, see Procedure.Artefact: whole tokens, in
// order; `net config Workstation` matches "net config workstation /all",
// not "net.exe config workstation"), sorted, each once. The matcher is built on
// first use.
func (kb *KB) RecognizeProcedures(text string) []string {
	m := kb.procMatcher()
	toks, _ := tokenize(text)
	// One stretch of text is one observation: of the artefacts matched
	// within another's span ("net view" in "net view /domain"), only the
	// longest is kept.
	type span struct {
		from, to int
		artefact string
	}
	var spans []span
	for i, t := range toks {
		for _, sq := range m.seqs[t] {
			if i+len(sq.toks) <= len(toks) && slices.Equal(toks[i:i+len(sq.toks)], sq.toks) {
				spans = append(spans, span{i, i + len(sq.toks), sq.artefact})
			}
		}
	}
	var out []string
	for _, s := range spans {
		within := slices.ContainsFunc(spans, func(o span) bool {
			return o.from <= s.from && s.to <= o.to && o.to-o.from > s.to-s.from
		})
		if !within && !slices.Contains(out, s.artefact) {
			out = append(out, s.artefact)
		}
	}
	slices.Sort(out)
	return out
}

// ProcedureMatch is a procedure a candidate group is documented with and
// the evidence showed.
type ProcedureMatch struct {
	// Artefact is what was seen, as RecognizeProcedures returns it; Text
	// how the group's procedure text writes it.
	Artefact string `json:"artefact"`
	Text     string `json:"text"`
	// Target and TargetName are the technique or software of the
	// procedure.
	Target     string `json:"target"`
	TargetName string `json:"target_name"`
	// Sources are the reports ATT&CK cites for it.
	Sources []string `json:"sources"`
	// Groups is how many groups' procedure texts name the artefact.
	Groups int `json:"groups"`
	// Bits is its weight for the group: 0 when a stronger artefact of a
	// report it shares counted instead (see procMatcher.counted).
	Bits float64 `json:"bits"`
}

// procedureBits is the weight in bits of an artefact k of G groups are
// documented with.
func procedureBits(k, g int) float64 {
	return math.Log2(1 + (float64(g)/float64(k)-1)*ProcedureShare)
}

// procedureScores adds to scores (indexed like m.groups) the weight of
// the observed artefacts for the groups documented with them
// (procMatcher.counted).
func (kb *KB) procedureScores(m *model, arts []string, scores []float64) {
	if len(arts) == 0 {
		return
	}
	pm := kb.procMatcher()
	byGroup := map[string][]string{}
	for _, a := range arts {
		for _, g := range pm.groups[a] {
			byGroup[g] = append(byGroup[g], a)
		}
	}
	for g, as := range byGroup {
		gi, ok := m.groupIndex[g]
		if !ok {
			continue
		}
		for _, b := range pm.counted(g, as, len(m.groups)) {
			scores[gi] += b
		}
	}
}

// counted returns the bits each of the artefacts as (all documented for
// group g) counts for it, among G groups. The artefacts one report
// describes the group doing are one observation, not one each: a report
// on a group's reconnaissance quotes the burst of commands it ran (`net
// time`, `net view /domain`, `net user /domain`, ...), and an intrusion's
// reconnaissance runs such a burst whoever the actor is, so matching seven
// of them is not seven independent pieces of evidence. Artefacts whose
// sources share a report are joined (transitively); each such set counts
// its strongest artefact, the others 0. Rules firing on one behaviour are
// not added up either (see the hunt's evidence weights).
func (pm *procMatcher) counted(g string, as []string, groups int) []float64 {
	bits := make([]float64, len(as))
	set := make([]int, len(as)) // union-find over as
	for i := range set {
		set[i] = i
	}
	find := func(i int) int {
		for set[i] != i {
			set[i] = set[set[i]]
			i = set[i]
		}
		return i
	}
	for i, a := range as {
		bits[i] = procedureBits(pm.named(a), groups)
		for j := range i {
			if shareReport(pm.cites[a][g], pm.cites[as[j]][g]) {
				set[find(i)] = find(j)
			}
		}
	}
	best := map[int]int{} // set → its strongest artefact
	for i := range as {
		r := find(i)
		if b, ok := best[r]; !ok || bits[i] > bits[b] {
			best[r] = i
		}
	}
	for i := range bits {
		if best[find(i)] != i {
			bits[i] = 0
		}
	}
	return bits
}

func shareReport(a, b []string) bool {
	return slices.ContainsFunc(a, func(c string) bool { return slices.Contains(b, c) })
}

// procedureMatches returns the observed artefacts group g is documented
// with, strongest first.
func (kb *KB) procedureMatches(m *model, g string, arts []string) []ProcedureMatch {
	pm := kb.procMatcher()
	var as []string
	for _, a := range arts {
		if slices.Contains(pm.groups[a], g) {
			as = append(as, a)
		}
	}
	counted := pm.counted(g, as, len(m.groups))
	var out []ProcedureMatch
	for i, a := range as {
		pmt := ProcedureMatch{Artefact: a, Groups: pm.named(a), Bits: round3(counted[i]), Sources: []string{}}
		for _, p := range kb.Procedures {
			if p.Group != g || p.Artefact != a {
				continue
			}
			if pmt.Target == "" { // the first procedure naming it
				pmt.Text, pmt.Target, pmt.TargetName = p.Text, p.Target, kb.nameOf(p.Target)
			}
			for _, c := range p.Citations {
				if !slices.Contains(pmt.Sources, c) {
					pmt.Sources = append(pmt.Sources, c)
				}
			}
		}
		out = append(out, pmt)
	}
	slices.SortStableFunc(out, func(a, b ProcedureMatch) int { return a.Groups - b.Groups })
	return out
}

// nameOf returns the name of a technique or software ID, or "".
func (kb *KB) nameOf(id string) string {
	if KindOf(id) == KindSoftware {
		if s, _, err := kb.SoftwareByID(id); err == nil {
			return s.Name
		}
		return ""
	}
	if t, _, err := kb.Technique(id); err == nil {
		return t.Name
	}
	return ""
}
