#!/usr/bin/env bash
# Shows that a change leaves spoor's outputs byte-identical: builds spoor at
# REV (default: main's merge base with HEAD, or HEAD~1) and from the working
# tree, runs both on evtx-attack-samples and the CuckooBees example, and
# compares --json, --timeline, --operations, --html and the terminal report.
# Usage: scripts/same-output.sh [REV]
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${SHARED:-../shared}"
rev="${1:-HEAD}"
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add --detach -q "$work/base" "$rev"
(cd "$work/base" && go build -o "$work/spoor-base" ./cmd/spoor)
go build -o "$work/spoor-new" ./cmd/spoor

run() { # bin name input...
	local bin="$1" out="$work/$2"
	shift 2
	mkdir -p "$out"
	# Fixed flags only: no progress, no timings (the terminal report's
	# timings line is removed below).
	"$bin" hunt --json "$@" >"$out/result.json" 2>/dev/null
	"$bin" hunt --quiet --timeline "$out/timeline.csv" --operations "$out/operations.json" \
		--html "$out/report.html" "$@" >"$out/terminal.txt" 2>/dev/null
	"$bin" hunt --quiet --timeline "$out/timeline.jsonl" "$@" >/dev/null 2>&1
}

status=0
for input in "$shared/datasets/evtx-attack-samples" examples/cuckoobees; do
	name="$(basename "$input")"
	run "$work/spoor-base" "base-$name" "$input"
	run "$work/spoor-new" "new-$name" "$input"
	for f in result.json timeline.csv timeline.jsonl operations.json report.html terminal.txt; do
		a="$work/base-$name/$f" b="$work/new-$name/$f"
		# Wall-clock figures are the only expected difference.
		sed -E -i 's/[0-9.]+(µs|ms|s|m)\b/T/g; s/"(elapsed|duration|took)[a-z_]*": *[0-9.e+-]+/"\1":T/g' "$a" "$b"
		# So are the moments the hunt started and the report was written.
		sed -E -i 's/"(started|generated|finished)": *"[^"]*"/"\1":"T"/g; s#(Generated|Hunt started)</dt><dd>[0-9: -]+UTC#\1</dt><dd>T#g' "$a" "$b"
		if cmp -s "$a" "$b"; then
			echo "same       $name/$f"
		else
			echo "DIFFERENT  $name/$f"
			diff "$a" "$b" | head -20 || true
			status=1
		fi
	done
done
exit $status
