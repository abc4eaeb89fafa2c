/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Signal names, one parser for the client, the rules parser and the daemon. */

#include <stddef.h>

/* Enough for "SIGRTMIN+30" and "SIG64". */
#define SIGNAL_STRING_MAX 16

/* "TERM", "SIGTERM" (any case), "15", "SIG15", "RTMIN", "SIGRTMIN+3", "RTMAX-1" → the
 * number; -EINVAL otherwise. "0" is signal 0 (a liveness probe, as kill -0):
 * callers that cannot use it refuse it themselves. */
int signal_from_string(const char *s);

/* "SIGTERM", "SIGRTMIN+2", "0" for signal 0, "SIG99" for a number with no
 * name; buf needs SIGNAL_STRING_MAX bytes. */
const char *signal_to_string(int sig, char *buf, size_t size);
