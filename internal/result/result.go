// Package result is the model of what a hunt found: the rules used, what
// was read, the detections, the operations they join into and the ATT&CK
// groups their evidence resembles. It is plain data with stable JSON names,
// made by the hunt (with package operation's operations and package
// attack's attributions) and read by the reports, and by anything else that
// keeps, serves or exports a hunt's results. It depends on no package of
// the hunt: only on attack, whose Summary is the one form of an
// attribution.
package result

import (
	"encoding/json"
	"time"
)

// Result is what a hunt found: the rules used, what was read and skipped,
// the aggregates a report shows first, and every detection.
//
// It is plain data with stable JSON names (snake_case), written as is by
// `spoor hunt --json` and read by the report writers. Fields are only ever
// added, never renamed or removed. Lists are never nil in a Result from
// hunt.Run, so they encode as [] rather than null.
type Result struct {
	// Tool is "spoor".
	Tool string `json:"tool"`
	// Version is the version of the spoor binary, when the caller sets it.
	Version string `json:"version,omitempty"`
	// Started is when the hunt started (UTC).
	Started time.Time `json:"started"`
	// ElapsedSeconds is how long the hunt took, rule loading included.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// Paths are the evidence paths hunted, as given.
	Paths []string `json:"paths"`
	// Filters echoes the rule and time filters the hunt ran with.
	Filters Filters `json:"filters"`
	// Rules says which rules were used and how many could not be.
	Rules RuleStats `json:"rules"`
	// Evidence says what was read and what was skipped, and why.
	Evidence Evidence `json:"evidence"`

	// Total is the number of detections (len(Detections)).
	Total int `json:"total"`
	// Levels counts the detections by rule level.
	Levels LevelCounts `json:"levels"`
	// RuleCounts lists every rule that fired, most detections first (then
	// most severe, then title).
	RuleCounts []RuleCount `json:"rule_counts"`
	// Hosts lists every computer with detections, most detections first
	// (then name).
	Hosts []HostCount `json:"hosts"`
	// Tactics lists the ATT&CK tactics the detections reach, in
	// kill-chain order (reconnaissance first, impact last): those of the
	// rules' techniques in ATT&CK, not every tactic a rule names, none of
	// an informational rule (see operation.Reach).
	Tactics []TacticCount `json:"tactics"`
	// UnknownTechniques are the technique IDs of the rules that fired
	// that the ATT&CK knowledge base of the hunt does not know (see
	// TacticCount.Unknown), sorted; ATTACKModified is that knowledge
	// base's release time (its newest object's). Both are empty without
	// attribution.
	UnknownTechniques []string `json:"unknown_techniques,omitempty"`
	ATTACKModified    string   `json:"attack_modified,omitempty"`
	// Detections are every rule match, sorted by time, then computer, then
	// record ID, then rule title. Correlation rules that fired are among
	// them, with Kind "correlation"; the detections of the rules they
	// count are not, unless a correlation says generate (see Suppressed).
	Detections []Detection `json:"detections"`
	// Suppressed is how many detections were not listed on their own
	// because they are the building blocks of correlation rules (a rule
	// referenced by a correlation without generate: true, or left out by
	// the filters but referenced by a correlation kept). Those that a
	// correlation counted are listed in its Correlation.Detections.
	Suppressed int `json:"suppressed"`
	// Operations are the detections joined into the story of each
	// intrusion (across processes, logons and hosts), highest score (the
	// strongest evidence of an intrusion) first. Operations of
	// informational detections only, or of one low or audit-type rule,
	// are not listed: their detections are plain detections.
	Operations []Operation `json:"operations"`
	// Attribution says which ATT&CK groups the techniques, software and
	// groups tagged on every rule that fired resemble, taken together:
	// the fallback when there is no operation (each operation has its
	// own). nil when there are operations, when the rules name nothing
	// ATT&CK knows, or with Options.NoAttribution.
	Attribution *Attribution `json:"attribution,omitempty"`
	// NotAttributed says why there is no Attribution although rules
	// fired and nothing asked to leave it out: "too little evidence" when
	// every detection is of one rule of low or informational level (one
	// such rule says nothing about an actor).
	NotAttributed string `json:"not_attributed,omitempty"`
}

// Filters are the rule and time filters of a hunt.
type Filters struct {
	// MinLevel is the least severe rule level used ("" for all).
	MinLevel string `json:"min_level,omitempty"`
	// Statuses are the rule statuses used (none: all).
	Statuses []string `json:"statuses,omitempty"`
	// Tags are the tag prefixes a rule needs one of (none: all).
	Tags []string `json:"tags,omitempty"`
	// Exclude are the rule IDs and titles left out.
	Exclude []string `json:"exclude,omitempty"`
	// From and To bound the event times hunted (zero: unbounded).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
}

// RuleStats describes the rule set of a hunt.
type RuleStats struct {
	// Sources are where rules came from: "builtin", the SigmaHQ package
	// (its Package.Name), the --rules paths.
	Sources []string `json:"sources"`
	// Loaded is how many detection rules were compiled and used.
	Loaded int `json:"loaded"`
	// Filtered is how many rules the filters (level, status, tags,
	// exclusions) left out.
	Filtered int `json:"filtered"`
	// Skipped is how many rule files or rules could not be loaded or
	// compiled (see Errors; `spoor rules lint` has the details).
	Skipped int `json:"skipped"`
	// Unsupported is how many rules were left out because their logsource
	// is not one spoor reads (Linux, macOS, cloud, proxy... logs); they are
	// not in Errors.
	Unsupported int `json:"unsupported"`
	// Duplicates is how many rules were left out because a rule with the
	// same ID was already loaded.
	Duplicates int `json:"duplicates"`
	// Replaced is how many built-in or SigmaHQ package rules were left out
	// because a rule given with Options.Rules has their ID (a SigmaHQ
	// checkout given with --rules replaces the package's rules).
	Replaced int `json:"replaced,omitempty"`
	// Noisy is how many rules of the SigmaHQ package were left out as too
	// noisy for a default hunt (Options.Noisy keeps them).
	Noisy int `json:"noisy,omitempty"`
	// SigmaHQ names the SigmaHQ package used ("" when none), and
	// SigmaHQNote says why it was chosen over the other one, when there
	// was a choice.
	SigmaHQ     string `json:"sigmahq,omitempty"`
	SigmaHQNote string `json:"sigmahq_note,omitempty"`
	// Correlations is how many correlation rules were compiled and run
	// (those the filters left out are counted in Filtered, those that
	// cannot run in Skipped). Loaded includes the detection rules they
	// reference, even those the filters would leave out.
	Correlations int `json:"correlations"`
	// UnknownExcludes are the Options.Exclude names that named no loaded
	// rule (a typo, or a rule not in the sets loaded).
	UnknownExcludes []string `json:"unknown_excludes,omitempty"`
	// Errors are the loading and compilation problems, one line each.
	Errors []string `json:"errors,omitempty"`
}

// Evidence describes what a hunt read.
type Evidence struct {
	// Files is how many input files were found.
	Files int `json:"files"`
	// Logs is how many event logs were opened (files and archive members).
	Logs int `json:"logs"`
	// EVTX and JSON count the logs by type; Archives counts the archives
	// opened.
	EVTX     int `json:"evtx"`
	JSON     int `json:"json"`
	Archives int `json:"archives"`
	// Bytes is the size of the input files read.
	Bytes int64 `json:"bytes"`
	// Events is how many events were read.
	Events int64 `json:"events"`
	// Hunted is how many events were matched against the rules: those in
	// the time range (all events when there is no range).
	Hunted int64 `json:"hunted"`
	// OutOfRange is how many events the time range left out, including
	// events without a time when a range is set.
	OutOfRange int64 `json:"out_of_range"`
	// First and Last are the times of the earliest and latest event hunted
	// (zero when no event had a time).
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`
	// NotLogs names the files skipped because they are not event logs.
	NotLogs []string `json:"not_logs"`
	// Failed lists the files that could not be read, or not to the end.
	Failed []Failure `json:"failed"`
	// Duplicates names the paths not read because they are a file or
	// folder read already (given twice, a link, a file in a folder given).
	Duplicates []string `json:"duplicates,omitempty"`
	// Damaged lists the logs with unreadable parts that were skipped.
	Damaged []Damage `json:"damaged"`
	// Carved is how many events were carved from EVTX free space and
	// slack (Options.Carve); CarveDropped how many stale records carving
	// found whole but could not decode.
	Carved       int64 `json:"carved,omitempty"`
	CarveDropped int64 `json:"carve_dropped,omitempty"`
}

// Failure is a file or archive member that could not be read, or whose
// reading ended early.
type Failure struct {
	Name string `json:"name"`
	// Error is why.
	Error string `json:"error"`
	// Events is how many events were read from it before the error.
	Events int64 `json:"events"`
	// Named is true for a path given to the hunt (not a file found in a
	// folder or an archive member).
	Named bool `json:"named,omitempty"`
}

// Damage counts the parts of one log that were unreadable and skipped.
type Damage struct {
	Name string `json:"name"`
	// Skips is how many parts were skipped.
	Skips int `json:"skips"`
	// Records is how many records were lost, when known (a lower bound).
	Records int `json:"records"`
	// First describes the first few skipped parts: "place: reason".
	First []string `json:"first"`
}

// LevelCounts counts detections by rule level.
type LevelCounts struct {
	Critical      int `json:"critical"`
	High          int `json:"high"`
	Medium        int `json:"medium"`
	Low           int `json:"low"`
	Informational int `json:"informational"`
}

// RuleCount is one rule that fired and how often.
type RuleCount struct {
	Rule
	// Description is the rule's description.
	Description string `json:"description,omitempty"`
	// References are the rule's references.
	References []string `json:"references,omitempty"`
	// FalsePositives are the rule's known false positives.
	FalsePositives []string `json:"falsepositives,omitempty"`
	// Count is how many detections the rule made.
	Count int `json:"count"`
	// Hosts is how many distinct computers it fired on.
	Hosts int `json:"hosts"`
	// First and Last are the times of its first and last detection.
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`
}

// HostCount is one computer with detections.
type HostCount struct {
	// Computer is the event's Computer field ("" when absent).
	Computer string `json:"computer"`
	// Count is how many detections it had.
	Count int `json:"count"`
	// Levels counts them by level.
	Levels LevelCounts `json:"levels"`
	// First and Last are the times of its first and last detection.
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`
}

// TacticCount is one ATT&CK tactic seen in the detections.
type TacticCount struct {
	// ID is the ATT&CK tactic ID, such as "TA0002".
	ID string `json:"id"`
	// Name is its display name, such as "Execution".
	Name string `json:"name"`
	// Short is its short name as in Sigma tags (with hyphens), such as
	// "defense-evasion".
	Short string `json:"short"`
	// Count is how many detections reach the tactic.
	Count int `json:"count"`
	// Rules is how many distinct rules reaching it fired.
	Rules int `json:"rules"`
	// Techniques are the technique IDs (T1059, T1059.001) of those rules
	// that reach it, sorted.
	Techniques []string `json:"techniques"`
	// Unknown are the Techniques the ATT&CK knowledge base of the hunt
	// does not know: newer than its release (SigmaHQ tags ATT&CK v19's
	// T1685...), or mistyped. They are kept in Techniques, only marked.
	Unknown []string `json:"unknown,omitempty"`
}

// Rule identifies the rule of a detection.
type Rule struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Level is the Sigma level: informational, low, medium, high or
	// critical ("" when the rule has none).
	Level  string `json:"level"`
	Status string `json:"status,omitempty"`
	// Tags are the rule's tags as written.
	Tags []string `json:"tags,omitempty"`
	// Tactics are the ATT&CK tactic short names among the tags, in
	// kill-chain order.
	Tactics []string `json:"tactics,omitempty"`
	// Techniques are the ATT&CK technique IDs among the tags, upper-case
	// (T1003, T1003.001), in tag order.
	Techniques []string `json:"techniques,omitempty"`
}

// Detection is one rule matching one event: a compact copy of what
// explains it, kept after the event itself is gone. A correlation rule that
// fired is a Detection too, of Kind "correlation", with Correlation set.
type Detection struct {
	// Kind is "" for a detection rule matching an event, "correlation"
	// for a correlation rule firing over detections.
	Kind string `json:"kind,omitempty"`
	// Time is the event's TimeCreated (UTC; zero when absent).
	Time time.Time `json:"time"`
	// Computer, Channel, Provider, EventID and RecordID are the event's
	// system fields ("" or 0 when absent).
	Computer string `json:"computer"`
	Channel  string `json:"channel"`
	Provider string `json:"provider,omitempty"`
	EventID  int64  `json:"event_id"`
	RecordID int64  `json:"record_id"`
	// Source is the file the event came from ("archive.zip!member" for an
	// archive member); Locator places it there: the record number for
	// EVTX, the line number for JSON lines, 0 when unknown.
	Source  string `json:"source_file"`
	Locator int64  `json:"locator,omitempty"`
	// Carved is set when the event was carved from an EVTX file's free
	// space or slack (Options.Carve): a stale record, not one the log
	// lists.
	Carved bool `json:"carved,omitempty"`
	// Rule is the rule that matched.
	Rule *Rule `json:"rule"`
	// Searches are the rule's searches that matched the event.
	Searches []string `json:"searches,omitempty"`
	// Fields are the event's fields that explain the detection: those the
	// rule's detection names, then the key fields of the event's kind (for
	// a process creation: Image, CommandLine, ParentImage, User...), in
	// that order, each once; values as text.
	Fields []Field `json:"fields"`
	// Event is the whole event as JSON, when Options.KeepEvents is set.
	Event json.RawMessage `json:"event,omitempty"`
	// Correlation describes a correlation that fired (Kind
	// "correlation"); nil otherwise. For a correlation, Time is when it
	// fired, Computer the group's Computer (or the one computer of its
	// detections), Fields its group-by values then its aggregate.
	Correlation *Correlation `json:"correlation,omitempty"`
}

// KindCorrelation is the Kind of a correlation's Detection.
const KindCorrelation = "correlation"

// KindTampering is the Kind of a Detection made of a finding of tampering
// with the logs (internal/gaps: records removed, logging stopped or
// disabled): it has no event of its own; Fields say what was found.
const KindTampering = "tampering"

// Correlation is one firing of a Sigma correlation rule in one group.
type Correlation struct {
	// Type is the correlation type: event_count, value_count, temporal...
	Type string `json:"type"`
	// Rules are the rules (or correlations) it references, as written.
	Rules []string `json:"rules"`
	// Group holds the group-by fields and their values, in group-by
	// order.
	Group []Field `json:"group"`
	// Timespan is the sliding window, such as "5m0s" ("whole hunt" for a
	// Sigma 1.x aggregation without a timeframe).
	Timespan string `json:"timespan"`
	// Condition is the condition as text, such as "count >= 10" or
	// "count(TargetUserName) >= 10" ("" for temporal types without one).
	Condition string `json:"condition,omitempty"`
	// First and Last are the times of its first and last detection; Fired
	// is when the condition first held.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	Fired time.Time `json:"fired"`
	// Value is the aggregate of the first window where the condition held
	// (event count, distinct values, rules, sum...); Max the largest among
	// its windows.
	Value float64 `json:"value"`
	Max   float64 `json:"max"`
	// Count is how many detections it counted.
	Count int `json:"count"`
	// Detections are the detections it counted, in time order.
	Detections []Detection `json:"detections"`
}

// Field is one named event value, rendered as text.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}
