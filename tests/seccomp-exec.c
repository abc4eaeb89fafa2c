/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* seccomp-exec ERRNO CASE... -- PROGRAM [ARG...]
 *
 * Take the kernel primitives CASE (names of test_missing_cases[]:
 * clone3, clone-CLONE_PIDFD, pidfd_open, ...) away with a seccomp filter
 * answering ERRNO (ENOSYS or EPERM), then exec PROGRAM: the simulated
 * kernel the daemon-level matrix (test-kernel-matrix) starts pidbrokerd on.
 * Single-threaded, so libseccomp may allocate before the exec. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test-util.h"

int main(int argc, char *argv[]) {
        int err, i, r;

        if (argc < 4) {
                fprintf(stderr, "usage: %s ENOSYS|EPERM CASE... -- PROGRAM [ARG...]\n", argv[0]);
                return 2;
        }
        if (strcmp(argv[1], "ENOSYS") == 0)
                err = ENOSYS;
        else if (strcmp(argv[1], "EPERM") == 0)
                err = EPERM;
        else {
                fprintf(stderr, "seccomp-exec: unknown errno %s\n", argv[1]);
                return 2;
        }

        for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
                const TestMissingCase *c = test_missing_case_find(argv[i]);

                if (!c) {
                        fprintf(stderr, "seccomp-exec: unknown case %s\n", argv[i]);
                        return 2;
                }
                r = test_block_missing(c, err);
                if (r < 0) {
                        fprintf(stderr, "seccomp-exec: blocking %s: %s\n", argv[i], strerror(-r));
                        return 1;
                }
        }
        if (i + 1 >= argc) {
                fprintf(stderr, "seccomp-exec: no program after --\n");
                return 2;
        }

        execv(argv[i + 1], argv + i + 1);
        fprintf(stderr, "seccomp-exec: exec %s: %m\n", argv[i + 1]);
        return 127;
}
