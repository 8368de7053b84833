// Package cachedir locates spoor's per-user cache folders.
package cachedir

import (
	"fmt"
	"os"
	"path/filepath"
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
