package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestClientRedirectKeepsCredentials: a server redirecting the client
// elsewhere (here from HTTPS to plain HTTP on another port of the same
// host, which net/http treats as the same host and sends the
// Authorization header to) never gets the credentials there: the
// redirect is refused.
func TestClientRedirectKeepsCredentials(t *testing.T) {
	var leaked atomic.Value
	leaked.Store("")
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", MediaType)
		w.Write([]byte(`{"objects":[{}]}`))
	}))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
	}))
	defer secure.Close()
	c := &Client{HTTP: secure.Client(), Auth: func(r *http.Request) { r.SetBasicAuth("ann", "s3cret") }}
	_, err := c.Objects(context.Background(), secure.URL+"/taxii2/acme/collections/x/objects/")
	if got := leaked.Load().(string); got != "" {
		t.Errorf("the plain HTTP server was sent Authorization %q", got)
	}
	if err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("redirected to plain HTTP: %v, want an error saying so", err)
	}
}

// TestClientManyTinyObjects: the bytes a server sends are bounded, and so
// are the objects they make. A 3-byte object ({},) cost the client some
// 32 bytes of slice and copy, then as much again when appended: within
// its 256 MiB, a hostile server made spoor intel import hold gigabytes.
// At most 1<<20 objects are taken in all.
func TestClientManyTinyObjects(t *testing.T) {
	const n = 1<<20 + 1
	body := `{"objects":[` + strings.Repeat(`{},`, n-1) + `{}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", MediaType)
		w.Write([]byte(body))
	}))
	defer srv.Close()
	objs, err := (&Client{}).Objects(context.Background(), srv.URL+"/objects/")
	if !errors.Is(err, ErrTooMuch) {
		t.Errorf("a page of %d objects: %d objects, %v; want ErrTooMuch", n, len(objs), err)
	}
}

// FuzzReadPage: any page a server sends is read or refused, never a
// panic; what is read is at most the bound, each object valid JSON.
func FuzzReadPage(f *testing.F) {
	for _, s := range []string{
		`{"more":true,"next":"2-7","objects":[{"type":"indicator"},{}]}`,
		`{"objects":[1,"a",null,[]],"extra":{"x":[1,2]}}`, `{}`, `{"objects":null}`, `{"more":"yes"}`, `{`, ``, `{} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := readPage(body, 8)
		if err != nil {
			return
		}
		if len(p.Objects) > 8 {
			t.Fatalf("%d objects", len(p.Objects))
		}
		for _, o := range p.Objects {
			if !json.Valid(o) {
				t.Fatalf("object %q is not valid JSON", o)
			}
		}
	})
}

// TestClientErrorText: a server's error message is reported within bounds
// and quoted: a description of megabytes, or of terminal escapes, was
// printed as it came.
func TestClientErrorText(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", MediaType)
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(Error{Title: "Bad\x1b]0;owned\x07", Description: strings.Repeat("A", 4<<20)})
	}))
	defer srv.Close()
	_, err := (&Client{}).Objects(context.Background(), srv.URL+"/objects/")
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("error answer: %v", err)
	}
	if msg := err.Error(); len(msg) > 1024 || strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.Errorf("error of %d bytes: %.200q", len(msg), msg)
	}
}

// TestClientRedactsURL: a password in the URL (which net/http sends as
// basic credentials) is not repeated in the client's errors.
func TestClientRedactsURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", MediaType)
		w.Write([]byte(`{"more":true,"next":"` + r.URL.Query().Get("next") + `x","objects":[{}]}`))
	}))
	defer srv.Close()
	withPassword := strings.Replace(srv.URL, "http://", "http://ann:s3cret@", 1) + "/objects/"
	for _, c := range []Client{{MaxPages: 2}, {MaxBytes: 10}, {MaxObjects: 1}} {
		_, err := c.Objects(context.Background(), withPassword)
		if !errors.Is(err, ErrTooMuch) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%+v: %v, want ErrTooMuch without the password", c, err)
		}
	}
}

// TestClientNoCredentialsInClear: credentials (Auth, or a user in the URL)
// are never sent over plain HTTP to another machine; to this machine's
// loopback they may be (a local test server), and without credentials any
// http:// URL is read.
func TestClientNoCredentialsInClear(t *testing.T) {
	var asked atomic.Int64
	c := &Client{HTTP: &http.Client{Transport: roundTrip(func(*http.Request) (*http.Response, error) {
		asked.Add(1)
		return nil, errors.New("not reached")
	})}}
	basic := func(r *http.Request) { r.SetBasicAuth("ann", "s3cret") }
	for _, tc := range []struct {
		url  string
		auth func(*http.Request)
		sent bool
	}{
		{"http://taxii.example.org/api/collections/x/objects/", basic, false},
		{"http://ann:s3cret@taxii.example.org/api/collections/x/objects/", nil, false},
		{"http://10.0.0.5:8080/api/collections/x/objects/", basic, false},
		{"http://taxii.example.org/api/collections/x/objects/", nil, true},
		{"http://127.0.0.1:8080/api/collections/x/objects/", basic, true},
		{"http://[::1]:8080/api/collections/x/objects/", basic, true},
		{"https://taxii.example.org/api/collections/x/objects/", basic, true},
	} {
		asked.Store(0)
		c.Auth = tc.auth
		_, err := c.Objects(context.Background(), tc.url)
		if sent := asked.Load() > 0; sent != tc.sent {
			t.Errorf("%s (auth %v): request sent %v, want %v (%v)", tc.url, tc.auth != nil, sent, tc.sent, err)
		}
		if !tc.sent && (err == nil || !strings.Contains(err.Error(), "in clear") || strings.Contains(err.Error(), "s3cret")) {
			t.Errorf("%s: error %v, want one saying credentials would go in clear, without the password", tc.url, err)
		}
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
