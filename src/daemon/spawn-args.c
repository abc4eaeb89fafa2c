/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"
#include "env-util.h"
#include "namespace.h"
#include "spawn-args.h"
#include "spawn-validate.h"
#include "workload.h"

void spawn_args_init(SpawnArgs *a) {
        *a = (SpawnArgs) {};
        spawn_request_init(&a->req);
}

/* The request's pointers are ours, the parser allocated them; but for the
 * groups, which are the caller's unless given. */
void spawn_args_done(SpawnArgs *a) {
        strv_free(a->req.argv);
        strv_free(a->req.env);
        free((FdMapping *) a->req.fds);
        free((char *) a->req.cwd);
        if (a->has_groups)
                free((gid_t *) a->req.groups);
        free((IdMapping *) a->req.uid_map);
        free((IdMapping *) a->req.gid_map);
        free((char *) a->req.hostname);
        free(a->seccomp);
        spawn_args_init(a);
}

/* A byte-string argument: one trailing NUL is allowed (GLib's bytestring
 * convention), any other NUL is not. */
static int bytes_to_string(const void *p, size_t n, char **ret) {
        if (n > 0 && ((const char *) p)[n - 1] == '\0')
                n--;
        if (memchr(p, 0, n))
                return -EINVAL;
        /* Copy the n bytes, not strndup(): p is the message's own bytes,
         * usually with no NUL after them, and ASan's strict_string_checks
         * reads strndup()'s argument as a C string, past the buffer. */
        char *s = malloc(n + 1);
        if (!s)
                return -ENOMEM;
        memcpy(s, p, n);
        s[n] = '\0';
        *ret = s;
        return 0;
}

static int read_argv(sd_bus_message *m, const Config *config, SpawnArgs *a, sd_bus_error *error) {
        size_t n = 0, bytes = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "ay");
        if (r < 0)
                return r;
        for (;;) {
                const void *p;
                size_t sz;

                r = sd_bus_message_read_array(m, 'y', &p, &sz);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                bytes += sz + 1;
                if (bytes > config->max_argv_bytes)
                        return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED, "argv is larger than %zu bytes.",
                                                 config->max_argv_bytes);
                /* Grown by doubling: linear in all. */
                if ((n & (n + 1)) == 0) {
                        char **l = reallocarray(a->req.argv, 2 * (n + 1), sizeof(char *));
                        if (!l)
                                return -ENOMEM;
                        a->req.argv = l;
                }
                a->req.argv[n + 1] = NULL;
                r = bytes_to_string(p, sz, &a->req.argv[n]);
                if (r == -EINVAL)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "argv[%zu] contains a NUL byte.", n);
                if (r < 0)
                        return r;
                n++;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        /* argc == 0 is how pkexec was broken (CVE-2021-4034). */
        if (n == 0)
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "argv is empty.");
        return 0;
}

/* Whether an environment name was given before: a hash set of the names
 * seen so far, grown by doubling, so that n variables cost O(n), not O(n^2). */
typedef struct NameSet {
        const char **slots;
        size_t size, n;
} NameSet;

static uint64_t name_hash(const char *s, size_t n) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char) s[i]) * UINT64_C(0x100000001b3);
        return h;
}

/* entry is "NAME=value"; only NAME counts. 1 added, 0 present already. */
static int name_set_put(NameSet *set, const char *entry) {
        size_t len = strchr(entry, '=') - entry, mask = set->size - 1;
        size_t i = name_hash(entry, len) & mask;

        for (; set->slots[i]; i = (i + 1) & mask)
                if (strncmp(set->slots[i], entry, len) == 0 && set->slots[i][len] == '=')
                        return 0;
        set->slots[i] = entry;
        set->n++;
        return 1;
}

static void name_set_done(NameSet *set) {
        free(set->slots);
}

static int name_set_add(NameSet *set, const char *entry) {
        if (2 * (set->n + 1) > set->size) {
                NameSet bigger = { .size = set->size ? 2 * set->size : 64 };

                bigger.slots = calloc(bigger.size, sizeof *bigger.slots);
                if (!bigger.slots)
                        return -ENOMEM;
                for (size_t i = 0; i < set->size; i++)
                        if (set->slots[i])
                                (void) name_set_put(&bigger, set->slots[i]);
                free(set->slots);
                *set = bigger;
        }
        return name_set_put(set, entry);
}

static int read_env(sd_bus_message *m, const Config *config, SpawnArgs *a, sd_bus_error *error) {
        _cleanup_(name_set_done) NameSet set = {};
        size_t n = 0, bytes = 0;
        int r;

        a->req.env = calloc(1, sizeof(char *));
        if (!a->req.env)
                return -ENOMEM;

        r = sd_bus_message_enter_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (;;) {
                const char *name, *value;

                r = sd_bus_message_read(m, "{ss}", &name, &value);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (!env_name_is_valid(name))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "Invalid environment variable name '%s'.", name);
                if (n >= config->max_env_entries)
                        return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                                 "Environment has more than %u variables.", config->max_env_entries);
                size_t nl = strlen(name), vl = strlen(value);
                bytes += nl + vl + 2;
                if (bytes > config->max_env_bytes)
                        return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                                 "Environment is larger than %zu bytes.", config->max_env_bytes);
                /* Grown by doubling: linear in all. */
                if ((n & (n + 1)) == 0) {
                        char **l = reallocarray(a->req.env, 2 * (n + 1), sizeof(char *));
                        if (!l)
                                return -ENOMEM;
                        a->req.env = l;
                }
                char *e = malloc(nl + vl + 2);
                if (!e)
                        return -ENOMEM;
                memcpy(e, name, nl);
                e[nl] = '=';
                memcpy(e + nl + 1, value, vl + 1);
                a->req.env[n] = e;
                a->req.env[n + 1] = NULL;
                n++;
                r = name_set_add(&set, a->req.env[n - 1]);
                if (r < 0)
                        return r;
                if (r == 0)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "Environment variable '%s' given twice.", name);
        }
        return sd_bus_message_exit_container(m);
}

static int check_fd_count(const Config *config, const SpawnArgs *a, sd_bus_error *error) {
        size_t n = a->req.n_fds + (a->req.cgroup_fd >= 0) + (a->req.exe_fd >= 0);
        if (n > config->max_fds_per_call)
                return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED, "More than %u fds in one call.",
                                         config->max_fds_per_call);
        return 0;
}

static int read_fds(sd_bus_message *m, const Config *config, SpawnArgs *a, sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{uh}");
        if (r < 0)
                return r;
        for (;;) {
                uint32_t target;
                int fd;

                r = sd_bus_message_read(m, "{uh}", &target, &fd);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (target > INT_MAX)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Target fd %u out of range.", target);
                for (size_t i = 0; i < a->req.n_fds; i++)
                        if (a->req.fds[i].target == (int) target)
                                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                         "Target fd %u mapped twice.", target);
                FdMapping *l = reallocarray((FdMapping *) a->req.fds, a->req.n_fds + 1, sizeof(FdMapping));
                if (!l)
                        return -ENOMEM;
                l[a->req.n_fds++] = (FdMapping) { .target = (int) target, .fd = fd };
                a->req.fds = l;
                r = check_fd_count(config, a, error);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

/* ---- options: one row each ---------------------------------------------- */

typedef struct SpawnOption SpawnOption;
typedef int (*SpawnOptionParser)(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                                 sd_bus_error *error);

/* An option: its key, its D-Bus type, how to read it, and where it goes. */
struct SpawnOption {
        const char *name;
        const char *signature;
        SpawnOptionParser parse;
        size_t offset;              /* the field in SpawnArgs */
        size_t extra_offset;        /* 0, or a second field: an array's count, or "given" (bool) */
        int (*lookup)(const char *name); /* a name list's names → bit numbers */
        uint32_t max;               /* the largest number taken */
};

#define FIELD(a, offset, type) ((type *) ((uint8_t *) (a) + (offset)))
#define REQ(field) offsetof(SpawnArgs, req.field)
#define ARGS(field) offsetof(SpawnArgs, field)

static void option_given(SpawnArgs *a, const SpawnOption *o) {
        if (o->extra_offset)
                *FIELD(a, o->extra_offset, bool) = true;
}

/* ay: an absolute path. */
static int option_path(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                       sd_bus_error *error) {
        const void *p;
        size_t sz;
        char *s;
        int r;

        r = sd_bus_message_read_array(m, 'y', &p, &sz);
        if (r < 0)
                return r;
        r = bytes_to_string(p, sz, &s);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "%s contains a NUL byte.", o->name);
        if (r < 0)
                return r;
        *FIELD(a, o->offset, char *) = s;
        if (s[0] != '/')
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "%s must be an absolute path.", o->name);
        return 0;
}

/* u: a number up to the row's max (a uid or gid: -1 names nobody; a
 * umask: 0777). */
static int option_u32(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                      sd_bus_error *error) {
        uint32_t u;
        int r;

        r = sd_bus_message_read_basic(m, 'u', &u);
        if (r < 0)
                return r;
        if (u > o->max)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Invalid %s %u.", o->name, u);
        *FIELD(a, o->offset, uint32_t) = u;
        option_given(a, o);
        return 0;
}

/* au: supplementary groups. */
static int option_groups(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                         sd_bus_error *error) {
        const uint32_t *p;
        gid_t *groups;
        size_t sz, n;
        int r;

        r = sd_bus_message_read_array(m, 'u', (const void **) &p, &sz);
        if (r < 0)
                return r;
        n = sz / sizeof(uint32_t);
        if (n > NGROUPS_MAX)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "More than %d groups.", NGROUPS_MAX);
        groups = calloc(n + 1, sizeof(gid_t));
        if (!groups)
                return -ENOMEM;
        *FIELD(a, o->offset, gid_t *) = groups;
        *FIELD(a, o->extra_offset, size_t) = n;
        a->has_groups = true;
        for (size_t i = 0; i < n; i++) {
                groups[i] = p[i];
                if (groups[i] == (gid_t) -1)
                        return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "Invalid group.");
        }
        return 0;
}

/* as: names, each a bit of a mask. */
static int option_names(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                        sd_bus_error *error) {
        uint64_t *mask = FIELD(a, o->offset, uint64_t);
        const char *s;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read_basic(m, 's', &s)) > 0) {
                int v = o->lookup(s);
                if (v < 0 || v >= 64)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Unknown name '%s' in %s.", s,
                                                 o->name);
                *mask |= UINT64_C(1) << v;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* a(uuu): an id map. */
static int option_id_map(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                         sd_bus_error *error) {
        IdMapping **map = FIELD(a, o->offset, IdMapping *);
        size_t *n = FIELD(a, o->extra_offset, size_t);
        uint32_t inside, outside, count;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(uuu)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(uuu)", &inside, &outside, &count)) > 0) {
                /* The kernel takes no more; the checks of a map are
                 * quadratic in its lines. */
                if (*n >= SPAWN_MAX_ID_MAPS)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "%s has more than %d lines.", o->name, SPAWN_MAX_ID_MAPS);
                IdMapping *l = reallocarray(*map, *n + 1, sizeof(IdMapping));
                if (!l)
                        return -ENOMEM;
                *map = l;
                l[(*n)++] = (IdMapping) { .inside = inside, .outside = outside, .count = count };
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* s: a string, copied. */
static int option_string(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                         sd_bus_error *error) {
        const char *s;
        char *d;
        int r;

        r = sd_bus_message_read_basic(m, 's', &s);
        if (r < 0)
                return r;
        d = strdup(s);
        if (!d)
                return -ENOMEM;
        *FIELD(a, o->offset, char *) = d;
        return 0;
}

/* b. */
static int option_bool(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                       sd_bus_error *error) {
        int b, r;

        r = sd_bus_message_read_basic(m, 'b', &b);
        if (r < 0)
                return r;
        *FIELD(a, o->offset, bool) = b;
        return 0;
}

/* t: microseconds. */
static int option_usec(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                       sd_bus_error *error) {
        int r;

        r = sd_bus_message_read_basic(m, 't', FIELD(a, o->offset, uint64_t));
        if (r < 0)
                return r;
        option_given(a, o);
        return 0;
}

/* h: an fd, owned by the message; counted against MaxFdsPerCall. */
static int option_fd(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                     sd_bus_error *error) {
        int fd, r;

        r = sd_bus_message_read_basic(m, 'h', &fd);
        if (r < 0)
                return r;
        *FIELD(a, o->offset, int) = fd;
        return check_fd_count(config, a, error);
}

/* s: kill_mode, by name. */
static int option_kill_mode(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                            sd_bus_error *error) {
        const char *s;
        int k, r;

        r = sd_bus_message_read_basic(m, 's', &s);
        if (r < 0)
                return r;
        k = kill_mode_from_string(s);
        if (k < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                         "Unknown %s '%s' (cgroup or process).", o->name, s);
        *FIELD(a, o->offset, KillMode) = (KillMode) k;
        option_given(a, o);
        return 0;
}

/* i: a number, range-checked with the request (spawn_request_validate()). */
static int option_i32(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                      sd_bus_error *error) {
        int r;

        r = sd_bus_message_read_basic(m, 'i', FIELD(a, o->offset, int32_t));
        if (r < 0)
                return r;
        option_given(a, o);
        return 0;
}

/* t: a cgroup limit, marked as set; its range is checked with the rest. */
static int option_cgroup_limit(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                               sd_bus_error *error) {
        CgroupLimit l = (CgroupLimit) ((o->offset - ARGS(limits.value)) / sizeof(uint64_t));
        int r;

        r = sd_bus_message_read_basic(m, 't', FIELD(a, o->offset, uint64_t));
        if (r < 0)
                return r;
        a->limits.set |= 1U << l;
        return 0;
}

/* a{s(tt)}: rlimit name (as systemd's Limit*=, "NOFILE") → (soft, hard);
 * RLIM_INFINITY is UINT64_MAX. extra_offset: the mask of limits given. */
static int option_rlimits(sd_bus_message *m, const SpawnOption *o, SpawnArgs *a, const Config *config,
                          sd_bus_error *error) {
        struct rlimit *l = FIELD(a, o->offset, struct rlimit);
        uint32_t *given = FIELD(a, o->extra_offset, uint32_t);
        const char *name;
        uint64_t soft, hard;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{s(tt)}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{s(tt)}", &name, &soft, &hard)) > 0) {
                int i = spawn_rlimit_from_name(name);
                if (i < 0)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Unknown rlimit '%s' in %s.", name,
                                                 o->name);
                if (*given & (UINT32_C(1) << i))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "rlimit %s given twice.",
                                                 spawn_rlimit_to_name(i));
                if (soft > hard)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "rlimit %s: soft limit %" PRIu64 " above hard limit %" PRIu64 ".",
                                                 spawn_rlimit_to_name(i), soft, hard);
                l[i] = (struct rlimit) { .rlim_cur = soft, .rlim_max = hard };
                *given |= UINT32_C(1) << i;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* Every option of Spawn (org.pidbroker.Broker1(5)). Adding one is a row
 * here, and its field in SpawnRequest (or SpawnArgs, for what only the
 * daemon uses). */
static const SpawnOption spawn_options[] = {
        { "cwd", "ay", option_path, REQ(cwd) },
        { "user", "u", option_u32, REQ(uid), ARGS(has_user), .max = UINT32_MAX - 1 },
        { "group", "u", option_u32, REQ(gid), ARGS(has_group), .max = UINT32_MAX - 1 },
        { "groups", "au", option_groups, REQ(groups), REQ(n_groups) },
        { "namespaces", "as", option_names, REQ(namespaces), 0, namespace_from_name },
        { "uid_map", "a(uuu)", option_id_map, REQ(uid_map), REQ(n_uid_map) },
        { "gid_map", "a(uuu)", option_id_map, REQ(gid_map), REQ(n_gid_map) },
        { "hostname", "s", option_string, REQ(hostname) },
        { "capabilities", "as", option_names, REQ(capabilities), 0, capability_from_name },
        { "no_new_privileges", "b", option_bool, REQ(no_new_privileges) },
        { "seccomp", "s", option_string, ARGS(seccomp) },
        { "watch_client", "b", option_bool, ARGS(watch_client) },
        { "stop_timeout_usec", "t", option_usec, ARGS(stop_timeout_usec), ARGS(has_stop_timeout) },
        { "cgroup", "h", option_fd, REQ(cgroup_fd) },
        { "exe_fd", "h", option_fd, REQ(exe_fd) },
        { "umask", "u", option_u32, REQ(umask), .max = 0777 },
        { "setsid", "b", option_bool, REQ(setsid) },
        { "kill_mode", "s", option_kill_mode, ARGS(kill_mode), ARGS(has_kill_mode) },
        { "memory_max", "t", option_cgroup_limit, ARGS(limits.value[CGROUP_LIMIT_MEMORY_MAX]) },
        { "pids_max", "t", option_cgroup_limit, ARGS(limits.value[CGROUP_LIMIT_PIDS_MAX]) },
        { "cpu_weight", "t", option_cgroup_limit, ARGS(limits.value[CGROUP_LIMIT_CPU_WEIGHT]) },
        { "io_weight", "t", option_cgroup_limit, ARGS(limits.value[CGROUP_LIMIT_IO_WEIGHT]) },
        { "rlimits", "a{s(tt)}", option_rlimits, REQ(rlimits), REQ(rlimits_set) },
        { "nice", "i", option_i32, REQ(nice), REQ(nice_set) },
        { "oom_score_adj", "i", option_i32, REQ(oom_score_adj), REQ(oom_score_adj_set) },
        { "require_pidfd", "b", option_bool, ARGS(require_pidfd) },
        { "controlling_tty", "b", option_bool, REQ(controlling_tty) },
};

static int read_options(sd_bus_message *m, const Config *config, SpawnArgs *a, sd_bus_error *error) {
        bool seen[ELEMENTSOF(spawn_options)] = {};
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const SpawnOption *o = NULL;
                const char *key, *contents;
                char type;

                r = sd_bus_message_read_basic(m, 's', &key);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(spawn_options) && !o; i++)
                        if (strcmp(spawn_options[i].name, key) == 0) {
                                if (seen[i])
                                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                                 "Option '%s' given twice.", key);
                                seen[i] = true;
                                o = &spawn_options[i];
                        }
                if (!o)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Unknown option '%s'.", key);

                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                if (type != 'v' || !contents || strcmp(contents, o->signature) != 0)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "Option '%s' must have type '%s', not '%s'.", key, o->signature,
                                                 contents ?: "?");
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;
                r = o->parse(m, o, a, config, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int spawn_args_parse(sd_bus_message *m, const Config *config, SpawnArgs *ret, sd_bus_error *error) {
        SpawnArgs a;
        int r;

        spawn_args_init(&a);
        r = read_argv(m, config, &a, error);
        if (r >= 0)
                r = read_env(m, config, &a, error);
        if (r >= 0)
                r = read_fds(m, config, &a, error);
        if (r >= 0)
                r = read_options(m, config, &a, error);
        if (r >= 0) {
                const char *reason = NULL;
                if (cgroup_limits_validate(&a.limits, &reason) < 0)
                        r = sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "%s.", reason);
        }
        if (r < 0) {
                spawn_args_done(&a);
                return r;
        }
        *ret = a;
        return 0;
}

const char *spawn_args_option_name(size_t i) {
        return i < ELEMENTSOF(spawn_options) ? spawn_options[i].name : NULL;
}
