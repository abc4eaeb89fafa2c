/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the daemon keeps of a workload across a crash, a restart or a
 * re-exec: one small text file per workload in a state directory
 * (/run/pidbroker/workloads), named by the workload's id, written before
 * Spawn replies, rewritten when it exits, and replaced atomically. Knows
 * nothing of D-Bus.
 *
 * The format, one field per line, in exactly this order:
 *
 *   pidbroker-workload 2
 *   id <decimal pidfs inode>
 *   pid <decimal>
 *   handle <type hex> <bytes hex>     or  handle -
 *   owner-uid <decimal>
 *   owner-name <escaped>              or  owner-name -     (direct socket)
 *   user <decimal>
 *   watch-client 0|1
 *   stop-timeout-usec <decimal>
 *   created-usec <decimal>
 *   has-init 0|1
 *   cgroup <escaped>                  or  cgroup -
 *   namespaces <decimal>,...          (one nsfs inode per NamespaceType, 0 unknown)
 *   exit-code exited|killed|dumped    or  exit-code -      (still running)
 *   exit-status <decimal>
 *   argc <decimal, 1..MAX>
 *   arg <escaped>                     (argc times; "\e" for "")
 *   end
 *
 * <escaped> is the bytes of the string with every byte outside '!'..'~' and
 * every '\' written as \xHH, so each value is one non-empty token without
 * spaces. The reader accepts exactly this and nothing else: an unknown or
 * missing field, a number out of range, a bad escape, trailing bytes, all
 * give -EBADMSG with a reason. Version 1 (without the namespaces and
 * exit lines) is still read, as a running workload. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "process.h"

#define WORKLOAD_RECORD_MAX_SIZE (1024 * 1024)
#define WORKLOAD_RECORD_MAX_ARGC 4096

typedef struct WorkloadRecord {
        uint64_t id;             /* pidfs inode: the identity, and the file name */
        pid_t pid;
        PidfsHandle handle;      /* size 0: none was available */
        uid_t owner_uid;
        char *owner_name;        /* unique bus name of the owner; NULL on the direct socket */
        uid_t user;              /* the uid the workload runs as */
        bool watch_client;
        uint64_t stop_timeout_usec;
        uint64_t created_usec;   /* CLOCK_REALTIME */
        bool has_init;           /* a pidbroker init is pid 1 of its pid namespace */
        char *cgroup;            /* path below the cgroup2 mount; NULL: none */
        uint64_t namespaces[_NAMESPACE_MAX]; /* nsfs inodes, 0 = unknown */
        const char *exit_code;   /* static "exited", "killed", "dumped"; NULL while running */
        int exit_status;
        char **argv;             /* NULL-terminated, at least argv[0] */
} WorkloadRecord;

void workload_record_done(WorkloadRecord *r);

/* The text above, NUL-terminated (*ret_size excludes the NUL). -EINVAL for a
 * record that could not be read back (no argv, id 0, ...). */
int workload_record_format(const WorkloadRecord *r, char **ret, size_t *ret_size);
/* Parse size bytes (need not be NUL-terminated). -EBADMSG and a static
 * *ret_reason for anything malformed; *ret is untouched then. */
int workload_record_parse(const char *data, size_t size, WorkloadRecord *ret, const char **ret_reason);

/* Write the record as dirfd/<id>: a temporary file, renameat over the old
 * one (no fsync: see the comment inside). Never a partial file under the
 * final name. */
int workload_record_write(int dirfd, const WorkloadRecord *r);
/* Read and parse dirfd/<id>. -ENOENT when absent; -EBADMSG (with reason) for
 * a malformed file, or one whose id is not its name. */
int workload_record_read(int dirfd, uint64_t id, WorkloadRecord *ret, const char **ret_reason);
/* Remove dirfd/<id>; 0 if it was already gone. */
int workload_record_remove(int dirfd, uint64_t id);
/* The ids of every record file in dirfd, in no particular order; temporary
 * files a crash left behind are removed, other names skipped. */
int workload_record_list(int dirfd, uint64_t **ret_ids, size_t *ret_n);
