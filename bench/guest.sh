# SPDX-License-Identifier: GPL-2.0
# Inside the VM, sourced by run.sh --cmd (lib.sh already sourced): the benchmark.
set -e
_probe_meshwg
if [ -n "$MESHWG_MISSING" ]; then
	echo "bench: $MESHWG_MISSING"
	exit 1
fi
modprobe meshwg
modprobe wireguard
ns_setup
trap 'ns_teardown; unload_meshwg' EXIT

# tunnel KIND IFNAME SUBNET(10.X) PORTBASE
tunnel() {
	local kind=$1 ifn=$2 net=$3 port=$4 k1 k2 tool
	k1=$(wg genkey) k2=$(wg genkey)
	echo "$k1" >"/tmp/$ifn.1"
	echo "$k2" >"/tmp/$ifn.2"
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
tunnel meshwg mw0 10.0.0 51820
tunnel wireguard wg0 10.1.0 52820

n2 iperf3 -s -D -p 5201
retry 10 n2 sh -c 'ss -ltn | grep -q ":5201 "'

# iperf DST STREAMS -> Mbit/s received
iperf() {
	n1 iperf3 -c "$1" -p 5201 -t "$BENCH_TIME" -P "$2" -J >/tmp/iperf.json
	awk '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { gsub(/[^0-9.e+]/, "", $2); printf "%.1f\n", $2 / 1e6; exit }' /tmp/iperf.json
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "bench: kernel $(uname -r), $(nproc) CPUs, iperf3 TCP ${BENCH_TIME}s x $BENCH_RUNS runs, interleaved"
for streams in 1 4; do
	: >/tmp/mw.$streams
	: >/tmp/wg.$streams
	for r in $(seq 1 "$BENCH_RUNS"); do
		m=$(iperf 10.0.0.2 $streams)
		w=$(iperf 10.1.0.2 $streams)
		[ -n "$m" ] && [ -n "$w" ]
		echo "$m" >>/tmp/mw.$streams
		echo "$w" >>/tmp/wg.$streams
		printf 'run %d, %d stream(s): meshwg %8s Mbit/s   wireguard %8s Mbit/s\n' "$r" "$streams" "$m" "$w"
	done
done
echo
printf '%-12s %14s %14s %8s\n' streams "meshwg Mbit/s" "wg Mbit/s" ratio
for streams in 1 4; do
	m=$(median </tmp/mw.$streams)
	w=$(median </tmp/wg.$streams)
	printf '%-12s %14s %14s %8s\n' "$streams" "$m" "$w" "$(awk -v m="$m" -v w="$w" 'BEGIN { if (w > 0) printf "%.2f", m / w; else print "n/a" }')"
done
