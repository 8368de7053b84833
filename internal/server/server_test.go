package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/storetest"
)

// password of every test user.
const password = "correct horse battery"

// fixture is a server over a store with two tenants, acme and globex, each
// with a case named "intrusion" holding a hunt of real detections and its
// operations. acme has ada (admin), ann (analyst), vic (viewer); globex has
// gus (admin).
type fixture struct {
	t     testing.TB
	st    *store.Store
	srv   *Server
	clock *storetest.Clock
	// acme's first detection and operation.
	det int64
	op  string
	// globexDet is a detection of globex's case.
	globexDet int64
	// filter is a filter of acme's case; hunts receives the uploads'
	// hunts (jobs_test.go).
	filter int64
	hunts  chan huntCall
	// intel answers the server's imports (intel_test.go); nil answers an
	// empty report.
	intel IntelFunc
}

var backends = storetest.Backends

func newFixture(t testing.TB, target string) *fixture {
	t.Helper()
	ctx := context.Background()
	c := storetest.NewClock(time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC))
	st, err := store.Open(ctx, target, store.WithClock(c.Now), store.WithPasswordCost(1, 64, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, st: st, clock: c, hunts: make(chan huntCall, 4)}
	f.srv = New(st, Options{Now: c.Now, Hunt: f.hunt, DataDir: t.TempDir(),
		Intel: func(ctx context.Context, tenant, caseName, actor, source string, bundle []byte, tlp string) (IntelReport, error) {
			if f.intel != nil {
				return f.intel(ctx, tenant, caseName, actor, source, bundle, tlp)
			}
			return IntelReport{Source: source}, nil
		}})
	t.Cleanup(f.srv.Close)
	b, err := os.ReadFile("../store/testdata/hunt.json")
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Detections, Operations []json.RawMessage }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	users := map[string][][2]string{
		"acme":   {{"ada", "admin"}, {"ann", "analyst"}, {"vic", "viewer"}},
		"globex": {{"gus", "admin"}},
	}
	for _, tenant := range []string{"acme", "globex"} {
		must(t, func() error { _, err := st.AddTenant(ctx, tenant, "root"); return err }())
		for _, u := range users[tenant] {
			must(t, func() error { _, err := st.AddUser(ctx, tenant, u[0], store.Role(u[1]), password, "root"); return err }())
		}
		must(t, func() error { _, err := st.AddCase(ctx, tenant, "intrusion", tenant+"'s case", "root"); return err }())
		w, err := st.BeginHunt(ctx, tenant, "intrusion", store.HuntSpec{By: "root", Paths: []string{"evidence/"}})
		must(t, err)
		for _, d := range h.Detections {
			must(t, w.Write(ctx, d))
		}
		must(t, w.Finish(ctx, json.RawMessage(`{}`)))
		for _, kind := range store.SummaryKinds {
			must(t, st.SaveSummary(ctx, tenant, "intrusion", w.Hunt(), kind, summaryOf(tenant)))
		}
		must(t, st.ReplaceOperations(ctx, tenant, "intrusion", h.Operations, "root"))
		page, err := st.Detections(ctx, tenant, "intrusion", store.Query{Limit: 1})
		must(t, err)
		ops, err := st.Operations(ctx, tenant, "intrusion")
		must(t, err)
		if len(page.Detections) == 0 || len(ops) == 0 {
			t.Fatal("fixture: no detection or operation stored")
		}
		if tenant == "acme" {
			f.det, f.op = page.Detections[0].ID, ops[0].ID
			cf, err := st.AddFilter(ctx, tenant, "intrusion", store.CaseFilter{Title: "t", Rule: "r", Body: []byte("title: t")}, "root")
			must(t, err)
			f.filter = cf.ID
		} else {
			f.globexDet = page.Detections[0].ID
		}
	}
	if f.det == f.globexDet {
		t.Fatal("fixture: the tenants' detections share an id")
	}
	return f
}

// summaryOf is the fixture's summary of a tenant's hunt: its name in a
// channel, so that an answer tells whose it is.
func summaryOf(tenant string) json.RawMessage {
	return json.RawMessage(`{"events":1,"channels":[{"channel":"` + tenant + `-channel","events":1}]}`)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// client is a logged-in user, or nobody (zero).
type client struct {
	cookie, csrf string
}

// do sends a request as c and returns the recorded answer. A body is sent
// as JSON; c's CSRF token goes with every method but GET.
func (f *fixture) do(c client, method, path string, body any, edit ...func(*http.Request)) *httptest.ResponseRecorder {
	f.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != "" {
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: c.cookie})
	}
	if c.csrf != "" && method != http.MethodGet {
		r.Header.Set(CSRFHeader, c.csrf)
	}
	for _, e := range edit {
		e(r)
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	return w
}

func (f *fixture) login(user string) client {
	f.t.Helper()
	w := f.do(client{}, "POST", "/api/login", map[string]string{"user": user, "password": password})
	if w.Code != http.StatusOK {
		f.t.Fatalf("login %s: %d %s", user, w.Code, w.Body)
	}
	var m me
	decode(f.t, w, &m)
	var c client
	for _, k := range w.Result().Cookies() {
		if k.Name == SessionCookie {
			c.cookie = k.Value
			if !k.HttpOnly || k.SameSite != http.SameSiteStrictMode {
				f.t.Errorf("session cookie %+v: want HttpOnly and SameSite=Strict", k)
			}
		}
	}
	if c.cookie == "" || m.CSRF == "" {
		f.t.Fatalf("login %s: no session cookie or CSRF token", user)
	}
	c.csrf = m.CSRF
	return c
}

func decode(t testing.TB, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("answer %q: %v", w.Body, err)
	}
}

// endpoint is one API call with arguments that succeed for its owner.
type endpoint struct {
	method, path string
	body         any
	ok           int // the owner's status
}

// caseEndpoints are every endpoint about a case, for acme's case.
func (f *fixture) caseEndpoints(c string) []endpoint {
	d, op := strconv.FormatInt(f.det, 10), f.op
	triage := map[string]string{"state": "investigating", "assignee": "", "notes": "looking"}
	return []endpoint{
		{"GET", "/api/cases/" + c, nil, 200},
		{"GET", "/api/cases/" + c + "/detections", nil, 200},
		{"GET", "/api/cases/" + c + "/detections?q=msiexec&level=medium&sort=level", nil, 200},
		{"GET", "/api/cases/" + c + "/detections/" + d, nil, 200},
		{"GET", "/api/cases/" + c + "/operations", nil, 200},
		{"GET", "/api/cases/" + c + "/operations/" + op, nil, 200},
		{"GET", "/api/cases/" + c + "/triage/detection/" + d, nil, 200},
		{"GET", "/api/cases/" + c + "/triage/operation/" + op, nil, 200},
		{"PUT", "/api/cases/" + c + "/triage/detection/" + d, triage, 200},
		{"PUT", "/api/cases/" + c + "/triage/operation/" + op, triage, 200},
		{"GET", "/api/cases/" + c + "/audit", nil, 200},
		{"GET", "/api/cases/" + c + "/operations/" + op + "/graph", nil, 200},
		{"GET", "/api/cases/" + c + "/filters", nil, 200},
		{"GET", "/api/cases/" + c + "/metrics", nil, 200},
		{"GET", "/api/cases/" + c + "/logons", nil, 200},
		{"GET", "/api/cases/" + c + "/gaps", nil, 200},
		{"POST", "/api/cases/" + c + "/filters", map[string]int64{"detection": f.det}, 201},
		{"DELETE", "/api/cases/" + c + "/filters/" + strconv.FormatInt(f.filter, 10), nil, 204},
		// A JSON body is past the case check, refused as no upload (see
		// TestUploadJobs for uploads and their jobs).
		{"POST", "/api/cases/" + c + "/uploads", map[string]string{}, 415},
		// The same of an import (see TestIntelImport).
		{"POST", "/api/cases/" + c + "/intel", map[string]string{}, 415},
		{"GET", "/api/cases/" + c + "/jobs", nil, 200},
		{"GET", "/api/cases/" + c + "/jobs/1", nil, 404},
		{"GET", "/api/cases/" + c + "/export/timeline.csv", nil, 200},
		{"GET", "/api/cases/" + c + "/export/timeline.jsonl?level=medium", nil, 200},
		{"GET", "/api/cases/" + c + "/export/report.html", nil, 200},
	}
}

// allEndpoints adds the endpoints about no case.
func (f *fixture) allEndpoints() []endpoint {
	return append([]endpoint{
		{"POST", "/api/logout", nil, 204},
		{"GET", "/api/me", nil, 200},
		{"GET", "/api/cases", nil, 200},
		{"POST", "/api/cases", map[string]string{"name": "new case"}, 201},
		{"GET", "/api/users", nil, 200},
		{"GET", "/api/audit", nil, 200},
		{"POST", "/api/users", map[string]string{"name": "neo", "role": "viewer", "password": password}, 201},
		{"PUT", "/api/users/vic/password", map[string]string{"password": password}, 204},
		{"POST", "/api/users/vic/disable", nil, 204},
		{"PUT", "/api/me/password", map[string]string{"current": password, "new": password}, 204},
		{"GET", "/api/tokens", nil, 200},
		{"POST", "/api/tokens", map[string]string{"name": "script"}, 201},
		{"DELETE", "/api/tokens/1", nil, 204},
	}, f.caseEndpoints("intrusion")...)
}

func TestEveryEndpointNeedsASession(t *testing.T) {
	f := newFixture(t, t.TempDir())
	for _, e := range f.allEndpoints() {
		for name, c := range map[string]client{"none": {}, "forged": {cookie: rand.Text(), csrf: "x"}} {
			if w := f.do(c, e.method, e.path, e.body); w.Code != http.StatusUnauthorized {
				t.Errorf("%s %s with %s session: %d %s, want 401", e.method, e.path, name, w.Code, w.Body)
			}
		}
	}
	// And the same calls succeed with one: the refusals above are the
	// session's doing, not bad arguments. (Logout last: it ends it.)
	ada := f.login("ada")
	es := f.allEndpoints()
	for _, e := range append(es[1:], es[0]) {
		if w := f.do(ada, e.method, e.path, e.body); w.Code != e.ok {
			t.Errorf("%s %s as ada: %d %s, want %d", e.method, e.path, w.Code, w.Body, e.ok)
		}
	}
	if w := f.do(ada, "GET", "/api/me", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("after logout: %d, want 401", w.Code)
	}
	// The table holds every endpoint there is (but login, which needs no
	// session), so these tests and those over it miss none.
	called := map[string]bool{}
	for _, e := range es {
		_, pattern := f.srv.mux.Handler(httptest.NewRequest(e.method, e.path, nil))
		called[pattern] = true
	}
	for _, p := range f.srv.endpoints {
		if !called[p] && p != "POST /api/login" {
			t.Errorf("endpoint %s is not in the tests' table", p)
		}
	}
}

// TestOtherTenantIsNotFound: an admin of globex (every role's rights)
// reaches none of acme's case through any endpoint, and learns nothing an
// absent case would not tell: the answers are byte for byte those of a
// case that does not exist. Through globex's own case of the same name,
// acme's detections and operations are not found either.
func TestOtherTenantIsNotFound(t *testing.T) {
	backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target)
		gus := f.login("gus")
		ada := f.login("ada")
		renamed := func(e endpoint) endpoint {
			e.path = strings.Replace(e.path, "/api/cases/intrusion", "/api/cases/nonexistent", 1)
			return e
		}
		// acme's case renamed for acme's admin: the 404 of a missing case.
		for _, e := range f.caseEndpoints("intrusion") {
			missing := f.do(gus, e.method, renamed(e).path, e.body)
			if missing.Code != http.StatusNotFound {
				t.Fatalf("%s %s: %d, want 404", e.method, renamed(e).path, missing.Code)
			}
			if w := f.do(ada, e.method, e.path, e.body); w.Code != e.ok {
				t.Errorf("%s %s as acme's ada: %d %s, want %d", e.method, e.path, w.Code, w.Body, e.ok)
			}
		}
		// globex's "intrusion" is its own: acme's objects are not in it.
		acmeObjects := []endpoint{
			{"GET", "/api/cases/intrusion/detections/" + strconv.FormatInt(f.det, 10), nil, 0},
			{"GET", "/api/cases/intrusion/triage/detection/" + strconv.FormatInt(f.det, 10), nil, 0},
			{"PUT", "/api/cases/intrusion/triage/detection/" + strconv.FormatInt(f.det, 10), map[string]string{"state": "benign"}, 0},
		}
		for _, e := range acmeObjects {
			if w := f.do(gus, e.method, e.path, e.body); w.Code != http.StatusNotFound {
				t.Errorf("globex %s %s (acme's detection): %d %s, want 404", e.method, e.path, w.Code, w.Body)
			}
		}
		// Nor are acme's summaries: globex's case shows its own.
		for _, kind := range store.SummaryKinds {
			var got struct{ Hunts []huntSummaryJSON }
			decode(t, f.do(gus, "GET", "/api/cases/intrusion/"+kind, nil), &got)
			if len(got.Hunts) != 1 || string(got.Hunts[0].Summary) != string(summaryOf("globex")) {
				t.Errorf("globex's %s: %+v, want its own hunt's alone", kind, got.Hunts)
			}
		}
		// A case acme has and globex does not.
		if w := f.do(ada, "POST", "/api/cases", map[string]string{"name": "acme only"}); w.Code != http.StatusCreated {
			t.Fatalf("add case: %d %s", w.Code, w.Body)
		}
		for _, e := range f.caseEndpoints("acme%20only") {
			missing := f.do(gus, e.method, strings.Replace(e.path, "acme%20only", "nonexistent", 1), e.body)
			w := f.do(gus, e.method, e.path, e.body)
			if w.Code != http.StatusNotFound || w.Body.String() != missing.Body.String() {
				t.Errorf("globex %s %s: %d %s, want the 404 of a missing case %s", e.method, e.path, w.Code, w.Body, missing.Body)
			}
		}
		// The case list shows the tenant's own cases only.
		var list struct{ Cases []caseJSON }
		decode(t, f.do(gus, "GET", "/api/cases", nil), &list)
		if len(list.Cases) != 1 || list.Cases[0].Description != "globex's case" {
			t.Errorf("globex's cases: %+v, want its one case", list.Cases)
		}
		// Nor does acme's triage show in globex's audit logs.
		for _, p := range []string{"/api/cases/intrusion/audit", "/api/audit"} {
			var audit struct{ Entries []auditJSON }
			decode(t, f.do(gus, "GET", p, nil), &audit)
			if len(audit.Entries) == 0 {
				t.Errorf("%s: globex's own entries missing", p)
			}
			for _, e := range audit.Entries {
				if e.Actor == "ada" || e.Actor == "ann" || strings.Contains(string(e.Detail), "acme") {
					t.Errorf("globex's %s holds acme's entry %+v", p, e)
				}
			}
		}
		// An admin manages the users of its own tenant only.
		var users struct{ Users []userJSON }
		decode(t, f.do(gus, "GET", "/api/users", nil), &users)
		if len(users.Users) != 1 || users.Users[0].Name != "gus" {
			t.Errorf("globex's users: %+v, want gus alone", users.Users)
		}
		for _, e := range []endpoint{
			{"PUT", "/api/users/vic/password", map[string]string{"password": "taken over, then"}, 0},
			{"POST", "/api/users/vic/disable", nil, 0},
		} {
			if w := f.do(gus, e.method, e.path, e.body); w.Code != http.StatusNotFound {
				t.Errorf("globex %s %s (acme's user): %d %s, want 404", e.method, e.path, w.Code, w.Body)
			}
		}
		if u, err := f.st.GetUser(context.Background(), "acme", "vic"); err != nil || u.Disabled {
			t.Errorf("acme's vic after globex's calls: %+v, %v", u, err)
		}
		f.login("vic")
	})
}

func TestStateChangeNeedsCSRFToken(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ann := f.login("ann")
	other := f.login("ada")
	path := "/api/cases/intrusion/triage/detection/" + strconv.FormatInt(f.det, 10)
	body := map[string]string{"state": "malicious"}
	for name, edit := range map[string]func(*http.Request){
		"no token":             func(r *http.Request) { r.Header.Del(CSRFHeader) },
		"wrong token":          func(r *http.Request) { r.Header.Set(CSRFHeader, rand.Text()) },
		"another session's":    func(r *http.Request) { r.Header.Set(CSRFHeader, other.csrf) },
		"cross-site (browser)": func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") },
		"another origin":       func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") },
	} {
		if w := f.do(ann, "PUT", path, body, edit); w.Code != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", name, w.Code, w.Body)
		}
	}
	for _, e := range []endpoint{{"POST", "/api/cases", map[string]string{"name": "x"}, 0}, {"POST", "/api/logout", nil, 0}, {"POST", "/api/users", map[string]string{}, 0}} {
		if w := f.do(client{cookie: other.cookie}, e.method, e.path, e.body); w.Code != http.StatusForbidden {
			t.Errorf("%s %s without token: %d, want 403", e.method, e.path, w.Code)
		}
	}
	// Nothing changed, until a request with the token.
	tr, err := f.st.GetTriage(context.Background(), "acme", "intrusion", store.KindDetection, strconv.FormatInt(f.det, 10))
	if err != nil || tr.State != store.TriageNew {
		t.Fatalf("triage after refused requests: %+v, %v", tr, err)
	}
	if w := f.do(ann, "PUT", path, body, func(r *http.Request) { r.Header.Set("Origin", "http://example.com") }); w.Code != http.StatusOK {
		t.Errorf("with token, same origin: %d %s", w.Code, w.Body)
	}
	// A body that is not JSON (what a cross-site form can send) is refused.
	if w := f.do(ann, "PUT", path, body, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }); w.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d, want 415", w.Code)
	}
	// A login from another site is refused (login CSRF).
	w := f.do(client{}, "POST", "/api/login", map[string]string{"user": "ann", "password": password},
		func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") })
	if w.Code != http.StatusForbidden {
		t.Errorf("cross-site login: %d, want 403", w.Code)
	}
}

func TestRoles(t *testing.T) {
	f := newFixture(t, t.TempDir())
	d := strconv.FormatInt(f.det, 10)
	triage := map[string]string{"state": "benign"}
	cases := []struct {
		user string
		e    endpoint
	}{
		{"vic", endpoint{"PUT", "/api/cases/intrusion/triage/detection/" + d, triage, 403}},
		{"vic", endpoint{"PUT", "/api/cases/intrusion/triage/operation/" + f.op, triage, 403}},
		{"vic", endpoint{"POST", "/api/cases", map[string]string{"name": "v"}, 403}},
		{"vic", endpoint{"GET", "/api/users", nil, 403}},
		{"ann", endpoint{"GET", "/api/audit", nil, 403}},
		{"vic", endpoint{"GET", "/api/cases/intrusion/detections/" + d, nil, 200}},
		{"vic", endpoint{"GET", "/api/cases/intrusion/audit", nil, 200}},
		{"vic", endpoint{"GET", "/api/cases/intrusion/metrics", nil, 200}},
		{"vic", endpoint{"GET", "/api/cases/intrusion/logons", nil, 200}},
		{"vic", endpoint{"GET", "/api/cases/intrusion/gaps", nil, 200}},
		{"ann", endpoint{"POST", "/api/cases", map[string]string{"name": "a"}, 403}},
		{"ann", endpoint{"POST", "/api/users", map[string]string{"name": "z", "role": "admin", "password": password}, 403}},
		{"ann", endpoint{"POST", "/api/users/vic/disable", nil, 403}},
		{"ann", endpoint{"PUT", "/api/users/vic/password", map[string]string{"password": "ann's now, surely"}, 403}},
		{"ann", endpoint{"PUT", "/api/cases/intrusion/triage/detection/" + d, triage, 200}},
		{"ada", endpoint{"PUT", "/api/cases/intrusion/triage/operation/" + f.op, triage, 200}},
		{"ada", endpoint{"POST", "/api/cases", map[string]string{"name": "b"}, 201}},
	}
	sessions := map[string]client{}
	for _, c := range cases {
		if _, ok := sessions[c.user]; !ok {
			sessions[c.user] = f.login(c.user)
		}
		if w := f.do(sessions[c.user], c.e.method, c.e.path, c.e.body); w.Code != c.e.ok {
			t.Errorf("%s: %s %s: %d %s, want %d", c.user, c.e.method, c.e.path, w.Code, w.Body, c.e.ok)
		}
	}
	tr, err := f.st.GetTriage(context.Background(), "acme", "intrusion", store.KindDetection, d)
	if err != nil || tr.UpdatedBy != "ann" {
		t.Errorf("the viewer's triage must not land: %+v, %v", tr, err)
	}
	// A role taken away applies to the session at once.
	must(t, f.st.DisableUser(context.Background(), "acme", "ann", "ada"))
	if w := f.do(sessions["ann"], "GET", "/api/me", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("disabled user's session: %d, want 401", w.Code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	f := newFixture(t, t.TempDir())
	login := func(user, pw, ip string) int {
		return f.do(client{}, "POST", "/api/login", map[string]string{"user": user, "password": pw},
			func(r *http.Request) { r.RemoteAddr = ip + ":4242" }).Code
	}
	for i := range 5 {
		if c := login("ann", "guess"+strconv.Itoa(i), "192.0.2.7"); c != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i, c)
		}
	}
	// The right password does not get through the limit.
	if c := login("ann", password, "192.0.2.7"); c != http.StatusTooManyRequests {
		t.Errorf("6th attempt: %d, want 429", c)
	}
	// Another address is not held up by this one.
	if c := login("ann", password, "192.0.2.8"); c != http.StatusOK {
		t.Errorf("from another address: %d, want 200", c)
	}
	f.clock.Add(20 * time.Second)
	if c := login("ann", password, "192.0.2.7"); c != http.StatusOK {
		t.Errorf("after the refill: %d, want 200", c)
	}
	// Spraying names from one address trips the per-address limit.
	for i := range 30 {
		_, err := f.st.AddUser(context.Background(), "acme", "user"+strconv.Itoa(i), store.RoleViewer, password, "ada")
		must(t, err)
	}
	tripped := false
	for i := range 30 {
		if login("user"+strconv.Itoa(i), "guess", "198.51.100.1") == http.StatusTooManyRequests {
			tripped = true
			break
		}
	}
	if !tripped {
		t.Error("30 names from one address: never 429")
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	f := newFixture(t, t.TempDir())
	must(t, f.st.DisableUser(context.Background(), "acme", "vic", "ada"))
	var bodies []string
	for _, c := range [][2]string{{"ann", "wrong"}, {"nobody", password}, {"vic", password}} {
		w := f.do(client{}, "POST", "/api/login", map[string]string{"user": c[0], "password": c[1]})
		if w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 0 {
			t.Errorf("login %s: %d, cookies %v, want 401 and none", c[0], w.Code, w.Result().Cookies())
		}
		bodies = append(bodies, w.Body.String())
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Errorf("refusals differ: %q", bodies)
	}
}

func TestTriageIsAudited(t *testing.T) {
	backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target)
		ann := f.login("ann")
		f.clock.Add(time.Minute)
		at := f.clock.Now()
		path := "/api/cases/intrusion/triage/operation/" + f.op
		w := f.do(ann, "PUT", path, map[string]string{"state": "malicious", "assignee": "vic", "notes": "C2 beacon"})
		if w.Code != http.StatusOK {
			t.Fatalf("triage: %d %s", w.Code, w.Body)
		}
		var got triageJSON
		decode(t, f.do(ann, "GET", "/api/cases/intrusion/operations/"+f.op, nil), &struct {
			Triage *triageJSON `json:"triage"`
		}{&got})
		if got.State != store.TriageMalicious || got.Assignee != "vic" || got.Notes != "C2 beacon" || got.UpdatedBy != "ann" || got.Updated == nil || !got.Updated.Equal(at) {
			t.Errorf("operation's triage: %+v", got)
		}
		var audit struct{ Entries []auditJSON }
		decode(t, f.do(ann, "GET", "/api/cases/intrusion/audit", nil), &audit)
		last := audit.Entries[len(audit.Entries)-1]
		var detail map[string]any
		must(t, json.Unmarshal(last.Detail, &detail))
		if last.Action != "triage.set" || last.Actor != "ann" || !last.At.Equal(at) || detail["id"] != f.op || detail["state"] != "malicious" {
			t.Errorf("last audit entry: %+v %v, want ann's triage.set at %v", last, detail, at)
		}
		// Lists show each object's triage.
		var ops struct{ Operations []operationJSON }
		decode(t, f.do(ann, "GET", "/api/cases/intrusion/operations", nil), &ops)
		if len(ops.Operations) == 0 || ops.Operations[0].Triage == nil || ops.Operations[0].Triage.State != store.TriageMalicious {
			t.Errorf("operation list: %+v, want the triage set", ops.Operations)
		}
		d := strconv.FormatInt(f.det, 10)
		if w := f.do(ann, "PUT", "/api/cases/intrusion/triage/detection/"+d, map[string]string{"state": "false-positive"}); w.Code != http.StatusOK {
			t.Fatalf("triage detection: %d %s", w.Code, w.Body)
		}
		var dets struct{ Detections []detectionJSON }
		decode(t, f.do(ann, "GET", "/api/cases/intrusion/detections?limit=1000", nil), &dets)
		for _, x := range dets.Detections {
			want := store.TriageNew
			if x.ID == f.det {
				want = store.TriageFalsePositive
			}
			if x.Triage == nil || x.Triage.State != want {
				t.Errorf("detection %d in the list: triage %+v, want %s", x.ID, x.Triage, want)
			}
		}
		// Refused changes: an assignee of another tenant, an unknown state.
		for _, b := range []map[string]string{{"state": "malicious", "assignee": "gus"}, {"state": "pwned"}} {
			if w := f.do(ann, "PUT", path, b); w.Code != http.StatusBadRequest {
				t.Errorf("triage %v: %d, want 400", b, w.Code)
			}
		}
	})
}

func TestSessionExpires(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ann := f.login("ann")
	f.clock.Add(59 * time.Minute)
	if w := f.do(ann, "GET", "/api/me", nil); w.Code != http.StatusOK {
		t.Fatalf("session used within the hour: %d", w.Code)
	}
	f.clock.Add(time.Hour)
	if w := f.do(ann, "GET", "/api/me", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("session idle an hour: %d, want 401", w.Code)
	}
	// However busy, a session ends after 12 hours.
	vic := f.login("vic")
	for range 14 {
		f.clock.Add(55 * time.Minute)
		f.do(vic, "GET", "/api/me", nil)
	}
	if w := f.do(vic, "GET", "/api/me", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("session 12h old: %d, want 401", w.Code)
	}
}

func TestDetectionQueries(t *testing.T) {
	f := newFixture(t, t.TempDir())
	vic := f.login("vic")
	var all struct {
		Detections []detectionJSON
		Next       string
	}
	decode(t, f.do(vic, "GET", "/api/cases/intrusion/detections?limit=1000", nil), &all)
	if len(all.Detections) < 3 {
		t.Fatalf("%d detections, want several", len(all.Detections))
	}
	// Pages of one, following next, give the same list.
	var paged []int64
	after := ""
	for range len(all.Detections) + 1 {
		var page struct {
			Detections []detectionJSON
			Next       string
		}
		decode(t, f.do(vic, "GET", "/api/cases/intrusion/detections?limit=1&after="+url.QueryEscape(after), nil), &page)
		for _, d := range page.Detections {
			paged = append(paged, d.ID)
		}
		if after = page.Next; after == "" {
			break
		}
	}
	if len(paged) != len(all.Detections) {
		t.Errorf("paged %d detections, listed %d", len(paged), len(all.Detections))
	}
	var fs01 struct{ Detections []detectionJSON }
	decode(t, f.do(vic, "GET", "/api/cases/intrusion/detections?host=fs01.CORP.local&limit=1000", nil), &fs01)
	for _, d := range fs01.Detections {
		var det struct{ Computer string }
		must(t, json.Unmarshal(d.Detection, &det))
		if det.Computer != "FS01.corp.local" {
			t.Errorf("host=fs01.CORP.local gave a detection of %s", det.Computer)
		}
	}
	if len(fs01.Detections) == 0 || len(fs01.Detections) == len(all.Detections) {
		t.Errorf("host=fs01.CORP.local kept %d of %d", len(fs01.Detections), len(all.Detections))
	}
	var high struct{ Detections []detectionJSON }
	decode(t, f.do(vic, "GET", "/api/cases/intrusion/detections?level=high,critical", nil), &high)
	if len(high.Detections) != 0 {
		t.Errorf("level=high,critical kept %d of the medium detections", len(high.Detections))
	}
	for _, q := range []string{"sort=random", "limit=0", "limit=x", "from=yesterday", "after=1.2.3.4", "level=severe", "hunt=-1"} {
		if w := f.do(vic, "GET", "/api/cases/intrusion/detections?"+q, nil); w.Code != http.StatusBadRequest {
			t.Errorf("?%s: %d %s, want 400", q, w.Code, w.Body)
		}
	}
	for _, p := range []string{"/detections/x", "/detections/99999999", "/operations/op-none", "/triage/widget/1", "/triage/detection/x"} {
		if w := f.do(vic, "GET", "/api/cases/intrusion"+p, nil); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, w.Code)
		}
	}
	var ov overview
	decode(t, f.do(vic, "GET", "/api/cases/intrusion", nil), &ov)
	if ov.Detections.N != int64(len(all.Detections)) || len(ov.Hunts) != 1 || len(ov.Tactics) == 0 || len(ov.Hosts) == 0 || ov.First == nil || ov.ByLevel["medium"].N != int64(len(all.Detections)) {
		t.Errorf("overview: %+v", ov)
	}
}

func TestHeadersAndLimits(t *testing.T) {
	f := newFixture(t, t.TempDir())
	for _, p := range []string{"/", "/app.js", "/api/me", "/api/nothing"} {
		w := f.do(client{}, "GET", p, nil)
		h := w.Header()
		if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", p, h)
		}
		if strings.HasPrefix(p, "/api/") && (w.Code == http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json")) {
			t.Errorf("%s: %d %s, want a JSON refusal", p, w.Code, h.Get("Content-Type"))
		}
	}
	if w := f.do(client{}, "GET", "/", nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "app.js") {
		t.Errorf("console page: %d", w.Code)
	}
	ann := f.login("ann")
	big := map[string]string{"state": "benign", "notes": strings.Repeat("x", MaxBody)}
	if w := f.do(ann, "PUT", "/api/cases/intrusion/triage/operation/"+f.op, big); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over MaxBody: %d, want 413", w.Code)
	}
	for _, body := range []string{`{"state":"benign"} {}`, `{"state":"benign","admin":true}`, `[`} {
		w := f.do(ann, "PUT", "/api/cases/intrusion/triage/operation/"+f.op, nil, func(r *http.Request) {
			r.Body = readCloser(body)
			r.Header.Set("Content-Type", "application/json")
		})
		if w.Code != http.StatusBadRequest {
			t.Errorf("body %s: %d, want 400", body, w.Code)
		}
	}
}

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

func TestPasswords(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ann, elsewhere := f.login("ann"), f.login("ann")
	const next = "a new and longer one"
	for _, c := range []struct {
		body map[string]string
		want int
	}{
		{map[string]string{"current": "not it", "new": next}, 401},
		{map[string]string{"current": password, "new": "short"}, 400},
		{map[string]string{"current": password, "new": next}, 204},
	} {
		if w := f.do(ann, "PUT", "/api/me/password", c.body); w.Code != c.want {
			t.Errorf("change password %v: %d %s, want %d", c.body, w.Code, w.Body, c.want)
		}
	}
	if w := f.do(elsewhere, "GET", "/api/me", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("ann's other session after the change: %d, want 401", w.Code)
	}
	if w := f.do(ann, "GET", "/api/me", nil); w.Code != http.StatusOK {
		t.Errorf("the session that changed it: %d, want 200", w.Code)
	}
	if w := f.do(client{}, "POST", "/api/login", map[string]string{"user": "ann", "password": password}); w.Code != http.StatusUnauthorized {
		t.Errorf("login with the old password: %d, want 401", w.Code)
	}
	// An admin's reset ends the user's sessions; disabling too.
	ada, vic := f.login("ada"), f.login("vic")
	if w := f.do(ada, "PUT", "/api/users/ann/password", map[string]string{"password": password}); w.Code != http.StatusNoContent {
		t.Fatalf("reset: %d %s", w.Code, w.Body)
	}
	if w := f.do(ann, "GET", "/api/me", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("ann's session after the reset: %d, want 401", w.Code)
	}
	f.clock.Add(time.Minute) // ann's login attempts are spent
	f.login("ann")
	if w := f.do(ada, "POST", "/api/users/vic/disable", nil); w.Code != http.StatusNoContent {
		t.Fatalf("disable: %d %s", w.Code, w.Body)
	}
	if w := f.do(vic, "GET", "/api/me", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("vic's session once disabled: %d, want 401", w.Code)
	}
	if w := f.do(ada, "POST", "/api/users/ada/disable", nil); w.Code != http.StatusBadRequest {
		t.Errorf("an admin disabling themselves: %d, want 400", w.Code)
	}
	// The tenant's audit log has each change, who made it and when.
	var audit struct{ Entries []auditJSON }
	decode(t, f.do(ada, "GET", "/api/audit?limit=1000", nil), &audit)
	var actions []string
	for _, e := range audit.Entries {
		if e.Case == "" && e.Actor != "root" {
			var d struct{ User string }
			must(t, json.Unmarshal(e.Detail, &d))
			actions = append(actions, e.Actor+" "+e.Action+" "+d.User)
		}
	}
	if want := "ann user.passwd ann,ada user.passwd ann,ada user.disable vic"; strings.Join(actions, ",") != want {
		t.Errorf("tenant audit of user changes: %q, want %q", actions, want)
	}
	if last := audit.Entries[len(audit.Entries)-1]; !last.At.Equal(f.clock.Now()) {
		t.Errorf("last entry at %v, want %v", last.At, f.clock.Now())
	}
}

// TestGetChangesNothing: a GET of a state-changing call (what a link or an
// image can make a browser send) does not log out or change anything.
func TestGetChangesNothing(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ada := f.login("ada")
	for _, p := range []string{"/api/logout", "/api/login", "/api/users/vic/disable"} {
		if w := f.do(ada, "GET", p, nil); w.Code < 400 {
			t.Errorf("GET %s: %d, want a refusal", p, w.Code)
		}
	}
	if w := f.do(ada, "GET", "/api/me", nil); w.Code != http.StatusOK {
		t.Errorf("session after GETs: %d", w.Code)
	}
	if u, err := f.st.GetUser(context.Background(), "acme", "vic"); err != nil || u.Disabled {
		t.Errorf("vic after a GET of disable: %+v, %v", u, err)
	}
}
