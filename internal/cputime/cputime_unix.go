//go:build unix

package cputime

import (
	"syscall"
	"time"
)

const rusageSelf = syscall.RUSAGE_SELF

func usage(who int) time.Duration {
	if who < 0 {
		return 0
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
