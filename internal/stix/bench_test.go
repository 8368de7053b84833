package stix_test

import (
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/stix"
)

// BenchmarkExport exports every operation of a hunt of
// evtx-attack-samples (built-in rules) as one bundle, written as JSON:
// what hunt --stix adds to a hunt.
func BenchmarkExport(b *testing.B) {
	dir := shared.Path(b, "datasets", "evtx-attack-samples")
	res, err := hunt.Run(context.Background(), []string{dir}, hunt.Options{Workers: 2})
	if err != nil {
		b.Fatal(err)
	}
	ops := operations(res)
	b.ReportAllocs()
	var objects int
	for b.Loop() {
		bundle, err := stix.Export(ops, stix.Options{Redact: stix.Redact{Hosts: true, Users: true, IPs: true}})
		if err != nil {
			b.Fatal(err)
		}
		if err := json.NewEncoder(io.Discard).Encode(bundle); err != nil {
			b.Fatal(err)
		}
		objects = len(bundle.Objects)
	}
	b.ReportMetric(float64(len(ops)), "operations")
	b.ReportMetric(float64(objects), "objects")
}

// BenchmarkMatch matches the atomic indicators of the CuckooBees export
// over the records of its detections, observables made once per record
// as an import does.
func BenchmarkMatch(b *testing.B) {
	res, err := hunt.Run(context.Background(), []string{"../../examples/cuckoobees"}, hunt.Options{Workers: 2})
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := stix.Export(operations(res), stix.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var ms []*stix.Matcher
	for _, o := range bundle.Objects {
		if o.Type() == "indicator" && o["pattern_type"] == "stix" {
			p, err := stix.ParsePattern(o["pattern"].(string))
			if err != nil {
				b.Fatal(err)
			}
			m, err := stix.Compile(p)
			if err != nil {
				b.Fatal(err)
			}
			ms = append(ms, m)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range res.Detections {
			obs := stix.Observe(d.Fields)
			for _, m := range ms {
				m.Matches(obs)
			}
		}
	}
	b.ReportMetric(float64(len(res.Detections)*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(len(ms)), "patterns")
}
