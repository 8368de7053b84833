package rulepkg

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// archive is a fetched archive file.
type archive struct {
	f      *os.File
	remove bool // f is a temporary file
	size   int64
	sha256 string
	// source is the URL or absolute file name, for Info.Source.
	source string
	// names are the URL paths (the one asked for, then the redirects) or
	// the file name, for the version.
	names []string
}

func (a *archive) close() {
	a.f.Close()
	if a.remove {
		os.Remove(a.f.Name())
	}
}

// entryKind is the type of an archive member.
type entryKind int

const (
	kindFile entryKind = iota
	kindDir
	kindSymlink
	kindHardlink
	kindOther
)

// entry is an archive member as walk presents it.
type entry struct {
	name string // as in the archive
	kind entryKind
	link string // target of a link
	// open returns the content of a file or symbolic link; for a tar
	// archive it is valid only during the walk function.
	open func() (io.Reader, error)
}

// walk calls fn for every member of the archive in order.
func (a *archive) walk(ctx context.Context, opts *Options, fn func(e *entry) error) error {
	if _, err := a.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReader(a.f)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte("PK\x03\x04")), bytes.HasPrefix(magic, []byte("PK\x05\x06")):
		return a.walkZip(ctx, fn)
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return walkTarGz(ctx, br, opts, fn)
	}
	return fmt.Errorf("%w: not a zip or tar.gz archive", ErrInvalid)
}

func (a *archive) walkZip(ctx context.Context, fn func(e *entry) error) error {
	zr, err := zip.NewReader(a.f, a.size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are checked by the caller
		return fmt.Errorf("%w: %w", ErrInvalid, err) // "zip: not a valid zip file"
	}
	for _, zf := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := &entry{name: zf.Name}
		mode := zf.Mode()
		switch {
		case mode.IsDir() || strings.HasSuffix(zf.Name, "/"):
			e.kind = kindDir
		case mode&fs.ModeSymlink != 0:
			e.kind = kindSymlink
			r, err := zf.Open()
			if err != nil {
				return fmt.Errorf("%w: zip member %s: %w", ErrInvalid, zf.Name, err)
			}
			target, err := io.ReadAll(io.LimitReader(r, 4096))
			r.Close()
			if err != nil {
				return fmt.Errorf("%w: zip member %s: %w", ErrInvalid, zf.Name, err)
			}
			e.link = string(target)
		case mode.IsRegular():
			e.kind = kindFile
		default:
			e.kind = kindOther
		}
		var rc io.ReadCloser
		e.open = func() (io.Reader, error) {
			r, err := zf.Open()
			rc = r
			return r, err
		}
		err := fn(e)
		if rc != nil {
			rc.Close()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func walkTarGz(ctx context.Context, r io.Reader, opts *Options, fn func(e *entry) error) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: gzip: %w", ErrInvalid, err)
	}
	defer zr.Close()
	lr := &limitReader{r: zr, n: opts.MaxUnpacked}
	tr := tar.NewReader(lr)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if lr.over {
				return fmt.Errorf("%w: more than %d bytes unpacked", ErrInvalid, opts.MaxUnpacked)
			}
			return fmt.Errorf("%w: tar.gz: %w", ErrInvalid, err)
		}
		e := &entry{name: h.Name, link: h.Linkname}
		switch h.Typeflag {
		case tar.TypeXGlobalHeader: // GitHub archives carry the commit in one
			continue
		case tar.TypeReg, tar.TypeRegA:
			e.kind = kindFile
		case tar.TypeDir:
			e.kind = kindDir
		case tar.TypeSymlink:
			e.kind = kindSymlink
		case tar.TypeLink:
			e.kind = kindHardlink
		default:
			e.kind = kindOther
		}
		e.open = func() (io.Reader, error) { return tr, nil }
		if err := fn(e); err != nil {
			if lr.over {
				return fmt.Errorf("%w: more than %d bytes unpacked", ErrInvalid, opts.MaxUnpacked)
			}
			return err
		}
	}
}

// limitReader fails once more than n bytes were read.
type limitReader struct {
	r    io.Reader
	n    int64
	over bool
}

var errTooLarge = errors.New("too large")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		l.over = true
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		l.over = true
		return n, errTooLarge
	}
	return n, err
}

// localName returns the archive member name as a clean slash-separated
// relative path ("" for the root folder itself, "./"), or an error when it
// is not one (absolute, with "..", backslashes or a drive letter): such an
// archive is refused whole.
func localName(name string) (string, error) {
	n := strings.TrimSuffix(name, "/")
	for strings.HasPrefix(n, "./") {
		n = n[2:]
	}
	if n == "." || (n == "" && name != "") {
		return "", nil
	}
	bad := n == "" || !utf8.ValidString(n) ||
		strings.ContainsAny(n, "\\\x00") || strings.HasPrefix(n, "/") ||
		(len(n) >= 2 && n[1] == ':')
	if !bad {
		for _, el := range strings.Split(n, "/") {
			if el == ".." {
				bad = true
				break
			}
		}
	}
	if !bad {
		n = path.Clean(n)
		bad = !filepath.IsLocal(filepath.FromSlash(n))
	}
	if bad {
		return "", fmt.Errorf("%w: unsafe member name %q", ErrInvalid, name)
	}
	return n, nil
}

// extracted is what extract found.
type extracted struct {
	top        string // the top folder removed from every name, if any
	versionTxt string // the first line of version.txt
	files      int    // rule files written
}

// extract checks every member of the archive and writes its rule files
// under dir/rules, its version.txt and licence files into dir.
//
// The archive is read twice: first to check every name and find the top
// folder (a source archive has one) and the rules* folders (a source
// archive has other folders of YAML, such as tests and deprecated, that
// are not rules); then to write the files kept.
func (a *archive) extract(ctx context.Context, dir string, opts *Options) (*extracted, error) {
	var names []string
	entries := 0
	err := a.walk(ctx, opts, func(e *entry) error {
		entries++
		if entries > opts.MaxEntries {
			return fmt.Errorf("%w: more than %d members", ErrInvalid, opts.MaxEntries)
		}
		n, err := localName(e.name)
		if err != nil {
			return err
		}
		if n == "" {
			if e.kind != kindDir {
				return fmt.Errorf("%w: unsafe member name %q", ErrInvalid, e.name)
			}
			return nil
		}
		switch e.kind {
		case kindSymlink:
			if e.link == "" || strings.HasPrefix(e.link, "/") || strings.Contains(e.link, "\\") {
				return fmt.Errorf("%w: link %s leads outside the archive", ErrInvalid, e.name)
			}
			if _, err := localName(path.Join(path.Dir(n), e.link)); err != nil {
				return fmt.Errorf("%w: link %s leads outside the archive", ErrInvalid, e.name)
			}
		case kindHardlink:
			if _, err := localName(e.link); err != nil {
				return fmt.Errorf("%w: link %s leads outside the archive", ErrInvalid, e.name)
			}
		}
		if e.kind == kindDir {
			n += "/"
		}
		names = append(names, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	x := &extracted{top: topFolder(names)}
	rulesDirs := false
	for _, n := range names {
		first, rest, _ := strings.Cut(strings.TrimPrefix(n, x.top), "/")
		if rest != "" && isRulesDir(first) {
			rulesDirs = true
			break
		}
	}

	if err := os.MkdirAll(filepath.Join(dir, rulesName), 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var unpacked int64
	err = a.walk(ctx, opts, func(e *entry) error {
		if e.kind != kindFile {
			return nil // folders are made for the files in them; links are not followed
		}
		n, _ := localName(e.name)
		rel, ok := strings.CutPrefix(n, x.top)
		if !ok || rel == "" {
			return nil
		}
		var dest string
		isRule := false
		switch ext := strings.ToLower(path.Ext(rel)); {
		case rel == "version.txt" || (!strings.Contains(rel, "/") && strings.HasPrefix(strings.ToUpper(rel), "LICENSE")):
			dest = rel
		case ext == ".yml" || ext == ".yaml":
			if rulesDirs {
				first, _, _ := strings.Cut(rel, "/")
				if !isRulesDir(first) {
					return nil
				}
			}
			dest = rulesName + "/" + rel
			isRule = true
		default:
			return nil
		}
		r, err := e.open()
		if err != nil {
			return fmt.Errorf("%w: member %s: %w", ErrInvalid, e.name, err)
		}
		if err := root.MkdirAll(path.Dir(dest), 0o755); err != nil {
			return err
		}
		f, err := root.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: member %s appears twice", ErrInvalid, e.name)
		}
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		w := io.Writer(f)
		if dest == "version.txt" {
			w = io.MultiWriter(f, &buf)
		}
		n64, err := io.Copy(w, io.LimitReader(r, opts.MaxFile+1))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if errors.Is(err, errTooLarge) {
				return err // reported by walk
			}
			return fmt.Errorf("%w: member %s: %w", ErrInvalid, e.name, err)
		}
		if n64 > opts.MaxFile {
			return fmt.Errorf("%w: member %s is larger than %d bytes", ErrInvalid, e.name, opts.MaxFile)
		}
		unpacked += n64
		if unpacked > opts.MaxUnpacked {
			return fmt.Errorf("%w: more than %d bytes unpacked", ErrInvalid, opts.MaxUnpacked)
		}
		if isRule {
			x.files++
		}
		if dest == "version.txt" {
			x.versionTxt = firstLine(buf.String())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// topFolder returns "name/" when every member is under the one folder name,
// else "".
func topFolder(names []string) string {
	top := ""
	for _, n := range names {
		first, _, ok := strings.Cut(n, "/")
		if !ok {
			return "" // a file at the root
		}
		if top == "" {
			top = first
		} else if first != top {
			return ""
		}
	}
	if top == "" {
		return ""
	}
	return top + "/"
}

// isRulesDir reports whether a top-level folder of the SigmaHQ repository
// holds rules: rules, rules-emerging-threats, rules-threat-hunting...
func isRulesDir(name string) bool {
	return name == "rules" || strings.HasPrefix(name, "rules-")
}

// firstLine returns the first non-blank line of s, trimmed and cut to 100
// bytes, or "" when it is not printable text.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(line) > 100 {
			line = line[:100]
		}
		for _, r := range line {
			if r < 0x20 || r == 0x7f || r == utf8.RuneError {
				return ""
			}
		}
		return line
	}
	return ""
}
