#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the VM (chrooted into the host's read-only root): executes the
# suites or the ad-hoc command named in the scratch share's job.env, writes
# results, console output and dmesg back to the scratch share.
S=/run/meshwg-vm
. "$S/job.env"
export KVER REPO HELPERS MOD_STATUS IMPL DATAPATH_ONLY FUZZ_SECONDS FUZZ_SEED UPSTREAM_NETNS
export MESHWG_VM_RESULTS=$S/results
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TMPDIR=/tmp LC_ALL=C
cd /tmp || exit 1

exec > >(tee -a "$S/console.log") 2>&1

echo "== guest up: kernel $(uname -r), $(nproc) CPUs, meshwg.ko: $MOD_STATUS"
echo "meshwg-vm: tests start" >/dev/kmsg
# /dev/net/tun (wireguard-go) has no node until tun.ko is loaded.
modprobe tun 2>/dev/null
sysctl -qw kernel.printk_ratelimit=0 2>/dev/null
# The debug kernel has kmemleak: forget what boot left unreferenced, so
# that the scan after the suites reports only what the tests leaked.
KMEMLEAK=/sys/kernel/debug/kmemleak
if [ -w "$KMEMLEAK" ]; then
	echo scan >"$KMEMLEAK"
	echo clear >"$KMEMLEAK"
fi

record() {   # PASS|FAIL suite name
	printf '%s\t%s\t%s\t%s\n' "$1" "$KVER" "$2" "$3" >>"$MESHWG_VM_RESULTS"
}

if [ "$HAVE_CMD" = 1 ]; then
	echo "== --cmd"
	(
		export MESHWG_SUITE=cmd
		. "$REPO/tests/vm/lib.sh"
		. "$S/cmd.sh"
	)
	rc=$?
	if [ $rc = 0 ]; then record PASS cmd cmd; else record FAIL cmd "cmd (exit status $rc)"; fi
	echo "== --cmd exited with status $rc"
else
	for s in $SUITES; do
		echo "== suite $s"
		before=$(wc -l <"$MESHWG_VM_RESULTS")
		# A suite may need more than the default: a "# vm-timeout: SECONDS" line.
		t=$(sed -n 's/^# vm-timeout: *\([0-9][0-9]*\)$/\1/p' "$REPO/tests/vm/suites/$s.sh")
		MESHWG_SUITE=$s timeout -k 10 "${MESHWG_SUITE_TIMEOUT:-${t:-1500}}" \
			bash "$REPO/tests/vm/suites/$s.sh"
		rc=$?
		after=$(wc -l <"$MESHWG_VM_RESULTS")
		if [ $rc = 124 ] || [ $rc = 137 ]; then
			record FAIL "$s" "suite timed out"
		elif [ $rc != 0 ] && ! grep -q "^FAIL	$KVER	$s	" "$MESHWG_VM_RESULTS"; then
			record FAIL "$s" "suite exited with status $rc"
		elif [ "$after" = "$before" ]; then
			record FAIL "$s" "suite ran no checks"
		fi
		# What a suite leaves behind is a bug of the suite or of the module.
		left=$(ip netns list 2>/dev/null | wc -l)
		if [ "$left" != 0 ]; then
			record FAIL "$s" "left $left network namespace(s) behind"
			ip -all netns delete 2>/dev/null
		fi
		if lsmod | grep -q '^meshwg '; then
			record FAIL "$s" "left meshwg.ko loaded"
			for l in $(ip -o link show type meshwg 2>/dev/null | awk -F': ' '{print $2}'); do
				ip link del "${l%@*}" 2>/dev/null
			done
			rmmod meshwg 2>/dev/null
		fi
	done
fi

# kmemleak reports an object found unreferenced in a scan once it is older
# than 5 s; reading the report lists only those still unreferenced at the
# last scan.  A pointer in flight (an RCU callback list, a socket queue of
# a namespace being dismantled) can hide an object from one scan under a
# loaded TCG guest, so a non-empty report is confirmed by two more scans
# some seconds later: a real leak stays, a false positive drops out.
if [ -w "$KMEMLEAK" ] && [ "$HAVE_CMD" != 1 ]; then
	echo "== kmemleak scan"
	echo scan >"$KMEMLEAK"; sleep 6; echo scan >"$KMEMLEAK"
	cat "$KMEMLEAK" >"$S/kmemleak"
	if [ -s "$S/kmemleak" ]; then
		echo "== kmemleak: $(grep -c '^unreferenced object' "$S/kmemleak") object(s) reported, scanning again"
		mv "$S/kmemleak" "$S/kmemleak.first"
		sleep 10; echo scan >"$KMEMLEAK"; sleep 10; echo scan >"$KMEMLEAK"
		cat "$KMEMLEAK" >"$S/kmemleak"
	fi
	if [ -s "$S/kmemleak" ]; then
		n=$(grep -c '^unreferenced object' "$S/kmemleak")
		head -n 80 "$S/kmemleak"
		record FAIL kmemleak "$n unreferenced object(s) after the suites (scratch/kmemleak)"
	else
		record PASS kmemleak "no unreferenced object after the suites"
	fi
fi

echo "meshwg-vm: tests end" >/dev/kmsg
dmesg >"$S/dmesg"
sync
touch "$S/done"
sync
