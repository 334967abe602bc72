#!/usr/bin/env bash
# Run a command inside a fresh user-mode-linux guest whose kernel has IPVS.
#
#   test/uml/run.sh [--mem 1024M] [--timeout SECONDS] [--verbose] -- CMD [ARGS...]
#
# The guest sees the host's filesystem (hostfs root) with private tmpfs on
# /run, /tmp, /var/tmp; it loads IPVS and friends, then runs CMD as root in
# the current directory (see guest-init.sh).  CMD's stdout/stderr stream to
# ours as it runs (each in order; between the two, order is approximate);
# the kernel console goes to a log shown only when the guest fails, or
# streamed to stderr too with --verbose.  Exit status: CMD's, or 124 on
# timeout (default 1800 s), 125 if the guest stopped first, 130 if
# interrupted.  UML_KERNEL overrides /usr/bin/linux.uml.
set -euo pipefail
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
uml=${UML_KERNEL:-/usr/bin/linux.uml}
mem=1024M timeout=1800 verbose=0

usage() { sed -n '4p' "$0" | sed 's/^# *//; s/^/usage: /'; }
while [ $# -gt 0 ]; do
  case $1 in
    --mem) mem=${2:?--mem needs a value}; shift 2 ;;
    --timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
    --verbose) verbose=1; shift ;;
    --) shift; break ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { usage >&2; exit 2; }
case $timeout in '' | *[!0-9]*) echo "run.sh: --timeout takes whole seconds" >&2; exit 2 ;; esac

for tool in "$uml" cc modprobe ip tail; do
  command -v "$tool" >/dev/null ||
    { echo "run.sh: $tool not found (run scripts/setup.sh)" >&2; exit 2; }
done
[ -d /usr/lib/uml/modules ] ||
  { echo "run.sh: /usr/lib/uml/modules missing (run scripts/setup.sh)" >&2; exit 2; }

# The ptrace shim (see xstate-shim.c), built once into the untracked cache.
cache=$root/.uml
shim=$cache/xstate-shim.so
mkdir -p "$cache"
if [ ! "$shim" -nt "$here/xstate-shim.c" ]; then
  cc -O2 -shared -fPIC -o "$shim.$$" "$here/xstate-shim.c" -ldl
  mv -f "$shim.$$" "$shim" # atomic for concurrent runners
fi

# Per-run state; its path goes on the kernel command line, so no spaces.
tmp=$(mktemp -d "$cache/run.XXXXXX")
uml_pid= watchdog= tails=()
cleanup() {
  [ -z "$uml_pid" ] || kill -TERM "$uml_pid" 2>/dev/null || true
  [ -z "$watchdog" ] || kill "$watchdog" 2>/dev/null || true
  [ ${#tails[@]} -eq 0 ] || kill "${tails[@]}" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
case $tmp$here in *[[:space:]]*)
  echo "run.sh: paths with whitespace are not supported: $tmp" >&2; exit 2 ;;
esac

# The command script: cwd and a clean environment, plus CI, IPVS_*,
# VITEST*, NODE_OPTIONS and colour settings from ours.
env_list=()
while IFS= read -r -d '' kv; do
  case ${kv%%=*} in
    CI | IPVS_* | VITEST* | NODE_OPTIONS | NO_COLOR | FORCE_COLOR) env_list+=("$kv") ;;
  esac
done < <(env -0)
env_list+=(PATH="$PATH" HOME=/tmp/home
  TERM=dumb LANG=C.UTF-8 IPVS_IN_UML=1)
pwd >"$tmp/cwd"
echo "$root" >"$tmp/root"
{
  echo 'for v in $(compgen -e); do unset "$v"; done'
  printf 'export'; printf ' %q' "${env_list[@]}"; printf '\n'
  printf 'cd -- %q || exit 126\n' "$PWD"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} >"$tmp/cmd"
: >"$tmp/stdout"
: >"$tmp/stderr"
: >"$tmp/console"

# Boot.  UML makes itself a session and process group leader; its helper
# and guest-process host processes share that group.  On SIGTERM it shuts
# them down; after SIGKILL or a panic some can survive, so we sweep the group.
ulimit -c 0 # UML aborts on panic; no core files
env LD_PRELOAD="$shim" "$uml" \
  mem="$mem" root=/dev/root rootfstype=hostfs rootflags=/ rw \
  init="$here/guest-init.sh" UML_RUN_DIR="$tmp" \
  con=null ssl=null con0=null,fd:1 umid="ipvs-${tmp##*.}" uml_dir="$tmp" \
  </dev/null >"$tmp/console" 2>&1 &
uml_pid=$!
interrupted=0
trap 'interrupted=1; kill -TERM "$uml_pid" 2>/dev/null || true' INT TERM HUP

# Watchdog: TERM after --timeout, KILL the group 10 s later.  Its sleeps
# die with it, so nothing lingers holding our stdout.
watchdog_run() {
  trap 'kill "$nap" 2>/dev/null; exit 0' TERM
  sleep "$timeout" & nap=$!; wait "$nap"
  : >"$tmp/timed-out"
  kill -TERM "$uml_pid"
  sleep 10 & nap=$!; wait "$nap"
  kill -KILL -- "-$uml_pid"
} 2>/dev/null
watchdog_run </dev/null >/dev/null & watchdog=$!

# Stream the output files; tail exits once UML is gone and it read the rest.
tail -n +1 -s 0.2 --pid="$uml_pid" -f "$tmp/stdout" & tails+=($!)
tail -n +1 -s 0.2 --pid="$uml_pid" -f "$tmp/stderr" >&2 & tails+=($!)
[ "$verbose" = 0 ] || { tail -n +1 -s 0.2 --pid="$uml_pid" -f "$tmp/console" >&2 & tails+=($!); }

# (stderr hidden: bash would report a guest panic as "Aborted  env ...")
rc=0
{
  wait "$uml_pid" || rc=$?
  while kill -0 "$uml_pid"; do rc=0; wait "$uml_pid" || rc=$?; done
  kill -KILL -- "-$uml_pid" || true # the sweep; normally nobody is left
  kill "$watchdog" || true
  wait "$watchdog" "${tails[@]}" || true
} 2>/dev/null
uml_pid= watchdog= tails=()

if [ "$interrupted" = 1 ]; then
  echo "run.sh: interrupted" >&2
  exit 130
elif [ -s "$tmp/status" ]; then
  exit "$(<"$tmp/status")"
elif [ -e "$tmp/timed-out" ]; then
  echo "run.sh: guest timed out after ${timeout}s and was killed" >&2
  status=124
else
  echo "run.sh: guest stopped before the command finished (linux.uml exit $rc)" >&2
  status=125
fi
echo "run.sh: last kernel console lines:" >&2
tail -n 40 "$tmp/console" | sed 's/^/  | /' >&2
exit "$status"
