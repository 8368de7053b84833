package search

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/source"
)

// Options configures Run.
type Options struct {
	// Source is how the evidence is read; Source.Workers matchers run in
	// parallel, one per source worker, as a hunt's do.
	Source source.Options
	// From and To, when not zero, bound the events' TimeCreated (both
	// included); an event without a time is then left out.
	From, To time.Time
}

// Hit is one event that matched. Event and IOCs are valid only during the
// callback (the reader's contract): clone what is kept.
type Hit struct {
	Event *event.Event
	// IOCs are the indicators the event holds, for a query with any.
	IOCs []*IOC
}

// Stats counts what a Run looked at.
type Stats struct {
	Searched   int64 // events matched against the query
	OutOfRange int64 // events outside From..To
	Hits       int64
}

// Run reads paths and calls fn with every hit. Calls with the same worker
// are sequential and in each log's record order; calls of different
// workers are concurrent. A non-nil error from fn stops the Run.
func (s *Searcher) Run(ctx context.Context, paths []string, opts Options, fn func(worker int, h Hit) error) (*source.Summary, Stats, error) {
	workers := max(opts.Source.Workers, 1)
	opts.Source.Workers = workers
	type state struct {
		m                           *Matcher
		searched, outOfRange, found int64
		_                           [64]byte // keep workers off each other's cache lines
	}
	states := make([]state, workers)
	for i := range states {
		states[i].m = s.NewMatcher()
	}
	ranged := !opts.From.IsZero() || !opts.To.IsZero()
	sum, err := source.Run(ctx, paths, opts.Source, func(w int, ev *event.Event) error {
		st := &states[w]
		if ranged {
			t := ev.Time()
			if t.IsZero() || (!opts.From.IsZero() && t.Before(opts.From)) || (!opts.To.IsZero() && t.After(opts.To)) {
				st.outOfRange++
				return nil
			}
		}
		st.searched++
		ok, iocs := st.m.Match(ev)
		if !ok {
			return nil
		}
		st.found++
		return fn(w, Hit{Event: ev, IOCs: iocs})
	})
	var stats Stats
	for i := range states {
		stats.Searched += states[i].searched
		stats.OutOfRange += states[i].outOfRange
		stats.Hits += states[i].found
	}
	return sum, stats, err
}

// explainer finds, for display, the fields of a hit that hold what the
// query asked for. It decides nothing: the engine has matched the event.
type explainer struct {
	keywords []string // lower-cased unless cased
	cased    bool
	regexes  []*regexp.Regexp
	fields   []string // names of the field terms
}

// Explainer returns what tells, for a person, where q matched an event.
func (q *Query) Explainer() *Explainer {
	x := &explainer{cased: q.Cased}
	for _, k := range q.Keywords {
		if !q.Cased {
			k = strings.ToLower(k)
		}
		x.keywords = append(x.keywords, k)
	}
	for _, re := range q.Regexes {
		if r, err := regexp.Compile(re); err == nil {
			x.regexes = append(x.regexes, r)
		}
	}
	for _, f := range q.Fields {
		name, _, _ := strings.Cut(f, "=")
		name, _, _ = strings.Cut(name, "|")
		x.fields = append(x.fields, name)
	}
	return &Explainer{x: x}
}

// Explainer names the fields of a hit that hold what its query asked for.
// It is safe for concurrent use.
type Explainer struct{ x *explainer }

// maxExplained bounds the fields Fields lists for a hit.
const maxExplained = 4

// Fields appends to dst the indexes in ev.Fields of the fields that hold
// what the query asked for: the fields its terms name, those holding an
// indicator, a keyword or a match of a regular expression; at most a few,
// each once, in record order.
func (e *Explainer) Fields(dst []int, ev *event.Event, iocs []*IOC) []int {
	x := e.x
	for i := range ev.Fields {
		if len(dst) == maxExplained {
			break
		}
		f := &ev.Fields[i]
		if x.wants(f, iocs) {
			dst = append(dst, i)
		}
	}
	return dst
}

func (x *explainer) wants(f *event.Field, iocs []*IOC) bool {
	for _, n := range x.fields {
		if f.Name == n {
			return true
		}
	}
	if len(x.keywords) == 0 && len(x.regexes) == 0 && len(iocs) == 0 {
		return false
	}
	text := f.Value.Text()
	lower := strings.ToLower(text)
	for _, k := range x.keywords {
		if (x.cased && strings.Contains(text, k)) || (!x.cased && strings.Contains(lower, k)) {
			return true
		}
	}
	for _, r := range x.regexes {
		if r.MatchString(text) {
			return true
		}
	}
	for _, ioc := range iocs {
		if strings.Contains(lower, strings.ToLower(ioc.Value)) {
			return true
		}
	}
	return false
}
