package operation

import (
	"math"
	"slices"
	"strings"

	"github.com/spoor-hunt/spoor/internal/result"
)

// killChain lists the ATT&CK Enterprise tactics by their Sigma tag names,
// in kill-chain order (result.Tactics).
var killChain = func() []string {
	out := make([]string, len(result.Tactics))
	for i, t := range result.Tactics {
		out[i] = t.ShortName
	}
	return out
}()

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

// tagsOf returns the techniques of a detection's rule and the tactics
// its detections reach (see Reach).
func tagsOf(tags []string, level string, lookup func(technique string) []string) ruleTags {
	_, techs := attackTags(tags)
	by := Reach(tags, level, lookup)
	reached := make(map[string]bool, len(by))
	for t := range by {
		reached[t] = true
	}
	return ruleTags{tactics: inKillChain(reached), techniques: techs}
}

// Reach returns the ATT&CK tactics a rule's detections reach, given its
// Sigma tags and level, each with the rule's techniques that reach it
// (possibly none). A tactic is reached through a technique: the
// technique's own tactics in ATT&CK (lookup returns them, kill-chain short
// names; nil when ATT&CK does not know the technique), kept to those the
// rule also names when it names any of them. So a rule tagged
// attack.initial-access, attack.persistence, attack.lateral-movement and
// attack.t1021.006 reaches lateral movement alone: the tactics it names
// are the rule's, its detections show the technique's. A tactic the rule
// names that no known technique reaches is reached by its techniques
// ATT&CK does not know (a newer release's), or by nothing when it has
// known techniques only; a rule without technique reaches the tactics it
// names. An informational rule reaches none: it enriches events (Sigma:
// never an alert), its tags are no evidence of a tactic.
func Reach(tags []string, level string, lookup func(technique string) []string) map[string][]string {
	out := map[string][]string{}
	if levelRank(level) == 1 {
		return out
	}
	named, techs := attackTags(tags)
	var unknown []string
	add := func(tactic string, techs ...string) {
		for _, id := range techs {
			if !slices.Contains(out[tactic], id) {
				out[tactic] = append(out[tactic], id)
			}
		}
		if _, ok := out[tactic]; !ok {
			out[tactic] = []string{}
		}
	}
	for _, id := range techs {
		var of []string
		if lookup != nil {
			of = lookup(id)
		}
		if len(of) == 0 {
			unknown = append(unknown, id)
			continue
		}
		keep := slices.ContainsFunc(of, func(t string) bool { return slices.Contains(named, t) })
		for _, t := range of {
			if isTactic[t] && (!keep || slices.Contains(named, t)) {
				add(t, id)
			}
		}
	}
	known := len(unknown) < len(techs)
	for _, t := range named {
		if _, ok := out[t]; ok {
			continue
		}
		switch {
		case len(unknown) > 0:
			add(t, unknown...)
		case !known:
			add(t)
		}
	}
	return out
}

// inKillChain returns the tactics set in m, in kill-chain order.
func inKillChain(m map[string]bool) []string {
	var out []string
	for _, t := range killChain {
		if m[t] {
			out = append(out, t)
		}
	}
	return out
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

// evidence is what an operation's score weighs: the level of its most
// severe detection, the tactics and techniques its steps reach, its hosts
// and its rules (those above informational, with how many detections each
// made in the whole hunt).
type evidence struct {
	best                       int
	tactics, techniques, steps int
	hosts                      int
	rules                      map[string]bool
	count                      map[string]int
}

// score ranks operations by how much they look like an intrusion:
//
//	score = L + 1.5·(T−1) + 0.5·min(K−1, 10) + 2·(H−1) + R
//
// where L is the points of the most severe detection (informational 1,
// low 2, medium 4, high 7, critical 10); T the ATT&CK tactics reached (the
// kill-chain progress) and K the distinct techniques, each counted at most
// once per step that shows them (one event tagged with six tactics is one
// piece of evidence, not six); H the hosts it spans; R the rarity of its
// rules: the sum over its distinct rules above informational of
// 1 / (1 + log2 n), n being how many detections that rule made in the
// whole hunt, capped at 5. A rule that fired once adds 1, one that fired a
// thousand times under 0.1, so a noisy rule cannot make an operation look
// important by itself, and a lone detection scores its level and its
// rarity only, below any chain of steps across tactics or hosts.
func score(e evidence) float64 {
	t := min(e.tactics, e.steps)
	k := min(e.techniques, e.steps)
	s := levelPoints[min(max(e.best, 0), len(levelPoints)-1)]
	s += 1.5 * float64(max(t-1, 0))
	s += 0.5 * float64(min(max(k-1, 0), 10))
	s += 2 * float64(max(e.hosts-1, 0))
	r := 0.0
	for id := range e.rules {
		r += 1 / (1 + math.Log2(float64(max(e.count[id], 1))))
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

// assess sets op's tactics, techniques, score and severity from its
// members (detection numbers), steps and the number of those steps that
// hold a detection above informational (evidence). ruleCount is how many
// detections each rule made in the whole hunt.
func (b *builder) assess(op *result.Operation, members []int, evidenceSteps int, ruleCount map[string]int) {
	e := evidence{steps: evidenceSteps, hosts: len(op.Hosts), rules: map[string]bool{}, count: ruleCount}
	techs := map[string]bool{}
	for _, i := range members {
		d := b.dets.Ref(i)
		lv := levelRank(d.Level)
		e.best = max(e.best, lv)
		if lv == 1 {
			continue // an informational rule's tags are no evidence
		}
		for _, t := range b.ruleTags(i).techniques {
			techs[t] = true
		}
		e.rules[d.RuleID] = true
	}
	tactics := map[string]bool{}
	for _, s := range op.Steps {
		for _, t := range s.Tactics {
			tactics[t] = true
		}
	}
	op.Tactics = inKillChain(tactics)
	op.Techniques = sortedKeys(techs)
	e.tactics, e.techniques = len(op.Tactics), len(op.Techniques)
	op.Score = score(e)
	op.Severity = severity(e.best, op.Score)
}

// listed reports whether an operation of these members is worth listing.
// Not when every detection is informational (Sigma: enrichment, never an
// alert), nor when they are all of one rule that is low, or that names no
// ATT&CK technique and is not high or critical (an audit-type rule): one
// such rule, however often it fires, is a fact to look up among the
// detections, not the story of an intrusion.
func (b *builder) listed(members []int) bool {
	best, oneRule := 0, true
	first := b.dets.Ref(members[0])
	for _, i := range members {
		d := b.dets.Ref(i)
		best = max(best, levelRank(d.Level))
		if d.RuleID != first.RuleID || d.Title != first.Title {
			oneRule = false
		}
	}
	switch {
	case best <= 1:
		return false
	case !oneRule:
		return true
	case best == 2:
		return false
	}
	return len(b.ruleTags(members[0]).techniques) > 0 || best >= levelRank("high")
}
