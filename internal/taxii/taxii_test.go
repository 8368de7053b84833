package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/storetest"
)

// The tests below check what the TAXII 2.1 specification says each
// endpoint answers (sections 3 to 5), over the case store on both
// backends. Users: ann (acme, reads and writes "intel"), vic (acme,
// reads it only), gus (globex).

const (
	intel    = "8d5a1cd6-97c5-4d1c-9c42-3a7f3e0d7e01"
	readOnly = "3b0e2f6c-0c5e-4b0a-8f6e-2b1d1c7d9a02"
	globexC  = "f1c2d3e4-0000-4000-8000-000000000003"
)

// testBackend is the store with a fixed set of collections per user.
type testBackend struct {
	st   *store.Store
	cols map[string][]Collection
}

func (b testBackend) Collections(_ context.Context, p Principal) ([]Collection, error) {
	return b.cols[p.User], nil
}

func (b testBackend) Objects(ctx context.Context, c Collection, q store.TAXIIQuery) (store.TAXIIPage, error) {
	return b.st.TAXIIObjects(ctx, c.Tenant, c.ID, q)
}

func (b testBackend) Add(ctx context.Context, c Collection, objs []store.TAXIIObject, actor string) ([]bool, error) {
	return b.st.AddTAXIIObjects(ctx, c.Tenant, c.Case, c.ID, objs, actor)
}

func (b testBackend) Delete(ctx context.Context, c Collection, q store.TAXIIQuery, actor string) error {
	_, err := b.st.DeleteTAXIIObject(ctx, c.Tenant, c.Case, c.ID, q.IDs[0], q, actor)
	return err
}

func (b testBackend) PutStatus(ctx context.Context, tenant, id string, body json.RawMessage) error {
	return b.st.PutTAXIIStatus(ctx, tenant, id, body)
}

func (b testBackend) Status(ctx context.Context, tenant, id string) (json.RawMessage, error) {
	return b.st.TAXIIStatus(ctx, tenant, id)
}

type fixture struct {
	t   *testing.T
	srv *httptest.Server
	h   *Handler
}

func newFixture(t *testing.T, target string, o Options) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, tn := range []string{"acme", "globex"} {
		if _, err := st.AddTenant(ctx, tn, "root"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.AddCase(ctx, "acme", "intrusion", "", "root"); err != nil {
		t.Fatal(err)
	}
	rw := Collection{ID: intel, Title: "intel", Alias: "intel", CanRead: true, CanWrite: true, Tenant: "acme", Case: "intrusion"}
	ro := Collection{ID: readOnly, Title: "feed", CanRead: true, Tenant: "acme"}
	wo := rw
	wo.CanWrite = false
	users := map[string]string{"ann": "acme", "vic": "acme", "gus": "globex"}
	o.Backend = testBackend{st: st, cols: map[string][]Collection{
		"ann": {rw, ro},
		"vic": {wo, {ID: readOnly, Title: "feed", Tenant: "acme", CanWrite: true}},
		"gus": {{ID: globexC, Title: "g", CanRead: true, CanWrite: true, Tenant: "globex"}},
	}}
	o.Authenticate = func(r *http.Request) (Principal, error) {
		u, pw, ok := r.BasicAuth()
		if !ok || pw != "pw-"+u || users[u] == "" {
			return Principal{}, ErrUnauthenticated
		}
		return Principal{Tenant: users[u], User: u}, nil
	}
	h := New(o)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, h: h}
}

type answer struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

// do sends a request as user ("" for none) with headers given as
// name/value pairs; an Accept of TAXII 2.1 unless one is given.
func (f *fixture) do(method, path, user, body string, hdr ...string) answer {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Accept", MediaType)
	if body != "" {
		req.Header.Set("Content-Type", MediaType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	if user != "" {
		req.SetBasicAuth(user, "pw-"+user)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	json.Unmarshal(b, &a.json)
	// Every answer, an error too, is in TAXII's media type.
	if ct := resp.Header.Get("Content-Type"); ct != MediaType {
		f.t.Errorf("%s %s: Content-Type %q, want %q", method, path, ct, MediaType)
	}
	return a
}

// isError checks an error answer: its status, and the error message's
// required title and its http_status.
func (a answer) isError(t *testing.T, what string, status int) {
	t.Helper()
	if a.status != status {
		t.Errorf("%s: status %d, want %d (%s)", what, a.status, status, a.body)
		return
	}
	if a.json["title"] == "" || a.json["title"] == nil || a.json["http_status"] != fmt.Sprint(status) {
		t.Errorf("%s: error message %s: want a title and http_status %q", what, a.body, fmt.Sprint(status))
	}
}

func stixObject(typ, uuid, modified string) string {
	return fmt.Sprintf(`{"type":%q,"spec_version":"2.1","id":"%s--%s","created":"2026-01-01T00:00:00.000Z","modified":%q,"name":"x"}`,
		typ, typ, uuid, modified)
}

func envelope(objs ...string) string { return `{"objects":[` + strings.Join(objs, ",") + `]}` }

const (
	u1 = "6b5d1f0e-1c1a-4d5e-9f00-000000000001"
	u2 = "6b5d1f0e-1c1a-4d5e-9f00-000000000002"
)

func TestDiscoveryAndRoots(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target, Options{MaxContentLength: 1 << 20})
		// 4.1: discovery names the API roots; a principal sees its tenant's
		// only. 4.1.1: an API root URL is HTTPS and absolute, or relative:
		// over plain HTTP (TLS ended by a proxy) it is relative.
		a := f.do("GET", "/taxii2/", "ann", "")
		roots, _ := a.json["api_roots"].([]any)
		if a.status != 200 || len(roots) != 1 || roots[0] != "/taxii2/acme/" || a.json["default"] != roots[0] || a.json["title"] == nil {
			t.Errorf("discovery: %d %s", a.status, a.body)
		}
		r := httptest.NewRequest("GET", "https://taxii.example.com/taxii2/", nil)
		r.SetBasicAuth("ann", "pw-ann")
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		var d struct {
			Default  string   `json:"default"`
			APIRoots []string `json:"api_roots"`
		}
		if json.Unmarshal(w.Body.Bytes(), &d); w.Code != 200 || fmt.Sprint(d.APIRoots) != "[https://taxii.example.com/taxii2/acme/]" || d.Default != d.APIRoots[0] {
			t.Errorf("discovery over HTTPS: %d %s", w.Code, w.Body)
		}
		// 4.2: the API root's versions and max_content_length.
		a = f.do("GET", "/taxii2/acme/", "ann", "")
		if a.status != 200 || fmt.Sprint(a.json["versions"]) != "["+MediaType+"]" || a.json["max_content_length"] != float64(1<<20) {
			t.Errorf("api root: %d %s", a.status, a.body)
		}
		f.do("GET", "/taxii2/globex/", "ann", "").isError(t, "another tenant's root", 404)
		f.do("GET", "/taxii2/nope/", "ann", "").isError(t, "unknown root", 404)
		f.do("GET", "/taxii2/acme/what/", "ann", "").isError(t, "unknown endpoint", 404)
		// 5.1, 5.2: collections with their permissions and media types.
		a = f.do("GET", "/taxii2/acme/collections/", "ann", "")
		cs, _ := a.json["collections"].([]any)
		if a.status != 200 || len(cs) != 2 {
			t.Fatalf("collections: %d %s", a.status, a.body)
		}
		c0 := cs[0].(map[string]any)
		if c0["id"] != intel || c0["can_read"] != true || c0["can_write"] != true || fmt.Sprint(c0["media_types"]) != "["+STIXMediaType+"]" {
			t.Errorf("collection %v", c0)
		}
		a = f.do("GET", "/taxii2/acme/collections/"+readOnly+"/", "ann", "")
		if a.status != 200 || a.json["can_write"] != false || a.json["title"] != "feed" {
			t.Errorf("collection: %d %s", a.status, a.body)
		}
		f.do("GET", "/taxii2/acme/collections/"+globexC+"/", "ann", "").isError(t, "another tenant's collection", 404)
		f.do("GET", "/taxii2/globex/collections/"+globexC+"/", "ann", "").isError(t, "through another tenant's root", 404)
		a = f.do("GET", "/taxii2/globex/collections/", "gus", "")
		if cs, _ := a.json["collections"].([]any); a.status != 200 || len(cs) != 1 {
			t.Errorf("globex collections: %d %s", a.status, a.body)
		}
	})
}

func TestAuthenticationAndNegotiation(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target, Options{})
		a := f.do("GET", "/taxii2/", "", "")
		a.isError(t, "no credentials", 401)
		if !slices.ContainsFunc(a.header.Values("WWW-Authenticate"), func(s string) bool { return strings.HasPrefix(s, "Basic ") }) {
			t.Errorf("401 without a Basic challenge: %v", a.header)
		}
		req, _ := http.NewRequest("GET", f.srv.URL+"/taxii2/", nil)
		req.SetBasicAuth("ann", "wrong")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
			t.Errorf("wrong password: %v %v", resp.StatusCode, err)
		} else {
			resp.Body.Close()
		}
		// Content negotiation: TAXII 2.1, a range admitting it, or none.
		for _, c := range []struct {
			accept string
			want   int
		}{
			{"application/taxii+json;version=2.1", 200},
			{"application/taxii+json; version=2.1", 200},
			{"application/taxii+json", 200},
			{"*/*", 200},
			{"application/*", 200},
			{"text/html, application/taxii+json;version=2.1;q=0.5", 200},
			{"application/json", 406},
			{"application/taxii+json;version=2.0", 406},
			{"application/taxii+json;version=2.1;q=0", 406},
			{"text/html", 406},
		} {
			a := f.do("GET", "/taxii2/acme/collections/", "ann", "", "Accept", c.accept)
			if c.want == 200 && a.status != 200 {
				t.Errorf("Accept %q: %d, want 200", c.accept, a.status)
			} else if c.want != 200 {
				a.isError(t, "Accept "+c.accept, c.want)
			}
		}
		if a := f.do("GET", "/taxii2/acme/", "ann", "", "Accept", ""); a.status != 200 {
			t.Errorf("no Accept: %d", a.status)
		}
		a = f.do("DELETE", "/taxii2/acme/collections/"+intel+"/objects/", "ann", "")
		a.isError(t, "DELETE objects", 405)
		if a.header.Get("Allow") != "GET, POST" {
			t.Errorf("Allow %q", a.header.Get("Allow"))
		}
		f.do("POST", "/taxii2/acme/", "ann", "{}").isError(t, "POST api root", 405)
	})
}

func TestAddObjects(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target, Options{MaxContentLength: 4096, MaxObjects: 3})
		objects := "/taxii2/acme/collections/" + intel + "/objects/"
		body := envelope(stixObject("indicator", u1, "2026-01-02T00:00:00.000Z"),
			`{"type":"indicator","id":"indicator--bad"}`,
			stixObject("malware", u2, "2026-01-02T00:00:00.000Z"))
		// 5.5: 202 and a status resource.
		a := f.do("POST", objects, "ann", body)
		if a.status != 202 || a.json["status"] != "complete" || a.json["total_count"] != 3.0 ||
			a.json["success_count"] != 2.0 || a.json["failure_count"] != 1.0 || a.json["pending_count"] != 0.0 {
			t.Fatalf("add: %d %s", a.status, a.body)
		}
		id, _ := a.json["id"].(string)
		// 4.3: the status is kept, for its tenant only.
		s := f.do("GET", "/taxii2/acme/status/"+id+"/", "vic", "")
		if s.status != 200 || s.json["id"] != id || s.json["success_count"] != 2.0 {
			t.Errorf("status: %d %s", s.status, s.body)
		}
		f.do("GET", "/taxii2/globex/status/"+id+"/", "gus", "").isError(t, "another tenant's status", 404)
		f.do("GET", "/taxii2/acme/status/nope/", "ann", "").isError(t, "unknown status", 404)
		// Adding the same objects again adds nothing.
		a = f.do("POST", objects, "ann", envelope(stixObject("indicator", u1, "2026-01-02T00:00:00.000Z")))
		if a.status != 202 || a.json["success_count"] != 1.0 {
			t.Errorf("re-add: %d %s", a.status, a.body)
		}
		if g := f.do("GET", objects+"?match[version]=all", "ann", ""); len(g.json["objects"].([]any)) != 2 {
			t.Errorf("after a re-add: %s", g.body)
		}
		// The errors of 5.5.
		f.do("POST", objects, "ann", body, "Content-Type", "application/json").isError(t, "application/json", 415)
		f.do("POST", objects, "ann", body, "Content-Type", "application/taxii+json;version=2.0").isError(t, "version 2.0", 415)
		f.do("POST", objects, "ann", `{"objects":[`+strings.Repeat(`{"a":"b"},`, 500)+`{}]}`).isError(t, "too large", 413)
		f.do("POST", objects, "ann", envelope("{}", "{}", "{}", "{}")).isError(t, "too many objects", 413)
		f.do("POST", objects, "ann", `{"objects":`).isError(t, "bad JSON", 400)
		f.do("POST", objects, "ann", `{"objects":[]}`).isError(t, "no objects", 400)
		f.do("POST", objects, "vic", body).isError(t, "no write permission", 403)
		f.do("POST", "/taxii2/acme/collections/"+globexC+"/objects/", "ann", body).isError(t, "another tenant's collection", 404)
	})
}

func TestGetObjects(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target, Options{})
		coll := "/taxii2/acme/collections/" + intel
		for _, b := range []string{
			envelope(stixObject("indicator", u1, "2026-01-01T00:00:00.000Z"), stixObject("malware", u2, "2026-01-01T00:00:00.000Z")),
			envelope(stixObject("indicator", u1, "2026-01-03T00:00:00.000Z")),
		} {
			if a := f.do("POST", coll+"/objects/", "ann", b); a.status != 202 {
				t.Fatalf("add: %d %s", a.status, a.body)
			}
		}
		ids := func(a answer, key string) string {
			var out []string
			for _, o := range a.json[key].([]any) {
				switch o := o.(type) {
				case string:
					out = append(out, o)
				case map[string]any:
					v := o["modified"]
					if v == nil {
						v = o["version"]
					}
					out = append(out, fmt.Sprint(o["type"], o["id"], "@", v))
				}
			}
			return strings.Join(out, " ")
		}
		type get struct {
			path, key, want string
		}
		ind, mal := "indicator--"+u1, "malware--"+u2
		for _, g := range []get{
			// 5.4: the latest version of each object by default.
			{"/objects/", "objects", "malwaremalware--" + u2 + "@2026-01-01T00:00:00.000Z indicatorindicator--" + u1 + "@2026-01-03T00:00:00.000Z"},
			{"/objects/?match[type]=malware", "objects", "malwaremalware--" + u2 + "@2026-01-01T00:00:00.000Z"},
			{"/objects/?match[id]=" + ind + "&match[version]=first", "objects", "indicatorindicator--" + u1 + "@2026-01-01T00:00:00.000Z"},
			{"/objects/?match[version]=all&match[type]=indicator", "objects",
				"indicatorindicator--" + u1 + "@2026-01-01T00:00:00.000Z indicatorindicator--" + u1 + "@2026-01-03T00:00:00.000Z"},
			{"/objects/?match[version]=2026-01-01T00:00:00Z&match[id]=" + ind + "," + mal, "objects",
				"indicatorindicator--" + u1 + "@2026-01-01T00:00:00.000Z malwaremalware--" + u2 + "@2026-01-01T00:00:00.000Z"},
			// 5.3: the manifest.
			{"/manifest/?match[id]=" + mal, "objects", "<nil>malware--" + u2 + "@2026-01-01T00:00:00.000Z"},
			// 5.6, 5.8: one object, its versions.
			{"/objects/" + ind + "/", "objects", "indicatorindicator--" + u1 + "@2026-01-03T00:00:00.000Z"},
			{"/objects/" + ind + "/?match[version]=all", "objects",
				"indicatorindicator--" + u1 + "@2026-01-01T00:00:00.000Z indicatorindicator--" + u1 + "@2026-01-03T00:00:00.000Z"},
			{"/objects/" + ind + "/versions/", "versions", "2026-01-01T00:00:00.000Z 2026-01-03T00:00:00.000Z"},
		} {
			a := f.do("GET", coll+g.path, "vic", "")
			if a.status != 200 {
				t.Errorf("%s: %d %s", g.path, a.status, a.body)
				continue
			}
			if got := ids(a, g.key); got != g.want {
				t.Errorf("%s:\n got %s\nwant %s", g.path, got, g.want)
			}
			if a.header.Get("X-TAXII-Date-Added-First") == "" || a.header.Get("X-TAXII-Date-Added-Last") == "" {
				t.Errorf("%s: no X-TAXII-Date-Added headers", g.path)
			}
		}
		m := f.do("GET", coll+"/manifest/", "ann", "")
		rec := m.json["objects"].([]any)[0].(map[string]any)
		if rec["media_type"] != STIXMediaType || rec["date_added"] == nil || rec["version"] == nil {
			t.Errorf("manifest record %v", rec)
		}
		// An empty result is an empty envelope, not an error.
		if a := f.do("GET", coll+"/objects/?match[type]=tool", "ann", ""); a.status != 200 || string(a.body) != "{}\n" {
			t.Errorf("nothing matched: %d %q", a.status, a.body)
		}
		// 3.5: pages of limit, continued by next; more says there is more;
		// the headers give the first and last date_added of the page.
		var seen []string
		next := ""
		for n := 0; n < 5; n++ {
			a := f.do("GET", coll+"/objects/?match[version]=all&limit=1&next="+next, "ann", "")
			objs, _ := a.json["objects"].([]any)
			if a.status != 200 || len(objs) != 1 {
				t.Fatalf("page %d: %d %s", n, a.status, a.body)
			}
			if a.header.Get("X-TAXII-Date-Added-First") != a.header.Get("X-TAXII-Date-Added-Last") {
				t.Errorf("page of one: first %q last %q", a.header.Get("X-TAXII-Date-Added-First"), a.header.Get("X-TAXII-Date-Added-Last"))
			}
			seen = append(seen, ids(a, "objects"))
			if a.json["more"] != true {
				if a.json["next"] != nil {
					t.Errorf("last page has next %v", a.json["next"])
				}
				break
			}
			next, _ = a.json["next"].(string)
		}
		if len(seen) != 3 {
			t.Errorf("pages: %v", seen)
		}
		// added_after with the last page's X-TAXII-Date-Added-Last continues too.
		a := f.do("GET", coll+"/objects/?match[version]=all&limit=2", "ann", "")
		last := a.header.Get("X-TAXII-Date-Added-Last")
		a = f.do("GET", coll+"/objects/?match[version]=all&added_after="+last, "ann", "")
		if got := ids(a, "objects"); got != "indicatorindicator--"+u1+"@2026-01-03T00:00:00.000Z" {
			t.Errorf("added_after %s: %s", last, got)
		}
		// Errors: bad parameters 400, unknown object 404, no read 403.
		for _, q := range []string{"limit=0", "limit=x", "added_after=yesterday", "next=abc", "match[version]=newest", "match[type]=a,,b"} {
			f.do("GET", coll+"/objects/?"+q, "ann", "").isError(t, q, 400)
		}
		f.do("GET", coll+"/objects/indicator--"+u2+"/", "ann", "").isError(t, "unknown object", 404)
		f.do("GET", coll+"/objects/indicator--"+u2+"/versions/", "ann", "").isError(t, "unknown object's versions", 404)
		f.do("GET", "/taxii2/acme/collections/"+readOnly+"/objects/", "vic", "").isError(t, "no read permission", 403)
		f.do("GET", "/taxii2/acme/collections/"+readOnly+"/manifest/", "vic", "").isError(t, "no read permission", 403)

		// 5.7: deleting an object's versions, those match[version] names
		// or all of them.
		obj := coll + "/objects/" + ind + "/"
		f.do("DELETE", obj, "vic", "").isError(t, "delete without write permission", 403)
		f.do("DELETE", obj+"?match[version]=soon", "ann", "").isError(t, "delete with a bad version", 400)
		if a := f.do("DELETE", obj+"?match[version]=2026-01-01T00:00:00.000Z", "ann", ""); a.status != 200 {
			t.Errorf("delete a version: %d %s", a.status, a.body)
		}
		if a := f.do("GET", obj+"versions/", "ann", ""); ids(a, "versions") != "2026-01-03T00:00:00.000Z" {
			t.Errorf("versions after deleting one: %s", a.body)
		}
		if a := f.do("DELETE", obj, "ann", ""); a.status != 200 {
			t.Errorf("delete: %d %s", a.status, a.body)
		}
		f.do("GET", obj, "ann", "").isError(t, "a deleted object", 404)
		f.do("DELETE", obj, "ann", "").isError(t, "delete again", 404)
		if a := f.do("GET", coll+"/objects/", "ann", ""); ids(a, "objects") != "malwaremalware--"+u2+"@2026-01-01T00:00:00.000Z" {
			t.Errorf("after the delete: %s", a.body)
		}
	})
}

// TestVersionsUnversioned: an object without modified or created (a
// cyber-observable) is listed with the date it was added as its version,
// and adding it again adds nothing.
func TestVersionsUnversioned(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, target string) {
		now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		f := newFixture(t, target, Options{Now: func() time.Time { return now }})
		coll := "/taxii2/acme/collections/" + intel
		sco := `{"type":"ipv4-addr","id":"ipv4-addr--` + u1 + `","value":"198.51.100.7"}`
		var statusVersions []any
		for range 2 {
			a := f.do("POST", coll+"/objects/", "ann", envelope(sco))
			if a.status != 202 || a.json["success_count"] != 1.0 {
				t.Fatalf("add: %d %s", a.status, a.body)
			}
			statusVersions = append(statusVersions, a.json["successes"].([]any)[0].(map[string]any)["version"])
		}
		a := f.do("GET", coll+"/objects/ipv4-addr--"+u1+"/versions/", "ann", "")
		vs, _ := a.json["versions"].([]any)
		if a.status != 200 || len(vs) != 1 || vs[0] != a.header.Get("X-TAXII-Date-Added-First") {
			t.Errorf("versions: %d %s (date added %s)", a.status, a.body, a.header.Get("X-TAXII-Date-Added-First"))
		}
		// The status of both adds gives that version (section 4.3.1), and
		// match[version] finds the object by it.
		if len(vs) == 1 && (statusVersions[0] != vs[0] || statusVersions[1] != vs[0]) {
			t.Errorf("status versions %v, want %v twice", statusVersions, vs[0])
		}
		if len(vs) == 1 {
			if a := f.do("GET", coll+"/objects/ipv4-addr--"+u1+"/?match[version]="+vs[0].(string), "ann", ""); a.status != 200 {
				t.Errorf("the object by its version: %d %s", a.status, a.body)
			}
		}
	})
}

// uuid4RE is TAXII's identifier (section 2): an RFC 4122 version 4 UUID.
var uuid4RE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// taxiiTimeRE is TAXII's timestamp (section 2): UTC, "Z", microseconds.
var taxiiTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$`)

// TestIdentifiersAndTimestamps: the ids a server gives are version 4
// UUIDs, and its own timestamps (date_added, the X-TAXII-Date-Added
// headers, request_timestamp) have microseconds, even on a whole second.
func TestIdentifiersAndTimestamps(t *testing.T) {
	for _, id := range []string{NewID(), NewID(), DerivedID("a"), DerivedID("b")} {
		if !uuid4RE.MatchString(id) {
			t.Errorf("id %q is not a version 4 UUID", id)
		}
	}
	if DerivedID("a") != DerivedID("a") || DerivedID("a") == DerivedID("b") || NewID() == NewID() {
		t.Error("DerivedID is not one id per name, or NewID repeats")
	}
	storetest.Backends(t, func(t *testing.T, target string) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		f := newFixture(t, target, Options{Now: func() time.Time { return now }})
		coll := "/taxii2/acme/collections/" + intel
		a := f.do("POST", coll+"/objects/", "ann", envelope(stixObject("indicator", u1, "2026-01-02T00:00:00.000Z")))
		if id, _ := a.json["id"].(string); a.status != 202 || !uuid4RE.MatchString(id) {
			t.Errorf("status id %v: want a version 4 UUID", a.json["id"])
		}
		if ts, _ := a.json["request_timestamp"].(string); ts != "2026-03-01T12:00:00.000000Z" {
			t.Errorf("request_timestamp %q, want 2026-03-01T12:00:00.000000Z", ts)
		}
		for _, p := range []string{"/manifest/", "/objects/", "/objects/indicator--" + u1 + "/", "/objects/indicator--" + u1 + "/versions/"} {
			a := f.do("GET", coll+p, "ann", "")
			for _, hd := range []string{"X-TAXII-Date-Added-First", "X-TAXII-Date-Added-Last"} {
				if v := a.header.Get(hd); !taxiiTimeRE.MatchString(v) {
					t.Errorf("%s: %s %q, want a TAXII timestamp", p, hd, v)
				}
			}
		}
		m := f.do("GET", coll+"/manifest/", "ann", "")
		rec := m.json["objects"].([]any)[0].(map[string]any)
		if !taxiiTimeRE.MatchString(rec["date_added"].(string)) || rec["version"] != "2026-01-02T00:00:00.000Z" {
			t.Errorf("manifest record %v: want date_added a TAXII timestamp, version the object's modified", rec)
		}
	})
}

// TestQueryParameters: section 3.4's rules on parameters. Malformed ones
// are 400: added_after, limit, next given twice; a match field given
// twice; a version keyword or timestamp named twice; "all" with another
// version; a timestamp not in UTC. The specification's own examples are
// taken.
func TestQueryParameters(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target, Options{})
		coll := "/taxii2/acme/collections/" + intel
		f.do("POST", coll+"/objects/", "ann", envelope(stixObject("indicator", u1, "2026-01-01T00:00:00.000Z")))
		f.do("POST", coll+"/objects/", "ann", envelope(stixObject("indicator", u1, "2026-01-03T00:00:00.000Z")))
		for _, q := range []string{
			"added_after=2026-01-01T00:00:00Z&added_after=2026-01-02T00:00:00Z",
			"limit=1&limit=2",
			"next=1-1&next=2-2",
			"match[type]=indicator&match[type]=malware",
			"match[version]=all,first",
			"match[version]=last,last",
			"match[version]=2026-01-01T00:00:00Z,2026-01-01T00:00:00.000Z",
			"added_after=2026-01-01T01:00:00%2B01:00",
			"match[version]=2026-01-01T01:00:00.000%2B01:00",
			"added_after=2026-01-01",
		} {
			f.do("GET", coll+"/objects/?"+q, "ann", "").isError(t, q, 400)
		}
		for q, want := range map[string]int{
			"match[type]=campaign,malware,threat-actor":                                      0,
			"match[type]=incident&match[version]=2016-01-01T01:01:01.000Z":                   0,
			"match[version]=last,first":                                                      2,
			"match[version]=first,2018-03-02T01:01:01.123Z,last":                             2,
			"match[version]=2016-03-23T01:01:01.000Z,2018-03-02T01:01:01.123Z":               0,
			"match[version]=2026-01-03T00:00:00Z":                                            1,
			"match[spec_version]=2.0,2.1":                                                    1,
			"match[spec_version]=2.0":                                                        0,
			"match[id]=indicator--" + u1 + ",sighting--4600ad1b-fff1-4c58-bcc9-4de3bc5e2ffd": 1,
			"added_after=2026-01-01T00:00:00.000000Z&limit=5":                                1,
		} {
			a := f.do("GET", coll+"/objects/?"+q, "ann", "")
			objs, _ := a.json["objects"].([]any)
			if a.status != 200 || len(objs) != want {
				t.Errorf("%s: %d, %d objects, want 200 and %d: %s", q, a.status, len(objs), want, a.body)
			}
		}
	})
}

// TestAddAndDeleteRules: an add of which no object is STIX 2.1 is 422
// (section 5.5); deleting needs can_read and can_write, 403 with one of
// them (section 5.7's table); a collection is named by its alias too
// (section 5.2.1).
func TestAddAndDeleteRules(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target, Options{})
		coll := "/taxii2/acme/collections/" + intel
		stix20 := `{"type":"indicator","id":"indicator--` + u1 + `","created":"2016-01-01T00:00:00.000Z","modified":"2016-01-01T00:00:00.000Z"}`
		a := f.do("POST", coll+"/objects/", "ann", envelope(stix20, `{"type":"x"}`))
		a.isError(t, "STIX 2.0 objects only", 422)
		if d, _ := a.json["description"].(string); !strings.Contains(d, "spec_version") {
			t.Errorf("422 without the reason: %s", a.body)
		}
		if a := f.do("GET", coll+"/objects/", "ann", ""); a.json["objects"] != nil {
			t.Errorf("a refused add added: %s", a.body)
		}
		// One good object among bad ones: 202, the bad ones its failures.
		if a := f.do("POST", coll+"/objects/", "ann", envelope(stix20, stixObject("indicator", u2, "2026-01-01T00:00:00.000Z"))); a.status != 202 || a.json["failure_count"] != 1.0 {
			t.Errorf("a mixed add: %d %s", a.status, a.body)
		}
		// Deleting: ann reads "feed" and may not add there; vic may add to
		// it and not read it. Both are 403, not found is for neither.
		feedObj := "/taxii2/acme/collections/" + readOnly + "/objects/indicator--" + u2 + "/"
		f.do("DELETE", feedObj, "ann", "").isError(t, "delete with can_read only", 403)
		f.do("DELETE", feedObj, "vic", "").isError(t, "delete with can_write only", 403)
		f.do("DELETE", "/taxii2/acme/collections/"+readOnly+"/objects/indicator--"+u2+"/", "gus", "").isError(t, "delete with neither", 404)
		// The alias names the collection as its id does.
		if a := f.do("GET", "/taxii2/acme/collections/intel/", "ann", ""); a.status != 200 || a.json["id"] != intel {
			t.Errorf("collection by alias: %d %s", a.status, a.body)
		}
		if a := f.do("GET", "/taxii2/acme/collections/intel/objects/indicator--"+u2+"/", "ann", ""); a.status != 200 {
			t.Errorf("object through the alias: %d %s", a.status, a.body)
		}
		f.do("GET", "/taxii2/acme/collections/feed/", "ann", "").isError(t, "a title is no alias", 404)
	})
}
