/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Seccomp profiles: text files under policy/seccomp/ (installed to
 * <datadir>/pidbroker/seccomp/), compiled with libseccomp in the parent into
 * a BPF program the post-clone child loads with one syscall. Denied syscalls
 * fail with ENOSYS, so a workload takes its fallback instead of failing hard.
 *
 * Format, one directive per line, '#' starts a comment:
 *   default allow|deny     what happens to syscalls not listed (once, first)
 *   allow NAME             run NAME
 *   deny NAME              NAME fails with ENOSYS
 * Names libseccomp does not know are skipped with a debug note, so a profile
 * can name syscalls newer than the library. */

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SeccompProfile {
        char *name;
        struct sock_fprog prog; /* filter.len instructions at prog.filter */
        /* Denies nothing a spawning thread or its child calls before exec:
         * the filter may go on the thread, for its children to be born
         * under (spawn_thread_take_filter()). */
        bool inheritable;
        uint64_t digest;        /* of prog, never 0: names the threads under it */
} SeccompProfile;

/* Load <dir>/<name>.seccomp. -ENOENT for an unknown profile, -EINVAL with
 * *ret_line set for a malformed line. "none" is not a file: callers treat it
 * as "no filter" before asking here. */
int seccomp_profile_load(const char *dir, const char *name, SeccompProfile **ret, unsigned *ret_line);
void seccomp_profile_free(SeccompProfile *p);
static inline void seccomp_profile_freep(SeccompProfile **p) {
        if (*p)
                seccomp_profile_free(*p);
}
#define _cleanup_seccomp_profile_ _cleanup_(seccomp_profile_freep)

/* Where profiles live: $PIDBROKER_SECCOMP_DIR if set (tests), else the
 * installed directory. */
const char *seccomp_profile_dir(void);
