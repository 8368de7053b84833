package hunt

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/correlate"
	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// corrFields are the event fields the correlations referencing one rule
// read from its detections.
type corrFields struct {
	id, name string
	// names are the fields as correlations name them (Set.Fields); cands
	// the event field names that may carry each, tried in order: those of
	// the rule's route (NewProcessName for Image in Security 4688), then
	// the name itself.
	names []string
	cands [][]string
}

// correlated fills in what the correlations of set need of the rule's
// detections and whether they are listed on their own: not when a
// correlation suppresses them (it references the rule without generate) or
// when the rule is a building block the filters left out.
func (info *ruleInfo) correlated(set *correlate.Set, pipe *detect.Pipeline, block bool) {
	s := info.rule.Sigma
	key := s.ID
	if key == "" || !set.Uses(key) {
		key = s.Name
	}
	if key == "" || !set.Uses(key) {
		return
	}
	cf := &corrFields{id: s.ID, name: s.Name, names: set.Fields(key)}
	route, _ := pipe.Route(s.Logsource)
	for _, f := range cf.names {
		var cands []string
		for _, src := range route.Sources {
			for _, c := range src.Fields[f] {
				if !slices.Contains(cands, c) {
					cands = append(cands, c)
				}
			}
		}
		if !slices.Contains(cands, f) {
			cands = append(cands, f)
		}
		cf.cands = append(cf.cands, cands)
	}
	info.corr = cf
	info.hidden = block || (s.ID != "" && set.Suppressed(s.ID)) || (s.Name != "" && set.Suppressed(s.Name))
}

// input keeps detection d of ev as an input of the correlations, with
// copies of the fields they read.
func (w *worker) input(ev *event.Event, t time.Time, info *ruleInfo, d *result.Detection) {
	if t.IsZero() {
		return // correlate ignores inputs without a time
	}
	cf := info.corr
	in := correlate.Input{RuleID: cf.id, RuleName: cf.name, Time: t, Fields: make(map[string]string, len(cf.names))}
	for i, name := range cf.names {
		for _, c := range cf.cands[i] {
			if v, ok := ev.Get(c); ok {
				in.Fields[name] = w.intern(v.Text())
				break
			}
		}
	}
	w.inputs = append(w.inputs, in)
	w.inputDets = append(w.inputDets, *d)
}

// correlations runs the correlations of set over the inputs the workers
// kept (taking them from the workers) and gives add, one at a time and in
// Run's order, a Detection for each match of a correlation that is not
// itself suppressed (an inner correlation of a chain): only the match in
// hand holds copies of the detections it counted. It returns add's error,
// or ctx's when ctx is done first.
func correlations(ctx context.Context, set *correlate.Set, ws []*worker, meta map[string]*sigma.Meta, add func(d *result.Detection) error) error {
	n := 0
	for _, w := range ws {
		n += len(w.inputs)
	}
	inputs := make([]correlate.Input, 0, n)
	dets := make([]result.Detection, 0, n)
	for _, w := range ws {
		inputs = append(inputs, w.inputs...)
		dets = append(dets, w.inputDets...)
		w.inputs, w.inputDets = nil, nil // held once, not twice
	}
	if len(inputs) == 0 {
		return nil
	}
	matches, err := set.Run(ctx, inputs)
	if err != nil {
		return err
	}
	for i := range matches {
		m := &matches[i]
		c := m.Correlation
		if (c.ID != "" && set.Suppressed(c.ID)) || (c.Name != "" && set.Suppressed(c.Name)) {
			continue
		}
		d := correlationDetection(m, dets)
		meta[ruleKey(d.Rule)] = &c.Meta
		*m = correlate.Match{} // its inputs are d's now
		if err := add(&d); err != nil {
			return err
		}
	}
	return nil
}

// correlationDetection describes match m; dets are the detections behind
// the inputs given to Run.
func correlationDetection(m *correlate.Match, dets []result.Detection) result.Detection {
	c := m.Correlation
	tactics, techniques := attackOf(c.Tags)
	cm := &result.Correlation{
		Type:      string(c.Type),
		Rules:     c.Rules,
		Group:     []result.Field{},
		Timespan:  timespanText(c.Timespan),
		Condition: conditionText(c),
		First:     m.First, Last: m.Last, Fired: m.Fired,
		Value: m.Value, Max: m.Max, Count: m.Count,
		Detections: make([]result.Detection, 0, len(m.Inputs)),
	}
	for _, p := range m.Group {
		cm.Group = append(cm.Group, result.Field{Name: p.Field, Value: p.Value})
	}
	for _, i := range m.Inputs {
		cm.Detections = append(cm.Detections, dets[i])
	}
	sortDetections(cm.Detections)

	d := result.Detection{
		Kind: result.KindCorrelation,
		Time: m.Fired,
		Rule: &result.Rule{
			ID: c.ID, Title: c.Title, Level: strings.ToLower(c.Level), Status: c.Status,
			Tags: c.Tags, Tactics: tactics, Techniques: techniques,
		},
		Fields:      append(slices.Clone(cm.Group), result.Field{Name: aggregateName(c), Value: formatValue(m.Value)}),
		Correlation: cm,
	}
	// Computer, channel and provider: the group's Computer, else what all
	// its detections share.
	d.Computer, d.Channel, d.Provider = common(cm.Detections)
	for _, p := range cm.Group {
		if p.Name == event.FieldComputer {
			d.Computer = p.Value
		}
	}
	return d
}

// common returns the computer, channel and provider every detection of ds
// has ("" where they differ).
func common(ds []result.Detection) (computer, channel, provider string) {
	for i, d := range ds {
		if i == 0 {
			computer, channel, provider = d.Computer, d.Channel, d.Provider
			continue
		}
		if d.Computer != computer {
			computer = ""
		}
		if d.Channel != channel {
			channel = ""
		}
		if d.Provider != provider {
			provider = ""
		}
	}
	return computer, channel, provider
}

// aggregateName names what a correlation counts: "count",
// "count(TargetUserName)", "sum(Bytes)", "rules"...
func aggregateName(c *sigma.Correlation) string {
	var field string
	if c.Condition != nil {
		field = strings.Join(c.Condition.Fields, ",")
		if field == "" {
			field = c.Condition.Field
		}
	}
	switch c.Type {
	case sigma.EventCount:
		return "count"
	case sigma.ValueCount:
		return "count(" + field + ")"
	case sigma.Temporal:
		return "rules"
	case sigma.TemporalOrdered:
		return "rules in order"
	case sigma.ValueSum:
		return "sum(" + field + ")"
	case sigma.ValueAvg:
		return "avg(" + field + ")"
	case sigma.ValueMedian:
		return "median(" + field + ")"
	case sigma.ValuePercentile:
		if c.Condition.Share {
			return "share%(" + field + ")"
		}
		return "percentile" + formatValue(c.Condition.Percentile) + "(" + field + ")"
	}
	return string(c.Type)
}

var opSymbols = map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "==", "neq": "!="}

// conditionText writes a correlation's condition as "count >= 10", bounds
// joined by "and".
func conditionText(c *sigma.Correlation) string {
	if c.Condition == nil {
		return ""
	}
	cmps := c.Condition.Comparisons
	if len(cmps) == 0 && c.Condition.Op != "" {
		cmps = []sigma.Comparison{{Op: c.Condition.Op, Value: c.Condition.Value}}
	}
	var parts []string
	for _, b := range cmps {
		op := opSymbols[b.Op]
		if op == "" {
			op = b.Op
		}
		parts = append(parts, aggregateName(c)+" "+op+" "+formatValue(b.Value))
	}
	return strings.Join(parts, " and ")
}

// timespanText writes a timespan, "whole hunt" for the one of a v1
// aggregation without a timeframe.
func timespanText(d time.Duration) string {
	if d == sigma.Unbounded {
		return "whole hunt"
	}
	return d.String()
}

// formatValue writes an aggregate: an integer without decimals.
func formatValue(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// accountFields are the fields that name an account, each with the field
// of its domain ("" when there is none).
var accountFields = [][2]string{
	{"TargetUserName", "TargetDomainName"},
	{"SubjectUserName", "SubjectDomainName"},
	{"User", ""},
	{"AccountName", ""},
}

// countedOf describes what correlation detection d counted, for its
// operation's story: how many detections, the condition, and their hosts,
// accounts (else those of its group) and time span; the detections of a
// correlation it counted are its own.
func countedOf(d *result.Detection) *operation.Counted {
	c := d.Correlation
	out := &operation.Counted{Events: c.Count, Condition: c.Condition, First: c.First, Last: c.Last}
	add := func(list *[]string, v string) {
		if v != "" && v != "-" && !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	accounts := func(fs []result.Field) {
		get := func(name string) string {
			for _, f := range fs {
				if f.Name == name {
					return f.Value
				}
			}
			return ""
		}
		for _, a := range accountFields {
			name := get(a[0])
			if name == "" || name == "-" {
				continue
			}
			if dom := get(a[1]); dom != "" && dom != "-" && !strings.Contains(name, `\`) {
				name = dom + `\` + name
			}
			add(&out.Users, name)
		}
	}
	var walk func(ds []result.Detection)
	walk = func(ds []result.Detection) {
		for i := range ds {
			x := &ds[i]
			if x.Correlation != nil {
				walk(x.Correlation.Detections)
				continue
			}
			add(&out.Hosts, x.Computer)
			accounts(x.Fields)
		}
	}
	walk(c.Detections)
	if len(out.Users) == 0 {
		accounts(c.Group)
	}
	if len(out.Hosts) == 0 {
		add(&out.Hosts, d.Computer)
	}
	// An account seen with its domain and without (a field list that
	// lacks the domain) is one account.
	out.Users = slices.DeleteFunc(out.Users, func(u string) bool {
		return !strings.Contains(u, `\`) && slices.ContainsFunc(out.Users, func(q string) bool {
			return len(q) > len(u) && strings.EqualFold(q[len(q)-len(u)-1:], `\`+u)
		})
	})
	slices.Sort(out.Hosts)
	slices.Sort(out.Users)
	return out
}
