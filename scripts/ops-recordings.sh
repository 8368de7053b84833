#!/usr/bin/env bash
# Operations that join detections of different recordings (issue 12): hunts
# Security-Datasets' Windows recordings (each zip or tar.gz one recording,
# told apart by its member path; a zip copied into two folders is one
# recording) with the SigmaHQ rules, and lists every operation holding
# detections of more than one recording: its widest gap between detections
# of different recordings, and the joins between them (kind, entity, key).
# Exits 1 when a gap passes two days.
# Usage: scripts/ops-recordings.sh [OPERATIONS.json]  (default: a fresh hunt)
# Needs ../shared beside the checkout and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
ops="${1:-}"
if [ -z "$ops" ]; then
	ops=$(mktemp)
	trap 'rm -f "$ops"' EXIT
	go build -o /tmp/spoor-recordings ./cmd/spoor
	/tmp/spoor-recordings hunt -q ../shared/datasets/security-datasets/datasets/atomic/windows \
		--rules ../shared/datasets/sigma/rules --operations "$ops" >/dev/null
fi
jq -r '
  # A correlation match has no file: "" (no recording), left out.
  def rec: if (.source_file // "") == "" then "" else (.source_file | split("!")) as $p | if ($p | length) > 1 then $p[-1] else $p[0] end | split("/")[-1] end;
  def secs: sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601;
  [.operations[] | . as $op
    | [$op.detections[] | {r: rec, t: (.time | secs)}] as $d
    | ($d | map(.r) | unique | map(select(. != ""))) as $recs
    | select(($recs | length) > 1)
    | ([$recs[] as $a | $recs[] as $b | select($a < $b)
        | ([$d[] | select(.r == $a) | .t] | [min, max]) as $x
        | ([$d[] | select(.r == $b) | .t] | [min, max]) as $y
        | ([($x[1] - $y[0]), ($y[1] - $x[0])] | map(fabs) | max)] | max) as $gap
    | {id: $op.id, hosts: $op.hosts, detections: ($d | length), recordings: $recs, gap: $gap,
       joins: [$op.joins[] | select($d[.detections[0]].r != $d[.detections[1]].r and $d[.detections[0]].r != "" and $d[.detections[1]].r != "")
               | "\(.kind): \(.entity // "") \(.host // "") \(.key // "")\(if .lateral then " [" + ([.lateral[] | "\(.from)→\(.to) \(.label)"] | join("; ")) + "]" else "" end)"
               | .[0:200]] | unique}]
  | (.[] | "\(.id) \(.hosts | join(",")) \(.detections) detections, widest gap \(.gap / 3600 * 10 | floor / 10) h\n  recordings: \(.recordings | join(" "))\n  joined by:\n    \(.joins | join("\n    "))"),
    "operations joining recordings: \(length); more than two days apart: \([.[] | select(.gap > 172800)] | length)",
    (if any(.[]; .gap > 172800) then "a gap passes two days\n" | halt_error(1) else empty end)
' "$ops"
