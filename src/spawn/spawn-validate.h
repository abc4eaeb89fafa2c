/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one validator of each Spawn input that has a name: the daemon's
 * argument parser and the spawn engine call these. Environment names are
 * env_name_is_valid() (src/basic/env-util.h, which the client uses too);
 * namespace names are namespace_from_name() (src/pidfd/namespace.h). */

#include "env-util.h"

/* "CAP_NET_ADMIN", "cap_net_admin" or "net_admin" (any case) → the
 * capability number; -EINVAL for a name this kernel does not know. */
int capability_from_name(const char *name);
/* The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap). */
int capability_last_cap(void);
