package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
	srv := httptest.NewServer(New(o))
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv}
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
		// 4.1: discovery names the API roots; a principal sees its tenant's only.
		a := f.do("GET", "/taxii2/", "ann", "")
		roots, _ := a.json["api_roots"].([]any)
		if a.status != 200 || len(roots) != 1 || roots[0] != f.srv.URL+"/taxii2/acme/" || a.json["default"] != roots[0] || a.json["title"] == nil {
			t.Errorf("discovery: %d %s", a.status, a.body)
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
		for range 2 {
			if a := f.do("POST", coll+"/objects/", "ann", envelope(sco)); a.status != 202 || a.json["success_count"] != 1.0 {
				t.Fatalf("add: %d %s", a.status, a.body)
			}
		}
		a := f.do("GET", coll+"/objects/ipv4-addr--"+u1+"/versions/", "ann", "")
		vs, _ := a.json["versions"].([]any)
		if a.status != 200 || len(vs) != 1 || vs[0] != a.header.Get("X-TAXII-Date-Added-First") {
			t.Errorf("versions: %d %s (date added %s)", a.status, a.body, a.header.Get("X-TAXII-Date-Added-First"))
		}
	})
}
