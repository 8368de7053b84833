package jsonlog_test

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/jsonlog"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// Totals over every JSON file of OTRF Security-Datasets (JSON members of
// the .zip and .tar.gz archives, and the two zeek .log files), checked
// against the lines Python's json module parses (1,035,407 in the archives,
// 7,804 in the zeek logs).
const (
	datasetFiles  = 141
	datasetEvents = 1_043_211
	datasetSkips  = 0
)

// member is one JSON file of the dataset: a name and a way to open it.
type member struct {
	name string
	open func() (io.ReadCloser, error)
}

// datasetMembers lists the JSON files of Security-Datasets, inside their
// archives. AppleDouble files (__MACOSX/._*) are not JSON files.
func datasetMembers(tb testing.TB) []member {
	tb.Helper()
	root := filepath.Join(shared.Dir(tb), "datasets", "security-datasets")
	var out []member
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		lower := strings.ToLower(p)
		switch {
		case strings.HasSuffix(lower, ".zip"):
			zr, err := zip.OpenReader(p)
			if err != nil {
				return err
			}
			defer zr.Close()
			for _, f := range zr.File {
				if isJSONMember(f.Name) {
					name := f.Name
					out = append(out, member{rel + "!" + name, func() (io.ReadCloser, error) { return openZipMember(p, name) }})
				}
			}
		case strings.HasSuffix(lower, ".tar.gz"):
			names, err := tarNames(p)
			if err != nil {
				return err
			}
			for _, name := range names {
				out = append(out, member{rel + "!" + name, func() (io.ReadCloser, error) { return openTarMember(p, name) }})
			}
		case strings.HasSuffix(lower, ".log"):
			out = append(out, member{rel, func() (io.ReadCloser, error) { return os.Open(p) }})
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func isJSONMember(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".json") && !strings.HasPrefix(filepath.Base(name), "._")
}

type zipMember struct {
	io.ReadCloser
	zr *zip.ReadCloser
}

func (m zipMember) Close() error {
	m.ReadCloser.Close()
	return m.zr.Close()
}

func openZipMember(p, name string) (io.ReadCloser, error) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, err
	}
	rc, err := zr.Open(name)
	if err != nil {
		zr.Close()
		return nil, err
	}
	return zipMember{rc.(io.ReadCloser), zr}, nil
}

// untrailed turns the io.ErrUnexpectedEOF of a gzip stream without its
// trailer (as the dataset's .tar.gz are) into the end of the data.
type untrailed struct{ r io.Reader }

func (u untrailed) Read(b []byte) (int, error) {
	n, err := u.r.Read(b)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

func tarNames(p string) ([]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(untrailed{gz})
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			// The last member may be cut short; what was read counts.
			return names, nil
		}
		if h.Typeflag == tar.TypeReg && isJSONMember(h.Name) {
			names = append(names, h.Name)
		}
	}
}

type tarMember struct {
	io.Reader
	f *os.File
}

func (m tarMember) Close() error { return m.f.Close() }

func openTarMember(p, name string) (io.ReadCloser, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	tr := tar.NewReader(untrailed{gz})
	for {
		h, err := tr.Next()
		if err != nil {
			f.Close()
			return nil, err
		}
		if h.Name == name {
			return tarMember{untrailed{tr}, f}, nil
		}
	}
}

// readAll counts the events and skips of one input.
func readAll(tb testing.TB, name string, r io.Reader, each func(*event.Event)) (events, skips int) {
	tb.Helper()
	jr := jsonlog.NewReader(r, jsonlog.Options{Source: name})
	defer jr.Close()
	for {
		ev, err := jr.Next()
		if err == io.EOF {
			return events, skips
		}
		if se, ok := errors.AsType[*event.SkipError](err); ok {
			if skips++; skips <= 3 {
				tb.Logf("%v", se)
			}
			continue
		}
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		events++
		if each != nil {
			each(ev)
		}
	}
}

// TestDatasets reads every JSON file of OTRF Security-Datasets.
func TestDatasets(t *testing.T) {
	members := datasetMembers(t)
	if testing.Short() {
		members = members[:min(len(members), 10)]
	}
	files, events, skips := 0, 0, 0
	for _, m := range members {
		rc, err := m.open()
		if err != nil {
			t.Errorf("%s: %v", m.name, err)
			continue
		}
		n, s := readAll(t, m.name, rc, func(ev *event.Event) {
			if len(ev.Fields) == 0 {
				t.Fatalf("%s: line %d: an event without fields", m.name, ev.Locator)
			}
		})
		rc.Close()
		if n == 0 {
			t.Errorf("%s: got no events", m.name)
		}
		files++
		events += n
		skips += s
	}
	t.Logf("%d files, %d events, %d skipped", files, events, skips)
	if testing.Short() {
		return
	}
	if files != datasetFiles || events != datasetEvents || skips != datasetSkips {
		t.Errorf("got %d files, %d events, %d skipped; want %d, %d, %d",
			files, events, skips, datasetFiles, datasetEvents, datasetSkips)
	}
}
