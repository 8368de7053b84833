// Package taxii is a TAXII 2.1 server (OASIS Standard, 10 June 2021): the
// protocol's endpoints as one http.Handler over a small Backend, which
// keeps the objects (internal/store through internal/server).
//
// Paths, under the prefix the handler is mounted at (/taxii2/):
//
//	/taxii2/                                       discovery (4.1)
//	/taxii2/{root}/                                API root, one per tenant (4.2)
//	/taxii2/{root}/status/{id}/                    status of an add (4.3)
//	/taxii2/{root}/collections/                    collections (5.1)
//	/taxii2/{root}/collections/{id}/               a collection (5.2)
//	/taxii2/{root}/collections/{id}/manifest/      manifest (5.3)
//	/taxii2/{root}/collections/{id}/objects/       get and add objects (5.4, 5.5)
//	/taxii2/{root}/collections/{id}/objects/{id}/  an object (5.6), its deletion (5.7)
//	/taxii2/{root}/collections/{id}/objects/{id}/versions/  its versions (5.8)
//
// Every answer, errors included, is application/taxii+json;version=2.1.
// Requests are authenticated by the caller's Authenticate (HTTP basic or
// a bearer token; never a cookie), and a principal sees its own tenant's
// API root only: another tenant's is not found, as one that does not exist.
package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spoor-hunt/spoor/internal/store"
)

// MediaType is TAXII 2.1's media type, of every answer and of an add's body.
const MediaType = "application/taxii+json;version=2.1"

// STIXMediaType is the media type of the objects every collection holds.
const STIXMediaType = "application/stix+json;version=2.1"

// Defaults of Options.
const (
	// DefaultMaxContentLength bounds an add's body (advertised in the API
	// root as max_content_length).
	DefaultMaxContentLength = 16 << 20
	// DefaultMaxObjects bounds the objects of one add.
	DefaultMaxObjects = 10_000
	// DefaultPageSize is a page's size when the client gives no limit;
	// store.MaxTAXIIPage is the largest.
	DefaultPageSize = 100
	// DefaultInFlight bounds the requests to a collection served at once.
	DefaultInFlight = 4
)

// Principal is who a request comes from, as Authenticate found them.
type Principal struct {
	Tenant, User string
	// Role is the backend's: this package does not read it.
	Role string
}

// Collection is a collection as one principal sees it (section 5.2's
// resource, plus where it lives).
type Collection struct {
	ID          string
	Title       string
	Description string
	Alias       string
	CanRead     bool
	CanWrite    bool
	// Tenant owns it; Case is the case it belongs to ("" for the tenant's).
	Tenant, Case string
}

// Backend keeps the collections' objects and the status of adds. Its
// calls are made for an authenticated principal; a collection passed
// back is one Collections returned.
type Backend interface {
	// Collections lists the collections of p's tenant that p may read or
	// write, in a stable order.
	Collections(ctx context.Context, p Principal) ([]Collection, error)
	// Objects returns a page of a collection's object versions.
	Objects(ctx context.Context, c Collection, q store.TAXIIQuery) (store.TAXIIPage, error)
	// Add adds objects to a collection; added tells which were new.
	Add(ctx context.Context, c Collection, objs []store.TAXIIObject, actor string) (added []bool, err error)
	// Delete removes the versions of an object q selects (q.IDs holds
	// it); none is store.ErrNotFound.
	Delete(ctx context.Context, c Collection, q store.TAXIIQuery, actor string) error
	// PutStatus keeps and Status returns a status resource of a tenant.
	PutStatus(ctx context.Context, tenant, id string, body json.RawMessage) error
	Status(ctx context.Context, tenant, id string) (json.RawMessage, error)
}

// Errors Authenticate returns.
var (
	// ErrUnauthenticated: no credentials, or wrong ones (401).
	ErrUnauthenticated = errors.New("authentication required")
)

// RetryError is Authenticate's answer to a client over its login limits
// (429, with Retry-After).
type RetryError struct{ After time.Duration }

func (e *RetryError) Error() string { return "too many login attempts" }

// Options configure a Handler.
type Options struct {
	// Prefix is where the handler is mounted ("/taxii2/").
	Prefix string
	// Title and Description describe the server in discovery.
	Title, Description string
	// Authenticate tells who a request comes from, from its Authorization
	// header: ErrUnauthenticated, a *RetryError, or another error (500).
	Authenticate func(r *http.Request) (Principal, error)
	Backend      Backend
	// MaxContentLength, MaxObjects, PageSize: see the defaults.
	MaxContentLength int64
	MaxObjects       int
	PageSize         int
	Logger           *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
	// InFlight bounds the requests to a collection served at once (its
	// objects read or added: a page or an add is memory in proportion);
	// the others wait their turn.
	InFlight int
}

// Handler serves TAXII 2.1.
type Handler struct {
	o     Options
	slots chan struct{}
	// busy counts each principal's requests to collections in progress.
	busyMu sync.Mutex
	busy   map[Principal]int
}

// take counts a request of p in, unless p has its share in progress.
func (h *Handler) take(p Principal) bool {
	h.busyMu.Lock()
	defer h.busyMu.Unlock()
	if h.busy[p] >= max(1, cap(h.slots)/2) {
		return false
	}
	h.busy[p]++
	return true
}

func (h *Handler) give(p Principal) {
	h.busyMu.Lock()
	defer h.busyMu.Unlock()
	if h.busy[p]--; h.busy[p] <= 0 {
		delete(h.busy, p)
	}
}

// New returns a handler.
func New(o Options) *Handler {
	if o.Prefix == "" {
		o.Prefix = "/taxii2/"
	}
	if o.Title == "" {
		o.Title = "spoor TAXII server"
	}
	if o.MaxContentLength <= 0 {
		o.MaxContentLength = DefaultMaxContentLength
	}
	if o.MaxObjects <= 0 {
		o.MaxObjects = DefaultMaxObjects
	}
	if o.PageSize <= 0 || o.PageSize > store.MaxTAXIIPage {
		o.PageSize = DefaultPageSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.InFlight <= 0 {
		o.InFlight = DefaultInFlight
	}
	return &Handler{o: o, slots: make(chan struct{}, o.InFlight), busy: map[Principal]int{}}
}

// MaxContentLength is the largest body the handler reads.
func (h *Handler) MaxContentLength() int64 { return h.o.MaxContentLength }

// Error is the specification's error message, the body of every error
// answer.
type Error struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	ErrorID     string `json:"error_id,omitempty"`
	ErrorCode   string `json:"error_code,omitempty"`
	HTTPStatus  string `json:"http_status,omitempty"`
}

// fail answers an error message.
func fail(w http.ResponseWriter, status int, title, description string) {
	write(w, status, Error{Title: title, Description: description, HTTPStatus: strconv.Itoa(status)})
}

func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// route is a request resolved to its endpoint.
type route struct {
	endpoint   string // "discovery", "root", "status", "collections", "collection", "manifest", "objects", "object", "versions"
	root, id   string // API root; status or collection id
	object     string
	methods    string // allowed, for 405
	collection Collection
}

// parse splits a path under the prefix into its endpoint; ok false is
// not found. A trailing slash is optional, as clients differ.
func (h *Handler) parse(p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, h.o.Prefix)
	if !ok {
		if p+"/" == h.o.Prefix {
			return route{endpoint: "discovery", methods: "GET"}, true
		}
		return route{}, false
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return route{endpoint: "discovery", methods: "GET"}, true
	}
	seg := strings.Split(rest, "/")
	for i, s := range seg {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return route{}, false
		}
		seg[i] = u
	}
	r := route{root: seg[0], methods: "GET"}
	switch {
	case len(seg) == 1:
		r.endpoint = "root"
	case len(seg) == 3 && seg[1] == "status":
		r.endpoint, r.id = "status", seg[2]
	case len(seg) == 2 && seg[1] == "collections":
		r.endpoint = "collections"
	case len(seg) >= 3 && seg[1] == "collections":
		r.id = seg[2]
		switch {
		case len(seg) == 3:
			r.endpoint = "collection"
		case len(seg) == 4 && seg[3] == "manifest":
			r.endpoint = "manifest"
		case len(seg) == 4 && seg[3] == "objects":
			r.endpoint, r.methods = "objects", "GET, POST"
		case len(seg) == 5 && seg[3] == "objects":
			r.endpoint, r.object, r.methods = "object", seg[4], "GET, DELETE"
		case len(seg) == 6 && seg[3] == "objects" && seg[5] == "versions":
			r.endpoint, r.object = "versions", seg[4]
		default:
			return route{}, false
		}
	default:
		return route{}, false
	}
	return r, true
}

// ServeHTTP answers a TAXII request: authentication, the endpoint, the
// method, content negotiation, then the endpoint's own checks.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p, err := h.o.Authenticate(r)
	var retry *RetryError
	switch {
	case errors.Is(err, ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Basic realm="spoor TAXII", charset="UTF-8"`)
		w.Header().Add("WWW-Authenticate", `Bearer realm="spoor TAXII"`)
		fail(w, http.StatusUnauthorized, "Authentication required",
			"send HTTP basic credentials of a spoor user or Authorization: Bearer with an API token")
		return
	case errors.As(err, &retry):
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.After/time.Second)+1))
		fail(w, http.StatusTooManyRequests, "Too many login attempts", "try again later")
		return
	case err != nil:
		h.internal(w, r, err)
		return
	}
	rt, ok := h.parse(r.URL.Path)
	if !ok {
		fail(w, http.StatusNotFound, "Not found", "no TAXII endpoint at this path")
		return
	}
	if !slices.Contains(strings.Split(rt.methods, ", "), r.Method) {
		w.Header().Set("Allow", rt.methods)
		fail(w, http.StatusMethodNotAllowed, "Method not allowed", r.Method+" is not supported here; allowed: "+rt.methods)
		return
	}
	if !acceptable(r.Header.Values("Accept")) {
		fail(w, http.StatusNotAcceptable, "Not acceptable", "this server answers "+MediaType+" only")
		return
	}
	if rt.endpoint == "discovery" {
		h.discovery(w, r, p)
		return
	}
	// Another tenant's API root is not found, as one that does not exist.
	if rt.root != p.Tenant {
		fail(w, http.StatusNotFound, "Not found", "no such API root")
		return
	}
	switch rt.endpoint {
	case "root":
		h.apiRoot(w, p)
		return
	case "status":
		h.status(w, r, p, rt.id)
		return
	case "collections":
		h.collections(w, r, p)
		return
	}
	cs, err := h.o.Backend.Collections(r.Context(), p)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	// A collection is named by its id, or by its alias (section 5.2.1).
	found := false
	for _, c := range cs {
		if c.ID == rt.id {
			rt.collection, found = c, true
			break
		}
	}
	for _, c := range cs {
		if !found && c.Alias != "" && c.Alias == rt.id {
			rt.collection, found = c, true
		}
	}
	if !found {
		fail(w, http.StatusNotFound, "Not found", "no such collection, or not one you may see")
		return
	}
	// One principal holds at most half the slots, so that a slow or
	// greedy partner does not keep the others waiting.
	if !h.take(p) {
		w.Header().Set("Retry-After", "5")
		fail(w, http.StatusTooManyRequests, "Too many requests", "this account has as many requests in progress as it may; retry when one is done")
		return
	}
	defer h.give(p)
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	case <-r.Context().Done():
		return // the client went away while waiting its turn
	}
	switch rt.endpoint {
	case "collection":
		write(w, http.StatusOK, collectionJSON(rt.collection))
	case "objects":
		if r.Method == http.MethodPost {
			h.add(w, r, p, rt.collection)
		} else {
			h.objects(w, r, rt)
		}
	case "object":
		if r.Method == http.MethodDelete {
			h.delete(w, r, p, rt)
		} else {
			h.objects(w, r, rt)
		}
	default:
		h.objects(w, r, rt)
	}
}

func (h *Handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	h.o.Logger.Error("TAXII request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	fail(w, http.StatusInternalServerError, "Internal error", "")
}

// base is the URL of the handler's prefix for this request: absolute on
// HTTPS, else relative (behind a proxy that ends TLS), as section 4.1.1
// allows API roots only HTTPS or relative URLs.
func (h *Handler) base(r *http.Request) string {
	if r.TLS == nil {
		return h.o.Prefix
	}
	return "https://" + r.Host + h.o.Prefix
}

func (h *Handler) discovery(w http.ResponseWriter, r *http.Request, p Principal) {
	root := h.base(r) + url.PathEscape(p.Tenant) + "/"
	write(w, http.StatusOK, struct {
		Title       string   `json:"title"`
		Description string   `json:"description,omitempty"`
		Default     string   `json:"default"`
		APIRoots    []string `json:"api_roots"`
	}{h.o.Title, h.o.Description, root, []string{root}})
}

func (h *Handler) apiRoot(w http.ResponseWriter, p Principal) {
	write(w, http.StatusOK, struct {
		Title            string   `json:"title"`
		Description      string   `json:"description"`
		Versions         []string `json:"versions"`
		MaxContentLength int64    `json:"max_content_length"`
	}{p.Tenant, "the collections of tenant " + p.Tenant + ": its own, and one per case", []string{MediaType}, h.o.MaxContentLength})
}

type collectionResource struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types"`
}

func collectionJSON(c Collection) collectionResource {
	return collectionResource{c.ID, c.Title, c.Description, c.Alias, c.CanRead, c.CanWrite, []string{STIXMediaType}}
}

func (h *Handler) collections(w http.ResponseWriter, r *http.Request, p Principal) {
	cs, err := h.o.Backend.Collections(r.Context(), p)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	out := struct {
		Collections []collectionResource `json:"collections,omitempty"`
	}{}
	for _, c := range cs {
		out.Collections = append(out.Collections, collectionJSON(c))
	}
	write(w, http.StatusOK, out)
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request, p Principal, id string) {
	b, err := h.o.Backend.Status(r.Context(), p.Tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		fail(w, http.StatusNotFound, "Not found", "no such status")
		return
	}
	if err != nil {
		h.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
