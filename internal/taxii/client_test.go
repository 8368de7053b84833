package taxii

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestClientPages: the client follows next to the last page and gets every
// object once; its bounds and the server's refusals are errors.
func TestClientPages(t *testing.T) {
	f := newFixture(t, t.TempDir(), Options{PageSize: 2})
	var objs []string
	for i := range 5 {
		objs = append(objs, stixObject("indicator", fmt.Sprintf("6b5d1f0e-1c1a-4d5e-9f00-%012d", i), "2026-01-01T00:00:00.000Z"))
	}
	if a := f.do("POST", "/taxii2/acme/collections/"+intel+"/objects/", "ann", envelope(objs...)); a.status != 202 {
		t.Fatalf("add: %d %s", a.status, a.body)
	}
	url := f.srv.URL + "/taxii2/acme/collections/" + intel + "/objects/"
	auth := func(user string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(user, "pw-"+user) }
	}
	ctx := context.Background()
	got, err := (&Client{Auth: auth("ann")}).Objects(ctx, url)
	if err != nil || len(got) != 5 {
		t.Fatalf("objects: %d, %v", len(got), err)
	}
	for i, o := range got {
		if !strings.Contains(string(o), fmt.Sprintf("%012d", i)) {
			t.Errorf("object %d: %s", i, o)
		}
	}
	// Filters in the URL are kept from page to page.
	if got, err := (&Client{Auth: auth("ann")}).Objects(ctx, url+"?match[id]=indicator--6b5d1f0e-1c1a-4d5e-9f00-000000000004"); err != nil || len(got) != 1 {
		t.Errorf("filtered: %d, %v", len(got), err)
	}
	for name, c := range map[string]struct {
		client Client
		url    string
		want   string
	}{
		"pages":   {Client{Auth: auth("ann"), MaxPages: 2}, url, "pages"},
		"bytes":   {Client{Auth: auth("ann"), MaxBytes: 300}, url, "bytes"},
		"no auth": {Client{}, url, "401"},
		"gus":     {Client{Auth: auth("gus")}, url, "404"},
		"bad url": {Client{}, "ftp://x/", "want https"},
	} {
		_, err := (&c.client).Objects(ctx, c.url)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
		if (name == "pages" || name == "bytes") && !errors.Is(err, ErrTooMuch) {
			t.Errorf("%s: %v, want ErrTooMuch", name, err)
		}
	}
}

// TestClientSamePage: a server that answers the same next forever, or
// more without a way on, is an error, not a loop.
func TestClientSamePage(t *testing.T) {
	for name, c := range map[string]struct{ body, want string }{
		"same next": {`{"more":true,"next":"n1","objects":[{}]}`, "same page again"},
		"no way on": {`{"more":true,"objects":[{}]}`, "without next"},
	} {
		var agents []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			agents = append(agents, r.Header.Get("User-Agent"))
			w.Header().Set("Content-Type", MediaType)
			w.Write([]byte(c.body))
		}))
		_, err := (&Client{UserAgent: "spoor/v9"}).Objects(context.Background(), srv.URL+"/objects/")
		srv.Close()
		// Section 8.4.1: the client names itself.
		if len(agents) == 0 || agents[0] != "spoor/v9" {
			t.Errorf("%s: User-Agent %q, want spoor/v9", name, agents)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
}
