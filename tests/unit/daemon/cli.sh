#!/bin/bash
# meshwgd's command line, configuration file and signals (main.c), on this
# machine (no meshwg.ko here: the daemon sits in NoModule, which is enough
# for options, config, SIGHUP and SIGTERM). Prints "N passed, N failed".
#   cli.sh PATH/TO/meshwgd PATH/TO/meshwg
set -u
BIN=${1:?usage: cli.sh PATH/TO/meshwgd PATH/TO/meshwg}
MESHWG=${2:?usage: cli.sh PATH/TO/meshwgd PATH/TO/meshwg}
T=$(mktemp -d /tmp/mwgd-cli-XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect NAME STATUS PATTERN CMD...: exit status and output (stdout+stderr)
expect() {
	local name=$1 want=$2 pat=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && printf '%s' "$out" | grep -Eq -- "$pat"; then ok; else
		bad "$name (exit $rc, want $want; output: $(printf '%s' "$out" | head -c 300))"; fi
}
# waitlog PATTERN: the daemon's log gets a matching line (bounded poll)
waitlog() {
	local i
	for i in $(seq 1 100); do
		grep -Eq -- "$1" "$T/log" && return 0
		sleep 0.1
	done
	return 1
}

expect "--help" 0 "^Usage: meshwgd \\[OPTIONS\\]" "$BIN" --help
expect "--help: options, config, signals" 0 "SIGHUP re-reads the configuration" "$BIN" --help
expect "unknown option" 2 "Try 'meshwgd --help'" "$BIN" --frobnicate
expect "stray argument" 2 "unexpected argument \"extra\"" "$BIN" extra
expect "bad port" 2 "bad port \"70000\"" "$BIN" --port 70000
expect "bad log level" 2 "bad log level \"loud\"" "$BIN" --log-level loud
expect "bad interface" 2 "bad interface name" "$BIN" --interface waytoolonginterfacename
expect "missing --config file" 1 "nope.json" "$BIN" --config "$T/nope.json"
echo '{"state_dir": "'"$T"'/s", "surprise": 1}' >"$T/c1.json"
expect "unknown config member" 1 "c1.json: unknown member \"surprise\"" "$BIN" --config "$T/c1.json"
echo '{"backoff_max": "soon"}' >"$T/c2.json"
expect "bad duration" 1 "\"backoff_max\": want seconds" "$BIN" --config "$T/c2.json"
echo '{"port": 1.5}' >"$T/c3.json"
expect "bad port in config" 1 "\"port\": want 0..65535" "$BIN" --config "$T/c3.json"
echo 'not json' >"$T/c4.json"
expect "config not JSON" 1 "c4.json: not a JSON object" "$BIN" --config "$T/c4.json"
expect "unknown operator" 1 "operator user \"no-such-user-mwg\" does not exist" \
	"$BIN" --operator no-such-user-mwg --state-dir "$T/s" --socket "$T/sock"
expect "unknown socket group" 1 "socket group \"no-such-group-mwg\" does not exist" \
	"$BIN" --socket-group no-such-group-mwg --state-dir "$T/s" --socket "$T/sock"
mkdir -p "$T/bad"
echo '{"want_running": "yes"}' >"$T/bad/prefs.json"
expect "corrupt prefs.json refused" 1 "prefs.json: bad value for \"want_running\"" \
	"$BIN" --state-dir "$T/bad" --socket "$T/sock"
if [ "$(cat "$T/bad/prefs.json")" = '{"want_running": "yes"}' ]; then ok; else bad "prefs.json changed"; fi

# A running daemon: config from the file, CLI wins, SIGHUP, SIGTERM.
echo '{"log_level": "warn", "state_dir": "'"$T"'/ignored", "stream_timeout": "5s"}' >"$T/c.json"
"$BIN" --config "$T/c.json" --state-dir "$T/s" --socket "$T/sock" --log-level info 2>"$T/log" &
PID=$!
if waitlog "listening on $T/sock"; then ok; else bad "daemon did not start: $(cat "$T/log")"; fi
if [ -d "$T/s" ] && [ ! -e "$T/ignored" ]; then ok; else bad "--state-dir did not win over the file"; fi
if [ "$(stat -c %a "$T/s")" = 700 ] && [ "$(stat -c %a "$T/s/machine.key")" = 600 ]; then ok; else
	bad "state modes: $(stat -c '%n %a' "$T/s" "$T/s/machine.key")"; fi
echo '{"log_level": "debug", "backoff_max": "bad"}' >"$T/c.json"
kill -HUP "$PID"
if waitlog "SIGHUP: .*backoff_max.*keeping the old configuration"; then ok; else bad "bad SIGHUP config not reported"; fi
echo '{"log_level": "debug", "port": 1234}' >"$T/c.json"
kill -HUP "$PID"
if waitlog "change only with a restart" && waitlog "configuration reloaded"; then ok; else bad "SIGHUP reload: $(tail -3 "$T/log")"; fi
if kill -0 "$PID" 2>/dev/null; then ok; else bad "daemon died on SIGHUP"; fi

# Any local user may read, changes need root or the operator: a real
# non-root client (uid 65534) when this runs as root.
if [ "$(stat -c %a "$T/sock")" = 666 ]; then ok; else bad "socket mode $(stat -c %a "$T/sock")"; fi
if [ "$(id -u)" = 0 ]; then
	chmod 755 "$T"
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
	expect "status as uid 65534" 1 "kernel module not loaded" \
		as_nobody "$MESHWG" --socket "$T/sock" status
	expect "down as uid 65534 refused" 1 \
		"permission denied: .meshwg down. changes meshwgd; run it as root or use --operator" \
		as_nobody "$MESHWG" --socket "$T/sock" down
	if grep -q "api: permission denied: .meshwg down. changes meshwgd.*uid 65534" "$T/log"; then ok; else
		bad "refusal not logged"; fi
	# SIGHUP with "operator": the operator may change.
	nobody=$(id -un 65534)
	n=$(grep -c "configuration reloaded" "$T/log")
	echo '{"operator": "'"$nobody"'"}' >"$T/c.json"
	kill -HUP "$PID"
	for i in $(seq 1 100); do
		[ "$(grep -c "configuration reloaded" "$T/log")" -gt "$n" ] && break
		sleep 0.1
	done
	expect "down as the operator" 0 "^meshwg is down" as_nobody "$MESHWG" --socket "$T/sock" down
fi
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=""
if [ $rc = 0 ] && grep -q "shutting down" "$T/log"; then ok; else bad "SIGTERM: exit $rc"; fi
if grep -Eq "^meshwgd\[[0-9]+\]: (debug|info|warn|error): " "$T/log"; then ok; else bad "log format"; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
