#!/usr/bin/env bash
# npm run bench [-- --n 1000,10000 --reps 5 ...]: builds what the benchmark
# needs (the addon, dist/ for the `ipvs` CLI, the C floor, the bundled benchmark) and runs
# it in one boot of the test kernel. Options: see bench/main.ts.
#   BENCH_MEM (default 2048M) and BENCH_TIMEOUT (seconds, default 7200)
#   BENCH_NO_BUILD=1 skips rebuilding dist/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f build/Release/ipvs_netlink.node ] || npx node-gyp rebuild
[ "${BENCH_NO_BUILD:-}" = 1 ] || npx tsup >/dev/null
mkdir -p .uml
cc -O2 -Wall -o .uml/bench-floor bench/floor.c
npx esbuild bench/main.ts --bundle --platform=node --format=esm --target=node20 \
  --packages=external --outfile=.uml/bench.mjs --log-level=warning
exec test/uml/run.sh --mem "${BENCH_MEM:-2048M}" --timeout "${BENCH_TIMEOUT:-7200}" -- node .uml/bench.mjs "$@"
