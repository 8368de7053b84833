package detect

import (
	_ "embed" // the default pipeline file
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// The logsource pipeline: a Router whose data is a YAML file. The default
// file, pipeline/windows.yml, is embedded in the binary; it documents the
// format at its top. Users replace it (LoadPipeline) or extend it
// (Pipeline.Extend) with files of the same format.
//
// How a file becomes Routes
//
// A route is keyed by its Sigma logsource: product, category and service,
// each compared exactly after lower-casing (an absent key must be absent in
// the rule too; definition is ignored). A rule whose logsource has no route
// is not routable: Route returns an error wrapping ErrUnknownLogsource. A
// route with "any: true" becomes a Route without Sources, which the engine
// evaluates against every event (the bare "product: windows" of keyword
// rules).
//
// Every source of a route names a log and becomes a Source with the log's
// Channel, the source's event IDs and its field renames. When the log also
// names a provider, the source becomes a second Source with that Provider
// and no Channel, so that events without a Channel field (JSON exports that
// keep only Provider_Name) are placed too. Only logs whose provider writes
// no other channel name one, so the two Sources describe the same events;
// an event that carries both fields satisfies both.
//
// A logsource naming both a category and a service that no route names
// takes the sources of the category's route whose logs the service's route
// covers ("category: ps_script, service: powershell" is PowerShell 4104).
//
// Field renames map a Sigma field name to the event field names that carry
// it in that source, tried in order. A log may carry renames too (Windows
// Defender names its fields with spaces, "Threat Name", where rules write
// ThreatName): every source of the log gets them, under its own. Only the names listed are tried: to
// also accept the Sigma name itself, list it. Renames are not chained:
// "ProcessId: NewProcessId" together with "ParentProcessId: ProcessId"
// swaps meanings as Security 4688 requires.
//
// Merging files
//
// Pipeline.Extend adds a file to a pipeline, giving a new pipeline; the
// original is unchanged. In the later file:
//
//   - a log with the name of an earlier log replaces it, for the routes of
//     every file (to rename a channel once, say);
//   - a route for a logsource that already has one replaces it whole;
//   - a route with "extend: true" appends its sources to the earlier route
//     of its logsource instead (an error when there is none, or when the
//     earlier route is "any");
//   - routes for new logsources are added.
//
// Two sources of one route may not cover the same log and event ID: an event
// would meet the route twice.

//go:embed pipeline/windows.yml
var pipelineDefaultYAML string

// pipelineDefaultName names the embedded file in messages.
const pipelineDefaultName = "windows.yml"

// Pipeline maps Sigma logsources to Routes; it implements Router. It is
// built by LoadPipeline, DefaultPipeline or Extend, is not modified after,
// and is safe for concurrent use.
type Pipeline struct {
	files  []string
	logs   map[string]*pipelineLog
	routes map[pipelineKey]*pipelineRoute
}

// DefaultPipeline returns the embedded Windows pipeline. It panics if the
// embedded file does not load, which the package's tests rule out.
func DefaultPipeline() *Pipeline {
	p, err := LoadPipeline([]byte(pipelineDefaultYAML), pipelineDefaultName)
	if err != nil {
		panic("detect: embedded pipeline: " + err.Error())
	}
	return p
}

// LoadPipeline loads a complete pipeline from one YAML file; name is the
// file's name for messages. Decoding is strict: an unknown key is an
// error. The result is validated (see Validate); every problem found is
// reported, each with the file and line.
func LoadPipeline(data []byte, name string) (*Pipeline, error) {
	p := &Pipeline{
		logs:   make(map[string]*pipelineLog),
		routes: make(map[pipelineKey]*pipelineRoute),
	}
	return p.add(data, name)
}

// Extend returns a new pipeline made of p and the YAML file data (named
// name in messages), merged as the package documentation says: logs and
// routes of the file replace those of p for the same name or logsource,
// and routes marked "extend: true" add sources to p's. p is unchanged.
func (p *Pipeline) Extend(data []byte, name string) (*Pipeline, error) {
	q := &Pipeline{
		files:  slices.Clone(p.files),
		logs:   make(map[string]*pipelineLog, len(p.logs)),
		routes: make(map[pipelineKey]*pipelineRoute, len(p.routes)),
	}
	for k, l := range p.logs {
		q.logs[k] = l
	}
	for k, r := range p.routes {
		q.routes[k] = r
	}
	return q.add(data, name)
}

// add decodes and validates one file and merges it into p, which it
// returns; p must be fresh (not yet returned to a caller).
func (p *Pipeline) add(data []byte, name string) (*Pipeline, error) {
	f, err := pipelineDecode(data, name)
	if err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var errs []error
	for n, l := range f.Logs {
		p.logs[n] = l
	}
	for _, r := range f.Routes {
		k := r.key()
		if !r.Extend {
			p.routes[k] = r
			continue
		}
		prev, ok := p.routes[k]
		switch {
		case !ok:
			errs = append(errs, r.errorf("extend: no earlier route for this logsource"))
			continue
		case prev.Any:
			errs = append(errs, r.errorf("extend: the earlier route (%s) takes every event", prev.pos))
			continue
		}
		merged := *prev
		merged.Sources = append(slices.Clip(prev.Sources), r.Sources...)
		p.routes[k] = &merged
	}
	p.files = append(p.files, name)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Validate checks what can only be checked once files are merged: every
// source names a defined log, and no two sources of a route cover the same
// log and event ID. (Each file is also validated on its own when loaded:
// version, logsource keys, event IDs, renames.)
func (p *Pipeline) Validate() error {
	var errs []error
	for _, k := range p.sortedKeys() {
		r := p.routes[k]
		for i, s := range r.Sources {
			l, ok := p.logs[s.Log]
			if !ok {
				errs = append(errs, s.errorf(r, i, "log %q is not defined", s.Log))
				continue
			}
			if l.Channel == "" && l.Provider == "" {
				errs = append(errs, s.errorf(r, i, "log %q has neither channel nor provider", s.Log))
			}
			for j, o := range r.Sources[:i] {
				if o.Log != s.Log {
					continue
				}
				if id, ok := pipelineOverlap(o.EventIDs, s.EventIDs); ok {
					errs = append(errs, s.errorf(r, i, "log %q event %s is already covered by sources[%d]", s.Log, id, j))
					break
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Route implements Router: the Route of ls, or an error wrapping
// ErrUnknownLogsource when no route of the pipeline serves ls. The
// returned Route shares nothing with the pipeline.
func (p *Pipeline) Route(ls sigma.Logsource) (Route, error) {
	key := pipelineKeyOf(ls)
	r, ok := p.routes[key]
	if !ok && key.category != "" && key.service != "" {
		r, ok = p.categoryOfService(key)
	}
	if !ok {
		return Route{}, fmt.Errorf("%w: %s", ErrUnknownLogsource, key)
	}
	if r.Any {
		return Route{}, nil
	}
	out := Route{Sources: make([]Source, 0, 2*len(r.Sources))}
	for _, s := range r.Sources {
		l := p.logs[s.Log]
		if l.Channel != "" {
			out.Sources = append(out.Sources, s.source(l, l.Channel, ""))
		}
		if l.Provider != "" {
			out.Sources = append(out.Sources, s.source(l, "", l.Provider))
		}
	}
	return out, nil
}

// categoryOfService serves a logsource that names both a category and a
// service (Hayabusa's "category: ps_classic_start, service:
// powershell-classic"), which no route names: the sources of the
// category's route whose logs the service's route covers, the events of
// the category within the service. It fails when either route is missing
// or they share no log.
func (p *Pipeline) categoryOfService(key pipelineKey) (*pipelineRoute, bool) {
	cat, ok := p.routes[pipelineKey{product: key.product, category: key.category}]
	if !ok {
		return nil, false
	}
	svc, ok := p.routes[pipelineKey{product: key.product, service: key.service}]
	if !ok {
		return nil, false
	}
	if svc.Any {
		return cat, true
	}
	out := &pipelineRoute{Product: key.product, Category: key.category, Service: key.service, pos: cat.pos}
	for _, s := range cat.Sources {
		if slices.ContainsFunc(svc.Sources, func(x *pipelineSource) bool { return x.Log == s.Log }) {
			out.Sources = append(out.Sources, s)
		}
	}
	return out, len(out.Sources) > 0 || cat.Any
}

// Logsources returns the logsources the pipeline routes, sorted by product,
// category and service.
func (p *Pipeline) Logsources() []sigma.Logsource {
	keys := p.sortedKeys()
	out := make([]sigma.Logsource, len(keys))
	for i, k := range keys {
		out[i] = k.logsource()
	}
	return out
}

// LogsourcesOf returns the logsources whose Route ev satisfies, in the
// order of Logsources, leaving out the routes that take every event. It
// applies the Source conditions as the engine does and is meant for
// diagnostics and tests: it tries every route.
func (p *Pipeline) LogsourcesOf(ev *event.Event) []sigma.Logsource {
	var out []sigma.Logsource
	for _, k := range p.sortedKeys() {
		if p.routes[k].Any {
			continue
		}
		rt, err := p.Route(k.logsource())
		if err != nil {
			continue
		}
		for _, s := range rt.Sources {
			if pipelineSourceMatches(s, ev) {
				out = append(out, k.logsource())
				break
			}
		}
	}
	return out
}

// Files returns the names of the files the pipeline was made of, in the
// order they were merged.
func (p *Pipeline) Files() []string { return slices.Clone(p.files) }

func (p *Pipeline) sortedKeys() []pipelineKey {
	keys := make([]pipelineKey, 0, len(p.routes))
	for k := range p.routes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].less(keys[j]) })
	return keys
}

// pipelineOverlap reports whether two event ID lists of one log cover a
// common event (an empty list covers every event) and names one.
func pipelineOverlap(a, b []uint32) (string, bool) {
	switch {
	case len(a) == 0 && len(b) == 0:
		return "(any)", true
	case len(a) == 0:
		return fmt.Sprint(b[0]), true
	case len(b) == 0:
		return fmt.Sprint(a[0]), true
	}
	for _, id := range b {
		if slices.Contains(a, id) {
			return fmt.Sprint(id), true
		}
	}
	return "", false
}

// pipelineSourceMatches reports whether ev satisfies s under the rules
// written on Source.
func pipelineSourceMatches(s Source, ev *event.Event) bool {
	if s.Channel != "" {
		v, ok := ev.Get(event.FieldChannel)
		if !ok || !strings.EqualFold(v.Text(), s.Channel) {
			return false
		}
	}
	if s.Provider != "" {
		v, ok := ev.Get(event.FieldProviderName)
		if !ok || !strings.EqualFold(v.Text(), s.Provider) {
			return false
		}
	}
	if len(s.EventIDs) > 0 {
		n, ok := ev.Lookup(event.FieldEventID).Number()
		if !ok || !slices.ContainsFunc(s.EventIDs, func(id uint32) bool { return float64(id) == n }) {
			return false
		}
	}
	return true
}

// pipelineKey is a route's logsource, lower-cased.
type pipelineKey struct {
	product, category, service string
}

func pipelineKeyOf(ls sigma.Logsource) pipelineKey {
	norm := func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
	return pipelineKey{norm(ls.Product), norm(ls.Category), norm(ls.Service)}
}

func (k pipelineKey) logsource() sigma.Logsource {
	return sigma.Logsource{Product: k.product, Category: k.category, Service: k.service}
}

func (k pipelineKey) less(o pipelineKey) bool {
	if k.product != o.product {
		return k.product < o.product
	}
	if k.category != o.category {
		return k.category < o.category
	}
	return k.service < o.service
}

// String renders k as "product: windows, category: process_creation".
func (k pipelineKey) String() string {
	var parts []string
	for _, kv := range [...][2]string{{"product", k.product}, {"category", k.category}, {"service", k.service}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+": "+kv[1])
		}
	}
	if len(parts) == 0 {
		return "empty logsource"
	}
	return strings.Join(parts, ", ")
}

// source returns s, a source of log l, as a Source with the given channel
// and provider, with l's renames under its own; its slices and map are
// fresh.
func (s *pipelineSource) source(l *pipelineLog, channel, provider string) Source {
	out := Source{Channel: channel, Provider: provider, EventIDs: slices.Clone(s.EventIDs)}
	if len(s.Fields)+len(l.Fields) > 0 {
		out.Fields = make(map[string][]string, len(s.Fields)+len(l.Fields))
		for k, v := range l.Fields {
			out.Fields[k] = slices.Clone(v)
		}
		for k, v := range s.Fields {
			out.Fields[k] = slices.Clone(v)
		}
	}
	return out
}
