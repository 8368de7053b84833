#!/usr/bin/env bash
# Whole-command measurements of the readers for BENCHMARKS.md:
#   decode-only throughput on one core (Go benchmark), spoor dump vs
#   evtxexport (libevtx-utils) on the same corpus in the same run, and the
#   peak memory of spoor dump on one file and on the whole corpus.
# Needs ../shared beside the checkout, hyperfine, GNU time and evtxexport
# (apt-get install hyperfine time libevtx-utils).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${SPOOR_EVTX_CORPUS:-/tmp/corpus}"
if [ ! -d "$corpus" ]; then
	(cd ../shared/tools && go run ./evtxcorpus -out "$corpus" -files 4 -chunks 1024 ../datasets/evtx-attack-samples)
fi
go build -o /tmp/spoor-bench ./cmd/spoor
echo "== machine"; uname -m; nproc; grep -m1 'model name' /proc/cpuinfo; uptime
echo "== decode only, one core"
SPOOR_EVTX_CORPUS="$corpus" GOMAXPROCS=1 go test -run='^$' -bench='BenchmarkDecode$/workers=1' -benchtime=5x -count=3 ./internal/evtx  # see records/cpu-s
echo "== spoor dump vs evtxexport, whole corpus"
hyperfine --warmup 1 --runs 3 -N \
	"/tmp/spoor-bench dump -q $corpus -o /tmp/spoor-dump.jsonl" \
	"bash -c 'for f in $corpus/*.evtx; do evtxexport -f xml \$f; done > /tmp/evtxexport.xml'"
echo "== peak memory of spoor dump"
/usr/bin/time -f "one file: %e s, %M KiB max RSS" /tmp/spoor-bench dump -q "$corpus/corpus-000.evtx" -o /dev/null
/usr/bin/time -f "whole corpus: %e s, %M KiB max RSS" /tmp/spoor-bench dump -q "$corpus" -o /dev/null
