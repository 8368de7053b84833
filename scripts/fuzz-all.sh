#!/usr/bin/env bash
# Runs every fuzz target of the module for a short time each (CI: 10 s).
# Usage: scripts/fuzz-all.sh [SECONDS]
# A failure leaves the crasher under the package's testdata/fuzz/ and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-10}"
fail=0
while IFS=: read -r file name; do
	pkg="./$(dirname "$file")"
	echo "-- $pkg $name (${t}s)"
	if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="${t}s" "$pkg" >/tmp/fuzz-$$.log 2>&1; then
		cat /tmp/fuzz-$$.log >&2
		fail=1
	fi
done < <(grep -rHo '^func Fuzz[A-Za-z0-9_]*' --include='*_test.go' internal | sed 's/:func /:/' | sort)
rm -f /tmp/fuzz-$$.log
exit "$fail"
