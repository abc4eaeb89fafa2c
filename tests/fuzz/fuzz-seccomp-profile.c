/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The seccomp profile parser and compiler (src/spawn/seccomp-profile.c):
 * the input is one profile file. */

#include "fuzz.h"
#include "seccomp-profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SeccompProfile *sp = NULL;
        unsigned line;

        (void) fuzz_write_file("fuzz.seccomp", data, size);
        if (seccomp_profile_load(fuzz_dir(), "fuzz", &sp, &line) >= 0)
                seccomp_profile_free(sp);
        return 0;
}
