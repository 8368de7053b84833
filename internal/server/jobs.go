package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Progress is how far a background hunt is, as its HuntFunc reports it.
type Progress struct {
	// Phase is the hunt's current phase ("rules", "evidence", ...).
	Phase      string `json:"phase"`
	FilesDone  int64  `json:"files_done"`
	FilesTotal int64  `json:"files_total"`
	BytesDone  int64  `json:"bytes_done"`
	BytesTotal int64  `json:"bytes_total"`
	Events     int64  `json:"events"`
	Detections int64  `json:"detections"`
	// Hunt is the store's hunt, once it has begun.
	Hunt int64 `json:"hunt,omitempty"`
}

// HuntFunc hunts the evidence at paths into a case of tenant as actor,
// loading the Sigma filter documents filters beside its rules, and reports
// its progress as it goes. `spoor serve` provides it; the server only
// queues and watches the jobs.
type HuntFunc func(ctx context.Context, tenant, caseName, actor string, paths []string, filters [][]byte, progress func(Progress)) error

// Job states.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Limits of the job runner.
const (
	// DefaultMaxUpload bounds one upload's body.
	DefaultMaxUpload = 1 << 30
	maxUploadFiles   = 1000
	// maxQueued jobs wait at once; more uploads are refused (503).
	maxQueued = 16
	// keepJobs finished jobs are listed; older ones are forgotten (their
	// hunts stay in the store).
	keepJobs = 200
)

// job is one upload and the hunt that reads it.
type job struct {
	ID       int64     `json:"id"`
	Case     string    `json:"case"`
	By       string    `json:"by"`
	Files    []string  `json:"files"` // as the browser named them: shown, never used as paths
	Bytes    int64     `json:"bytes"`
	State    string    `json:"state"`
	Error    string    `json:"error,omitempty"`
	Progress Progress  `json:"progress"`
	Created  time.Time `json:"created"`
	Finished time.Time `json:"finished,omitzero"`

	tenant string
	dir    string // the upload folder the hunt reads
	// loadFilters reads the case's filters when the hunt starts, so a
	// filter made while the job waited applies.
	loadFilters func(ctx context.Context) ([][]byte, error)
}

// jobs runs the hunts of uploads, one at a time: the machine's cores go to
// one hunt rather than being split between several.
type jobs struct {
	hunt HuntFunc
	dir  string // the uploads folder
	now  func() time.Time

	mu    sync.Mutex
	next  int64
	all   []*job // oldest first
	queue chan *job

	stop   context.CancelFunc
	ctx    context.Context
	closed sync.WaitGroup
	// onDone, when set (tests), is called with each job as it ends.
	onDone func(job)
}

func newJobs(hunt HuntFunc, dataDir string, now func() time.Time) *jobs {
	j := &jobs{hunt: hunt, now: now, queue: make(chan *job, maxQueued)}
	if dataDir != "" {
		j.dir = filepath.Join(dataDir, "uploads")
	}
	j.ctx, j.stop = context.WithCancel(context.Background())
	if hunt != nil {
		j.closed.Add(1)
		go j.run()
	}
	return j
}

// enabled tells whether uploads can be hunted: a hunt function and a
// folder to keep the evidence in.
func (j *jobs) enabled() bool { return j.hunt != nil && j.dir != "" }

func (j *jobs) close() {
	j.stop()
	j.closed.Wait()
}

func (j *jobs) run() {
	defer j.closed.Done()
	for {
		select {
		case <-j.ctx.Done():
			return
		case jb := <-j.queue:
			j.runOne(jb)
		}
	}
}

// runOne runs one job's hunt; a panic in it fails the job, not the
// server.
func (j *jobs) runOne(jb *job) {
	j.set(jb, func(jb *job) { jb.State = JobRunning })
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("hunt crashed: %v\n%s", p, debug.Stack())
			}
		}()
		paths, err := evidencePaths(jb.dir)
		if err != nil {
			return err
		}
		filters, err := jb.loadFilters(j.ctx)
		if err != nil {
			return err
		}
		return j.hunt(j.ctx, jb.tenant, jb.Case, jb.By, paths, filters, func(p Progress) {
			j.set(jb, func(jb *job) { jb.Progress = p })
		})
	}()
	j.set(jb, func(jb *job) {
		jb.Finished = j.now()
		if err != nil {
			jb.State, jb.Error = JobFailed, firstLine(err.Error())
		} else {
			jb.State = JobDone
		}
	})
	if j.onDone != nil {
		j.onDone(*j.get(jb.tenant, jb.Case, jb.ID))
	}
}

// firstLine keeps an error's first line: a crash's stack is for the log.
func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// set changes a job under the lock.
func (j *jobs) set(jb *job, change func(*job)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	change(jb)
}

// evidencePaths lists the files of an upload folder.
func evidencePaths(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("upload folder: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the upload holds no file")
	}
	return out, nil
}

// add records a new job and queues it; false when the queue is full.
func (j *jobs) add(jb *job) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	select {
	case j.queue <- jb:
	default:
		return false
	}
	j.all = append(j.all, jb)
	// Forget the oldest finished jobs past keepJobs.
	for len(j.all) > keepJobs {
		i := slices.IndexFunc(j.all, func(x *job) bool { return x.State == JobDone || x.State == JobFailed })
		if i < 0 {
			break
		}
		j.all = slices.Delete(j.all, i, i+1)
	}
	return true
}

// list returns copies of the jobs of a case of tenant, newest first.
func (j *jobs) list(tenant, caseName string) []job {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := []job{}
	for i := len(j.all) - 1; i >= 0; i-- {
		if jb := j.all[i]; jb.tenant == tenant && jb.Case == caseName {
			out = append(out, *jb)
		}
	}
	return out
}

// newID numbers a job, and names its folder.
func (j *jobs) newID() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.next++
	return j.next
}

// safeExt keeps a client file name's extension when it is a plain short
// one (.evtx, .zip, .json, .jsonl, .gz): readers may go by it. The rest of
// the name is never used on disk.
var safeExt = regexp.MustCompile(`^\.[a-z0-9]{1,8}$`)

// uploadPath is the name of the n-th file of an upload in its folder.
func uploadPath(dir string, n int, clientName string) string {
	ext := strings.ToLower(filepath.Ext(clientName))
	if !safeExt.MatchString(ext) {
		ext = ".bin"
	}
	return filepath.Join(dir, fmt.Sprintf("%04d%s", n, ext))
}

// isUpload tells a request whose body may be as large as an upload.
func isUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/cases/") && strings.HasSuffix(r.URL.Path, "/uploads")
}

// upload takes evidence files (multipart/form-data, field "file", one or
// more; a folder zipped, or a folder's files) into a new folder of the
// data folder and queues a hunt of them into the case.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	ctx, u, name := r.Context(), who(r).user, r.PathValue("case")
	mr, ok := s.caseMultipart(w, r, s.jobs.enabled(), "this server does not hunt uploads")
	if !ok {
		return
	}
	id := s.jobs.newID()
	dir := filepath.Join(s.jobs.dir, strconv.FormatInt(id, 10)+"-"+strconv.FormatInt(s.now().UnixNano(), 36))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		s.internal(w, r, err)
		return
	}
	jb := &job{ID: id, Case: name, By: u.Name, State: JobQueued, Created: s.now(), tenant: u.Tenant, dir: dir}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.uploadError(w, r, err)
			return
		}
		if part.FormName() != "file" || part.FileName() == "" {
			part.Close()
			continue
		}
		if len(jb.Files) == maxUploadFiles {
			fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("more than %d files", maxUploadFiles))
			return
		}
		n, err := saveUpload(uploadPath(dir, len(jb.Files), part.FileName()), part)
		part.Close()
		if err != nil {
			s.uploadError(w, r, err)
			return
		}
		jb.Files = append(jb.Files, part.FileName())
		jb.Bytes += n
	}
	if len(jb.Files) == 0 {
		fail(w, http.StatusBadRequest, "no file in the upload (form field \"file\")")
		return
	}
	jb.loadFilters = func(ctx context.Context) ([][]byte, error) {
		fs, err := s.st.Filters(ctx, jb.tenant, jb.Case)
		out := make([][]byte, len(fs))
		for i, f := range fs {
			out[i] = f.Body
		}
		return out, err
	}
	answer := *jb // as queued: the runner may change jb from now on
	if !s.jobs.add(jb) {
		fail(w, http.StatusServiceUnavailable, "too many hunts waiting; try again later")
		return
	}
	keep = true
	s.st.Record(ctx, u.Tenant, name, u.Name, "upload", []byte(fmt.Sprintf(`{"job":%d,"files":%d,"bytes":%d}`, jb.ID, len(jb.Files), jb.Bytes)))
	writeJSON(w, http.StatusAccepted, answer)
}

// saveUpload writes one uploaded file whole or not at all.
func saveUpload(path string, r io.Reader) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return n, err
}

func (s *Server) uploadError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("upload larger than %d bytes", s.maxUpload))
	case r.Context().Err() != nil:
	default:
		var pe *os.PathError
		if errors.As(err, &pe) {
			s.internal(w, r, err)
			return
		}
		fail(w, http.StatusBadRequest, "bad upload: "+err.Error())
	}
}

// get returns a copy of one job of a case of tenant, nil when there is none.
func (j *jobs) get(tenant, caseName string, id int64) *job {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, jb := range j.all {
		if jb.ID == id && jb.tenant == tenant && jb.Case == caseName {
			c := *jb
			return &c
		}
	}
	return nil
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	tenant, name := who(r).user.Tenant, r.PathValue("case")
	if _, err := s.st.Case(r.Context(), tenant, name); err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": s.jobs.list(tenant, name), "uploads": s.jobs.enabled(), "max_upload": s.maxUpload,
		"intel": s.intel != nil})
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	tenant, name := who(r).user.Tenant, r.PathValue("case")
	if _, err := s.st.Case(r.Context(), tenant, name); err != nil {
		s.storeError(w, r, err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	jb := s.jobs.get(tenant, name, id)
	if err != nil || jb == nil {
		fail(w, http.StatusNotFound, "not found")
		return
	}
	writeJSON(w, http.StatusOK, jb)
}
