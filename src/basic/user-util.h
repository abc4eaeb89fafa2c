/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The user and group database (NSS), one copy: the client, the rules parser
 * and the daemon look names up the same way. Reentrant calls with growing
 * buffers; (uid_t) -1 and (gid_t) -1 are never valid ids. */

#include <stddef.h>
#include <sys/types.h>

/* A decimal id, no sign or blanks; -EINVAL, or -ERANGE beyond 2^32 - 2. */
int parse_uid(const char *s, uid_t *ret);
static inline int parse_gid(const char *s, gid_t *ret) {
        _Static_assert(sizeof(uid_t) == sizeof(gid_t), "uid_t and gid_t differ");
        return parse_uid(s, (uid_t *) ret);
}

/* A user name, or a decimal uid that needs no entry. *ret_gid (either
 * pointer may be NULL) is the user's primary group, (gid_t) -1 when the
 * database has no entry for a numeric uid. -ESRCH for an unknown name,
 * -EINVAL/-ERANGE for a bad number. */
int get_user_creds(const char *s, uid_t *ret_uid, gid_t *ret_gid);
/* A group name or a decimal gid that needs no entry; -ESRCH, -EINVAL, -ERANGE. */
int get_group_creds(const char *s, gid_t *ret_gid);

/* The user's primary gid from the database; -ESRCH without an entry. */
int user_primary_gid(uid_t uid, gid_t *ret);
/* The user's name (to free); -ESRCH without an entry. */
int user_name(uid_t uid, char **ret);
/* The user's group list as initgroups() would set it: gid plus every group
 * naming the user (getgrouplist()). -ESRCH without an entry. *ret is
 * malloc()ed, never NULL on success. */
int user_groups(uid_t uid, gid_t gid, gid_t **ret, size_t *ret_n);
