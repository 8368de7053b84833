package detect

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// TestDefenderFieldsWithSpaces matches real Windows Defender records, which
// name their fields with spaces ("Severity ID", "Threat Name", "Process
// Name"), against rules that write the names without them, as Sigma and
// Hayabusa rules do: Hayabusa's own Defender rules and rules written here
// on the names SigmaHQ's windefend rules use.
func TestDefenderFieldsWithSpaces(t *testing.T) {
	path := sharedPath(t, "datasets", "evtx-attack-samples", "AutomatedTestingTools", "WinDefender_Events_1117_1116_AtomicRedTeam.evtx")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := evtx.Open(bytes.NewReader(data), int64(len(data)), evtx.Options{Source: path, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	events := readAll(t, r, path)

	c, err := sigma.LoadPaths([]string{sharedPath(t, "datasets", "hayabusa-rules", "hayabusa", "builtin", "WindowsDefender")})
	if err != nil {
		t.Fatal(err)
	}
	const own = `
title: process name
id: own-process
logsource: {product: windows, service: windefend}
detection:
    sel: {EventID: 1117, ProcessName|endswith: '\powershell.exe', SourceName: '%%818'}
    condition: sel
---
title: threat and category
id: own-threat
logsource: {product: windows, service: windefend}
detection:
    sel: {ThreatName|startswith: 'HackTool:', Category_Name: Tool, Path|contains: '\T1100\'}
    condition: sel
---
title: antivirus signature
id: own-av
logsource: {category: antivirus}
detection:
    sel: {Signature|startswith: 'Backdoor:ASP/', Filename|endswith: '.aspx'}
    condition: sel
`
	oc := sigma.Parse([]byte(own), "own.yml")
	if len(oc.Errors) > 0 {
		t.Fatal(oc.Errors)
	}
	rules := append(c.Rules, oc.Rules...)
	e, errs := Compile(rules, nil, Options{Router: DefaultPipeline()})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	got := map[string]int{}
	m := e.NewMatcher()
	for _, ev := range events {
		for _, d := range m.Match(ev, nil) {
			name := d.Rule.Sigma.ID
			if f := d.Rule.Sigma.Pos.File; filepath.Base(f) != "own.yml" {
				name = filepath.Base(f)
			}
			got[name]++
		}
	}
	want := map[string]int{
		"Defender_1116_Crit_Alert.yml": 4, // 1116 with Severity ID 5
		"Defender_1116_High_Alert.yml": 2, // 1116 with Severity ID 4
		"own-process":                  5, // the five 1117 records
		"own-threat":                   3, // HackTool:JS/Jsprat under \T1100\, Category Name Tool
		"own-av":                       1, // Backdoor:ASP/Ace.T in 1116 (the antivirus route leaves 1117 out)
	}
	if len(events) != 11 {
		t.Errorf("got %d events, want 11", len(events))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: got %d detections, want %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: got %d detections, want none", k, n)
		}
	}
}
