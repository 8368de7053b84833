// Package rulepkg installs and locates the SigmaHQ rule package: a release
// asset of the SigmaHQ project (sigma_all_rules.zip, sigma_core.zip, ...) or
// a source archive of its repository, downloaded or copied into the user's
// cache directory and checked before it replaces the previous install.
//
// The install is one folder, Dir, holding a manifest (what was installed,
// from where, when) and the rule files under RulesPath. It is replaced as a
// whole: a new package is extracted and validated in a temporary folder
// beside Dir, then renamed into place, so that readers see either the old
// install or the new one, and a failed update leaves the old one untouched.
//
// Concurrent Install calls on the same Dir are not coordinated; the last
// one to finish wins.
package rulepkg

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spoor-hunt/spoor/internal/cachedir"
)

// DefaultURL is the latest SigmaHQ release asset with every rule.
const DefaultURL = "https://github.com/SigmaHQ/sigma/releases/latest/download/sigma_all_rules.zip"

// Names inside the install folder.
const (
	manifestName = "manifest.json"
	rulesName    = "rules"
)

// Sentinel errors.
var (
	// ErrNotInstalled is returned by Installed and RulesPath when no rule
	// package is installed.
	ErrNotInstalled = errors.New("no SigmaHQ rule package installed (run \"spoor rules update\")")
	// ErrUpToDate is returned by Install, with the installed Info, when
	// the archive is the one already installed and Options.Force is not set.
	ErrUpToDate = errors.New("rule package already installed")
	// ErrInvalid is wrapped by the errors of Install about an archive that
	// is not an acceptable rule package (malformed, unsafe, too large, or
	// without enough loadable rules).
	ErrInvalid = errors.New("invalid rule package")
)

// Info describes an installed rule package; it is stored as JSON in the
// install folder.
type Info struct {
	// Version is the package version: the content of its version.txt, a
	// release tag (r2024-01-01) found in the URL or file name, or
	// "sha256:" and the start of SHA256.
	Version string `json:"version"`
	// Source is the URL downloaded (after redirects) or the absolute path
	// of the file installed.
	Source string `json:"source"`
	// InstalledAt is when the package was installed.
	InstalledAt time.Time `json:"installed_at"`
	// Rules is the number of detection and correlation rules that load.
	Rules int `json:"rules"`
	// Failed is the number of rule documents that could not be loaded.
	Failed int `json:"failed"`
	// Files is the number of rule files installed.
	Files int `json:"files"`
	// SHA256 is the hex SHA-256 of the archive.
	SHA256 string `json:"sha256"`
	// Newest is the latest date or modified date of its rules
	// (YYYY-MM-DD): what tells whether it is newer than the embedded
	// package ("" in the manifests of older spoor versions).
	Newest string `json:"newest,omitempty"`
	// Path is the install folder (not stored; set when read).
	Path string `json:"-"`
}

// Dir returns the install folder: $SPOOR_CACHE_DIR/sigmahq when that is
// set, otherwise spoor/sigmahq under $XDG_CACHE_HOME or, when that is not
// set, under os.UserCacheDir.
func Dir() (string, error) {
	return cachedir.Dir("sigmahq")
}

// Installed returns what is installed in Dir, or ErrNotInstalled.
func Installed() (*Info, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return InstalledIn(dir)
}

// InstalledIn returns what is installed in the install folder dir, or
// ErrNotInstalled.
func InstalledIn(dir string) (*Info, error) {
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotInstalled
	}
	if err != nil {
		return nil, fmt.Errorf("read rule package manifest: %w", err)
	}
	var info Info
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("read rule package manifest %s: %w", filepath.Join(dir, manifestName), err)
	}
	info.Path = dir
	return &info, nil
}

// RulesPath returns the folder of the installed rule files, to be given to
// sigma.LoadPaths, or ErrNotInstalled.
func RulesPath() (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	if _, err := InstalledIn(dir); err != nil {
		return "", err
	}
	return filepath.Join(dir, rulesName), nil
}
