/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Spawn(aay argv, a{ss} env, a{uh} fds, a{sv} options) read off the message
 * into owned storage, with the checks that need no policy: types of every
 * option (an unknown key or a wrong variant type is an error, never ignored),
 * env names, embedded NULs, and the size and fd limits. The fds stay owned
 * by the message. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "daemon-config.h"
#include "spawn.h"

typedef struct SpawnArgs {
        char **argv;
        char **env;
        FdMapping *fds;
        size_t n_fds;

        char *cwd;
        bool has_user, has_group, has_groups;
        uid_t user;
        gid_t group;
        gid_t *groups;
        size_t n_groups;
        uint64_t namespaces;
        IdMapping *uid_map, *gid_map;
        size_t n_uid_map, n_gid_map;
        char *hostname;
        uint64_t capabilities;
        bool has_no_new_privileges, no_new_privileges;
        char *seccomp;           /* NULL: "default" */
        bool watch_client;
        bool has_stop_timeout;
        uint64_t stop_timeout_usec;
        int cgroup_fd;           /* owned by the message */
        int exe_fd;              /* owned by the message */
        bool has_umask;
        mode_t umask;
        bool has_setsid, setsid;
} SpawnArgs;

#define SPAWN_ARGS_NULL ((SpawnArgs) { .cgroup_fd = -EBADF, .exe_fd = -EBADF })

void spawn_args_done(SpawnArgs *a);

int spawn_args_parse(sd_bus_message *m, const Config *config, SpawnArgs *ret, sd_bus_error *error);
