package operation

import (
	"encoding/binary"
	"time"
)

// RefTable holds DetectionRefs compactly, for a caller that keeps
// hundreds of thousands of them at once (a case's operations rebuilt from
// its store): each string of a ref is a number into one list of the
// distinct strings, and its tags and files a number into one list of the
// distinct lists, so a ref costs less than half of a DetectionRef and the
// strings detections repeat (hosts, rules, channels, images, accounts)
// are kept once. Ref gives back each ref as it was added, field for field
// (lists shared between refs that had equal ones). BuildTable builds the
// operations of a RefTable as Build does those of a slice.
//
// The zero value is an empty table. A RefTable is used by one goroutine
// while refs are added; Ref may then be called from any number.
type RefTable struct {
	rows  []packedRef
	strs  []string   // strs[0] is ""
	lists [][]string // a list's number is its index + 1; 0 is nil

	// The look-ups Add uses, dropped by Seal and remade when needed.
	strID  map[string]uint32
	listID map[string]uint32
}

// packedRef is a DetectionRef with numbers for its strings and lists.
type packedRef struct {
	index                                       int
	time                                        time.Time
	eventID, recordID, pid, parentPID, destPort int64
	locator                                     int64
	logonType                                   int
	counted                                     *Counted
	strs                                        [refStrings]uint32
	tags, files                                 uint32
}

// refStrings is how many strings a DetectionRef has (refStringFields).
const refStrings = 20

// refStringFields returns the string fields of d, in the order of
// packedRef.strs.
func refStringFields(d *DetectionRef) [refStrings]*string {
	return [refStrings]*string{&d.Host, &d.RuleID, &d.Title, &d.Level, &d.Channel,
		&d.ProcessGUID, &d.ParentProcessGUID, &d.LogonID, &d.TargetLogonID, &d.User, &d.TargetUser,
		&d.Service, &d.Task, &d.SourceIP, &d.DestinationIP, &d.Image, &d.ParentImage, &d.CommandLine, &d.Detail, &d.Source}
}

// NewRefTable returns an empty table with room for n refs.
func NewRefTable(n int) *RefTable {
	return &RefTable{rows: make([]packedRef, 0, n)}
}

// Add appends d to the table.
func (t *RefTable) Add(d DetectionRef) {
	t.lookups()
	p := packedRef{index: d.Index, time: d.Time, eventID: d.EventID, recordID: d.RecordID, pid: d.PID,
		parentPID: d.ParentPID, destPort: d.DestinationPort, locator: d.Locator, logonType: d.LogonType, counted: d.Counted,
		tags: t.list(d.Tags), files: t.list(d.Files)}
	for k, s := range refStringFields(&d) {
		p.strs[k] = t.str(*s)
	}
	t.rows = append(t.rows, p)
}

// Len returns how many refs the table holds.
func (t *RefTable) Len() int { return len(t.rows) }

// Ref returns the i-th ref added.
func (t *RefTable) Ref(i int) DetectionRef {
	p := &t.rows[i]
	d := DetectionRef{Index: p.index, Time: p.time, EventID: p.eventID, RecordID: p.recordID, PID: p.pid,
		ParentPID: p.parentPID, DestinationPort: p.destPort, Locator: p.locator, LogonType: p.logonType, Counted: p.counted,
		Tags: t.listOf(p.tags), Files: t.listOf(p.files)}
	for k, s := range refStringFields(&d) {
		*s = t.strs[p.strs[k]]
	}
	return d
}

// Seal drops the look-ups Add uses (about as large as the strings they
// name), for a table that is complete. A later Add remakes them.
func (t *RefTable) Seal() {
	t.strID, t.listID = nil, nil
}

func (t *RefTable) time(i int) time.Time { return t.rows[i].time }
func (t *RefTable) index(i int) int      { return t.rows[i].index }

// lookups makes the look-ups Add uses, when Seal dropped them.
func (t *RefTable) lookups() {
	if t.strs == nil {
		t.strs = []string{""}
	}
	if t.strID == nil {
		t.strID = make(map[string]uint32, len(t.strs))
		for i, s := range t.strs[1:] {
			t.strID[s] = uint32(i + 1)
		}
	}
	if t.listID == nil {
		t.listID = make(map[string]uint32, len(t.lists))
		for i, l := range t.lists {
			key := make([]byte, 0, 4*len(l))
			for _, s := range l {
				key = binary.LittleEndian.AppendUint32(key, t.strID[s])
			}
			t.listID[string(key)] = uint32(i + 1)
		}
	}
}

// str returns the number of s, adding it when new.
func (t *RefTable) str(s string) uint32 {
	if s == "" {
		return 0
	}
	id, ok := t.strID[s]
	if !ok {
		id = uint32(len(t.strs))
		t.strs = append(t.strs, s)
		t.strID[s] = id
	}
	return id
}

// list returns the number of l, adding it when new (made of the table's
// strings): 0 for nil, and a list of the same strings (an empty one
// included) the same number.
func (t *RefTable) list(l []string) uint32 {
	if l == nil {
		return 0
	}
	key := make([]byte, 0, 4*len(l))
	for _, s := range l {
		key = binary.LittleEndian.AppendUint32(key, t.str(s))
	}
	id, ok := t.listID[string(key)]
	if !ok {
		kept := make([]string, len(l))
		for k := range kept {
			kept[k] = t.strs[binary.LittleEndian.Uint32(key[4*k:])]
		}
		id = uint32(len(t.lists) + 1)
		t.lists = append(t.lists, kept)
		t.listID[string(key)] = id
	}
	return id
}

// listOf returns the list numbered id.
func (t *RefTable) listOf(id uint32) []string {
	if id == 0 {
		return nil
	}
	return t.lists[id-1]
}
