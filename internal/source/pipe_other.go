//go:build !unix

package source

import (
	"context"
	"os"
)

// openPipe opens the named pipe at path for reading.
func openPipe(ctx context.Context, path string) (*os.File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return os.Open(path)
}

// openFile opens a file the walk found regular.
func openFile(path string) (*os.File, error) { return os.Open(path) }
