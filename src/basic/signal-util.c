/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signal-util.h"

/* Decimal digits only, no sign, no blanks: strtoul() would take " -1". */
static int parse_small_uint(const char *s, int max) {
        unsigned long v;
        char *end;

        if (s[0] < '0' || s[0] > '9' || strspn(s, "0123456789") != strlen(s))
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || v > (unsigned long) max)
                return -EINVAL;
        return (int) v;
}

int signal_from_string(const char *s) {
        const char *name;
        int n;

        if (!s || !*s)
                return -EINVAL;
        name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
        /* "SIG32" is what signal_to_string() prints for a number without a name. */
        if (name[0] >= '0' && name[0] <= '9')
                return parse_small_uint(name, _NSIG - 1);

        /* RTMIN+n / RTMAX-n, as kill(1) spells them. */
        if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
                bool min = strncasecmp(name, "RTMIN", 5) == 0;
                const char *rest = name + 5;

                if (*rest == '\0')
                        return min ? SIGRTMIN : SIGRTMAX;
                if (*rest != (min ? '+' : '-'))
                        return -EINVAL;
                n = parse_small_uint(rest + 1, SIGRTMAX - SIGRTMIN);
                if (n < 0)
                        return n;
                return min ? SIGRTMIN + n : SIGRTMAX - n;
        }

        for (int sig = 1; sig < SIGRTMIN; sig++) {
                const char *abbrev = sigabbrev_np(sig);

                if (abbrev && strcasecmp(abbrev, name) == 0)
                        return sig;
        }
        return -EINVAL;
}

const char *signal_to_string(int sig, char *buf, size_t size) {
        const char *abbrev = sig > 0 && sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;

        if (sig == 0)
                snprintf(buf, size, "0");
        else if (abbrev)
                snprintf(buf, size, "SIG%s", abbrev);
        else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
                snprintf(buf, size, "SIGRTMIN+%d", sig - SIGRTMIN);
        else
                snprintf(buf, size, "SIG%d", sig);
        return buf;
}
