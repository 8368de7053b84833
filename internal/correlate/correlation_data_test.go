package correlate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/source"
	"github.com/spoor-hunt/spoor/rules"
)

// builtin loads the built-in rule set: its rules and correlations.
func builtin(t *testing.T) *sigma.Collection {
	t.Helper()
	all := &sigma.Collection{}
	err := fs.WalkDir(rules.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || rules.IsTest(p) || !strings.HasSuffix(p, ".yml") {
			return err
		}
		data, err := rules.FS.ReadFile(p)
		if err != nil {
			return err
		}
		c := sigma.Parse(data, p)
		all.Rules = append(all.Rules, c.Rules...)
		all.Correlations = append(all.Correlations, c.Correlations...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// correlateFiles hunts paths with the rules and correlations of c, the way
// a hunt does: every event through the detection engine, the detections of
// referenced rules kept as Inputs with the fields the set asks for, then
// Run. It returns the set and the matches, rendered by describe.
func correlateFiles(t *testing.T, c *sigma.Collection, paths ...string) (*Set, []Match, []Input) {
	t.Helper()
	set, errs := Compile(c.Correlations, c.Rules)
	if len(errs) > 0 {
		t.Fatalf("Compile: %v", errors.Join(errs...))
	}
	eng, errs := detect.Compile(c.Rules, nil, detect.Options{})
	if len(errs) > 0 {
		t.Fatalf("detect.Compile: %v", errors.Join(errs...))
	}
	const workers = 4
	ms := make([]*detect.Matcher, workers)
	for i := range ms {
		ms[i] = eng.NewMatcher()
	}
	var mu sync.Mutex
	var inputs []Input
	_, err := source.Run(context.Background(), paths, source.Options{Workers: workers}, func(w int, ev *event.Event) error {
		for _, d := range ms[w].Match(ev, nil) {
			r := d.Rule.Sigma
			names := set.Fields(r.ID)
			if names == nil {
				continue
			}
			in := Input{RuleID: r.ID, RuleName: r.Name, Time: ev.Time(), Fields: map[string]string{}}
			for _, n := range names {
				if v, ok := ev.Get(n); ok {
					in.Fields[n] = strings.Clone(v.Text()) // the event's buffer is reused
				}
			}
			mu.Lock()
			inputs = append(inputs, in)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("source.Run: %v", err)
	}
	return set, mustRun(t, set, inputs), inputs
}

// describe renders a match as "title [field=value,...] count N value V max
// M first..last".
func describe(m Match) string {
	var g []string
	for _, p := range m.Group {
		g = append(g, p.Field+"="+p.Value)
	}
	return fmt.Sprintf("%s [%s] count %d value %g max %g %s..%s", m.Correlation.Title, strings.Join(g, ","),
		m.Count, m.Value, m.Max, m.First.UTC().Format("15:04:05.000"), m.Last.UTC().Format("15:04:05.000"))
}

func describeAll(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, describe(m))
	}
	return out
}

func TestDeepBlueCLIBuiltin(t *testing.T) {
	dir := shared.Path(t, "datasets", "deepbluecli", "evtx")
	c := builtin(t)
	for _, tc := range []struct {
		file string
		want []string
	}{
		// 3,561 failed SMB logons in 2m43s: 3,560 for Administrator from
		// 192.168.198.149 (3,558 wrong passwords, 2 for a disabled
		// account) and one for a random user name.
		{"smb-password-guessing-security.evtx", []string{
			"Password Guessing Against One Account (Failed Network Logons) [Computer=DESKTOP-M5SN04R,TargetUserName=Administrator,IpAddress=192.168.198.149] count 3560 value 10 max 3560 16:50:06.513..16:52:49.399",
		}},
		// 294 logons with explicit credentials by jwrig in 5m15s, naming
		// 41 accounts, sent to the host itself (TargetServerName).
		{"password-spray.evtx", []string{
			"Password Spraying With Explicit Credentials From One Account (Security 4648) [Computer=DESKTOP-JR78RLP,SubjectUserName=jwrig,TargetServerName=DESKTOP-JR78RLP] count 294 value 10 max 41 19:27:02.847..19:32:17.474",
		}},
		// Other evidence of the same collection does not fire.
		{"new-user-security.evtx", nil},
		{"mimikatz-privesc-hashdump.evtx", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			set, ms, inputs := correlateFiles(t, c, filepath.Join(dir, tc.file))
			if got := describeAll(ms); !slices.Equal(got, tc.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tc.want, "\n\t"))
			}
			for _, m := range ms {
				if len(m.Inputs) != m.Count {
					t.Errorf("%s: %d inputs, want %d", m.Correlation.Title, len(m.Inputs), m.Count)
				}
				if set.Suppressed(m.Correlation.ID) {
					t.Errorf("%s: outermost correlation suppressed", m.Correlation.Title)
				}
			}
			for _, in := range inputs {
				if !set.Suppressed(in.RuleID) {
					t.Errorf("rule %s: building block not suppressed", in.RuleID)
				}
			}
		})
	}
}

// hayabusaCorrelations loads the correlation rule files of the Hayabusa
// rule set (each holds its correlation and the rule it references).
func hayabusaCorrelations(t *testing.T) *sigma.Collection {
	t.Helper()
	dir := shared.Path(t, "datasets", "hayabusa-rules", "hayabusa", "builtin", "Security", "LogonLogoff", "Logon")
	files, err := filepath.Glob(filepath.Join(dir, "*_Correlation.yml"))
	if err != nil || len(files) != 3 {
		t.Fatalf("got %d Hayabusa correlation files (%v), want 3", len(files), err)
	}
	c, err := sigma.LoadPaths(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Errors {
		if !e.Warning {
			t.Errorf("load: %v", e)
		}
	}
	if len(c.Correlations) != 3 || len(c.Rules) != 3 {
		t.Fatalf("got %d correlations and %d rules, want 3 and 3", len(c.Correlations), len(c.Rules))
	}
	return c
}

func TestHayabusaCorrelations(t *testing.T) {
	c := hayabusaCorrelations(t)
	deepblue := shared.Path(t, "datasets", "deepbluecli", "evtx")
	for _, tc := range []struct {
		paths []string
		want  []string
	}{
		{[]string{filepath.Join(deepblue, "smb-password-guessing-security.evtx")}, []string{
			"PW Guessing [TargetUserName=Administrator,TargetDomainName=.,IpAddress=192.168.198.149,LogonType=3,ProcessName=-,LogonProcessName=NtLmSsp] count 3558 value 5 max 3558 16:50:06.513..16:52:49.399",
		}},
		{[]string{filepath.Join(deepblue, "password-spray.evtx")}, []string{
			"PW Spray [IpAddress=172.16.144.128,Computer=DESKTOP-JR78RLP] count 294 value 5 max 41 19:27:02.847..19:32:17.474",
		}},
	} {
		t.Run(filepath.Base(tc.paths[0]), func(t *testing.T) {
			_, ms, _ := correlateFiles(t, c, tc.paths...)
			if got := describeAll(ms); !slices.Equal(got, tc.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tc.want, "\n\t"))
			}
		})
	}
}

// TestDeepBlueCLIAll runs the Hayabusa and built-in correlations together
// over the whole DeepBlueCLI collection, files read in parallel (so in no
// fixed order): the four matches above and nothing else.
func TestDeepBlueCLIAll(t *testing.T) {
	c := hayabusaCorrelations(t)
	b := builtin(t)
	c.Rules = append(c.Rules, b.Rules...)
	c.Correlations = append(c.Correlations, b.Correlations...)
	_, ms, _ := correlateFiles(t, c, shared.Path(t, "datasets", "deepbluecli"))
	want := []string{
		"PW Guessing [TargetUserName=Administrator,TargetDomainName=.,IpAddress=192.168.198.149,LogonType=3,ProcessName=-,LogonProcessName=NtLmSsp] count 3558 value 5 max 3558 16:50:06.513..16:52:49.399",
		"PW Spray [IpAddress=172.16.144.128,Computer=DESKTOP-JR78RLP] count 294 value 5 max 41 19:27:02.847..19:32:17.474",
		"Password Guessing Against One Account (Failed Network Logons) [Computer=DESKTOP-M5SN04R,TargetUserName=Administrator,IpAddress=192.168.198.149] count 3560 value 10 max 3560 16:50:06.513..16:52:49.399",
		"Password Spraying With Explicit Credentials From One Account (Security 4648) [Computer=DESKTOP-JR78RLP,SubjectUserName=jwrig,TargetServerName=DESKTOP-JR78RLP] count 294 value 10 max 41 19:27:02.847..19:32:17.474",
	}
	if got := describeAll(ms); !slices.Equal(got, want) {
		t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// TestHayabusaUserGuessing runs Hayabusa's User Guessing correlation, for
// which the shared evidence holds a single event (one unknown user name in
// the SMB guessing file), on inputs shaped like its sample event: more than
// three unknown user names from one source within five minutes.
func TestHayabusaUserGuessing(t *testing.T) {
	c := hayabusaCorrelations(t)
	set, errs := Compile(c.Correlations, c.Rules)
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	const rule = "b2c74582-0d44-49fe-8faa-014dcdafee62" // non_existent_user
	if got, want := set.Fields(rule), []string{"IpAddress", "LogonProcessName", "LogonType", "ProcessName", "TargetDomainName", "TargetUserName", "WorkstationName"}; !slices.Equal(got, want) {
		t.Fatalf("Fields: got %v, want %v", got, want)
	}
	input := func(at time.Duration, user string) Input {
		return Input{RuleID: rule, Time: t0.Add(at), Fields: map[string]string{
			"IpAddress": "10.1.1.9", "LogonType": "3", "TargetDomainName": "FS01", "ProcessName": "-",
			"LogonProcessName": "NtLmSsp", "WorkstationName": "KALI", "TargetUserName": user}}
	}
	users := []Input{input(0, "admin"), input(time.Minute, "root"), input(2*time.Minute, "backup"), input(5*time.Minute, "test"), input(5*time.Minute+1, "guest")}
	if ms := mustRun(t, set, users[:3]); len(ms) != 0 {
		t.Errorf("three users: got %v, want no match", describeAll(ms))
	}
	want := []string{"User Guessing [IpAddress=10.1.1.9,LogonType=3,TargetDomainName=FS01,ProcessName=-,LogonProcessName=NtLmSsp,WorkstationName=KALI] count 5 value 4 max 4 10:00:00.000..10:05:00.000"}
	if got := describeAll(mustRun(t, set, users)); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if !set.Suppressed(rule) || set.Suppressed("0ae09af3-f30f-47c2-a31c-83e0b918eeee") {
		t.Errorf("Suppressed: got rule %v correlation %v, want true false", set.Suppressed(rule), set.Suppressed("0ae09af3-f30f-47c2-a31c-83e0b918eeee"))
	}
}

// TestExplore prints what the correlations find under SPOOR_EXPLORE.
func TestExplore(t *testing.T) {
	dir := os.Getenv("SPOOR_EXPLORE")
	if dir == "" {
		t.Skip("SPOOR_EXPLORE not set")
	}
	c := hayabusaCorrelations(t)
	b := builtin(t)
	c.Rules = append(c.Rules, b.Rules...)
	c.Correlations = append(c.Correlations, b.Correlations...)
	_, ms, inputs := correlateFiles(t, c, dir)
	t.Logf("%d inputs", len(inputs))
	for _, m := range ms {
		t.Log(describe(m))
	}
}
