package fleet

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/shared"
)

// lockedBuffer is a log output read while written.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// spoolFiles returns the spool's files and their bytes.
func spoolFiles(t *testing.T, state string) (n int, size int64) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(state, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n++
		size += fi.Size()
	}
	return n, size
}

// TestShipSpool: with the server away, ship reads on and spools its
// batches, up to --buffer; at the limit it stops, says so once, and the
// bookmarks stand at what is spooled. Killed there and started again
// with the server back, it publishes the spool first, in order, then the
// rest: every event once, no batch sent twice, the spool empty.
func TestShipSpool(t *testing.T) {
	t.Run("evtx", func(t *testing.T) {
		shipSpool(t, shared.Path(t, "datasets", "evtx-attack-samples", "Lateral Movement"), 48<<10)
	})
	// Windows of several hosts: a window half spooled when killed.
	t.Run("json", func(t *testing.T) {
		shipSpool(t, shared.Path(t, "datasets", "security-datasets", "datasets", "compound", "GoldenSAMLADFSMailAccess"), 8<<10)
	})
}

func shipSpool(t *testing.T, dir string, buffer int64) {
	want := readAll(t, dir)
	state := t.TempDir()
	var logs lockedBuffer
	opts := shipOpts(t, state)
	opts.Buffer = buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	opts.Stats = new(ShipStats)
	var away atomicBool
	away.set(true)
	pub := &fakePub{fail: func(int) error {
		if away.get() {
			return errors.New("no responders")
		}
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Ship(ctx, pub, []string{dir}, opts) }()
	deadline := time.Now().Add(30 * time.Second)
	for !(opts.Stats.Blocked.Load() && opts.Stats.Retries.Load() >= 4) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !opts.Stats.Blocked.Load() {
		t.Fatalf("not blocked: %d batches spooled, %d bytes", opts.Stats.Spooled.Load(), opts.Stats.SpoolBytes.Load())
	}
	cancel() // killed while blocked
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "spool full"); n != 1 {
		t.Errorf("spool full said %d times, want once:\n%s", n, logs.String())
	}
	files, size := spoolFiles(t, state)
	if files == 0 || size > opts.Buffer || int64(files) != opts.Stats.Spooled.Load() || size != opts.Stats.SpoolBytes.Load() {
		t.Errorf("spool of %d files, %d bytes (limit %d); stats say %d, %d", files, size, opts.Buffer,
			opts.Stats.Spooled.Load(), opts.Stats.SpoolBytes.Load())
	}
	var moved int64
	bms, err := Bookmarks(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, bm := range bms {
		moved += bm.Events
	}
	if spooled := opts.Stats.SpoolEvents.Load(); moved != spooled || moved == 0 {
		t.Errorf("bookmarks moved past %d events, %d spooled", moved, spooled)
	}
	if len(pub.received()) != 0 {
		t.Fatalf("%d events taken by a server away", len(pub.received()))
	}

	// Started again, the server back after two more refusals.
	var tries int
	pub.fail = func(int) error {
		if tries++; tries <= 2 {
			return errors.New("no responders")
		}
		return nil
	}
	opts.Stats = new(ShipStats)
	if err := Ship(context.Background(), pub, []string{dir}, opts); err != nil {
		t.Fatal(err)
	}
	if missing, extra := counts(pub.received(), want); missing != 0 || extra != 0 {
		t.Fatalf("%d events shipped of %d: %d missing, %d extra", len(pub.received()), len(want), missing, extra)
	}
	if pub.sent != len(pub.ids) {
		t.Errorf("%d batches sent for %d message ids", pub.sent, len(pub.ids))
	}
	if files, _ := spoolFiles(t, state); files != 0 || opts.Stats.Spooled.Load() != 0 || opts.Stats.Blocked.Load() {
		t.Errorf("after the replay: %d spool files, stats %d, blocked %v", files, opts.Stats.Spooled.Load(), opts.Stats.Blocked.Load())
	}
}

type atomicBool struct {
	mu sync.Mutex
	v  bool
}

func (b *atomicBool) set(v bool) { b.mu.Lock(); b.v = v; b.mu.Unlock() }
func (b *atomicBool) get() bool  { b.mu.Lock(); defer b.mu.Unlock(); return b.v }

// TestShipSpoolDamaged: a spool file that is not one is set aside (named
// in an error log, its events counted dropped) and the others are
// published.
func TestShipSpoolDamaged(t *testing.T) {
	state := t.TempDir()
	sp, _, err := openSpool(filepath.Join(state, "spool"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i, host := range []string{"a", "b", "c"} {
		e := NewEncoder(Header{Tenant: "acme", Case: "c", Host: host, Collector: "col", Input: Input{ID: "x", Path: "p"}})
		msg, _ := e.Message()
		if err := sp.add(Subject("acme", host), "id-"+host, i, msg); err != nil {
			t.Fatal(err)
		}
	}
	// A window read again after a restart: its batches spooled already
	// are not spooled twice.
	e := NewEncoder(Header{Tenant: "acme", Host: "a"})
	msg, _ := e.Message()
	if err := sp.add(Subject("acme", "a"), "id-a", 0, msg); err != nil || len(sp.items) != 3 {
		t.Fatalf("id-a spooled again: %d batches, %v", len(sp.items), err)
	}
	if again, _, err := openSpool(sp.dir, 1<<20); err != nil || len(again.items) != 3 || again.seq != 3 || again.bytes != sp.bytes {
		t.Fatalf("spool opened again: %+v, %v; want %+v", again, err, sp)
	}
	bad := filepath.Join(state, "spool", sp.items[1].name)
	b, _ := os.ReadFile(bad)
	b[len(b)/2] ^= 0xff
	os.WriteFile(bad, b, 0o600)

	var logs lockedBuffer
	opts := shipOpts(t, state)
	opts.Buffer, opts.Logger, opts.Stats = 1<<20, slog.New(slog.NewTextHandler(&logs, nil)), new(ShipStats)
	pub := &fakePub{}
	if err := Ship(context.Background(), pub, []string{t.TempDir()}, opts); err != nil {
		t.Fatal(err)
	}
	if !pub.ids["id-a"] || pub.ids["id-b"] || !pub.ids["id-c"] {
		t.Errorf("published %v, want id-a and id-c", pub.ids)
	}
	if !strings.Contains(logs.String(), bad) || opts.Stats.Dropped.Load() != 1 {
		t.Errorf("dropped %d, log:\n%s", opts.Stats.Dropped.Load(), logs.String())
	}
	if _, err := os.Stat(bad + ".damaged"); err != nil {
		t.Error(err)
	}
}

func FuzzSpooled(f *testing.F) {
	f.Add(encodeSpooled("spoor.acme.events.1.h", "id:1:0-5:h", 5, []byte("SPB\x01payload")))
	f.Add(encodeSpooled("s", "i", 0, nil))
	f.Add([]byte("SPS\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		it, msg, err := decodeSpooled(b)
		if err != nil {
			return
		}
		if again := encodeSpooled(it.subject, it.id, int(it.events), msg); !bytes.Equal(again, b) {
			t.Errorf("decoded %+v, %q: encodes to %q, not %q", it, msg, again, b)
		}
		var d decoder
		d.s = string(b)
		var h spooled
		if err := spoolHead(&d, &h); err != nil || h.id != it.id || h.subject != it.subject || h.events != it.events {
			t.Errorf("head %+v, %v; whole %+v", h, err, it)
		}
	})
}

// TestSpoolStaleTemp: the temporary file of a spool file being written
// when the collector was killed (outfile's, never renamed) is removed at
// the next start: each kill left up to a batch on disk, outside the
// spool's limit and its count, for good.
func TestSpoolStaleTemp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".0000000000000003.spool.tmp-1x2y3z")
	other := filepath.Join(dir, "notes.txt")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, make([]byte, 1000), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := openSpool(dir, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary spool file: %v, want it removed", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another file: %v, want it left", err)
	}
}
