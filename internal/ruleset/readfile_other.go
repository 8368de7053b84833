//go:build !unix

package ruleset

import "github.com/spoor-hunt/spoor/internal/sigma"

// readFile reads a rule file, at most sigma.MaxFileSize+1 bytes of it.
func readFile(name string) ([]byte, error) { return sigma.ReadFile(name) }
