package detect

import (
	"errors"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// This file is the contract between the detection engine and the logsource
// pipeline (the pipeline*.go files of this package). The pipeline turns a
// Sigma logsource into a Route: plain data saying which events the rules of
// that logsource can match and under which names those events carry the
// fields the rules use. The engine compiles every rule once per Source of
// its Route and indexes it by Channel and EventID, so an event meets only
// the rules whose Route it satisfies.

// Router maps a Sigma logsource to the events it covers. Implementations
// must be safe for concurrent use; the engine calls Route only while
// compiling.
type Router interface {
	// Route returns the Route of ls. It returns an error wrapping
	// ErrUnknownLogsource when the router does not know ls; the rules of
	// that logsource are then not compiled and Compile reports one error
	// per rule.
	Route(ls sigma.Logsource) (Route, error)
}

// RouterFunc adapts a function to the Router interface.
type RouterFunc func(ls sigma.Logsource) (Route, error)

// Route implements Router.
func (f RouterFunc) Route(ls sigma.Logsource) (Route, error) { return f(ls) }

// ErrUnknownLogsource is wrapped by Router.Route for a logsource it cannot
// place.
var ErrUnknownLogsource = errors.New("unknown logsource")

// Route is where the events of one logsource come from. An event satisfies
// the Route when it satisfies at least one of its Sources.
//
// A Route with no Sources places no restriction: the rules of its logsource
// are evaluated against every event (use it for broad logsources such as a
// bare "product: windows"). Such rules are expensive: prefer listing the
// channels.
type Route struct {
	Sources []Source
}

// Source is one kind of event a logsource covers, such as "Sysmon event 1"
// or "Security event 4688", with the field names those events use.
//
// An event satisfies a Source when every non-empty condition holds:
//
//   - Channel equals the event's Channel field (compared without regard to
//     case, as Windows does);
//   - the event's EventID field is one of EventIDs (by numeric value);
//   - Provider equals the event's Provider_Name field (without regard to
//     case).
type Source struct {
	// Channel is the event log channel, such as "Security" or
	// "Microsoft-Windows-Sysmon/Operational"; "" matches any channel.
	Channel string
	// EventIDs are the event identifiers; empty matches any event ID.
	EventIDs []uint32
	// Provider is the provider name, such as
	// "Microsoft-Windows-Security-Auditing"; "" matches any provider.
	Provider string
	// Fields maps a Sigma field name, as rules write it (for example
	// "Image"), to the names of the event fields that carry it in events
	// of this Source (for example "NewProcessName" for Security 4688),
	// tried in order: a rule's field resolves, per event, to the first
	// listed name present in the event. List the Sigma name itself among
	// the candidates when events may also carry it under that name. A
	// Sigma field name absent from Fields is looked up as written.
	Fields map[string][]string
}
