/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared helpers for the GTest programs. Tests skip with a reason (never
 * pass silently) when they need root or a kernel feature the machine lacks. */

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "feature.h"

/* g_test_skip() + return from the calling test when not root. */
#define TEST_REQUIRE_ROOT()                                                 \
        do {                                                                \
                if (geteuid() != 0) {                                       \
                        g_test_skip("needs root");                          \
                        return;                                             \
                }                                                           \
        } while (0)

#define TEST_REQUIRE_FEATURE(f)                                             \
        do {                                                                \
                if (!feature_available(f)) {                                \
                        g_autofree char *_why = g_strdup_printf(            \
                                "kernel lacks %s: %s", feature_name(f),     \
                                feature_detail(f));                         \
                        g_test_skip(_why);                                  \
                        return;                                             \
                }                                                           \
        } while (0)

/* Path of tests/test-helper (the program spawned children run). */
const char *test_helper_path(void);

/* Read everything from fd until EOF (fd is not closed). */
char *test_read_all(int fd);

/* Number of open fds of this process (from /proc/self/fd). */
unsigned test_count_open_fds(void);

/* Run fn in a forked child and return its wait status; the child's exit code
 * is fn's return value. For tests that install seccomp filters or change
 * namespaces without touching the test process. */
int test_run_in_child(int (*fn)(void *userdata), void *userdata);

/* Install a seccomp filter in the calling process that answers the given
 * syscall numbers with errno (ENOSYS or EPERM). clone_flag_mask, when not 0,
 * makes clone(2) fail only when (flags & mask) != 0. Returns 0 or -errno. */
int test_block_syscalls(const int *nrs, size_t n, int err, unsigned long clone_flag_mask);
