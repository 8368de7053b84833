package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/spoor-hunt/spoor/internal/store"
)

// SessionCookie is the cookie that names a session.
const SessionCookie = "spoor_session"

// session is a logged-in browser. Sessions are kept in the store, by the
// hash of their cookie value, so a restart logs no one out and servers
// sharing a PostgreSQL store share them.
type session struct {
	secret        string // the cookie value (this request's, never stored)
	tenant, user  string
	csrf          string
	created, seen time.Time
}

// sessions starts, finds and ends sessions in the store and judges their
// expiry.
type sessions struct {
	st        *store.Store
	now       func() time.Time
	idle, max time.Duration
	// perUser is how many sessions a user keeps; a login past it ends the
	// oldest.
	perUser int
}

func newSessions(st *store.Store, now func() time.Time, idle, max time.Duration, perUser int) *sessions {
	return &sessions{st: st, now: now, idle: idle, max: max, perUser: perUser}
}

// token returns 256 random bits, URL-safe.
func token() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session; its secret is the cookie value.
func (ss *sessions) create(ctx context.Context, tenant, user string) (*session, error) {
	value := token()
	now := ss.now()
	st, err := ss.st.AddSession(ctx, tenant, user, value, store.SessionLimits{
		PerUser: ss.perUser, IdleBefore: now.Add(-ss.idle), MadeBefore: now.Add(-ss.max)})
	if err != nil {
		return nil, err
	}
	return &session{secret: value, tenant: tenant, user: user, csrf: st.CSRF, created: st.Created, seen: st.Seen}, nil
}

// get returns the live session a cookie value names, or nil, and marks it
// used. The store's time of last use is written at most every idle/120
// (30 s of an hour), not on every request.
func (ss *sessions) get(ctx context.Context, value string) (*session, error) {
	if value == "" {
		return nil, nil
	}
	st, err := ss.st.GetSession(ctx, value)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := ss.now()
	if now.Sub(st.Seen) >= ss.idle || now.Sub(st.Created) >= ss.max {
		return nil, ss.st.EndSession(ctx, value)
	}
	if now.Sub(st.Seen) >= ss.idle/120 {
		if err := ss.st.TouchSession(ctx, value, now); err != nil {
			return nil, err
		}
	}
	return &session{secret: value, tenant: st.Tenant, user: st.User, csrf: st.CSRF, created: st.Created, seen: now}, nil
}

func (ss *sessions) drop(ctx context.Context, s *session) error {
	return ss.st.EndSession(ctx, s.secret)
}

// dropUser ends the sessions of a user but keep (nil: all of them).
func (ss *sessions) dropUser(ctx context.Context, tenant, user string, keep *session) error {
	secret := ""
	if keep != nil {
		secret = keep.secret
	}
	return ss.st.EndSessions(ctx, tenant, user, secret)
}

func sessionCookie(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// setSessionCookie sets (value != "") or clears the session cookie:
// HttpOnly, SameSite=Strict, Secure when the request came over TLS.
func setSessionCookie(w http.ResponseWriter, r *http.Request, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: SessionCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

// limiter is a token bucket per key (client address and user name): burst
// attempts at once, then one per every.
type limiter struct {
	mu    sync.Mutex
	now   func() time.Time
	burst float64
	every time.Duration
	keys  map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the keys held; full buckets are forgotten past it.
const maxBuckets = 100_000

func newLimiter(now func() time.Time, burst int, every time.Duration) *limiter {
	return &limiter{now: now, burst: float64(burst), every: every, keys: map[string]*bucket{}}
}

// allow takes a token of key's bucket, or tells how long until one is
// there.
func (l *limiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[key]
	if b == nil {
		if len(l.keys) >= maxBuckets {
			l.forgetFull(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.keys[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.every))
}

// forgetFull drops the buckets refilled by now (they hold nothing a new
// one would not); if every one is in use, all go rather than grow without
// bound. The caller holds mu.
func (l *limiter) forgetFull(now time.Time) {
	for k, b := range l.keys {
		if b.tokens+float64(now.Sub(b.at))/float64(l.every) >= l.burst {
			delete(l.keys, k)
		}
	}
	if len(l.keys) >= maxBuckets {
		clear(l.keys)
	}
}
