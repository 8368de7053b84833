package hunt

import (
	"fmt"
	"strconv"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/gaps"
	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/source"
)

// The hook that makes the tampering findings of internal/gaps detections
// of a hunt (kind result.KindTampering), so that they join operations: each
// source worker feeds its gaps.Analyzer every event (before the time
// range: a gap's neighbours may be outside it), and after the reading the
// findings that are tampering (gaps.Finding.Tampering) become detections of
// a built-in pseudo-rule per kind, filtered like rules.

// tamperHook holds one gaps.Analyzer per source worker.
type tamperHook struct {
	analyzers []*gaps.Analyzer
}

func newTamperHook(workers int) *tamperHook {
	h := &tamperHook{analyzers: make([]*gaps.Analyzer, workers)}
	for i := range h.analyzers {
		h.analyzers[i] = gaps.New()
	}
	return h
}

// observe is called by source worker w with each event it reads.
func (h *tamperHook) observe(w int, ev *event.Event) { h.analyzers[w].Observe(ev) }

// tamperRules are the pseudo-rules of the tampering findings, by kind.
var tamperRules = map[gaps.Kind]sigma.Meta{
	gaps.Removed: {
		ID: "spoor-gaps-records-removed", Title: "Event log records removed",
		Description: "Record numbers are missing inside an EVTX file whose chunks check: records were cut out by a log editing tool.",
		Tags:        []string{"attack.defense-evasion", "attack.t1070.001"},
	},
	gaps.Stopped: {
		ID: "spoor-gaps-logging-stopped", Title: "Event logging stopped without a reboot",
		Description: "The EventLog service stopped and logging went on without Windows starting again.",
		Tags:        []string{"attack.defense-evasion", "attack.t1562.002"},
	},
	gaps.Disabled: {
		ID: "spoor-gaps-logging-disabled", Title: "Event logging service disabled",
		Description: "The EventLog service's start type was set to disabled.",
		Tags:        []string{"attack.defense-evasion", "attack.t1562.002"},
	},
}

// detections returns the tampering findings as detections with their refs
// for the operation builder, within opts' time range and kept by its rule
// filter; meta gets the pseudo-rules that fire, for the aggregates.
func (h *tamperHook) detections(sum *source.Summary, opts *Options, meta map[string]*sigma.Meta) ([]result.Detection, []operation.DetectionRef, error) {
	lost := map[string]int{}
	for _, d := range sum.Damaged {
		lost[d.Name] += max(d.Records, d.Skips)
	}
	found := gaps.Findings(gaps.Options{Chunks: gaps.FileChunks, Damaged: func(s string) int { return lost[s] }}, h.analyzers...)
	return tamperDetections(found, opts, meta)
}

// Tampering returns the tampering detections of the logs a observed
// (their findings by gopts), with their refs, as Run makes them after its
// reading: filtered by the rules' options (level, status, tags,
// exclusions, time range). A fleet worker feeds a the facts of a case's
// events (gaps.Analyzer.ObserveFact).
func (r *Rules) Tampering(a *gaps.Analyzer, gopts gaps.Options) ([]result.Detection, []operation.DetectionRef, error) {
	return tamperDetections(gaps.Findings(gopts, a), &r.opts, map[string]*sigma.Meta{})
}

// tamperDetections makes the findings that are tampering detections.
func tamperDetections(found []gaps.Finding, opts *Options, meta map[string]*sigma.Meta) ([]result.Detection, []operation.DetectionRef, error) {
	filter, err := ruleset.NewFilter(ruleset.Selection{MinLevel: opts.MinLevel, Statuses: opts.Statuses, Tags: opts.Tags, Exclude: opts.Exclude})
	if err != nil {
		return nil, nil, err
	}
	var ds []result.Detection
	var refs []operation.DetectionRef
	rules := map[gaps.Kind]*result.Rule{}
	for i := range found {
		f := &found[i]
		m, ok := tamperRules[f.Kind]
		if !ok || !f.Tampering() {
			continue
		}
		m.Level, m.Status = "high", "stable"
		if f.Confidence != gaps.High {
			m.Level = "medium"
		}
		if !filter.Keep(&m) || (!opts.From.IsZero() && f.To.Before(opts.From)) || (!opts.To.IsZero() && f.From.After(opts.To)) {
			continue
		}
		r := rules[f.Kind]
		if r == nil || r.Level != m.Level {
			tactics, techniques := attackOf(m.Tags)
			r = &result.Rule{ID: m.ID, Title: m.Title, Level: m.Level, Status: m.Status, Tags: m.Tags, Tactics: tactics, Techniques: techniques}
			rules[f.Kind] = r
			meta[m.ID] = &m
		}
		d := result.Detection{
			Kind: result.KindTampering, Time: f.From, Computer: f.Computer, Channel: f.Channel,
			EventID: f.EventID, RecordID: f.FirstRecord, Source: f.Source, Locator: f.FirstRecord, Rule: r,
			Fields: []result.Field{{Name: "Confidence", Value: string(f.Confidence)}},
		}
		if f.Missing > 0 {
			d.Fields = append(d.Fields,
				result.Field{Name: "MissingRecords", Value: fmt.Sprintf("%d-%d", f.FirstRecord, f.LastRecord)},
				result.Field{Name: "Missing", Value: strconv.FormatInt(f.Missing, 10)},
				result.Field{Name: "Window", Value: f.From.UTC().Format("2006-01-02T15:04:05.000Z") + ".." + f.To.UTC().Format("2006-01-02T15:04:05.000Z")})
		}
		if f.Chunks != "" {
			d.Fields = append(d.Fields, result.Field{Name: "Chunks", Value: f.Chunks})
		}
		if f.User != "" {
			d.Fields = append(d.Fields, result.Field{Name: "User", Value: f.User})
		}
		d.Fields = append(d.Fields, result.Field{Name: "Meaning", Value: f.Meaning})
		ds = append(ds, d)
		refs = append(refs, operation.DetectionRef{
			Time: d.Time, Host: d.Computer, RuleID: r.ID, Title: r.Title, Level: r.Level, Tags: r.Tags,
			EventID: d.EventID, Channel: d.Channel, RecordID: d.RecordID, Detail: tamperStep(f),
		})
	}
	return ds, refs, nil
}

// addRun adds detections made after the reading (the tampering findings)
// to the runs merged, before the correlations' slot.
func (s *sorting) addRun(ds []result.Detection, refs []operation.DetectionRef) {
	var dc chunks[result.Detection]
	var rc chunks[operation.DetectionRef]
	for i := range ds {
		dc.add(ds[i])
		rc.add(refs[i])
	}
	// Its own slot: the workers' sorts may still be writing theirs (an
	// append here once copied the slice under them, losing their runs).
	s.runs[len(s.runs)-2] = newSortedRun(&dc, &rc)
}

// tamperStep tells a finding in an operation's story.
func tamperStep(f *gaps.Finding) string {
	switch f.Kind {
	case gaps.Removed:
		return fmt.Sprintf("%s removed from the %s log (written between %s and %s)", plural(f.Missing, "record"), f.Channel,
			f.From.UTC().Format("15:04:05"), f.To.UTC().Format("15:04:05"))
	case gaps.Stopped:
		return "event logging was stopped without a reboot"
	case gaps.Disabled:
		return "the EventLog service was set to disabled"
	}
	return string(f.Kind)
}

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}
