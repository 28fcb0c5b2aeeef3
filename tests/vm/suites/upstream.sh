#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Upstream conformance: WireGuard's own selftest,
# tools/testing/selftests/wireguard/netns.sh, taken at test time from
# Debian's linux-source-6.1 tarball (it is upstream's file: never copied into
# this repository, never modified), run twice in this boot:
#   - against Debian's wireguard.ko, as it is (the control);
#   - against meshwg.ko, with two mappings only, done by wrappers first in
#     PATH: `ip ... type wireguard` creates a `type meshwg` link, and `wg`
#     is `meshwg wg`.
# netns.sh stops (set -e) at its first failing command; the check then
# prints the step it reached (its "[+]" lines), the last of them and the
# tail of its bash -x trace, which ends at the failing command.
# Two full runs of netns.sh (~200 s each unloaded, several times that on a
# loaded host) and the extraction (1-3 min): more than the default 1500 s.
# vm-timeout: 2400
. "$REPO/tests/vm/lib.sh"

UP=$LOGDIR/upstream
TARBALL=/usr/src/linux-source-6.1.tar.xz
NETNS=$UP/linux-source-6.1/tools/testing/selftests/wireguard/netns.sh

# run.sh takes it out of the tarball on the host (UPSTREAM_NETNS); the
# guest decompresses the tarball itself only when it has to (minutes).
extract() {
	mkdir -p "$(dirname "$NETNS")" || return 1
	if [ -s "${UPSTREAM_NETNS:-}" ]; then
		cp "$UPSTREAM_NETNS" "$NETNS"
	else
		tar -C "$UP" -xJf "$TARBALL" --occurrence=1 \
			linux-source-6.1/tools/testing/selftests/wireguard/netns.sh
	fi && [ -s "$NETNS" ]
}

# The wrappers that map upstream's names to meshwg's.
make_wrappers() {
	local real_ip
	real_ip=$(command -v ip) || return 1
	mkdir -p "$UP/bin" || return 1
	cat >"$UP/bin/ip" <<-EOF || return 1
	#!/bin/bash
	# ip(8), with the link kind wireguard mapped to meshwg.
	args=() prev=
	for a in "\$@"; do
		[ "\$prev" = type ] && [ "\$a" = wireguard ] && a=meshwg
		args+=("\$a") prev=\$a
	done
	exec $real_ip "\${args[@]}"
	EOF
	cat >"$UP/bin/wg" <<-EOF || return 1
	#!/bin/sh
	# wg(8) is meshwg's wg(8)-compatible verb.
	exec $REPO/tools/meshwg wg "\$@"
	EOF
	chmod +x "$UP/bin/ip" "$UP/bin/wg"
}

# run_netns IMPL: runs netns.sh; IMPL meshwg puts the wrappers first in PATH.
run_netns() {
	local impl=$1 out=$UP/$1.out trace=$UP/$1.trace path=$PATH rc t0=$SECONDS
	[ "$impl" = meshwg ] && path=$UP/bin:$PATH
	# Its iptables calls go through nf_tables' compat layer.
	modprobe -a nf_tables nft_compat || return 1
	# OPENSSL_ia32cap=:0: ncat (through libcrypto's start-up) was killed by
	# SIGILL at random under TCG, whose `-cpu max` advertises AVX2/VAES
	# that QEMU 7.2 emulates only in part; this keeps libcrypto on its
	# baseline code. It changes nothing that netns.sh tests.
	PATH=$path OPENSSL_ia32cap=:0 bash -x "$NETNS" 2>"$trace" </dev/null | stamp >"$out"
	rc=${PIPESTATUS[0]}
	if [ $rc != 0 ]; then
		echo "end of the trace:"
		tail -n 12 "$trace" | cut -c1-200
		echo "last steps:"
		grep '\[+\]' "$out" | tail -n 3 | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-200
	fi
	# Also on the suite's own output (fd 5), which a passing check hides.
	{
		echo "netns.sh against $impl: exit status $rc after $((SECONDS - t0))s," \
			"$(grep -c '\[+\]' "$out") steps; the slowest:"
		# Each line is stamped when it came out: a step lasts until the next.
		sed 's/\x1b\[[0-9;]*m//g' "$out" | awk '
			$2 == "[+]" { if (t) printf "%8.2fs  %s\n", $1 - t, s; t = $1; $1 = ""; s = substr($0, 2, 120) }' |
			sort -rn | head -n 4
	} | tee /dev/fd/5
	# Its cleanup deletes its namespaces; nothing of it may survive.
	if ip netns list | grep -q '^wg-test-'; then
		echo "netns.sh left namespaces behind:"
		ip netns list
		rc=1
	fi
	return $rc
}

exec 5>&1
check "netns.sh extracted from $TARBALL" extract
check "wrappers for ip (type wireguard -> meshwg) and wg (meshwg wg)" make_wrappers
# The control: upstream's test passes against upstream's module here.
check "netns.sh passes against wireguard.ko (control)" run_netns wireguard
check "no wireguard link left behind" sh -c '! ip -o link show type wireguard | grep -q .'
mcheck "netns.sh passes against meshwg.ko" run_netns "$IMPL"
suite_end
