#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# meshwg.ko's events group and netns handling (K-dev's scenarios):
#
#   events    HANDSHAKE_COMPLETE and ENDPOINT_CHANGED reach `meshwg debug
#             listen` when a wireguard.ko peer connects; WANTS_ENDPOINT when
#             traffic is routed to a peer that has no endpoint
#   netns     a device moved to another netns keeps its sockets in the netns
#             that created it; deleting that netns leaves the device without
#             sockets but deletable; rmmod is clean afterwards
. "$REPO/tests/vm/lib.sh"

keyfile() { local f; f=$(mktemp "$LOGDIR/key.XXXXXX"); echo "$1" >"$f"; echo "$f"; }

setup() {
	ns_setup || return 1
	K1=$(genkey) K2=$(genkey)
	P1=$(pubkey "$K1") P2=$(pubkey "$K2")
	ip -n "$NS1" link add wga type meshwg || return 1
	ip -n "$NS2" link add wgb type wireguard || return 1
	n1 meshwg wg set wga private-key "$(keyfile "$K1")" listen-port 10001 \
		peer "$P2" allowed-ips 10.0.0.2/32 || return 1
	n2 wg set wgb private-key "$(keyfile "$K2")" listen-port 10002 \
		peer "$P1" allowed-ips 10.0.0.1/32 endpoint 192.168.1.1:10001 || return 1
	ip -n "$NS1" addr add 10.0.0.1/24 dev wga && ip -n "$NS2" addr add 10.0.0.2/24 dev wgb &&
	ip -n "$NS1" link set wga up && ip -n "$NS2" link set wgb up
}

# listen_during COUNT OUT CMD...: `meshwg debug listen` on wga while CMD runs.
listen_during() {
	local count=$1 out=$2 lp
	shift 2
	n1 meshwg debug listen wga --count "$count" --timeout 90 >"$out" 2>&1 &
	lp=$!
	retry 30 grep -q listening "$out" || { kill $lp; return 1; }
	"$@"
	wait $lp
}

handshake_events() {
	local out=$LOGDIR/ev1
	listen_during 2 "$out" retry 30 n2 ping -c 1 -W 2 10.0.0.1 || { cat "$out"; return 1; }
	cat "$out"
	grep -q "handshake-complete peer=$P2" "$out" &&
	grep -q "endpoint-changed peer=$P2 endpoint=192.168.2.2:10002" "$out"
}

wants_endpoint() {
	local out=$LOGDIR/ev2 k p
	k=$(genkey) p=$(pubkey "$k")
	n1 meshwg wg set wga peer "$p" allowed-ips 10.9.9.9/32 || return 1
	ip -n "$NS1" route add 10.9.9.9/32 dev wga || return 1
	listen_during 1 "$out" n1 ping -c 1 -W 1 10.9.9.9
	cat "$out"
	grep -q "wants-endpoint peer=$p" "$out"
}

netns_move() {
	ip -n "$NS1" link set wga netns "$NS2" &&
	ip -n "$NS2" link set wga up &&
	n1 ss -lun | grep -q ":10001 " &&
	! n2 ss -lun | grep -q ":10001 "
}

creator_gone() {
	ip netns del "$NS1" || return 1
	# Namespaces are dismantled by a workqueue, which the debug kernel
	# under a loaded host can take most of a minute to reach.
	retry 60 sh -c "! ip netns exec $NS2 ss -lun | grep -q ':10001 '" || return 1
	ip -n "$NS2" link del wga && ! ip -n "$NS2" link show wga 2>/dev/null
}

mcheck "load meshwg.ko" modprobe meshwg
mcheck "events: setup" setup || { ns_teardown; suite_end; }
mcheck "events: handshake-complete and endpoint-changed" handshake_events
mcheck "events: wants-endpoint for a peer without endpoint" wants_endpoint
mcheck "netns: moved device keeps its sockets in the creating netns" netns_move
mcheck "netns: creating netns deleted, device still deletable" creator_gone
suite_end
