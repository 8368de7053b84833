package operation

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// filledRef returns a DetectionRef with every field set, from n: strings
// "<field>-<n%3>" (so that refs repeat some), numbers from n, a time in a
// zone of its own.
func filledRef(t *testing.T, n int) DetectionRef {
	t.Helper()
	var d DetectionRef
	v := reflect.ValueOf(&d).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.String:
			f.SetString(name + "-" + strconv.Itoa(n%3))
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(n*100 + i))
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{name + "-a", name + "-" + strconv.Itoa(n%2)}))
		case reflect.Struct:
			if f.Type() != reflect.TypeFor[time.Time]() {
				t.Fatalf("field %s: %s, which the test does not fill", name, f.Type())
			}
			f.Set(reflect.ValueOf(time.Date(2024, 3, 1, 10, n, 0, 0, time.FixedZone("X", 3600))))
		case reflect.Pointer:
			f.Set(reflect.ValueOf(&Counted{Events: n}))
		default:
			t.Fatalf("field %s: %s, which the test does not fill", name, f.Kind())
		}
	}
	return d
}

// TestRefTableRoundTrip checks that a RefTable gives back every field of
// every ref (a field added to DetectionRef and not to the table fails
// here), nil and empty lists apart, across a Seal.
func TestRefTableRoundTrip(t *testing.T) {
	var in []DetectionRef
	for n := range 8 {
		in = append(in, filledRef(t, n))
	}
	in = append(in, DetectionRef{}, DetectionRef{Tags: []string{}, Files: []string{""}}, DetectionRef{Host: "h", Files: []string{}})
	tab := NewRefTable(0)
	for i, d := range in {
		tab.Add(d)
		if i == 4 {
			tab.Seal() // the rest are added after a Seal
		}
	}
	if tab.Len() != len(in) {
		t.Fatalf("got %d refs, want %d", tab.Len(), len(in))
	}
	for i, want := range in {
		got := tab.Ref(i)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ref %d: got %+v, want %+v", i, got, want)
		}
		if (got.Tags == nil) != (want.Tags == nil) || (got.Files == nil) != (want.Files == nil) {
			t.Errorf("ref %d: nil and empty lists confused", i)
		}
		if tab.time(i) != want.Time || tab.index(i) != want.Index {
			t.Errorf("ref %d: time %v index %d, want %v %d", i, tab.time(i), tab.index(i), want.Time, want.Index)
		}
	}
	// Strings and lists that repeat are kept once.
	if a, b := tab.Ref(0), tab.Ref(6); unsafe.StringData(a.Host) != unsafe.StringData(b.Host) || &a.Tags[0] != &b.Tags[0] {
		t.Errorf("equal strings or lists of two refs not shared")
	}
	if s := unsafe.Sizeof(packedRef{}); s*2 > unsafe.Sizeof(DetectionRef{}) {
		t.Errorf("a packed ref takes %d bytes, a DetectionRef %d: want less than half", s, unsafe.Sizeof(DetectionRef{}))
	}
}

// TestBuildTableSameAsBuild builds the operations of real hunts (the
// CuckooBees scenario over its background, with the built-in rules, and
// with the SigmaHQ rules too) from a slice and from a table, with
// detection indexes that are not positions (as a case store's ids), and
// wants the same operations.
func TestBuildTableSameAsBuild(t *testing.T) {
	benign, mutate := benignPaths(t)
	paths := append([]string{scenarioFixture}, benign...)
	t.Run("builtin", func(t *testing.T) {
		hs, idx := huntOps(t, paths, 4, mutate)
		sameOperations(t, refsOf(hs), idx)
	})
	t.Run("sigmahq", func(t *testing.T) {
		if testing.Short() {
			t.Skip("compiles the SigmaHQ rules")
		}
		set, err := sigma.LoadPaths([]string{shared.Path(t, "datasets", "sigma", "rules", "windows")})
		if err != nil {
			t.Fatal(err)
		}
		eng, _ := detect.Compile(append(reportedBuiltin(t), set.Rules...), nil, detect.Options{})
		hs, idx := huntWith(t, eng, paths, 4, mutate)
		sameOperations(t, refsOf(hs), idx)
	})
}

func sameOperations(t *testing.T, refs []DetectionRef, idx *Index) {
	t.Helper()
	tab := NewRefTable(len(refs))
	for i := range refs {
		refs[i].Index = 7 + 3*i
		tab.Add(refs[i])
	}
	tab.Seal()
	want, err := Build(context.Background(), refs, idx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := BuildTable(context.Background(), tab, idx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("no operation: nothing compared")
	}
	t.Logf("%d detections, %d operations", len(refs), len(want))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BuildTable: %d operations differ from Build's %d:\n%s\nwant\n%s", len(got), len(want), describeOps(got), describeOps(want))
	}
}
