/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The Spawn options builder, and Broker1.Spawn(aay argv, a{ss} env,
 * a{uh} fds, a{sv} options) built from it. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "env-util.h"
#include "namespace.h"
#include "pidbroker-internal.h"
#include "strv.h"

/* How long Spawn may take: the broker answers once exec succeeded, and a
 * polkit agent may be asking a person first. */
#define SPAWN_TIMEOUT_USEC (UINT64_C(300) * 1000000)

typedef struct FdMapping {
        uint32_t target;
        int fd;
} FdMapping;

typedef struct IdMap {
        uint32_t inside, outside, count;
} IdMap;

typedef struct Rlimit {
        char *name;
        uint64_t soft, hard;
} Rlimit;

/* An optional value: sent only when set. */
#define OPTIONAL(type) struct { bool set; type value; }

struct pidbroker_spawn {
        char **argv;
        char **env;            /* NAME=VALUE */
        FdMapping *fds;
        size_t n_fds;

        char *cwd;
        OPTIONAL(uint32_t) user, group, umask;
        gid_t *groups;
        size_t n_groups;
        bool has_groups;
        char **namespaces;
        IdMap *uid_map, *gid_map;
        size_t n_uid_map, n_gid_map;
        char *hostname;
        char **capabilities;
        OPTIONAL(bool) no_new_privileges, watch_client, setsid, controlling_tty, require_pidfd;
        char *seccomp;
        OPTIONAL(uint64_t) stop_timeout_usec, memory_max, pids_max, cpu_weight, io_weight;
        int cgroup_fd, exe_fd;
        char *kill_mode;
        Rlimit *rlimits;
        size_t n_rlimits;
        OPTIONAL(int32_t) nice, oom_score_adj;
};

_public_ int pidbroker_spawn_new(pidbroker_spawn **ret) {
        pidbroker_spawn *s;

        if (!ret)
                return -EINVAL;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->cgroup_fd = s->exe_fd = -EBADF;
        *ret = s;
        return 0;
}

_public_ pidbroker_spawn *pidbroker_spawn_free(pidbroker_spawn *s) {
        if (!s)
                return NULL;
        strv_free(s->argv);
        strv_free(s->env);
        for (size_t i = 0; i < s->n_fds; i++)
                safe_close(s->fds[i].fd);
        free(s->fds);
        free(s->cwd);
        free(s->groups);
        strv_free(s->namespaces);
        free(s->uid_map);
        free(s->gid_map);
        free(s->hostname);
        strv_free(s->capabilities);
        free(s->seccomp);
        safe_close(s->cgroup_fd);
        safe_close(s->exe_fd);
        free(s->kill_mode);
        for (size_t i = 0; i < s->n_rlimits; i++)
                free(s->rlimits[i].name);
        free(s->rlimits);
        free(s);
        return NULL;
}

static int replace_string(char **p, const char *s) {
        char *copy = NULL;

        if (s) {
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
        }
        free(*p);
        *p = copy;
        return 0;
}

/* Our own copy, above 2 (so it never lands on a target we map) and
 * close-on-exec. */
static int dup_fd(int fd) {
        if (fd < 0)
                return -EBADF;
        return RET_NERRNO(fcntl(fd, F_DUPFD_CLOEXEC, 3));
}

static int replace_fd(int *p, int fd) {
        int copy = dup_fd(fd);

        if (copy < 0)
                return copy;
        safe_close(*p);
        *p = copy;
        return 0;
}

_public_ int pidbroker_spawn_set_argv(pidbroker_spawn *s, const char *const *argv) {
        char **copy = NULL;
        int r;

        if (!s || !argv || !argv[0])
                return -EINVAL;
        r = strv_copy((char *const *) argv, &copy);
        if (r < 0)
                return r;
        strv_free(s->argv);
        s->argv = copy;
        return 0;
}

_public_ int pidbroker_spawn_set_environment(pidbroker_spawn *s, const char *const *envp) {
        char **copy = NULL;
        int r;

        if (!s)
                return -EINVAL;
        for (const char *const *e = envp; e && *e; e++)
                if (!env_assignment_is_valid(*e))
                        return -EINVAL;
        r = strv_copy((char *const *) envp, &copy);
        if (r < 0)
                return r;
        strv_free(s->env);
        s->env = copy;
        return 0;
}

_public_ int pidbroker_spawn_setenv(pidbroker_spawn *s, const char *name, const char *value) {
        _cleanup_free_ char *assignment = NULL;
        size_t len;

        if (!s || !name || !value || !env_name_is_valid(name))
                return -EINVAL;
        if (asprintf(&assignment, "%s=%s", name, value) < 0)
                return -ENOMEM;
        len = strlen(name);
        for (char **e = s->env; e && *e; e++)
                if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') {
                        free(*e);
                        *e = TAKE_PTR(assignment);
                        return 0;
                }
        return strv_extend(&s->env, assignment);
}

_public_ int pidbroker_spawn_set_fd(pidbroker_spawn *s, int target, int fd) {
        _cleanup_close_ int copy = -EBADF;
        FdMapping *n;

        if (!s || target < 0)
                return -EINVAL;
        copy = dup_fd(fd);
        if (copy < 0)
                return copy;
        for (size_t i = 0; i < s->n_fds; i++)
                if (s->fds[i].target == (uint32_t) target) {
                        safe_close(s->fds[i].fd);
                        s->fds[i].fd = TAKE_FD(copy);
                        return 0;
                }
        n = reallocarray(s->fds, s->n_fds + 1, sizeof *n);
        if (!n)
                return -ENOMEM;
        s->fds = n;
        s->fds[s->n_fds++] = (FdMapping) { .target = (uint32_t) target, .fd = TAKE_FD(copy) };
        return 0;
}

_public_ int pidbroker_spawn_set_cwd(pidbroker_spawn *s, const char *path) {
        if (!s || !path || path[0] != '/')
                return -EINVAL;
        return replace_string(&s->cwd, path);
}

#define DEFINE_SETTER(name, field, type)                                         \
        _public_ int pidbroker_spawn_set_##name(pidbroker_spawn *s, type v) {   \
                if (!s)                                                          \
                        return -EINVAL;                                          \
                s->field.set = true;                                             \
                s->field.value = v;                                              \
                return 0;                                                        \
        }

DEFINE_SETTER(no_new_privileges, no_new_privileges, bool)
DEFINE_SETTER(watch_client, watch_client, bool)
DEFINE_SETTER(setsid, setsid, bool)
DEFINE_SETTER(controlling_tty, controlling_tty, bool)
DEFINE_SETTER(require_pidfd, require_pidfd, bool)
DEFINE_SETTER(stop_timeout, stop_timeout_usec, uint64_t)
DEFINE_SETTER(memory_max, memory_max, uint64_t)
DEFINE_SETTER(pids_max, pids_max, uint64_t)
DEFINE_SETTER(cpu_weight, cpu_weight, uint64_t)
DEFINE_SETTER(io_weight, io_weight, uint64_t)
DEFINE_SETTER(nice, nice, int)
DEFINE_SETTER(oom_score_adj, oom_score_adj, int)

_public_ int pidbroker_spawn_set_user(pidbroker_spawn *s, uid_t uid) {
        if (!s || uid == (uid_t) -1)
                return -EINVAL;
        s->user.set = true;
        s->user.value = uid;
        return 0;
}

_public_ int pidbroker_spawn_set_group(pidbroker_spawn *s, gid_t gid) {
        if (!s || gid == (gid_t) -1)
                return -EINVAL;
        s->group.set = true;
        s->group.value = gid;
        return 0;
}

_public_ int pidbroker_spawn_set_umask(pidbroker_spawn *s, mode_t mask) {
        if (!s || (mask & ~(mode_t) 0777))
                return -EINVAL;
        s->umask.set = true;
        s->umask.value = mask;
        return 0;
}

_public_ int pidbroker_spawn_set_groups(pidbroker_spawn *s, const gid_t *groups, size_t n) {
        gid_t *copy;

        if (!s || (n > 0 && !groups) || n > NGROUPS_MAX)
                return -EINVAL;
        copy = calloc(n + 1, sizeof(gid_t));
        if (!copy)
                return -ENOMEM;
        if (n > 0)
                memcpy(copy, groups, n * sizeof(gid_t));
        free(s->groups);
        s->groups = copy;
        s->n_groups = n;
        s->has_groups = true;
        return 0;
}

_public_ int pidbroker_spawn_add_namespace(pidbroker_spawn *s, const char *name) {
        if (!s)
                return -EINVAL;
        /* Checked here, so a typo costs no round trip. */
        if (namespace_from_name(name) < 0)
                return -EINVAL;
        if (strv_contains(s->namespaces, name))
                return 0;
        return strv_extend(&s->namespaces, name);
}

static int add_id_map(IdMap **map, size_t *n, uint32_t inside, uint32_t outside, uint32_t count) {
        IdMap *l;

        if (count == 0)
                return -EINVAL;
        l = reallocarray(*map, *n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        *map = l;
        l[(*n)++] = (IdMap) { inside, outside, count };
        return 0;
}

_public_ int pidbroker_spawn_add_uid_map(pidbroker_spawn *s, uint32_t inside, uint32_t outside, uint32_t count) {
        return s ? add_id_map(&s->uid_map, &s->n_uid_map, inside, outside, count) : -EINVAL;
}

_public_ int pidbroker_spawn_add_gid_map(pidbroker_spawn *s, uint32_t inside, uint32_t outside, uint32_t count) {
        return s ? add_id_map(&s->gid_map, &s->n_gid_map, inside, outside, count) : -EINVAL;
}

_public_ int pidbroker_spawn_set_hostname(pidbroker_spawn *s, const char *hostname) {
        if (!s || !hostname || !*hostname)
                return -EINVAL;
        return replace_string(&s->hostname, hostname);
}

_public_ int pidbroker_spawn_add_capability(pidbroker_spawn *s, const char *name) {
        if (!s || !name || !*name)
                return -EINVAL;
        if (strv_contains(s->capabilities, name))
                return 0;
        return strv_extend(&s->capabilities, name);
}

_public_ int pidbroker_spawn_set_seccomp(pidbroker_spawn *s, const char *profile) {
        if (!s || !profile || !*profile)
                return -EINVAL;
        return replace_string(&s->seccomp, profile);
}

_public_ int pidbroker_spawn_set_cgroup_fd(pidbroker_spawn *s, int fd) {
        return s ? replace_fd(&s->cgroup_fd, fd) : -EINVAL;
}

_public_ int pidbroker_spawn_set_exe_fd(pidbroker_spawn *s, int fd) {
        return s ? replace_fd(&s->exe_fd, fd) : -EINVAL;
}

_public_ int pidbroker_spawn_set_kill_mode(pidbroker_spawn *s, const char *mode) {
        if (!s || !mode || (strcmp(mode, "cgroup") != 0 && strcmp(mode, "process") != 0))
                return -EINVAL;
        return replace_string(&s->kill_mode, mode);
}

_public_ int pidbroker_spawn_set_rlimit(pidbroker_spawn *s, const char *name, uint64_t soft, uint64_t hard) {
        Rlimit *l;
        char *copy;

        if (!s || !name || !*name || soft > hard)
                return -EINVAL;
        for (size_t i = 0; i < s->n_rlimits; i++)
                if (strcmp(s->rlimits[i].name, name) == 0) {
                        s->rlimits[i].soft = soft;
                        s->rlimits[i].hard = hard;
                        return 0;
                }
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        l = reallocarray(s->rlimits, s->n_rlimits + 1, sizeof *l);
        if (!l) {
                free(copy);
                return -ENOMEM;
        }
        s->rlimits = l;
        l[s->n_rlimits++] = (Rlimit) { .name = copy, .soft = soft, .hard = hard };
        return 0;
}

/* ---- marshalling ---- */

static int append_bytestring(sd_bus_message *m, const char *s) {
        return sd_bus_message_append_array(m, 'y', s, strlen(s));
}

static int open_option(sd_bus_message *m, const char *key, const char *sig) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", key);
        if (r < 0)
                return r;
        return sd_bus_message_open_container(m, 'v', sig);
}

static int close_option(sd_bus_message *m) {
        int r;

        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int append_strv_option(sd_bus_message *m, const char *key, char **l) {
        int r;

        if (!l)
                return 0;
        r = open_option(m, key, "as");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, l);
        if (r < 0)
                return r;
        return close_option(m);
}

static int append_id_map_option(sd_bus_message *m, const char *key, const IdMap *map, size_t n) {
        int r;

        if (n == 0)
                return 0;
        r = open_option(m, key, "a(uuu)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "(uuu)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = sd_bus_message_append(m, "(uuu)", map[i].inside, map[i].outside, map[i].count);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return close_option(m);
}

static int append_options(sd_bus_message *m, const pidbroker_spawn *s) {
        int r = 0;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        if (s->cwd) {
                r = open_option(m, "cwd", "ay");
                if (r >= 0)
                        r = append_bytestring(m, s->cwd);
                if (r >= 0)
                        r = close_option(m);
        }
        if (r >= 0 && s->user.set)
                r = sd_bus_message_append(m, "{sv}", "user", "u", s->user.value);
        if (r >= 0 && s->group.set)
                r = sd_bus_message_append(m, "{sv}", "group", "u", s->group.value);
        if (r >= 0 && s->has_groups) {
                r = open_option(m, "groups", "au");
                if (r >= 0) {
                        uint32_t groups[s->n_groups + 1];

                        for (size_t i = 0; i < s->n_groups; i++)
                                groups[i] = s->groups[i];
                        r = sd_bus_message_append_array(m, 'u', groups, s->n_groups * sizeof(uint32_t));
                }
                if (r >= 0)
                        r = close_option(m);
        }
        if (r >= 0)
                r = append_strv_option(m, "namespaces", s->namespaces);
        if (r >= 0)
                r = append_id_map_option(m, "uid_map", s->uid_map, s->n_uid_map);
        if (r >= 0)
                r = append_id_map_option(m, "gid_map", s->gid_map, s->n_gid_map);
        if (r >= 0 && s->hostname)
                r = sd_bus_message_append(m, "{sv}", "hostname", "s", s->hostname);
        if (r >= 0)
                r = append_strv_option(m, "capabilities", s->capabilities);
        if (r >= 0 && s->no_new_privileges.set)
                r = sd_bus_message_append(m, "{sv}", "no_new_privileges", "b", (int) s->no_new_privileges.value);
        if (r >= 0 && s->seccomp)
                r = sd_bus_message_append(m, "{sv}", "seccomp", "s", s->seccomp);
        if (r >= 0 && s->watch_client.set)
                r = sd_bus_message_append(m, "{sv}", "watch_client", "b", (int) s->watch_client.value);
        if (r >= 0 && s->stop_timeout_usec.set)
                r = sd_bus_message_append(m, "{sv}", "stop_timeout_usec", "t", s->stop_timeout_usec.value);
        if (r >= 0 && s->cgroup_fd >= 0)
                r = sd_bus_message_append(m, "{sv}", "cgroup", "h", s->cgroup_fd);
        if (r >= 0 && s->exe_fd >= 0)
                r = sd_bus_message_append(m, "{sv}", "exe_fd", "h", s->exe_fd);
        if (r >= 0 && s->umask.set)
                r = sd_bus_message_append(m, "{sv}", "umask", "u", s->umask.value);
        if (r >= 0 && s->setsid.set)
                r = sd_bus_message_append(m, "{sv}", "setsid", "b", (int) s->setsid.value);
        if (r >= 0 && s->controlling_tty.set)
                r = sd_bus_message_append(m, "{sv}", "controlling_tty", "b", (int) s->controlling_tty.value);
        if (r >= 0 && s->require_pidfd.set)
                r = sd_bus_message_append(m, "{sv}", "require_pidfd", "b", (int) s->require_pidfd.value);
        if (r >= 0 && s->kill_mode)
                r = sd_bus_message_append(m, "{sv}", "kill_mode", "s", s->kill_mode);
        if (r >= 0 && s->n_rlimits > 0) {
                r = open_option(m, "rlimits", "a{s(tt)}");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{s(tt)}");
                for (size_t i = 0; r >= 0 && i < s->n_rlimits; i++)
                        r = sd_bus_message_append(m, "{s(tt)}", s->rlimits[i].name, s->rlimits[i].soft,
                                                  s->rlimits[i].hard);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = close_option(m);
        }
        if (r >= 0 && s->nice.set)
                r = sd_bus_message_append(m, "{sv}", "nice", "i", s->nice.value);
        if (r >= 0 && s->oom_score_adj.set)
                r = sd_bus_message_append(m, "{sv}", "oom_score_adj", "i", s->oom_score_adj.value);
        if (r >= 0 && s->memory_max.set)
                r = sd_bus_message_append(m, "{sv}", "memory_max", "t", s->memory_max.value);
        if (r >= 0 && s->pids_max.set)
                r = sd_bus_message_append(m, "{sv}", "pids_max", "t", s->pids_max.value);
        if (r >= 0 && s->cpu_weight.set)
                r = sd_bus_message_append(m, "{sv}", "cpu_weight", "t", s->cpu_weight.value);
        if (r >= 0 && s->io_weight.set)
                r = sd_bus_message_append(m, "{sv}", "io_weight", "t", s->io_weight.value);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int build_spawn(sd_bus_message *m, const pidbroker_spawn *s) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "ay");
        if (r < 0)
                return r;
        for (char **a = s->argv; *a; a++) {
                r = append_bytestring(m, *a);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (char **e = s->env; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *name = strndup(*e, (size_t) (eq - *e));

                if (!name)
                        return -ENOMEM;
                r = sd_bus_message_append(m, "{ss}", name, eq + 1);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(m, 'a', "{uh}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_fds; i++) {
                r = sd_bus_message_append(m, "{uh}", s->fds[i].target, s->fds[i].fd);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;

        return append_options(m, s);
}

_public_ int pidbroker_spawn_call(pidbroker_client *c, const pidbroker_spawn *s, pidbroker_workload **ret,
                                  pidbroker_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_close_ int pidfd = -EBADF;
        const char *path;
        uint64_t id;
        int fd, r;

        if (!c || !s || !ret)
                return client_set_error(error, -EINVAL, NULL, "Invalid argument");
        if (!s->argv)
                return client_set_error(error, -EINVAL, NULL, "No command to spawn");

        r = sd_bus_message_new_method_call(c->bus, &m, pidbroker_client_get_destination(c), BROKER_PATH,
                                           BROKER_INTERFACE, "Spawn");
        if (r >= 0)
                r = build_spawn(m, s);
        if (r < 0)
                return client_set_error(error, r, NULL, "Failed to build the Spawn call");

        r = sd_bus_call(c->bus, m, SPAWN_TIMEOUT_USEC, &e, &reply);
        if (r < 0)
                return client_set_error(error, r, &e, "Spawn failed");
        r = sd_bus_message_read(reply, "oht", &path, &fd, &id);
        if (r < 0)
                return client_set_error(error, r, NULL, "Failed to parse the Spawn reply");
        pidfd = dup_fd(fd);
        if (pidfd < 0)
                return client_set_error(error, pidfd, NULL, "Failed to keep the pidfd");
        r = workload_new(c, id, path, pidfd, ret);
        if (r < 0)
                return client_set_error(error, r, NULL, "Failed to allocate the workload");
        TAKE_FD(pidfd);
        return 0;
}
