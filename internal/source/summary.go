package source

import (
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Summary reports what a Run read and what it could not. Its lists are in
// input order (files in walk order, members in archive order), whatever the
// number of workers.
type Summary struct {
	// Files is how many input files the walk found.
	Files int
	// Logs is how many event logs were opened: plain files and archive
	// members.
	Logs int
	// ByType counts the event logs opened (EVTX, JSON) and the archives
	// opened (Zip, Gzip, Tar), indexed by Type.
	ByType [numTypes]int
	// Events is how many events were handed to the callback.
	Events int64
	// Bytes is the summed size of the input files that were read.
	Bytes int64
	// Elapsed is how long the Run took.
	Elapsed time.Duration
	// NotLogs names the files and archive members skipped because their
	// content is not an event log (nor an archive).
	NotLogs []string
	// Failed lists the files and members that could not be read, or whose
	// reading ended early on an error.
	Failed []Failure
	// Duplicates names the paths not read because they are a file or
	// folder listed before (see Walk): given twice, a link, a file in a
	// folder given too.
	Duplicates []string
	// Damaged lists the logs in which a reader skipped parts (corrupt
	// chunks or records, malformed lines).
	Damaged []Damage
	// Carved is how many of the events were carved from EVTX free space
	// and slack (Options.Carve); CarveDropped how many stale records
	// carving found whole but could not decode (most often their template
	// was overwritten). Neither is damage.
	Carved, CarveDropped int64
}

// Count returns how many event logs of type t were opened (or archives,
// for the container types).
func (s *Summary) Count(t Type) int {
	if t < numTypes {
		return s.ByType[t]
	}
	return 0
}

// Failure is a file or archive member that could not be read, or whose
// reading ended early.
type Failure struct {
	// Name is the file path, or "archive!member" for a member.
	Name string
	// Err is why.
	Err error
	// Events is how many events were read from it before the error.
	Events int64
	// Named is true when Name is a path given to Run (a file or folder
	// that could not be opened or listed), false for a file found in a
	// folder or a member of an archive.
	Named bool
}

// Error implements error: the name, then the reason.
func (f Failure) Error() string { return f.Name + ": " + f.Err.Error() }

// Unwrap returns the reason.
func (f Failure) Unwrap() error { return f.Err }

// Damage counts the parts of one event log that its reader skipped.
type Damage struct {
	// Name is the log's name (as in event.Event.Source).
	Name string
	// Skips is how many parts were skipped.
	Skips int
	// Records is how many records were lost, when the reader knew (a lower
	// bound).
	Records int
	// First holds the first few skipped parts (Options.MaxSkips), with
	// their location.
	First []event.SkipError
}

// result is what one worker found in one input file; Run merges the results
// in input order.
type result struct {
	logs    int
	byType  [numTypes]int
	events  int64
	bytes   int64
	notLogs []string
	failed  []Failure
	damaged []Damage

	carved, carveDropped int64
}

func (r *result) fail(name string, err error, events int64) {
	r.failed = append(r.failed, Failure{Name: name, Err: err, Events: events})
}

// failFile records that the input file f could not be opened.
func (r *result) failFile(f File, err error) {
	r.failed = append(r.failed, Failure{Name: f.Path, Err: err, Named: f.Named})
}

// NamedFailed returns the failures of paths given to Run (Failure.Named).
func (s *Summary) NamedFailed() []Failure {
	var out []Failure
	for _, f := range s.Failed {
		if f.Named {
			out = append(out, f)
		}
	}
	return out
}

func (s *Summary) add(r *result) {
	s.Logs += r.logs
	for i, n := range r.byType {
		s.ByType[i] += n
	}
	s.Events += r.events
	s.Bytes += r.bytes
	s.NotLogs = append(s.NotLogs, r.notLogs...)
	s.Failed = append(s.Failed, r.failed...)
	s.Damaged = append(s.Damaged, r.damaged...)
	s.Carved += r.carved
	s.CarveDropped += r.carveDropped
}

// NothingRead reports whether the run found nothing to read: no event log
// at all, or no event read while some file failed or was damaged (an EVTX
// file whose header is corrupt yields no event, only a damage). A command
// exits non-zero then.
func (s *Summary) NothingRead() bool {
	return s.Logs == 0 || (s.Events == 0 && (len(s.Failed) > 0 || len(s.Damaged) > 0))
}
