#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# meshwg VM test harness: boots Debian kernels under qemu (TCG) with this
# machine's root shared read-only over 9p, loads meshwg.ko and runs the
# network-namespace suites in tests/vm/suites/.  See tests/vm/README.md.
set -u
# The whole script is one compound command, parsed before it runs: editing
# this file while it runs (several people use it) cannot disturb a run.
{

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${MESHWG_VM_CACHE:-/var/cache/meshwg-vm}
MEM=${MESHWG_VM_MEM:-2G}
SMP=${MESHWG_VM_SMP:-2}
VM_TIMEOUT=${MESHWG_VM_TIMEOUT:-3600}
# Build products of this checkout (module, helpers) are kept apart from
# other checkouts' in the shared cache.
REPO_HASH=$(echo "$REPO" | md5sum | cut -c1-8)

usage() {
	cat <<'EOF'
NAME
    tests/vm/run.sh - run meshwg's VM test suites under qemu

SYNOPSIS
    tests/vm/run.sh [--kernel 6.1|6.12|VERSION]... [--cmd 'SHELL COMMANDS']
                    [--keep] [SUITE...]

DESCRIPTION
    For each kernel (default: the Debian 12 kernel matching the installed
    linux-headers-amd64 and the bookworm 6.12 kernel matching
    linux-headers-6.12-amd64), fetches linux-image-VERSION with
    `apt-get download` into the cache, extracts it, builds meshwg.ko from
    Kbuild, kmod/ and uapi/ against /usr/src/linux-headers-VERSION with W=1,
    boots the kernel once under qemu-system-x86_64 (TCG) with this machine's
    / shared read-only over 9p, and runs every suite (tests/vm/suites/*.sh)
    or the SUITEs named (file names without .sh) inside the VM.

    After the suites, the kernel log is scanned; any BUG, WARNING, Oops,
    refcount_t, leak, UBSAN, KASAN, lockdep, "scheduling while atomic" or
    "sleeping function called" line fails the run and is printed.

    The last line is "N passed, N failed" over all suites and kernels; the
    exit status is non-zero when anything failed or could not run.

OPTIONS
    --kernel K[:SUITE,SUITE...]
                  Run on kernel K only (6.1, 6.12, debug or a full version
                  such as 6.1.0-56-amd64). May be repeated. "debug" is the
                  KASAN/kmemleak/lockdep kernel that tests/vm/debug-kernel.sh
                  builds from Debian's linux-source-6.1 (cached; the first
                  build takes a while), meshwg.ko is built against its tree,
                  and a kmemleak scan after the suites fails the run on any
                  unreferenced object. With :SUITE,... that kernel runs
                  those suites instead of the ones named on the line.
    --cmd CMDS    Instead of suites, run CMDS with bash inside the VM (after
                  meshwg.ko is installed in the module tree, not loaded).
                  Its output is shown; a non-zero status counts as a failure.
                  The helpers of tests/vm/lib.sh are sourced first.
    --keep        Keep the per-run directory (logs, serial console, dmesg).
    -h, --help    This help.

ENVIRONMENT
    MESHWG_VM_CACHE    cache directory (default /var/cache/meshwg-vm)
    MESHWG_VM_MEM      guest memory (default 2G)
    MESHWG_VM_DEBUG_MEM  guest memory of the debug kernel (default 1G)
    MESHWG_VM_SMP      guest CPUs (default 2)
    MESHWG_VM_TIMEOUT  seconds before a VM is killed (default 3600)
    MESHWG_VM_PARALLEL 1 (default): with two kernels, boot both at once
                       (output lines prefixed with the kernel); 0: one
                       after the other
    MESHWG_VM_TCG_THREAD  single (default) or multi. Multi-threaded TCG
                       (QEMU 7.2) can execute stale code after the kernel
                       patches a static key (int3 Oops in netif_rx_internal
                       seen with wireguard.ko on 6.12), so one host thread
                       runs both vCPUs by default.
    IMPL               passed into the VM: IMPL=wireguard makes the datapath
                       suite use wireguard.ko where it would use meshwg.ko
                       (harness self-test)
    FUZZ_SECONDS, FUZZ_SEED  passed into the VM: the fuzz suite's time per
                       fuzzer (default 60) and seed (default 1)
    DATAPATH_ONLY      passed into the VM: runs only these scenario groups of
                       the datapath suite (e.g. "interop mtu"; see its header)
    MESHWG_VM_CMDLINE  extra kernel command-line arguments

FILES
    CACHE/debs/                  downloaded linux-image packages
    CACHE/k/VERSION/root/        extracted kernel image and modules
    CACHE/build/VERSION-HASH/    per-kernel build tree of meshwg.ko (HASH: of
                                 the checkout's path)
    CACHE/bin/HASH/              helper programs (tests/vm/helpers)
    CACHE/runs/ID/               per-run scratch share (removed unless --keep
                                 or a failure)
EOF
}

die() { echo "run.sh: $*" >&2; exit 2; }

KSEL=()
CMD=""
HAVE_CMD=0
KEEP=0
SUITES=()
while [ $# -gt 0 ]; do
	case "$1" in
	-h|--help) usage; exit 0 ;;
	--kernel) [ $# -ge 2 ] || die "--kernel needs an argument"; KSEL+=("$2"); shift 2 ;;
	--kernel=*) KSEL+=("${1#--kernel=}"); shift ;;
	--cmd) [ $# -ge 2 ] || die "--cmd needs an argument"; CMD=$2; HAVE_CMD=1; shift 2 ;;
	--cmd=*) CMD=${1#--cmd=}; HAVE_CMD=1; shift ;;
	--keep) KEEP=1; shift ;;
	--) shift; SUITES+=("$@"); break ;;
	-*) die "unknown option '$1' (see --help)" ;;
	*) SUITES+=("$1"); shift ;;
	esac
done

[ "$(id -u)" = 0 ] || die "must run as root (qemu's 9p passthrough of / and depmod into the cache)"
for t in qemu-system-x86_64 busybox cpio depmod dpkg-deb apt-get gzip xz; do
	command -v "$t" >/dev/null || die "missing tool '$t' (run tests/deps.sh)"
done
ldd /bin/busybox >/dev/null 2>&1 && die "/bin/busybox is dynamically linked; install busybox-static"

case "$CACHE/" in
/tmp/*|/run/*|/var/tmp/*|/dev/*|/proc/*|/sys/*)
	die "MESHWG_VM_CACHE ($CACHE) must not be under /tmp, /run, /var/tmp: the VM mounts tmpfs there" ;;
esac
if [ "$HAVE_CMD" = 1 ] && [ ${#SUITES[@]} -gt 0 ]; then
	die "--cmd and SUITE names are exclusive"
fi
if [ "$HAVE_CMD" = 0 ]; then
	if [ ${#SUITES[@]} -eq 0 ]; then
		for f in "$HERE"/suites/*.sh; do
			[ -e "$f" ] && SUITES+=("$(basename "$f" .sh)")
		done
	fi
	[ ${#SUITES[@]} -gt 0 ] || die "no suites in $HERE/suites"
	for s in "${SUITES[@]}"; do
		[ -f "$HERE/suites/$s.sh" ] || die "no such suite '$s' ($HERE/suites/$s.sh)"
	done
fi

# Kernel versions come from the installed header meta-packages.
meta_version() {
	dpkg-query -W -f '${Depends}' "$1" 2>/dev/null |
		sed -n 's/.*linux-headers-\([^ ,]*-amd64\).*/\1/p'
}
K61=$(meta_version linux-headers-amd64)
K612=$(meta_version linux-headers-6.12-amd64)
KERNELS=()
DEBUG_KDIR=""
DEBUG_REL=""
if [ ${#KSEL[@]} -eq 0 ]; then
	KSEL=(6.1 6.12)
fi
# KSUITES[RELEASE]: the suites of a kernel given as --kernel K:SUITE,SUITE.
declare -A KSUITES=()
for k in "${KSEL[@]}"; do
	ks=""
	case "$k" in
	*:*) ks=${k#*:}; k=${k%%:*}
		for s in ${ks//,/ }; do
			[ -f "$HERE/suites/$s.sh" ] || die "no such suite '$s' ($HERE/suites/$s.sh)"
		done ;;
	esac
	nk=${#KERNELS[@]}
	case "$k" in
	6.1) [ -n "$K61" ] || die "linux-headers-amd64 is not installed"; KERNELS+=("$K61") ;;
	6.12) [ -n "$K612" ] || die "linux-headers-6.12-amd64 is not installed"; KERNELS+=("$K612") ;;
	*-amd64) [ -d "/usr/src/linux-headers-$k" ] || die "no headers for $k"; KERNELS+=("$k") ;;
	debug)
		# Built (or found in the cache) by its own lane, so that the
		# stock kernels boot meanwhile.
		[ -x "$HERE/debug-kernel.sh" ] || die "no $HERE/debug-kernel.sh"
		KERNELS+=(debug) ;;
	*) die "unknown kernel '$k' (6.1, 6.12, debug or a full version)" ;;
	esac
	[ -n "$ks" ] && KSUITES[${KERNELS[$nk]}]=${ks//,/ }
done

mkdir -p "$CACHE/debs" "$CACHE/k" "$CACHE/build" "$CACHE/runs" || die "cannot create $CACHE"
# Run directories kept after failures are removed after two days.
find "$CACHE/runs" -mindepth 1 -maxdepth 1 -mtime +2 -exec rm -rf {} + 2>/dev/null

# --- kernel image -----------------------------------------------------------
prepare_kernel() {
	local ver=$1 kdir=$CACHE/k/$1 deb
	mkdir -p "$kdir"
	exec 9>"$kdir.lock"
	flock 9
	if [ -f "$kdir/.ready" ]; then
		flock -u 9
		return 0
	fi
	deb=$(ls "$CACHE/debs/linux-image-${ver}_"*.deb 2>/dev/null | head -n1)
	if [ -z "$deb" ]; then
		echo "== fetching linux-image-$ver"
		(cd "$CACHE/debs" && apt-get download "linux-image-$ver") ||
		(apt-get update -q && cd "$CACHE/debs" && apt-get download "linux-image-$ver") ||
			{ echo "run.sh: cannot download linux-image-$ver" >&2; return 1; }
		deb=$(ls "$CACHE/debs/linux-image-${ver}_"*.deb | head -n1)
	fi
	echo "== extracting $(basename "$deb")"
	rm -rf "$kdir/root"
	mkdir -p "$kdir/root"
	dpkg-deb -x "$deb" "$kdir/root" || return 1
	depmod -b "$kdir/root" "$ver" || return 1
	touch "$kdir/.ready"
	flock -u 9
}

# --- meshwg.ko -------------------------------------------------------------
# Sets MOD_STATUS ("ok" or a reason) and MOD_KO (path of the built module).
build_module() {
	local ver=$1 bdir log
	MOD_KO=""
	if [ ! -f "$REPO/Kbuild" ] || ! ls "$REPO"/kmod/*.c >/dev/null 2>&1; then
		MOD_STATUS="meshwg.ko not built: no sources (Kbuild, kmod/*.c) in $REPO"
		return 0
	fi
	bdir=$CACHE/build/$ver-$REPO_HASH
	log=$bdir.log
	mkdir -p "$bdir"
	# One build at a time per tree (several people run the harness at once).
	exec 8>"$bdir.lock"
	flock 8
	# tar keeps mtimes, so kbuild rebuilds only what changed.
	tar -C "$REPO" -cf - Kbuild kmod uapi | tar -C "$bdir" -xf - || {
		flock -u 8; MOD_STATUS="meshwg.ko not built: cannot copy sources to $bdir"; return 0; }
	echo "== building meshwg.ko for $ver (W=1, log $log)"
	rm -f "$bdir/meshwg.ko"
	local kbuild=/usr/src/linux-headers-$ver
	[ "$ver" = "$DEBUG_REL" ] && kbuild=$DEBUG_KDIR
	make -C "$kbuild" M="$bdir" W=1 -j2 modules >"$log" 2>&1
	local rc=$?
	[ $rc = 0 ] && cp "$bdir/meshwg.ko" "$bdir.ko"
	flock -u 8
	if [ $rc != 0 ]; then
		tail -n 40 "$log" | sed 's/^/    /'
		MOD_STATUS="meshwg.ko not built: build failed for $ver (see $log)"
		return 0
	fi
	if grep -q 'warning:' "$log"; then
		grep 'warning:' "$log" | head -n 20 | sed 's/^/    /'
		echo "== note: meshwg.ko has W=1 warnings for $ver"
	fi
	MOD_KO=$bdir.ko
	[ -f "$MOD_KO" ] || { MOD_STATUS="meshwg.ko not built: $MOD_KO missing after build"; MOD_KO=""; return 0; }
	MOD_STATUS=ok
}

# --- helper binaries (built on the host, run in the guest) -------------------
build_helpers() {
	local out=$CACHE/bin/$REPO_HASH src=$HERE/helpers
	mkdir -p "$out"
	for c in "$src"/*.c; do
		[ -e "$c" ] || continue
		local b
		b=$out/$(basename "$c" .c)
		if [ ! -x "$b" ] || [ "$c" -nt "$b" ] || [ "$src/blake2s.h" -nt "$b" ] ||
		   [ "$src/sockaddr.h" -nt "$b" ] || [ "$REPO/uapi/linux/meshwg.h" -nt "$b" ]; then
			# shellcheck disable=SC2046
			gcc -std=gnu11 -O2 -Wall -Wextra -Werror -I"$REPO/uapi" -o "$b.tmp" "$c" \
				$(pkg-config --cflags --libs libnl-genl-3.0) -lsodium &&
				mv "$b.tmp" "$b" || { echo "run.sh: cannot build helper $c" >&2; return 1; }
		fi
	done
}

# --- initramfs ---------------------------------------------------------------
# Resolves module dependencies from modules.dep, depth first.
mod_closure() {
	local mdir=$1 m=$2 line path deps d
	line=$(grep -E "(^|/)$m\.ko(\.xz|\.zst|\.gz)?:" "$mdir/modules.dep" | head -n1)
	[ -n "$line" ] || return 0
	path=${line%%:*}
	deps=${line#*:}
	for d in $deps; do
		d=$(basename "$d"); d=${d%%.ko*}
		mod_closure "$mdir" "$d"
	done
	echo "$path"
}

build_initramfs() {
	local ver=$1 kdir=$CACHE/k/$1 mdir st out
	mdir=$kdir/root/lib/modules/$ver
	out=$kdir/initramfs.cpio.gz
	if [ -f "$out" ] && [ "$out" -nt "$HERE/guest-init" ] && [ "$out" -nt /bin/busybox ]; then
		return 0
	fi
	echo "== building initramfs for $ver"
	st=$(mktemp -d "$CACHE/initramfs.XXXXXX") || return 1
	mkdir -p "$st/bin" "$st/proc" "$st/sys" "$st/dev" "$st/modules" "$st/newroot"
	cp /bin/busybox "$st/bin/busybox"
	cp "$HERE/guest-init" "$st/init"
	chmod 755 "$st/init"
	: >"$st/modules.list"
	local m p n seen=" "
	for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
		 netfs fscache 9pnet 9pnet_virtio 9p; do
		for p in $(mod_closure "$mdir" "$m"); do
			n=$(basename "$p"); n=${n%%.ko*}
			case "$seen" in *" $n "*) continue ;; esac
			seen="$seen$n "
			case "$p" in
			*.xz) xz -dc "$mdir/$p" >"$st/modules/$n.ko" ;;
			*.zst) zstd -dqc "$mdir/$p" >"$st/modules/$n.ko" ;;
			*.gz) gzip -dc "$mdir/$p" >"$st/modules/$n.ko" ;;
			*) cp "$mdir/$p" "$st/modules/$n.ko" ;;
			esac || { rm -rf "$st"; return 1; }
			echo "$n" >>"$st/modules.list"
		done
	done
	(cd "$st" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp" &&
		mv "$out.tmp" "$out"
	local rc=$?
	rm -rf "$st"
	return $rc
}

# --- one VM boot -------------------------------------------------------------
TOTAL_PASS=0
TOTAL_FAIL=0
DMESG_RE='BUG|WARNING|refcount_t|Oops|general protection|leak|UBSAN|KASAN|lockdep|scheduling while atomic|sleeping function called'
# Banners the debug kernel prints at boot, which name a checker and report nothing.
DMESG_BENIGN='RCU lockdep checking is enabled|kmemleak: Kernel memory leak detector initialized|KernelAddressSanitizer initialized'

# Every failure is also listed once more at the very end, after all the
# kernels' output, where a CI log's tail shows it.
FAILS=$(mktemp "${TMPDIR:-/tmp}/meshwg-vm-fails.XXXXXX")
trap 'rm -f "$FAILS"' EXIT

record_fail() {   # kernel name reason
	echo "FAIL [$1] $2: $3"
	echo "[$1] $2: $3" >>"$FAILS"
	TOTAL_FAIL=$((TOTAL_FAIL + 1))
}

run_kernel() {
	local ver=$1 kdir run rc qpid mem=$MEM extra="" suites
	suites=${KSUITES[$ver]:-${SUITES[*]:-}}
	if [ "$ver" = debug ]; then
		echo "== building or finding the debug kernel (tests/vm/debug-kernel.sh)"
		if ! DEBUG_KDIR=$("$HERE/debug-kernel.sh" --print-dir) ||
		   ! DEBUG_REL=$("$HERE/debug-kernel.sh" --print-release); then
			record_fail debug harness "cannot build the debug kernel (tests/vm/debug-kernel.sh)"
			return
		fi
		ver=$DEBUG_REL
	fi
	kdir=$CACHE/k/$ver
	# The debug kernel keeps KASAN, kmemleak, lockdep, PROVE_RCU and the
	# object debugging; page-allocator and SLUB poisoning (which KASAN
	# covers) are switched off at boot, and less memory makes each kmemleak
	# scan shorter: under TCG both cost more than all the suites.
	if [ "$ver" = "$DEBUG_REL" ]; then
		mem=${MESHWG_VM_DEBUG_MEM:-1G}
		extra="debug_pagealloc=off slub_debug=- sysctl.kernel.hung_task_timeout_secs=600"
	fi
	if ! prepare_kernel "$ver"; then
		record_fail "$ver" harness "cannot prepare kernel $ver"
		return
	fi
	build_module "$ver"
	if ! build_initramfs "$ver"; then
		record_fail "$ver" harness "cannot build initramfs for $ver"
		return
	fi
	run=$(mktemp -d "$CACHE/runs/$ver.XXXXXX") || { record_fail "$ver" harness "mktemp"; return; }
	mkdir -p "$run/scratch/modules"
	# A private view of the module tree (hard links, so the shared extracted
	# tree is never modified), with meshwg.ko added and depmod re-run.
	cp -al "$kdir/root/lib/modules/$ver" "$run/scratch/modules/$ver" || {
		record_fail "$ver" harness "cannot link module tree"; return; }
	if [ -n "$MOD_KO" ]; then
		mkdir -p "$run/scratch/modules/$ver/extra"
		cp "$MOD_KO" "$run/scratch/modules/$ver/extra/meshwg.ko"
	fi
	mkdir -p "$run/modroot/lib/modules"
	# depmod -b wants BASE/lib/modules/VER
	ln -s "$run/scratch/modules/$ver" "$run/modroot/lib/modules/$ver"
	depmod -b "$run/modroot" -F "$kdir/root/boot/System.map-$ver" "$ver" 2>"$run/depmod.err" || {
		cat "$run/depmod.err"; record_fail "$ver" harness "depmod failed"; return; }
	rm -rf "$run/modroot"

	{
		printf 'KVER=%q\n' "$ver"
		printf 'REPO=%q\n' "$REPO"
		printf 'HELPERS=%q\n' "$CACHE/bin/$REPO_HASH"
		printf 'MODDIR=%q\n' "$run/scratch/modules/$ver"
		printf 'MOD_STATUS=%q\n' "$MOD_STATUS"
		printf 'IMPL=%q\n' "${IMPL:-meshwg}"
		printf 'DATAPATH_ONLY=%q\n' "${DATAPATH_ONLY:-}"
		printf 'UPSTREAM_NETNS=%q\n' "$UPSTREAM_NETNS"
		printf 'FUZZ_SECONDS=%q\n' "${FUZZ_SECONDS:-}"
		printf 'FUZZ_SEED=%q\n' "${FUZZ_SEED:-}"
		printf 'HAVE_CMD=%q\n' "$HAVE_CMD"
		printf 'SUITES=%q\n' "$suites"
	} >"$run/scratch/job.env"
	[ "$HAVE_CMD" = 1 ] && printf '%s\n' "$CMD" >"$run/scratch/cmd.sh"
	: >"$run/scratch/results"
	: >"$run/scratch/console.log"

	echo "== booting $ver (run dir $run)"
	if [ "$MOD_STATUS" != ok ]; then
		echo "== $MOD_STATUS"
		echo "== checks that need meshwg.ko will FAIL"
	fi
	tail -n +1 -F "$run/scratch/console.log" 2>/dev/null &
	local tailpid=$!
	timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 \
		-machine q35 -accel "tcg,thread=${MESHWG_VM_TCG_THREAD:-single}" -cpu max -smp "$SMP" -m "$mem" \
		-nodefaults -display none -no-reboot \
		-serial "file:$run/serial.log" \
		-kernel "$kdir/root/boot/vmlinuz-$ver" \
		-initrd "$kdir/initramfs.cpio.gz" \
		-append "console=ttyS0 panic_on_warn=1 panic=-1 oops=panic loglevel=7 printk.devkmsg=on $extra ${MESHWG_VM_CMDLINE:-}" \
		-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$run/scratch,mount_tag=scratch,security_model=none,multidevs=remap" \
		-virtfs "local,path=$REPO,mount_tag=repo,security_model=none,readonly=on,multidevs=remap" \
		</dev/null >"$run/qemu.log" 2>&1
	rc=$?
	sleep 0.5
	kill "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null

	local bad=0
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		record_fail "$ver" vm "timed out after ${VM_TIMEOUT}s"; bad=1
	elif [ "$rc" != 0 ]; then
		cat "$run/qemu.log"
		record_fail "$ver" vm "qemu exited with status $rc"; bad=1
	fi
	if [ ! -f "$run/scratch/done" ]; then
		echo "---- serial console (last 60 lines) ----"
		tail -n 60 "$run/serial.log"
		echo "----"
		record_fail "$ver" vm "the guest did not finish (crash/panic?); serial log $run/serial.log"
		bad=1
	fi
	local p f
	p=$(grep -c '^PASS' "$run/scratch/results")
	f=$(grep -c '^FAIL' "$run/scratch/results")
	TOTAL_PASS=$((TOTAL_PASS + p))
	TOTAL_FAIL=$((TOTAL_FAIL + f))
	[ "$f" -gt 0 ] && bad=1
	awk -F'\t' -v k="$ver" '$1 == "FAIL" { printf "[%s] %s: %s\n", k, $3, $4 }' \
		"$run/scratch/results" >>"$FAILS"

	# Kernel log scan: the guest's dmesg, or the serial log if it died.
	local klog=$run/scratch/dmesg
	[ -s "$klog" ] || klog=$run/serial.log
	if grep -E "$DMESG_RE" "$klog" 2>/dev/null | grep -Ev "$DMESG_BENIGN" >"$run/dmesg.bad"; then
		echo "---- suspicious kernel log lines ($ver) ----"
		head -n 60 "$run/dmesg.bad"
		echo "----"
		record_fail "$ver" dmesg "kernel log has $(wc -l <"$run/dmesg.bad") suspicious line(s)"
		bad=1
	fi
	echo "== $ver: $p passed, $f failed in suites"
	if [ "$KEEP" = 1 ] || [ "$bad" = 1 ]; then
		echo "== logs kept in $run"
	else
		rm -rf "$run"
	fi
}

build_helpers || { record_fail host harness "helper build failed"; }

# The upstream suite runs WireGuard's own netns.sh from Debian's
# linux-source-6.1 tarball. Taken out once here (decompressing the tarball
# inside a TCG guest costs minutes), under the cache, which the guest sees
# at the same path (the host's / is its /).
UPSTREAM_NETNS=""
extract_netns() {
	local tb=/usr/src/linux-source-6.1.tar.xz dir
	[ -f "$tb" ] || return 0
	dir=$CACHE/upstream/$(stat -c '%s-%Y' "$tb")
	if [ ! -s "$dir/netns.sh" ]; then
		rm -rf "$CACHE/upstream" && mkdir -p "$dir" &&
			tar -C "$dir" -xJf "$tb" --occurrence=1 --strip-components=5 \
				linux-source-6.1/tools/testing/selftests/wireguard/netns.sh ||
			{ echo "run.sh: cannot extract netns.sh from $tb" >&2; return 0; }
	fi
	UPSTREAM_NETNS=$dir/netns.sh
}
case " ${SUITES[*]:-} ${KSUITES[*]:-} " in
*" upstream "*) extract_netns ;;
esac
# Each VM is one single-threaded TCG process, so two kernels boot side by
# side on two host cores: their output is prefixed with the kernel, and
# each one's totals come back through a file.  Images are fetched first, one
# after the other (apt-get does not share its cache lock).
if [ ${#KERNELS[@]} -gt 1 ] && [ "${MESHWG_VM_PARALLEL:-1}" = 1 ]; then
	for k in "${KERNELS[@]}"; do
		[ "$k" = debug ] && continue
		prepare_kernel "$k" || record_fail "$k" harness "cannot prepare kernel $k"
	done
	tally=$(mktemp "$CACHE/runs/tally.XXXXXX")
	pids=()
	for k in "${KERNELS[@]}"; do
		(
			TOTAL_PASS=0 TOTAL_FAIL=0
			run_kernel "$k"
			echo "$TOTAL_PASS $TOTAL_FAIL" >>"$tally"
		) 2>&1 | sed -u "s/^/[${k%%-*}] /" &
		pids+=($!)
	done
	wait "${pids[@]}"
	while read -r p f; do
		TOTAL_PASS=$((TOTAL_PASS + p))
		TOTAL_FAIL=$((TOTAL_FAIL + f))
	done <"$tally"
	[ "$(wc -l <"$tally")" = ${#KERNELS[@]} ] ||
		record_fail host harness "a kernel's run ended without reporting its totals"
	rm -f "$tally"
else
	for k in "${KERNELS[@]}"; do
		run_kernel "$k"
	done
fi
if [ -s "$FAILS" ]; then
	echo "== what failed:"
	sed 's/^/   /' "$FAILS"
fi
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" = 0 ] && [ $((TOTAL_PASS + TOTAL_FAIL)) -gt 0 ]
exit
}
