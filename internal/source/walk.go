package source

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// File is an input file found by Walk.
type File struct {
	// Path is the file's path as given or as found under a given folder,
	// or Stdin.
	Path string
	// Size is its size in bytes at the time of the walk; -1 for a stream
	// (standard input, a named pipe).
	Size int64
	// Named is true for a path given to Walk itself, false for a file
	// found in a folder.
	Named bool
}

// Stdin is the path that names the standard input (Options.Stdin), read as
// a stream: JSON as it comes, EVTX and archives through memory or a
// temporary file.
const Stdin = "-"

// Walk lists the files to read for paths: a file as it is, a folder with
// every regular file below it (recursively, in lexical order, following
// symbolic links to files and to folders). Paths keep their order.
//
// Every file is listed once: a path that is the same file or folder as one
// listed before (given twice, a hard or symbolic link, a file inside a
// folder given too) is left out (Run names them in Summary.Duplicates),
// compared by identity (device and inode where the system has them, else
// the absolute path with links resolved). A symbolic link to a folder that
// holds it (a loop) is not followed: it is a failure, as is a folder below
// a path given that is on a kernel pseudo file system (/proc, /sys).
//
// Paths that do not exist or cannot be listed are returned as failures
// (Named when given to Walk); Walk does not look at the content of files.
func Walk(paths []string) ([]File, []Failure) {
	w := newWalker()
	w.walk(context.Background(), paths)
	return w.files, w.failed
}

func newWalker() *walker { return &walker{seen: map[fileID]bool{}} }

// walker lists files for Walk.
type walker struct {
	ctx    context.Context
	files  []File
	failed []Failure
	dups   []string
	// seen holds the files and folders listed; open the folders being
	// walked, outermost first (a link to one of them is a loop).
	seen  map[fileID]bool
	open  []fileID
	stdin bool
}

// walk lists paths; once ctx is done it enters no more folders.
func (w *walker) walk(ctx context.Context, paths []string) {
	w.ctx = ctx
	for _, p := range paths {
		if p == Stdin {
			if w.stdin {
				w.dups = append(w.dups, p)
				continue
			}
			w.stdin = true
			w.files = append(w.files, File{Path: p, Size: -1, Named: true})
			continue
		}
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			w.failed = append(w.failed, Failure{Name: p, Err: err, Named: true})
		case fi.IsDir():
			w.dir(p, fi, true)
		case fi.Mode().IsRegular(), fi.Mode()&fs.ModeNamedPipe != 0:
			// A pipe given by name (a shell's <(zcat logs.json.gz)) is
			// read as a stream.
			w.file(p, fi, true)
		default:
			w.failed = append(w.failed, Failure{Name: p, Err: errNotRegular, Named: true})
		}
	}
}

// file lists the file at p, unless it was listed already.
func (w *walker) file(p string, fi fs.FileInfo, named bool) {
	id := identity(p, fi)
	if w.seen[id] {
		w.dups = append(w.dups, p)
		return
	}
	w.seen[id] = true
	size := fi.Size()
	if !fi.Mode().IsRegular() {
		size = -1
	}
	w.files = append(w.files, File{Path: p, Size: size, Named: named})
}

// dir lists the files below the folder p, unless it was walked already.
func (w *walker) dir(p string, fi fs.FileInfo, named bool) {
	id := identity(p, fi)
	if slices.Contains(w.open, id) {
		w.failed = append(w.failed, Failure{Name: p, Err: errLinkLoop})
		return
	}
	if w.seen[id] {
		w.dups = append(w.dups, p)
		return
	}
	w.seen[id] = true
	if w.ctx.Err() != nil {
		return
	}
	// A folder reached by the walk on another device may be /proc or
	// the like (a collection's link to /): its files never end or block.
	if n := len(w.open); n > 0 && (id.dev != w.open[n-1].dev || id.dev == 0) && pseudoFS(p) {
		w.failed = append(w.failed, Failure{Name: p, Err: errPseudoFS})
		return
	}
	// On an error, ReadDir returns the entries it read before: they are
	// listed too.
	entries, err := os.ReadDir(p)
	if err != nil {
		w.failed = append(w.failed, Failure{Name: p, Err: err, Named: named})
	}
	w.open = append(w.open, id)
	for _, e := range entries {
		q := filepath.Join(p, e.Name())
		var info fs.FileInfo
		switch t := e.Type(); {
		case t.IsDir(), t.IsRegular():
			info, err = e.Info()
		case t&fs.ModeSymlink != 0:
			info, err = os.Stat(q)
		default:
			info = nil // a device, pipe or socket
		}
		switch {
		case err != nil:
			w.failed = append(w.failed, Failure{Name: q, Err: err})
		case info == nil:
			w.failed = append(w.failed, Failure{Name: q, Err: errSpecial})
		case info.IsDir():
			w.dir(q, info, false)
		case info.Mode().IsRegular():
			w.file(q, info, false)
		default:
			// A link to a device, pipe or socket: named, as they are.
			w.failed = append(w.failed, Failure{Name: q, Err: errSpecial})
		}
	}
	w.open = w.open[:len(w.open)-1]
}

// fileID identifies a file or folder whatever the path that reaches it:
// device and inode, or (where the system has no such numbers) the
// absolute path with links resolved.
type fileID struct {
	dev, ino uint64
	path     string
}

// pathID is the identity of the file at p by its absolute path with links
// resolved (the path as given when that fails).
func pathID(p string) fileID {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	if a, err := filepath.Abs(p); err == nil {
		p = a
	}
	return fileID{path: filepath.Clean(p)}
}

// Identity is the identity of the file at p, fi its information (links
// followed), as Walk tells files apart: "dev:inode", or the absolute path
// with links resolved where the system has no such numbers. A collector
// keys its bookmarks by it, so that a renamed (rotated) file keeps its
// own.
func Identity(p string, fi fs.FileInfo) string {
	id := identity(p, fi)
	if id.path != "" {
		return id.path
	}
	return strconv.FormatUint(id.dev, 10) + ":" + strconv.FormatUint(id.ino, 10)
}
