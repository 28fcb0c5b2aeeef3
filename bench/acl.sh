#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The cost of the in-kernel ACL: iperf3 through meshwg.ko without a ruleset,
# with a 10,000-rule ruleset, and through wireguard.ko, in one VM boot.
case "${1:-}" in
-h|--help)
	cat <<'USAGE'
NAME
    bench/acl.sh - meshwg.ko throughput with and without a 10,000-rule ACL

SYNOPSIS
    bench/acl.sh [--kernel 6.1|6.12] [--runs N] [--amount SIZE]

DESCRIPTION
    Boots one VM (tests/vm/run.sh, default kernel 6.1). Two namespaces are
    joined by veth through a router namespace; between them run a meshwg
    tunnel (10.0.0.0/24) and a wireguard.ko tunnel (10.1.0.0/24). iperf3 TCP
    (one stream, a fixed amount SIZE per run, default 40M, iperf3's -n
    syntax) is sent from the second namespace to the first, where the meshwg
    ACL filters what arrives, in three configurations, interleaved run by
    run: meshwg with no ruleset, meshwg with a 10,000-rule ruleset whose
    only rule accepting the test flow is rule 9,999 (the earlier ones are
    TCP rules from other sources and to other ports, so the lookup is
    exercised), and wireguard.ko. N runs each (default 3, at least 3).
    Prints every run, the median of each, and the ratios 10k-rules /
    no-rules and each meshwg figure / wireguard.ko. Numbers under qemu TCG
    are only comparable with each other, within one boot.

    Run by hand; not part of make check.
USAGE
	exit 0 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
KERNEL=6.1 RUNS=3 AMOUNT=40M
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) KERNEL=${2:-}; shift 2 || exit 2 ;;
	--runs) RUNS=${2:-}; shift 2 || exit 2 ;;
	--amount) AMOUNT=${2:-}; shift 2 || exit 2 ;;
	*) echo "bench/acl.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case "$RUNS" in *[!0-9]*|'') echo "bench/acl.sh: --runs takes a number" >&2; exit 2 ;; esac
case "$AMOUNT" in [1-9]*[KMG]|[1-9]*) case "${AMOUNT%[KMG]}" in *[!0-9]*) AMOUNT=bad ;; esac ;; *) AMOUNT=bad ;; esac
[ "$AMOUNT" != bad ] || { echo "bench/acl.sh: --amount takes a size such as 40M" >&2; exit 2; }
[ "$RUNS" -ge 3 ] || { echo "bench/acl.sh: --runs must be at least 3" >&2; exit 2; }
exec "$HERE/../tests/vm/run.sh" --kernel "$KERNEL" \
	--cmd "BENCH_RUNS=$RUNS BENCH_AMOUNT=$AMOUNT; . \"\$REPO/bench/acl-guest.sh\""
