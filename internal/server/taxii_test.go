package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/stix"
	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/taxii"
)

// caseSTIX exports a case's stored operations as cli's CaseSTIX does, less
// the rule texts and ATT&CK names it looks up.
func caseSTIX(st *store.Store) CaseSTIXFunc {
	return func(ctx context.Context, tenant, caseName string) ([]json.RawMessage, error) {
		stored, err := st.Operations(ctx, tenant, caseName)
		if err != nil || len(stored) == 0 {
			return nil, err
		}
		ops := make([]stix.Operation, len(stored))
		for i, o := range stored {
			ops[i].Op = new(result.Operation)
			if err := json.Unmarshal(o.JSON, ops[i].Op); err != nil {
				return nil, err
			}
		}
		b, err := stix.Export(ops, stix.Options{})
		if err != nil {
			return nil, err
		}
		out := make([]json.RawMessage, len(b.Objects))
		for i, o := range b.Objects {
			if out[i], err = json.Marshal(o); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}

// taxiiFixture is the console's fixture with its case export wired.
func taxiiFixture(t testing.TB, target string) *fixture {
	f := newFixture(t, target)
	f.srv.Close()
	f.srv = New(f.st, Options{Now: f.clock.Now, CaseSTIX: caseSTIX(f.st)})
	t.Cleanup(f.srv.Close)
	return f
}

// taxiiDo sends a TAXII request with HTTP basic credentials (user "" for
// none) and more headers as name/value pairs.
func (f *fixture) taxiiDo(user, method, path, body string, edit ...func(*http.Request)) (*httptest.ResponseRecorder, map[string]any) {
	f.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Accept", taxii.MediaType)
	if body != "" {
		r.Header.Set("Content-Type", taxii.MediaType)
	}
	if user != "" {
		r.SetBasicAuth(user, password)
	}
	for _, e := range edit {
		e(r)
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); ct != taxii.MediaType {
		f.t.Errorf("%s %s: Content-Type %q, want %q", method, path, ct, taxii.MediaType)
	}
	var m map[string]any
	json.Unmarshal(w.Body.Bytes(), &m)
	return w, m
}

func collectionPath(tenant, caseName, rest string) string {
	return "/taxii2/" + tenant + "/collections/" + CollectionID(tenant, caseName) + "/" + rest
}

const indicator = `{"type":"indicator","spec_version":"2.1","id":"indicator--6b5d1f0e-1c1a-4d5e-9f00-000000000001",` +
	`"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.7']",` +
	`"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`

// TestTAXIIAuthentication: basic credentials of a spoor user, or an API
// token; a session cookie alone is no credential; wrong passwords count
// against the console's login limits.
func TestTAXIIAuthentication(t *testing.T) {
	f := taxiiFixture(t, t.TempDir())
	w, m := f.taxiiDo("ann", "GET", "/taxii2/", "")
	if w.Code != 200 || fmt.Sprint(m["api_roots"]) != "[/taxii2/acme/]" {
		t.Errorf("discovery as ann: %d %s", w.Code, w.Body)
	}
	// Unclean paths are TAXII's to answer (in its media type, taxiiDo
	// checks), not the mux's HTML redirect.
	if w, _ := f.taxiiDo("ann", "GET", "/taxii2", ""); w.Code != 200 {
		t.Errorf("/taxii2: %d %s", w.Code, w.Body)
	}
	if w, _ := f.taxiiDo("ann", "GET", "/taxii2/acme/./collections/", ""); w.Code != 404 {
		t.Errorf("/taxii2/acme/./collections/: %d %s", w.Code, w.Body)
	}
	if w, _ := f.taxiiDo("", "GET", "/taxii2/", ""); w.Code != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), "Basic") {
		t.Errorf("no credentials: %d %v", w.Code, w.Header())
	}
	session := f.login("ann")
	if w, _ := f.taxiiDo("", "GET", "/taxii2/", "", func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: session.cookie})
	}); w.Code != 401 {
		t.Errorf("a session cookie: %d, want 401", w.Code)
	}
	_, secret, err := f.st.AddToken(context.Background(), "acme", "ann", "feed", store.RoleViewer, f.clock.Now().Add(time.Hour), "ann")
	must(t, err)
	bearer := func(s string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+s) }
	}
	if w, _ := f.taxiiDo("", "GET", "/taxii2/acme/collections/", "", bearer(secret)); w.Code != 200 {
		t.Errorf("token: %d %s", w.Code, w.Body)
	}
	// The token is a viewer's: it reads, and may not add.
	if w, _ := f.taxiiDo("", "POST", collectionPath("acme", "", "objects/"), `{"objects":[`+indicator+`]}`, bearer(secret)); w.Code != 403 {
		t.Errorf("viewer token adds: %d %s", w.Code, w.Body)
	}
	if w, m := f.taxiiDo("", "GET", "/taxii2/", "", bearer("spoor_nonsense")); w.Code != 401 || m["http_status"] != "401" {
		t.Errorf("unknown token: %d %s", w.Code, w.Body)
	}
	from := func(r *http.Request) { r.RemoteAddr = "192.0.2.9:4242" }
	for i := range 5 {
		if w, _ := f.taxiiDo("", "GET", "/taxii2/", "", from, func(r *http.Request) { r.SetBasicAuth("vic", fmt.Sprint("guess", i)) }); w.Code != 401 {
			t.Fatalf("wrong password %d: %d", i, w.Code)
		}
	}
	w, m = f.taxiiDo("vic", "GET", "/taxii2/", "", from)
	if w.Code != 429 || w.Header().Get("Retry-After") == "" || m["http_status"] != "429" {
		t.Errorf("past the limits: %d %s", w.Code, w.Body)
	}
	// The same limits as the console's login.
	if c := f.do(client{}, "POST", "/api/login", map[string]string{"user": "vic", "password": password}, from).Code; c != 429 {
		t.Errorf("console login after TAXII's failures: %d, want 429", c)
	}
	// Right credentials are remembered: a client paging through a
	// collection is not held up by the login limits...
	for i := range 20 {
		if w, _ := f.taxiiDo("ann", "GET", "/taxii2/acme/collections/", "", from); w.Code != 200 {
			t.Fatalf("request %d as ann: %d", i, w.Code)
		}
	}
	// ...but a user disabled is out at once, and a changed password ends
	// the old one's welcome.
	must(t, f.st.DisableUser(context.Background(), "acme", "ann", "ada"))
	if w, _ := f.taxiiDo("ann", "GET", "/taxii2/", ""); w.Code != 401 {
		t.Errorf("disabled ann: %d, want 401", w.Code)
	}
	if w, _ := f.taxiiDo("ada", "GET", "/taxii2/", ""); w.Code != 200 {
		t.Fatalf("ada: %d", w.Code)
	}
	ada := f.login("ada")
	if w := f.do(ada, "PUT", "/api/me/password", map[string]string{"current": password, "new": "another long password"}); w.Code != 204 {
		t.Fatalf("change password: %d %s", w.Code, w.Body)
	}
	if w, _ := f.taxiiDo("ada", "GET", "/taxii2/", ""); w.Code != 401 {
		t.Errorf("old password after a change: %d, want 401", w.Code)
	}
}

// TestTAXIITenantIsolation: a tenant's API root, collections, objects and
// statuses are not found from another tenant, as if they did not exist.
func TestTAXIITenantIsolation(t *testing.T) {
	backends(t, func(t *testing.T, target string) {
		f := taxiiFixture(t, target)
		w, m := f.taxiiDo("ann", "POST", collectionPath("acme", "", "objects/"), `{"objects":[`+indicator+`]}`)
		if w.Code != 202 {
			t.Fatalf("add: %d %s", w.Code, w.Body)
		}
		status := m["id"].(string)
		for _, p := range []string{
			"/taxii2/acme/",
			"/taxii2/acme/collections/",
			"/taxii2/acme/status/" + status + "/",
			"/taxii2/globex/status/" + status + "/",
			collectionPath("acme", "", ""),
			collectionPath("acme", "", "objects/"),
			collectionPath("acme", "intrusion", "manifest/"),
			strings.Replace(collectionPath("acme", "", "objects/"), "/acme/", "/globex/", 1),
			strings.Replace(collectionPath("acme", "intrusion", "objects/"), "/acme/", "/globex/", 1),
		} {
			w, m := f.taxiiDo("gus", "GET", p, "")
			if w.Code != 404 || m["http_status"] != "404" {
				t.Errorf("gus GET %s: %d %s, want 404", p, w.Code, w.Body)
			}
		}
		obj := "objects/indicator--6b5d1f0e-1c1a-4d5e-9f00-000000000001/"
		for _, p := range []string{collectionPath("acme", "", obj), strings.Replace(collectionPath("acme", "", obj), "/acme/", "/globex/", 1)} {
			if w, _ := f.taxiiDo("gus", "DELETE", p, ""); w.Code != 404 {
				t.Errorf("gus DELETE %s: %d, want 404", p, w.Code)
			}
		}
		if w, _ := f.taxiiDo("ann", "GET", collectionPath("acme", "", obj), ""); w.Code != 200 {
			t.Errorf("acme's object after globex's deletes: %d", w.Code)
		}
		w, m = f.taxiiDo("gus", "GET", "/taxii2/globex/collections/", "")
		cs, _ := m["collections"].([]any)
		if w.Code != 200 || len(cs) != 2 {
			t.Fatalf("globex collections: %d %s", w.Code, w.Body)
		}
		for _, c := range cs {
			id := c.(map[string]any)["id"]
			if id == CollectionID("acme", "") || id == CollectionID("acme", "intrusion") {
				t.Errorf("globex lists acme's collection %v", id)
			}
		}
		if w, m := f.taxiiDo("gus", "GET", collectionPath("globex", "", "objects/"), ""); w.Code != 200 || m["objects"] != nil {
			t.Errorf("globex's own collection: %d %s", w.Code, w.Body)
		}
	})
}

// TestTAXIIPermissions: a viewer reads and an analyst also adds; a grant
// takes either away from one user on one collection.
func TestTAXIIPermissions(t *testing.T) {
	f := taxiiFixture(t, t.TempDir())
	add := `{"objects":[` + indicator + `]}`
	caseObjects := collectionPath("acme", "intrusion", "objects/")
	if w, _ := f.taxiiDo("vic", "GET", caseObjects, ""); w.Code != 200 {
		t.Errorf("viewer reads: %d %s", w.Code, w.Body)
	}
	if w, _ := f.taxiiDo("vic", "POST", caseObjects, add); w.Code != 403 {
		t.Errorf("viewer adds: %d %s", w.Code, w.Body)
	}
	if w, _ := f.taxiiDo("ann", "POST", caseObjects, add); w.Code != 202 {
		t.Errorf("analyst adds: %d %s", w.Code, w.Body)
	}
	ctx := context.Background()
	must(t, f.st.SetTAXIIGrant(ctx, "acme", store.TAXIIGrant{Collection: CollectionID("acme", "intrusion"), User: "ann", Read: true}, "ada"))
	if w, _ := f.taxiiDo("ann", "POST", caseObjects, add); w.Code != 403 {
		t.Errorf("analyst granted read only adds: %d %s", w.Code, w.Body)
	}
	if _, m := f.taxiiDo("ann", "GET", collectionPath("acme", "intrusion", ""), ""); m["can_read"] != true || m["can_write"] != false {
		t.Errorf("collection as ann: %v", m)
	}
	// A grant never gives more than the role: vic granted write still reads only.
	must(t, f.st.SetTAXIIGrant(ctx, "acme", store.TAXIIGrant{Collection: CollectionID("acme", "intrusion"), User: "vic", Read: true, Write: true}, "ada"))
	if w, _ := f.taxiiDo("vic", "POST", caseObjects, add); w.Code != 403 {
		t.Errorf("viewer granted write adds: %d %s", w.Code, w.Body)
	}
	must(t, f.st.SetTAXIIGrant(ctx, "acme", store.TAXIIGrant{Collection: CollectionID("acme", "intrusion"), User: "vic"}, "ada"))
	if w, _ := f.taxiiDo("vic", "GET", caseObjects, ""); w.Code != 404 {
		t.Errorf("viewer with no access reads: %d %s", w.Code, w.Body)
	}
	if _, m := f.taxiiDo("vic", "GET", "/taxii2/acme/collections/", ""); len(m["collections"].([]any)) != 1 {
		t.Errorf("viewer with no access lists %v", m["collections"])
	}
}

// TestTAXIIBodyLimit: an add larger than the console's JSON bodies but
// within max_content_length is taken: TAXII has its own bound.
func TestTAXIIBodyLimit(t *testing.T) {
	f := taxiiFixture(t, t.TempDir())
	big := strings.Replace(indicator, `"pattern_type"`, `"description":"`+strings.Repeat("x", 2*MaxBody)+`","pattern_type"`, 1)
	if w, m := f.taxiiDo("ann", "POST", collectionPath("acme", "", "objects/"), `{"objects":[`+big+`]}`); w.Code != 202 || m["success_count"] != 1.0 {
		t.Errorf("add of %d bytes: %d %.300s", len(big), w.Code, w.Body)
	}
}

// TestTAXIIRoundTrip: a case's collection serves the case's export, once:
// reading again or rebuilding the same operations adds no object, and an
// operation that changes is a new version of the objects it changes.
func TestTAXIIRoundTrip(t *testing.T) {
	backends(t, func(t *testing.T, target string) {
		f := taxiiFixture(t, target)
		ctx := context.Background()
		export, err := caseSTIX(f.st)(ctx, "acme", "intrusion")
		must(t, err)
		if len(export) == 0 {
			t.Fatal("no export")
		}
		want := map[string]string{}
		for _, raw := range export {
			h, err := stix.ReadHead(raw)
			must(t, err)
			want[h.ID] = store.TAXIIVersion(h.Version)
		}
		manifest := func() map[string][]string {
			t.Helper()
			got := map[string][]string{}
			next := ""
			for range 100 {
				w, m := f.taxiiDo("vic", "GET", collectionPath("acme", "intrusion", "manifest/?match[version]=all&limit=7&next="+next), "")
				if w.Code != 200 {
					t.Fatalf("manifest: %d %s", w.Code, w.Body)
				}
				recs, _ := m["objects"].([]any)
				for _, r := range recs {
					r := r.(map[string]any)
					got[r["id"].(string)] = append(got[r["id"].(string)], r["version"].(string))
				}
				if m["more"] != true {
					return got
				}
				next = m["next"].(string)
			}
			t.Fatal("manifest pages never end")
			return nil
		}
		first := manifest()
		if len(first) != len(want) {
			t.Errorf("collection holds %d objects, the export %d", len(first), len(want))
		}
		for id, v := range want {
			if fmt.Sprint(first[id]) != "["+v+"]" {
				t.Errorf("%s: versions %v, want [%s]", id, first[id], v)
			}
		}
		// Rebuilt the same: a new stamp, the same objects and versions.
		ops, err := f.st.Operations(ctx, "acme", "intrusion")
		must(t, err)
		raws := []json.RawMessage{ops[0].JSON}
		f.clock.Add(time.Minute)
		must(t, f.st.ReplaceOperations(ctx, "acme", "intrusion", raws, "ann"))
		if again := manifest(); fmt.Sprint(again) != fmt.Sprint(first) {
			t.Errorf("after the same rebuild:\n%v\nwant\n%v", again, first)
		}
		// A later last time: the objects dated by it get a new version.
		var op map[string]any
		must(t, json.Unmarshal(ops[0].JSON, &op))
		op["last"] = "2022-02-04T00:00:00Z"
		b, _ := json.Marshal(op)
		f.clock.Add(time.Minute)
		must(t, f.st.ReplaceOperations(ctx, "acme", "intrusion", []json.RawMessage{b}, "ann"))
		later := manifest()
		var versioned []string
		for id, vs := range later {
			if len(vs) > 1 {
				versioned = append(versioned, id)
				if len(first[id]) != 1 || vs[0] != first[id][0] {
					t.Errorf("%s: versions %v, first %v", id, vs, first[id])
				}
			}
		}
		sort.Strings(versioned)
		if len(versioned) == 0 || !strings.Contains(strings.Join(versioned, " "), "report--") {
			t.Errorf("objects with a new version: %v", versioned)
		}
		w, m := f.taxiiDo("vic", "GET", collectionPath("acme", "intrusion", "objects/"+versioned[0]+"/"), "")
		objs, _ := m["objects"].([]any)
		if w.Code != 200 || len(objs) != 1 || !strings.HasPrefix(objs[0].(map[string]any)["modified"].(string), "2022-02-04") {
			t.Errorf("latest version of %s: %d %s", versioned[0], w.Code, w.Body)
		}
	})
}

// FuzzTAXII sends arbitrary TAXII calls, queries and bodies as acme's
// analyst: whatever arrives, the answer is TAXII's media type, never a
// server error, and never holds what globex's collections hold.
func FuzzTAXII(f *testing.F) {
	fx := taxiiFixture(f, f.TempDir())
	secret := strings.Replace(indicator, `"pattern_type"`, `"name":"globex-secret","pattern_type"`, 1)
	if w, _ := fx.taxiiDo("gus", "POST", collectionPath("globex", "", "objects/"), `{"objects":[`+secret+`]}`); w.Code != 202 {
		f.Fatalf("globex add: %d %s", w.Code, w.Body)
	}
	own, cs := CollectionID("acme", ""), CollectionID("acme", "intrusion")
	for _, seed := range [][3]string{
		{"GET", "/taxii2/", ""},
		{"GET", "/taxii2/acme/collections/" + cs + "/objects/?match[version]=all&limit=3&added_after=2020-01-01T00:00:00Z", ""},
		{"GET", "/taxii2/acme/collections/" + cs + "/manifest/?match[type]=report,indicator&match[spec_version]=2.1&next=1-2", ""},
		{"GET", "/taxii2/acme/collections/" + own + "/objects/indicator--6b5d1f0e-1c1a-4d5e-9f00-000000000001/versions/", ""},
		{"POST", "/taxii2/acme/collections/" + own + "/objects/", `{"objects":[` + indicator + `]}`},
		{"GET", "/taxii2/globex/collections/" + CollectionID("globex", "") + "/objects/", ""},
		{"GET", "/taxii2/acme/status/x/", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !requestable(path) || !strings.HasPrefix(path, "/taxii2/") ||
			(method != "GET" && method != "POST" && method != "DELETE") {
			return
		}
		fx.t = t
		w, _ := fx.taxiiDo("ann", method, path, body)
		// An error may quote the request: the secret counts only when the request did not hold it.
		leaked := strings.Contains(w.Body.String(), "globex-secret") && !strings.Contains(path+body, "globex-secret")
		if w.Code >= 500 || leaked {
			t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
	})
}
