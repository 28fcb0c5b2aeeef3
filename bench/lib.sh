# SPDX-License-Identifier: GPL-2.0
# Inside the VM, sourced by bench/guest.sh and bench/acl-guest.sh (after
# tests/vm/lib.sh): what the throughput benchmarks share.

# bench_start: loads meshwg.ko and wireguard.ko and makes the namespaces
# (NS1, NS2 joined through a router, tests/vm/lib.sh); undone at exit.
bench_start() {
	_probe_meshwg
	if [ -n "$MESHWG_MISSING" ]; then
		echo "bench: $MESHWG_MISSING"
		exit 1
	fi
	modprobe meshwg
	modprobe wireguard
	ns_setup
	trap 'ns_teardown; unload_meshwg' EXIT
}

# tunnel KIND IFNAME SUBNET(10.X.0) PORTBASE: a KIND (meshwg|wireguard)
# tunnel between NS1 (SUBNET.1) and NS2 (SUBNET.2), each side configured
# with its own tool, checked with one ping.
tunnel() {
	local kind=$1 ifn=$2 net=$3 port=$4 tool
	(umask 077 && wg genkey >"/tmp/$ifn.1" && wg genkey >"/tmp/$ifn.2")
	[ "$kind" = meshwg ] && tool="meshwg wg" || tool=wg
	ip -n "$NS1" link add "$ifn" type "$kind"
	ip -n "$NS2" link add "$ifn" type "$kind"
	n1 $tool set "$ifn" private-key "/tmp/$ifn.1" listen-port "$port" \
		peer "$(wg pubkey <"/tmp/$ifn.2")" allowed-ips "$net.2/32" endpoint "192.168.2.2:$((port + 1))"
	n2 $tool set "$ifn" private-key "/tmp/$ifn.2" listen-port "$((port + 1))" \
		peer "$(wg pubkey <"/tmp/$ifn.1")" allowed-ips "$net.1/32" endpoint "192.168.1.1:$port"
	ip -n "$NS1" addr add "$net.1/24" dev "$ifn"
	ip -n "$NS2" addr add "$net.2/24" dev "$ifn"
	ip -n "$NS1" link set "$ifn" up
	ip -n "$NS2" link set "$ifn" up
	n1 ping -c 1 -W 5 "$net.2" >/dev/null
}

# iperf_mbits FILE: the received Mbit/s of iperf3 -J output FILE.
iperf_mbits() {
	awk '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { gsub(/[^0-9.e+]/, "", $2); printf "%.1f\n", $2 / 1e6; exit }' "$1"
}

# median <NUMBERS: the median of one number a line.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
