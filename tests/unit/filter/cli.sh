#!/bin/sh
# `meshwg filter' behaviour that needs no kernel module: help, argument
# errors, ruleset files refused before anything is sent (clear message,
# exit 1). The kernel side is covered by vm/acl.sh.
# Usage: cli.sh path/to/meshwg
set -u
MESHWG=${1:?usage: cli.sh path/to/meshwg}
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect RC PATTERN -- ARGS...: exit status RC and PATTERN in stdout+stderr
expect() {
	want_rc=$1 pattern=$2
	shift 3
	out=$("$MESHWG" "$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" -eq "$want_rc" ] && printf '%s\n' "$out" | grep -q -- "$pattern"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: meshwg $* -> rc=$rc (want $want_rc), output lacks '$pattern':" >&2
		printf '%s\n' "$out" | sed 's/^/    /' >&2
	fi
}

expect 0 "filter   the kernel's ACL ruleset" -- --help
expect 0 "Usage: meshwg filter show" -- filter --help
expect 1 "Usage: meshwg filter show" -- filter
expect 1 "Invalid filter verb" -- filter frobnicate
expect 1 "Usage: meshwg filter show" -- filter show a b
expect 1 "Usage: meshwg filter show" -- filter set
expect 1 "Usage: meshwg filter show" -- filter set a b c
expect 1 "Interface name too long" -- filter show abcdefghijklmnopqrstuvwxyz
expect 1 "No such file or directory" -- filter set "$tmp/nope" mw0
printf '[{"action": "accept", "src": ["10.0.0.1/8"], "dst": [{"prefix": "::/0"}]}]' >"$tmp/hostbits.json"
expect 1 "hostbits.json: rule 0: src \"10.0.0.1/8\": host bits set" -- filter set "$tmp/hostbits.json" mw0
printf '[\n{"action": "accept",\n' >"$tmp/trunc.json"
expect 1 "trunc.json: not valid JSON" -- filter set "$tmp/trunc.json" mw0
printf '{"rules": [], "extra": 1}' >"$tmp/extra.json"
expect 1 "unknown key \"extra\"" -- filter set "$tmp/extra.json" mw0
printf 'a\0b' >"$tmp/nul.json"
expect 1 "contains a NUL byte" -- filter set "$tmp/nul.json" mw0

echo "cli.sh (filter): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
