#!/usr/bin/env bash
# Confidence of attributions on hunts of single tests (issue 11): one
# default hunt per recording of evtx-attack-samples (EVTX files) and of
# Security-Datasets' Windows atomic zips under 20 MB. Each recording is one
# technique's test or tool run with the machine's ordinary activity, none an
# intrusion by an ATT&CK group, so a confident first group is a false one.
# Prints one line per attribution (recording, first group, its confidence,
# the unknown actor's), then the summary BENCHMARKS.md records.
# Usage: scripts/attrib-singles.sh SPOOR-BINARY [OUT.tsv]
# Needs ../shared beside the checkout and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$1"
out="${2:-/dev/stdout}"
{
	find ../shared/datasets/evtx-attack-samples -name '*.evtx'
	find ../shared/datasets/security-datasets/datasets/atomic/windows -name '*.zip' -size -20M
} | sort | while read -r f; do
	"$bin" hunt --json "$f" 2>/dev/null | jq -r --arg f "$f" '
		[(.operations // [])[] | .attribution] + [.attribution]
		| .[] | select(. != null and (.candidates | length) > 0)
		| [$f, .candidates[0].name, .candidates[0].confidence, .unknown_actor] | @tsv' || true
done >"$out"
if [ "$out" != /dev/stdout ]; then
	sort -t$'\t' -k3,3g "$out" | awk -F'\t' '{c[NR]=$3} $3>=0.3{a++} $3>=0.5{b++} $3>=0.7{d++} $4>$3{u++}
		END {printf "attributions %d, median %.3f, p90 %.3f, max %.3f, >=0.3 %d, >=0.5 %d, >=0.7 %d, unknown above the first %d\n",
			NR, c[int((NR+1)/2)], c[int(NR*0.9)], c[NR], a, b, d, u}'
fi
