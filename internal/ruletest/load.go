// Package ruletest checks Sigma rules the way a rule author needs: it loads
// rule files from disk or from an fs.FS (the built-in set), lints them with
// the detection engine's compiler, and runs their tests.
//
// Two kinds of test are run, with the full engine (rules compiled with the
// logsource pipeline, events matched by a detect.Matcher):
//
//   - SigmaHQ regression tests: a rule's regression_tests_path key names an
//     info.yml under the Sigma repository's regression_data folder, which
//     lists EVTX files and how many of their events the rule must match;
//   - test files (*.test.yml) next to the rules: events written in YAML with
//     the exact set of rule ids each must fire (see ParseTestFile).
//
// Results are plain data (Report, Problem) for the command line and for the
// built-in rules' own Go test to render or assert.
package ruletest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// TestSuffix ends the name of a test file.
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
	// as a path.
	Tests []string

	tree tree
	// data keeps the bytes of every file read, by name, for locating keys.
	data map[string][]byte
}

// Load loads the rule files and finds the test files under paths (files or
// folders, on disk). A folder is walked recursively for *.yml and *.yaml
// files in lexical order; those named *.test.yml are test files, the others
// rule files. A file given by name is read whatever its name. The error
// joins the paths that could not be read; problems with rules are in
// Set.Errors.
func Load(paths []string) (*Set, error) {
	return load(tree{}, paths)
}

// LoadFiles loads rule files known to be files (as RuleFiles lists them),
// without looking for test files beside them: what a hunt needs, at one
// system call less per file than Load.
func LoadFiles(files []string) (*Set, error) {
	return loadFiles(tree{}, files)
}

// LoadFSFiles is LoadFiles on files of fsys (slash-separated names, as
// fs.WalkDir lists them).
func LoadFSFiles(fsys fs.FS, files []string) (*Set, error) {
	return loadFiles(tree{fsys: fsys}, files)
}

func loadFiles(t tree, files []string) (*Set, error) {
	s := &Set{tree: t, data: map[string][]byte{}}
	var errs []error
	for _, f := range files {
		if err := s.loadFile(f); err != nil {
			errs = append(errs, err)
		}
	}
	return s, errors.Join(errs...)
}

// LoadFS is Load on the files of fsys; paths are slash-separated names in
// fsys, and none means the whole of fsys.
func LoadFS(fsys fs.FS, paths ...string) (*Set, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	return load(tree{fsys: fsys}, paths)
}

func load(t tree, paths []string) (*Set, error) {
	s := &Set{tree: t, data: map[string][]byte{}}
	var errs []error
	seenTest := map[string]bool{}
	addTest := func(name string) {
		if !seenTest[name] {
			seenTest[name] = true
			s.Tests = append(s.Tests, name)
		}
	}
	for _, p := range paths {
		dir, err := t.isDir(p)
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
			if tp := strings.TrimSuffix(p, t.ext(p)) + TestSuffix; tp != p {
				if d, err := t.isDir(tp); err == nil && !d {
					addTest(tp)
				}
			}
			continue
		}
		files, err := t.walk(p)
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

// RuleFiles returns the rule files under the folder root on disk, walked as
// Load walks it: *.yml and *.yaml files in lexical order, leaving out test
// files and hidden folders. On an error it returns the files found so far.
func RuleFiles(root string) ([]string, error) {
	files, err := tree{}.walk(root)
	return slices.DeleteFunc(files, IsTestFile), err
}

// IsTestFile reports whether name is a test file (*.test.yml).
func IsTestFile(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), TestSuffix)
}

// loadFile parses one rule file into s.
func (s *Set) loadFile(name string) error {
	data, err := s.tree.read(name)
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

// tree reads files from the operating system (fsys nil: names are OS paths)
// or from an fs.FS (slash-separated names).
type tree struct {
	fsys fs.FS
}

func (t tree) read(name string) ([]byte, error) {
	if t.fsys == nil {
		return readFile(name)
	}
	if fi, err := fs.Stat(t.fsys, name); err == nil && fi.Mode().IsRegular() && fi.Size() <= sigma.MaxFileSize {
		return fs.ReadFile(t.fsys, name)
	}
	f, err := t.fsys.Open(name) // too large, or of unknown size: read what Parse needs to tell
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return sigma.ReadLimited(f)
}

func (t tree) isDir(name string) (bool, error) {
	var fi fs.FileInfo
	var err error
	if t.fsys == nil {
		fi, err = os.Stat(name)
	} else {
		fi, err = fs.Stat(t.fsys, name)
	}
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

func (t tree) join(elem ...string) string {
	if t.fsys == nil {
		return filepath.Join(elem...)
	}
	return path.Join(elem...)
}

func (t tree) dir(name string) string {
	if t.fsys == nil {
		return filepath.Dir(name)
	}
	return path.Dir(name)
}

func (t tree) ext(name string) string {
	if t.fsys == nil {
		return filepath.Ext(name)
	}
	return path.Ext(name)
}

// walk returns the rule files under root (see sigma.RuleFiles).
func (t tree) walk(root string) ([]string, error) { return sigma.RuleFiles(t.fsys, root) }
