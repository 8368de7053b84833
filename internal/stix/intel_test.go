package stix

import (
	"strings"
	"testing"
)

func TestIndicators(t *testing.T) {
	bundle := `{"type":"bundle","id":"bundle--1","objects":[
		{"type":"identity","id":"identity--a","name":"P"},
		{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '1.2.3.4']","pattern_type":"stix","created_by_ref":"identity--a"},
		{"type":"indicator","id":"indicator--2","pattern":"[file:name = 'x']"},
		{"type":"indicator","id":"indicator--3","pattern":"title: x","pattern_type":"sigma","revoked":true},
		{"type":"indicator","id":"indicator--4"},
		{"type":"malware","id":"malware--1","name":"m","is_family":true}]}`
	inds, errs := Indicators([]byte(bundle))
	if len(inds) != 2 || inds[0].ID != "indicator--1" || inds[1].PatternType != "stix" {
		t.Fatalf("got %+v, want indicators 1 and 2 (2 a STIX 2.0 one, stix), not the revoked one", inds)
	}
	if len(inds[0].Refs) != 1 || !strings.Contains(string(inds[0].Refs[0]), "identity--a") {
		t.Errorf("indicator 1 refs %s, want its creator", inds[0].Refs)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "indicator--4: no pattern") {
		t.Errorf("errors %v, want indicator--4 without a pattern", errs)
	}
	for _, bad := range []string{`{"type":"report"}`, `[1,2`, `"x"`} {
		if inds, errs := Indicators([]byte(bad)); len(inds) != 0 || len(errs) == 0 {
			t.Errorf("Indicators(%s): %v, %v: want an error", bad, inds, errs)
		}
	}
}

// FuzzIndicators reads untrusted bundles as an import does, checks them
// and writes sightings of what they hold: never a panic.
func FuzzIndicators(f *testing.F) {
	f.Add([]byte(`{"type":"bundle","id":"bundle--1","objects":[{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '1.2.3.4']","pattern_type":"stix","created":"2020-01-01T00:00:00.000Z","created_by_ref":"identity--a","object_marking_refs":["marking-definition--x"]},{"type":"identity","id":"identity--a"}]}`))
	f.Add([]byte(`[{"type":"indicator","id":"indicator--2","pattern":"title: x\nid: y\n","pattern_type":"sigma","valid_from":"2020-01-01T00:00:00Z","valid_until":"2019-01-01T00:00:00Z"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		Check(data)
		inds, _ := Indicators(data)
		var seen []Sighted
		for _, ind := range inds {
			if p, err := ParsePattern(ind.Pattern); err == nil {
				if m, err := Compile(p); err == nil {
					m.Match([]Record{{}})
				}
			}
			seen = append(seen, Sighted{Indicator: ind, Count: 1, Hosts: []string{"h"}})
		}
		if _, err := Sightings(seen, "me", "", Redact{Hosts: true}); err != nil && len(seen) > 0 {
			t.Logf("sightings: %v", err)
		}
	})
}
