/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* When the daemon returns its heap (src/daemon/heap-trim.h): after the
 * count of workloads fell by HEAP_TRIM_MIN_DROP and to half its high
 * point, once, on the loop; never for a small drop or while the count
 * stays high. The memory figures themselves come from bench/run --scale. */

#include <glib.h>

#include "daemon-config.h"
#include "heap-trim.h"
#include "manager.h"

static Manager *manager_with_loop(Config *config) {
        Manager *m = NULL;

        config_init(config);
        g_assert_cmpint(manager_new(config, &m), ==, 0);
        g_assert_cmpint(sd_event_new(&m->event), >=, 0);
        return m;
}

/* Free one workload's worth: what workload_free() does to the count. */
static void release(Manager *m, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                m->n_workloads--;
                heap_trim_note_release(m);
        }
}

static void run_until_trimmed(Manager *m) {
        for (int i = 0; i < 100 && m->heap_trim_timer; i++)
                g_assert_cmpint(sd_event_run(m->event, 100000), >=, 0);
        g_assert_null(m->heap_trim_timer);
}

static void test_mass_release(void) {
        Config config;
        Manager *m = manager_with_loop(&config);

        m->n_workloads = 10000;
        /* A quarter gone: a drop, but the count is still above half. */
        release(m, 2500);
        g_assert_cmpuint(m->heap_high_water, ==, 10000);
        g_assert_null(m->heap_trim_timer);
        /* At half: armed, once. */
        release(m, 2500);
        g_assert_nonnull(m->heap_trim_timer);
        sd_event_source *armed = m->heap_trim_timer;
        release(m, 4000);
        g_assert_true(m->heap_trim_timer == armed);

        run_until_trimmed(m);
        /* The high point starts again where the trim left it. */
        g_assert_cmpuint(m->heap_high_water, ==, 1000);
        release(m, 900);
        g_assert_nonnull(m->heap_trim_timer);
        run_until_trimmed(m);
        g_assert_cmpuint(m->heap_high_water, ==, 100);

        manager_free(m);
        config_done(&config);
}

static void test_small_drops(void) {
        Config config;
        Manager *m = manager_with_loop(&config);

        /* All of a few hundred gone: less than the minimum drop. */
        m->n_workloads = HEAP_TRIM_MIN_DROP - 1;
        release(m, HEAP_TRIM_MIN_DROP - 1);
        g_assert_null(m->heap_trim_timer);

        /* Churn at a steady count: never. */
        for (unsigned i = 0; i < 10000; i++) {
                m->n_workloads++;
                release(m, 1);
        }
        g_assert_null(m->heap_trim_timer);

        manager_free(m);
        config_done(&config);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/heap-trim/mass-release", test_mass_release);
        g_test_add_func("/heap-trim/small-drops", test_small_drops);
        return g_test_run();
}
