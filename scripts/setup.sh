#!/usr/bin/env bash
# Make this checkout ready to build and test; safe to run again and again.
#  1. Debian packages the tests use (apt only when something is missing):
#     kmod, iproute2, ipvsadm, procps (sysctl), iptables (iptables-legacy
#     marks packets for the fwmark tests: the test kernel's nf_tables has no
#     ip family), keepalived and bird2 (the agent's side-by-side tests, the
#     sample configurations its converter is tested on, and the
#     multi-director tests run the real daemons), a C/C++ toolchain for the
#     addon, and user-mode-linux unless this host can run IPVS itself; for
#     the observability tests, prometheus (and its promtool), chromium
#     (headless) and tmux (about a minute of apt install together).
#  2. node_modules (npm install) when missing or out of step with the lock file.
#  3. The native addon (node-gyp, incremental) and the TypeScript build.
# Prints nothing when all is well; on failure shows the failing step's output.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

fail() { echo "setup: $*" >&2; exit 1; }
# Run a step quietly; on failure show what it said.
step() {
  local out
  out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; fail "failed: $*"; }
}

# --- 1. system packages: command:package pairs ----------------------------
need=(modprobe:kmod ip:iproute2 ipvsadm:ipvsadm cc:gcc c++:g++ make:make python3:python3 sysctl:procps iptables-legacy:iptables
  keepalived:keepalived bird:bird2 prometheus:prometheus promtool:prometheus chromium:chromium tmux:tmux)
test/uml/host-has-ipvs.sh || need+=(linux.uml:user-mode-linux)
missing=()
for pair in "${need[@]}"; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || fail "please install: ${missing[*]}"
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  echo "setup: installing ${missing[*]}" >&2
  step "${sudo[@]}" apt-get update
  step "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- 2. node_modules --------------------------------------------------------
command -v node >/dev/null || fail "Node.js >= 20 is required"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' ||
  fail "Node.js >= 20 is required (found $(node -v))"
# Fresh when npm's record of what it installed (node_modules/.package-lock.json)
# has every package of package-lock.json at the same version.
stale() {
  [ -e node_modules/.package-lock.json ] || return 0
  [ -e package-lock.json ] || { [ package.json -nt node_modules/.package-lock.json ]; return; }
  node -e '
    const read = (f) => JSON.parse(require("fs").readFileSync(f, "utf8")).packages ?? {};
    const want = read("package-lock.json"), have = read("node_modules/.package-lock.json");
    const ok = Object.entries(want).every(([path, p]) =>
      path === "" || p.optional || have[path]?.version === p.version);
    process.exit(ok ? 1 : 0);'
}
if stale; then
  echo "setup: installing node modules" >&2
  # npm install, not npm ci: it follows the lock file too, and npm 11's ci
  # refuses a lock file that records only this platform's optional packages
  # (rollup's native builds), which is what npm 11's install writes.
  step npm install --no-audit --no-fund
fi

# --- 3. build ---------------------------------------------------------------
if [ -e binding.gyp ]; then
  if [ -e build/Makefile ]; then step node_modules/.bin/node-gyp build
  else step node_modules/.bin/node-gyp rebuild; fi
fi
step npm run build
