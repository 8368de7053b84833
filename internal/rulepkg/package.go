package rulepkg

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/rules/sigmahq"
)

// Package is a SigmaHQ rule package ready to load: the one embedded in
// spoor or the one `spoor rules update` installed. Hunts and `spoor rules
// list` take it from Open, so that both see the same rules.
type Package struct {
	// FS holds the rule files, named by slash-separated paths (such as
	// rules/windows/process_creation/x.yml). It is safe for concurrent use.
	FS fs.FS
	// Info describes the package. For the embedded one, Source is
	// "embedded", Files and Version are set, and Path is "".
	Info Info
	// Embedded is true for the package built into spoor.
	Embedded bool
	// Note says why this package was chosen over the other one, when there
	// was a choice ("" otherwise).
	Note string

	noisy map[string]bool
}

// Name describes the package in a few words: "embedded SigmaHQ 2026-07-30
// (8eaafff1)" or "installed SigmaHQ r2026-09-01".
func (p *Package) Name() string {
	where := "installed"
	if p.Embedded {
		where = "embedded"
	}
	return where + " SigmaHQ " + p.Info.Version
}

// Noisy reports whether the rule with this id is left out of a default
// hunt as too noisy (rules/sigmahq/noisy.txt).
func (p *Package) Noisy(id string) bool { return p.noisy[strings.ToLower(id)] }

// Files lists the rule files of the package in lexical order (*.yml and
// *.yaml, test files and hidden folders left out).
func (p *Package) Files() ([]string, error) {
	var files []string
	err := fs.WalkDir(p.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		switch strings.ToLower(path.Ext(name)) {
		case ".yml", ".yaml":
			if !strings.HasSuffix(strings.ToLower(name), ".test.yml") {
				files = append(files, name)
			}
		}
		return nil
	})
	return files, err
}

// Embedded returns the package built into spoor (package rules/sigmahq).
func Embedded() (*Package, error) {
	zr, err := zip.NewReader(strings.NewReader(sigmahq.Zip), int64(len(sigmahq.Zip)))
	if err != nil {
		return nil, fmt.Errorf("embedded SigmaHQ rules: %w", err)
	}
	return &Package{
		FS:       newZipFS(zr),
		Embedded: true,
		Info: Info{
			Version: strings.TrimSpace(sigmahq.Version),
			Source:  "embedded",
			Files:   len(zr.File),
		},
		noisy: noisyIDs(sigmahq.Noisy),
	}, nil
}

// Open returns the SigmaHQ package a hunt uses: the installed one (Dir)
// when there is one and it is newer than the embedded one, else the
// embedded one. An installed package whose date cannot be told (a version
// that names none, in a manifest of an older spoor) is taken as newer: it
// was installed on purpose. A broken install is not used; Note says why.
func Open() (*Package, error) {
	dir, err := Dir()
	if err != nil {
		return openIn("", err)
	}
	return OpenIn(dir)
}

// OpenIn is Open with the install folder dir.
func OpenIn(dir string) (*Package, error) {
	return openIn(dir, nil)
}

func openIn(dir string, dirErr error) (*Package, error) {
	emb, err := Embedded()
	if err != nil {
		return nil, err
	}
	if dirErr != nil {
		return emb, nil // no cache folder (no home), so nothing installed: no choice to tell
	}
	info, err := InstalledIn(dir)
	if errors.Is(err, ErrNotInstalled) {
		return emb, nil
	}
	if err != nil {
		emb.Note = fmt.Sprintf("the installed package is not used: %v", err)
		return emb, nil
	}
	idate, edate := info.Date(), emb.Info.Date()
	if idate != "" && idate <= edate {
		emb.Note = fmt.Sprintf("the installed SigmaHQ %s is not newer than the embedded %s (spoor rules update installs the latest)", info.Version, emb.Info.Version)
		return emb, nil
	}
	rules := filepath.Join(dir, rulesName)
	if fi, err := os.Stat(rules); err != nil || !fi.IsDir() {
		emb.Note = fmt.Sprintf("the installed package is not used: %s is not a folder", rules)
		return emb, nil
	}
	pkg := &Package{FS: os.DirFS(rules), Info: *info, noisy: emb.noisy}
	if idate == "" {
		pkg.Note = fmt.Sprintf("the installed SigmaHQ %s, whose date is unknown, is used instead of the embedded %s", info.Version, emb.Info.Version)
	} else {
		pkg.Note = fmt.Sprintf("the installed SigmaHQ %s is newer than the embedded %s", info.Version, emb.Info.Version)
	}
	return pkg, nil
}

// Date returns the package's date (YYYY-MM-DD): the newest rule's when
// known, else the date in its version (a release tag r2026-09-01), else "".
func (i *Info) Date() string {
	if i.Newest != "" {
		return i.Newest
	}
	return ruleDate(i.Version)
}

// noisyIDs reads a noise list: an id first on each line, "#" comments.
func noisyIDs(text string) map[string]bool {
	ids := map[string]bool{}
	for line := range strings.Lines(text) {
		line, _, _ = strings.Cut(line, "#")
		if f := strings.Fields(line); len(f) > 0 {
			ids[strings.ToLower(f[0])] = true
		}
	}
	return ids
}

// zipFS is the embedded zip as an fs.FS whose Stat and ReadFile open a
// member once, at its known size (zip.Reader's own would open it twice,
// each time with a new decompressor).
type zipFS struct {
	*zip.Reader
	files map[string]*zip.File
}

func newZipFS(zr *zip.Reader) *zipFS {
	z := &zipFS{Reader: zr, files: make(map[string]*zip.File, len(zr.File))}
	for _, f := range zr.File {
		z.files[f.Name] = f
	}
	return z
}

// Stat implements fs.StatFS.
func (z *zipFS) Stat(name string) (fs.FileInfo, error) {
	if f, ok := z.files[name]; ok {
		return f.FileInfo(), nil
	}
	return fs.Stat(z.Reader, name)
}

// ReadFile implements fs.ReadFileFS.
func (z *zipFS) ReadFile(name string) ([]byte, error) {
	f, ok := z.files[name]
	if !ok {
		return fs.ReadFile(z.Reader, name)
	}
	if f.UncompressedSize64 > uint64(sigma.MaxFileSize) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("larger than a rule file may be")}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}
