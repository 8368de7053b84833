package hunt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// MaxCandidates is how many groups an Attribution keeps.
const MaxCandidates = 3

// tooLittle reports whether detections are too little evidence to
// attribute: all of one rule, of low or informational level. (Operations
// never hold such detections alone: they stay plain detections.)
func tooLittle(ds []result.Detection) bool {
	if len(ds) == 0 {
		return false
	}
	rule := ds[0].Rule
	for i := range ds {
		if ds[i].Rule != rule {
			return false
		}
	}
	return sigma.LevelRank(rule.Level) < sigma.LevelRank("medium")
}

// attackEvidence gathers the ATT&CK evidence of rules: techniques (their
// Techniques), software (attack.sNNNN tags) and group hints (attack.gNNNN
// tags), each once, sorted.
func attackEvidence(rules []*result.Rule) attack.Evidence {
	var ev attack.Evidence
	add := func(list *[]string, id string) {
		if !slices.Contains(*list, id) {
			*list = append(*list, id)
		}
	}
	weigh := func(id string, w float64) {
		if ev.Weights == nil {
			ev.Weights = map[string]float64{}
		}
		ev.Weights[id] = max(ev.Weights[id], w)
	}
	for _, r := range rules {
		// A rule tagged with k techniques (a parent tagged with its
		// sub-technique not counted) says one of them happened: each
		// carries 1/k of the rule's level weight, its largest share over
		// the rules naming it. Shares are not added up over rules (nor
		// over the rules firing on one event): SigmaHQ has several rules
		// for one behaviour, and adding them (1−Π(1−w), as if
		// independent) made the CuckooBees operation's first group more
		// confident (0.28 to 0.71) and APT41 no nearer (7th to 13th;
		// BENCHMARKS.md).
		k := 0
		for _, t := range r.Techniques {
			if !slices.ContainsFunc(r.Techniques, func(x string) bool { return strings.HasPrefix(x, t+".") }) {
				k++
			}
		}
		for _, t := range r.Techniques {
			add(&ev.Techniques, t)
			weigh(t, levelWeight(r.Level)/float64(max(k, 1)))
		}
		// Software tags are weighed the same way: SigmaHQ's "HackTool -
		// CrackMapExec Execution Patterns" is tagged with cmd and
		// schtasks, the tools the hack tool drives, and a false match of
		// it made both certain (software seen in a field is, below).
		var soft []string
		for _, tag := range r.Tags {
			rest, ok := strings.CutPrefix(strings.ToLower(tag), "attack.")
			if !ok || len(rest) != 5 || !allDigits(rest[1:]) {
				continue
			}
			switch rest[0] {
			case 's':
				soft = append(soft, strings.ToUpper(rest))
			case 'g':
				add(&ev.GroupHints, strings.ToUpper(rest))
			}
		}
		for _, id := range soft {
			add(&ev.Software, id)
			weigh(id, levelWeight(r.Level)/float64(len(soft)))
		}
	}
	slices.Sort(ev.Techniques)
	slices.Sort(ev.Software)
	slices.Sort(ev.GroupHints)
	return ev
}

// levelWeight is the share of evidence a rule of the level carries: how
// likely its match is the activity it is tagged with rather than ordinary
// use, by the meaning Sigma gives levels (informational: enrichment;
// low: notable, rarely an incident; medium: to review; high and critical:
// an alert). A generic rule's tag (SigmaHQ's low "File And SubFolder
// Enumeration Via Dir Command" is tagged T1217, browser information
// discovery) then weighs what the rule's matches mean, not what the
// technique would say if it were certain. Measured in BENCHMARKS.md
// (attribution, 2026-12-07).
func levelWeight(level string) float64 {
	switch sigma.LevelRank(level) {
	case 0:
		return 0.25
	case 1:
		return 0.5
	case 2:
		return 0.75
	default: // high, critical, or no level (nothing to weigh it by)
		return 1
	}
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// attributor ranks groups for evidence, once per distinct evidence (many
// operations show the same few techniques).
type attributor struct {
	kb    *attack.KB
	cache map[string]*result.Attribution
	// recognised caches RecognizeSoftware by text and kind: detections
	// repeat the same images and titles. Only short texts are kept, at most
	// maxRecognised of them (long command lines rarely repeat, and the
	// cache must not grow with the detections).
	recognised map[recognisedKey]recognisedIn
}

// recognisedIn is what one text showed: software IDs and artefacts of
// ATT&CK's procedure texts.
type recognisedIn struct {
	software, procedures []string
}

// Bounds of attributor.recognised.
const (
	maxRecognised     = 1 << 14
	maxRecognisedText = 512
)

type recognisedKey struct {
	text string
	kind attack.TextKind
}

// loadKB returns kb, or the embedded knowledge base when kb is nil.
func loadKB(kb *attack.KB) (*attack.KB, error) {
	if kb != nil {
		return kb, nil
	}
	kb, err := attack.Load()
	if err != nil {
		return nil, fmt.Errorf("load ATT&CK: %w", err)
	}
	return kb, nil
}

// techniqueTactics returns the tactics of a technique in kb (through its
// revocation; a sub-technique kb does not know has its parent's), nil when
// kb does not know it: operation.Reach's lookup.
func techniqueTactics(kb *attack.KB) func(string) []string {
	return func(id string) []string {
		t, _, err := kb.Technique(id)
		if err != nil {
			parent, _, ok := strings.Cut(id, ".")
			if !ok {
				return nil
			}
			if t, _, err = kb.Technique(parent); err != nil {
				return nil
			}
		}
		return t.Tactics
	}
}

// newAttributor ranks with kb, or with the embedded knowledge base when kb
// is nil. On error the attributor attributes nothing.
func newAttributor(kb *attack.KB) (*attributor, error) {
	kb, err := loadKB(kb)
	if err != nil {
		return nil, err
	}
	kb.Prepare() // on the loading goroutine, not on the hunt's critical path
	kb.PrepareSoftware()
	return &attributor{kb: kb}, nil
}

// waitLoaded returns what load returns, or ctx's error when ctx is done
// first (the load, bounded, ends on its own).
func waitLoaded[T any](ctx context.Context, load func() (T, error)) (T, error) {
	type loaded struct {
		v   T
		err error
	}
	ch := make(chan loaded, 1)
	go func() {
		v, err := load()
		ch <- loaded{v, err}
	}()
	select {
	case l := <-ch:
		return l.v, l.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// detectionRules returns the distinct rules of ds.
func detectionRules(ds []result.Detection) []*result.Rule {
	seen := map[string]bool{}
	var out []*result.Rule
	for i := range ds {
		r := ds[i].Rule
		if k := ruleKey(r); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// imageFields are the fields that hold the path of the executable that
// ran: its basename is matched as a program's (attack.TextProgram), not
// against the OS's built-in tools (Net, Reg, cmd: attack.TextImage).
// ATT&CK records those as software of a few groups only (cmd: 6, while
// 50-80 use T1059.003), so reg.exe seen once made the group that has Reg and
// cmd the answer: a single `reg save` detection went from "none of ATT&CK's
// groups, 0.54" to "GALLIUM, 0.64". Their use is the technique's evidence.
var imageFields = []string{"Image", "ParentImage", "NewProcessName", "ParentProcessName", "ProcessName"}

// seenIn returns the ATT&CK software (see attack.KB.RecognizeSoftware) and
// the artefacts of procedure texts (attack.KB.RecognizeProcedures)
// recognised in the fields and rule titles of ds, each once with the first
// text it was seen in, by ID and by artefact.
//
// Software named only by rule titles counts when two rules name it: one
// rule's title is its author's hypothesis, and rules named after malware
// often look for a behaviour others share (SigmaHQ's "Pikabot Fake DLL
// Extension Execution Via Rundll32.EXE" fires on any rundll32 loader).
// Software a field names (an image, a command line, a file) counts at once.
func (a *attributor) seenIn(ds []*result.Detection) ([]attack.SoftwareSeen, []attack.ProcedureSeen) {
	var soft []attack.SoftwareSeen
	var procs []attack.ProcedureSeen
	titles := map[string][]string{} // software ID -> the titles naming it
	recognise := func(text string, k attack.TextKind) recognisedIn {
		key := recognisedKey{text, k}
		in, ok := a.recognised[key]
		if !ok {
			in.software = a.kb.RecognizeSoftware(text, k)
			if k != attack.TextTitle {
				in.procedures = a.kb.RecognizeProcedures(text)
			}
			if len(text) <= maxRecognisedText && len(a.recognised) < maxRecognised {
				if a.recognised == nil {
					a.recognised = map[recognisedKey]recognisedIn{}
				}
				a.recognised[key] = in
			}
		}
		return in
	}
	addSoft := func(id, text string) {
		if !slices.ContainsFunc(soft, func(s attack.SoftwareSeen) bool { return s.ID == id }) {
			sw, _, _ := a.kb.SoftwareByID(id)
			soft = append(soft, attack.SoftwareSeen{ID: id, Name: sw.Name, In: text})
		}
	}
	for _, d := range ds {
		for _, f := range d.Fields {
			k := attack.TextFree
			if slices.Contains(imageFields, f.Name) {
				k = attack.TextProgram
			}
			in := recognise(f.Value, k)
			for _, id := range in.software {
				addSoft(id, f.Value)
			}
			for _, art := range in.procedures {
				if !slices.ContainsFunc(procs, func(p attack.ProcedureSeen) bool { return p.Artefact == art }) {
					procs = append(procs, attack.ProcedureSeen{Artefact: art, In: f.Value})
				}
			}
		}
		if d.Rule != nil {
			for _, id := range recognise(d.Rule.Title, attack.TextTitle).software {
				if !slices.Contains(titles[id], d.Rule.Title) {
					titles[id] = append(titles[id], d.Rule.Title)
				}
			}
		}
	}
	for id, ts := range titles {
		if len(ts) >= 2 {
			addSoft(id, ts[0])
		}
	}
	slices.SortFunc(soft, func(x, y attack.SoftwareSeen) int { return strings.Compare(x.ID, y.ID) })
	slices.SortFunc(procs, func(x, y attack.ProcedureSeen) int { return strings.Compare(x.Artefact, y.Artefact) })
	return soft, procs
}

// attributeSeen returns the attribution of the ATT&CK evidence of the
// rules of ds and of the software recognised in what ds saw.
func (a *attributor) attributeSeen(rules []*result.Rule, ds []*result.Detection) *result.Attribution {
	if a == nil || a.kb == nil {
		return nil
	}
	ev := attackEvidence(rules)
	// A rule tagged with an ordinary tool (SigmaHQ's "Scheduled Task
	// Creation Via Schtasks.EXE": attack.s0111) saw the tool's
	// technique, as an image of it does (see imageFields).
	ev.Software = slices.DeleteFunc(ev.Software, a.kb.OrdinaryTool)
	ev.GroupHints = slices.DeleteFunc(ev.GroupHints, func(g string) bool {
		return !slices.ContainsFunc(rules, func(r *result.Rule) bool { return a.namesGroup(r, g) })
	})
	seen, procs := a.seenIn(ds)
	for _, s := range seen {
		if !slices.Contains(ev.Software, s.ID) {
			ev.Software = append(ev.Software, s.ID)
		}
		if ev.Weights != nil {
			ev.Weights[s.ID] = 1 // a field named it, or two rules' titles
		}
	}
	slices.Sort(ev.Software)
	for _, p := range procs {
		ev.Procedures = append(ev.Procedures, p.Artefact)
	}
	at := a.attribute(ev)
	if at == nil || len(seen)+len(procs) == 0 {
		return at
	}
	cp := *at // the cached attribution is shared by operations with the same evidence
	cp.Evidence.Seen = seen
	cp.Evidence.Procedures = procs
	return &cp
}

// namesGroup reports whether r is tagged with the group g and is written
// for it: its title names the group (an alias too: "Sofacy Trojan Loader
// Activity", APT28) or software the group uses ("ComRAT Network
// Communication", Turla). SigmaHQ tags rules for a technique with a group
// known for it: its four CMSTP rules with MuddyWater (attack.g0069), which
// made one CMSTP UAC bypass MuddyWater's at 0.997. Such a tag restates the
// technique, which is evidence already.
func (a *attributor) namesGroup(r *result.Rule, g string) bool {
	if !slices.ContainsFunc(r.Tags, func(t string) bool { return strings.EqualFold(t, "attack."+g) }) {
		return false
	}
	grp, _, err := a.kb.Group(g)
	if err != nil {
		return false
	}
	title := words(r.Title)
	for _, n := range append([]string{grp.Name}, grp.Aliases...) {
		if containsRun(title, words(n)) {
			return true
		}
	}
	return slices.ContainsFunc(a.kb.RecognizeSoftware(r.Title, attack.TextTitle), func(s string) bool {
		return slices.Contains(grp.Software, s)
	})
}

// words returns the runs of letters and digits of s, in lower case.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// containsRun reports whether seq occurs in ws as consecutive words.
func containsRun(ws, seq []string) bool {
	for i := 0; len(seq) > 0 && i+len(seq) <= len(ws); i++ {
		if slices.Equal(ws[i:i+len(seq)], seq) {
			return true
		}
	}
	return false
}

// attribute returns the attribution of ev, or nil when ev has nothing the
// knowledge base knows.
func (a *attributor) attribute(ev attack.Evidence) *result.Attribution {
	if a == nil || a.kb == nil {
		return nil
	}
	key := strings.Join(ev.Techniques, ",") + "|" + strings.Join(ev.Software, ",") + "|" + strings.Join(ev.GroupHints, ",") + "|" + strings.Join(ev.Procedures, "\x00")
	for _, id := range slices.Concat(ev.Techniques, ev.Software) {
		key += fmt.Sprintf("|%.3f", ev.Weights[id])
	}
	if at, ok := a.cache[key]; ok {
		return at
	}
	at := attack.Summarize(a.kb, ev, MaxCandidates)
	if a.cache == nil {
		a.cache = map[string]*result.Attribution{}
	}
	a.cache[key] = at
	return at
}
