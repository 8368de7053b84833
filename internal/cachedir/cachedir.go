// Package cachedir locates spoor's per-user cache folders.
package cachedir

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Dir returns the cache folder named sub: $SPOOR_CACHE_DIR/sub when that
// is set, otherwise spoor/sub under $XDG_CACHE_HOME (when absolute) or,
// when that is not set, under os.UserCacheDir.
func Dir(sub string) (string, error) {
	if d := os.Getenv("SPOOR_CACHE_DIR"); d != "" {
		return filepath.Join(d, sub), nil
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" || !filepath.IsAbs(base) {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("locate cache directory: %w", err)
		}
		base = d
	}
	return filepath.Join(base, "spoor", sub), nil
}

// DataDir returns the data folder named sub, for what spoor keeps rather
// than caches (the case store): $SPOOR_DATA_DIR/sub when that is set,
// otherwise spoor/sub under $XDG_DATA_HOME (when absolute) or, when that is
// not set, under ~/.local/share on Unix and os.UserConfigDir elsewhere.
func DataDir(sub string) (string, error) {
	if d := os.Getenv("SPOOR_DATA_DIR"); d != "" {
		return filepath.Join(d, sub), nil
	}
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" || !filepath.IsAbs(base) {
		var err error
		if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
			base, err = os.UserConfigDir()
		} else if base, err = os.UserHomeDir(); err == nil {
			base = filepath.Join(base, ".local", "share")
		}
		if err != nil {
			return "", fmt.Errorf("locate data directory: %w", err)
		}
	}
	return filepath.Join(base, "spoor", sub), nil
}
