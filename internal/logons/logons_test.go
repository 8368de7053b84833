package logons

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/source"
)

// collect runs a Collector per worker over the logs under paths, and keeps
// a copy of every event for the test's own counts.
func collect(t *testing.T, paths ...string) (*Report, []*event.Event) {
	t.Helper()
	cs := []*Collector{NewCollector(), NewCollector()}
	var evs [2][]*event.Event
	_, err := source.Run(context.Background(), paths, source.Options{Workers: 2}, func(w int, ev *event.Event) error {
		cs[w].Observe(ev)
		evs[w] = append(evs[w], ev.Clone())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return Summarize(Options{}, cs...), append(evs[0], evs[1]...)
}

func str(ev *event.Event, name string) string { return ev.Lookup(name).Text() }

// TestExplicitSpray: DeepBlueCLI's password-spray.evtx is one account
// trying the credentials of many through 4648. The counts per target
// account are taken from the events by the test itself.
func TestExplicitSpray(t *testing.T) {
	rep, evs := collect(t, shared.Path(t, "datasets", "deepbluecli", "evtx", "password-spray.evtx"))
	want := map[string]int{} // subject → target → count
	for _, ev := range evs {
		if str(ev, "EventID") == "4648" {
			want[str(ev, "SubjectDomainName")+`\`+str(ev, "SubjectUserName")+" "+str(ev, "TargetDomainName")+`\`+str(ev, "TargetUserName")]++
		}
	}
	got := map[string]int{}
	for _, x := range rep.Explicit {
		got[x.Subject+" "+x.Account] += x.Count
	}
	if len(got) != len(want) || len(want) < 5 {
		t.Fatalf("explicit rows: got %d pairs, want %d (at least 5)", len(got), len(want))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("explicit %s: got %d, want %d", k, got[k], n)
		}
	}
	var sprays []Flag
	for _, f := range rep.Flags {
		if f.Kind == ExplicitSpray {
			sprays = append(sprays, f)
		}
	}
	if len(sprays) != 1 || sprays[0].Account != `DESKTOP-JR78RLP\jwrig` || !strings.Contains(sprays[0].Reason, fmt.Sprintf("%d different accounts", len(want))) {
		t.Errorf("explicit-credentials sprays: got %+v, want one of DESKTOP-JR78RLP\\jwrig over %d accounts", sprays, len(want))
	}
}

// TestFailedLogons: smb-password-guessing-security.evtx holds Metasploit's
// SMB login guessing (random workstation names, one source address).
func TestFailedLogons(t *testing.T) {
	rep, evs := collect(t, shared.Path(t, "datasets", "deepbluecli", "evtx", "smb-password-guessing-security.evtx"))
	type key struct{ account, ip string }
	want := map[key]int{}
	hosts := map[key]map[string]bool{}
	var first, last time.Time
	for _, ev := range evs {
		if str(ev, "EventID") != "4625" {
			continue
		}
		k := key{str(ev, "TargetDomainName") + `\` + str(ev, "TargetUserName"), str(ev, "IpAddress")}
		want[k]++
		if hosts[k] == nil {
			hosts[k] = map[string]bool{}
		}
		hosts[k][str(ev, "WorkstationName")] = true
		if k.account == `.\Administrator` {
			if t := ev.Time(); first.IsZero() || t.Before(first) {
				first = t
			}
			if t := ev.Time(); t.After(last) {
				last = t
			}
		}
	}
	got := map[key]Logon{}
	for _, l := range rep.Logons {
		if l.Outcome != Failure || l.TypeName != "Network" {
			t.Errorf("row %+v: want network failures only", l)
		}
		got[key{l.Account, l.SourceIP}] = l
	}
	if len(got) != len(want) {
		t.Fatalf("failure rows: got %d, want %d", len(got), len(want))
	}
	for k, n := range want {
		l := got[k]
		if l.Count != n || l.SourceHostCount != min(len(hosts[k]), maxHostsKept) {
			t.Errorf("%v: got %d failures from %d host names, want %d from %d", k, l.Count, l.SourceHostCount, n, len(hosts[k]))
		}
	}
	admin := got[key{`.\Administrator`, "192.168.198.149"}]
	if !admin.First.Equal(first) || !admin.Last.Equal(last) {
		t.Errorf(".\\Administrator: %s..%s, want %s..%s", admin.First, admin.Last, first, last)
	}
	var guessing int
	for _, f := range rep.Flags {
		if f.Kind == BruteForce && f.Account == `.\Administrator` && f.Source == "192.168.198.149" {
			guessing++
		}
	}
	if guessing != 1 {
		t.Errorf("password-guessing flags of .\\Administrator: %d, want 1; flags %+v", guessing, rep.Flags)
	}
}

// TestRDP: the RDP activity of the lateral-movement samples, against the
// test's own count of 4624 type 10 and RemoteConnectionManager 1149.
func TestRDP(t *testing.T) {
	rep, evs := collect(t, shared.Path(t, "datasets", "evtx-attack-samples"))
	var logons, auths int
	for _, ev := range evs {
		switch {
		case str(ev, "EventID") == "4624" && str(ev, "LogonType") == "10":
			logons++
		case str(ev, "EventID") == "1149" && strings.Contains(str(ev, "Channel"), "RemoteConnectionManager"):
			auths++
		}
	}
	var gotLogons, gotAuths int
	for _, r := range rep.RDP {
		gotLogons += r.Logons
		gotAuths += r.Authenticated
	}
	if gotLogons != logons || gotAuths != auths || auths == 0 {
		t.Errorf("RDP: got %d logons, %d authentications; want %d, %d (more than 0)", gotLogons, gotAuths, logons, auths)
	}
}

// logon makes a synthetic 4624 or 4625.
func logon(eid int64, at time.Time, computer, domain, user string, typ int64, ip, host string) *event.Event {
	ev := &event.Event{}
	ev.Add("EventID", event.IntValue(eid))
	ev.Add("TimeCreated", event.TimeValue(at))
	ev.Add("Channel", event.StringValue("Security"))
	ev.Add("Computer", event.StringValue(computer))
	ev.Add("TargetUserName", event.StringValue(user))
	ev.Add("TargetDomainName", event.StringValue(domain))
	ev.Add("LogonType", event.IntValue(typ))
	ev.Add("IpAddress", event.StringValue(ip))
	ev.Add("WorkstationName", event.StringValue(host))
	ev.Add("SubStatus", event.StringValue("0xc000006a"))
	return ev
}

// TestFlags checks each flag on made-up logons: which fire, and which do
// not.
func TestFlags(t *testing.T) {
	day := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	c := NewCollector()
	for _, ev := range []*event.Event{
		// Baseline: alice from 10.0.0.5; svc_backup as a service; WS1$ over the network.
		logon(4624, day, "SRV1", "CORP", "alice", 3, "10.0.0.5", "WS5"),
		logon(4624, day.Add(time.Hour), "SRV1", "CORP", "backupacct", 5, "-", "-"),
		logon(4624, day.Add(2*time.Hour), "SRV1", "CORP", "WS1$", 3, "10.0.0.1", "WS1"),
		// After the baseline: alice from a new address, and from the old one.
		logon(4624, day.Add(10*24*time.Hour), "SRV1", "CORP", "alice", 3, "10.9.9.9", "EVIL"),
		logon(4624, day.Add(11*24*time.Hour), "SRV1", "CORP", "alice", 3, "10.0.0.5", "WS5"),
		// bob was not seen in the baseline: no new-source flag.
		logon(4624, day.Add(10*24*time.Hour), "SRV1", "CORP", "bob", 3, "10.9.9.9", "EVIL"),
		// The service account and the machine account at a desktop.
		logon(4624, day.Add(12*24*time.Hour), "SRV1", "CORP", "backupacct", 10, "10.9.9.9", "EVIL"),
		logon(4624, day.Add(12*24*time.Hour), "SRV1", "CORP", "WS1$", 2, "-", "-"),
	} {
		c.Observe(ev)
	}
	// carol: 6 failures from 10.7.7.7 then a success.
	for i := range 6 {
		c.Observe(logon(4625, day.Add(time.Duration(i)*time.Minute), "SRV2", "CORP", "carol", 3, "10.7.7.7", "X"))
	}
	c.Observe(logon(4624, day.Add(7*time.Minute), "SRV2", "CORP", "carol", 3, "10.7.7.7", "X"))
	// A spray: one source failing as five accounts, once each.
	for i, user := range []string{"ann", "ben", "cat", "dan", "eve"} {
		c.Observe(logon(4625, day.Add(20*24*time.Hour+time.Duration(i)*time.Second), "SRV3", "CORP", user, 3, "10.5.5.5", "Y"))
	}
	// Four accounts are not yet a spray (the default, 5).
	for i, user := range []string{"ann", "ben", "cat", "dan"} {
		c.Observe(logon(4625, day.Add(20*24*time.Hour+time.Duration(i)*time.Second), "SRV3", "CORP", user, 3, "10.6.6.6", "Z"))
	}
	// An account named as a service, never seen as one, at a desktop.
	c.Observe(logon(4624, day.Add(21*24*time.Hour), "SRV3", "CORP", "svc_sql", 2, "-", "-"))
	// The computer's own account at a terminal server's logon screen:
	// the startup's font-driver and window-manager accounts, then users.
	// No spray of explicit credentials.
	explicit := func(subject, domain, user, process string) *event.Event {
		ev := &event.Event{}
		ev.Add("EventID", event.IntValue(4648))
		ev.Add("TimeCreated", event.TimeValue(day.Add(22*24*time.Hour)))
		ev.Add("Channel", event.StringValue("Security"))
		ev.Add("Computer", event.StringValue("TS1"))
		ev.Add("SubjectUserName", event.StringValue(subject))
		ev.Add("SubjectDomainName", event.StringValue("CORP"))
		ev.Add("TargetUserName", event.StringValue(user))
		ev.Add("TargetDomainName", event.StringValue(domain))
		ev.Add("TargetServerName", event.StringValue("localhost"))
		ev.Add("ProcessName", event.StringValue(process))
		return ev
	}
	for i := range 3 {
		c.Observe(explicit("TS1$", "Font Driver Host", fmt.Sprintf("UMFD-%d", i), `C:\Windows\System32\wininit.exe`))
		c.Observe(explicit("TS1$", "Window Manager", fmt.Sprintf("DWM-%d", i), `C:\Windows\System32\winlogon.exe`))
	}
	for _, user := range []string{"ann", "ben", "cat", "dan", "eve", "fay"} {
		c.Observe(explicit("TS1$", "CORP", user, `C:\Windows\System32\winlogon.exe`))
	}
	// RDP through a tunnel: 1149 from the loopback address.
	rdp := &event.Event{}
	rdp.Add("EventID", event.IntValue(1149))
	rdp.Add("TimeCreated", event.TimeValue(day.Add(13*24*time.Hour)))
	rdp.Add("Channel", event.StringValue("Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"))
	rdp.Add("Computer", event.StringValue("SRV1"))
	rdp.Add("Param1", event.StringValue("dave"))
	rdp.Add("Param2", event.StringValue("CORP"))
	rdp.Add("Param3", event.StringValue("::1"))
	c.Observe(rdp)
	rep := Summarize(Options{}, c)
	var got []string
	for _, f := range rep.Flags {
		if f.Reason == "" {
			t.Errorf("flag %s of %s gives no reason", f.Kind, f.Account)
		}
		got = append(got, f.Kind+" "+f.Account+" "+f.Source)
	}
	want := []string{
		SuccessAfterFails + ` CORP\carol 10.7.7.7`,
		NewSource + ` CORP\alice 10.9.9.9`,
		MachineInteractive + ` CORP\WS1$ local`,
		NewSource + ` CORP\backupacct 10.9.9.9`, // in the baseline only local, as a service
		ServiceInteractive + ` CORP\backupacct 10.9.9.9`,
		RDPTunnel + ` CORP\dave ::1`,
		Spray + `  10.5.5.5`,
		ServiceInteractive + ` CORP\svc_sql local`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("flags:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
