// Package ruleset loads Sigma rule sets and selects rules from them: rule
// files on disk or in an fs.FS (the built-in set, the SigmaHQ package)
// become the rules, correlations and filters of a Set, and a Filter keeps
// those of a level, status, tag or name. The hunt and `spoor rules list`
// load and select through it; package ruletest lints and tests a Set.
package ruleset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// TestSuffix ends the name of a test file: not a rule file, but the tests
// of one (foo.test.yml tests foo.yml; package ruletest runs them).
const TestSuffix = ".test.yml"

// Set is what was loaded from a set of paths: the rules, the test files
// found beside them, and the problems of the rule files.
type Set struct {
	// Collection holds the rules, correlations and filters of every rule
	// file, with the loader's problems in Errors.
	sigma.Collection
	// Files lists the rule files read, in load order.
	Files []string
	// Tests lists the test files found: those given as paths, those under
	// the folders given, and foo.test.yml beside a rule file foo.yml given
	// as a path. They are not read.
	Tests []string
	// FS is the file system the names are in; nil for the operating
	// system's.
	FS fs.FS

	// data keeps the bytes of every file read, by name, for locating keys.
	data map[string][]byte
}

// Load loads the rule files and finds the test files under paths (files or
// folders, on disk). A folder is walked recursively for *.yml and *.yaml
// files in lexical order (see sigma.RuleFiles); those named *.test.yml are
// test files, the others rule files. A file given by name is read whatever
// its name. The error joins the paths that could not be read; problems with
// rules are in Set.Errors.
func Load(paths []string) (*Set, error) {
	return load(nil, paths)
}

// LoadFS is Load on the files of fsys; paths are slash-separated names in
// fsys, and none means the whole of fsys.
func LoadFS(fsys fs.FS, paths ...string) (*Set, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	return load(fsys, paths)
}

// LoadFiles loads rule files known to be files (as Files lists them),
// without looking for test files beside them: what a hunt needs, at one
// system call less per file than Load.
func LoadFiles(files []string) (*Set, error) {
	return loadFiles(nil, files)
}

// LoadFSFiles is LoadFiles on files of fsys (slash-separated names, as
// fs.WalkDir lists them).
func LoadFSFiles(fsys fs.FS, files []string) (*Set, error) {
	return loadFiles(fsys, files)
}

func newSet(fsys fs.FS) *Set {
	return &Set{FS: fsys, data: map[string][]byte{}}
}

func loadFiles(fsys fs.FS, files []string) (*Set, error) {
	s := newSet(fsys)
	var errs []error
	for _, f := range files {
		if err := s.loadFile(f); err != nil {
			errs = append(errs, err)
		}
	}
	return s, errors.Join(errs...)
}

func load(fsys fs.FS, paths []string) (*Set, error) {
	s := newSet(fsys)
	var errs []error
	seenTest := map[string]bool{}
	addTest := func(name string) {
		if !seenTest[name] {
			seenTest[name] = true
			s.Tests = append(s.Tests, name)
		}
	}
	for _, p := range paths {
		dir, err := s.isDir(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !dir {
			if IsTestFile(p) {
				addTest(p)
				continue
			}
			if err := s.loadFile(p); err != nil {
				errs = append(errs, err)
			}
			if tp := strings.TrimSuffix(p, s.ext(p)) + TestSuffix; tp != p {
				if d, err := s.isDir(tp); err == nil && !d {
					addTest(tp)
				}
			}
			continue
		}
		files, err := sigma.RuleFiles(s.FS, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("walk rules: %w", err))
		}
		for _, f := range files {
			if IsTestFile(f) {
				addTest(f)
				continue
			}
			if err := s.loadFile(f); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return s, errors.Join(errs...)
}

// Files lists the rule files under paths on disk, those Load would load: a
// file given is listed as is, unless it is a test file; a folder is walked
// as Load walks it, leaving out test files. On an error it returns the
// files found so far; the error names the paths that cannot be read.
func Files(paths []string) ([]string, error) {
	var files []string
	var errs []error
	for _, root := range paths {
		fi, err := os.Stat(root)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fi.IsDir() {
			if !IsTestFile(root) {
				files = append(files, root)
			}
			continue
		}
		found, err := sigma.RuleFiles(nil, root)
		if err != nil {
			errs = append(errs, err)
		}
		for _, f := range found {
			if !IsTestFile(f) {
				files = append(files, f)
			}
		}
	}
	return files, errors.Join(errs...)
}

// IsTestFile reports whether name is a test file (*.test.yml).
func IsTestFile(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), TestSuffix)
}

// Data returns the bytes of the rule file name as loaded into s; nil when s
// did not load it.
func (s *Set) Data(name string) []byte { return s.data[name] }

// ReadFile reads the file name of the set's file system (a rule file, or a
// test file found beside one), at most sigma.MaxFileSize+1 bytes of it.
func (s *Set) ReadFile(name string) ([]byte, error) {
	if s.FS == nil {
		return readFile(name)
	}
	if fi, err := fs.Stat(s.FS, name); err == nil && fi.Mode().IsRegular() && fi.Size() <= sigma.MaxFileSize {
		return fs.ReadFile(s.FS, name)
	}
	f, err := s.FS.Open(name) // too large, or of unknown size: read what Parse needs to tell
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return sigma.ReadLimited(f)
}

// loadFile parses one rule file into s.
func (s *Set) loadFile(name string) error {
	data, err := s.ReadFile(name)
	if err != nil {
		return err
	}
	s.Files = append(s.Files, name)
	s.data[name] = data
	c := sigma.Parse(data, name)
	s.Rules = append(s.Rules, c.Rules...)
	s.Correlations = append(s.Correlations, c.Correlations...)
	s.Filters = append(s.Filters, c.Filters...)
	s.Errors = append(s.Errors, c.Errors...)
	return nil
}

func (s *Set) isDir(name string) (bool, error) {
	var fi fs.FileInfo
	var err error
	if s.FS == nil {
		fi, err = os.Stat(name)
	} else {
		fi, err = fs.Stat(s.FS, name)
	}
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

func (s *Set) ext(name string) string {
	if s.FS == nil {
		return filepath.Ext(name)
	}
	return path.Ext(name)
}
