// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Argument conventions shared by every verb (and linked into meshwgd). */

#include <string.h>

#include "subcommands.h"

bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "help");
}
