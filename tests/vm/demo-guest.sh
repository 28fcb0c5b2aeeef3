# SPDX-License-Identifier: GPL-2.0
# Inside the VM, sourced by run.sh --cmd (lib.sh already sourced): the demo.
set -e
say() { printf '\n$ %s\n' "$*"; }
_probe_meshwg
if [ -n "$MESHWG_MISSING" ]; then
	echo "demo: $MESHWG_MISSING"
	exit 1
fi
modprobe meshwg
modprobe wireguard
ns_setup
trap 'ns_teardown; unload_meshwg' EXIT
K1=$(wg genkey) K2=$(wg genkey)
echo "$K1" >/tmp/mw0.key
echo "$K2" >/tmp/wg0.key
say "ip -n meshwg-side link add mw0 type meshwg"
ip -n "$NS1" link add mw0 type meshwg
say "ip -n wireguard-side link add wg0 type wireguard"
ip -n "$NS2" link add wg0 type wireguard
say "meshwg wg set mw0 private-key /tmp/mw0.key listen-port 51820 peer <wg0> allowed-ips 10.0.0.2/32 endpoint 192.168.2.2:51821"
n1 meshwg wg set mw0 private-key /tmp/mw0.key listen-port 51820 \
	peer "$(wg pubkey </tmp/wg0.key)" allowed-ips 10.0.0.2/32 endpoint 192.168.2.2:51821
say "wg set wg0 private-key /tmp/wg0.key listen-port 51821 peer <mw0> allowed-ips 10.0.0.1/32 endpoint 192.168.1.1:51820"
n2 wg set wg0 private-key /tmp/wg0.key listen-port 51821 \
	peer "$(wg pubkey </tmp/mw0.key)" allowed-ips 10.0.0.1/32 endpoint 192.168.1.1:51820
ip -n "$NS1" addr add 10.0.0.1/24 dev mw0
ip -n "$NS2" addr add 10.0.0.2/24 dev wg0
ip -n "$NS1" link set mw0 up
ip -n "$NS2" link set wg0 up
say "ping -c 3 10.0.0.2   (meshwg -> wireguard.ko)"
n1 ping -c 3 -W 5 10.0.0.2
say "ping -c 3 10.0.0.1   (wireguard.ko -> meshwg)"
n2 ping -c 3 -W 5 10.0.0.1
say "meshwg wg show mw0"
n1 meshwg wg show mw0
say "wg show wg0"
n2 wg show wg0
echo
echo "demo: meshwg and upstream WireGuard exchanged traffic"
