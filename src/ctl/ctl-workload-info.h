/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The org.pidbroker.Workload1 properties, read into one struct, and their
 * two renderings: the --json object and the human table row / status block.
 *
 * The --json workload object (list: an array of them; status: one; monitor:
 * inside "new" events) is a stable interface; add keys, never change one:
 *   {"id": u64, "path": "/org/pidbroker/Broker1/workload/<id>", "pid": u32,
 *    "argv": [string...], "owner_uid": u32, "user": u32,
 *    "state": "running" | "exited",
 *    "exit": null | {"code": "exited" | "killed" | "dumped", "status": int},
 *    "namespaces": {"<type>": u64 nsfs inode, ...}, "created_usec": u64,
 *    "control_path": "pidfd" | "legacy_pid"}
 * A property the broker did not report is null ("argv" [] and "namespaces" {}). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

typedef struct NamespaceInfo {
        char *type;
        uint64_t inode;
} NamespaceInfo;

typedef struct WorkloadInfo {
        char *path;
        bool has_id, has_pid, has_owner_uid, has_user, has_created;
        uint64_t id;
        uint32_t pid;
        char **argv;
        uint32_t owner_uid;
        uint32_t user;
        char *state;
        char *exit_code;         /* "" while running */
        int32_t exit_status;
        NamespaceInfo *namespaces;
        size_t n_namespaces;
        uint64_t created_usec;
        char *control_path;
} WorkloadInfo;

void workload_info_done(WorkloadInfo *w);

/* Read an a{sv} of Workload1 properties (unknown ones are skipped, so a newer
 * daemon's additions do not break an older client). */
int workload_info_read(sd_bus_message *m, WorkloadInfo *w);
/* Properties.GetAll on path. Errors are reported. */
int workload_info_get(sd_bus *bus, const char *path, WorkloadInfo *w);

/* ObjectManager.GetManagedObjects: every Workload1 object we may see, by id.
 * Errors are reported. */
int workload_info_list(sd_bus *bus, WorkloadInfo **ret, size_t *ret_n);
void workload_info_free_array(WorkloadInfo *list, size_t n);

void workload_info_write_json(FILE *f, const WorkloadInfo *w);
void workload_info_write_status(FILE *f, const WorkloadInfo *w);

/* argv joined with spaces, quoting what needs it. */
char *workload_info_command_line(const WorkloadInfo *w);
/* "running", "exited 3", "killed SIGTERM", "dumped SIGSEGV". */
const char *workload_info_describe_state(const WorkloadInfo *w, char *buf, size_t size);
