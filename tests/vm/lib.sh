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
