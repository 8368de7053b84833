package jsonlog

import (
	"strconv"
	"unsafe"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Canonical System fields, in the order an EVTX record holds them. The
// order is used to put System fields first for nested shapes.
const (
	cNone uint8 = iota
	cProviderName
	cProviderGUID
	cEventSourceName
	cEventID
	cQualifiers
	cVersion
	cLevel
	cTask
	cOpcode
	cKeywords
	cTimeCreated
	cEventRecordID
	cActivityID
	cRelatedActivityID
	cProcessID
	cThreadID
	cChannel
	cComputer
	cUserID
	cSystemEnd // canonical ids below are not System fields
	cMessage
	nCanon
)

var canonNames = [nCanon]string{
	cProviderName:      event.FieldProviderName,
	cProviderGUID:      event.FieldProviderGUID,
	cEventSourceName:   event.FieldEventSourceName,
	cEventID:           event.FieldEventID,
	cQualifiers:        event.FieldQualifiers,
	cVersion:           event.FieldVersion,
	cLevel:             event.FieldLevel,
	cTask:              event.FieldTask,
	cOpcode:            event.FieldOpcode,
	cKeywords:          event.FieldKeywords,
	cTimeCreated:       event.FieldTimeCreated,
	cEventRecordID:     event.FieldEventRecordID,
	cActivityID:        event.FieldActivityID,
	cRelatedActivityID: event.FieldRelatedActivityID,
	cProcessID:         event.FieldProcessID,
	cThreadID:          event.FieldThreadID,
	cChannel:           event.FieldChannel,
	cComputer:          event.FieldComputer,
	cUserID:            event.FieldUserID,
	cMessage:           "Message",
}

// canonOf returns the canonical id of a name that is already canonical.
func canonOf(name string) uint8 {
	switch name {
	case event.FieldProviderName:
		return cProviderName
	case event.FieldProviderGUID:
		return cProviderGUID
	case event.FieldEventSourceName:
		return cEventSourceName
	case event.FieldEventID:
		return cEventID
	case event.FieldQualifiers:
		return cQualifiers
	case event.FieldVersion:
		return cVersion
	case event.FieldLevel:
		return cLevel
	case event.FieldTask:
		return cTask
	case event.FieldOpcode:
		return cOpcode
	case event.FieldKeywords:
		return cKeywords
	case event.FieldTimeCreated:
		return cTimeCreated
	case event.FieldEventRecordID:
		return cEventRecordID
	case event.FieldActivityID:
		return cActivityID
	case event.FieldRelatedActivityID:
		return cRelatedActivityID
	case event.FieldProcessID:
		return cProcessID
	case event.FieldThreadID:
		return cThreadID
	case event.FieldChannel:
		return cChannel
	case event.FieldComputer:
		return cComputer
	case event.FieldUserID:
		return cUserID
	}
	return cNone
}

// When a candidate applies.
const (
	condAlways uint8 = iota
	condWLB6         // the object is a Winlogbeat 6 event
	condWLB          // the object is a Winlogbeat event of any version
)

// cand marks a field as a candidate for a canonical name. For each
// canonical name, the applicable candidate of the lowest rank (the first
// one on ties) takes the name; the others keep their own.
type cand struct {
	canon uint8
	rank  uint8
	cond  uint8
}

// Ranks.
const (
	rExact    = 0 // an exporter's name that is the System field for sure
	rDirect   = 1 // the key is the canonical name
	rAlias    = 2 // a well-known exporter name for the field
	rAlias2   = 3 // a second choice
	rFallback = 4 // used only when nothing better is present
	rLast     = 5 // a time without a zone, below everything else
)

// topCand returns the candidacy of a top-level key of a flat object.
func topCand(k string) cand {
	switch k {
	// Already canonical.
	case event.FieldEventID, event.FieldChannel, event.FieldComputer,
		event.FieldProviderName, event.FieldProviderGUID, event.FieldEventRecordID,
		event.FieldTimeCreated, event.FieldLevel, event.FieldTask, event.FieldOpcode,
		event.FieldKeywords, event.FieldVersion, event.FieldProcessID, event.FieldThreadID,
		event.FieldUserID, event.FieldActivityID, event.FieldRelatedActivityID,
		event.FieldQualifiers:
		return cand{canonOf(k), rDirect, condAlways}

	// nxlog im_msvistalog and Azure Sentinel / Log Analytics.
	case "Hostname":
		return cand{cComputer, rAlias, condAlways}
	case "SourceName":
		return cand{cProviderName, rAlias, condAlways}
	case "EventSourceName":
		return cand{cProviderName, rAlias2, condAlways}
	case "Source":
		return cand{cProviderName, rFallback, condAlways}
	case "ProviderGuid":
		return cand{cProviderGUID, rAlias, condAlways}
	case "RecordNumber":
		return cand{cEventRecordID, rAlias, condAlways}
	case "ExecutionProcessID":
		// nxlog's System ProcessID: a "ProcessID" beside it is EventData.
		return cand{cProcessID, rExact, condAlways}
	case "EventLog":
		return cand{cChannel, rAlias, condAlways}
	case "TimeGenerated":
		return cand{cTimeCreated, rAlias, condAlways}
	case "EventTime":
		return cand{cTimeCreated, rAlias2, condAlways}
	case "@timestamp":
		return cand{cTimeCreated, rFallback, condAlways}

	// Winlogbeat 6.
	case "log_name":
		return cand{cChannel, rAlias, condWLB6}
	case "source_name":
		return cand{cProviderName, rAlias, condWLB6}
	case "provider_guid":
		return cand{cProviderGUID, rAlias, condWLB6}
	case "computer_name":
		return cand{cComputer, rAlias, condWLB6}
	case "event_id":
		return cand{cEventID, rAlias, condWLB6}
	case "record_number":
		return cand{cEventRecordID, rAlias, condWLB6}
	case "process_id":
		return cand{cProcessID, rAlias, condWLB6}
	case "thread_id":
		return cand{cThreadID, rAlias, condWLB6}
	case "activity_id":
		return cand{cActivityID, rAlias, condWLB6}
	case "related_activity_id":
		return cand{cRelatedActivityID, rAlias, condWLB6}
	case "opcode":
		return cand{cOpcode, rAlias, condWLB6}
	case "task":
		return cand{cTask, rAlias, condWLB6}
	case "keywords":
		return cand{cKeywords, rAlias, condWLB6}
	case "level":
		return cand{cLevel, rAlias, condWLB6}
	case "version":
		return cand{cVersion, rAlias, condWLB6}

	// Winlogbeat of any version (and ECS).
	case "message":
		return cand{cMessage, rAlias, condWLB}
	}
	return cand{}
}

// pathCand returns the candidacy of a nested key by its dotted path.
func pathCand(path string) cand {
	switch path {
	case "winlog.channel":
		return cand{cChannel, rAlias, condAlways}
	case "winlog.event_id":
		return cand{cEventID, rAlias, condAlways}
	case "winlog.computer_name":
		return cand{cComputer, rAlias, condAlways}
	case "winlog.provider_name":
		return cand{cProviderName, rAlias, condAlways}
	case "winlog.provider_guid":
		return cand{cProviderGUID, rAlias, condAlways}
	case "winlog.record_id":
		return cand{cEventRecordID, rAlias, condAlways}
	case "winlog.process.pid":
		return cand{cProcessID, rAlias, condAlways}
	case "winlog.process.thread.id":
		return cand{cThreadID, rAlias, condAlways}
	case "winlog.user.identifier":
		return cand{cUserID, rAlias, condAlways}
	case "winlog.opcode":
		return cand{cOpcode, rAlias, condAlways}
	case "winlog.task":
		return cand{cTask, rAlias, condAlways}
	case "winlog.keywords":
		return cand{cKeywords, rAlias, condAlways}
	case "winlog.activity_id":
		return cand{cActivityID, rAlias, condAlways}
	case "winlog.related_activity_id":
		return cand{cRelatedActivityID, rAlias, condAlways}
	case "winlog.version":
		return cand{cVersion, rAlias, condAlways}
	case "winlog.level":
		return cand{cLevel, rAlias, condAlways}
	case "user.identifier":
		return cand{cUserID, rAlias, condWLB6}
	case "event.code":
		return cand{cEventID, rFallback, condAlways}
	case "host.name":
		return cand{cComputer, rFallback, condWLB}
	}
	return cand{}
}

// normalize gives the value of a canonical field the kind the EVTX reader
// gives it: decimal strings of numeric System fields become integers,
// Keywords become hexadecimal text, TimeCreated a Time. ok is false when a
// TimeCreated value is not a time; zoned reports whether it had a zone.
func (b *builder) normalize(c uint8, v event.Value) (out event.Value, ok, zoned bool) {
	switch c {
	case cEventID, cQualifiers, cVersion, cLevel, cTask, cOpcode,
		cEventRecordID, cProcessID, cThreadID:
		if v.Kind() == event.String {
			if n, ok := decimal(v.Str()); ok {
				return n, true, false
			}
		}
	case cKeywords:
		switch v.Kind() {
		case event.Int, event.Uint:
			off := len(b.arena)
			b.arena = append(b.arena, "0x"...)
			b.arena = strconv.AppendUint(b.arena, v.Uint(), 16)
			return event.StringValue(unsafe.String(&b.arena[off], len(b.arena)-off)), true, false
		}
	case cTimeCreated:
		switch v.Kind() {
		case event.Time:
			return v, true, true
		case event.String:
			t, zoned, ok := parseTime(v.Str())
			if !ok {
				return v, false, false
			}
			return event.TimeValue(t), true, zoned
		}
		return v, false, false
	}
	return v, true, false
}

// decimal parses a string of decimal digits that fits an int64.
func decimal(s string) (event.Value, bool) {
	if len(s) == 0 || len(s) > 19 {
		return event.Value{}, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return event.Value{}, false
		}
		n = n*10 + int64(c-'0')
	}
	if n < 0 {
		return event.Value{}, false
	}
	return event.IntValue(n), true
}
