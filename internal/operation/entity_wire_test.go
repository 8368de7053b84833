package operation

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/detect"
)

// TestIndexAcrossHunts: the scenario's three hosts hunted one at a time,
// each hunt's index encoded and the three decoded together, give the
// operations of one hunt of all three (the same JSON, detections named by
// the same ids): a new host's logs join the story of the earlier ones.
func TestIndexAcrossHunts(t *testing.T) {
	eng, errs := detect.Compile(reportedBuiltin(t), nil, detect.Options{})
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	hosts := []string{"dc01.jsonl", "erp01.jsonl", "fs01.jsonl"}
	var paths []string
	for _, h := range hosts {
		paths = append(paths, filepath.Join(scenarioFixture, h))
	}
	// Ids as a case store gives them: unique across hunts, in no time order.
	key := func(h hunted) string { return fmt.Sprintf("%s#%d#%s", h.source, h.line, h.ref.RuleID) }
	whole, wholeIdx := huntWith(t, eng, paths, 2, nil)
	ids := map[string]int{}
	for i := range whole {
		ids[key(whole[i])] = 1000 + 7*i
		whole[i].ref.Index = ids[key(whole[i])]
	}
	want := mustOperations(t, refsOf(whole), wholeIdx, Options{})

	var refs []DetectionRef
	var encs [][]byte
	for _, p := range paths {
		hs, idx := huntUnfinished(t, eng, []string{p}, 2, nil)
		enc, err := idx.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		encs = append(encs, enc)
		for _, h := range hs {
			id, ok := ids[key(h)]
			if !ok {
				t.Fatalf("detection %s of one host's hunt not in the whole hunt", key(h))
			}
			h.ref.Index = id
			refs = append(refs, h.ref)
		}
	}
	slices.Reverse(refs) // the order refs come in does not matter
	joined, err := DecodeIndex(encs...)
	if err != nil {
		t.Fatal(err)
	}
	got := mustOperations(t, refs, joined, Options{})
	multi := 0
	for _, op := range want {
		if len(op.Hosts) > 1 {
			multi++
		}
	}
	if multi == 0 {
		t.Fatalf("no operation spans hosts:\n%s", describeOps(want))
	}
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		t.Errorf("operations of the three hunts joined differ from one hunt's:\nwant\n%s\ngot\n%s", describeOps(want), describeOps(got))
	}

	// Without the first host's index, the cross-host story is not the same.
	partial, err := DecodeIndex(encs[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	if pj, _ := json.Marshal(mustOperations(t, refs, partial, Options{})); string(pj) == string(wj) {
		t.Error("the operations do not depend on the first hunt's entities: the test proves nothing")
	}
}

// TestIndexEncodingAfterFinish: a finished index is not encoded (its
// shards are merged away).
func TestIndexEncodingAfterFinish(t *testing.T) {
	ix := NewIndex(1)
	ix.Finish()
	if _, err := ix.AppendBinary(nil); err == nil {
		t.Error("AppendBinary after Finish: no error")
	}
	if _, err := DecodeIndex([]byte("not an index")); err == nil {
		t.Error("DecodeIndex of junk: no error")
	}
	enc, _ := NewIndex(2).AppendBinary(nil)
	if _, err := DecodeIndex(enc[:len(enc)-1]); err == nil {
		t.Error("DecodeIndex of a truncated encoding: no error")
	}
}

// TestDecodeIndexAllocation: an encoding that claims more processes than
// its bytes can hold makes room for no more than they can (13 bytes
// each): a MiB claiming 524,288 allocated 96 MiB when a count was checked
// against one byte an item.
func TestDecodeIndexAllocation(t *testing.T) {
	const size = 1 << 20
	b := binary.AppendUvarint([]byte(wireMagic), 1) // one shard
	b = binary.AppendVarint(b, 0)                   // events
	b = binary.AppendUvarint(b, size/2)             // processes, more than fit
	b = append(b, make([]byte, size-len(b))...)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	_, err := DecodeIndex(b)
	runtime.ReadMemStats(&m1)
	if err == nil {
		t.Error("DecodeIndex of a count past the end: no error")
	}
	if n := m1.TotalAlloc - m0.TotalAlloc; n > 32*size {
		t.Errorf("got %d bytes allocated for %d bytes of encoding, want at most 32 times as many", n, size)
	}
}

// FuzzDecodeIndex: any bytes decode to an index or an error, never a
// panic (allocation: TestDecodeIndexAllocation); what decodes builds.
func FuzzDecodeIndex(f *testing.F) {
	ix := NewIndex(1)
	s := ix.Shard(0)
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	s.procs = append(s.procs, process{host: "H", guid: "{A}", pid: 4, start: t0, image: `c:\x.exe`, parent: -1})
	s.logons[hostKey{"H", "0x1"}] = &logonSet{starts: []*logon{{host: "H", id: "0x1", start: t0, logonType: 3, ip: "10.0.0.1"}}, ends: []time.Time{t0.Add(time.Hour)}}
	s.intents = append(s.intents, intentRaw{ref: procRef{host: "H", guid: "{A}", t: t0}, target: "DC01", what: "cmd"})
	s.files[hostKey{"H", `c:\x.dll`}] = &file{host: "H", path: `c:\x.dll`, first: t0, writes: []procRef{{host: "H", guid: "{A}", t: t0}}, nwrite: 1}
	s.hostIPs[ipHost{"10.0.0.2", "DC01"}] = new(3)
	// Version 2's times of a service's, a task's and a file's facts.
	s.services[hostKey{"H", "svc"}] = &service{host: "H", name: "Svc", image: `c:\s.exe`, imageAt: t0, installed: t0,
		installs: []time.Time{t0}, logon: "0x1", logonAt: t0}
	s.tasks[hostKey{"H", `\t`}] = &task{host: "H", name: `\T`, command: `c:\t.exe`, commandAt: t0, created: t0,
		creates: []time.Time{t0}, logon: "0x1", logonAt: t0, pids: []int64{4}}
	s.files[hostKey{"H", `c:\x.dll`}].pathAt = t0
	enc, err := ix.AppendBinary(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add([]byte(wireMagic))
	f.Add([]byte(wireV1Sample))
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := DecodeIndex(b)
		if err != nil {
			return
		}
		ref := DetectionRef{Index: 0, Time: t0, Host: "H", ProcessGUID: "{A}", RuleID: "r", Level: "high", LogonID: "0x1"}
		if _, err := Build(t.Context(), []DetectionRef{ref}, ix, Options{}); err != nil {
			t.Fatal(err)
		}
	})
}

// wireV1Sample is an encoding of version 1 (a case stored before version
// 2), made by that version's AppendBinary: a service, a task and a file.
const wireV1Sample = "spoor-entities/1\n\x01\x00\x00\x00\x00\x00\x01\x01\x01H\x01\x03svc\x02\x01\x03Svc\x01\bc:\\s.exe\x01\xc0\x9c\x8d\xde\f\x00\x01\x01\xc0\x9c\x8d\xde\f\x00\x01\x030x1\x01\x02\x01\x02\\t\x02\x01\x02\\T\x01\bc:\\t.exe\x01\xc0\x9c\x8d\xde\f\x00\x01\x01\xc0\x9c\x8d\xde\f\x00\x01\x030x2\x00\x01\x02\x01\bc:\\x.dll\x02\x01\bC:\\x.dll\x01\xc0\x9c\x8d\xde\f\x00\x01\x02\x01\x03{A}\x00\x01\xc0\x9c\x8d\xde\f\x00\x02\x00\x00\x00\x00\x00"

// TestDecodeIndexVersion1: an encoding of version 1 (wireV1Sample) still decodes,
// the times it lacks read as the first installation's, creation's and
// write's.
func TestDecodeIndexVersion1(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	ix, err := DecodeIndex([]byte(wireV1Sample))
	if err != nil {
		t.Fatal(err)
	}
	// A later shard's values of the same entities, said after t0, do not
	// replace those of version 1.
	late := NewIndex(1).Shard(0)
	t1 := t0.Add(time.Minute)
	late.services[hostKey{"H", "svc"}] = &service{host: "H", name: "Svc", image: `c:\a.exe`, imageAt: t1, installed: t1, installs: []time.Time{t1}, logon: "0x0", logonAt: t1}
	late.tasks[hostKey{"H", `\t`}] = &task{host: "H", name: `\T`, command: `c:\a.exe`, commandAt: t1, created: t1, creates: []time.Time{t1}, logon: "0x0", logonAt: t1}
	ix.shards = append(ix.shards, late)
	ix.Finish()
	sv, tk, f := ix.services[hostKey{"H", "svc"}], ix.tasks[hostKey{"H", `\t`}], ix.files[hostKey{"H", `c:\x.dll`}]
	if sv == nil || tk == nil || f == nil {
		t.Fatalf("got service %v, task %v, file %v, want all three", sv, tk, f)
	}
	if sv.image != `c:\s.exe` || sv.logon != "0x1" || !sv.imageAt.Equal(t0) || !sv.logonAt.Equal(t0) {
		t.Errorf("service: got %s at %v, logon %s at %v, want c:\\s.exe and 0x1 at %v", sv.image, sv.imageAt, sv.logon, sv.logonAt, t0)
	}
	if tk.command != `c:\t.exe` || tk.logon != "0x2" || !tk.commandAt.Equal(t0) {
		t.Errorf("task: got %s at %v, logon %s, want c:\\t.exe and 0x2 at %v", tk.command, tk.commandAt, tk.logon, t0)
	}
	if f.path != `C:\x.dll` || !f.pathAt.Equal(t0) {
		t.Errorf("file: got %s at %v, want C:\\x.dll at %v", f.path, f.pathAt, t0)
	}
}

// TestDecodeIndexNamedAgain: an encoding that names one long string as
// the image of thousands of processes (a few bytes each) is refused, not
// decoded into minutes of Finish lowering it once per process.
func TestDecodeIndexNamedAgain(t *testing.T) {
	ix := NewIndex(1)
	s := ix.Shard(0)
	long := `c:\` + strings.Repeat("a", 1<<20)
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := range 2000 {
		s.procs = append(s.procs, process{host: "H", pid: int64(i + 8), start: t0.Add(time.Duration(i) * time.Second), image: long, parent: -1})
	}
	enc, err := ix.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) > 2<<20 {
		t.Fatalf("the encoding is %d bytes: the string was not named by number", len(enc))
	}
	if _, err := DecodeIndex(enc); err == nil || !strings.Contains(err.Error(), "named again") {
		t.Errorf("got %v, want the encoding refused for naming its strings again past the budget", err)
	}
	// Below the budget it decodes.
	s.procs = s.procs[:40]
	enc, err = ix.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeIndex(enc); err != nil {
		t.Errorf("40 processes of one long image: %v", err)
	}
}

// TestDecodeIndexShards: an encoding of more shards than any hunt writes
// is refused; each would make its maps (95,000 empty shards of 11 bytes
// made 88 MiB of a 1 MiB encoding).
func TestDecodeIndexShards(t *testing.T) {
	one := make([]byte, minShard) // an empty shard: no events, every count 0
	b := binary.AppendUvarint([]byte(wireMagic), maxShards+1)
	for range maxShards + 1 {
		b = append(b, one...)
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	_, err := DecodeIndex(b)
	runtime.ReadMemStats(&m1)
	if err == nil || !strings.Contains(err.Error(), "shards") {
		t.Errorf("got %v, want the encoding refused for its shards", err)
	}
	if n := m1.TotalAlloc - m0.TotalAlloc; n > 1<<20 {
		t.Errorf("got %d bytes allocated, want the count refused before any shard", n)
	}
	// As many as the bound decode.
	b = binary.AppendUvarint([]byte(wireMagic), 3)
	for range 3 {
		b = append(b, one...)
	}
	if ix, err := DecodeIndex(b); err != nil || len(ix.shards) != 3 {
		t.Errorf("three empty shards: %v", err)
	}
}
