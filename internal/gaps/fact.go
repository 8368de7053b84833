package gaps

import (
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Fact is all an Analyzer reads of an event: where it is (source, log,
// record numbers), when, and what it is evidence of in itself (Sign).
// FactOf makes it; a fleet worker (internal/fleet) keeps the facts of the
// events it hunts, a few bytes each, and feeds them to an Analyzer later
// in their source's order (ObserveFact), finding what an Analyzer fed the
// events finds.
type Fact struct {
	// Source, Computer and Channel are the event's (event.Event.Source,
	// its Computer and Channel fields).
	Source, Computer, Channel string
	// Locator is event.Event.Locator; RecordID its EventRecordID,
	// EventID its EventID (0 when it has none).
	Locator, RecordID, EventID int64
	// Time is the event's time; zero when it has none.
	Time time.Time
	// Carved events are not observed.
	Carved bool
	// Sign is what the event is evidence of in itself; User who did it
	// (SignCleared, SignDisabled) and Cleared the log a 104 says was
	// cleared, when the event says.
	Sign          Sign
	User, Cleared string
}

// Sign is what an event is evidence of in itself.
type Sign uint8

// The signs; an event of none is SignNone.
const (
	SignNone Sign = iota
	// SignBoot: Windows started (Security 4608, EventLog 6009,
	// Kernel-General 12).
	SignBoot
	// SignStop: the logging service stopped (EventLog 1100, 6006; 7036
	// of the Windows Event Log service).
	SignStop
	// SignDisabled: the EventLog service set to disabled (7040).
	SignDisabled
	// SignCleared: a log was cleared (Security 1102, 104).
	SignCleared
	// SignLost: events were dropped (Security 1101, 1104).
	SignLost
	// Signs is one past the last sign.
	Signs
)

// FactOf reads what an Analyzer needs of ev. Its strings are ev's: valid
// while ev is.
func FactOf(ev *event.Event) Fact {
	f := Fact{Source: ev.Source, Locator: ev.Locator, Carved: ev.Carved}
	if ev.Carved {
		return f
	}
	// One pass over the fields for the five every event needs (a
	// Lookup each would be five), the first of a name as Lookup takes.
	var seen uint8
	for i := range ev.Fields {
		fd := &ev.Fields[i]
		var bit uint8
		switch fd.Name {
		case event.FieldComputer:
			bit = 1
		case event.FieldChannel:
			bit = 2
		case event.FieldEventRecordID:
			bit = 4
		case event.FieldEventID:
			bit = 8
		case event.FieldTimeCreated:
			bit = 16
		default:
			continue
		}
		if seen&bit != 0 {
			continue
		}
		seen |= bit
		switch bit {
		case 1:
			f.Computer = fd.Value.Text()
		case 2:
			f.Channel = fd.Value.Text()
		case 4:
			f.RecordID = fd.Value.Integer()
		case 8:
			f.EventID = fd.Value.Integer()
		case 16:
			f.Time = fd.Value.Time()
		}
	}
	f.Sign, f.User, f.Cleared = signOf(ev, f.EventID, f.Channel)
	return f
}

// signOf says what ev, of event id eid in channel, is evidence of in
// itself, who did it and which log it says was cleared.
func signOf(ev *event.Event, eid int64, channel string) (sign Sign, user, cleared string) {
	switch eid {
	case 12, 104, 1100, 1101, 1102, 1104, 4608, 6006, 6009, 7036, 7040:
	default:
		return SignNone, "", "" // most events: no field more to read
	}
	provider := ev.Lookup(event.FieldProviderName).Text()
	subject := func() string {
		name := ev.Lookup("SubjectUserName").Text()
		if dom := ev.Lookup("SubjectDomainName").Text(); dom != "" && name != "" {
			name = dom + `\` + name
		}
		return name
	}
	eventlog := strings.EqualFold(provider, "Microsoft-Windows-Eventlog") || strings.EqualFold(provider, "EventLog")
	switch {
	case eid == 1102 && eventlog && strings.EqualFold(channel, "Security"):
		return SignCleared, subject(), ""
	case eid == 104 && eventlog:
		cleared = ev.Lookup("UserData_Channel").Text()
		if cleared == "" {
			cleared = ev.Lookup("Channel").Text()
		}
		return SignCleared, subject(), cleared
	case eid == 1100 && eventlog, eid == 6006 && eventlog:
		return SignStop, "", ""
	case eid == 7036 && strings.EqualFold(ev.Lookup("param1").Text(), "Windows Event Log") && strings.EqualFold(ev.Lookup("param2").Text(), "stopped"):
		return SignStop, "", ""
	case eid == 7040 && strings.EqualFold(ev.Lookup("param4").Text(), "EventLog") && strings.EqualFold(ev.Lookup("param3").Text(), "disabled"):
		return SignDisabled, ev.Lookup(event.FieldUserID).Text(), ""
	case eid == 1104 && eventlog, eid == 1101 && eventlog:
		return SignLost, "", ""
	case eid == 4608 && strings.EqualFold(channel, "Security"),
		eid == 6009 && eventlog,
		eid == 12 && strings.EqualFold(provider, "Microsoft-Windows-Kernel-General"):
		return SignBoot, "", ""
	}
	return SignNone, "", ""
}
