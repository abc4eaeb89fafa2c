/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The polkit .policy reader (libexpat): the input is the actions file. */

#include <stdlib.h>

#include "fuzz.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *path = fuzz_write_file("fuzz.policy", data, size);
        const char *no_dirs[] = { NULL };
        char *error = NULL;
        Policy *p = NULL;

        if (policy_load(&p, path, no_dirs, &error) >= 0)
                policy_free(p);
        free(error);
        return 0;
}
