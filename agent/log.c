// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwgd's stderr log (log.h). */

#include "log.h"

#include "escape.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum log_level level = LOG_INFO_;
static const char *const names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level l)
{
	level = l;
}

enum log_level log_get_level(void)
{
	return level;
}

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s && !strcmp(s, names[i]))
			return i;
	return -1;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	char text[1024], line[1200];
	va_list ap;
	int n;

	if (l < level)
		return;
	n = snprintf(line, sizeof(line), "meshwgd[%d]: %s: ", (int)getpid(), names[l]);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* Server replies, names and errors end up here: a newline or an escape
	 * sequence in them must not make a second line or reach a terminal. */
	esc_text(line + n, sizeof(line) - (size_t)n, text);
	/* One write per line so concurrent writers do not interleave. */
	n = (int)strlen(line);
	line[n < (int)sizeof(line) - 1 ? n : (int)sizeof(line) - 2] = '\n';
	line[n < (int)sizeof(line) - 1 ? n + 1 : (int)sizeof(line) - 1] = '\0';
	fputs(line, stderr);
	fflush(stderr);
}
