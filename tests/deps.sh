#!/bin/sh
# Installs, from Debian's packages, everything the build, the tests, the demo
# and the benchmarks need. Idempotent; a no-op when all is there.
set -e
PKGS="build-essential pkg-config linux-headers-amd64 linux-headers-6.12-amd64
 qemu-system-x86 busybox-static cpio kmod zstd xz-utils
 wireguard-tools wireguard-go iperf3 nftables iproute2 iputils-ping
 sparse dkms linux-source-6.1 flex bison bc libelf-dev libssl-dev
 libnl-genl-3-dev libnl-route-3-dev libsodium-dev libcmocka-dev libcjson-dev
 libmicrohttpd-dev libsqlite3-dev libpq-dev postgresql libcurl4-openssl-dev
 sqlite3 curl openssl
 python3 python3-cryptography python3-nacl procps valgrind ncat iptables
 clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends $missing
