package operation

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/source"
)

// The cut property: the operations of an entity index do not depend on how
// its events were cut into shards. The offline hunt gives a whole file's
// events to one worker's shard; a fleet worker makes a shard of each
// commit, any run of one partition's events (several hosts', a file cut
// anywhere), encodes it, and a case's rebuild decodes them all together.
// Both must give the same operations.

// cutSets are the Security-Datasets recordings the test cuts by default:
// PurpleSharp's playbook (WinRM to three hosts from WORKSTATION5 beside
// Kerberoasting on MORDORDC: a fleet run joined WORKSTATION7's shell into
// MORDORDC's operation) and two more lateral movements.
var cutSets = []string{
	"lateral_movement/host/purplesharp_ad_playbook_I.zip",
	"lateral_movement/host/empire_psexec_dcerpc_tcp_svcctl.zip",
	"lateral_movement/host/covenant_psremoting_command.zip",
}

// TestCutIndependence builds the operations of the cutSets from an index
// made as the offline hunt makes it and from the same events cut into
// pieces as fleet commits cut them, for several seeds and piece sizes, and
// wants the same operations and index. SPOOR_CUT_TEST=all cuts
// Security-Datasets' atomic Windows and compound recordings (40 s a seed,
// 10 GB: every event is held), SPOOR_CUT_TEST=PATH a folder or file under
// its datasets/ folder; SPOOR_CUT_SEEDS=N tries N seeds per piece size
// (default 3).
func TestCutIndependence(t *testing.T) {
	base := shared.Path(t, "datasets", "security-datasets", "datasets")
	var paths []string
	switch e := os.Getenv("SPOOR_CUT_TEST"); e {
	case "":
		if testing.Short() {
			t.Skip("cut: seconds of building operations")
		}
		for _, p := range cutSets {
			paths = append(paths, filepath.Join(base, "atomic", "windows", filepath.FromSlash(p)))
		}
	case "all":
		paths = []string{filepath.Join(base, "atomic", "windows"), filepath.Join(base, "compound")}
	default:
		paths = []string{filepath.Join(base, filepath.FromSlash(e))}
	}
	seeds := 3
	if n, err := fmt.Sscan(os.Getenv("SPOOR_CUT_SEEDS"), &seeds); n == 0 || err != nil {
		seeds = 3
	}
	files := readFiles(t, paths)
	refs := cutRefs(t, files)
	whole := wholeIndex(files)
	want := opsJSON(t, refs, whole)
	wantIdx := fingerprint(whole)
	t.Logf("%d files, %d detections, %d operations", len(files), len(refs), len(want))
	for _, piece := range []int{1, 7, 60, 500, 4000} {
		for seed := range uint64(seeds) {
			rng := rand.New(rand.NewPCG(seed, uint64(piece)))
			idx := cutIndex(t, files, piece, rng)
			if got := opsJSON(t, refs, idx); !slices.Equal(got, want) {
				t.Errorf("pieces of up to %d events, seed %d: the operations differ from the whole index's:\n%s",
					piece, seed, diffOps(got, want))
			}
			// The entities too, beyond those the detections reach.
			if got := fingerprint(idx); !slices.Equal(got, wantIdx) {
				t.Errorf("pieces of up to %d events, seed %d: the index differs from the whole one's:\n%s",
					piece, seed, diffLines(got, wantIdx))
			}
		}
	}
}

// untimed returns e without its time.
func untimed(e *event.Event) *event.Event {
	e.Fields = slices.DeleteFunc(e.Fields, func(f event.Field) bool { return f.Name == event.FieldTimeCreated })
	return e
}

// diffLines lists the first lines only one of two sorted lists has.
func diffLines(got, want []string) string {
	var b strings.Builder
	n := 0
	for _, s := range got {
		if _, ok := slices.BinarySearch(want, s); !ok && n < 10 {
			fmt.Fprintf(&b, "  only cut:   %.300s\n", s)
			n++
		}
	}
	for _, s := range want {
		if _, ok := slices.BinarySearch(got, s); !ok && n < 20 {
			fmt.Fprintf(&b, "  only whole: %.300s\n", s)
			n++
		}
	}
	return b.String()
}

// readFiles reads paths one file after another and returns each file's
// events (cloned), in the order read.
func readFiles(t testing.TB, paths []string) [][]*event.Event {
	t.Helper()
	bySource := map[string]int{}
	var files [][]*event.Event
	sum, err := source.Run(t.Context(), paths, source.Options{Workers: 1}, func(_ int, ev *event.Event) error {
		i, ok := bySource[ev.Source]
		if !ok {
			i = len(files)
			bySource[strings.Clone(ev.Source)] = i
			files = append(files, nil)
		}
		files[i] = append(files[i], ev.Clone())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Failed) > 0 {
		t.Fatalf("source: %d files failed, first %s: %v", len(sum.Failed), sum.Failed[0].Name, sum.Failed[0].Err)
	}
	return files
}

// cutRefs matches the built-in rules against every event and returns a
// DetectionRef of each detection: the same refs for both indexes, so that
// only the index differs.
func cutRefs(t *testing.T, files [][]*event.Event) []DetectionRef {
	t.Helper()
	eng, errs := detect.Compile(reportedBuiltin(t), nil, detect.Options{})
	if len(errs) > 0 {
		t.Fatalf("detect.Compile: %v", errors.Join(errs...))
	}
	m := eng.NewMatcher()
	sh := newShard()
	var refs []DetectionRef
	for _, evs := range files {
		for _, ev := range evs {
			for _, d := range m.Match(ev, nil) {
				r := sh.Ref(ev)
				s := d.Rule.Sigma
				r.RuleID, r.Title, r.Level, r.Tags = s.ID, s.Title, strings.ToLower(s.Level), s.Tags
				r.Index = len(refs)
				refs = append(refs, r)
			}
		}
	}
	return refs
}

// wholeIndex is the offline hunt's index: two workers' shards, each file
// wholly in one.
func wholeIndex(files [][]*event.Event) *Index {
	idx := NewIndex(2)
	for i, evs := range files {
		sh := idx.Shard(i % 2)
		for _, ev := range evs {
			sh.Observe(ev)
		}
	}
	return idx
}

// cutIndex is a case's index as fleet workers make it: each host's events
// go, in the order of their file, to the partition of the host (a few
// partitions, so several hosts share one); a partition's events come as
// messages, runs of one host's events interleaved with other hosts' of the
// partition; a commit is any run of a partition's events (up to piece),
// its own NewIndex(1), encoded; commits of different partitions interleave;
// the rebuild decodes them all.
func cutIndex(t testing.TB, files [][]*event.Event, piece int, rng *rand.Rand) *Index {
	t.Helper()
	idx, err := DecodeIndex(cutEncodings(t, files, piece, rng)...)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// cutEncodings returns the encodings of the commits of cutIndex.
func cutEncodings(t testing.TB, files [][]*event.Event, piece int, rng *rand.Rand) [][]byte {
	t.Helper()
	const partitions = 3
	type stream struct{ evs []*event.Event }
	var parts [partitions][]*stream
	for _, evs := range files {
		byHost := map[string]*stream{}
		for _, ev := range evs {
			h := HostName(ev.Lookup(event.FieldComputer).Text())
			st := byHost[h]
			if st == nil {
				st = &stream{}
				byHost[h] = st
				f := fnv.New32a()
				f.Write([]byte(h))
				p := f.Sum32() % partitions
				parts[p] = append(parts[p], st)
			}
			st.evs = append(st.evs, ev)
		}
	}
	// Each partition's sequence of events: messages of up to 100 events of
	// one of its streams at a time (a stream's order kept), then cut into
	// commits.
	var commits [partitions][][]*event.Event
	for p, streams := range parts {
		var seq []*event.Event
		for len(streams) > 0 {
			k := rng.IntN(len(streams))
			st := streams[k]
			n := min(1+rng.IntN(100), len(st.evs))
			seq, st.evs = append(seq, st.evs[:n]...), st.evs[n:]
			if len(st.evs) == 0 {
				streams = slices.Delete(streams, k, k+1)
			}
		}
		for len(seq) > 0 {
			n := min(1+rng.IntN(piece), len(seq))
			commits[p] = append(commits[p], seq[:n])
			seq = seq[n:]
		}
	}
	var encs [][]byte
	for {
		var left []int
		for p := range commits {
			if len(commits[p]) > 0 {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			break
		}
		p := left[rng.IntN(len(left))]
		c := commits[p][0]
		commits[p] = commits[p][1:]
		ix := NewIndex(1)
		for _, ev := range c {
			ix.Shard(0).Observe(ev)
		}
		enc, err := ix.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		encs = append(encs, enc)
	}
	return encs
}

// BenchmarkRebuildCut decodes and finishes the index of Security-Datasets'
// lateral movement recordings as a case's rebuild does, from commits of up
// to 500 events (788 commits).
func BenchmarkRebuildCut(b *testing.B) {
	dir := filepath.Join(shared.Path(b, "datasets", "security-datasets", "datasets"), "atomic", "windows", "lateral_movement")
	encs := cutEncodings(b, readFiles(b, []string{dir}), 500, rand.New(rand.NewPCG(0, 500)))
	n := 0
	for _, e := range encs {
		n += len(e)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		idx, err := DecodeIndex(encs...)
		if err != nil {
			b.Fatal(err)
		}
		idx.Finish()
	}
	b.ReportMetric(float64(len(encs)), "commits")
}

// opsJSON builds the operations of refs over idx and returns each as
// JSON, in order.
func opsJSON(t *testing.T, refs []DetectionRef, idx *Index) []string {
	t.Helper()
	ops := mustOperations(t, refs, idx, Options{})
	out := make([]string, len(ops))
	for i := range ops {
		b, err := json.Marshal(&ops[i])
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

// diffOps describes how two lists of operations (JSON) differ: an
// operation of one ID in both by the text around the first difference,
// one in a single list by its hosts and detections.
func diffOps(got, want []string) string {
	var b strings.Builder
	byID := func(l []string) map[string]string {
		m := map[string]string{}
		for _, s := range l {
			var op result.Operation
			if err := json.Unmarshal([]byte(s), &op); err == nil {
				m[op.ID] = s
			}
		}
		return m
	}
	g, w := byID(got), byID(want)
	fmt.Fprintf(&b, "%d operations, want %d\n", len(got), len(want))
	for _, s := range want {
		if slices.Contains(got, s) {
			continue
		}
		var op result.Operation
		if err := json.Unmarshal([]byte(s), &op); err != nil {
			fmt.Fprintf(&b, "  %v\n", err)
			continue
		}
		c, ok := g[op.ID]
		if !ok {
			fmt.Fprintf(&b, "  only whole: %s hosts %v detections %v\n", op.ID, op.Hosts, op.Detections)
			continue
		}
		i := 0
		for i < len(c) && i < len(s) && c[i] == s[i] {
			i++
		}
		from := max(i-200, 0)
		fmt.Fprintf(&b, "  %s differs at byte %d:\n    cut:   %s\n    whole: %s\n", op.ID, i, c[from:min(i+200, len(c))], s[from:min(i+200, len(s))])
	}
	for _, s := range got {
		var op result.Operation
		if err := json.Unmarshal([]byte(s), &op); err == nil && w[op.ID] == "" {
			fmt.Fprintf(&b, "  only cut: %s hosts %v detections %v\n", op.ID, op.Hosts, op.Detections)
		}
	}
	return b.String()
}

// TestCutTies: events whose merge the order of reading or of shards used
// to decide (a task's TaskScheduler 106 before its 4698, a service's 7045
// before its 4697, two 4624s of one time, more loaders of one time than
// are kept, a path spelled two ways, connections a few seconds apart
// across a minute, a 4688 with two Sysmon twins, two creation records of
// one process and one time that disagree, one without a time, a service's
// and a task's name spelled two ways), read in any order and cut
// anywhere, give the index of one shard read in order.
func TestCutTies(t *testing.T) {
	const sec = time.Second
	ps := proc{host: "A", guid: guid("A", 1), pid: 100, image: `C:\t\p.exe`, cmd: "p.exe", logon: "0x77"}
	psBare, psLate := ps, ps
	psBare.cmd, psLate.cmd = "", "p.exe /untimed"
	evs := []*event.Event{
		ev("A", 0, "Microsoft-Windows-TaskScheduler/Operational", 106, "TaskName", `\T`),
		ev("A", sec, "Security", 4698, "TaskName", `\T`, "SubjectLogonId", "0x77", "TaskContent", "<Command>C:\\t\\a.exe</Command>"),
		ev("A", 2*sec, "Security", 4702, "TaskName", `\t`, "SubjectLogonId", "0x78", "TaskContent", "<Command>C:\\t\\b.exe</Command>"),
		ev("A", 0, "System", 7045, "ServiceName", "S", "ImagePath", `C:\t\s.exe`),
		ev("A", sec/20, "Security", 4697, "ServiceName", "s", "ServiceFileName", `C:\t\s2.exe`, "SubjectLogonId", "0x77"),
		ev("A", 0, "Security", 4624, "TargetLogonId", "0x99", "TargetUserName", "u", "LogonType", "3", "IpAddress", "10.0.0.9", "WorkstationName", "B"),
		ev("A", 0, "Security", 4624, "TargetLogonId", "0x99", "TargetUserName", "u", "LogonType", "3", "IpAddress", "10.0.0.9", "WorkstationName", "C"),
		ev("A", 0, "Security", 4624, "TargetLogonId", "0x99", "TargetUserName", "u", "LogonType", "3", "IpAddress", "10.0.0.9", "WorkstationName", "C"),
		start(0, psBare, proc{}), // ps's creation, exported without its command line
		start(0, ps, proc{}),
		untimed(start(0, psLate, proc{})), // and one without its time
		ev("A", sec, chSysmon, 11, "ProcessGuid", ps.guid, "ProcessId", "100", "TargetFilename", `C:\T\X.dll`),
		ev("A", sec, chSysmon, 11, "ProcessGuid", ps.guid, "ProcessId", "100", "TargetFilename", `c:\t\x.dll`),
		ev("A", 2*sec, chSysmon, 11, "ProcessGuid", ps.guid, "ProcessId", "100", "TargetFilename", `C:\t\X.DLL`),
		ev("A", 3*sec, "Security", 4688, "NewProcessId", "0x1f4", "NewProcessName", `C:\t\q.exe`, "ProcessId", "0x64"),
		ev("A", 3*sec, "Security", 4688, "NewProcessId", "0x1f4", "NewProcessName", `C:\t\q.exe`, "ProcessId", "0x64", "CommandLine", "q.exe /x"),
	}
	for i := range 10 {
		evs = append(evs, ev("A", 5*sec, chSysmon, 7, "ProcessGuid", guid("A", 100+i), "ProcessId", strconv.Itoa(1000+i), "ImageLoaded", `C:\t\x.dll`))
	}
	for _, at := range []time.Duration{50 * sec, 55 * sec, 61 * sec, 62 * sec, 130 * sec} {
		evs = append(evs, ev("A", at, chSysmon, 3, "ProcessGuid", ps.guid, "ProcessId", "100", "Initiated", "true",
			"SourceIp", "10.0.0.1", "DestinationIp", "10.0.0.2", "DestinationPort", "445"))
	}
	for i, at := range []time.Duration{3*sec - sec/2, 3*sec + sec/2} {
		q := proc{host: "A", guid: guid("A", 500+i), pid: 500, image: `C:\t\q.exe`, cmd: "q.exe"}
		evs = append(evs, start(at, q, ps))
	}
	one := NewIndex(1)
	for _, e := range evs {
		one.Shard(0).Observe(e)
	}
	one.Finish()
	want := fingerprint(one)
	// Of ps's creation records, the one that says more, though read
	// second; and not the one without a time.
	if i, ok := one.byGUID[hostKey{"A", ps.guid}]; !ok {
		t.Fatal("ps not in the index")
	} else if p := &one.procs[i]; p.cmd != ps.cmd || !p.start.Equal(opT0) {
		t.Errorf("got ps's command line %q started %v, want %q started %v", p.cmd, p.start, ps.cmd, opT0)
	}
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		order := slices.Clone(evs)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var encs [][]byte
		for len(order) > 0 {
			n := min(1+rng.IntN(4), len(order))
			ix := NewIndex(1)
			for _, e := range order[:n] {
				ix.Shard(0).Observe(e)
			}
			order = order[n:]
			enc, err := ix.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			encs = append(encs, enc)
		}
		ix, err := DecodeIndex(encs...)
		if err != nil {
			t.Fatal(err)
		}
		ix.Finish()
		if got := fingerprint(ix); !slices.Equal(got, want) {
			t.Fatalf("seed %d: the index of the events shuffled and cut differs from one shard's:\n%s", seed, diffLines(got, want))
		}
	}
}
