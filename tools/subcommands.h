/* SPDX-License-Identifier: GPL-2.0 OR MIT */
#ifndef MESHWG_SUBCOMMANDS_H
#define MESHWG_SUBCOMMANDS_H

#include <stdbool.h>

/* "meshwg wg" or "meshwg", for messages. */
extern const char *PROG_NAME;

bool is_help(const char *arg);

int wg_main(int argc, char *argv[]);
int show_main(int argc, char *argv[]);
int showconf_main(int argc, char *argv[]);
int set_main(int argc, char *argv[]);
int setconf_main(int argc, char *argv[]);
int genkey_main(int argc, char *argv[]);
int pubkey_main(int argc, char *argv[]);
int debug_main(int argc, char *argv[]);
int filter_main(int argc, char *argv[]);

#endif
