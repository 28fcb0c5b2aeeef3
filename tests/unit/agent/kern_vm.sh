#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# meshwgd's kernel side (agent/kern.c) against the real module, driven by
# tests/unit/agent/kern_try. Needs the VM (tests/vm/run.sh):
#
#   tests/vm/run.sh --kernel 6.1 --cmd '. $REPO/tests/unit/agent/kern_vm.sh'
#
# or as a suite body (MESHWG_SUITE set, lib.sh sourced). Checks:
#   link       kern_up creates a meshwg link, up, with a bound port
#   apply      addresses, tailnet routes, peers (wg show) match the netmap
#   diff       same netmap again: messages=0; one endpoint change: one message
#   filter     packet_filter installed before peers, cleared, only when changed
#   badfilter  a filter the kernel refuses: its reason, old filter kept, no peer added
#   remove     a peer gone and an address changed are removed
#   malformed  a bad netmap fails and changes nothing
#   adopt      a new process adopts the link: first apply is a diff (0 messages)
#   lowkey     a peer with a low-order key is installed (the kernel accepts it, as
#              upstream does, and never handshakes with it), then removed
#   status     kern_status() JSON
#   routes     accept_routes installs approved subnet routes, drops them after
#   noclobber  an approved route the machine already has is left alone
#   routedump  with 50,000 routes in another table and 2,000 in the main one on
#              another device, a route sync receives only meshwgd's own routes
#              (the kernel filters the dump by table, protocol and device)
#   events     a handshake from a peer reaches the event callback
#   big        10,000 peers in one batched apply; again: 0; 1-peer delta: 1
#   steps      10,000 peers in steps of 1,000 (meshwgd's way); again: 0; an
#              apply cancelled after its first step, then done: only the rest
#   down       kern_down deletes the link
[ -n "$CHECKS_PASSED" ] || . "$REPO/tests/vm/lib.sh"

KT=$REPO/tests/unit/agent/kern_try
KD=$(mktemp -d /tmp/kern_vm.XXXXXX)
KNS=ktry-$$ KNS2=ktry2-$$ KNS3=ktry3-$$
kn() { ip netns exec "$KNS" "$@"; }
kn2() { ip netns exec "$KNS2" "$@"; }
kn3() { ip netns exec "$KNS3" "$@"; }
K1=nodekey:$(wg genkey | wg pubkey | base64 -d | od -An -tx1 | tr -d ' \n')
K2=nodekey:$(wg genkey | wg pubkey | base64 -d | od -An -tx1 | tr -d ' \n')
K3=nodekey:$(wg genkey | wg pubkey | base64 -d | od -An -tx1 | tr -d ' \n')
b64() { python3 -c 'import base64, sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "${1#nodekey:}"; }

# netmap SELF4 FILTER PEERS...: PEERS are "KEY ADDR4 ENDPOINT [ROUTE]"
netmap() {
	local self=$1 filter=$2 sep="" p k a e r
	shift 2
	printf '{"type":"full","self":{"id":1,"addresses":["%s","fd7a:115c:a1e0::1/128"]},' "$self"
	printf '"packet_filter":%s,"peers":[' "$filter"
	for p in "$@"; do
		set -- $p
		k=$1 a=$2 e=$3 r=${4:-}
		printf '%s{"node_key":"%s","addresses":["%s"],"allowed_ips":["%s"%s],"routes":[%s],' \
			"$sep" "$k" "$a" "$a" "${r:+,\"$r\"}" "${r:+\"$r\"}"
		printf '"endpoints":["bogus","%s"]}' "$e"
		sep=,
	done
	printf ']}\n'
}
FILTER='[{"action":"accept","src":["100.64.0.0/10"],"dst":[{"prefix":"100.64.0.1/32","first_port":0,"last_port":65535}],"protos":[]}]'
P1="$K1 100.64.0.2/32 192.0.2.9:41641" P2="$K2 100.64.0.3/32 192.0.2.3:41641 10.1.0.0/24"
netmap 100.64.0.1/32 null "$K1 100.64.0.2/32 192.0.2.1:41641" "$P2" >"$KD/a.json"
netmap 100.64.0.1/32 null "$P1" "$P2" >"$KD/b.json"
netmap 100.64.0.1/32 "$FILTER" "$P1" "$P2" >"$KD/c.json"
netmap 100.64.0.7/32 null "$P1" >"$KD/d.json"
netmap 100.64.0.7/32 null "$P1" "$K3 100.64.0.300/32 192.0.2.4:1" >"$KD/bad.json"
netmap 100.64.0.1/32 null "$P1" "$P2" >"$KD/e.json"
# 800 sources x 700 destinations x 4 protocols: over the kernel's atom limit
BIGF=$(python3 -c '
import json
src = ["10.%d.%d.1/32" % (i // 250, i % 250) for i in range(800)]
dst = [{"prefix": "10.200.%d.%d/32" % (i // 250, i % 250), "first_port": 0, "last_port": 65535} for i in range(700)]
print(json.dumps([{"action": "accept", "src": src, "dst": dst, "protos": []}]))')
netmap 100.64.0.1/32 "$BIGF" "$P1" "$P2" "$K3 100.64.0.9/32 192.0.2.5:1" >"$KD/bigfilter.json"
# a low-order (all-zero) public key: accepted by the kernel, never handshakes
netmap 100.64.0.7/32 null "$P1" "nodekey:$(printf '0%.0s' $(seq 64)) 100.64.0.9/32 192.0.2.5:1" >"$KD/lowkey.json"

# stats FILE N: the Nth "added=..." line kern_try printed
stats() { grep '^added=' "$1" | sed -n "$2p"; }
has() { grep -q -- "$1" "$2" || { echo "missing: $1"; cat "$2"; return 1; }; }
hasnt() { ! grep -q -- "$1" "$2" || { echo "unexpected: $1"; cat "$2"; return 1; }; }

t_link() {
	kn "$KT" -i mwk0 up >"$KD/up.out" || { cat "$KD/up.out"; return 1; }
	has "^port [1-9]" "$KD/up.out" &&
	kn ip -d link show mwk0 | tee "$KD/link" | grep -q meshwg &&
	has "UP" "$KD/link"
}

t_apply() {
	kn "$KT" -i mwk0 up apply "$KD/a.json" apply "$KD/a.json" apply "$KD/b.json" \
		apply "$KD/c.json" apply "$KD/c.json" >"$KD/seq.out" || { cat "$KD/seq.out"; return 1; }
	cat "$KD/seq.out"
	kn meshwg wg show mwk0 dump >"$KD/show" && kn ip addr show dev mwk0 >"$KD/addr" &&
	kn ip route show dev mwk0 >"$KD/r4" && kn ip -6 route show dev mwk0 >"$KD/r6" &&
	kn meshwg filter show mwk0 >"$KD/filter" || return 1
	has "$(b64 "$K1")	(none)	192.0.2.9:41641	100.64.0.2/32	" "$KD/show" &&
	has "$(b64 "$K2")	(none)	192.0.2.3:41641	100.64.0.3/32	" "$KD/show" &&
	has "inet 100.64.0.1/32" "$KD/addr" && has "inet6 fd7a:115c:a1e0::1/128" "$KD/addr" &&
	has "100.64.0.0/10 proto 109" "$KD/r4" && has "fd7a:115c:a1e0::/48 proto 109" "$KD/r6" &&
	hasnt "10.1.0.0/24" "$KD/r4" &&
	has '"installed":[[:space:]]*true' "$KD/filter"
}

t_diff() {
	# line 2: the same netmap again; line 3: one endpoint changed
	stats "$KD/seq.out" 2 | grep -q "added=0 removed=0 changed=0 unchanged=2 messages=0 filter_changed=0" &&
	stats "$KD/seq.out" 3 | grep -q "changed=1 unchanged=1 messages=1 filter_changed=0" &&
	stats "$KD/seq.out" 1 | grep -q "added=2 removed=0 changed=0 unchanged=0 messages=1 filter_changed=0"
}

t_filter() {
	# c: the filter appears (peers unchanged: no peer message); c again: nothing
	stats "$KD/seq.out" 4 | grep -q "unchanged=2 messages=0 filter_changed=1" &&
	stats "$KD/seq.out" 5 | grep -q "unchanged=2 messages=0 filter_changed=0" &&
	# a new process (meshwgd restarted) finds the same filter installed: kept
	kn "$KT" -i mwk0 up apply "$KD/c.json" >"$KD/c2.out" &&
	has "unchanged=2 messages=0 filter_changed=0" "$KD/c2.out"
}

t_badfilter() {
	# refused: the error carries the kernel's reason, the old filter stays, and
	# the peer the netmap adds is not added (additions come after the filter)
	kn "$KT" -i mwk0 up apply "$KD/bigfilter.json" >"$KD/bf.out"
	cat "$KD/bf.out"
	kn meshwg filter show mwk0 >"$KD/filter" && kn meshwg wg show mwk0 peers >"$KD/peers" &&
	has "error: -7: the kernel refused the packet filter: .*: ruleset too large" "$KD/bf.out" &&
	has '"100.64.0.0/10"' "$KD/filter" && hasnt "$(b64 "$K3")" "$KD/peers" &&
	[ "$(wc -l <"$KD/peers")" = 2 ]
}

t_remove() {
	kn "$KT" -i mwk0 up apply "$KD/d.json" >"$KD/d.out" || { cat "$KD/d.out"; return 1; }
	cat "$KD/d.out"
	has "removed=1 changed=0 unchanged=1 messages=1 filter_changed=1" "$KD/d.out" &&
	kn meshwg wg show mwk0 dump >"$KD/show" && kn ip addr show dev mwk0 >"$KD/addr" &&
	kn meshwg filter show mwk0 >"$KD/filter" &&
	hasnt "$(b64 "$K2")" "$KD/show" && has "$(b64 "$K1")" "$KD/show" &&
	has "inet 100.64.0.7/32" "$KD/addr" && hasnt "100.64.0.1/32" "$KD/addr" &&
	has '"installed":[[:space:]]*false' "$KD/filter"
}

t_malformed() {
	kn meshwg wg show mwk0 dump >"$KD/before"
	kn "$KT" -i mwk0 up apply "$KD/bad.json" apply "$KD/d.json" >"$KD/bad.out"
	cat "$KD/bad.out"
	has "error: -22: netmap peers\[1\].addresses\[0\] is not a prefix" "$KD/bad.out" &&
	stats "$KD/bad.out" 2 | grep -q "unchanged=1 messages=0" &&
	kn meshwg wg show mwk0 dump >"$KD/after" &&
	diff <(tail -n +2 "$KD/before" | cut -f1-4) <(tail -n +2 "$KD/after" | cut -f1-4)
}

t_adopt() {
	# a fresh process (a restarted meshwgd): reads the peers back, nothing to send
	kn "$KT" -i mwk0 up apply "$KD/d.json" >"$KD/adopt.out"
	cat "$KD/adopt.out"
	has "added=0 removed=0 changed=0 unchanged=1 messages=0" "$KD/adopt.out"
}

t_lowkey() {
	kn "$KT" -i mwk0 up apply "$KD/lowkey.json" >"$KD/low.out" || { cat "$KD/low.out"; return 1; }
	kn meshwg wg show mwk0 peers >"$KD/peers"
	[ "$(wc -l <"$KD/peers")" = 2 ] && has "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" "$KD/peers" &&
	kn "$KT" -i mwk0 up apply "$KD/d.json" >"$KD/ref.out" || { cat "$KD/ref.out"; return 1; }
	kn meshwg wg show mwk0 peers >"$KD/peers"
	[ "$(wc -l <"$KD/peers")" = 1 ] && has "$(b64 "$K1")" "$KD/peers" &&
	stats "$KD/ref.out" 1 | grep -q "added=0 removed=1 changed=0 unchanged=1"
}

t_status() {
	kn "$KT" -i mwk0 up status >"$KD/status.out" || { cat "$KD/status.out"; return 1; }
	grep -v '^port ' "$KD/status.out" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["interface"] == "mwk0", s
assert s["listen_port"] > 0, s
assert len(s["public_key"]) == 44, s
assert s["filter"] is None, s
p = s["peers"][sys.argv[1]]
assert p["endpoint"] == "192.0.2.9:41641", p
assert p["last_handshake"] == 0 and p["rx_bytes"] == 0 and p["acl_drops"] == 0, p
print("status ok")' "$(b64 "$K1")"
}

t_routes() {
	kn "$KT" -r -i mwk0 up apply "$KD/e.json" >"$KD/e.out" || { cat "$KD/e.out"; return 1; }
	kn ip route show dev mwk0 >"$KD/r4" && kn meshwg wg show mwk0 allowed-ips >"$KD/aips" &&
	has "10.1.0.0/24 proto 109" "$KD/r4" && has "10.1.0.0/24" "$KD/aips" &&
	kn "$KT" -i mwk0 up apply "$KD/e.json" >"$KD/e2.out" &&
	kn ip route show dev mwk0 >"$KD/r4" && kn meshwg wg show mwk0 allowed-ips >"$KD/aips" &&
	cat "$KD/e.out" "$KD/e2.out" &&
	hasnt "10.1.0.0/24" "$KD/r4" && hasnt "10.1.0.0/24" "$KD/aips" &&
	has "changed=1 unchanged=1 messages=1" "$KD/e2.out"
}

t_noclobber() {
	# an approved route equal to one the machine has (its LAN) is not taken over
	kn ip link add kd0 type dummy && kn ip addr add 10.1.0.1/24 dev kd0 &&
	kn ip link set kd0 up || return 1
	kn "$KT" -r -i mwk0 up apply "$KD/e.json" >"$KD/nc.out" 2>"$KD/nc.err"
	local rc=$?
	cat "$KD/nc.out" "$KD/nc.err"
	kn ip route show 10.1.0.0/24 >"$KD/r"
	cat "$KD/r"
	kn ip link del kd0
	[ $rc = 0 ] && hasnt "^error" "$KD/nc.out" && has "dev kd0" "$KD/r" && hasnt "mwk0" "$KD/r" &&
	has "not routing 10.1.0.0/24 through mwk0" "$KD/nc.err"
}

t_routedump() {
	python3 -c '
for i in range(50000):
    print("route add 10.%d.%d.0/24 dev kd1 table 100" % (i // 256, i % 256))
for i in range(2000):
    print("route add 172.%d.%d.0/24 dev kd1" % (16 + i // 256, i % 256))' >"$KD/routes.batch"
	kn ip link add kd1 type dummy && kn ip link set kd1 up &&
	kn ip -batch "$KD/routes.batch" || return 1
	kn "$KT" -i mwk0 up apply "$KD/e.json" >"$KD/rd.out"
	local rc=$? n
	kn ip link del kd1
	cat "$KD/rd.out"
	# ours: 100.64.0.0/10 and fd7a:115c:a1e0::/48
	n=$(sed -n 's/.* route_msgs=\([0-9]*\).*/\1/p' "$KD/rd.out")
	echo "route messages received: ${n:-none} (52,000 routes on the machine)"
	[ $rc = 0 ] && [ -n "$n" ] && [ "$n" -ge 2 ] && [ "$n" -le 10 ]
}

t_events() {
	local ka kb pa pb
	ka=$(wg genkey) kb=$(wg genkey)
	echo "$ka" >"$KD/ka" && echo "$kb" >"$KD/kb"
	pa=nodekey:$(echo "$ka" | wg pubkey | base64 -d | od -An -tx1 | tr -d ' \n')
	pb=nodekey:$(echo "$kb" | wg pubkey | base64 -d | od -An -tx1 | tr -d ' \n')
	ip netns add "$KNS2" && ip netns add "$KNS3" &&
	ip link add kva netns "$KNS3" type veth peer name kvb netns "$KNS2" &&
	kn3 ip link set lo up &&
	kn3 ip addr add 192.168.77.1/24 dev kva && kn3 ip link set kva up &&
	kn2 ip addr add 192.168.77.2/24 dev kvb && kn2 ip link set kvb up && kn2 ip link set lo up || return 1
	netmap 100.64.0.1/32 null "$pb 100.64.0.2/32 192.168.77.2:40002" >"$KD/ea.json"
	netmap 100.64.0.2/32 null "$pa 100.64.0.1/32 192.168.77.1:40001" |
		sed 's|fd7a:115c:a1e0::1/128|fd7a:115c:a1e0::2/128|' >"$KD/eb.json"
	kn2 "$KT" -i mwkb -p 40002 -k "$KD/kb" up apply "$KD/eb.json" || return 1
	kn3 "$KT" -i mwke -p 40001 -k "$KD/ka" up apply "$KD/ea.json" events 120 1 >"$KD/ev.out" &
	local bg=$! n
	# ping until the handshake event arrived (kern_try then exits)
	for n in $(seq 60); do
		kn2 ping -c 1 -W 2 100.64.0.1 >/dev/null && grep -q "^event handshake" "$KD/ev.out" && break
		sleep 1
	done
	wait $bg
	cat "$KD/ev.out"
	has "^event handshake $(b64 "$pb")" "$KD/ev.out"
}

t_big() {
	"$KT" gen 10000 "$KD/big.json" && "$KT" gen 10000 "$KD/big1.json" 1 || return 1
	kn "$KT" -i mwk1 up apply "$KD/big.json" apply "$KD/big.json" apply "$KD/big1.json" \
		>"$KD/big.out" || { cat "$KD/big.out"; return 1; }
	cat "$KD/big.out"
	echo "peers: $(kn meshwg wg show mwk1 peers | wc -l)"
	[ "$(kn meshwg wg show mwk1 peers | wc -l)" = 10000 ] &&
	stats "$KD/big.out" 1 | grep -q "added=10000 removed=0 changed=0 unchanged=0" &&
	stats "$KD/big.out" 2 | grep -q "unchanged=10000 messages=0" &&
	stats "$KD/big.out" 3 | grep -q "changed=1 unchanged=9999 messages=1"
}

t_steps() {
	# as meshwgd programs: steps of at most 1,000 peers, the books kept
	# after each (the same netmap again sends nothing)
	kn "$KT" -s 1000 -i mwk2 up apply "$KD/big.json" apply "$KD/big.json" \
		>"$KD/steps.out" || { cat "$KD/steps.out"; return 1; }
	cat "$KD/steps.out"
	[ "$(kn meshwg wg show mwk2 peers | wc -l)" = 10000 ] &&
	stats "$KD/steps.out" 1 | grep -Eq "added=10000 removed=0 changed=0 unchanged=0 .* steps=1[01]$" &&
	stats "$KD/steps.out" 2 | grep -q "unchanged=10000 messages=0 " || return 1
	# cancelled after the first step (a newer netmap came): the next apply
	# sends only what is missing
	kn ip link del mwk2 &&
	kn "$KT" -s 1000 -i mwk2 up start "$KD/big.json" apply "$KD/big.json" >"$KD/cancel.out" ||
		{ cat "$KD/cancel.out"; return 1; }
	cat "$KD/cancel.out"
	local n
	n=$(kn meshwg wg show mwk2 peers | wc -l)
	kn ip link del mwk2
	has "^started=1 " "$KD/cancel.out" &&
	stats "$KD/cancel.out" 1 | grep -q "added=9000 removed=0 changed=0 unchanged=1000 " &&
	[ "$n" = 10000 ]
}

t_down() {
	kn "$KT" -i mwk1 up down && ! kn ip link show mwk1 2>/dev/null
}

modprobe meshwg && ip netns add "$KNS" && kn ip link set lo up
check kern/link t_link
check kern/apply t_apply
check kern/diff t_diff
check kern/filter t_filter
check kern/badfilter t_badfilter
check kern/remove t_remove
check kern/malformed t_malformed
check kern/adopt t_adopt
check kern/lowkey t_lowkey
check kern/status t_status
check kern/routes t_routes
check kern/noclobber t_noclobber
check kern/routedump t_routedump
check kern/events t_events
check kern/big t_big
check kern/steps t_steps
echo "== 10,000-peer apply (one kern_try process: up, full, same, 1-peer delta):"
cat "$KD/big.out" 2>/dev/null
check kern/down t_down
ip netns del "$KNS3" 2>/dev/null
ip netns del "$KNS2" 2>/dev/null
ip netns del "$KNS"
rm -rf "$KD"
suite_end
