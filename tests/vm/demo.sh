#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`: boots a VM and runs a three-node meshwg tailnet in it.
case "${1:-}" in
-h|--help)
	cat <<'USAGE'
NAME
    tests/vm/demo.sh - a three-node meshwg tailnet in a VM

SYNOPSIS
    tests/vm/demo.sh [--kernel 6.1|6.12]

DESCRIPTION
    Boots a VM with tests/vm/run.sh (default kernel 6.1). Inside it, four
    network namespaces share one bridge (10.9.0.0/24): "ctl" runs the
    coordination server, meshwg-control, on 10.9.0.254:8080 (SQLite), and
    n1, n2, n3 each run the node agent, meshwgd. The demo loads meshwg.ko,
    creates a user and a pre-auth key per node with the admin CLI, runs
    `meshwg up --login-server http://10.9.0.254:8080 --auth-key KEY
    --hostname nN` on every node, then prints `meshwg status` of n1 and
    pings n2 and n3 from n1 by their tailnet IPv4 and IPv6 addresses,
    printing the commands and their output. The nodes found each other
    through the control server only: nobody configured a peer by hand.

    Exits non-zero if any step fails (the failing step's output, and the
    daemon and server logs, are printed).

    Needs root, qemu-system-x86_64 and the built tree: `make demo` builds
    tools, agent and control first.

SEE ALSO
    tests/vm/README.md, tests/vm/suites/mesh.sh (the same mesh, tested),
    docs/agent.md, docs/protocol.md
USAGE
	exit 0 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
KERNEL=6.1
if [ "${1:-}" = --kernel ] && [ -n "${2:-}" ]; then KERNEL=$2; shift 2; fi
[ $# = 0 ] || { echo "demo.sh: unexpected argument '$1' (see --help)" >&2; exit 2; }
exec "$HERE/run.sh" --kernel "$KERNEL" --cmd ". \"\$REPO/tests/vm/demo-guest.sh\""
