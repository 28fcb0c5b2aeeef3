#!/bin/sh
# Wire tests of meshwg-derper with the independent Python DERP client
# (derp_client.py, Debian's python3-nacl): once on the plain binary, once
# under valgrind (any memory error or definite leak fails).
# usage: tests/relay/run.sh [PATH/TO/meshwg-derper]
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../relay/meshwg-derper}
[ -x "$bin" ] || { echo "run.sh: no $bin (make -C relay)"; exit 1; }
# Debian's python3 has python3-nacl; a pyenv python on PATH would not.
py=/usr/bin/python3
pass=0 fail=0
for mode in "" --valgrind; do
	"$py" "$here/test_derp.py" "$bin" $mode >"${TMPDIR:-/tmp}/relay-test.$$" 2>&1
	cat "${TMPDIR:-/tmp}/relay-test.$$"
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "${TMPDIR:-/tmp}/relay-test.$$")
	f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "${TMPDIR:-/tmp}/relay-test.$$")
	rm -f "${TMPDIR:-/tmp}/relay-test.$$"
	[ -n "$p" ] || { p=0; f=$((f + 1)); echo "FAIL relay/test_derp.py $mode did not finish"; }
	pass=$((pass + p)) fail=$((fail + ${f:-1}))
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
