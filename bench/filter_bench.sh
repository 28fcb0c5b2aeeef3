#!/bin/sh
# Benchmark of the ACL classifier and flow table (run by hand; not part of
# make check): builds kmod/filter.c in userspace with -O2 against the unit
# tests' shim and prints ns per classification at 10, 1,000, 10,000 and
# 100,000 rules, and the flow-table hit and miss cost.
#
#   bench/filter_bench.sh
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$HERE/..
SHIM=$TOP/tests/unit/filter/shim
OUT=${TMPDIR:-/tmp}/mwg-filter-bench.$$
trap 'rm -f "$OUT"' EXIT
cc -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-sign-compare -iquote "$SHIM" -I"$SHIM" \
	-I"$TOP/kmod" -I"$TOP" -o "$OUT" "$HERE/filter_bench.c" "$TOP/kmod/filter.c" "$SHIM/shim.c"
"$OUT"
