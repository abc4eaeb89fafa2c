/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cap-ng.h>

#include "spawn-validate.h"

/* Read once; spawning threads may ask at the same time. */
static int last_cap;
static pthread_once_t last_cap_once = PTHREAD_ONCE_INIT;

static void last_cap_read(void) {
        FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
        int v = -1;

        if (f) {
                if (fscanf(f, "%d", &v) != 1)
                        v = -1;
                fclose(f);
        }
        last_cap = v < 0 || v > 63 ? CAP_LAST_CAP : v;
}

int capability_last_cap(void) {
        (void) pthread_once(&last_cap_once, last_cap_read);
        return last_cap;
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
