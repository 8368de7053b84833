// Package digest reads evidence once into the three summaries an analyst
// reads first: what the logs hold (internal/metrics), who logged on
// (internal/logons) and where the logs were tampered with or lost events
// (internal/gaps). It feeds each event to the three packages' observers,
// one set per source worker, and asks each for its result: the same
// summaries `spoor metrics`, `spoor logons` and `spoor gaps` print.
//
// internal/intake digests the evidence of each hunt into a case, so that
// the console shows a case's summaries without reading its evidence again.
package digest

import (
	"context"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/gaps"
	"github.com/spoor-hunt/spoor/internal/logons"
	"github.com/spoor-hunt/spoor/internal/metrics"
	"github.com/spoor-hunt/spoor/internal/source"
)

// The kinds of summary, as the store keeps them (store.SummaryKinds).
const (
	KindMetrics = "metrics"
	KindLogons  = "logons"
	KindGaps    = "gaps"
)

// Digest is what the evidence shows, as the three commands' JSON.
type Digest struct {
	Metrics *metrics.Result `json:"metrics"`
	Logons  *logons.Report  `json:"logons"`
	Gaps    []gaps.Finding  `json:"gaps"`
}

// observers are one worker's.
type observers struct {
	metrics *metrics.Collector
	logons  *logons.Collector
	gaps    *gaps.Analyzer
}

// Run reads paths (as source.Run, with opts) into a Digest, with the
// defaults of the three commands (metrics' timeline per hour or day by
// its span, logons' default flags, gaps placed in the chunks of files on
// disk). Like source.Run it returns the summary of the read and its
// error; the Digest is of what was read, even when the read stopped.
func Run(ctx context.Context, paths []string, opts source.Options) (*Digest, *source.Summary, error) {
	opts.Workers = max(opts.Workers, 1)
	obs := make([]observers, opts.Workers)
	for i := range obs {
		obs[i] = observers{metrics.NewCollector(), logons.NewCollector(), gaps.New()}
	}
	sum, err := source.Run(ctx, paths, opts, func(w int, ev *event.Event) error {
		o := &obs[w]
		o.metrics.Observe(ev)
		o.logons.Observe(ev)
		o.gaps.Observe(ev)
		return nil
	})
	ms := make([]*metrics.Collector, len(obs))
	ls := make([]*logons.Collector, len(obs))
	as := make([]*gaps.Analyzer, len(obs))
	for i, o := range obs {
		ms[i], ls[i], as[i] = o.metrics, o.logons, o.gaps
	}
	for _, m := range ms[1:] {
		ms[0].Merge(m)
	}
	d := &Digest{
		Metrics: ms[0].Result(metrics.PerAuto),
		Logons:  logons.Summarize(logons.Options{}, ls...),
		Gaps:    gaps.Findings(gaps.Options{Chunks: gaps.FileChunks, Damaged: Damaged(sum)}, as...),
	}
	if d.Gaps == nil {
		d.Gaps = []gaps.Finding{}
	}
	return d, sum, err
}

// Damaged returns the records lost to damage per log of a read, for
// gaps.Options.Damaged.
func Damaged(sum *source.Summary) func(string) int {
	lost := map[string]int{}
	if sum != nil {
		for _, d := range sum.Damaged {
			lost[d.Name] += max(d.Records, d.Skips)
		}
	}
	return func(name string) int { return lost[name] }
}
