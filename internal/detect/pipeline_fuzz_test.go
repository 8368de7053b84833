package detect

import (
	"errors"
	"testing"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// FuzzLoadPipeline feeds arbitrary files to the loader: it must never
// panic, and a pipeline it accepts must validate and route every
// logsource it lists, also when extending the default pipeline.
func FuzzLoadPipeline(f *testing.F) {
	f.Add([]byte(pipelineDefaultYAML))
	f.Add([]byte("version: 1\nlogs:\n  a: {channel: A, provider: P}\nroutes:\n  - category: x\n    sources:\n      - log: a\n        event_ids: [1, 2]\n        fields: {Image: [NewProcessName, Image]}\n  - product: windows\n    any: true\n"))
	f.Add([]byte("version: 1\nroutes:\n  - product: windows\n    category: process_creation\n    extend: true\n    sources: [{log: security, event_ids: [4696]}]\n"))
	f.Add([]byte("version: 1\nlogs: {a: &x {channel: A}}\nroutes: [{service: s, sources: [{log: a}]}, {service: t, sources: [{log: a, fields: {X: *x}}]}]\n"))
	f.Add([]byte("version: 1\nlogs:\n  a: {channel: A, fields: {ThreatName: [ThreatName, Threat Name]}}\nroutes:\n  - category: c\n    sources: [{log: a, event_ids: [1], fields: {ThreatName: T}}]\n  - service: s\n    sources: [{log: a}]\n"))
	base := DefaultPipeline()
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(p *Pipeline) {
			if err := p.Validate(); err != nil {
				t.Fatalf("accepted pipeline does not validate: %v", err)
			}
			lss := p.Logsources()
			for _, ls := range lss {
				if _, err := p.Route(ls); err != nil {
					t.Fatalf("Route(%+v) of a listed logsource: %v", ls, err)
				}
			}
			// A category with a service routes, or fails as unknown.
			for _, c := range lss {
				for _, s := range lss {
					if c.Category == "" || s.Service == "" || c.Category+s.Service == "" {
						continue
					}
					ls := sigma.Logsource{Product: c.Product, Category: c.Category, Service: s.Service}
					if _, err := p.Route(ls); err != nil && !errors.Is(err, ErrUnknownLogsource) {
						t.Fatalf("Route(%+v): got %v, want a Route or ErrUnknownLogsource", ls, err)
					}
				}
			}
		}
		if p, err := LoadPipeline(data, "fuzz.yml"); err == nil {
			check(p)
		}
		if p, err := base.Extend(data, "fuzz.yml"); err == nil {
			check(p)
		} else if errors.Is(err, ErrUnknownLogsource) {
			t.Fatalf("load error wraps ErrUnknownLogsource: %v", err)
		}
	})
}
