package server

import (
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/store"
)

// TestTriageIDIsCanonical: a detection's triage set through another
// spelling of its id ("007", "+7") is the triage of that detection, not a
// second record the detection's own pages never show.
func TestTriageIDIsCanonical(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ann := f.login("ann")
	d := strconv.FormatInt(f.det, 10)
	for _, alias := range []string{"0" + d, "+" + d} {
		w := f.do(ann, "PUT", "/api/cases/intrusion/triage/detection/"+alias, map[string]string{"state": "malicious"})
		if w.Code != http.StatusOK && w.Code != http.StatusNotFound {
			t.Fatalf("PUT triage %s: %d %s", alias, w.Code, w.Body)
		}
		if w.Code == http.StatusNotFound {
			continue
		}
		var got detectionJSON
		decode(t, f.do(ann, "GET", "/api/cases/intrusion/detections/"+d, nil), &got)
		if got.Triage == nil || got.Triage.State != store.TriageMalicious {
			t.Errorf("triage set as %q: detection %s shows %+v, want malicious", alias, d, got.Triage)
		}
		must(t, f.st.SetTriage(context.Background(), "acme", "intrusion", store.Triage{Kind: store.KindDetection, ID: d, State: store.TriageNew}, "ann"))
	}
}

// TestLoginLimitIPv6Prefix: a client holds a whole IPv6 /64; changing the
// low bits of its address must not reset its login limits.
func TestLoginLimitIPv6Prefix(t *testing.T) {
	f := newFixture(t, t.TempDir())
	tripped := false
	for i := range 30 {
		addr := "[2001:db8:1:2::" + strconv.FormatInt(int64(i+1), 16) + "]:4242"
		w := f.do(client{}, "POST", "/api/login", map[string]string{"user": "ann", "password": "guess"},
			func(r *http.Request) { r.RemoteAddr = addr })
		if w.Code == http.StatusTooManyRequests {
			tripped = true
			break
		}
	}
	if !tripped {
		t.Error("30 guesses at ann from one /64, each from its own address: never 429")
	}
}

// TestRefusedLoginsHoldNoBuckets: an address over its limit sends names
// it never tried before; each must not leave a per-name bucket behind (a
// flood of them fills the limiter until it forgets every limit).
func TestRefusedLoginsHoldNoBuckets(t *testing.T) {
	f := newFixture(t, t.TempDir())
	f.srv = New(f.st, Options{Now: f.clock.Now, LoginBurst: 1})
	for i := range 200 {
		f.do(client{}, "POST", "/api/login", map[string]string{"user": "spray" + strconv.Itoa(i), "password": "x"},
			func(r *http.Request) { r.RemoteAddr = "198.51.100.9:1" })
	}
	f.srv.limiter.mu.Lock()
	n := len(f.srv.limiter.keys)
	f.srv.limiter.mu.Unlock()
	if burst := int(f.srv.ipLimiter.burst); n > burst {
		t.Errorf("200 names from an address allowed %d attempts: %d per-name buckets, want at most %d", burst, n, burst)
	}
}

// TestRepeatedLevels: a level named again and again is one condition, not
// a query parameter each (thousands of them fail the query: a 500).
func TestRepeatedLevels(t *testing.T) {
	backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target)
		vic := f.login("vic")
		levels := strings.TrimSuffix(strings.Repeat("high,", 70000), ",")
		if w := f.do(vic, "GET", "/api/cases/intrusion/detections?level="+levels, nil); w.Code != http.StatusOK {
			t.Errorf("level named 70000 times: %d %s, want 200", w.Code, w.Body)
		}
	})
}

// TestLongFreeText: a free-text query of very many words is refused (400),
// never a 500 or a long stall.
func TestLongFreeText(t *testing.T) {
	backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target)
		vic := f.login("vic")
		var b strings.Builder
		for i := range 60000 {
			b.WriteString("w" + strconv.Itoa(i) + "+")
		}
		w := f.do(vic, "GET", "/api/cases/intrusion/detections?q="+b.String(), nil)
		if w.Code != http.StatusBadRequest {
			t.Errorf("q of 60000 words: %d %s, want 400", w.Code, w.Body)
		}
	})
}

// TestAdminOwnPasswordNeedsCurrent: an admin's session left open must not
// change the admin's own password without the current one, through the
// admin's reset either.
func TestAdminOwnPasswordNeedsCurrent(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ada := f.login("ada")
	w := f.do(ada, "PUT", "/api/users/ada/password", map[string]string{"password": "taken over by whoever sat down"})
	if w.Code == http.StatusNoContent {
		t.Errorf("admin reset of their own password: %d, want refused", w.Code)
	}
	f.login("ada") // the password is unchanged
}

// TestBootstrapRace: two servers starting on one empty store at once
// both start, and exactly one admin password is made (and shown).
func TestBootstrapRace(t *testing.T) {
	backends(t, func(t *testing.T, target string) {
		ctx := context.Background()
		const n = 4
		stores := make([]*store.Store, n)
		for i := range stores {
			st, err := store.Open(ctx, target, store.WithPasswordCost(1, 64, 1))
			must(t, err)
			t.Cleanup(func() { st.Close() })
			stores[i] = st
		}
		type result struct {
			pw  string
			err error
		}
		results := make(chan result, n)
		for _, st := range stores {
			go func() {
				pw, err := Bootstrap(ctx, st, "")
				results <- result{pw, err}
			}()
		}
		var made []string
		for range n {
			r := <-results
			if r.err != nil {
				t.Errorf("a concurrent first start failed: %v", r.err)
			}
			if r.pw != "" {
				made = append(made, r.pw)
			}
		}
		if len(made) != 1 {
			t.Fatalf("%d passwords made, want 1", len(made))
		}
		if _, err := stores[0].Authenticate(ctx, FirstAdmin, made[0]); err != nil {
			t.Errorf("the password shown does not log in: %v", err)
		}
	})
}

// TestSelfSignedAfterCrash: a start that stopped between writing the
// key and the certificate leaves a key alone; the next start makes a new
// pair (the key readable by its owner only) rather than fail for good.
func TestSelfSignedAfterCrash(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Certificate("", "", dir); err != nil {
		t.Fatal(err)
	}
	must(t, os.Remove(filepath.Join(dir, CertFile)))
	cert, made, err := Certificate("", "", dir)
	if err != nil || !made {
		t.Fatalf("a key without its certificate: made %v, %v; want a new pair", made, err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)); err != nil || len(cert.Certificate) == 0 {
		t.Errorf("the new pair: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v (%v), want mode 0600", fi.Mode(), err)
	}
}

// TestStoreErrorKeepsSession: a request the store fails (here: its client
// went away mid-way) does not end the session; only a user gone or
// disabled does.
func TestStoreErrorKeepsSession(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ann := f.login("ann")
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	f.do(ann, "GET", "/api/me", nil, func(r *http.Request) { *r = *r.WithContext(gone) })
	if w := f.do(ann, "GET", "/api/me", nil); w.Code != http.StatusOK {
		t.Errorf("session after a failed store read: %d, want 200", w.Code)
	}
}
