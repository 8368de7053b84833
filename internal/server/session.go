package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// SessionCookie is the cookie that names a session.
const SessionCookie = "spoor_session"

// maxSessions bounds the sessions held; past it the one idle longest goes.
const maxSessions = 100_000

// session is a logged-in user. Sessions live in the server's memory: a
// restart logs everyone out, which a console can afford.
type session struct {
	id           [32]byte // SHA-256 of the cookie value
	tenant, user string
	csrf         string
	created      time.Time
	seen         time.Time
}

// sessions holds the live sessions by the hash of their cookie value, so
// the values themselves are never kept.
type sessions struct {
	mu        sync.Mutex
	now       func() time.Time
	idle, max time.Duration
	byID      map[[32]byte]*session
}

func newSessions(now func() time.Time, idle, max time.Duration) *sessions {
	return &sessions{now: now, idle: idle, max: max, byID: map[[32]byte]*session{}}
}

// token returns 256 random bits, URL-safe.
func token() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session and returns the cookie value naming it.
func (ss *sessions) create(tenant, user string) (string, *session) {
	value := token()
	now := ss.now()
	s := &session{id: sha256.Sum256([]byte(value)), tenant: tenant, user: user, csrf: token(), created: now, seen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= maxSessions {
		ss.sweep(now)
	}
	if len(ss.byID) >= maxSessions {
		var oldest *session
		for _, o := range ss.byID {
			if oldest == nil || o.seen.Before(oldest.seen) {
				oldest = o
			}
		}
		delete(ss.byID, oldest.id)
	}
	ss.byID[s.id] = s
	return value, s
}

// get returns the live session a cookie value names, or nil, and marks it
// used.
func (ss *sessions) get(value string) *session {
	if value == "" {
		return nil
	}
	id := sha256.Sum256([]byte(value))
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[id]
	if s == nil {
		return nil
	}
	if ss.expired(s, now) {
		delete(ss.byID, id)
		return nil
	}
	s.seen = now
	return s
}

func (ss *sessions) expired(s *session, now time.Time) bool {
	return now.Sub(s.seen) >= ss.idle || now.Sub(s.created) >= ss.max
}

// sweep drops expired sessions; the caller holds mu.
func (ss *sessions) sweep(now time.Time) {
	for id, s := range ss.byID {
		if ss.expired(s, now) {
			delete(ss.byID, id)
		}
	}
}

func (ss *sessions) drop(id [32]byte) {
	ss.mu.Lock()
	delete(ss.byID, id)
	ss.mu.Unlock()
}

// dropUser ends the sessions of a user but keep (nil: all of them).
func (ss *sessions) dropUser(tenant, user string, keep *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, s := range ss.byID {
		if s.tenant == tenant && s.user == user && s != keep {
			delete(ss.byID, id)
		}
	}
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
