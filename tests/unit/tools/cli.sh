#!/bin/sh
# Command-line behaviour that needs no kernel module: help texts, argument
# errors (clear message, exit 1, nothing sent), the missing-module message.
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

K=KAnen7aM8lI0rM8gLbFXbtegu033kUgQuk3FyfAJJkQ=

expect 0 "Usage: meshwg <command>" -- --help
expect 1 "Usage: meshwg <command>" --
expect 1 "Invalid command: \`frob'" -- frob
expect 0 "meshwg v" -- version
expect 0 "Usage: meshwg wg <cmd>" -- wg --help
expect 1 "Invalid subcommand: \`frob'" -- wg frob
for verb in show showconf set setconf addconf syncconf genkey genpsk pubkey; do
	expect 0 "Usage: meshwg wg $verb" -- wg $verb --help
done
expect 0 "relay <interface> <relay-id>" -- debug --help
expect 0 "listen \[<interface>\]" -- debug listen --help

expect 1 "Usage: meshwg wg show" -- wg show meshwg0 bogus-field
expect 1 "Usage: meshwg wg show" -- wg show interfaces peers
expect 1 "Usage: meshwg wg show" -- wg show a b c
expect 1 "Usage: meshwg wg set" -- wg set meshwg0
expect 1 "Interface name too long" -- wg set abcdefghijklmnopq listen-port 1
expect 1 "Key is not the correct length or format: \`bad'" -- wg set meshwg0 peer bad
expect 1 "Invalid argument: frob" -- wg set meshwg0 frob
expect 1 "Invalid argument: endpoint" -- wg set meshwg0 endpoint 1.2.3.4:5
expect 1 "mask must be a number from 0 to 32" -- wg set meshwg0 peer $K allowed-ips 10.0.0.0/33
expect 1 "Invalid port" -- wg set meshwg0 listen-port 65536
expect 1 "Invalid persistent keepalive" -- wg set meshwg0 peer $K persistent-keepalive 70000
expect 1 "IPv6 addresses need brackets" -- wg set meshwg0 peer $K endpoint ::1:5
expect 1 "Unable to read key file" -- wg set meshwg0 private-key "$tmp/nonexistent"
expect 1 "Usage: meshwg wg showconf" -- wg showconf
expect 1 "Usage: meshwg wg setconf" -- wg setconf meshwg0

printf '[Interface]\nListenPort = 1\nAddress = 10.0.0.1/24\n' >"$tmp/bad.conf"
expect 1 "$tmp/bad.conf:3: unknown key \`Address'" -- wg setconf meshwg0 "$tmp/bad.conf"
expect 1 "Configuration parsing error" -- wg addconf meshwg0 "$tmp/bad.conf"
expect 1 "Unable to open configuration file" -- wg setconf meshwg0 "$tmp/nonexistent.conf"

expect 1 "Invalid payload" -- debug send lo 127.0.0.1:1 abc
expect 1 "Invalid payload" -- debug inject lo 1 zz
expect 1 "Invalid relay id" -- debug inject lo 0 00
expect 1 "expected host:port" -- debug send lo 127.0.0.1 00
expect 1 "Unable to open payload file" -- debug send lo 127.0.0.1:1 @"$tmp/nope"
expect 1 "No such device" -- debug send no-such-if0 127.0.0.1:1 00
expect 1 "Invalid --count" -- debug listen --count 0
expect 1 "Invalid --timeout" -- debug listen --timeout x
expect 1 "Invalid debug verb" -- debug frob
expect 1 "Usage: meshwg debug" -- debug relay lo 1 127.0.0.1:1

# Without the module, netlink verbs say how to get it.
if [ ! -d /sys/module/meshwg ]; then
	expect 1 "meshwg kernel module not loaded (try: modprobe meshwg)" -- wg show meshwg0
	expect 1 "meshwg kernel module not loaded (try: modprobe meshwg)" -- wg set meshwg0 listen-port 1
	expect 1 "meshwg kernel module not loaded (try: modprobe meshwg)" -- debug send lo 127.0.0.1:9 00
	expect 0 "" -- wg show interfaces
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
