#!/bin/bash
# PID 1 of a guest booted by run.sh.  The guest's root is the host's root
# (hostfs), so scratch locations get a private tmpfs and nothing leaks out.
# run.sh passes UML_RUN_DIR (its host temp dir) on the kernel command line;
# there we find `cmd` and write `stdout`, `stderr` and `status`.  Our own
# messages go to the console, which run.sh keeps in UML_RUN_DIR/console.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
run=$UML_RUN_DIR

poweroff() {
  sync
  echo o >/proc/sysrq-trigger
  # PID 1 must not exit (that panics); power-off is asynchronous.
  while :; do sleep 10; done
}
die() { echo "guest-init: $*" >&2; poweroff; }

mount -t proc proc /proc && mount -t sysfs sysfs /sys || die "cannot mount /proc or /sys"
[ -d "$run" ] || die "run dir '$run' not visible"

# /dev is the kernel's devtmpfs (CONFIG_DEVTMPFS_MOUNT); add pts and shm.
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm

# Host paths the command needs, re-exposed if a scratch tmpfs covers them
# (say, a checkout under /tmp).  hostfs can mount any host path.
keep=("$(<"$run/root")" "$(<"$run/cwd")" "$run")
for dir in /run /tmp /var/tmp; do
  mount -t tmpfs -o mode=1777 tmpfs "$dir" || die "cannot mount tmpfs on $dir"
  shown=()
  for path in "${keep[@]}"; do
    case $path/ in "$dir"/*) ;; *) continue ;; esac
    for done_path in "${shown[@]}"; do
      case $path/ in "$done_path"/*) continue 2 ;; esac # already inside one
    done
    mkdir -p "$path" && mount -t hostfs -o "$path" hostfs "$path" ||
      die "cannot re-expose $path"
    shown+=("$path")
  done
done
mkdir -p /tmp/home

# Modules come from the host's UML module tree via a private -d root.  The
# kernel's autoloader (e.g. ip_vs_<sched> when a service names a scheduler)
# goes through a wrapper that adds the same -d.
mods=/run/uml-modules
modprobe=$(command -v modprobe) || die "modprobe (kmod) not found"
mkdir -p "$mods/lib" && ln -s /usr/lib/uml/modules "$mods/lib/modules"
printf '#!/bin/sh\nexec %s -d %s "$@"\n' "$modprobe" "$mods" >"$mods/modprobe"
chmod +x "$mods/modprobe" && echo "$mods/modprobe" >/proc/sys/kernel/modprobe

required="ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr
  ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh
  nf_conntrack veth dummy ipip fou ip_gre nf_tables"
optional="ip_vs_pe_sip ip_vs_ftp xt_ipvs ip6_tunnel sit nft_compat xt_mark
  ip_tables iptable_mangle ip6_tables ip6table_mangle"
# Pick the optional modules this kernel ships (a builtin string match on
# modules.dep: forking is slow under UML).
deps=$(<"/usr/lib/uml/modules/$(</proc/sys/kernel/osrelease)/modules.dep") ||
  die "no UML modules for kernel $(</proc/sys/kernel/osrelease)"
present=()
for m in $optional; do
  [[ $deps == *"/$m.ko"* ]] && present+=("$m")
done
"$modprobe" -d "$mods" -a $required "${present[@]}" || die "loading kernel modules failed"

ip link set lo up || die "cannot bring lo up"

# The command: stdin /dev/null, output straight to the host files (hostfs
# writes through, so run.sh can stream them).
bash "$run/cmd" </dev/null >>"$run/stdout" 2>>"$run/stderr"
echo $? >"$run/status"
poweroff
