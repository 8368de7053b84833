// Package metrics tells what a collection of event logs holds (spoor
// metrics): events by channel, provider, event ID and computer, over time,
// the first and last event of each computer and channel, and what is
// missing that a hunter would want (no Sysmon, no process-creation
// auditing, no command lines, no PowerShell script blocks), each with the
// setting that would give it.
//
// Each source worker counts into its own Collector (no locks, keys copied
// out of the reader's buffers on first sight); the collectors are merged
// once the evidence is read. Memory grows with the distinct channels,
// providers, IDs, computers and hours, not with the events.
package metrics

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/source"
)

// Result is what a collection holds. Lists are sorted by events, most
// first, then by name; times are UTC.
type Result struct {
	Events int64 `json:"events"`
	// NoTime counts the events without a TimeCreated.
	NoTime int64     `json:"no_time,omitempty"`
	First  time.Time `json:"first,omitzero"`
	Last   time.Time `json:"last,omitzero"`

	Channels         []Span    `json:"channels"`
	Providers        []Span    `json:"providers"`
	EventIDs         []EventID `json:"event_ids"`
	Computers        []Span    `json:"computers"`
	ComputerChannels []Span    `json:"computer_channels"`
	Timeline         Timeline  `json:"timeline"`
	Missing          []Missing `json:"missing"`
}

// Span is the events of one channel, provider, computer, or computer and
// channel, with the first and last event time.
type Span struct {
	Computer string    `json:"computer,omitempty"`
	Channel  string    `json:"channel,omitempty"`
	Provider string    `json:"provider,omitempty"`
	Events   int64     `json:"events"`
	First    time.Time `json:"first,omitzero"`
	Last     time.Time `json:"last,omitzero"`
}

// EventID is the events of one event ID of a channel and provider.
type EventID struct {
	Channel  string `json:"channel"`
	Provider string `json:"provider"`
	EventID  int64  `json:"event_id"`
	// Name is what the ID means, for the common ones ("" otherwise).
	Name   string `json:"name,omitempty"`
	Events int64  `json:"events"`
}

// Timeline is the events over time in buckets of an hour or a day; only
// buckets with events are listed (a missing bucket is a silence).
type Timeline struct {
	Per     string   `json:"per"` // "hour" or "day"
	Buckets []Bucket `json:"buckets"`
}

// Bucket is the events of one hour or day.
type Bucket struct {
	Start  time.Time `json:"start"`
	Events int64     `json:"events"`
}

// Per is the size of the timeline's buckets.
type Per uint8

// The bucket sizes; PerAuto picks hours for up to three days of events,
// else days.
const (
	PerAuto Per = iota
	PerHour
	PerDay
)

// Collector counts the events one goroutine sees.
type Collector struct {
	all       span // every event
	noTime    int64
	channels  map[string]*span
	providers map[string]*span
	ids       map[idKey]*int64
	computers map[string]*span
	pairs     map[pairKey]*span
	hours     map[int64]int64
	hosts     map[string]*seen
}

type span struct {
	events      int64
	first, last time.Time
}

func (s *span) add(t time.Time) {
	s.events++
	if t.IsZero() {
		return
	}
	if s.first.IsZero() || t.Before(s.first) {
		s.first = t
	}
	if t.After(s.last) {
		s.last = t
	}
}

func (s *span) merge(o *span) {
	s.events += o.events
	if !o.first.IsZero() && (s.first.IsZero() || o.first.Before(s.first)) {
		s.first = o.first
	}
	if o.last.After(s.last) {
		s.last = o.last
	}
}

type idKey struct {
	channel, provider string
	id                int64
}

type pairKey struct{ computer, channel string }

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{
		channels: map[string]*span{}, providers: map[string]*span{}, ids: map[idKey]*int64{},
		computers: map[string]*span{}, pairs: map[pairKey]*span{}, hours: map[int64]int64{},
		hosts: map[string]*seen{},
	}
}

// spanOf returns the span of key in m, adding it (with a copy of key: the
// reader owns the text) on first sight.
func spanOf[K comparable](m map[K]*span, key K, clone func(K) K) *span {
	s := m[key]
	if s == nil {
		s = &span{}
		m[clone(key)] = s
	}
	return s
}

func cloneKey(s string) string { return strings.Clone(s) }

// Observe counts ev. ev is not kept.
func (c *Collector) Observe(ev *event.Event) {
	var channel, provider, computer string
	var id int64 = -1
	var t time.Time
	var cmdLine bool
	for i := range ev.Fields {
		f := &ev.Fields[i]
		switch f.Name {
		case event.FieldChannel:
			channel = f.Value.Text()
		case event.FieldProviderName:
			provider = f.Value.Text()
		case event.FieldComputer:
			computer = f.Value.Text()
		case event.FieldEventID:
			id = eventID(f.Value)
		case event.FieldTimeCreated:
			t = f.Value.Time().UTC()
		case "CommandLine":
			cmdLine = f.Value.Text() != ""
		}
	}
	c.all.add(t)
	if t.IsZero() {
		c.noTime++
	} else {
		c.hours[t.Unix()/3600]++
	}
	spanOf(c.channels, channel, cloneKey).add(t)
	spanOf(c.providers, provider, cloneKey).add(t)
	spanOf(c.computers, computer, cloneKey).add(t)
	spanOf(c.pairs, pairKey{computer, channel}, func(k pairKey) pairKey {
		return pairKey{strings.Clone(k.computer), strings.Clone(k.channel)}
	}).add(t)
	// Maps are only assigned to on a key's first sight, with a copy of
	// it: assigning to an existing string key stores the key given, which
	// would be the reader's.
	n := c.ids[idKey{channel, provider, id}]
	if n == nil {
		n = new(int64)
		c.ids[idKey{strings.Clone(channel), strings.Clone(provider), id}] = n
	}
	*n++
	h := c.hosts[computer]
	if h == nil {
		h = new(seen)
		c.hosts[strings.Clone(computer)] = h
	}
	*h |= sightings(channel, id, cmdLine)
}

// eventID reads an EventID: a number, or text of one (JSON exports); -1
// when it is neither.
func eventID(v event.Value) int64 {
	switch v.Kind() {
	case event.Int:
		return v.Int()
	case event.Uint:
		return int64(v.Uint())
	case event.String:
		if n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64); err == nil {
			return n
		}
	}
	return -1
}

// Merge adds o's counts to c.
func (c *Collector) Merge(o *Collector) {
	c.all.merge(&o.all)
	c.noTime += o.noTime
	mergeSpans(c.channels, o.channels)
	mergeSpans(c.providers, o.providers)
	mergeSpans(c.computers, o.computers)
	mergeSpans(c.pairs, o.pairs)
	for k, n := range o.ids {
		if d := c.ids[k]; d != nil {
			*d += *n
		} else {
			c.ids[k] = n
		}
	}
	for k, n := range o.hours {
		c.hours[k] += n
	}
	for k, s := range o.hosts {
		if d := c.hosts[k]; d != nil {
			*d |= *s
		} else {
			c.hosts[k] = s
		}
	}
}

func mergeSpans[K comparable](dst, src map[K]*span) {
	for k, s := range src {
		if d := dst[k]; d != nil {
			d.merge(s)
		} else {
			dst[k] = s
		}
	}
}

// Result returns what c counted, with the timeline in buckets of per.
func (c *Collector) Result(per Per) *Result {
	r := &Result{Events: c.all.events, NoTime: c.noTime, First: c.all.first, Last: c.all.last}
	for k, s := range c.channels {
		r.Channels = append(r.Channels, Span{Channel: k, Events: s.events, First: s.first, Last: s.last})
	}
	for k, s := range c.providers {
		r.Providers = append(r.Providers, Span{Provider: k, Events: s.events, First: s.first, Last: s.last})
	}
	for k, s := range c.computers {
		r.Computers = append(r.Computers, Span{Computer: k, Events: s.events, First: s.first, Last: s.last})
	}
	for k, s := range c.pairs {
		r.ComputerChannels = append(r.ComputerChannels, Span{Computer: k.computer, Channel: k.channel, Events: s.events, First: s.first, Last: s.last})
	}
	bySize := func(a, b Span) int {
		return cmp.Or(cmp.Compare(b.Events, a.Events), cmp.Compare(a.Computer, b.Computer),
			cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.Provider, b.Provider))
	}
	slices.SortFunc(r.Channels, bySize)
	slices.SortFunc(r.Providers, bySize)
	slices.SortFunc(r.Computers, bySize)
	// Per computer, then its channels by size: the first and last events
	// of each host read together.
	slices.SortFunc(r.ComputerChannels, func(a, b Span) int {
		return cmp.Or(cmp.Compare(a.Computer, b.Computer), bySize(a, b))
	})
	for k, n := range c.ids {
		r.EventIDs = append(r.EventIDs, EventID{Channel: k.channel, Provider: k.provider, EventID: k.id, Name: EventName(k.channel, k.id), Events: *n})
	}
	slices.SortFunc(r.EventIDs, func(a, b EventID) int {
		return cmp.Or(cmp.Compare(b.Events, a.Events), cmp.Compare(a.Channel, b.Channel),
			cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.EventID, b.EventID))
	})
	r.Timeline = c.timeline(per)
	r.Missing = missing(c.hosts)
	return r
}

// timeline buckets the hours counted.
func (c *Collector) timeline(per Per) Timeline {
	if per == PerAuto {
		per = PerDay
		if !c.all.first.IsZero() && c.all.last.Sub(c.all.first) <= 72*time.Hour {
			per = PerHour
		}
	}
	tl := Timeline{Per: "hour"}
	width := int64(1)
	if per == PerDay {
		tl.Per, width = "day", 24
	}
	buckets := map[int64]int64{}
	for h, n := range c.hours {
		buckets[floorDiv(h, width)] += n
	}
	for b, n := range buckets {
		tl.Buckets = append(tl.Buckets, Bucket{Start: time.Unix(b*width*3600, 0).UTC(), Events: n})
	}
	slices.SortFunc(tl.Buckets, func(a, b Bucket) int { return a.Start.Compare(b.Start) })
	return tl
}

// floorDiv divides rounding down (times before 1970 too).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Options configures Run.
type Options struct {
	Source source.Options
	Per    Per
}

// Run reads paths and returns what they hold, with the summary of the
// read. On cancellation it returns ctx's cause and the Result of what was
// read.
func Run(ctx context.Context, paths []string, opts Options) (*Result, *source.Summary, error) {
	workers := max(opts.Source.Workers, 1)
	opts.Source.Workers = workers
	cs := make([]*Collector, workers)
	for i := range cs {
		cs[i] = NewCollector()
	}
	sum, err := source.Run(ctx, paths, opts.Source, func(w int, ev *event.Event) error {
		cs[w].Observe(ev)
		return nil
	})
	for _, c := range cs[1:] {
		cs[0].Merge(c)
	}
	return cs[0].Result(opts.Per), sum, err
}
