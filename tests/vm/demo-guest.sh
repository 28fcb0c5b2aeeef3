# SPDX-License-Identifier: GPL-2.0
# Inside the VM, sourced by run.sh --cmd (lib.sh already sourced): the demo
# of tests/vm/demo.sh. Three nodes join a tailnet with `meshwg up`.
say() { printf '\n$ %s\n' "$*"; }
die() {
	echo
	echo "demo: FAILED: $*"
	local f
	for f in "$MESH_DIR"/n?.log "$MESH_DIR/server.log"; do
		[ -f "$f" ] && { echo "---- $(basename "$f") (last 15 lines)"; tail -n 15 "$f"; }
	done
	mesh_teardown
	unload_meshwg
	exit 1
}
mesh_init /tmp/demo || die "cannot create /tmp/demo"
_probe_agent
[ -z "$AGENT_MISSING" ] || die "$AGENT_MISSING"

say "modprobe meshwg"
modprobe meshwg || die "modprobe meshwg"
topology 1 2 3 || die "cannot build the namespaces"
echo "namespaces: ctl (10.9.0.254), n1 (10.9.0.1), n2 (10.9.0.2), n3 (10.9.0.3) on one bridge"

server_config "{\"type\": \"sqlite\", \"path\": \"$MESH_DIR/control.db\"}"
for n in 1 2 3; do
	say "meshwg-control users create user$n; meshwg-control preauthkeys create --user user$n"
	ctl users create "user$n" || die "users create"
	ctl preauthkeys create --user "user$n" >"$MESH_DIR/key$n" || die "preauthkeys create"
	cat "$MESH_DIR/key$n"
done
say "[ctl] meshwg-control serve   (listening on $URL)"
start_server || die "the control server did not start"

for n in 1 2 3; do
	say "[n$n] meshwgd &"
	start_daemon "$n" || die "meshwgd did not start on n$n"
	say "[n$n] meshwg up --login-server $URL --auth-key <key of user$n> --hostname n$n"
	up "$n" "$(cat "$MESH_DIR/key$n")" || die "meshwg up on n$n"
	learn "$n" >/dev/null || die "n$n has no tailnet address"
done

# Wait (bounded) until n1 knows both others.
retry 30 st 1 'hosts() == ["n2", "n3"]' 2>/dev/null || die "n1 does not see n2 and n3"
for n in 2 3; do
	say "[n1] ping -c 3 ${A4[$n]}   (n$n)"
	retry 20 pings 1 "$n" || die "n1 cannot reach n$n"
	inn 1 ping -c 3 -W 5 "${A4[$n]}" || die "ping n$n"
	say "[n1] ping -6 -c 2 ${A6[$n]}   (n$n)"
	inn 1 ping -6 -c 2 -W 5 "${A6[$n]}" || die "ping -6 n$n"
done
say "[n1] meshwg status"
mw 1 status || die "meshwg status"
say "[n1] meshwg whois ${A4[2]}"
mw 1 whois "${A4[2]}" || die "meshwg whois"

for n in 1 2 3; do stop_daemon "$n" >/dev/null || die "meshwgd on n$n did not stop"; done
stop_server || die "the control server did not stop"
mesh_teardown
unload_meshwg || die "rmmod meshwg"
echo
echo "demo: three nodes joined with meshwg up and reached each other over meshwg.ko"
