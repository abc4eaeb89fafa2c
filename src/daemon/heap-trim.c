/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <malloc.h>

#include "heap-trim.h"
#include "log.h"
#include "manager.h"

static int on_heap_trim(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int released = malloc_trim(0);

        log_debug("Heap trimmed at %u workloads (high point %u): %s.", m->n_workloads, m->heap_high_water,
                  released ? "memory returned" : "nothing to return");
        m->heap_high_water = m->n_workloads;
        m->heap_trim_timer = sd_event_source_disable_unref(m->heap_trim_timer);
        return 0;
}

void heap_trim_after_start(void) {
        int released = malloc_trim(0);

        log_debug("Heap trimmed after start-up: %s.", released ? "memory returned" : "nothing to return");
}

void heap_trim_note_release(Manager *m) {
        int r;

        /* The count before this release may be a new high point. */
        if (m->n_workloads + 1 > m->heap_high_water)
                m->heap_high_water = m->n_workloads + 1;
        if (m->heap_trim_timer || !m->event || m->heap_high_water - m->n_workloads < HEAP_TRIM_MIN_DROP ||
            m->n_workloads > m->heap_high_water / 2)
                return;
        r = sd_event_add_time_relative(m->event, &m->heap_trim_timer, CLOCK_MONOTONIC, HEAP_TRIM_DELAY_USEC, 0,
                                       on_heap_trim, m);
        if (r < 0)
                log_debug_errno(r, "Failed to arm the heap trim timer, not trimming: %m");
}

void heap_trim_done(Manager *m) {
        m->heap_trim_timer = sd_event_source_disable_unref(m->heap_trim_timer);
}
