package correlate

import (
	"cmp"
	"slices"
	"time"
)

// Identity scopes: a logon ID names one session only within one boot of one
// host and from its logon (4624) to its logoff (4634/4647); a PID names one
// process only from its start to its exit (Sysmon 5, Security 4689) and
// within one boot; a file path names one file from one write to the next.
// The index keeps each such instance apart, and BuildOperations resolves
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

// addStart adds a 4624, unless the same logon at the same time is there
// (the same evidence read twice).
func (ls *logonSet) addStart(l *logon) bool {
	for _, m := range ls.starts {
		if m.start.Equal(l.start) {
			return false
		}
	}
	ls.starts = append(ls.starts, l)
	return true
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
		l := ls.starts
		slices.SortFunc(l, func(a, b *logon) int { return a.start.Compare(b.start) })
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
// reinstalled, another computer given the name years later. Sysmon's
// ProcessGuid begins with a value drawn from the machine (its first eight
// hex digits are the same for every process of one installation), so a
// host whose processes change that prefix at some time, for good, is
// another machine from then on: its start counts as a boot (no logon ID or
// PID crosses it), and a file, service or task of the earlier machine is
// not the later one's. A host whose prefixes interleave (two machines
// logging under one name at once) is not split.

// incarnation is one machine behind a host name, from the first process
// start seen with its prefix.
type incarnation struct {
	from   time.Time
	prefix string
}

// finishIncarnations finds the incarnations of each host from its
// processes' GUIDs and start times.
func (ix *Index) finishIncarnations() {
	per := map[string][]incarnation{}
	for i := range ix.procs {
		p := &ix.procs[i]
		if len(p.guid) < 9 || p.start.IsZero() {
			continue
		}
		per[p.host] = append(per[p.host], incarnation{from: p.start, prefix: p.guid[1:9]})
	}
	for h, l := range per {
		slices.SortFunc(l, func(a, b incarnation) int { return cmp.Or(a.from.Compare(b.from), cmp.Compare(a.prefix, b.prefix)) })
		var spans []incarnation
		seen := map[string]bool{}
		for _, x := range l {
			if n := len(spans); n > 0 && spans[n-1].prefix == x.prefix {
				continue
			}
			if seen[x.prefix] {
				spans = nil // interleaved: not told apart
				break
			}
			seen[x.prefix] = true
			spans = append(spans, x)
		}
		if len(spans) > 1 {
			ix.incarn[h] = spans
		}
	}
}

// incarnationAt returns the start of the incarnation of host in effect at
// t (zero when the host has one, or t is before its first).
func (ix *Index) incarnationAt(host string, t time.Time) time.Time {
	var at time.Time
	for _, in := range ix.incarn[host] {
		if in.from.After(t) {
			break
		}
		at = in.from
	}
	return at
}
