package hunt

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/result"
)

func TestAttackEvidence(t *testing.T) {
	tags := []string{"attack.execution", "attack.t1059.003", "attack.S0154", "attack.g0096", "attack.s01", "cve.2021.44228", "attack.t1003.002"}
	tactics, techniques := attackOf(tags)
	r1 := &result.Rule{Tags: tags, Tactics: tactics, Techniques: techniques}
	r2 := &result.Rule{Tags: []string{"attack.t1059.003", "attack.g0044"}, Techniques: []string{"T1059.003"}}
	got := attackEvidence([]*result.Rule{r1, r2})
	want := attack.Evidence{
		Techniques: []string{"T1003.002", "T1059.003"},
		Software:   []string{"S0154"},
		GroupHints: []string{"G0044", "G0096"},
	}
	if !slices.Equal(got.Techniques, want.Techniques) || !slices.Equal(got.Software, want.Software) || !slices.Equal(got.GroupHints, want.GroupHints) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestAttributionFixture: the whole hunt's attribution (without
// operations) ranks at most
// MaxCandidates groups, most resembling first, each with confidence in
// [0, 1] and the shared evidence drawn from the hunt's techniques;
// NoAttribution leaves it out.
func TestAttributionFixture(t *testing.T) {
	res := fixture(t, Options{Workers: 2, NoOperations: true})
	at := res.Attribution
	if at == nil || len(at.Candidates) != MaxCandidates {
		t.Fatalf("got attribution %+v, want %d candidates", at, MaxCandidates)
	}
	var techs []string
	for _, d := range res.Detections {
		techs = append(techs, d.Rule.Techniques...)
	}
	for i, c := range at.Candidates {
		if c.Rank != i+1 || c.ID == "" || c.Name == "" || c.Confidence < 0 || c.Confidence > 1 {
			t.Errorf("candidate %d: got %+v", i, c)
		}
		if i > 0 && c.Score > at.Candidates[i-1].Score {
			t.Errorf("candidate %d: score %v above the one before (%v)", i, c.Score, at.Candidates[i-1].Score)
		}
		for _, s := range c.Shared {
			if s.Kind == "technique" && !slices.Contains(techs, s.ID) {
				t.Errorf("candidate %s: shared %s is not a technique of the hunt", c.ID, s.ID)
			}
		}
	}
	if len(at.Candidates[0].Shared) == 0 {
		t.Error("first candidate: got no shared evidence")
	}
	if res := fixture(t, Options{Workers: 2, NoAttribution: true}); res.Attribution != nil {
		t.Errorf("NoAttribution: got %+v, want nil", res.Attribution)
	}
}

// TestAttributionSoftwareSeen: a detection whose command line runs
// Mimikatz, by a rule that names no software, carries Mimikatz (S0002) in
// its operation's attribution evidence, with the command line it was
// seen in.
func TestAttributionSoftwareSeen(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	rule := `title: LSASS secrets dumped from the command line
id: 10000000-0000-4000-8000-000000000011
status: test
level: high
tags:
    - attack.credential-access
    - attack.t1003.001
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        CommandLine|contains: 'sekurlsa::'
    condition: selection
`
	if err := os.WriteFile(filepath.Join(rules, "dump.yml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := `C:\Users\Public\mimikatz.exe "privilege::debug" "sekurlsa::logonpasswords" exit`
	line := fmt.Sprintf(`{"TimeCreated": "2024-03-04T11:00:00Z", "Computer": "WS01", "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "EventRecordID": 7, "Image": "C:\\Users\\Public\\svc.exe", "CommandLine": %q}`, cmd)
	ev := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(ev, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(t.Context(), []string{ev}, Options{NoBuiltin: true, Rules: []string{rules}, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Detections) != 1 || len(res.Operations) != 1 {
		t.Fatalf("got %d detections, %d operations, want 1 and 1", len(res.Detections), len(res.Operations))
	}
	at := res.Operations[0].Attribution
	if at == nil {
		t.Fatal("got no attribution")
	}
	if !slices.Contains(at.Evidence.Software, "S0002") {
		t.Errorf("evidence software: got %v, want S0002 among them", at.Evidence.Software)
	}
	want := []attack.SoftwareSeen{{ID: "S0002", Name: "Mimikatz", In: cmd}}
	if !slices.Equal(at.Evidence.Seen, want) {
		t.Errorf("software seen: got %+v, want %+v", at.Evidence.Seen, want)
	}
}

// TestTooLittleEvidence: a hunt whose only detections are of one rule of
// low level is not attributed (a single low-severity detection says
// nothing about an actor); one medium rule, or two rules, are.
func TestTooLittleEvidence(t *testing.T) {
	low := &result.Rule{ID: "a", Level: "low", Techniques: []string{"T1069.002"}}
	low2 := &result.Rule{ID: "b", Level: "informational", Techniques: []string{"T1082"}}
	medium := &result.Rule{ID: "c", Level: "medium", Techniques: []string{"T1069.002"}}
	for _, tc := range []struct {
		name  string
		rules []*result.Rule
		want  bool
	}{
		{"one low detection", []*result.Rule{low}, true},
		{"three of one low rule", []*result.Rule{low, low, low}, true},
		{"two low rules", []*result.Rule{low, low2}, false},
		{"one medium detection", []*result.Rule{medium}, false},
		{"none", nil, false},
	} {
		var ds []result.Detection
		for _, r := range tc.rules {
			ds = append(ds, result.Detection{Rule: r})
		}
		if got := tooLittle(ds); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestTooLittleEvidenceHunt(t *testing.T) {
	dir := t.TempDir()
	ev := filepath.Join(dir, "ev.jsonl")
	rule := filepath.Join(dir, "rule.yml")
	if err := os.WriteFile(ev, []byte(`{"Channel":"Security","EventID":4799,"Computer":"DC01","TargetUserName":"Domain Admins"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const yml = `title: group listed
id: 00000000-0000-4000-8000-00000000aa01
status: test
level: %s
tags: [attack.discovery, attack.t1069.002]
logsource: {product: windows, service: security}
detection: {sel: {EventID: 4799}, condition: sel}
`
	for _, tc := range []struct {
		level      string
		attributed bool
	}{{"low", false}, {"medium", true}} {
		if err := os.WriteFile(rule, fmt.Appendf(nil, yml, tc.level), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := Run(t.Context(), []string{ev}, Options{NoBuiltin: true, Rules: []string{rule}, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Detections) != 1 {
			t.Fatalf("%s: got %d detections, want 1", tc.level, len(res.Detections))
		}
		got := res.Attribution != nil
		for _, op := range res.Operations {
			got = got || op.Attribution != nil
		}
		if got != tc.attributed || (res.NotAttributed == "") != tc.attributed {
			t.Errorf("%s: attributed %v, not attributed %q; want attributed %v", tc.level, got, res.NotAttributed, tc.attributed)
		}
	}
}

// TestRecognisedCacheBounded: long texts (command lines rarely repeat) are
// recognised but not cached, so the cache does not grow with detections.
func TestRecognisedCacheBounded(t *testing.T) {
	at, err := newAttributor(nil)
	if err != nil {
		t.Fatal(err)
	}
	rule := &result.Rule{Title: "t"}
	long := `C:\Temp\mimikatz.exe ` + strings.Repeat("x", maxRecognisedText)
	d := &result.Detection{Rule: rule, Fields: []result.Field{{Name: "CommandLine", Value: long}, {Name: "Image", Value: `C:\Temp\mimikatz.exe`}}}
	seen, _ := at.seenIn([]*result.Detection{d})
	if len(seen) != 1 || seen[0].ID != "S0002" {
		t.Fatalf("got %v, want Mimikatz recognised", seen)
	}
	for k := range at.recognised {
		if len(k.text) > maxRecognisedText {
			t.Errorf("cached a text of %d bytes, want at most %d", len(k.text), maxRecognisedText)
		}
	}
	if len(at.recognised) == 0 {
		t.Error("got nothing cached, want the short texts")
	}
}

// TestProceduresSeen: an artefact of a group's procedure text in a
// detection's command line is evidence, with where it was seen, and the
// group documented with it explains it with ATT&CK's sources.
func TestProceduresSeen(t *testing.T) {
	at, err := newAttributor(nil)
	if err != nil {
		t.Fatal(err)
	}
	rule := &result.Rule{Title: "Network Configuration Discovery", Techniques: []string{"T1016"}}
	cmd := `cmd.exe /c net config Workstation`
	d := &result.Detection{Rule: rule, Fields: []result.Field{{Name: "CommandLine", Value: cmd}}}
	got := at.attributeSeen([]*result.Rule{rule}, []*result.Detection{d})
	if got == nil || len(got.Evidence.Procedures) != 1 || got.Evidence.Procedures[0].In != cmd {
		t.Fatalf("procedures seen: got %+v, want net config workstation seen in %q", got, cmd)
	}
	top := got.Candidates[0]
	if top.ID != "G0096" || len(top.Procedures) == 0 || len(top.Procedures[0].Sources) == 0 {
		t.Errorf("top candidate: got %s %+v, want APT41 with its documented procedure and its sources", top.Name, top.Procedures)
	}
}

// TestEvidenceWeights: a rule tagged with k techniques makes each carry
// 1/k (a parent tagged with its sub-technique not counted) of its level's
// weight, the largest share over the rules naming it: a low rule half a
// high one's, two low rules no more than one.
func TestEvidenceWeights(t *testing.T) {
	ev := attackEvidence([]*result.Rule{
		{Title: "a", Level: "high", Techniques: []string{"T1039", "T1048", "T1021", "T1021.002"}},
		{Title: "b", Level: "critical", Techniques: []string{"T1048"}},
		{Title: "c", Level: "low", Techniques: []string{"T1217"}},
		{Title: "d", Level: "low", Techniques: []string{"T1217", "T1083"}},
		{Title: "e", Level: "medium", Techniques: []string{"T1039"}},
	})
	want := map[string]float64{"T1039": 0.75, "T1048": 1, "T1021": 1.0 / 3, "T1021.002": 1.0 / 3, "T1217": 0.5, "T1083": 0.25}
	for id, w := range want {
		if math.Abs(ev.Weights[id]-w) > 1e-9 {
			t.Errorf("%s: weight %v, want %v", id, ev.Weights[id], w)
		}
	}
}

// TestOrdinaryToolTags: a rule's tag of a built-in tool (schtasks, cmd)
// is not software evidence, a tag of other software is, weighed by the
// rule's level.
func TestOrdinaryToolTags(t *testing.T) {
	at, err := newAttributor(nil)
	if err != nil {
		t.Fatal(err)
	}
	schtasks := &result.Rule{ID: "a", Title: "Scheduled Task Creation Via Schtasks.EXE", Level: "low", Tags: []string{"attack.t1053.005", "attack.s0111"}, Techniques: []string{"T1053.005"}}
	plugx := &result.Rule{ID: "b", Title: "x", Level: "low", Tags: []string{"attack.s0013"}}
	got := at.attributeSeen([]*result.Rule{schtasks, plugx}, []*result.Detection{{Rule: schtasks}, {Rule: plugx}})
	if got == nil || !slices.Equal(got.Evidence.Software, []string{"S0013"}) {
		t.Fatalf("software: got %+v, want PlugX alone", got)
	}
	if ev := attackEvidence([]*result.Rule{plugx}); ev.Weights["S0013"] != 0.5 {
		t.Errorf("PlugX tagged by a low rule: weight %v, want 0.5", ev.Weights["S0013"])
	}
}

// TestGroupHintsNamed: a rule's group tag is a hint when the rule names
// the group or its software; on a rule for a technique the group is known
// for (SigmaHQ's CMSTP rules, tagged MuddyWater) it is not.
func TestGroupHintsNamed(t *testing.T) {
	at, err := newAttributor(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		title, tag string
		want       []string
	}{
		{"CMSTP Execution Process Creation", "attack.g0069", []string{}},
		{"Potential MuddyWater APT Activity", "attack.g0069", []string{"G0069"}},
		{"Sofacy Trojan Loader Activity", "attack.g0007", []string{"G0007"}},
		{"ComRAT Network Communication", "attack.g0010", []string{"G0010"}},
	} {
		r := &result.Rule{ID: c.title, Title: c.title, Level: "high", Tags: []string{"attack.t1218.003", c.tag}, Techniques: []string{"T1218.003"}}
		got := at.attributeSeen([]*result.Rule{r}, []*result.Detection{{Rule: r}})
		if got == nil || !slices.Equal(got.Evidence.GroupHints, c.want) {
			t.Errorf("%s: got %+v, want group hints %v", c.title, got, c.want)
		}
	}
}

// TestTitleSoftwareCorroborated: software named only by one rule's title
// is not evidence; named by two rules' titles, or by a field, it is.
func TestTitleSoftwareCorroborated(t *testing.T) {
	at, err := newAttributor(nil)
	if err != nil {
		t.Fatal(err)
	}
	one := &result.Detection{Rule: &result.Rule{Title: "Pikabot Fake DLL Extension Execution Via Rundll32.EXE"}}
	two := &result.Detection{Rule: &result.Rule{Title: "Potential Pikabot Discovery Activity"}}
	if soft, _ := at.seenIn([]*result.Detection{one}); len(soft) != 0 {
		t.Errorf("one title: got %v, want no software", soft)
	}
	if soft, _ := at.seenIn([]*result.Detection{one, two}); len(soft) != 1 || soft[0].Name != "Pikabot" {
		t.Errorf("two titles: got %v, want Pikabot", soft)
	}
	field := &result.Detection{Rule: &result.Rule{Title: "x"}, Fields: []result.Field{{Name: "Image", Value: `C:\Temp\mimikatz.exe`}}}
	if soft, _ := at.seenIn([]*result.Detection{field}); len(soft) != 1 || soft[0].ID != "S0002" {
		t.Errorf("a field: got %v, want Mimikatz", soft)
	}
}
