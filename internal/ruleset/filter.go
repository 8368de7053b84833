package ruleset

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// Statuses are the Sigma rule statuses.
var Statuses = []string{"stable", "test", "experimental", "deprecated", "unsupported"}

// retiredStatuses are left out when no status is asked for (unless
// Selection.KeepRetired): rules their authors no longer stand behind.
var retiredStatuses = []string{"deprecated", "unsupported"}

// ParseLevel returns the canonical (lower-case) name of a level, or an error
// naming the levels there are.
func ParseLevel(s string) (string, error) {
	if i := sigma.LevelRank(s); i >= 0 {
		return sigma.Levels[i], nil
	}
	return "", fmt.Errorf("unknown level %q: want one of %s", s, strings.Join(sigma.Levels, ", "))
}

// Selection says which rules a Filter keeps: those that pass every field
// set. The zero Selection keeps every rule but the retired ones
// (deprecated, unsupported).
type Selection struct {
	// MinLevel keeps the rules of this level or more severe ("" for all,
	// rules without a level included).
	MinLevel string
	// Statuses keeps the rules with one of these statuses (any case);
	// none keeps every rule except deprecated and unsupported ones, or
	// every rule with KeepRetired.
	Statuses    []string
	KeepRetired bool
	// Tags keeps the rules with a tag starting with one of these prefixes:
	// case and surrounding spaces do not matter, "_" is the same as "-"
	// (SigmaHQ moved from attack.credential_access to
	// attack.credential-access), and "attack." may be left out ("t1003"
	// and "credential-access" select ATT&CK tags). None keeps all.
	Tags []string
	// Exclude leaves out the rules with these IDs, names or titles
	// (case-insensitive).
	Exclude []string
}

// Filter decides which rules (and correlations and filters: what has a
// sigma.Meta) of a Set are kept. It is not safe for concurrent use: Keep
// records which Exclude names named a rule.
type Filter struct {
	minLevel    int // -1: any, rules without a level included
	statuses    []string
	keepRetired bool
	tags        []string // normalised prefixes
	// exclude maps the lower-cased Exclude names to the names as given;
	// named records those that named a rule.
	exclude map[string]string
	named   map[string]bool
}

// NewFilter returns the Filter of sel; the error is for an unknown
// MinLevel.
func NewFilter(sel Selection) (*Filter, error) {
	f := &Filter{minLevel: -1, keepRetired: sel.KeepRetired, exclude: map[string]string{}, named: map[string]bool{}}
	if sel.MinLevel != "" {
		l, err := ParseLevel(sel.MinLevel)
		if err != nil {
			return nil, err
		}
		f.minLevel = sigma.LevelRank(l)
	}
	for _, s := range sel.Statuses {
		f.statuses = append(f.statuses, strings.ToLower(s))
	}
	for _, t := range sel.Tags {
		f.tags = append(f.tags, normTag(t))
	}
	for _, x := range sel.Exclude {
		f.exclude[strings.ToLower(x)] = x
	}
	return f, nil
}

// Keep reports whether the rule (or correlation, or filter) with meta m
// passes the filter.
func (f *Filter) Keep(m *sigma.Meta) bool {
	if f.excluded(m) {
		return false
	}
	if f.minLevel >= 0 && sigma.LevelRank(m.Level) < f.minLevel {
		return false
	}
	status := strings.ToLower(m.Status)
	if len(f.statuses) > 0 {
		if !slices.Contains(f.statuses, status) {
			return false
		}
	} else if !f.keepRetired && slices.Contains(retiredStatuses, status) {
		return false
	}
	if len(f.tags) > 0 && !f.tagged(m.Tags) {
		return false
	}
	return true
}

// Unnamed returns the Exclude names, as given, that named no rule Keep was
// asked about (a typo would otherwise pass unnoticed), sorted.
func (f *Filter) Unnamed() []string {
	var out []string
	for k, x := range f.exclude {
		if !f.named[k] {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

// excluded reports whether an Exclude name names m (its ID, title or
// correlation name), recording the names that did.
func (f *Filter) excluded(m *sigma.Meta) bool {
	hit := false
	for _, k := range []string{m.ID, m.Title, m.Name} {
		if k == "" {
			continue
		}
		if _, ok := f.exclude[strings.ToLower(k)]; ok {
			f.named[strings.ToLower(k)] = true
			hit = true
		}
	}
	return hit
}

// tagged reports whether one of tags starts with one of the filter's
// prefixes, with or without the "attack." namespace.
func (f *Filter) tagged(tags []string) bool {
	for _, tag := range tags {
		tag = normTag(tag)
		for _, want := range f.tags {
			if strings.HasPrefix(tag, want) || strings.HasPrefix(tag, "attack."+want) {
				return true
			}
		}
	}
	return false
}

// normTag lower-cases a tag, trims its spaces and writes "_" as "-".
func normTag(t string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(t)), "_", "-")
}
