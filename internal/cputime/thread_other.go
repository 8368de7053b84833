//go:build !linux

package cputime

// rusageThread: per-thread usage is read on Linux only.
const rusageThread = -1
