package html

import (
	"cmp"
	"slices"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
)

// Hostile evidence: values an attacker controls, which must stay inert text
// wherever the report shows them.
const (
	hostileCommand  = `cmd.exe /c "<script>document.body.setAttribute('data-pwned','1')</script>"`
	hostileHost     = `WS03<img src=x onerror="document.body.setAttribute('data-pwned','2')">`
	hostileRule     = `Rule </script><script>document.body.setAttribute('data-pwned','3')</script>`
	hostileSource   = `evil"' onmouseover="x.evtx`
	hostileNotLog   = `notes</code><script>alert(4)</script>.txt`
	hostileFieldKey = `<b onclick=alert(5)>Key`
)

// t0 is the fixture's first event: a fixed time, so the report is the same
// on every run.
var t0 = time.Date(2024, 5, 14, 9, 12, 30, 0, time.UTC)

// fixture returns a Result with detections on three hosts over about six
// hours at every level, one without a time, and hostile strings.
func fixture() *result.Result {
	type spec struct {
		at       time.Duration
		host     string
		rule     result.Rule
		fields   []result.Field
		eventID  int64
		record   int64
		source   string
		noTime   bool
		provider string
	}
	webshell := result.Rule{ID: "8a1b0c2d-0000-4000-8000-000000000001", Title: "Web server spawns a shell", Level: "high",
		Tactics: []string{"persistence", "initial-access"}, Techniques: []string{"T1505.003", "T1190"}}
	recon := result.Rule{ID: "8a1b0c2d-0000-4000-8000-000000000002", Title: "Reconnaissance burst", Level: "medium",
		Tactics: []string{"discovery"}, Techniques: []string{"T1087", "T1082"}}
	sam := result.Rule{ID: "8a1b0c2d-0000-4000-8000-000000000003", Title: "Registry hive saved with reg save", Level: "critical",
		Tactics: []string{"credential-access"}, Techniques: []string{"T1003.002"}}
	clear := result.Rule{ID: "8a1b0c2d-0000-4000-8000-000000000004", Title: "Event log cleared", Level: "low",
		Tactics: []string{"defense-evasion"}, Techniques: []string{"T1070.001"}}
	logon := result.Rule{ID: "8a1b0c2d-0000-4000-8000-000000000005", Title: "Interactive logon", Level: "informational"}
	hostile := result.Rule{ID: "8a1b0c2d-0000-4000-8000-000000000006", Title: hostileRule, Level: "high",
		Tactics: []string{"execution", "lateral-movement"}, Techniques: []string{"T1059.003", "T1021.002"}}

	proc := func(img, cmd string) []result.Field {
		return []result.Field{{Name: "Image", Value: img}, {Name: "CommandLine", Value: cmd}, {Name: "User", Value: `CORP\svc_web`}}
	}
	specs := []spec{
		{at: 0, host: "WEB01.corp.local", rule: webshell, fields: proc(`C:\Windows\System32\cmd.exe`, `cmd.exe /c whoami`), eventID: 1, record: 1001, source: "evidence/web01/sysmon.evtx"},
		{at: 2 * time.Minute, host: "WEB01.corp.local", rule: recon, fields: proc(`C:\Windows\System32\net.exe`, `net user /domain`), eventID: 1, record: 1002, source: "evidence/web01/sysmon.evtx"},
		{at: 3 * time.Minute, host: "WEB01.corp.local", rule: recon, fields: proc(`C:\Windows\System32\net.exe`, `net group "domain admins" /domain`), eventID: 1, record: 1003, source: "evidence/web01/sysmon.evtx"},
		{at: 47 * time.Minute, host: "WEB01.corp.local", rule: sam, fields: proc(`C:\Windows\System32\reg.exe`, `reg save HKLM\SAM C:\ProgramData\s.hiv`), eventID: 1, record: 1010, source: "evidence/web01/sysmon.evtx"},
		{at: 2*time.Hour + 5*time.Minute, host: "DC01.corp.local", rule: hostile, fields: proc(`C:\Windows\System32\cmd.exe`, hostileCommand), eventID: 4688, record: 52001, source: "evidence/dc01/Security.evtx"},
		{at: 2*time.Hour + 6*time.Minute, host: hostileHost, rule: logon, fields: []result.Field{{Name: "TargetUserName", Value: "admin"}, {Name: hostileFieldKey, Value: "10"}}, eventID: 4624, record: 7, source: hostileSource},
		{at: 4*time.Hour + 30*time.Minute, host: "DC01.corp.local", rule: sam, fields: proc(`C:\Windows\System32\reg.exe`, `reg save HKLM\SECURITY C:\ProgramData\y.hiv`), eventID: 4688, record: 52100, source: "evidence/dc01/Security.evtx"},
		{at: 5*time.Hour + 58*time.Minute, host: "DC01.corp.local", rule: clear, fields: []result.Field{{Name: "SubjectUserName", Value: "admin"}}, eventID: 1102, record: 52200, source: "evidence/dc01/Security.evtx"},
		{host: "", rule: recon, fields: proc(`C:\Windows\System32\whoami.exe`, `whoami /all`), noTime: true, source: "evidence/misc.jsonl"},
	}
	r := &result.Result{
		Tool:           "spoor",
		Version:        "v0.0.0-test",
		Started:        time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC),
		ElapsedSeconds: 1.25,
		Paths:          []string{"evidence/", "extra/dc01.zip"},
		Filters:        result.Filters{MinLevel: "informational"},
		Rules:          result.RuleStats{Sources: []string{"builtin", "rules/extra"}, Loaded: 52, Filtered: 3, Skipped: 1, Errors: []string{"rules/extra/broken.yml: unknown modifier |foo"}},
		Evidence: result.Evidence{
			Files: 5, Logs: 4, EVTX: 3, JSON: 1, Archives: 1, Bytes: 3 << 20, Events: 12345, Hunted: 12345,
			First:   t0.Add(-time.Hour),
			Last:    t0.Add(6 * time.Hour),
			NotLogs: []string{"evidence/readme.txt", hostileNotLog},
			Failed:  []result.Failure{{Name: "evidence/cut.evtx", Error: "unexpected EOF", Events: 120}},
			Damaged: []result.Damage{{Name: "evidence/dc01/Security.evtx", Skips: 2, Records: 40, First: []string{"chunk 3: bad checksum", "chunk 9: bad magic"}}},
		},
	}
	for i, s := range specs {
		d := result.Detection{
			Computer: s.host, Channel: "Security", EventID: s.eventID, RecordID: s.record,
			Source: s.source, Locator: int64(i + 1), Rule: &s.rule, Fields: s.fields,
		}
		if d.EventID == 1 {
			d.Channel = "Microsoft-Windows-Sysmon/Operational"
		}
		if !s.noTime {
			d.Time = t0.Add(s.at)
		}
		r.Detections = append(r.Detections, d)
	}
	aggregate(r)
	fixtureOperations(r)
	return r
}

// aggregate fills the counts of r from its detections, as hunt.Run does,
// and sorts the detections by time.
func aggregate(r *result.Result) {
	slices.SortStableFunc(r.Detections, func(a, b result.Detection) int { return a.Time.Compare(b.Time) })
	r.Total = len(r.Detections)
	r.Levels = result.LevelCounts{}
	rules := map[string]*result.RuleCount{}
	ruleHosts := map[string]map[string]bool{}
	hosts := map[string]*result.HostCount{}
	type tacticAgg struct {
		count int
		rules map[string]bool
	}
	tacs := map[string]*tacticAgg{}
	for _, d := range r.Detections {
		r.Levels.Add(d.Rule.Level)
		rc := rules[d.Rule.ID]
		if rc == nil {
			rc = &result.RuleCount{Rule: *d.Rule}
			rules[d.Rule.ID] = rc
			ruleHosts[d.Rule.ID] = map[string]bool{}
		}
		rc.Count++
		ruleHosts[d.Rule.ID][d.Computer] = true
		rc.Hosts = len(ruleHosts[d.Rule.ID])
		hc := hosts[d.Computer]
		if hc == nil {
			hc = &result.HostCount{Computer: d.Computer}
			hosts[d.Computer] = hc
		}
		hc.Count++
		hc.Levels.Add(d.Rule.Level)
		for _, t := range d.Rule.Tactics {
			ta := tacs[t]
			if ta == nil {
				ta = &tacticAgg{rules: map[string]bool{}}
				tacs[t] = ta
			}
			ta.count++
			ta.rules[d.Rule.ID] = true
		}
	}
	r.RuleCounts = nil
	for _, rc := range rules {
		r.RuleCounts = append(r.RuleCounts, *rc)
	}
	slices.SortFunc(r.RuleCounts, func(a, b result.RuleCount) int {
		return cmp.Or(b.Count-a.Count, levelIndex(a.Level)-levelIndex(b.Level), cmp.Compare(a.Title, b.Title))
	})
	r.Hosts = nil
	for _, hc := range hosts {
		r.Hosts = append(r.Hosts, *hc)
	}
	slices.SortFunc(r.Hosts, func(a, b result.HostCount) int {
		return cmp.Or(b.Count-a.Count, cmp.Compare(a.Computer, b.Computer))
	})
	r.Tactics = nil
	for _, t := range result.Tactics {
		if ta := tacs[t.ShortName]; ta != nil {
			r.Tactics = append(r.Tactics, result.TacticCount{ID: t.ID, Name: t.Name, Short: t.ShortName, Count: ta.count, Rules: len(ta.rules)})
		}
	}
}
