package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/metrics"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// dumpedEvent is what the metrics tests read of spoor dump's output.
type dumpedEvent struct {
	Channel       string
	Provider_Name string
	Computer      string
	EventID       int64
	TimeCreated   time.Time
	CommandLine   *string
}

// TestMetricsCountsMatchDump: every count, first and last time of spoor
// metrics --json on real logs is what a plain count over spoor dump's
// output of the same files gives.
func TestMetricsCountsMatchDump(t *testing.T) {
	paths := []string{
		shared.Path(t, "datasets", "deepbluecli", "evtx"),
		shared.Path(t, "datasets", "security-datasets", "datasets", "atomic", "windows", "defense_evasion", "host", "cmd_mshta_javascript_getobject_sct.zip"),
	}
	code, dump, stderr := run(t, t.Context(), append([]string{"dump", "-q"}, paths...)...)
	if code != ExitOK {
		t.Fatalf("dump: exit %d: %s", code, stderr)
	}
	type span struct {
		events      int64
		first, last time.Time
	}
	add := func(m map[string]*span, k string, tm time.Time) {
		s := m[k]
		if s == nil {
			s = &span{}
			m[k] = s
		}
		s.events++
		if s.first.IsZero() || tm.Before(s.first) {
			s.first = tm
		}
		if tm.After(s.last) {
			s.last = tm
		}
	}
	channels, providers, computers, pairs, ids, days := map[string]*span{}, map[string]*span{}, map[string]*span{}, map[string]*span{}, map[string]*span{}, map[string]*span{}
	total := 0
	for _, l := range strings.Split(strings.TrimSuffix(dump, "\n"), "\n") {
		var ev dumpedEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.TimeCreated.IsZero() {
			t.Fatalf("event without a time: %.200s", l)
		}
		tm := ev.TimeCreated.UTC()
		total++
		add(channels, ev.Channel, tm)
		add(providers, ev.Provider_Name, tm)
		add(computers, ev.Computer, tm)
		add(pairs, ev.Computer+"|"+ev.Channel, tm)
		add(ids, fmt.Sprintf("%s|%s|%d", ev.Channel, ev.Provider_Name, ev.EventID), tm)
		add(days, tm.Format(time.DateOnly), tm)
	}

	code, out, stderr := run(t, t.Context(), append([]string{"metrics", "-q", "--json", "--per", "day"}, paths...)...)
	if code != ExitOK {
		t.Fatalf("metrics: exit %d: %s", code, stderr)
	}
	got := map[string]map[string]*span{"channel": {}, "provider": {}, "computer": {}, "computer_channel": {}, "event_id": {}, "time": {}}
	var summary metricsRow
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var r metricsRow
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		s := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		var key string
		switch r.Kind {
		case "summary":
			summary = r
			continue
		case "channel":
			key = s(r.Channel)
		case "provider":
			key = s(r.Provider)
		case "computer":
			key = s(r.Computer)
		case "computer_channel":
			key = s(r.Computer) + "|" + s(r.Channel)
		case "event_id":
			key = fmt.Sprintf("%s|%s|%d", s(r.Channel), s(r.Provider), *r.EventID)
		case "time":
			key = r.Start.Format(time.DateOnly)
			if r.Per != "day" || !r.Start.Equal(r.Start.Truncate(24*time.Hour)) {
				t.Errorf("time row %q: want a day bucket starting at midnight", l)
			}
		default:
			continue
		}
		if got[r.Kind][key] != nil {
			t.Errorf("%s %q listed twice", r.Kind, key)
		}
		got[r.Kind][key] = &span{r.Events, r.First, r.Last}
	}
	if summary.Events != int64(total) {
		t.Errorf("summary: got %d events, want %d", summary.Events, total)
	}
	for kind, want := range map[string]map[string]*span{"channel": channels, "provider": providers, "computer": computers, "computer_channel": pairs, "event_id": ids, "time": days} {
		if len(got[kind]) != len(want) {
			t.Errorf("%s: got %d rows, want %d", kind, len(got[kind]), len(want))
		}
		for k, w := range want {
			g := got[kind][k]
			switch {
			case g == nil:
				t.Errorf("%s %q: missing, want %d events", kind, k, w.events)
			case g.events != w.events:
				t.Errorf("%s %q: got %d events, want %d", kind, k, g.events, w.events)
			case kind != "time" && kind != "event_id" && (!g.first.Equal(w.first) || !g.last.Equal(w.last)):
				t.Errorf("%s %q: got %s..%s, want %s..%s", kind, k, g.first, g.last, w.first, w.last)
			}
		}
	}
}

// TestMetricsMissing: what a hunter misses is told per computer, from the
// events each computer's logs hold, as counted from spoor dump.
func TestMetricsMissing(t *testing.T) {
	// Both folders: deepbluecli's 4688 have command lines, those of
	// evtx-attack-samples do not.
	dirs := []string{shared.Path(t, "datasets", "deepbluecli", "evtx"), shared.Path(t, "datasets", "evtx-attack-samples")}
	code, dump, _ := run(t, t.Context(), append([]string{"dump", "-q"}, dirs...)...)
	if code != ExitOK {
		t.Fatal("dump failed")
	}
	type host struct{ security, sysmon, p4688, cmd4688, sysmon1, sb, logon bool }
	hosts := map[string]*host{}
	for _, l := range strings.Split(strings.TrimSuffix(dump, "\n"), "\n") {
		var ev dumpedEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		h := hosts[ev.Computer]
		if h == nil {
			h = &host{}
			hosts[ev.Computer] = h
		}
		switch ev.Channel {
		case "Security":
			h.security = true
			h.logon = h.logon || ev.EventID == 4624
			h.p4688 = h.p4688 || ev.EventID == 4688
			h.cmd4688 = h.cmd4688 || (ev.EventID == 4688 && ev.CommandLine != nil && *ev.CommandLine != "")
		case "Microsoft-Windows-Sysmon/Operational":
			h.sysmon = true
			h.sysmon1 = h.sysmon1 || ev.EventID == 1
		case "Microsoft-Windows-PowerShell/Operational":
			h.sb = h.sb || ev.EventID == 4104
		}
	}
	want := map[string][]string{}
	for name, h := range hosts {
		for what, lacks := range map[string]bool{
			"no Security log":                    !h.security,
			"no Sysmon":                          !h.sysmon,
			"no process-creation auditing":       h.security && !h.p4688 && !h.sysmon1,
			"no command line in process":         h.p4688 && !h.cmd4688 && !h.sysmon1,
			"no logon auditing":                  h.security && !h.logon,
			"no PowerShell script-block logging": !h.sb,
		} {
			if lacks {
				want[what] = append(want[what], name)
			}
		}
	}
	code, out, stderr := run(t, t.Context(), append([]string{"metrics", "-q", "--csv"}, dirs...)...)
	if code != ExitOK {
		t.Fatalf("metrics: exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], metricsColumns) {
		t.Fatalf("header: got %v, want %v", rows[0], metricsColumns)
	}
	got := map[string][]string{}
	for _, r := range rows[1:] {
		if r[0] != "missing" {
			continue
		}
		if !strings.Contains(r[12], "Audit") && !strings.Contains(r[12], "Sysmon") && !strings.Contains(r[12], "collect") {
			t.Errorf("%s: setting %q names no audit setting, Sysmon or log", r[11], r[12])
		}
		for prefix := range want {
			if strings.HasPrefix(r[11], prefix) {
				got[prefix] = strings.Split(r[13], "; ")
			}
		}
	}
	if len(want) != 6 {
		t.Fatalf("%d kinds of gap in the data, want all 6: a weak test", len(want))
	}
	for what, w := range want {
		slices.Sort(w)
		if !slices.Equal(got[what], w) {
			t.Errorf("%s: got computers %v, want %v", what, got[what], w)
		}
	}
	for what := range got {
		if want[what] == nil {
			t.Errorf("%s: got %v, want nothing", what, got[what])
		}
	}
}

// TestMetricsTable: the terminal view names events, folds silences and
// tells what is missing.
func TestMetricsTable(t *testing.T) {
	path := shared.Path(t, "datasets", "deepbluecli", "evtx", "smb-password-guessing-security.evtx")
	code, out, stderr := run(t, t.Context(), "metrics", path)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"3,561 events from 2016-09-19 16:50:06 to 2016-09-19 16:52:49 UTC, 1 computer, 1 channel",
		"Security  4625  logon failed  3,561",
		"OVER TIME (per hour, UTC)",
		"no Sysmon: 1 of 1 computers (DESKTOP-M5SN04R)",
		`auditpol /set /subcategory:"Process Creation" /success:enable`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "read 1 event log") {
		t.Errorf("stderr: got %q, want the read summary", stderr)
	}
	for _, args := range [][]string{{"--per", "week"}, {"--json", "--csv"}, {"--top", "-1"}} {
		if code, _, _ := run(t, t.Context(), append(append([]string{"metrics"}, args...), path)...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}

// TestHistogram: bars are scaled to the busiest bucket, one or two empty
// buckets are shown as zeros, three or more folded into one line.
func TestHistogram(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 5, 1+d, 0, 0, 0, 0, time.UTC) }
	var b strings.Builder
	writeHistogram(&b, metrics.Timeline{Per: "day", Buckets: []metrics.Bucket{
		{Start: day(0), Events: 1000}, {Start: day(1), Events: 10}, {Start: day(5), Events: 500}, {Start: day(7), Events: 1},
	}})
	want := "\nOVER TIME (per day, UTC)\n" +
		"  2024-05-01  " + strings.Repeat("█", 50) + " 1,000\n" +
		"  2024-05-02  █ 10\n" +
		"           …  (3 days without events)\n" +
		"  2024-05-06  " + strings.Repeat("█", 25) + " 500\n" +
		"  2024-05-07  0\n" +
		"  2024-05-08  █ 1\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
