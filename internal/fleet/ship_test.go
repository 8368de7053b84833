package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/source"
)

// fakePub keeps what it is given, by message id as JetStream's duplicate
// window does, and fails on demand.
type fakePub struct {
	mu     sync.Mutex
	ids    map[string]bool
	events []string // one key per event received, duplicates included
	sent   int      // messages taken
	// fail, when not nil, decides whether the n-th attempt fails.
	fail func(n int) error
	n    int
}

func (p *fakePub) Publish(ctx context.Context, subject string, msg []byte, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.fail != nil {
		if err := p.fail(p.n); err != nil {
			return err
		}
	}
	b, err := Decode(msg, Limits{})
	if err != nil {
		return err
	}
	if want := Subject(b.Tenant, b.Host); subject != want {
		return fmt.Errorf("subject %q, want %q", subject, want)
	}
	if p.ids == nil {
		p.ids = map[string]bool{}
	}
	p.sent++
	if p.ids[id] {
		return nil // a duplicate: acknowledged, not stored
	}
	p.ids[id] = true
	for _, r := range b.Records {
		if got := r.Event.Lookup(event.FieldComputer).Text(); got != b.Host {
			return fmt.Errorf("event of %q in a batch of %q", got, b.Host)
		}
		p.events = append(p.events, eventKey(&r.Event))
	}
	return nil
}

func (p *fakePub) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{}, p.events...)
}

func eventKey(ev *event.Event) string {
	return ev.Source + "#" + fmt.Sprint(ev.Locator) + "#" + string(ev.AppendJSON(nil))
}

// readAll returns the keys of every event source reads under paths.
func readAll(t *testing.T, paths ...string) []string {
	var keys []string
	_, err := source.Run(context.Background(), paths, source.Options{Workers: 1}, func(_ int, ev *event.Event) error {
		keys = append(keys, eventKey(ev))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// counts compares two multisets of keys: missing are in want and not in
// got, extra in got more often than in want.
func counts(got, want []string) (missing, extra int) {
	m := map[string]int{}
	for _, k := range want {
		m[k]++
	}
	for _, k := range got {
		m[k]--
	}
	for _, n := range m {
		if n > 0 {
			missing += n
		} else {
			extra -= n
		}
	}
	return missing, extra
}

func shipOpts(t *testing.T, state string) ShipOptions {
	return ShipOptions{Tenant: "acme", Case: "c", Collector: "col", State: state, Window: 100}
}

// TestShipAll: every event of EVTX files is shipped once, in batches of
// one host each on that host's subject; a second run ships nothing.
func TestShipAll(t *testing.T) {
	t.Run("evtx", func(t *testing.T) { shipAll(t, shared.Path(t, "datasets", "evtx-attack-samples", "Lateral Movement")) })
	// JSON lines of several hosts in one file (zipped).
	t.Run("json", func(t *testing.T) {
		shipAll(t, shared.Path(t, "datasets", "security-datasets", "datasets", "compound", "GoldenSAMLADFSMailAccess"))
	})
}

func shipAll(t *testing.T, dir string) {
	want := readAll(t, dir)
	pub := &fakePub{}
	opts := shipOpts(t, t.TempDir())
	if err := Ship(context.Background(), pub, []string{dir}, opts); err != nil {
		t.Fatal(err)
	}
	got := pub.received()
	if missing, extra := counts(got, want); missing != 0 || extra != 0 || len(got) == 0 {
		t.Fatalf("%d events shipped of %d: %d missing, %d extra", len(got), len(want), missing, extra)
	}
	sent := pub.sent
	if err := Ship(context.Background(), pub, []string{dir}, opts); err != nil {
		t.Fatal(err)
	}
	if pub.sent != sent {
		t.Errorf("a second run over unchanged inputs sent %d messages", pub.sent-sent)
	}
}

// TestShipResumes: a collector stopped mid-file (its context cancelled
// while a window is unacknowledged) and started again ships the rest:
// nothing is missing, and nothing is stored twice.
func TestShipResumes(t *testing.T) {
	dir := shared.Path(t, "datasets", "evtx-attack-samples", "Credential Access")
	want := readAll(t, dir)
	state := t.TempDir()
	pub := &fakePub{}
	ctx, cancel := context.WithCancel(context.Background())
	for _, stopAt := range []int{3, 4, 5} {
		pub.fail = func(n int) error {
			if n >= stopAt {
				cancel()
				return errors.New("collector killed")
			}
			return nil
		}
		err := Ship(ctx, pub, []string{dir}, shipOpts(t, state))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("stopped run: %v", err)
		}
		ctx, cancel = context.WithCancel(context.Background())
		pub.n = 0
	}
	pub.fail = nil
	if err := Ship(ctx, pub, []string{dir}, shipOpts(t, state)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if missing, extra := counts(pub.received(), want); missing != 0 || extra != 0 {
		t.Fatalf("after three stops: %d missing, %d stored twice of %d", missing, extra, len(want))
	}
}

// TestShipRetries: a server away for a while is waited for; what is
// shipped then is complete.
func TestShipRetries(t *testing.T) {
	dir := shared.Path(t, "datasets", "evtx-attack-samples", "Lateral Movement")
	want := readAll(t, dir)
	pub := &fakePub{fail: func(n int) error {
		if n >= 2 && n < 5 {
			return errors.New("no responders")
		}
		return nil
	}}
	stats := new(ShipStats)
	opts := shipOpts(t, t.TempDir())
	opts.Stats = stats
	if err := Ship(context.Background(), pub, []string{dir}, opts); err != nil {
		t.Fatal(err)
	}
	if missing, extra := counts(pub.received(), want); missing != 0 || extra != 0 {
		t.Fatalf("%d missing, %d extra", missing, extra)
	}
	if got := stats.Retries.Load(); got != 3 {
		t.Errorf("%d retries, want 3", got)
	}
}

// TestShipFollow: --follow ships the lines a JSON log gains, and after a
// rotation (the file renamed, a new one in its place) both the rest of
// the old file and the new one, each event once.
func TestShipFollow(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "winlogbeat.json")
	line := func(i int) string {
		return fmt.Sprintf(`{"@timestamp":"2024-01-01T00:00:%02dZ","winlog":{"computer_name":"WS%d","event_id":4688,"channel":"Security","record_id":%d,"event_data":{"NewProcessName":"C:\\x%d.exe"}}}`+"\n", i%60, i%3, i, i)
	}
	write := func(name string, from, to int, flag int) {
		fh, err := os.OpenFile(name, flag|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		for i := from; i < to; i++ {
			fh.WriteString(line(i))
		}
		fh.Close()
	}
	write(log, 0, 10, os.O_CREATE|os.O_TRUNC)
	pub := &fakePub{}
	opts := shipOpts(t, t.TempDir())
	opts.Follow, opts.Poll = true, 20*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Ship(ctx, pub, []string{dir}, opts) }()
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for len(pub.received()) < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := len(pub.received()); got != n {
			t.Fatalf("%d events shipped, want %d: %q", got, n, pub.received())
		}
	}
	waitFor(10)
	time.Sleep(30 * time.Millisecond) // a new modification time
	write(log, 10, 15, os.O_APPEND)
	waitFor(15)
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	write(log+".1", 15, 17, os.O_APPEND) // written late to the rotated file
	write(log, 100, 103, os.O_CREATE|os.O_TRUNC)
	waitFor(20)
	time.Sleep(100 * time.Millisecond) // and no more
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	got := pub.received()
	if len(got) != 20 {
		t.Fatalf("%d events, want 20", len(got))
	}
	// The rotated file's events are read under its new name: a line is
	// known by its record id.
	onceEach(t, got)
}

// onceEach returns the record ids of the shipped lines got, and fails the
// test for one shipped twice.
func onceEach(t *testing.T, got []string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, k := range got {
		i := strings.Index(k, `"EventRecordID":`)
		id := k[i:]
		id = id[:strings.IndexAny(id, ",}")]
		if seen[id] {
			t.Errorf("%s shipped twice", id)
		}
		seen[id] = true
	}
	return seen
}

// TestBookmarkOfManyLogs: the bookmark of an archive of 120,000 logs
// (about 6 MB: a high record per log) is read back as written. Reads
// refused one over 4 MiB that writes made: the collector's next start
// stopped on it.
func TestBookmarkOfManyLogs(t *testing.T) {
	s := &shipper{opts: shipOpts(t, t.TempDir())}
	bm := archiveBookmark("in")
	if err := s.save(bm); err != nil {
		t.Fatal(err)
	}
	got, err := s.load("in")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got.High, bm.High) {
		t.Errorf("%d high records read back, %d written", len(got.High), len(bm.High))
	}
}

// TestShipManyNamedFiles: files given by name, new to a collector whose
// state holds the bookmark of an archive of 120,000 logs (6 MB), are
// shipped without reading that bookmark again for each: the state
// folder was listed and every bookmark read at each new file (1,000
// named files took 16 s more, quadratic).
func TestShipManyNamedFiles(t *testing.T) {
	opts := shipOpts(t, t.TempDir())
	s := &shipper{opts: opts}
	if err := s.save(archiveBookmark("in")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths []string
	for i := range 40 {
		p := filepath.Join(dir, fmt.Sprintf("%02d.json", i))
		line := winlogbeat(i, 0) + "\n"
		if err := os.WriteFile(p, []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := Ship(context.Background(), nopPub{}, paths, opts); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// One read of the large bookmark allocates about 30 MB.
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(100<<20); got > limit {
		t.Errorf("%d MB allocated shipping 40 small files, more than %d", got>>20, limit>>20)
	}
}

// TestShipDamagedBookmark: a bookmark that is not one stops ship with an
// error naming its file, and nothing is shipped twice by guessing.
func TestShipDamagedBookmark(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.json")
	os.WriteFile(log, []byte(`{"winlog":{"computer_name":"H","event_id":1,"record_id":1}}`+"\n"), 0o600)
	state := t.TempDir()
	pub := &fakePub{}
	if err := Ship(context.Background(), pub, []string{dir}, shipOpts(t, state)); err != nil {
		t.Fatal(err)
	}
	bms, err := Bookmarks(state)
	if err != nil || len(bms) != 1 {
		t.Fatalf("bookmarks %v, %v", bms, err)
	}
	p := filepath.Join(state, bms[0].Input+".json")
	os.WriteFile(p, []byte(`{"input":`), 0o600)
	os.WriteFile(log, []byte(`{"winlog":{"computer_name":"H","event_id":1,"record_id":1}}`+"\n"+`{"winlog":{"computer_name":"H","event_id":2,"record_id":2}}`+"\n"), 0o600)
	err = Ship(context.Background(), pub, []string{dir}, shipOpts(t, state))
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("Ship over a damaged bookmark: %v, want an error naming %s", err, p)
	}
	if got := len(pub.received()); got != 1 {
		t.Errorf("%d events shipped, want 1", got)
	}
}

// TestShipManyHosts: a window of events of many hosts (a log shipper's
// file) costs about its events, not a compressor per host (1.2 MB each:
// a window of 1,000 hosts took 1.2 GB).
func TestShipManyHosts(t *testing.T) {
	const hosts = 500
	var b []byte
	for i := range 2 * hosts {
		b = fmt.Appendf(b, `{"@timestamp":"2024-01-01T00:00:00Z","winlog":{"computer_name":"WS%d","event_id":4688,"record_id":%d}}`+"\n", i%hosts, i)
	}
	path := writeTemp(t, b)
	opts := shipOpts(t, t.TempDir())
	opts.Window = 2 * hosts
	stats := new(ShipStats)
	opts.Stats = stats
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := Ship(context.Background(), nopPub{}, []string{path}, opts); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := stats.Events.Load(); got != 2*hosts {
		t.Fatalf("%d events shipped, want %d", got, 2*hosts)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("%d hosts of 2 events: %d MB allocated, more than 16", hosts, alloc>>20)
	}
}

// appendLines appends to the file name the Winlogbeat lines of records
// from to to (not included).
func appendLines(t *testing.T, name string, from, to int) {
	t.Helper()
	fh, err := os.OpenFile(name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	for i := from; i < to; i++ {
		fmt.Fprintln(fh, winlogbeat(i, i%60))
	}
}

// winlogbeat is the Winlogbeat line (without its newline) of a 4688
// event of host WS, of record at second.
func winlogbeat(record, second int) string {
	return fmt.Sprintf(`{"@timestamp":"2024-01-01T00:00:%02dZ","winlog":{"computer_name":"WS","event_id":4688,"record_id":%d}}`, second, record)
}

// shipRecords ships paths with opts to pub, then checks that pub has
// received want records in all, none twice.
func shipRecords(t *testing.T, pub *fakePub, opts ShipOptions, want int, paths ...string) {
	t.Helper()
	if err := Ship(context.Background(), pub, paths, opts); err != nil {
		t.Fatal(err)
	}
	if got := len(onceEach(t, pub.received())); got != want {
		t.Fatalf("%d records shipped in all, want %d", got, want)
	}
}

// archiveBookmark is the bookmark of input id, an archive of 120,000
// logs (about 6 MB: a high record per log).
func archiveBookmark(id string) *Bookmark {
	bm := &Bookmark{Input: id, Path: "big.zip", File: "1:1", High: map[string]int64{}}
	for i := range 120000 {
		bm.High[fmt.Sprintf("big.zip!logs/host%06d/Security.evtx", i)] = int64(i)
	}
	return bm
}

// nopPub takes every message.
type nopPub struct{}

func (nopPub) Publish(context.Context, string, []byte, string) error { return nil }

// TestShipFollowRotatedFile: a file followed by its own path (not its
// folder's) that is rotated (renamed in its folder, a new one at the
// path) has the lines written to it before the rotation was noticed
// shipped too, once.
func TestShipFollowRotatedFile(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "winlogbeat.json")
	appendLines(t, log, 0, 10)
	pub := &fakePub{}
	opts := shipOpts(t, t.TempDir())
	ship := func(want int) { t.Helper(); shipRecords(t, pub, opts, want, log) }
	ship(10)
	appendLines(t, log, 10, 15) // since the last poll
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, log+".1", 15, 17) // by the writer not yet reopened
	appendLines(t, log, 100, 103)
	ship(20)
	ship(20)
}

// staleBookmark writes, for the file at p, the bookmark an earlier file
// at path left (a file deleted since, whose inode p now has, as ext4
// gives a freed inode to the next file made): longer, with other first
// bytes, read to its end.
func staleBookmark(t *testing.T, opts ShipOptions, p, path string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	s := &shipper{opts: opts}
	ident := source.Identity(p, fi)
	bm := &Bookmark{Input: s.inputID(ident), Path: path, File: ident, Pass: 3, Complete: true, High: map[string]int64{"": 900},
		Size: 1 << 20, ModTime: time.Now().Add(-time.Hour), Head: 1, HeadSize: headCheck, Kind: kindLines, Offset: 1 << 20, Line: 900}
	if err := s.save(bm); err != nil {
		t.Fatal(err)
	}
}

// TestShipRotatedInodeReused: the new file at a path followed that has
// the inode of an earlier file, and so its bookmark, is a rotation too:
// what the renamed file gained since the last poll is shipped.
func TestShipRotatedInodeReused(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "winlogbeat.json")
	appendLines(t, log, 0, 10)
	pub := &fakePub{}
	opts := shipOpts(t, t.TempDir())
	shipRecords(t, pub, opts, 10, log)
	appendLines(t, log, 10, 15)
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, log, 100, 103)
	staleBookmark(t, opts, log, log)
	shipRecords(t, pub, opts, 18, log)
}

// TestShipRotatedNotAnother: a file next to a rotated one that has the
// inode of an earlier file at the rotated path (a copy or a compressed
// log made after it was deleted) is not taken for the renamed file: its
// events are not shipped again.
func TestShipRotatedNotAnother(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "winlogbeat.json")
	var old, cur []byte
	for i := range 6 {
		old = append(old, winlogbeat(i, i)+"\n"...)
		cur = append(cur, winlogbeat(100+i, i)+"\n"...)
	}
	if err := os.WriteFile(log, old, 0o600); err != nil {
		t.Fatal(err)
	}
	pub := &fakePub{}
	opts := shipOpts(t, t.TempDir())
	shipRecords(t, pub, opts, 6, log)
	// Rotated: a copy of what was shipped kept aside, a new file.
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(log+".bak", old, 0o600); err != nil {
		t.Fatal(err)
	}
	staleBookmark(t, opts, log+".bak", log)
	if err := os.WriteFile(log, cur, 0o600); err != nil {
		t.Fatal(err)
	}
	shipRecords(t, pub, opts, 12, log)
}

// TestShipRotatedThroughLink: a file followed by a symbolic link to it
// from another folder and rotated (renamed in its own folder, a new one
// at its path) ships what it gained since the last poll.
func TestShipRotatedThroughLink(t *testing.T) {
	logs, links := t.TempDir(), t.TempDir()
	log, link := filepath.Join(logs, "winlogbeat.json"), filepath.Join(links, "current.json")
	appendLines(t, log, 0, 10)
	if err := os.Symlink(log, link); err != nil {
		t.Skip(err)
	}
	pub := &fakePub{}
	opts := shipOpts(t, t.TempDir())
	shipRecords(t, pub, opts, 10, link)
	appendLines(t, log, 10, 15)
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, log, 100, 103)
	shipRecords(t, pub, opts, 18, link)
}

// TestShipArrayGrown: a small JSON array that grows (its writer puts
// each event, on a line of its own, before the closing bracket) ships
// each event once: its last bytes, rewritten, are not a content
// replaced.
func TestShipArrayGrown(t *testing.T) {
	p := filepath.Join(t.TempDir(), "events.json")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	pub := &fakePub{}
	opts := shipOpts(t, t.TempDir())
	var off int64
	for i := range 4 {
		sep := ",\n"
		if i == 0 {
			sep = "[\n"
		}
		b := []byte(sep + winlogbeat(i, i))
		if _, err := fh.WriteAt(append(b, "\n]\n"...), off); err != nil {
			t.Fatal(err)
		}
		off += int64(len(b))
		if err := os.Chtimes(p, time.Now(), time.Now().Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
		shipRecords(t, pub, opts, i+1, p)
	}
}

// TestShipHugeLineNotKept: the encoder of a window that held a huge event
// (a JSON line of megabytes, dropped as too large to ship) is not kept
// for the windows after it, with its memory, for the collector's life.
func TestShipHugeLineNotKept(t *testing.T) {
	b := fmt.Appendf(nil, `{"@timestamp":"2024-01-01T00:00:00Z","winlog":{"computer_name":"WS","event_id":1,"record_id":1,"event_data":{"Pad":"%s"}}}`+"\n", strings.Repeat("p", 8<<20))
	b = append(b, `{"@timestamp":"2024-01-01T00:00:00Z","winlog":{"computer_name":"WS","event_id":1,"record_id":2}}`+"\n"...)
	path := writeTemp(t, b)
	opts := shipOpts(t, t.TempDir())
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.Stats = new(ShipStats)
	s := &shipper{pub: nopPub{}, opts: opts, wait: minWait}
	if err := s.input(context.Background(), source.File{Path: path, Size: int64(len(b))}); err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, e := range s.free {
		kept += cap(e.events) + e.out.Cap()
	}
	if kept > 4*maxRaw {
		t.Errorf("%d bytes kept by the encoders after a window of a huge event, more than %d", kept, 4*maxRaw)
	}
}

// TestShipHugeEventAlone: a huge event (a JSON line of 700 KB that
// compresses badly) does not take the events of its host read before it
// down with it: its batch alone passes the message limit, not theirs.
func TestShipHugeEventAlone(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	noise := func(n int) string {
		const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[rnd.IntN(len(digits))]
		}
		return string(b)
	}
	var b []byte
	for i, n := range append(slices.Repeat([]int{7000}, 100), 700000, 100) {
		b = fmt.Appendf(b, `{"@timestamp":"2024-01-01T00:00:00Z","winlog":{"computer_name":"WS","event_id":1,"record_id":%d,"event_data":{"Blob":"%s"}}}`+"\n", i, noise(n))
	}
	pub := &fakePub{}
	opts := shipOpts(t, t.TempDir())
	opts.Window = 1000
	opts.Stats = new(ShipStats)
	if err := Ship(context.Background(), pub, []string{writeTemp(t, b)}, opts); err != nil {
		t.Fatal(err)
	}
	if got, dropped := len(pub.received()), opts.Stats.Dropped.Load(); got != 102 || dropped != 0 {
		t.Errorf("%d events shipped and %d dropped, want 102 and 0", got, dropped)
	}
}

// BenchmarkShip: one EVTX file of 3 MiB shipped whole (read, encoded,
// compressed, bookmarked) to a publisher that takes everything.
func BenchmarkShip(b *testing.B) {
	path := shared.Path(b, "datasets", "deepbluecli", "evtx", "smb-password-guessing-security.evtx")
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		opts := ShipOptions{Tenant: "acme", Case: "c", Collector: "col", State: b.TempDir()}
		if err := Ship(context.Background(), nopPub{}, []string{path}, opts); err != nil {
			b.Fatal(err)
		}
	}
}
