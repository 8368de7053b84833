// Package correlate runs Sigma correlation rules (specification v2.1,
// sigma-correlation-rules-specification.md) over the detections of a hunt:
// event_count, value_count, temporal, temporal_ordered, value_sum,
// value_avg, value_percentile and value_median, with group-by, aliases,
// sliding timespans, chaining (a correlation over correlations) and
// generate. (Joining detections into the story of an intrusion is package
// operation's.)
//
// Compile resolves a set of correlations against the detection rules they
// reference, once. Run evaluates them over the base detections of a hunt,
// given as Inputs in any order, and returns the Matches. Detections are few
// next to events, so Run works on a slice held in memory.
//
// # Semantics
//
// Windows. For each group, inputs are sorted by time. The window ending at
// input j holds the inputs i of the group with t_j - t_i <= timespan: an
// input exactly timespan before t_j is inside, one a nanosecond earlier is
// out. Inputs with equal times arrive together: a window never holds some
// of them and not the others, so the result does not depend on the order
// of the inputs given to Run.
//
// When a window is evaluated. A condition made only of gt and gte bounds
// (and temporal types without a condition) asks whether enough happened:
// it is evaluated on the window ending at every input, and a match fires at
// the first input where it holds, the moment a streaming engine would
// alert. A condition with lt, lte, eq or neq asks whether few (or exactly
// so many) things happened, which a window still filling would answer
// falsely: it is evaluated only on maximal windows, those no later input of
// the group can join (the next input is more than timespan after the
// window's first one, or there is none). A single failed logon is then
// "fewer than 5 in an hour" only if no other came within the hour after it.
//
// Matches. Windows of one group that satisfy the condition and share
// inputs are one Match: a burst of a hundred failed logons over a threshold
// of ten is one match of a hundred inputs, not ninety. Value is the
// aggregate of the first window that satisfied the condition, Max the
// largest among the match's satisfying windows.
//
// Group-by. Each distinct tuple of group-by values (aliases resolved per
// referenced rule) has its own windows; nothing crosses groups. Values
// compare exactly (case-sensitive). An input that lacks a group-by field
// is left out of that correlation, as a SIEM's "stats ... by" leaves out
// events without the field; a field present with an empty value groups on
// the empty value.
//
// Value fields. value_count counts the distinct values (tuples, when
// condition.field lists several fields) among the inputs that have them.
// value_percentile without condition.percentile (as the specification's
// example writes it: {field: Image, lte: 1}) compares the share, in percent,
// of the window's inputs having the field that carry each of its values,
// and holds when some value's share satisfies every bound: a process seen
// in at most 1% of a computer's process creations. Its aggregate is the
// share of the rarest such value; its match holds the inputs carrying the
// values whose share held, in the window where it first held. value_sum, value_avg, value_percentile
// with condition.percentile, and value_median aggregate the inputs whose
// field holds a number (decimal, or hexadecimal with 0x);
// others are ignored, and a window with no number is not evaluated.
// Percentiles interpolate linearly between the closest ranks (the median of
// 1, 2, 3, 4 is 2.5).
//
// Temporal types. temporal holds when every referenced rule matched in the
// window (or, with a condition, when the number of distinct rules that
// matched satisfies it). temporal_ordered holds when the window holds a
// match of each rule in the order listed; equal times count as in order.
// Its aggregate is the length of the longest listed prefix matched in
// order, so a condition may ask for part of the sequence.
//
// Chaining. A correlation may reference another correlation. Each window
// in which the referenced correlation held becomes one input of the outer
// one, at the time of the window's last input (the moment it held). Its
// fields are the referenced correlation's group-by values and, for other
// fields the outer correlation needs, the value shared by every input of
// the window (absent when they differ).
//
// Generate. The specification says referenced rules are not generated as
// stand-alone rules unless the correlation says generate: true. Suppressed
// reports whether a rule's (or an inner correlation's) own detections
// should be hidden: it is referenced by at least one correlation and none
// of those referencing it sets generate.
package correlate

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// Kinds of Compile errors, for callers that treat them apart (errors.Is).
// Every error of Compile is also a *sigma.Error locating the correlation.
var (
	// ErrUnresolved: a correlation names a rule that is not among those
	// given, or references a correlation that cannot run because of that;
	// a rule set linted alone may legitimately lack the rules.
	ErrUnresolved = errors.New("unresolved rule reference")
	// ErrDuplicateID: two correlations share an id.
	ErrDuplicateID = errors.New("duplicate correlation id")
)

// compileError is a located error of Compile with its kind (nil for the
// others).
type compileError struct {
	err  *sigma.Error
	kind error
}

func (e *compileError) Error() string { return e.err.Error() }

// Unwrap returns the located error and its kind.
func (e *compileError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.err, e.kind}
}

// Input is one base detection given to Run: a detection rule matching one
// event.
type Input struct {
	// RuleID and RuleName identify the rule that matched; RuleID is looked
	// up first, then RuleName.
	RuleID, RuleName string
	// Time is the event's time. Inputs without a time are ignored.
	Time time.Time
	// Fields holds the values of the fields Set.Fields names for the rule,
	// as text, for those the event has. A field absent from the map is
	// absent from the event.
	Fields map[string]string
}

// Pair is one group-by field and its value.
type Pair struct {
	Field, Value string
}

// Match is one firing of a correlation in one group.
type Match struct {
	// Correlation is the rule that fired.
	Correlation *sigma.Correlation
	// Group holds the group-by fields (alias names as written) and their
	// values, in group-by order.
	Group []Pair
	// First and Last are the times of the first and last inputs of the
	// match; Fired is the end of the first window that satisfied the
	// condition, when a streaming engine would have alerted.
	First, Last, Fired time.Time
	// Value is the aggregate of the first satisfying window: the event
	// count, distinct value count, number of distinct rules, length of the
	// ordered prefix, sum, average or percentile. Max is the largest
	// aggregate among the match's satisfying windows.
	Value, Max float64
	// Count is the number of inputs in the match's windows, chained
	// correlation windows counted once each.
	Count int
	// Inputs are the indices, in the slice given to Run, of the base
	// inputs behind the match, through chained correlations too; sorted.
	// For a value_percentile share, only those carrying the values whose
	// share held (see the package documentation).
	Inputs []int
	// Parts are the indices, in the slice Run returns, of the matches of
	// referenced correlations this match was built on; sorted.
	Parts []int
}

// Set is a compiled set of correlations. It is immutable after Compile and
// safe for concurrent use.
type Set struct {
	corrs []*corr // sources before the correlations referencing them
	// bases are the referenced detection rules, by rule.
	bases map[*sigma.Rule]*base
	// baseByID and baseByName find a base rule from an Input.
	baseByID, baseByName map[string]*base
	// suppressed holds the ids and names of rules and correlations whose
	// own detections are not to be emitted.
	suppressed map[string]bool
}

// base is a detection rule referenced by at least one correlation.
type base struct {
	rule   *sigma.Rule
	fields []string // event fields the correlations need, sorted
	users  []*use
}

// corr is a compiled correlation.
type corr struct {
	c     *sigma.Correlation
	index int // position in Set.corrs
	// srcs are the distinct sources referenced, in the order first listed.
	srcs []*src
	// order maps each listed rule, in order, to its index in srcs (for
	// temporal_ordered, where a rule may be listed twice).
	order []int
	// pass lists the fields that correlations referencing this one need
	// from it beyond its group-by fields.
	pass  []string
	users []*use
	// upward is true when the condition holds on any window that contains
	// a window where it holds (only gt and gte bounds).
	upward     bool
	percentile float64
}

// src is one source of a correlation: a base rule or another correlation,
// with the fields the correlation reads from its inputs.
type src struct {
	base *base
	corr *corr
	// fields are the names to read from the source's inputs: group-by
	// fields (aliases resolved), then condition fields, then pass fields.
	fields []string
}

// use records that a correlation reads a source: the index of the source
// in the correlation's srcs.
type use struct {
	c   *corr
	src int
}

// Compile resolves corrs against the detection rules in rules and against
// each other. A correlation that cannot run (an unknown or ambiguous
// reference, a cycle, a reference to a correlation that cannot run, a
// condition it cannot evaluate) is left out with an error naming it; the
// others are compiled. Rule references are resolved by id first, then by
// name, preferring a rule of the correlation's own file when several share
// the name.
func Compile(corrs []*sigma.Correlation, rules []*sigma.Rule) (*Set, []error) {
	s := &Set{
		bases:      map[*sigma.Rule]*base{},
		baseByID:   map[string]*base{},
		baseByName: map[string]*base{},
		suppressed: map[string]bool{},
	}
	var errs []error
	// unresolved marks the correlations broken by an ErrUnresolved.
	unresolved := map[*sigma.Correlation]bool{}
	failKind := func(kind error, c *sigma.Correlation, key, format string, args ...any) {
		errs = append(errs, &compileError{&sigma.Error{Pos: c.Pos, Key: key, RuleID: c.ID, Title: c.Title, Msg: fmt.Sprintf(format, args...)}, kind})
		if kind == ErrUnresolved {
			unresolved[c] = true
		}
	}
	fail := func(c *sigma.Correlation, key, format string, args ...any) {
		failKind(nil, c, key, format, args...)
	}

	// Index the rules and correlations by id and name.
	ruleByID := map[string]*sigma.Rule{}
	ruleByName := map[string][]*sigma.Rule{}
	for _, r := range rules {
		if r.ID != "" {
			if _, dup := ruleByID[r.ID]; !dup {
				ruleByID[r.ID] = r
			}
		}
		if r.Name != "" {
			ruleByName[r.Name] = append(ruleByName[r.Name], r)
		}
	}
	corrByID := map[string]*sigma.Correlation{}
	corrByName := map[string][]*sigma.Correlation{}
	for _, c := range corrs {
		if c.ID != "" {
			if _, dup := corrByID[c.ID]; dup {
				failKind(ErrDuplicateID, c, "id", "duplicate correlation id %s", c.ID)
				continue
			}
			corrByID[c.ID] = c
		}
		if c.Name != "" {
			corrByName[c.Name] = append(corrByName[c.Name], c)
		}
	}

	// Resolve references: each is a rule or a correlation.
	type ref struct {
		rule *sigma.Rule
		corr *sigma.Correlation
	}
	refs := map[*sigma.Correlation][]ref{}
	broken := map[*sigma.Correlation]bool{}
	for _, c := range corrs {
		if c.ID != "" && corrByID[c.ID] != c {
			broken[c] = true // the duplicate, reported above
			continue
		}
		if msg := checkCondition(c); msg != "" {
			fail(c, "correlation.condition", "%s", msg)
			broken[c] = true
			continue
		}
		for _, name := range c.Rules {
			if r, ok := ruleByID[name]; ok {
				refs[c] = append(refs[c], ref{rule: r})
				continue
			}
			if x, ok := corrByID[name]; ok {
				refs[c] = append(refs[c], ref{corr: x})
				continue
			}
			rs := sameFile(ruleByName[name], c.Pos.File, func(r *sigma.Rule) string { return r.Pos.File })
			cs := sameFile(corrByName[name], c.Pos.File, func(x *sigma.Correlation) string { return x.Pos.File })
			switch {
			case len(rs)+len(cs) == 0:
				failKind(ErrUnresolved, c, "correlation.rules", "rule %q is not among the rules loaded (referenced by id or name)", name)
				broken[c] = true
			case len(rs)+len(cs) > 1:
				fail(c, "correlation.rules", "rule name %q is ambiguous: %d rules have it", name, len(rs)+len(cs))
				broken[c] = true
			case len(rs) == 1:
				refs[c] = append(refs[c], ref{rule: rs[0]})
			default:
				refs[c] = append(refs[c], ref{corr: cs[0]})
			}
		}
	}

	// Order the correlations so that sources come first, and find cycles.
	const (
		unseen = iota
		visiting
		done
	)
	state := map[*sigma.Correlation]int{}
	var order []*sigma.Correlation
	var visit func(c *sigma.Correlation, path []*sigma.Correlation) bool
	visit = func(c *sigma.Correlation, path []*sigma.Correlation) bool {
		switch state[c] {
		case done:
			return !broken[c]
		case visiting:
			var names []string
			start := slices.Index(path, c)
			for _, x := range path[start:] {
				names = append(names, corrName(x))
			}
			names = append(names, corrName(c))
			fail(c, "correlation.rules", "correlations reference each other in a cycle: %s", strings.Join(names, " -> "))
			broken[c] = true
			return false
		}
		state[c] = visiting
		ok := !broken[c]
		for _, r := range refs[c] {
			if r.corr == nil {
				continue
			}
			if !visit(r.corr, append(path, c)) {
				if ok && !broken[c] {
					var kind error
					if unresolved[r.corr] {
						kind = ErrUnresolved
					}
					failKind(kind, c, "correlation.rules", "it references correlation %s, which cannot run", corrName(r.corr))
				}
				ok = false
			}
		}
		state[c] = done
		if !ok {
			broken[c] = true
			return false
		}
		order = append(order, c)
		return true
	}
	for _, c := range corrs {
		visit(c, nil)
	}

	// Compile in order.
	compiled := map[*sigma.Correlation]*corr{}
	for _, c := range order {
		k := &corr{c: c, index: len(s.corrs), upward: upward(c)}
		if c.Condition != nil {
			k.percentile = c.Condition.Percentile
		}
		if c.Type == sigma.ValueMedian {
			k.percentile = 50
		}
		for _, r := range refs[c] {
			var sr *src
			for i, x := range k.srcs {
				if (r.rule != nil && x.base != nil && x.base.rule == r.rule) || (r.corr != nil && x.corr != nil && x.corr.c == r.corr) {
					sr = x
					k.order = append(k.order, i)
					break
				}
			}
			if sr != nil {
				continue
			}
			sr = &src{}
			if r.rule != nil {
				b := s.bases[r.rule]
				if b == nil {
					b = &base{rule: r.rule}
					s.bases[r.rule] = b
				}
				sr.base = b
				b.users = append(b.users, &use{c: k, src: len(k.srcs)})
			} else {
				sr.corr = compiled[r.corr]
				sr.corr.users = append(sr.corr.users, &use{c: k, src: len(k.srcs)})
			}
			k.order = append(k.order, len(k.srcs))
			k.srcs = append(k.srcs, sr)
		}
		compiled[c] = k
		s.corrs = append(s.corrs, k)
	}

	// Fields: what each correlation needs from its sources, outermost
	// first so that pass fields are known before the sources are visited.
	for i := len(s.corrs) - 1; i >= 0; i-- {
		k := s.corrs[i]
		for _, sr := range k.srcs {
			var f []string
			for _, g := range k.c.GroupBy {
				f = append(f, k.aliased(g, sr))
			}
			f = append(f, k.valueFields()...)
			f = append(f, k.pass...)
			sr.fields = f
			if sr.corr != nil {
				for _, name := range f {
					if !slices.Contains(sr.corr.c.GroupBy, name) && !slices.Contains(sr.corr.pass, name) {
						sr.corr.pass = append(sr.corr.pass, name)
					}
				}
			}
		}
	}
	for _, b := range s.bases {
		for _, u := range b.users {
			for _, f := range u.c.srcs[u.src].fields {
				if !slices.Contains(b.fields, f) {
					b.fields = append(b.fields, f)
				}
			}
		}
		slices.Sort(b.fields)
		if b.rule.ID != "" {
			s.baseByID[b.rule.ID] = b
		}
		if b.rule.Name != "" {
			if _, dup := s.baseByName[b.rule.Name]; dup {
				s.baseByName[b.rule.Name] = nil // ambiguous: only by id
			} else {
				s.baseByName[b.rule.Name] = b
			}
		}
	}

	// Generate: a source is suppressed unless a correlation referencing
	// it asks for generate.
	mark := func(id, name string, users []*use) {
		gen := false
		for _, u := range users {
			gen = gen || u.c.c.Generate
		}
		if len(users) == 0 || gen {
			return
		}
		if id != "" {
			s.suppressed[id] = true
		}
		if name != "" {
			s.suppressed[name] = true
		}
	}
	for _, b := range s.bases {
		mark(b.rule.ID, b.rule.Name, b.users)
	}
	for _, k := range s.corrs {
		mark(k.c.ID, k.c.Name, k.users)
	}
	return s, errs
}

// sameFile returns list when it has at most one element, else the elements
// from file when there are any, else list.
func sameFile[T any](list []T, file string, fileOf func(T) string) []T {
	if len(list) <= 1 {
		return list
	}
	var same []T
	for _, x := range list {
		if fileOf(x) == file {
			same = append(same, x)
		}
	}
	if len(same) > 0 {
		return same
	}
	return list
}

// checkCondition returns why c's condition cannot be evaluated, or "".
func checkCondition(c *sigma.Correlation) string {
	cc := c.Condition
	switch c.Type {
	case sigma.Temporal, sigma.TemporalOrdered:
		return ""
	case sigma.EventCount:
		if cc == nil {
			return "missing condition (required for event_count)"
		}
	case sigma.ValueCount, sigma.ValueSum, sigma.ValueAvg, sigma.ValueMedian, sigma.ValuePercentile:
		if cc == nil || cc.Field == "" {
			return "missing condition.field (required for " + string(c.Type) + ")"
		}
		if c.Type == sigma.ValuePercentile && !cc.Share && (cc.Percentile < 0 || cc.Percentile > 100) {
			return "value_percentile needs condition.percentile from 0 to 100 (which percentile of condition.field to compare)"
		}
	default:
		return fmt.Sprintf("unknown correlation type %q", c.Type)
	}
	for _, cmp := range cc.Comparisons {
		switch cmp.Op {
		case "gt", "gte", "lt", "lte", "eq", "neq":
		default:
			return fmt.Sprintf("unknown condition operator %q", cmp.Op)
		}
	}
	return ""
}

// upward reports whether c's condition holds on every window containing a
// window where it holds, for the count types: only gt and gte bounds (or no
// condition, for temporal types).
func upward(c *sigma.Correlation) bool {
	if c.Condition == nil {
		return true
	}
	if c.Condition.Share {
		return false // a value's share falls as other values come
	}
	for _, cmp := range c.Condition.Comparisons {
		if cmp.Op != "gt" && cmp.Op != "gte" {
			return false
		}
	}
	return true
}

// corrName names a correlation in messages: its name, else its id, else
// its title.
func corrName(c *sigma.Correlation) string {
	switch {
	case c.Name != "":
		return c.Name
	case c.ID != "":
		return c.ID
	}
	return fmt.Sprintf("%q", c.Title)
}

// aliased returns the field that carries group-by field g in the inputs of
// source sr: the alias mapping for sr (by name, then id) when g is an
// alias, g itself otherwise.
func (k *corr) aliased(g string, sr *src) string {
	m, ok := k.c.Aliases[g]
	if !ok {
		return g
	}
	id, name := sr.ids()
	if f, ok := m[name]; ok && name != "" {
		return f
	}
	if f, ok := m[id]; ok && id != "" {
		return f
	}
	return g
}

// valueFields returns the condition fields the correlation aggregates.
func (k *corr) valueFields() []string {
	switch k.c.Type {
	case sigma.ValueCount:
		return k.c.Condition.Fields
	case sigma.ValueSum, sigma.ValueAvg, sigma.ValuePercentile, sigma.ValueMedian:
		return k.c.Condition.Fields[:1]
	}
	return nil
}

// ids returns the id and name of the source.
func (sr *src) ids() (id, name string) {
	if sr.base != nil {
		return sr.base.rule.ID, sr.base.rule.Name
	}
	return sr.corr.c.ID, sr.corr.c.Name
}

// Fields returns the event fields to keep in the Inputs of the rule with
// this id (or name), sorted; nil when no correlation references it.
func (s *Set) Fields(rule string) []string {
	if b := s.lookup(rule, rule); b != nil {
		return b.fields
	}
	return nil
}

// Uses reports whether a correlation of the set references the rule with
// this id (or name).
func (s *Set) Uses(rule string) bool { return s.lookup(rule, rule) != nil }

// Suppressed reports whether the detections of the rule or correlation
// with this id (or name) are not to be reported on their own: a
// correlation references it and none of those referencing it sets
// generate: true.
func (s *Set) Suppressed(rule string) bool { return s.suppressed[rule] }

// Correlations returns the correlations that compiled, each after those it
// references.
func (s *Set) Correlations() []*sigma.Correlation {
	out := make([]*sigma.Correlation, len(s.corrs))
	for i, k := range s.corrs {
		out[i] = k.c
	}
	return out
}

func (s *Set) lookup(id, name string) *base {
	if b := s.baseByID[id]; b != nil && id != "" {
		return b
	}
	if name != "" {
		return s.baseByName[name]
	}
	return nil
}
