// Package cputime reads the CPU time (user + system) the process or the
// calling thread has used. Throughput per CPU second stays meaningful on a
// machine shared with other work, where wall time does not: benchmarks
// report it, and hunt's debug log gives it per phase.
package cputime

import "time"

// Process returns the CPU time this process has used so far, or 0 where it
// cannot be read.
func Process() time.Duration { return usage(rusageSelf) }

// Thread returns the CPU time of the calling OS thread (lock the goroutine
// to its thread around the measurement), or 0 where it cannot be read.
func Thread() time.Duration { return usage(rusageThread) }
