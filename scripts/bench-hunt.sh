#!/usr/bin/env bash
# Whole-command measurement of spoor hunt for BENCHMARKS.md: the evtxcorpus
# corpus (95,406 records) hunted with every SigmaHQ Windows rule, end to end
# (rule loading included), N runs (default 10) of each binary given,
# interleaved so that the machine's load weighs on all alike; prints wall
# time best and median, events/s, CPU (user + sys) and peak RSS.
# Usage: scripts/bench-hunt.sh [N] [BINARY...]  (default: a fresh build)
# Needs ../shared beside the checkout and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${SPOOR_EVTX_CORPUS:-/tmp/corpus}"
if [ ! -d "$corpus" ]; then
	(cd ../shared/tools && go run ./evtxcorpus -out "$corpus" -files 4 -chunks 1024 ../datasets/evtx-attack-samples)
fi
runs="${1:-10}"
shift || true
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
	go build -o /tmp/spoor-bench ./cmd/spoor
	bins=(/tmp/spoor-bench)
fi
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load $(cut -d' ' -f1-3 /proc/loadavg)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$runs"); do
	for b in "${bins[@]}"; do
		printf '%s ' "$b" >>"$out"
		/usr/bin/time -f '%e %U %S %M' "$b" hunt "$corpus" --rules ../shared/datasets/sigma/rules/windows --no-builtin -q 2>&1 >/dev/null | tail -1 >>"$out"
	done
done
events=$("${bins[0]}" hunt "$corpus" --rules ../shared/datasets/sigma/rules/windows --no-builtin --json 2>/dev/null | grep -o '"events": *[0-9]*' | head -1 | grep -o '[0-9]*$')
awk -v ev="$events" '
{ w[$1] = w[$1] " " $2; c[$1] = c[$1] " " ($3 + $4); m[$1] = ($5 > m[$1] ? $5 : m[$1]) }
END {
	for (b in w) {
		n = split(w[b], ws, " "); split(c[b], cs, " ")
		# insertion sorts (portable awk)
		for (i = 2; i <= n; i++) { x = ws[i]; j = i - 1; while (j > 0 && ws[j] > x) { ws[j+1] = ws[j]; j-- } ws[j+1] = x }
		for (i = 2; i <= n; i++) { x = cs[i]; j = i - 1; while (j > 0 && cs[j] > x) { cs[j+1] = cs[j]; j-- } cs[j+1] = x }
		med = (n % 2) ? ws[(n+1)/2] : (ws[n/2] + ws[n/2+1]) / 2
		cmed = (n % 2) ? cs[(n+1)/2] : (cs[n/2] + cs[n/2+1]) / 2
		printf "%s: %d runs, %d events; wall best %.2f s (%d events/s), median %.3f s (%d events/s); CPU best %.2f s, median %.2f s; peak RSS up to %d MB\n", b, n, ev, ws[1], ev / ws[1], med, ev / med, cs[1], cmed, m[b] / 1024
	}
}' "$out"
