package server

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// mockIdP is an OpenID Connect provider for the tests: discovery, JWKS,
// an authorization endpoint that approves at once, and a token endpoint
// that checks the client, the redirect and the PKCE verifier and signs an
// ID token (RS256, with the standard library) from the claims the test
// asks for.
type mockIdP struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	now    func() time.Time
	mu     sync.Mutex
	codes  map[string]mockGrant
	claims func(c map[string]any) // edits the next ID tokens' claims
}

type mockGrant struct {
	nonce, challenge, redirect string
}

const (
	mockClientID     = "spoor-console"
	mockClientSecret = "client secret"
)

func newMockIdP(t *testing.T, now func() time.Time) *mockIdP {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	m := &mockIdP{t: t, key: key, now: now, codes: map[string]mockGrant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                m.srv.URL,
			"authorization_endpoint":                m.srv.URL + "/authorize",
			"token_endpoint":                        m.srv.URL + "/token",
			"jwks_uri":                              m.srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1",
			"n": b64.EncodeToString(key.N.Bytes()),
			"e": b64.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	// The user approves at once: back to the client with a code.
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != mockClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" || !strings.Contains(q.Get("scope"), "openid") {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		code := rand.Text()
		m.mu.Lock()
		m.codes[code] = mockGrant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		m.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		// RFC 6749 2.3.1: HTTP Basic of the form-encoded id and secret.
		id, secret, ok := r.BasicAuth()
		if ok {
			id, _ = url.QueryUnescape(id)
			secret, _ = url.QueryUnescape(secret)
		} else {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		m.mu.Lock()
		g, known := m.codes[r.PostFormValue("code")]
		delete(m.codes, r.PostFormValue("code")) // a code is used once
		m.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if id != mockClientID || secret != mockClientSecret || !known || r.PostFormValue("grant_type") != "authorization_code" ||
			r.PostFormValue("redirect_uri") != g.redirect || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		now := m.now()
		claims := map[string]any{
			"iss": m.srv.URL, "sub": "id-4711", "aud": mockClientID, "nonce": g.nonce,
			"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "preferred_username": "ann",
		}
		if m.claims != nil {
			m.claims(claims)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": m.sign(claims)})
	})
	m.srv = httptest.NewServer(mux)
	t.Cleanup(m.srv.Close)
	return m
}

// sign makes a JWS compact RS256 token of claims.
func (m *mockIdP) sign(claims map[string]any) string {
	b64 := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "k1"})
	payload, _ := json.Marshal(claims)
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, m.key, crypto.SHA256, sum[:])
	if err != nil {
		m.t.Fatal(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

// oidcFixture is the server fixture with OIDC login against a mockIdP.
func oidcFixture(t *testing.T) (*fixture, *mockIdP) {
	f := newFixture(t, t.TempDir())
	idp := newMockIdP(t, f.clock.Now)
	p, err := NewOIDC(context.Background(), OIDC{Issuer: idp.srv.URL, ClientID: mockClientID, ClientSecret: mockClientSecret,
		RedirectURL: "https://spoor.example/api/oidc/callback", HTTPClient: idp.srv.Client()}, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = New(f.st, Options{Now: f.clock.Now, OIDC: p, LoginBurst: 100})
	return f, idp
}

// oidcAttempt is a login's way through: the begin answer's state cookie,
// and the provider's redirect back (the callback URL with code and state).
type oidcAttempt struct {
	stateCookie string
	callback    string
}

// begin starts a login at the server and follows it through the provider
// to the callback URL, without calling it.
func (f *fixture) oidcBegin(idp *mockIdP) oidcAttempt {
	f.t.Helper()
	w := f.do(client{}, "GET", "/api/oidc/login", nil)
	if w.Code != http.StatusFound {
		f.t.Fatalf("GET /api/oidc/login: %d %s", w.Code, w.Body)
	}
	var a oidcAttempt
	for _, c := range w.Result().Cookies() {
		if c.Name == OIDCCookie {
			a.stateCookie = c.Value
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				f.t.Errorf("state cookie %+v: want HttpOnly, SameSite=Lax", c)
			}
		}
	}
	loc := w.Header().Get("Location")
	if !strings.HasPrefix(loc, idp.srv.URL+"/authorize?") || a.stateCookie == "" {
		f.t.Fatalf("login redirect %q, state cookie %q", loc, a.stateCookie)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(loc)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	a.callback = resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(a.callback, "https://spoor.example/api/oidc/callback?") {
		f.t.Fatalf("provider answered %d, to %q", resp.StatusCode, a.callback)
	}
	a.callback = strings.TrimPrefix(a.callback, "https://spoor.example")
	return a
}

// finish calls the callback with the state cookie (unless "").
func (f *fixture) oidcFinish(a oidcAttempt) *httptest.ResponseRecorder {
	f.t.Helper()
	return f.do(client{}, "GET", a.callback, nil, func(r *http.Request) {
		if a.stateCookie != "" {
			r.AddCookie(&http.Cookie{Name: OIDCCookie, Value: a.stateCookie})
		}
	})
}

// sessionOf returns the client of the session cookie an answer set.
func (f *fixture) sessionOf(w *httptest.ResponseRecorder) client {
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie && c.Value != "" {
			var m me
			decode(f.t, f.do(client{cookie: c.Value}, "GET", "/api/me", nil), &m)
			return client{cookie: c.Value, csrf: m.CSRF}
		}
	}
	return client{}
}

// TestOIDCLogin: a login through the provider ends in a session of the
// local user the claim names, with that user's tenant and role.
func TestOIDCLogin(t *testing.T) {
	f, idp := oidcFixture(t)
	w := f.oidcFinish(f.oidcBegin(idp))
	if w.Code != http.StatusFound || w.Header().Get("Location") != "/" {
		t.Fatalf("callback: %d %s, want a redirect to the console", w.Code, w.Body)
	}
	ann := f.sessionOf(w)
	var m me
	decode(t, f.do(ann, "GET", "/api/me", nil), &m)
	if m.User != "ann" || m.Tenant != "acme" || m.Role != "analyst" || m.CSRF == "" {
		t.Errorf("after OIDC login: %+v, want acme's analyst ann", m)
	}
	// An ordinary session: CSRF on state changes, the user's role.
	if w := f.do(client{cookie: ann.cookie}, "POST", "/api/tokens", map[string]any{"name": "x"}); w.Code != http.StatusForbidden {
		t.Errorf("state change without CSRF token after OIDC login: %d, want 403", w.Code)
	}
	if w := f.do(ann, "POST", "/api/cases", map[string]string{"name": "x"}); w.Code != http.StatusForbidden {
		t.Errorf("analyst creates a case: %d, want 403", w.Code)
	}
}

// TestOIDCRefusals: every way a login through the provider must fail, and
// none leaves a session.
func TestOIDCRefusals(t *testing.T) {
	f, idp := oidcFixture(t)
	refused := func(name string, w *httptest.ResponseRecorder, want int) {
		t.Helper()
		if w.Code != want {
			t.Errorf("%s: %d %s, want %d", name, w.Code, w.Body, want)
		}
		if c := f.sessionOf(w); c.cookie != "" {
			t.Errorf("%s: a session was made", name)
		}
	}
	// The state: not the browser's, missing, or used already (replay).
	a := f.oidcBegin(idp)
	other := a
	other.stateCookie = f.oidcBegin(idp).stateCookie
	refused("another browser's state cookie", f.oidcFinish(other), http.StatusBadRequest)
	noCookie := a
	noCookie.stateCookie = ""
	refused("no state cookie", f.oidcFinish(noCookie), http.StatusBadRequest)
	forged := a
	forged.callback = strings.Replace(a.callback, "state=", "state=x", 1)
	forged.stateCookie = "x" + a.stateCookie
	refused("forged state", f.oidcFinish(forged), http.StatusBadRequest)
	a = f.oidcBegin(idp)
	if w := f.oidcFinish(a); w.Code != http.StatusFound {
		t.Fatalf("good login: %d %s", w.Code, w.Body)
	}
	refused("callback replayed", f.oidcFinish(a), http.StatusBadRequest)
	// A login left too long at the provider.
	a = f.oidcBegin(idp)
	f.clock.Add(oidcLoginTTL)
	refused("login expired", f.oidcFinish(a), http.StatusBadRequest)

	// The ID token: another login's nonce (a token replayed), another
	// client's audience, expired, another issuer, forged signature.
	for name, edit := range map[string]func(c map[string]any){
		"bad nonce":      func(c map[string]any) { c["nonce"] = "another login's" },
		"no nonce":       func(c map[string]any) { delete(c, "nonce") },
		"wrong audience": func(c map[string]any) { c["aud"] = "another-client" },
		"expired token":  func(c map[string]any) { c["exp"] = f.clock.Now().Add(-time.Minute).Unix() },
		"wrong issuer":   func(c map[string]any) { c["iss"] = "https://evil.example" },
	} {
		idp.claims = edit
		refused(name, f.oidcFinish(f.oidcBegin(idp)), http.StatusUnauthorized)
	}
	idp.claims = nil
	// A code replayed: the provider refuses it (and the state is spent).
	a = f.oidcBegin(idp)
	b := f.oidcBegin(idp)
	code := a.callback[strings.Index(a.callback, "code=")+5 : strings.Index(a.callback, "&")]
	f.oidcFinish(a)
	b.callback = strings.Replace(b.callback, b.callback[strings.Index(b.callback, "code=")+5:strings.Index(b.callback, "&")], code, 1)
	refused("code replayed", f.oidcFinish(b), http.StatusUnauthorized)

	// The identity: no such user, a disabled one, no claim.
	for name, edit := range map[string]func(c map[string]any){
		"unknown user": func(c map[string]any) { c["preferred_username"] = "mallory" },
		"no claim":     func(c map[string]any) { delete(c, "preferred_username") },
	} {
		idp.claims = edit
		refused(name, f.oidcFinish(f.oidcBegin(idp)), http.StatusForbidden)
	}
	idp.claims = nil
	if err := f.st.DisableUser(context.Background(), "acme", "ann", "root"); err != nil {
		t.Fatal(err)
	}
	refused("disabled user", f.oidcFinish(f.oidcBegin(idp)), http.StatusForbidden)
}

// TestOIDCBeginLimited: logins begun count against the address's login
// limit, so a flood cannot fill the table of logins in progress.
func TestOIDCBeginLimited(t *testing.T) {
	f, _ := oidcFixture(t)
	f.srv = New(f.st, Options{Now: f.clock.Now, OIDC: f.srv.oidc, LoginBurst: 2})
	codes := map[int]int{}
	for range 20 {
		codes[f.do(client{}, "GET", "/api/oidc/login", nil).Code]++
	}
	if codes[http.StatusFound] != 8 || codes[http.StatusTooManyRequests] != 12 {
		t.Errorf("20 logins begun from one address: %v, want 8 redirects (4 x burst) then 429", codes)
	}
	if n := len(f.srv.oidc.pending); n > 8 {
		t.Errorf("%d logins held", n)
	}
}
