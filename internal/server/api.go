package server

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/store"
)

// me is the answer of login and GET /api/me: who is logged in, and the
// token their state changes carry in X-CSRF-Token.
type me struct {
	User   string     `json:"user"`
	Tenant string     `json:"tenant"`
	Role   store.Role `json:"role"`
	CSRF   string     `json:"csrf"`
}

// login checks a name and password and starts a session. Attempts are
// limited per client address and name, and per address; a refused login
// says only that the credentials are wrong, whatever was wrong.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		fail(w, http.StatusForbidden, "cross-site login refused")
		return
	}
	var in struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	u, ok := s.checkPassword(w, r, in.User, in.Password)
	if !ok {
		return
	}
	// A login replaces the session the browser had: a session id planted
	// before login is never the one that becomes authenticated.
	if old := sessionCookie(r); old != "" {
		if err := s.st.EndSession(r.Context(), old); err != nil {
			s.internal(w, r, err)
			return
		}
	}
	sess, err := s.sessions.create(r.Context(), u.Tenant, u.Name)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	setSessionCookie(w, r, sess.secret, s.sessions.max)
	writeJSON(w, http.StatusOK, me{User: u.Name, Tenant: u.Tenant, Role: u.Role, CSRF: sess.csrf})
}

// limitKey is the rate limiter's key of an address and a user name: a
// hash, so a key takes 32 bytes whatever name a client sends.
func limitKey(ip, user string) string {
	sum := sha256.Sum256([]byte(ip + "\x00" + user))
	return string(sum[:])
}

// checkPassword returns the user if password is theirs, within the login
// limits; when not, it has answered (429, 401 or 500).
func (s *Server) checkPassword(w http.ResponseWriter, r *http.Request, user, password string) (store.User, bool) {
	u, err := s.passwordUser(r, user, password)
	var limited *limitedError
	switch {
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(int(limited.wait/time.Second)+1))
		fail(w, http.StatusTooManyRequests, "too many login attempts; try again later")
	case errors.Is(err, store.ErrCredentials):
		fail(w, http.StatusUnauthorized, "wrong user name or password")
	case err != nil:
		s.internal(w, r, err)
	}
	return u, err == nil
}

// limitedError: a client over its login limits, to wait that long.
type limitedError struct{ wait time.Duration }

func (e *limitedError) Error() string { return "too many login attempts" }

// passwordUser returns the user if password is theirs, within the login
// limits (a *limitedError past them; store.ErrCredentials when wrong): the
// one password check of logins, password changes and TAXII's basic auth.
func (s *Server) passwordUser(r *http.Request, user, password string) (store.User, error) {
	ip := clientIP(r)
	// The address first: an address over its limit makes no per-name
	// bucket, so spraying names cannot fill the limiter until it forgets.
	for _, l := range []struct {
		*limiter
		key string
	}{{s.ipLimiter, ip}, {s.limiter, limitKey(ip, user)}} {
		if ok, wait := l.allow(l.key); !ok {
			return store.User{}, &limitedError{wait}
		}
	}
	select {
	case s.hashing <- struct{}{}:
	case <-r.Context().Done():
		return store.User{}, r.Context().Err()
	}
	u, err := s.st.Authenticate(r.Context(), user, password)
	<-s.hashing
	return u, err
}

// clientIP is the address of the peer (no forwarding header is trusted);
// for IPv6 its /64, which one client commonly holds whole, so stepping
// through its addresses does not reset the login limits.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess := who(r).session
	if sess == nil {
		fail(w, http.StatusBadRequest, "a token is revoked (DELETE /api/tokens/{id}), not logged out")
		return
	}
	if err := s.sessions.drop(r.Context(), sess); err != nil {
		s.internal(w, r, err)
		return
	}
	setSessionCookie(w, r, "", 0)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p := who(r)
	writeJSON(w, http.StatusOK, me{User: p.user.Name, Tenant: p.user.Tenant, Role: p.user.Role, CSRF: p.csrf()})
}

// caseJSON is a case in the API.
type caseJSON struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	CreatedBy   string    `json:"created_by"`
}

func toCase(c store.Case) caseJSON {
	return caseJSON{Name: c.Name, Description: c.Description, Created: c.Created, CreatedBy: c.CreatedBy}
}

func (s *Server) listCases(w http.ResponseWriter, r *http.Request) {
	cs, err := s.st.Cases(r.Context(), who(r).user.Tenant)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := make([]caseJSON, len(cs))
	for i, c := range cs {
		out[i] = toCase(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": out})
}

func (s *Server) addCase(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	u := who(r).user
	c, err := s.st.AddCase(r.Context(), u.Tenant, in.Name, in.Description, u.Name)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toCase(c))
}

// countCap is where counts stop: an overview says "10000+" rather than
// count a million detections.
const countCap = 10_000

type count struct {
	N    int64 `json:"n"`
	More bool  `json:"more,omitempty"`
}

// overview is a case at a glance.
type overview struct {
	Case       caseJSON         `json:"case"`
	Hunts      []huntJSON       `json:"hunts"`
	Detections count            `json:"detections"`
	ByLevel    map[string]count `json:"by_level"`
	// Tactics is the tactic grid: detections per ATT&CK tactic, in
	// kill-chain order, the tactics without any left out.
	Tactics []tacticCount `json:"tactics"`
	// Operations counts the operations by severity.
	Operations map[string]int `json:"operations"`
	// Hosts and the time range are those of the operations.
	Hosts []string   `json:"hosts"`
	First *time.Time `json:"first,omitempty"`
	Last  *time.Time `json:"last,omitempty"`
}

type huntJSON struct {
	ID         int64           `json:"id"`
	By         string          `json:"by"`
	Started    time.Time       `json:"started"`
	Finished   *time.Time      `json:"finished,omitempty"`
	State      store.HuntState `json:"state"`
	Paths      []string        `json:"paths"`
	Rules      string          `json:"rules"`
	Detections int64           `json:"detections"`
	Summary    json.RawMessage `json:"summary"`
}

type tacticCount struct {
	Tactic string `json:"tactic"`
	Name   string `json:"name"`
	count
}

// levels are Sigma's levels, most severe first.
var levels = func() []string {
	l := slices.Clone(sigma.Levels)
	slices.Reverse(l)
	return l
}()

func (s *Server) caseOverview(w http.ResponseWriter, r *http.Request) {
	ctx, tenant, name := r.Context(), who(r).user.Tenant, r.PathValue("case")
	c, err := s.st.Case(ctx, tenant, name)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := overview{Case: toCase(c), Hunts: []huntJSON{}, ByLevel: map[string]count{}, Tactics: []tacticCount{},
		Operations: map[string]int{}, Hosts: []string{}}
	hs, err := s.st.Hunts(ctx, tenant, name)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	for _, h := range hs {
		j := huntJSON{ID: h.ID, By: h.By, Started: h.Started, State: h.State, Paths: h.Paths, Rules: h.Rules, Detections: h.Detections, Summary: h.Summary}
		if !h.Finished.IsZero() {
			j.Finished = &h.Finished
		}
		out.Hunts = append(out.Hunts, j)
	}
	counted := func(f store.Filter) (count, error) {
		n, more, err := s.st.CountDetections(ctx, tenant, name, f, countCap)
		return count{n, more}, err
	}
	if out.Detections, err = counted(store.Filter{}); err != nil {
		s.storeError(w, r, err)
		return
	}
	for _, l := range levels {
		n, err := counted(store.Filter{Levels: []string{l}})
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		if n.N > 0 {
			out.ByLevel[l] = n
		}
	}
	for _, t := range result.Tactics {
		n, err := counted(store.Filter{Tactic: t.ShortName})
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		if n.N > 0 {
			out.Tactics = append(out.Tactics, tacticCount{t.ShortName, t.Name, n})
		}
	}
	ops, err := s.st.Operations(ctx, tenant, name)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	hosts := map[string]bool{}
	for _, o := range ops {
		var op struct {
			Severity    string
			Hosts       []string
			First, Last time.Time
		}
		if err := json.Unmarshal(o.JSON, &op); err != nil {
			s.internal(w, r, err)
			return
		}
		out.Operations[op.Severity]++
		for _, h := range op.Hosts {
			if !hosts[h] {
				hosts[h] = true
				out.Hosts = append(out.Hosts, h)
			}
		}
		if !op.First.IsZero() && (out.First == nil || op.First.Before(*out.First)) {
			out.First = &op.First
		}
		if !op.Last.IsZero() && (out.Last == nil || op.Last.After(*out.Last)) {
			out.Last = &op.Last
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// detectionFilter reads a detection query from the URL: level (one or
// more, comma-separated), rule, host, user, tactic, technique, from and to
// (RFC 3339), q (free text), hunt, unfinished, sort (time, -time, level),
// after (the previous page's next) and limit.
func detectionFilter(r *http.Request) (store.Query, error) {
	v := r.URL.Query()
	q := store.Query{Filter: store.Filter{
		Rule: v.Get("rule"), Host: v.Get("host"), User: v.Get("user"),
		Tactic: v.Get("tactic"), Technique: v.Get("technique"), Text: v.Get("q"),
	}, After: v.Get("after")}
	if l := v.Get("level"); l != "" {
		q.Levels = strings.Split(l, ",")
	}
	var err error
	for _, t := range []struct {
		key string
		to  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if x := v.Get(t.key); x != "" {
			if *t.to, err = time.Parse(time.RFC3339Nano, x); err != nil {
				return q, errors.New(t.key + ": not an RFC 3339 time: " + strconv.Quote(x))
			}
		}
	}
	if x := v.Get("hunt"); x != "" {
		if q.Hunt, err = strconv.ParseInt(x, 10, 64); err != nil || q.Hunt <= 0 {
			return q, errors.New("hunt: not a hunt id: " + strconv.Quote(x))
		}
	}
	q.Unfinished = v.Get("unfinished") == "true"
	switch v.Get("sort") {
	case "", "time":
		q.Order = store.ByTime
	case "-time":
		q.Order = store.ByTimeDesc
	case "level":
		q.Order = store.ByLevel
	default:
		return q, errors.New("sort: one of time, -time, level")
	}
	if x := v.Get("limit"); x != "" {
		if q.Limit, err = strconv.Atoi(x); err != nil || q.Limit <= 0 || q.Limit > store.MaxLimit {
			return q, errors.New("limit: a number from 1 to " + strconv.Itoa(store.MaxLimit))
		}
	}
	return q, nil
}

type detectionJSON struct {
	ID        int64           `json:"id"`
	Hunt      int64           `json:"hunt"`
	Detection json.RawMessage `json:"detection"`
	Triage    *triageJSON     `json:"triage,omitempty"`
}

func (s *Server) listDetections(w http.ResponseWriter, r *http.Request) {
	q, err := detectionFilter(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	page, err := s.st.Detections(r.Context(), who(r).user.Tenant, r.PathValue("case"), q)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	ids := make([]string, len(page.Detections))
	for i, d := range page.Detections {
		ids[i] = strconv.FormatInt(d.ID, 10)
	}
	triages, ok := s.triages(w, r, store.KindDetection, ids)
	if !ok {
		return
	}
	out := make([]detectionJSON, len(page.Detections))
	for i, d := range page.Detections {
		out[i] = detectionJSON{ID: d.ID, Hunt: d.Hunt, Detection: d.JSON, Triage: triages[i]}
	}
	writeJSON(w, http.StatusOK, map[string]any{"detections": out, "next": page.Next})
}

func (s *Server) getDetection(w http.ResponseWriter, r *http.Request) {
	ctx, tenant, name := r.Context(), who(r).user.Tenant, r.PathValue("case")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusNotFound, "not found")
		return
	}
	d, err := s.st.GetDetection(ctx, tenant, name, id)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	t, ok := s.triages(w, r, store.KindDetection, []string{strconv.FormatInt(id, 10)})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, detectionJSON{ID: d.ID, Hunt: d.Hunt, Detection: d.JSON, Triage: t[0]})
}

type operationJSON struct {
	ID        string          `json:"id"`
	Built     time.Time       `json:"built"`
	Operation json.RawMessage `json:"operation"`
	Triage    *triageJSON     `json:"triage,omitempty"`
}

func (s *Server) listOperations(w http.ResponseWriter, r *http.Request) {
	ops, err := s.st.Operations(r.Context(), who(r).user.Tenant, r.PathValue("case"))
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	ids := make([]string, len(ops))
	for i, o := range ops {
		ids[i] = o.ID
	}
	triages, ok := s.triages(w, r, store.KindOperation, ids)
	if !ok {
		return
	}
	out := make([]operationJSON, len(ops))
	for i, o := range ops {
		out[i] = operationJSON{ID: o.ID, Built: o.Built, Operation: o.JSON, Triage: triages[i]}
	}
	writeJSON(w, http.StatusOK, map[string]any{"operations": out})
}

// getOperation answers an operation as the hunt wrote it (its story,
// graph, attribution and join keys) with its triage.
func (s *Server) getOperation(w http.ResponseWriter, r *http.Request) {
	ctx, tenant, name, id := r.Context(), who(r).user.Tenant, r.PathValue("case"), r.PathValue("id")
	o, err := s.st.GetOperation(ctx, tenant, name, id)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	t, ok := s.triages(w, r, store.KindOperation, []string{id})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, operationJSON{ID: o.ID, Built: o.Built, Operation: o.JSON, Triage: t[0]})
}

type triageJSON struct {
	State     store.TriageState `json:"state"`
	Assignee  string            `json:"assignee"`
	Notes     string            `json:"notes"`
	Updated   *time.Time        `json:"updated,omitempty"`
	UpdatedBy string            `json:"updated_by,omitempty"`
}

func toTriage(t store.Triage) triageJSON {
	j := triageJSON{State: t.State, Assignee: t.Assignee, Notes: t.Notes, UpdatedBy: t.UpdatedBy}
	if !t.Updated.IsZero() {
		j.Updated = &t.Updated
	}
	return j
}

// triages returns the triage of each of ids, objects of kind of the
// request's case (state new where nobody set one); when not ok, it has
// answered.
func (s *Server) triages(w http.ResponseWriter, r *http.Request, kind string, ids []string) ([]*triageJSON, bool) {
	set, err := s.st.Triages(r.Context(), who(r).user.Tenant, r.PathValue("case"), kind, ids)
	if err != nil {
		s.storeError(w, r, err)
		return nil, false
	}
	out := make([]*triageJSON, len(ids))
	for i, id := range ids {
		t, ok := set[id]
		if !ok {
			t = store.Triage{State: store.TriageNew}
		}
		j := toTriage(t)
		out[i] = &j
	}
	return out, true
}

// triageKind is the store's kind of a {kind} in a path; any other is not
// found.
func triageKind(r *http.Request) (string, bool) {
	k := r.PathValue("kind")
	return k, k == store.KindDetection || k == store.KindOperation
}

func (s *Server) getTriage(w http.ResponseWriter, r *http.Request) {
	kind, ok := triageKind(r)
	if !ok {
		fail(w, http.StatusNotFound, "not found")
		return
	}
	t, err := s.st.GetTriage(r.Context(), who(r).user.Tenant, r.PathValue("case"), kind, r.PathValue("id"))
	if err != nil {
		s.notFoundIfInvalid(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTriage(t))
}

// notFoundIfInvalid answers an object id the store cannot read (a
// detection id that is no number) as the missing object it is.
func (s *Server) notFoundIfInvalid(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrInvalid) {
		err = store.ErrNotFound
	}
	s.storeError(w, r, err)
}

// maxNotes bounds a triage's notes (the body limit bounds them too).
const maxNotes = 32 << 10

// setTriage sets the state, assignee and notes of a detection or an
// operation; the store writes the change and its audit entry (who, when,
// what) in one transaction.
func (s *Server) setTriage(w http.ResponseWriter, r *http.Request) {
	kind, ok := triageKind(r)
	if !ok {
		fail(w, http.StatusNotFound, "not found")
		return
	}
	var in struct {
		State    store.TriageState `json:"state"`
		Assignee string            `json:"assignee"`
		Notes    string            `json:"notes"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if len(in.Notes) > maxNotes {
		fail(w, http.StatusRequestEntityTooLarge, "notes too long")
		return
	}
	ctx, u, name := r.Context(), who(r).user, r.PathValue("case")
	// The case first: a case of another tenant is not found, whatever the
	// rest of the request says.
	if _, err := s.st.Case(ctx, u.Tenant, name); err != nil {
		s.storeError(w, r, err)
		return
	}
	if in.Assignee != "" {
		// Only a user of the same tenant can be assigned.
		if _, err := s.st.GetUser(ctx, u.Tenant, in.Assignee); errors.Is(err, store.ErrNotFound) {
			fail(w, http.StatusBadRequest, "assignee: no such user")
			return
		} else if err != nil {
			s.internal(w, r, err)
			return
		}
	}
	t := store.Triage{Kind: kind, ID: r.PathValue("id"), State: in.State, Assignee: in.Assignee, Notes: in.Notes}
	if _, err := s.st.GetTriage(ctx, u.Tenant, name, kind, t.ID); err != nil {
		s.notFoundIfInvalid(w, r, err)
		return
	}
	if err := s.st.SetTriage(ctx, u.Tenant, name, t, u.Name); err != nil {
		s.storeError(w, r, err)
		return
	}
	got, err := s.st.GetTriage(ctx, u.Tenant, name, kind, t.ID)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTriage(got))
}

type auditJSON struct {
	ID     int64           `json:"id"`
	At     time.Time       `json:"at"`
	Case   string          `json:"case,omitempty"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	Detail json.RawMessage `json:"detail"`
}

// audit answers a case's audit log, oldest first: after (the last id of
// the previous page) and limit page it.
func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	after, limit, ok := auditPage(w, r)
	if !ok {
		return
	}
	es, err := s.st.Audit(r.Context(), who(r).user.Tenant, r.PathValue("case"), after, limit)
	s.auditAnswer(w, r, es, err)
}

// tenantAudit answers the audit log of the admin's tenant: user changes
// and every case's entries.
func (s *Server) tenantAudit(w http.ResponseWriter, r *http.Request) {
	after, limit, ok := auditPage(w, r)
	if !ok {
		return
	}
	es, err := s.st.TenantAudit(r.Context(), who(r).user.Tenant, after, limit)
	s.auditAnswer(w, r, es, err)
}

func auditPage(w http.ResponseWriter, r *http.Request) (after int64, limit int, ok bool) {
	v := r.URL.Query()
	var err error
	if x := v.Get("after"); x != "" {
		if after, err = strconv.ParseInt(x, 10, 64); err != nil || after < 0 {
			fail(w, http.StatusBadRequest, "after: not an audit entry id")
			return 0, 0, false
		}
	}
	if x := v.Get("limit"); x != "" {
		if limit, err = strconv.Atoi(x); err != nil || limit <= 0 || limit > store.MaxLimit {
			fail(w, http.StatusBadRequest, "limit: a number from 1 to "+strconv.Itoa(store.MaxLimit))
			return 0, 0, false
		}
	}
	return after, limit, true
}

func (s *Server) auditAnswer(w http.ResponseWriter, r *http.Request, es []store.AuditEntry, err error) {
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := make([]auditJSON, len(es))
	for i, e := range es {
		out[i] = auditJSON{ID: e.ID, At: e.At, Case: e.Case, Actor: e.Actor, Action: e.Action, Detail: e.Detail}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
}

type userJSON struct {
	Name     string     `json:"name"`
	Role     store.Role `json:"role"`
	Disabled bool       `json:"disabled"`
	Created  time.Time  `json:"created"`
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.st.Users(r.Context(), who(r).user.Tenant)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := make([]userJSON, len(us))
	for i, u := range us {
		out[i] = userJSON{Name: u.Name, Role: u.Role, Disabled: u.Disabled, Created: u.Created}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

// minPassword is the shortest password an admin may set.
const minPassword = store.MinPassword

// tooShort refuses a password shorter than minPassword, naming its field.
func tooShort(w http.ResponseWriter, field, password string) bool {
	if len(password) < minPassword {
		fail(w, http.StatusBadRequest, field+": at least "+strconv.Itoa(minPassword)+" characters")
		return true
	}
	return false
}

// addUser creates a user of the admin's own tenant.
func (s *Server) addUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name     string     `json:"name"`
		Role     store.Role `json:"role"`
		Password string     `json:"password"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if tooShort(w, "password", in.Password) {
		return
	}
	admin := who(r).user
	u, err := s.st.AddUser(r.Context(), admin.Tenant, in.Name, in.Role, in.Password, admin.Name)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, userJSON{Name: u.Name, Role: u.Role, Created: u.Created})
}

// disableUser disables a user of the admin's tenant; their sessions end
// at their next request. An admin cannot disable themselves (the tenant
// would be left without one).
func (s *Server) disableUser(w http.ResponseWriter, r *http.Request) {
	admin, name := who(r).user, r.PathValue("user")
	if name == admin.Name {
		fail(w, http.StatusBadRequest, "you cannot disable yourself")
		return
	}
	if err := s.st.DisableUser(r.Context(), admin.Tenant, name, admin.Name); err != nil {
		s.storeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// resetPassword sets the password of a user of the admin's tenant and
// ends that user's sessions. Not the admin's own: that takes the current
// password (changePassword), or an open session would be enough.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("user") == who(r).user.Name {
		fail(w, http.StatusBadRequest, "your own password: PUT /api/me/password, with the current one")
		return
	}
	var in struct {
		Password string `json:"password"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if tooShort(w, "password", in.Password) {
		return
	}
	admin := who(r).user
	if err := s.st.ResetPassword(r.Context(), admin.Tenant, r.PathValue("user"), in.Password, admin.Name); err != nil {
		s.storeError(w, r, err)
		return
	}
	s.taxiiCreds.forget(r.PathValue("user"))
	// Whoever held the old password is logged out, and the tokens they
	// may have made with it are revoked.
	if err := s.sessions.dropUser(r.Context(), admin.Tenant, r.PathValue("user"), who(r).session); err != nil {
		s.internal(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// changePassword changes the user's own password, given the current one
// (a session left open is not enough to take the account over); the
// attempts count against the login limits. The user's other sessions end.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if tooShort(w, "new", in.New) {
		return
	}
	u := who(r).user
	if _, ok := s.checkPassword(w, r, u.Name, in.Current); !ok {
		return
	}
	if err := s.st.SetPassword(r.Context(), u.Tenant, u.Name, in.New, u.Name); err != nil {
		s.storeError(w, r, err)
		return
	}
	s.taxiiCreds.forget(u.Name)
	if err := s.sessions.dropUser(r.Context(), u.Tenant, u.Name, who(r).session); err != nil {
		s.internal(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
