package server

import (
	"net/http"
	"testing"
)

// TestSessionsOutliveARestart: a new server over the same store knows the
// sessions of the last one, and a logout there ends them here too.
func TestSessionsOutliveARestart(t *testing.T) {
	backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target)
		ann, vic := f.login("ann"), f.login("vic")
		restarted := &fixture{t: t, st: f.st, clock: f.clock, srv: New(f.st, Options{Now: f.clock.Now})}
		var m me
		decode(t, restarted.do(ann, "GET", "/api/me", nil), &m)
		if m.User != "ann" || m.CSRF != ann.csrf {
			t.Fatalf("ann after a restart: %+v, want her session and CSRF token", m)
		}
		// The CSRF token is the session's, kept with it.
		if w := restarted.do(ann, "PUT", "/api/me/password", map[string]string{"current": password, "new": password}); w.Code != http.StatusNoContent {
			t.Errorf("state change after a restart: %d %s", w.Code, w.Body)
		}
		if w := restarted.do(vic, "POST", "/api/logout", nil); w.Code != http.StatusNoContent {
			t.Fatal(w.Code)
		}
		if w := f.do(vic, "GET", "/api/me", nil); w.Code != http.StatusUnauthorized {
			t.Errorf("session ended on the other server: %d, want 401", w.Code)
		}
	})
}

// TestSessionCap: a user keeps SessionsPerUser sessions; the next login
// ends the oldest, and no other user's.
func TestSessionCap(t *testing.T) {
	f := newFixture(t, t.TempDir())
	f.srv = New(f.st, Options{Now: f.clock.Now, SessionsPerUser: 3, LoginBurst: 10})
	vic := f.login("vic")
	var anns []client
	for range 4 {
		anns = append(anns, f.login("ann"))
	}
	if w := f.do(anns[0], "GET", "/api/me", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("ann's oldest of 4 sessions (cap 3): %d, want 401", w.Code)
	}
	for i, c := range append(anns[1:], vic) {
		if w := f.do(c, "GET", "/api/me", nil); w.Code != http.StatusOK {
			t.Errorf("session %d: %d, want 200", i+1, w.Code)
		}
	}
}
