package outfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// entries returns the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// check asserts that path holds want and is alone in its folder (no
// temporary file left).
func check(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s: got %q, want %q", path, got, want)
	}
	if names := entries(t, filepath.Dir(path)); len(names) != 1 {
		t.Errorf("folder: got %q, want only %s (no temporary file)", names, filepath.Base(path))
	}
}

func write(t *testing.T, path, data string, perm fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
}

// failingWriter fails as a full disk does, after taking some bytes.
type failingWriter struct{ w io.Writer }

func (f failingWriter) Write(p []byte) (int, error) {
	n, _ := f.w.Write(p[:len(p)/2])
	return n, &fs.PathError{Op: "write", Path: "/somewhere/.tmp", Err: syscall.ENOSPC}
}

// TestOutcomes: the destination holds its previous content or the whole
// new one, never a part, and no temporary file is left, whatever happens
// to the writing.
func TestOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		do      func(f *File) error
		want    string // content after; "previous" or "new"
		wantErr string
	}{
		{"commit", func(f *File) error {
			io.WriteString(f, "new")
			return f.Commit()
		}, "new", ""},
		{"discard", func(f *File) error {
			io.WriteString(f, "ne")
			f.Discard()
			return nil
		}, "previous", ""},
		{"full disk", func(f *File) error {
			f.w = failingWriter{f.f}
			if _, err := io.WriteString(f, "new"); err == nil {
				t.Error("Write: got no error, want the disk's")
			}
			return f.Commit()
		}, "previous", "no space left on device"},
		{"write after an error", func(f *File) error {
			f.w = failingWriter{f.f}
			io.WriteString(f, "new")
			f.w = f.f
			if _, err := io.WriteString(f, "new"); err == nil {
				t.Error("Write after a failed Write: got no error, want the first one")
			}
			return f.Commit()
		}, "previous", "no space left on device"},
		{"commit twice", func(f *File) error {
			io.WriteString(f, "new")
			f.Commit()
			return f.Commit()
		}, "new", "file already closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "timeline.csv")
			write(t, path, "previous", 0o644)
			f, err := Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Temp() == "" || filepath.Dir(f.Temp()) != filepath.Dir(path) {
				t.Errorf("Temp: got %q, want a file beside %s", f.Temp(), path)
			}
			err = tt.do(f)
			f.Discard()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path)):
				t.Errorf("got error %v, want one naming %s and saying %q", err, path, tt.wantErr)
			}
			check(t, path, tt.want)
		})
	}
}

// TestWrite: Write commits what its function wrote, and leaves the file as
// it was when the function fails.
func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.html")
	write(t, path, "previous", 0o644)
	boom := errors.New("boom")
	if err := Write(path, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	}); !errors.Is(err, boom) {
		t.Errorf("got error %v, want %v", err, boom)
	}
	check(t, path, "previous")
	if err := Write(path, func(w io.Writer) error {
		_, err := io.WriteString(w, "new")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check(t, path, "new")
}

// TestPermissions: a new file gets what os.Create gives (0666 less the
// umask); a replaced file keeps its permissions.
func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits on Windows")
	}
	dir := t.TempDir()
	ref, err := os.Create(filepath.Join(dir, "ref"))
	if err != nil {
		t.Fatal(err)
	}
	ref.Close()
	refInfo, _ := os.Stat(ref.Name())
	newPath := filepath.Join(dir, "new")
	if err := Write(newPath, func(io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(newPath); fi.Mode() != refInfo.Mode() {
		t.Errorf("new file: got mode %v, want %v (as os.Create)", fi.Mode(), refInfo.Mode())
	}
	kept := filepath.Join(dir, "kept")
	write(t, kept, "previous", 0o600)
	if err := Write(kept, func(io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(kept); fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced file: got mode %v, want -rw-------", fi.Mode())
	}
}

// TestSymlink: a destination that is a symbolic link is written where it
// points, as os.Create does; the link stays.
func TestSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.csv")
	write(t, target, "previous", 0o644)
	link := filepath.Join(dir, "link.csv")
	if err := os.Symlink(target, link); err != nil {
		t.Skip(err)
	}
	if err := Write(link, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("link: got %v, %v; want it still a symbolic link", fi, err)
	}
	if got, _ := os.ReadFile(target); string(got) != "new" {
		t.Errorf("target: got %q, want %q", got, "new")
	}
}

// TestCreateErrors: what cannot be created is an error naming the path
// given, and leaves nothing behind.
func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ path, want string }{
		{dir, "is a directory"},
		{filepath.Join(dir, "no", "such", "out.jsonl"), "no such file"},
	} {
		_, err := Create(tt.path)
		if err == nil || !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Create(%s): got %v, want an error naming it and saying %q", tt.path, err, tt.want)
		}
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("folder: got %q, want it empty", names)
	}
}

// TestDevice: a destination that is not a regular file (/dev/null,
// /dev/full) is written in place; its errors name it.
func TestDevice(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/dev/full is Linux's")
	}
	if err := Write(os.DevNull, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
		t.Errorf("%s: got %v, want no error", os.DevNull, err)
	}
	err := Write("/dev/full", func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err })
	if err == nil || !strings.Contains(err.Error(), "/dev/full") || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("/dev/full: got %v, want ENOSPC naming /dev/full", err)
	}
}
