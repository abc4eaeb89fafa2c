/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.pidbroker.manage in front of the object tree (manage-gate.c): calls on
 * another user's workload and listings that would show one are decided by
 * policy before sd-bus dispatches them. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "manager.h"

/* Install the gate on a connection (the system bus, each direct one). */
int manage_gate_attach(Manager *m, sd_bus *bus);

/* While the current message of bus is dispatched: whether manage allowed it
 * (and by which rule). False for any message the gate did not decide. */
bool manage_gate_allows(Manager *m, sd_bus *bus, const char **ret_rule);

/* After each dispatch: the decision of the message is forgotten. */
void manage_gate_reset(Manager *m);
/* At shutdown: parked decisions and their messages. */
void manage_gate_free_all(Manager *m);
