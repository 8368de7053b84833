package hunt

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// Add counts one detection of the given level.
func (c *LevelCounts) Add(level string) {
	switch level {
	case "critical":
		c.Critical++
	case "high":
		c.High++
	case "medium":
		c.Medium++
	case "low":
		c.Low++
	default:
		c.Informational++
	}
}

// Get returns the count of a level.
func (c LevelCounts) Get(level string) int {
	switch level {
	case "critical":
		return c.Critical
	case "high":
		return c.High
	case "medium":
		return c.Medium
	case "low":
		return c.Low
	case "informational":
		return c.Informational
	}
	return 0
}

// aggregate fills the counts of r from its detections; meta has the rules
// and correlations by ruleKey, for their descriptions; tacticsOf gives
// the tactics of a technique (see operation.Reach; nil: those the rules
// name).
func (r *Result) aggregate(meta map[string]*sigma.Meta, tacticsOf func(string) []string) {
	byRule := map[string]*RuleCount{} // by ID, or title when there is none
	ruleHosts := map[string]map[string]bool{}
	byHost := map[string]*HostCount{}
	type tacticAcc struct {
		count      int
		rules      map[string]bool
		techniques map[string]bool
	}
	tactics := make([]*tacticAcc, len(Tactics))
	reach := map[string]map[string][]string{} // by ruleKey

	r.Total = len(r.Detections)
	for i := range r.Detections {
		d := &r.Detections[i]
		r.Levels.Add(d.Rule.Level)

		key := ruleKey(d.Rule)
		rc := byRule[key]
		if rc == nil {
			rc = &RuleCount{Rule: *d.Rule}
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
			hc = &HostCount{Computer: d.Computer}
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
	slices.SortFunc(r.RuleCounts, func(a, b RuleCount) int {
		return cmp.Or(
			cmp.Compare(b.Count, a.Count),
			cmp.Compare(LevelRank(b.Level), LevelRank(a.Level)),
			cmp.Compare(a.Title, b.Title),
			cmp.Compare(a.ID, b.ID),
		)
	})
	for _, hc := range byHost {
		r.Hosts = append(r.Hosts, *hc)
	}
	slices.SortFunc(r.Hosts, func(a, b HostCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Computer, b.Computer))
	})
	for i, acc := range tactics {
		if acc == nil {
			continue
		}
		t := Tactics[i]
		tc := TacticCount{ID: t.ID, Name: t.Name, Short: t.Short, Count: acc.count, Rules: len(acc.rules), Techniques: []string{}}
		for tech := range acc.techniques {
			tc.Techniques = append(tc.Techniques, tech)
		}
		sort.Strings(tc.Techniques)
		r.Tactics = append(r.Tactics, tc)
	}
}

// ruleKey identifies a rule among the detections: its ID, or its title.
func ruleKey(r *Rule) string {
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

// BySeverity returns the detections of r, most severe first, then in time
// order: the order of a list for a person. r.Detections is not changed.
func (r *Result) BySeverity() []Detection {
	ds := slices.Clone(r.Detections)
	slices.SortStableFunc(ds, func(a, b Detection) int {
		return cmp.Compare(LevelRank(b.Rule.Level), LevelRank(a.Rule.Level))
	})
	return ds
}
