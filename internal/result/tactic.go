package result

import "github.com/spoor-hunt/spoor/internal/attack"

// Tactics are the ATT&CK Enterprise tactics in kill-chain order, the order
// of every list of tactics in a Result: fixed here, so that the hunt, the
// operation builder and the reports order tactics alike, without the
// knowledge base. ATT&CK v19 split Defense Evasion into Stealth (which kept
// its ID, TA0005) and Defense Impairment (TA0112); rules tag either name,
// so the three stand together where Defense Evasion stood.
var Tactics = []attack.Tactic{
	{ID: "TA0043", ShortName: "reconnaissance", Name: "Reconnaissance"},
	{ID: "TA0042", ShortName: "resource-development", Name: "Resource Development"},
	{ID: "TA0001", ShortName: "initial-access", Name: "Initial Access"},
	{ID: "TA0002", ShortName: "execution", Name: "Execution"},
	{ID: "TA0003", ShortName: "persistence", Name: "Persistence"},
	{ID: "TA0004", ShortName: "privilege-escalation", Name: "Privilege Escalation"},
	{ID: "TA0005", ShortName: "defense-evasion", Name: "Defense Evasion"},
	{ID: "TA0005", ShortName: "stealth", Name: "Stealth"},
	{ID: "TA0112", ShortName: "defense-impairment", Name: "Defense Impairment"},
	{ID: "TA0006", ShortName: "credential-access", Name: "Credential Access"},
	{ID: "TA0007", ShortName: "discovery", Name: "Discovery"},
	{ID: "TA0008", ShortName: "lateral-movement", Name: "Lateral Movement"},
	{ID: "TA0009", ShortName: "collection", Name: "Collection"},
	{ID: "TA0011", ShortName: "command-and-control", Name: "Command and Control"},
	{ID: "TA0010", ShortName: "exfiltration", Name: "Exfiltration"},
	{ID: "TA0040", ShortName: "impact", Name: "Impact"},
}
