#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Harness smoke test: the VM has what the other suites need, upstream
# wireguard.ko works across the namespace topology, and meshwg.ko loads,
# autoloads from `ip link add ... type meshwg` and unloads.
. "$REPO/tests/vm/lib.sh"

check "tools present" sh -c 'for t in ip wg wireguard-go iperf3 nft ping modprobe; do command -v $t || exit 1; done'
check "namespaces" ns_setup
check "router forwards v4" n1 ping -c1 -W5 192.168.2.2
check "router forwards v6" n1 ping -6 -c1 -W5 fd00:2::2

smoke_wireguard() {
	local k1 k2
	k1=$(genkey) k2=$(genkey)
	wg_add "$NS1" wireguard wg1 && wg_add "$NS2" wireguard wg2 || return 1
	n1 wg set wg1 private-key <(echo "$k1") listen-port 1 \
		peer "$(pubkey "$k2")" allowed-ips 10.0.0.2/32 endpoint 192.168.2.2:2 || return 1
	n2 wg set wg2 private-key <(echo "$k2") listen-port 2 \
		peer "$(pubkey "$k1")" allowed-ips 10.0.0.1/32 || return 1
	ip -n "$NS1" addr add 10.0.0.1/24 dev wg1 && ip -n "$NS1" link set wg1 up &&
	ip -n "$NS2" addr add 10.0.0.2/24 dev wg2 && ip -n "$NS2" link set wg2 up || return 1
	retry 30 n1 ping -c1 -W2 10.0.0.2 || return 1
	wait_handshake "$NS2" wireguard wg2 "$(pubkey "$k1")" 5
}
check "wireguard.ko ping across the topology" smoke_wireguard

mcheck "meshwg.ko loads" modprobe meshwg
mcheck "link kind meshwg autoloads" sh -c 'rmmod meshwg && ip link add mwtest type meshwg && lsmod | grep -q "^meshwg " && ip link del mwtest'
mcheck "meshwg.ko unloads" rmmod meshwg
suite_end
