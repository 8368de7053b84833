// Package server is `spoor serve`'s HTTP side: the JSON API under /api/
// over the case store, and the console's embedded assets at /.
//
// It is a security boundary. Every request but login and the static
// assets needs a session (an HttpOnly, SameSite=Strict cookie naming a
// server-side session); every state change also needs the session's CSRF
// token in the X-CSRF-Token header and a JSON body; each endpoint names the
// least role it needs; and every store call passes the session user's
// tenant, so a case of another tenant is "not found", the same answer as a
// case that does not exist.
package server

import (
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/taxii"
)

//go:embed static
var staticFS embed.FS

// MaxBody is the largest request body accepted (a triage note, a login).
const MaxBody = 64 << 10

// CSRFHeader carries the session's CSRF token on every state change.
const CSRFHeader = "X-CSRF-Token"

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// Logger receives errors the client is not shown; nil discards.
	Logger *slog.Logger
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
	// SessionIdle and SessionMax end a session idle that long, or that old
	// (defaults 1h and 12h).
	SessionIdle, SessionMax time.Duration
	// SessionsPerUser is how many sessions a user keeps at once; a login
	// past it ends the oldest (default 10).
	SessionsPerUser int
	// LoginBurst login attempts are allowed at once per client address and
	// user name, then one per LoginEvery (defaults 5 and 20s).
	LoginBurst int
	LoginEvery time.Duration
	// OIDC, when set, adds login through an OpenID Connect provider
	// (NewOIDC).
	OIDC *OIDCProvider
	// Hunt runs the hunts of uploaded evidence (jobs.go); DataDir is the
	// folder uploads are kept in (under uploads/). Without both, uploads
	// are refused. MaxUpload bounds one upload (DefaultMaxUpload).
	Hunt      HuntFunc
	DataDir   string
	MaxUpload int64
	// CaseSTIX exports a case for its TAXII collection (taxii.go) and the
	// console's STIX export (export.go); nil leaves case collections to
	// what partners add, and the console without that export.
	CaseSTIX CaseSTIXFunc
	// Intel imports a partner's STIX bundle into a case (intel.go); nil
	// refuses imports.
	Intel IntelFunc
}

// Server serves the API and the console. It is an http.Handler.
type Server struct {
	st       *store.Store
	log      *slog.Logger
	now      func() time.Time
	sessions *sessions
	// limiter counts logins per client address and user name; ipLimiter
	// per address (a burst four times as large), against spraying names.
	limiter, ipLimiter *limiter
	// hashing bounds concurrent password checks: each argon2id check takes
	// tens of MiB, so a flood of logins must queue, not exhaust memory.
	hashing chan struct{}
	oidc    *OIDCProvider
	mux     *http.ServeMux
	// endpoints are the API's patterns.
	endpoints []string
	jobs      *jobs
	maxUpload int64
	// taxii serves TAXII 2.1 under TAXIIPrefix (taxii.go); taxiiCreds
	// remembers its clients' basic credentials.
	taxii      *taxii.Handler
	taxiiCreds *credCache
	// intel imports bundles, one at a time (intelBusy).
	intel     IntelFunc
	intelBusy chan struct{}
	// caseSTIX exports a case as STIX (Options.CaseSTIX): its TAXII
	// collection and the console's STIX export.
	caseSTIX CaseSTIXFunc
}

// New returns a server over st.
func New(st *store.Store, o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = time.Hour
	}
	if o.SessionMax <= 0 {
		o.SessionMax = 12 * time.Hour
	}
	if o.SessionsPerUser <= 0 {
		o.SessionsPerUser = 10
	}
	if o.LoginBurst <= 0 {
		o.LoginBurst = 5
	}
	if o.LoginEvery <= 0 {
		o.LoginEvery = 20 * time.Second
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = DefaultMaxUpload
	}
	s := &Server{
		jobs:      newJobs(o.Hunt, o.DataDir, o.Now),
		maxUpload: o.MaxUpload,
		st:        st,
		log:       o.Logger,
		now:       o.Now,
		sessions:  newSessions(st, o.Now, o.SessionIdle, o.SessionMax, o.SessionsPerUser),
		limiter:   newLimiter(o.Now, o.LoginBurst, o.LoginEvery),
		ipLimiter: newLimiter(o.Now, 4*o.LoginBurst, o.LoginEvery/4),
		hashing:   make(chan struct{}, 2),
		oidc:      o.OIDC,
		mux:       http.NewServeMux(),
		caseSTIX:  o.CaseSTIX,
	}
	s.intel, s.intelBusy = o.Intel, make(chan struct{}, 1)
	s.taxiiCreds = newCredCache(o.Now)
	s.taxii = s.newTAXII(o.CaseSTIX)
	s.routes()
	return s
}

// routes registers every endpoint with the least role it needs. The
// standard library's patterns (Go 1.22: methods and {wildcards}) are all
// the routing the API needs, so there is no router dependency; a method
// not registered for a path is 405 by the mux itself.
func (s *Server) routes() {
	s.handle("POST /api/login", http.HandlerFunc(s.login))
	s.handle("POST /api/logout", s.need(store.RoleViewer, s.logout))
	s.handle("GET /api/me", s.need(store.RoleViewer, s.me))
	s.handle("GET /api/cases", s.need(store.RoleViewer, s.listCases))
	s.handle("POST /api/cases", s.need(store.RoleAdmin, s.addCase))
	s.handle("GET /api/cases/{case}", s.need(store.RoleViewer, s.caseOverview))
	s.handle("GET /api/cases/{case}/detections", s.need(store.RoleViewer, s.listDetections))
	s.handle("GET /api/cases/{case}/detections/{id}", s.need(store.RoleViewer, s.getDetection))
	s.handle("GET /api/cases/{case}/operations", s.need(store.RoleViewer, s.listOperations))
	s.handle("GET /api/cases/{case}/operations/{id}", s.need(store.RoleViewer, s.getOperation))
	s.handle("GET /api/cases/{case}/triage/{kind}/{id}", s.need(store.RoleViewer, s.getTriage))
	s.handle("PUT /api/cases/{case}/triage/{kind}/{id}", s.need(store.RoleAnalyst, s.setTriage))
	s.handle("GET /api/cases/{case}/audit", s.need(store.RoleViewer, s.audit))
	for _, kind := range store.SummaryKinds {
		s.handle("GET /api/cases/{case}/"+kind, s.need(store.RoleViewer, s.summaries(kind)))
	}
	s.handle("GET /api/audit", s.need(store.RoleAdmin, s.tenantAudit))
	s.handle("GET /api/users", s.need(store.RoleAdmin, s.listUsers))
	s.handle("POST /api/users", s.need(store.RoleAdmin, s.addUser))
	s.handle("POST /api/users/{user}/disable", s.need(store.RoleAdmin, s.disableUser))
	s.handle("PUT /api/users/{user}/password", s.need(store.RoleAdmin, s.resetPassword))
	s.handle("PUT /api/me/password", s.need(store.RoleViewer, s.changePassword))
	s.tokenRoutes()
	s.oidcRoutes()
	s.consoleRoutes()
	// TAXII answers its own errors, in its own media type.
	s.mux.Handle(TAXIIPrefix, s.taxii)
	// Anything else under /api/ is a JSON 404, never the console page.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) { fail(w, http.StatusNotFound, "not found") })
	assets, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(assets)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if changes(r) {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		// A name fs.FS refuses (invalid UTF-8) is not found, not the 500
		// the file server answers.
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" && !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// handle registers an API endpoint; the tests call every one.
func (s *Server) handle(pattern string, h http.Handler) {
	s.endpoints = append(s.endpoints, pattern)
	s.mux.Handle(pattern, h)
}

// ServeHTTP sets the security headers every answer carries and hands the
// request to its route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		h.Set("Cache-Control", "no-store")
	}
	limit := int64(MaxBody)
	if isUpload(r) {
		limit = s.maxUpload
	} else if isIntelImport(r) {
		limit = maxIntelBundle + 1<<20 // the bundle and its form
	} else if strings.HasPrefix(r.URL.Path, TAXIIPrefix) {
		limit = s.taxii.MaxContentLength()
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	// TAXII answers every path under its prefix itself, in its media type:
	// the mux would redirect an unclean one (/taxii2/./) with an HTML body.
	if r.URL.Path+"/" == TAXIIPrefix || strings.HasPrefix(r.URL.Path, TAXIIPrefix) {
		s.taxii.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// changes tells a method that may change state.
func changes(r *http.Request) bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }

// sameOrigin refuses a request a browser says comes from another site:
// Sec-Fetch-Site where the browser sends it, else Origin against Host.
// Scripts send neither and are judged by the token alone.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		_, host, ok := strings.Cut(o, "://")
		return ok && strings.EqualFold(host, r.Host)
	}
	return true
}

// readJSON decodes a request body of exactly one JSON object into v,
// refusing other content types (a cross-site form cannot send JSON without
// a preflight), unknown fields and trailing data.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if !strings.EqualFold(strings.TrimSpace(ct), "application/json") {
		fail(w, http.StatusUnsupportedMediaType, "body must be application/json")
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, "body too large")
		} else {
			fail(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		}
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		fail(w, http.StatusBadRequest, "bad JSON body: data after the object")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{msg})
}

// storeError answers a store error: not found (whatever the tenant), a
// refused argument, a name taken; anything else is logged and answered
// without detail.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		fail(w, http.StatusNotFound, "not found")
	case errors.Is(err, store.ErrInvalid):
		fail(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrExists):
		fail(w, http.StatusConflict, "already exists")
	default:
		s.internal(w, r, err)
	}
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	fail(w, http.StatusInternalServerError, "internal error")
}
