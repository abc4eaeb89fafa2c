/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Network namespaces made ahead of demand. Creating one costs the kernel
 * about half a millisecond (every pernet subsystem sets up its part), on the
 * path of a Spawn that asks for one; a child joins a ready one with setns()
 * instead. The pool is a handful of nsfs fds and nothing else: no holder
 * process, no memory of ours. Each namespace leaves the pool once, to one
 * child, and nobody has entered it before: it is as fresh as one the child
 * would have made, with only lo, down. It is filled after the first Spawn
 * that wants one, never at idle start-up. */

#include <stddef.h>
#include <stdint.h>

/* How many the pool keeps ready: enough for back-to-back spawns, which
 * each refill it after their clone. */
#define NETNS_POOL_SIZE 2

/* Take a ready namespace: its nsfs fd (O_CLOEXEC, now the caller's) and
 * id. -EAGAIN when there is none. */
int netns_pool_take(int *ret_fd, uint64_t *ret_id);

/* Make namespaces until NETNS_POOL_SIZE are ready. The number made, or
 * -errno when none could be (then spawns create their own). */
int netns_pool_fill(void);

/* Close every ready namespace. */
void netns_pool_drain(void);

/* How many are ready, and their ids (up to n of them into ret). */
size_t netns_pool_count(void);
size_t netns_pool_ids(uint64_t *ret, size_t n);
