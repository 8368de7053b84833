package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
)

type member struct {
	name string
	data []byte
}

func zipBytes(t *testing.T, members ...member) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func tarBytes(t *testing.T, members ...member) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range members {
		if strings.HasSuffix(m.name, "/") {
			tw.WriteHeader(&tar.Header{Name: m.name, Typeflag: tar.TypeDir, Mode: 0o755})
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(m.data))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(m.data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withoutTrailer cuts the 8-byte gzip trailer (CRC-32 and size), as in
// archives found in the wild.
func withoutTrailer(gz []byte) []byte { return gz[:len(gz)-8] }

func fakeEVTX(lines ...string) []byte {
	return append(slices.Clone(fakeEVTXTag), strings.Join(lines, "\n")+"\n"...)
}

func jsonLines(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// read runs paths with the fake readers and returns each event as
// "source#locator {json}", and the summary.
func read(t *testing.T, paths []string, opts Options) ([]string, *Summary) {
	t.Helper()
	if opts.formats.openEVTX == nil {
		opts.formats = fakeFormats
	}
	var (
		mu  sync.Mutex
		got []string
	)
	sum, err := Run(t.Context(), paths, opts, func(_ int, ev *event.Event) error {
		s := fmt.Sprintf("%s#%d %s", ev.Source, ev.Locator, ev.AppendJSON(nil))
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("Run: got error %v, want nil", err)
	}
	return got, sum
}

// names returns the "source#locator" of each event.
func names(events []string) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i], _, _ = strings.Cut(e, " ")
	}
	return out
}

func failureNames(s *Summary) []string {
	var out []string
	for _, f := range s.Failed {
		out = append(out, f.Name)
	}
	return out
}

func TestSniff(t *testing.T) {
	tarHead := tarBytes(t, member{"x.json", []byte("{}")})
	tests := []struct {
		name string
		head []byte
		want Type
	}{
		{"zip", zipBytes(t, member{"a", nil}), Zip},
		{"empty zip", zipBytes(t), Zip},
		{"gzip", gzipBytes(t, []byte("x")), Gzip},
		{"tar", tarHead, Tar},
		{"evtx", fakeEVTX(`{"a":1}`), EVTX},
		{"json", []byte(" \n{\"EventID\":1}"), JSON},
		{"text", []byte("hello"), Unknown},
		{"empty", nil, Unknown},
		{"short tar-like", tarHead[:200], Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fakeFormats.sniff(tt.head); got != tt.want {
				t.Errorf("sniff: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFolderTree(t *testing.T) {
	root := filepath.Join("testdata", "tree")
	got, sum := read(t, []string{root}, Options{})
	a := filepath.Join(root, "a.json")
	b := filepath.Join(root, "sub", "b.jsonl")
	c := filepath.Join(root, "sub", "deeper", "c.log")
	want := []string{a + "#1", a + "#2", a + "#3", b + "#1", b + "#3", c + "#1"}
	if !slices.Equal(names(got), want) {
		t.Errorf("events: got %q, want %q", names(got), want)
	}
	if want := a + `#1 {"EventID":4624,"Channel":"Security","Computer":"ws1"}`; got[0] != want {
		t.Errorf("first event: got %s, want %s", got[0], want)
	}
	if sum.Files != 4 || sum.Logs != 3 || sum.Events != 6 || sum.Count(JSON) != 3 {
		t.Errorf("summary: got files %d logs %d events %d json %d, want 4 3 6 3", sum.Files, sum.Logs, sum.Events, sum.Count(JSON))
	}
	if want := []string{filepath.Join(root, "notes.txt")}; !slices.Equal(sum.NotLogs, want) {
		t.Errorf("not logs: got %q, want %q", sum.NotLogs, want)
	}
	if len(sum.Failed) != 0 {
		t.Errorf("failed: got %v, want none", sum.Failed)
	}
	if len(sum.Damaged) != 1 {
		t.Fatalf("damaged: got %d logs, want 1", len(sum.Damaged))
	}
	d := sum.Damaged[0]
	if d.Name != b || d.Skips != 1 || d.Records != 1 || len(d.First) != 1 || d.First[0].Where != "line 2" || d.First[0].Source != b {
		t.Errorf("damage: got %+v, want %s with 1 skip at line 2", d, b)
	}
	if sum.NothingRead() {
		t.Error("NothingRead: got true, want false")
	}
}

func TestArchives(t *testing.T) {
	dir := t.TempDir()
	x := jsonLines(`{"EventID":1}`, `{"EventID":2}`)
	y := jsonLines(`{"EventID":3}`)
	ev := fakeEVTX(`{"EventID":4}`, `{"EventID":5}`)
	tarball := tarBytes(t, member{"logs/", nil}, member{"./logs/x.json", x}, member{"logs/readme.md", []byte("# hi")}, member{"logs/e.evtx", ev})

	tests := []struct {
		name       string
		file       string
		data       []byte
		want       []string // relative to the file's path
		wantTypes  map[Type]int
		wantNotLog []string
	}{
		{
			name:      "zip",
			file:      "a.zip",
			data:      zipBytes(t, member{"x.json", x}, member{"dir/", nil}, member{"dir/y.json", y}, member{"notes.txt", []byte("hello")}),
			want:      []string{"!x.json#1", "!x.json#2", "!dir/y.json#1"},
			wantTypes: map[Type]int{Zip: 1, JSON: 2}, wantNotLog: []string{"!notes.txt"},
		},
		{
			name:      "zip with evtx member",
			file:      "e.zip",
			data:      zipBytes(t, member{"Security.evtx", ev}),
			want:      []string{"!Security.evtx#1", "!Security.evtx#2"},
			wantTypes: map[Type]int{Zip: 1, EVTX: 1},
		},
		{
			name:      "nested zip",
			file:      "outer.zip",
			data:      zipBytes(t, member{"inner.zip", zipBytes(t, member{"x.json", x})}, member{"y.json", y}),
			want:      []string{"!inner.zip!x.json#1", "!inner.zip!x.json#2", "!y.json#1"},
			wantTypes: map[Type]int{Zip: 2, JSON: 2},
		},
		{
			name:      "gzip",
			file:      "x.json.gz",
			data:      gzipBytes(t, x),
			want:      []string{"#1", "#2"},
			wantTypes: map[Type]int{Gzip: 1, JSON: 1},
		},
		{
			name:      "gzip without trailer",
			file:      "x.gz",
			data:      withoutTrailer(gzipBytes(t, x)),
			want:      []string{"#1", "#2"},
			wantTypes: map[Type]int{Gzip: 1, JSON: 1},
		},
		{
			name:      "gzip of evtx",
			file:      "e.evtx.gz",
			data:      gzipBytes(t, ev),
			want:      []string{"#1", "#2"},
			wantTypes: map[Type]int{Gzip: 1, EVTX: 1},
		},
		{
			name:      "tar",
			file:      "a.tar",
			data:      tarball,
			want:      []string{"!logs/x.json#1", "!logs/x.json#2", "!logs/e.evtx#1", "!logs/e.evtx#2"},
			wantTypes: map[Type]int{Tar: 1, JSON: 1, EVTX: 1}, wantNotLog: []string{"!logs/readme.md"},
		},
		{
			name:      "tar.gz without trailer",
			file:      "a.tar.gz",
			data:      withoutTrailer(gzipBytes(t, tarball)),
			want:      []string{"!logs/x.json#1", "!logs/x.json#2", "!logs/e.evtx#1", "!logs/e.evtx#2"},
			wantTypes: map[Type]int{Gzip: 1, Tar: 1, JSON: 1, EVTX: 1}, wantNotLog: []string{"!logs/readme.md"},
		},
		{
			name:      "zip in tar.gz, named by content only",
			file:      "evidence.bin",
			data:      gzipBytes(t, tarBytes(t, member{"c.zip", zipBytes(t, member{"y.json", y})})),
			want:      []string{"!c.zip!y.json#1"},
			wantTypes: map[Type]int{Gzip: 1, Tar: 1, Zip: 1, JSON: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(dir, tt.file), tt.data)
			got, sum := read(t, []string{path}, Options{})
			var want []string
			for _, w := range tt.want {
				want = append(want, path+w)
			}
			if !slices.Equal(names(got), want) {
				t.Errorf("events: got %q, want %q", names(got), want)
			}
			for typ := range numTypes {
				if got, want := sum.Count(typ), tt.wantTypes[typ]; got != want {
					t.Errorf("count of %v: got %d, want %d", typ, got, want)
				}
			}
			var wantNot []string
			for _, w := range tt.wantNotLog {
				wantNot = append(wantNot, path+w)
			}
			if !slices.Equal(sum.NotLogs, wantNot) {
				t.Errorf("not logs: got %q, want %q", sum.NotLogs, wantNot)
			}
			if len(sum.Failed) != 0 {
				t.Errorf("failed: got %v, want none", sum.Failed)
			}
			if sum.Bytes != int64(len(tt.data)) {
				t.Errorf("bytes: got %d, want %d", sum.Bytes, len(tt.data))
			}
		})
	}
}

// logHandler records the messages logged.
type logHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}
func (h *logHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logHandler) WithGroup(string) slog.Handler      { return h }

func TestSpoolToTempFile(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	ev := fakeEVTX(`{"EventID":4}`, `{"EventID":5}`, `{"EventID":6}`)
	path := writeFile(t, filepath.Join(dir, "e.zip"), zipBytes(t,
		member{"big.evtx", ev},
		member{"inner.zip", zipBytes(t, member{"x.json", jsonLines(`{"EventID":1}`)})},
	))
	h := new(logHandler)
	got, sum := read(t, []string{path}, Options{MemoryLimit: 16, TempDir: tmp, Logger: slog.New(h)})
	want := []string{path + "!big.evtx#1", path + "!big.evtx#2", path + "!big.evtx#3", path + "!inner.zip!x.json#1"}
	if !slices.Equal(names(got), want) {
		t.Errorf("events: got %q, want %q", names(got), want)
	}
	if n := strings.Count(strings.Join(h.msgs, "\n"), "spool to temporary file"); n != 2 {
		t.Errorf("spooled to temporary files: got %d, want 2 (messages %q)", n, h.msgs)
	}
	left, _ := os.ReadDir(tmp)
	if len(left) != 0 {
		t.Errorf("temporary files left: got %d, want 0", len(left))
	}
	if len(sum.Failed) != 0 {
		t.Errorf("failed: got %v, want none", sum.Failed)
	}
}

func TestProblems(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "1-good.json"), jsonLines(`{"EventID":1}`))
	fatal := writeFile(t, filepath.Join(dir, "2-fatal.json"), jsonLines(`{"EventID":2}`, fatalLine, `{"EventID":3}`))
	panics := writeFile(t, filepath.Join(dir, "3-panic.json"), jsonLines(`{"EventID":4}`, panicLine))
	badZip := writeFile(t, filepath.Join(dir, "4-bad.zip"), []byte("PK\x03\x04 this is no zip"))
	badGz := writeFile(t, filepath.Join(dir, "5-bad.gz"), []byte{0x1f, 0x8b, 0, 0})
	cut := tarBytes(t, member{"x.json", jsonLines(`{"EventID":5}`, `{"EventID":6}`, `{"EventID":7}`)})
	cutTar := writeFile(t, filepath.Join(dir, "6-cut.tar"), cut[:512+20])
	var skips []string
	for i := range 8 {
		skips = append(skips, fmt.Sprintf("bad %d", i))
	}
	skips = append(skips, `{"EventID":8}`)
	damaged := writeFile(t, filepath.Join(dir, "7-damaged.json"), []byte("{\n"+strings.Join(skips, "\n")))
	missing := filepath.Join(dir, "missing.json")

	got, sum := read(t, []string{dir, missing}, Options{MaxSkips: 3})
	want := []string{good + "#1", fatal + "#1", panics + "#1", cutTar + "!x.json#1", damaged + "#10"}
	if !slices.Equal(names(got), want) {
		t.Errorf("events: got %q, want %q", names(got), want)
	}
	wantFailed := []string{missing, fatal, panics, badZip, badGz, cutTar + "!x.json"}
	if !slices.Equal(failureNames(sum), wantFailed) {
		t.Errorf("failed: got %q, want %q", failureNames(sum), wantFailed)
	}
	byName := map[string]Failure{}
	for _, f := range sum.Failed {
		byName[f.Name] = f
	}
	if f := byName[fatal]; !errors.Is(f.Err, errFatal) || f.Events != 1 {
		t.Errorf("fatal: got %v after %d events, want %v after 1", f.Err, f.Events, errFatal)
	}
	if f := byName[panics]; !errors.Is(f.Err, errReaderPanic) || f.Events != 1 {
		t.Errorf("panic: got %v after %d events, want %v after 1", f.Err, f.Events, errReaderPanic)
	}
	if f := byName[missing]; !errors.Is(f.Err, fs.ErrNotExist) {
		t.Errorf("missing: got %v, want %v", f.Err, fs.ErrNotExist)
	}
	// The cut member's last line is cut too: the fake reader skips it.
	var dnames []string
	for _, d := range sum.Damaged {
		dnames = append(dnames, d.Name)
	}
	if want := []string{cutTar + "!x.json", damaged}; !slices.Equal(dnames, want) {
		t.Fatalf("damaged: got %q, want %q", dnames, want)
	}
	d := sum.Damaged[1]
	if d.Name != damaged || d.Skips != 9 || len(d.First) != 3 || d.First[2].Where != "line 3" {
		t.Errorf("damage: got %s %d skips, first %v; want %s 9 skips, 3 kept, the third at line 3", d.Name, d.Skips, d.First, damaged)
	}
	if sum.Events != 5 || sum.Files != 7 || sum.NothingRead() {
		t.Errorf("summary: got events %d files %d nothing read %v, want 5 7 false", sum.Events, sum.Files, sum.NothingRead())
	}
}

func TestNothingRead(t *testing.T) {
	dir := t.TempDir()
	txt := writeFile(t, filepath.Join(dir, "a.txt"), []byte("hello"))
	fatal := writeFile(t, filepath.Join(dir, "f.json"), jsonLines(fatalLine))
	// An EVTX signature, then a header whose checksum is wrong.
	badHeader := writeFile(t, filepath.Join(dir, "h.evtx"), append([]byte("ElfFile\x00"), make([]byte, 4096)...))
	tests := []struct {
		name  string
		paths []string
		want  bool
	}{
		{"no logs", []string{txt}, true},
		{"missing path", []string{filepath.Join(dir, "nope")}, true},
		{"failed log", []string{fatal}, true},
		{"only a damaged log", []string{badHeader}, true},
		{"some read, a damaged log", []string{filepath.Join("testdata", "tree"), badHeader}, false},
		{"empty folder", []string{t.TempDir()}, true},
		{"some read", []string{filepath.Join("testdata", "tree"), fatal}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, sum := read(t, tt.paths, Options{})
			if got := sum.NothingRead(); got != tt.want {
				t.Errorf("NothingRead: got %v, want %v (summary %+v)", got, tt.want, sum)
			}
		})
	}
}

func TestTooDeep(t *testing.T) {
	data := jsonLines(`{"EventID":1}`)
	for range maxDepth + 1 {
		data = gzipBytes(t, data)
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "deep.gz"), data)
	got, sum := read(t, []string{path}, Options{})
	if len(got) != 0 || len(sum.Failed) != 1 || !errors.Is(sum.Failed[0].Err, errTooDeep) {
		t.Errorf("got %d events, failures %v; want 0 and %v", len(got), sum.Failed, errTooDeep)
	}
}

func TestWorkers(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := range 20 {
		var lines []string
		for j := range 50 + i {
			lines = append(lines, fmt.Sprintf(`{"File":%d,"N":%d}`, i, j))
		}
		data := jsonLines(lines...)
		name := fmt.Sprintf("f%02d.json", i)
		if i%3 == 0 {
			data = zipBytes(t, member{"in.json", data})
			name = fmt.Sprintf("f%02d.zip", i)
		}
		paths = append(paths, writeFile(t, filepath.Join(dir, name), data))
	}
	writeFile(t, filepath.Join(dir, "zz.txt"), []byte("not a log"))

	var (
		mu      sync.Mutex
		byFile  = map[string][]int64{}
		workers = map[int]bool{}
		prog    Progress
	)
	opts := Options{Workers: 4, Progress: &prog, formats: fakeFormats}
	sum, err := Run(t.Context(), []string{dir}, opts, func(w int, ev *event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		byFile[ev.Source] = append(byFile[ev.Source], ev.Lookup("N").Int())
		workers[w] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(byFile) != 20 {
		t.Errorf("files with events: got %d, want 20", len(byFile))
	}
	for name, ns := range byFile {
		for i, n := range ns {
			if n != int64(i) {
				t.Fatalf("%s: event %d: got N=%d, want %d (out of order)", name, i, n, i)
			}
		}
	}
	for w := range workers {
		if w < 0 || w >= 4 {
			t.Errorf("worker index: got %d, want 0..3", w)
		}
	}
	_, want := read(t, []string{dir}, Options{Workers: 1})
	if sum.Events != want.Events || sum.Logs != want.Logs || !slices.Equal(sum.NotLogs, want.NotLogs) {
		t.Errorf("summary with 4 workers: got %d events %d logs, want %d %d", sum.Events, sum.Logs, want.Events, want.Logs)
	}
	s := prog.Snapshot()
	if s.FilesDone != 21 || s.FilesTotal != 21 || s.Events != sum.Events || s.BytesDone != s.BytesTotal || s.BytesTotal != sum.Bytes {
		t.Errorf("progress: got %+v, want 21/21 files, %d events, %d/%d bytes", s, sum.Events, sum.Bytes, sum.Bytes)
	}
}

func TestStop(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.json"), jsonLines(`{"N":1}`, `{"N":2}`, `{"N":3}`))
	writeFile(t, filepath.Join(dir, "b.json"), jsonLines(`{"N":4}`))
	errStop := errors.New("stop")

	t.Run("callback error", func(t *testing.T) {
		n := 0
		sum, err := Run(t.Context(), []string{dir}, Options{formats: fakeFormats}, func(_ int, ev *event.Event) error {
			if n++; n == 2 {
				return errStop
			}
			return nil
		})
		if !errors.Is(err, errStop) || n != 2 || sum == nil {
			t.Errorf("got err %v after %d events, want %v after 2", err, n, errStop)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		n := 0
		_, err := Run(ctx, []string{dir}, Options{formats: fakeFormats}, func(_ int, ev *event.Event) error {
			n++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got err %v, want %v", err, context.Canceled)
		}
		if n > 3 {
			t.Errorf("events after cancel: got %d, want at most the rest of the first file", n)
		}
	})
}

func TestWalkOrder(t *testing.T) {
	w := newWalker()
	w.walk(t.Context(), []string{filepath.Join("testdata", "tree"), filepath.Join("testdata", "tree", "a.json")})
	files, failed, dups := w.files, w.failed, w.dups
	var got []string
	for _, f := range files {
		got = append(got, filepath.ToSlash(f.Path))
	}
	want := []string{
		"testdata/tree/a.json", "testdata/tree/notes.txt", "testdata/tree/sub/b.jsonl",
		"testdata/tree/sub/deeper/c.log",
	}
	if !slices.Equal(got, want) || len(failed) != 0 {
		t.Errorf("Walk: got %q (failed %v), want %q", got, failed, want)
	}
	// The file named after its folder is in the folder's listing already.
	if len(dups) != 1 || filepath.ToSlash(dups[0]) != "testdata/tree/a.json" {
		t.Errorf("duplicates: got %q, want [testdata/tree/a.json]", dups)
	}
}

// repeatReader returns the same event n times.
type repeatReader struct {
	n  int
	ev event.Event
}

func (r *repeatReader) Next() (*event.Event, error) {
	if r.n == 0 {
		return nil, io.EOF
	}
	r.n--
	return &r.ev, nil
}

func (r *repeatReader) Close() error { return nil }

// BenchmarkRun measures what Run costs per event around a reader that
// costs nothing: it must not allocate per event.
func BenchmarkRun(b *testing.B) {
	const events = 100_000
	path := filepath.Join(b.TempDir(), "a.json")
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		b.Fatal(err)
	}
	f := fakeFormats
	f.openJSON = func(io.Reader, string) (event.Reader, error) {
		r := &repeatReader{n: events}
		r.ev.Add("EventID", event.IntValue(4624))
		return r, nil
	}
	b.ReportAllocs()
	for b.Loop() {
		var n int
		_, err := Run(b.Context(), []string{path}, Options{formats: f}, func(_ int, ev *event.Event) error {
			n++
			return nil
		})
		if err != nil || n != events {
			b.Fatalf("got %d events, err %v; want %d, nil", n, err, events)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
}
