#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The ACL filter of meshwg.ko (docs/filter.md), end to end: meshwg (wga,
# 10.0.0.1, in $NS1) against wireguard.ko (wgb, 10.0.0.2, in $NS2); the
# ruleset on wga filters what wgb sends. Covers default allow, default deny,
# port rules for TCP and UDP, ICMP, return traffic of flows wga opened,
# counters, deny events, kernel refusals leaving the old ruleset in place,
# a 100,000-rule ruleset round trip, and clear.
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
jget() {   # FILE KEY -> top-level value
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
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
	! n2 ping -c2 -W2 10.0.0.1 || return 1
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
	! timeout 10 ip netns exec "$NS2" iperf3 -c 10.0.0.1 -p 5202 -t 1 >/dev/null 2>&1
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
	n2 udptool send --to 10.0.0.1:54 --hex 6869 || return 1
	! wait $p
}

udp_return() {
	# wga sends from :7002 to wgb:7000; an answer to :7001 is no return traffic.
	n1 udptool send --from 10.0.0.1:7002 --to 10.0.0.2:7000 --hex 00 || return 1
	n1 udptool recv --on 10.0.0.1:7001 --count 1 --timeout 4 >"$F/u3" &
	local p=$!
	sleep 0.5
	n2 udptool send --from 10.0.0.2:7000 --to 10.0.0.1:7001 --hex 01 || return 1
	! wait $p || return 1
	# Once wga sent from :7001, the answer passes.
	n1 udptool send --from 10.0.0.1:7001 --to 10.0.0.2:7000 --hex 00 || return 1
	n1 udptool recv --on 10.0.0.1:7001 --count 1 --timeout 5 >"$F/u4" &
	p=$!
	sleep 0.5
	n2 udptool send --from 10.0.0.2:7000 --to 10.0.0.1:7001 --hex 01 || return 1
	wait $p
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

clear_passes() {
	filter clear wga || return 1
	filter show wga >"$F/show" || return 1
	[ "$(jget "$F/show" installed)" = False ] && n2 ping -c1 -W5 10.0.0.1
}

mcheck "acl setup" acl_setup
mcheck "no ruleset: everything passes" no_filter_passes
mcheck "set and show a ruleset" set_rules
mcheck "ICMP from the peer denied, counted" icmp_denied
mcheck "our own ping's replies pass" own_ping_returns
mcheck "TCP: accepted port, denied port" tcp_rules
mcheck "TCP: our own connection's return traffic" tcp_outbound_returns
mcheck "UDP: accepted port, other port dropped" udp_rules
mcheck "UDP: answers to our datagrams" udp_return
mcheck "per-rule counters" counters
mcheck "deny event on the events group" deny_event
mcheck "refused rulesets change nothing" refusals_keep_old
mcheck "100,000 rules set and dumped" big_roundtrip
mcheck "clear" clear_passes
suite_end
