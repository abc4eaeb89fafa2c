/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pidbrokerd: read the configuration, probe the kernel, serve. */

#include <stdio.h>
#include <stdlib.h>

#include "daemon-config.h"
#include "feature.h"
#include "legacy.h"
#include "log.h"
#include "manager.h"

static void print_features(void) {
        for (Feature f = 0; f < _FEATURE_MAX; f++)
                printf("%-24s %-3s %s\n", feature_name(f), feature_available(f) ? "yes" : "no",
                       feature_detail(f) ?: "");
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Config config;
        int r;

        log_setup(LOG_TARGET_AUTO, -1);
        config_init(&config);

        r = config_parse_argv(&config, argc, argv);
        if (r != 0) {
                config_done(&config);
                return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        }
        log_setup(config.log_target, config.log_level);

        feature_probe_all();

        if (config.show_features) {
                print_features();
                config_done(&config);
                return EXIT_SUCCESS;
        }

        for (Feature f = 0; f < _FEATURE_MAX; f++)
                log_debug("feature %s: %s (%s)", feature_name(f), feature_available(f) ? "yes" : "no",
                          feature_detail(f) ?: "");

        r = manager_new(&config, &m);
        if (r >= 0)
                r = manager_start(m);
        if (r >= 0)
                r = manager_run(m);

        m = manager_free(m);
        config_done(&config);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
