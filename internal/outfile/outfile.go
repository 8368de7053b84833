// Package outfile writes output files whole or not at all.
//
// Create opens a temporary file in the destination's folder; what is written
// goes there. Commit syncs it to disk and renames it over the destination, so
// the destination holds either its previous content or the complete new
// one, never a part. Discard (or a failed Commit) removes the temporary file
// and leaves the destination as it was: a full disk, an error or an
// interruption loses nothing that was there before.
//
// A destination that exists and is not a regular file (/dev/null, a named
// pipe, a terminal) cannot be replaced by a rename: it is written directly,
// as os.Create would.
package outfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// File is an output file being written. Write goes to a temporary file
// until Commit. A File is used by one goroutine.
type File struct {
	name string   // the destination as given, for errors
	dest string   // the destination, symbolic links resolved
	tmp  string   // the temporary file, "" when writing dest directly
	f    *os.File // the file written
	// w is what Write writes to: f, or in tests a writer that fails.
	w    io.Writer
	err  error // the first write error: Commit will not rename
	done bool  // committed or discarded
}

// Create starts writing the file name. The temporary file is created in
// name's folder with the permissions os.Create gives a new file (0666 less
// the umask), or those of the file it will replace. Errors name name.
func Create(name string) (*File, error) {
	dest := name
	if fi, err := os.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		// Like os.Create, write to the file the link points to.
		if target, err := filepath.EvalSymlinks(name); err == nil {
			dest = target
		}
	}
	var (
		replace bool        // dest is a regular file
		perm    fs.FileMode // its permissions
	)
	switch fi, err := os.Stat(dest); {
	case err == nil && fi.IsDir():
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
	case err == nil && !fi.Mode().IsRegular():
		// A device or a pipe: written in place.
		f, err := os.OpenFile(dest, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return nil, err
		}
		return &File{name: name, dest: dest, f: f, w: f}, nil
	case err == nil:
		replace, perm = true, fi.Mode().Perm()
	}
	dir, base := filepath.Split(dest)
	for range 100 {
		tmp := filepath.Join(dir, "."+base+".tmp-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: unwrapPath(err)}
		}
		if replace {
			// The mode of the file replaced; a new one has 0666 less the
			// umask, applied by OpenFile.
			if err := f.Chmod(perm); err != nil {
				f.Close()
				os.Remove(tmp)
				return nil, &fs.PathError{Op: "chmod", Path: name, Err: unwrapPath(err)}
			}
		}
		return &File{name: name, dest: dest, tmp: tmp, f: f, w: f}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("no free temporary file name")}
}

// Name returns the name given to Create.
func (f *File) Name() string { return f.name }

// Temp returns the path of the temporary file being written ("" when the
// destination is written directly), so that a caller reading the folder
// can leave it out.
func (f *File) Temp() string { return f.tmp }

// Write writes p to the temporary file. After an error every later Write
// returns it, and Commit does not replace the destination.
func (f *File) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.done {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrClosed}
	}
	n, err := f.w.Write(p)
	if err != nil {
		f.err = &fs.PathError{Op: "write", Path: f.name, Err: unwrapPath(err)}
		return n, f.err
	}
	return n, nil
}

// Commit makes what was written the content of the destination: the
// temporary file is synced, closed and renamed over it. When anything
// fails (an earlier Write included) the destination is left as it was and
// the temporary file removed. Commit after Commit or Discard is an error.
func (f *File) Commit() error {
	if f.done {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	f.done = true
	if f.tmp == "" {
		return f.closeDirect()
	}
	err := f.err
	if err == nil {
		if serr := f.f.Sync(); serr != nil {
			err = &fs.PathError{Op: "sync", Path: f.name, Err: unwrapPath(serr)}
		}
	}
	if cerr := f.f.Close(); cerr != nil && err == nil {
		err = &fs.PathError{Op: "close", Path: f.name, Err: unwrapPath(cerr)}
	}
	if err == nil {
		if rerr := os.Rename(f.tmp, f.dest); rerr != nil {
			err = fmt.Errorf("replace %s: %w", f.name, unwrapLink(rerr))
		}
	}
	if err != nil {
		os.Remove(f.tmp)
		return err
	}
	syncDir(filepath.Dir(f.dest))
	return nil
}

// closeDirect closes a destination written in place.
func (f *File) closeDirect() error {
	err := f.err
	if cerr := f.f.Close(); cerr != nil && err == nil {
		err = &fs.PathError{Op: "close", Path: f.name, Err: unwrapPath(cerr)}
	}
	return err
}

// Discard abandons the file: the temporary file is closed and removed, the
// destination left as it was. It does nothing after Commit or Discard, so
// that it can be deferred.
func (f *File) Discard() {
	if f == nil || f.done {
		return
	}
	f.done = true
	f.f.Close()
	if f.tmp != "" {
		os.Remove(f.tmp)
	}
}

// Write creates name, has write fill it and commits it; when write or the
// commit fails, name is left as it was.
func Write(name string, write func(io.Writer) error) error {
	f, err := Create(name)
	if err != nil {
		return err
	}
	defer f.Discard()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}

// syncDir makes a rename in dir durable. Not every system can sync a folder
// (Windows cannot): the rename has happened either way, so errors are
// ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// unwrapPath returns the error inside a *fs.PathError, whose path would be
// the temporary file's, not the one the user named.
func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// unwrapLink returns the error inside an *os.LinkError (a failed rename),
// whose paths are the temporary file's and the destination's.
func unwrapLink(err error) error {
	if le, ok := errors.AsType[*os.LinkError](err); ok {
		return le.Err
	}
	return err
}
