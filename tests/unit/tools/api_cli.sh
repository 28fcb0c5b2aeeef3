#!/bin/sh
# The meshwgd-facing verbs of the CLI (up, down, logout, status, ip, whois,
# debug rotate-key) end to end against fake_meshwgd.py: help texts, argument
# errors (exit 1, nothing sent), the daemon-not-running message, the
# requests sent and the output printed.
# Usage: api_cli.sh path/to/meshwg
set -u
MESHWG=${1:?usage: api_cli.sh path/to/meshwg}
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0
tmp=$(mktemp -d)
fake=""
trap '[ -n "$fake" ] && kill "$fake" 2>/dev/null; rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect RC PATTERN -- ARGS...: exit status RC and PATTERN in stdout+stderr
expect() {
	want_rc=$1 pattern=$2
	shift 3
	out=$("$MESHWG" "$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" -eq "$want_rc" ] && printf '%s\n' "$out" | grep -q -- "$pattern"; then
		ok
	else
		bad "meshwg $* -> rc=$rc (want $want_rc), output lacks '$pattern':"
		printf '%s\n' "$out" | sed 's/^/    /' >&2
	fi
}

# requests_sent N: the fake daemon has received N requests in all
requests_sent() {
	n=$(cat "$tmp/log" 2>/dev/null | wc -l)
	[ "$n" -eq "$1" ] && ok || bad "$1 requests expected, the daemon got $n"
}

export MESHWG_SOCKET="$tmp/meshwgd.sock"

expect 0 "meshwg --socket PATH <command>" -- --help
for verb in up down logout status ip whois; do
	expect 0 "Usage: meshwg \[--socket PATH\] $verb" -- $verb --help
done
expect 0 "rotate-key" -- debug --help

# Not running.
expect 1 "meshwgd is not running (start it: systemctl start meshwgd)" -- status
expect 1 "meshwgd is not running" -- up --auth-key k
expect 1 "meshwgd is not running" -- debug rotate-key

cat >"$tmp/status.json" <<'JSON'
{"backend_state":"Running","message":"","control":{"url":"http://10.9.0.1:8080","connected":true,"last_error":""},
 "interface":"meshwg0","listen_port":41641,
 "self":{"id":1,"hostname":"a","dns_name":"a.meshwg.internal.","addresses":["100.64.0.1/32","fd7a:115c:a1e0::1/128"],
         "user":"alice","tags":[],"key_expiry":null,"node_key":"nodekey:aa"},
 "peers":[{"id":2,"hostname":"b","dns_name":"b.meshwg.internal.","addresses":["100.64.0.2/32","fd7a:115c:a1e0::2/128"],
           "user":"alice","tags":["tag:web"],"online":true,"node_key":"nodekey:bb","endpoint":"10.9.0.2:41641",
           "connection":"direct","last_handshake":0,"rx_bytes":2048,"tx_bytes":0,"acl_drops":4}],
 "filter":null}
JSON
python3 "$here/fake_meshwgd.py" "$MESHWG_SOCKET" "$tmp/log" "$tmp/status.json" &
fake=$!
i=0
while [ ! -S "$MESHWG_SOCKET" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done

# Bad arguments: a clear error, and nothing sent to the daemon.
expect 1 "must be an http:// or https:// URL" -- up --login-server ftp://x
expect 1 "invalid tag \`web'" -- up --advertise-tags tag:a,web
expect 1 "invalid --timeout" -- up --timeout 0
expect 1 "invalid --timeout" -- up --timeout 5s
expect 1 "invalid --hostname" -- up --hostname "a b"
expect 1 "cannot read the auth key file" -- up --auth-key "file:$tmp/nonexistent"
: >"$tmp/empty"
expect 1 "auth key file .* is empty" -- up --auth-key "file:$tmp/empty"
expect 1 "unknown argument \`--bogus'" -- up --bogus
expect 1 "--auth-key needs a value" -- up --auth-key
expect 1 "-4 and -6 exclude each other" -- ip -4 -6
expect 1 "Usage: meshwg \[--socket PATH\] ip" -- ip a b
expect 1 "\`nope' is not an IP address" -- whois nope
expect 1 "Usage: meshwg \[--socket PATH\] whois" -- whois
expect 1 "unknown argument \`--bogus'" -- status --bogus
expect 1 "Usage: meshwg \[--socket PATH\] down" -- down now
expect 1 "--socket needs a path" -- --socket
requests_sent 0

# up: the key read from a file, every option sent, progress and addresses printed.
printf 'tskey-123  \nsecond line\n' >"$tmp/key"
expect 0 "registering with http://c:8080" -- up --login-server http://c:8080 --auth-key "file:$tmp/key" \
	--hostname a --advertise-tags tag:a,tag:b --accept-routes --timeout 30
requests_sent 1
want='{"cmd":"up","advertise_tags":["tag:a","tag:b"],"login_server":"http://c:8080","auth_key":"tskey-123","hostname":"a","accept_routes":true}'
[ "$(sed -n 1p "$tmp/log")" = "$want" ] && ok || bad "up request: $(sed -n 1p "$tmp/log")"
out=$("$MESHWG" up --accept-routes=false 2>/dev/null)
[ "$out" = "meshwg is up as a.meshwg.internal
100.64.0.1
fd7a:115c:a1e0::1" ] && ok || bad "up stdout: $out"
[ "$(sed -n 2p "$tmp/log")" = '{"cmd":"up","accept_routes":false}' ] && ok || bad "up request 2: $(sed -n 2p "$tmp/log")"
expect 1 "meshwg up: the control server refused the auth key: auth key already used" -- up --auth-key bad

# status, ip, whois.
expect 0 "100.64.0.2  b.meshwg.internal  tag:web  direct 10.9.0.2:41641  handshake -  rx 2.0 KiB  tx 0 B  acl-drops 4" -- status
expect 0 '"backend_state":	"Running"' -- status --json
expect 0 "^fd7a:115c:a1e0::2$" -- ip -6 b
expect 0 "^100.64.0.2$" -- ip b.meshwg.internal
expect 1 "no node named zed" -- ip zed
expect 0 "Node key:   nodekey:bb" -- whois 100.64.0.2
expect 1 "no node has IP 100.64.0.9" -- whois 100.64.0.9

# Names and errors from the control server reach the terminal escaped:
# no raw ESC, BEL or newline from meshwgd's strings, in text or --json.
cp "$tmp/status.json" "$tmp/good.json"
sed -e 's/"b.meshwg.internal."/"b\\u001b]52;c;ZXZpbA==\\u0007.meshwg.internal."/' \
    -e 's/"hostname":"b"/"hostname":"b\\u009b2J\\nmeshwgd: fake line"/' \
    -e 's/"user":"alice","tags":\["tag:web"\]/"user":"al\\u001b[31mice","tags":[]/' \
    "$tmp/good.json" >"$tmp/status.json"
esc=$(printf '\033') bel=$(printf '\007') c1=$(printf '\302\233')
for args in "status" "status --json" "whois 100.64.0.2" "ip b" "up"; do
	out=$("$MESHWG" $args 2>&1)
	case "$out" in
	*"$esc"* | *"$bel"* | *"$c1"*) bad "meshwg $args: raw control characters in the output";;
	*) printf '%s\n' "$out" | grep -q "^meshwgd: fake line" &&
		bad "meshwg $args: a raw newline from meshwgd" || ok;;
	esac
done
expect 0 'b\\x1b\]52;c;ZXZpbA==\\x07.meshwg.internal' -- status
expect 0 'al\\x1b\[31mice' -- status
expect 0 'Hostname:   b\\u009b2J\\x0ameshwgd: fake line' -- whois 100.64.0.2
expect 0 'registering with http://c:8080/\\x1b\[2J' -- up --login-server "http://c:8080/$(printf '\033')[2J"
cp "$tmp/good.json" "$tmp/status.json"
expect 0 "node key rotated: nodekey:rotated" -- debug rotate-key
expect 0 "meshwg is down" -- down
expect 0 "Logged out." -- logout

# Other states: one line, exit 1.
sed 's/"Running"/"NoModule"/' "$tmp/status.json" >"$tmp/s2" && mv "$tmp/s2" "$tmp/status.json"
expect 1 "meshwg kernel module not loaded (run: modprobe meshwg)" -- status
expect 1 '"backend_state":	"NoModule"' -- status --json
expect 1 "meshwg up: meshwg kernel module not loaded" -- up
sed 's/"NoModule"/"NeedsLogin"/' "$tmp/status.json" >"$tmp/s2" && mv "$tmp/s2" "$tmp/status.json"
expect 1 "Logged out. Log in with: meshwg up --login-server URL --auth-key KEY" -- status

# A daemon that accepts and never answers: the verbs give up (MESHWG_TIMEOUT).
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8); c=[]
while True: c.append(s.accept())' "$tmp/hung.sock" &
hung=$!
i=0
while [ ! -S "$tmp/hung.sock" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
for verb in status down logout "debug rotate-key"; do
	out=$(MESHWG_TIMEOUT=1 timeout 20 "$MESHWG" --socket "$tmp/hung.sock" $verb 2>&1)
	rc=$?
	[ $rc = 1 ] && printf '%s\n' "$out" | grep -q "timed out after 1 s waiting for meshwgd" && ok ||
		bad "meshwg $verb against a daemon that never answers: rc=$rc, $out"
done
kill "$hung" 2>/dev/null

# --socket beats $MESHWG_SOCKET.
MESHWG_SOCKET="$tmp/elsewhere.sock"
expect 1 "meshwgd is not running" -- status
n=$(wc -l <"$tmp/log")
expect 1 "Logged out" -- --socket "$tmp/meshwgd.sock" status
expect 1 "Logged out" -- --socket="$tmp/meshwgd.sock" status
MESHWG_SOCKET="$tmp/meshwgd.sock"
requests_sent $((n + 2))

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
