//go:build !linux

package source

// pseudoFS reports whether the folder p is on a kernel pseudo file system;
// only Linux is checked.
func pseudoFS(string) bool { return false }
