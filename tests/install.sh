#!/bin/sh
# Checks that `make install` and `make dkms-install` (dkms add/build/install)
# both produce an installed meshwg.ko with its aliases, for Debian 12's 6.1
# kernel, into scratch trees so the machine's own module tree is untouched.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
kver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | sed -n 's/^linux-headers-\([^ ,]*\).*/\1/p')
kdir=/usr/src/linux-headers-$kver
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() {
	name=$1; shift
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok   install/$name"; pass=$((pass + 1))
	else
		echo "FAIL install/$name"; sed 's/^/     /' "$tmp/out" | tail -20; fail=$((fail + 1))
	fi
}
has_aliases() {
	modinfo -b "$1" -k "$kver" meshwg >"$tmp/modinfo" &&
	grep -q 'alias: *rtnl-link-meshwg' "$tmp/modinfo" &&
	grep -q 'alias: *net-pf-16-proto-16-family-meshwg' "$tmp/modinfo" &&
	grep -q 'license: *GPL' "$tmp/modinfo"
}
# A scratch copy, so the tree's own build products are not disturbed.
cp -r "$top" "$tmp/src"
make -s -C "$tmp/src" clean >/dev/null 2>&1
check "make install" make -s -C "$tmp/src" install KDIR="$kdir" DESTDIR="$tmp/root" PREFIX=/usr
check "make install: modinfo sees meshwg.ko and its aliases" has_aliases "$tmp/root"
check "make install: binaries" test -x "$tmp/root/usr/bin/meshwg-control" -a -x "$tmp/root/usr/sbin/meshwg"
check "make install: meshwgd, its man page, unit and modules-load.d snippet" \
	test -x "$tmp/root/usr/sbin/meshwgd" -a -f "$tmp/root/usr/share/man/man8/meshwgd.8" \
	-a -f "$tmp/root/lib/systemd/system/meshwgd.service" \
	-a -f "$tmp/root/usr/lib/modules-load.d/meshwg.conf"
check "make install: the unit starts the installed meshwgd" \
	grep -q "^ExecStart=/usr/sbin/meshwgd" "$tmp/root/lib/systemd/system/meshwgd.service"
# The unit: modprobe outside the sandbox ("+"), no module or DAC-override
# capability for meshwgd, a read-only system but for the state and run dirs.
unit_hardened() {
	u=$1
	grep -q '^ExecStartPre=-*+/sbin/modprobe meshwg$' "$u" &&
	grep -q '^CapabilityBoundingSet=' "$u" &&
	! grep -E '^(Ambient)?Capabilit.*(CAP_SYS_MODULE|CAP_DAC_OVERRIDE|CAP_SYS_ADMIN)' "$u" &&
	grep -q '^NoNewPrivileges=yes$' "$u" &&
	grep -q '^MemoryMax=' "$u" &&
	grep -q '^ProtectSystem=strict$' "$u" &&
	grep -q '^ProtectHome=yes$' "$u" &&
	grep -q '^ReadWritePaths=/var/lib/meshwg /run/meshwg$' "$u" &&
	grep -q '^StateDirectory=meshwg$' "$u" && grep -q '^RuntimeDirectory=meshwg$' "$u" &&
	for k in PrivateTmp PrivateDevices ProtectKernelTunables ProtectKernelModules \
		ProtectControlGroups RestrictNamespaces RestrictSUIDSGID LockPersonality; do
		grep -q "^$k=yes$" "$u" || { echo "no $k=yes"; return 1; }
	done &&
	{ ! command -v systemd-analyze >/dev/null ||
	  systemd-analyze security --offline=true --threshold=40 "$u" >/dev/null; }
}
check "make install: the unit is sandboxed" unit_hardened "$tmp/root/lib/systemd/system/meshwgd.service"
derper_unit() {
	u=$tmp/root/lib/systemd/system/meshwg-derper.service
	test -x "$tmp/root/usr/sbin/meshwg-derper" -a -f "$tmp/root/usr/share/man/man8/meshwg-derper.8" &&
	grep -q '^ExecStart=/usr/sbin/meshwg-derper ' "$u" &&
	grep -q '^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$' "$u" &&
	{ ! command -v systemd-analyze >/dev/null ||
	  systemd-analyze security --offline=true --threshold=40 "$u" >/dev/null; }
}
check "make install: meshwg-derper, its man page and sandboxed unit" derper_unit
mkdir -p "$tmp/dkms" "$tmp/dsrc" "$tmp/dinst/lib/modules"
cp -r "/lib/modules/$kver" "$tmp/dinst/lib/modules/" 2>/dev/null
check "dkms add/build/install" make -s -C "$tmp/src" dkms-install DKMS_SRC="$tmp/dsrc" \
	DKMS_FLAGS="-k $kver --dkmstree $tmp/dkms --sourcetree $tmp/dsrc --installtree $tmp/dinst/lib/modules"
check "dkms: module installed" sh -c "find '$tmp/dinst' -name 'meshwg.ko*' | grep -q ."
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
