#!/bin/bash
# Benchmark of meshwg-control (run by hand; not part of make check).
#
#   bench/control_bench.sh [NODES] [GROUP] [THREADS]     (default 10000 50 4)
#
# Starts a server on loopback with a fresh SQLite database, a policy giving
# every user's GROUP nodes visibility of each other, and reports:
#   - policy compile time and memory for 1,000 rules over NODES nodes,
#   - registrations per second over HTTP (THREADS concurrent clients),
#   - time for NODES map streams to get their full maps,
#   - latency from one node's endpoint change to every affected stream
#     having its delta (and that unaffected streams got nothing),
#   - latency of a policy change reaching every stream,
#   - the server's memory.
set -eu
NODES=${1:-10000}
GROUP=${2:-50}
THREADS=${3:-4}
HERE=$(cd "$(dirname "$0")" && pwd)
CTL=$HERE/../control
make -s -C "$CTL" all >/dev/null
TMP=$(mktemp -d /tmp/mwg-bench-XXXXXX)
SPID=
trap '[ -n "$SPID" ] && kill $SPID 2>/dev/null; rm -rf "$TMP"' EXIT
CF="-O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread -I$CTL $(pkg-config --cflags libcjson)"
cc $CF -o "$TMP/control_bench" "$HERE/control_bench.c" "$CTL/client/libmwgc.a" "$CTL/libcontrol.a" \
	"$HERE/../lib/libmeshwg.a" \
	$(pkg-config --libs libcjson libsodium libcurl) -pthread
B=$TMP/control_bench
BIN=$CTL/meshwg-control
ulimit -n "$(ulimit -Hn)"

echo "== policy compile"
"$B" compile "$NODES" 1000

PORT=$(shuf -i 20000-32000 -n 1)
cat >"$TMP/cfg.json" <<EOC
{"listen": "127.0.0.1:$PORT", "server_url": "http://127.0.0.1:$PORT",
 "database": {"type": "sqlite", "path": "$TMP/control.db"},
 "keepalive_interval": "600s", "change_poll_interval_ms": 100,
 "max_connections": 40000, "max_connections_per_ip": 40000, "threads": 4}
EOC
ctl() { "$BIN" --config "$TMP/cfg.json" "$@"; }
USERS=$(( (NODES + GROUP - 1) / GROUP ))
echo "== setup: $USERS users of $GROUP nodes"
for u in $(seq 0 $((USERS - 1))); do
	ctl users create "u$u" >/dev/null
	ctl preauthkeys create --user "u$u" --reusable --expiration 24h
done >"$TMP/keys"
USERS=$USERS "$B" policy >"$TMP/policy.json"
ctl policy set "$TMP/policy.json" >/dev/null
APIKEY=$(ctl apikeys create)
"$BIN" --config "$TMP/cfg.json" serve 2>"$TMP/server.log" &
SPID=$!
for i in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
RSS0=$(awk '/VmRSS/ {print $2}' /proc/$SPID/status)

echo "== load: $NODES nodes"
"$B" load "http://127.0.0.1:$PORT" "$APIKEY" "$NODES" "$GROUP" "$TMP/keys" "$THREADS"
echo "== server memory: RSS $(awk '/VmRSS/ {print $2}' /proc/$SPID/status) KiB, peak $(awk '/VmHWM/ {print $2}' /proc/$SPID/status) KiB (idle at start: $RSS0 KiB)"
curl -fs "http://127.0.0.1:$PORT/health"; echo
