package hunt

import (
	"strings"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// keyFields are the fields that say what an event of a Sigma logsource
// category is about, in display order. Several names for one thing (Sysmon
// and Security) are listed together; only those present are shown.
var keyFields = map[string][]string{
	"process_creation": {"Image", "NewProcessName", "CommandLine", "ParentImage", "ParentProcessName", "ParentCommandLine",
		"User", "SubjectUserName", "IntegrityLevel", "CurrentDirectory", "Hashes"},
	"process_access":     {"SourceImage", "TargetImage", "GrantedAccess", "CallTrace", "SourceUser"},
	"network_connection": {"Image", "User", "Initiated", "Protocol", "SourceIp", "SourcePort", "DestinationIp", "DestinationPort", "DestinationHostname"},
	"image_load":         {"Image", "ImageLoaded", "Signed", "Signature", "User"},
	"driver_load":        {"ImageLoaded", "Signed", "Signature", "Hashes"},
	"file_event":         {"Image", "TargetFilename", "User"},
	"file_delete":        {"Image", "TargetFilename", "User"},
	"file_access":        {"Image", "TargetFilename", "User"},
	"file_rename":        {"Image", "SourceFilename", "TargetFilename", "User"},
	"file_change":        {"Image", "TargetFilename", "CreationUtcTime", "PreviousCreationUtcTime"},
	"registry_set":       {"EventType", "Image", "TargetObject", "Details", "User"},
	"registry_add":       {"EventType", "Image", "TargetObject", "User"},
	"registry_delete":    {"EventType", "Image", "TargetObject", "User"},
	"registry_event":     {"EventType", "Image", "TargetObject", "Details", "NewName", "User"},
	"registry_rename":    {"EventType", "Image", "TargetObject", "NewName", "User"},
	"create_remote_thread": {"SourceImage", "TargetImage", "StartAddress", "StartModule", "StartFunction",
		"SourceUser"},
	"create_stream_hash":       {"Image", "TargetFilename", "Hash", "Contents"},
	"pipe_created":             {"Image", "PipeName", "User"},
	"dns_query":                {"Image", "QueryName", "QueryResults", "User"},
	"wmi_event":                {"EventType", "Operation", "Consumer", "Filter", "Destination", "Query", "Name", "User"},
	"ps_script":                {"ScriptBlockText", "Path"},
	"ps_module":                {"Payload", "ContextInfo"},
	"ps_classic_start":         {"Data"},
	"raw_access_thread":        {"Image", "Device", "User"},
	"process_tampering":        {"Image", "Type", "User"},
	"sysmon_error":             {"Description"},
	"clipboard_capture":        {"Image", "Archived", "User"},
	"file_executable_detected": {"Image", "TargetFilename", "User"},
}

// keyFieldsByEventID are the key fields of well-known events of the
// Security and System logs (rules with a service, not a category).
var keyFieldsByEventID = map[int64][]string{
	// Logons.
	4624: {"TargetUserName", "TargetDomainName", "LogonType", "IpAddress", "WorkstationName", "AuthenticationPackageName", "LogonProcessName", "ProcessName"},
	4625: {"TargetUserName", "TargetDomainName", "LogonType", "IpAddress", "WorkstationName", "Status", "SubStatus", "ProcessName"},
	4648: {"SubjectUserName", "TargetUserName", "TargetServerName", "IpAddress", "ProcessName"},
	4672: {"SubjectUserName", "SubjectDomainName", "PrivilegeList"},
	4768: {"TargetUserName", "IpAddress", "TicketEncryptionType", "Status"},
	4769: {"TargetUserName", "ServiceName", "IpAddress", "TicketEncryptionType", "Status"},
	4776: {"TargetUserName", "Workstation", "Status"},
	// Processes, tasks, services, objects, accounts.
	4688: {"NewProcessName", "CommandLine", "ParentProcessName", "SubjectUserName", "TokenElevationType"},
	4698: {"SubjectUserName", "TaskName", "TaskContent"},
	4699: {"SubjectUserName", "TaskName"},
	4702: {"SubjectUserName", "TaskName", "TaskContentNew"},
	4697: {"SubjectUserName", "ServiceName", "ServiceFileName", "ServiceType", "ServiceStartType", "ServiceAccount"},
	7045: {"ServiceName", "ImagePath", "ServiceType", "StartType", "AccountName"},
	7036: {"param1", "param2"},
	7040: {"param1", "param2", "param3"},
	4656: {"SubjectUserName", "ObjectType", "ObjectName", "ProcessName", "AccessMask"},
	4663: {"SubjectUserName", "ObjectType", "ObjectName", "ProcessName", "AccessMask"},
	4662: {"SubjectUserName", "ObjectType", "ObjectName", "Properties", "AccessMask"},
	5140: {"SubjectUserName", "ShareName", "RelativeTargetName", "IpAddress"},
	5145: {"SubjectUserName", "ShareName", "RelativeTargetName", "IpAddress", "AccessMask"},
	4720: {"SubjectUserName", "TargetUserName", "TargetDomainName"},
	4722: {"SubjectUserName", "TargetUserName"},
	4728: {"SubjectUserName", "MemberName", "TargetUserName"},
	4732: {"SubjectUserName", "MemberName", "TargetUserName"},
	4738: {"SubjectUserName", "TargetUserName", "UserAccountControl"},
	1102: {"SubjectUserName", "SubjectDomainName"},
	104:  {"SubjectUserName", "Channel"},
}

// maxFallbackFields caps the fields shown for an event whose kind has no
// key fields: its first data fields.
const maxFallbackFields = 12

// maxValue caps the length of a field value kept in a Detection (bytes).
const maxValue = 4096

// systemFields are the event fields every detection shows as columns of its
// own; they are not repeated among its Fields.
var systemFields = map[string]bool{
	event.FieldProviderName: true, event.FieldProviderGUID: true, event.FieldEventSourceName: true,
	event.FieldEventID: true, event.FieldQualifiers: true, event.FieldVersion: true, event.FieldLevel: true,
	event.FieldTask: true, event.FieldOpcode: true, event.FieldKeywords: true, event.FieldTimeCreated: true,
	event.FieldEventRecordID: true, event.FieldActivityID: true, event.FieldRelatedActivityID: true,
	event.FieldProcessID: true, event.FieldThreadID: true, event.FieldChannel: true, event.FieldComputer: true,
	event.FieldUserID: true,
}

// ruleFields returns the event fields a rule's detection names, in the
// order written, each once, without the system fields.
func ruleFields(r *sigma.Rule) []string {
	var names []string
	for _, s := range r.Detection.Searches {
		for _, alt := range s.Alternatives {
			for _, fm := range alt {
				name := fm.Field
				if name == "" || systemFields[name] || contains(names, name) {
					continue
				}
				names = append(names, name)
			}
		}
	}
	return names
}

// explain appends to dst the fields of ev that explain a detection of a
// rule: first the rule's own fields (names), then the key fields of the
// rule's category or of the event's ID, each once; when none of those is
// present, the event's first data fields.
func explain(dst []result.Field, ev *event.Event, names []string, category string, eventID int64, intern func(string) string) []result.Field {
	start := len(dst)
	add := func(name string) {
		v, ok := ev.Get(name)
		if !ok || v.IsNull() {
			return
		}
		for _, f := range dst[start:] {
			if f.Name == name {
				return
			}
		}
		dst = append(dst, result.Field{Name: intern(name), Value: valueText(v)})
	}
	for _, n := range names {
		add(n)
	}
	keys := keyFields[category]
	if keys == nil {
		keys = keyFieldsByEventID[eventID]
	}
	for _, n := range keys {
		add(n)
	}
	if len(dst) > start {
		return dst
	}
	for i := range ev.Fields {
		f := &ev.Fields[i]
		if systemFields[f.Name] || f.Value.IsNull() {
			continue
		}
		dst = append(dst, result.Field{Name: intern(f.Name), Value: valueText(f.Value)})
		if len(dst)-start == maxFallbackFields {
			break
		}
	}
	return dst
}

// valueText renders v as text that shares no memory with the event, cut to
// maxValue bytes (on a rune boundary, with an ellipsis).
func valueText(v event.Value) string {
	s := v.Text()
	if len(s) > maxValue {
		cut := maxValue
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.Clone(s)
}
