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
# With a filter, one of the two projects may legitimately match nothing.
[ $# -eq 0 ] || vitest+=(--passWithNoTests)

echo "test.sh: unit tests (on this host)"
"${vitest[@]}" --project unit "$@"
unit=$?

if test/uml/host-has-ipvs.sh; then
  where="on this host"
  echo "test.sh: kernel tests ($where)"
  "${vitest[@]}" --project kernel "$@"
else
  where="in a user-mode-linux guest"
  echo "test.sh: kernel tests ($where)"
  test/uml/run.sh -- "${vitest[@]}" --project kernel "$@"
fi
kernel=$?

verdict() { [ "$1" = 0 ] && echo passed || echo "FAILED (exit $1)"; }
echo "test.sh: unit tests $(verdict $unit); kernel tests ($where) $(verdict $kernel)"
[ "$unit" = 0 ] && [ "$kernel" = 0 ]
