package gaps

import (
	"os"

	"github.com/spoor-hunt/spoor/internal/evtx"
)

// FileChunks returns the checked chunk headers of the EVTX file at path
// (see evtx.Chunks), nil when it is not a file on disk (an archive member,
// a stream) or cannot be read: missing records are then placed by number
// only.
func FileChunks(path string) []evtx.ChunkInfo {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	chunks, _ := evtx.Chunks(f, fi.Size())
	return chunks
}
