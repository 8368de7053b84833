package detect

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/jsonlog"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

func TestDefaultPipelineLoads(t *testing.T) {
	p := DefaultPipeline()
	if got := p.Files(); !slices.Equal(got, []string{"windows.yml"}) {
		t.Errorf("Files: got %q, want [windows.yml]", got)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	// Every log of the embedded file serves some route: no dead entries.
	used := make(map[string]bool)
	for _, r := range p.routes {
		for _, s := range r.Sources {
			used[s.Log] = true
		}
	}
	for _, name := range pipelineSortedNames(p.logs) {
		if !used[name] {
			t.Errorf("log %q is used by no route", name)
		}
	}
}

// windowsRelevant reports whether rules of ls are for the Windows pipeline:
// product windows, or no product and a category Windows logs carry.
func windowsRelevant(ls sigma.Logsource) bool {
	k := pipelineKeyOf(ls)
	return k.product == "windows" || (k.product == "" && k.category == "antivirus")
}

// corpusLogsources loads the rules of every rules* folder of the shared
// Sigma dataset and returns their logsources, each with the number of
// rules and filters that use it.
func corpusLogsources(t *testing.T) map[pipelineKey]int {
	t.Helper()
	root := shared.Path(t, "datasets", "sigma")
	dirs, err := filepath.Glob(filepath.Join(root, "rules*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no rules folders under %s (%v)", root, err)
	}
	c, err := sigma.LoadPaths(dirs)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[pipelineKey]int)
	for _, r := range c.Rules {
		out[pipelineKeyOf(r.Logsource)]++
	}
	for _, f := range c.Filters {
		out[pipelineKeyOf(f.Logsource)]++
	}
	if len(c.Rules) < 1000 {
		t.Fatalf("loaded %d rules from %s, want the whole corpus", len(c.Rules), root)
	}
	return out
}

// TestPipelineRoutesCorpus checks that every Windows logsource the SigmaHQ
// rules use has a route, and that no other logsource is routed (rules for
// Linux or a proxy must not be matched against Windows events).
func TestPipelineRoutesCorpus(t *testing.T) {
	// Windows logsources used by rules that have no route, with the reason.
	// Keep it empty unless no Windows log can carry the logsource.
	unrouted := map[string]string{}

	p := DefaultPipeline()
	used := corpusLogsources(t)
	keys := make([]pipelineKey, 0, len(used))
	for k := range used {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].less(keys[j]) })

	var windows int
	for _, k := range keys {
		ls := k.logsource()
		_, err := p.Route(ls)
		if !windowsRelevant(ls) {
			if !errors.Is(err, ErrUnknownLogsource) {
				t.Errorf("%s (%d rules): got error %v, want ErrUnknownLogsource", k, used[k], err)
			}
			continue
		}
		windows++
		reason, pinned := unrouted[k.String()]
		switch {
		case err != nil && !pinned:
			t.Errorf("%s (%d rules): not routed: %v", k, used[k], err)
		case err != nil && !errors.Is(err, ErrUnknownLogsource):
			t.Errorf("%s: got error %v, want one wrapping ErrUnknownLogsource", k, err)
		case err == nil && pinned:
			t.Errorf("%s is routed now; remove it from unrouted (%s)", k, reason)
		}
	}
	if windows < 60 {
		t.Errorf("corpus has %d Windows logsources, want at least 60", windows)
	}
	t.Logf("%d logsources in the corpus, %d for Windows, all routed", len(keys), windows)
}

// thorLogsource is one entry of SigmaHQ's tests/thor.yml.
type thorLogsource struct {
	Product       string            `yaml:"product"`
	Category      string            `yaml:"category"`
	Service       string            `yaml:"service"`
	Conditions    map[string]any    `yaml:"conditions"`
	Rewrite       map[string]string `yaml:"rewrite"`
	Sources       []string          `yaml:"sources"`
	Fieldmappings map[string]string `yaml:"fieldmappings"`
}

// TestPipelineCoversThor compares the routes with SigmaHQ's own mapping,
// tests/thor.yml: for each of its Windows logsources that rules use, our
// route must include its channels, event IDs and field mappings.
// Differences are deliberate and listed with the reason.
func TestPipelineCoversThor(t *testing.T) {
	pinned := map[string]string{
		"registry_add: condition EventType: CreateKey":                   "a Source tests Channel, EventID and Provider only; the rules that care test EventType",
		"registry_delete_key: condition EventType: DeleteKey":            "as registry_add",
		"registry_delete_value: condition EventType: DeleteValue":        "as registry_add",
		"windows-defender-antivirus-mapping: field Signature→ThreatName": "Defender's field is \"Threat Name\", with a space; that is our rename",
	}

	data, err := os.ReadFile(shared.Path(t, "datasets", "sigma", "tests", "thor.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var thor struct {
		Logsources map[string]thorLogsource `yaml:"logsources"`
	}
	if err := yaml.Unmarshal(data, &thor); err != nil {
		t.Fatal(err)
	}
	// Channels of thor's Windows service entries.
	serviceChannels := make(map[string][]string)
	for _, e := range thor.Logsources {
		if e.Product == "windows" && e.Category == "" && e.Service != "" {
			for _, s := range e.Sources {
				serviceChannels[e.Service] = append(serviceChannels[e.Service], strings.TrimPrefix(s, "WinEventLog:"))
			}
		}
	}

	p := DefaultPipeline()
	used := corpusLogsources(t)
	var diffs []string
	var compared int
	for _, name := range pipelineSortedNames(thor.Logsources) {
		e := thor.Logsources[name]
		ls := sigma.Logsource{Product: e.Product, Category: e.Category, Service: e.Service}
		if !windowsRelevant(ls) || used[pipelineKeyOf(ls)] == 0 {
			continue
		}
		compared++
		rt, err := p.Route(ls)
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: not routed", name))
			continue
		}
		var ids []uint32
		channels := slices.Clone(e.Sources)
		for i := range channels {
			channels[i] = strings.TrimPrefix(channels[i], "WinEventLog:")
		}
		for k, v := range e.Conditions {
			if k != "EventID" {
				diffs = append(diffs, fmt.Sprintf("%s: condition %s: %v", name, k, v))
				continue
			}
			ids = thorIDs(t, v)
			channels = serviceChannels[e.Rewrite["service"]]
		}
		if len(channels) == 0 {
			t.Fatalf("%s: no channels found in thor.yml", name)
		}
		for _, ch := range channels {
			src, ok := routeSourceFor(rt, ch, ids)
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s: channel %q events %v not covered", name, ch, ids))
				continue
			}
			for sigmaName, evName := range e.Fieldmappings {
				if !slices.Contains(src.Fields[sigmaName], evName) {
					diffs = append(diffs, fmt.Sprintf("%s: field %s→%s", name, sigmaName, evName))
				}
			}
		}
	}
	for _, d := range diffs {
		if _, ok := pinned[d]; !ok {
			t.Errorf("difference with thor.yml: %s", d)
		}
	}
	for d, reason := range pinned {
		if !slices.Contains(diffs, d) {
			t.Errorf("pinned difference %q (%s) no longer occurs; remove it", d, reason)
		}
	}
	if compared < 50 {
		t.Errorf("compared %d thor.yml entries, want at least 50", compared)
	}
}

// routeSourceFor returns the Source of rt for channel that covers every
// event ID of ids (any when ids is empty).
func routeSourceFor(rt Route, channel string, ids []uint32) (Source, bool) {
	for _, s := range rt.Sources {
		if !strings.EqualFold(s.Channel, channel) {
			continue
		}
		if len(s.EventIDs) == 0 {
			return s, true
		}
		if len(ids) > 0 && !slices.ContainsFunc(ids, func(id uint32) bool { return !slices.Contains(s.EventIDs, id) }) {
			return s, true
		}
	}
	return Source{}, false
}

func thorIDs(t *testing.T, v any) []uint32 {
	t.Helper()
	switch v := v.(type) {
	case int:
		return []uint32{uint32(v)}
	case []any:
		var out []uint32
		for _, x := range v {
			out = append(out, thorIDs(t, x)...)
		}
		return out
	}
	t.Fatalf("thor.yml EventID %v (%T): want numbers", v, v)
	return nil
}

// testEvent builds an event from name/value pairs; numbers stay numbers.
func testEvent(kv ...any) *event.Event {
	ev := &event.Event{}
	for i := 0; i+1 < len(kv); i += 2 {
		name := kv[i].(string)
		switch v := kv[i+1].(type) {
		case int:
			ev.Add(name, event.IntValue(int64(v)))
		case string:
			ev.Add(name, event.StringValue(v))
		}
	}
	return ev
}

// resolve looks a Sigma field up in ev as the engine does for the first
// Source of rt that ev satisfies: through the Source's renames, else
// under its own name.
func resolve(rt Route, ev *event.Event, field string) (string, bool) {
	for _, s := range rt.Sources {
		if !pipelineSourceMatches(s, ev) {
			continue
		}
		names, ok := s.Fields[field]
		if !ok {
			names = []string{field}
		}
		for _, n := range names {
			if v, ok := ev.Get(n); ok {
				return v.Text(), true
			}
		}
		return "", false
	}
	return "", false
}

const (
	chSysmon   = "Microsoft-Windows-Sysmon/Operational"
	prvSysmon  = "Microsoft-Windows-Sysmon"
	prvAuditng = "Microsoft-Windows-Security-Auditing"
)

// TestPipelineRoutesEvents routes events shaped like real ones (fields
// from the security-datasets and EVTX samples) to their logsources.
func TestPipelineRoutesEvents(t *testing.T) {
	p := DefaultPipeline()
	cat := func(c string) string { return "product: windows, category: " + c }
	svc := func(s string) string { return "product: windows, service: " + s }
	tests := []struct {
		name string
		ev   *event.Event
		want []string
	}{
		{"sysmon 1", testEvent("Channel", chSysmon, "Provider_Name", prvSysmon, "EventID", 1, "Image", `C:\Windows\System32\sppsvc.exe`),
			[]string{cat("process_creation"), svc("sysmon")}},
		{"sysmon 1 without Channel (JSON)", testEvent("Provider_Name", prvSysmon, "EventID", 1),
			[]string{cat("process_creation"), svc("sysmon")}},
		{"sysmon 1 with lower-case channel", testEvent("Channel", strings.ToLower(chSysmon), "EventID", 1),
			[]string{cat("process_creation"), svc("sysmon")}},
		{"sysmon 13", testEvent("Channel", chSysmon, "Provider_Name", prvSysmon, "EventID", 13),
			[]string{cat("registry_event"), cat("registry_set"), svc("sysmon")}},
		{"sysmon 12", testEvent("Channel", chSysmon, "EventID", 12),
			[]string{cat("registry_add"), cat("registry_delete"), cat("registry_event"), svc("sysmon")}},
		{"sysmon 26", testEvent("Channel", chSysmon, "EventID", 26),
			[]string{cat("file_delete"), cat("file_delete_detected"), svc("sysmon")}},
		{"security 4688", testEvent("Channel", "Security", "Provider_Name", prvAuditng, "EventID", 4688),
			[]string{cat("process_creation"), svc("security")}},
		{"security 4688, EventID as text", testEvent("Channel", "Security", "EventID", "4688"),
			[]string{cat("process_creation"), svc("security")}},
		{"security 4624", testEvent("Channel", "Security", "Provider_Name", prvAuditng, "EventID", 4624),
			[]string{svc("security")}},
		{"security 4663", testEvent("Channel", "Security", "EventID", 4663),
			[]string{cat("file_access"), svc("security")}},
		{"powershell 4104", testEvent("Channel", "Microsoft-Windows-PowerShell/Operational", "Provider_Name", "Microsoft-Windows-PowerShell", "EventID", 4104),
			[]string{cat("ps_script"), svc("powershell")}},
		{"powershell core 4103", testEvent("Channel", "PowerShellCore/Operational", "EventID", 4103),
			[]string{cat("ps_module"), svc("powershell")}},
		{"windows powershell 400", testEvent("Channel", "Windows PowerShell", "Provider_Name", "PowerShell", "EventID", 400),
			[]string{cat("ps_classic_start"), svc("powershell-classic")}},
		{"defender 1116", testEvent("Channel", "Microsoft-Windows-Windows Defender/Operational", "EventID", 1116),
			[]string{"category: antivirus", cat("antivirus"), svc("windefend")}},
		{"system 7045", testEvent("Channel", "System", "Provider_Name", "Service Control Manager", "EventID", 7045),
			[]string{svc("system")}},
		{"winrm", testEvent("Channel", "Microsoft-Windows-WinRM/Operational", "EventID", 91), []string{svc("winrm")}},
		{"unrelated channel", testEvent("Channel", "Microsoft-Windows-Winlogon/Operational", "EventID", 811), nil},
		{"sysmon provider in another channel", testEvent("Channel", "Security", "EventID", 1), []string{svc("security")}},
		{"no channel, unknown provider", testEvent("Provider_Name", "Service Control Manager", "EventID", 7045), nil},
		{"no channel or provider", testEvent("EventID", 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, ls := range p.LogsourcesOf(tt.ev) {
				got = append(got, pipelineKeyOf(ls).String())
			}
			slices.Sort(got)
			slices.Sort(tt.want)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPipelineRenames checks that a rule's field names reach the right
// event fields in each source of process_creation.
func TestPipelineRenames(t *testing.T) {
	p := DefaultPipeline()
	rt, err := p.Route(sigma.Logsource{Product: "windows", Category: "process_creation"})
	if err != nil {
		t.Fatal(err)
	}
	// A Security 4688 record as nxlog exported it (security-datasets).
	sec := testEvent("Channel", "Security", "Provider_Name", prvAuditng, "EventID", 4688,
		"SubjectLogonId", "0x3e7", "SubjectUserName", "MORDORDC$", "ProcessId", "0x2b8",
		"NewProcessId", "0x7d8", "NewProcessName", `C:\Windows\System32\sppsvc.exe`,
		"ParentProcessName", `C:\Windows\System32\services.exe`, "MandatoryLabel", "S-1-16-16384",
		"CommandLine", `C:\windows\system32\sppsvc.exe`)
	// The Sysmon 1 record of the same process.
	sys := testEvent("Channel", chSysmon, "Provider_Name", prvSysmon, "EventID", 1,
		"ProcessId", "2008", "Image", `C:\Windows\System32\sppsvc.exe`, "ParentProcessId", "696",
		"ParentImage", `C:\Windows\System32\services.exe`, "IntegrityLevel", "System",
		"LogonId", "0x3e4", "User", `NT AUTHORITY\NETWORK SERVICE`, "CommandLine", `C:\windows\system32\sppsvc.exe`)
	tests := []struct {
		ev       *event.Event
		field    string
		want     string
		wantSeen bool
	}{
		{sec, "Image", `C:\Windows\System32\sppsvc.exe`, true},
		{sec, "ParentImage", `C:\Windows\System32\services.exe`, true},
		{sec, "CommandLine", `C:\windows\system32\sppsvc.exe`, true},
		{sec, "ProcessId", "0x7d8", true},
		{sec, "ParentProcessId", "0x2b8", true},
		{sec, "IntegrityLevel", "S-1-16-16384", true},
		{sec, "LogonId", "0x3e7", true},
		{sec, "User", "", false}, // not renamed: see windows.yml
		{sec, "OriginalFileName", "", false},
		{sys, "Image", `C:\Windows\System32\sppsvc.exe`, true},
		{sys, "ProcessId", "2008", true},
		{sys, "ParentProcessId", "696", true},
		{sys, "User", `NT AUTHORITY\NETWORK SERVICE`, true},
	}
	for _, tt := range tests {
		got, ok := resolve(rt, tt.ev, tt.field)
		if got != tt.want || ok != tt.wantSeen {
			id, _ := tt.ev.Lookup("EventID").Number()
			t.Errorf("event %v, field %s: got %q %v, want %q %v", id, tt.field, got, ok, tt.want, tt.wantSeen)
		}
	}
}

func TestPipelineRoute(t *testing.T) {
	p := DefaultPipeline()
	for _, ls := range []sigma.Logsource{
		{Product: "windows", Category: "no_such_category"},
		{Product: "windows", Service: "no-such-service"},
		{Product: "linux", Category: "process_creation"},
		{Category: "process_creation"},
		{Product: "windows", Category: "process_creation", Service: "powershell"}, // no log in common
		{Product: "windows", Category: "no_such_category", Service: "sysmon"},
		{},
	} {
		_, err := p.Route(ls)
		if !errors.Is(err, ErrUnknownLogsource) {
			t.Errorf("Route(%+v): got error %v, want ErrUnknownLogsource", ls, err)
		}
	}
	// A category and a service: the category's sources within the
	// service's logs.
	for _, tt := range []struct {
		ls   sigma.Logsource
		want string
	}{
		{sigma.Logsource{Product: "windows", Category: "process_creation", Service: "sysmon"},
			"Microsoft-Windows-Sysmon/Operational [1]; Microsoft-Windows-Sysmon [1]"},
		{sigma.Logsource{Product: "windows", Category: "ps_classic_start", Service: "powershell-classic"},
			"Windows PowerShell [400]; PowerShell [400]"},
		{sigma.Logsource{Product: "windows", Category: "ps_script", Service: "powershell"},
			"Microsoft-Windows-PowerShell/Operational [4104]; Microsoft-Windows-PowerShell [4104]; PowerShellCore/Operational [4104]; PowerShellCore [4104]"},
	} {
		rt, err := p.Route(tt.ls)
		var got []string
		for _, s := range rt.Sources {
			got = append(got, fmt.Sprintf("%s%s %v", s.Channel, s.Provider, s.EventIDs))
		}
		if err != nil || strings.Join(got, "; ") != tt.want {
			t.Errorf("Route(%+v): got %q, %v, want %q", tt.ls, strings.Join(got, "; "), err, tt.want)
		}
	}
	// A bare product takes every event: a Route without Sources.
	rt, err := p.Route(sigma.Logsource{Product: "windows"})
	if err != nil || len(rt.Sources) != 0 {
		t.Errorf("Route(product windows): got %+v, %v, want no Sources", rt, err)
	}
	// Case and the definition do not matter.
	rt, err = p.Route(sigma.Logsource{Product: "Windows", Category: "PS_Script", Definition: "Script Block Logging"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{Channel: "Microsoft-Windows-PowerShell/Operational", EventIDs: []uint32{4104}},
		{Provider: "Microsoft-Windows-PowerShell", EventIDs: []uint32{4104}},
		{Channel: "PowerShellCore/Operational", EventIDs: []uint32{4104}},
		{Provider: "PowerShellCore", EventIDs: []uint32{4104}},
	}
	if got := fmt.Sprintf("%+v", rt.Sources); got != fmt.Sprintf("%+v", want) {
		t.Errorf("Route(ps_script): got %s, want %+v", got, want)
	}
	// The Route is the caller's to change.
	rt.Sources[0].EventIDs[0] = 1
	again, _ := p.Route(sigma.Logsource{Product: "windows", Category: "ps_script"})
	if again.Sources[0].EventIDs[0] != 4104 {
		t.Error("changing a returned Route changed the pipeline")
	}
}

func TestLoadPipelineErrors(t *testing.T) {
	const head = "version: 1\nlogs:\n  sysmon:\n    channel: Microsoft-Windows-Sysmon/Operational\nroutes:\n"
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown key in a source", head + "  - category: x\n    sources:\n      - log: sysmon\n        evnt_ids: [1]\n",
			[]string{"user.yml", "line 9", "evnt_ids"}},
		{"unknown top-level key", "version: 1\nroute: []\n", []string{"user.yml", "line 2", "route"}},
		{"unknown key in a log", "version: 1\nlogs:\n  a:\n    chanel: X\n", []string{"line 4", "chanel"}},
		{"no version", "logs: {}\n", []string{"user.yml: version: got 0, want 1"}},
		{"empty file", "", []string{"user.yml: empty file"}},
		{"two documents", head + "  - product: windows\n    any: true\n---\nversion: 1\n", []string{"user.yml: line 8: more than one YAML document"}},
		{"syntax", "version: [1\n", []string{"user.yml", "line"}},
		{"duplicate log", "version: 1\nlogs:\n  a: {channel: A}\n  a: {channel: B}\n", []string{"line 4", `"a" already defined at line 3`}},
		{"log without channel", "version: 1\nlogs:\n  a: {}\n", []string{"user.yml:3: logs: a: no channel or provider"}},
		{"undefined log", head + "  - category: x\n    sources:\n      - log: sysmn\n", []string{"user.yml:8: route (category: x): sources[0]: log \"sysmn\" is not defined"}},
		{"duplicate route", head + "  - category: x\n    any: true\n  - category: X\n    any: true\n", []string{"user.yml:8: route (category: x): logsource already routed at user.yml:6"}},
		{"no logsource", head + "  - any: true\n", []string{"user.yml:6: route (empty logsource): no product, category or service"}},
		{"no sources", head + "  - category: x\n", []string{"user.yml:6", "no sources"}},
		{"any and sources", head + "  - category: x\n    any: true\n    sources: [{log: sysmon}]\n", []string{"user.yml:6", "any: true excludes sources"}},
		{"event ID too large", head + "  - category: x\n    sources:\n      - log: sysmon\n        event_ids: [70000]\n", []string{"user.yml:8", "70000 is not a Windows event ID"}},
		{"event ID not a number", head + "  - category: x\n    sources:\n      - log: sysmon\n        event_ids: [one]\n", []string{"user.yml", "line 9", "one"}},
		{"event ID twice", head + "  - category: x\n    sources:\n      - log: sysmon\n        event_ids: [1, 1]\n", []string{"1 listed twice"}},
		{"rename to itself", head + "  - category: x\n    sources:\n      - log: sysmon\n        fields:\n          Image: Image\n", []string{"user.yml:10", "fields: Image: renamed to itself"}},
		{"rename with modifier", head + "  - category: x\n    sources:\n      - log: sysmon\n        fields:\n          Image|endswith: X\n", []string{"user.yml:10", "not a field name"}},
		{"rename to empty", head + "  - category: x\n    sources:\n      - log: sysmon\n        fields:\n          Image: ['']\n", []string{"user.yml:10", `"" is not a field name`}},
		{"rename to a mapping", head + "  - category: x\n    sources:\n      - log: sysmon\n        fields:\n          Image: {a: b}\n", []string{"user.yml", "line 10", "want an event field name"}},
		{"overlapping sources", head + "  - category: x\n    sources:\n      - log: sysmon\n        event_ids: [1, 2]\n      - log: sysmon\n        event_ids: [3, 2]\n",
			[]string{"user.yml:10: route (category: x): sources[1]: log \"sysmon\" event 2 is already covered by sources[0]"}},
		{"whole log twice", head + "  - category: x\n    sources:\n      - log: sysmon\n      - log: sysmon\n        event_ids: [3]\n",
			[]string{"sources[1]: log \"sysmon\" event 3 is already covered by sources[0]"}},
		{"extend without base", head + "  - category: x\n    extend: true\n    sources: [{log: sysmon}]\n", []string{"user.yml:6", "extend: no earlier route"}},
		{"log rename to itself", "version: 1\nlogs:\n  a:\n    channel: A\n    fields:\n      X: [Y, Y]\n", []string{"user.yml:6: logs: a: fields: X: \"Y\" listed twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadPipeline([]byte(tt.yaml), "user.yml")
			if err == nil {
				t.Fatalf("got no error, want one with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestPipelineLogFields checks that a log's renames reach every source of
// the log, under the source's own.
func TestPipelineLogFields(t *testing.T) {
	const file = `version: 1
logs:
  av:
    channel: AV
    provider: AVP
    fields:
      ThreatName: [ThreatName, Threat Name]
      Path: File Path
routes:
  - category: antivirus
    sources:
      - log: av
        fields:
          Path: Target
  - service: av
    sources:
      - log: av
`
	p, err := LoadPipeline([]byte(file), "user.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		ls   sigma.Logsource
		want string
	}{
		{sigma.Logsource{Category: "antivirus"}, "map[Path:[Target] ThreatName:[ThreatName Threat Name]]"},
		{sigma.Logsource{Service: "av"}, "map[Path:[File Path] ThreatName:[ThreatName Threat Name]]"},
	} {
		rt, err := p.Route(tt.ls)
		if err != nil || len(rt.Sources) != 2 {
			t.Fatalf("Route(%+v): got %+v, %v, want 2 sources", tt.ls, rt, err)
		}
		for _, s := range rt.Sources {
			if got := fmt.Sprint(s.Fields); got != tt.want {
				t.Errorf("Route(%+v) %s%s: got fields %s, want %s", tt.ls, s.Channel, s.Provider, got, tt.want)
			}
		}
	}
}

// TestPipelineExtend extends the default pipeline with a user file: a
// source added to a route, a route replaced, a new log and service, and a
// log redefined.
func TestPipelineExtend(t *testing.T) {
	const user = `version: 1
logs:
  winrm:
    channel: Microsoft-Windows-WinRM/Operational
  # Sysmon installed under a renamed service writes its own channel.
  sysmon:
    channel: Microsoft-Windows-Sysmon64/Operational
routes:
  # Security 5156 (Windows Filtering Platform) as network connections.
  - product: windows
    category: network_connection
    extend: true
    sources:
      - log: security
        event_ids: [5156]
        fields:
          Image: Application
          SourceIp: SourceAddress
          DestinationIp: DestAddress
          DestinationPort: DestPort
  # Script blocks of Windows PowerShell only.
  - product: windows
    category: ps_script
    sources:
      - log: powershell
        event_ids: [4104]
  - product: windows
    service: winrm
    sources:
      - log: winrm
`
	base := DefaultPipeline()
	p, err := base.Extend([]byte(user), "user.yml")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Files(); !slices.Equal(got, []string{"windows.yml", "user.yml"}) {
		t.Errorf("Files: got %q", got)
	}
	routes := func(p *Pipeline, ev *event.Event) []string {
		var out []string
		for _, ls := range p.LogsourcesOf(ev) {
			out = append(out, pipelineKeyOf(ls).String())
		}
		slices.Sort(out)
		return out
	}
	wfp := testEvent("Channel", "Security", "EventID", 5156, "Application", `\device\harddiskvolume2\windows\system32\svchost.exe`, "DestAddress", "10.0.0.1")
	if got := routes(p, wfp); !slices.Contains(got, "product: windows, category: network_connection") {
		t.Errorf("5156 after extend: got %q, want network_connection among them", got)
	}
	if got := routes(base, wfp); slices.Contains(got, "product: windows, category: network_connection") {
		t.Errorf("5156 in the default pipeline: got %q, want no network_connection (Extend changed its receiver)", got)
	}
	rt, _ := p.Route(sigma.Logsource{Product: "windows", Category: "network_connection"})
	if got, _ := resolve(rt, wfp, "DestinationIp"); got != "10.0.0.1" {
		t.Errorf("5156 DestinationIp: got %q, want 10.0.0.1", got)
	}
	// The Sysmon 3 source is still there, with the redefined channel.
	if got := routes(p, testEvent("Channel", "Microsoft-Windows-Sysmon64/Operational", "EventID", 3)); !slices.Equal(got, []string{"product: windows, category: network_connection", "product: windows, service: sysmon"}) {
		t.Errorf("Sysmon64 3: got %q", got)
	}
	core := testEvent("Channel", "PowerShellCore/Operational", "EventID", 4104)
	if got := routes(p, core); slices.Contains(got, "product: windows, category: ps_script") {
		t.Errorf("PowerShellCore 4104 after replace: got %q, want no ps_script", got)
	}
	if got := routes(p, testEvent("Channel", "Microsoft-Windows-WinRM/Operational", "EventID", 91)); !slices.Equal(got, []string{"product: windows, service: winrm"}) {
		t.Errorf("WinRM 91: got %q, want the new winrm service", got)
	}

	// Extending twice the same way is refused: the sources overlap.
	if _, err := p.Extend([]byte(user), "again.yml"); err == nil || !strings.Contains(err.Error(), "already covered") {
		t.Errorf("extend twice: got %v, want an overlap error", err)
	}
	// Extending a route that takes every event is refused.
	const anyExt = "version: 1\nroutes:\n  - product: windows\n    extend: true\n    sources: [{log: security}]\n"
	if _, err := base.Extend([]byte(anyExt), "any.yml"); err == nil || !strings.Contains(err.Error(), "any.yml:3") {
		t.Errorf("extend the any route: got %v, want an error at any.yml:3", err)
	}
}

// TestPipelineRealEvents routes the events of a few Security-Datasets
// recordings (nxlog JSON read by the jsonlog reader): each event of a log
// the pipeline knows reaches a logsource, and every rename of a source
// seen in the data names a field that its events really carry.
func TestPipelineRealEvents(t *testing.T) {
	zips := []string{
		"datasets/atomic/windows/collection/host/msf_record_mic.zip",                            // Sysmon, Security 4663/4688/4689
		"datasets/atomic/windows/credential_access/host/cmd_dumping_ntds_dit_file_ntdsutil.zip", // PowerShell 4103/4104/800
		"datasets/atomic/windows/execution/host/empire_launcher_vbs.zip",                        // Windows PowerShell 400/600
		"datasets/atomic/windows/discovery/host/empire_shell_net_local_users.zip",               // System: Directory-Services-SAM 16969
	}
	p := DefaultPipeline()
	// Every Source of every route that restricts events, with its label.
	type labelled struct {
		key, label string
		src        Source
	}
	var sources []labelled
	for _, ls := range p.Logsources() {
		rt, err := p.Route(ls)
		if err != nil {
			t.Fatal(err)
		}
		key := pipelineKeyOf(ls).String()
		for _, s := range rt.Sources {
			sources = append(sources, labelled{key, fmt.Sprintf("%s: %s%s %v", key, s.Channel, s.Provider, s.EventIDs), s})
		}
	}
	known := make(map[string]bool)
	for _, l := range p.logs {
		known[strings.ToLower(l.Channel)] = true
	}
	type renameKey struct{ source, field string }
	seen := make(map[renameKey]int)  // events of the source
	found := make(map[renameKey]int) // ... that carry a renamed name
	hits := make(map[string]int)     // events per logsource
	var events, unplaced int
	for _, z := range zips {
		forEachZipEvent(t, shared.Path(t, "datasets", "security-datasets", z), func(ev *event.Event) {
			events++
			placed := make(map[string]bool)
			for _, ls := range sources {
				if placed[ls.key] || !pipelineSourceMatches(ls.src, ev) {
					continue
				}
				placed[ls.key] = true
				hits[ls.key]++
				for field, names := range ls.src.Fields {
					k := renameKey{ls.label, field}
					seen[k]++
					if slices.ContainsFunc(names, func(n string) bool { _, ok := ev.Get(n); return ok }) {
						found[k]++
					}
				}
			}
			if ch, _ := ev.Get(event.FieldChannel); len(placed) == 0 && known[strings.ToLower(ch.Text())] {
				unplaced++
				if unplaced <= 5 {
					t.Errorf("%s:%d: event of known channel %q reaches no logsource", ev.Source, ev.Locator, ch.Text())
				}
			}
		})
	}
	for k, n := range seen {
		if found[k] == 0 {
			t.Errorf("%s: rename of %s: none of %d events carries the target field", k.source, k.field, n)
		}
	}
	for _, want := range []string{
		"product: windows, category: process_creation",
		"product: windows, category: process_termination",
		"product: windows, category: file_access",
		"product: windows, category: ps_module",
		"product: windows, category: ps_script",
		"product: windows, category: ps_classic_start",
		"product: windows, category: ps_classic_provider_start",
		"product: windows, category: ps_classic_script",
		"product: windows, category: registry_set",
		"product: windows, service: security",
		"product: windows, service: sysmon",
	} {
		if hits[want] == 0 {
			t.Errorf("no event reached %s", want)
		}
	}
	if len(seen) < 8 {
		t.Errorf("checked %d renames against real events, want at least 8", len(seen))
	}
	t.Logf("%d events; %d renames checked against real fields", events, len(seen))
}

// forEachZipEvent reads every JSON member of a zip file with the jsonlog
// reader and calls fn for each event.
func forEachZipEvent(t *testing.T, path string, fn func(*event.Event)) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		r := jsonlog.NewReader(rc, jsonlog.Options{Source: path + "!" + f.Name})
		for {
			ev, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var skip *event.SkipError
			if errors.As(err, &skip) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			fn(ev)
		}
		r.Close()
		rc.Close()
	}
}
