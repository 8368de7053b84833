package hunt

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spoor-hunt/spoor/internal/evtx/evtxedit"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// TestTamperDetections hunts a log with records cut out (evtxedit) and
// the DeepBlueCLI log whose EventLog service was set to disabled: each
// tampering finding is a detection of kind tampering with its ATT&CK
// technique, and the untouched copy of the first log has none.
func TestTamperDetections(t *testing.T) {
	orig, err := os.ReadFile(shared.Path(t, "datasets", "deepbluecli", "evtx", "password-spray.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	edited, _, err := evtxedit.Remove(orig, 60, 64)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"edited.evtx": edited, "untouched.evtx": orig} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	disabled := shared.Path(t, "datasets", "deepbluecli", "evtx", "disablestop-eventlog.evtx")
	res, err := Run(t.Context(), []string{dir, disabled}, Options{NoBuiltin: true, NoAttribution: true, Rules: []string{"testdata/rules"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range res.Detections {
		if d.Kind != result.KindTampering {
			continue
		}
		got = append(got, filepath.Base(d.Source)+" "+d.Rule.ID+" "+d.Rule.Techniques[0])
		if d.Rule.ID == "spoor-gaps-records-removed" && (d.RecordID != 60 || d.Rule.Level != "high") {
			t.Errorf("records removed: record %d, level %s; want 60, high", d.RecordID, d.Rule.Level)
		}
	}
	slices.Sort(got)
	want := []string{
		"disablestop-eventlog.evtx spoor-gaps-logging-disabled T1562.002",
		"edited.evtx spoor-gaps-records-removed T1070.001",
	}
	if !slices.Equal(got, want) {
		t.Errorf("tampering detections: got %q, want %q", got, want)
	}
	if !slices.ContainsFunc(res.RuleCounts, func(r result.RuleCount) bool { return r.Rule.ID == "spoor-gaps-records-removed" && r.Description != "" }) {
		t.Error("no rule count with a description for the records-removed pseudo-rule")
	}
	// A filter on level leaves a high finding in and drops it above.
	res, err = Run(t.Context(), []string{dir}, Options{NoBuiltin: true, NoAttribution: true, Rules: []string{"testdata/rules"}, MinLevel: "critical"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Detections) != 0 {
		t.Errorf("min level critical: %d detections, want 0", len(res.Detections))
	}
}

// TestTamperJoinsOperation: records cut out right after a detection of an
// operation make a tampering detection (no event, no actor) that joins
// that operation: the nearest linked detection on its host. The log and
// the detection are taken from a hunt of the untouched log.
func TestTamperJoinsOperation(t *testing.T) {
	path := shared.Path(t, "datasets", "deepbluecli", "evtx", "sliver-security.evtx")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{NoAttribution: true, Workers: 1}
	res, err := Run(t.Context(), []string{path}, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	edited := filepath.Join(dir, filepath.Base(path))
	var record int64 // the detection's, in the operation
	for _, op := range res.Operations {
		for _, i := range op.Detections {
			d := res.Detections[i]
			if d.Kind == result.KindTampering || d.Locator < 2 {
				continue
			}
			data, _, err := evtxedit.Remove(orig, uint64(d.Locator+1), uint64(d.Locator+1))
			if err != nil {
				continue // the first record of a chunk, or past the end
			}
			if err := os.WriteFile(edited, data, 0o600); err != nil {
				t.Fatal(err)
			}
			record = d.RecordID
			break
		}
		if record != 0 {
			break
		}
	}
	if record == 0 {
		t.Fatalf("no detection of an operation of %s has a record after it to cut", path)
	}
	res, err = Run(t.Context(), []string{edited}, opts)
	if err != nil {
		t.Fatal(err)
	}
	joined := false
	for _, op := range res.Operations {
		var tamper, other bool
		for _, i := range op.Detections {
			d := res.Detections[i]
			tamper = tamper || d.Kind == result.KindTampering && slices.Contains(d.Rule.Techniques, "T1070.001")
			other = other || d.Kind != result.KindTampering && d.RecordID == record
		}
		joined = joined || tamper && other
	}
	if !joined {
		t.Errorf("no operation holds both the records-removed detection and the detection of record %d", record)
	}
}
