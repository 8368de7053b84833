package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// intelCall is what the server handed its IntelFunc.
type intelCall struct {
	tenant, caseName, actor, source, bundle, tlp string
}

// postIntel sends a bundle to import as c, with the form's fields given as
// name/value pairs ("file" is sent as the file partner.json).
func (f *fixture) postIntel(c client, caseName string, fields ...string) (int, map[string]any) {
	f.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		var err error
		if fields[i] == "file" {
			w, werr := mw.CreateFormFile("file", "partner.json")
			must(f.t, werr)
			_, err = w.Write([]byte(fields[i+1]))
		} else {
			err = mw.WriteField(fields[i], fields[i+1])
		}
		must(f.t, err)
	}
	must(f.t, mw.Close())
	w := f.do(c, "POST", "/api/cases/"+caseName+"/intel", nil, func(r *http.Request) {
		r.Body = readCloser(b.String())
		r.ContentLength = int64(b.Len())
		r.Header.Set("Content-Type", mw.FormDataContentType())
	})
	var m map[string]any
	if w.Body.Len() > 0 {
		decode(f.t, w, &m)
	}
	return w.Code, m
}

// TestIntelImport: the console's import of a partner's bundle (issue 16,
// "and in the console") hands the bundle, the case and the importer to
// the IntelFunc, for analysts and admins of the case's tenant only, and
// answers its report; a bundle the import refuses is the client's fault.
func TestIntelImport(t *testing.T) {
	f := newFixture(t, t.TempDir())
	var mu sync.Mutex
	var calls []intelCall
	f.intel = func(_ context.Context, tenant, caseName, actor, source string, bundle []byte, tlp string) (IntelReport, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, intelCall{tenant, caseName, actor, source, string(bundle), tlp})
		if string(bundle) == "junk" {
			return IntelReport{}, fmt.Errorf("partner.json: %w: no indicator", ErrBadBundle)
		}
		return IntelReport{Source: source, Hunted: "the evidence", Indicators: []IntelIndicator{{ID: "indicator--1", PatternType: "stix", Seen: 2}}}, nil
	}
	bundle := `{"type":"bundle","id":"bundle--1","objects":[]}`
	ann, vic, gus := f.login("ann"), f.login("vic"), f.login("gus")

	code, rep := f.postIntel(ann, "intrusion", "file", bundle, "tlp", "amber+strict")
	if code != http.StatusOK || rep["hunted"] != "the evidence" || len(rep["indicators"].([]any)) != 1 {
		t.Fatalf("import as ann: %d %v", code, rep)
	}
	if want := (intelCall{"acme", "intrusion", "ann", "partner.json", bundle, "amber+strict"}); calls[0] != want {
		t.Errorf("IntelFunc got %+v, want %+v", calls[0], want)
	}
	// Without a TLP the sightings are amber, the default.
	if code, _ := f.postIntel(ann, "intrusion", "file", bundle); code != http.StatusOK || calls[1].tlp != "amber" {
		t.Errorf("no tlp: %d, tlp %q", code, calls[1].tlp)
	}
	// gus imports into globex's case of the same name, never acme's.
	if code, _ := f.postIntel(gus, "intrusion", "file", bundle); code != http.StatusOK || calls[2].tenant != "globex" {
		t.Errorf("gus: %d, %+v", code, calls[2])
	}
	for _, tc := range []struct {
		name   string
		c      client
		caseN  string
		fields []string
		want   int
	}{
		{"a viewer", vic, "intrusion", []string{"file", bundle}, http.StatusForbidden},
		{"no CSRF token", client{cookie: ann.cookie}, "intrusion", []string{"file", bundle}, http.StatusForbidden},
		{"no session", client{}, "intrusion", []string{"file", bundle}, http.StatusUnauthorized},
		{"a case not there", ann, "nonexistent", []string{"file", bundle}, http.StatusNotFound},
		{"no file", ann, "intrusion", []string{"tlp", "green"}, http.StatusBadRequest},
		{"a TLP of 1.0", ann, "intrusion", []string{"file", bundle, "tlp", "white"}, http.StatusBadRequest},
		{"what the import refuses", ann, "intrusion", []string{"file", "junk"}, http.StatusBadRequest},
	} {
		if code, m := f.postIntel(tc.c, tc.caseN, tc.fields...); code != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.name, code, m, tc.want)
		}
	}
	// A bundle past the bound is read no further: 413, not imported.
	defer func(n int64) { maxIntelBundle = n }(maxIntelBundle)
	maxIntelBundle = 1000
	if code, m := f.postIntel(ann, "intrusion", "file", strings.Repeat(" ", 1001)+bundle); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a bundle past the bound: %d %v, want 413", code, m)
	}
	if len(calls) != 4 {
		t.Errorf("%d imports ran, want 4 (the refused ones must not run)", len(calls))
	}

	// One import at a time: another while one runs is 503.
	running, release := make(chan struct{}), make(chan struct{})
	f.intel = func(context.Context, string, string, string, string, []byte, string) (IntelReport, error) {
		close(running)
		<-release
		return IntelReport{}, errors.New("stopped")
	}
	done := make(chan int)
	go func() { code, _ := f.postIntel(ann, "intrusion", "file", bundle); done <- code }()
	<-running
	if code, _ := f.postIntel(ann, "intrusion", "file", bundle); code != http.StatusServiceUnavailable {
		t.Errorf("a second import at once: %d, want 503", code)
	}
	close(release)
	if code := <-done; code != http.StatusInternalServerError {
		t.Errorf("an import that fails: %d, want 500", code)
	}
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestIntelImportBusyReadsNoBundle: an import sent while another runs is
// refused before its bundle is read: each waiting request held a whole
// bundle (up to 256 MiB) in memory, however many an analyst sent at once.
func TestIntelImportBusyReadsNoBundle(t *testing.T) {
	f := newFixture(t, t.TempDir())
	running, release := make(chan struct{}), make(chan struct{})
	f.intel = func(context.Context, string, string, string, string, []byte, string) (IntelReport, error) {
		close(running)
		<-release
		return IntelReport{}, nil
	}
	ann := f.login("ann")
	bundle := `{"type":"bundle","id":"bundle--1","objects":[]}`
	done := make(chan int)
	go func() { code, _ := f.postIntel(ann, "intrusion", "file", bundle); done <- code }()
	<-running
	defer func() {
		close(release)
		<-done
	}()

	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	w, err := mw.CreateFormFile("file", "partner.json")
	must(t, err)
	_, err = w.Write([]byte(strings.Repeat(" ", 4<<20) + bundle))
	must(t, err)
	must(t, mw.Close())
	body := &countingReader{r: bytes.NewReader(b.Bytes())}
	rec := f.do(ann, "POST", "/api/cases/intrusion/intel", nil, func(r *http.Request) {
		r.Body = io.NopCloser(body)
		r.ContentLength = int64(b.Len())
		r.Header.Set("Content-Type", mw.FormDataContentType())
	})
	if rec.Code != http.StatusServiceUnavailable || body.n > 1<<20 {
		t.Errorf("a second import at once: %d after reading %d of its %d bytes, want 503 before its bundle is read", rec.Code, body.n, b.Len())
	}
}
