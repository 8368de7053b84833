package stix

import (
	"strings"
	"testing"
)

// goodIndicator is an indicator Indicators takes.
const goodIndicator = `{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '1.2.3.4']","pattern_type":"stix"}`

// TestIndicatorsErrorsBounded: the errors of a bundle are bounded, whatever
// number of its objects are wrong. A bundle of 20 MiB of 0s (each "object
// N: json: cannot unmarshal...") made 6.8 GB of errors, then as many lines
// printed: spoor intel import of a file, or of a partner's TAXII server.
func TestIndicatorsErrorsBounded(t *testing.T) {
	const n = 1000
	inds, errs := Indicators([]byte(`{"type":"bundle","objects":[` + strings.Repeat(`0,`, n) + goodIndicator + `]}`))
	if len(inds) != 1 {
		t.Errorf("%d indicators, want the one good one", len(inds))
	}
	if len(errs) == 0 || len(errs) > 101 {
		t.Fatalf("%d errors for %d bad objects, want at most 101", len(errs), n)
	}
	if last := errs[len(errs)-1].Error(); !strings.Contains(last, "more") {
		t.Errorf("last error %q, want it to count the errors left out", last)
	}
}

// TestIndicatorsObjectsBounded: a bundle of more objects than an import
// takes (1<<20) is refused, read no further than the bound. 30 MiB of {}
// took 762 MiB once read: a bundle of 256 MiB, some 6.5 GB.
func TestIndicatorsObjectsBounded(t *testing.T) {
	const n = 1<<20 + 1
	for _, data := range []string{
		`{"type":"bundle","objects":[` + strings.Repeat(`{},`, n-1) + goodIndicator + `]}`,
		`[` + strings.Repeat(`{},`, n-1) + goodIndicator + `]`,
	} {
		inds, errs := Indicators([]byte(data))
		if len(inds) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "objects") {
			t.Errorf("%d objects: %d indicators, %.3v; want an error saying there are too many objects", n, len(inds), errs)
		}
	}
	// Up to the bound, a bundle is read as ever.
	if inds, errs := Indicators([]byte(`[` + strings.Repeat(`{},`, 1000) + goodIndicator + `]`)); len(inds) != 1 || len(errs) != 0 {
		t.Errorf("a list of 1001 objects: %d indicators, %v", len(inds), errs)
	}
}
