/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "user-util.h"

/* A buffer beyond this is a broken NSS module, not a big entry. */
#define NSS_BUFFER_MAX (1024 * 1024)

/* uid_t and gid_t are both 32-bit unsigned on Linux: one parser for both. */
int parse_uid(const char *s, uid_t *ret) {
        unsigned long long v;
        char *end;

        if (!s || s[0] == '\0' || strspn(s, "0123456789") != strlen(s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        /* (uid_t) -1 is "no id" to the kernel. */
        if (errno != 0 || v >= UINT32_MAX)
                return -ERANGE;
        *ret = (uid_t) v;
        return 0;
}

static size_t nss_buffer_size(int name) {
        long n = sysconf(name);
        return n > 0 && n < NSS_BUFFER_MAX ? (size_t) n : 4096;
}

typedef struct NssQuery {
        const char *name;   /* by name when set, else by uid */
        uid_t uid;
        struct passwd *pw;  /* exactly one of pw and gr */
        struct group *gr;
} NssQuery;

/* getpwnam_r()/getpwuid_r()/getgrnam_r() with a buffer grown until the entry
 * fits; *ret_buf backs the entry's strings. */
static int nss_lookup(const NssQuery *q, char **ret_buf) {
        size_t size = nss_buffer_size(q->pw ? _SC_GETPW_R_SIZE_MAX : _SC_GETGR_R_SIZE_MAX);

        for (; size <= NSS_BUFFER_MAX; size *= 2) {
                _cleanup_free_ char *buf = malloc(size);
                void *result = NULL;
                int r;

                if (!buf)
                        return -ENOMEM;
                if (q->gr)
                        r = getgrnam_r(q->name, q->gr, buf, size, (struct group **) &result);
                else if (q->name)
                        r = getpwnam_r(q->name, q->pw, buf, size, (struct passwd **) &result);
                else
                        r = getpwuid_r(q->uid, q->pw, buf, size, (struct passwd **) &result);
                if (r == ERANGE)
                        continue;
                if (r != 0)
                        return -r;
                if (!result)
                        return -ESRCH;
                *ret_buf = TAKE_PTR(buf);
                return 0;
        }
        return -ERANGE;
}

static int passwd_lookup(const char *name, uid_t uid, struct passwd *pw, char **ret_buf) {
        return nss_lookup(&(NssQuery) { .name = name, .uid = uid, .pw = pw }, ret_buf);
}

static int group_lookup(const char *name, struct group *gr, char **ret_buf) {
        return nss_lookup(&(NssQuery) { .name = name, .gr = gr }, ret_buf);
}

static bool starts_with_digit(const char *s) {
        return s[0] >= '0' && s[0] <= '9';
}

int get_user_creds(const char *s, uid_t *ret_uid, gid_t *ret_gid) {
        _cleanup_free_ char *buf = NULL;
        struct passwd pw;
        uid_t uid;
        int r;

        if (!s || !*s)
                return -EINVAL;
        if (starts_with_digit(s)) {
                r = parse_uid(s, &uid);
                if (r < 0)
                        return r;
                if (ret_gid) {
                        r = passwd_lookup(NULL, uid, &pw, &buf);
                        if (r < 0 && r != -ESRCH)
                                return r;
                        *ret_gid = r >= 0 ? pw.pw_gid : (gid_t) -1;
                }
                if (ret_uid)
                        *ret_uid = uid;
                return 0;
        }

        r = passwd_lookup(s, 0, &pw, &buf);
        if (r < 0)
                return r;
        if (ret_uid)
                *ret_uid = pw.pw_uid;
        if (ret_gid)
                *ret_gid = pw.pw_gid;
        return 0;
}

int get_group_creds(const char *s, gid_t *ret_gid) {
        _cleanup_free_ char *buf = NULL;
        struct group gr;
        int r;

        if (!s || !*s)
                return -EINVAL;
        if (starts_with_digit(s))
                return parse_gid(s, ret_gid);
        r = group_lookup(s, &gr, &buf);
        if (r < 0)
                return r;
        *ret_gid = gr.gr_gid;
        return 0;
}

int user_primary_gid(uid_t uid, gid_t *ret) {
        _cleanup_free_ char *buf = NULL;
        struct passwd pw;
        int r = passwd_lookup(NULL, uid, &pw, &buf);

        if (r < 0)
                return r;
        *ret = pw.pw_gid;
        return 0;
}

int user_name(uid_t uid, char **ret) {
        _cleanup_free_ char *buf = NULL;
        struct passwd pw;
        char *name;
        int r = passwd_lookup(NULL, uid, &pw, &buf);

        if (r < 0)
                return r;
        name = strdup(pw.pw_name);
        if (!name)
                return -ENOMEM;
        *ret = name;
        return 0;
}

int user_groups(uid_t uid, gid_t gid, gid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *buf = NULL;
        struct passwd pw;
        int n = 32, r;

        r = passwd_lookup(NULL, uid, &pw, &buf);
        if (r < 0)
                return r;

        /* getgrouplist() says how many it needs when the array is short; the
         * list may still grow between calls, so loop (bounded). */
        for (int attempt = 0; attempt < 8; attempt++) {
                _cleanup_free_ gid_t *l = calloc((size_t) n, sizeof(gid_t));
                int k = n;

                if (!l)
                        return -ENOMEM;
                if (getgrouplist(pw.pw_name, gid, l, &k) >= 0) {
                        *ret = TAKE_PTR(l);
                        *ret_n = (size_t) k;
                        return 0;
                }
                if (n >= NGROUPS_MAX)
                        return -E2BIG;
                n = k > n ? k : n * 2;
                if (n > NGROUPS_MAX)
                        n = NGROUPS_MAX;
        }
        return -E2BIG;
}
