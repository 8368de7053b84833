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

// fallbackRouter is a small built-in Router used when Options.Router is
// nil. It is a FALLBACK for tests and for running before the logsource
// pipeline exists: it knows the Windows services and the Sysmon
// categories by their usual channels and event IDs, renames a few Security
// 4688 fields, and routes any other Windows logsource to every event.
// The pipeline (pipeline*.go) replaces it.
type fallbackRouter struct{}

// Route implements Router.
func (fallbackRouter) Route(ls sigma.Logsource) (Route, error) {
	if ls.Product != "" && ls.Product != "windows" {
		return Route{}, ErrUnknownLogsource
	}
	if ls.Service != "" {
		ch, ok := fallbackServices[ls.Service]
		if !ok {
			return Route{}, ErrUnknownLogsource
		}
		return Route{Sources: []Source{{Channel: ch}}}, nil
	}
	if ls.Category != "" {
		if ls.Category == "process_creation" {
			return Route{Sources: []Source{
				{Channel: sysmonChannel, EventIDs: []uint32{1}},
				{Channel: "Security", EventIDs: []uint32{4688}, Fields: map[string][]string{
					"Image":             {"NewProcessName"},
					"ParentImage":       {"ParentProcessName"},
					"LogonId":           {"SubjectLogonId"},
					"ProcessId":         {"NewProcessId"},
					"ParentProcessId":   {"ProcessId"},
					"IntegrityLevel":    {"MandatoryLabel"},
					"User":              {"SubjectUserName"},
					"ParentCommandLine": {"ParentCommandLine"},
				}},
			}}, nil
		}
		ids, ok := fallbackSysmon[ls.Category]
		if !ok {
			return Route{}, nil // unknown category: every event
		}
		return Route{Sources: []Source{{Channel: sysmonChannel, EventIDs: ids}}}, nil
	}
	return Route{}, nil
}

const sysmonChannel = "Microsoft-Windows-Sysmon/Operational"

// fallbackServices maps a few Windows services to their channels.
var fallbackServices = map[string]string{
	"security":                             "Security",
	"system":                               "System",
	"application":                          "Application",
	"sysmon":                               sysmonChannel,
	"powershell":                           "Microsoft-Windows-PowerShell/Operational",
	"powershell-classic":                   "Windows PowerShell",
	"taskscheduler":                        "Microsoft-Windows-TaskScheduler/Operational",
	"wmi":                                  "Microsoft-Windows-WMI-Activity/Operational",
	"windefend":                            "Microsoft-Windows-Windows Defender/Operational",
	"bits-client":                          "Microsoft-Windows-Bits-Client/Operational",
	"codeintegrity-operational":            "Microsoft-Windows-CodeIntegrity/Operational",
	"firewall-as":                          "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
	"dns-server":                           "DNS Server",
	"driver-framework":                     "Microsoft-Windows-DriverFrameworks-UserMode/Operational",
	"ntlm":                                 "Microsoft-Windows-NTLM/Operational",
	"terminalservices-localsessionmanager": "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
	"appxdeployment-server":                "Microsoft-Windows-AppXDeploymentServer/Operational",
	"msexchange-management":                "MSExchange Management",
	"printservice-admin":                   "Microsoft-Windows-PrintService/Admin",
	"printservice-operational":             "Microsoft-Windows-PrintService/Operational",
	"smbclient-security":                   "Microsoft-Windows-SmbClient/Security",
	"openssh":                              "OpenSSH/Operational",
	"diagnosis-scripted":                   "Microsoft-Windows-Diagnosis-Scripted/Operational",
	"shell-core":                           "Microsoft-Windows-Shell-Core/Operational",
	"applocker":                            "Microsoft-Windows-AppLocker/EXE and DLL",
	"ldap_debug":                           "Microsoft-Windows-LDAP-Client/Debug",
	"security-mitigations":                 "Microsoft-Windows-Security-Mitigations/KernelMode",
	"capi2":                                "Microsoft-Windows-CAPI2/Operational",
	"certificateservicesclient-lifecycle-system": "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
}

// fallbackSysmon maps the Sysmon categories to their event IDs.
var fallbackSysmon = map[string][]uint32{
	"network_connection":       {3},
	"sysmon_status":            {4, 16},
	"process_termination":      {5},
	"driver_load":              {6},
	"image_load":               {7},
	"create_remote_thread":     {8},
	"raw_access_thread":        {9},
	"process_access":           {10},
	"file_event":               {11},
	"registry_add":             {12},
	"registry_delete":          {12},
	"registry_event":           {12, 13, 14},
	"registry_set":             {13},
	"registry_rename":          {14},
	"create_stream_hash":       {15},
	"pipe_created":             {17, 18},
	"wmi_event":                {19, 20, 21},
	"dns_query":                {22},
	"file_delete":              {23, 26},
	"clipboard_capture":        {24},
	"process_tampering":        {25},
	"file_delete_detected":     {26},
	"file_block_executable":    {27},
	"file_block_shredding":     {28},
	"file_executable_detected": {29},
	"sysmon_error":             {255},
}
