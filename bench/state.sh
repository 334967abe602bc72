#!/usr/bin/env bash
# npm run bench:state [-- --n 10000 --reps 5]: the declarative layer's rows
# (bench/state.ts) in one boot of the test kernel.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f build/Release/ipvs_netlink.node ] || npx node-gyp rebuild
mkdir -p .uml
npx esbuild bench/state.ts --bundle --platform=node --format=esm --target=node20 \
  --packages=external --outfile=.uml/bench-state.mjs --log-level=warning
# A young generation of fixed size (16 MiB, V8's largest by default): left to
# itself V8 shrinks it while the benchmark waits for a quiet machine and grows
# it again during the next run, and in the test kernel each collection into
# freshly committed pages costs 10-70 ms of page faults; which run met one was
# chance (see bench/state.ts, ready()).
exec test/uml/run.sh --mem "${BENCH_MEM:-2048M}" --timeout "${BENCH_TIMEOUT:-7200}" -- node --expose-gc \
  --min-semi-space-size=16 --max-semi-space-size=16 .uml/bench-state.mjs "$@"
