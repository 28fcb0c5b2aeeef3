# SPDX-License-Identifier: GPL-2.0
# Helpers sourced by the VM suites (tests/vm/suites/*.sh), inside the VM.
#
#   check NAME CMD...     run CMD, record PASS/FAIL for NAME (kernel, suite)
#   mcheck NAME CMD...    same, but FAILS at once if meshwg.ko or tools/meshwg
#                         is unavailable (when IMPL is meshwg)
#   fail NAME REASON      record a failure without running anything
#   retry SECS CMD...     poll CMD until it succeeds or SECS elapse
#   ns_setup / ns_teardown  the three-namespace topology (see below)
#   n0|n1|n2 CMD...       run CMD in the middle / first / second namespace
#   wg_add NS IMPL IF     create a WireGuard interface: IMPL is meshwg,
#                         wireguard (wireguard.ko) or wggo (wireguard-go)
#   wgc NS IMPL ARGS...   `meshwg wg ARGS` or `wg ARGS` in NS, per IMPL
#   wait_handshake NS IMPL IF PUBKEY [SECS]
#   suite_end             teardown, rmmod meshwg, exit with the suite status
#
# Topology (modelled on upstream WireGuard's netns.sh, but routed so that
# userspace peers and NAT work): $NS1 --veth-- $NS0 --veth-- $NS2.
#   NS1 outer: 192.168.1.1/24 fd00:1::1/64, NS2 outer: 192.168.2.2/24 fd00:2::2/64,
#   NS0 routes between them (.254 / ::254 on each side).
# Inner (tunnel) addresses conventionally 10.0.0.1/24 fd00:aa::1/64 (NS1)
# and 10.0.0.2/24 fd00:aa::2/64 (NS2).

: "${KVER:=$(uname -r)}"
: "${MESHWG_SUITE:=adhoc}"
: "${MESHWG_VM_RESULTS:=/tmp/meshwg-results}"
: "${REPO:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${IMPL:=meshwg}"
: "${MOD_STATUS:=unknown}"
# HELPERS: where run.sh built tests/vm/helpers (CACHE/bin/HASH).
export PATH="$REPO/tools${HELPERS:+:$HELPERS}:$PATH"

CHECKS_FAILED=0
CHECKS_PASSED=0
LOGDIR=$(mktemp -d "/tmp/$MESHWG_SUITE.XXXXXX")
NS0=mw0-$$ NS1=mw1-$$ NS2=mw2-$$

_record() {
	printf '%s\t%s\t%s\t%s\n' "$1" "$KVER" "$MESHWG_SUITE" "$2" >>"$MESHWG_VM_RESULTS"
}

fail() {
	local name=$1
	shift
	_record FAIL "$name"
	CHECKS_FAILED=$((CHECKS_FAILED + 1))
	echo "FAIL $MESHWG_SUITE/$name: $*"
}

check() {
	local name=$1 out rc t0=$SECONDS
	shift
	out=$LOGDIR/check.out
	"$@" >"$out" 2>&1 </dev/null
	rc=$?
	if [ $rc = 0 ]; then
		_record PASS "$name"
		CHECKS_PASSED=$((CHECKS_PASSED + 1))
		echo "ok   $MESHWG_SUITE/$name ($((SECONDS - t0))s)"
	else
		_record FAIL "$name"
		CHECKS_FAILED=$((CHECKS_FAILED + 1))
		echo "FAIL $MESHWG_SUITE/$name (status $rc): $*"
		tail -n 25 "$out" | sed 's/^/     | /'
	fi
	return $rc
}

# Why meshwg cannot be used, or nothing.  Probed once.
MESHWG_MISSING=""
_probe_meshwg() {
	[ -n "${_MESHWG_PROBED:-}" ] && return
	_MESHWG_PROBED=1
	if [ "$MOD_STATUS" != ok ]; then
		MESHWG_MISSING=$MOD_STATUS
	elif ! modinfo meshwg >/dev/null 2>&1; then
		MESHWG_MISSING="meshwg.ko is not in /lib/modules/$KVER"
	elif [ ! -x "$REPO/tools/meshwg" ]; then
		MESHWG_MISSING="tools/meshwg is not built (make tools)"
	fi
}

# Is the implementation used for "meshwg" sides actually meshwg?
uses_meshwg() { [ "$IMPL" = meshwg ]; }

mcheck() {
	local name=$1
	if uses_meshwg; then
		_probe_meshwg
		if [ -n "$MESHWG_MISSING" ]; then
			fail "$name" "$MESHWG_MISSING"
			return 1
		fi
	fi
	check "$@"
}

# retry SECS CMD...: polls CMD (every 0.1 s) until it succeeds; fails after SECS.
retry() {
	local secs=$1 end
	shift
	end=$((SECONDS + secs))
	while :; do
		"$@" && return 0
		[ "$SECONDS" -ge "$end" ] && { echo "retry: gave up after ${secs}s: $*" >&2; return 1; }
		sleep 0.1
	done
}

n0() { ip netns exec "$NS0" "$@"; }
n1() { ip netns exec "$NS1" "$@"; }
n2() { ip netns exec "$NS2" "$@"; }

ns_setup() {
	ns_teardown
	ip -batch - <<-EOF || return 1
	netns add $NS0
	netns add $NS1
	netns add $NS2
	EOF
	ip -n "$NS0" -batch - <<-EOF || return 1
	link set lo up
	link add veth1 type veth peer name eth0 netns $NS1
	link add veth2 type veth peer name eth0 netns $NS2
	addr add 192.168.1.254/24 dev veth1
	addr add fd00:1::254/64 dev veth1 nodad
	addr add 192.168.2.254/24 dev veth2
	addr add fd00:2::254/64 dev veth2 nodad
	link set veth1 up
	link set veth2 up
	EOF
	ip -n "$NS1" -batch - <<-EOF || return 1
	link set lo up
	addr add 192.168.1.1/24 dev eth0
	addr add fd00:1::1/64 dev eth0 nodad
	link set eth0 up
	route add default via 192.168.1.254
	route add default via fd00:1::254
	EOF
	ip -n "$NS2" -batch - <<-EOF || return 1
	link set lo up
	addr add 192.168.2.2/24 dev eth0
	addr add fd00:2::2/64 dev eth0 nodad
	link set eth0 up
	route add default via 192.168.2.254
	route add default via fd00:2::254
	EOF
	n0 sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward && echo 1 >/proc/sys/net/ipv6/conf/all/forwarding'
}

ns_teardown() {
	local n p
	for n in "$NS1" "$NS2" "$NS0"; do
		[ -e "/run/netns/$n" ] || continue
		p=$(ip netns pids "$n" 2>/dev/null)
		[ -n "$p" ] && kill $p 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
	return 0
}

# Kinds of implementation: meshwg, wireguard (wireguard.ko), wggo (wireguard-go).
# "meshwg" means $IMPL, so IMPL=wireguard turns meshwg sides into wireguard.ko.
_impl() {
	case "$1" in
	meshwg) echo "$IMPL" ;;
	*) echo "$1" ;;
	esac
}

wg_add() {   # NS IMPL IF
	local ns=$1 impl if=$3
	impl=$(_impl "$2")
	case "$impl" in
	meshwg) ip -n "$ns" link add dev "$if" type meshwg ;;
	wireguard) ip -n "$ns" link add dev "$if" type wireguard ;;
	wggo)
		# Foreground in the background: its daemon mode loses the child
		# in this environment. ns_teardown kills it.
		rm -f "/run/wireguard/$if.sock"
		ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 wireguard-go "$if" \
			>"$LOGDIR/wireguard-go-$if.log" 2>&1 </dev/null &
		retry 20 test -S "/run/wireguard/$if.sock" &&
			retry 20 ip -n "$ns" link show "$if" >/dev/null ;;
	*) echo "wg_add: unknown implementation '$impl'" >&2; return 1 ;;
	esac
}

wgc() {   # NS IMPL ARGS...
	local ns=$1 impl
	impl=$(_impl "$2")
	shift 2
	case "$impl" in
	meshwg) ip netns exec "$ns" meshwg wg "$@" ;;
	wggo) timeout 60 ip netns exec "$ns" wg "$@" ;;
	*) ip netns exec "$ns" wg "$@" ;;
	esac
}

latest_handshake() {   # NS IMPL IF PUBKEY -> seconds since epoch (0 if none)
	wgc "$1" "$2" show "$3" latest-handshakes | awk -v k="$4" '$1 == k { print $2 }'
}

_handshake_after() {   # NS IMPL IF PUBKEY AFTER
	local t
	t=$(latest_handshake "$1" "$2" "$3" "$4")
	[ -n "$t" ] && [ "$t" -gt "$5" ]
}

# wait_handshake NS IMPL IF PUBKEY [SECS [AFTER]]: a handshake newer than AFTER.
wait_handshake() {
	retry "${5:-20}" _handshake_after "$1" "$2" "$3" "$4" "${6:-0}"
}

# transfer NS IMPL IF PUBKEY -> "rx tx"
transfer() {
	wgc "$1" "$2" show "$3" transfer | awk -v k="$4" '$1 == k { print $2, $3 }'
}

endpoint_of() {   # NS IMPL IF PUBKEY
	wgc "$1" "$2" show "$3" endpoints | awk -v k="$4" '$1 == k { print $2 }'
}

genkey() { wg genkey; }
pubkey() { echo "$1" | wg pubkey; }

unload_meshwg() {
	local l
	lsmod | grep -q '^meshwg ' || return 0
	for l in $(ip -o link show type meshwg 2>/dev/null | awk -F': ' '{print $2}'); do
		ip link del "${l%@*}" 2>/dev/null
	done
	rmmod meshwg
}

suite_end() {
	ns_teardown
	if lsmod | grep -q '^meshwg '; then
		check "rmmod meshwg" unload_meshwg
	fi
	rm -rf "$LOGDIR"
	echo "== $MESHWG_SUITE: $CHECKS_PASSED passed, $CHECKS_FAILED failed"
	[ "$CHECKS_FAILED" = 0 ]
	exit
}

# ---- mesh helpers (meshwgd + meshwg-control): suites/mesh.sh, demo-guest.sh,
# bench/agent-guest.sh. `mesh_init DIR` first. Topology (`topology [NODES]`):
# a bridge in namespace $LAN; $CTLNS (10.9.0.254, meshwg-control on :8080)
# and node namespaces `nsof N` (10.9.0.N) on it. Per node N: `start_daemon N`
# (meshwgd, state in DIR/nN), `mw N ARGS` (its CLI), `up N KEY`, `learn N`
# (sets A4[N] A6[N] NID[N] WGKEY[N]); `sq N EXPR` / `st N EXPR` evaluate a
# Python expression over its `meshwg status --json` (s; peers(), peer(h),
# hosts(), hits(rule)). `mesh_teardown` kills everything and deletes the
# namespaces.
CTLBIN=$REPO/control/meshwg-control
MESHWGD=$REPO/agent/meshwgd
URL=http://10.9.0.254:8080
LAN=mwlan-$$
CTLNS=mwctl-$$
declare -A DPID A4 A6 NID WGKEY KEEPIF
SPID=""
APIKEY=""
MESH_DIR=""
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)

nsof() { echo "mwn$1-$$"; }
inn() { local n=$1; shift; ip netns exec "mwn$n-$$" "$@"; }
inctl() { ip netns exec "$CTLNS" "$@"; }
# mw N ARGS: the CLI of node N (bounded: a hung daemon fails the check)
mw() { local n=$1; shift; ip netns exec "mwn$n-$$" env MESHWG_SOCKET="$MESH_DIR/n$n/sock" timeout 120 meshwg "$@"; }
ctl() { "$CTLBIN" --config "$MESH_DIR/control.json" "$@"; }
api() {   # METHOD PATH [curl args]
	local m=$1 p=$2
	shift 2
	inctl curl -sS -f --max-time 30 -X "$m" -H "Authorization: Bearer $APIKEY" "$@" "$URL$p"
}
now_ms() { local t=$EPOCHREALTIME; echo $((${t%.*} * 1000 + 10#${t#*.} / 1000)); }
# stamp: prefixes each line with the time (seconds.microseconds) it was read
stamp() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }

# Why the daemon scenarios cannot run, or nothing.
AGENT_MISSING=""
_probe_agent() {
	_probe_meshwg
	if [ -n "$MESHWG_MISSING" ]; then
		AGENT_MISSING=$MESHWG_MISSING
	elif [ ! -x "$MESHWGD" ]; then
		AGENT_MISSING="agent/meshwgd is not built (make agent)"
	elif ! meshwg up --help >/dev/null 2>&1; then
		AGENT_MISSING="tools/meshwg has no 'up' verb"
	elif [ ! -x "$CTLBIN" ]; then
		AGENT_MISSING="control/meshwg-control is not built (make control)"
	fi
}
mesh_init() {   # DIR: work directory of the mesh helpers
	MESH_DIR=$1
	mkdir -p "$MESH_DIR" || return 1
	cat >"$MESH_DIR/sq.py" <<'EOF'
# sq.py EXPR [test]: evaluates EXPR over the status JSON on stdin (s).
import json, sys
d = json.load(sys.stdin)
if "backend_state" not in d and isinstance(d.get("status"), dict):
    d = d["status"]
s = d
def peers():
    return s.get("peers") or []
def peer(h):
    for p in peers():
        if p.get("hostname") == h:
            return p
    return None
def hosts():
    return sorted(p.get("hostname") for p in peers())
def hits(r):
    return r.get("hits", r.get("packets", 0))
r = eval(sys.argv[1])
if len(sys.argv) > 2:
    if not r:
        sys.stderr.write("status: %s\nfalse: %s\n" % (json.dumps(s)[:1500], sys.argv[1]))
    sys.exit(0 if r else 1)
print(json.dumps(r) if isinstance(r, (dict, list)) else r)
EOF
	echo '{"backoff_max": "2s", "stream_timeout": "15s", "endpoint_interval": "2s"}' >"$MESH_DIR/meshwgd.json"
}
sq() { local n=$1; mw "$n" status --json | python3 "$MESH_DIR/sq.py" "$2"; }
st() { local n=$1; mw "$n" status --json | python3 "$MESH_DIR/sq.py" "$2" test; }
stq() { st "$@" 2>/dev/null; }
# wst SECS N EXPR: waits for EXPR to hold on node N; prints the status if not
wst() { retry "$1" stq "$2" "$3" || st "$2" "$3"; }

# ---- topology --------------------------------------------------------------

topology() {   # [NODES...] (default 1 2 3 4)
	local n a nodes=${*:-1 2 3 4}
	ip netns add "$LAN" && ip -n "$LAN" link set lo up &&
	ip -n "$LAN" link add br0 type bridge && ip -n "$LAN" link set br0 up || return 1
	for n in ctl $nodes; do
		local ns=$CTLNS
		a=254
		[ "$n" != ctl ] && ns=$(nsof "$n") && a=$n
		ip netns add "$ns" &&
		ip -n "$LAN" link add "v$n" type veth peer name eth0 netns "$ns" &&
		ip -n "$LAN" link set "v$n" master br0 up &&
		ip -n "$ns" link set lo up &&
		ip -n "$ns" addr add "10.9.0.$a/24" dev eth0 &&
		ip -n "$ns" link set eth0 up || return 1
	done
	for n in $nodes; do
		retry 10 inn "$n" ping -c1 -W1 10.9.0.254 >/dev/null || return 1
	done
}

mesh_teardown() {
	local n p l
	for n in "${!DPID[@]}"; do kill -9 "${DPID[$n]}" 2>/dev/null; done
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	pg_stop
	for n in "$LAN" "$CTLNS" $(ip netns list | awk '{print $1}' | grep -- "^mwn[0-9]*-$$\$"); do
		[ -e "/run/netns/$n" ] || continue
		p=$(ip netns pids "$n" 2>/dev/null)
		[ -n "$p" ] && kill -9 $p 2>/dev/null
		# a killed daemon leaves its interface: delete it now, so that
		# rmmod does not race the namespace's asynchronous cleanup
		for l in $(ip -n "$n" -o link show type meshwg 2>/dev/null | awk -F': ' '{print $2}'); do
			ip -n "$n" link del "${l%@*}" 2>/dev/null
		done
		ip netns del "$n" 2>/dev/null
	done
	wait 2>/dev/null
	return 0
}

# ---- control server ---------------------------------------------------------

server_config() {   # DATABASE-JSON
	cat >"$MESH_DIR/control.json" <<EOF
{
  "listen": "10.9.0.254:8080",
  "server_url": "$URL",
  "insecure_http": true,
  "database": $1,
  "base_domain": "mesh.test",
  "keepalive_interval": "5s",
  "change_poll_interval_ms": 100
}
EOF
}

# Background processes are started as simple commands (ip netns exec
# execs): $! is then the server's or daemon's own pid, not a subshell's.
start_server() {
	ip netns exec "$CTLNS" "$CTLBIN" --config "$MESH_DIR/control.json" serve \
		> >(stamp >>"$MESH_DIR/server.log") 2>&1 &
	SPID=$!
	retry 30 inctl curl -fsS --max-time 2 "$URL/health" >/dev/null 2>&1 &&
		kill -0 "$SPID" 2>/dev/null || { tail -n 20 "$MESH_DIR/server.log"; return 1; }
}

stop_server() {   # [SIGNAL]
	[ -n "$SPID" ] || return 0
	kill -"${1:-TERM}" "$SPID" 2>/dev/null
	retry 20 sh -c "! kill -0 $SPID 2>/dev/null" || return 1
	wait "$SPID" 2>/dev/null
	SPID=""
}

# ---- nodes ------------------------------------------------------------------


start_daemon() {   # N [meshwgd options]
	local n=$1
	shift
	mkdir -p "$MESH_DIR/n$n"
	ip netns exec "$(nsof "$n")" "$MESHWGD" --state-dir "$MESH_DIR/n$n/state" \
		--socket "$MESH_DIR/n$n/sock" --interface meshwg0 \
		--config "$MESH_DIR/meshwgd.json" --log-level debug "$@" \
		> >(stamp >>"$MESH_DIR/n$n.log") 2>&1 &
	DPID[$n]=$!
	KEEPIF[$n]=""
	case " $* " in *" --keep-interface "*) KEEPIF[$n]=1 ;; esac
	retry 20 test -S "$MESH_DIR/n$n/sock" && kill -0 "${DPID[$n]}" 2>/dev/null ||
		{ tail -n 20 "$MESH_DIR/n$n.log"; return 1; }
}

stop_daemon() {   # N [SIGNAL]
	local n=$1 p=${DPID[$1]:-}
	[ -n "$p" ] || return 0
	kill -"${2:-TERM}" "$p" 2>/dev/null
	retry 20 sh -c "! kill -0 $p 2>/dev/null" || return 1
	wait "$p" 2>/dev/null
	local rc=$?
	unset "DPID[$n]"
	echo "meshwgd of n$n exited with status $rc"
	[ "${2:-TERM}" != TERM ] || [ $rc = 0 ]
}

up() {   # N KEY
	mw "$1" up --login-server "$URL" --auth-key "$2" --hostname "n$1"
}

learn() {   # N: tailnet addresses, node id, WireGuard public key
	local n=$1
	A4[$n]=$(sq "$n" 's["self"]["addresses"][0].split("/")[0]') &&
	A6[$n]=$(sq "$n" 's["self"]["addresses"][1].split("/")[0]') &&
	NID[$n]=$(sq "$n" 's["self"]["id"]') &&
	WGKEY[$n]=$(inn "$n" meshwg wg show meshwg0 public-key) || return 1
	echo "n$n: ${A4[$n]} ${A6[$n]} id ${NID[$n]} key ${WGKEY[$n]}"
	case "${A4[$n]}" in 100.*) ;; *) return 1 ;; esac
	case "${A6[$n]}" in fd7a:*) ;; *) return 1 ;; esac
}

# kernel view: does node N have peer M's WireGuard key?
kpeer() { inn "$1" meshwg wg show meshwg0 peers | grep -qxF "${WGKEY[$2]}"; }
nokpeer() { ! kpeer "$@"; }
# number of rules of node N's installed kernel filter (-1: none)
krules() {
	local out
	out=$(inn "$1" meshwg filter show meshwg0 2>/dev/null) || { echo -2; return; }
	if echo "$out" | grep -q '"installed": *false'; then echo -1; return; fi
	echo "$out" | grep -o '"action"' | wc -l
}
krules_is() { [ "$(krules "$1")" = "$2" ]; }

pings() {   # FROM TO [-6]
	if [ "${3:-}" = -6 ]; then
		inn "$1" ping -6 -c1 -W3 "${A6[$2]}" >/dev/null
	else
		inn "$1" ping -c1 -W3 "${A4[$2]}" >/dev/null
	fi
}
ping_ok() { retry 20 pings "$@" || { echo "n$1 cannot ping n$2 $3"; return 1; }; }
ping_denied() { ! inn "$1" ping -c2 -W2 "${A4[$2]}" >/dev/null || { echo "n$1 pinged n$2"; return 1; }; }

iperf_srv() {   # N PORT
	rm -f "$MESH_DIR/srv.$2.pid"
	inn "$1" iperf3 -s -D -1 -p "$2" -I "$MESH_DIR/srv.$2.pid" --logfile "$MESH_DIR/srv.$2.log" || return 1
	retry 10 inn "$1" sh -c "ss -ltn | grep -q ':$2 '"
}
iperf_srv_kill() { kill "$(cat "$MESH_DIR/srv.$1.pid" 2>/dev/null)" 2>/dev/null; return 0; }
iperf_run() {   # FROM TO PORT AMOUNT
	iperf_srv "$2" "$3" || return 1
	timeout 240 ip netns exec "$(nsof "$1")" iperf3 -c "${A4[$2]}" -p "$3" -n "$4" >"$MESH_DIR/iperf.out" 2>&1
	local rc=$?
	grep -E 'sender|receiver|error' "$MESH_DIR/iperf.out"
	iperf_srv_kill "$3"
	[ $rc = 0 ] && grep -q receiver "$MESH_DIR/iperf.out"
}
iperf_denied() {   # FROM TO PORT
	iperf_srv "$2" "$3" || return 1
	timeout 15 ip netns exec "$(nsof "$1")" iperf3 -c "${A4[$2]}" -p "$3" -n 1M >/dev/null 2>&1
	local rc=$?
	iperf_srv_kill "$3"
	[ $rc != 0 ] || { echo "iperf3 n$1 -> n$2:$3 went through"; return 1; }
}

# ---- PostgreSQL -------------------------------------------------------------

PG_UP=""
pg_stop() {
	[ -n "$PG_UP" ] || return 0
	inctl runuser -u nobody -- "$PGBIN/pg_ctl" -D "$MESH_DIR/pg" -m immediate stop >/dev/null 2>&1
	PG_UP=""
}

pg_start() {
	[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL is not installed"; return 1; }
	mkdir -p "$MESH_DIR/pg" "$MESH_DIR/pgsock" && chown nobody "$MESH_DIR/pg" "$MESH_DIR/pgsock" && chmod 755 "$MESH_DIR" || return 1
	runuser -u nobody -- "$PGBIN/initdb" -D "$MESH_DIR/pg" -A trust -U mwg >"$MESH_DIR/initdb.log" 2>&1 ||
		{ tail -n 20 "$MESH_DIR/initdb.log"; return 1; }
	inctl runuser -u nobody -- "$PGBIN/pg_ctl" -D "$MESH_DIR/pg" -l "$MESH_DIR/pg/log" -w -t 120 -o \
		"-p 5432 -k $MESH_DIR/pgsock -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null 2>&1 ||
		{ tail -n 20 "$MESH_DIR/pg/log"; return 1; }
	PG_UP=1
	inctl runuser -u nobody -- "$PGBIN/createdb" -h 127.0.0.1 -p 5432 -U mwg meshwg
}
