package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spoor-hunt/spoor/internal/stix"
	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/taxii"
)

// CaseSTIXFunc returns the STIX objects of a case's export (its operations
// as internal/stix writes them; none when it has no operations). spoor
// serve supplies it (cli); without it a case's collection holds what
// partners added only.
type CaseSTIXFunc func(ctx context.Context, tenant, caseName string) ([]json.RawMessage, error)

// TAXIIPrefix is where the TAXII 2.1 server is mounted.
const TAXIIPrefix = "/taxii2/"

// newTAXII is the TAXII 2.1 server of this console (internal/taxii): one
// API root per tenant, authenticated by HTTP basic (the login limits and
// password check of the console) or an API token, never by a cookie.
func (s *Server) newTAXII(export CaseSTIXFunc) *taxii.Handler {
	return taxii.New(taxii.Options{
		Prefix:       TAXIIPrefix,
		Description:  "spoor's threat intelligence: per tenant, a collection of its own and one per case",
		Authenticate: s.taxiiPrincipal,
		Backend:      &taxiiBackend{st: s.st, export: export},
		Logger:       s.log,
		Now:          s.now,
	})
}

// taxiiPrincipal authenticates a TAXII request by its Authorization header
// alone: a session cookie is not looked at, so a browser's ambient cookie
// never makes a TAXII request, and no CSRF token is needed. (A browser
// cannot send an add's media type across sites without a preflight, which
// is never granted.)
func (s *Server) taxiiPrincipal(r *http.Request) (taxii.Principal, error) {
	if name, password, ok := r.BasicAuth(); ok {
		if p, ok, err := s.taxiiCreds.user(r.Context(), s.st, name, password); ok || err != nil {
			return p, err
		}
		u, err := s.passwordUser(r, name, password)
		var limited *limitedError
		switch {
		case errors.As(err, &limited):
			return taxii.Principal{}, &taxii.RetryError{After: limited.wait}
		case errors.Is(err, store.ErrCredentials):
			return taxii.Principal{}, taxii.ErrUnauthenticated
		case err != nil:
			return taxii.Principal{}, err
		}
		s.taxiiCreds.keep(name, password, u)
		return taxii.Principal{Tenant: u.Tenant, User: u.Name, Role: string(u.Role)}, nil
	}
	scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return taxii.Principal{}, taxii.ErrUnauthenticated
	}
	u, _, err := s.st.TokenUser(r.Context(), strings.TrimSpace(secret))
	if errors.Is(err, store.ErrCredentials) {
		return taxii.Principal{}, taxii.ErrUnauthenticated
	}
	if err != nil {
		return taxii.Principal{}, err
	}
	// TokenUser gives the lower of the token's role and its owner's.
	return taxii.Principal{Tenant: u.Tenant, User: u.Name, Role: string(u.Role)}, nil
}

// credCache remembers basic credentials that were right, for credTTL: a
// TAXII client sends them with every request, and a client paging
// through a collection must not pay an argon2id hash, nor a login
// attempt of its limits, per page. Credentials are kept as an HMAC under
// a key of this process, never as given. A hit still reads the user from
// the store, so one disabled or demoted since is refused or lowered at
// once; a password changed through this server forgets the user's
// entries; one changed elsewhere (spoor user) is out within credTTL.
type credCache struct {
	mu  sync.Mutex
	key []byte
	now func() time.Time
	m   map[[32]byte]credEntry
}

type credEntry struct {
	tenant, user string
	until        time.Time
}

// credTTL is how long right credentials are remembered; maxCreds bounds
// how many.
const (
	credTTL  = 30 * time.Second
	maxCreds = 1024
)

func newCredCache(now func() time.Time) *credCache {
	return &credCache{key: []byte(rand.Text()), now: now, m: map[[32]byte]credEntry{}}
}

func (c *credCache) sum(name, password string) [32]byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// user returns the principal of remembered credentials (ok false when
// they are not remembered).
func (c *credCache) user(ctx context.Context, st *store.Store, name, password string) (taxii.Principal, bool, error) {
	k := c.sum(name, password)
	c.mu.Lock()
	e, ok := c.m[k]
	if ok && !c.now().Before(e.until) {
		delete(c.m, k)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return taxii.Principal{}, false, nil
	}
	u, err := st.GetUser(ctx, e.tenant, e.user)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		c.forget(e.user)
		return taxii.Principal{}, true, taxii.ErrUnauthenticated
	}
	if err != nil {
		return taxii.Principal{}, true, err
	}
	return taxii.Principal{Tenant: u.Tenant, User: u.Name, Role: string(u.Role)}, true, nil
}

func (c *credCache) keep(name, password string, u store.User) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCreds {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxCreds {
			clear(c.m)
		}
	}
	c.m[c.sum(name, password)] = credEntry{tenant: u.Tenant, user: u.Name, until: now.Add(credTTL)}
}

// forget drops a user's remembered credentials (a password changed).
func (c *credCache) forget(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if e.user == user {
			delete(c.m, k)
		}
	}
}

// CollectionID is the TAXII id of a tenant's own collection (caseName "")
// or of a case's: a version 4 UUID, as TAXII's identifier must be,
// derived from the names, so it is the same on every server over the
// store.
func CollectionID(tenant, caseName string) string {
	return taxii.DerivedID("collection\x00" + tenant + "\x00" + caseName)
}

// taxiiBackend keeps TAXII's objects in the case store.
type taxiiBackend struct {
	st     *store.Store
	export CaseSTIXFunc
}

// Collections: the tenant's own collection, then one per case. A viewer
// reads them, an analyst or admin also adds; a user's grant on a
// collection can take either away.
func (b *taxiiBackend) Collections(ctx context.Context, p taxii.Principal) ([]taxii.Collection, error) {
	cases, err := b.st.Cases(ctx, p.Tenant)
	if err != nil {
		return nil, err
	}
	grants, err := b.st.TAXIIGrants(ctx, p.Tenant, p.User)
	if err != nil {
		return nil, err
	}
	rank := store.RoleRank(store.Role(p.Role))
	add := func(out []taxii.Collection, c taxii.Collection) []taxii.Collection {
		c.Tenant = p.Tenant
		c.CanRead = rank >= store.RoleRank(store.RoleViewer)
		c.CanWrite = rank >= store.RoleRank(store.RoleAnalyst)
		if g, ok := grants[c.ID]; ok {
			c.CanRead = c.CanRead && g.Read
			c.CanWrite = c.CanWrite && g.Write
		}
		if c.CanRead || c.CanWrite {
			out = append(out, c)
		}
		return out
	}
	out := add(nil, taxii.Collection{ID: CollectionID(p.Tenant, ""), Title: p.Tenant,
		Description: "intelligence shared with tenant " + p.Tenant})
	for _, c := range cases {
		out = add(out, taxii.Collection{ID: CollectionID(p.Tenant, c.Name), Title: c.Name, Alias: c.Name, Case: c.Name,
			Description: "case " + c.Name + ": its operations as STIX, and what partners added"})
	}
	return out, nil
}

// Objects reads a collection; a case's is first brought up to date with
// the case's operations (sync).
func (b *taxiiBackend) Objects(ctx context.Context, c taxii.Collection, q store.TAXIIQuery) (store.TAXIIPage, error) {
	if c.Case != "" {
		if err := b.sync(ctx, c); err != nil {
			return store.TAXIIPage{}, err
		}
	}
	return b.st.TAXIIObjects(ctx, c.Tenant, c.ID, q)
}

// sync adds a case's export to its collection when its operations were
// built since the last export: on request, then kept. Export ids and
// versions are derived from the operations, so an object exported again
// unchanged is no new version, and a changed one (a new modified) is.
func (b *taxiiBackend) sync(ctx context.Context, c taxii.Collection) error {
	if b.export == nil {
		return nil
	}
	now, exported, err := b.st.OperationsStamp(ctx, c.Tenant, c.Case)
	if err != nil || now == exported {
		return err
	}
	raws, err := b.export(ctx, c.Tenant, c.Case)
	if err != nil {
		return fmt.Errorf("export case %s: %w", c.Case, err)
	}
	objs := make([]store.TAXIIObject, 0, len(raws))
	for i, raw := range raws {
		h, err := stix.ReadHead(raw)
		if err != nil {
			return fmt.Errorf("export case %s: object %d: %w", c.Case, i, err)
		}
		objs = append(objs, store.TAXIIObject{ID: h.ID, Type: h.Type, SpecVersion: h.SpecVersion, Version: h.Version, JSON: raw})
	}
	return b.st.AddTAXIIExport(ctx, c.Tenant, c.Case, c.ID, objs, now)
}

func (b *taxiiBackend) Add(ctx context.Context, c taxii.Collection, objs []store.TAXIIObject, actor string) ([]bool, error) {
	return b.st.AddTAXIIObjects(ctx, c.Tenant, c.Case, c.ID, objs, actor)
}

func (b *taxiiBackend) Delete(ctx context.Context, c taxii.Collection, q store.TAXIIQuery, actor string) error {
	_, err := b.st.DeleteTAXIIObject(ctx, c.Tenant, c.Case, c.ID, q.IDs[0], q, actor)
	return err
}

func (b *taxiiBackend) PutStatus(ctx context.Context, tenant, id string, body json.RawMessage) error {
	return b.st.PutTAXIIStatus(ctx, tenant, id, body)
}

func (b *taxiiBackend) Status(ctx context.Context, tenant, id string) (json.RawMessage, error) {
	return b.st.TAXIIStatus(ctx, tenant, id)
}
