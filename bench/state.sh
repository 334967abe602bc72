#!/usr/bin/env bash
# npm run bench:state [-- --n 10000 --reps 5]: the declarative layer's rows
# (bench/state.ts) in one boot of the test kernel.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f build/Release/ipvs_netlink.node ] || npx node-gyp rebuild
mkdir -p .uml
npx esbuild bench/state.ts --bundle --platform=node --format=esm --target=node20 \
  --packages=external --outfile=.uml/bench-state.mjs --log-level=warning
exec test/uml/run.sh --mem "${BENCH_MEM:-2048M}" --timeout "${BENCH_TIMEOUT:-7200}" -- node --expose-gc .uml/bench-state.mjs "$@"
