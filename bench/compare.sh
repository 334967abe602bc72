#!/usr/bin/env bash
# bench/compare.sh BASE_DIR [-- bench options]: the benchmark of another
# checkout of this repository (BASE_DIR, e.g. a `git worktree` of an older
# commit, with node_modules) and of this one, in ONE boot of the test
# kernel, base first: the shared machine moves absolute numbers from boot to
# boot, so compare the two tables' ratios. Options: see bench/main.ts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
here=$PWD
base=$(cd "${1:?usage: bench/compare.sh BASE_DIR [-- options]}" && pwd)
shift
[ "${1:-}" = -- ] && shift
for dir in "$base" "$here"; do
  (
    cd "$dir"
    [ -f build/Release/ipvs_netlink.node ] || npx node-gyp rebuild
    npx tsup >/dev/null
    mkdir -p .uml
    cc -O2 -Wall -o .uml/bench-floor bench/floor.c
    npx esbuild bench/main.ts --bundle --platform=node --format=esm --target=node20 \
      --packages=external --outfile=.uml/bench.mjs --log-level=warning
  )
done
inner="$here/.uml/compare-inner.sh"
cat >"$inner" <<'INNER'
#!/usr/bin/env bash
base=$1 here=$2; shift 2
echo "== base: $base ($(git -C "$base" rev-parse --short HEAD))"
(cd "$base" && node .uml/bench.mjs "$@") || echo "(base run failed: $?)"
echo "== this tree: $here ($(git -C "$here" rev-parse --short HEAD))"
cd "$here" && node .uml/bench.mjs "$@"
INNER
chmod +x "$inner"
exec test/uml/run.sh --mem "${BENCH_MEM:-2048M}" --timeout "${BENCH_TIMEOUT:-7200}" -- "$inner" "$base" "$here" "$@"
