package logons

import (
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/source"
)

// BenchmarkObserve is the collector's cost per event on real evidence,
// the events read once beforehand (reading is not measured).
func BenchmarkObserve(b *testing.B) {
	var evs []*event.Event
	paths := []string{shared.Path(b, "datasets", "evtx-attack-samples"), shared.Path(b, "datasets", "deepbluecli")}
	if _, err := source.Run(b.Context(), paths, source.Options{Workers: 1}, func(_ int, ev *event.Event) error {
		evs = append(evs, ev.Clone())
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c := NewCollector()
		for _, ev := range evs {
			c.Observe(ev)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}
