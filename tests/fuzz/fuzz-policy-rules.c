/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The rules.d parser (pidbroker-rules(5)): the input is one rules file,
 * loaded against the project's own actions file. */

#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "fuzz.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char *rules_dir = NULL;
        const char *dirs[2] = { NULL, NULL };
        char *error = NULL;
        Policy *p = NULL;

        (void) fuzz_write_file("rules.d/fuzz.rules", data, size);
        if (!rules_dir && asprintf(&rules_dir, "%s/rules.d", fuzz_dir()) < 0)
                abort();
        dirs[0] = rules_dir;
        if (policy_load(&p, PIDBROKER_SOURCE_ROOT "/policy/org.pidbroker.policy", dirs, &error) >= 0)
                policy_free(p);
        free(error);
        return 0;
}
