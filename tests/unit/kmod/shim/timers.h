/* SPDX-License-Identifier: GPL-2.0 */
/* Test stand-in for kmod/timers.h: the one helper the core uses. */
#ifndef SHIM_TIMERS_H
#define SHIM_TIMERS_H
#include "kernel.h"

static inline bool mwg_birthdate_has_expired(u64 birthday_nanoseconds,
					     u64 expiration_seconds)
{
	return (s64)(birthday_nanoseconds + expiration_seconds * NSEC_PER_SEC)
		<= (s64)ktime_get_coarse_boottime_ns();
}
#endif
