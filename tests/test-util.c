/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Shared helpers for the GTest programs (contract in test-util.h). Anything
 * printed here goes to stderr or g_test_message(): stdout carries TAP. */

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"

const char *test_helper_path(void) {
        static char *path = NULL;
        const char *e;

        /* meson.build sets PIDBROKER_TEST_HELPER; fall back to the build dir
         * so a test program run by hand still finds the helper beside it. */
        e = getenv("PIDBROKER_TEST_HELPER");
        if (e && *e)
                return e;

        if (!path)
                path = g_test_build_filename(G_TEST_BUILT, "test-helper", NULL);
        return path;
}

/* Returns a g_malloc'ed NUL-terminated string, or NULL with errno set when
 * read() fails. A non-blocking fd is waited for with poll(). */
char *test_read_all(int fd) {
        g_autoptr(GString) s = g_string_new(NULL);
        char buf[4096];

        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd p = { .fd = fd, .events = POLLIN };
                                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                                        return NULL;
                                continue;
                        }
                        return NULL;
                }
                if (n == 0)
                        break;
                g_string_append_len(s, buf, n);
        }

        return g_string_free(g_steal_pointer(&s), FALSE);
}

unsigned test_count_open_fds(void) {
        DIR *d;
        struct dirent *de;
        unsigned n = 0;

        d = opendir("/proc/self/fd");
        if (!d)
                g_error("opendir(/proc/self/fd): %s", g_strerror(errno));

        while ((de = readdir(d))) {
                char *end;
                long fd;

                if (de->d_name[0] == '.')
                        continue;
                fd = strtol(de->d_name, &end, 10);
                if (*end != '\0' || fd == dirfd(d))
                        continue;
                n++;
        }

        closedir(d);
        return n;
}

/* Returns the wait status (>= 0), or -errno if fork() or waitpid() failed. */
int test_run_in_child(int (*fn)(void *userdata), void *userdata) {
        pid_t pid;
        int status;

        /* The child leaves with _exit() and never flushes stdio, but flush
         * anyway so that nothing buffered can reach stdout (TAP) twice. */
        fflush(stdout);
        fflush(stderr);

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                _exit(fn(userdata) & 0xff);

        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return -errno;
        }
        return status;
}

int test_block_syscalls(const int *nrs, size_t n, int err, unsigned long clone_flag_mask) {
        scmp_filter_ctx ctx;
        bool clone_blocked = false;
        int r;

        if (err < 0)
                err = -err;

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;

        /* Loading a filter unprivileged needs no_new_privs; it is libseccomp's
         * default, set it explicitly so the test does not depend on that. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
        if (r < 0)
                goto finish;

        for (size_t i = 0; i < n; i++) {
                if (nrs[i] == SCMP_SYS(clone))
                        clone_blocked = true;
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nrs[i], 0);
                if (r < 0)
                        goto finish;
        }

        /* clone(2)'s first argument is the flags word on x86-64 and most
         * architectures. SCMP_CMP_MASKED_EQ with (bit, bit) matches when
         * that bit is set; one rule per bit makes "flags & mask != 0".
         * An unconditional clone rule above already covers every case. */
        if (clone_flag_mask != 0 && !clone_blocked)
                for (unsigned b = 0; b < sizeof(clone_flag_mask) * 8; b++) {
                        scmp_datum_t bit = (scmp_datum_t) 1 << b;

                        if (!(clone_flag_mask & bit))
                                continue;
                        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), SCMP_SYS(clone), 1,
                                             SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit));
                        if (r < 0)
                                goto finish;
                }

        r = seccomp_load(ctx);

finish:
        seccomp_release(ctx);
        return r < 0 ? r : 0;
}
