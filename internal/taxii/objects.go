package taxii

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spoor-hunt/spoor/internal/stix"
	"github.com/spoor-hunt/spoor/internal/store"
)

// maxMatchValues bounds the values of one match[...] parameter.
const maxMatchValues = 100

// query reads the filtering (section 3.4) and paging (3.5) parameters of
// a request to the endpoint of rt. Parameters an endpoint does not take
// are ignored; one that is malformed is an error (400): added_after, limit
// and next given twice, a match field given twice (its values are
// comma-separated), a version keyword or timestamp repeated, "all" with
// another version, a timestamp not in UTC with "Z".
func (h *Handler) query(r *http.Request, rt route) (store.TAXIIQuery, error) {
	v := r.URL.Query()
	for name, vals := range v {
		if len(vals) > 1 && (name == "added_after" || name == "limit" || name == "next" || strings.HasPrefix(name, "match[")) {
			return store.TAXIIQuery{}, fmt.Errorf("%s is given %d times: once at most (section 3.4; a match field's values are separated by commas)", name, len(vals))
		}
	}
	q := store.TAXIIQuery{Limit: h.o.PageSize, After: v.Get("next")}
	if s := v.Get("added_after"); s != "" {
		t, err := parseTimestamp(s)
		if err != nil {
			return q, fmt.Errorf("added_after: %w", err)
		}
		q.AddedAfter = t
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, fmt.Errorf("limit %q is not a positive integer", s)
		}
		// The server may page by less than the client asks (section 3.5).
		q.Limit = min(n, store.MaxTAXIIPage)
	}
	list := func(name string) ([]string, error) {
		s, ok := v[name]
		if !ok {
			return nil, nil
		}
		var out []string
		for part := range strings.SplitSeq(s[0], ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				return nil, fmt.Errorf("%s has an empty value", name)
			}
			out = append(out, part)
		}
		if len(out) > maxMatchValues {
			return nil, fmt.Errorf("%s has %d values (at most %d)", name, len(out), maxMatchValues)
		}
		return out, nil
	}
	var err error
	if q.SpecVersions, err = list("match[spec_version]"); err != nil {
		return q, err
	}
	switch rt.endpoint {
	case "objects", "manifest":
		if q.IDs, err = list("match[id]"); err != nil {
			return q, err
		}
		if q.Types, err = list("match[type]"); err != nil {
			return q, err
		}
	case "object", "versions":
		q.IDs = []string{rt.object}
	}
	if rt.endpoint == "versions" {
		q.Versions = []string{"all"}
		return q, nil
	}
	if q.Versions, err = list("match[version]"); err != nil {
		return q, err
	}
	seen := map[string]bool{}
	for _, ver := range q.Versions {
		key := ver
		switch ver {
		case "first", "last":
		case "all":
			if len(q.Versions) > 1 {
				return q, errors.New(`match[version]: "all" goes with no other version (section 3.4.1)`)
			}
		default:
			t, err := parseTimestamp(ver)
			if err != nil {
				return q, fmt.Errorf("match[version] %q is not first, last, all or a timestamp: %w", ver, err)
			}
			key = t.String()
		}
		if seen[key] {
			return q, fmt.Errorf("match[version] names %s twice (section 3.4.1)", ver)
		}
		seen[key] = true
	}
	return q, nil
}

// timestampRE is a timestamp as TAXII and STIX write them: RFC 3339 in
// UTC, with "Z" (sections 2 of both).
var timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$`)

func parseTimestamp(s string) (time.Time, error) {
	if !timestampRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not a timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z, in UTC)", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", s, err)
	}
	return t, nil
}

// version is the version an object version is listed with: its modified
// or created time, else when it was added (section 5.3).
func version(o store.TAXIIObject) string {
	if o.Version.IsZero() {
		return Timestamp(o.DateAdded)
	}
	return store.TAXIIVersion(o.Version)
}

// Timestamp writes t as TAXII's timestamp (section 2): UTC, "Z", and
// microseconds, the precision TAXII requires of date_added, the
// X-TAXII-Date-Added headers and a status's request_timestamp (unlike
// STIX's, which an object's version is).
func Timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// objects answers the four endpoints that list a collection's objects:
// objects, manifest, one object, and its versions.
func (h *Handler) objects(w http.ResponseWriter, r *http.Request, rt route) {
	if !rt.collection.CanRead {
		fail(w, http.StatusForbidden, "Forbidden", "you may not read this collection")
		return
	}
	q, err := h.query(r, rt)
	if err != nil {
		fail(w, http.StatusBadRequest, "Bad query", err.Error())
		return
	}
	page, err := h.o.Backend.Objects(r.Context(), rt.collection, q)
	if errors.Is(err, store.ErrInvalid) {
		fail(w, http.StatusBadRequest, "Bad query", err.Error())
		return
	}
	if err != nil {
		h.internal(w, r, err)
		return
	}
	if len(page.Objects) == 0 && q.After == "" && (rt.endpoint == "object" || rt.endpoint == "versions") {
		fail(w, http.StatusNotFound, "Not found", "no such object in this collection")
		return
	}
	if n := len(page.Objects); n > 0 {
		w.Header().Set("X-TAXII-Date-Added-First", Timestamp(page.Objects[0].DateAdded))
		w.Header().Set("X-TAXII-Date-Added-Last", Timestamp(page.Objects[n-1].DateAdded))
	}
	type manifestRecord struct {
		ID        string `json:"id"`
		DateAdded string `json:"date_added"`
		Version   string `json:"version"`
		MediaType string `json:"media_type"`
	}
	out := struct {
		More     bool   `json:"more,omitempty"`
		Next     string `json:"next,omitempty"`
		Objects  any    `json:"objects,omitempty"`
		Versions any    `json:"versions,omitempty"`
	}{More: page.Next != "", Next: page.Next}
	switch rt.endpoint {
	case "manifest":
		recs := make([]manifestRecord, len(page.Objects))
		for i, o := range page.Objects {
			recs[i] = manifestRecord{o.ID, Timestamp(o.DateAdded), version(o), STIXMediaType}
		}
		if len(recs) > 0 {
			out.Objects = recs
		}
	case "versions":
		vs := make([]string, len(page.Objects))
		for i, o := range page.Objects {
			vs[i] = version(o)
		}
		if len(vs) > 0 {
			out.Versions = vs
		}
	default:
		objs := make([]json.RawMessage, len(page.Objects))
		for i, o := range page.Objects {
			objs[i] = o.JSON
		}
		if len(objs) > 0 {
			out.Objects = objs
		}
	}
	write(w, http.StatusOK, out)
}

// statusDetail is one object of a status resource (section 4.3.1).
type statusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

// statusResource is section 4.3.1's status of an add. An add is done
// before it is answered: its status is complete, nothing pending.
type statusResource struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"`
	RequestTimestamp string         `json:"request_timestamp"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []statusDetail `json:"successes,omitempty"`
	FailureCount     int            `json:"failure_count"`
	Failures         []statusDetail `json:"failures,omitempty"`
	PendingCount     int            `json:"pending_count"`
}

// contentTypeOK tells TAXII 2.1's media type (its version parameter, when
// given, 2.1).
func contentTypeOK(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/taxii+json" {
		return false
	}
	v, ok := params["version"]
	return !ok || v == "2.1"
}

// add answers an add (section 5.5): the objects that are STIX 2.1 objects
// are added, the others listed as failures, and the status is answered
// with 202 and kept for the status endpoint.
func (h *Handler) add(w http.ResponseWriter, r *http.Request, p Principal, c Collection) {
	if !c.CanWrite {
		fail(w, http.StatusForbidden, "Forbidden", "you may not add to this collection")
		return
	}
	if !contentTypeOK(r.Header.Get("Content-Type")) {
		fail(w, http.StatusUnsupportedMediaType, "Unsupported media type", "send the objects as "+MediaType)
		return
	}
	tooBig := func() {
		fail(w, http.StatusRequestEntityTooLarge, "Request too large",
			fmt.Sprintf("at most %d bytes and %d objects (max_content_length)", h.o.MaxContentLength, h.o.MaxObjects))
	}
	if r.ContentLength > h.o.MaxContentLength {
		tooBig()
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.MaxContentLength))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			tooBig()
			return
		}
		fail(w, http.StatusBadRequest, "Bad request", "reading the body: "+err.Error())
		return
	}
	raws, err := ParseEnvelope(body, h.o.MaxObjects)
	if errors.Is(err, ErrTooManyObjects) {
		tooBig()
		return
	}
	if err != nil {
		fail(w, http.StatusBadRequest, "Bad envelope", err.Error())
		return
	}
	st := statusResource{ID: NewID(), Status: "complete", RequestTimestamp: Timestamp(h.o.Now()), TotalCount: len(raws)}
	var objs []store.TAXIIObject
	for i, raw := range raws {
		hd, err := stix.ReadHead(raw)
		if err == nil && !utf8.Valid(raw) {
			// JSON is UTF-8 (RFC 8259 section 8.1), and PostgreSQL's text
			// takes nothing else.
			err = errors.New("not UTF-8")
		}
		if err != nil {
			st.Failures = append(st.Failures, statusDetail{ID: clip(hd.ID, maxDetailID), Version: versionText(hd.Version),
				Message: fmt.Sprintf("object %d: %v", i, err)})
			continue
		}
		objs = append(objs, store.TAXIIObject{ID: hd.ID, Type: hd.Type, SpecVersion: hd.SpecVersion, Version: hd.Version, JSON: raw})
	}
	if len(objs) == 0 {
		// Nothing of the envelope can be processed: 422 (section 5.5).
		var why []string
		for _, f := range st.Failures[:min(len(st.Failures), 5)] {
			why = append(why, f.Message)
		}
		fail(w, http.StatusUnprocessableEntity, "No STIX 2.1 object to add",
			fmt.Sprintf("none of the %d objects is a STIX 2.1 object: %s", len(raws), strings.Join(why, "; ")))
		return
	}
	added, err := h.o.Backend.Add(r.Context(), c, objs, p.User)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	for i, o := range objs {
		if o.Refused != "" {
			st.Failures = append(st.Failures, statusDetail{ID: o.ID, Version: versionText(o.Version), Message: o.Refused})
			continue
		}
		// An object without a version of its own (a cyber-observable) is
		// listed by when it was added, as the manifest lists it.
		d := statusDetail{ID: o.ID, Version: version(o)}
		if !added[i] {
			d.Message = "this version was in the collection already"
		}
		st.Successes = append(st.Successes, d)
	}
	st.SuccessCount, st.FailureCount = len(st.Successes), len(st.Failures)
	b, err := json.Marshal(st)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	if err := h.o.Backend.PutStatus(r.Context(), p.Tenant, st.ID, b); err != nil {
		h.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(http.StatusAccepted)
	w.Write(append(b, '\n'))
}

// delete answers the deletion of an object (section 5.7): the versions
// match[version] and match[spec_version] select, all when no version is
// named; 200 with no body. It needs both can_read and can_write.
func (h *Handler) delete(w http.ResponseWriter, r *http.Request, p Principal, rt route) {
	// Section 5.7: deleting needs both; a collection with neither is not
	// found (404) before this.
	if !rt.collection.CanRead || !rt.collection.CanWrite {
		fail(w, http.StatusForbidden, "Forbidden", "deleting needs both reading and adding in this collection")
		return
	}
	q, err := h.query(r, rt)
	if err != nil {
		fail(w, http.StatusBadRequest, "Bad query", err.Error())
		return
	}
	err = h.o.Backend.Delete(r.Context(), rt.collection, q, p.User)
	switch {
	case errors.Is(err, store.ErrNotFound):
		fail(w, http.StatusNotFound, "Not found", "no such object, or no version of it the query selects")
	case errors.Is(err, store.ErrInvalid):
		fail(w, http.StatusBadRequest, "Bad query", err.Error())
	case err != nil:
		h.internal(w, r, err)
	default:
		w.Header().Set("Content-Type", MediaType)
		w.WriteHeader(http.StatusOK)
	}
}

// maxDetailID bounds the id a status detail repeats of a refused object:
// a STIX id is 288 bytes at most, and a status is kept for good.
const maxDetailID = 300

// clip cuts s to at most n bytes, on a character's boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// versionText is an added object's version in a status: its own, or ""
// for an object without one (the date it is given is the collection's).
func versionText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return store.TAXIIVersion(t)
}
