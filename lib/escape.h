/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Text from others (the control server, peers' names, HTTP error bodies)
 * made safe for a terminal or a log line: the one escaping helper of the
 * CLI and meshwgd.
 */
#ifndef MESHWG_ESCAPE_H
#define MESHWG_ESCAPE_H

#include <stddef.h>
#include <cjson/cJSON.h>

/*
 * Copies in to out (always NUL-terminated when outlen > 0) with every
 * control character escaped: bytes below 0x20 and 0x7f as \xNN, the C1
 * controls U+0080..U+009F as \u00NN, and bytes that are not valid UTF-8 as
 * \xNN. Everything else, including valid UTF-8, is kept. An escape or a
 * character is never cut in half. Returns the length written.
 */
size_t esc_text(char *out, size_t outlen, const char *in);
/* Nonzero when esc_text would change s. */
int esc_needed(const char *s);
/* Escapes every string value in j, in place (members, array items, nested). */
void esc_json_strings(cJSON *j);

#endif
