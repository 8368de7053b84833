package rulepkg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/outfile"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// Source is where a rule package comes from: a URL (http or https) or a
// local archive file. Exactly one is set.
type Source struct {
	URL  string
	File string
}

// String returns the URL or the file name.
func (s Source) String() string {
	if s.URL != "" {
		return s.URL
	}
	return s.File
}

// Defaults of Options.
const (
	DefaultTimeout     = 10 * time.Minute
	DefaultMaxDownload = 200 << 20
	DefaultMaxUnpacked = 2 << 30
	DefaultMaxFile     = 16 << 20
	DefaultMaxEntries  = 200_000
	DefaultMinRules    = 100
	DefaultMaxFailRate = 0.05
)

// Options tune Install. The zero value is ready to use: every zero field
// takes its default.
type Options struct {
	// Dir is the install folder; empty means Dir().
	Dir string
	// Client downloads URLs; nil means a client with the default transport.
	// Its CheckRedirect is replaced by one that follows up to 10 redirects.
	Client *http.Client
	// UserAgent is sent with downloads, such as "spoor/v1.2.0".
	UserAgent string
	// Timeout bounds the download (DefaultTimeout).
	Timeout time.Duration
	// MaxDownload bounds the size of the archive in bytes (DefaultMaxDownload).
	MaxDownload int64
	// MaxUnpacked bounds the bytes decompressed from the archive
	// (DefaultMaxUnpacked), MaxFile those of one file (DefaultMaxFile) and
	// MaxEntries its number of members (DefaultMaxEntries).
	MaxUnpacked, MaxFile int64
	MaxEntries           int
	// MinRules is the least number of rules that must load (DefaultMinRules).
	MinRules int
	// MaxFailRate bounds the share of rule documents that fail to load,
	// from 0 to 1 (DefaultMaxFailRate): a package failing as many or more
	// is refused.
	MaxFailRate float64
	// Force installs the archive even when it is the one installed.
	Force bool
	// Progress, when set, is called as the download advances with the bytes
	// received and the total (-1 when unknown). It is called from the
	// goroutine running Install.
	Progress func(done, total int64)
}

func (o *Options) defaults() {
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.UserAgent == "" {
		o.UserAgent = "spoor"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxDownload <= 0 {
		o.MaxDownload = DefaultMaxDownload
	}
	if o.MaxUnpacked <= 0 {
		o.MaxUnpacked = DefaultMaxUnpacked
	}
	if o.MaxFile <= 0 {
		o.MaxFile = DefaultMaxFile
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MinRules <= 0 {
		o.MinRules = DefaultMinRules
	}
	if o.MaxFailRate <= 0 {
		o.MaxFailRate = DefaultMaxFailRate
	}
}

// Install fetches the archive of src, checks it and installs it in
// opts.Dir, replacing the previous install. The archive may be a SigmaHQ
// release asset (a zip of rule files, with a version.txt in recent
// releases) or a zip or tar.gz source archive of the repository (with one
// top folder, whose rules* folders are installed); the format is known from
// the content, not the name.
//
// Before anything is replaced the archive must be well formed, within the
// size limits, free of unsafe member names (absolute, with "..", links
// leading outside), and hold at least opts.MinRules rules that load with at
// most opts.MaxFailRate of the documents failing. Any error leaves the
// previous install as it was; errors about the archive itself wrap
// ErrInvalid.
//
// When the archive has the SHA-256 of the installed one and opts.Force is
// not set, Install returns the installed Info with ErrUpToDate.
func Install(ctx context.Context, src Source, opts Options) (*Info, error) {
	opts.defaults()
	if (src.URL == "") == (src.File == "") {
		return nil, errors.New("install rule package: give a URL or a file")
	}
	dir := opts.Dir
	if dir == "" {
		d, err := Dir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("create cache directory: %w", err)
	}
	cleanStale(parent)

	var a *fetched
	var err error
	if src.URL != "" {
		a, err = download(ctx, src.URL, parent, &opts)
	} else {
		a, err = openFile(src.File, &opts)
	}
	if err != nil {
		return nil, err
	}
	defer a.close()

	if !opts.Force {
		if cur, err := InstalledIn(dir); err == nil && cur.SHA256 == a.sha256 {
			return cur, ErrUpToDate
		}
	}

	tmp, err := os.MkdirTemp(parent, tmpPrefix+"new-")
	if err != nil {
		return nil, fmt.Errorf("create temporary folder: %w", err)
	}
	swapped := false
	defer func() {
		if !swapped {
			os.RemoveAll(tmp)
		}
	}()

	x, err := a.extract(ctx, tmp, &opts)
	if err != nil {
		return nil, err
	}
	info, err := check(filepath.Join(tmp, rulesName), &opts)
	if err != nil {
		return nil, err
	}
	info.Files = x.files
	info.Source = a.source
	info.SHA256 = a.sha256
	info.InstalledAt = time.Now().UTC().Truncate(time.Second)
	info.Version = version(x.versionTxt, a.names, x.top, a.sha256)
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := outfile.Write(filepath.Join(tmp, manifestName), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	}); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	if err := swap(tmp, dir); err != nil {
		return nil, err
	}
	swapped = true
	info.Path = dir
	return info, nil
}

// check loads the rules under dir and applies the limits of opts.
func check(dir string, opts *Options) (*Info, error) {
	c, err := sigma.LoadPaths([]string{dir})
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	info := &Info{Rules: Count(c)}
	now := time.Now()
	for _, r := range c.Rules {
		info.Newest = newestDate(info.Newest, r, now)
	}
	for _, e := range c.Errors {
		if !e.Warning {
			info.Failed++
		}
	}
	if info.Rules < opts.MinRules {
		return nil, fmt.Errorf("%w: %d rules load, at least %d expected", ErrInvalid, info.Rules, opts.MinRules)
	}
	docs := info.Rules + len(c.Filters) + info.Failed
	if rate := float64(info.Failed) / float64(docs); rate >= opts.MaxFailRate {
		return nil, fmt.Errorf("%w: %d of %d rule documents fail to load (%.0f%% or more)",
			ErrInvalid, info.Failed, docs, opts.MaxFailRate*100)
	}
	return info, nil
}

// Count returns the number of rules of c that Info.Rules counts: detection
// and correlation rules.
func Count(c *sigma.Collection) int {
	return len(c.Rules) + len(c.Correlations)
}

// tmpPrefix starts the names of the temporary files and folders Install
// makes beside the install folder.
const tmpPrefix = ".sigmahq-"

// swap replaces dir by tmp: dir is renamed aside, tmp renamed in, and the
// old one removed. When tmp cannot be renamed in, dir is put back.
func swap(tmp, dir string) error {
	old := strings.Replace(tmp, tmpPrefix+"new-", tmpPrefix+"old-", 1)
	hadOld := false
	if _, err := os.Lstat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("move previous install aside: %w", err)
		}
		hadOld = true
	}
	if err := os.Rename(tmp, dir); err != nil {
		if hadOld {
			if rerr := os.Rename(old, dir); rerr != nil {
				return fmt.Errorf("install: %w (and restoring the previous install from %s: %w)", err, old, rerr)
			}
		}
		return fmt.Errorf("install: %w", err)
	}
	if hadOld {
		os.RemoveAll(old) // what is left is removed by the next cleanStale
	}
	return nil
}

// cleanStale removes what interrupted installs left in parent more than a
// day ago.
func cleanStale(parent string) {
	matches, _ := filepath.Glob(filepath.Join(parent, tmpPrefix+"*"))
	for _, m := range matches {
		if fi, err := os.Lstat(m); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
			os.RemoveAll(m)
		}
	}
}

// download fetches url into a temporary file in dir.
func download(ctx context.Context, rawURL, dir string, opts *Options) (a *fetched, err error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("download: %q is not an http or https URL", rawURL)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	a = &fetched{source: rawURL, names: []string{u.Path}}
	client := *opts.Client
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		a.names = append(a.names, req.URL.Path)
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	req.Header.Set("User-Agent", opts.UserAgent)
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the method and URL the caller knows
		}
		return nil, fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download: HTTP %s", resp.Status)
	}
	if resp.ContentLength > opts.MaxDownload {
		return nil, fmt.Errorf("download: %w: %d bytes, more than the limit of %d", ErrInvalid, resp.ContentLength, opts.MaxDownload)
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"download-")
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	a.f, a.remove = f, true
	got := a
	defer func() {
		if err != nil {
			got.close()
		}
	}()
	h := sha256.New()
	w := &progressWriter{w: io.MultiWriter(f, h), total: resp.ContentLength, fn: opts.Progress}
	if w.total < 0 {
		w.total = -1
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, opts.MaxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	if n > opts.MaxDownload {
		return nil, fmt.Errorf("download: %w: more than the limit of %d bytes", ErrInvalid, opts.MaxDownload)
	}
	a.size = n
	a.sha256 = hex.EncodeToString(h.Sum(nil))
	return a, nil
}

// progressWriter reports the bytes written through it.
type progressWriter struct {
	w           io.Writer
	done, total int64
	fn          func(done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.fn != nil {
		p.fn(p.done, p.total)
	}
	return n, err
}

// openFile opens the local archive name and hashes it.
func openFile(name string, opts *Options) (*fetched, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, err
	}
	a := &fetched{f: f, source: abs, names: []string{filepath.ToSlash(abs)}}
	fi, err := f.Stat()
	if err != nil {
		a.close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		a.close()
		return nil, fmt.Errorf("%s: %w: not a regular file", name, ErrInvalid)
	}
	if fi.Size() > opts.MaxDownload {
		a.close()
		return nil, fmt.Errorf("%s: %w: %d bytes, more than the limit of %d", name, ErrInvalid, fi.Size(), opts.MaxDownload)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		a.close()
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	a.size = fi.Size()
	a.sha256 = hex.EncodeToString(h.Sum(nil))
	return a, nil
}

// tagRE matches a SigmaHQ release tag.
var tagRE = regexp.MustCompile(`r20\d\d-\d\d-\d\d`)

// version names the package: from its version.txt, a release tag in one of
// the URL paths or file names it came from or in its top folder, or the
// start of its SHA-256.
func version(versionTxt string, names []string, top, sum string) string {
	if versionTxt != "" {
		if t := tagRE.FindString(versionTxt); t != "" {
			return t
		}
		return versionTxt
	}
	for _, n := range names {
		if t := tagRE.FindString(n); t != "" {
			return t
		}
	}
	// Other tags: .../releases/download/TAG/asset and .../archive/refs/tags/TAG.tar.gz
	for _, n := range names {
		if _, rest, ok := strings.Cut(n, "/releases/download/"); ok {
			if tag, _, ok := strings.Cut(rest, "/"); ok && tag != "" {
				return tag
			}
		}
		if _, rest, ok := strings.Cut(n, "/archive/refs/tags/"); ok {
			tag := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(path.Base(rest), ".gz"), ".tar"), ".zip")
			if tag != "" {
				return tag
			}
		}
	}
	if t := tagRE.FindString(top); t != "" {
		return t
	}
	return "sha256:" + sum[:12]
}
