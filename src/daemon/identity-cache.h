/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who a bus connection is, asked of the bus once per connection instead of
 * once per call. Sound because what is cached cannot change while the
 * connection lives: a unique name is never reused on a bus, the uid and
 * groups the bus reports are those of the connection, fixed when it
 * authenticated, and the process is held by its pidfd (a cached caller
 * whose process has exited is dropped and asked again, which then fails
 * the way a fresh query would). An entry goes when the bus says the name
 * has gone (NameOwnerChanged). What can change — the caller's user
 * namespace and comm — is not cached: CallerFacts are read per request (the
 * comm through the process's /proc file, kept open: Caller.comm_fd). Its
 * pid namespace cannot change, and is read once (Caller.pidns). */

#include <stddef.h>

#include "caller.h"

typedef struct IdentityCache IdentityCache;

int identity_cache_new(size_t max, IdentityCache **ret);
IdentityCache *identity_cache_free(IdentityCache *c);

/* The caller of sender as first identified, or NULL. */
const Caller *identity_cache_get(IdentityCache *c, const char *sender);
/* Keep a copy of caller for sender. At max entries, the cache starts over. */
int identity_cache_put(IdentityCache *c, const char *sender, const Caller *caller);
void identity_cache_drop(IdentityCache *c, const char *sender);
