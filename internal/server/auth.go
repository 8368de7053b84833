package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/spoor-hunt/spoor/internal/store"
)

// principal is who makes a request: the user as the store has them now,
// through a browser session or an API token (one of the two is set).
type principal struct {
	user    store.User
	session *session
	token   *store.Token
}

// csrf is the token the principal's state changes carry: a session's; a
// token call carries none.
func (p principal) csrf() string {
	if p.session == nil {
		return ""
	}
	return p.session.csrf
}

type principalKey struct{}

func who(r *http.Request) principal { return r.Context().Value(principalKey{}).(principal) }

// need wraps a handler: the request must carry a live session or API token
// whose user exists, is enabled and has at least role min (a token: the
// lower of its role and its owner's); a request with a session that may
// change state (any method but GET and HEAD) must also carry the session's
// CSRF token and come from this origin. A token call needs no CSRF token: a
// browser never adds an Authorization header to a request another site
// makes, as it adds a cookie.
func (s *Server) need(min store.Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if store.RoleRank(p.user.Role) < store.RoleRank(min) {
			fail(w, http.StatusForbidden, "your role may not do this")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// authenticate finds who a request comes from; when it cannot, it has
// answered.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (principal, bool) {
	if _, has := r.Header["Authorization"]; has {
		// Both at once is refused rather than one picked: a cookie the
		// browser added beside a script's token must not decide whether a
		// state change needs its CSRF token.
		if _, err := r.Cookie(SessionCookie); err == nil {
			fail(w, http.StatusBadRequest, "send a session cookie or an API token, not both")
			return principal{}, false
		}
		return s.tokenPrincipal(w, r)
	}
	sess, err := s.sessions.get(r.Context(), sessionCookie(r))
	if err != nil {
		// A store that fails (a client gone, a database restarting) ends
		// the request, not the session.
		s.internal(w, r, err)
		return principal{}, false
	}
	if sess == nil {
		fail(w, http.StatusUnauthorized, "not logged in")
		return principal{}, false
	}
	if changes(r) {
		if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(sess.csrf)) != 1 {
			fail(w, http.StatusForbidden, "missing or wrong CSRF token")
			return principal{}, false
		}
	}
	// The user as stored now: one disabled or demoted since login loses
	// what it lost at once, not when the session ends.
	u, err := s.st.GetUser(r.Context(), sess.tenant, sess.user)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internal(w, r, err)
		return principal{}, false
	}
	if err != nil || u.Disabled {
		if err := s.sessions.drop(r.Context(), sess); err != nil {
			s.internal(w, r, err)
			return principal{}, false
		}
		fail(w, http.StatusUnauthorized, "not logged in")
		return principal{}, false
	}
	return principal{user: u, session: sess}, true
}

// tokenPrincipal checks the request's "Authorization: Bearer TOKEN".
func (s *Server) tokenPrincipal(w http.ResponseWriter, r *http.Request) (principal, bool) {
	scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		w.Header().Set("WWW-Authenticate", `Bearer`)
		fail(w, http.StatusUnauthorized, "Authorization: Bearer TOKEN expected")
		return principal{}, false
	}
	u, t, err := s.st.TokenUser(r.Context(), strings.TrimSpace(secret))
	if errors.Is(err, store.ErrCredentials) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		fail(w, http.StatusUnauthorized, "unknown, expired or revoked token")
		return principal{}, false
	}
	if err != nil {
		s.internal(w, r, err)
		return principal{}, false
	}
	return principal{user: u, token: &t}, true
}
