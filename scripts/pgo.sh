#!/usr/bin/env bash
# Regenerates cmd/spoor/default.pgo, the CPU profile `go build` uses for
# profile-guided optimisation of the spoor binary (Go's -pgo=auto): six
# hunts of the evtxcorpus corpus with every SigmaHQ Windows rule, merged.
# Rerun it when the hot paths change (the engine, the readers, the hunt).
# Needs ../shared beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${SPOOR_EVTX_CORPUS:-/tmp/corpus}"
if [ ! -d "$corpus" ]; then
	(cd ../shared/tools && go run ./evtxcorpus -out "$corpus" -files 4 -chunks 1024 ../datasets/evtx-attack-samples)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -pgo=off -o "$tmp/spoor" ./cmd/spoor
for i in 1 2 3 4 5 6; do
	"$tmp/spoor" hunt "$corpus" --rules ../shared/datasets/sigma/rules/windows --no-builtin -q --cpuprofile "$tmp/$i.prof" >/dev/null
done
go tool pprof -proto "$tmp"/?.prof > cmd/spoor/default.pgo
ls -l cmd/spoor/default.pgo
