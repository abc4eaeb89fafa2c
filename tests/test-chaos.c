/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A short run of pidbroker-chaos (src/tools): over a few hundred attempts
 * with recycled pids, the pidfd path sends no signal and reports no status
 * to the wrong process, and the run did real work: every attempt ran on both
 * paths, decoys took over freed numbers, and the legacy path, which had the
 * same chances, shows the harm each time a decoy held the number. */

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"

/* PIDBROKER_CHAOS_ATTEMPTS overrides it (the sanitizer run in .ci/run takes
 * fewer: every spawn there starts a sanitized program). */
#define CHAOS_ATTEMPTS 300
#define EXIT_CANNOT_RUN 77

/* The "name": {...} object of the tool's JSON output, as a key → value table. */
static GHashTable *json_object(const char *json, const char *name) {
        g_autofree char *pattern = g_strdup_printf("\"%s\": \\{([^}]*)\\}", name);
        g_autoptr(GRegex) object = g_regex_new(pattern, 0, 0, NULL);
        g_autoptr(GRegex) member = g_regex_new("\"([a-z_]+)\": ([0-9]+)", 0, 0, NULL);
        g_autoptr(GMatchInfo) m = NULL, mm = NULL;
        g_autofree char *body = NULL;
        GHashTable *table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        g_assert_true(g_regex_match(object, json, 0, &m));
        body = g_match_info_fetch(m, 1);
        g_regex_match(member, body, 0, &mm);
        while (g_match_info_matches(mm)) {
                g_autofree char *value = g_match_info_fetch(mm, 2);

                g_hash_table_insert(table, g_match_info_fetch(mm, 1),
                                    GUINT_TO_POINTER((unsigned) strtoul(value, NULL, 10)));
                g_match_info_next(mm, NULL);
        }
        return table;
}

static unsigned count(GHashTable *t, const char *key) {
        gpointer v;

        if (!g_hash_table_lookup_extended(t, key, NULL, &v))
                g_error("no \"%s\" in the chaos output", key);
        return GPOINTER_TO_UINT(v);
}

static void test_short_run(void) {
        TEST_REQUIRE_ROOT();
        const char *tool = g_getenv("PIDBROKER_CHAOS"), *env_attempts = g_getenv("PIDBROKER_CHAOS_ATTEMPTS");
        unsigned n = env_attempts ? (unsigned) strtoul(env_attempts, NULL, 10) : CHAOS_ATTEMPTS;
        g_autofree char *attempts = g_strdup_printf("%u", n);
        const char *argv[] = { tool, "--attempts", attempts, "--json", NULL };
        g_autofree char *out = NULL, *err = NULL;
        g_autoptr(GHashTable) pidfd = NULL, legacy = NULL;
        g_autoptr(GError) error = NULL;
        int status;

        g_assert_nonnull(tool);
        g_assert_cmpuint(n, >=, 2);
        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                                   &error));
        g_assert_no_error(error);
        g_test_message("pidbroker-chaos: %s%s", out, err);
        g_assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == EXIT_CANNOT_RUN) {
                g_test_skip(err);
                return;
        }

        pidfd = json_object(out, "pidfd");
        legacy = json_object(out, "legacy");

        /* The promise. */
        g_assert_cmpuint(count(pidfd, "wrong_target"), ==, 0);
        g_assert_cmpuint(count(pidfd, "wrong_status"), ==, 0);
        g_assert_cmpuint(count(pidfd, "status_lost"), ==, 0);
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);

        /* Real work: every attempt ran on both paths; every odd attempt lets
         * the workload be reaped before the terminate, so at least half had
         * their number freed, and decoys took it over. */
        g_assert_cmpuint(count(pidfd, "attempts"), ==, n);
        g_assert_cmpuint(count(legacy, "attempts"), ==, n);
        g_assert_cmpuint(count(pidfd, "reuse_opportunities"), >=, n / 2);
        g_assert_cmpuint(count(legacy, "reuse_opportunities"), >=, n / 2);
        g_assert_cmpuint(count(pidfd, "decoy_hits"), >, 0);
        g_assert_cmpuint(count(legacy, "decoy_hits"), >, 0);

        /* Where a decoy held the number, the pidfd saw the workload gone... */
        g_assert_cmpuint(count(pidfd, "target_gone"), >=, count(pidfd, "decoy_hits"));
        /* ...and the bare pid hit the decoy and reaped its status, each time. */
        g_assert_cmpuint(count(legacy, "wrong_target"), ==, count(legacy, "decoy_hits"));
        g_assert_cmpuint(count(legacy, "wrong_status"), ==, count(legacy, "decoy_hits"));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/chaos/short-run", test_short_run);
        return g_test_run();
}
