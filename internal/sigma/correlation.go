package sigma

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

var correlationTypes = map[string]CorrelationType{
	"event_count": EventCount, "value_count": ValueCount,
	"temporal": Temporal, "temporal_ordered": TemporalOrdered,
	"value_sum": ValueSum, "value_avg": ValueAvg,
	"value_percentile": ValuePercentile, "value_median": ValueMedian,
}

var correlationOps = map[string]bool{"gt": true, "gte": true, "lt": true, "lte": true, "eq": true, "neq": true}

// correlation loads a correlation rule.
func (l *loader) correlation(root *yaml.Node) *Correlation {
	c := &Correlation{}
	l.readMeta(root, &c.Meta, correlationKeys)
	n := mapGet(root, "correlation")
	if n.Kind != yaml.MappingNode {
		l.fail(n, "correlation", "expected a mapping of type, rules, group-by, timespan, condition, got "+kindName(n))
		return nil
	}
	if g := mapGet(root, "generate"); g != nil {
		c.Generate = l.boolean(g, "generate")
	}
	var condNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := "correlation." + k.Value
		switch k.Value {
		case "type":
			t := l.str(v, key)
			ct, ok := correlationTypes[t]
			if !ok {
				l.fail(v, key, fmt.Sprintf("unknown correlation type %q (want event_count, value_count, temporal, temporal_ordered, value_sum, value_avg or value_percentile)", t))
				return nil
			}
			if ct == ValueMedian {
				l.warn(v, key, "value_median is a pySigma extension (the specification uses value_percentile)")
			}
			c.Type = ct
		case "rules":
			c.Rules = l.strList(v, key)
		case "group-by":
			c.GroupBy = l.strList(v, key)
			if len(c.GroupBy) > maxGroupBy {
				l.fail(v, key, fmt.Sprintf("groups by %d fields, more than %d", len(c.GroupBy), maxGroupBy))
			}
		case "timespan":
			if v.Kind != yaml.ScalarNode || isNull(v) {
				l.fail(v, key, "expected a timespan such as 5m, got "+kindName(v))
				break
			}
			d, err := parseTimespan(v.Value)
			if err != nil {
				l.fail(v, key, err.Error())
			}
			c.Timespan = d
		case "condition":
			condNode = v
		case "aliases":
			c.Aliases = l.aliases(v, key)
		case "generate":
			c.Generate = l.boolean(v, key)
		default:
			l.warn(k, key, "key is not in the correlation specification")
		}
	}
	if l.failed {
		return nil
	}
	missing := func(key string) { l.fail(n, "correlation."+key, "missing "+key) }
	switch {
	case c.Type == "":
		missing("type")
	case mapGet(n, "rules") == nil || len(c.Rules) == 0:
		missing("rules")
	case mapGet(n, "timespan") == nil:
		missing("timespan")
	case mapGet(n, "group-by") == nil || len(c.GroupBy) == 0:
		l.fail(n, "correlation.group-by", "missing group-by (required for "+string(c.Type)+")")
	}
	if l.failed {
		return nil
	}
	if (c.Type == Temporal || c.Type == TemporalOrdered) && len(c.Rules) < 2 {
		l.fail(mapGet(n, "rules"), "correlation.rules", fmt.Sprintf("%s needs at least two rules, got %d", c.Type, len(c.Rules)))
		return nil
	}
	if condNode == nil {
		if c.Type != Temporal && c.Type != TemporalOrdered {
			l.fail(n, "correlation.condition", "missing condition (required for "+string(c.Type)+")")
			return nil
		}
	} else {
		c.Condition = l.correlationCondition(condNode, c.Type)
	}
	for alias, m := range c.Aliases {
		for rule := range m {
			if !contains(c.Rules, rule) {
				l.warn(mapGet(n, "aliases"), "correlation.aliases."+alias, fmt.Sprintf("alias names rule %q, which the correlation does not list", rule))
			}
		}
	}
	if l.failed {
		return nil
	}
	return c
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (l *loader) boolean(n *yaml.Node, key string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		l.fail(n, key, "expected true or false, got "+kindName(n))
		return false
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
}

// aliases loads `alias: {rule: field}` mappings.
func (l *loader) aliases(n *yaml.Node, key string) map[string]map[string]string {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		l.fail(n, key, "expected a mapping of alias: {rule: field}, got "+kindName(n))
		return nil
	}
	out := make(map[string]map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		akey := key + "." + k.Value
		if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
			l.fail(v, akey, "expected a mapping of rule: field, got "+kindName(v))
			return nil
		}
		m := make(map[string]string, len(v.Content)/2)
		for j := 0; j+1 < len(v.Content); j += 2 {
			m[v.Content[j].Value] = l.str(v.Content[j+1], akey+"."+v.Content[j].Value)
		}
		out[k.Value] = m
	}
	return out
}

// correlationCondition loads `{gte: 10, field: X}`.
func (l *loader) correlationCondition(n *yaml.Node, t CorrelationType) *CorrelationCondition {
	const key = "correlation.condition"
	if n.Kind != yaml.MappingNode {
		l.fail(n, key, "expected a mapping such as {gte: 10}, got "+kindName(n))
		return nil
	}
	cc := &CorrelationCondition{}
	hasPercentile := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ckey := key + "." + k.Value
		switch {
		case correlationOps[k.Value]:
			f, ok := 0.0, false
			if v.Kind == yaml.ScalarNode && (v.Tag == "!!int" || v.Tag == "!!float") {
				f, ok = parseNumber(v.Value)
			}
			if !ok {
				l.fail(v, ckey, "expected a number, got "+kindName(v)+" "+strconv.Quote(v.Value))
				return nil
			}
			cc.Comparisons = append(cc.Comparisons, Comparison{Op: k.Value, Value: f})
		case k.Value == "field":
			cc.Fields = l.strList(v, ckey)
			if len(cc.Fields) > 0 {
				cc.Field = cc.Fields[0]
			}
		case k.Value == "percentile":
			f, ok := 0.0, false
			if v.Kind == yaml.ScalarNode && (v.Tag == "!!int" || v.Tag == "!!float") {
				f, ok = parseNumber(v.Value)
			}
			if !ok || f < 0 || f > 100 {
				l.fail(v, ckey, "expected a percentile from 0 to 100")
				return nil
			}
			cc.Percentile, hasPercentile = f, true
		default:
			l.fail(k, ckey, fmt.Sprintf("unknown condition key %q (want gt, gte, lt, lte, eq, neq or field)", k.Value))
			return nil
		}
	}
	if len(cc.Comparisons) == 0 {
		l.fail(n, key, "condition needs one of gt, gte, lt, lte, eq, neq")
		return nil
	}
	cc.Op, cc.Value = cc.Comparisons[0].Op, cc.Comparisons[0].Value
	switch t {
	case ValueCount, ValueSum, ValueAvg, ValuePercentile, ValueMedian:
		if cc.Field == "" {
			l.fail(n, key+".field", "missing field (required for "+string(t)+")")
			return nil
		}
	default:
		if cc.Field != "" {
			l.warn(mapGet(n, "field"), key+".field", "field has no meaning for "+string(t))
		}
	}
	if hasPercentile && t != ValuePercentile {
		l.warn(mapGet(n, "percentile"), key+".percentile", "percentile has no meaning for "+string(t))
	}
	if t == ValueMedian {
		cc.Percentile = 50
	}
	cc.Share = t == ValuePercentile && !hasPercentile
	return cc
}

// parseTimespan parses a correlation timespan: a positive integer followed
// by s, m, h or d, as the specification defines.
func parseTimespan(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("invalid timespan %q (want a number and s, m, h or d, such as 5m)", s)
	}
	unit := time.Duration(0)
	switch s[len(s)-1] {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	default:
		return 0, fmt.Errorf("invalid timespan %q: unit must be s, m, h or d", s)
	}
	num := s[:len(s)-1]
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return 0, fmt.Errorf("invalid timespan %q (want a number and s, m, h or d, such as 5m)", s)
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > int64(1<<62)/int64(unit) {
		return 0, errors.New("timespan " + strconv.Quote(s) + " is too long")
	}
	if n == 0 {
		return 0, fmt.Errorf("timespan %q must be positive", s)
	}
	return time.Duration(n) * unit, nil
}
