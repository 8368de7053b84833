package correlate

import (
	"math"
	"strings"
)

// killChain lists the ATT&CK Enterprise tactics by their Sigma tag names,
// in kill-chain order; stealth and defense-impairment (ATT&CK v19's halves
// of defense-evasion) stand beside it.
var killChain = []string{
	"reconnaissance", "resource-development", "initial-access", "execution", "persistence",
	"privilege-escalation", "defense-evasion", "stealth", "defense-impairment", "credential-access", "discovery", "lateral-movement",
	"collection", "command-and-control", "exfiltration", "impact",
}

var isTactic = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range killChain {
		m[t] = true
	}
	return m
}()

// attackTags returns the tactics (tag names, "_" read as "-") and the
// technique IDs (upper-case) among Sigma tags.
func attackTags(tags []string) (tactics, techniques []string) {
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		v, ok := strings.CutPrefix(t, "attack.")
		if !ok {
			continue
		}
		v = strings.ReplaceAll(v, "_", "-")
		switch {
		case isTactic[v]:
			tactics = append(tactics, v)
		case len(v) >= 5 && v[0] == 't' && v[1] >= '0' && v[1] <= '9':
			techniques = append(techniques, strings.ToUpper(v))
		}
	}
	return tactics, techniques
}

// levels by rank.
var levels = []string{"informational", "low", "medium", "high", "critical"}

// levelRank returns 0 for an unknown level, 1 for informational .. 5 for
// critical.
func levelRank(l string) int {
	for i, v := range levels {
		if strings.EqualFold(l, v) {
			return i + 1
		}
	}
	return 0
}

// levelPoints is what the highest level of an operation's detections
// contributes to its score.
var levelPoints = [...]float64{0, 1, 2, 4, 7, 10}

// score ranks an operation:
//
//	score = L + 1.5·(T−1) + 2·(H−1) + R
//
// where L is the points of its most severe detection (informational 1,
// low 2, medium 4, high 7, critical 10), T the number of ATT&CK tactics it
// reaches (at least 1), H the number of hosts it spans (at least 1), and R
// the rarity of its rules: the sum over its distinct rules of
// 1 / (1 + log2 n), n being how many detections that rule made in the whole
// hunt, capped at 5. A rule that fired once adds 1; one that fired a
// thousand times adds under 0.1, so a noisy rule cannot make an operation
// look important by itself.
func score(best, tactics, hosts int, rules map[string]bool, count map[string]int) float64 {
	s := levelPoints[min(max(best, 0), len(levelPoints)-1)]
	s += 1.5 * float64(max(tactics-1, 0))
	s += 2 * float64(max(hosts-1, 0))
	r := 0.0
	for id := range rules {
		r += 1 / (1 + math.Log2(float64(max(count[id], 1))))
	}
	s += min(r, 5)
	return math.Round(s*100) / 100
}

// severity is the most severe of the operation's highest detection level
// and the band of its score: 25 or more critical, 15 high, 8 medium, 3 low,
// informational below.
func severity(best int, score float64) string {
	band := 1
	switch {
	case score >= 25:
		band = 5
	case score >= 15:
		band = 4
	case score >= 8:
		band = 3
	case score >= 3:
		band = 2
	}
	return levels[max(band, best, 1)-1]
}
