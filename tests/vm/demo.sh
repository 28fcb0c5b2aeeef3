#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`: boots the Debian 6.1 kernel in a VM and shows meshwg.ko
# talking to upstream WireGuard (wireguard.ko configured with wg).
case "${1:-}" in
-h|--help)
	cat <<'USAGE'
NAME
    tests/vm/demo.sh - meshwg interoperating with upstream WireGuard, in a VM

SYNOPSIS
    tests/vm/demo.sh [--kernel 6.1|6.12]

DESCRIPTION
    Boots a VM with tests/vm/run.sh (default kernel 6.1), creates a meshwg
    interface "mw0" in one network namespace and a wireguard.ko interface
    "wg0" in another, configures them with `meshwg wg set` and `wg set`,
    pings across the tunnel and prints the ping output, `meshwg wg show mw0`
    and `wg show wg0`. Exits non-zero if any step fails.
USAGE
	exit 0 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
KERNEL=6.1
if [ "${1:-}" = --kernel ] && [ -n "${2:-}" ]; then KERNEL=$2; shift 2; fi
[ $# = 0 ] || { echo "demo.sh: unexpected argument '$1' (see --help)" >&2; exit 2; }
exec "$HERE/run.sh" --kernel "$KERNEL" --cmd ". \"\$REPO/tests/vm/demo-guest.sh\""
