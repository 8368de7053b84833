package html

import (
	"strings"

	"github.com/spoor-hunt/spoor/internal/result"
)

// tacticIndex returns the kill-chain position of a tactic named by its
// Sigma tag ("attack.defense-evasion", "attack.defense_evasion"), its name
// ("Defense Evasion") or its ID ("TA0005"), or -1 when it is none of them (an ID shared by two, TA0005, names the first).
func tacticIndex(s string) int {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "attack.")
	s = strings.NewReplacer("_", "-", " ", "-").Replace(s)
	for i, t := range result.Tactics {
		if s == t.ShortName || s == strings.ToLower(t.ID) {
			return i
		}
	}
	return -1
}

// tacticName returns the display name of a tactic, or s itself when it is
// not one of them.
func tacticName(s string) string {
	if i := tacticIndex(s); i >= 0 {
		return result.Tactics[i].Name
	}
	return s
}
