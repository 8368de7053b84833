package hunt

import (
	"slices"
	"strings"

	"github.com/spoor-hunt/spoor/internal/attack"
)

// Tactic is an ATT&CK (Enterprise) tactic.
type Tactic struct {
	ID    string // TA0002
	Short string // execution
	Name  string // Execution
}

// Tactics are the ATT&CK Enterprise tactics in kill-chain order. ATT&CK
// v19 split Defense Evasion into Stealth (which kept its ID, TA0005) and
// Defense Impairment (TA0112); rules tag either name, so the three stand
// together where Defense Evasion stood.
var Tactics = []Tactic{
	{"TA0043", "reconnaissance", "Reconnaissance"},
	{"TA0042", "resource-development", "Resource Development"},
	{"TA0001", "initial-access", "Initial Access"},
	{"TA0002", "execution", "Execution"},
	{"TA0003", "persistence", "Persistence"},
	{"TA0004", "privilege-escalation", "Privilege Escalation"},
	{"TA0005", "defense-evasion", "Defense Evasion"},
	{"TA0005", "stealth", "Stealth"},
	{"TA0112", "defense-impairment", "Defense Impairment"},
	{"TA0006", "credential-access", "Credential Access"},
	{"TA0007", "discovery", "Discovery"},
	{"TA0008", "lateral-movement", "Lateral Movement"},
	{"TA0009", "collection", "Collection"},
	{"TA0011", "command-and-control", "Command and Control"},
	{"TA0010", "exfiltration", "Exfiltration"},
	{"TA0040", "impact", "Impact"},
}

// tacticIndex returns the kill-chain position of a tactic short name
// (hyphens or underscores), or -1.
func tacticIndex(short string) int {
	short = strings.ReplaceAll(strings.ToLower(short), "_", "-")
	for i, t := range Tactics {
		if t.Short == short {
			return i
		}
	}
	return -1
}

// attackOf returns the ATT&CK tactics (short names, kill-chain order) and
// techniques (upper-case IDs, tag order, each once) among Sigma tags such as
// attack.credential-access and attack.t1003.001.
func attackOf(tags []string) (tactics, techniques []string) {
	seen := make([]bool, len(Tactics))
	for _, tag := range tags {
		t := strings.ToLower(tag)
		rest, ok := strings.CutPrefix(t, "attack.")
		if !ok {
			continue
		}
		if isTechnique(rest) {
			id := strings.ToUpper(rest)
			if !contains(techniques, id) {
				techniques = append(techniques, id)
			}
			continue
		}
		if i := tacticIndex(rest); i >= 0 {
			seen[i] = true
		}
	}
	for i, t := range Tactics {
		if seen[i] {
			tactics = append(tactics, t.Short)
		}
	}
	return tactics, techniques
}

// isTechnique reports whether s (lower-case) is a technique ID: t1234 or
// t1234.001.
func isTechnique(s string) bool {
	if len(s) < 5 || s[0] != 't' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '.' && i == 5 {
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(s) == 5 || len(s) == 9
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// markUnknown marks the techniques of the rules that fired that kb does
// not know (TacticCount.Unknown, UnknownTechniques): they stay in every
// list, where a person reads them with the mark.
func (r *Result) markUnknown(kb *attack.KB) {
	r.ATTACKModified = kb.Modified
	known := map[string]bool{}
	isKnown := func(id string) bool {
		k, ok := known[id]
		if !ok {
			_, _, err := kb.Technique(id)
			k = err == nil
			known[id] = k
		}
		return k
	}
	for i := range r.Tactics {
		tc := &r.Tactics[i]
		for _, id := range tc.Techniques {
			if !isKnown(id) {
				tc.Unknown = append(tc.Unknown, id)
				if !slices.Contains(r.UnknownTechniques, id) {
					r.UnknownTechniques = append(r.UnknownTechniques, id)
				}
			}
		}
	}
	for i := range r.Detections {
		for _, id := range r.Detections[i].Rule.Techniques {
			if !isKnown(id) && !slices.Contains(r.UnknownTechniques, id) {
				r.UnknownTechniques = append(r.UnknownTechniques, id)
			}
		}
	}
	slices.Sort(r.UnknownTechniques)
}
