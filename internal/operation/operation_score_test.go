package operation

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/result"
)

// Tests of what an operation says of ATT&CK, how operations rank and
// which are listed.

// fakeATTACK stands for ATT&CK's techniques and their tactics.
var fakeATTACK = map[string][]string{
	"T1021.006": {"lateral-movement"},
	"T1133":     {"initial-access", "persistence"},
	"T1531":     {"impact"},
	"T1059.003": {"execution"},
	"T1033":     {"discovery"},
	"T1003.001": {"credential-access"},
	"T1203":     {"execution"},
	"T1068":     {"privilege-escalation"},
	"T1211":     {"defense-evasion"},
	"T1212":     {"credential-access"},
	"T1210":     {"lateral-movement"},
	"T1499.004": {"impact"},
}

func fakeTactics(id string) []string { return fakeATTACK[id] }

func TestReach(t *testing.T) {
	tags := func(s string) []string { return strings.Fields(s) }
	for _, c := range []struct {
		name   string
		tags   []string
		level  string
		lookup func(string) []string
		want   map[string][]string
	}{
		{"a technique under its own tactic only", tags("attack.persistence attack.initial-access attack.lateral-movement attack.t1021.006"),
			"high", fakeTactics, map[string][]string{"lateral-movement": {"T1021.006"}}},
		{"each technique under its tactics", tags("attack.persistence attack.initial-access attack.t1133 attack.lateral-movement attack.t1021.006"),
			"high", fakeTactics, map[string][]string{"initial-access": {"T1133"}, "persistence": {"T1133"}, "lateral-movement": {"T1021.006"}}},
		{"tactics named, no technique", tags("attack.discovery attack.collection"),
			"medium", fakeTactics, map[string][]string{"discovery": {}, "collection": {}}},
		{"informational reaches nothing", tags("attack.impact attack.t1531"),
			"informational", fakeTactics, map[string][]string{}},
		{"technique ATT&CK does not know", tags("attack.defense-evasion attack.t9999.001"),
			"high", fakeTactics, map[string][]string{"defense-evasion": {"T9999.001"}}},
		{"known and unknown", tags("attack.execution attack.t1059.003 attack.defense-evasion attack.t9999"),
			"high", fakeTactics, map[string][]string{"execution": {"T1059.003"}, "defense-evasion": {"T9999"}}},
		{"the technique's tactic though the rule names another", tags("attack.defense-evasion attack.t1059.003"),
			"low", fakeTactics, map[string][]string{"execution": {"T1059.003"}}},
		{"without ATT&CK, the tactics named", tags("attack.persistence attack.lateral_movement attack.t1021.006"),
			"high", nil, map[string][]string{"persistence": {"T1021.006"}, "lateral-movement": {"T1021.006"}}},
	} {
		got := Reach(c.tags, c.level, c.lookup)
		if !maps.EqualFunc(got, c.want, slices.Equal) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// ruled is a detected event and its rule.
type ruled struct {
	e           *event.Event
	rule, level string
	tags        string
}

// buildRuled indexes background then the detected events and builds the
// operations of the detections, ATT&CK being fakeATTACK.
func buildRuled(t *testing.T, background []*event.Event, ds []ruled, opts Options) []result.Operation {
	t.Helper()
	idx := NewIndex(1)
	sh := idx.Shard(0)
	for _, e := range background {
		sh.Observe(e)
	}
	var refs []DetectionRef
	for i, d := range ds {
		sh.Observe(d.e)
		r := sh.Ref(d.e)
		r.Index, r.RuleID, r.Title, r.Level, r.Tags = i, d.rule, "Rule "+d.rule, d.level, strings.Fields(d.tags)
		refs = append(refs, r)
	}
	opts.TechniqueTactics = fakeTactics
	return mustOperations(t, refs, idx, opts)
}

// TestStepTactics: a step lists the tactics of its techniques, and an
// informational rule's tags add none to its step nor to the operation.
func TestStepTactics(t *testing.T) {
	cmd := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c winrm set winrm/config/service @{EnableCompatibilityHttpsListener="true"}`)
	who := child("A", 11, `C:\Windows\System32\whoami.exe`, `whoami`)
	ops := buildRuled(t, nil, []ruled{
		{start(0, cmd, w3wp), "winrm", "high", "attack.persistence attack.initial-access attack.lateral-movement attack.t1021.006"},
		{start(time.Second, who, cmd), "logoff-like", "informational", "attack.impact attack.t1531"},
	}, Options{})
	if len(ops) != 1 || len(ops[0].Steps) != 2 {
		t.Fatalf("got %s, want one operation of two steps", describeOps(ops))
	}
	op := ops[0]
	if !slices.Equal(op.Tactics, []string{"lateral-movement"}) || !slices.Equal(op.Techniques, []string{"T1021.006"}) {
		t.Errorf("got tactics %v techniques %v, want [lateral-movement] [T1021.006]", op.Tactics, op.Techniques)
	}
	if got := op.Steps[0].Tactics; !slices.Equal(got, []string{"lateral-movement"}) {
		t.Errorf("step 1: got tactics %v, want [lateral-movement]", got)
	}
	if got := op.Steps[1].Tactics; got == nil || len(got) != 0 {
		t.Errorf("step 2 (informational): got tactics %#v, want none (not nil)", got)
	}
}

// TestRankByEvidence: a chain of steps across tactics ranks above a lone
// critical detection whose rule names six tactics.
func TestRankByEvidence(t *testing.T) {
	cmd := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c whoami`)
	who := child("A", 11, `C:\Windows\System32\whoami.exe`, `whoami /all`)
	dump := child("A", 12, `C:\Users\Public\procdump.exe`, `procdump -ma lsass.exe l.dmp`)
	cve := ev("B", 30*time.Minute, "Application", 1, "Provider_Name", "Microsoft-Windows-Audit-CVE", "CVEID", "[CVE-2020-0601] cert validation")
	ops := buildRuled(t, nil, []ruled{
		{start(0, cmd, w3wp), "shell", "high", "attack.execution attack.t1059.003"},
		{start(time.Second, who, cmd), "whoami", "high", "attack.discovery attack.t1033"},
		{start(time.Minute, dump, cmd), "procdump", "high", "attack.credential-access attack.t1003.001"},
		{cve, "audit-cve", "critical", "attack.execution attack.t1203 attack.privilege-escalation attack.t1068 attack.defense-evasion attack.t1211 " +
			"attack.credential-access attack.t1212 attack.lateral-movement attack.t1210 attack.impact attack.t1499.004"},
	}, Options{})
	if len(ops) != 2 {
		t.Fatalf("got %s, want two operations", describeOps(ops))
	}
	if len(ops[0].Detections) != 3 || ops[1].Detections[0] != 3 {
		t.Errorf("got %s, want the chain first, then the lone critical detection", describeOps(ops))
	}
	// The lone detection scores its level and rarity only: its six tactics
	// are one step's.
	if ops[1].Score != 11 || ops[1].Severity != "critical" || len(ops[1].Tactics) != 6 {
		t.Errorf("lone detection: got score %v severity %s tactics %v, want 11 critical and its six tactics", ops[1].Score, ops[1].Severity, ops[1].Tactics)
	}
}

// TestLowValueLeftOut: operations of informational detections only, or of
// one low or audit-type rule however many steps, are not listed.
func TestLowValueLeftOut(t *testing.T) {
	cmd := child("A", 10, `C:\Windows\System32\cmd.exe`, `cmd.exe /c i.bat`)
	chain := func(specs ...[3]string) []ruled {
		ds := []ruled{{start(0, cmd, w3wp), specs[0][0], specs[0][1], specs[0][2]}}
		for i, s := range specs[1:] {
			p := child("A", 20+i, `C:\Windows\System32\reg.exe`, `reg query HKLM\x /v `+strconv.Itoa(i))
			ds = append(ds, ruled{start(time.Duration(i+1)*time.Second, p, cmd), s[0], s[1], s[2]})
		}
		return ds
	}
	info := [3]string{"logoff", "informational", "attack.impact attack.t1531"}
	info2 := [3]string{"ps-instance", "informational", "attack.execution attack.t1059.003"}
	low := [3]string{"reg-query", "low", "attack.discovery attack.t1033"}
	audit := [3]string{"audit", "medium", "detection.threat-hunting"}
	auditHigh := [3]string{"audit-high", "high", ""}
	tagged := [3]string{"tagged", "medium", "attack.execution attack.t1059.003"}
	for _, c := range []struct {
		name   string
		ds     []ruled
		listed bool
	}{
		{"informational rules only", chain(info, info2, info, info2), false},
		{"one low rule, four steps", chain(low, low, low, low), false},
		{"one medium rule without technique", chain(audit, audit, audit), false},
		{"one high rule without technique", chain(auditHigh), true},
		{"one medium rule with a technique", chain(tagged), true},
		{"two low rules", chain(low, [3]string{"other-low", "low", ""}), true},
		{"a medium rule and informational ones", chain(info, info, tagged), true},
	} {
		ops := buildRuled(t, nil, c.ds, Options{})
		if (len(ops) == 1) != c.listed || len(ops) > 1 {
			t.Errorf("%s: got %d operations, want listed %v", c.name, len(ops), c.listed)
		}
		if all := buildRuled(t, nil, c.ds, Options{KeepSingletons: true}); len(all) != 1 {
			t.Errorf("%s, all kept: got %d operations, want 1", c.name, len(all))
		}
	}
}

func TestScoreAndSeverity(t *testing.T) {
	for _, c := range []struct {
		best, tactics, techniques, steps, hosts int
		rules                                   map[string]int // rule → detections in the hunt
		score                                   float64
		severity                                string
	}{
		{levelRank("low"), 1, 1, 1, 1, map[string]int{"a": 1}, 3, "low"},
		{levelRank("informational"), 0, 0, 1, 1, map[string]int{"a": 1024}, 1.09, "informational"},
		{levelRank("medium"), 1, 1, 1, 1, map[string]int{"a": 1}, 5, "medium"},
		// One step: its tactics and techniques count once.
		{levelRank("critical"), 6, 6, 1, 1, map[string]int{"a": 1}, 11, "critical"},
		{levelRank("low"), 5, 5, 5, 1, map[string]int{"a": 1, "b": 1, "c": 1}, 13, "medium"},
		{levelRank("high"), 6, 12, 20, 3, map[string]int{"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1}, 28.5, "critical"},
		{levelRank("high"), 4, 4, 3, 1, map[string]int{"a": 1, "b": 1, "c": 1}, 14, "high"},
	} {
		set := map[string]bool{}
		for r := range c.rules {
			set[r] = true
		}
		e := evidence{best: c.best, tactics: c.tactics, techniques: c.techniques, steps: c.steps, hosts: c.hosts, rules: set, count: c.rules}
		got := score(e)
		if got != c.score || severity(c.best, got) != c.severity {
			t.Errorf("%+v: got %v %s, want %v %s", c, got, severity(c.best, got), c.score, c.severity)
		}
	}
}

// TestAttackTagsV19: ATT&CK v19's stealth and defense-impairment are
// tactics, ordered where defense-evasion stands in the kill chain.
func TestAttackTagsV19(t *testing.T) {
	tactics, techniques := attackTags([]string{"attack.stealth", "attack.defense_impairment", "attack.t1685.001"})
	if want := []string{"stealth", "defense-impairment"}; !slices.Equal(tactics, want) {
		t.Errorf("got tactics %v, want %v", tactics, want)
	}
	if want := []string{"T1685.001"}; !slices.Equal(techniques, want) {
		t.Errorf("got techniques %v, want %v", techniques, want)
	}
	pe, st, di, ca := slices.Index(killChain, "privilege-escalation"), slices.Index(killChain, "stealth"), slices.Index(killChain, "defense-impairment"), slices.Index(killChain, "credential-access")
	if !(pe < st && st < di && di < ca) {
		t.Errorf("kill chain %v: want stealth and defense-impairment between privilege-escalation and credential-access", killChain)
	}
}
