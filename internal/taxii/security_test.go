package taxii

import (
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/storetest"
)

// TestAddFailureEcho: a refused object's status detail does not echo what
// was sent without bound. ReadHead quotes a bad type or id, and the status
// is JSON with HTML escaping: a type of '<' grew sixfold, so a body within
// max_content_length made a status (kept for good, and answered) several
// times its size.
func TestAddFailureEcho(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, target string) {
		const big = 1 << 20
		f := newFixture(t, target, Options{MaxContentLength: 4 << 20})
		objects := "/taxii2/acme/collections/" + intel + "/objects/"
		body := envelope(stixObject("indicator", u1, "2026-01-02T00:00:00.000Z"),
			`{"type":"`+strings.Repeat("<", big)+`","id":"x"}`,
			`{"type":"indicator","id":"`+strings.Repeat("<", big)+`"}`)
		a := f.do("POST", objects, "ann", body)
		if a.status != 202 || a.json["failure_count"] != 2.0 {
			t.Fatalf("add: %d %.300s", a.status, a.body)
		}
		if len(a.body) > 8<<10 {
			t.Errorf("status of an add of %d bytes: %d bytes", len(body), len(a.body))
		}
		id, _ := a.json["id"].(string)
		if s := f.do("GET", "/taxii2/acme/status/"+id+"/", "ann", ""); s.status != 200 || len(s.body) > 8<<10 {
			t.Errorf("status kept: %d, %d bytes", s.status, len(s.body))
		}
	})
}

// TestAddNotUTF8: an object that is not UTF-8 (JSON must be, RFC 8259
// section 8.1) is a failure of its own; the others are added. It made the
// whole add a 500 on PostgreSQL, whose text refuses it, and SQLite kept it
// to serve as it came.
func TestAddNotUTF8(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target, Options{})
		objects := "/taxii2/acme/collections/" + intel + "/objects/"
		bad := strings.Replace(stixObject("indicator", u2, "2026-01-02T00:00:00.000Z"), `"name":"x"`, "\"name\":\"x\xff\xfe\"", 1)
		a := f.do("POST", objects, "ann", envelope(stixObject("indicator", u1, "2026-01-02T00:00:00.000Z"), bad))
		if a.status != 202 || a.json["success_count"] != 1.0 || a.json["failure_count"] != 1.0 {
			t.Fatalf("add: %d %s", a.status, a.body)
		}
		g := f.do("GET", objects, "ann", "")
		if objs, _ := g.json["objects"].([]any); g.status != 200 || len(objs) != 1 {
			t.Errorf("objects: %d %s", g.status, g.body)
		}
	})
}
