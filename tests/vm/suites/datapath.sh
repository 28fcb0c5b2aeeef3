#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The datapath scenario suite: meshwg.ko against itself, Debian's
# wireguard.ko (configured with wg) and wireguard-go, over the three-namespace
# topology of lib.sh ($NS1 -- $NS0 -- $NS2).
#
#   interop   each pair, each side initiating: ping v4/v6, v6 outer transport,
#             TCP and UDP iperf3 both directions, exact rx/tx counters
#   mtu       DF pings at the inner MTU boundary and one byte over, v4 and v6
#             outer; tunnel MTU 1500 (outer fragments)
#   roaming   either side changes address, the other follows
#   routing   a more specific allowed-ip on another peer wins; spoofed
#             sources are dropped and counted
#   keys      private-key change drops sessions at once and re-handshakes
#             on the next packet; a first key sends waiting keepalives;
#             low-order peer keys accepted, never sent to;
#             preshared key (mismatch refused, match works)
#   nat       one side behind nftables masquerade, persistent keepalive
#   rekey     short timers (module parameters): a new handshake under traffic
#   cookie    handshake-initiation flood: cookie replies, RX_RATELIMITED, a
#             legitimate peer still gets through
#   agent     STUN datagram up to `meshwg debug listen` (per source: a spray
#             from one host leaves another's through), `meshwg debug send`
#             from the module's port, relay endpoints with `meshwg debug relay`
#             and the upgrade to direct; INJECT limited per relay, cookies
#             bound to the relay (relayhs)
#   netlink   10,000 peers / 100,000 allowed IPs set and dumped back
#             identically; malformed requests refused with no change
#   teardown  deleting interfaces under traffic, deleting namespaces with
#             live interfaces, rmmod under traffic
#   suspend   a test suspend (pm_test) wipes every session: the first packet
#             after it goes out behind a new handshake initiation
#   txpath    packets staged for a handshake or an endpoint do not hold
#             their sender's socket memory; fq on the outer interface sees
#             the inner flows (hash taken before encryption)
#
# DATAPATH_ONLY="interop mtu" runs a subset (for debugging, with --cmd or
# by exporting it before run.sh). IMPL=wireguard turns every meshwg side into
# wireguard.ko (harness self-test); meshwg-only checks are then skipped.
. "$REPO/tests/vm/lib.sh"

PORT1=10001
PORT2=10002
PORT3=10003

want() {   # is scenario group $1 selected?
	[ -z "${DATAPATH_ONLY:-}" ] && return 0
	case " $DATAPATH_ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}

skip() { echo "skip $MESHWG_SUITE/$1: $2"; }

keyfile() {   # KEY -> path of a file holding it
	local f=$LOGDIR/key.$BASHPID.$RANDOM
	echo "$1" >"$f"
	echo "$f"
}

# pair_setup AIMPL BIMPL [4|6]: wga in NS1 (A), wgb in NS2 (B), both with
# each other's endpoint on the given outer family; inner 10.0.0.0/24 and
# fd00:aa::/64.
pair_setup() {
	A=$1 B=$2
	local fam=${3:-4}
	ns_setup || return 1
	K1=$(genkey) K2=$(genkey)
	P1=$(pubkey "$K1") P2=$(pubkey "$K2")
	if [ "$fam" = 6 ]; then
		EP1="[fd00:1::1]:$PORT1" EP2="[fd00:2::2]:$PORT2"
	else
		EP1="192.168.1.1:$PORT1" EP2="192.168.2.2:$PORT2"
	fi
	wg_add "$NS1" "$A" wga || return 1
	wg_add "$NS2" "$B" wgb || return 1
	wgc "$NS1" "$A" set wga private-key "$(keyfile "$K1")" listen-port $PORT1 \
		peer "$P2" allowed-ips 10.0.0.2/32,fd00:aa::2/128 endpoint "$EP2" || return 1
	wgc "$NS2" "$B" set wgb private-key "$(keyfile "$K2")" listen-port $PORT2 \
		peer "$P1" allowed-ips 10.0.0.1/32,fd00:aa::1/128 endpoint "$EP1" || return 1
	ip -n "$NS1" -batch - <<-EOF || return 1
	addr add 10.0.0.1/24 dev wga
	addr add fd00:aa::1/64 dev wga nodad
	link set wga up
	EOF
	ip -n "$NS2" -batch - <<-EOF
	addr add 10.0.0.2/24 dev wgb
	addr add fd00:aa::2/64 dev wgb nodad
	link set wgb up
	EOF
}

pair_teardown() { ns_teardown; }

# Bytes received by wgb from A, as B sees them.
rx_b() { transfer "$NS2" "$B" wgb "$P1" | cut -d' ' -f1; }
rx_a() { transfer "$NS1" "$A" wga "$P2" | cut -d' ' -f1; }

# counters_match: A's tx equals B's rx and B's tx equals A's rx, nonzero.
_counters_equal() {
	local ta tb
	ta=$(transfer "$NS1" "$A" wga "$P2") tb=$(transfer "$NS2" "$B" wgb "$P1")
	echo "A(rx tx)=$ta B(rx tx)=$tb"
	[ -n "$ta" ] && [ -n "$tb" ] || return 1
	[ "${ta%% *}" -gt 0 ] && [ "${tb%% *}" -gt 0 ] || return 1
	[ "${ta%% *}" = "${tb##* }" ] && [ "${ta##* }" = "${tb%% *}" ]
}
counters_match() { retry 15 _counters_equal; }

# Lossless traffic both ways (a UDP flood may be dropped by a receiver's
# queues before it is counted, legitimately), then exact equality.
counters_exact() {
	n1 ping -c 10 -i 0.05 -s 100 -W 5 10.0.0.2 >/dev/null || return 1
	n2 ping -c 10 -i 0.05 -s 1000 -W 5 fd00:aa::1 >/dev/null || return 1
	counters_match
}

# iperf_check DIR PROTO: DIR is AB or BA, PROTO tcp or udp. Asserts that the
# receiving side's WireGuard rx counter grew by at least 1 MB.
iperf_check() {
	local dir=$1 proto=$2 before after rxf args=""
	if [ "$dir" = AB ]; then rxf=rx_b; else rxf=rx_a; args="-R"; fi
	# A fixed amount, not a fixed time: a loaded TCG guest may be slow, and
	# the check is that the bytes arrive, not how fast. UDP goes at a rate a
	# slow receiver (wireguard-go under TCG) keeps up with. iperf3 stops
	# when the sender has written its amount, before the last bytes are
	# through, so at least half of the amount must have arrived.
	local amount=2M floor=1000000
	if [ "$proto" = udp ]; then
		args="$args -u -b 4M"
		amount=1M floor=500000
	fi
	n2 iperf3 -s -D -1 -p 5201 --logfile "$LOGDIR/iperf-s.log" || return 1
	retry 10 n2 sh -c 'ss -ltn | grep -q ":5201 "' || return 1
	before=$($rxf)
	n1 timeout 300 iperf3 -c 10.0.0.2 -p 5201 -n $amount $args || return 1
	after=$($rxf)
	echo "rx counter: $before -> $after (at least $floor)"
	[ $((after - before)) -ge $floor ]
}

ping_from() {   # 1|2 v4|v6 [extra ping args]
	local side=$1 fam=$2 dst
	shift 2
	if [ "$side" = 1 ]; then
		[ "$fam" = v4 ] && dst=10.0.0.2 || dst=fd00:aa::2
		n1 ping -c 2 -i 0.2 -W 5 "$@" $dst
	else
		[ "$fam" = v4 ] && dst=10.0.0.1 || dst=fd00:aa::1
		n2 ping -c 2 -i 0.2 -W 5 "$@" $dst
	fi
}

handshaken_both() {
	[ "$(latest_handshake "$NS1" "$A" wga "$P2")" -gt 0 ] &&
	[ "$(latest_handshake "$NS2" "$B" wgb "$P1")" -gt 0 ]
}

# ---------------------------------------------------------------- interop
interop() {   # NAME BIMPL: A is meshwg
	local name=$1 b=$2 init
	for init in 1 2; do
		mcheck "$name: setup ($init initiates)" pair_setup meshwg "$b" 4 || { pair_teardown; continue; }
		mcheck "$name: side $init initiates, ping v4" ping_from $init v4
		mcheck "$name: side $init initiates, ping v6" ping_from $init v6
		mcheck "$name: side $init initiates, both sides see the handshake" handshaken_both
		mcheck "$name: side $init initiates, reply direction ping v4" ping_from $((3 - init)) v4
		pair_teardown
	done
	if mcheck "$name: setup (v6 outer)" pair_setup meshwg "$b" 6; then
		mcheck "$name: v6 outer, ping v4 inner" ping_from 1 v4
		mcheck "$name: v6 outer, ping v6 inner" ping_from 2 v6
		mcheck "$name: v6 outer, endpoints are v6" sh -c "
			ip netns exec $NS1 $(_wgbin_for meshwg) show wga endpoints | grep -qF '[fd00:2::2]:$PORT2' &&
			ip netns exec $NS2 $(_wgbin_for "$b") show wgb endpoints | grep -qF '[fd00:1::1]:$PORT1'"
	fi
	pair_teardown
	if mcheck "$name: setup (traffic)" pair_setup meshwg "$b" 4; then
		mcheck "$name: rx/tx counters match exactly" counters_exact
		mcheck "$name: TCP meshwg->peer" iperf_check AB tcp
		mcheck "$name: TCP peer->meshwg" iperf_check BA tcp
		mcheck "$name: UDP meshwg->peer" iperf_check AB udp
		mcheck "$name: UDP peer->meshwg" iperf_check BA udp
	fi
	pair_teardown
}

# -------------------------------------------------------------------- mtu
mtu_check() {   # OUTERFAM
	local fam=$1
	mcheck "mtu (v$fam outer): setup" pair_setup meshwg wireguard "$fam" || { pair_teardown; return; }
	mcheck "mtu (v$fam outer): tunnel MTU is 1420" sh -c "ip -n $NS1 link show wga | grep -q 'mtu 1420 '"
	mcheck "mtu (v$fam outer): v4 DF 1392+28 passes" n1 ping -c 1 -W 5 -M do -s 1392 10.0.0.2
	mcheck "mtu (v$fam outer): v4 DF 1393+28 refused" sh -c "! ip netns exec $NS1 ping -c 1 -W 2 -M do -s 1393 10.0.0.2"
	mcheck "mtu (v$fam outer): v6 DF 1372+48 passes" n1 ping -6 -c 1 -W 5 -M do -s 1372 fd00:aa::2
	mcheck "mtu (v$fam outer): v6 DF 1373+48 refused" sh -c "! ip netns exec $NS1 ping -6 -c 1 -W 2 -M do -s 1373 fd00:aa::2"
	mcheck "mtu (v$fam outer): peer -> meshwg at the boundary" n2 ping -c 1 -W 5 -M do -s 1392 10.0.0.1
	if [ "$fam" = 4 ]; then
		ip -n "$NS1" link set wga mtu 1500
		ip -n "$NS2" link set wgb mtu 1500
		mcheck "mtu (v4 outer): tunnel MTU 1500, outer datagrams fragment" \
			n1 ping -c 2 -i 0.2 -W 5 -M do -s 1472 10.0.0.2
		mcheck "mtu (v4 outer): tunnel MTU 1500, reverse" n2 ping -c 2 -i 0.2 -W 5 -M do -s 1472 10.0.0.1
	fi
	pair_teardown
}

# ---------------------------------------------------------------- roaming
_endpoint_is() { [ "$(endpoint_of "$1" "$2" "$3" "$4")" = "$5" ]; }

roam_a() {
	ip -n "$NS1" addr del 192.168.1.1/24 dev eth0 || return 1
	ip -n "$NS1" addr add 192.168.1.3/24 dev eth0 || return 1
	ip -n "$NS1" route add default via 192.168.1.254 || return 1
	n1 ping -c 2 -i 0.2 -W 5 10.0.0.2 || return 1
	retry 10 _endpoint_is "$NS2" "$B" wgb "$P1" "192.168.1.3:$PORT1"
}

roam_b() {
	ip -n "$NS2" addr del 192.168.2.2/24 dev eth0 || return 1
	ip -n "$NS2" addr add 192.168.2.3/24 dev eth0 || return 1
	ip -n "$NS2" route add default via 192.168.2.254 || return 1
	n2 ping -c 2 -i 0.2 -W 5 10.0.0.1 || return 1
	retry 10 _endpoint_is "$NS1" "$A" wga "$P2" "192.168.2.3:$PORT2"
}

roaming() {
	mcheck "roaming: setup" pair_setup meshwg meshwg 4 || { pair_teardown; return; }
	mcheck "roaming: initial ping" ping_from 1 v4
	mcheck "roaming: A moves, B's endpoint follows" roam_a
	mcheck "roaming: B moves, A's endpoint follows" roam_b
	mcheck "roaming: traffic after both moved" ping_from 1 v6
	pair_teardown
	mcheck "roaming (v6 outer): setup" pair_setup meshwg wireguard 6 || { pair_teardown; return; }
	mcheck "roaming (v6 outer): meshwg follows the upstream peer" sh -c "
		ip -n $NS2 addr add fd00:2::3/64 dev eth0 nodad &&
		ip -n $NS2 addr del fd00:2::2/64 dev eth0 &&
		ip -n $NS2 -6 route replace default via fd00:2::254 &&
		ip netns exec $NS2 ping -c 2 -i 0.2 -W 5 10.0.0.1"
	mcheck "roaming (v6 outer): endpoint updated" retry 10 _endpoint_is "$NS1" "$A" wga "$P2" "[fd00:2::3]:$PORT2"
	pair_teardown
}

# ---------------------------------------------------------------- routing
# A third peer C lives in NS0 (the router), reachable at 192.168.1.254.
third_setup() {
	K3=$(genkey) P3=$(pubkey "$K3")
	wg_add "$NS0" meshwg wgc || return 1
	wgc "$NS0" meshwg set wgc private-key "$(keyfile "$K3")" listen-port $PORT3 \
		peer "$P1" allowed-ips 10.0.0.1/32 endpoint "192.168.1.1:$PORT1" || return 1
	ip -n "$NS0" addr add 10.0.0.3/24 dev wgc && ip -n "$NS0" link set wgc up || return 1
	# A: B gets the whole /24, C the more specific /32.
	wgc "$NS1" "$A" set wga peer "$P2" allowed-ips 10.0.0.0/24,fd00:aa::2/128 \
		peer "$P3" allowed-ips 10.0.0.3/32 endpoint "192.168.1.254:$PORT3"
}

_ip_counter() {   # NS IF FIELD(rx_errors...)
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"
}

spoof_dropped() {
	local before after pb pa
	before=$(_ip_counter "$NS1" wga rx_errors)
	uses_meshwg && pb=$(peer_counter "$NS1" wga "$P2" drops_allowedips)
	ip -n "$NS2" addr add 10.0.0.3/32 dev wgb || return 1
	# B sends from 10.0.0.3, an address A routes to C.
	if n2 ping -c 3 -i 0.2 -W 1 -I 10.0.0.3 10.0.0.1; then
		echo "spoofed ping was answered"
		return 1
	fi
	after=$(_ip_counter "$NS1" wga rx_errors)
	echo "rx_errors $before -> $after"
	[ "$after" -gt "$before" ] || return 1
	if uses_meshwg; then
		pa=$(peer_counter "$NS1" wga "$P2" drops_allowedips)
		echo "drops_allowedips $pb -> $pa"
		[ "$pa" -ge $((pb + 3)) ] || return 1
	fi
}

routing() {
	mcheck "routing: setup" pair_setup meshwg meshwg 4 || { pair_teardown; return; }
	mcheck "routing: third peer" third_setup
	mcheck "routing: 10.0.0.2 via the /24 peer" n1 ping -c 2 -i 0.2 -W 5 10.0.0.2
	mcheck "routing: 10.0.0.3 via the more specific /32 peer" n1 ping -c 2 -i 0.2 -W 5 10.0.0.3
	mcheck "routing: the /32 peer has the traffic" sh -c "[ \"\$(ip netns exec $NS0 cat /sys/class/net/wgc/statistics/rx_packets)\" -ge 2 ]"
	mcheck "routing: spoofed source dropped and counted" spoof_dropped
	mcheck "routing: removing the /32 sends 10.0.0.3 to the /24 peer" sh -c "
		ip netns exec $NS1 $(_wgbin) set wga peer $P3 remove &&
		ip netns exec $NS2 ping -c 1 -W 5 -I 10.0.0.3 10.0.0.1"
	pair_teardown
}

_wgbin() { [ "$IMPL" = meshwg ] && echo "meshwg wg" || echo wg; }

# peer_counter NS IF PUBKEY FIELD: a meshwg per-peer counter from mwnl.
peer_counter() {
	ip netns exec "$1" mwnl counters "$2" |
		awk -v k="$3" -v f="$4" '$1 == "peer" && $2 == k { for (i = 3; i < NF; i += 2) if ($i == f) print $(i + 1) }'
}
dev_counter() {   # NS IF FIELD
	ip netns exec "$1" mwnl counters "$2" | awk -v f="$3" '$1 == f { print $2 }'
}

# ------------------------------------------------------------------- keys
key_change() {
	local nk np
	nk=$(genkey) np=$(pubkey "$nk")
	wgc "$NS1" "$A" set wga private-key "$(keyfile "$nk")" || return 1
	[ "$(wgc "$NS1" "$A" show wga public-key)" = "$np" ] || { echo "public key not updated"; return 1; }
	# B still knows the old key: the old session must be gone at once.
	if n1 ping -c 2 -i 0.2 -W 1 10.0.0.2; then
		echo "traffic still flows on the session of the old key"
		return 1
	fi
	wgc "$NS2" "$B" set wgb peer "$P1" remove peer "$np" allowed-ips 10.0.0.1/32,fd00:aa::1/128 \
		endpoint "$EP1" || return 1
	P1=$np
	local t0
	t0=$(date +%s)
	n1 ping -c 2 -i 0.2 -W 5 10.0.0.2 || return 1
	wait_handshake "$NS2" "$B" wgb "$P1" 10 $((t0 - 1))
}

# Upstream's order (netns.sh): A changes its key and B learns the new one
# before any traffic; A's next packet must handshake at once. An initiation
# sent by A on the key change itself reaches B too early, is dropped, and
# holds the next one back for REKEY_TIMEOUT (5 s).
key_change_prompt() {
	local nk np
	nk=$(genkey) np=$(pubkey "$nk")
	wgc "$NS1" "$A" set wga private-key "$(keyfile "$nk")" || return 1
	wgc "$NS2" "$B" set wgb peer "$P1" remove peer "$np" allowed-ips 10.0.0.1/32,fd00:aa::1/128 \
		endpoint "$EP1" || return 1
	P1=$np
	n1 ping -c 1 -W 1 10.0.0.2
}

# An interface that is up with a persistent-keepalive peer but no private
# key sends nothing; the first private key sends (a handshake) at once.
first_key_sends() {
	local tx
	ns_setup || return 1
	wg_add "$NS1" meshwg wga || return 1
	wgc "$NS1" meshwg set wga peer "$(pubkey "$(genkey)")" endpoint 192.168.2.2:9 \
		persistent-keepalive 1 || return 1
	ip -n "$NS1" link set wga up || return 1
	tx=$(transfer "$NS1" meshwg wga "$(wgc "$NS1" meshwg show wga peers)" | cut -d' ' -f2)
	[ "$tx" = 0 ] || { echo "sent $tx bytes without a private key"; return 1; }
	wgc "$NS1" meshwg set wga private-key "$(keyfile "$(genkey)")" || return 1
	_tx_above0() {
		[ "$(transfer "$NS1" meshwg wga "$(wgc "$NS1" meshwg show wga peers)" | cut -d' ' -f2)" -gt 0 ]
	}
	retry 2 _tx_above0
}

# Peers whose public keys are points of low order are accepted (wg(8)
# configurations may carry them, upstream accepts them) but never sent a
# handshake, even with a persistent keepalive on an interface that is up.
LOW_ORDER="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA= X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=
7P///////////////////////////////////////38= 7f///////////////////////////////////////38=
7v///////////////////////////////////////38="
low_order_peers() {
	local k
	ns_setup || return 1
	wg_add "$NS1" meshwg wga || return 1
	wgc "$NS1" meshwg set wga private-key "$(keyfile "$(genkey)")" || return 1
	for k in $LOW_ORDER; do
		wgc "$NS1" meshwg set wga peer "$k" persistent-keepalive 1 \
			endpoint 192.168.2.2:1111 || return 1
	done
	[ "$(wgc "$NS1" meshwg show wga peers | wc -l)" = 7 ] || return 1
	ip -n "$NS1" link set wga up || return 1
	sleep 2
	wgc "$NS1" meshwg show wga transfer
	! wgc "$NS1" meshwg show wga transfer | awk '$3 != 0 { bad = 1 } END { exit !bad }'
}

psk() {
	local k1 k2
	k1=$(wg genpsk) k2=$(wg genpsk)
	wgc "$NS1" "$A" set wga peer "$P2" preshared-key "$(keyfile "$k1")" || return 1
	wgc "$NS2" "$B" set wgb peer "$P1" preshared-key "$(keyfile "$k2")" || return 1
	if n1 ping -c 2 -i 0.2 -W 2 10.0.0.2; then echo "mismatched PSKs handshook"; return 1; fi
	wgc "$NS2" "$B" set wgb peer "$P1" preshared-key "$(keyfile "$k1")" || return 1
	retry 30 n1 ping -c 1 -W 1 10.0.0.2 || return 1
	[ "$(wgc "$NS1" "$A" show wga preshared-keys | awk '{print $2}')" = "$k1" ]
}

keys() {
	local b
	for b in wireguard meshwg; do
		mcheck "keys ($b peer): setup" pair_setup meshwg $b 4 || { pair_teardown; continue; }
		mcheck "keys ($b peer): initial ping" ping_from 1 v4
		mcheck "keys ($b peer): private-key change drops the session and re-handshakes" key_change
		mcheck "keys ($b peer): after a key change known to the peer, the next packet handshakes at once" \
			key_change_prompt
		pair_teardown
		mcheck "keys ($b peer): psk setup" pair_setup meshwg $b 4 || { pair_teardown; continue; }
		mcheck "keys ($b peer): preshared key mismatch refused, match works" psk
		pair_teardown
	done
	mcheck "keys: the first private key sends a waiting persistent keepalive at once" first_key_sends
	pair_teardown
	mcheck "keys: low-order public keys are accepted and never sent anything" low_order_peers
	pair_teardown
}

# -------------------------------------------------------------------- nat
nat_setup() {   # INNER_IMPL OUTER_IMPL: NS1 (inner) behind NS0's masquerade
	local in=$1 out=$2
	ns_setup || return 1
	A=$in B=$out
	K1=$(genkey) K2=$(genkey)
	P1=$(pubkey "$K1") P2=$(pubkey "$K2")
	n0 nft -f - <<-EOF || return 1
	table ip nat {
		chain post { type nat hook postrouting priority 100; oifname "veth2" ip saddr 192.168.1.0/24 masquerade; }
	}
	table inet filter {
		chain forward_filter { type filter hook forward priority 0; policy accept;
			ct state established,related accept
			iifname "veth2" oifname "veth1" drop
		}
	}
	EOF
	wg_add "$NS1" "$A" wga && wg_add "$NS2" "$B" wgb || return 1
	wgc "$NS1" "$A" set wga private-key "$(keyfile "$K1")" listen-port $PORT1 \
		peer "$P2" allowed-ips 10.0.0.2/32 endpoint "192.168.2.2:$PORT2" persistent-keepalive 1 || return 1
	wgc "$NS2" "$B" set wgb private-key "$(keyfile "$K2")" listen-port $PORT2 \
		peer "$P1" allowed-ips 10.0.0.1/32 || return 1
	ip -n "$NS1" addr add 10.0.0.1/24 dev wga && ip -n "$NS2" addr add 10.0.0.2/24 dev wgb &&
	ip -n "$NS1" link set wga up && ip -n "$NS2" link set wgb up
}

_endpoint_natted() { endpoint_of "$NS2" "$B" wgb "$P1" | grep -q '^192\.168\.2\.254:'; }

_rx_above() { [ "$(rx_b)" -gt "$1" ]; }
_rx_grows() {   # the outside side keeps receiving (keepalives) with no traffic
	local r0
	r0=$(rx_b)
	retry 10 _rx_above "$r0"
}
_wgbin_for() { [ "$(_impl "$1")" = meshwg ] && echo "meshwg wg" || echo wg; }

nat() {
	local in out
	for pair in "meshwg wireguard" "wireguard meshwg" "meshwg meshwg"; do
		in=${pair% *} out=${pair#* }
		local name="nat ($in behind NAT, $out outside)"
		mcheck "$name: setup" nat_setup "$in" "$out" || { pair_teardown; continue; }
		mcheck "$name: the outside cannot reach in directly" sh -c "! ip netns exec $NS2 ping -c 1 -W 1 192.168.1.1"
		mcheck "$name: inside reaches outside" n1 ping -c 2 -i 0.2 -W 5 10.0.0.2
		mcheck "$name: outside learned the NAT mapping" retry 10 _endpoint_natted
		mcheck "$name: persistent keepalives keep arriving" _rx_grows
		mcheck "$name: outside reaches inside through the mapping" n2 ping -c 2 -i 0.2 -W 5 10.0.0.1
		pair_teardown
	done
}

# ------------------------------------------------------------------ rekey
rekey_after_idle() {
	local t
	sleep 15   # reject_after_time=14: let the session expire
	t=$(date +%s)
	n1 ping -c 1 -W 5 10.0.0.2 || return 1
	wait_handshake "$NS2" "$B" wgb "$P1" 10 $((t - 1))
}

rekey() {
	if ! uses_meshwg; then skip rekey "meshwg module parameters"; return; fi
	_probe_meshwg
	[ -n "$MESHWG_MISSING" ] && { fail "rekey: short timers" "$MESHWG_MISSING"; return; }
	lsmod | grep -q '^meshwg ' && { check "rekey: unload before reload" unload_meshwg || return; }
	check "rekey: modprobe with short timers" modprobe meshwg rekey_after_time=8 \
		reject_after_time=14 rekey_timeout=2 keepalive_timeout=3 || return
	check "rekey: parameters in effect" sh -c '[ "$(cat /sys/module/meshwg/parameters/rekey_after_time)" = 8 ]'
	local b
	for b in wireguard meshwg; do
		mcheck "rekey ($b peer): setup" pair_setup meshwg $b 4 || { pair_teardown; continue; }
		mcheck "rekey ($b peer): first handshake" ping_from 1 v4
		local t1
		t1=$(latest_handshake "$NS2" "$B" wgb "$P1")
		n1 ping -i 0.5 -W 1 10.0.0.2 >"$LOGDIR/rekey-ping.log" 2>&1 &
		local pp=$!
		mcheck "rekey ($b peer): meshwg initiates a new handshake under traffic" \
			wait_handshake "$NS2" "$B" wgb "$P1" 40 "$t1"
		mcheck "rekey ($b peer): traffic continues on the new session" ping_from 1 v4
		kill $pp 2>/dev/null; wait $pp 2>/dev/null
		# Idle past reject_after_time: the session is gone; traffic re-handshakes.
		mcheck "rekey ($b peer): after reject_after_time idle, a fresh handshake" rekey_after_idle
		pair_teardown
	done
	check "rekey: unload" unload_meshwg
}

# ----------------------------------------------------------------- cookie
cookie() {
	mcheck "cookie: setup" pair_setup meshwg wireguard 4 || { pair_teardown; return; }
	# The flooder sits in NS0 at 192.168.2.254, the legitimate peer B elsewhere.
	local before=0 out
	uses_meshwg && before=$(dev_counter "$NS1" wga rx_ratelimited)
	out=$LOGDIR/flood.out
	mcheck "cookie: flood of initiations gets cookie replies" sh -c "
		ip netns exec $NS0 wgflood --to 192.168.1.1:$PORT1 --pubkey $P1 --count 20000 \
			--mac2-after-cookie >$out; rc=\$?; cat $out; [ \$rc = 0 ] &&
		grep -q '^cookies [1-9]' $out"
	if uses_meshwg; then
		mcheck "cookie: RX_RATELIMITED counts refused handshakes" sh -c "
			a=\$(ip netns exec $NS1 mwnl counters wga | awk '\$1==\"rx_ratelimited\"{print \$2}');
			echo \"rx_ratelimited $before -> \$a\"; [ \"\$a\" -gt $before ]"
	else
		skip "cookie: RX_RATELIMITED" "wireguard.ko has no such counter"
	fi
	# A legitimate peer handshakes while another flood runs.
	ip netns exec "$NS0" wgflood --to "192.168.1.1:$PORT1" --pubkey "$P1" --count 200000 \
		--mac2-after-cookie >/dev/null 2>&1 &
	local fp=$!
	mcheck "cookie: legitimate peer gets through during a flood" retry 60 n2 ping -c 1 -W 2 10.0.0.1
	kill $fp 2>/dev/null; wait $fp 2>/dev/null
	pair_teardown
}

# ------------------------------------------------------------------ agent
_grep_file() { grep -qi -- "$1" "$2"; }

stun_up() {
	local lf=$LOGDIR/listen.out txid=0123456789abcdef01234567 lp i
	n1 meshwg debug listen wga --timeout 60 >"$lf" 2>&1 &
	lp=$!
	retry 20 _grep_file '^listening' "$lf" || { kill $lp; return 1; }
	# Datagrams may be dropped by design (rate limits): resend until heard.
	for i in $(seq 1 20); do
		n2 udptool send --from 192.168.2.2:3478 --to 192.168.1.1:$PORT1 --hex "000100002112a442$txid"
		retry 1 _grep_file "^datagram iface=wga from=192.168.2.2:3478 kind=stun len=20 hex=000100002112a442$txid" "$lf" && break
	done
	kill $lp 2>/dev/null
	wait $lp 2>/dev/null
	cat "$lf"
	_grep_file "^datagram iface=wga from=192.168.2.2:3478 kind=stun len=20 hex=000100002112a442$txid\$" "$lf"
}

# Per-source fairness: one remote host sprays STUN-shaped datagrams at the
# port while another host's STUN replies must all still reach the agent. The
# budget is lowered for the check (20 per second, bursts of 10) so that the
# spray is far over it however fast the guest is; the other host sends a
# burst of 10.
_agent_drops_over() {   # N: agent_rx_drops above N
	local d
	d=$(dev_counter "$NS1" wga agent_rx_drops)
	[ -n "$d" ] && [ "$d" -gt "$1" ]
}

_heard_from() {   # FILE SOURCE -> how many datagrams from SOURCE were heard
	grep -c "^datagram iface=wga from=$2 kind=stun " "$1"
}

_all_heard() { [ "$(_heard_from "$1" "$2")" -ge "$3" ]; }

stun_fair() {
	local lf=$LOGDIR/fair.out p=/sys/module/meshwg/parameters rate burst lp sp d0 rc=0
	rate=$(cat $p/agent_rx_rate) burst=$(cat $p/agent_rx_burst)
	echo 20 >$p/agent_rx_rate && echo 10 >$p/agent_rx_burst || return 1
	n1 meshwg debug listen wga --timeout 120 >"$lf" 2>&1 &
	lp=$!
	if retry 20 _grep_file '^listening' "$lf"; then
		d0=$(dev_counter "$NS1" wga agent_rx_drops)
		n2 udptool send --from 192.168.2.2:3479 --to 192.168.1.1:$PORT1 \
			--hex 000100002112a442ffffffffffffffffffffffff --count 100000000 &
		sp=$!
		# The spray is on and over its budget before the real replies come.
		retry 30 _agent_drops_over $((d0 + 200)) || { echo "no spray seen"; rc=1; }
		n0 udptool send --from 192.168.1.254:3478 --to 192.168.1.1:$PORT1 \
			--hex 000100002112a4420123456789abcdef01234567 --count 10
		retry 10 _all_heard "$lf" 192.168.1.254:3478 10
		echo "heard from the sprayer: $(_heard_from "$lf" 192.168.2.2:3479)," \
			"from the other host: $(_heard_from "$lf" 192.168.1.254:3478) of 10;" \
			"agent_rx_drops $d0 -> $(dev_counter "$NS1" wga agent_rx_drops)"
		kill "$sp" 2>/dev/null
		wait "$sp" 2>/dev/null
		_all_heard "$lf" 192.168.1.254:3478 10 || rc=1
	else
		rc=1
	fi
	kill "$lp" 2>/dev/null
	wait "$lp" 2>/dev/null
	echo "$rate" >$p/agent_rx_rate
	echo "$burst" >$p/agent_rx_burst
	return $rc
}

agent_send() {
	local rf=$LOGDIR/recv.out
	n2 udptool recv --on 192.168.2.2:5555 --count 1 --timeout 20 >"$rf" &
	local rp=$!
	retry 10 n2 sh -c 'ss -lun | grep -q ":5555 "' || return 1
	n1 meshwg debug send wga 192.168.2.2:5555 deadbeef00 || return 1
	wait $rp
	cat "$rf"
	grep -q "^from=192.168.1.1:$PORT1 len=5 hex=deadbeef00$" "$rf"
}

relay_setup() {
	pair_setup meshwg meshwg 4 || return 1
	wgc "$NS1" meshwg set wga peer "$P2" endpoint relay:7 || return 1
	wgc "$NS2" meshwg set wgb peer "$P1" endpoint relay:7 || return 1
	n1 meshwg debug relay wga 7 192.168.1.1:20001 192.168.2.2:20002 >"$LOGDIR/relay1.log" 2>&1 &
	n2 meshwg debug relay wgb 7 192.168.2.2:20002 192.168.1.1:20001 >"$LOGDIR/relay2.log" 2>&1 &
	retry 20 _grep_file '^relay ready' "$LOGDIR/relay1.log" &&
		retry 20 _grep_file '^relay ready' "$LOGDIR/relay2.log" ||
		{ cat "$LOGDIR/relay1.log" "$LOGDIR/relay2.log"; return 1; }
}

# INJECT_DATAGRAM is limited per relay: 1000 initiations injected over relay
# 9 are cut (counted in rx_ratelimited) while the relay-7 loop still carries
# traffic. The budget is lowered for the check (20 per second, bursts of 10)
# so that the flood is far over it however fast the guest is.
relay_inject_limit() {
	local p=/sys/module/meshwg/parameters rate burst r0 r1 rc=0
	rate=$(cat $p/inject_rate) burst=$(cat $p/inject_burst) || return 1
	echo 20 >$p/inject_rate && echo 10 >$p/inject_burst || return 1
	r0=$(dev_counter "$NS1" wga rx_ratelimited)
	n1 relayhs flood wga "$P1" 9 1000 || rc=1
	r1=$(dev_counter "$NS1" wga rx_ratelimited)
	echo "rx_ratelimited $r0 -> $r1 after 1000 initiations over relay 9"
	[ $((r1 - r0)) -ge 500 ] || rc=1
	n1 ping -c 2 -i 0.2 -W 5 10.0.0.2 || { echo "relay 7 carries nothing"; rc=1; }
	echo "$rate" >$p/inject_rate
	echo "$burst" >$p/inject_burst
	return $rc
}

# Under load (a UDP flood from NS0), the cookie of an injected initiation is
# bound to its relay: relays 5 and 6 get different cookies, and an initiation
# over relay 6 whose MAC2 is made with relay 5's cookie is refused (answered
# with a new cookie reply).
relay_cookie_bound() {
	local fp c5 c6 out rc=0
	ip netns exec "$NS0" wgflood --to "192.168.1.1:$PORT1" --pubkey "$P1" --count 200000 \
		>/dev/null 2>&1 &
	fp=$!
	{ c5=$(n1 relayhs cookie wga "$P1" 5) && c6=$(n1 relayhs cookie wga "$P1" 6); } || rc=1
	echo "relay 5: $c5; relay 6: $c6"
	if [ $rc = 0 ]; then
		[ "$c5" != "$c6" ] || rc=1
		out=$(n1 relayhs mac2 wga "$P1" 6 "${c5#cookie }") || rc=1
		echo "relay 5's cookie over relay 6: $out"
	fi
	kill $fp 2>/dev/null
	wait $fp 2>/dev/null
	return $rc
}

relay_to_direct() {
	# B learns A's direct address; A must roam to B's direct address as soon
	# as authenticated traffic arrives from it.
	wgc "$NS2" meshwg set wgb peer "$P1" endpoint "192.168.1.1:$PORT1" || return 1
	n2 ping -c 2 -i 0.2 -W 5 10.0.0.1 || return 1
	retry 10 _endpoint_is "$NS1" meshwg wga "$P2" "192.168.2.2:$PORT2"
}

agent() {
	if ! uses_meshwg; then skip agent "meshwg debug verbs need meshwg.ko"; return; fi
	mcheck "agent: setup" pair_setup meshwg wireguard 4 || { pair_teardown; return; }
	mcheck "agent: STUN datagram on the port reaches 'meshwg debug listen'" stun_up
	mcheck "agent: one host's STUN spray does not crowd out another host's replies" stun_fair
	mcheck "agent: 'meshwg debug send' leaves from the module's port" agent_send
	mcheck "agent: WireGuard traffic unaffected" ping_from 2 v4
	pair_teardown
	mcheck "agent: relay setup" relay_setup || { pair_teardown; return; }
	mcheck "agent: endpoints show relay:7" sh -c "ip netns exec $NS1 meshwg wg show wga endpoints | grep -q 'relay:7'"
	mcheck "agent: traffic through the relay loops" n1 ping -c 2 -i 0.2 -W 5 10.0.0.2
	mcheck "agent: reverse traffic through the relay loops" n2 ping -c 2 -i 0.2 -W 5 10.0.0.1
	mcheck "agent: INJECT is limited per relay, another relay still carries traffic" \
		relay_inject_limit
	mcheck "agent: a cookie handed out over one relay is refused over another" relay_cookie_bound
	mcheck "agent: relay to direct once a direct endpoint works" relay_to_direct
	pair_teardown
}

# ---------------------------------------------------------------- netlink
normconf() {   # showconf text -> sorted "pubkey ip" lines, plus interface lines
	awk '
	/^\[Peer\]/ { peer = 1; next }
	/^\[Interface\]/ { peer = 0; next }
	{ sub(/[ \t]*#.*/, ""); if ($0 == "") next }
	{ split($0, kv, /[ \t]*=[ \t]*/); k = kv[1]; v = substr($0, index($0, "=") + 1); gsub(/[ \t]/, "", v) }
	!peer { print "iface", k, v; next }
	k == "PublicKey" { pk = v; print "peer", pk; next }
	k == "AllowedIPs" { n = split(v, a, ","); for (i = 1; i <= n; i++) print "ip", pk, a[i]; next }
	{ print "attr", pk, k, v }
	' | sort
}

scale() {
	local conf=$LOGDIR/big.conf out=$LOGDIR/big.out
	genconf --peers 10000 --ips-per-peer 10 --private-key "$K1" >"$conf" || return 1
	[ "$(grep -c '^\[Peer\]' "$conf")" = 10000 ] || return 1
	wgc "$NS1" "$A" setconf wga "$conf" || return 1
	wgc "$NS1" "$A" showconf wga >"$out" || return 1
	echo "peers: $(grep -c '^\[Peer\]' "$out") allowed-ips: $(normconf <"$out" | grep -c '^ip ')"
	normconf <"$conf" >"$conf.n"
	normconf <"$out" >"$out.n"
	diff "$conf.n" "$out.n" | head -n 20
	cmp -s "$conf.n" "$out.n" && [ "$(grep -c '^ip ' "$out.n")" = 100000 ]
}

bad_input() {   # KIND: mwnl refuses, and showconf is unchanged
	local before after
	before=$(wgc "$NS1" "$A" showconf wga) || return 1
	ip netns exec "$NS1" mwnl bad "$1" wga || return 1
	after=$(wgc "$NS1" "$A" showconf wga) || return 1
	[ "$before" = "$after" ] || { echo "configuration changed:"; diff <(echo "$before") <(echo "$after"); return 1; }
}

netlink() {
	mcheck "netlink: setup" pair_setup meshwg wireguard 4 || { pair_teardown; return; }
	mcheck "netlink: 10,000 peers / 100,000 allowed IPs set and dumped back identically" scale
	# Upstream frees all peers behind one synchronize_net(); the time this
	# takes is printed with the result.
	mcheck "netlink: delete the interface holding 10,000 peers" ip -n "$NS1" link del wga
	pair_teardown
	if ! uses_meshwg; then skip "netlink: bad input" "mwnl speaks the meshwg family"; return; fi
	mcheck "netlink: bad-input setup" pair_setup meshwg wireguard 4 || { pair_teardown; return; }
	local k
	for k in key-length family cidr ifindex oversized-datagram bad-flags reserved; do
		mcheck "netlink: bad input ($k) refused, nothing changed" bad_input "$k"
	done
	mcheck "netlink: device still works after bad input" ping_from 1 v4
	pair_teardown
}

# --------------------------------------------------------------- teardown
teardown() {
	mcheck "teardown: setup" pair_setup meshwg meshwg 4 || { pair_teardown; return; }
	n1 ping -f -W 1 10.0.0.2 >/dev/null 2>&1 &
	local pp=$!
	mcheck "teardown: delete an interface under traffic" sh -c "
		ip netns exec $NS1 ping -c 1 -W 5 10.0.0.2 && ip -n $NS2 link del wgb &&
		! ip -n $NS2 link show wgb 2>/dev/null"
	kill $pp 2>/dev/null; wait $pp 2>/dev/null
	mcheck "teardown: delete namespaces with live interfaces" sh -c "
		ip netns del $NS1 && ip netns del $NS2 && ip netns del $NS0 &&
		for i in \$(seq 1 100); do [ -z \"\$(ip -o link show type $(_impl meshwg))\" ] && exit 0; sleep 0.1; done; exit 1"
	ns_teardown
	if ! uses_meshwg; then skip "teardown: rmmod" "wireguard.ko is shared"; return; fi
	mcheck "teardown: setup (rmmod)" pair_setup meshwg meshwg 4 || { pair_teardown; return; }
	n2 iperf3 -s -D -1 -p 5201 --logfile "$LOGDIR/iperf-s.log"
	n1 iperf3 -c 10.0.0.2 -p 5201 -t 30 >/dev/null 2>&1 &
	local ip=$!
	mcheck "teardown: rmmod under traffic" sh -c "
		ip netns exec $NS1 ping -c 1 -W 5 10.0.0.2 && sleep 1 && rmmod meshwg &&
		! lsmod | grep -q '^meshwg ' && [ -z \"\$(ip -all netns exec ip -o link show type meshwg 2>/dev/null | grep -v '^netns')\" ]"
	kill $ip 2>/dev/null; wait $ip 2>/dev/null
	pair_teardown
	mcheck "teardown: module loads again" modprobe meshwg
}

# ---------------------------------------------------------------- suspend
# A test suspend: with pm_test "freezer" the PM_SUSPEND_PREPARE notifiers
# run, tasks are frozen, the kernel waits pm_test_delay (5 s) and thaws
# them; nothing is powered down.
_test_suspend() {
	local rc
	echo freezer >/sys/power/pm_test || return 1
	echo freeze >/sys/power/state
	rc=$?
	echo none >/sys/power/pm_test
	return $rc
}

# Handshake initiations (type 1, 148 bytes) A has sent to B's port. An
# anonymous counter: the debug kernel has no nft_objref for named ones.
_initiations() {
	n1 nft -j list chain inet mwgpm out | python3 -c '
import json, sys
print(sum(e["counter"]["packets"] for o in json.load(sys.stdin)["nftables"]
          if "rule" in o for e in o["rule"]["expr"] if "counter" in e))'
}

# The state, not the time: with the session wiped, A's first packet after
# the suspend cannot be encrypted and goes out behind a new initiation; with
# the session kept, no initiation is sent at all.
_suspend_wipes() {
	local i0 i1 t0 t1
	n1 nft -f - <<-EOF || return 1
	table inet mwgpm {
		chain out { type filter hook output priority 0;
			udp dport $PORT2 udp length 156 @th,64,32 0x01000000 counter; }
	}
	EOF
	i0=$(_initiations) t0=$(latest_handshake "$NS1" meshwg wga "$P2")
	_test_suspend || { echo "the test suspend failed"; return 1; }
	n1 ping -c 1 -W 5 10.0.0.2 >/dev/null || { echo "no ping after the suspend"; return 1; }
	i1=$(_initiations) t1=$(latest_handshake "$NS1" meshwg wga "$P2")
	echo "initiations sent $i0 -> $i1, latest handshake $t0 -> $t1"
	[ "$i1" -gt "$i0" ] && [ "$t1" -gt "$t0" ]
}

pm_suspend() {
	if ! uses_meshwg; then skip "suspend" "meshwg's PM notifier"; return; fi
	if ! grep -qw freezer /sys/power/pm_test 2>/dev/null ||
	   ! grep -qw freeze /sys/power/state 2>/dev/null; then
		skip "suspend" "this kernel has no pm_test freezer level (CONFIG_PM_DEBUG) or no freeze state"
		return
	fi
	mcheck "suspend: setup" pair_setup meshwg meshwg 4 || { pair_teardown; return; }
	mcheck "suspend: session" ping_from 1 v4
	mcheck "suspend: sessions wiped, the next packet handshakes" _suspend_wipes
	pair_teardown
}

# ----------------------------------------------------------------- txpath
# udp_burst NS DST PORTS: one unconnected UDP socket sends a 1000-byte
# datagram to DST at each of PORTS, waits 1 s, and prints its tx_queue (the
# socket's send memory still in use) from /proc/net/udp.
udp_burst() {
	ip netns exec "$1" python3 - "$2" "$3" <<-'PY'
	import socket, sys, time
	dst, ports = sys.argv[1], [int(p) for p in sys.argv[2].split()]
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	for p in ports:
	    s.sendto(b"x" * 1000, (dst, p))
	time.sleep(1)
	port = "%04X" % s.getsockname()[1]
	for line in open("/proc/net/udp").readlines()[1:]:
	    f = line.split()
	    if f[1].endswith(":" + port):
	        print(int(f[4].split(":")[0], 16))
	PY
}

_no_wmem() {   # DST: 20 datagrams into the tunnel leave nothing charged
	local q
	q=$(udp_burst "$NS1" "$1" "$(seq -s' ' 9000 9019)") || return 1
	echo "tx_queue $q"
	[ "$q" = 0 ]
}

# A maxrate keeps fq off its fast path for idle queues (6.7 and later), where
# packets bypass the flow table.
_fq_flows() {   # fq on NS1's eth0 sees >= 8 flows for 16 inner flows
	local n
	n1 tc qdisc replace dev eth0 root fq maxrate 10gbit || return 1
	udp_burst "$NS1" 10.0.0.2 "$(seq -s' ' 2000 2015)" >/dev/null || return 1
	n=$(n1 tc -s qdisc show dev eth0 | sed -n 's/^ *flows \([0-9]*\).*/\1/p')
	echo "fq flows: $n"
	n1 tc qdisc del dev eth0 root
	[ "${n:-0}" -ge 8 ]
}

txpath() {
	if ! uses_meshwg; then skip "txpath" "meshwg's transmit path"; return; fi
	mcheck "txpath: setup" pair_setup meshwg meshwg 4 || { pair_teardown; return; }
	mcheck "txpath: session" ping_from 1 v4
	mcheck "txpath: fq sees the inner flows" _fq_flows
	# No session (the other side is down), then no endpoint at all.
	ip -n "$NS2" link set wgb down
	wgc "$NS1" meshwg set wga peer "$P2" remove
	wgc "$NS1" meshwg set wga peer "$P2" allowed-ips 10.0.0.2/32 endpoint "$EP2"
	mcheck "txpath: waiting for a handshake holds no socket memory" _no_wmem 10.0.0.2
	wgc "$NS1" meshwg set wga peer "$(pubkey "$(genkey)")" allowed-ips 10.0.0.3/32
	mcheck "txpath: waiting for an endpoint holds no socket memory" _no_wmem 10.0.0.3
	pair_teardown
}

if uses_meshwg; then
	mcheck "load meshwg.ko" modprobe meshwg
else
	check "load wireguard.ko (IMPL=$IMPL self-test)" modprobe wireguard
fi
want interop && interop "meshwg<->meshwg" meshwg
want interop && interop "meshwg<->wireguard.ko" wireguard
want interop && interop "meshwg<->wireguard-go" wggo
want mtu && mtu_check 4
want mtu && mtu_check 6
want roaming && roaming
want routing && routing
want keys && keys
want nat && nat
want cookie && cookie
want agent && agent
want netlink && netlink
want rekey && rekey
want suspend && pm_suspend
want txpath && txpath
want teardown && teardown
suite_end
