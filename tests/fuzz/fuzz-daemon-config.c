/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The configuration file parser (pidbroker.conf(5)): the input is the
 * file, read as pidbrokerd --config=FILE reads it. It is refused with an
 * error, or accepted with every limit at least 1 and every path set. */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon-config.h"
#include "fuzz.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *path = fuzz_write_file("pidbroker.conf", data, size);
        char arg[PATH_MAX + 16];
        char *argv[] = { (char *) "pidbrokerd", arg, NULL };
        Config c;
        int r;

        /* Refusals are logged at error level: not here. */
        log_setup(LOG_TARGET_STDERR, LOG_EMERG);
        snprintf(arg, sizeof arg, "--config=%s", path);
        config_init(&c);
        r = config_parse_argv(&c, 2, argv);
        if (r > 0)
                abort(); /* --help and --version only */
        if (r == 0 && (!c.audit_log || !c.private_socket || !c.default_seccomp_profile || c.max_fds_per_call == 0 ||
                       c.max_workloads_per_user == 0 || c.max_waiters_per_workload == 0 ||
                       c.max_pending_per_connection == 0 || c.max_pending_per_user == 0 ||
                       c.max_blocking_per_user == 0 || c.max_blocking == 0 || c.max_connections_per_user == 0))
                abort();
        config_done(&c);
        return 0;
}
