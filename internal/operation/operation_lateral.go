package operation

import (
	"slices"
	"time"
)

// Cross-host links. A remote logon on host B (network, network-cleartext
// or RDP: types 3, 8, 10) was caused by an action on host A aimed at B
// shortly before it (a command naming B, a connection to one of its admin
// ports, explicit credentials for it). Evidence rarely names both ends by
// one name: a command names B by an address no event of B gives, a
// Kerberos logon carries no workstation name, the source's address may be
// unknown too. The account closes the gap: the logon's account must be the
// one the action used (named in the command or a 4648, else its process's
// user) whenever either end is known only by an address no host is known
// by; when both ends are known hosts, an account the action names
// explicitly must still match.

// remoteLogon reports whether a logon type comes from another host.
func remoteLogon(t int) bool { return t == 3 || t == 8 || t == 10 }

// lateralLogon returns the process on another host whose action caused the
// remote logon l, and the time of that action; -1 when there is none.
func (b *builder) lateralLogon(l *logon) (int32, time.Time) {
	if !remoteLogon(l.logonType) || l.start.IsZero() || localAddr(l.ip) {
		return -1, time.Time{}
	}
	ix := b.ix
	src := b.logonSource(l)
	if src == l.host {
		return -1, time.Time{}
	}
	best, bestT := int32(-1), time.Time{}
	try := func(list []intent, targetKnown bool) {
		for k := lastAt(list, l.start.Add(time.Second)); k >= 0; k-- {
			in := &list[k]
			if l.start.Sub(in.t) > b.o.LateralWindow || !in.t.After(bestT) {
				return
			}
			if in.ref.idx < 0 || in.ref.host == l.host || (src != "" && in.ref.host != src) {
				continue
			}
			if in.account != "" && l.user != "" && !sameAccount(in.account, l.user) {
				continue // it used another account: another action
			}
			if (src == "" || !targetKnown) && !sameAccount(b.actionAccount(in), l.user) {
				continue
			}
			best, bestT = in.ref.idx, in.t
			return
		}
	}
	try(ix.intents[l.host], true)
	try(ix.unknown[accountName(l.user)], false)
	return best, bestT
}

// actionAccount is the account an intent used: the one it names, else its
// process's user.
func (b *builder) actionAccount(in *intent) string {
	if in.account != "" {
		return in.account
	}
	return b.ix.procs[in.ref.idx].user
}

// lateralDrop returns the process on another host that copied the file
// with key path to host's admin share at most LateralWindow before its
// write at t (the target named by that host's name, or by an address no
// host is known by), and the time of the copy; -1 when there is none.
func (b *builder) lateralDrop(host, path string, t time.Time) (int32, time.Time) {
	l := b.ix.drops[path]
	for k := lastAt(l, t.Add(time.Second)); k >= 0; k-- {
		in := &l[k]
		if t.Sub(in.t) > b.o.LateralWindow {
			break
		}
		if in.ref.idx >= 0 && in.ref.host != host && (in.host == host || in.host == "") {
			return in.ref.idx, in.t
		}
	}
	return -1, time.Time{}
}

// lastAt returns the index of the last intent of l (sorted by time) at or
// before t, -1 when there is none.
func lastAt(l []intent, t time.Time) int {
	k, _ := slices.BinarySearchFunc(l, t, func(in intent, t time.Time) int {
		if in.t.After(t) {
			return 1
		}
		return -1
	})
	return k - 1
}

// logonSource returns the host a remote logon came from: its address's,
// else its workstation name ("" when unknown).
func (b *builder) logonSource(l *logon) string {
	if h := b.ix.hostOf(l.ip); h != "" {
		return h
	}
	return l.workstation
}
