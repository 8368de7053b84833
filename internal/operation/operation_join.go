package operation

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
)

// joins describes the links of an operation (indices in u.links), and the
// distinct hops they cross.
func (b *builder) joins(links []int, u *unionFind) ([]result.Join, []result.Hop) {
	out := make([]result.Join, 0, len(links))
	var hops []result.Hop
	for _, k := range links {
		a, c, via := u.links[k][0], u.links[k][1], u.via[k]
		j := result.Join{Detections: [2]int{b.dets.index(a), b.dets.index(c)}}
		if j.Detections[0] > j.Detections[1] {
			j.Detections[0], j.Detections[1] = j.Detections[1], j.Detections[0]
		}
		if via < 0 {
			j.Kind = "nearby"
			out = append(out, j)
			continue
		}
		// The join is told by the strongest link on the two paths to the
		// shared node: a cross-host hop, else a file, service, task or
		// logon on the way, else the shared process itself.
		key, kind := b.keys[via], joinKind(b.keys[via].kind)
		best := rankOf(eAnchor)
		for _, det := range []int{a, c} {
			b.path(det, via, func(e edge, n, prev nodeKey) {
				if e == eLateral {
					h := b.hop(prev, n, time.Time{})
					h.Time = b.hopTime(det, n)
					if !slices.Contains(j.Lateral, h) {
						j.Lateral = append(j.Lateral, h)
					}
				}
				if r := rankOf(e); r > best {
					best = r
					kind = edgeKind(e)
					if k, ok := kindNode(e, n, prev); ok {
						key = k
					}
				}
			})
		}
		if len(j.Lateral) > 0 {
			kind = "remote target"
		}
		e := b.entity(key)
		j.Kind, j.Entity, j.Host, j.Key = kind, e.Kind, e.Host, e.Key
		for _, h := range j.Lateral {
			if !slices.Contains(hops, h) {
				hops = append(hops, h)
			}
		}
		out = append(out, j)
	}
	slices.SortStableFunc(out, func(x, y result.Join) int {
		return cmp.Or(cmp.Compare(x.Detections[0], y.Detections[0]), cmp.Compare(x.Detections[1], y.Detections[1]))
	})
	slices.SortStableFunc(hops, func(x, y result.Hop) int {
		return cmp.Or(x.Time.Compare(y.Time), cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To), cmp.Compare(x.Label, y.Label))
	})
	if hops == nil {
		hops = []result.Hop{}
	}
	return out, hops
}

func joinKind(kind byte) string {
	switch kind {
	case kProc:
		return "process tree"
	case kLogon:
		return "logon session"
	case kFile:
		return "shared file"
	case kService:
		return "service"
	case kTask:
		return "task"
	}
	return "?"
}

// path calls f for each edge on detection det's path to node via, from
// via back to the detection's own entity: the edge, the node it reached
// and the node it came from.
func (b *builder) path(det int, via int32, f func(e edge, n, prev nodeKey)) {
	rs := b.reached[det]
	for k := range rs {
		if rs[k].node != via {
			continue
		}
		for j := int32(k); j >= 0 && rs[j].prev >= 0; j = rs[j].prev {
			f(rs[j].edge, b.keys[rs[j].node], b.keys[rs[rs[j].prev].node])
		}
		return
	}
}

// hopTime is when the source process n of a lateral edge acted, as the
// walk of det recorded it.
func (b *builder) hopTime(det int, n nodeKey) time.Time {
	for _, r := range b.reached[det] {
		if r.edge == eLateral && b.keys[r.node] == n {
			return r.at
		}
	}
	return time.Time{}
}

// rankOf orders the edges by how much they say about a join.
func rankOf(e edge) int {
	switch e {
	case eLateral:
		return 6
	case eFile:
		return 5
	case eService:
		return 4
	case eTask:
		return 3
	case eLogon:
		return 2
	case eParent:
		return 1
	}
	return 0
}

func edgeKind(e edge) string {
	switch e {
	case eFile:
		return "shared file"
	case eService:
		return "service"
	case eTask:
		return "task"
	case eLogon:
		return "logon session"
	case eLateral:
		return "remote target"
	}
	return "process tree"
}

// kindNode returns the end of edge e (n or prev) that names it: the file of
// a file edge, the logon of a logon edge...
func kindNode(e edge, n, prev nodeKey) (nodeKey, bool) {
	var want byte
	switch e {
	case eFile:
		want = kFile
	case eService:
		want = kService
	case eTask:
		want = kTask
	case eLogon:
		want = kLogon
	default:
		return nodeKey{}, false
	}
	switch want {
	case n.kind:
		return n, true
	case prev.kind:
		return prev, true
	}
	return nodeKey{}, false
}

// hop describes the lateral edge from target (on the host reached) to src,
// the process that acted from another host at t.
func (b *builder) hop(target, src nodeKey, t time.Time) result.Hop {
	ix := b.ix
	sp := &ix.procs[src.idx]
	h := result.Hop{From: sp.host, To: target.host, Time: t, ProcessGUID: sp.guid, PID: sp.pid}
	switch target.kind {
	case kLogon:
		h.Label = "logon " + target.key
		if l := b.logonOf(target); l != nil {
			h.Label = logonTypeName(l.logonType) + " " + target.key
			if l.user != "" {
				h.Label += " of " + l.user
			}
		}
	case kService:
		h.Label = "service " + b.entity(target).Key
	case kTask:
		h.Label = "task " + b.entity(target).Key
	case kProc:
		p := &ix.procs[target.idx]
		h.To = p.host
		h.Label = baseName(ix.parentImage(target.idx)) + " started " + baseName(p.image)
	case kFile:
		h.Label = "file " + b.entity(target).Key + " copied"
	}
	h.Label += " ← " + baseName(sp.image)
	return h
}

// logonTypeName names the logon types a lateral edge follows.
func logonTypeName(t int) string {
	switch t {
	case 3:
		return "network logon"
	case 10:
		return "RDP logon"
	case 2:
		return "interactive logon"
	case 9:
		return "new-credentials logon"
	}
	return "logon type " + strconv.Itoa(t)
}

// logonOf returns the logon session of a logon node (nil when the index
// has no 4624 of it).
func (b *builder) logonOf(k nodeKey) *logon {
	if k.inst <= 0 {
		return nil
	}
	if lid := b.ix.logons[hostKey{k.host, k.key}]; lid != nil {
		t := time.Unix(0, k.inst)
		for i := lastStartAt(lid.inst, t); i >= 0 && !lid.inst[i].start.Before(t.Add(-spanSlack)); i-- {
			if lid.inst[i].start.UnixNano() == k.inst {
				return lid.inst[i]
			}
		}
	}
	return nil
}

// logonNode returns the node of the session logon ID id named on host at
// t (see Index.logonAt).
func (b *builder) logonNode(host, id string, t time.Time) nodeKey {
	inst, _ := b.ix.logonAt(host, id, t)
	return nodeKey{kind: kLogon, host: host, key: id, inst: inst}
}
