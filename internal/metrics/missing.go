package metrics

import (
	"slices"
	"strings"
)

// Missing is something a hunter would want that the logs of some
// computers do not show, and the setting that would give it.
type Missing struct {
	What    string `json:"what"`
	Setting string `json:"setting"`
	// Computers are those whose logs lack it (of Of computers seen), by
	// name; "" is events without a Computer.
	Computers []string `json:"computers"`
	Of        int      `json:"of"`
}

// seen is what the events of one computer show, a bit each.
type seen uint16

const (
	seenSecurity seen = 1 << iota
	seenLogon         // Security 4624
	seen4688          // Security 4688
	seen4688Cmd       // a 4688 with a command line
	seenSysmon
	seenSysmon1 // Sysmon process creation
	seenPowerShell
	seenScriptBlock // PowerShell 4104
)

// sightings is what one event shows.
func sightings(channel string, id int64, cmdLine bool) seen {
	switch {
	case strings.EqualFold(channel, "Security"):
		s := seenSecurity
		switch id {
		case 4624:
			s |= seenLogon
		case 4688:
			s |= seen4688
			if cmdLine {
				s |= seen4688Cmd
			}
		}
		return s
	case strings.EqualFold(channel, "Microsoft-Windows-Sysmon/Operational"):
		if id == 1 {
			return seenSysmon | seenSysmon1
		}
		return seenSysmon
	case strings.EqualFold(channel, "Microsoft-Windows-PowerShell/Operational"):
		if id == 4104 {
			return seenPowerShell | seenScriptBlock
		}
		return seenPowerShell
	case strings.EqualFold(channel, "Windows PowerShell"):
		return seenPowerShell
	}
	return 0
}

// gaps are the things looked for: lacking says whether a computer's
// sightings lack it (false when it does not apply to that computer).
var gaps = []struct {
	what, setting string
	lacking       func(seen) bool
}{
	{
		"no Security log",
		`collect %SystemRoot%\System32\winevt\Logs\Security.evtx (logons, process creation, services, tasks, account changes)`,
		func(s seen) bool { return s&seenSecurity == 0 },
	},
	{
		"no Sysmon",
		"install Sysmon with a hunting configuration (sysmon -i config.xml; SwiftOnSecurity's sysmon-config or sysmon-modular): process creation with hashes, network connections, image loads, file, registry, DNS and WMI events",
		func(s seen) bool { return s&seenSysmon == 0 },
	},
	{
		"no process-creation auditing (no Security 4688, no Sysmon 1)",
		`Advanced Audit Policy Configuration > Detailed Tracking > Audit Process Creation: Success (auditpol /set /subcategory:"Process Creation" /success:enable)`,
		func(s seen) bool { return s&seenSecurity != 0 && s&(seen4688|seenSysmon1) == 0 },
	},
	{
		"no command line in process creation (Security 4688)",
		`Administrative Templates > System > Audit Process Creation > Include command line in process creation events (HKLM\Software\Microsoft\Windows\CurrentVersion\Policies\System\Audit ProcessCreationIncludeCmdLine_Enabled = 1)`,
		func(s seen) bool { return s&seen4688 != 0 && s&seen4688Cmd == 0 && s&seenSysmon1 == 0 },
	},
	{
		"no logon auditing (no Security 4624)",
		`Advanced Audit Policy Configuration > Logon/Logoff > Audit Logon: Success and Failure (auditpol /set /subcategory:"Logon" /success:enable /failure:enable)`,
		func(s seen) bool { return s&seenSecurity != 0 && s&seenLogon == 0 },
	},
	{
		"no PowerShell script-block logging (no PowerShell/Operational 4104)",
		`Administrative Templates > Windows Components > Windows PowerShell > Turn on PowerShell Script Block Logging (HKLM\SOFTWARE\Policies\Microsoft\Windows\PowerShell\ScriptBlockLogging EnableScriptBlockLogging = 1), and collect Microsoft-Windows-PowerShell%4Operational.evtx`,
		func(s seen) bool { return s&seenScriptBlock == 0 },
	},
}

// missing lists, for each gap, the computers whose sightings lack it.
func missing(hosts map[string]*seen) []Missing {
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	slices.Sort(names)
	var out []Missing
	for _, g := range gaps {
		m := Missing{What: g.what, Setting: g.setting, Of: len(names)}
		for _, h := range names {
			if g.lacking(*hosts[h]) {
				m.Computers = append(m.Computers, h)
			}
		}
		if len(m.Computers) > 0 {
			out = append(out, m)
		}
	}
	return out
}
