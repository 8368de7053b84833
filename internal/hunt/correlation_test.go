package hunt

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// deepBlue hunts files of DeepBlueCLI's evtx folder with the built-in rules.
func deepBlue(t *testing.T, opts Options, files ...string) *result.Result {
	t.Helper()
	var paths []string
	for _, f := range files {
		paths = append(paths, shared.Path(t, "datasets", "deepbluecli", "evtx", f))
	}
	opts.Workers = 2
	res, err := Run(t.Context(), paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// correlationsOf returns the correlation detections of res by rule ID.
func correlationsOf(t *testing.T, res *result.Result) map[string][]result.Detection {
	t.Helper()
	out := map[string][]result.Detection{}
	for _, d := range res.Detections {
		if d.Kind != result.KindCorrelation {
			continue
		}
		if d.Correlation == nil {
			t.Fatalf("correlation detection %q without Correlation", d.Rule.Title)
		}
		out[d.Rule.ID] = append(out[d.Rule.ID], d)
	}
	return out
}

const (
	guessingID = "d0fda816-dc89-4df8-a27a-c7065de5e706" // mr_win_security_password_guessing
	sprayID    = "e2f576e2-13bd-4bfa-a5cb-5a3cc1527c5b" // mr_win_security_password_spray_explicit_credentials
	// The building blocks: failed_network_logon and
	// explicit_credentials_remote.
	failedLogonID = "eb6f2f3b-b714-42e6-b45b-f753f5c926f1"
)

// TestCorrelationsDeepBlue: the built-in correlation rules fire on
// DeepBlueCLI's SMB password guessing and password spraying files with the
// right groups and counts, and their building blocks are not listed.
func TestCorrelationsDeepBlue(t *testing.T) {
	res := deepBlue(t, Options{}, "smb-password-guessing-security.evtx", "password-spray.evtx")
	if res.Rules.Correlations != 11 {
		t.Errorf("correlation rules: got %d, want the 11 built-in ones", res.Rules.Correlations)
	}
	corrs := correlationsOf(t, res)

	g := corrs[guessingID]
	if len(g) != 1 {
		t.Fatalf("password guessing: got %d matches, want 1", len(g))
	}
	c := g[0].Correlation
	wantGroup := []result.Field{{Name: "Computer", Value: "DESKTOP-M5SN04R"}, {Name: "TargetUserName", Value: "Administrator"}, {Name: "IpAddress", Value: "192.168.198.149"}}
	if !slices.Equal(c.Group, wantGroup) || c.Count != 3560 || len(c.Detections) != 3560 {
		t.Errorf("password guessing: got group %v, count %d, %d detections; want %v, 3,560", c.Group, c.Count, len(c.Detections), wantGroup)
	}
	if g[0].Computer != "DESKTOP-M5SN04R" || g[0].Rule.Level != "medium" || c.Type != "event_count" || c.Condition != "count >= 10" {
		t.Errorf("password guessing: got computer %q level %q type %q condition %q", g[0].Computer, g[0].Rule.Level, c.Type, c.Condition)
	}
	if !slices.Equal(g[0].Rule.Tactics, []string{"credential-access"}) || !slices.Equal(g[0].Rule.Techniques, []string{"T1110.001"}) {
		t.Errorf("password guessing: got tactics %v techniques %v", g[0].Rule.Tactics, g[0].Rule.Techniques)
	}
	if !c.Fired.Equal(g[0].Time) || c.Fired.Before(c.First) || c.Last.Before(c.Fired) {
		t.Errorf("password guessing: time %v, first %v, fired %v, last %v out of order", g[0].Time, c.First, c.Fired, c.Last)
	}
	for _, d := range c.Detections {
		if d.Rule.ID != failedLogonID || d.EventID != 4625 {
			t.Fatalf("password guessing counted %s %d, want failed_network_logon 4625 only", d.Rule.Title, d.EventID)
		}
	}
	if !slices.IsSortedFunc(c.Detections, func(a, b result.Detection) int { return a.Time.Compare(b.Time) }) {
		t.Error("password guessing: detections not in time order")
	}

	s := corrs[sprayID]
	if len(s) != 1 {
		t.Fatalf("password spray: got %d matches, want 1", len(s))
	}
	c = s[0].Correlation
	if c.Max != 41 || c.Value != 10 || c.Type != "value_count" || c.Count != len(c.Detections) {
		t.Errorf("password spray: got max %v value %v type %s count %d (%d detections); want 41 distinct accounts at most, 10 when it fired",
			c.Max, c.Value, c.Type, c.Count, len(c.Detections))
	}
	accounts := map[string]bool{}
	for _, d := range c.Detections {
		for _, f := range d.Fields {
			if f.Name == "TargetUserName" {
				accounts[f.Value] = true
			}
		}
	}
	if len(accounts) != 41 {
		t.Errorf("password spray: got %d distinct accounts among its detections, want 41", len(accounts))
	}

	// The building blocks are suppressed: counted, not listed.
	for _, d := range res.Detections {
		if d.Rule.ID == failedLogonID || d.Rule.Title == "Logon With Explicit Credentials to a Remote Server (Security 4648)" {
			t.Fatalf("building block %s listed on its own, want it suppressed", d.Rule.Title)
		}
	}
	if res.Suppressed < 3560+294 {
		t.Errorf("suppressed: got %d, want at least the 3,854 counted", res.Suppressed)
	}
	if res.Total != len(res.Detections) || res.Levels.Medium+res.Levels.High+res.Levels.Critical+res.Levels.Low+res.Levels.Informational != res.Total {
		t.Errorf("total %d and levels %+v disagree with %d detections", res.Total, res.Levels, len(res.Detections))
	}
	found := false
	for _, rc := range res.RuleCounts {
		if rc.ID == guessingID {
			found = rc.Count == 1 && rc.Description != ""
		}
	}
	if !found {
		t.Error("rule counts: want the guessing correlation once, with its description")
	}
}

// TestCorrelationsMinLevel: --min-level high keeps the high correlations
// running although their building blocks are low, and leaves out the
// medium one.
func TestCorrelationsMinLevel(t *testing.T) {
	res := deepBlue(t, Options{MinLevel: "high"}, "smb-password-guessing-security.evtx", "password-spray.evtx")
	corrs := correlationsOf(t, res)
	if len(corrs[sprayID]) != 1 {
		t.Errorf("password spray (high, over low building blocks): got %d matches, want 1", len(corrs[sprayID]))
	}
	if len(corrs[guessingID]) != 0 {
		t.Errorf("password guessing (medium): got %d matches, want none under --min-level high", len(corrs[guessingID]))
	}
	for _, d := range res.Detections {
		if sigma.LevelRank(d.Rule.Level) < sigma.LevelRank("high") {
			t.Errorf("got a %s detection (%s) under --min-level high", d.Rule.Level, d.Rule.Title)
		}
	}
	if res.Rules.Correlations != 5 {
		t.Errorf("correlation rules: got %d, want the 5 high ones", res.Rules.Correlations)
	}
}

// TestCorrelationsSQLAndKerberos: the SQL Server guessing correlation fires
// on a real brute force of "sa" (ten failed logins in a second), and the
// Kerberos spraying one does not on a real spray of nine accounts, one
// under its threshold; their building blocks are counted, not listed.
func TestCorrelationsSQLAndKerberos(t *testing.T) {
	const (
		mssqlID    = "6de8cff4-6250-4436-9fbf-72872f1f8e6a" // mr_win_mssql_password_guessing
		kerberosID = "6a480305-584c-464a-9499-fdc309a39b35" // mr_win_security_kerberos_password_spray
	)
	dir := shared.Path(t, "datasets", "evtx-attack-samples", "Credential Access")
	res, err := Run(t.Context(), []string{
		filepath.Join(dir, "MSSQL_multiple_failed_logon_EventID_18456.evtx"),
		filepath.Join(dir, "kerberos_pwd_spray_4771.evtx"),
	}, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	corrs := correlationsOf(t, res)
	m := corrs[mssqlID]
	if len(m) != 1 || m[0].Correlation.Count != 10 || m[0].Rule.Level != "medium" {
		t.Fatalf("SQL Server password guessing: got %d matches (%+v), want 1 counting 10 failures", len(m), m)
	}
	if n := len(corrs[kerberosID]); n != 0 {
		t.Errorf("Kerberos spraying: got %d matches on 9 accounts, want none under the threshold of 10", n)
	}
	for _, d := range res.Detections {
		if d.EventID == 18456 || d.EventID == 4771 {
			t.Errorf("building block %s listed on its own, want it suppressed", d.Rule.Title)
		}
	}
	if res.Suppressed < 10+9 {
		t.Errorf("suppressed: got %d, want at least the 10 SQL and 9 Kerberos failures", res.Suppressed)
	}
}

// attackSampleCorrelation hunts one evtx-attack-samples recording with the
// built-in rules and returns the result and the matches of correlation id.
func attackSampleCorrelation(t *testing.T, id string, folder, file string) (*result.Result, []result.Detection) {
	t.Helper()
	f := shared.Path(t, "datasets", "evtx-attack-samples", folder, file)
	res, err := Run(t.Context(), []string{f}, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return res, correlationsOf(t, res)[id]
}

// TestCorrelationRemoteTask: the temporal correlation ties the task updated
// in the recording to the network logon of the same session (the aliased
// logon ids), and its two building blocks are not listed.
func TestCorrelationRemoteTask(t *testing.T) {
	const remoteTaskID = "d79a83db-41be-4eb4-afc5-63d92674c8c6" // mr_win_security_remote_scheduled_task
	res, m := attackSampleCorrelation(t, remoteTaskID, "Lateral Movement", "remote task update 4624 4702 same logonid.evtx")
	if len(m) != 1 {
		t.Fatalf("remote task: got %d matches, want 1", len(m))
	}
	want := []result.Field{{Name: "Computer", Value: "01566s-win16-ir.threebeesco.com"}, {Name: "LogonId", Value: "0x21a8c68"}}
	if got := m[0].Correlation.Group; !slices.Equal(got, want) {
		t.Errorf("remote task group: got %v, want %v", got, want)
	}
	for _, d := range res.Detections {
		// network_logon_user and scheduled_task_registered
		if d.Rule.ID == "fef9b90b-7d59-4708-a695-c49081ca52e0" || d.Rule.ID == "6060b14d-e3d6-4d25-a3ab-4896963b4682" {
			t.Errorf("building block %s listed on its own, want it suppressed", d.Rule.Title)
		}
	}
}

// TestCorrelationPipeEnumeration: the value_count correlation counts the
// different pipes a remote client tried on the host within a minute.
func TestCorrelationPipeEnumeration(t *testing.T) {
	const pipeEnumID = "9014b662-2c6d-4f9d-a80b-1f56d9fc96ac" // mr_win_remote_named_pipe_enumeration
	_, m := attackSampleCorrelation(t, pipeEnumID, "Discovery", "Discovery_Remote_System_NamedPipes_Sysmon_18.evtx")
	if len(m) != 1 || m[0].Correlation.Value < 10 {
		t.Fatalf("pipe enumeration: got %d matches (%+v), want 1 counting at least 10 pipes", len(m), m)
	}
}

// TestCorrelationProcessListing: the value_count correlation counts the
// different processes one program outside the system folders opened for
// their details within a minute (Meterpreter's ps), and its building block
// is not listed.
func TestCorrelationProcessListing(t *testing.T) {
	const listingID = "77fe29c8-103d-4e63-844a-726527d63f77" // mr_win_process_listing_by_user_program
	res, m := attackSampleCorrelation(t, listingID, "Discovery", "discovery_meterpreter_ps_cmd_process_listing_sysmon_10.evtx")
	if len(m) == 0 || m[0].Correlation.Value < 10 {
		t.Fatalf("process listing: got %d matches (%+v), want at least 1 counting 10 processes or more", len(m), m)
	}
	for _, d := range res.Detections {
		if d.Rule.ID == "c77a14d0-aced-4458-b66b-208cc5cdc011" { // process_queried_by_user_program
			t.Errorf("building block %s listed on its own, want it suppressed", d.Rule.Title)
		}
	}
}

// TestCorrelationRemoteAutostartKey: the temporal_ordered correlations tie
// a Run value written by the WMI provider host to the remote RPC connection
// before it, and one written by a svchost process to the start of the
// Remote Registry service in that same process.
func TestCorrelationRemoteAutostartKey(t *testing.T) {
	for _, c := range []struct{ id, file string }{
		{"aef0c9c6-d84e-4cd0-8223-b4bb8a5d8ff7", "wmi_remote_registry_sysmon.evtx"},       // mr_win_remote_wmi_autostart_key
		{"48c60c8a-2ad7-4c55-933d-636934afa96c", "lm_remote_registry_sysmon_1_13_3.evtx"}, // mr_win_remote_registry_autostart_key
	} {
		_, m := attackSampleCorrelation(t, c.id, "Lateral Movement", c.file)
		if len(m) != 1 {
			t.Errorf("%s: got %d matches of %s, want 1", c.file, len(m), c.id)
		}
	}
}

// TestCorrelationEventLogRestart: the Event Log service entering the running
// state after Windows Error Reporting started is its restart after a crash.
func TestCorrelationEventLogRestart(t *testing.T) {
	const restartID = "28747bf9-daaf-4350-a603-4585461652e8" // mr_win_system_eventlog_restart_after_crash
	_, m := attackSampleCorrelation(t, restartID, "Defense Evasion", "DE_WinEventLogSvc_Crash_System_7036.evtx")
	if len(m) != 1 {
		t.Fatalf("event log restart: got %d matches, want 1", len(m))
	}
}

// TestCorrelationsExcluded: a correlation left out by name does not run,
// and its building block is then listed as a detection of its own only if
// another correlation does not suppress it.
func TestCorrelationsExcluded(t *testing.T) {
	res := deepBlue(t, Options{Exclude: []string{sprayID}}, "password-spray.evtx")
	if n := len(correlationsOf(t, res)[sprayID]); n != 0 {
		t.Errorf("excluded correlation: got %d matches, want none", n)
	}
	n := 0
	for _, d := range res.Detections {
		if d.Rule.Title == "Logon With Explicit Credentials to a Remote Server (Security 4648)" {
			n++
		}
	}
	if n < 294 {
		t.Errorf("explicit credentials detections: got %d listed, want them listed (no correlation uses them)", n)
	}
}

// TestCorrelationRouteFields: a correlation grouping a process_creation
// rule by Image reads the value of Security 4688 events from
// NewProcessName, through the rule's route, and Sysmon 1 events from
// Image; a generate: true correlation leaves its rule's detections listed.
func TestCorrelationRouteFields(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return writeFile(t, dir, name, text) }
	write("rules/recon.yml", `title: Recon tool
id: 10000000-0000-4000-8000-000000000001
name: recon_tool
status: test
level: low
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        CommandLine|contains: ' /domain'
    condition: selection
`)
	write("rules/burst.yml", `title: Recon burst per image
id: 10000000-0000-4000-8000-000000000002
status: test
level: high
tags:
    - attack.discovery
    - attack.t1087.002
correlation:
    type: event_count
    rules:
        - recon_tool
    group-by:
        - Computer
        - Image
    timespan: 10m
    condition:
        gte: 3
    generate: true
`)
	var lines []string
	for i, cmd := range []string{"net user /domain", "net group /domain", "net accounts /domain"} {
		lines = append(lines, fmt.Sprintf(`{"TimeCreated": "2024-03-04T11:0%d:00Z", "Computer": "WS01", "Channel": "Security", "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": 4688, "EventRecordID": %d, "NewProcessName": "C:\\Windows\\System32\\net.exe", "CommandLine": %q}`, i, 100+i, cmd))
		lines = append(lines, fmt.Sprintf(`{"TimeCreated": "2024-03-04T12:0%d:00Z", "Computer": "WS02", "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "EventRecordID": %d, "Image": "C:\\Windows\\System32\\net.exe", "CommandLine": %q}`, i, 200+i, cmd))
	}
	ev := write("evidence/events.jsonl", strings.Join(lines, "\n")+"\n")
	res, err := Run(t.Context(), []string{ev}, Options{NoBuiltin: true, Rules: []string{filepath.Join(dir, "rules")}, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := correlationsOf(t, res)["10000000-0000-4000-8000-000000000002"]
	if len(got) != 2 {
		t.Fatalf("got %d matches, want one per host (errors %v)", len(got), res.Rules.Errors)
	}
	for _, d := range got {
		want := []result.Field{{Name: "Computer", Value: d.Computer}, {Name: "Image", Value: `C:\Windows\System32\net.exe`}}
		if !slices.Equal(d.Correlation.Group, want) || d.Correlation.Count != 3 {
			t.Errorf("%s: got group %v count %d, want %v, 3", d.Computer, d.Correlation.Group, d.Correlation.Count, want)
		}
	}
	if res.Suppressed != 0 || res.Total != 6+2 {
		t.Errorf("generate: got %d suppressed, %d detections; want none suppressed, 6 detections and 2 correlations", res.Suppressed, res.Total)
	}
}

// writeFile writes text to name under dir, making its folders, and
// returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCorrelationAcrossHostsOperation: a correlation whose aliases join
// the events of two hosts has no computer of its own; its operation spans
// both hosts and its step tells the events it counted.
func TestCorrelationAcrossHostsOperation(t *testing.T) {
	dir := t.TempDir()
	for i, r := range [][3]string{{"failed_logon", "Failed logon", "4625"}, {"user_process", "Process by user", "4688"}} {
		writeFile(t, dir, "rules/"+r[0]+".yml", fmt.Sprintf(`title: %s
id: 20000000-0000-4000-8000-00000000000%d
name: %s
status: test
level: low
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: %s
    condition: selection
`, r[1], i+1, r[0], r[2]))
	}
	writeFile(t, dir, "rules/both.yml", `title: Failed logon then a process, same account
id: 20000000-0000-4000-8000-000000000009
status: test
level: high
tags:
    - attack.credential-access
    - attack.t1110.001
correlation:
    type: temporal_ordered
    rules:
        - failed_logon
        - user_process
    group-by:
        - account
    aliases:
        account:
            failed_logon: TargetUserName
            user_process: SubjectUserName
    timespan: 10m
`)
	ev := writeFile(t, dir, "evidence/events.jsonl", `{"TimeCreated": "2024-03-04T11:00:00Z", "Computer": "DC1.corp.local", "Channel": "Security", "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": 4625, "EventRecordID": 10, "TargetUserName": "alice", "TargetDomainName": "CORP", "LogonType": 3, "IpAddress": "10.0.0.9"}
{"TimeCreated": "2024-03-04T11:02:00Z", "Computer": "FS01.corp.local", "Channel": "Security", "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": 4688, "EventRecordID": 20, "SubjectUserName": "alice", "SubjectDomainName": "CORP", "NewProcessName": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami"}
`)
	res, err := Run(t.Context(), []string{ev}, Options{NoBuiltin: true, Rules: []string{filepath.Join(dir, "rules")}, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := correlationsOf(t, res)["20000000-0000-4000-8000-000000000009"]; len(got) != 1 || got[0].Computer != "" {
		t.Fatalf("got %d matches (computer %q), want 1 without a computer (errors %v)", len(got), got[0].Computer, res.Rules.Errors)
	}
	if len(res.Operations) != 1 {
		t.Fatalf("got %d operations, want 1", len(res.Operations))
	}
	op := res.Operations[0]
	if !slices.Equal(op.Hosts, []string{"DC1", "FS01"}) || !slices.Equal(op.Users, []string{`CORP\alice`}) {
		t.Errorf("got hosts %v users %v, want [DC1 FS01] [CORP\\alice]", op.Hosts, op.Users)
	}
	want := `2024-03-04 11:02 DC1 and FS01: 2 events on DC1 and FS01, account CORP\alice, 11:00:00 to 11:02:00 (Failed logon then a process, same account; T1110.001)`
	if len(op.Narrative) != 1 || op.Narrative[0] != want {
		t.Errorf("got story %q, want %q", op.Narrative, want)
	}
	if !op.First.Equal(time.Date(2024, 3, 4, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("got first %v, want the first event counted", op.First)
	}
}
