//go:build !unix

package shared

import "time"

// ProcessCPU returns 0: the process CPU time is not read on this platform.
func ProcessCPU() time.Duration { return 0 }
