package taxii

import (
	"context"
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
