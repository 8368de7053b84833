package evtx_test

import (
	"errors"
	"io"
	"io/fs"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/jsonlog"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// TestGolden reads every .evtx of SigmaHQ's regression data with the evtx
// reader and its .json rendering (evtx_dump's output, same base name) with
// the jsonlog reader: both must give the same events, field by field.
//
// Values are compared by meaning, not kind: numbers by numeric value (an
// Int, a Uint, a Float or a String holding a decimal or 0x number), times
// as instants (a Time or a String in RFC 3339) to the microsecond
// evtx_dump keeps, GUIDs ignoring braces and
// case, lists element by element, Null and "" alike (evtx_dump writes an
// empty element as null).
func TestGolden(t *testing.T) {
	root := filepath.Join(shared.Dir(t), "datasets", "sigma", "regression_data")
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".evtx") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no .evtx under %s", root)
	}
	total := 0
	for _, p := range files {
		rel, _ := filepath.Rel(root, p)
		jp := strings.TrimSuffix(p, filepath.Ext(p)) + ".json"
		if _, err := os.Stat(jp); err != nil {
			t.Errorf("%s: no paired .json: %v", rel, err)
			continue
		}
		t.Run(rel, func(t *testing.T) {
			got := readEVTX(t, p)
			want := readJSON(t, jp)
			total += len(want)
			compareFiles(t, got, want)
		})
	}
	t.Logf("%d files, %d events compared", len(files), total)
}

func readEVTX(t *testing.T, p string) []*event.Event {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	r, err := evtx.Open(f, fi.Size(), evtx.Options{Source: p, Workers: 1})
	if err != nil {
		t.Fatalf("evtx.Open: %v", err)
	}
	defer r.Close()
	return drain(t, r)
}

func readJSON(t *testing.T, p string) []*event.Event {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := jsonlog.NewReader(f, jsonlog.Options{Source: p})
	defer r.Close()
	return drain(t, r)
}

func drain(t *testing.T, r event.Reader) []*event.Event {
	t.Helper()
	var out []*event.Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return out
		}
		if se, ok := errors.AsType[*event.SkipError](err); ok {
			t.Errorf("skipped: %v", se)
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, ev.Clone())
	}
}

// compareFiles pairs events by EventRecordID (by position when an event
// has none) and compares them.
func compareFiles(t *testing.T, got, want []*event.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d events from the .evtx, want %d as in the .json", len(got), len(want))
	}
	byID := make(map[string]*event.Event, len(got))
	for _, ev := range got {
		if v, ok := ev.Get(event.FieldEventRecordID); ok {
			byID[v.Text()] = ev
		}
	}
	const maxErrors = 30
	errs := 0
	for i, w := range want {
		var g *event.Event
		id := "#" + strconv.Itoa(i)
		if v, ok := w.Get(event.FieldEventRecordID); ok {
			id = v.Text()
			g = byID[id]
		} else if i < len(got) {
			g = got[i]
		}
		if g == nil {
			t.Errorf("record %s: in the .json, not in the .evtx", id)
			errs++
			continue
		}
		for _, d := range diffEvents(g, w) {
			if errs++; errs <= maxErrors {
				t.Errorf("record %s: %s", id, d)
			}
		}
	}
	if errs > maxErrors {
		t.Errorf("... %d more differences", errs-maxErrors)
	}
}

// diffEvents lists the differences between got (evtx) and want (json).
func diffEvents(got, want *event.Event) []string {
	var out []string
	names := map[string]bool{}
	for _, f := range got.Fields {
		names[f.Name] = true
	}
	for _, f := range want.Fields {
		names[f.Name] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		g, gok := got.Get(n)
		w, wok := want.Get(n)
		switch {
		case !gok:
			out = append(out, "field "+n+": missing from the .evtx event, want "+show(w))
		case !wok:
			out = append(out, "field "+n+": got "+show(g)+" from the .evtx, not in the .json event")
		case !sameValue(g, w):
			out = append(out, "field "+n+": got "+show(g)+" from the .evtx, want "+show(w))
		}
	}
	return out
}

func show(v event.Value) string {
	return v.Kind().String() + " " + string(v.AppendJSON(nil))
}

func sameValue(a, b event.Value) bool {
	if a.Kind() == event.List || b.Kind() == event.List {
		la, lb := a.List(), b.List()
		if a.Kind() != b.Kind() || len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !sameValue(la[i], lb[i]) {
				return false
			}
		}
		return true
	}
	if isEmpty(a) || isEmpty(b) {
		return isEmpty(a) && isEmpty(b)
	}
	if a.Kind() == event.Time || b.Kind() == event.Time {
		ta, oka := asTime(a)
		tb, okb := asTime(b)
		// evtx_dump writes SystemTime with microseconds; a FILETIME has
		// 100 ns ticks.
		d := ta.Sub(tb)
		return oka && okb && d > -time.Microsecond && d < time.Microsecond
	}
	if na, ok := asNumber(a); ok {
		if nb, ok := asNumber(b); ok && (a.Kind() != event.String || b.Kind() != event.String) {
			return na.Cmp(nb) == 0
		}
	}
	if a.Kind() == event.String && b.Kind() == event.String {
		sa, sb := a.Str(), b.Str()
		return sa == sb || isGUID(sa) && isGUID(sb) && strings.EqualFold(strings.Trim(sa, "{}"), strings.Trim(sb, "{}"))
	}
	if a.Kind() == event.Bool || b.Kind() == event.Bool {
		return a.Text() == b.Text()
	}
	return a.Equal(b)
}

func isEmpty(v event.Value) bool {
	return v.IsNull() || v.Kind() == event.String && v.Str() == ""
}

func asTime(v event.Value) (time.Time, bool) {
	switch v.Kind() {
	case event.Time:
		return v.Time(), true
	case event.String:
		t, err := time.Parse(time.RFC3339Nano, v.Str())
		return t, err == nil
	}
	return time.Time{}, false
}

// asNumber returns the exact numeric value of v.
func asNumber(v event.Value) (*big.Rat, bool) {
	r := new(big.Rat)
	switch v.Kind() {
	case event.Int:
		return r.SetInt64(v.Int()), true
	case event.Uint:
		return r.SetUint64(v.Uint()), true
	case event.Float:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		return r.SetFloat64(f), true
	case event.String:
		s := v.Str()
		if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
			u, err := strconv.ParseUint(s[2:], 16, 64)
			return r.SetUint64(u), err == nil
		}
		if _, ok := r.SetString(s); ok && s != "" && !strings.ContainsAny(s, "/") {
			return r, true
		}
	}
	return nil, false
}

func isGUID(s string) bool {
	s = strings.Trim(s, "{}")
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) {
				return false
			}
		}
	}
	return true
}
