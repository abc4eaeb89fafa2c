/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cap-ng.h>

#include "spawn-validate.h"

int capability_last_cap(void) {
        static int cached = -1;
        FILE *f;

        if (cached >= 0)
                return cached;
        f = fopen("/proc/sys/kernel/cap_last_cap", "re");
        if (f) {
                if (fscanf(f, "%d", &cached) != 1)
                        cached = -1;
                fclose(f);
        }
        if (cached < 0 || cached > 63)
                cached = CAP_LAST_CAP;
        return cached;
}

int capability_from_name(const char *name) {
        char lower[64];
        size_t len;
        int cap;

        if (!name)
                return -EINVAL;
        if (strncasecmp(name, "cap_", 4) == 0)
                name += 4;
        len = strlen(name);
        if (len == 0 || len >= sizeof lower)
                return -EINVAL;
        /* libcap-ng knows the lower-case names only. */
        for (size_t i = 0; i <= len; i++)
                lower[i] = (char) tolower((unsigned char) name[i]);
        cap = capng_name_to_capability(lower);
        if (cap < 0 || cap > capability_last_cap())
                return -EINVAL;
        return cap;
}
