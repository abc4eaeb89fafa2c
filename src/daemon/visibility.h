/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who sees which workload. The owner sees its own; anyone else only where
 * org.pidbroker.manage allows it, and a workload the caller may not see
 * answers exactly as one that does not exist: sd-bus itself answers, from
 * the same lookup that finds nothing for an unknown id.
 *
 * sd-bus looks objects up through synchronous callbacks, but a polkit answer
 * comes later; so manage is asked in front of the object tree, by a filter
 * that sees each method call before it is dispatched, through the request
 * pipeline (request.h): an answer not yet in holds the message back, and it
 * is dispatched again once decided. A call on another user's workload that
 * manage denies is recorded as a denial; a listing (GetManagedObjects, the
 * workload folder's Introspect) just shows the caller's own. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "manager.h"

int visibility_attach(Manager *m, sd_bus *bus);

/* Whether the caller of the message being dispatched on bus sees w. */
bool workload_visible(Manager *m, sd_bus *bus, const Workload *w);
