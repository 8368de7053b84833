// Package sigma reads Sigma rules (specification v2.1): detection rules,
// correlation rules and filters, from YAML documents into plain Go values,
// validates them, and parses their conditions. It knows nothing about events
// or matching: the detect package compiles what this package produces.
package sigma

import (
	"strconv"
	"time"
)

// Pos is a place in a rule file, for error messages.
type Pos struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
}

// Logsource says which events a rule or filter applies to.
type Logsource struct {
	Product    string
	Category   string
	Service    string
	Definition string
}

// Related is one entry of a rule's related list.
type Related struct {
	ID   string
	Type string // derived, obsolete, merged, renamed, similar
}

// Meta is what detection rules, correlation rules and filters share.
type Meta struct {
	ID          string
	Name        string // the name other rules reference (optional)
	Title       string
	Description string
	Status      string
	Level       string // informational, low, medium, high, critical ("" when absent)
	Author      string
	Date        string
	Modified    string
	References  []string
	Tags        []string
	Related     []Related
	// FalsePositives lists the falsepositives entries.
	FalsePositives []string
	// Fields lists the fields entry (fields of interest for an analyst).
	Fields []string
	// Custom holds top-level keys the specification does not define (for
	// example regression_tests_path), as their YAML scalar text when scalar.
	Custom map[string]string
	// Pos is where the document starts.
	Pos Pos
}

// Rule is a Sigma detection rule.
type Rule struct {
	Meta
	Logsource Logsource
	Detection Detection
}

// Detection is the detection section of a rule or filter: named searches and
// the condition combining them.
type Detection struct {
	// Searches in the order they were written, by identifier.
	Searches []*Search
	// Conditions are ORed (a list of conditions in the rule).
	Conditions []Expr
	// ConditionText keeps the conditions as written, for display.
	ConditionText []string
	// Timeframe is the deprecated detection-level timeframe (0 if absent).
	Timeframe time.Duration
}

// Search is one search identifier of a detection section.
type Search struct {
	Name string
	// Alternatives are ORed; the FieldMatches inside one alternative are
	// ANDed. A map under the identifier gives one alternative; a list of maps
	// gives one alternative per map; a list of plain values (a keyword
	// search) gives one alternative holding one FieldMatch with an empty
	// Field; a list mixing maps and plain values gives one alternative per
	// map plus one for all the plain values. A scalar under the identifier
	// is a keyword search with one value.
	Alternatives [][]*FieldMatch
	Pos          Pos
}

// Search returns the search named name, or nil.
func (d *Detection) Search(name string) *Search {
	for _, s := range d.Searches {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// FieldMatch is one `field|modifier|modifier: values` entry.
type FieldMatch struct {
	// Field is the event field name; "" for a keyword search.
	Field string
	// Modifiers in the order written, validated against the specification.
	Modifiers []Modifier
	// Values are ORed, or ANDed with the all modifier. An empty list never
	// happens: `field: []` is rejected.
	Values []Value
	Pos    Pos
}

// Has reports whether m is among the modifiers.
func (f *FieldMatch) Has(m Modifier) bool {
	for _, x := range f.Modifiers {
		if x == m {
			return true
		}
	}
	return false
}

// ValueKind is the YAML type of a Sigma value.
type ValueKind uint8

// The kinds of Sigma value.
const (
	StringValue ValueKind = iota // a string, possibly with wildcards
	NumberValue                  // an integer or float written as a YAML number
	BoolValue                    // true or false
	NullValue                    // null: the field is absent or empty
)

// Value is one value of a FieldMatch as written in the rule.
type Value struct {
	Kind ValueKind
	// Raw is the text as written (after YAML unquoting) for every kind:
	// wildcards (* and ?) and their backslash escapes are still in it, to
	// be interpreted by the matcher together with the modifiers.
	Raw string
	// Number is the value of a NumberValue.
	Number float64
	// Bool is the value of a BoolValue.
	Bool bool
}

// Modifier is a value modifier of specification v2.1.
type Modifier string

// The modifiers of specification v2.1 (sigma-appendix-modifiers.md).
const (
	ModContains     Modifier = "contains"
	ModStartsWith   Modifier = "startswith"
	ModEndsWith     Modifier = "endswith"
	ModAll          Modifier = "all"
	ModExists       Modifier = "exists"
	ModCased        Modifier = "cased"
	ModNeq          Modifier = "neq"
	ModWindash      Modifier = "windash"
	ModRe           Modifier = "re"
	ModReI          Modifier = "i"
	ModReM          Modifier = "m"
	ModReS          Modifier = "s"
	ModBase64       Modifier = "base64"
	ModBase64Offset Modifier = "base64offset"
	ModUTF16LE      Modifier = "utf16le"
	ModUTF16BE      Modifier = "utf16be"
	ModUTF16        Modifier = "utf16"
	ModWide         Modifier = "wide"
	ModLt           Modifier = "lt"
	ModLte          Modifier = "lte"
	ModGt           Modifier = "gt"
	ModGte          Modifier = "gte"
	ModMinute       Modifier = "minute"
	ModHour         Modifier = "hour"
	ModDay          Modifier = "day"
	ModWeek         Modifier = "week"
	ModMonth        Modifier = "month"
	ModYear         Modifier = "year"
	ModCIDR         Modifier = "cidr"
	ModExpand       Modifier = "expand"
	ModFieldRef     Modifier = "fieldref"
)

// Expr is a node of a parsed condition: *AndExpr, *OrExpr, *NotExpr,
// *IdentExpr or *OfExpr.
type Expr interface {
	// String renders the expression in condition syntax, fully
	// parenthesised.
	String() string
	expr()
}

// AndExpr is `X and Y and ...`.
type AndExpr struct{ Operands []Expr }

// OrExpr is `X or Y or ...`.
type OrExpr struct{ Operands []Expr }

// NotExpr is `not X`.
type NotExpr struct{ Operand Expr }

// IdentExpr names one search.
type IdentExpr struct{ Name string }

// OfExpr is `1 of PATTERN`, `all of PATTERN`, `1 of them` or `all of them`.
// Pattern is "them" or an identifier pattern with * wildcards. Searches
// whose names start with an underscore are not part of "them".
type OfExpr struct {
	All     bool // all of; otherwise 1 of (any of)
	Pattern string
}

func (*AndExpr) expr()   {}
func (*OrExpr) expr()    {}
func (*NotExpr) expr()   {}
func (*IdentExpr) expr() {}
func (*OfExpr) expr()    {}

// CorrelationType is the type of a correlation rule.
type CorrelationType string

// The correlation types of specification v2.1 (plus value_median, the 50th
// percentile, which pySigma also accepts).
const (
	EventCount      CorrelationType = "event_count"
	ValueCount      CorrelationType = "value_count"
	Temporal        CorrelationType = "temporal"
	TemporalOrdered CorrelationType = "temporal_ordered"
	ValueSum        CorrelationType = "value_sum"
	ValueAvg        CorrelationType = "value_avg"
	ValuePercentile CorrelationType = "value_percentile"
	ValueMedian     CorrelationType = "value_median"
)

// Correlation is a Sigma correlation rule.
type Correlation struct {
	Meta
	Type CorrelationType
	// Rules are the ids or names of the rules (or correlations) it
	// correlates.
	Rules []string
	// Aliases map an alias name to, per referenced rule, the field that
	// carries it.
	Aliases map[string]map[string]string
	GroupBy []string
	// Timespan is the sliding window.
	Timespan time.Duration
	// Condition is nil for temporal types without a condition.
	Condition *CorrelationCondition
	// Generate makes the referenced rules produce their own detections too.
	Generate bool
}

// CorrelationCondition is the condition of a correlation rule.
type CorrelationCondition struct {
	Op    string // gt, gte, lt, lte, eq, neq
	Value float64
	// Field is the field the value_* types aggregate.
	Field string
	// Percentile for value_percentile (value_median is 50): the percentile
	// of the field's numbers that the bounds compare.
	Percentile float64
	// Share is true for a value_percentile written as the specification's
	// example writes it, without percentile ({field: Image, lte: 1}): the
	// bounds compare the share, in percent, of the window's events that
	// carry each value of the field, and hold when some value's share
	// satisfies them (a value seen in at most 1% of the events).
	Share bool
	// Comparisons holds every bound in the order written, ANDed: the
	// specification writes a range as `gt: 100` and `lte: 200` together.
	// Op and Value repeat the first one.
	Comparisons []Comparison
	// Fields lists every field of condition.field, which may be a list
	// (for value_count, the values of all are counted together); Field is
	// the first.
	Fields []string
}

// Comparison is one bound of a correlation condition, such as gte 100.
type Comparison struct {
	Op    string // gt, gte, lt, lte, eq, neq
	Value float64
}

// Filter is a Sigma filter (meta filter rule): a detection that removes
// matches of the rules it names.
type Filter struct {
	Meta
	Logsource Logsource
	// Rules are the ids or names of the rules it applies to; empty applies
	// to every rule of its logsource.
	Rules     []string
	Detection Detection
}

// Collection is everything loaded from a set of files.
type Collection struct {
	Rules        []*Rule
	Correlations []*Correlation
	Filters      []*Filter
	// Errors holds one entry per document that could not be loaded (the
	// first problem found in it), and warnings (Warning set) about
	// documents that did load.
	Errors []*Error
}

// Error is a problem with a rule, located precisely.
type Error struct {
	Pos Pos
	// Key is the YAML path of the offending key, such as
	// "detection.selection.Image|foo".
	Key string
	// RuleID and Title identify the rule when known.
	RuleID, Title string
	// Msg says what is malformed or unsupported.
	Msg string
	// Warning is true for problems that do not stop the rule from loading.
	Warning bool
}

// Error implements error as "file:line:col: key: msg".
func (e *Error) Error() string {
	s := e.Pos.File
	if e.Pos.Line > 0 {
		s += ":" + strconv.Itoa(e.Pos.Line)
		if e.Pos.Column > 0 {
			s += ":" + strconv.Itoa(e.Pos.Column)
		}
	}
	if s != "" {
		s += ": "
	}
	if e.Key != "" {
		s += e.Key + ": "
	}
	return s + e.Msg
}
