#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR MIT
# meshwg-derper on loopback: packets/s and Mb/s between two clients, alone
# and with 1,000 idle clients connected, and the server's memory per idle
# connection.
case "${1:-}" in
-h|--help)
	cat <<'USAGE'
NAME
    bench/derp.sh - meshwg-derper throughput and memory on loopback

SYNOPSIS
    bench/derp.sh [--time SEC] [--size BYTES] [--idle N]

DESCRIPTION
    Starts relay/meshwg-derper --http on a free loopback port. derp_bench
    (bench/derp_bench.c, a DERP client built on relay/derp_frame.c) logs in
    a sender and a receiver; the sender writes SendPacket frames of SIZE
    bytes (default 1400) as fast as the server takes them for SEC seconds
    (default 5), the receiver counts RecvPacket frames. Run twice: with no
    other client, then with N idle clients (default 1000) connected first;
    the server's RSS growth divided by N is printed as memory per idle
    connection (userspace only; kernel socket buffers are not in it).
    Drops are the server's queue doing its job when the receiver falls
    behind.
USAGE
	exit 0 ;;
esac
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
TIME=5 SIZE=1400 IDLE=1000
while [ $# -gt 0 ]; do
	case "$1" in
	--time) TIME=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--idle) IDLE=$2; shift 2 ;;
	*) echo "bench/derp.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
done
make -s -C "$TOP/relay"
tmp=$(mktemp -d)
cc -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$TOP/relay" \
	$(pkg-config --cflags libsodium) -o "$tmp/derp_bench" \
	"$HERE/derp_bench.c" "$TOP/relay/derp_frame.c" $(pkg-config --libs libsodium) -pthread
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ulimit -n $((IDLE + 100)) 2>/dev/null || true
"$TOP/relay/meshwg-derper" --http -a "127.0.0.1:$port" --stun-port 0 \
	--max-conns $((IDLE + 100)) -c "$tmp/key.json" 2>"$tmp/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do
	curl -sf "http://127.0.0.1:$port/derp/probe" >/dev/null && break
	sleep 0.1
done
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
"$tmp/derp_bench" "$port" "$TIME" "$SIZE" 0
base=$(rss)
"$tmp/derp_bench" "$port" "$TIME" "$SIZE" "$IDLE" &
bench=$!
# Measured while the idle clients are connected and the pair is running
# (the bench closes everything when it ends): an upper bound.
sleep $((TIME / 2 + 1))
loaded=$(rss)
wait $bench
echo "server RSS: $base KiB before, $loaded KiB with $IDLE idle clients and the pair running:" \
	"$(( (loaded - base) * 1024 / IDLE )) bytes per idle connection (upper bound)"
