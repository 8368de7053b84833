package hunt

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// aggregate fills the counts of r from its detections; meta has the rules
// and correlations by ruleKey, for their descriptions; tacticsOf gives
// the tactics of a technique (see operation.Reach; nil: those the rules
// name).
func aggregate(r *result.Result, meta map[string]*sigma.Meta, tacticsOf func(string) []string) {
	byRule := map[string]*result.RuleCount{} // by ID, or title when there is none
	ruleHosts := map[string]map[string]bool{}
	byHost := map[string]*result.HostCount{}
	type tacticAcc struct {
		count      int
		rules      map[string]bool
		techniques map[string]bool
	}
	tactics := make([]*tacticAcc, len(result.Tactics))
	reach := map[string]map[string][]string{} // by ruleKey

	r.Total = len(r.Detections)
	for i := range r.Detections {
		d := &r.Detections[i]
		r.Levels.Add(d.Rule.Level)

		key := ruleKey(d.Rule)
		rc := byRule[key]
		if rc == nil {
			rc = &result.RuleCount{Rule: *d.Rule}
			if s := meta[key]; s != nil {
				rc.Description, rc.References, rc.FalsePositives = s.Description, s.References, s.FalsePositives
			}
			byRule[key] = rc
			ruleHosts[key] = map[string]bool{}
		}
		rc.Count++
		ruleHosts[key][d.Computer] = true
		rc.First, rc.Last = widen(rc.First, rc.Last, d.Time)

		hc := byHost[d.Computer]
		if hc == nil {
			hc = &result.HostCount{Computer: d.Computer}
			byHost[d.Computer] = hc
		}
		hc.Count++
		hc.Levels.Add(d.Rule.Level)
		hc.First, hc.Last = widen(hc.First, hc.Last, d.Time)

		reached, ok := reach[key]
		if !ok {
			reached = operation.Reach(d.Rule.Tags, d.Rule.Level, tacticsOf)
			reach[key] = reached
		}
		for t, techs := range reached {
			ti := tacticIndex(t)
			if ti < 0 {
				continue
			}
			acc := tactics[ti]
			if acc == nil {
				acc = &tacticAcc{rules: map[string]bool{}, techniques: map[string]bool{}}
				tactics[ti] = acc
			}
			acc.count++
			acc.rules[key] = true
			for _, tech := range techs {
				acc.techniques[tech] = true
			}
		}
	}

	for key, rc := range byRule {
		rc.Hosts = len(ruleHosts[key])
		r.RuleCounts = append(r.RuleCounts, *rc)
	}
	slices.SortFunc(r.RuleCounts, func(a, b result.RuleCount) int {
		return cmp.Or(
			cmp.Compare(b.Count, a.Count),
			cmp.Compare(sigma.LevelRank(b.Level), sigma.LevelRank(a.Level)),
			cmp.Compare(a.Title, b.Title),
			cmp.Compare(a.ID, b.ID),
		)
	})
	for _, hc := range byHost {
		r.Hosts = append(r.Hosts, *hc)
	}
	slices.SortFunc(r.Hosts, func(a, b result.HostCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Computer, b.Computer))
	})
	for i, acc := range tactics {
		if acc == nil {
			continue
		}
		t := result.Tactics[i]
		tc := result.TacticCount{ID: t.ID, Name: t.Name, Short: t.ShortName, Count: acc.count, Rules: len(acc.rules), Techniques: []string{}}
		for tech := range acc.techniques {
			tc.Techniques = append(tc.Techniques, tech)
		}
		sort.Strings(tc.Techniques)
		r.Tactics = append(r.Tactics, tc)
	}
}

// ruleKey identifies a rule among the detections: its ID, or its title.
func ruleKey(r *result.Rule) string {
	if r.ID != "" {
		return r.ID
	}
	return "title:" + r.Title
}

// widen extends the range [first, last] to include t (a zero t changes
// nothing).
func widen(first, last, t time.Time) (time.Time, time.Time) {
	if t.IsZero() {
		return first, last
	}
	if first.IsZero() || t.Before(first) {
		first = t
	}
	if t.After(last) {
		last = t
	}
	return first, last
}
