//go:build unix

package source

import (
	"io/fs"
	"syscall"
)

// identity returns the identity of the file at p, fi its information (of
// the file itself, links followed): device and inode.
func identity(p string, fi fs.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return pathID(p)
}
