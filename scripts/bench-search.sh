#!/usr/bin/env bash
# Whole-command measurement of spoor search and spoor metrics for
# BENCHMARKS.md, beside spoor hunt on the same evidence in the same run:
# N rounds (default 5), each command once a round (interleaved, so that the
# machine's load weighs on all alike); prints wall time best and median,
# CPU (user + sys) best and peak RSS per command.
# Usage: scripts/bench-search.sh [N] [EVIDENCE...]
#   (default evidence: the evtxcorpus, built in $SPOOR_EVTX_CORPUS or
#   /tmp/corpus when missing). Needs ../shared and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
shift || true
evidence=("$@")
if [ ${#evidence[@]} -eq 0 ]; then
	corpus="${SPOOR_EVTX_CORPUS:-/tmp/corpus}"
	if [ ! -d "$corpus" ]; then
		(cd ../shared/tools && go run ./evtxcorpus -out "$corpus" -files 4 -chunks 1024 ../datasets/evtx-attack-samples)
	fi
	evidence=("$corpus")
fi
go build -o /tmp/spoor-bench-search ./cmd/spoor
bin=/tmp/spoor-bench-search
iocs=$(mktemp)
out=$(mktemp)
trap 'rm -f "$iocs" "$out"' EXIT
printf '%s\n' d41d8cd98f00b204e9800998ecf8427e 10.0.2.17 evil.example.com mimikatz.exe procdump64.exe >"$iocs"
cmds=(
	"hunt -q"
	"hunt -q --no-sigmahq"
	"search -q -k mimikatz"
	"search -q --all -k psexec -k accepteula"
	"search -q --field CommandLine|contains=vssadmin"
	"search -q --regex (?i)\\\\\\\\[a-z0-9.]+\\\\(c|admin)\\$"
	"search -q --ioc $iocs"
	"metrics -q --json"
)
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$runs"); do
	for i in "${!cmds[@]}"; do
		read -r -a argv <<<"${cmds[$i]}"
		printf '%d ' "$i" >>"$out"
		/usr/bin/time -f '%e %U %S %M' "$bin" "${argv[@]}" "${evidence[@]}" 2>&1 >/dev/null | tail -1 >>"$out"
	done
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in "${!cmds[@]}"; do
	CMD="${cmds[$i]}" awk -v i="$i" '
	$1 == i { n++; w[n] = $2; c[n] = $3 + $4; if ($5 > m) m = $5 }
	END {
		for (a = 2; a <= n; a++) { x = w[a]; b = a - 1; while (b > 0 && w[b] > x) { w[b+1] = w[b]; b-- } w[b+1] = x }
		for (a = 2; a <= n; a++) { x = c[a]; b = a - 1; while (b > 0 && c[b] > x) { c[b+1] = c[b]; b-- } c[b+1] = x }
		med = (n % 2) ? w[(n+1)/2] : (w[n/2] + w[n/2+1]) / 2
		cmd = ENVIRON["CMD"]; printf "%-50s wall best %.2f s, median %.2f s; CPU best %.2f s; peak RSS %d MB\n", cmd, w[1], med, c[1], m / 1024
	}' "$out"
done
