package html

import "strings"

// tactic is one MITRE ATT&CK Enterprise tactic.
type tactic struct {
	ID   string // TA0001
	Name string // Initial Access
	Slug string // initial-access, as in Sigma tags (attack.initial-access)
}

// tactics are the ATT&CK Enterprise tactics in kill-chain order, with
// ATT&CK v19's Stealth (which kept TA0005) and Defense Impairment beside
// Defense Evasion, which they split (rules tag either).
var tactics = [...]tactic{
	{"TA0043", "Reconnaissance", "reconnaissance"},
	{"TA0042", "Resource Development", "resource-development"},
	{"TA0001", "Initial Access", "initial-access"},
	{"TA0002", "Execution", "execution"},
	{"TA0003", "Persistence", "persistence"},
	{"TA0004", "Privilege Escalation", "privilege-escalation"},
	{"TA0005", "Defense Evasion", "defense-evasion"},
	{"TA0005", "Stealth", "stealth"},
	{"TA0112", "Defense Impairment", "defense-impairment"},
	{"TA0006", "Credential Access", "credential-access"},
	{"TA0007", "Discovery", "discovery"},
	{"TA0008", "Lateral Movement", "lateral-movement"},
	{"TA0009", "Collection", "collection"},
	{"TA0011", "Command and Control", "command-and-control"},
	{"TA0010", "Exfiltration", "exfiltration"},
	{"TA0040", "Impact", "impact"},
}

// tacticIndex returns the kill-chain position of a tactic named by its
// Sigma tag ("attack.defense-evasion", "attack.defense_evasion"), its name
// ("Defense Evasion") or its ID ("TA0005"), or -1 when it is none of them (an ID shared by two, TA0005, names the first).
func tacticIndex(s string) int {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "attack.")
	s = strings.NewReplacer("_", "-", " ", "-").Replace(s)
	for i, t := range tactics {
		if s == t.Slug || s == strings.ToLower(t.ID) {
			return i
		}
	}
	return -1
}

// tacticName returns the display name of a tactic, or s itself when it is
// not one of them.
func tacticName(s string) string {
	if i := tacticIndex(s); i >= 0 {
		return tactics[i].Name
	}
	return s
}
