# SPDX-License-Identifier: GPL-2.0
# Inside the VM, sourced by bench/acl.sh through run.sh --cmd (tests/vm/lib.sh
# already sourced): meshwg without a ruleset, meshwg with 10,000 rules,
# wireguard.ko. Shared parts: bench/lib.sh.
set -e
. "$REPO/bench/lib.sh"
bench_start

tunnel meshwg mw0 10.0.0 51820
tunnel meshwg mw1 10.2.0 53820
tunnel wireguard wg0 10.1.0 52820

# 10,000 rules on mw1. Rules 1-9,998 are TCP accepts from sources outside
# the tunnel with prefix lengths 16-32 on both sides (many tuples for the
# lookup to probe), to destinations covering 10.2.0.1 but other ports; rule
# 9,999 accepts 10.2.0.2 to 10.2.0.1:5201; rule 10,000 denies the rest.
python3 - /tmp/10k.json <<'PY'
import ipaddress, json, sys
rules = []
for i in range(9998):
    sl, dl = 16 + i % 17, 16 + (i // 17) % 17
    src = ipaddress.ip_network("100.%d.%d.%d/%d" % (64 + i % 64, i // 64 % 256, i % 256, sl), strict=False)
    dst = ipaddress.ip_network("10.2.0.1/%d" % dl, strict=False)
    rules.append({"action": "accept", "src": [str(src)],
                  "dst": [{"prefix": str(dst), "first_port": 6000 + i % 50000, "last_port": 6000 + i % 50000}],
                  "protos": [6]})
rules.append({"action": "accept", "src": ["10.2.0.2/32"],
              "dst": [{"prefix": "10.2.0.1/32", "first_port": 5201, "last_port": 5201}], "protos": [6]})
rules.append({"action": "deny", "src": ["*"], "dst": [{"prefix": "0.0.0.0/0"}], "protos": "*"})
json.dump({"version": 10000, "rules": rules}, open(sys.argv[1], "w"))
PY
n1 meshwg filter set /tmp/10k.json mw1
n1 meshwg filter show mw1 >/tmp/10k.show
[ "$(python3 -c 'import json; print(len(json.load(open("/tmp/10k.show"))["rules"]))')" = 10000 ]

n1 iperf3 -s -D -p 5201
retry 10 n1 sh -c 'ss -ltn | grep -q ":5201 "'

# iperf DST -> Mbit/s received (a fixed amount, from NS2 to NS1)
iperf() {
	n2 timeout 600 iperf3 -c "$1" -p 5201 -n "$BENCH_AMOUNT" -J >/tmp/iperf.json
	iperf_mbits /tmp/iperf.json
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "bench: kernel $(uname -r), $(nproc) CPUs, iperf3 TCP -n $BENCH_AMOUNT x $BENCH_RUNS runs, interleaved"
: >/tmp/b.none
: >/tmp/b.10k
: >/tmp/b.wg
for r in $(seq 1 "$BENCH_RUNS"); do
	a=$(iperf 10.0.0.1)
	b=$(iperf 10.2.0.1)
	c=$(iperf 10.1.0.1)
	[ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ]
	echo "$a" >>/tmp/b.none
	echo "$b" >>/tmp/b.10k
	echo "$c" >>/tmp/b.wg
	printf 'run %d: meshwg no rules %8s   meshwg 10k rules %8s   wireguard %8s Mbit/s\n' "$r" "$a" "$b" "$c"
done
n1 meshwg filter show mw1 >/tmp/10k.show
python3 - /tmp/10k.show <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["rules"]
assert r[9998]["packets"] > 0 and all(x["packets"] == 0 for x in r[:9998]), "test flow not matched by rule 9,999"
print("bench: every packet of the 10k-rule runs matched rule 9,999 (%d packets)" % r[9998]["packets"])
PY
a=$(median </tmp/b.none)
b=$(median </tmp/b.10k)
c=$(median </tmp/b.wg)
echo
printf '%-22s %10s\n' "median Mbit/s" ""
printf '%-22s %10s\n' "meshwg, no rules" "$a" "meshwg, 10,000 rules" "$b" "wireguard.ko" "$c"
printf '%-22s %10s\n' "10k / no rules" "$(ratio "$b" "$a")" \
	"no rules / wireguard" "$(ratio "$a" "$c")" "10k / wireguard" "$(ratio "$b" "$c")"
