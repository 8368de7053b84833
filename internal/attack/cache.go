package attack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spoor-hunt/spoor/internal/cachedir"
	"github.com/spoor-hunt/spoor/internal/outfile"
)

// CacheFile is the name of the installed knowledge base in the cache
// folder.
const CacheFile = "enterprise-attack.bin"

// CacheDir returns the folder of an installed knowledge base:
// $SPOOR_CACHE_DIR/attack when that is set, otherwise spoor/attack under
// $XDG_CACHE_HOME or, when that is not set, under os.UserCacheDir.
func CacheDir() (string, error) {
	return cachedir.Dir("attack")
}

// Install writes kb in compact form into dir (created when missing) as
// CacheFile, replacing what was there atomically, so that LoadDefault
// prefers it to the embedded knowledge base. It returns the file's path.
func Install(kb *KB, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create cache directory: %w", err)
	}
	path := filepath.Join(dir, CacheFile)
	if err := outfile.Write(path, kb.Encode); err != nil {
		return "", err
	}
	return path, nil
}

// Source says where a knowledge base was loaded from: "embedded" or the
// path of the installed file.
type Source string

// SourceEmbedded is the knowledge base built into spoor.
const SourceEmbedded Source = "embedded"

// LoadDefault loads the knowledge base installed in dir (see Install) when
// there is one, and the embedded one otherwise. An installed file that
// cannot be read is an error, not a silent fallback.
func LoadDefault(dir string) (*KB, Source, error) {
	if dir != "" {
		path := filepath.Join(dir, CacheFile)
		f, err := os.Open(path)
		switch {
		case err == nil:
			defer f.Close()
			kb, err := Decode(f)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w (reinstall it with spoor attack update, or remove it)", path, err)
			}
			return kb, Source(path), nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, "", err
		}
	}
	kb, err := Load()
	return kb, SourceEmbedded, err
}
