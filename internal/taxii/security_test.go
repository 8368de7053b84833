package taxii

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/storetest"
)

// TestAddFailureEcho: a refused object's status detail does not echo what
// was sent without bound. ReadHead quotes a bad type or id, and the status
// is JSON with HTML escaping: a type of '<' grew sixfold, so a body within
// max_content_length made a status (kept for good, and answered) several
// times its size.
func TestAddFailureEcho(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, target string) {
		const big = 1 << 20
		f := newFixture(t, target, Options{MaxContentLength: 4 << 20})
		objects := "/taxii2/acme/collections/" + intel + "/objects/"
		body := envelope(stixObject("indicator", u1, "2026-01-02T00:00:00.000Z"),
			`{"type":"`+strings.Repeat("<", big)+`","id":"x"}`,
			`{"type":"indicator","id":"`+strings.Repeat("<", big)+`"}`)
		a := f.do("POST", objects, "ann", body)
		if a.status != 202 || a.json["failure_count"] != 2.0 {
			t.Fatalf("add: %d %.300s", a.status, a.body)
		}
		if len(a.body) > 8<<10 {
			t.Errorf("status of an add of %d bytes: %d bytes", len(body), len(a.body))
		}
		id, _ := a.json["id"].(string)
		if s := f.do("GET", "/taxii2/acme/status/"+id+"/", "ann", ""); s.status != 200 || len(s.body) > 8<<10 {
			t.Errorf("status kept: %d, %d bytes", s.status, len(s.body))
		}
	})
}

// TestAddNotUTF8: an object that is not UTF-8 (JSON must be, RFC 8259
// section 8.1) is a failure of its own; the others are added. It made the
// whole add a 500 on PostgreSQL, whose text refuses it, and SQLite kept it
// to serve as it came.
func TestAddNotUTF8(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target, Options{})
		objects := "/taxii2/acme/collections/" + intel + "/objects/"
		bad := strings.Replace(stixObject("indicator", u2, "2026-01-02T00:00:00.000Z"), `"name":"x"`, "\"name\":\"x\xff\xfe\"", 1)
		a := f.do("POST", objects, "ann", envelope(stixObject("indicator", u1, "2026-01-02T00:00:00.000Z"), bad))
		if a.status != 202 || a.json["success_count"] != 1.0 || a.json["failure_count"] != 1.0 {
			t.Fatalf("add: %d %s", a.status, a.body)
		}
		g := f.do("GET", objects, "ann", "")
		if objs, _ := g.json["objects"].([]any); g.status != 200 || len(objs) != 1 {
			t.Errorf("objects: %d %s", g.status, g.body)
		}
	})
}

// blockingBackend holds each read of objects until release is closed,
// counting how many are held at once.
type blockingBackend struct {
	testBackend
	mu           sync.Mutex
	inside, most int
	release      chan struct{}
}

func (b *blockingBackend) Objects(ctx context.Context, c Collection, q store.TAXIIQuery) (store.TAXIIPage, error) {
	b.mu.Lock()
	b.inside++
	b.most = max(b.most, b.inside)
	b.mu.Unlock()
	<-b.release
	b.mu.Lock()
	b.inside--
	b.mu.Unlock()
	return store.TAXIIPage{}, nil
}

// TestObjectsInFlight: requests that read or add objects are served a few
// at a time, the others waiting their turn. A page is up to 32 MiB of
// objects, some 130 MiB of memory as it is read and written (an add of
// 16 MiB, as much): any number at once was memory without bound for
// anyone who may read a collection.
func TestObjectsInFlight(t *testing.T) {
	users := []string{"ann", "bob", "cy", "dee", "eve", "fay"}
	cols := map[string][]Collection{}
	for _, u := range users {
		cols[u] = []Collection{{ID: intel, CanRead: true, Tenant: "acme"}}
	}
	b := &blockingBackend{release: make(chan struct{}), testBackend: testBackend{cols: cols}}
	srv := httptest.NewServer(New(Options{Backend: b, Authenticate: func(r *http.Request) (Principal, error) {
		return Principal{Tenant: "acme", User: r.Header.Get("X-User")}, nil
	}}))
	defer srv.Close()
	const n = 12 // two for each user: their share of the 4 slots
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", srv.URL+"/taxii2/acme/collections/"+intel+"/objects/", nil)
			req.Header.Set("X-User", users[i%len(users)])
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("GET objects: %d", resp.StatusCode)
				}
			}
		}()
	}
	// Wait until the requests are all in, or as many as will be let in.
	for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b.mu.Lock()
		in := b.inside
		b.mu.Unlock()
		if in == n {
			break
		}
	}
	close(b.release)
	wg.Wait()
	// At most 4 at once (DefaultInFlight), and every request served.
	if b.most > 4 {
		t.Errorf("%d reads of objects at once, want at most 4", b.most)
	}
}

// TestObjectsShare: one account has at most half the slots in progress;
// its next request is told to retry (429) at once rather than waiting
// behind its own, and the others' requests are still served.
func TestObjectsShare(t *testing.T) {
	b := &blockingBackend{release: make(chan struct{}), testBackend: testBackend{cols: map[string][]Collection{
		"ann": {{ID: intel, CanRead: true, Tenant: "acme"}},
		"bob": {{ID: intel, CanRead: true, Tenant: "acme"}},
	}}}
	srv := httptest.NewServer(New(Options{Backend: b, Authenticate: func(r *http.Request) (Principal, error) {
		return Principal{Tenant: "acme", User: r.Header.Get("X-User")}, nil
	}}))
	defer srv.Close()
	get := func(user string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/taxii2/acme/collections/"+intel+"/objects/", nil)
		req.Header.Set("X-User", user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return nil
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	var wg sync.WaitGroup
	codes := make(chan int, 3)
	for _, u := range []string{"ann", "ann", "bob"} {
		wg.Go(func() {
			if resp := get(u); resp != nil {
				codes <- resp.StatusCode
			}
		})
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b.mu.Lock()
		in := b.inside
		b.mu.Unlock()
		if in == 3 {
			break
		}
	}
	resp := get("ann")
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("ann's third request: %v, want 429 with Retry-After", resp)
	}
	close(b.release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("a request within its share: %d, want 200", c)
		}
	}
}

// TestAddExportOwned: a partner's version of one of spoor's exported
// objects is a failure in the add's status, named with its reason; the
// partner's other objects are added.
func TestAddExportOwned(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, target string) {
		f := newFixture(t, target, Options{})
		exported := stixObject("indicator", u1, "2026-01-01T00:00:00.000Z")
		raw := json.RawMessage(exported)
		if err := f.h.o.Backend.(testBackend).st.AddTAXIIExport(context.Background(), "acme", "intrusion", intel,
			[]store.TAXIIObject{{ID: "indicator--" + u1, Type: "indicator", SpecVersion: "2.1", Version: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), JSON: raw}}, "stamp"); err != nil {
			t.Fatal(err)
		}
		a := f.do("POST", "/taxii2/acme/collections/"+intel+"/objects/", "ann", envelope(
			stixObject("indicator", u1, "2030-01-01T00:00:00.000Z"), stixObject("indicator", u2, "2026-01-02T00:00:00.000Z")))
		if a.status != 202 || a.json["failure_count"] != 1.0 || a.json["success_count"] != 1.0 || !strings.Contains(string(a.body), "spoor's own export") {
			t.Errorf("add: %d %.600s", a.status, a.body)
		}
	})
}
