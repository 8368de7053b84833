package bidi

import (
	"os"
	"testing"
)

// NeedFirefox returns FirefoxPath for a browser test, skipping the test
// without a Firefox, except under CI (CI=true), where .ci/run installs
// firefox-esr and the test must run.
func NeedFirefox(t testing.TB) string {
	t.Helper()
	p := FirefoxPath()
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no firefox-esr on PATH: CI must run the Firefox tests (apt-get install firefox-esr)")
		}
		t.Skip("no firefox-esr on PATH: skipping the Firefox tests (apt-get install firefox-esr to run them)")
	}
	return p
}
