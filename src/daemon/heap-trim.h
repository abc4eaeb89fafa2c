/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Memory back to the system after a mass release. glibc keeps what freed
 * workloads held in its heap (top-of-heap trimming alone rarely fires when
 * small allocations of live objects sit above the freed ones), so a daemon
 * that once held 10,000 workloads would keep their RSS for good. Once the
 * count of workloads has fallen by HEAP_TRIM_MIN_DROP and to half its high
 * point, malloc_trim(0) runs a second later, on the loop, once. */

typedef struct Manager Manager;

#define HEAP_TRIM_MIN_DROP 256u
#define HEAP_TRIM_DELAY_USEC 1000000ULL

/* Once start-up is over: what parsing the configuration, the policy and
 * the seccomp profiles (libseccomp's compiler) used and freed goes back to
 * the system, so an idle daemon holds only what it keeps. */
void heap_trim_after_start(void);

/* After a workload was freed (m->n_workloads already lowered). */
void heap_trim_note_release(Manager *m);
/* In manager_free(). */
void heap_trim_done(Manager *m);
