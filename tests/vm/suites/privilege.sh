#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# meshwg.ko's privilege boundaries and device lifetime:
#
#   lifetime  creating and deleting interfaces does not leak kernel memory
#             (SUnreclaim over 200 cycles), as root and as root of a user
#             namespace made by an unprivileged user (the `unshare -Urn`
#             case: anyone may do it)
#   perm      every genl command and multicast group, with `mwnl perm`:
#             - root in the netns that created the device: everything;
#             - root of an unprivileged user namespace that owns the netns
#               the device was moved into: the device's own configuration,
#               filter, relay injection and groups, but nothing that acts in
#               the creating netns (listen port, fwmark, SEND_DATAGRAM);
#             - an unprivileged user: no command, no group.
#
# `userns UID CMD` (tests/vm/helpers/userns.c) is `unshare -Urn` as UID; the
# suites run chrooted, where unshare(CLONE_NEWUSER) itself is refused.
. "$REPO/tests/vm/lib.sh"

UNPRIV=65534
HOLDER=

# sunreclaim: unreclaimable slab memory in kB (kmalloc, including the large
# allocations a net_device with its private area may need).
sunreclaim() { awk '/^SUnreclaim:/ { print $2 }' /proc/meminfo; }

# no_leak CMD...: CMD runs $LOGDIR/cycles (200 `link add; link del` pairs)
# with ip -batch; after a warm-up run, a second run may grow SUnreclaim by
# at most 400 kB (2 kB per interface; a leaked net_device is 4 kB or more).
no_leak() {
	local before after i
	for i in $(seq 200); do
		echo "link add mwleak$i type meshwg"
		echo "link del mwleak$i"
	done >"$LOGDIR/cycles"
	"$@" ip -batch - <"$LOGDIR/cycles" || return 1
	before=$(sunreclaim)
	"$@" ip -batch - <"$LOGDIR/cycles" || return 1
	after=$(sunreclaim)
	echo "SUnreclaim ${before} kB -> ${after} kB over 200 interfaces"
	[ $((after - before)) -lt 400 ]
}

mcheck "meshwg.ko loads" modprobe meshwg
mcheck "lifetime: 200 interfaces created and deleted, no memory kept" no_leak
mcheck "lifetime: the same inside an unprivileged user namespace" no_leak userns $UNPRIV

# The device m0 is created in $NS1 (owned by the initial user namespace),
# up, with a port; the holder is a process in a user+net namespace made by
# $UNPRIV, into whose netns m0 can be moved.
perm_setup() {
	ns_setup || return 1
	ip -n "$NS1" link add m0 type meshwg || return 1
	n1 meshwg wg set m0 private-key <(genkey) listen-port 10001 || return 1
	ip -n "$NS1" link set m0 up || return 1
	userns $UNPRIV sleep 600 &
	HOLDER=$!
	retry 5 test -e "/proc/$HOLDER/ns/net" &&
		retry 5 grep -q "0 *$UNPRIV" "/proc/$HOLDER/uid_map"
}

# expect_perm EXPECTED WHO...: `mwnl perm m0` run by WHO prints EXPECTED.
expect_perm() {
	local want=$1 out=$LOGDIR/perm.out
	shift
	"$@" mwnl perm m0 >"$out" || { cat "$out"; return 1; }
	diff -u <(echo "$want") "$out"
}

# perm_lines OK-STEPS...: the `mwnl perm` lines with those steps "ok" and
# every other one EPERM.
perm_lines() {
	local s
	for s in get-device set-device listen-port fwmark send-datagram \
		 inject-datagram get-filter set-filter clear-filter group-agent \
		 group-events; do
		case " $* " in
		*" $s "*) echo "$s ok" ;;
		*) echo "$s EPERM" ;;
		esac
	done
}
ALL="get-device set-device listen-port fwmark send-datagram inject-datagram
     get-filter set-filter clear-filter group-agent group-events"

as_root_creating() { n1 "$@"; }
as_unpriv() { n1 setpriv --reuid $UNPRIV --regid $UNPRIV --clear-groups "$@"; }
as_userns_root() { nsenter -t "$HOLDER" -U -n "$@"; }

mcheck "perm: setup (m0 in a netns of the initial user namespace)" perm_setup

# shellcheck disable=SC2086
check "perm: root of the creating netns may do everything" \
	expect_perm "$(perm_lines $ALL)" as_root_creating

check "perm: an unprivileged user may do nothing" \
	expect_perm "$(perm_lines)" as_unpriv

# Moving takes it down; its root brings it up again (the sockets stay in $NS1).
check "perm: m0 moved into the unprivileged user namespace's netns" \
	sh -c "ip -n $NS1 link set m0 netns $HOLDER &&
	       nsenter -t $HOLDER -U -n ip link set m0 up"

check "perm: that namespace's root may not act in the creating netns" \
	expect_perm "$(perm_lines get-device set-device inject-datagram get-filter \
		       set-filter clear-filter group-agent group-events)" as_userns_root

check "perm: that namespace's root deletes m0" as_userns_root ip link del m0

[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
suite_end
