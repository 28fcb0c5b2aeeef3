#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The agent benchmark (by hand, not in make check): meshwgd vs wg setconf.
case "${1:-}" in
-h|--help)
	cat <<'USAGE'
NAME
    bench/agent.sh - meshwgd: time to first ping, applying a big netmap

SYNOPSIS
    bench/agent.sh [--kernel 6.1|6.12] [--peers N]

DESCRIPTION
    Boots one VM (tests/vm/run.sh, default kernel 6.1) with meshwg.ko and
    wireguard.ko, a control server (meshwg-control, SQLite) and nodes in
    network namespaces on one bridge, and measures:

    1. up to first ping: on a two-node tailnet, the time from starting
       `meshwg up --auth-key KEY` on a fresh node until its first ping
       reply from the other node over the tailnet (and when `up` returned).
    2. registrations over HTTP in the VM: 20 nodes registered with the
       protocol test client (control/client/mwgc), per second. Registering
       N nodes this way under TCG is slow, so for step 3 the N nodes are
       written straight into the server's SQLite database (random keys,
       unique addresses and endpoints, marked online) before it starts.
    3. a netmap of N peers (default 10000): a fresh node's `meshwg up`
       (wall time), and meshwgd's own account of applying the netmap, from
       its log line "netmap seq S: +A -R ~C peers in X ms (M messages)";
       then a one-peer delta each way (one node registered: +1; one node
       deleted through the admin API: -1); meshwgd's RSS (VmRSS, VmHWM).
    4. the same N peers (`meshwg wg showconf` of the node's interface)
       written with `wg setconf` into a wireguard.ko interface, then one
       peer added and one removed with `wg set`; and with `meshwg wg
       setconf` into a second meshwg interface (the kernel side alone).
       Ratios meshwgd / wg are printed.
    5. teardown with N peers: meshwgd's SIGTERM (which deletes its
       interface), `ip link del` of the bare meshwg interface and of the
       wireguard.ko one (the last takes minutes under TCG: upstream frees
       its peers one by one, each with an RCU grace period).

    Numbers under qemu TCG are only comparable with each other, within one
    boot.

OPTIONS
    --kernel K   6.1 (default) or 6.12
    --peers N    peers of the big netmap (default 10000, at most 60000)
USAGE
	exit 0 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
KERNEL=6.1 PEERS=10000
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) [ -n "${2:-}" ] || { echo "bench/agent.sh: --kernel needs a value" >&2; exit 2; }; KERNEL=$2; shift 2 ;;
	--peers) [ -n "${2:-}" ] || { echo "bench/agent.sh: --peers needs a value" >&2; exit 2; }; PEERS=$2; shift 2 ;;
	*) echo "bench/agent.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case "$PEERS" in *[!0-9]*|'') echo "bench/agent.sh: --peers takes a number" >&2; exit 2 ;; esac
[ "$PEERS" -ge 1 ] && [ "$PEERS" -le 60000 ] || { echo "bench/agent.sh: --peers must be 1..60000" >&2; exit 2; }
exec "$HERE/../tests/vm/run.sh" --kernel "$KERNEL" \
	--cmd "BENCH_PEERS=$PEERS; . \"\$REPO/bench/agent-guest.sh\""
