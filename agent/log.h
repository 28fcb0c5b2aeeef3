/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * meshwgd's log: one line per event on stderr, "meshwgd[PID]: LEVEL: text",
 * which journald stores with the unit. The level is set from the command
 * line or the config file (and changes on SIGHUP).
 */
#ifndef MESHWGD_LOG_H
#define MESHWGD_LOG_H

enum log_level { LOG_DEBUG_ = 0, LOG_INFO_ = 1, LOG_WARN_ = 2, LOG_ERROR_ = 3 };

void log_set_level(enum log_level l);
enum log_level log_get_level(void);
/* "debug", "info", "warn", "error" -> level; -1 on anything else. */
int log_level_parse(const char *s);
void log_msg(enum log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG_, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO_, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN_, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR_, __VA_ARGS__)

#endif
