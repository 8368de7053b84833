package hunt

import (
	"slices"
	"strings"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/result"
)

// tacticIndex returns the kill-chain position of a tactic short name
// (hyphens or underscores), or -1.
func tacticIndex(short string) int {
	short = strings.ReplaceAll(strings.ToLower(short), "_", "-")
	for i, t := range result.Tactics {
		if t.ShortName == short {
			return i
		}
	}
	return -1
}

// attackOf returns the ATT&CK tactics (short names, kill-chain order) and
// techniques (upper-case IDs, tag order, each once) among Sigma tags such as
// attack.credential-access and attack.t1003.001.
func attackOf(tags []string) (tactics, techniques []string) {
	seen := make([]bool, len(result.Tactics))
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
	for i, t := range result.Tactics {
		if seen[i] {
			tactics = append(tactics, t.ShortName)
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
func markUnknown(r *result.Result, kb *attack.KB) {
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
