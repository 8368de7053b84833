//go:build !unix

package cputime

import "time"

const rusageSelf = 0

func usage(int) time.Duration { return 0 }
