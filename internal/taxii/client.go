package taxii

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Client reads a collection's objects from a TAXII 2.1 server, bounded:
// what spoor intel import takes from a partner's server.
type Client struct {
	// HTTP sends the requests (http.DefaultClient when nil).
	HTTP *http.Client
	// Auth sets a request's credentials (basic or bearer); nil for none.
	Auth func(*http.Request)
	// UserAgent names the client software and its version (section
	// 8.4.1); "spoor" when empty.
	UserAgent string
	// MaxBytes bounds the bodies read in all (default 64 MiB); MaxPages
	// the requests made (default 1000).
	MaxBytes int64
	MaxPages int

	// MaxObjects bounds the objects taken in all (default
	// DefaultClientObjects): a tiny one costs more memory than its bytes.
	MaxObjects int
}

// DefaultClientObjects is Client.MaxObjects's default.
const DefaultClientObjects = 1 << 20

// ErrTooMuch: a collection holds more than the client's bounds allow.
var ErrTooMuch = errors.New("more than the bounds allow")

// Objects returns every object of a collection, given the URL of its
// objects endpoint (section 5.4; its query parameters are kept, as
// filters), following the pages: the next parameter while the server
// says more, or, when it gives more without next, added_after set to the
// page's X-TAXII-Date-Added-Last (section 3.5).
func (c *Client) Objects(ctx context.Context, objectsURL string) ([]json.RawMessage, error) {
	u, err := url.Parse(objectsURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("TAXII URL %q: want https://HOST/.../collections/ID/objects/", objectsURL)
	}
	// As errors name it: without a password it holds.
	shown := u.Redacted()
	if (c.Auth != nil || u.User != nil) && u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("TAXII URL %s: credentials would cross the network in clear over http://; use https://", shown)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	// A redirect stays on the server asked, scheme and port too:
	// net/http would send the credentials on to plain HTTP or another
	// port of the host, or to its subdomains.
	same := *hc
	same.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != u.Scheme || !strings.EqualFold(req.URL.Host, u.Host) {
			return fmt.Errorf("redirected to %s, off %s://%s", req.URL.Redacted(), u.Scheme, u.Host)
		}
		if hc.CheckRedirect != nil {
			return hc.CheckRedirect(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	hc = &same
	maxBytes, maxPages, maxObjects := c.MaxBytes, c.MaxPages, c.MaxObjects
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	if maxPages <= 0 {
		maxPages = 1000
	}
	if maxObjects <= 0 {
		maxObjects = DefaultClientObjects
	}
	budget := maxBytes
	var objs []json.RawMessage
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("%s: %w: %d pages", shown, ErrTooMuch, maxPages)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", MediaType)
		req.Header.Set("User-Agent", cmp.Or(c.UserAgent, "spoor"))
		if c.Auth != nil {
			c.Auth(req)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, budget+1))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", u.Redacted(), err)
		}
		if budget -= int64(len(body)); budget < 0 {
			return nil, fmt.Errorf("%s: %w: %d bytes", shown, ErrTooMuch, maxBytes)
		}
		if resp.StatusCode != http.StatusOK {
			var e Error
			json.Unmarshal(body, &e)
			// The server's words, quoted and cut: they go to a terminal.
			return nil, fmt.Errorf("GET %s: %.40q: %.100q %.300q", u.Redacted(), resp.Status, e.Title, e.Description)
		}
		env, err := readPage(body, maxObjects-len(objs))
		if errors.Is(err, ErrTooManyObjects) {
			return nil, fmt.Errorf("%s: %w: %d objects", shown, ErrTooMuch, maxObjects)
		}
		if err != nil {
			return nil, fmt.Errorf("GET %s: not a TAXII envelope: %w", u.Redacted(), err)
		}
		objs = append(objs, env.Objects...)
		if !env.More {
			return objs, nil
		}
		q := u.Query()
		switch last := resp.Header.Get("X-TAXII-Date-Added-Last"); {
		case env.Next != "":
			q.Set("next", env.Next)
		case last != "":
			q.Set("added_after", last)
		default:
			return nil, fmt.Errorf("GET %s: more without next or X-TAXII-Date-Added-Last", u.Redacted())
		}
		u.RawQuery = q.Encode()
		if seen[u.RawQuery] {
			return nil, fmt.Errorf("GET %s: the server sends the same page again", u.Redacted())
		}
		seen[u.RawQuery] = true
	}
}

// loopback reports whether host names this machine: plain HTTP to it does
// not cross a network.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
