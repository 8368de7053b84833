//go:build unix

package source

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// link makes a symbolic link at path to target, or skips the test.
func link(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Skipf("symlink: %v", err)
	}
}

// TestDuplicatePaths checks that a file reached twice (the same path
// given twice, a folder and a file inside it, a symbolic link and its
// target, two hard links, a folder and a link to it) is read once, and the
// paths left out are named in the summary.
func TestDuplicatePaths(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, filepath.Join(dir, "logs", "a.json"), jsonLines(`{"EventID":1}`, `{"EventID":2}`))
	sym := filepath.Join(dir, "a-link.json")
	link(t, a, sym)
	hard := filepath.Join(dir, "a-hard.json")
	if err := os.Link(a, hard); err != nil {
		t.Skipf("link: %v", err)
	}
	logs := filepath.Join(dir, "logs")
	logsLink := filepath.Join(dir, "logs-link")
	link(t, "logs", logsLink)
	for _, tc := range []struct {
		name  string
		paths []string
		dups  []string
	}{
		{"same path twice", []string{a, a}, []string{a}},
		{"folder then file in it", []string{logs, a}, []string{a}},
		{"file then its folder", []string{a, logs}, []string{a}},
		{"link and target", []string{sym, a}, []string{a}},
		{"hard links", []string{a, hard}, []string{hard}},
		{"folder and link to it", []string{logs, logsLink}, []string{logsLink}},
		{"unclean path", []string{a, logs + "/./../logs/a.json"}, []string{logs + "/./../logs/a.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, sum := read(t, tc.paths, Options{})
			if len(got) != 2 || sum.Events != 2 || sum.Files != 1 {
				t.Errorf("got %d events from %d files, want 2 from 1: %q", sum.Events, sum.Files, got)
			}
			if !slices.Equal(sum.Duplicates, tc.dups) {
				t.Errorf("duplicates: got %q, want %q", sum.Duplicates, tc.dups)
			}
		})
	}
}

// TestSymlinkedFolder checks that a folder reached through a symbolic link
// inside a folder walked (Logs -> ../other) is read.
func TestSymlinkedFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "other", "b.json"), jsonLines(`{"EventID":7}`))
	writeFile(t, filepath.Join(dir, "case", "a.json"), jsonLines(`{"EventID":1}`))
	link(t, filepath.Join("..", "other"), filepath.Join(dir, "case", "Logs"))
	w := newWalker()
	w.walk(t.Context(), []string{filepath.Join(dir, "case")})
	files, failed, dups := w.files, w.failed, w.dups
	want := []string{filepath.Join(dir, "case", "Logs", "b.json"), filepath.Join(dir, "case", "a.json")}
	if got := paths(files); !slices.Equal(got, want) || len(failed) != 0 || len(dups) != 0 {
		t.Errorf("Walk: got %q (failed %v, duplicates %q), want %q", got, failed, dups, want)
	}
}

// TestSymlinkLoop checks that a symbolic link to a folder that holds it
// is reported once and not followed, and the rest is read once.
func TestSymlinkLoop(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "case")
	writeFile(t, filepath.Join(root, "a.json"), jsonLines(`{"EventID":1}`))
	writeFile(t, filepath.Join(root, "sub", "b.json"), jsonLines(`{"EventID":2}`))
	loop := filepath.Join(root, "sub", "up")
	link(t, "..", loop)
	self := filepath.Join(root, "self")
	link(t, ".", self)
	got, sum := read(t, []string{root}, Options{})
	if len(got) != 2 || sum.Files != 2 {
		t.Errorf("got %d events from %d files, want 2 from 2: %q", len(got), sum.Files, got)
	}
	if want := []string{self, loop}; !slices.Equal(failureNames(sum), want) {
		t.Fatalf("failed: got %q, want %q", failureNames(sum), want)
	}
	for _, f := range sum.Failed {
		if !errors.Is(f.Err, errLinkLoop) || f.Named {
			t.Errorf("failure %v: got named %v, want %v and not named", f, f.Named, errLinkLoop)
		}
	}
}

// TestUnreadablePaths checks that a path given that cannot be read (it
// does not exist, a dangling link, no permission) is a failure marked
// Named, and a file in a folder that cannot be read a failure too, not
// Named.
func TestUnreadablePaths(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.json"), jsonLines(`{"EventID":1}`))
	missing := filepath.Join(dir, "missing.json")
	dangling := filepath.Join(dir, "dangling.json")
	link(t, "nowhere.json", dangling)
	folder := filepath.Join(dir, "folder")
	writeFile(t, filepath.Join(folder, "in.json"), jsonLines(`{"EventID":2}`))
	inner := filepath.Join(folder, "gone.json")
	link(t, "nowhere.json", inner)
	paths := []string{good, missing, dangling, folder}
	named := map[string]bool{missing: true, dangling: true, inner: false}
	if os.Geteuid() != 0 { // root reads whatever the permissions say
		locked := writeFile(t, filepath.Join(dir, "locked.json"), jsonLines(`{"EventID":3}`))
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, locked)
		named[locked] = true
	}
	got, sum := read(t, paths, Options{})
	if len(got) != 2 {
		t.Errorf("got %d events, want 2: %q", len(got), got)
	}
	if len(sum.Failed) != len(named) {
		t.Errorf("failed: got %q, want %d failures", failureNames(sum), len(named))
	}
	for _, f := range sum.Failed {
		want, ok := named[f.Name]
		if !ok || f.Named != want || !errors.Is(f.Err, fs.ErrNotExist) && !errors.Is(f.Err, fs.ErrPermission) {
			t.Errorf("failure %v: got named %v, want %v (known %v), not found or no permission", f, f.Named, want, ok)
		}
	}
	if n := len(sum.NamedFailed()); n != len(named)-1 {
		t.Errorf("NamedFailed: got %d, want %d", n, len(named)-1)
	}
}

func paths(files []File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

// TestPseudoFSNotWalked: a collection holding a link to /proc (or to /,
// which holds it) must not make the walk read the kernel's files, some of
// which block forever.
func TestPseudoFSNotWalked(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pseudo file systems are recognised on Linux")
	}
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("no /proc here")
	}
	dir := t.TempDir()
	if err := os.Symlink("/proc", filepath.Join(dir, "proc")); err != nil {
		t.Fatal(err)
	}
	files, failed := Walk([]string{dir})
	for _, f := range files {
		if strings.HasPrefix(f.Path, filepath.Join(dir, "proc")) {
			t.Fatalf("walk listed %s, want nothing below the link to /proc", f.Path)
		}
	}
	if len(failed) != 1 || !errors.Is(failed[0].Err, errPseudoFS) {
		t.Errorf("failures: got %v, want the link to /proc reported as a pseudo file system", failed)
	}
}
