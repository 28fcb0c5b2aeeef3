#!/bin/sh
# The module's style gates: a W=1 build with sparse (C=1) against Debian 12's
# 6.1 headers and bookworm's 6.12 headers must print no warning, and
# checkpatch.pl (from Debian's linux-source-6.1) must find nothing in kmod/.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
result() {
	if [ "$1" = 0 ]; then
		echo "ok   style/$2"; pass=$((pass + 1))
	else
		echo "FAIL style/$2"; sed 's/^/     /' "$tmp/out" | tail -30; fail=$((fail + 1))
	fi
}
headers() {
	dpkg-query -W -f='${Depends}' "$1" | sed -n 's/^linux-headers-\([^ ,]*\).*/\1/p'
}
for pkg in linux-headers-amd64 linux-headers-6.12-amd64; do
	kver=$(headers "$pkg")
	rm -rf "$tmp/src" && mkdir "$tmp/src"
	cp -r "$top/Kbuild" "$top/kmod" "$top/uapi" "$tmp/src/"
	make -C "/usr/src/linux-headers-$kver" M="$tmp/src" modules W=1 C=1 >"$tmp/log" 2>&1
	rc=$?
	# Anything the compiler or sparse says about our sources is a failure.
	grep -E "(kmod|uapi)/[^:]*:[0-9]+" "$tmp/log" >"$tmp/out"
	[ $rc = 0 ] && [ ! -s "$tmp/out" ] || { [ -s "$tmp/out" ] || tail -30 "$tmp/log" >"$tmp/out"; rc=1; }
	result $rc "W=1 C=1 build against $kver is warning-free"
done
# Headers without GENL_MCAST_CAP_NET_ADMIN must stop the build (kmod/compat.h):
# the multicast groups would be open to every user there.
kver=$(headers linux-headers-amd64)
rm -rf "$tmp/src" && mkdir "$tmp/src"
cp -r "$top/Kbuild" "$top/kmod" "$top/uapi" "$tmp/src/"
sed -i '/#include <net\/genetlink.h>/a #undef GENL_MCAST_CAP_NET_ADMIN' "$tmp/src/kmod/compat.h"
make -C "/usr/src/linux-headers-$kver" M="$tmp/src" modules >"$tmp/out" 2>&1
grep -q "needs GENL_MCAST_CAP_NET_ADMIN" "$tmp/out"
result $? "no build without GENL_MCAST_CAP_NET_ADMIN (open multicast groups)"
cp_dir=$(ls -d /usr/src/linux-source-6.1 2>/dev/null)
if [ -z "$cp_dir" ]; then
	mkdir -p "$tmp/ks" && tar -C "$tmp/ks" -xaf /usr/src/linux-source-6.1.tar.xz \
		linux-source-6.1/scripts/checkpatch.pl linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	cp_dir=$tmp/ks/linux-source-6.1
fi
(cd "$top" && perl "$cp_dir/scripts/checkpatch.pl" --no-tree --terse -f kmod/*.c kmod/*.h) 2>&1 |
	grep -v -e "^total: 0 errors, 0 warnings" -e "^$" >"$tmp/out"
[ -s "$tmp/out" ]; result $((1 - $?)) "checkpatch.pl finds nothing in kmod/"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
