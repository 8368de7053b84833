package detect

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// Errors a rule can fail to compile with, wrapped in a *RuleError.
var (
	// ErrModifier: modifiers that cannot be combined, or that do not fit
	// the value (re with base64, two of startswith/endswith/contains, a
	// number modifier on a string, exists with a list...).
	ErrModifier = errors.New("bad modifier combination")
	// ErrValue: a value its modifiers cannot use (base64 of a wildcard
	// value, a malformed cidr, a non-numeric value for gt...).
	ErrValue = errors.New("bad value")
	// ErrRegexp: a regular expression that does not compile.
	ErrRegexp = errors.New("bad regular expression")
	// ErrPlaceholder: an expand placeholder with no configured value.
	ErrPlaceholder = errors.New("placeholder without a configured value")
	// ErrCondition: a condition naming a search that does not exist, or a
	// pattern matching none.
	ErrCondition = errors.New("bad condition")
)

// RuleError is a rule (or filter) that could not be compiled.
type RuleError struct {
	Pos   sigma.Pos
	ID    string
	Title string
	// Key locates the problem inside the rule, such as
	// "detection.selection.CommandLine|re"; "" for the whole rule.
	Key string
	Err error
}

// Error implements error as "file:line: rule ID (title): key: reason".
func (e *RuleError) Error() string {
	s := ""
	if e.Pos.File != "" {
		s = e.Pos.File
		if e.Pos.Line > 0 {
			s += fmt.Sprintf(":%d", e.Pos.Line)
		}
		s += ": "
	}
	s += fmt.Sprintf("rule %s (%s): ", e.ID, e.Title)
	if e.Key != "" {
		s += e.Key + ": "
	}
	return s + e.Err.Error()
}

// Unwrap returns the reason.
func (e *RuleError) Unwrap() error { return e.Err }

// Options configures Compile.
type Options struct {
	// Router maps logsources to the events they cover and the field names
	// those events use. nil selects DefaultPipeline().
	Router Router
	// Placeholders gives the values of expand placeholders, by name
	// without the percent signs: {"Administrators": {"admin*", "root"}}.
	Placeholders map[string][]string
}

// Rule is a compiled detection rule.
type Rule struct {
	// Sigma is the rule as loaded.
	Sigma *sigma.Rule
	// Filters are the filters applied to the rule.
	Filters []*sigma.Filter
	index   int
}

// Index returns the rule's position in Engine.Rules, for callers that keep
// per-rule state in a slice.
func (r *Rule) Index() int { return r.index }

// Detection is one rule matching one event.
type Detection struct {
	Rule *Rule
	// Event is the event as given to Match, not a copy: it is only valid
	// as long as the caller's event is (for events from a Reader, until the
	// next Next). Clone it to keep it.
	Event *event.Event
	// Searches names the rule's searches that matched the event, in rule
	// order (including those the condition negates or did not need). The
	// slice belongs to the Matcher and is valid until its next Match.
	Searches []string
}

// Engine is a compiled rule set. It is immutable and safe for concurrent
// use; match events with the Matchers it makes.
type Engine struct {
	rules    []*Rule
	variants []*variant

	// mu guards the tables below while Compile interns on several
	// goroutines; they are read-only afterwards.
	mu sync.Mutex
	// Field names used by rules, by id.
	names    map[string]int32
	nameList []string
	// Resolved fields: each a list of candidate name ids; field 0 is the
	// keyword pseudo-field (every field).
	fieldNames [][]int32
	fieldKeys  map[string]int32
	// Prefilter needles: a lower-cased literal in a field.
	needles   []needleDef
	needleIDs map[needleDef]int32

	// By variant index: the bits of the clauses of its need (a candidate
	// has them all).
	clauseMask []uint8

	nameChannel, nameEventID, nameProvider int32
	fieldEventID                           int32

	index index
}

// needleDef is a literal that must occur in a field's lower-cased text.
type needleDef struct {
	field int32
	lit   string
}

// variant is a rule compiled for one Source of its Route (with that
// Source's field names).
type variant struct {
	rule     *Rule
	index    int32
	channel  string
	eventIDs []uint32
	provider string
	fields   map[string][]string // the Source's field names
	cond     node
	searches []namedNode
	filters  []node
	need     need
}

// namedNode is a compiled search.
type namedNode struct {
	name string
	node node
}

// Rules returns the compiled rules in the order given to Compile.
func (e *Engine) Rules() []*Rule { return e.rules }

// Compile compiles rules and filters. Rules that cannot be compiled are left
// out, each with a *RuleError in the returned slice; the Engine holds the
// rest.
//
// A filter applies to the rules it names (by id or name) or, naming none, to
// every rule whose logsource has the filter's non-empty logsource fields: a
// match of such a rule is dropped when the filter's condition matches the
// event.
func Compile(rules []*sigma.Rule, filters []*sigma.Filter, opts Options) (*Engine, []error) {
	if opts.Router == nil {
		opts.Router = DefaultPipeline()
	}
	e := &Engine{
		names:     map[string]int32{},
		fieldKeys: map[string]int32{},
		needleIDs: map[needleDef]int32{},
	}
	e.fieldNames = [][]int32{nil} // keyword pseudo-field
	e.nameChannel = e.name(event.FieldChannel)
	e.nameEventID = e.name(event.FieldEventID)
	e.nameProvider = e.name(event.FieldProviderName)
	e.fieldEventID = e.field([]string{event.FieldEventID})

	// Rules compile on all cores (each is independent but for the shared
	// field and needle tables, which intern under e.mu: their ids depend
	// on the scheduling, and nothing observable depends on the ids), then
	// are numbered in the order given.
	type compiled struct {
		rule *Rule
		vs   []*variant
		err  error
	}
	out := make([]compiled, len(rules))
	compileOne := func(i int) {
		rule := &Rule{Sigma: rules[i]}
		rule.Filters = filtersFor(rules[i], filters)
		vs, err := e.compileRule(rule, &opts)
		out[i] = compiled{rule, vs, err}
	}
	workers := min(runtime.GOMAXPROCS(0), len(rules)/minRulesPerWorker)
	if workers > 1 {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= len(rules) {
						return
					}
					compileOne(i)
				}
			})
		}
		wg.Wait()
	} else {
		for i := range rules {
			compileOne(i)
		}
	}

	var errs []error
	e.rules = make([]*Rule, 0, len(rules))
	for _, c := range out {
		rule, vs := c.rule, c.vs
		if c.err != nil {
			errs = append(errs, c.err)
			continue
		}
		rule.index = len(e.rules)
		e.rules = append(e.rules, rule)
		for _, v := range vs {
			v.index = int32(len(e.variants))
			e.variants = append(e.variants, v)
			e.clauseMask = append(e.clauseMask, uint8(1)<<len(v.need.clauses)-1)
		}
	}
	e.index = buildIndex(e)
	return e, errs
}

// minRulesPerWorker is the fewest rules worth a compiling goroutine.
const minRulesPerWorker = 64

// name returns the id of a field name; the caller holds e.mu (or compiles
// alone).
func (e *Engine) name(n string) int32 {
	if id, ok := e.names[n]; ok {
		return id
	}
	id := int32(len(e.nameList))
	e.names[n] = id
	e.nameList = append(e.nameList, n)
	return id
}

// field returns the id of a resolved field with the given candidate names.
func (e *Engine) field(cands []string) int32 {
	var b strings.Builder
	for _, c := range cands {
		b.WriteString(c)
		b.WriteByte(0)
	}
	key := b.String()
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.fieldKeys[key]; ok {
		return id
	}
	ids := make([]int32, len(cands))
	for k, c := range cands {
		ids[k] = e.name(c)
	}
	id := int32(len(e.fieldNames))
	e.fieldKeys[key] = id
	e.fieldNames = append(e.fieldNames, ids)
	return id
}

// needle returns the id of the lower-cased literal lit in field, or -1 for
// an empty literal.
func (e *Engine) needle(field int32, lit string) int32 {
	if lit == "" {
		return -1
	}
	d := needleDef{field, lit}
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.needleIDs[d]; ok {
		return id
	}
	id := int32(len(e.needles))
	e.needleIDs[d] = id
	e.needles = append(e.needles, d)
	return id
}
