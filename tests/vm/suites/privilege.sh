#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# meshwg.ko's privilege boundaries and device lifetime:
#
#   lifetime  creating and deleting interfaces does not leak kernel memory
#             (SUnreclaim over 200 cycles), as root and as root of a user
#             namespace made by an unprivileged user (the `unshare -Urn`
#             case: anyone may do it)
#
# `userns UID CMD` (tests/vm/helpers/userns.c) is `unshare -Urn` as UID; the
# suites run chrooted, where unshare(CLONE_NEWUSER) itself is refused.
. "$REPO/tests/vm/lib.sh"

UNPRIV=65534

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

suite_end
