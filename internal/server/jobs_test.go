package server

import (
	"bytes"
	"context"
	"errors"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/store"
)

// huntCall is one hunt the job runner asked for.
type huntCall struct {
	tenant, caseName, actor string
	files                   map[string]string // base name → content
	filters                 [][]byte
}

// hunt is the fixture's HuntFunc: it reports what it was given, fails on
// evidence saying "fail" and panics on "panic".
func (f *fixture) hunt(ctx context.Context, tenant, caseName, actor string, paths []string, filters [][]byte, progress func(Progress)) error {
	call := huntCall{tenant: tenant, caseName: caseName, actor: actor, files: map[string]string{}, filters: filters}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		call.files[filepath.Base(p)] = string(b)
	}
	progress(Progress{Phase: "evidence", FilesTotal: int64(len(paths))})
	f.hunts <- call
	for _, c := range call.files {
		switch c {
		case "fail":
			return errors.New("bad evidence")
		case "panic":
			panic("hunt bug")
		}
	}
	return nil
}

// multipartBody is an upload of files (name → content).
func multipartBody(t *testing.T, files [][2]string) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range files {
		w, err := mw.CreateFormFile("file", f[0])
		must(t, err)
		w.Write([]byte(f[1]))
	}
	must(t, mw.Close())
	return &b, mw.FormDataContentType()
}

func (f *fixture) upload(c client, caseName string, files [][2]string, edit ...func(*http.Request)) (int, job) {
	f.t.Helper()
	body, ctype := multipartBody(f.t.(*testing.T), files)
	w := f.do(c, "POST", "/api/cases/"+caseName+"/uploads", nil, append([]func(*http.Request){func(r *http.Request) {
		r.Body = readCloser(body.String())
		r.ContentLength = int64(body.Len())
		r.Header.Set("Content-Type", ctype)
	}}, edit...)...)
	var jb job
	if w.Code == http.StatusAccepted {
		decode(f.t, w, &jb)
	}
	return w.Code, jb
}

// TestUploadJobs: an upload is kept under server-made names and hunted
// into its case with the case's filters; a failing or crashing hunt fails
// its job and the next one still runs; jobs are the tenant's own.
func TestUploadJobs(t *testing.T) {
	f := newFixture(t, t.TempDir())
	done := make(chan job, 4)
	f.srv.jobs.onDone = func(j job) { done <- j }
	ann := f.login("ann")
	must(t, func() error {
		_, err := f.st.AddFilter(context.Background(), "acme", "intrusion", storeFilter("filter body"), "ann")
		return err
	}())

	code, jb := f.upload(ann, "intrusion", [][2]string{{"../../etc/passwd.evtx", "one"}, {"logs/b.ZIP", "two"}, {"c", "three"}})
	if code != http.StatusAccepted || jb.State != JobQueued || len(jb.Files) != 3 || jb.Bytes != int64(len("onetwothree")) {
		t.Fatalf("upload: %d %+v", code, jb)
	}
	call := <-f.hunts
	want := map[string]string{"0000.evtx": "one", "0001.zip": "two", "0002.bin": "three"}
	if call.tenant != "acme" || call.caseName != "intrusion" || call.actor != "ann" || len(call.files) != 3 {
		t.Fatalf("hunt call %+v", call)
	}
	for name, content := range want {
		if call.files[name] != content {
			t.Errorf("file %s: %q, want %q (all: %v)", name, call.files[name], content, call.files)
		}
	}
	if len(call.filters) != 2 || string(call.filters[1]) != "filter body" {
		t.Errorf("filters %q, want the case's two", call.filters)
	}
	if j := <-done; j.State != JobDone || j.Progress.Phase != "evidence" {
		t.Errorf("job %+v, want done with its progress", j)
	}

	// A failing hunt and a crashing one fail their jobs; the runner lives.
	for _, content := range []string{"fail", "panic", "fine"} {
		code, _ := f.upload(ann, "intrusion", [][2]string{{"x.evtx", content}})
		if code != http.StatusAccepted {
			t.Fatalf("upload %s: %d", content, code)
		}
		<-f.hunts
		j := <-done
		wantState := JobFailed
		if content == "fine" {
			wantState = JobDone
		}
		if j.State != wantState || (wantState == JobFailed && j.Error == "") || strings.Contains(j.Error, "\n") {
			t.Errorf("%s: job %+v, want %s with a one-line error", content, j, wantState)
		}
	}
	var list struct{ Jobs []job }
	decode(t, f.do(ann, "GET", "/api/cases/intrusion/jobs", nil), &list)
	if len(list.Jobs) != 4 || list.Jobs[0].ID <= list.Jobs[3].ID {
		t.Errorf("jobs %+v, want 4 newest first", list.Jobs)
	}
	first := "/api/cases/intrusion/jobs/" + strconv.FormatInt(jb.ID, 10)
	if w := f.do(ann, "GET", first, nil); w.Code != http.StatusOK {
		t.Errorf("own job: %d", w.Code)
	}
	// globex's case of the same name has none of them.
	gus := f.login("gus")
	if w := f.do(gus, "GET", first, nil); w.Code != http.StatusNotFound {
		t.Errorf("globex reads acme's job: %d %s", w.Code, w.Body)
	}
	decode(t, f.do(gus, "GET", "/api/cases/intrusion/jobs", nil), &list)
	if len(list.Jobs) != 0 {
		t.Errorf("globex lists acme's jobs: %+v", list.Jobs)
	}
	// Refusals: a viewer, no CSRF token, another tenant's case, no file,
	// too large.
	vic := f.login("vic")
	if code, _ := f.upload(vic, "intrusion", [][2]string{{"a", "b"}}); code != http.StatusForbidden {
		t.Errorf("viewer uploads: %d", code)
	}
	if code, _ := f.upload(client{cookie: ann.cookie}, "intrusion", [][2]string{{"a", "b"}}); code != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", code)
	}
	if code, _ := f.upload(gus, "nonexistent", [][2]string{{"a", "b"}}); code != http.StatusNotFound {
		t.Errorf("missing case: %d", code)
	}
	if code, _ := f.upload(ann, "intrusion", nil); code != http.StatusBadRequest {
		t.Errorf("no file: %d", code)
	}
	f.srv.maxUpload = 100
	if code, _ := f.upload(ann, "intrusion", [][2]string{{"big.evtx", strings.Repeat("x", 200)}}); code != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: %d", code)
	}
	// Refused uploads leave nothing behind; the accepted ones are kept.
	ents, err := os.ReadDir(f.srv.jobs.dir)
	must(t, err)
	if len(ents) != 4 {
		t.Errorf("%d upload folders, want the 4 accepted", len(ents))
	}
	select {
	case c := <-f.hunts:
		t.Errorf("a refused upload was hunted: %+v", c)
	default:
	}
}

func storeFilter(body string) store.CaseFilter {
	return store.CaseFilter{Title: "t", Rule: "r", Body: []byte(body)}
}
