#!/usr/bin/env bash
# Exit 0 if the kernel tests can run directly on this host: we are root,
# the kernel has IPVS (built in, loaded, or loadable now), and we may make
# network namespaces.  Anything uncertain answers no; the UML guest is the
# safe fallback.  Set IPVS_FORCE_UML=1 to always answer no.
set -u
[ "${IPVS_FORCE_UML:-0}" = 1 ] && exit 1
[ "$(id -u)" = 0 ] || exit 1
[ -e /proc/net/ip_vs ] || { modprobe -q ip_vs 2>/dev/null && [ -e /proc/net/ip_vs ]; } || exit 1
# Root in a container may still lack CAP_NET_ADMIN or CAP_SYS_ADMIN.
command -v unshare >/dev/null && unshare --net true 2>/dev/null || exit 1
# Talk to IPVS itself when ipvsadm is around (generic netlink + permission).
if command -v ipvsadm >/dev/null; then ipvsadm -Ln >/dev/null 2>&1 || exit 1; fi
exit 0
