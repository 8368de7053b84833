package rulepkg

import (
	"bufio"
	"bytes"
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

	"github.com/spoor-hunt/spoor/internal/archive"
)

// fetched is a fetched archive file.
type fetched struct {
	f      *os.File
	remove bool // f is a temporary file
	// ra reads the archive: f, or the bytes of a test.
	ra     io.ReaderAt
	size   int64
	sha256 string
	// source is the URL or absolute file name, for Info.Source.
	source string
	// names are the URL paths (the one asked for, then the redirects) or
	// the file name, for the version.
	names []string
}

func (a *fetched) close() {
	a.f.Close()
	if a.remove {
		os.Remove(a.f.Name())
	}
}

// walk calls fn for every member of the archive (a zip, or a tar.gz) in
// order, all it decompresses within opts.MaxUnpacked.
func (a *fetched) walk(ctx context.Context, opts *Options, fn func(e *archive.Entry) error) error {
	ra := a.ra
	if ra == nil {
		ra = a.f
	}
	br := bufio.NewReader(io.NewSectionReader(ra, 0, a.size))
	magic, _ := br.Peek(4)
	b := archive.NewBudget(archive.Limits{MaxBytes: opts.MaxUnpacked})
	var err error
	switch {
	case bytes.HasPrefix(magic, []byte("PK\x03\x04")), bytes.HasPrefix(magic, []byte("PK\x05\x06")):
		z, zerr := archive.OpenZip(ra, a.size)
		if zerr != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, zerr) // "zip: not a valid zip file"
		}
		err = z.Walk(ctx, b, fn)
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		gz, gerr := archive.NewGzip(br, b)
		if gerr != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, gerr)
		}
		err = archive.WalkTar(ctx, gz, b, fn)
		if err == nil {
			// The tar may end before the gzip data does (its zero
			// padding): the trailer is checked at the end of the data.
			_, err = io.Copy(io.Discard, gz)
		}
		if err == nil && gz.Damage() != nil {
			err = fmt.Errorf("%w: tar.gz: %w", ErrInvalid, gz.Damage())
		}
	default:
		return fmt.Errorf("%w: not a zip or tar.gz archive", ErrInvalid)
	}
	switch {
	case errors.Is(err, archive.ErrLimit):
		return fmt.Errorf("%w: more than %d bytes unpacked", ErrInvalid, opts.MaxUnpacked)
	case err != nil && !errors.Is(err, ErrInvalid) && ctx.Err() == nil && !isFS(err):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

// isFS reports whether err is the file system's (writing the rules out),
// not the archive's.
func isFS(err error) bool {
	var pe *fs.PathError
	var le *os.LinkError
	return errors.As(err, &pe) || errors.As(err, &le)
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
	rulesDirs  bool   // rules are in rules* folders (a source archive)
}

// extract checks every member of the archive and writes its rule files
// under dir/rules, its version.txt and licence files into dir.
//
// The archive is read twice: first to check every name and find the top
// folder (a source archive has one) and the rules* folders (a source
// archive has other folders of YAML, such as tests and deprecated, that
// are not rules); then to write the files kept.
func (a *fetched) extract(ctx context.Context, dir string, opts *Options) (*extracted, error) {
	x, err := a.check(ctx, opts)
	if err != nil {
		return nil, err
	}
	return x, a.write(ctx, dir, x, opts)
}

// check is extract's first reading: it checks every member's name and
// finds the top folder and whether there are rules* folders.
func (a *fetched) check(ctx context.Context, opts *Options) (*extracted, error) {
	var names []string
	entries := 0
	err := a.walk(ctx, opts, func(e *archive.Entry) error {
		entries++
		if entries > opts.MaxEntries {
			return fmt.Errorf("%w: more than %d members", ErrInvalid, opts.MaxEntries)
		}
		n, err := localName(e.Name)
		if err != nil {
			return err
		}
		if n == "" {
			if e.Kind != archive.Dir {
				return fmt.Errorf("%w: unsafe member name %q", ErrInvalid, e.Name)
			}
			return nil
		}
		switch e.Kind {
		case archive.Symlink:
			if e.Link == "" || strings.HasPrefix(e.Link, "/") || strings.Contains(e.Link, "\\") {
				return fmt.Errorf("%w: link %s leads outside the archive", ErrInvalid, e.Name)
			}
			if _, err := localName(path.Join(path.Dir(n), e.Link)); err != nil {
				return fmt.Errorf("%w: link %s leads outside the archive", ErrInvalid, e.Name)
			}
		case archive.Hardlink:
			if _, err := localName(e.Link); err != nil {
				return fmt.Errorf("%w: link %s leads outside the archive", ErrInvalid, e.Name)
			}
		}
		if e.Kind == archive.Dir {
			n += "/"
		}
		names = append(names, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	x := &extracted{top: topFolder(names)}
	for _, n := range names {
		first, rest, _ := strings.Cut(strings.TrimPrefix(n, x.top), "/")
		if rest != "" && isRulesDir(first) {
			x.rulesDirs = true
			break
		}
	}
	return x, nil
}

// write is extract's second reading: it writes the files check kept.
func (a *fetched) write(ctx context.Context, dir string, x *extracted, opts *Options) error {
	if err := os.MkdirAll(filepath.Join(dir, rulesName), 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	var unpacked int64
	err = a.walk(ctx, opts, func(e *archive.Entry) error {
		if e.Kind != archive.File {
			return nil // folders are made for the files in them; links are not followed
		}
		n, _ := localName(e.Name)
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
			if x.rulesDirs {
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
		r, err := e.Open()
		if err != nil {
			return fmt.Errorf("%w: member %s: %w", ErrInvalid, e.Name, err)
		}
		if err := root.MkdirAll(path.Dir(dest), 0o755); err != nil {
			return err
		}
		f, err := root.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: member %s appears twice", ErrInvalid, e.Name)
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
			if errors.Is(err, archive.ErrLimit) {
				return err // reported by walk
			}
			return fmt.Errorf("%w: member %s: %w", ErrInvalid, e.Name, err)
		}
		if n64 > opts.MaxFile {
			return fmt.Errorf("%w: member %s is larger than %d bytes", ErrInvalid, e.Name, opts.MaxFile)
		}
		if err := e.Damage(); err != nil {
			return fmt.Errorf("%w: member %s: %w", ErrInvalid, e.Name, err)
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
	return err
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
