package detect

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

const (
	sysmonChannel = "Microsoft-Windows-Sysmon/Operational"
	sysmonProv    = "Microsoft-Windows-Sysmon"
)

// procRules are process_creation rules routed by the default pipeline.
const procRules = `
title: Whoami
id: 11111111-1111-1111-1111-111111111111
name: whoami_exec
logsource:
    product: windows
    category: process_creation
detection:
    selection_img:
        Image|endswith: '\whoami.exe'
    selection_cli:
        CommandLine|contains: '/all'
    filter_admin:
        User|startswith: 'adm_'
    condition: 1 of selection_* and not filter_admin
---
title: Logon type 3
id: 22222222-2222-2222-2222-222222222222
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4624
        LogonType: 3
    condition: selection
---
title: Cmd with parent
id: 33333333-3333-3333-3333-333333333333
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        ParentImage|endswith: '\explorer.exe'
        Image|endswith: '\cmd.exe'
    condition: selection
`

func sysmon1(kv ...any) *event.Event {
	return evt(append([]any{"EventID", uint64(1), "Channel", sysmonChannel, "Provider_Name", sysmonProv}, kv...)...)
}

func TestEngineRouting(t *testing.T) {
	e := mustCompile(t, procRules, Options{Router: DefaultPipeline()})
	tests := []struct {
		name string
		ev   *event.Event
		want string
	}{
		{"sysmon 1", sysmon1("Image", `C:\Windows\System32\whoami.exe`), "11111111-1111-1111-1111-111111111111"},
		{"sysmon 1 by command line", sysmon1("Image", `C:\x.exe`, "CommandLine", "x /all"), "11111111-1111-1111-1111-111111111111"},
		{"sysmon 1 filtered by the rule", sysmon1("Image", `C:\whoami.exe`, "User", "ADM_bob"), ""},
		{"sysmon 3 is not process creation", evt("EventID", uint64(3), "Channel", sysmonChannel, "Image", `C:\whoami.exe`), ""},
		{"channel compared without case", evt("EventID", uint64(1), "Channel", strings.ToUpper(sysmonChannel), "Image", `C:\whoami.exe`), "11111111-1111-1111-1111-111111111111"},
		{"no channel, sysmon provider", evt("EventID", uint64(1), "Provider_Name", sysmonProv, "Image", `C:\whoami.exe`), "11111111-1111-1111-1111-111111111111"},
		{"security 4688 renamed", evt("EventID", uint64(4688), "Channel", "Security", "NewProcessName", `C:\Windows\System32\whoami.exe`), "11111111-1111-1111-1111-111111111111"},
		{"security 4688 parent renamed", evt("EventID", uint64(4688), "Channel", "Security", "NewProcessName", `C:\cmd.exe`, "ParentProcessName", `C:\Windows\explorer.exe`), "33333333-3333-3333-3333-333333333333"},
		{"security 4688 ignores the Sigma name", evt("EventID", uint64(4688), "Channel", "Security", "Image", `C:\whoami.exe`), ""},
		{"security 4624", evt("EventID", uint64(4624), "Channel", "Security", "LogonType", uint64(3)), "22222222-2222-2222-2222-222222222222"},
		{"security 4624 as text", evt("EventID", "4624", "Channel", "Security", "LogonType", "3"), "22222222-2222-2222-2222-222222222222"},
		{"security 4625", evt("EventID", uint64(4625), "Channel", "Security", "LogonType", uint64(3)), ""},
		{"system 4624", evt("EventID", uint64(4624), "Channel", "System", "LogonType", uint64(3)), ""},
		{"no channel", evt("EventID", uint64(1), "Image", `C:\whoami.exe`), ""},
	}
	for _, tc := range tests {
		if got := matchIDs(e, tc.ev); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDetectionContents(t *testing.T) {
	e := mustCompile(t, procRules, Options{Router: DefaultPipeline()})
	m := e.NewMatcher()
	ev := sysmon1("Image", `C:\whoami.exe`, "CommandLine", "whoami /all")
	ds := m.Match(ev, nil)
	if len(ds) != 1 {
		t.Fatalf("got %d detections, want 1", len(ds))
	}
	d := ds[0]
	if d.Event != ev {
		t.Errorf("Event: got %p, want the matched event %p", d.Event, ev)
	}
	if want := []string{"selection_img", "selection_cli"}; !slices.Equal(d.Searches, want) {
		t.Errorf("Searches: got %q, want %q", d.Searches, want)
	}
	if d.Rule.Sigma.Title != "Whoami" {
		t.Errorf("Rule: got %q, want Whoami", d.Rule.Sigma.Title)
	}
	// Append-style: dst is extended, not replaced.
	ds = m.Match(sysmon1("CommandLine", "x /all", "ParentImage", `c:\explorer.exe`, "Image", `c:\cmd.exe`), ds)
	if len(ds) != 3 || ds[0].Rule != d.Rule {
		t.Fatalf("got %d detections, want 3 with the first kept", len(ds))
	}
	if ds[1].Rule.Sigma.ID > ds[2].Rule.Sigma.ID {
		t.Errorf("detections out of rule order: %s, %s", ds[1].Rule.Sigma.ID, ds[2].Rule.Sigma.ID)
	}
	if st := m.Stats(); st.Events != 2 || st.Detections != 3 {
		t.Errorf("Stats: got %+v, want 2 events and 3 detections", st)
	}
}

func TestFilters(t *testing.T) {
	filters := `
title: Filter admins by id
logsource:
    product: windows
    category: process_creation
filter:
    rules:
        - 11111111-1111-1111-1111-111111111111
    selection:
        CommandLine|contains: 'whoami /all'
    condition: selection
---
title: Filter by rule name
logsource:
    product: windows
    category: process_creation
filter:
    rules:
        - whoami_exec
    selection:
        CommandLine|contains: 'backup-job'
    condition: selection
---
title: Filter a whole logsource
logsource:
    product: windows
    service: security
filter:
    rules: []
    selection:
        TargetUserName: 'svc_scan'
    condition: selection
`
	c := parseRules(t, procRules+"---\n"+filters)
	if len(c.Filters) != 3 {
		t.Fatalf("loaded %d filters, want 3", len(c.Filters))
	}
	e, errs := Compile(c.Rules, c.Filters, Options{Router: DefaultPipeline()})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		name string
		ev   *event.Event
		want string
	}{
		{"kept", sysmon1("Image", `C:\whoami.exe`, "CommandLine", "whoami /groups"), "11111111-1111-1111-1111-111111111111"},
		{"filtered by id", sysmon1("Image", `C:\whoami.exe`, "CommandLine", "whoami /all"), ""},
		{"filtered by name", sysmon1("Image", `C:\whoami.exe`, "CommandLine", "backup-job whoami"), ""},
		{"filter of renamed fields", evt("EventID", uint64(4688), "Channel", "Security", "NewProcessName", `C:\whoami.exe`, "CommandLine", "whoami /all"), ""},
		{"other rule not filtered", sysmon1("CommandLine", "whoami /all", "ParentImage", `c:\explorer.exe`, "Image", `c:\cmd.exe`), "33333333-3333-3333-3333-333333333333"},
		{"logsource filter", evt("EventID", uint64(4624), "Channel", "Security", "LogonType", uint64(3), "TargetUserName", "SVC_SCAN"), ""},
		{"logsource filter, other user", evt("EventID", uint64(4624), "Channel", "Security", "LogonType", uint64(3), "TargetUserName", "bob"), "22222222-2222-2222-2222-222222222222"},
	}
	for _, tc := range tests {
		if got := matchIDs(e, tc.ev); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := len(e.Rules()[0].Filters); got != 2 {
		t.Errorf("filters of the whoami rule: got %d, want 2", got)
	}
}

func TestRouteSourcesAndProvider(t *testing.T) {
	router := RouterFunc(func(ls sigma.Logsource) (Route, error) {
		return Route{Sources: []Source{
			{Channel: "A", EventIDs: []uint32{1, 2}},
			{Provider: "P", Fields: map[string][]string{"Image": {"Path", "Image"}}},
		}}, nil
	})
	e := mustCompile(t, ruleYAML(`
    sel:
        Image|endswith: '.exe'
    condition: sel
`), Options{Router: router})
	tests := []struct {
		ev   *event.Event
		want bool
	}{
		{evt("Channel", "A", "EventID", uint64(2), "Image", "x.exe"), true},
		{evt("Channel", "A", "EventID", uint64(3), "Image", "x.exe"), false},
		{evt("Channel", "B", "Provider_Name", "P", "Path", "x.exe"), true},
		{evt("Channel", "B", "Provider_Name", "p", "Image", "x.exe"), true},                   // second candidate
		{evt("Channel", "B", "Provider_Name", "P", "Path", "x.dll", "Image", "x.exe"), false}, // first present wins
		{evt("Channel", "B", "Provider_Name", "Q", "Image", "x.exe"), false},
		{evt("Provider_Name", "P", "EventID", uint64(7), "Path", "y.exe"), true},
	}
	for _, tc := range tests {
		if got := matchIDs(e, tc.ev) != ""; got != tc.want {
			t.Errorf("event %s: got %v, want %v", tc.ev.AppendJSON(nil), got, tc.want)
		}
	}
}

// TestPrefilterExact runs every SigmaHQ Windows rule over the regression
// events, and over variants of them, with and without the prefilter: the
// results must be the same.
func TestPrefilterExact(t *testing.T) {
	e, events := sigmaHQ(t)
	fast, slow := e.NewMatcher(), e.NewMatcher()
	slow.st.exhaustive = true
	var total int
	for _, ev := range events {
		for _, v := range mutations(ev) {
			a := ids(fast.Match(v, nil))
			b := ids(slow.Match(v, nil))
			if a != b {
				t.Errorf("event %s:\nprefiltered %q\nexhaustive  %q", v.AppendJSON(nil), a, b)
			}
			if a != "" {
				total++
			}
		}
	}
	if total == 0 {
		t.Errorf("no detections at all: got 0, want some")
	}
	t.Logf("%d events with detections", total)
}

func ids(ds []Detection) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Rule.Sigma.ID+strings.Join(d.Searches, "+"))
	}
	return strings.Join(s, ",")
}

// mutations returns ev and copies with each text field upper-cased,
// emptied, or removed.
func mutations(ev *event.Event) []*event.Event {
	out := []*event.Event{ev}
	for i, f := range ev.Fields {
		if f.Value.Kind() != event.String || f.Name == "Channel" {
			continue
		}
		up := ev.Clone()
		up.Fields[i].Value = event.StringValue(strings.ToUpper(f.Value.Str()))
		empty := ev.Clone()
		empty.Fields[i].Value = event.StringValue("")
		gone := ev.Clone()
		gone.Fields = slices.Delete(gone.Fields, i, i+1)
		out = append(out, up, empty, gone)
	}
	return out
}

// TestSigmaHQCompiles reports the SigmaHQ Windows rules that do not compile.
func TestSigmaHQCompiles(t *testing.T) {
	e, _ := sigmaHQ(t)
	if len(e.Rules()) < 2000 {
		t.Errorf("compiled %d SigmaHQ Windows rules, want at least 2000", len(e.Rules()))
	}
}

// sigmaHQ compiles every SigmaHQ Windows rule with the default pipeline and
// loads the regression events.
func sigmaHQ(tb testing.TB) (*Engine, []*event.Event) {
	tb.Helper()
	root := sharedPath(tb, "datasets", "sigma")
	dirs, _ := filepath.Glob(filepath.Join(root, "rules*", "windows"))
	c, err := sigma.LoadPaths(dirs)
	if err != nil {
		tb.Fatal(err)
	}
	e, errs := Compile(c.Rules, c.Filters, Options{Placeholders: map[string][]string{}})
	for _, err := range errs {
		tb.Logf("not compiled: %v", err)
	}
	tb.Logf("%d rules loaded, %d compiled (%d variants), %d not loaded", len(c.Rules), len(e.Rules()), e.Variants(), len(c.Errors))
	return e, regressionEvents(tb, filepath.Join(root, "regression_data"))
}

// exists reports whether a path exists.
func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestMatchDoesNotAllocate(t *testing.T) {
	e := mustCompile(t, procRules, Options{Router: DefaultPipeline()})
	m := e.NewMatcher()
	events := []*event.Event{
		sysmon1("Image", `C:\whoami.exe`, "CommandLine", "whoami /all", "Data", []event.Value{event.StringValue("A"), event.UintValue(1)}),
		evt("EventID", uint64(4688), "Channel", "Security", "NewProcessName", `C:\Cmd.exe`, "ParentProcessName", `C:\Explorer.exe`),
		evt("EventID", uint64(4624), "Channel", "Security", "LogonType", uint64(3)),
	}
	dst := make([]Detection, 0, 8)
	for _, ev := range events {
		dst = m.Match(ev, dst[:0])
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, ev := range events {
			dst = m.Match(ev, dst[:0])
		}
	})
	if allocs != 0 {
		t.Errorf("Match: got %v allocations per run, want 0", allocs)
	}
}

func TestConcurrentMatchers(t *testing.T) {
	e := mustCompile(t, procRules, Options{Router: DefaultPipeline()})
	done := make(chan string)
	for w := range 4 {
		go func() {
			m := e.NewMatcher()
			var got string
			for i := range 200 {
				ev := sysmon1("Image", `C:\whoami.exe`, "CommandLine", strings.Repeat("x", w+i))
				got = matchIDs(e, ev)
				if ds := m.Match(ev, nil); len(ds) != 1 {
					got = "wrong"
				}
			}
			done <- got
		}()
	}
	for range 4 {
		if got := <-done; got != "11111111-1111-1111-1111-111111111111" {
			t.Errorf("worker: got %q, want the whoami rule", got)
		}
	}
}

// TestRegressionData checks that every SigmaHQ regression event file (named
// after the rule it must trigger) triggers its rule.
func TestRegressionData(t *testing.T) {
	e, _ := sigmaHQ(t)
	compiled := map[string]bool{}
	for _, r := range e.Rules() {
		compiled[r.Sigma.ID] = true
	}
	dir := sharedPath(t, "datasets", "sigma", "regression_data")
	files, _ := filepath.Glob(filepath.Join(dir, "rules*", "windows", "*", "*", "*.json"))
	more, _ := filepath.Glob(filepath.Join(dir, "rules*", "windows", "*", "*", "*", "*.json"))
	more2, _ := filepath.Glob(filepath.Join(dir, "rules*", "*", "*", "*", "*", "*.json"))
	files = append(append(files, more...), more2...)
	slices.Sort(files)
	files = slices.Compact(files)
	m := e.NewMatcher()
	checked := 0
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".json")
		if !compiled[id] {
			continue
		}
		checked++
		found := false
		for _, ev := range regressionEvents(t, filepath.Dir(f)) {
			for _, d := range m.Match(ev, nil) {
				found = found || d.Rule.Sigma.ID == id
			}
		}
		if !found {
			t.Errorf("%s: got no detection of rule %s, want one", f, id)
		}
	}
	if checked < 50 {
		t.Errorf("checked %d regression files, want at least 50", checked)
	}
	t.Logf("%d regression files checked", checked)
}
