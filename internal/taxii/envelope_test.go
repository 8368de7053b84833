package taxii

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/spoor-hunt/spoor/internal/stix"
)

func TestParseEnvelope(t *testing.T) {
	for _, c := range []struct {
		body string
		n    int  // objects, when ok
		ok   bool // parsed
	}{
		{`{"objects":[{"a":1},{"b":2}]}`, 2, true},
		{`{"more":false,"next":"x","objects":[{}]}`, 1, true},
		{` {"objects":[1]} `, 1, true},
		{`{"objects":[]}`, 0, false},
		{`{}`, 0, false},
		{`[]`, 0, false},
		{`{"objects":{}}`, 0, false},
		{`{"objects":[{}],"objects":[{}]}`, 0, false},
		{`{"objects":[{}],"extra":1}`, 0, false},
		{`{"objects":[{}]} {}`, 0, false},
		{`{"objects":[{}`, 0, false},
		{`{"objects":[{},{},{},{},{}]}`, 0, false}, // over the bound of 4
	} {
		objs, err := ParseEnvelope([]byte(c.body), 4)
		if (err == nil) != c.ok || len(objs) != c.n {
			t.Errorf("%s: got %d objects, %v; want %d, ok %v", c.body, len(objs), err, c.n, c.ok)
		}
	}
	if _, err := ParseEnvelope([]byte(`{"objects":[{},{},{},{},{}]}`), 4); !errors.Is(err, ErrTooManyObjects) {
		t.Errorf("over the bound: %v, want ErrTooManyObjects", err)
	}
}

// FuzzParseEnvelope: any body is parsed or refused, never a panic; what
// is parsed is at most the bound, each object valid JSON whose head reads
// or is refused.
func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--6b5d1f0e-1c1a-4d5e-9f00-000000000001","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z"}]}`,
		`{"more":true,"objects":[{"type":"ipv4-addr","id":"ipv4-addr--6b5d1f0e-1c1a-4d5e-9f00-000000000001","value":"1.2.3.4"}]}`,
		`{"objects":[1,"a",null,[]]}`, `{"objects":[{}],"next":"1"}`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		objs, err := ParseEnvelope(body, 8)
		if err != nil {
			return
		}
		if len(objs) == 0 || len(objs) > 8 {
			t.Fatalf("%d objects", len(objs))
		}
		for _, o := range objs {
			if !json.Valid(o) {
				t.Fatalf("object %q is not valid JSON", o)
			}
			if h, err := stix.ReadHead(o); err == nil && (h.ID == "" || h.Type == "" || h.SpecVersion != "2.1") {
				t.Fatalf("head %+v read from %s", h, o)
			}
		}
	})
}
