package detect

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/jsonlog"
)

// readAll reads every event of r, cloned; skipped parts fail the test.
func readAll(t *testing.T, r event.Reader, name string) []*event.Event {
	t.Helper()
	defer r.Close()
	var out []*event.Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, ev.Clone())
	}
}

// TestSameDetectionsEVTXAndJSON: for every SigmaHQ regression test, the
// events of the .evtx file and of its .json rendering (evtx_dump shape) get
// exactly the same detections from every SigmaHQ Windows rule: a rule does
// not care where an event came from.
func TestSameDetectionsEVTXAndJSON(t *testing.T) {
	e, _ := sigmaHQ(t)
	root := sharedPath(t, "datasets", "sigma", "regression_data")
	m := e.NewMatcher()
	pairs, detections := 0, 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".evtx" {
			return err
		}
		jsonPath := strings.TrimSuffix(path, ".evtx") + ".json"
		if _, err := os.Stat(jsonPath); err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		er, err := evtx.Open(bytes.NewReader(data), int64(len(data)), evtx.Options{Source: path, Workers: 1})
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		fromEVTX := readAll(t, er, rel)
		f, err := os.Open(jsonPath)
		if err != nil {
			return err
		}
		defer f.Close()
		fromJSON := readAll(t, jsonlog.NewReader(f, jsonlog.Options{Source: jsonPath}), rel+" (json)")
		if len(fromEVTX) != len(fromJSON) {
			t.Errorf("%s: %d events from EVTX, %d from JSON", rel, len(fromEVTX), len(fromJSON))
			return nil
		}
		pairs++
		for i := range fromEVTX {
			a := ruleIDs(m.Match(fromEVTX[i], nil))
			b := ruleIDs(m.Match(fromJSON[i], nil))
			if a != b {
				t.Errorf("%s: event %d: rules %q from EVTX, %q from JSON", rel, i, a, b)
			}
			if a != "" {
				detections += strings.Count(a, ",") + 1
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pairs < 90 || detections < pairs {
		t.Errorf("got %d file pairs and %d detections, want at least 90 pairs and a detection per pair", pairs, detections)
	}
	t.Logf("%d file pairs, %d detections, the same from both sources", pairs, detections)
}

// ruleIDs returns the sorted ids of the detections' rules, joined by commas.
func ruleIDs(ds []Detection) string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.Rule.Sigma.ID
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}
