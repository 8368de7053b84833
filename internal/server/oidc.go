package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/spoor-hunt/spoor/internal/store"
)

// OIDC configures login through an OpenID Connect provider (the
// authorization-code flow with state, nonce and PKCE). A provider's user
// logs in as the local user the UserClaim of their ID token names, of
// that user's tenant and role: users are made beforehand (spoor user add),
// so the provider proves who someone is and spoor alone decides what they
// may see.
type OIDC struct {
	// Issuer is the provider's issuer URL (discovery at
	// Issuer/.well-known/openid-configuration).
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is this server's callback as registered with the
	// provider; "" takes https://HOST/api/oidc/callback of each request.
	RedirectURL string
	// UserClaim names the ID token's claim holding the user name
	// (default "preferred_username").
	UserClaim string
	// HTTPClient reaches the provider (tests); http.DefaultClient when nil.
	HTTPClient *http.Client
}

// OIDCCookie binds a login in progress to the browser that began it.
const OIDCCookie = "spoor_oidc"

// oidcLoginTTL is how long a login may take at the provider.
const oidcLoginTTL = 10 * time.Minute

// maxPendingLogins bounds the logins in progress held.
const maxPendingLogins = 10_000

// oidcLogin is a login begun: what the callback must see again.
type oidcLogin struct {
	nonce, verifier string
	begun           time.Time
}

// OIDCProvider is an OpenID Connect provider as discovered, and the
// logins in progress by the hash of their state.
type OIDCProvider struct {
	cfg      OIDC
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier

	mu      sync.Mutex
	pending map[[32]byte]oidcLogin
}

// NewOIDC discovers the provider of cfg; Options.OIDC takes the result.
func NewOIDC(ctx context.Context, cfg OIDC, now func() time.Time) (*OIDCProvider, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("OIDC: issuer, client id and client secret are all needed")
	}
	if cfg.UserClaim == "" {
		cfg.UserClaim = "preferred_username"
	}
	if now == nil {
		now = time.Now
	}
	if cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, cfg.HTTPClient)
	}
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC provider %s: %w", cfg.Issuer, err)
	}
	return &OIDCProvider{
		cfg:      cfg,
		provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: now}),
		pending:  map[[32]byte]oidcLogin{},
	}, nil
}

func (s *Server) oidcRoutes() {
	if s.oidc == nil {
		return
	}
	s.handle("GET /api/oidc/login", http.HandlerFunc(s.oidcBegin))
	s.handle("GET /api/oidc/callback", http.HandlerFunc(s.oidcCallback))
}

func (a *OIDCProvider) oauth(r *http.Request) *oauth2.Config {
	redirect := a.cfg.RedirectURL
	if redirect == "" {
		redirect = "https://" + r.Host + "/api/oidc/callback"
	}
	return &oauth2.Config{
		ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret, RedirectURL: redirect,
		Endpoint: a.provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
	}
}

// oidcBegin sends the browser to the provider with a fresh state, nonce
// and PKCE challenge; the state also goes in a cookie, so the callback
// completes only in the browser that began the login.
func (s *Server) oidcBegin(w http.ResponseWriter, r *http.Request) {
	a := s.oidc
	// Counted as logins per address: each begun login is held until used
	// or expired, so a flood must not fill the table for everyone.
	if ok, wait := s.ipLimiter.allow(clientIP(r)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		fail(w, http.StatusTooManyRequests, "too many login attempts; try again later")
		return
	}
	state, nonce, verifier := token(), token(), oauth2.GenerateVerifier()
	now := s.now()
	a.mu.Lock()
	if len(a.pending) >= maxPendingLogins {
		for k, l := range a.pending {
			if now.Sub(l.begun) >= oidcLoginTTL {
				delete(a.pending, k)
			}
		}
	}
	if len(a.pending) >= maxPendingLogins {
		a.mu.Unlock()
		fail(w, http.StatusServiceUnavailable, "too many logins in progress; try again later")
		return
	}
	a.pending[sha256.Sum256([]byte(state))] = oidcLogin{nonce: nonce, verifier: verifier, begun: now}
	a.mu.Unlock()
	// Lax, not Strict: the provider's redirect back is a cross-site
	// navigation, which a Strict cookie would not follow.
	http.SetCookie(w, &http.Cookie{Name: OIDCCookie, Value: state, Path: "/api/oidc/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, MaxAge: int(oidcLoginTTL / time.Second)})
	http.Redirect(w, r, a.oauth(r).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), http.StatusFound)
}

// take removes and returns the login state names, if it is live: a
// state is used once, so a callback replayed is refused.
func (a *OIDCProvider) take(state string, now time.Time) (oidcLogin, bool) {
	key := sha256.Sum256([]byte(state))
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.pending[key]
	delete(a.pending, key)
	return l, ok && now.Sub(l.begun) < oidcLoginTTL
}

// oidcCallback completes a login: the state matches the browser's cookie
// and a login in progress, the code is exchanged with the PKCE verifier,
// the ID token is verified (signature, issuer, audience, expiry) and holds
// the login's nonce, and its user claim names an enabled local user.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	a := s.oidc
	http.SetCookie(w, &http.Cookie{Name: OIDCCookie, Path: "/api/oidc/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	q := r.URL.Query()
	state := q.Get("state")
	c, err := r.Cookie(OIDCCookie)
	if state == "" || err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		fail(w, http.StatusBadRequest, "login state missing or not this browser's; start the login again")
		return
	}
	login, ok := a.take(state, s.now())
	if !ok {
		fail(w, http.StatusBadRequest, "login expired or already used; start the login again")
		return
	}
	if e := q.Get("error"); e != "" {
		fail(w, http.StatusUnauthorized, "the identity provider refused the login: "+e)
		return
	}
	ctx := r.Context()
	if a.cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, a.cfg.HTTPClient)
	}
	tok, err := a.oauth(r).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(login.verifier))
	if err != nil {
		s.log.Warn("OIDC code exchange failed", "err", err)
		fail(w, http.StatusUnauthorized, "the identity provider did not confirm the login")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		fail(w, http.StatusUnauthorized, "the identity provider sent no ID token")
		return
	}
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil {
		s.log.Warn("OIDC ID token refused", "err", err)
		fail(w, http.StatusUnauthorized, "ID token refused")
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(login.nonce)) != 1 {
		fail(w, http.StatusUnauthorized, "ID token refused: not this login's")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		fail(w, http.StatusUnauthorized, "ID token refused")
		return
	}
	name, _ := claims[a.cfg.UserClaim].(string)
	u, err := s.st.FindUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		fail(w, http.StatusForbidden, "no enabled spoor user for this identity; an admin adds one with spoor user add")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if old := sessionCookie(r); old != "" {
		if err := s.st.EndSession(ctx, old); err != nil {
			s.internal(w, r, err)
			return
		}
	}
	sess, err := s.sessions.create(ctx, u.Tenant, u.Name)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	setSessionCookie(w, r, sess.secret, s.sessions.max)
	http.Redirect(w, r, "/", http.StatusFound)
}
