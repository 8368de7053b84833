package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// genRule is a rule of the generated detections.
type genRule struct {
	id, title, level    string
	tactics, techniques []string
}

// gen makes realistic detections in the shape `spoor hunt --json` writes:
// a few dozen hosts and a few hundred accounts, rules of every level (many
// medium and low, few critical), process-creation fields, times over a
// month. The same seed gives the same detections.
type gen struct {
	r     *rand.Rand
	rules []genRule
	hosts []string
	users []string
	start time.Time
}

var genTactics = []string{"execution", "persistence", "privilege-escalation", "defense-evasion", "credential-access",
	"discovery", "lateral-movement", "collection", "command-and-control", "exfiltration", "impact"}

var genImages = []string{`C:\Windows\System32\cmd.exe`, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
	`C:\Windows\System32\rundll32.exe`, `C:\Windows\System32\wbem\WMIC.exe`, `C:\Windows\System32\schtasks.exe`,
	`C:\Windows\System32\reg.exe`, `C:\Windows\System32\net.exe`, `C:\ProgramData\svc\update.exe`}

func newGen(seed uint64) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, 1)), start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}
	levels := []string{"informational", "low", "low", "medium", "medium", "medium", "high", "high", "critical"}
	for i := range 150 {
		t1 := genTactics[g.r.IntN(len(genTactics))]
		t2 := genTactics[g.r.IntN(len(genTactics))]
		tech := fmt.Sprintf("T%04d", 1000+g.r.IntN(600))
		if g.r.IntN(2) == 0 {
			tech += fmt.Sprintf(".%03d", 1+g.r.IntN(9))
		}
		g.rules = append(g.rules, genRule{
			id:         fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i*7919),
			title:      fmt.Sprintf("Suspicious %s Activity %d", []string{"Process", "Registry", "Logon", "Service", "Script"}[i%5], i),
			level:      levels[g.r.IntN(len(levels))],
			tactics:    uniq([]string{t1, t2}),
			techniques: []string{tech},
		})
	}
	for i := range 40 {
		g.hosts = append(g.hosts, fmt.Sprintf("WS%03d.corp.local", i))
	}
	for i := range 300 {
		g.users = append(g.users, fmt.Sprintf(`CORP\user%03d`, i))
	}
	return g
}

// genMeta is what a generated detection was made of.
type genMeta struct {
	rule       genRule
	host, user string
	at         time.Time
	run        int // the N of run<N>.bat in its command line
}

// detection returns the i-th detection and what it was made of.
func (g *gen) detection(i int) ([]byte, genMeta) {
	// Rules fire unevenly: a few rules make most detections.
	rule := g.rules[int(float64(len(g.rules))*g.r.Float64()*g.r.Float64())]
	host := g.hosts[int(float64(len(g.hosts))*g.r.Float64()*g.r.Float64())]
	user := g.users[g.r.IntN(len(g.users))]
	image := genImages[g.r.IntN(len(genImages))]
	at := g.start.Add(time.Duration(g.r.Int64N(int64(30 * 24 * time.Hour)))).Truncate(time.Millisecond)
	run := g.r.IntN(5000)
	var tags []string
	for _, t := range rule.tactics {
		tags = append(tags, "attack."+t)
	}
	d := map[string]any{
		"time": at, "computer": host, "channel": "Microsoft-Windows-Sysmon/Operational",
		"provider": "Microsoft-Windows-Sysmon", "event_id": 1, "record_id": 100000 + i,
		"source_file": fmt.Sprintf("evidence/%s/Sysmon.evtx", host[:5]), "locator": 1 + i%5000,
		"rule": map[string]any{"id": rule.id, "title": rule.title, "level": rule.level, "status": "test",
			"tags": tags, "tactics": rule.tactics, "techniques": rule.techniques},
		"searches": []string{"selection"},
		"fields": []map[string]string{
			{"name": "Image", "value": image},
			{"name": "CommandLine", "value": fmt.Sprintf(`%s /c whoami /all & net group "domain admins" /domain & run%d.bat`, image, run)},
			{"name": "ParentImage", "value": genImages[g.r.IntN(len(genImages))]},
			{"name": "User", "value": user},
			{"name": "Hashes", "value": fmt.Sprintf("SHA256=%064x", g.r.Uint64())},
		},
	}
	b, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	return b, genMeta{rule: rule, host: host, user: user, at: at, run: run}
}
