// Package shared locates the project's shared test data (datasets and
// format documents kept outside the repository) for tests of every package.
package shared

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the shared data directory: $SPOOR_SHARED when set, otherwise
// "../shared" next to the module root. When the directory does not exist the
// test is skipped, except when the environment has CI=true, where a missing
// directory fails the test.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("SPOOR_SHARED")
	if dir == "" {
		dir = filepath.Join(moduleRoot(), "..", "shared")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		msg := "shared test data not found at " + dir + " (set SPOOR_SHARED)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return dir
}

// Path returns Dir(tb) joined with the given elements; it skips (or fails on
// CI) the test like Dir when the resulting path does not exist.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Dir(tb)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		msg := "shared test data not found: " + p
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return p
}

// moduleRoot returns the directory holding go.mod: found by walking up from
// the working directory (a test runs in its package directory), or else from
// this source file's location.
func moduleRoot() string {
	if dir, err := os.Getwd(); err == nil {
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return dir
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	// file is <root>/internal/shared/shared.go
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}
