#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the debug kernel of the VM tests (KASAN, kmemleak, lockdep, ...)
# from Debian's linux-source-6.1, cached by the hash of its configuration.
# See tests/vm/README.md ("The debug kernel").
set -u

usage() {
	cat <<'EOF'
NAME
    tests/vm/debug-kernel.sh - build (or find) the VM tests' debug kernel

SYNOPSIS
    tests/vm/debug-kernel.sh [--print-release] [--print-dir]

DESCRIPTION
    Extracts /usr/src/linux-source-6.1.tar.xz (Debian's linux-source-6.1)
    into MESHWG_VM_CACHE/debug/, writes a configuration made of
    `make allnoconfig`, upstream WireGuard's own test configuration
    (tools/testing/selftests/wireguard/qemu/kernel.config and debug.config,
    read from the same tarball at build time) and tests/vm/debug.config
    (what meshwg's harness and suites need on top), and builds bzImage and
    modules with -j$(nproc).  The result is installed into
    CACHE/k/RELEASE/root/ the way run.sh lays out Debian's images, with the
    build tree at CACHE/debug/build-HASH for building meshwg.ko against it.
    A tree whose configuration hash matches is reused: nothing is rebuilt.

    Every option of the merged fragments must survive `olddefconfig`; one
    that does not (a dependency missing in the fragments) fails the build
    with its name.

OPTIONS
    --print-release   print the kernel release on stdout (after building)
    --print-dir       print the build tree on stdout (after building)
    -h, --help        this help

ENVIRONMENT
    MESHWG_VM_CACHE   cache directory (default /var/cache/meshwg-vm)
EOF
}

PRINT=""
case "${1:-}" in
-h|--help) usage; exit 0 ;;
--print-release) PRINT=release ;;
--print-dir) PRINT=dir ;;
"") ;;
*) echo "debug-kernel.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${MESHWG_VM_CACHE:-/var/cache/meshwg-vm}
TARBALL=/usr/src/linux-source-6.1.tar.xz
D=$CACHE/debug
log() { echo "debug-kernel: $*" >&2; }
die() { log "$*"; exit 1; }

[ -f "$TARBALL" ] || die "$TARBALL missing (tests/deps.sh installs linux-source-6.1)"
for t in flex bison bc make gcc perl; do
	command -v $t >/dev/null || die "missing '$t' (tests/deps.sh installs it)"
done
mkdir -p "$D" || die "cannot create $D"
exec 7>"$D/lock"
flock 7

# The source is extracted once per tarball (its size and mtime name it).
stamp=$(stat -c '%s-%Y' "$TARBALL")
SRC=$D/src-$stamp
if [ ! -f "$SRC/.ready" ]; then
	rm -rf "$D"/src-*
	log "extracting $TARBALL"
	mkdir -p "$SRC" && tar -C "$SRC" --strip-components=1 -xaf "$TARBALL" ||
		die "cannot extract $TARBALL"
	touch "$SRC/.ready"
fi

UP=$SRC/tools/testing/selftests/wireguard/qemu
hash=$( { echo "$stamp"; cat "$UP/kernel.config" "$UP/debug.config" "$HERE/debug.config"; } |
	md5sum | cut -c1-12)
B=$D/build-$hash
if [ ! -f "$B/.ready" ]; then
	rm -rf "$D"/build-*
	mkdir -p "$B"
	log "configuring $B"
	make -s -C "$SRC" O="$B" ARCH=x86_64 allnoconfig >"$D/build.log" 2>&1 ||
		die "allnoconfig failed (see $D/build.log)"
	cat "$UP/kernel.config" "$UP/debug.config" "$HERE/debug.config" >"$B/fragment.config"
	(cd "$B" && "$SRC/scripts/kconfig/merge_config.sh" -m .config fragment.config) \
		>>"$D/build.log" 2>&1 || die "merge_config failed (see $D/build.log)"
	make -s -C "$SRC" O="$B" ARCH=x86_64 olddefconfig >>"$D/build.log" 2>&1 ||
		die "olddefconfig failed (see $D/build.log)"
	# An option asked for and not granted is a fragment bug: say which.
	missing=""
	while IFS= read -r line; do
		case "$line" in CONFIG_*=*) ;; *) continue ;; esac
		name=${line%%=*} val=${line#*=}
		if [ "$val" = n ]; then
			grep -q "^$name=" "$B/.config" && missing="$missing $name(=n)"
		else
			# The last assignment of a symbol wins (debug.config overrides).
			want=$(grep "^$name=" "$B/fragment.config" | tail -n1)
			[ "$line" = "$want" ] || continue
			grep -qxF "$line" "$B/.config" || missing="$missing $line"
		fi
	done <"$B/fragment.config"
	# Symbols upstream sets that do not exist on x86 or in this release.
	for skip in CONFIG_STACK_VALIDATION=y CONFIG_HAVE_DEBUG_STACKOVERFLOW=y \
		CONFIG_HAVE_ARCH_KASAN=y CONFIG_USER_STACKTRACE_SUPPORT=y CONFIG_EMBEDDED=n \
		CONFIG_RANDOM_TRUST_CPU=y CONFIG_RANDOM_TRUST_BOOTLOADER=y \
		CONFIG_HARDLOCKUP_DETECTOR=y CONFIG_BOOTPARAM_HARDLOCKUP_PANIC=y \
		CONFIG_DEBUG_INFO_DWARF4=n CONFIG_DEBUG_INFO=n \
		CONFIG_DEBUG_OBJECTS_ENABLE_DEFAULT=1 CONFIG_NO_HZ=y \
		CONFIG_NETFILTER_XT_NAT=y CONFIG_NET_UDP_TUNNEL=y CONFIG_DST_CACHE=y \
		CONFIG_NF_NAT_MASQUERADE=y CONFIG_PM_SLEEP=y CONFIG_HZ_PERIODIC=n \
		CONFIG_VDSO=y CONFIG_FRAME_POINTER=y CONFIG_DEBUG_STACKOVERFLOW=y; do
		missing=${missing// $skip/}
		missing=${missing// ${skip%%=*}(=n)/}
	done
	[ -z "$missing" ] || die "options not granted by olddefconfig:$missing"
	log "building in $B ($(nproc) jobs; log $D/build.log)"
	start=$(date +%s)
	make -C "$SRC" O="$B" ARCH=x86_64 -j"$(nproc)" bzImage modules >>"$D/build.log" 2>&1 ||
		{ tail -n 30 "$D/build.log" >&2; die "build failed (see $D/build.log)"; }
	log "built in $(( $(date +%s) - start )) s"
	touch "$B/.ready"
fi

REL=$(cat "$B/include/config/kernel.release") || die "no kernel.release in $B"
K=$CACHE/k/$REL
if [ ! -f "$K/.ready" ] || [ "$K/.ready" -ot "$B/.ready" ]; then
	rm -rf "$K"
	mkdir -p "$K/root/boot"
	cp "$B/arch/x86/boot/bzImage" "$K/root/boot/vmlinuz-$REL" &&
		cp "$B/System.map" "$K/root/boot/System.map-$REL" &&
		make -s -C "$SRC" O="$B" ARCH=x86_64 INSTALL_MOD_PATH="$K/root" \
			modules_install >>"$D/build.log" 2>&1 &&
		rm -f "$K/root/lib/modules/$REL/build" "$K/root/lib/modules/$REL/source" &&
		depmod -b "$K/root" "$REL" || die "cannot install the debug kernel into $K"
	touch "$K/.ready"
fi

case "$PRINT" in
release) echo "$REL" ;;
dir) echo "$B" ;;
esac
