#!/usr/bin/env bash
# Set up, run the unit tests on this host, then the kernel tests: on this
# host when it can run IPVS (test/uml/host-has-ipvs.sh), else inside a
# user-mode-linux guest (test/uml/run.sh).  Extra arguments go to both vitest
# runs, e.g. `scripts/test.sh -t scheduler` or a test file path.
# IPVS_FORCE_UML=1 uses the guest even where the host could do without.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh || exit 1

# (not npx: it alone costs ~3 s of startup in the guest)
vitest=(node_modules/.bin/vitest run)
# Each run also writes a JSON report, summed into the closing line below.
results=.uml/results
rm -rf "$results" && mkdir -p "$results"
report() { echo --reporter=default --reporter=json --outputFile.json="$results/$1.json"; }
# With a filter, one of the two projects may legitimately match nothing.
[ $# -eq 0 ] || vitest+=(--passWithNoTests)

echo "test.sh: unit tests (on this host)"
"${vitest[@]}" $(report unit) --project unit "$@"
unit=$?

if test/uml/host-has-ipvs.sh; then
  where="on this host"
  echo "test.sh: kernel tests ($where)"
  "${vitest[@]}" $(report kernel) --project kernel "$@"
else
  where="in a user-mode-linux guest"
  echo "test.sh: kernel tests ($where)"
  test/uml/run.sh -- "${vitest[@]}" $(report kernel) --project kernel "$@"
fi
kernel=$?

# One plain closing line for every runner that reads it: "N passed, N failed".
node -e '
  let passed = 0, failed = 0, skipped = 0;
  for (const f of ["unit", "kernel"]) {
    try {
      const r = JSON.parse(require("fs").readFileSync(process.argv[1] + "/" + f + ".json", "utf8"));
      passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
    } catch { failed += 1; console.log("test.sh: no " + f + " results (the run did not finish)"); }
  }
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));' "$results"

verdict() { [ "$1" = 0 ] && echo passed || echo "FAILED (exit $1)"; }
echo "test.sh: unit tests $(verdict $unit); kernel tests ($where) $(verdict $kernel)"
[ "$unit" = 0 ] && [ "$kernel" = 0 ]
