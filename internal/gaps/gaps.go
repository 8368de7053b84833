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
//
// A source (file or archive member) is read as two things: the file, whose
// own record numbers (event.Event.Locator of an EVTX file) Windows writes
// without gaps, and the logs it holds, one per computer and channel (case
// ignored): an EVTX file usually holds one, a forwarded-events file or a
// JSON export of a collector many, their records interleaved. Time steps,
// stops of the logging service and silences are followed per log, by its
// EventRecordIDs, so that one log's records never stand between another's.
type Analyzer struct {
	files   map[string]*fileState
	order   []*fileState
	aliases map[logKey]*alias
	last    *alias // the log of the previous event: logs come in runs
}

// logKey names a log of a source as its events spell it.
type logKey struct{ source, computer, channel string }

// alias is one spelling of a log; log is nil past a file's maxLogs.
type alias struct {
	key  logKey
	file *fileState
	log  *logState
}

// maxLogs bounds the logs followed per source, so that a file of made-up
// computer names costs bounded memory (about 1 KiB per log); the events of
// logs past it count for the file's numbering only. maxAliases bounds the
// spellings remembered per source.
const (
	maxLogs    = 4096
	maxAliases = 2 * maxLogs
)

// New returns an empty Analyzer.
func New() *Analyzer {
	return &Analyzer{files: map[string]*fileState{}, aliases: map[logKey]*alias{}}
}

// Observe takes the next event of its source (event.Event.Source). The
// events of a source must come in the order its reader returns them;
// sources may be interleaved. Nothing of ev is kept.
func (a *Analyzer) Observe(ev *event.Event) {
	if ev.Carved {
		return // stale copies, outside the log's numbering
	}
	f := FactOf(ev)
	a.ObserveFact(&f)
}

// ObserveFact takes what Observe reads of the next event of its source
// (FactOf): an Analyzer fed the facts of a source's events, in the same
// order, finds what one fed the events finds. Nothing of f is kept.
func (a *Analyzer) ObserveFact(f *Fact) {
	if f.Carved {
		return
	}
	al := a.last
	if al == nil || al.key.source != f.Source || al.key.computer != f.Computer || al.key.channel != f.Channel {
		if al = a.aliases[logKey{f.Source, f.Computer, f.Channel}]; al == nil {
			al = a.newAlias(f)
		}
		a.last = al
	}
	file := al.file
	file.observe(f)
	if al.log != nil {
		al.log.current = al.key.computer
		al.log.observe(f)
	}
	file.prevLog = al.log
}

// newAlias finds or makes the file and log of a spelling not seen before.
// A computer's new name in a log (a rename, a domain joined) is the same
// log when the event follows the file's previous one in that log's
// numbering. Every string kept is a copy: the event's are the reader's.
func (a *Analyzer) newAlias(fact *Fact) *alias {
	computer, channel := fact.Computer, fact.Channel
	f := a.files[fact.Source]
	if f == nil {
		f = newFile(strings.Clone(fact.Source))
		a.files[f.source] = f
		a.order = append(a.order, f)
	}
	folded := logKey{computer: strings.Clone(strings.ToLower(computer)), channel: strings.Clone(strings.ToLower(channel))}
	l := f.logs[folded]
	if p := f.prevLog; l == nil && p != nil && strings.EqualFold(p.channel, channel) {
		if rid := fact.RecordID; rid > 0 && rid == p.prevRID+1 {
			l = p
		}
	}
	if l == nil && len(f.order) < maxLogs {
		l = &logState{file: f, computer: strings.Clone(computer), channel: strings.Clone(channel)}
		f.order = append(f.order, l)
	}
	if l != nil && f.logs[folded] == nil && len(f.logs) < maxAliases {
		f.logs[folded] = l
	}
	al := &alias{key: logKey{f.source, strings.Clone(computer), strings.Clone(channel)}, file: f, log: l}
	if f.aliases < maxAliases {
		a.aliases[al.key] = al
		f.aliases++
	}
	return al
}

// Findings returns what the logs of the analyzers show, by source name,
// then by log, each log's by time.
func Findings(opts Options, as ...*Analyzer) []Finding {
	var out []Finding
	for _, a := range as {
		for _, f := range a.order {
			// The chunk headers are read only for a file with a gap.
			chunks := func() []evtx.ChunkInfo {
				if opts.Chunks == nil {
					return nil
				}
				return opts.Chunks(f.source)
			}
			lost := 0
			if opts.Damaged != nil {
				lost = opts.Damaged(f.source)
			}
			out = append(out, f.findings(chunks, lost)...)
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

// run is a stretch of consecutive record numbers of a file.
type run struct {
	first, last       uint64
	firstT, lastT     time.Time
	firstRID, lastRID int64
}

// pendingStop is a stop of the logging service waiting for what follows.
type pendingStop struct {
	f          Finding
	after      int       // records of its log seen since
	firstAfter time.Time // the time of the first of them
}

// maxRecord bounds the record numbers taken as such: far above any log's,
// far below where a number and its neighbours would overflow.
const maxRecord = 1 << 60

// A stop of the logging service is explained by a startup of Windows
// (4608, 6009, Kernel-General 12) in its log after it. A startup writes
// its records a few seconds after the first record that follows the stop,
// but may write a few hundred before the one that says so (Security
// queues what it audits while the service starts: 245 records before 4608
// in a Security-Datasets recording); so a stop is taken as a restart of
// the service without Windows (medium) only once stopWindow records and
// bootWindow of time have followed it with no startup, or when its log
// ends with stopWindow records after it.
const (
	stopWindow = 40
	bootWindow = 10 * time.Minute
)

// silenceTop is how many of the longest silences of a log are kept.
const silenceTop = 8

// gap is a silence between two records of a log.
type gap struct {
	d        time.Duration
	from, to time.Time
	rid      int64
	explain  bool   // a shutdown or boot around it
	computer string // the log's name for it then
}

// fileState is a source: its own record numbering (EVTX files only: a JSON
// file's locators are line numbers) and its logs.
type fileState struct {
	source   string
	evtx     bool
	runs     []run
	prevLoc  uint64
	havePrev bool

	logs    map[logKey]*logState // by lower-cased computer and channel
	order   []*logState
	aliases int
	prevLog *logState // the log of the file's previous event
}

func newFile(source string) *fileState {
	lower := strings.ToLower(source)
	return &fileState{source: source, evtx: strings.HasSuffix(lower, ".evtx"), logs: map[logKey]*logState{}}
}

// observe follows the file's record numbers.
func (f *fileState) observe(fact *Fact) {
	if !f.evtx {
		return
	}
	loc := uint64(fact.Locator)
	consecutive := f.havePrev && loc == f.prevLoc+1
	f.prevLoc, f.havePrev = loc, true
	if fact.Locator < 1 || fact.Locator > maxRecord {
		return // not a record number (a reader that has none)
	}
	rid, t := fact.RecordID, fact.Time
	if len(f.runs) > 0 && consecutive {
		r := &f.runs[len(f.runs)-1]
		r.last, r.lastT, r.lastRID = loc, t, rid
		return
	}
	f.runs = append(f.runs, run{first: loc, last: loc, firstT: t, lastT: t, firstRID: rid, lastRID: rid})
}

// logState is one log (computer and channel) of a source.
type logState struct {
	file              *fileState
	computer, channel string // as first seen
	current           string // the computer's name in the log's latest event
	events            int64
	filtered          int64 // EventRecordID breaks between records one after the other in the file

	prevLoc  uint64
	prevRID  int64
	prevT    time.Time
	prevPrev time.Time // time of the record before prev, if consecutive
	prevMark marker
	havePrev bool

	stop  *pendingStop
	found []Finding

	hist [48]int64 // gaps between consecutive records, by log2 of seconds
	long []gap     // the longest gaps, at most silenceTop
}

func (l *logState) observe(f *Fact) {
	l.events++
	loc := uint64(f.Locator)
	rid, t := f.RecordID, f.Time
	mark, stop := l.special(f)
	l.settle(mark, stop, rid, t)

	// Records of the log one after the other: by EventRecordID, the log's
	// own numbering (a file may interleave logs; a JSON file without
	// EventRecordIDs has no order to check).
	follows := l.havePrev && rid > 0 && rid == l.prevRID+1
	if l.havePrev && loc == l.prevLoc+1 && rid > 0 && l.prevRID > 0 && rid != l.prevRID+1 {
		l.filtered++
	}
	if follows && !t.IsZero() && !l.prevT.IsZero() {
		l.timeStep(t, rid, mark)
	}
	if follows {
		l.prevPrev = l.prevT
	} else {
		l.prevPrev = time.Time{}
	}
	l.prevLoc, l.prevRID, l.prevT, l.prevMark, l.havePrev = loc, rid, t, mark, true
}

// settle follows the stop of the logging service pending, if any, with
// this record: a startup explains it; enough records and time without one
// make it a restart of the service; a new stop is pending after it.
func (l *logState) settle(mark marker, stop *Finding, rid int64, t time.Time) {
	if s := l.stop; s != nil {
		if mark == bootMarker {
			l.stop = nil // a shutdown and a startup: normal
		} else {
			s.after++
			if s.firstAfter.IsZero() {
				s.firstAfter = t
			}
			timed := !t.IsZero() && !s.firstAfter.IsZero()
			if s.after >= stopWindow && (!timed || t.Sub(s.firstAfter) >= bootWindow) {
				over := ""
				if timed {
					over = " over " + roundDur(t.Sub(s.firstAfter))
				}
				l.restarted(fmt.Sprintf(" %d records%s follow it and none says Windows started again: the service was stopped and started again without a reboot, as attackers do to blind the log while they work.", s.after, over))
			}
		}
	}
	if stop == nil {
		return
	}
	if s := l.stop; s != nil {
		if s.after <= 1 || stop.From.Equal(s.f.From) {
			return // the same stop told twice (by two events, or a copy in an export)
		}
		l.restarted(fmt.Sprintf(" Another stop of the service follows at record %d with no startup of Windows between: the service ran again in between, started without a reboot.", rid))
	}
	l.stop = &pendingStop{f: *stop}
}

// restarted makes the pending stop a finding of a restart of the service
// without Windows, at medium confidence; why says how it is known.
func (l *logState) restarted(why string) {
	s := l.stop
	l.stop = nil
	s.f.Confidence = Medium
	s.f.Meaning += why
	l.found = append(l.found, s.f)
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
			Kind: Backwards, Source: l.file.source, Computer: l.current, Channel: l.channel,
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
	g := gap{d: d, from: l.prevT, to: t, rid: rid, explain: mark == bootMarker || l.prevMark == stopMarker, computer: l.current}
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

// special looks at the events that are evidence in themselves (their
// Sign); it returns whether the event marks a boot or a stop of the
// logging service, and a stop's finding, which waits for what follows it.
func (l *logState) special(fact *Fact) (marker, *Finding) {
	rid, eid := fact.RecordID, fact.EventID
	f := Finding{
		Source: l.file.source, Computer: l.current, Channel: l.channel,
		FirstRecord: rid, LastRecord: rid, From: fact.Time, To: fact.Time, EventID: eid,
	}
	switch fact.Sign {
	case SignBoot:
		return bootMarker, nil
	case SignStop:
		f.Kind, f.Confidence, f.Technique = Stopped, Low, DisableEventLogs
		switch eid {
		case 1100:
			f.Meaning = "The event logging service shut down."
		case 6006:
			f.Meaning = "The Event log service was stopped (6006)."
		default:
			f.Meaning = "The Service Control Manager saw the Windows Event Log service stop (7036)."
		}
		return stopMarker, &f
	case SignCleared:
		f.Kind, f.Confidence, f.Technique, f.User = Cleared, High, ClearLogs, strings.Clone(fact.User)
		if eid == 1102 {
			f.Meaning = "The Security log was cleared" + by(f.User) + ": every event before this one is gone from it."
		} else {
			f.Meaning = fmt.Sprintf("The %s log was cleared%s: every event it held before is gone.", fact.Cleared, by(f.User))
		}
	case SignDisabled:
		f.Kind, f.Confidence, f.Technique, f.User = Disabled, High, DisableEventLogs, strings.Clone(fact.User)
		f.Meaning = "The Windows Event Log service's start type was set to disabled" + by(f.User) + ": no event is logged after its next stop."
	case SignLost:
		f.Kind, f.Confidence = Lost, Medium
		if eid == 1104 {
			f.Meaning = "The Security log is full and does not overwrite: events after this one were not logged."
		} else {
			f.Meaning = "Audit events were dropped by the transport (1101): the log misses events around this time."
		}
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

// findings ends the file: its missing records (placed in chunks) and its
// logs' findings. With one log, they are all that log's, in time order;
// with several, the file's own come first, under the computer and channel
// its logs share (none when they differ), then each log's.
func (f *fileState) findings(chunks func() []evtx.ChunkInfo, lost int) []Finding {
	computer, channel := "", ""
	var filtered int64
	for i, l := range f.order {
		if i == 0 {
			computer, channel = l.computer, l.channel
		}
		if !strings.EqualFold(computer, l.computer) {
			computer = ""
		}
		if !strings.EqualFold(channel, l.channel) {
			channel = ""
		}
		filtered += l.filtered
	}
	var own []Finding
	if f.evtx {
		own = f.missing(chunks, lost)
	}
	if filtered > 0 {
		what := "The file's own record numbers are whole but its EventRecordIDs skip %s: it is a filtered export of a log (Save Filtered Log File, wevtutil epl /q), a subset of what the host logged. Missing EventRecordIDs here prove nothing; and an export put in place of the original log would hide events."
		if !f.evtx {
			what = "The EventRecordIDs of records that follow each other in the file skip %s: the file holds a subset of what its logs recorded (a collector's or a query's selection). Missing EventRecordIDs here prove nothing."
		}
		own = append(own, Finding{Kind: Filtered, Confidence: Low, Meaning: fmt.Sprintf(what, times(filtered))})
	}
	for i := range own {
		own[i].Source, own[i].Computer, own[i].Channel = f.source, computer, channel
	}
	if len(f.order) > 1 {
		slices.SortStableFunc(own, func(a, b Finding) int { return a.From.Compare(b.From) })
		own = slices.Clip(own)
	}
	for _, l := range f.order {
		if len(f.order) > 1 {
			own = append(own, l.findings()...)
		} else {
			own = append(l.findings(), own...)
		}
	}
	if len(f.order) <= 1 {
		slices.SortStableFunc(own, func(a, b Finding) int { return a.From.Compare(b.From) })
	}
	return own
}

// findings ends the log: the stop still waiting, and silences (not in a
// log whose EventRecordIDs skip: its gaps are not its rhythm), in time
// order.
func (l *logState) findings() []Finding {
	out := slices.Clone(l.found)
	if s := l.stop; s != nil {
		switch {
		case s.after == 0:
			s.f.Meaning += " It is the log's last record: most likely the shutdown before the log was collected."
		case s.after >= stopWindow:
			s.f.Confidence = Medium
			s.f.Meaning += fmt.Sprintf(" %d records follow it to the end of the log and none says Windows started again: the service was stopped and started again without a reboot, as attackers do to blind the log while they work.", s.after)
		default:
			s.f.Meaning += fmt.Sprintf(" %d records follow it and none says Windows started again: the service may have been stopped and restarted; or the log was collected during the next startup.", s.after)
		}
		out = append(out, s.f)
	}
	if l.filtered == 0 {
		out = append(out, l.silences()...)
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return a.From.Compare(b.From) })
	return out
}

// missing finds the record numbers missing between the runs of the file.
func (f *fileState) missing(chunksOf func() []evtx.ChunkInfo, lost int) []Finding {
	var chunks []evtx.ChunkInfo
	read := false
	runs := slices.Clone(f.runs)
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
		cut := Finding{
			Kind: Removed, Confidence: High, Technique: ClearLogs,
			FirstRecord: int64(a.last + 1), LastRecord: int64(b.first - 1), Missing: int64(b.first - a.last - 1),
			From: a.lastT, To: b.firstT,
		}
		if !read {
			chunks, read = chunksOf(), true
		}
		where, claimed := place(chunks, a.last, b.first)
		cut.Chunks = where
		rids := ""
		if a.lastRID+1 != int64(a.last+1) || b.firstRID-1 != int64(b.first-1) {
			rids = fmt.Sprintf(" (EventRecordIDs %d-%d)", a.lastRID+1, b.firstRID-1)
		}
		cut.Meaning = fmt.Sprintf("Records %d-%d%s are missing between records written at %s and %s", cut.FirstRecord, cut.LastRecord, rids, stamp(a.lastT), stamp(b.firstT))
		switch {
		case lost > 0:
			cut.Confidence = Medium
			cut.Meaning += fmt.Sprintf("; the file is damaged (%d records lost to corrupt chunks or records), which may be this gap.", lost)
		case claimed:
			cut.Meaning += fmt.Sprintf(" in %s, whose header claims them while the chunk checks: Windows never skips numbers, so they were cut out by a log editing tool and the checksums recomputed.", where)
		case where != "":
			cut.Meaning += fmt.Sprintf(" %s, every chunk checking: Windows numbers records without gaps across chunks, so records were removed (or whole chunks dropped) by editing the file.", where)
		default:
			cut.Meaning += ": Windows numbers records without gaps, so records were removed by editing the file."
		}
		out = append(out, cut)
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
			Kind: Silence, Confidence: Low, Source: l.file.source, Computer: g.computer, Channel: l.channel,
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
