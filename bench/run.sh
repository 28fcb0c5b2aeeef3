#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: iperf3 through meshwg.ko vs through wireguard.ko in one VM boot.
case "${1:-}" in
-h|--help)
	cat <<'USAGE'
NAME
    bench/run.sh - meshwg.ko vs wireguard.ko throughput, side by side

SYNOPSIS
    bench/run.sh [--kernel 6.1|6.12] [--runs N] [--time SEC]

DESCRIPTION
    Boots one VM (tests/vm/run.sh, default kernel 6.1). Two namespaces are
    joined by veth through a router namespace; between them run a meshwg
    tunnel (10.0.0.0/24) and a wireguard.ko tunnel (10.1.0.0/24), each with
    the same implementation on both sides. iperf3 TCP, single stream and 4
    parallel streams, is run through each, interleaved (meshwg, wireguard,
    meshwg, wireguard, ...), N runs each (default 3, at least 3), SEC seconds
    each (default 5). Prints every run, the median of each, and the ratio
    meshwg/wireguard. Numbers under qemu TCG are only comparable with each
    other, within one boot.
USAGE
	exit 0 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
KERNEL=6.1 RUNS=3 TIME=5
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) KERNEL=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--time) TIME=$2; shift 2 ;;
	*) echo "bench/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case "$RUNS$TIME" in *[!0-9]*|'') echo "bench/run.sh: --runs and --time take numbers" >&2; exit 2 ;; esac
[ "$RUNS" -ge 3 ] || { echo "bench/run.sh: --runs must be at least 3" >&2; exit 2; }
exec "$HERE/../tests/vm/run.sh" --kernel "$KERNEL" \
	--cmd "BENCH_RUNS=$RUNS BENCH_TIME=$TIME; . \"\$REPO/bench/guest.sh\""
