/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <cap-ng.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"
#include "namespace.h"
#include "env-util.h"
#include "spawn-args.h"
#include "spawn-validate.h"
#include "workload.h"

void spawn_args_done(SpawnArgs *a) {
        strv_free(a->argv);
        strv_free(a->env);
        free(a->fds);
        free(a->cwd);
        free(a->groups);
        free(a->uid_map);
        free(a->gid_map);
        free(a->hostname);
        free(a->seccomp);
        *a = SPAWN_ARGS_NULL;
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
                        char **l = reallocarray(a->argv, 2 * (n + 1), sizeof(char *));
                        if (!l)
                                return -ENOMEM;
                        a->argv = l;
                }
                a->argv[n + 1] = NULL;
                r = bytes_to_string(p, sz, &a->argv[n]);
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

        a->env = calloc(1, sizeof(char *));
        if (!a->env)
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
                size_t nl = strlen(name);
                bytes += nl + strlen(value) + 2;
                if (bytes > config->max_env_bytes)
                        return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                                 "Environment is larger than %zu bytes.", config->max_env_bytes);
                /* Grown by doubling: linear in all. */
                if ((n & (n + 1)) == 0) {
                        char **l = reallocarray(a->env, 2 * (n + 1), sizeof(char *));
                        if (!l)
                                return -ENOMEM;
                        a->env = l;
                }
                if (asprintf(&a->env[n], "%s=%s", name, value) < 0) {
                        a->env[n] = NULL;
                        return -ENOMEM;
                }
                a->env[n + 1] = NULL;
                n++;
                r = name_set_add(&set, a->env[n - 1]);
                if (r < 0)
                        return r;
                if (r == 0)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "Environment variable '%s' given twice.", name);
        }
        return sd_bus_message_exit_container(m);
}

static int check_fd_count(const Config *config, const SpawnArgs *a, sd_bus_error *error) {
        size_t n = a->n_fds + (a->cgroup_fd >= 0) + (a->exe_fd >= 0);
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
                for (size_t i = 0; i < a->n_fds; i++)
                        if (a->fds[i].target == (int) target)
                                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                         "Target fd %u mapped twice.", target);
                FdMapping *l = reallocarray(a->fds, a->n_fds + 1, sizeof(FdMapping));
                if (!l)
                        return -ENOMEM;
                a->fds = l;
                a->fds[a->n_fds++] = (FdMapping) { .target = (int) target, .fd = fd };
                r = check_fd_count(config, a, error);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

static int read_id_map(sd_bus_message *m, IdMapping **ret, size_t *ret_n, sd_bus_error *error) {
        uint32_t inside, outside, count;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(uuu)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(uuu)", &inside, &outside, &count)) > 0) {
                /* The kernel takes no more; the checks of a map are
                 * quadratic in its lines. */
                if (*ret_n >= SPAWN_MAX_ID_MAPS)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "An id map has more than %d lines.", SPAWN_MAX_ID_MAPS);
                IdMapping *l = reallocarray(*ret, *ret_n + 1, sizeof(IdMapping));
                if (!l)
                        return -ENOMEM;
                *ret = l;
                (*ret)[(*ret_n)++] = (IdMapping) { .inside = inside, .outside = outside, .count = count };
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static const struct {
        const char *name, *signature;
} option_types[] = {
        { "cwd", "ay" },
        { "user", "u" },
        { "group", "u" },
        { "groups", "au" },
        { "namespaces", "as" },
        { "uid_map", "a(uuu)" },
        { "gid_map", "a(uuu)" },
        { "hostname", "s" },
        { "capabilities", "as" },
        { "no_new_privileges", "b" },
        { "seccomp", "s" },
        { "watch_client", "b" },
        { "stop_timeout_usec", "t" },
        { "cgroup", "h" },
        { "exe_fd", "h" },
        { "umask", "u" },
        { "setsid", "b" },
};

static int read_option(sd_bus_message *m, const Config *config, const char *key, SpawnArgs *a, sd_bus_error *error) {
        const void *p;
        size_t sz;
        int b, r;

        if (strcmp(key, "cwd") == 0) {
                r = sd_bus_message_read_array(m, 'y', &p, &sz);
                if (r < 0)
                        return r;
                r = bytes_to_string(p, sz, &a->cwd);
                if (r == -EINVAL)
                        return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "cwd contains a NUL byte.");
                if (r < 0)
                        return r;
                if (a->cwd[0] != '/')
                        return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "cwd must be an absolute path.");
        } else if (strcmp(key, "user") == 0) {
                uint32_t u;
                r = sd_bus_message_read_basic(m, 'u', &u);
                if (r < 0)
                        return r;
                if (u == UINT32_MAX)
                        return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "Invalid user.");
                a->user = u;
                a->has_user = true;
        } else if (strcmp(key, "group") == 0) {
                uint32_t g;
                r = sd_bus_message_read_basic(m, 'u', &g);
                if (r < 0)
                        return r;
                if (g == UINT32_MAX)
                        return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "Invalid group.");
                a->group = g;
                a->has_group = true;
        } else if (strcmp(key, "groups") == 0) {
                r = sd_bus_message_read_array(m, 'u', &p, &sz);
                if (r < 0)
                        return r;
                a->n_groups = sz / sizeof(uint32_t);
                if (a->n_groups > NGROUPS_MAX)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "More than %d groups.", NGROUPS_MAX);
                a->groups = calloc(a->n_groups + 1, sizeof(gid_t));
                if (!a->groups)
                        return -ENOMEM;
                for (size_t i = 0; i < a->n_groups; i++) {
                        a->groups[i] = ((const uint32_t *) p)[i];
                        if (a->groups[i] == (gid_t) -1)
                                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "Invalid group.");
                }
                a->has_groups = true;
        } else if (strcmp(key, "namespaces") == 0 || strcmp(key, "capabilities") == 0) {
                bool ns = key[0] == 'n';
                const char *s;
                r = sd_bus_message_enter_container(m, 'a', "s");
                if (r < 0)
                        return r;
                while ((r = sd_bus_message_read_basic(m, 's', &s)) > 0) {
                        int v = ns ? namespace_from_name(s) : capability_from_name(s);
                        if (v < 0)
                                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Unknown %s '%s'.",
                                                         ns ? "namespace" : "capability", s);
                        if (ns)
                                a->namespaces |= UINT64_C(1) << v;
                        else
                                a->capabilities |= UINT64_C(1) << v;
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        } else if (strcmp(key, "uid_map") == 0) {
                r = read_id_map(m, &a->uid_map, &a->n_uid_map, error);
                if (r < 0)
                        return r;
        } else if (strcmp(key, "gid_map") == 0) {
                r = read_id_map(m, &a->gid_map, &a->n_gid_map, error);
                if (r < 0)
                        return r;
        } else if (strcmp(key, "hostname") == 0 || strcmp(key, "seccomp") == 0) {
                const char *s;
                r = sd_bus_message_read_basic(m, 's', &s);
                if (r < 0)
                        return r;
                char *d = strdup(s);
                if (!d)
                        return -ENOMEM;
                if (key[0] == 'h')
                        a->hostname = d;
                else
                        a->seccomp = d;
        } else if (strcmp(key, "no_new_privileges") == 0) {
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r < 0)
                        return r;
                a->no_new_privileges = b;
                a->has_no_new_privileges = true;
        } else if (strcmp(key, "watch_client") == 0) {
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r < 0)
                        return r;
                a->watch_client = b;
        } else if (strcmp(key, "setsid") == 0) {
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r < 0)
                        return r;
                a->setsid = b;
                a->has_setsid = true;
        } else if (strcmp(key, "stop_timeout_usec") == 0) {
                r = sd_bus_message_read_basic(m, 't', &a->stop_timeout_usec);
                if (r < 0)
                        return r;
                a->has_stop_timeout = true;
        } else if (strcmp(key, "umask") == 0) {
                uint32_t u;
                r = sd_bus_message_read_basic(m, 'u', &u);
                if (r < 0)
                        return r;
                if (u > 0777)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Invalid umask %#o.", u);
                a->umask = u;
                a->has_umask = true;
        } else if (strcmp(key, "cgroup") == 0 || strcmp(key, "exe_fd") == 0) {
                int fd;
                r = sd_bus_message_read_basic(m, 'h', &fd);
                if (r < 0)
                        return r;
                if (key[0] == 'c')
                        a->cgroup_fd = fd;
                else
                        a->exe_fd = fd;
                r = check_fd_count(config, a, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_options(sd_bus_message *m, const Config *config, SpawnArgs *a, sd_bus_error *error) {
        bool seen[ELEMENTSOF(option_types)] = {};
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;
                size_t i;

                r = sd_bus_message_read_basic(m, 's', &key);
                if (r < 0)
                        return r;
                for (i = 0; i < ELEMENTSOF(option_types); i++)
                        if (strcmp(option_types[i].name, key) == 0)
                                break;
                if (i >= ELEMENTSOF(option_types))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Unknown option '%s'.", key);
                if (seen[i])
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Option '%s' given twice.", key);
                seen[i] = true;

                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                if (type != 'v' || !contents || strcmp(contents, option_types[i].signature) != 0)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "Option '%s' must have type '%s', not '%s'.", key,
                                                 option_types[i].signature, contents ?: "?");
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;
                r = read_option(m, config, key, a, error);
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
        SpawnArgs a = SPAWN_ARGS_NULL;
        int r;

        r = read_argv(m, config, &a, error);
        if (r >= 0)
                r = read_env(m, config, &a, error);
        if (r >= 0)
                r = read_fds(m, config, &a, error);
        if (r >= 0)
                r = read_options(m, config, &a, error);
        if (r < 0) {
                spawn_args_done(&a);
                return r;
        }
        *ret = a;
        return 0;
}
