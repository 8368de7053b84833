package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestHuntPlaceholders: a rule with an expand placeholder is skipped
// without --placeholders and matches with the value from the file; lint and
// test read the same flag.
func TestHuntPlaceholders(t *testing.T) {
	dir := t.TempDir()
	rule := writeFile(t, filepath.Join(dir, "admin_rdp.yml"), `title: Administrator RDP logon
id: 6a3c7f0e-2d51-4c8e-9f3a-0b7e1d2c4a55
status: test
level: high
tags: [attack.lateral-movement, attack.t1021.001]
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4624
    LogonType: 10
    TargetUserName|expand: '%Administrators%'
  condition: sel
`)
	evidence := writeFile(t, filepath.Join(dir, "sec.jsonl"),
		`{"TimeCreated":"2024-03-04T11:00:00Z","Computer":"DB01","Channel":"Security","EventID":4624,"EventRecordID":1,"TargetUserName":"adm-jane","LogonType":10,"IpAddress":"10.0.0.5"}`+"\n")
	values := writeFile(t, filepath.Join(dir, "placeholders.yml"), "Administrators: ['adm-*', root]\n")
	bad := writeFile(t, filepath.Join(dir, "bad.yml"), "Administrators: []\n")

	// Without values the only rule is not compiled: nothing to hunt with.
	code, _, errOut := run(t, context.Background(), "hunt", "--no-builtin", "--no-sigmahq", "--rules", rule, evidence)
	if code != ExitFailure || !strings.Contains(errOut, "0 rules loaded, 1 skipped") {
		t.Fatalf("without placeholders: exit %d, stderr %q, want %d and the rule skipped", code, errOut, ExitFailure)
	}

	code, out, errOut := run(t, context.Background(), "hunt", "--no-builtin", "--no-sigmahq", "--rules", rule, "--placeholders", values, "--json", evidence)
	if code != 0 {
		t.Fatalf("with placeholders: exit %d, stderr %s", code, errOut)
	}
	if !strings.Contains(out, "Administrator RDP logon") || !strings.Contains(out, "adm-jane") {
		t.Errorf("with placeholders the rule did not match adm-jane: %s", out)
	}

	if code, _, errOut = run(t, context.Background(), "hunt", "--no-builtin", "--no-sigmahq", "--rules", rule, "--placeholders", bad, evidence); code != ExitFailure || !strings.Contains(errOut, "bad.yml:1: Administrators: no values") {
		t.Errorf("bad placeholder file: exit %d, stderr %q, want %d and the file, line and key", code, errOut, ExitFailure)
	}

	if code, out, _ = run(t, context.Background(), "rules", "lint", rule); code != ExitFailure || !strings.Contains(out, "placeholder") {
		t.Errorf("lint without placeholders: exit %d, out %q, want %d and a placeholder error", code, out, ExitFailure)
	}
	if code, out, _ = run(t, context.Background(), "rules", "lint", "--placeholders", values, rule); code != ExitOK {
		t.Errorf("lint with placeholders: exit %d, out %q, want %d", code, out, ExitOK)
	}
}

// TestHuntPipeline: --pipeline extends the built-in logsource pipeline, so
// a rule for a logsource only the user's file routes runs on its events,
// with the file's field renames; a broken file is an error naming it.
func TestHuntPipeline(t *testing.T) {
	dir := t.TempDir()
	rule := writeFile(t, filepath.Join(dir, "erp_export.yml"), `title: ERP bulk export
id: 0b8f3e9a-5c1d-4e27-8a6f-3d2c1b0a9e87
status: test
level: medium
tags: [attack.collection, attack.t1005]
logsource: {product: windows, category: erp_audit}
detection:
  sel:
    Action: export
    Rows|gt: 10000
  condition: sel
`)
	pipe := writeFile(t, filepath.Join(dir, "erp.yml"), `version: 1
logs:
  erp:
    channel: Contoso-ERP/Audit
routes:
  - product: windows
    category: erp_audit
    sources:
      - log: erp
        event_ids: [300]
        fields: {Action: Operation}
`)
	broken := writeFile(t, filepath.Join(dir, "broken.yml"), "version: 1\nroutes:\n  - product: windows\n    category: x\n    colour: red\n")
	evidence := writeFile(t, filepath.Join(dir, "erp.jsonl"),
		`{"TimeCreated":"2024-03-04T11:00:00Z","Computer":"ERP01","Channel":"Contoso-ERP/Audit","EventID":300,"EventRecordID":7,"Operation":"export","Rows":250000}`+"\n"+
			`{"TimeCreated":"2024-03-04T11:01:00Z","Computer":"ERP01","Channel":"Contoso-ERP/Audit","EventID":300,"EventRecordID":8,"Operation":"export","Rows":12}`+"\n")

	code, _, errOut := run(t, context.Background(), "hunt", "--no-builtin", "--no-sigmahq", "--rules", rule, evidence)
	if code != ExitFailure || !strings.Contains(errOut, "0 rules loaded") {
		t.Fatalf("without --pipeline: exit %d, stderr %q, want %d and the rule not routable", code, errOut, ExitFailure)
	}
	code, out, errOut := run(t, context.Background(), "hunt", "--no-builtin", "--no-sigmahq", "--rules", rule, "--pipeline", pipe, "--json", evidence)
	if code != ExitOK {
		t.Fatalf("with --pipeline: exit %d, stderr %s", code, errOut)
	}
	var res struct {
		Total      int `json:"total"`
		RuleCounts []struct {
			Title string `json:"title"`
			Count int    `json:"count"`
		} `json:"rule_counts"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || len(res.RuleCounts) != 1 || res.RuleCounts[0].Title != "ERP bulk export" {
		t.Errorf("with --pipeline: got %d detections %+v, want 1 of ERP bulk export (250000 rows, not 12)", res.Total, res.RuleCounts)
	}
	code, _, errOut = run(t, context.Background(), "hunt", "--no-builtin", "--no-sigmahq", "--rules", rule, "--pipeline", broken, evidence)
	if code != ExitFailure || !strings.Contains(errOut, "broken.yml") || !strings.Contains(errOut, "colour") {
		t.Errorf("broken pipeline: exit %d, stderr %q, want %d naming the file and the key", code, errOut, ExitFailure)
	}
	if code, out, _ = run(t, context.Background(), "rules", "lint", "--pipeline", pipe, rule); code != ExitOK {
		t.Errorf("lint with --pipeline: exit %d, out %q, want %d", code, out, ExitOK)
	}
}

// TestHuntSkipsItsOwnOutputs: a timeline written into the folder being
// hunted is not read back as evidence on the next run.
func TestHuntSkipsItsOwnOutputs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "sec.jsonl"),
		`{"TimeCreated":"2024-03-04T11:00:00Z","Computer":"DB01","Channel":"Security","EventID":1102,"EventRecordID":1,"SubjectUserName":"admin"}`+"\n")
	timeline := filepath.Join(dir, "timeline.jsonl")
	for i := 1; i <= 2; i++ {
		code, out, errOut := run(t, context.Background(), "hunt", "--no-sigmahq", "--json", "--timeline", timeline, dir)
		if code != ExitOK {
			t.Fatalf("run %d: exit %d, stderr %s", i, code, errOut)
		}
		var res struct {
			Evidence struct {
				Logs   int `json:"logs"`
				Events int `json:"events"`
			} `json:"evidence"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if res.Evidence.Logs != 1 || res.Evidence.Events != 1 {
			t.Errorf("run %d: read %d logs, %d events, want 1 and 1 (the timeline is not evidence)", i, res.Evidence.Logs, res.Evidence.Events)
		}
	}
}
