package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/spoor-hunt/spoor/internal/store"
)

// tokenRoutes registers the API token endpoints: anyone lists, makes and
// revokes their own tokens; an admin also lists and revokes those of the
// tenant's other users.
func (s *Server) tokenRoutes() {
	s.handle("GET /api/tokens", s.need(store.RoleViewer, s.listTokens))
	s.handle("POST /api/tokens", s.need(store.RoleViewer, s.addToken))
	s.handle("DELETE /api/tokens/{id}", s.need(store.RoleViewer, s.revokeToken))
}

// DefaultTokenDays is how long a token lives when its request says not.
const DefaultTokenDays = 90

// tokenJSON is a token in the API; the answer that makes it also holds
// the token itself, once.
type tokenJSON struct {
	store.Token
	Secret string `json:"token,omitempty"`
}

// listTokens lists the caller's tokens; an admin's ?all=true lists every
// user's of the tenant.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	u := who(r).user
	user := u.Name
	if r.URL.Query().Get("all") == "true" {
		if u.Role != store.RoleAdmin {
			fail(w, http.StatusForbidden, "your role may not do this")
			return
		}
		user = ""
	}
	ts, err := s.st.Tokens(r.Context(), u.Tenant, user)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := make([]tokenJSON, len(ts))
	for i, t := range ts {
		out[i] = tokenJSON{Token: t}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// addToken makes a token for the caller with a role no higher than theirs
// (their own by default). Only a session makes one: a token cannot make a
// longer-lived or renamed copy of itself.
func (s *Server) addToken(w http.ResponseWriter, r *http.Request) {
	p := who(r)
	if p.session == nil {
		fail(w, http.StatusForbidden, "tokens are made from a logged-in session, not with a token")
		return
	}
	var in struct {
		Name string     `json:"name"`
		Role store.Role `json:"role"`
		Days int        `json:"days"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Role == "" {
		in.Role = p.user.Role
	}
	if store.RoleRank(in.Role) > store.RoleRank(p.user.Role) {
		fail(w, http.StatusForbidden, "a token's role cannot be higher than yours")
		return
	}
	if in.Days == 0 {
		in.Days = DefaultTokenDays
	}
	maxDays := int(store.MaxTokenLife / (24 * time.Hour))
	if in.Days < 0 || in.Days > maxDays {
		fail(w, http.StatusBadRequest, "days: from 1 to "+strconv.Itoa(maxDays))
		return
	}
	t, secret, err := s.st.AddToken(r.Context(), p.user.Tenant, p.user.Name, in.Name, in.Role,
		s.now().Add(time.Duration(in.Days)*24*time.Hour), p.user.Name)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, tokenJSON{Token: t, Secret: secret})
}

// revokeToken revokes one of the caller's tokens; an admin may revoke any
// of the tenant's. Another tenant's, or another user's for a non-admin,
// is not found.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	u := who(r).user
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusNotFound, "not found")
		return
	}
	owner := u.Name
	if u.Role == store.RoleAdmin {
		owner = ""
	}
	if err := s.st.RevokeToken(r.Context(), u.Tenant, owner, id, u.Name); err != nil {
		s.storeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
