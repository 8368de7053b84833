package cachedir

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestDataDir(t *testing.T) {
	t.Setenv("SPOOR_DATA_DIR", "/srv/spoor")
	if got, err := DataDir("cases"); err != nil || got != filepath.Join("/srv/spoor", "cases") {
		t.Errorf("with SPOOR_DATA_DIR: %q, %v", got, err)
	}
	t.Setenv("SPOOR_DATA_DIR", "")
	t.Setenv("XDG_DATA_HOME", "/data")
	if got, err := DataDir("cases"); err != nil || got != filepath.Join("/data", "spoor", "cases") {
		t.Errorf("with XDG_DATA_HOME: %q, %v", got, err)
	}
	// A relative XDG_DATA_HOME is ignored, as the spec says.
	t.Setenv("XDG_DATA_HOME", "relative")
	got, err := DataDir("cases")
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" {
		home, _ := os.UserHomeDir()
		if want := filepath.Join(home, ".local", "share", "spoor", "cases"); got != want {
			t.Errorf("default: %q, want %q", got, want)
		}
	}
	// Never the cache folder: a cache may be wiped, a case store must not be.
	if cache, _ := Dir("cases"); got == cache {
		t.Errorf("data folder %q is the cache folder", got)
	}
}
