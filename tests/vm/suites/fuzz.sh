#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fuzzing meshwg.ko from outside: tests/vm/helpers/nlfuzz sends random and
# mutated generic-netlink requests (every command and attribute, nested
# peers, allowed IPs and filter rules) at two meshwg interfaces while a
# tunnel between them carries pings and random datagrams hit their UDP
# ports.  Then the interfaces must still answer, delete and unload cleanly;
# the harness fails the run on any kernel log complaint (and, on the debug
# kernel, on KASAN, lockdep or kmemleak reports).
#
#   FUZZ_SECONDS  time per fuzzer (default 60; `make fuzz` runs longer)
#   FUZZ_SEED     seed (default 1, so that make check is reproducible)
. "$REPO/tests/vm/lib.sh"

SECS=${FUZZ_SECONDS:-60}
SEED=${FUZZ_SEED:-1}
echo "== fuzz: seed $SEED, $SECS s per fuzzer (FUZZ_SEED=$SEED FUZZ_SECONDS=$SECS to repeat)"

fuzz_setup() {
	local k1 k2
	ns_setup || return 1
	k1=$(genkey) k2=$(genkey)
	wg_add "$NS1" meshwg mf1 && wg_add "$NS2" meshwg mf2 &&
		wg_add "$NS1" meshwg mf3 || return 1
	n1 meshwg wg set mf1 private-key <(echo "$k1") listen-port 51820 \
		peer "$(pubkey "$k2")" allowed-ips 10.0.0.2/32,fd00:aa::2/128 \
		endpoint 192.168.2.2:51820 || return 1
	n2 meshwg wg set mf2 private-key <(echo "$k2") listen-port 51820 \
		peer "$(pubkey "$k1")" allowed-ips 10.0.0.1/32,fd00:aa::1/128 \
		endpoint 192.168.1.1:51820 || return 1
	ip -n "$NS1" addr add 10.0.0.1/24 dev mf1 && ip -n "$NS1" link set mf1 up &&
		ip -n "$NS2" addr add 10.0.0.2/24 dev mf2 && ip -n "$NS2" link set mf2 up &&
		ip -n "$NS1" link set mf3 up || return 1
	retry 30 n1 ping -c1 -W2 10.0.0.2
}
mcheck "setup: two tunnelled interfaces and a spare" fuzz_setup

# The fuzzers' summary lines must show both accepted and refused requests:
# a fuzzer whose every message bounces off the first check fuzzes nothing.
fuzz_run() {
	local out=$LOGDIR/fuzz
	n2 ping -i 0.2 -w "$SECS" -q 10.0.0.1 >"$out.ping" 2>&1 &
	n2 nlfuzz udp "$SEED" "$SECS" 192.168.1.1:51820 >"$out.udp1" 2>&1 &
	n1 nlfuzz udp "$((SEED + 1))" "$SECS" 192.168.2.2:51820 >"$out.udp2" 2>&1 &
	n2 nlfuzz netlink "$((SEED + 2))" "$SECS" mf2 >"$out.nl2" 2>&1 &
	n1 nlfuzz netlink "$SEED" "$SECS" mf1 mf3 >"$out.nl1" 2>&1
	local rc=$?
	wait
	cat "$out.nl1" "$out.nl2" "$out.udp1" "$out.udp2" | tee "$out.summary"
	[ $rc = 0 ] || return 1
	for f in "$out.nl1" "$out.nl2"; do
		grep -Eq 'sent [1-9][0-9]* ok [1-9][0-9]* errors [1-9]' "$f" || return 1
	done
	grep -q 'sent [1-9]' "$out.udp1" && grep -q 'sent [1-9]' "$out.udp2"
}
mcheck "netlink and UDP fuzzing under traffic (seed $SEED)" fuzz_run
sed 's/^/     /' "$LOGDIR/fuzz.summary" 2>/dev/null

# The device is still whole: dumps parse, a fresh configuration works.
fuzz_after() {
	local k1 k2
	n1 meshwg wg show mf1 >/dev/null && n1 meshwg wg show mf3 >/dev/null &&
		n2 meshwg wg show mf2 >/dev/null || return 1
	k1=$(genkey) k2=$(genkey)
	n1 meshwg filter clear mf1 2>/dev/null
	n2 meshwg filter clear mf2 2>/dev/null
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\nFwMark = 0\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.0.0.2/32\nEndpoint = 192.168.2.2:51820\n' \
		"$k1" "$(pubkey "$k2")" >"$LOGDIR/mf1.conf"
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\nFwMark = 0\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.0.0.1/32\nEndpoint = 192.168.1.1:51820\n' \
		"$k2" "$(pubkey "$k1")" >"$LOGDIR/mf2.conf"
	n1 meshwg wg setconf mf1 "$LOGDIR/mf1.conf" && n2 meshwg wg setconf mf2 "$LOGDIR/mf2.conf" ||
		return 1
	ip -n "$NS1" link set mf1 up && ip -n "$NS2" link set mf2 up &&
		ip -n "$NS1" addr replace 10.0.0.1/24 dev mf1 &&
		ip -n "$NS2" addr replace 10.0.0.2/24 dev mf2 || return 1
	retry 60 n1 ping -c1 -W1 10.0.0.2
}
mcheck "after fuzzing: dumps work, a fresh configuration carries traffic" fuzz_after
mcheck "after fuzzing: interfaces delete" sh -c \
	"ip -n $NS1 link del mf1 && ip -n $NS1 link del mf3 && ip -n $NS2 link del mf2"
suite_end
