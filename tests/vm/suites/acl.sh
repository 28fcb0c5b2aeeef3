#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The ACL filter of meshwg.ko (docs/filter.md), end to end: meshwg (wga,
# 10.0.0.1, in $NS1) against wireguard.ko (wgb, 10.0.0.2, in $NS2); the
# ruleset on wga filters what wgb sends. Covers the flow table allocated by
# the first ruleset only, rulesets charged to the sender's memory cgroup,
# default allow, default deny,
# port rules for TCP and UDP, ICMP, return traffic of flows wga opened
# (fragmented UDP answers too),
# counters, deny events, kernel refusals leaving the old ruleset in place,
# a 100,000-rule ruleset round trip, an explicit deny before a later accept,
# rulesets replaced under iperf3 traffic, a 10,000-rule ruleset dumped back
# identically, traffic forwarded to a subnet routed behind wga ($NS3,
# 10.9.0.0/24), and clear. Every "denied" check sees wgb's ACL drop counter
# on wga grow (acl_dropped), not merely the client fail.
. "$REPO/tests/vm/lib.sh"

PORT1=10001
PORT2=10002
F=$LOGDIR

acl_setup() {
	ns_setup || return 1
	K1=$(genkey) K2=$(genkey)
	P1=$(pubkey "$K1") P2=$(pubkey "$K2")
	echo "$K1" >"$F/k1"
	echo "$K2" >"$F/k2"
	wg_add "$NS1" meshwg wga && wg_add "$NS2" wireguard wgb || return 1
	wgc "$NS1" meshwg set wga private-key "$F/k1" listen-port $PORT1 \
		peer "$P2" allowed-ips 10.0.0.2/32 endpoint 192.168.2.2:$PORT2 || return 1
	n2 wg set wgb private-key "$F/k2" listen-port $PORT2 \
		peer "$P1" allowed-ips 10.0.0.1/32 endpoint 192.168.1.1:$PORT1 || return 1
	ip -n "$NS1" addr add 10.0.0.1/24 dev wga && ip -n "$NS1" link set wga up &&
	ip -n "$NS2" addr add 10.0.0.2/24 dev wgb && ip -n "$NS2" link set wgb up || return 1
	n1 ping -c1 -W5 10.0.0.2
}

filter() { n1 meshwg filter "$@"; }

vmalloc_kb() { awk '$1 == "VmallocUsed:" { print $2 }' /proc/meminfo; }

lazy_flow_table() {
	# 1,048,576 flows make a 64 MiB table. Four devices that never filter
	# allocate none; the first ruleset on one allocates its table.
	local i base four one
	lsmod | grep -q '^meshwg ' && { rmmod meshwg || return 1; }
	modprobe meshwg acl_flow_table_size=1048576 || return 1
	base=$(vmalloc_kb)
	for i in 1 2 3 4; do
		ip -n "$NS1" link add "mwz$i" type meshwg || return 1
	done
	four=$(vmalloc_kb)
	filter set "$F/rules.json" mwz1 || return 1
	one=$(vmalloc_kb)
	echo "VmallocUsed: $base kB, 4 devices $four kB, a ruleset on one $one kB"
	for i in 1 2 3 4; do
		ip -n "$NS1" link del "mwz$i" || return 1
	done
	rmmod meshwg || return 1
	[ $((four - base)) -lt 16384 ] && [ $((one - four)) -ge 60000 ]
}

memcg_charged() {
	# A ruleset of 960,000 atoms (1000 sources x 240 destinations x the 4
	# default protocols: over 100 MB to compile) sent from a memory cgroup
	# limited to 32 MiB is refused, its memory being charged to the sender;
	# sent from outside, it compiles.
	local cg=/sys/fs/cgroup mounted= rc rc2
	if ! mountpoint -q $cg; then
		mount -t cgroup2 cgroup2 $cg || return 1
		mounted=1
	fi
	echo +memory >$cg/cgroup.subtree_control &&
	mkdir -p $cg/mwgacl && echo 32M >$cg/mwgacl/memory.max || return 1
	python3 - "$F/charged.json" <<'EOF' || return 1
import json, sys
src = ["10.%d.%d.%d/32" % (1 + i // 65536, i // 256 % 256, i % 256) for i in range(1000)]
dst = [{"prefix": "10.200.%d.%d/32" % (i // 256, i % 256)} for i in range(240)]
json.dump([{"action": "accept", "src": src, "dst": dst}], open(sys.argv[1], "w"))
EOF
	ip -n "$NS1" link add mwm type meshwg || return 1
	sh -c 'echo $$ >/sys/fs/cgroup/mwgacl/cgroup.procs &&
		exec ip netns exec "$0" meshwg filter set "$1" mwm' \
		"$NS1" "$F/charged.json" 2>"$F/charged.err"
	rc=$?
	filter set "$F/charged.json" mwm
	rc2=$?
	ip -n "$NS1" link del mwm
	rmdir $cg/mwgacl
	[ -n "$mounted" ] && umount $cg
	echo "in a 32 MiB memory cgroup: status $rc ($(head -c 200 "$F/charged.err")); outside: status $rc2"
	[ $rc != 0 ] && [ $rc2 = 0 ]
}
jget() {   # FILE KEY -> top-level value
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# Peer wgb's ACL drop counter on wga.
peer_acl_drops() {
	n1 mwnl counters wga | awk -v k="$P2" '$1 == "peer" && $2 == k {
		for (i = 3; i < NF; i += 2) if ($i == "drops_acl") { print $(i + 1); exit } }'
}

# acl_dropped N CMD...: CMD fails, and it is the ACL that made it fail: wgb's
# drop counter on wga grew by at least N meanwhile (not just any failure of
# the client).
acl_dropped() {
	local n=$1 before after
	shift
	before=$(peer_acl_drops)
	[ -n "$before" ] || return 1
	! "$@" || return 1
	after=$(peer_acl_drops)
	echo "drops_acl before $before after $after (want +$n)"
	[ "$after" -ge $((before + n)) ]
}

no_filter_passes() {
	filter show wga >"$F/show" || return 1
	[ "$(jget "$F/show" installed)" = False ] || return 1
	n2 ping -c1 -W3 10.0.0.1
}

cat >"$F/rules.json" <<'EOF'
{"version": 7, "rules": [
 {"action": "deny", "src": ["10.0.0.2/32"], "dst": [{"prefix": "10.0.0.1/32", "first_port": 5202, "last_port": 5202}], "protos": [6]},
 {"action": "accept", "src": ["10.0.0.2/32"], "dst": [{"prefix": "10.0.0.0/24", "first_port": 5201, "last_port": 5202}], "protos": [6]},
 {"action": "accept", "src": ["10.0.0.0/24"], "dst": [{"prefix": "10.0.0.1/32", "first_port": 53, "last_port": 53}], "protos": [17]}
]}
EOF

set_rules() {
	filter set "$F/rules.json" wga || return 1
	filter show wga >"$F/show" || return 1
	[ "$(jget "$F/show" installed)" = True ] && [ "$(jget "$F/show" version)" = 7 ]
}

icmp_denied() {
	acl_dropped 2 n2 ping -c2 -W2 10.0.0.1 || return 1
	filter show wga >"$F/show" || return 1
	[ "$(jget "$F/show" drops)" -ge 2 ]
}

own_ping_returns() {
	n1 ping -c2 -W5 10.0.0.2 || return 1
	filter show wga >"$F/show" || return 1
	[ "$(jget "$F/show" flows)" -ge 1 ]
}

tcp_rules() {
	n1 iperf3 -s -D -p 5201 -1 --logfile "$F/ip1" || return 1
	sleep 0.5
	n2 iperf3 -c 10.0.0.1 -p 5201 -t 1 >/dev/null || return 1
	n1 iperf3 -s -D -p 5202 -1 -I "$F/ip2.pid" --logfile "$F/ip2" || return 1
	sleep 0.5
	acl_dropped 1 timeout 10 ip netns exec "$NS2" iperf3 -c 10.0.0.1 -p 5202 -t 1 >/dev/null 2>&1
	local rc=$?
	kill "$(cat "$F/ip2.pid")" 2>/dev/null
	return $rc
}

tcp_outbound_returns() {
	# No rule admits TCP from port 5203 of wgb, yet wga's own connection works.
	n2 iperf3 -s -D -p 5203 -1 --logfile "$F/ip3" || return 1
	sleep 0.5
	n1 iperf3 -c 10.0.0.2 -p 5203 -t 1 >/dev/null
}

udp_rules() {
	n1 udptool recv --on 10.0.0.1:53 --count 1 --timeout 5 >"$F/u1" &
	local p=$!
	sleep 0.5
	n2 udptool send --to 10.0.0.1:53 --hex 6869 || return 1
	wait $p || return 1
	n1 udptool recv --on 10.0.0.1:54 --count 1 --timeout 3 >"$F/u2" &
	p=$!
	sleep 0.5
	acl_dropped 1 send_and_wait $p n2 udptool send --to 10.0.0.1:54 --hex 6869
}

# send_and_wait PID CMD...: CMD (a send) succeeds and receiver PID succeeds.
send_and_wait() {
	local p=$1
	shift
	"$@" || { kill "$p" 2>/dev/null; wait "$p"; return 2; }
	wait "$p"
}

udp_return() {
	# wga sends from :7002 to wgb:7000; an answer to :7001 is no return traffic.
	n1 udptool send --from 10.0.0.1:7002 --to 10.0.0.2:7000 --hex 00 || return 1
	n1 udptool recv --on 10.0.0.1:7001 --count 1 --timeout 4 >"$F/u3" &
	local p=$!
	sleep 0.5
	acl_dropped 1 send_and_wait $p \
		n2 udptool send --from 10.0.0.2:7000 --to 10.0.0.1:7001 --hex 01 || return 1
	# Once wga sent from :7001, the answer passes.
	n1 udptool send --from 10.0.0.1:7001 --to 10.0.0.2:7000 --hex 00 || return 1
	n1 udptool recv --on 10.0.0.1:7001 --count 1 --timeout 5 >"$F/u4" &
	p=$!
	sleep 0.5
	n2 udptool send --from 10.0.0.2:7000 --to 10.0.0.1:7001 --hex 01 || return 1
	wait $p
}

udp_fragments() {
	# wga asks from :7010; wgb's 4000-byte answer is fragmented in the
	# tunnel (MTU 1420), and no rule admits UDP to :7010.
	local big p
	big=$(python3 -c 'print("ab" * 4000)')
	n1 udptool send --from 10.0.0.1:7010 --to 10.0.0.2:7000 --hex 00 || return 1
	n1 udptool recv --on 10.0.0.1:7010 --count 1 --timeout 5 >"$F/u5" &
	p=$!
	sleep 0.5
	n2 udptool send --from 10.0.0.2:7000 --to 10.0.0.1:7010 --hex "$big" || return 1
	wait $p || return 1
	grep -q " len=4000 " "$F/u5" || return 1
	# Unsolicited, the same datagram dies: its first fragment by the rules,
	# the two others with it (three drops).
	n1 udptool recv --on 10.0.0.1:7011 --count 1 --timeout 3 >"$F/u6" &
	p=$!
	sleep 0.5
	acl_dropped 3 send_and_wait $p \
		n2 udptool send --from 10.0.0.2:7000 --to 10.0.0.1:7011 --hex "$big"
}

counters() {
	filter show wga >"$F/show" || return 1
	python3 - "$F/show" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
r = s["rules"]
assert len(r) == 3, r
assert r[0]["packets"] >= 1, r      # the deny rule saw the SYN to 5202
assert r[1]["packets"] >= 10, r     # iperf3 on 5201
assert r[2]["packets"] == 1, r      # one datagram to :53
assert r[1]["bytes"] > r[1]["packets"] * 40, r
assert s["drops"] >= 3, s
EOF
}

deny_event() {
	n1 meshwg debug listen wga --count 1 --timeout 20 >"$F/ev" 2>/dev/null &
	local p=$!
	sleep 1
	n2 ping -c3 -W1 10.0.0.1 >/dev/null
	wait $p || return 1
	grep -q "event iface=wga" "$F/ev" && grep -q "unknown(4)\|acl-deny" "$F/ev"
}

refusals_keep_old() {
	# Over the atom limit: 1500 x 1500 sources x destinations, 4 protocols.
	python3 - "$F/big.json" <<'EOF' || return 1
import json, sys
src = ["10.%d.%d.0/24" % (i // 256, i % 256) for i in range(1500)]
dst = [{"prefix": "10.%d.%d.0/24" % (i // 256, i % 256)} for i in range(1500)]
json.dump([{"action": "accept", "src": src, "dst": dst}], open(sys.argv[1], "w"))
EOF
	! filter set "$F/big.json" wga 2>"$F/err" || return 1
	grep -q "too large" "$F/err" || return 1
	# Over the rule limit.
	python3 - "$F/many.json" <<'EOF' || return 1
import json, sys
json.dump([{"action": "deny", "src": ["10.0.0.9/32"], "dst": [{"prefix": "10.0.0.1/32"}]}] * 131073, open(sys.argv[1], "w"))
EOF
	! filter set "$F/many.json" wga 2>"$F/err" || return 1
	grep -q "too many rules" "$F/err" || return 1
	filter show wga >"$F/show" || return 1
	[ "$(jget "$F/show" version)" = 7 ] && n1 ping -c1 -W5 10.0.0.2
}

big_roundtrip() {
	python3 - "$F/100k.json" <<'EOF' || return 1
import json, sys
rules = [{"action": "accept", "src": ["100.%d.%d.%d/32" % (64 + i // 65536, i // 256 % 256, i % 256)],
          "dst": [{"prefix": "10.0.0.1/32", "first_port": i % 60000, "last_port": i % 60000 + 5}],
          "protos": [6]} for i in range(100000)]
rules.append({"action": "accept", "src": ["10.0.0.2/32"], "dst": [{"prefix": "10.0.0.1/32"}], "protos": [1]})
json.dump({"version": 99, "rules": rules}, open(sys.argv[1], "w"))
EOF
	filter set "$F/100k.json" wga || return 1
	filter show wga >"$F/show" || return 1
	python3 - "$F/100k.json" "$F/show" <<'EOF' || return 1
import json, sys
want = json.load(open(sys.argv[1]))["rules"]
got = json.load(open(sys.argv[2]))
assert got["version"] == "99", got["version"]
assert len(got["rules"]) == len(want), len(got["rules"])
for w, g in zip(want, got["rules"]):
    assert w["src"] == g["src"] and w["dst"][0].get("first_port", 0) == g["dst"][0]["first_port"], (w, g)
EOF
	# The last rule lets ICMP from wgb in.
	n2 ping -c1 -W5 10.0.0.1
}

# iperf_srv NS PORT [multi]: iperf3 server (for one test unless multi),
# waits until it listens.
iperf_srv() {
	local one=-1
	[ "${3:-}" = multi ] && one=
	ip netns exec "$1" iperf3 -s -D -p "$2" $one -I "$F/srv.$2.pid" --logfile "$F/srv.$2" || return 1
	retry 10 ip netns exec "$1" sh -c "ss -ltn | grep -q ':$2 '"
}
iperf_srv_kill() { kill "$(cat "$F/srv.$1.pid" 2>/dev/null)" 2>/dev/null; return 0; }

deny_before_accept() {
	cat >"$F/deny1.json" <<'EOF'
{"version": 11, "rules": [
 {"action": "deny", "src": ["10.0.0.2/32"], "dst": [{"prefix": "10.0.0.1/32", "first_port": 5301, "last_port": 5301}], "protos": [6]},
 {"action": "accept", "src": ["*"], "dst": [{"prefix": "0.0.0.0/0"}], "protos": "*"}
]}
EOF
	filter set "$F/deny1.json" wga || return 1
	iperf_srv "$NS1" 5302 || return 1
	timeout 60 ip netns exec "$NS2" iperf3 -c 10.0.0.1 -p 5302 -n 1M || return 1
	iperf_srv "$NS1" 5301 || return 1
	acl_dropped 1 timeout 10 ip netns exec "$NS2" iperf3 -c 10.0.0.1 -p 5301 -n 1M
	local rc=$?
	iperf_srv_kill 5301
	[ $rc = 0 ] || return 1
	n2 ping -c1 -W5 10.0.0.1 || return 1
	filter show wga >"$F/show" || return 1
	python3 - "$F/show" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["rules"]
assert r[0]["packets"] >= 1, r   # the SYN(s) to 5301
assert r[1]["packets"] >= 10, r  # the 1 MB on 5302 and the ping
EOF
}

# ruleset_v VERSION N: accept TCP to 10.0.0.1:5401 from wgb, plus N unrelated rules.
ruleset_v() {
	python3 - "$1" "$2" >"$F/v.json" <<'EOF'
import json, sys
v, n = int(sys.argv[1]), int(sys.argv[2])
rules = [{"action": "deny", "src": ["100.64.%d.%d/32" % (i // 256, i % 256)],
          "dst": [{"prefix": "10.0.0.1/32", "first_port": 1000 + i, "last_port": 1000 + i}],
          "protos": [17]} for i in range(n)]
rules.insert(n // 2, {"action": "accept", "src": ["10.0.0.2/32"],
                      "dst": [{"prefix": "10.0.0.1/32", "first_port": 5401, "last_port": 5401}],
                      "protos": [6]})
print(json.dumps({"version": v, "rules": rules}))
EOF
}

replace_under_traffic() {
	local before after p v rc live
	ruleset_v 200 0 && filter set "$F/v.json" wga || return 1
	before=$(peer_acl_drops)
	[ -n "$before" ] || return 1
	iperf_srv "$NS1" 5401 || return 1
	timeout 300 ip netns exec "$NS2" iperf3 -c 10.0.0.1 -p 5401 -n 20M >"$F/rep.out" 2>&1 &
	p=$!
	live=0
	for v in $(seq 201 212); do
		ruleset_v "$v" $(((v * 7) % 13)) || { kill $p; return 1; }
		kill -0 $p 2>/dev/null && live=$((live + 1))
		filter set "$F/v.json" wga || { kill $p; return 1; }
	done
	wait $p
	rc=$?
	cat "$F/rep.out"
	echo "$live of 12 replacements started while the transfer ran"
	[ $rc = 0 ] && [ $live -ge 1 ] || return 1
	grep -q "receiver" "$F/rep.out" || return 1
	filter show wga >"$F/show" || return 1
	[ "$(jget "$F/show" version)" = 212 ] || return 1
	after=$(peer_acl_drops)
	echo "drops_acl before $before after $after"
	[ "$after" = "$before" ]
}

tenk_roundtrip() {
	python3 - "$F/10k.json" <<'EOF' || return 1
import json, sys, random
rnd = random.Random(4)
protos = [[6], [17], [1], [6, 17], [58], [6, 17, 1, 58], [47]]
rules = []
for i in range(10000):
    if i % 5 == 4:
        src = ["fd7a:115c:a1e0::%x/128" % (i + 1), "fd00:%x::/32" % (i % 4096 + 1)]
        dst = [{"prefix": "fd00:aa::/64", "first_port": i % 1000, "last_port": i % 1000 + i % 7}]
        pr = [6] if i % 2 else [58]
    else:
        src = ["100.%d.%d.%d/32" % (64 + i // 65536, i // 256 % 256, i % 256)]
        if i % 3 == 0:
            src.append("172.16.%d.0/24" % (i % 256))
        dst = [{"prefix": "10.0.%d.0/24" % (i % 256), "first_port": rnd.randrange(0, 60000), "last_port": 0}]
        dst[0]["last_port"] = dst[0]["first_port"] + rnd.randrange(0, 5000)
        if i % 4 == 0:
            dst.append({"prefix": "10.0.0.1/32", "first_port": 0, "last_port": 65535})
        pr = protos[i % len(protos)]
    rules.append({"action": "deny" if i % 7 == 3 else "accept", "src": src, "dst": dst,
                  "protos": "*" if i % 11 == 5 else pr})
json.dump({"version": "123456789012345678", "rules": rules}, open(sys.argv[1], "w"))
EOF
	filter set "$F/10k.json" wga || return 1
	filter show wga >"$F/show" || return 1
	python3 - "$F/10k.json" "$F/show" <<'EOF'
import json, sys
def norm(r):
    r = {k: v for k, v in r.items() if k not in ("packets", "bytes")}
    if isinstance(r["protos"], list):
        r["protos"] = sorted(r["protos"])
    return json.dumps(r, sort_keys=True)
want = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
assert got["installed"] is True
assert got["version"] == want["version"], got["version"]
assert len(got["rules"]) == len(want["rules"]), len(got["rules"])
bad = [i for i, (w, g) in enumerate(zip(want["rules"], got["rules"])) if norm(w) != norm(g)]
assert not bad, (len(bad), want["rules"][bad[0]], got["rules"][bad[0]])
EOF
}

NS3=mw3-$$
subnet_teardown() {
	[ -e "/run/netns/$NS3" ] || return 0
	local p
	p=$(ip netns pids "$NS3" 2>/dev/null)
	[ -n "$p" ] && kill $p 2>/dev/null
	ip netns del "$NS3"
}

subnet_forwarded() {
	local before after rc
	# NS3 (10.9.0.5, 10.9.0.6) sits behind NS1, which routes 10.9.0.0/24.
	ip netns add "$NS3" || return 1
	ip -n "$NS1" link add sub0 type veth peer name eth0 netns "$NS3" || return 1
	ip -n "$NS1" addr add 10.9.0.1/24 dev sub0 && ip -n "$NS1" link set sub0 up &&
	ip -n "$NS3" link set lo up && ip -n "$NS3" addr add 10.9.0.5/24 dev eth0 &&
	ip -n "$NS3" addr add 10.9.0.6/24 dev eth0 && ip -n "$NS3" link set eth0 up &&
	ip -n "$NS3" route add default via 10.9.0.1 || return 1
	n1 sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward' || return 1
	n2 wg set wgb peer "$P1" allowed-ips 10.0.0.1/32,10.9.0.0/24 &&
	ip -n "$NS2" route add 10.9.0.0/24 dev wgb || return 1
	cat >"$F/sub.json" <<'EOF'
{"version": 31, "rules": [
 {"action": "accept", "src": ["10.0.0.2/32"], "dst": [{"prefix": "10.9.0.5/32", "first_port": 5501, "last_port": 5501}], "protos": [6]}
]}
EOF
	filter set "$F/sub.json" wga || return 1
	iperf_srv "$NS3" 5501 multi || return 1
	timeout 60 ip netns exec "$NS2" iperf3 -c 10.9.0.5 -p 5501 -n 1M || return 1
	before=$(peer_acl_drops)
	acl_dropped 1 timeout 10 ip netns exec "$NS2" iperf3 -c 10.9.0.6 -p 5501 -n 1M
	rc=$?
	iperf_srv_kill 5501
	[ $rc = 0 ] || return 1
	acl_dropped 2 n2 ping -c2 -W2 10.9.0.5 || return 1
	after=$(peer_acl_drops)
	echo "drops_acl before $before after $after"
	[ "$after" -ge $((before + 3)) ] || return 1
	filter show wga >"$F/show" || return 1
	python3 - "$F/show" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["rules"][0]["packets"] >= 10, s["rules"]
EOF
}

clear_passes() {
	filter clear wga || return 1
	filter show wga >"$F/show" || return 1
	[ "$(jget "$F/show" installed)" = False ] && n2 ping -c1 -W5 10.0.0.1
}

mcheck "namespaces" ns_setup
mcheck "no flow table until the first ruleset" lazy_flow_table
mcheck "a ruleset's memory is charged to the sender's cgroup" memcg_charged
mcheck "acl setup" acl_setup
mcheck "no ruleset: everything passes" no_filter_passes
mcheck "set and show a ruleset" set_rules
mcheck "ICMP from the peer denied, counted" icmp_denied
mcheck "our own ping's replies pass" own_ping_returns
mcheck "TCP: accepted port, denied port" tcp_rules
mcheck "TCP: our own connection's return traffic" tcp_outbound_returns
mcheck "UDP: accepted port, other port dropped" udp_rules
mcheck "UDP: answers to our datagrams" udp_return
mcheck "UDP: fragmented answers to our datagrams, not others" udp_fragments
mcheck "per-rule counters" counters
mcheck "deny event on the events group" deny_event
mcheck "refused rulesets change nothing" refusals_keep_old
mcheck "100,000 rules set and dumped" big_roundtrip
mcheck "explicit deny wins over a later accept" deny_before_accept
mcheck "ruleset replaced under iperf3 traffic" replace_under_traffic
mcheck "10,000 rules set and dumped identically" tenk_roundtrip
mcheck "subnet-forwarded traffic filtered" subnet_forwarded
check "subnet namespace removed" subnet_teardown
mcheck "clear" clear_passes
suite_end
