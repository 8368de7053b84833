package sigma

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Unbounded is the timespan of a correlation converted from a v1
// aggregation without a timeframe: every event of the hunt is in one
// window, as a v1 backend aggregated over the whole search.
const Unbounded = time.Duration(math.MaxInt64)

// aggInfo is a v1 aggregation found in a rule's condition, with where it
// was written.
type aggInfo struct {
	*aggregation
	node *yaml.Node
	key  string
	// search is the condition that selects the aggregated events;
	// nearExprs are the parsed near terms (aggregation.near).
	search    string
	nearExprs []Expr
}

// convert turns rule r, whose condition held the v1 aggregation l.agg,
// into what the specification writes instead: detection rules for the
// searches (r with the aggregation removed, or for near one rule per term)
// and a correlation rule over them that carries r's identity (id, title,
// level, tags). The detection rules get derived ids ("<id>/events",
// "<id>/near-N") and are not reported on their own (generate is false).
// A warning says what was converted.
func (l *loader) convert(r *Rule) ([]*Rule, *Correlation) {
	a := l.agg
	c := &Correlation{Meta: r.Meta, GroupBy: a.groupBy, Timespan: r.Detection.Timeframe}
	if c.Timespan == 0 {
		c.Timespan = Unbounded
	}
	base := r.ID
	if base == "" {
		base = r.Title
	}
	part := func(suffix, title string, cond Expr, text string) *Rule {
		p := &Rule{Meta: r.Meta, Logsource: r.Logsource, Detection: r.Detection}
		p.Custom = nil // regression tests and such belong to the correlation
		p.Name = base + "/" + suffix
		if r.ID != "" {
			p.ID = p.Name
		}
		p.Title = r.Title + " (" + title + ")"
		p.Detection.Conditions = []Expr{cond}
		p.Detection.ConditionText = []string{text}
		p.Detection.Timeframe = 0
		c.Rules = append(c.Rules, p.Name)
		return p
	}
	var rules []*Rule
	var what string
	if a.fn == "near" {
		c.Type = Temporal
		rules = append(rules, part("near-0", "searches of "+a.search, r.Detection.Conditions[0], a.search))
		for i, e := range a.nearExprs {
			rules = append(rules, part("near-"+strconv.Itoa(i+1), "searches of "+a.near[i], e, a.near[i]))
		}
		what = fmt.Sprintf("temporal correlation of %s and %s", a.search, strings.Join(a.near, " and "))
	} else {
		rules = append(rules, part("events", "events of the aggregation", r.Detection.Conditions[0], a.search))
		cc := &CorrelationCondition{Op: a.op, Value: a.value, Comparisons: []Comparison{{Op: a.op, Value: a.value}}}
		if a.field != "" {
			cc.Field, cc.Fields = a.field, []string{a.field}
		}
		switch a.fn {
		case "count":
			c.Type = EventCount
			if a.field != "" {
				c.Type = ValueCount
			}
		case "sum":
			c.Type = ValueSum
		case "avg":
			c.Type = ValueAvg
		case "min", "max":
			c.Type = ValuePercentile
			if a.fn == "max" {
				cc.Percentile = 100
			}
		}
		if c.Type == EventCount {
			cc.Field, cc.Fields = "", nil
		}
		c.Condition = cc
		what = fmt.Sprintf("%s correlation over the events of %q", c.Type, a.search)
		if a.field != "" {
			what += " (field " + a.field + ")"
		}
		what += fmt.Sprintf(", condition %s %s", a.op, strconv.FormatFloat(a.value, 'g', -1, 64))
	}
	if len(c.GroupBy) > 0 {
		what += ", group-by " + strings.Join(c.GroupBy, ", ")
	}
	if c.Timespan == Unbounded {
		what += ", over the whole hunt (no timeframe)"
	} else {
		what += ", timespan " + c.Timespan.String()
	}
	l.warn(a.node, a.key, "v1 aggregation converted: "+what+"; its searches are the rules "+strings.Join(c.Rules, ", "))
	if len(a.nearNot) > 0 {
		l.warn(a.node, a.key, "near: the negated terms (not "+strings.Join(a.nearNot, ", not ")+") cannot be written as a correlation and are left out: the rule may fire where the v1 rule would not")
	}
	return rules, c
}

// perCategory loads rule r, whose logsource listed several categories
// (l.categories), as one rule per category: the first keeps r's id, the
// others get "<id>/<category>". A warning says so.
func (l *loader) perCategory(r *Rule) []*Rule {
	out := make([]*Rule, len(l.categories))
	var ids []string
	for i, cat := range l.categories {
		x := *r
		x.Logsource.Category = cat
		if i > 0 && r.ID != "" {
			x.ID = r.ID + "/" + cat
		}
		if i > 0 && r.Name != "" {
			x.Name = r.Name + "/" + cat
		}
		out[i] = &x
		ids = append(ids, x.ID)
	}
	l.warn(l.categoriesNode, "logsource.category", fmt.Sprintf("logsource lists %d categories: loaded as one rule per category (ids %s)", len(out), strings.Join(ids, ", ")))
	return out
}
