package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/evtx/evtxedit"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/source"
)

// recordKey is an event's place and content, whatever the file's name.
func recordKey(ev *event.Event) string {
	return fmt.Sprint(ev.Locator) + "#" + string(ev.AppendJSON(nil))
}

// received returns the record keys of what pub stored, and how many
// times each.
func (p *fakePub) records() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[string]int{}
	for _, k := range p.events {
		_, rest, _ := strings.Cut(k, "#") // drop the source
		m[rest]++
	}
	return m
}

// evtxChunks reads the EVTX file of the datasets at path and its chunks,
// at least least of them.
func evtxChunks(tb testing.TB, least int, path ...string) ([]byte, []evtx.ChunkInfo) {
	tb.Helper()
	orig, err := os.ReadFile(shared.Path(tb, append([]string{"datasets"}, path...)...))
	if err != nil {
		tb.Fatal(err)
	}
	chunks, err := evtx.Chunks(bytes.NewReader(orig), int64(len(orig)))
	if err != nil || len(chunks) < least {
		tb.Fatalf("%d chunks, %v", len(chunks), err)
	}
	return orig, chunks
}

// liveLog writes a log file in place, as Windows does, each write with a
// later modification time.
type liveLog struct {
	t    testing.TB
	path string
	mod  time.Time
}

func (l *liveLog) write(b []byte, off int64) {
	l.t.Helper()
	fh, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		l.t.Fatal(err)
	}
	if _, err := fh.WriteAt(b, off); err != nil {
		l.t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		l.t.Fatal(err)
	}
	l.mod = l.mod.Add(time.Second)
	os.Chtimes(l.path, l.mod, l.mod)
}

// TestShipFollowEVTX: a live EVTX log, its last chunk growing in place
// and new chunks written after it, is shipped record by record exactly
// once, each pass reading the chunks that changed and the one before (no
// more); a circular log that wraps (its oldest chunk slots recycled) is
// read whole when it does, and nothing is lost or shipped twice.
func TestShipFollowEVTX(t *testing.T) {
	orig, chunks := evtxChunks(t, 10, "evtx-attack-samples", "AutomatedTestingTools", "PanacheSysmon_vs_AtomicRedTeam01.evtx")
	// want: every record's key by its id.
	want := map[int64]string{}
	_, err := source.Run(context.Background(), []string{"-"}, source.Options{Stdin: bytes.NewReader(orig)}, func(_ int, ev *event.Event) error {
		want[ev.Locator] = recordKey(ev)
		return nil
	})
	if err != nil || len(want) == 0 {
		t.Fatal(len(want), err)
	}
	// part returns chunk i whole, or holding its first half only (the
	// live chunk as it was earlier).
	part := func(i int, half bool) ([]byte, uint64) {
		c := chunks[i]
		data, last := orig, c.LastID
		if half {
			last = c.FirstID + (c.LastID-c.FirstID)/2
			if data, _, err = evtxedit.Remove(orig, last+1, c.LastID); err != nil {
				t.Fatal(err)
			}
		}
		return bytes.Clone(data[c.Offset : c.Offset+chunkSize]), last
	}
	for _, tc := range []struct {
		name  string
		slots int  // of the file: chunk i goes to slot i % slots
		kill  bool // each poll's collector killed at its second batch, then started again
	}{{"grows", len(chunks) + 2, false}, {"wraps", 4, false}, {"killed", 4, true}} {
		t.Run(tc.name, func(t *testing.T) {
			l := &liveLog{t: t, path: filepath.Join(t.TempDir(), "Security.evtx"), mod: time.Now().Add(-time.Hour)}
			l.write(orig[:fileHeader], 0)
			l.write(make([]byte, tc.slots*chunkSize), fileHeader)
			pub := &fakePub{}
			stats := new(ShipStats)
			opts := shipOpts(t, t.TempDir())
			opts.Stats = stats
			if tc.kill {
				opts.Window = 10
			}
			ship := func(last uint64, changed int, bounded bool) {
				t.Helper()
				before := stats.Read.Load()
				if tc.kill {
					ctx, cancel := context.WithCancel(context.Background())
					n := 0
					pub.fail = func(int) error {
						if n++; n == 2 {
							cancel()
							return errors.New("collector killed")
						}
						return nil
					}
					if err := Ship(ctx, pub, []string{l.path}, opts); err != nil && !errors.Is(err, context.Canceled) {
						t.Fatal(err)
					}
					pub.fail = nil
					before = stats.Read.Load()
				}
				if err := Ship(context.Background(), pub, []string{l.path}, opts); err != nil {
					t.Fatal(err)
				}
				read := stats.Read.Load() - before
				got := pub.records()
				if len(got) != int(last) {
					t.Fatalf("up to record %d: %d records shipped", last, len(got))
				}
				for id := int64(1); id <= int64(last); id++ {
					if n := got[want[id]]; n != 1 {
						t.Fatalf("up to record %d: record %d shipped %d times", last, id, n)
					}
				}
				// The chunks that changed, the one before and the
				// headers.
				if limit := int64(changed+1)*chunkSize + 8<<10; bounded && read > limit {
					t.Errorf("up to record %d: %d bytes read for %d chunks changed, more than %d", last, read, changed, limit)
				}
			}
			for i := range chunks {
				slot := int64(i % tc.slots)
				wrap := i >= tc.slots && slot == 0
				c, last := part(i, true)
				l.write(c, fileHeader+slot*chunkSize)
				ship(last, 1, i > 0 && !wrap)
				c, last = part(i, false)
				l.write(c, fileHeader+slot*chunkSize)
				ship(last, 1, i > 0)
			}
			before := stats.Read.Load()
			ship(chunks[len(chunks)-1].LastID, 0, true)
			if read := stats.Read.Load() - before; read != 0 {
				t.Errorf("an unchanged log: %d bytes read", read)
			}
		})
	}
}

// TestShipFollowLines: JSON lines that grow are read from the byte after
// the last whole line shipped; a line without its newline waits for it;
// every line is shipped once, numbered as in the whole file.
func TestShipFollowLines(t *testing.T) {
	dir := t.TempDir()
	l := &liveLog{t: t, path: filepath.Join(dir, "winlogbeat.json"), mod: time.Now().Add(-time.Hour)}
	line := func(i int) string {
		return fmt.Sprintf(`{"@timestamp":"2024-01-01T00:00:%02dZ","winlog":{"computer_name":"WS%d","event_id":4688,"channel":"Security","record_id":%d,"event_data":{"NewProcessName":"C:\\x%d.exe","Pad":"%s"}}}`+"\n", i%60, i%3, i, i, strings.Repeat("p", i%200))
	}
	var all []byte
	for i := range 3000 {
		all = append(all, line(i)...)
	}
	pub := &fakePub{}
	stats := new(ShipStats)
	opts := shipOpts(t, t.TempDir())
	opts.Stats = stats
	var written, whole int // bytes written, and up to the last newline
	for _, n := range []int{1000, 1, 5000, 30, 200000, 77, 0, 250000, 4000, 1 << 30} {
		n = min(n, len(all)-written)
		l.write(all[written:written+n], int64(written))
		from := int64(whole)
		written += n
		whole = bytes.LastIndexByte(all[:written], '\n') + 1
		before := stats.Read.Load()
		if err := Ship(context.Background(), pub, []string{l.path}, opts); err != nil {
			t.Fatal(err)
		}
		// What was gained, the end read back for its last newline, the
		// head checked.
		if read, limit := stats.Read.Load()-before, int64(written)-from+4<<10+headCheck; read > limit {
			t.Errorf("%d bytes written, %d new: %d bytes read, more than %d", written, n, read, limit)
		}
		wantKeys := readAll(t, writeTemp(t, all[:whole]))
		got := pub.records()
		for _, k := range wantKeys {
			_, rest, _ := strings.Cut(k, "#")
			if got[rest] != 1 {
				t.Fatalf("%d bytes written: %.60s shipped %d times", written, rest, got[rest])
			}
		}
		if len(got) != len(wantKeys) {
			t.Fatalf("%d bytes written: %d lines shipped, want %d", written, len(got), len(wantKeys))
		}
	}
	if written != len(all) {
		t.Fatalf("test wrote %d bytes of %d", written, len(all))
	}
}

// writeTemp writes b to a new file and returns its name.
func writeTemp(t *testing.T, b []byte) string {
	p := filepath.Join(t.TempDir(), "expected.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestShipOldBookmark: a bookmark written before inputs were followed
// chunk by chunk (no kind, no chunk) still loads, and the input goes on
// from it with nothing shipped twice.
func TestShipOldBookmark(t *testing.T) {
	orig, err := os.ReadFile(shared.Path(t, "datasets", "deepbluecli", "evtx", "password-spray.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	l := &liveLog{t: t, path: filepath.Join(t.TempDir(), "a.evtx"), mod: time.Now().Add(-time.Hour)}
	l.write(orig[:fileHeader+2*chunkSize], 0)
	state := t.TempDir()
	pub := &fakePub{}
	if err := Ship(context.Background(), pub, []string{l.path}, shipOpts(t, state)); err != nil {
		t.Fatal(err)
	}
	bms, err := Bookmarks(state)
	if err != nil || len(bms) != 1 {
		t.Fatal(bms, err)
	}
	// The bookmark as main wrote it.
	var m map[string]any
	p := filepath.Join(state, bms[0].Input+".json")
	b, _ := os.ReadFile(p)
	json.Unmarshal(b, &m)
	for _, k := range []string{"kind", "chunk", "chunk_first", "oldest", "offset", "line", "whole"} {
		delete(m, k)
	}
	b, _ = json.Marshal(m)
	os.WriteFile(p, b, 0o600)
	l.write(orig[fileHeader+2*chunkSize:], fileHeader+2*chunkSize)
	if err := Ship(context.Background(), pub, []string{l.path}, shipOpts(t, state)); err != nil {
		t.Fatal(err)
	}
	got := pub.records()
	if len(got) != 295 {
		t.Errorf("%d records shipped, want 295", len(got))
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("%.40s shipped %d times", k, n)
		}
	}
}

// BenchmarkShipFollowPoll: one poll of a live EVTX log of 3 MiB whose
// last chunk grew, read chunk by chunk ("chunks") and whole as before
// ("whole": the bookmark's kind set to file), with the bytes read per
// poll.
func BenchmarkShipFollowPoll(b *testing.B) {
	orig, chunks := evtxChunks(b, 2, "deepbluecli", "evtx", "smb-password-guessing-security.evtx")
	c := chunks[len(chunks)-1]
	half, _, err := evtxedit.Remove(orig, c.FirstID+(c.LastID-c.FirstID)/2, c.LastID)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"chunks", "whole"} {
		b.Run(mode, func(b *testing.B) {
			l := &liveLog{t: b, path: filepath.Join(b.TempDir(), "Security.evtx"), mod: time.Now().Add(-time.Hour)}
			l.write(half, 0)
			pub := &fakePub{}
			stats := new(ShipStats)
			opts := ShipOptions{Tenant: "acme", Case: "c", Collector: "col", State: b.TempDir(), Stats: stats}
			if err := Ship(context.Background(), pub, []string{l.path}, opts); err != nil {
				b.Fatal(err)
			}
			if mode == "whole" {
				bms, _ := Bookmarks(opts.State)
				bm := bms[0]
				bm.Kind = kindFile
				s := &shipper{opts: opts}
				if err := s.save(&bm); err != nil {
					b.Fatal(err)
				}
			}
			stats.Read.Store(0)
			polls := 0
			for b.Loop() {
				if polls%2 == 0 {
					l.write(orig[c.Offset:c.Offset+chunkSize], c.Offset)
				} else {
					l.write(half[c.Offset:c.Offset+chunkSize], c.Offset)
				}
				polls++
				if err := Ship(context.Background(), pub, []string{l.path}, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(stats.Read.Load())/float64(polls), "bytes/poll")
			if got := len(pub.records()); got != int(c.LastID) {
				b.Errorf("%d records shipped, want %d", got, c.LastID)
			}
		})
	}
}

// TestShipReplacedInPlace: a file whose content is replaced in place by
// a longer one (copytruncate, then more lines than before by the next
// poll; cp over it) is read from its start: every line of the new
// content is shipped, none of the old one again.
func TestShipReplacedInPlace(t *testing.T) {
	line := func(gen, i int) string {
		return fmt.Sprintf(`{"@timestamp":"2024-01-0%dT00:00:%02dZ","winlog":{"computer_name":"WS","event_id":4688,"record_id":%d,"event_data":{"Gen":%d}}}`+"\n", gen, i%60, i, gen)
	}
	lines := func(gen, n int) []byte {
		var b []byte
		for i := range n {
			b = append(b, line(gen, i)...)
		}
		return b
	}
	l := &liveLog{t: t, path: filepath.Join(t.TempDir(), "app.json"), mod: time.Now().Add(-time.Hour)}
	pub := &fakePub{}
	opts := shipOpts(t, t.TempDir())
	var want []byte
	for gen, n := range []int{100, 150, 400} {
		b := lines(gen+1, n)
		if err := os.Truncate(l.path, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		l.write(b, 0)
		want = append(want, b...)
		if err := Ship(context.Background(), pub, []string{l.path}, opts); err != nil {
			t.Fatal(err)
		}
		got := pub.records()
		for _, k := range readAll(t, writeTemp(t, b)) {
			_, rest, _ := strings.Cut(k, "#")
			if got[rest] != 1 {
				t.Fatalf("content %d: %.70s shipped %d times", gen+1, rest, got[rest])
			}
		}
		if n := len(readAll(t, writeTemp(t, want))); len(got) != n {
			t.Fatalf("content %d: %d lines shipped, want %d", gen+1, len(got), n)
		}
	}
}

// TestShipFollowCreatedEmpty: a file empty when first seen (created by a
// rotation, or a copy just begun) is followed as its content turns out
// to be, not read whole at every poll ever after.
func TestShipFollowCreatedEmpty(t *testing.T) {
	l := &liveLog{t: t, path: filepath.Join(t.TempDir(), "app.json"), mod: time.Now().Add(-time.Hour)}
	l.write(nil, 0)
	pub := &fakePub{}
	stats := new(ShipStats)
	opts := shipOpts(t, t.TempDir())
	opts.Stats = stats
	var all []byte
	for i, n := range []int{0, 2000, 1} {
		from := int64(len(all))
		for j := range n {
			all = fmt.Appendf(all, `{"@timestamp":"2024-01-01T00:00:00Z","winlog":{"computer_name":"WS","event_id":4688,"record_id":%d,"event_data":{"Pad":"%s"}}}`+"\n", i*10000+j, strings.Repeat("p", 100))
		}
		l.write(all[from:], from)
		before := stats.Read.Load()
		if err := Ship(context.Background(), pub, []string{l.path}, opts); err != nil {
			t.Fatal(err)
		}
		// What was gained, the end read back, the head checked and
		// sniffed (once).
		if read, limit := stats.Read.Load()-before, int64(len(all))-from+4<<10+headCheck+headLines; read > limit {
			t.Errorf("poll %d: %d bytes read of %d gained, more than %d", i, read, int64(len(all))-from, limit)
		}
	}
	if got, want := len(pub.received()), 2001; got != want {
		t.Errorf("%d events shipped, want %d", got, want)
	}
}

// TestShipWrappedLogResumed: a collector killed in its first pass over a
// circular log that had wrapped (its newest chunk in a slot before older
// ones), whose live chunk grows before it starts again, ships every
// record once: the pass started again numbers them as the first did.
func TestShipWrappedLogResumed(t *testing.T) {
	orig, chunks := evtxChunks(t, 6, "evtx-attack-samples", "AutomatedTestingTools", "PanacheSysmon_vs_AtomicRedTeam01.evtx")
	const slots = 4
	l := &liveLog{t: t, path: filepath.Join(t.TempDir(), "Security.evtx"), mod: time.Now().Add(-time.Hour)}
	l.write(orig[:fileHeader], 0)
	l.write(make([]byte, slots*chunkSize), fileHeader)
	// Chunks 0-5 written in turn: slot 0 holds chunk 4, slot 1 chunk 5
	// (the live one, half written), slots 2 and 3 chunks 2 and 3.
	c5 := chunks[5]
	half := c5.FirstID + (c5.LastID-c5.FirstID)/2
	halfLog, _, err := evtxedit.Remove(orig, half+1, c5.LastID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		c := chunks[i]
		l.write(orig[c.Offset:c.Offset+chunkSize], fileHeader+int64(i%slots)*chunkSize)
	}
	l.write(halfLog[c5.Offset:c5.Offset+chunkSize], fileHeader+chunkSize)
	pub := &fakePub{}
	opts := shipOpts(t, t.TempDir())
	opts.Window = 10
	// Killed once the pass is past slot 1 (chunks 4 and 5 read).
	read := int(chunks[4].LastID-chunks[4].FirstID+1) + int(half-c5.FirstID+1)
	ctx, cancel := context.WithCancel(context.Background())
	pub.fail = func(n int) error {
		if n > read/opts.Window+2 {
			cancel()
			return errors.New("collector killed")
		}
		return nil
	}
	if err := Ship(ctx, pub, []string{l.path}, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed run: %v", err)
	}
	pub.fail = nil
	l.write(orig[c5.Offset:c5.Offset+chunkSize], fileHeader+chunkSize)
	if err := Ship(context.Background(), pub, []string{l.path}, opts); err != nil {
		t.Fatal(err)
	}
	got := pub.records()
	want := 0
	for _, c := range chunks[2:6] {
		want += int(c.LastID - c.FirstID + 1)
	}
	if len(got) != want {
		t.Errorf("%d records shipped, want %d", len(got), want)
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("%.60s shipped %d times", k, n)
		}
	}
}

// TestShipFollowLongFirstLine: JSON lines whose first line is longer than
// the head sniffed (a PowerShell script block event) are followed by
// byte offset, not read whole at every poll.
func TestShipFollowLongFirstLine(t *testing.T) {
	l := &liveLog{t: t, path: filepath.Join(t.TempDir(), "winlogbeat.json"), mod: time.Now().Add(-time.Hour)}
	pub := &fakePub{}
	stats := new(ShipStats)
	opts := shipOpts(t, t.TempDir())
	opts.Stats = stats
	var all []byte
	for i, n := range []int{1, 100, 1} {
		from := int64(len(all))
		for j := range n {
			pad := 100
			if i == 0 {
				pad = 3 * headLines
			}
			all = fmt.Appendf(all, `{"@timestamp":"2024-01-01T00:00:00Z","winlog":{"computer_name":"WS","event_id":4104,"record_id":%d,"event_data":{"ScriptBlockText":"%s"}}}`+"\n", i*1000+j, strings.Repeat("p", pad))
		}
		l.write(all[from:], from)
		before := stats.Read.Load()
		if err := Ship(context.Background(), pub, []string{l.path}, opts); err != nil {
			t.Fatal(err)
		}
		if read, limit := stats.Read.Load()-before, int64(len(all))-from+4<<10+headCheck; i > 0 && read > limit {
			t.Errorf("poll %d: %d bytes read of %d gained, more than %d", i, read, int64(len(all))-from, limit)
		}
	}
	if got, want := len(pub.received()), 102; got != want {
		t.Errorf("%d events shipped, want %d", got, want)
	}
}

// FuzzKindOf: any first bytes of a followed file are told as EVTX, JSON
// lines, a file read whole or not yet known, each read at most 4 MiB and
// never past the file's end; the EVTX signature is EVTX.
func FuzzKindOf(f *testing.F) {
	f.Add([]byte(evtxSignature + "rest"))
	f.Add([]byte(`{"a":1}` + "\n" + `{"b":2}` + "\n"))
	f.Add([]byte(`{"a":`))
	f.Add([]byte("\xef\xbb\xbf[\n{\"a\":1}\n]"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &boundedReaderAt{b: b}
		kind, err := kindOf(r, int64(len(b)))
		if err != nil {
			t.Fatalf("error on %d bytes in memory: %v", len(b), err)
		}
		switch kind {
		case "", kindEVTX, kindLines, kindFile:
		default:
			t.Fatalf("kind %q", kind)
		}
		if bytes.HasPrefix(b, []byte(evtxSignature)) && kind != kindEVTX {
			t.Errorf("EVTX signature told as %q", kind)
		}
		if r.read > 2*maxFirstLine {
			t.Errorf("%d bytes read to tell a kind", r.read)
		}
	})
}

// boundedReaderAt reads b, counting what it reads and refusing reads
// past its end.
type boundedReaderAt struct {
	b    []byte
	read int
}

func (r *boundedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(r.b)) {
		return 0, fmt.Errorf("read of %d bytes at %d past the end (%d)", len(p), off, len(r.b))
	}
	r.read += len(p)
	return copy(p, r.b[off:]), nil
}
