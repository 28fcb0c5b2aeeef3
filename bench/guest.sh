# SPDX-License-Identifier: GPL-2.0
# Inside the VM, sourced by run.sh --cmd (tests/vm/lib.sh already sourced):
# the benchmark. Shared parts: bench/lib.sh.
set -e
. "$REPO/bench/lib.sh"
bench_start

tunnel meshwg mw0 10.0.0 51820
tunnel wireguard wg0 10.1.0 52820

n2 iperf3 -s -D -p 5201
retry 10 n2 sh -c 'ss -ltn | grep -q ":5201 "'

# iperf DST STREAMS -> Mbit/s received
iperf() {
	n1 iperf3 -c "$1" -p 5201 -t "$BENCH_TIME" -P "$2" -J >/tmp/iperf.json
	iperf_mbits /tmp/iperf.json
}

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
