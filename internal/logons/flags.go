package logons

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// flags finds the unusual combinations in a merged report (see the Flag
// kinds); each says why.
func flags(rep *Report, opts Options) []Flag {
	out := []Flag{}
	out = append(out, newSources(rep, opts)...)
	out = append(out, interactiveMisuse(rep)...)
	out = append(out, failures(rep, opts)...)
	out = append(out, explicitSprays(rep, opts)...)
	out = append(out, tunnels(rep)...)
	slices.SortStableFunc(out, func(a, b Flag) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Computer, b.Computer), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Account, b.Account), cmp.Compare(a.Source, b.Source))
	})
	return out
}

// person reports whether an account is worth following: not a built-in
// or machine account.
func person(acct string) bool {
	return acct != "" && !builtin(acct) && !strings.HasSuffix(acct, "$")
}

func orLocal(s string) string { return cmp.Or(s, "local") }

// newSources flags an account's first successful logon from a source it
// did not use during the baseline (the first opts.Baseline of the logons
// seen), for accounts that logged on during the baseline.
func newSources(rep *Report, opts Options) []Flag {
	var start time.Time
	for _, l := range rep.Logons {
		if l.Outcome == Success && person(l.Account) && !l.First.IsZero() && (start.IsZero() || l.First.Before(start)) {
			start = l.First
		}
	}
	if start.IsZero() {
		return nil
	}
	end := start.Add(opts.Baseline)
	type key struct{ account, source string }
	known := map[string]map[string]bool{} // account → sources of its baseline
	first := map[key]Logon{}              // the first logon of each account and source after it
	for _, l := range rep.Logons {
		if l.Outcome != Success || !person(l.Account) || l.First.IsZero() {
			continue
		}
		acct := strings.ToLower(l.Account)
		src := orLocal(l.Source())
		if l.First.Before(end) {
			if known[acct] == nil {
				known[acct] = map[string]bool{}
			}
			known[acct][strings.ToLower(src)] = true
			continue
		}
		k := key{acct, strings.ToLower(src)}
		if f, ok := first[k]; !ok || l.First.Before(f.First) {
			first[k] = l
		}
	}
	var out []Flag
	for k, l := range first {
		base := known[k.account]
		if len(base) == 0 || base[k.source] {
			continue
		}
		var seen []string
		for s := range base {
			seen = append(seen, s)
		}
		slices.Sort(seen)
		out = append(out, Flag{
			Type: "flag", Kind: NewSource, Time: l.First, Computer: l.Computer, Account: l.Account,
			Source: orLocal(l.Source()),
			Reason: fmt.Sprintf("%s logged on (%s) from %s for the first time; during the baseline (%s to %s) it logged on only from %s.",
				l.Account, l.TypeName, orLocal(l.Source()), stamp(start), stamp(end), strings.Join(seen, ", ")),
		})
	}
	return out
}

// interactiveMisuse flags machine accounts and service accounts logging
// on interactively.
func interactiveMisuse(rep *Report) []Flag {
	services := map[string]bool{} // accounts seen logging on as services
	for _, l := range rep.Logons {
		if l.Outcome == Success && l.LogonType == 5 && person(l.Account) {
			services[strings.ToLower(l.Account)] = true
		}
	}
	var out []Flag
	for _, l := range rep.Logons {
		if l.Outcome != Success || !interactive(l.LogonType) || l.Account == "" || builtin(l.Account) {
			continue
		}
		f := Flag{Type: "flag", Time: l.First, Computer: l.Computer, Account: l.Account, Source: orLocal(l.Source())}
		switch {
		case strings.HasSuffix(l.Account, "$"):
			f.Kind = MachineInteractive
			f.Reason = fmt.Sprintf("Machine account %s logged on interactively (%s, %s): machine accounts log on over the network, never at a desktop; a stolen or forged machine credential is being used.", l.Account, l.TypeName, times(l.Count))
		case services[strings.ToLower(l.Account)]:
			f.Kind = ServiceInteractive
			f.Reason = fmt.Sprintf("%s logs on as a service (type 5) and here logged on interactively (%s, %s): a service account's password used by a person.", l.Account, l.TypeName, times(l.Count))
		case serviceName(l.Account):
			f.Kind = ServiceInteractive
			f.Reason = fmt.Sprintf("%s is named as a service account and logged on interactively (%s, %s): a service account's password used by a person.", l.Account, l.TypeName, times(l.Count))
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

// bruteFactor times Options.Failures failed logons of one account from
// one source are password guessing.
const bruteFactor = 4

// failures flags successes after many failures from one source, and
// sources failing as many accounts (sprays).
func failures(rep *Report, opts Options) []Flag {
	type acctKey struct{ computer, account, source string }
	type failed struct {
		account, source string // as first seen
		tally
	}
	byAccount := map[acctKey]*failed{}
	type srcKey struct{ computer, source string }
	bySource := map[srcKey]*tally{}
	for _, l := range rep.Logons {
		if l.Outcome != Failure {
			continue
		}
		src := l.Source()
		k := acctKey{l.Computer, strings.ToLower(l.Account), strings.ToLower(src)}
		f := byAccount[k]
		if f == nil {
			f = &failed{account: l.Account, source: src}
			byAccount[k] = f
		}
		f.add(l.Count, l.First, l.Last, "")
		if src == "" {
			continue
		}
		sk := srcKey{l.Computer, src}
		t := bySource[sk]
		if t == nil {
			t = &tally{}
			bySource[sk] = t
		}
		t.add(l.Count, l.First, l.Last, l.Account)
	}
	var out []Flag
	for k, f := range byAccount {
		if f.count < bruteFactor*opts.Failures || k.account == "" {
			continue
		}
		out = append(out, Flag{
			Type: "flag", Kind: BruteForce, Time: f.first, Computer: k.computer, Account: f.account, Source: orLocal(f.source),
			Reason: fmt.Sprintf("%d failed logons of %s from %s between %s and %s: password guessing.",
				f.count, f.account, orLocal(f.source), stamp(f.first), stamp(f.last)),
		})
	}
	for _, l := range rep.Logons {
		if l.Outcome != Success {
			continue
		}
		src := l.Source()
		f := byAccount[acctKey{l.Computer, strings.ToLower(l.Account), strings.ToLower(src)}]
		if f == nil || f.count < opts.Failures || l.Last.Before(f.first) {
			continue
		}
		at := l.First
		if at.Before(f.first) {
			at = l.Last
		}
		out = append(out, Flag{
			Type: "flag", Kind: SuccessAfterFails, Time: at, Computer: l.Computer, Account: l.Account, Source: orLocal(src),
			Reason: fmt.Sprintf("%d failed logons of %s from %s (%s to %s), and a successful one (%s): a guessed or sprayed password worked.",
				f.count, l.Account, orLocal(src), stamp(f.first), stamp(f.last), l.TypeName),
		})
	}
	for k, t := range bySource {
		if len(t.names) < opts.Failures {
			continue
		}
		out = append(out, Flag{
			Type: "flag", Kind: Spray, Time: t.first, Computer: k.computer, Source: k.source,
			Reason: fmt.Sprintf("%s failed to log on as %d different accounts (%s), %s between %s and %s: password spraying or guessing.",
				k.source, len(t.names), some(t.names), times(t.count), stamp(t.first), stamp(t.last)),
		})
	}
	return out
}

// explicitSprays flags a subject using the credentials of many accounts
// (4648). Built-in and machine accounts do not count, nor the computer's
// own account logging users on at the logon screen or a UAC prompt: at
// every startup it names the font-driver and window-manager accounts, and
// on a terminal server every user.
func explicitSprays(rep *Report, opts Options) []Flag {
	type key struct{ computer, subject string }
	by := map[key]*tally{}
	for _, x := range rep.Explicit {
		if !person(x.Account) || strings.HasSuffix(x.Subject, "$") && logonUI(x.Process) {
			continue
		}
		k := key{x.Computer, x.Subject}
		u := by[k]
		if u == nil {
			u = &tally{}
			by[k] = u
		}
		u.add(x.Count, x.First, x.Last, x.Account)
	}
	var out []Flag
	for k, u := range by {
		if len(u.names) < opts.Failures {
			continue
		}
		out = append(out, Flag{
			Type: "flag", Kind: ExplicitSpray, Time: u.first, Computer: k.computer, Account: k.subject,
			Reason: fmt.Sprintf("%s used the explicit credentials of %d different accounts (%s), %s between %s and %s: password spraying or testing stolen credentials.",
				orLocal(k.subject), len(u.names), some(u.names), times(u.count), stamp(u.first), stamp(u.last)),
		})
	}
	return out
}

// logonUI reports whether a process is one that logs users on: the logon
// screen (winlogon, lsass) or the UAC prompt (consent).
func logonUI(image string) bool {
	name := strings.ToLower(image[strings.LastIndexAny(image, `\/`)+1:])
	return name == "winlogon.exe" || name == "lsass.exe" || name == "consent.exe"
}

// tally counts rows: their events, the time they span and the distinct
// names (accounts) among them.
type tally struct {
	count       int
	first, last time.Time
	names       map[string]bool
}

// add counts a row of n events from first to last; name "" counts none.
func (t *tally) add(n int, first, last time.Time, name string) {
	t.count += n
	t.first, t.last = widen(t.first, t.last, first)
	t.first, t.last = widen(t.first, t.last, last)
	if name != "" {
		if t.names == nil {
			t.names = map[string]bool{}
		}
		t.names[name] = true
	}
}

// some lists up to five names of a set, sorted, with how many more.
func some(set map[string]bool) string {
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
	}
	return strings.Join(names, ", ")
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "(no time)"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// tunnels flags RDP sessions from the loopback address: the RDP port was
// reached through a tunnel on the host itself (plink, ngrok, a SOCKS
// proxy), a way attackers bring RDP through firewalls.
func tunnels(rep *Report) []Flag {
	var out []Flag
	for _, r := range rep.RDP {
		addr, _, _ := strings.Cut(r.SourceIP, "%") // an IPv6 zone
		a, err := netip.ParseAddr(addr)
		if err != nil || !a.Unmap().IsLoopback() {
			continue
		}
		out = append(out, Flag{
			Type: "flag", Kind: RDPTunnel, Time: r.First, Computer: r.Computer, Account: r.Account, Source: r.SourceIP,
			Reason: fmt.Sprintf("RDP for %s from %s, the computer's own loopback address (%d authentications, %d logons): the session came through a tunnel on the host (plink, ngrok, a proxy), a way to bring RDP through firewalls.",
				orLocal(r.Account), r.SourceIP, r.Authenticated, r.Logons),
		})
	}
	return out
}
