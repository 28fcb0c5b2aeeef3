#!/bin/bash
# End-to-end tests of meshwg-control: starts the real server on loopback,
# with SQLite and with a throwaway PostgreSQL cluster, and drives it with the
# protocol test client (control/client/mwgc) and curl (admin API).
#
#   integration.sh [sqlite|postgres|all]     (default all)
#
# Prints "N passed, N failed"; exits non-zero on any failure. Waits are
# bounded polls for an expected state, never timing assertions.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CTL=$HERE/../../control
BIN=$CTL/meshwg-control
MWGC=$CTL/client/mwgc
WHICH=${1:-all}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

TMP=$(mktemp -d /tmp/mwg-it-XXXXXX)
chmod 755 "$TMP"
PASS=0
FAIL=0
PIDS=()
PG_STARTED=""

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "$PG_STARTED" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -m immediate stop >/dev/null 2>&1
	fi
	[ -n "${KEEP_TMP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL [$BACKEND]: $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok; else bad "$d"; fi; }
# expect_out DESCRIPTION PATTERN COMMAND...: output (stdout+stderr) matches
expect_out() {
	local d=$1 pat=$2 out; shift 2
	out=$("$@" 2>&1)
	if printf '%s' "$out" | grep -Eq -- "$pat"; then ok; else bad "$d (got: $(printf '%s' "$out" | head -c 300))"; fi
}
# wait_for DESCRIPTION FILE PATTERN: FILE gets a line matching PATTERN
wait_for() {
	local d=$1 f=$2 pat=$3 i
	for i in $(seq 1 300); do
		grep -Eq -- "$pat" "$f" 2>/dev/null && { ok; return 0; }
		sleep 0.1
	done
	bad "$d (no '$pat' in $f)"
	return 1
}
# wait_cmd DESCRIPTION COMMAND...: COMMAND eventually succeeds
wait_cmd() {
	local d=$1 i; shift
	for i in $(seq 1 300); do
		"$@" >/dev/null 2>&1 && { ok; return 0; }
		sleep 0.1
	done
	bad "$d"
	return 1
}

free_port() {
	local p
	for p in $(shuf -i 20000-32000 -n 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	echo 0
}

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

start_pg() {
	[ -x "$PGBIN/initdb" ] || { echo "integration: PostgreSQL not installed"; return 1; }
	PGPORT=$(free_port)
	mkdir -p "$TMP/pg" "$TMP/pgsock"
	[ "$(id -u)" = 0 ] && chown nobody "$TMP/pg" "$TMP/pgsock"
	as_pg "$PGBIN/initdb" -D "$TMP/pg" -A trust -U mwg >"$TMP/initdb.log" 2>&1 || {
		cat "$TMP/initdb.log"; return 1; }
	as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -l "$TMP/pg/log" -w -o \
		"-p $PGPORT -k $TMP/pgsock -c listen_addresses=127.0.0.1 -c fsync=off" start \
		>/dev/null 2>&1 || { cat "$TMP/pg/log"; return 1; }
	PG_STARTED=1
	as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U mwg meshwg || return 1
	DSN="host=127.0.0.1 port=$PGPORT user=mwg dbname=meshwg"
}

# write_config FILE PORT [extra json members]
write_config() {
	local f=$1 port=$2 extra=${3:-}
	local db
	if [ "$BACKEND" = postgres ]; then
		db="{\"type\": \"postgres\", \"dsn\": \"$DSN\"}"
	else
		db="{\"type\": \"sqlite\", \"path\": \"$W/control.db\"}"
	fi
	cat >"$f" <<EOC
{
  "listen": "127.0.0.1:$port",
  "server_url": "http://127.0.0.1:$port",
  "database": $db,
  "base_domain": "test.meshwg",
  "nameservers": ["192.0.2.53"],
  "ephemeral_inactivity_timeout": "2s",
  "keepalive_interval": "1s",
  "change_poll_interval_ms": 100$extra
}
EOC
}

# start_server CONFIG LOG -> sets SPID
start_server() {
	local cfg=$1 log=$2 port
	port=$(sed -n 's/.*"listen": "127.0.0.1:\([0-9]*\)".*/\1/p' "$cfg")
	# MWG_SERVER_WRAP="valgrind -q --error-exitcode=9" runs the server under a tool
	${MWG_SERVER_WRAP:-} "$BIN" --config "$cfg" serve >>"$log" 2>&1 &
	SPID=$!
	PIDS+=("$SPID")
	local i
	for i in $(seq 1 600); do
		curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "server did not start:"; cat "$log"
	return 1
}

ctl() { "$BIN" --config "$W/cfg.json" "$@"; }
client() { local n=$1; shift; "$MWGC" -s "$URL" -m "$W/m.$n" -n "$W/n.$n" "$@"; }
newnode() { "$MWGC" genkey >"$W/m.$1"; "$MWGC" genkey >"$W/n.$1"; }
node_id() { ctl --output json nodes list | tr -d ' \n\t' | grep -o "\"id\":[0-9]*,\"name\":\"$1\"" | grep -o '[0-9]*' | head -1; }
# pending_id HOSTNAME: id of a pending registration (it has no name yet)
pending_id() { ctl --output json nodes list | tr -d ' \n\t' | grep -o "\"id\":[0-9]*,\"name\":\"\",\"dns_name\":\"\",\"hostname\":\"$1\"" | grep -o '[0-9]*' | head -1; }
api() { local m=$1 p=$2; shift 2; curl -sS -X "$m" -H "Authorization: Bearer $APIKEY" "$@" "$URL$p"; }
# regtags NODE HOSTNAME TAGS [AUTHKEY]: register advertising TAGS (comma-separated)
regtags() { client "$1" register --hostname "$2" --tags "$3" ${4:+--auth-key "$4"}; }
nnodes() { ctl --output json nodes list | grep -c '"machine_key"'; }
api_status() { local m=$1 p=$2; shift 2; curl -s -o /dev/null -w '%{http_code}' -X "$m" "$@" "$URL$p"; }

run_suite() {
	BACKEND=$1
	W=$TMP/$BACKEND
	mkdir -p "$W"
	PORT=$(free_port)
	URL=http://127.0.0.1:$PORT
	write_config "$W/cfg.json" "$PORT"

	# ---- configuration ----
	expect_out "configtest" "configuration ok" ctl configtest
	printf '{\n  "listen": "127.0.0.1:1",\n  bad\n}\n' >"$W/bad.json"
	expect_out "configtest reports file:line:col" "bad.json:3:[0-9]+" "$BIN" --config "$W/bad.json" configtest
	check "help" "$BIN" --help
	expect_out "command help" "Usage|meshwg-control nodes approve" "$BIN" nodes approve --help

	# ---- users, keys ----
	check "users create alice" ctl users create alice
	check "users create bob" ctl users create bob
	expect_out "duplicate user refused" "already exists" ctl users create alice
	expect_out "bad user name refused" "user name" ctl users create 'no way'
	expect_out "users list" "alice" ctl users list
	APIKEY=$(ctl apikeys create)
	SINGLE=$(ctl preauthkeys create --user alice)
	REUSE=$(ctl preauthkeys create --user alice --reusable)
	BOBKEY=$(ctl preauthkeys create --user bob --reusable)
	EPH=$(ctl preauthkeys create --user bob --reusable --ephemeral)
	expect_out "preauthkey list hides keys" "REUSABLE" ctl preauthkeys list
	if ctl preauthkeys list | grep -q -- "${REUSE#mwgkey-*-}"; then bad "secret shown in list"; else ok; fi
	expect_out "preauthkey for unknown user" "no user" ctl preauthkeys create --user nobody-here

	# ---- the database holds the server key: private to its owner ----
	if [ "$BACKEND" = sqlite ]; then
		expect_out "database created 0600" "^600$" stat -c %a "$W/control.db"
		chmod 644 "$W/control.db"
		expect_out "world-readable database refused" "accessible to other users \(mode 0644\).*chmod 600" timeout 20 "$BIN" --config "$W/cfg.json" serve
		chmod 600 "$W/control.db"
		sed "s|$W/control.db|$W/new/control.db|" "$W/cfg.json" >"$W/cfg-new.json"
		check "database in a new directory" "$BIN" --config "$W/cfg-new.json" users list
		expect_out "its directory created 0700" "^700$" stat -c %a "$W/new"
		expect_out "and the database 0600" "^600$" stat -c %a "$W/new/control.db"
	fi
	start_server "$W/cfg.json" "$W/server.log" || { bad "server start"; return; }
	S1=$SPID

	# ---- admin HTTP API ----
	expect_out "admin api lists users" '"name":"alice"' api GET /api/v1/users
	expect_out "admin api without key" "^401$" api_status GET /api/v1/users
	expect_out "admin api bad key" "^401$" api_status GET /api/v1/users -H "Authorization: Bearer mwgapi-000000000000-000000000000000000000000000000000000000000000000"
	expect_out "admin api malformed body" "^400$" api_status POST /api/v1/users -H "Authorization: Bearer $APIKEY" --data '{oops'
	expect_out "admin api create user" '"name":"carol"' api POST /api/v1/users --data '{"name":"carol"}'
	expect_out "admin api unknown node" "^404$" api_status POST /api/v1/nodes/999/expire -H "Authorization: Bearer $APIKEY"
	# paths are parsed strictly: empty or extra segments are not other calls
	NKEYS=$(api GET /api/v1/apikeys | grep -o '"prefix"' | wc -l)
	expect_out "admin api: empty segment is 404, not create" "^404$" api_status POST /api/v1/apikeys//expire -H "Authorization: Bearer $APIKEY"
	expect_out "admin api: no key created by it" "^$NKEYS$" sh -c "curl -sS -H 'Authorization: Bearer $APIKEY' $URL/api/v1/apikeys | grep -o '\"prefix\"' | wc -l"
	expect_out "admin api: users//delete is 404" "^404$" api_status POST /api/v1/users//delete -H "Authorization: Bearer $APIKEY" --data '{"name":"mallory"}'
	expect_out "admin api: extra segment is 404" "^404$" api_status DELETE /api/v1/users/carol/extra -H "Authorization: Bearer $APIKEY"
	expect_out "admin api: trailing slash is 404" "^404$" api_status GET /api/v1/nodes/ -H "Authorization: Bearer $APIKEY"
	expect_out "admin api: unknown action is 404" "^404$" api_status POST /api/v1/nodes/1/frobnicate -H "Authorization: Bearer $APIKEY"
	expect_out "admin api: wrong method is 405" "^405$" api_status PUT /api/v1/users -H "Authorization: Bearer $APIKEY"
	expect_out "admin api: policy with a NUL byte refused" '"error":"request body contains a NUL byte"' sh -c "printf '{}\\000x' | curl -sS -X PUT -H 'Authorization: Bearer $APIKEY' --data-binary @- $URL/api/v1/policy"
	if api GET /api/v1/users | grep -q mallory; then bad "users//delete created a user"; else ok; fi

	# ---- registration ----
	for n in a b c d e f; do newnode $n; done
	expect_out "register a (single-use key)" '"status":"registered"' client a register --auth-key "$SINGLE" --hostname alpha
	expect_out "single-use key reused" "HTTP 401: auth key already used" client b register --auth-key "$SINGLE" --hostname beta
	expect_out "register b (reusable)" '"status":"registered"' client b register --auth-key "$REUSE" --hostname beta
	expect_out "register again is idempotent" '"status":"registered"' client b register --hostname beta
	expect_out "bad auth key" "HTTP 401: (malformed|invalid) auth key" client f register --auth-key mwgkey-000000000000-000000000000000000000000000000000000000000000000 --hostname f
	# advertised tags with no policy in force cannot be checked
	newnode t0
	TONCE=$(ctl preauthkeys create --user alice)
	before=$(nnodes)
	expect_out "tags without a policy: 403" "HTTP 403: tag:router: no policy is in force" regtags t0 t0 tag:router "$TONCE"
	expect_out "malformed advertised tag: 400" "HTTP 400: tags: \"router\" is not a valid tag" regtags t0 t0 router "$TONCE"
	if [ "$(nnodes)" = "$before" ]; then ok; else bad "refused tags created a node"; fi
	expect_out "key not consumed by the refusal" '"status":"registered"' client t0 register --auth-key "$TONCE" --hostname t0
	expect_out "register c without key: pending" '"status":"pending"' client c register --hostname gamma
	expect_out "pending node has no map" "HTTP 403: node is pending" client c map
	C=$(pending_id gamma)
	expect_out "approve needs user" "user" ctl nodes approve "$C"
	expect_out "approval shows the machine key" "approved node $C: machine $("$MWGC" pubkey mkey "$W/m.c"), hostname gamma, now gamma.test.meshwg" ctl nodes approve "$C" --user bob
	expect_out "approved c gets a map" '"type":"full"' client c map
	expect_out "same hostname gets a unique name" '"dns_name":"alpha-1.test.meshwg"' client d register --auth-key "$REUSE" --hostname alpha
	newnode esc
	expect_out "hostname normalised to a DNS label" '"dns_name":"evil52cagk.test.meshwg","hostname":"evil52cagk"' client esc register --auth-key "$REUSE" --hostname $'Evil\e]52;c;aGk=\a'
	if ctl --output json nodes list | grep -q 'u001b'; then bad "escape sequence stored"; else ok; fi
	ctl nodes delete "$(node_id evil52cagk)" >/dev/null
	A=$(node_id alpha); B=$(node_id beta)
	ADDRS=$(ctl --output json nodes list | tr -d ' \n\t' | grep -o '"addresses":\["[^]]*\]' | sort | uniq -d)
	if [ -z "$ADDRS" ]; then ok; else bad "duplicate addresses: $ADDRS"; fi

	# ---- map stream and deltas ----
	client a stream --skip-keepalive >"$W/a.stream" 2>"$W/a.err" &
	PIDS+=($!); APID=$!
	wait_for "full map on stream" "$W/a.stream" '"type":"full".*"dns_name":"beta.test.meshwg"'
	expect_out "full map has dns config" '"nameservers":\["192.0.2.53"\]' client b map
	expect_out "full map has derp map" '"derp_map":\{"regions"' client b map
	check "b updates endpoints" client b update --endpoints 198.51.100.7:41641 --home-derp 900
	wait_for "endpoint delta" "$W/a.stream" '"type":"delta".*"endpoints":\["198.51.100.7:41641"\].*"home_derp":900'
	check "b streams once" client b stream --count 1
	wait_for "online state delta" "$W/a.stream" '"type":"delta".*"id":'"$B"',[^}]*"online":true'
	wait_for "offline state delta" "$W/a.stream" '"type":"delta".*"id":'"$B"',[^}]*"online":false'

	# ---- policy ----
	printf '{\n  "acls": [\n    {"action": "accept", "src": ["alice@"], "dst": ["alice@:*"]},\n    oops\n  ]\n}\n' >"$W/bad.hujson"
	expect_out "bad policy refused with file:line:col" "bad.hujson:4:[0-9]+" ctl policy set "$W/bad.hujson"
	expect_out "old policy stays (none)" "no policy" ctl policy get
	cat >"$W/p1.hujson" <<'EOP'
{
	// alice's machines only see each other
	"tagOwners": {"tag:router": ["alice@"]},
	"acls": [
		{"action": "accept", "src": ["alice@"], "dst": ["alice@:*"]},
	],
	"autoApprovers": {"routes": {"10.20.0.0/16": ["alice@"]}},
}
EOP
	check "policy check" ctl policy check "$W/p1.hujson"
	sed 's/"src": \["alice@"\]/"src": ["alcie@"]/' "$W/p1.hujson" >"$W/typo.hujson"
	expect_out "a policy naming an unknown user is refused" "typo.hujson:[0-9]+:[0-9]+: unknown user \"alcie@\"" ctl policy check "$W/typo.hujson"
	expect_out "policy check needs no configuration file" "^ok$" "$BIN" --config "$W/none.json" policy check "$W/p1.hujson"
	# tests: a group src stands for its users' nodes; a user without nodes fails
	check "user without nodes" ctl users create dana
	sed 's|^}|"groups": {"group:a": ["alice@"]}, "tests": [{"src": "group:a", "proto": "tcp", "accept": ["alice@:22"]}],\n}|' "$W/p1.hujson" >"$W/t1.hujson"
	check "policy tests with a group src pass" ctl policy check "$W/t1.hujson"
	sed 's|^}|"tests": [{"src": "dana@", "deny": ["alice@:22"]}],\n}|' "$W/p1.hujson" >"$W/t2.hujson"
	expect_out "a test src without nodes fails" 't2.hujson:[0-9]+:[0-9]+: test failed: src dana@ resolves to no node' ctl policy check "$W/t2.hujson"
	expect_out "without a configuration file the tests are not run" "t2.hujson: tests not run" "$BIN" --config "$W/none.json" policy check "$W/t2.hujson"
	expect_out "and reports file:line:col without one" "bad.hujson:4:[0-9]+" "$BIN" --config "$W/none.json" policy check "$W/bad.hujson"
	check "policy set" ctl policy set "$W/p1.hujson"
	expect_out "policy get" "alice's machines" ctl policy get
	wait_for "policy delta removes bob's node" "$W/a.stream" '"peers_removed":\[[0-9,]*'"$C"'[],]'
	wait_for "policy delta carries a filter" "$W/a.stream" '"packet_filter":\[\{'
	expect_out "admin api refuses bad policy" '"error":"policy:[0-9]+:[0-9]+' api PUT /api/v1/policy --data-binary @"$W/bad.hujson"
	expect_out "policy unchanged after refusal" "alice's machines" ctl policy get
	expect_out "tag not in tagOwners refused" "tagOwners" ctl nodes tag "$B" --tags tag:nope
	PORT3=$(free_port)
	write_config "$W/cfg3.json" "$PORT3" ", \"policy_file\": \"$W/bad.hujson\""
	expect_out "serve refuses an invalid policy_file" "bad.hujson:4:[0-9]+" "$BIN" --config "$W/cfg3.json" serve

	# ---- advertised tags (tagOwners: tag:router for alice@) ----
	sed 's|"dst": \["alice@:\*"\]|"dst": ["alice@:*", "tag:router:*"]|' "$W/p1.hujson" >"$W/p2.hujson"
	check "policy letting alice reach tag:router" ctl policy set "$W/p2.hujson"
	for n in t1 t2 t3; do newnode $n; done
	BOBONCE=$(ctl preauthkeys create --user bob)
	before=$(nnodes)
	expect_out "bob may not use tag:router: 403" "HTTP 403: user bob@ may not use tag:router \(tagOwners\)" regtags t1 t1 tag:router "$BOBONCE"
	expect_out "undefined tag refused" "HTTP 403: user alice@ may not use tag:nope" regtags t1 t1 tag:router,tag:nope "$REUSE"
	expect_out "tags without an auth key refused" "HTTP 403: advertised tags need an auth key" regtags t1 t1 tag:router
	if [ "$(nnodes)" = "$before" ]; then ok; else bad "refused tags changed the node count"; fi
	expect_out "bob's single-use key still usable" '"status":"registered"' client t1 register --auth-key "$BOBONCE" --hostname t1
	expect_out "alice may use tag:router" '"tags":\["tag:router"\],"key_expiry":null' regtags t2 tagged2 tag:router "$REUSE"
	T2=$(node_id tagged2)
	expect_out "tagged node's own map" '"self":\{[^}]*"tags":\["tag:router"\],"key_expiry":null' client t2 map
	wait_for "peers see the tags" "$W/a.stream" '"id":'"$T2"',[^}]*"tags":\["tag:router"\]'
	expect_out "an empty tag list is no tags" '"tags":\[\],"key_expiry":"' regtags t3 plain3 "" "$REUSE"
	T3=$(node_id plain3)
	expect_out "re-register with an auth key and tags" '"tags":\["tag:router"\],"key_expiry":null' regtags t3 plain3 tag:router "$REUSE"
	wait_for "tag change reaches peers as a delta" "$W/a.stream" '"type":"delta".*"id":'"$T3"',[^}]*"tags":\["tag:router"\]'
	expect_out "re-register refused with bob's key" "HTTP 403: user bob@ may not use tag:router" regtags t3 plain3 tag:router "$BOBKEY"
	expect_out "refused re-register changed nothing" '"self":\{[^}]*"user":"alice","tags":\["tag:router"\],"key_expiry":null' client t3 map
	expect_out "re-authenticating with an empty tag list makes the node personal again" '"self":\{[^}]*"user":"alice","tags":\[\],"key_expiry":"20' regtags t3 plain3 "" "$REUSE"
	expect_out "tagged again" '"tags":\["tag:router"\],"key_expiry":null' regtags t3 plain3 tag:router "$REUSE"
	expect_out "re-authenticating with no tag list keeps the tags" '"tags":\["tag:router"\],"key_expiry":null' client t3 register --hostname plain3 --auth-key "$REUSE"
	"$MWGC" genkey >"$W/n.t2b"
	expect_out "rotation keeps the tags" '"tags":\["tag:router"\],"key_expiry":null' client t2 rotate "$W/n.t2b" --hostname tagged2
	expect_out "rotated tagged node's map" '"self":\{[^}]*"tags":\["tag:router"\],"key_expiry":null' "$MWGC" -s "$URL" -m "$W/m.t2" -n "$W/n.t2b" map
	for n in tagged2 plain3 t1; do ctl nodes delete "$(node_id $n)" >/dev/null; done
	check "policy back to p1" ctl policy set "$W/p1.hujson"

	# ---- routes ----
	check "b advertises routes" client b update --routes 10.10.0.0/24,10.20.1.0/24,0.0.0.0/0
	expect_out "bad route refused" "HTTP 400: routes" client b update --routes 10.10.0.1/24
	expect_out "route inside the tailnet refused" "HTTP 400: routes: 100.64.0.0/24 overlaps the tailnet prefix 100.64.0.0/10" client b update --routes 10.10.0.0/24,100.64.0.0/24
	expect_out "route covering the tailnet refused" "HTTP 400: routes: 64.0.0.0/2 overlaps" client b update --routes 64.0.0.0/2
	expect_out "IPv6 route inside the tailnet refused" "HTTP 400: routes: fd7a:115c:a1e0::/64 overlaps the tailnet prefix fd7a:115c:a1e0::/48" client b update --routes fd7a:115c:a1e0::/64
	expect_out "approving a tailnet route refused" "routes: 100.64.0.1/32 overlaps" ctl nodes approve-routes "$B" --routes 100.64.0.1/32
	wait_cmd "autoApprovers approved 10.20.1.0/24" sh -c "'$BIN' --config '$W/cfg.json' --output json nodes routes $B | tr -d ' \n\t' | grep -q '\"approved\":\[\"10.20.1.0/24\"\]'"
	expect_out "approve unadvertised route refused" "does not advertise" ctl nodes approve-routes "$B" --routes 10.99.0.0/24
	check "approve routes" ctl nodes approve-routes "$B" --routes 10.10.0.0/24,0.0.0.0/0
	wait_for "route in allowed_ips" "$W/a.stream" '"allowed_ips":\[[^]]*"10.10.0.0/24"[^]]*\].*"exit_node":true'

	# ---- bad inputs on the node protocol ----
	expect_out "malformed JSON" '^400 .*"error"' sh -c "echo '{nope' | '$MWGC' -s '$URL' -m '$W/m.a' -n '$W/n.a' post /v1/map"
	head -c 300000 /dev/zero | tr '\0' 'a' >"$W/big"
	expect_out "oversized body" '^413 ' sh -c "'$MWGC' -s '$URL' -m '$W/m.a' -n '$W/n.a' post /v1/map <'$W/big'"
	expect_out "invalid machine key" '^400 .*machine_key' sh -c "echo '{\"machine_key\":\"mkey:xyz\",\"nonce\":\"00\",\"box\":\"\"}' | '$MWGC' -s '$URL' -m '$W/m.a' -n '$W/n.a' post /v1/map"
	expect_out "unknown machine" "HTTP 401: unknown machine" client f map
	BODY=$(client b seal "{\"node_key\":\"$("$MWGC" pubkey nodekey "$W/n.b")\"}")
	expect_out "sealed request accepted" '^200 ' sh -c "echo '$BODY' | '$MWGC' -s '$URL' -m '$W/m.a' -n '$W/n.a' post /v1/update"
	expect_out "replayed request refused" '^401 .*replay' sh -c "echo '$BODY' | '$MWGC' -s '$URL' -m '$W/m.a' -n '$W/n.a' post /v1/update"
	expect_out "wrong node key" "HTTP 401: node key does not match" "$MWGC" -s "$URL" -m "$W/m.b" -n "$W/n.a" map
	expect_out "GET on POST endpoint" "^405$" api_status GET /v1/map
	expect_out "unknown endpoint" "^404$" api_status GET /v2/nothing
	expect_out "GET /v1/key" '"server_key":"mkey:[0-9a-f]{64}"' curl -sS "$URL/v1/key"
	expect_out "endpoint that is not ip:port refused" "HTTP 400: endpoints: \"<script>:1\" is not ip:port" client b update --endpoints '<script>:1'
	expect_out "IPv6 endpoint accepted" '"ok":true' client b update --endpoints '[2001:db8::1]:41641,198.51.100.7:41641'
	expect_out "/health tells no counts to anyone" '^\{"status":"ok"\}$' curl -sS "$URL/health"
	expect_out "/health counts for admins" '"nodes":[0-9]+' api GET /health
	expect_out "API key last_used is recorded" '"last_used":"20[0-9]{2}-' api GET /api/v1/apikeys
	expect_out "a non-boolean flag is refused" '"error":"reusable: want true or false"' api POST /api/v1/preauthkeys --data '{"user":"alice","reusable":"yes"}'
	printf '{}\000' >"$W/nul.hujson"
	expect_out "CLI: policy file with a NUL byte refused" "NUL byte" ctl policy check "$W/nul.hujson"

	# ---- concurrent registrations with one single-use key ----
	ONCE=$(ctl preauthkeys create --user alice)
	before=$(ctl --output json nodes list | grep -c '"machine_key"')
	for i in 1 2 3 4 5 6; do newnode "r$i"; done
	RACERS=()
	for i in 1 2 3 4 5 6; do
		client "r$i" register --auth-key "$ONCE" --hostname "race$i" >"$W/race$i.out" 2>&1 &
		RACERS+=($!)
	done
	wait "${RACERS[@]}"
	wins=$(cat "$W"/race*.out | grep -c '"status":"registered"')
	losses=$(cat "$W"/race*.out | grep -c 'auth key already used')
	if [ "$wins" = 1 ] && [ "$losses" = 5 ]; then ok; else bad "single-use race: $wins won, $losses refused"; fi
	after=$(ctl --output json nodes list | grep -c '"machine_key"')
	if [ "$after" = $((before + 1)) ]; then ok; else bad "race left $after nodes (want $((before + 1)))"; fi

	# ---- expiry and key rotation ----
	check "expire a" ctl nodes expire "$A"
	wait_for "expired node's stream ends" "$W/a.stream" '"type":"goodbye","reason":"node key expired"'
	expect_out "expired node has no map" "HTTP 403: node key expired" client a map
	expect_out "expired node re-registering without a key: 403" "HTTP 403: node key expired; re-register with an auth key" client a register --hostname alpha
	"$MWGC" genkey >"$W/n.a2"
	expect_out "expired key cannot rotate itself" "HTTP 401: node key expired" client a rotate "$W/n.a2" --hostname alpha
	cp "$W/n.a2" "$W/n.a3"
	expect_out "re-register with an auth key" '"status":"registered"' "$MWGC" -s "$URL" -m "$W/m.a" -n "$W/n.a3" register --auth-key "$REUSE" --hostname alpha
	expect_out "map after re-register" '"type":"full"' "$MWGC" -s "$URL" -m "$W/m.a" -n "$W/n.a3" map
	"$MWGC" genkey >"$W/n.a4"
	expect_out "rotation signed by the old key" '"status":"registered"' "$MWGC" -s "$URL" -m "$W/m.a" -n "$W/n.a3" rotate "$W/n.a4" --hostname alpha
	expect_out "old node key no longer works" "HTTP 401: node key does not match" "$MWGC" -s "$URL" -m "$W/m.a" -n "$W/n.a3" map
	expect_out "new node key works, same address" '"addresses":\["100.64.0.1/32"' "$MWGC" -s "$URL" -m "$W/m.a" -n "$W/n.a4" map
	check "tag a node (never expires)" ctl nodes tag "$B" --tags tag:router
	expect_out "tagged node never expires" '"tags":\["tag:router"\].*"key_expiry":null' client b map
	check "rename" ctl nodes rename "$B" bee
	expect_out "renamed" '"dns_name":"bee.test.meshwg"' client b map
	expect_out "rename to a taken name" "taken" ctl nodes rename "$B" gamma

	# ---- key expiry by the clock (a server registering with a 2 s expiry) ----
	PORT4=$(free_port)
	write_config "$W/cfg4.json" "$PORT4" ", \"node_key_expiry\": \"2s\""
	if start_server "$W/cfg4.json" "$W/server4.log"; then
		S4=$SPID
		newnode x
		expect_out "register with a short expiry" '"status":"registered"' "$MWGC" -s "http://127.0.0.1:$PORT4" -m "$W/m.x" -n "$W/n.x" register --auth-key "$REUSE" --hostname shortlived
		"$MWGC" -s "http://127.0.0.1:$PORT4" -m "$W/m.x" -n "$W/n.x" stream --skip-keepalive >"$W/x.stream" 2>&1 &
		PIDS+=($!)
		wait_for "stream ends when the key expires by time" "$W/x.stream" '"type":"goodbye","reason":"node key expired"'
		expect_out "time-expired node has no map" "HTTP 403: node key expired" "$MWGC" -s "$URL" -m "$W/m.x" -n "$W/n.x" map
		kill "$S4"
	else
		bad "short-expiry server start"
	fi

	# ---- pending registrations: capped, small, nameless, expiring ----
	PORT5=$(free_port)
	write_config "$W/cfg5.json" "$PORT5" ", \"max_pending\": 2"
	if start_server "$W/cfg5.json" "$W/server5.log"; then
		U5=http://127.0.0.1:$PORT5
		for n in p1 p2 p3 p4; do newnode $n; done
		expect_out "pending registration has no DNS name" '"status":"pending".*"dns_name":"",' "$MWGC" -s "$U5" -m "$W/m.p1" -n "$W/n.p1" register --hostname db
		expect_out "second pending registration" '"status":"pending"' "$MWGC" -s "$U5" -m "$W/m.p2" -n "$W/n.p2" register --hostname db
		expect_out "pending registrations are capped" "HTTP 429: too many registrations waiting" "$MWGC" -s "$U5" -m "$W/m.p3" -n "$W/n.p3" register --hostname db
		expect_out "pending ones squat no name" '"dns_name":"db.test.meshwg"' "$MWGC" -s "$U5" -m "$W/m.p4" -n "$W/n.p4" register --auth-key "$REUSE" --hostname db
		printf -v BIGHI '{"x":"%05000d"}' 0
		expect_out "hostinfo is bounded" "HTTP 400: hostinfo: 5008 bytes, at most 4096" "$MWGC" -s "$U5" -m "$W/m.p4" -n "$W/n.p4" update --hostinfo "$BIGHI"
		P1=$(pending_id db)
		expect_out "approved pending node gets a free name" "now db-1.test.meshwg" ctl nodes approve "$P1" --user alice
		kill "$SPID"
		wait "$SPID" 2>/dev/null
	else
		bad "max_pending server start"
	fi
	write_config "$W/cfg6.json" "$PORT5" ", \"pending_expiry\": \"2s\""
	if [ -n "$(pending_id db)" ] && start_server "$W/cfg6.json" "$W/server6.log"; then
		wait_cmd "unapproved registrations expire" sh -c "! '$BIN' --config '$W/cfg.json' --output json nodes list | grep -q '\"pending\": true'"
		kill "$SPID"
		wait "$SPID" 2>/dev/null
	else
		bad "pending_expiry server start (or no pending node left)"
	fi
	for n in db db-1; do ctl nodes delete "$(node_id $n)" >/dev/null; done

	# ---- a deleted node's address is not handed out again soon ----
	newnode ka
	newnode kp
	KA=$(client ka register --auth-key "$REUSE" --hostname addrtest | grep -o '"addresses":\["100\.64\.0\.[0-9]*' | grep -o '[0-9]*$')
	ctl nodes delete "$(node_id addrtest)" >/dev/null
	client kp register --hostname addrnext >/dev/null
	expect_out "the next address, even when a new process allocates" "\"addresses\":\[\"100\.64\.0\.$((KA + 1))[/\"]" sh -c "'$BIN' --config '$W/cfg.json' --output json nodes approve $(pending_id addrnext) --user alice | tr -d ' \n\t'"
	ctl nodes delete "$(node_id addrnext)" >/dev/null

	# ---- connection limits: per IP, and a short timeout for requests ----
	PORT7=$(free_port)
	write_config "$W/cfg7.json" "$PORT7" ", \"max_connections_per_ip\": 1, \"request_timeout\": \"15s\", \"threads\": 1"
	if start_server "$W/cfg7.json" "$W/server7.log"; then
		# one connection holds the IP's only slot with a partial request...
		exec 5<>"/dev/tcp/127.0.0.1/$PORT7"
		printf 'GET /health HTTP/1.1\r\n' >&5
		wait_cmd "a 2nd connection from one IP is refused" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:$PORT7/health)\" = 000 ]"
		# ...until request_timeout drops it (15 s: long enough for a loaded
		# machine to probe in between, within wait_cmd's 30 s)
		wait_cmd "a partial request is dropped after request_timeout" curl -sf --max-time 5 "http://127.0.0.1:$PORT7/health"
		exec 5>&-
		kill "$SPID"
		wait "$SPID" 2>/dev/null
	else
		bad "connection-limit server start"
	fi

	# ---- more admin API ----
	expect_out "api: create key" '"key":"mwgkey-' api POST /api/v1/preauthkeys --data '{"user":"alice","reusable":true,"tags":["tag:router"]}'
	expect_out "api: key with undefined tag refused" '"error":"tag:x is not defined' api POST /api/v1/preauthkeys --data '{"user":"alice","tags":["tag:x"]}'
	expect_out "a tag name the policy language cannot write refused" '"error":"tags: \\"tag:a.b\\" is not a valid tag' api POST /api/v1/preauthkeys --data '{"user":"alice","tags":["tag:a.b"]}'
	{ head -c 300000 /dev/zero | tr '\0' ' '; cat "$W/p1.hujson"; } >"$W/big.hujson"
	expect_out "a 300 KB policy over HTTP (over max_body, under the policy limit)" '"ok":true' api POST /api/v1/policy/check --data-binary @"$W/big.hujson"
	{ head -c 5000000 /dev/zero | tr '\0' ' '; cat "$W/p1.hujson"; } >"$W/big5.hujson"
	expect_out "a 5 MB policy file from the CLI" "^ok$" ctl policy check "$W/big5.hujson"
	expect_out "api: node routes" '"advertised":\[' api GET "/api/v1/nodes/$B/routes"
	expect_out "api: rename" '"ok":true' api POST "/api/v1/nodes/$B/rename" --data '{"name":"beta"}'
	expect_out "api: bad rename" '"error":"\\"Bad Name\\" is not a valid DNS label' api POST "/api/v1/nodes/$B/rename" --data '{"name":"Bad Name"}'
	expect_out "api: policy get" "alice's machines" api GET /api/v1/policy
	expect_out "api: list keys" '"prefix"' api GET /api/v1/apikeys

	# ---- ephemeral nodes ----
	expect_out "register ephemeral e" '"ephemeral":true' client e register --auth-key "$EPH" --hostname eph
	check "ephemeral logout" client e logout
	if ctl nodes list | grep -q ' eph '; then bad "ephemeral node not deleted at logout"; else ok; fi
	newnode e2
	expect_out "register ephemeral e2" '"ephemeral":true' client e2 register --auth-key "$EPH" --hostname eph2
	check "e2 streams once" client e2 stream --count 1
	wait_cmd "inactive ephemeral node removed" sh -c "! '$BIN' --config '$W/cfg.json' nodes list | grep -q ' eph2 '"
	check "logout b" client b logout
	expect_out "logged out node has no map" "HTTP 403" client b map

	# ---- a second server on the same database ----
	PORT2=$(free_port)
	write_config "$W/cfg2.json" "$PORT2"
	start_server "$W/cfg2.json" "$W/server2.log" || bad "second server start"
	"$MWGC" -s "$URL" -m "$W/m.a" -n "$W/n.a4" stream --skip-keepalive >"$W/a2.stream" 2>&1 &
	PIDS+=($!)
	wait_for "stream on server 1" "$W/a2.stream" '"type":"full"'
	expect_out "update through server 2" '"ok":true' "$MWGC" -s "http://127.0.0.1:$PORT2" -m "$W/m.d" -n "$W/n.d" update --endpoints 203.0.113.9:1234
	wait_for "server 1 streams a change made on server 2" "$W/a2.stream" '"endpoints":\["203.0.113.9:1234"\]'
	if [ "$BACKEND" = postgres ]; then
		BODY=$("$MWGC" -s "$URL" -m "$W/m.d" -n "$W/n.d" seal "{\"node_key\":\"$("$MWGC" pubkey nodekey "$W/n.d")\"}")
		expect_out "request accepted by server 1" '^200 ' sh -c "echo '$BODY' | '$MWGC' -s '$URL' -m '$W/m.a' -n '$W/n.a' post /v1/update"
		expect_out "same request replayed to server 2 refused" '^401 .*replay' sh -c "echo '$BODY' | '$MWGC' -s 'http://127.0.0.1:$PORT2' -m '$W/m.a' -n '$W/n.a' post /v1/update"
	fi
	kill "$SPID" 2>/dev/null

	# ---- clean shutdown with open streams ----
	RBODY=$("$MWGC" -s "$URL" -m "$W/m.d" -n "$W/n.d" seal "{\"node_key\":\"$("$MWGC" pubkey nodekey "$W/n.d")\"}")
	expect_out "request accepted before the restart" '^200 ' sh -c "echo '$RBODY' | '$MWGC' -s '$URL' -m '$W/m.a' -n '$W/n.a' post /v1/update"
	kill "$S1"
	wait "$S1"
	S1RC=$?
	if [ "$S1RC" = 0 ]; then ok; else bad "SIGTERM with open streams: exit status $S1RC"; fi
	wait_for "streams told of the shutdown" "$W/a2.stream" '"type":"goodbye","reason":"server shutting down"'

	# ---- restart with persisted state; kill -9 mid-write ----
	NODES_BEFORE=$(ctl --output json nodes list | grep -o '"addresses":[^]]*]' | sort)
	kill "${PIDS[@]}" 2>/dev/null
	wait 2>/dev/null
	PIDS=()
	start_server "$W/cfg.json" "$W/server.log" || { bad "restart"; return; }
	NODES_AFTER=$(ctl --output json nodes list | grep -o '"addresses":[^]]*]' | sort)
	if [ "$NODES_BEFORE" = "$NODES_AFTER" ] && [ -n "$NODES_AFTER" ]; then ok; else bad "state changed across restart"; fi
	expect_out "policy persisted" "alice's machines" ctl policy get
	expect_out "request replayed after the restart refused" '^401 .*replay' sh -c "echo '$RBODY' | '$MWGC' -s '$URL' -m '$W/m.a' -n '$W/n.a' post /v1/update"
	expect_out "map after restart" '"type":"full"' "$MWGC" -s "$URL" -m "$W/m.a" -n "$W/n.a4" map
	: >"$W/kill.log"
	for i in $(seq 1 12); do newnode "k$i"; done
	( for i in $(seq 1 12); do
		if client "k$i" register --auth-key "$REUSE" --hostname "kill$i" >/dev/null 2>&1; then
			echo "kill$i" >>"$W/kill.log"; fi
	  done ) &
	KLOOP=$!
	wait_for "some registrations done" "$W/kill.log" 'kill3'
	kill -9 "$SPID"
	wait "$KLOOP" 2>/dev/null
	PIDS=()
	start_server "$W/cfg.json" "$W/server.log" || { bad "restart after kill -9"; return; }
	missing=""
	for n in $(cat "$W/kill.log"); do
		ctl nodes list | grep -q " $n " || missing="$missing $n"
	done
	if [ -z "$missing" ]; then ok; else bad "acknowledged registrations lost after kill -9:$missing"; fi
	check "database usable after kill -9" ctl users create dave
	kill "$SPID"
	wait 2>/dev/null
	PIDS=()
}

run_https() {
	BACKEND=https
	W=$TMP/https
	mkdir -p "$W"
	command -v openssl >/dev/null || { echo "integration: no openssl, HTTPS test skipped"; return; }
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/key.pem" -out "$W/cert.pem" \
		-days 2 -subj /CN=127.0.0.1 >/dev/null 2>&1 || { bad "openssl"; return; }
	PORT=$(free_port)
	URL=https://127.0.0.1:$PORT
	write_config "$W/cfg.json" "$PORT" ", \"tls_cert\": \"$W/cert.pem\", \"tls_key\": \"$W/key.pem\""
	ctl users create tls >/dev/null
	K=$(ctl preauthkeys create --user tls)
	"$BIN" --config "$W/cfg.json" serve >"$W/server.log" 2>&1 &
	SPID=$!; PIDS+=("$SPID")
	wait_cmd "https server up" curl -skf "$URL/health"
	newnode t
	expect_out "register over HTTPS" '"status":"registered"' "$MWGC" -k -s "$URL" -m "$W/m.t" -n "$W/n.t" register --auth-key "$K" --hostname tls
	expect_out "plain HTTP to an HTTPS port fails" "HTTP (503|0)|Empty|reset|error" "$MWGC" -s "http://127.0.0.1:$PORT" -m "$W/m.t" -n "$W/n.t" map
	kill "$SPID"
	wait 2>/dev/null
	PIDS=()
}

[ -x "$BIN" ] && [ -x "$MWGC" ] || { echo "build control/ first"; exit 1; }
case "$WHICH" in
sqlite) run_suite sqlite ;;
postgres) if start_pg; then run_suite postgres; else FAIL=$((FAIL + 1)); echo "FAIL: PostgreSQL setup"; fi ;;
all)
	run_suite sqlite
	run_https
	if start_pg; then run_suite postgres; else FAIL=$((FAIL + 1)); echo "FAIL: PostgreSQL setup"; fi
	;;
*) echo "usage: $0 [sqlite|postgres|all]"; exit 2 ;;
esac
echo "integration: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
