//go:build !unix

package ruletest

import "os"

// readFile reads a whole rule file.
func readFile(name string) ([]byte, error) { return os.ReadFile(name) }
