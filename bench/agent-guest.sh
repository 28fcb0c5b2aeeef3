# SPDX-License-Identifier: GPL-2.0
# Inside the VM, sourced by run.sh --cmd (tests/vm/lib.sh already sourced):
# the agent benchmark of bench/agent.sh. BENCH_PEERS: size of the big netmap.
: "${BENCH_PEERS:=10000}"
MWGC=$REPO/control/client/mwgc
bdie() {
	echo "agent bench: FAILED: $*"
	local f
	for f in "$MESH_DIR"/n?.log "$MESH_DIR/server.log"; do
		[ -f "$f" ] && { echo "---- $(basename "$f") (last 15 lines)"; tail -n 15 "$f"; }
	done
	mesh_teardown
	ip link del wgb0 2>/dev/null
	ip link del mwb0 2>/dev/null
	unload_meshwg
	exit 1
}
ns_now() { date +%s%N; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# the last "netmap seq" line of node N's log, and how many there are
applied_lines() { grep -c "netmap seq" "$MESH_DIR/n$1.log" 2>/dev/null; }
last_applied() { grep "netmap seq" "$MESH_DIR/n$1.log" | tail -n1 | sed 's/.*netmap seq/netmap seq/'; }
new_applied() { [ "$(applied_lines "$1")" -gt "$2" ]; }
apply_ms() { sed -n 's/.* in \([0-9.]*\) ms.*/\1/p'; }
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

mesh_init /tmp/bench || bdie "mkdir"
_probe_agent
[ -z "$AGENT_MISSING" ] || bdie "$AGENT_MISSING"
modprobe meshwg && modprobe wireguard || bdie "modprobe"
topology 1 2 || bdie "topology"

# ---- 1. up to first ping ----------------------------------------------------
echo "== 1. meshwg up -> first ping reply (two nodes)"
server_config "{\"type\": \"sqlite\", \"path\": \"$MESH_DIR/small.db\"}"
ctl users create alice >/dev/null && KEY=$(ctl preauthkeys create --user alice --reusable) ||
	bdie "server setup"
APIKEY=$(ctl apikeys create) || bdie "apikey"
start_server || bdie "server start"
start_daemon 2 && up 2 "$KEY" >/dev/null && learn 2 >/dev/null || bdie "n2 up"
start_daemon 1 || bdie "n1 meshwgd"
T0=$(ns_now)
rm -f "$MESH_DIR/up1.ms"
( up 1 "$KEY" >"$MESH_DIR/up1.out" 2>&1 && ms_since "$T0" >"$MESH_DIR/up1.ms" ) &
UPPID=$!
end=$((SECONDS + 120))
while ! inn 1 ping -c1 -W1 "${A4[2]}" >/dev/null 2>&1; do
	[ $SECONDS -lt $end ] || bdie "no ping reply from n2 after 120 s"
	kill -0 $UPPID 2>/dev/null || [ -s "$MESH_DIR/up1.ms" ] || { cat "$MESH_DIR/up1.out"; bdie "meshwg up on n1"; }
	sleep 0.05
done
FIRSTPING=$(ms_since "$T0")
wait $UPPID
UPRET=$(cat "$MESH_DIR/up1.ms" 2>/dev/null)
[ -n "$UPRET" ] || { cat "$MESH_DIR/up1.out"; bdie "meshwg up on n1"; }
echo "up returned after $UPRET ms; first ping reply after $FIRSTPING ms"

echo "== 2. HTTP registration rate in the VM (mwgc register, 20 nodes)"
T0=$(ns_now)
for i in $(seq 1 20); do
	"$MWGC" genkey >"$MESH_DIR/rm.$i" && "$MWGC" genkey >"$MESH_DIR/rn.$i" &&
	inctl "$MWGC" -s "$URL" -m "$MESH_DIR/rm.$i" -n "$MESH_DIR/rn.$i" register \
		--auth-key "$KEY" --hostname "r$i" >/dev/null || bdie "registration $i"
done
REGMS=$(ms_since "$T0")
REGRATE=$(awk -v ms="$REGMS" 'BEGIN { printf "%.1f", 20000 / ms }')
echo "20 registrations in $REGMS ms: $REGRATE/s; $BENCH_PEERS would take $(awk -v r="$REGRATE" -v n="$BENCH_PEERS" 'BEGIN { printf "%.0f", n / r }') s"
stop_daemon 1 >/dev/null && stop_daemon 2 >/dev/null && stop_server || bdie "phase 1 teardown"

# ---- 3. a big netmap --------------------------------------------------------
echo "== 3. a netmap of $BENCH_PEERS peers"
server_config "{\"type\": \"sqlite\", \"path\": \"$MESH_DIR/big.db\"}"
ctl users create bulk >/dev/null && ctl users create me >/dev/null &&
	KEY=$(ctl preauthkeys create --user me --reusable) && APIKEY=$(ctl apikeys create) ||
	bdie "big server setup"
T0=$(ns_now)
python3 - "$MESH_DIR/big.db" "$BENCH_PEERS" <<'PYEOF' || bdie "cannot fill the database"
import os, sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
uid = c.execute("SELECT id FROM users WHERE name = 'bulk'").fetchone()[0]
now = int(time.time())
rows = []
for i in range(n):
    rows.append(("mkey:" + os.urandom(32).hex(), "nodekey:" + os.urandom(32).hex(), uid,
                 "bulk%d" % i, "bulk%d" % i,
                 "100.%d.%d.%d" % (100 + (i >> 16), (i >> 8) & 255, i & 255),
                 "fd7a:115c:a1e0::64:%x" % i,
                 '["198.18.%d.%d:41641"]' % ((i >> 8) & 255, i & 255),
                 now, now, now + 180 * 86400))
c.executemany("INSERT INTO nodes (machine_key, node_key, user_id, hostname, given_name,"
              " ipv4, ipv6, endpoints, online, created_at, last_seen, expiry)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)", rows)
c.commit()
PYEOF
echo "$BENCH_PEERS nodes written into the database in $(ms_since "$T0") ms"
T0=$(ns_now)
start_server || bdie "big server start"
echo "control server up after $(ms_since "$T0") ms"

rm -rf "$MESH_DIR/n1"
: >"$MESH_DIR/n1.log"
start_daemon 1 --log-level info || bdie "n1 meshwgd"
T0=$(ns_now)
up 1 "$KEY" >/dev/null || bdie "meshwg up with $BENCH_PEERS peers"
UPBIG=$(ms_since "$T0")
retry 120 new_applied 1 0 || bdie "no 'netmap seq' line in meshwgd's log"
FULL=$(last_applied 1)
FULLMS=$(echo "$FULL" | apply_ms)
NPEERS=$(inn 1 meshwg wg show meshwg0 peers | wc -l)
echo "meshwg up returned after $UPBIG ms"
echo "meshwgd: $FULL"
echo "kernel has $NPEERS peers"
[ "$NPEERS" -ge "$BENCH_PEERS" ] || bdie "only $NPEERS peers programmed"
sleep 2
RSS=$(kib "${DPID[1]}" VmRSS) HWM=$(kib "${DPID[1]}" VmHWM)
echo "meshwgd RSS $RSS KiB (peak $HWM KiB) with $NPEERS peers"

# one-peer deltas: a node registers (+1), a node is deleted (-1)
L=$(applied_lines 1)
"$MWGC" genkey >"$MESH_DIR/xm" && "$MWGC" genkey >"$MESH_DIR/xn" &&
	inctl "$MWGC" -s "$URL" -m "$MESH_DIR/xm" -n "$MESH_DIR/xn" register \
		--auth-key "$KEY" --hostname extra >/dev/null || bdie "extra registration"
retry 30 new_applied 1 "$L" || bdie "no delta applied after a registration"
ADD=$(last_applied 1)
ADDMS=$(echo "$ADD" | apply_ms)
echo "meshwgd, one node registered: $ADD"
L=$(applied_lines 1)
api DELETE /api/v1/nodes/1 >/dev/null || bdie "node delete"
retry 30 new_applied 1 "$L" || bdie "no delta applied after a deletion"
DEL=$(last_applied 1)
DELMS=$(echo "$DEL" | apply_ms)
echo "meshwgd, one node deleted: $DEL"

# ---- 4. the same peers with wg setconf ---------------------------------------
echo "== 4. the same peers into wireguard.ko (wg setconf) and meshwg.ko (meshwg wg setconf)"
inn 1 meshwg wg showconf meshwg0 | grep -v '^ListenPort' >"$MESH_DIR/big.conf" || bdie "showconf"
echo "$(grep -c '^\[Peer\]' "$MESH_DIR/big.conf") peers in the configuration"
# exec overhead of one `wg` run (a read-only one), to read the delta times
T0=$(ns_now)
wg show all listen-port >/dev/null
WGEXEC=$(ms_since "$T0")
ip link add wgb0 type wireguard || bdie "wireguard.ko interface"
T0=$(ns_now)
wg setconf wgb0 "$MESH_DIR/big.conf" || bdie "wg setconf"
WGFULL=$(ms_since "$T0")
NEWK=$(wg genkey | wg pubkey)
T0=$(ns_now)
wg set wgb0 peer "$NEWK" allowed-ips 100.127.255.1/32,fd7a:115c:a1e0::ffff/128 endpoint 198.19.0.1:41641 ||
	bdie "wg set (add)"
WGADD=$(ms_since "$T0")
T0=$(ns_now)
wg set wgb0 peer "$NEWK" remove || bdie "wg set (remove)"
WGDEL=$(ms_since "$T0")
echo "wg setconf: $WGFULL ms; wg set one peer: add $WGADD ms, remove $WGDEL ms ($(wg show wgb0 peers | wc -l) peers); one wg exec: $WGEXEC ms"
ip link add mwb0 type meshwg || bdie "second meshwg interface"
T0=$(ns_now)
meshwg wg setconf mwb0 "$MESH_DIR/big.conf" || bdie "meshwg wg setconf"
MWFULL=$(ms_since "$T0")
echo "meshwg wg setconf (meshwg.ko, no daemon): $MWFULL ms"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "== summary (kernel $(uname -r), $BENCH_PEERS peers, qemu TCG)"
printf '%-46s %10s\n' "meshwg up -> first ping reply (ms)" "$FIRSTPING"
printf '%-46s %10s\n' "meshwg up returned (2 nodes, ms)" "$UPRET"
printf '%-46s %10s\n' "HTTP registrations in the VM (per s)" "$REGRATE"
printf '%-46s %10s\n' "meshwg up with $BENCH_PEERS peers (ms)" "$UPBIG"
printf '%-46s %10s\n' "meshwgd apply $BENCH_PEERS peers (ms)" "$FULLMS"
printf '%-46s %10s\n' "wg setconf $BENCH_PEERS peers, wireguard.ko (ms)" "$WGFULL"
printf '%-46s %10s\n' "meshwg wg setconf $BENCH_PEERS peers (ms)" "$MWFULL"
printf '%-46s %10s\n' "  ratio meshwgd apply / wg setconf" "$(ratio "$FULLMS" "$WGFULL")"
printf '%-46s %10s\n' "meshwgd apply +1 peer (ms)" "$ADDMS"
printf '%-46s %10s\n' "wg set +1 peer (ms, includes exec)" "$WGADD"
printf '%-46s %10s\n' "  (one read-only wg exec, ms)" "$WGEXEC"
printf '%-46s %10s\n' "  ratio" "$(ratio "$ADDMS" "$WGADD")"
printf '%-46s %10s\n' "meshwgd apply -1 peer (ms)" "$DELMS"
printf '%-46s %10s\n' "wg set remove 1 peer (ms, includes exec)" "$WGDEL"
printf '%-46s %10s\n' "  ratio" "$(ratio "$DELMS" "$WGDEL")"
printf '%-46s %10s\n' "meshwgd RSS at $NPEERS peers (KiB)" "$RSS"
printf '%-46s %10s\n' "meshwgd peak RSS (KiB)" "$HWM"

echo
echo "== teardown with $BENCH_PEERS peers (slow under TCG: every peer is freed)"
T0=$(ns_now)
stop_daemon 1 >/dev/null || bdie "meshwgd did not stop"
echo "meshwgd SIGTERM to exit (deletes meshwg0): $(ms_since "$T0") ms"
T0=$(ns_now)
ip link del mwb0
echo "ip link del of the bare meshwg interface: $(ms_since "$T0") ms"
T0=$(ns_now)
ip link del wgb0
echo "ip link del of the wireguard.ko interface: $(ms_since "$T0") ms"
stop_server || bdie "server did not stop"
mesh_teardown
unload_meshwg
rmmod wireguard 2>/dev/null
true
