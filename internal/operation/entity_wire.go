package operation

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The entity index on disk: what a case store keeps of a hunt's evidence,
// so that a later hunt's detections join the entities of earlier ones (a
// new host's logs join the existing story). It is the shards' observations
// before Finish, so DecodeIndex of several hunts' encodings merges them as
// Finish merges one hunt's workers.
//
// Format: wireMagic, then the shard count and each shard's sections
// (entity_wire.go's appendShard gives the order). Integers are varints;
// a string is 0 (empty), 1 and its length and bytes (a new string, given
// the next number), or 2+n (the string numbered n); a time is 0 (zero) or
// 1, its Unix seconds and nanoseconds.

// wireMagic starts an encoded index; its version changes with the format.
// Version 1 had no times of a service's image and logon, a task's command
// and logon and a file's path (version 2's last fields of each): its are
// read as the first installation's, creation's or write's.
const (
	wireMagic   = "spoor-entities/2\n"
	wireMagicV1 = "spoor-entities/1\n"
)

// AppendBinary appends the index's observations to b (see DecodeIndex).
// Call it after every Observe and before Finish.
func (ix *Index) AppendBinary(b []byte) ([]byte, error) {
	if ix.done {
		return b, errors.New("entity index: encoded after Finish")
	}
	w := wireWriter{b: append(b, wireMagic...), strs: map[string]uint64{}}
	w.uint(uint64(len(ix.shards)))
	for _, s := range ix.shards {
		w.shard(s)
	}
	return w.b, nil
}

// DecodeIndex returns an index of the observations of every encoding
// given (AppendBinary's), not finished: Build finishes it. An encoding
// that is not one is an error naming its position in encs.
func DecodeIndex(encs ...[]byte) (*Index, error) {
	ix := &Index{}
	for i, enc := range encs {
		r := wireReader{b: enc, maxNamed: refBudget(len(enc))}
		switch {
		case len(enc) >= len(wireMagic) && string(enc[:len(wireMagic)]) == wireMagic:
		case len(enc) >= len(wireMagicV1) && string(enc[:len(wireMagicV1)]) == wireMagicV1:
			r.v1 = true
		default:
			return nil, fmt.Errorf("entity index %d: not an encoded entity index", i)
		}
		r.b = r.b[len(wireMagic):] // both versions' are as long
		n := r.count(minShard)
		if n > maxShards {
			r.fail(fmt.Sprintf("%d shards, more than a hunt writes (%d)", n, maxShards))
			n = 0
		}
		for range n {
			s := r.shard()
			if r.err != nil {
				break
			}
			ix.shards = append(ix.shards, s)
		}
		if r.err == nil && len(r.b) > 0 {
			r.err = errors.New("bytes after the end")
		}
		if r.err != nil {
			return nil, fmt.Errorf("entity index %d: %w", i, r.err)
		}

	}
	if len(ix.shards) == 0 {
		ix.shards = append(ix.shards, newShard())
	}
	return ix, nil
}

type wireWriter struct {
	b    []byte
	strs map[string]uint64
}

func (w *wireWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *wireWriter) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }

func (w *wireWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

func (w *wireWriter) str(s string) {
	if s == "" {
		w.uint(0)
		return
	}
	if n, ok := w.strs[s]; ok {
		w.uint(n + 2)
		return
	}
	w.strs[s] = uint64(len(w.strs))
	w.uint(1)
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *wireWriter) time(t time.Time) {
	if t.IsZero() {
		w.uint(0)
		return
	}
	w.uint(1)
	w.int(t.Unix())
	w.uint(uint64(t.Nanosecond()))
}

func (w *wireWriter) times(ts []time.Time) {
	w.uint(uint64(len(ts)))
	for _, t := range ts {
		w.time(t)
	}
}

func (w *wireWriter) key(k hostKey) { w.str(k.host); w.str(k.key) }

func (w *wireWriter) ref(r procRef) { w.str(r.host); w.str(r.guid); w.int(r.pid); w.time(r.t) }

func (w *wireWriter) refs(rs []procRef) {
	w.uint(uint64(len(rs)))
	for _, r := range rs {
		w.ref(r)
	}
}

func (w *wireWriter) hostTimes(hs []hostTime) {
	w.uint(uint64(len(hs)))
	for _, h := range hs {
		w.str(h.host)
		w.int(h.pid)
		w.time(h.t)
	}
}

// shard writes what Finish reads of s, in the order wireReader.shard reads
// it.
func (w *wireWriter) shard(s *IndexShard) {
	w.int(s.events)
	w.uint(uint64(len(s.procs)))
	for i := range s.procs {
		p := &s.procs[i]
		w.str(p.host)
		w.str(p.guid)
		w.int(p.pid)
		w.time(p.start)
		w.time(p.end)
		w.str(p.parentGUID)
		w.int(p.parentPID)
		w.str(p.image)
		w.str(p.cmd)
		w.str(p.user)
		w.str(p.logon)
		w.bool(p.created)
		w.bool(p.pidSure)
	}
	w.uint(uint64(len(s.logons)))
	for k, ls := range s.logons {
		w.key(k)
		w.uint(uint64(len(ls.starts)))
		for _, l := range ls.starts {
			w.str(l.host)
			w.str(l.id)
			w.str(l.user)
			w.str(l.ip)
			w.str(l.workstation)
			w.int(int64(l.logonType))
			w.time(l.start)
			w.time(l.end)
			w.bool(l.elevated)
		}
		w.times(ls.ends)
		w.times(ls.privs)
	}
	w.hostTimes(s.boots)
	w.hostTimes(s.exits)
	w.uint(uint64(len(s.services)))
	for k, sv := range s.services {
		w.key(k)
		w.str(sv.host)
		w.str(sv.name)
		w.str(sv.image)
		w.time(sv.installed)
		w.times(sv.installs)
		w.str(sv.logon)
		w.time(sv.imageAt)
		w.time(sv.logonAt)
	}
	w.uint(uint64(len(s.tasks)))
	for k, tk := range s.tasks {
		w.key(k)
		w.str(tk.host)
		w.str(tk.name)
		w.str(tk.command)
		w.time(tk.created)
		w.times(tk.creates)
		w.str(tk.logon)
		w.uint(uint64(len(tk.pids)))
		for _, p := range tk.pids {
			w.int(p)
		}
		w.time(tk.commandAt)
		w.time(tk.logonAt)
	}
	w.uint(uint64(len(s.files)))
	for k, f := range s.files {
		w.key(k)
		w.str(f.host)
		w.str(f.path)
		w.time(f.first)
		w.refs(f.writes)
		w.int(int64(f.nwrite))
		w.refs(f.loaders)
		w.str(f.hash)
		w.time(f.pathAt)
	}
	w.uint(uint64(len(s.loads)))
	for k, rs := range s.loads {
		w.key(k)
		w.refs(rs)
	}
	w.uint(uint64(len(s.hostIPs)))
	for k, n := range s.hostIPs {
		w.str(k.ip)
		w.str(k.host)
		w.int(int64(*n))
	}
	w.uint(uint64(len(s.intents)))
	for _, in := range s.intents {
		w.ref(in.ref)
		w.str(in.target)
		w.str(in.what)
		w.str(in.account)
		w.str(in.path)
	}
}

// wireReader reads an encoding; the first problem is kept in err, and
// every read after it returns zero values.
type wireReader struct {
	b    []byte
	strs []string
	err  error
	v1   bool // a version 1 encoding
	// named adds up the lengths of the strings named by number; past
	// maxNamed the encoding is refused. A small encoding could otherwise
	// name one long string a million times, and Finish lowers and
	// normalises a process's image once per process (minutes of CPU for
	// 2 MB). Real encodings name about their own size again (all of
	// Security-Datasets hunted into a case: 3.7 MB for 4.1 MB).
	named, maxNamed int
}

// refBudget is maxNamed for an encoding of n bytes.
func refBudget(n int) int { return 64<<20 + 64*n }

func (r *wireReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s at %d bytes from the end", what, len(r.b))
	}
	r.b = nil
}

func (r *wireReader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad or truncated number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wireReader) int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad or truncated number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// maxShards bounds the shards of one encoding: a hunt writes one per
// worker, a fleet commit one. Each decoded shard makes its maps (about a
// kilobyte), so 95,000 empty shards of 11 bytes made 88 MiB of 1 MiB.
const maxShards = 4096

// Each item's fewest bytes (a varint, string or time is at least one):
// a count is checked against them, so that what a count makes room for is
// a small multiple of the input, not of a number it claims.
const (
	minShard   = 11 // events and ten counts
	minProc    = 13
	minLogons  = 5 // key and three counts
	minLogon   = 9
	minService = 8 // version 1's; version 2 adds two times
	minTask    = 9 // version 1's; version 2 adds two times
	minFile    = 9 // version 1's; version 2 adds a time
	minLoads   = 3
	minRef     = 4
	minHostIP  = 3
	minHostT   = 3
	minIntent  = 8
)

// count reads a number of items of at least size bytes each: more than
// what is left holds is an error.
func (r *wireReader) count(size int) int {
	n := r.uint()
	if n > uint64(len(r.b)/size) {
		r.fail("count past the end")
		return 0
	}
	return int(n)
}

func (r *wireReader) bool() bool {
	if len(r.b) == 0 {
		r.fail("truncated")
		return false
	}
	v := r.b[0]
	r.b = r.b[1:]
	if v > 1 {
		r.fail("bad flag")
	}
	return v == 1
}

func (r *wireReader) str() string {
	switch c := r.uint(); c {
	case 0:
		return ""
	case 1:
		n := r.count(1)
		if r.err != nil {
			return ""
		}
		s := string(r.b[:n]) // a copy: the encoding is the caller's
		r.b = r.b[n:]
		r.strs = append(r.strs, s)
		return s
	default:
		if c-2 >= uint64(len(r.strs)) {
			r.fail("string number out of range")
			return ""
		}
		s := r.strs[c-2]
		if r.named += len(s); r.named > r.maxNamed {
			r.fail("strings named again past 64 times the encoding's size")
			return ""
		}
		return s
	}
}

func (r *wireReader) time() time.Time {
	switch r.uint() {
	case 0:
		return time.Time{}
	case 1:
		sec, ns := r.int(), r.uint()
		if ns >= 1e9 {
			r.fail("bad time")
			return time.Time{}
		}
		return time.Unix(sec, int64(ns)).UTC()
	default:
		r.fail("bad time")
		return time.Time{}
	}
}

func (r *wireReader) times() []time.Time {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	ts := make([]time.Time, 0, n)
	for range n {
		ts = append(ts, r.time())
	}
	return ts
}

func (r *wireReader) key() hostKey { return hostKey{r.str(), r.str()} }

func (r *wireReader) ref() procRef {
	return procRef{host: r.str(), guid: r.str(), pid: r.int(), t: r.time()}
}

func (r *wireReader) refs() []procRef {
	n := r.count(minRef)
	if n == 0 {
		return nil
	}
	rs := make([]procRef, 0, n)
	for range n {
		rs = append(rs, r.ref())
	}
	return rs
}

func (r *wireReader) hostTimes() []hostTime {
	n := r.count(minHostT)
	hs := make([]hostTime, 0, n)
	for range n {
		hs = append(hs, hostTime{host: r.str(), pid: r.int(), t: r.time()})
	}
	return hs
}

// shard reads what wireWriter.shard wrote.
func (r *wireReader) shard() *IndexShard {
	s := newShard()
	s.events = r.int()
	n := r.count(minProc)
	s.procs = make([]process, 0, n)
	for range n {
		p := process{parent: -1}
		p.host, p.guid, p.pid = r.str(), r.str(), r.int()
		p.start, p.end = r.time(), r.time()
		p.parentGUID, p.parentPID = r.str(), r.int()
		p.image, p.cmd, p.user, p.logon = r.str(), r.str(), r.str(), r.str()
		p.created, p.pidSure = r.bool(), r.bool()
		s.procs = append(s.procs, p)
	}
	for range r.count(minLogons) {
		k := r.key()
		ls := &logonSet{}
		for range r.count(minLogon) {
			l := &logon{host: r.str(), id: r.str(), user: r.str(), ip: r.str(), workstation: r.str()}
			l.logonType = int(r.int())
			l.start, l.end = r.time(), r.time()
			l.elevated = r.bool()
			ls.starts = append(ls.starts, l)
		}
		ls.ends, ls.privs = r.times(), r.times()
		s.logons[k] = ls
	}
	s.boots, s.exits = r.hostTimes(), r.hostTimes()
	for range r.count(minService) {
		k := r.key()
		sv := &service{host: r.str(), name: r.str(), image: r.str()}
		sv.installed, sv.installs, sv.logon = r.time(), r.times(), r.str()
		if r.v1 {
			sv.imageAt, sv.logonAt = sv.installed, sv.installed
		} else {
			sv.imageAt, sv.logonAt = r.time(), r.time()
		}
		s.services[k] = sv
	}
	for range r.count(minTask) {
		k := r.key()
		tk := &task{host: r.str(), name: r.str(), command: r.str()}
		tk.created, tk.creates, tk.logon = r.time(), r.times(), r.str()
		for range r.count(1) {
			tk.pids = append(tk.pids, r.int())
		}
		if r.v1 {
			tk.commandAt, tk.logonAt = tk.created, tk.created
		} else {
			tk.commandAt, tk.logonAt = r.time(), r.time()
		}
		s.tasks[k] = tk
	}
	for range r.count(minFile) {
		k := r.key()
		f := &file{host: r.str(), path: r.str(), first: r.time()}
		f.writes, f.nwrite, f.loaders, f.hash = r.refs(), int(r.int()), r.refs(), r.str()
		if r.v1 {
			f.pathAt = f.first
		} else {
			f.pathAt = r.time()
		}
		s.files[k] = f
	}
	for range r.count(minLoads) {
		k := r.key()
		s.loads[k] = r.refs()
	}
	for range r.count(minHostIP) {
		k := ipHost{r.str(), r.str()}
		s.hostIPs[k] = new(int(r.int()))
	}
	n = r.count(minIntent)
	s.intents = make([]intentRaw, 0, n)
	for range n {
		in := intentRaw{ref: r.ref()}
		in.target, in.what, in.account, in.path = r.str(), r.str(), r.str(), r.str()
		s.intents = append(s.intents, in)
	}
	return s
}
