#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# meshwgd's kernel side (agent/kern*.c) against the real module: link,
# addresses, routes, peers by difference, filter, events, 10,000 peers.
# The checks live with their test program in tests/unit/agent/ (kern_vm.sh,
# kern_try, built by `make vm` on the host).
. "$REPO/tests/unit/agent/kern_vm.sh"
