// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Colours on terminals only. */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "terminal.h"

static bool color_mode(void)
{
	static int mode = -1;
	const char *var, *term;

	if (mode >= 0)
		return mode;
	var = getenv("MESHWG_COLOR_MODE");
	if (!var)
		var = getenv("WG_COLOR_MODE");
	if (var && !strcmp(var, "always"))
		mode = 1;
	else if (var && !strcmp(var, "never"))
		mode = 0;
	else {
		term = getenv("TERM");
		mode = isatty(fileno(stdout)) && term && strcmp(term, "dumb");
	}
	return mode;
}

static void print_stripped(const char *s)
{
	while (*s) {
		if (s[0] == '\x1b' && s[1] == '[') {
			s += 2;
			while (*s && *s != 'm')
				++s;
			if (*s)
				++s;
			continue;
		}
		putchar(*s++);
	}
}

void terminal_printf(const char *fmt, ...)
{
	char stackbuf[1024], *buf = stackbuf;
	va_list ap;
	int len;

	va_start(ap, fmt);
	if (color_mode()) {
		vprintf(fmt, ap);
		va_end(ap);
		return;
	}
	len = vsnprintf(stackbuf, sizeof(stackbuf), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(stackbuf)) {
		buf = malloc((size_t)len + 1);
		if (!buf) {
			print_stripped(stackbuf); /* truncated, rather than nothing */
			return;
		}
		va_start(ap, fmt);
		vsnprintf(buf, (size_t)len + 1, fmt, ap);
		va_end(ap);
	}
	print_stripped(buf);
	if (buf != stackbuf)
		free(buf);
}
