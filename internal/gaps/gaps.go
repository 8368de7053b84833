// Package gaps finds evidence that event logs were tampered with or lost
// events: records cut out of an EVTX file (gaps in its record numbering),
// time going backwards, logs cleared, the EventLog service stopped or
// disabled, events dropped, and silences far longer than a log's normal
// rhythm. Each Finding says what it means and how sure it is.
//
// An Analyzer observes the events of logs one after another (each log's
// events in record order, as event readers return them) and keeps per log
// a few numbers and the runs of consecutive record numbers, not the
// events: memory grows with the discontinuities, not the events.
package gaps

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
)

// Kind is what a Finding is evidence of.
type Kind string

// The kinds of findings.
const (
	// Removed: record numbers missing inside an EVTX file whose other
	// records are there; log editing tools cut records out and leave the
	// chunk valid.
	Removed Kind = "records-removed"
	// Backwards: a record dated well before the record written before it.
	Backwards Kind = "time-backwards"
	// Cleared: the log was cleared (Security 1102, System 104).
	Cleared Kind = "log-cleared"
	// Stopped: the EventLog service stopped and logging went on without a
	// restart of Windows, or the log ends with it stopped.
	Stopped Kind = "logging-stopped"
	// Disabled: the EventLog service's start type was set to disabled.
	Disabled Kind = "logging-disabled"
	// Lost: Windows says it dropped events (Security 1101, 1104).
	Lost Kind = "events-lost"
	// Silence: a stretch without events far longer than the log's normal
	// gaps, not explained by a shutdown.
	Silence Kind = "silence"
	// Filtered: the file is a filtered export (its own numbering is whole,
	// the EventRecordIDs are not): a subset of the log, not the log.
	Filtered Kind = "filtered-export"
)

// Confidence is how sure a finding is that what it names happened.
type Confidence string

// The confidences, most sure first.
const (
	High   Confidence = "high"
	Medium Confidence = "medium"
	Low    Confidence = "low"
)

// ATT&CK techniques of tampering findings.
const (
	ClearLogs        = "T1070.001" // Indicator Removal: Clear Windows Event Logs
	DisableEventLogs = "T1562.002" // Impair Defenses: Disable Windows Event Logging
)

// Finding is one piece of evidence of tampering or loss in one log.
type Finding struct {
	Kind       Kind       `json:"kind"`
	Confidence Confidence `json:"confidence"`
	// Source is the log (file or archive member); Computer and Channel
	// are those of its events.
	Source   string `json:"source"`
	Computer string `json:"computer,omitempty"`
	Channel  string `json:"channel,omitempty"`
	// FirstRecord..LastRecord are the record numbers missing (Removed),
	// or the record where it was seen (one number). Missing counts them.
	FirstRecord int64 `json:"first_record,omitempty"`
	LastRecord  int64 `json:"last_record,omitempty"`
	Missing     int64 `json:"missing,omitempty"`
	// From and To bound the time window of the finding: for missing
	// records, the times of the records around them.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Chunks places missing records in the EVTX file ("chunk 3",
	// "between chunks 3 and 4").
	Chunks string `json:"chunks,omitempty"`
	// EventID is the event that is the evidence, when there is one;
	// User who did it, when the event says.
	EventID int64  `json:"event_id,omitempty"`
	User    string `json:"user,omitempty"`
	// Technique is the ATT&CK technique of a tampering finding.
	Technique string `json:"technique,omitempty"`
	// Meaning says what the finding means and why this confidence.
	Meaning string `json:"meaning"`
}

// Tampering reports whether f is evidence of tampering strong enough to be
// a detection of a hunt: records removed, or the logging service stopped
// without a reboot or disabled, at medium confidence or more. Cleared logs
// and the service's shutdown are left to the rules that match their
// events.
func (f *Finding) Tampering() bool {
	switch f.Kind {
	case Removed, Stopped, Disabled:
		return f.Confidence != Low
	}
	return false
}

// Options tunes an Analyzer. The zero value is the default.
type Options struct {
	// Chunks gives the chunk headers of an EVTX source, to place missing
	// records in their chunks and to check them against what the headers
	// claim (called only for a log with missing records); nil, or no
	// chunks, and missing records are placed by number only. FileChunks
	// reads them from a file on disk.
	Chunks func(source string) []evtx.ChunkInfo
	// Damaged gives the records a reader lost to damage in a source (a
	// corrupt chunk or record), which may explain missing records.
	Damaged func(source string) int
}

// Analyzer collects the evidence of gaps in the logs it observes. It is
// used by one goroutine; logs observed by different Analyzers are merged
// by Findings.
type Analyzer struct {
	logs  map[string]*logState
	order []*logState
}

// New returns an empty Analyzer.
func New() *Analyzer { return &Analyzer{logs: map[string]*logState{}} }

// Observe takes the next event of its log (event.Event.Source). The events
// of a log must come in the order its reader returns them; logs may be
// interleaved. Nothing of ev is kept.
func (a *Analyzer) Observe(ev *event.Event) {
	if ev.Carved {
		return // stale copies, outside the log's numbering
	}
	l := a.logs[ev.Source]
	if l == nil {
		l = newLog(strings.Clone(ev.Source)) // the reader's, like all of ev
		a.logs[l.source] = l
		a.order = append(a.order, l)
	}
	l.observe(ev)
}

// Findings returns what the logs of the analyzers show, by source name,
// then by time.
func Findings(opts Options, as ...*Analyzer) []Finding {
	var out []Finding
	for _, a := range as {
		for _, l := range a.order {
			// The chunk headers are read only for a log with a gap.
			chunks := func() []evtx.ChunkInfo {
				if opts.Chunks == nil {
					return nil
				}
				return opts.Chunks(l.source)
			}
			lost := 0
			if opts.Damaged != nil {
				lost = opts.Damaged(l.source)
			}
			out = append(out, l.findings(chunks, lost)...)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return cmp.Compare(a.Source, b.Source) })
	return out
}

// Boot and stop markers.
type marker uint8

const (
	noMarker marker = iota
	bootMarker
	stopMarker
)

// run is a stretch of consecutive record numbers of a log.
type run struct {
	first, last       uint64
	firstT, lastT     time.Time
	firstRID, lastRID int64
}

// pendingStop is a stop of the logging service waiting for what follows.
type pendingStop struct {
	f     Finding
	after int // records seen since
}

// maxRecord bounds the record numbers taken as such: far above any log's,
// far below where a number and its neighbours would overflow.
const maxRecord = 1 << 60

// stopWindow is how many records after a stop a boot marker is looked for:
// Windows writes a few records at startup before the one that says so.
const stopWindow = 40

// silenceTop is how many of the longest silences of a log are kept.
const silenceTop = 8

// gap is a silence between two records of a log.
type gap struct {
	d        time.Duration
	from, to time.Time
	rid      int64
	explain  bool // a shutdown or boot around it
}

type logState struct {
	source            string
	evtx              bool
	computer, channel string
	events            int64
	runs              []run
	filtered          int64 // EventRecordID breaks inside whole numbering

	prevLoc  uint64
	prevRID  int64
	prevT    time.Time
	prevPrev time.Time // time of the record before prev, if consecutive
	prevMark marker
	havePrev bool

	stops []pendingStop
	found []Finding

	hist [48]int64 // gaps between consecutive records, by log2 of seconds
	long []gap     // the longest gaps, at most silenceTop
}

func newLog(source string) *logState {
	lower := strings.ToLower(source)
	return &logState{source: source, evtx: strings.HasSuffix(lower, ".evtx")}
}

func (l *logState) observe(ev *event.Event) {
	l.events++
	if l.computer == "" {
		l.computer = strings.Clone(ev.Lookup(event.FieldComputer).Text())
	}
	if l.channel == "" {
		l.channel = strings.Clone(ev.Lookup(event.FieldChannel).Text())
	}
	loc := uint64(ev.Locator)
	rid := ev.Lookup(event.FieldEventRecordID).Integer()
	t := ev.Time()
	eid := ev.Lookup(event.FieldEventID).Integer()
	mark, stop := l.special(ev, eid, rid, t)

	for i := 0; i < len(l.stops); {
		s := &l.stops[i]
		if mark == bootMarker {
			// A shutdown and a boot: normal.
			l.stops = slices.Delete(l.stops, i, i+1)
			continue
		}
		s.after++
		if s.after >= stopWindow {
			s.f.Confidence = Medium
			s.f.Meaning += " Logging went on after it without Windows starting again: the service was stopped and restarted, as attackers do to blind the log while they work."
			l.found = append(l.found, s.f)
			l.stops = slices.Delete(l.stops, i, i+1)
			continue
		}
		i++
	}

	if stop != nil {
		l.stops = append(l.stops, pendingStop{f: *stop})
	}

	consecutive := l.havePrev && loc == l.prevLoc+1
	switch {
	case ev.Locator < 1 || ev.Locator > maxRecord:
		// Not a record number (a reader that has none).
	case len(l.runs) > 0 && consecutive:
		r := &l.runs[len(l.runs)-1]
		r.last, r.lastT, r.lastRID = loc, t, rid
	default:
		l.runs = append(l.runs, run{first: loc, last: loc, firstT: t, lastT: t, firstRID: rid, lastRID: rid})
	}
	if consecutive && rid != l.prevRID+1 {
		l.filtered++
	}
	if consecutive && rid == l.prevRID+1 && !t.IsZero() && !l.prevT.IsZero() {
		l.timeStep(t, rid, mark)
	}
	if consecutive {
		l.prevPrev = l.prevT
	} else {
		l.prevPrev = time.Time{}
	}
	l.prevLoc, l.prevRID, l.prevT, l.prevMark, l.havePrev = loc, rid, t, mark, true
}

// backwardsLimit is how far a record may be dated before the one written
// before it without a finding: providers stamp events when they happen,
// and the log writes them a little later, in another order.
const backwardsLimit = 5 * time.Minute

// timeStep checks the step from the previous record to this one, of
// consecutive numbers, for time going backwards and for silences.
func (l *logState) timeStep(t time.Time, rid int64, mark marker) {
	d := t.Sub(l.prevT)
	if d < -backwardsLimit {
		f := Finding{
			Kind: Backwards, Source: l.source, Computer: l.computer, Channel: l.channel,
			FirstRecord: rid, LastRecord: rid, From: t, To: l.prevT,
		}
		back := -d
		switch {
		case !l.prevPrev.IsZero() && !t.Before(l.prevPrev.Add(-backwardsLimit)):
			f.Confidence = Low
			f.Meaning = fmt.Sprintf("Record %d is dated %s before record %d, but in line with the records before that: record %d alone is dated ahead (a provider's clock or a delayed write), not a clock set back.", rid, roundDur(back), rid-1, rid-1)
		case back%time.Hour < 5*time.Minute || back%time.Hour > time.Hour-5*time.Minute:
			f.Confidence = Low
			f.Meaning = fmt.Sprintf("Time goes back %s from record %d to %d, within minutes of a whole number of hours: most likely a time-zone or clock correction at startup, not tampering.", roundDur(back), rid-1, rid)
		default:
			f.Confidence = Medium
			f.Meaning = fmt.Sprintf("Time goes back %s from record %d to %d: the clock was set back (look for 4616 or Kernel-General 1), or records were written with forged times.", roundDur(back), rid-1, rid)
		}
		l.found = append(l.found, f)
		return
	}
	if d <= 0 {
		return
	}
	sec := d / time.Second
	b := 0
	for sec > 0 && b < len(l.hist)-1 {
		sec >>= 1
		b++
	}
	l.hist[b]++
	g := gap{d: d, from: l.prevT, to: t, rid: rid, explain: mark == bootMarker || l.prevMark == stopMarker}
	if len(l.long) < silenceTop {
		l.long = append(l.long, g)
		return
	}
	short := 0
	for i := range l.long {
		if l.long[i].d < l.long[short].d {
			short = i
		}
	}
	if g.d > l.long[short].d {
		l.long[short] = g
	}
}

// special looks at the events that are evidence in themselves; it returns
// whether the event marks a boot or a stop of the logging service, and a
// stop's finding, which waits for what follows it.
func (l *logState) special(ev *event.Event, eid, rid int64, t time.Time) (marker, *Finding) {
	channel := ev.Lookup(event.FieldChannel).Text()
	provider := ev.Lookup(event.FieldProviderName).Text()
	f := Finding{
		Source: l.source, Computer: l.computer, Channel: l.channel,
		FirstRecord: rid, LastRecord: rid, From: t, To: t, EventID: eid,
	}
	user := func() string {
		name := ev.Lookup("SubjectUserName").Text()
		if dom := ev.Lookup("SubjectDomainName").Text(); dom != "" && name != "" {
			name = dom + `\` + name
		}
		return strings.Clone(name)
	}
	eventlog := strings.EqualFold(provider, "Microsoft-Windows-Eventlog") || strings.EqualFold(provider, "EventLog")
	switch {
	case eid == 1102 && eventlog && strings.EqualFold(channel, "Security"):
		f.Kind, f.Confidence, f.Technique, f.User = Cleared, High, ClearLogs, user()
		f.Meaning = "The Security log was cleared" + by(f.User) + ": every event before this one is gone from it."
	case eid == 104 && eventlog:
		cleared := ev.Lookup("UserData_Channel").Text()
		if cleared == "" {
			cleared = ev.Lookup("Channel").Text()
		}
		f.Kind, f.Confidence, f.Technique, f.User = Cleared, High, ClearLogs, user()
		f.Meaning = fmt.Sprintf("The %s log was cleared%s: every event it held before is gone.", cleared, by(f.User))
	case eid == 1100 && eventlog:
		f.Kind, f.Confidence, f.Technique = Stopped, Low, DisableEventLogs
		f.Meaning = "The event logging service shut down."
		return stopMarker, &f
	case eid == 6006 && (eventlog || strings.EqualFold(provider, "EventLog")):
		f.Kind, f.Confidence, f.Technique = Stopped, Low, DisableEventLogs
		f.Meaning = "The Event log service was stopped (6006)."
		return stopMarker, &f
	case eid == 7036 && strings.EqualFold(ev.Lookup("param1").Text(), "Windows Event Log") && strings.EqualFold(ev.Lookup("param2").Text(), "stopped"):
		f.Kind, f.Confidence, f.Technique = Stopped, Low, DisableEventLogs
		f.Meaning = "The Service Control Manager saw the Windows Event Log service stop (7036)."
		return stopMarker, &f
	case eid == 7040 && strings.EqualFold(ev.Lookup("param4").Text(), "EventLog") && strings.EqualFold(ev.Lookup("param3").Text(), "disabled"):
		f.Kind, f.Confidence, f.Technique = Disabled, High, DisableEventLogs
		f.User = strings.Clone(ev.Lookup(event.FieldUserID).Text())
		f.Meaning = "The Windows Event Log service's start type was set to disabled" + by(f.User) + ": no event is logged after its next stop."
	case eid == 1104 && eventlog:
		f.Kind, f.Confidence = Lost, Medium
		f.Meaning = "The Security log is full and does not overwrite: events after this one were not logged."
	case eid == 1101 && eventlog:
		f.Kind, f.Confidence = Lost, Medium
		f.Meaning = "Audit events were dropped by the transport (1101): the log misses events around this time."
	case eid == 4608 && strings.EqualFold(channel, "Security"),
		eid == 6009 && (eventlog || strings.EqualFold(provider, "EventLog")),
		eid == 12 && strings.EqualFold(provider, "Microsoft-Windows-Kernel-General"):
		return bootMarker, nil
	default:
		return noMarker, nil
	}
	l.found = append(l.found, f)
	return noMarker, nil
}

func by(user string) string {
	if user == "" {
		return ""
	}
	return " by " + user
}

// silenceFactor is how many times longer than the log's 99th percentile
// gap a silence must be; silenceMin the least silence reported, and
// silenceEvents the least events a log needs to have a normal rhythm.
const (
	silenceFactor = 50
	silenceMin    = 6 * time.Hour
	silenceEvents = 500
)

// findings ends the log: the stops still waiting, the missing records
// (placed in chunks), silences, and a filtered export's note.
func (l *logState) findings(chunks func() []evtx.ChunkInfo, lost int) []Finding {
	out := slices.Clone(l.found)
	for _, s := range l.stops {
		if s.after > 0 {
			s.f.Meaning += fmt.Sprintf(" %d records follow it and none says Windows started again: the service may have been stopped and restarted; or the log was collected before the next startup.", s.after)
		} else {
			s.f.Meaning += " It is the log's last record: most likely the shutdown before the log was collected."
		}
		out = append(out, s.f)
	}
	if l.evtx {
		out = append(out, l.missing(chunks, lost)...)
	}
	if l.filtered > 0 {
		out = append(out, Finding{
			Kind: Filtered, Confidence: Low, Source: l.source, Computer: l.computer, Channel: l.channel,
			Meaning: fmt.Sprintf("The file's own record numbers are whole but its EventRecordIDs skip %s: it is a filtered export of a log (Save Filtered Log File, wevtutil epl /q), a subset of what the host logged. Missing EventRecordIDs here prove nothing; and an export put in place of the original log would hide events.", times(l.filtered)),
		})
	} else {
		out = append(out, l.silences()...)
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return a.From.Compare(b.From) })
	return out
}

// missing finds the record numbers missing between the runs of the log.
func (l *logState) missing(chunksOf func() []evtx.ChunkInfo, lost int) []Finding {
	var chunks []evtx.ChunkInfo
	read := false
	runs := slices.Clone(l.runs)
	slices.SortFunc(runs, func(a, b run) int { return cmp.Compare(a.first, b.first) })
	var out []Finding
	for i := 1; i < len(runs); i++ {
		a, b := runs[i-1], runs[i]
		if b.first <= a.last+1 {
			if b.last > a.last {
				runs[i].first = a.last + 1 // overlap: keep the later end
			} else {
				runs[i] = a
			}
			continue
		}
		f := Finding{
			Kind: Removed, Confidence: High, Technique: ClearLogs,
			Source: l.source, Computer: l.computer, Channel: l.channel,
			FirstRecord: int64(a.last + 1), LastRecord: int64(b.first - 1), Missing: int64(b.first - a.last - 1),
			From: a.lastT, To: b.firstT,
		}
		if !read {
			chunks, read = chunksOf(), true
		}
		where, claimed := place(chunks, a.last, b.first)
		f.Chunks = where
		rids := ""
		if a.lastRID+1 != int64(a.last+1) || b.firstRID-1 != int64(b.first-1) {
			rids = fmt.Sprintf(" (EventRecordIDs %d-%d)", a.lastRID+1, b.firstRID-1)
		}
		f.Meaning = fmt.Sprintf("Records %d-%d%s are missing between records written at %s and %s", f.FirstRecord, f.LastRecord, rids, stamp(a.lastT), stamp(b.firstT))
		switch {
		case lost > 0:
			f.Confidence = Medium
			f.Meaning += fmt.Sprintf("; the file is damaged (%d records lost to corrupt chunks or records), which may be this gap.", lost)
		case claimed:
			f.Meaning += fmt.Sprintf(" in %s, whose header claims them while the chunk checks: Windows never skips numbers, so they were cut out by a log editing tool and the checksums recomputed.", where)
		case where != "":
			f.Meaning += fmt.Sprintf(" %s, every chunk checking: Windows numbers records without gaps across chunks, so records were removed (or whole chunks dropped) by editing the file.", where)
		default:
			f.Meaning += ": Windows numbers records without gaps, so records were removed by editing the file."
		}
		out = append(out, f)
	}
	return out
}

// place says where missing records between before and after are, by the
// chunk headers, and whether a chunk's header claims some of them.
func place(chunks []evtx.ChunkInfo, before, after uint64) (string, bool) {
	in := func(id uint64) int {
		for i, c := range chunks {
			if c.FirstID <= id && id <= c.LastID {
				return i
			}
		}
		return -1
	}
	i, j := in(before), in(after)
	switch {
	case i < 0 || j < 0:
		return "", false
	case i == j:
		return fmt.Sprintf("chunk %d", chunks[i].Index), true
	}
	claimed := chunks[i].LastID > before || chunks[j].FirstID < after
	return fmt.Sprintf("between chunks %d and %d", chunks[i].Index, chunks[j].Index), claimed
}

// silences reports the log's gaps far longer than its normal rhythm.
func (l *logState) silences() []Finding {
	var total int64
	for _, n := range l.hist {
		total += n
	}
	if l.events < silenceEvents || total == 0 {
		return nil
	}
	// The 99th percentile gap, to the bucket's upper bound.
	var seen int64
	p99 := time.Duration(0)
	for b, n := range l.hist {
		seen += n
		if seen*100 >= total*99 {
			p99 = time.Duration(int64(1)<<b) * time.Second
			break
		}
	}
	limit := max(silenceMin, silenceFactor*p99)
	var out []Finding
	for _, g := range l.long {
		if g.d < limit || g.explain {
			continue
		}
		out = append(out, Finding{
			Kind: Silence, Confidence: Low, Source: l.source, Computer: l.computer, Channel: l.channel,
			FirstRecord: g.rid - 1, LastRecord: g.rid, From: g.from, To: g.to,
			Meaning: fmt.Sprintf("No event for %s between records %d and %d, where 99%% of this log's gaps are under %s and no shutdown or startup explains it: logging may have been stopped, or the host was off or idle.", roundDur(g.d), g.rid-1, g.rid, roundDur(p99)),
		})
	}
	return out
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "(no time)"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}

// roundDur renders d for reading: to the second under an hour, the
// minute under two days, in days and hours above.
func roundDur(d time.Duration) string {
	switch {
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	h := int64(d.Round(time.Hour) / time.Hour)
	return fmt.Sprintf("%dd%dh", h/24, h%24)
}

func times(n int64) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}
