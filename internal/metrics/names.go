package metrics

import "strings"

// eventNames names the common event IDs of the logs hunters read, by
// lower-cased channel. IDs are per provider in Windows; within these
// channels the providers named here own them.
var eventNames = map[string]map[int64]string{
	"security": {
		1100: "event logging service shut down", 1102: "audit log cleared", 1104: "security log full",
		4608: "Windows starting up", 4609: "Windows shutting down", 4616: "system time changed",
		4624: "logon", 4625: "logon failed", 4634: "logoff", 4647: "user-initiated logoff",
		4648: "logon with explicit credentials", 4656: "handle to an object requested",
		4657: "registry value modified", 4662: "operation on an object (AD)", 4663: "object access attempt",
		4670: "permissions on an object changed", 4672: "special privileges assigned to logon",
		4673: "privileged service called", 4674: "operation on a privileged object",
		4688: "process created", 4689: "process exited", 4697: "service installed",
		4698: "scheduled task created", 4699: "scheduled task deleted", 4700: "scheduled task enabled",
		4701: "scheduled task disabled", 4702: "scheduled task updated", 4703: "token rights adjusted",
		4719: "audit policy changed", 4720: "user account created", 4722: "user account enabled",
		4723: "password change attempt", 4724: "password reset attempt", 4725: "user account disabled",
		4726: "user account deleted", 4727: "global group created", 4728: "member added to global group",
		4729: "member removed from global group", 4732: "member added to local group",
		4733: "member removed from local group", 4738: "user account changed", 4740: "user account locked out",
		4742: "computer account changed", 4756: "member added to universal group",
		4767: "user account unlocked", 4768: "Kerberos TGT requested", 4769: "Kerberos service ticket requested",
		4770: "Kerberos service ticket renewed", 4771: "Kerberos pre-authentication failed",
		4776: "NTLM credential validation", 4778: "session reconnected", 4779: "session disconnected",
		4781: "account name changed", 4798: "user's local groups enumerated",
		4799: "local group membership enumerated", 4826: "boot configuration data loaded",
		4907: "auditing settings on an object changed", 4946: "firewall exception rule added",
		4947: "firewall exception rule modified", 4964: "special groups assigned to logon",
		5038: "code integrity: invalid image hash", 5058: "key file operation", 5059: "key migration operation",
		5061: "cryptographic operation", 5136: "directory object modified", 5137: "directory object created",
		5140: "network share accessed", 5142: "network share added", 5144: "network share deleted",
		5145: "network share object checked", 5152: "WFP blocked a packet", 5154: "WFP permitted a listen",
		5156: "WFP permitted a connection", 5157: "WFP blocked a connection", 5158: "WFP permitted a bind",
		5379: "credential manager credentials read", 6416: "external device recognised",
	},
	"microsoft-windows-sysmon/operational": {
		1: "process created", 2: "file creation time changed", 3: "network connection",
		4: "Sysmon service state changed", 5: "process terminated", 6: "driver loaded", 7: "image loaded",
		8: "CreateRemoteThread", 9: "raw access read", 10: "process accessed", 11: "file created",
		12: "registry object added or deleted", 13: "registry value set", 14: "registry object renamed",
		15: "file stream created", 16: "Sysmon configuration changed", 17: "pipe created", 18: "pipe connected",
		19: "WMI event filter", 20: "WMI event consumer", 21: "WMI consumer bound to filter",
		22: "DNS query", 23: "file deleted (archived)", 24: "clipboard changed", 25: "process tampering",
		26: "file deleted", 27: "file block executable", 28: "file block shredding",
		29: "file executable detected", 255: "Sysmon error",
	},
	"system": {
		12: "operating system started", 13: "operating system shutting down", 41: "rebooted without a clean shutdown",
		104: "event log cleared", 1074: "shutdown or restart initiated", 6005: "event log service started",
		6006: "event log service stopped", 6008: "unexpected shutdown", 6009: "OS version at boot",
		6013: "system uptime", 7000: "service failed to start", 7009: "service start timed out",
		7030: "interactive service", 7031: "service terminated unexpectedly", 7034: "service crashed",
		7035: "service control sent", 7036: "service state changed", 7040: "service start type changed",
		7045: "service installed",
	},
	"microsoft-windows-powershell/operational": {
		4100: "PowerShell error", 4103: "module logging (pipeline execution)", 4104: "script block logged",
		4105: "script block started", 4106: "script block stopped", 40961: "PowerShell console starting",
		40962: "PowerShell console ready", 53504: "PowerShell named pipe IPC",
	},
	"windows powershell": {
		400: "engine started", 403: "engine stopped", 600: "provider started", 800: "pipeline executed",
	},
	"microsoft-windows-taskscheduler/operational": {
		100: "task started", 102: "task completed", 106: "task registered", 129: "task process created",
		140: "task updated", 141: "task deleted", 200: "task action started", 201: "task action completed",
	},
	"microsoft-windows-terminalservices-localsessionmanager/operational": {
		21: "RDP session logon", 22: "RDP shell start", 23: "RDP session logoff", 24: "RDP session disconnected",
		25: "RDP session reconnected", 39: "session disconnected by another", 40: "session disconnected, reason",
	},
	"microsoft-windows-terminalservices-remoteconnectionmanager/operational": {
		261: "RDP listener received a connection", 1149: "RDP user authentication succeeded",
	},
	"microsoft-windows-wmi-activity/operational": {
		5857: "WMI provider loaded", 5858: "WMI error", 5859: "WMI event consumer registered",
		5860: "WMI temporary event registered", 5861: "WMI permanent event consumer bound",
	},
	"microsoft-windows-windows defender/operational": {
		1006: "malware found", 1007: "malware action taken", 1008: "malware action failed",
		1116: "malware detected", 1117: "malware action taken", 1118: "malware action failed",
		1119: "malware action failed critically", 5001: "real-time protection disabled",
		5004: "real-time protection configuration changed", 5007: "configuration changed",
		5010: "malware scanning disabled", 5012: "virus scanning disabled",
	},
	"microsoft-windows-bits-client/operational": {
		3: "BITS job created", 59: "BITS transfer started", 60: "BITS transfer stopped",
	},
	"application": {
		1000: "application error", 1001: "Windows Error Reporting", 1002: "application hang",
		1033: "MSI product installed", 1034: "MSI product removed", 11707: "MSI installation succeeded",
		11724: "MSI product removal succeeded",
	},
}

// EventName returns the name of a common event ID of a channel (compared
// case-insensitively), or "".
func EventName(channel string, id int64) string {
	return eventNames[strings.ToLower(channel)][id]
}
