package operation

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Identity scopes: a logon ID names one session only within one boot of one
// host and from its logon (4624) to its logoff (4634/4647); a PID names one
// process only from its start to its exit (Sysmon 5, Security 4689) and
// within one boot; a file path names one file from one write to the next.
// The index keeps each such instance apart, and Build resolves
// every reference at the time it was made, so that an ID reused after a
// reboot, a logoff or an exit never joins what the earlier holder did.

// bootGap merges the records of one boot (Security 4608, System 6005 and
// 6009, Kernel-General 12 are written within a minute of one another).
const bootGap = 5 * time.Minute

// bootEvent reports whether an event records a host starting up.
func bootEvent(security, system bool, id int64) bool {
	switch {
	case security:
		return id == 4608
	case system:
		return id == 6005 || id == 6009 || id == 12
	}
	return false
}

// hostTime is a moment on a host (a boot, a process exit).
type hostTime struct {
	host string
	pid  int64 // the exiting process (exits only)
	t    time.Time
}

// logonSet is every session a logon ID named on one host, before Finish
// sorts them into instances.
type logonSet struct {
	starts []*logon    // one per 4624
	ends   []time.Time // 4634/4647
	privs  []time.Time // 4672
}

// addStart adds a 4624, unless it repeats the last one added (the same
// evidence read twice in a row): of the two, it keeps the one finishLogons
// would. Other repeats are dropped by finishLogons: a scan of every start
// here would be quadratic in the 4624s of one ID (SYSTEM's 0x3e7 has one
// per service start).
func (ls *logonSet) addStart(l *logon) {
	if n := len(ls.starts); n > 0 && ls.starts[n-1].start.Equal(l.start) {
		if compareStarts(l, ls.starts[n-1]) < 0 {
			ls.starts[n-1] = l
		}
		return
	}
	ls.starts = append(ls.starts, l)
}

// compareStarts orders 4624s by time, then by what they say, so that of
// two of one time (one logon read twice, or two that disagree) the one
// kept does not depend on the order they were read in.
func compareStarts(a, b *logon) int {
	return cmp.Or(a.start.Compare(b.start), strings.Compare(a.user, b.user), strings.Compare(a.ip, b.ip),
		strings.Compare(a.workstation, b.workstation), cmp.Compare(a.logonType, b.logonType))
}

// logonID is every session one logon ID named on one host: the instances
// (one per 4624, sorted by start) and every logoff seen (sorted), which
// also delimit sessions whose logon is not in the evidence.
type logonID struct {
	inst []*logon
	ends []time.Time
}

// finishLogons turns the sets into instances: each logoff ends the
// instance in effect then (unless the host booted in between), each 4672
// marks it elevated.
func (ix *Index) finishLogons(sets map[hostKey]*logonSet) {
	for k, ls := range sets {
		// Compacted: of the 4624s of one time (the same evidence read
		// twice), the first by compareStarts is kept.
		l := ls.starts
		slices.SortFunc(l, compareStarts)
		l = slices.CompactFunc(l, func(a, b *logon) bool { return a.start.Equal(b.start) })
		slices.SortFunc(ls.ends, func(a, b time.Time) int { return a.Compare(b) })
		for _, e := range ls.ends {
			if i := lastStartAt(l, e); i >= 0 && l[i].end.IsZero() && !ix.bootBetween(k.host, l[i].start, e) {
				l[i].end = e
			}
		}
		for _, t := range ls.privs {
			if i := lastStartAt(l, t); i >= 0 && l[i].contains(t) {
				l[i].elevated = true
			}
		}
		ix.logons[k] = &logonID{inst: l, ends: ls.ends}
	}
}

// lastStartAt returns the last instance of l started at or before t
// (spanSlack allowed), or -1.
func lastStartAt(l []*logon, t time.Time) int {
	i, _ := slices.BinarySearchFunc(l, t.Add(spanSlack), func(x *logon, t time.Time) int {
		if x.start.After(t) {
			return 1
		}
		return -1
	})
	return i - 1
}

// contains reports whether t falls in the session's known span.
func (l *logon) contains(t time.Time) bool {
	return !t.Before(l.start.Add(-spanSlack)) && (l.end.IsZero() || !t.After(l.end.Add(spanSlack)))
}

// logonAt returns the instance of logon ID id on host in effect at t and
// its key (see nodeKey.inst): its start; or, when no known instance holds
// t, nil and a key naming the last delimiter before t (the start or end of
// another session with that ID, a logoff, a boot) as -1 - its Unix
// nanoseconds, so that references on either side of a reboot or of
// another session stay apart.
func (ix *Index) logonAt(host, id string, t time.Time) (int64, *logon) {
	lid := ix.logons[hostKey{host, id}]
	boot := ix.bootAt(host, t)
	lower := boot
	if lid != nil {
		if i := lastStartAt(lid.inst, t); i >= 0 {
			in := lid.inst[i]
			if in.contains(t) && !boot.After(in.start.Add(spanSlack)) {
				return in.start.UnixNano(), in
			}
			if in.start.After(lower) {
				lower = in.start
			}
		}
		j, _ := slices.BinarySearchFunc(lid.ends, t.Add(-spanSlack), func(e, t time.Time) int {
			if e.After(t) {
				return 1
			}
			return -1
		})
		if j > 0 && lid.ends[j-1].After(lower) {
			lower = lid.ends[j-1]
		}
	}
	return -1 - instNanos(lower), nil
}

// finishBoots sorts each host's boots and keeps one per boot.
func (ix *Index) finishBoots(all []hostTime) {
	slices.SortFunc(all, func(a, b hostTime) int { return cmp.Or(cmp.Compare(a.host, b.host), a.t.Compare(b.t)) })
	for _, b := range all {
		l := ix.boots[b.host]
		if n := len(l); n > 0 && b.t.Sub(l[n-1]) < bootGap {
			continue
		}
		ix.boots[b.host] = append(l, b.t)
	}
}

// bootAt returns the last boot of host at or before t (zero when none is
// known).
func (ix *Index) bootAt(host string, t time.Time) time.Time {
	l := ix.boots[host]
	i, _ := slices.BinarySearchFunc(l, t, func(b, t time.Time) int {
		if b.After(t) {
			return 1
		}
		return -1
	})
	if i == 0 {
		return time.Time{}
	}
	return l[i-1]
}

// bootBetween reports whether host booted after a and at or before b.
func (ix *Index) bootBetween(host string, a, b time.Time) bool {
	if a.IsZero() {
		return false
	}
	return ix.bootAt(host, b).After(a)
}

// maxWrites bounds the writes kept of one file: the earliest, and always
// the latest.
const maxWrites = 8

// addWrite adds r to the writes of f, kept sorted; past maxWrites the
// latest but one is dropped, so that the earliest maxWrites-1 and the
// latest are kept whatever the order the writes arrive in.
func (f *file) addWrite(r procRef) {
	i, found := slices.BinarySearchFunc(f.writes, r, compareRefs)
	if found {
		return
	}
	f.writes = slices.Insert(f.writes, i, r)
	if len(f.writes) > maxWrites {
		f.writes = slices.Delete(f.writes, maxWrites-1, maxWrites)
	}
	f.first = f.writes[0].t
}

// writeAt returns the write of f in effect at t: the last at or before it
// (a second of skew allowed), else the first; -1 when there is none.
func (f *file) writeAt(t time.Time) int {
	if len(f.writes) == 0 {
		return -1
	}
	if t.IsZero() {
		return len(f.writes) - 1
	}
	at := 0
	for i, w := range f.writes {
		if w.t.After(t.Add(time.Second)) {
			break
		}
		at = i
	}
	return at
}

// Host incarnations. A host name is reused: a lab rebuilt, a machine
// reinstalled, another computer given the name years later, two labs
// running at once. Sysmon's ProcessGuid begins with a value drawn from the
// machine (its first eight hex digits are the same for every process of
// one installation), so the processes of one host name fall into
// incarnations, one per prefix, each spanning the process starts seen with
// it. An incarnation that starts while no other is running is a new
// machine from then on: its start counts as a boot (no logon ID or PID
// crosses it). A file, service or task made on one incarnation is not
// another's, and an account used from a foothold is the foothold
// machine's. While two incarnations overlap, which one an event is of is
// unknown, and nothing is told apart by them.

// maxIncarnations bounds the incarnations of one host name: past it the
// GUIDs' prefixes are not drawn from the machine (an export that draws
// every GUID at random), and telling them apart would make every process
// start a boot (and incarnationAt, which scans them, slow).
const maxIncarnations = 64

// incarnation is one machine behind a host name: the first and last
// process starts seen with its GUID prefix.
type incarnation struct {
	from, to time.Time
	prefix   string
}

// finishIncarnations finds the incarnations of each host from its
// processes' GUIDs and start times, and adds the boots they imply.
func (ix *Index) finishIncarnations() []hostTime {
	per := map[string]map[string]*incarnation{}
	for i := range ix.procs {
		p := &ix.procs[i]
		if len(p.guid) < 9 || p.start.IsZero() {
			continue
		}
		m := per[p.host]
		if m == nil {
			m = map[string]*incarnation{}
			per[p.host] = m
		}
		in := m[p.guid[1:9]]
		if in == nil {
			m[p.guid[1:9]] = &incarnation{from: p.start, to: p.start, prefix: p.guid[1:9]}
			continue
		}
		in.from, in.to = minTime(in.from, p.start), maxTime(in.to, p.start)
	}
	var boots []hostTime
	for h, m := range per {
		if len(m) < 2 || len(m) > maxIncarnations {
			continue
		}
		l := make([]incarnation, 0, len(m))
		for _, in := range m {
			l = append(l, *in)
		}
		slices.SortFunc(l, func(a, b incarnation) int { return cmp.Or(a.from.Compare(b.from), cmp.Compare(a.prefix, b.prefix)) })
		ix.incarn[h] = l
		// l[k] starts while no other runs when every earlier one ended
		// before it: the latest end of those is enough.
		last := l[0].to
		for k := 1; k < len(l); k++ {
			if last.Before(l[k].from) {
				boots = append(boots, hostTime{host: h, t: l[k].from})
			}
			last = maxTime(last, l[k].to)
		}
	}
	return boots
}

// incarnationAt returns the incarnation of host in effect at t, named by
// its first start: the one whose span holds t, a span reaching to the next
// incarnation's start when that one starts after it (the first from the
// beginning of time, the last to its end). It returns false when two hold
// t, and zero and true when the host has one incarnation.
func (ix *Index) incarnationAt(host string, t time.Time) (time.Time, bool) {
	l := ix.incarn[host]
	if len(l) == 0 {
		return time.Time{}, true
	}
	var at time.Time
	n := 0
	for k, in := range l {
		from, to := in.from, in.to
		if k == 0 {
			from = time.Time{}
		}
		if k+1 == len(l) {
			to = maxTime(to, t)
		} else if l[k+1].from.After(to) {
			to = l[k+1].from.Add(-time.Nanosecond)
		}
		if !t.Before(from) && !t.After(to) {
			at, n = in.from, n+1
		}
	}
	return at, n == 1
}

// sameIncarnation reports whether a and b may be of one machine of host:
// each is of a known incarnation and they differ is the only no.
func (ix *Index) sameIncarnation(host string, a, b time.Time) bool {
	x, okx := ix.incarnationAt(host, a)
	y, oky := ix.incarnationAt(host, b)
	return !okx || !oky || x.Equal(y)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
