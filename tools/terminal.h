/* SPDX-License-Identifier: GPL-2.0 OR MIT */
#ifndef MESHWG_TERMINAL_H
#define MESHWG_TERMINAL_H

#define TERMINAL_RESET "\x1b[0m"
#define TERMINAL_BOLD "\x1b[1m"
#define TERMINAL_FG_RED "\x1b[31m"
#define TERMINAL_FG_GREEN "\x1b[32m"
#define TERMINAL_FG_YELLOW "\x1b[33m"
#define TERMINAL_FG_CYAN "\x1b[36m"

/*
 * printf to stdout that keeps the colour sequences only when colours are on:
 * MESHWG_COLOR_MODE (or WG_COLOR_MODE) = always | never | auto; auto means
 * stdout is a terminal and TERM is not "dumb".
 */
void terminal_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
