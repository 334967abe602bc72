#!/usr/bin/env bash
# Set up, then run examples/demo.mjs with a kernel that has IPVS: on this
# host when it can (test/uml/host-has-ipvs.sh), else in a user-mode-linux
# guest (test/uml/run.sh).  Arguments go to the demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
if test/uml/host-has-ipvs.sh; then
  echo "demo.sh: running on this host" >&2
  exec node examples/demo.mjs "$@"
fi
echo "demo.sh: running in a user-mode-linux guest" >&2
exec test/uml/run.sh -- node examples/demo.mjs "$@"
