package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/store"
)

// bearer sends a request with an API token.
func bearer(secret string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) }
}

// makeToken makes a token through the API as the logged-in c.
func (f *fixture) makeToken(c client, body map[string]any) tokenJSON {
	f.t.Helper()
	w := f.do(c, "POST", "/api/tokens", body)
	if w.Code != http.StatusCreated {
		f.t.Fatalf("POST /api/tokens %v: %d %s", body, w.Code, w.Body)
	}
	var t tokenJSON
	decode(f.t, w, &t)
	if !strings.HasPrefix(t.Secret, store.TokenPrefix) {
		f.t.Fatalf("token %+v: no secret", t)
	}
	return t
}

// TestTokenCalls: a token calls the API without a cookie or CSRF token,
// within its role; its use is recorded; revoked, it stops at once.
func TestTokenCalls(t *testing.T) {
	backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target)
		ada := f.login("ada")
		tok := f.makeToken(ada, map[string]any{"name": "nightly export", "role": "analyst"})
		if tok.Role != store.RoleAnalyst || tok.User != "ada" || !tok.Expires.Equal(f.clock.Now().Add(DefaultTokenDays*24*time.Hour)) {
			t.Errorf("token %+v: want ada's analyst token for %d days", tok, DefaultTokenDays)
		}
		as := bearer(tok.Secret)
		if w := f.do(client{}, "GET", "/api/cases", nil, as); w.Code != http.StatusOK {
			t.Fatalf("GET /api/cases with a token: %d %s", w.Code, w.Body)
		}
		var m me
		decode(t, f.do(client{}, "GET", "/api/me", nil, as), &m)
		if m.User != "ada" || m.Role != store.RoleAnalyst || m.CSRF != "" {
			t.Errorf("/api/me with an analyst token of ada: %+v, want ada as analyst, no CSRF token", m)
		}
		// A state change with no CSRF token: the token is enough.
		path := "/api/cases/intrusion/triage/detection/" + strconv.FormatInt(f.det, 10)
		if w := f.do(client{}, "PUT", path, map[string]string{"state": "benign"}, as); w.Code != http.StatusOK {
			t.Errorf("triage with a token: %d %s", w.Code, w.Body)
		}
		// Its role, not ada's: no admin call.
		if w := f.do(client{}, "POST", "/api/cases", map[string]string{"name": "x"}, as); w.Code != http.StatusForbidden {
			t.Errorf("admin call with ada's analyst token: %d, want 403", w.Code)
		}
		// The audit log names the user.
		var audit struct{ Entries []auditJSON }
		decode(t, f.do(ada, "GET", "/api/cases/intrusion/audit", nil), &audit)
		if last := audit.Entries[len(audit.Entries)-1]; last.Actor != "ada" || last.Action != "triage.set" {
			t.Errorf("last audit entry %+v, want ada's triage", last)
		}
		var list struct{ Tokens []tokenJSON }
		decode(t, f.do(ada, "GET", "/api/tokens", nil), &list)
		if len(list.Tokens) != 1 || list.Tokens[0].LastUsed.IsZero() || list.Tokens[0].Secret != "" {
			t.Fatalf("ada's tokens %+v: want one, used, without its secret", list.Tokens)
		}
		if w := f.do(ada, "DELETE", "/api/tokens/"+strconv.FormatInt(tok.ID, 10), nil); w.Code != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", w.Code, w.Body)
		}
		if w := f.do(client{}, "GET", "/api/cases", nil, as); w.Code != http.StatusUnauthorized {
			t.Errorf("revoked token: %d, want 401", w.Code)
		}
	})
}

// TestTokenRefusals: every way a token must stop working.
func TestTokenRefusals(t *testing.T) {
	backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target)
		works := func(secret string) bool {
			return f.do(client{}, "GET", "/api/me", nil, bearer(secret)).Code == http.StatusOK
		}
		short := f.makeToken(f.login("ann"), map[string]any{"name": "short", "days": 1})
		f.clock.Add(24*time.Hour - time.Second)
		if !works(short.Secret) {
			t.Fatal("token refused before it expires")
		}
		f.clock.Add(time.Second)
		if works(short.Secret) {
			t.Error("expired token accepted")
		}

		// A disabled owner's tokens stop; so do those of a user whose
		// password an admin reset.
		ada, ann, vic := f.login("ada"), f.login("ann"), f.login("vic")
		vicTok := f.makeToken(vic, map[string]any{"name": "v"})
		annTok := f.makeToken(ann, map[string]any{"name": "a"})
		if !works(vicTok.Secret) || !works(annTok.Secret) {
			t.Fatal("fresh tokens refused")
		}
		if w := f.do(ada, "POST", "/api/users/vic/disable", nil); w.Code != http.StatusNoContent {
			t.Fatal(w.Code)
		}
		if works(vicTok.Secret) {
			t.Error("token of a disabled user accepted")
		}
		if w := f.do(ada, "PUT", "/api/users/ann/password", map[string]string{"password": "a new long password"}); w.Code != http.StatusNoContent {
			t.Fatal(w.Code)
		}
		if works(annTok.Secret) {
			t.Error("token made before an admin reset the password accepted")
		}
		if w := f.do(ann, "GET", "/api/me", nil); w.Code != http.StatusUnauthorized {
			t.Errorf("session after a password reset: %d, want 401", w.Code)
		}

		// Forged, malformed and oversized tokens.
		for _, h := range []string{"Bearer " + store.TokenPrefix + "AAAA", "Bearer ", "Basic YWRhOnB3", "bearer", "Bearer " + strings.Repeat("x", 10000)} {
			w := f.do(client{}, "GET", "/api/me", nil, func(r *http.Request) { r.Header.Set("Authorization", h) })
			if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("Authorization %.30q: %d, want 401 with WWW-Authenticate", h, w.Code)
			}
		}
	})
}

// TestTokenEscalation: a token's role is at most its owner's, it cannot
// make tokens, and a viewer cannot revoke or list others'.
func TestTokenEscalation(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ada, vic := f.login("ada"), f.login("vic")
	for _, role := range []string{"analyst", "admin"} {
		if w := f.do(vic, "POST", "/api/tokens", map[string]any{"name": "x", "role": role}); w.Code != http.StatusForbidden {
			t.Errorf("viewer asks a %s token: %d, want 403", role, w.Code)
		}
	}
	for _, body := range []map[string]any{{"name": "x", "role": "root"}, {"name": "x", "days": 367}, {"name": "x", "days": -1}, {"name": ""}} {
		if w := f.do(ada, "POST", "/api/tokens", body); w.Code != http.StatusBadRequest {
			t.Errorf("POST /api/tokens %v: %d %s, want 400", body, w.Code, w.Body)
		}
	}
	adaTok := f.makeToken(ada, map[string]any{"name": "admin script"})
	viewTok := f.makeToken(ada, map[string]any{"name": "read only", "role": "viewer"})
	// A token cannot make a token (a longer-lived copy of itself).
	if w := f.do(client{}, "POST", "/api/tokens", map[string]any{"name": "copy", "days": 366}, bearer(adaTok.Secret)); w.Code != http.StatusForbidden {
		t.Errorf("token makes a token: %d, want 403", w.Code)
	}
	// A viewer token of an admin has a viewer's rights.
	if w := f.do(client{}, "GET", "/api/users", nil, bearer(viewTok.Secret)); w.Code != http.StatusForbidden {
		t.Errorf("admin's viewer token lists users: %d, want 403", w.Code)
	}
	if w := f.do(client{}, "GET", "/api/tokens?all=true", nil, bearer(viewTok.Secret)); w.Code != http.StatusForbidden {
		t.Errorf("admin's viewer token lists every token: %d, want 403", w.Code)
	}
	// The viewer neither lists nor revokes ada's tokens.
	if w := f.do(vic, "GET", "/api/tokens?all=true", nil); w.Code != http.StatusForbidden {
		t.Errorf("viewer lists every token: %d, want 403", w.Code)
	}
	var list struct{ Tokens []tokenJSON }
	decode(t, f.do(vic, "GET", "/api/tokens", nil), &list)
	if len(list.Tokens) != 0 {
		t.Errorf("vic's tokens: %+v, want none of ada's", list.Tokens)
	}
	if w := f.do(vic, "DELETE", "/api/tokens/"+strconv.FormatInt(adaTok.ID, 10), nil); w.Code != http.StatusNotFound {
		t.Errorf("viewer revokes ada's token: %d, want 404", w.Code)
	}
	if w := f.do(client{}, "GET", "/api/users", nil, bearer(adaTok.Secret)); w.Code != http.StatusOK {
		t.Errorf("ada's admin token after vic's attempts: %d, want 200", w.Code)
	}
	// The admin sees and revokes every token of the tenant.
	vicTok := f.makeToken(vic, map[string]any{"name": "v"})
	decode(t, f.do(ada, "GET", "/api/tokens?all=true", nil), &list)
	if len(list.Tokens) != 3 {
		t.Errorf("every token of acme: %d, want 3", len(list.Tokens))
	}
	if w := f.do(ada, "DELETE", "/api/tokens/"+strconv.FormatInt(vicTok.ID, 10), nil); w.Code != http.StatusNoContent {
		t.Errorf("admin revokes vic's token: %d", w.Code)
	}
	// Logging out is a session's: a token is revoked instead.
	if w := f.do(client{}, "POST", "/api/logout", nil, bearer(adaTok.Secret)); w.Code != http.StatusBadRequest {
		t.Errorf("logout with a token: %d, want 400", w.Code)
	}
}

// TestTokenOtherTenant: a token of globex's admin reaches none of acme's
// cases, objects or tokens.
func TestTokenOtherTenant(t *testing.T) {
	backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target)
		gus := f.makeToken(f.login("gus"), map[string]any{"name": "g"})
		adaTok := f.makeToken(f.login("ada"), map[string]any{"name": "a"})
		// globex's "intrusion" is its own: acme's detection is not in it.
		d := strconv.FormatInt(f.det, 10)
		for _, e := range []endpoint{
			{"GET", "/api/cases/intrusion/detections/" + d, nil, 0},
			{"PUT", "/api/cases/intrusion/triage/detection/" + d, map[string]string{"state": "benign"}, 0},
			{"DELETE", "/api/tokens/" + strconv.FormatInt(adaTok.ID, 10), nil, 0},
			{"POST", "/api/users/vic/disable", nil, 0},
		} {
			if w := f.do(client{}, e.method, e.path, e.body, bearer(gus.Secret)); w.Code != http.StatusNotFound {
				t.Errorf("globex token %s %s: %d %s, want 404", e.method, e.path, w.Code, w.Body)
			}
		}
		var list struct{ Tokens []tokenJSON }
		decode(t, f.do(client{}, "GET", "/api/tokens?all=true", nil, bearer(gus.Secret)), &list)
		if len(list.Tokens) != 1 || list.Tokens[0].User != "gus" {
			t.Errorf("globex's tokens: %+v, want gus's alone", list.Tokens)
		}
		var m me
		decode(t, f.do(client{}, "GET", "/api/me", nil, bearer(adaTok.Secret)), &m)
		if m.User != "ada" || m.Tenant != "acme" {
			t.Errorf("ada's token after globex's attempts: %+v", m)
		}
	})
}

// TestTokenEveryEndpointAsSession: a token of a role gets, on every
// endpoint, the answer a session of a user of that role gets.
func TestTokenEveryEndpointAsSession(t *testing.T) {
	for _, c := range []struct{ role, user string }{{"viewer", "vic"}, {"analyst", "ann"}} {
		t.Run(c.role, func(t *testing.T) {
			// Two like fixtures, one per caller: a call that deletes
			// (a filter) would otherwise leave the second caller a 404.
			fs, ft := newFixture(t, t.TempDir()), newFixture(t, t.TempDir())
			sess := fs.login(c.user)
			tok := ft.makeToken(ft.login("ada"), map[string]any{"name": "t", "role": c.role})
			for _, e := range fs.allEndpoints() {
				if strings.HasPrefix(e.path, "/api/tokens") || e.path == "/api/logout" || e.path == "/api/me/password" {
					continue // tested apart: they act on the caller's own
				}
				ws, wt := fs.do(sess, e.method, e.path, e.body), ft.do(client{}, e.method, e.path, e.body, bearer(tok.Secret))
				if ws.Code != wt.Code {
					t.Errorf("%s %s: %s session %d, %s token %d", e.method, e.path, c.role, ws.Code, c.role, wt.Code)
				}
			}
		})
	}
}

// TestCookieAndTokenTogether: a request with a session cookie and a token
// is refused whatever else it carries, so a cookie never rides along on
// a token call that skips the CSRF check.
func TestCookieAndTokenTogether(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ada := f.login("ada")
	tok := f.makeToken(ada, map[string]any{"name": "t"})
	path := "/api/cases/intrusion/triage/detection/" + strconv.FormatInt(f.det, 10)
	for name, c := range map[string]client{"without CSRF token": {cookie: ada.cookie}, "with CSRF token": ada} {
		if w := f.do(c, "PUT", path, map[string]string{"state": "benign"}, bearer(tok.Secret)); w.Code != http.StatusBadRequest {
			t.Errorf("cookie %s and token: %d, want 400", name, w.Code)
		}
		if w := f.do(c, "PUT", path, map[string]string{"state": "benign"}, bearer("forged")); w.Code != http.StatusBadRequest {
			t.Errorf("cookie %s and a forged token: %d, want 400", name, w.Code)
		}
	}
	// The cookie alone still needs its CSRF token.
	if w := f.do(client{cookie: ada.cookie}, "PUT", path, map[string]string{"state": "benign"}); w.Code != http.StatusForbidden {
		t.Errorf("cookie without CSRF token: %d, want 403", w.Code)
	}
	var tr triageJSON
	decode(t, f.do(ada, "GET", path, nil), &tr)
	if tr.State != "new" {
		t.Errorf("triage after refused changes: %+v, want new", tr)
	}
}

// FuzzAuthorization sends arbitrary Authorization headers, and with them
// a token's call: never a server error, and a call is let in only with
// the token's secret itself.
func FuzzAuthorization(f *testing.F) {
	fx := newFixture(f, f.TempDir())
	tok := fx.makeToken(fx.login("ann"), map[string]any{"name": "fuzz"})
	for _, seed := range []string{"Bearer " + tok.Secret, "bearer  " + tok.Secret + " ", "Bearer " + store.TokenPrefix, "Basic x", "Bearer", "", "Bearer \x00"} {
		f.Add(seed, "GET", "/api/me")
	}
	f.Add("Bearer "+tok.Secret, "DELETE", "/api/tokens/1")
	f.Add("Bearer "+tok.Secret, "POST", "/api/tokens")
	f.Fuzz(func(t *testing.T, authz, method, path string) {
		// Requests net/http would not hand a handler are not tried.
		if _, err := url.ParseRequestURI(path); err != nil || len(authz) > 8192 || strings.ContainsAny(authz, "\r\n") ||
			!strings.HasPrefix(path, "/api/") || strings.ContainsAny(path, " \r\n\t#%") {
			return
		}
		switch method {
		case "GET", "POST", "DELETE":
		default:
			return
		}
		fx.t = t
		w := fx.do(client{}, method, path, nil, func(r *http.Request) { r.Header.Set("Authorization", authz) })
		if w.Code >= 500 {
			t.Fatalf("%q %s %s: %d %s", authz, method, path, w.Code, w.Body)
		}
		if w.Code < 300 && path == "/api/me" && !strings.Contains(authz, tok.Secret) {
			t.Fatalf("%q let in: %d %s", authz, w.Code, w.Body)
		}
	})
}
