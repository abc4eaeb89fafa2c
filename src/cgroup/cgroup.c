/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgroup.h"
#include "fileio.h"
#include "missing-pidfd.h"
#include "process.h"
#include "string-table.h"

static const char *const cgroup_controller_table[_CGROUP_CONTROLLER_MAX] = {
        [CGROUP_CONTROLLER_CPU] = "cpu",
        [CGROUP_CONTROLLER_IO] = "io",
        [CGROUP_CONTROLLER_MEMORY] = "memory",
        [CGROUP_CONTROLLER_PIDS] = "pids",
};

DEFINE_STRING_TABLE_LOOKUP(cgroup_controller, CgroupController);

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *w = s;
        for (const char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = '\0';
}

int cgroup_find_mount(char **ret) {
        _cleanup_free_ char *line = NULL, *found = NULL;
        size_t size = 0;
        FILE *f;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return negative_errno();
        while (getline(&line, &size, f) > 0) {
                /* id parent major:minor root mountpoint options [optional...] - fstype source super */
                char root[4096], mountpoint[4096];
                const char *sep = strstr(line, " - ");
                if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
                        continue;
                if (sscanf(line, "%*u %*u %*s %4095s %4095s", root, mountpoint) != 2)
                        continue;
                unescape_octal(mountpoint);
                /* A bind mount of a subdirectory shows only part of the tree:
                 * take one of the whole hierarchy when there is one. */
                if (strcmp(root, "/") == 0) {
                        free(found);
                        found = strdup(mountpoint);
                        break;
                }
                if (!found)
                        found = strdup(mountpoint);
        }
        fclose(f);
        if (!found)
                return -ENOMEDIUM;
        *ret = TAKE_PTR(found);
        return 0;
}

int cgroup_get_own(char **ret) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        ssize_t n;
        FILE *f;
        int r = -ENOMEDIUM;

        f = fopen("/proc/self/cgroup", "re");
        if (!f)
                return negative_errno();
        while ((n = getline(&line, &size, f)) > 0) {
                if (strncmp(line, "0::", 3) != 0)
                        continue;
                if (line[n - 1] == '\n')
                        line[n - 1] = '\0';
                if (line[3] != '/') {
                        r = -EIO;
                        break;
                }
                *ret = strdup(line + 3);
                r = *ret ? 0 : -ENOMEM;
                break;
        }
        fclose(f);
        return r;
}

static int write_file_at(int dirfd, const char *file, const char *value) {
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(value);
        ssize_t n;

        fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        /* cgroup files take one write: a short one is an error. */
        n = write(fd, value, len);
        if (n < 0)
                return negative_errno();
        return (size_t) n == len ? 0 : -EIO;
}

int cgroup_file_lists_controller(int dirfd, const char *file, const char *name) {
        char buf[1024], *save = NULL;
        int r;

        r = read_small_file_at(dirfd, file, buf, sizeof buf);
        if (r < 0)
                return r;
        for (char *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
                if (strcmp(w, name) == 0)
                        return 1;
        return 0;
}

static int controllers_mask(int dirfd, const char *file, unsigned *ret) {
        unsigned mask = 0;

        for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
                int r = cgroup_file_lists_controller(dirfd, file, cgroup_controller_table[c]);
                if (r < 0)
                        return r;
                if (r > 0)
                        mask |= CGROUP_CONTROLLER_BIT(c);
        }
        *ret = mask;
        return 0;
}

int cgroup_enable_controllers(int dirfd, const char *const *names) {
        int n = 0;

        for (const char *const *name = names; name && *name; name++) {
                char buf[64];
                int r = cgroup_file_lists_controller(dirfd, "cgroup.controllers", *name);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                snprintf(buf, sizeof buf, "+%s", *name);
                r = write_file_at(dirfd, "cgroup.subtree_control", buf);
                if (r < 0)
                        return r;
                n++;
        }
        return n;
}

static int open_cgroup_dir(int dirfd, const char *path) {
        struct statfs sfs;
        int fd;

        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        /* CLONE_INTO_CGROUP and every file below want cgroup2. */
        if (fstatfs(fd, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
                safe_close(fd);
                return -ENOMEDIUM;
        }
        return fd;
}

static char *path_join(const char *a, const char *b) {
        char *p;
        /* "/" + "x" is "/x", not "//x". */
        if (asprintf(&p, "%s/%s", strcmp(a, "/") == 0 ? "" : a, b) < 0)
                return NULL;
        return p;
}

static bool path_is_delegated(const char *mount, const char *own) {
        _cleanup_free_ char *full = NULL;
        char v[8];
        ssize_t n;

        if (asprintf(&full, "%s%s", mount, own) < 0)
                return false;
        /* systemd (251 and later) marks a Delegate=yes unit's cgroup so. */
        n = getxattr(full, "trusted.delegate", v, sizeof v - 1);
        if (n <= 0)
                return false;
        v[n] = '\0';
        return strcmp(v, "1") == 0;
}

void cgroup_subtree_done(CgroupSubtree *s) {
        if (!s)
                return;
        free(s->mount);
        free(s->path);
        s->fd = safe_close(s->fd);
        *s = CGROUP_SUBTREE_NULL;
}

int cgroup_subtree_open_at(CgroupSubtree *ret, const char *mount, const char *own, bool delegated) {
        static const char *const wanted[] = { "cpu", "io", "memory", "pids", NULL };
        _cleanup_close_ int mountfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *path = NULL, *mount_copy = NULL;
        bool moved = false, in_leaf = false;
        int r;

        if (!mount || !own || own[0] != '/')
                return -EINVAL;
        mountfd = open_cgroup_dir(AT_FDCWD, mount);
        if (mountfd < 0)
                return mountfd;

        const char *last = strrchr(own, '/');
        if (strcmp(own, "/") != 0 && strcmp(last + 1, CGROUP_SUPERVISOR_LEAF) == 0) {
                /* Re-executed (or restarted by hand) inside our own leaf. */
                path = strndup(own, last == own ? 1 : (size_t) (last - own));
                delegated = in_leaf = true;
        } else if (strcmp(own, "/") != 0 && (delegated || path_is_delegated(mount, own))) {
                path = strdup(own);
                delegated = true;
        } else {
                path = path_join(own, CGROUP_SUBTREE_NAME);
                delegated = false;
        }
        if (!path)
                return -ENOMEM;

        const char *rel = path[1] ? path + 1 : ".";
        if (!delegated && mkdirat(mountfd, rel, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        fd = open_cgroup_dir(mountfd, rel);
        if (fd < 0)
                return fd;

        if (delegated) {
                /* The no-internal-processes rule: <own> can hand controllers
                 * to its children only once no process lives in it. */
                if (mkdirat(fd, CGROUP_SUPERVISOR_LEAF, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                _cleanup_close_ int leaf = open_cgroup_dir(fd, CGROUP_SUPERVISOR_LEAF);
                if (leaf < 0)
                        return leaf;
                if (!in_leaf) {
                        r = write_file_at(leaf, "cgroup.procs", "0");
                        if (r < 0)
                                return r;
                        moved = true;
                }
        }

        r = cgroup_enable_controllers(fd, wanted);
        /* Processes of someone else's in a cgroup that is not ours: run
         * without controllers rather than not at all. */
        if (r < 0 && r != -EBUSY)
                return r;

        mount_copy = strdup(mount);
        if (!mount_copy)
                return -ENOMEM;
        *ret = (CgroupSubtree) {
                .mount = TAKE_PTR(mount_copy),
                .path = TAKE_PTR(path),
                .fd = TAKE_FD(fd),
                .moved_to_leaf = moved,
        };
        r = controllers_mask(ret->fd, "cgroup.subtree_control", &ret->controllers);
        if (r < 0) {
                cgroup_subtree_done(ret);
                return r;
        }
        return 0;
}

int cgroup_subtree_open(CgroupSubtree *ret, bool delegated) {
        _cleanup_free_ char *mount = NULL, *own = NULL;
        int r;

        r = cgroup_find_mount(&mount);
        if (r < 0)
                return r;
        r = cgroup_get_own(&own);
        if (r < 0)
                return r;
        return cgroup_subtree_open_at(ret, mount, own, delegated);
}

void cgroup_unit_done(CgroupUnit *u) {
        if (!u)
                return;
        free(u->path);
        safe_close(u->fd);
        *u = CGROUP_UNIT_NULL;
}

static bool name_is_component(const char *name) {
        /* cgroup2 also refuses '\n', which would break /proc/<pid>/cgroup. */
        return name && name[0] && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !strchr(name, '/') &&
               !strchr(name, '\n') && strlen(name) < 256;
}

static int unit_open(const CgroupSubtree *s, const char *name, bool create, CgroupUnit *ret) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (!s || s->fd < 0 || !name_is_component(name))
                return -EINVAL;
        if (create && mkdirat(s->fd, name, 0755) < 0)
                return negative_errno();
        fd = open_cgroup_dir(s->fd, name);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        path = path_join(s->path, name);
        if (!path)
                return -ENOMEM;
        *ret = (CgroupUnit) { .path = TAKE_PTR(path), .fd = TAKE_FD(fd), .id = (uint64_t) st.st_ino };
        return 0;
}

int cgroup_unit_create_named(const CgroupSubtree *s, const char *name, CgroupUnit *ret) {
        return unit_open(s, name, true, ret);
}

int cgroup_unit_open(const CgroupSubtree *s, const char *name, CgroupUnit *ret) {
        return unit_open(s, name, false, ret);
}

int cgroup_unit_create(const CgroupSubtree *s, CgroupUnit *ret) {
        /* A clash is one in 2^64; retry anyway rather than fail a spawn. */
        for (int attempt = 0; attempt < 8; attempt++) {
                char name[sizeof(CGROUP_UNIT_PREFIX) + 16];
                uint64_t rnd;
                int r;

                if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
                        return negative_errno();
                snprintf(name, sizeof name, CGROUP_UNIT_PREFIX "%016" PRIx64, rnd);
                r = unit_open(s, name, true, ret);
                if (r != -EEXIST)
                        return r;
        }
        return -EEXIST;
}

int cgroup_unit_kill(const CgroupUnit *u) {
        int r;

        if (!u || u->fd < 0)
                return -EBADF;
        r = write_file_at(u->fd, "cgroup.kill", "1");
        return r == -ENOENT ? -EOPNOTSUPP : r;
}

/* Whether the pinned process is (still) in the unit: by the cgroup id
 * PIDFD_GET_INFO reports from the pidfd, or /proc/<pid>/cgroup re-checked
 * against it. A process in a child cgroup of the unit counts too. */
static int process_in_unit(const CgroupUnit *u, const Process *p) {
        _cleanup_free_ char *path = NULL;
        ProcessInfo info;
        size_t len;
        int r;

        r = process_get_info(p, &info);
        if (r < 0)
                return r;
        if (info.cgroup_id == u->id)
                return 1;
        r = process_get_cgroup_path(p, &path);
        if (r < 0)
                return r;
        len = strlen(u->path);
        return strncmp(path, u->path, len) == 0 && (path[len] == '\0' || path[len] == '/');
}

static bool ids_contain(const uint64_t *ids, size_t n, uint64_t id) {
        for (size_t i = 0; i < n; i++)
                if (ids[i] == id)
                        return true;
        return false;
}

/* How deep a unit's own sub-cgroups are walked (a workload with the right to
 * make them might nest some; the kernel's default limit is far deeper). */
#define CGROUP_UNIT_MAX_DEPTH 16

typedef struct SignalWalk {
        const CgroupUnit *unit;
        int sig;
        ControlPath control_path;
        uint64_t *done; /* who was signalled, by pidfs id */
        size_t n_done, allocated;
        bool found_new;
        bool fallback;  /* some went by kill() to our own child */
} SignalWalk;

/* Calls fn(dirfd of each subdirectory, name, depth + 1, userdata). */
static int for_each_child_cgroup(int dirfd, unsigned depth, int (*fn)(int, const char *, unsigned, void *),
                                 void *userdata) {
        struct dirent *de;
        DIR *d = NULL;
        int r;

        if (depth >= CGROUP_UNIT_MAX_DEPTH)
                return -ELOOP;
        r = opendir_fd(dirfd, &d);
        if (r < 0)
                return r;
        while (r >= 0 && (de = readdir(d))) {
                _cleanup_close_ int child = -EBADF;

                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                child = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (child < 0) {
                        if (errno == ENOENT)
                                continue; /* removed meanwhile */
                        r = negative_errno();
                        break;
                }
                r = fn(child, de->d_name, depth + 1, userdata);
                if (r >= 0)
                        r = 0;
        }
        closedir(d);
        return r;
}

static int signal_procs_at(int dirfd, const char *name, unsigned depth, void *userdata) {
        SignalWalk *w = userdata;
        _cleanup_close_ int fd = -EBADF;
        FILE *f;
        int pid;

        fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno(); /* removed meanwhile */
        f = fdopen(fd, "re");
        if (!f)
                return negative_errno();
        TAKE_FD(fd);
        while (fscanf(f, "%d", &pid) == 1) {
                _cleanup_process_ Process p = PROCESS_NULL;

                /* Pinned first, checked second: from here on the pid cannot
                 * name anyone else. */
                if (process_from_pid(&p, pid, w->control_path) < 0)
                        continue; /* gone already */
                /* Keyed by pidfs id; by pid only on the legacy path. */
                uint64_t key = p.id != 0 ? p.id : UINT64_C(1) << 63 | (uint64_t) p.pid;
                if (ids_contain(w->done, w->n_done, key))
                        continue;
                if (process_in_unit(w->unit, &p) <= 0)
                        continue;
                int k = process_signal(&p, w->sig, 0);
                if (k < 0)
                        continue;
                if (k == 1)
                        w->fallback = true;
                if (greedy_realloc((void **) &w->done, &w->allocated, w->n_done + 1, sizeof *w->done) < 0) {
                        fclose(f);
                        return -ENOMEM;
                }
                w->done[w->n_done++] = key;
                w->found_new = true;
        }
        fclose(f);
        return for_each_child_cgroup(dirfd, depth, signal_procs_at, w);
}

int cgroup_unit_signal_all(const CgroupUnit *u, int sig, ControlPath cp, bool *ret_fallback) {
        SignalWalk w = { .unit = u, .sig = sig, .control_path = cp, .found_new = true };
        int r = 0;

        if (!u || u->fd < 0)
                return -EBADF;
        if (sig <= 0 || sig >= _NSIG)
                return -EINVAL;

        /* Bounded: a fork bomb outruns any number of passes; cgroup.kill is
         * the answer to that, not this. */
        for (int pass = 0; r >= 0 && w.found_new && pass < 16; pass++) {
                w.found_new = false;
                r = signal_procs_at(u->fd, NULL, 0, &w);
        }
        free(w.done);
        if (ret_fallback)
                *ret_fallback = w.fallback;
        return r < 0 ? r : (int) w.n_done;
}

static int events_parse_populated(const char *buf) {
        const char *p;

        p = strstr(buf, "populated ");
        if (!p || (p != buf && p[-1] != '\n'))
                return -EIO;
        p += strlen("populated ");
        if (*p != '0' && *p != '1')
                return -EIO;
        return *p == '1';
}

int cgroup_unit_is_populated(const CgroupUnit *u) {
        char buf[256];
        int r;

        if (!u || u->fd < 0)
                return -EBADF;
        r = read_small_file_at(u->fd, "cgroup.events", buf, sizeof buf);
        if (r < 0)
                return r;
        return events_parse_populated(buf);
}

int cgroup_events_read_populated(int events_fd) {
        char buf[256];
        ssize_t n;

        /* From the start, through this very fd: kernfs keeps signalling
         * POLLPRI on an fd until it has read the file's new contents. */
        do
                n = pread(events_fd, buf, sizeof buf - 1, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        return events_parse_populated(buf);
}

int cgroup_unit_open_events(const CgroupUnit *u) {
        if (!u || u->fd < 0)
                return -EBADF;
        return RET_NERRNO(openat(u->fd, "cgroup.events", O_RDONLY | O_CLOEXEC | O_NOCTTY));
}

/* Depth first: a cgroup with children cannot be removed. */
static int remove_children_at(int dirfd, const char *name, unsigned depth, void *userdata) {
        int r = for_each_child_cgroup(dirfd, depth, remove_children_at, NULL);
        if (r < 0)
                return r;
        if (name) {
                _cleanup_close_ int parent = openat(dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (parent < 0)
                        return negative_errno();
                if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                        return negative_errno();
        }
        return 0;
}

int cgroup_unit_remove(CgroupUnit *u) {
        _cleanup_close_ int parent = -EBADF;
        const char *name;
        int r;

        if (!u || u->fd < 0 || !u->path)
                return -EBADF;
        name = strrchr(u->path, '/');
        if (!name || !name_is_component(name + 1))
                return -EINVAL;
        /* cgroup2 has no rename: the parent of our directory is still the
         * one its path names. */
        parent = openat(u->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent < 0)
                return negative_errno();
        /* Empty and without sub-cgroups, as nearly every unit ends: one
         * step. The kernel refuses a cgroup with processes or children. */
        if (unlinkat(parent, name + 1, AT_REMOVEDIR) < 0) {
                if (errno != EBUSY && errno != ENOTEMPTY)
                        return negative_errno();
                r = cgroup_unit_is_populated(u);
                if (r < 0)
                        return r;
                if (r > 0)
                        return -EBUSY;
                /* Sub-cgroups the workload made go first. */
                r = remove_children_at(u->fd, NULL, 0, NULL);
                if (r < 0)
                        return r;
                if (unlinkat(parent, name + 1, AT_REMOVEDIR) < 0)
                        return negative_errno();
        }
        cgroup_unit_done(u);
        return 0;
}

int cgroup_unit_controllers(const CgroupUnit *u, unsigned *ret) {
        if (!u || u->fd < 0)
                return -EBADF;
        return controllers_mask(u->fd, "cgroup.controllers", ret);
}

static const char *const limit_names[_CGROUP_LIMIT_MAX] = {
        [CGROUP_LIMIT_MEMORY_MAX] = "memory_max",
        [CGROUP_LIMIT_PIDS_MAX] = "pids_max",
        [CGROUP_LIMIT_CPU_WEIGHT] = "cpu_weight",
        [CGROUP_LIMIT_IO_WEIGHT] = "io_weight",
};

static const char *const limit_files[_CGROUP_LIMIT_MAX] = {
        [CGROUP_LIMIT_MEMORY_MAX] = "memory.max",
        [CGROUP_LIMIT_PIDS_MAX] = "pids.max",
        [CGROUP_LIMIT_CPU_WEIGHT] = "cpu.weight",
        [CGROUP_LIMIT_IO_WEIGHT] = "io.weight",
};

static const CgroupController limit_controllers[_CGROUP_LIMIT_MAX] = {
        [CGROUP_LIMIT_MEMORY_MAX] = CGROUP_CONTROLLER_MEMORY,
        [CGROUP_LIMIT_PIDS_MAX] = CGROUP_CONTROLLER_PIDS,
        [CGROUP_LIMIT_CPU_WEIGHT] = CGROUP_CONTROLLER_CPU,
        [CGROUP_LIMIT_IO_WEIGHT] = CGROUP_CONTROLLER_IO,
};

const char *cgroup_limit_to_string(CgroupLimit l) {
        return l >= 0 && l < _CGROUP_LIMIT_MAX ? limit_names[l] : NULL;
}

CgroupController cgroup_limit_controller(CgroupLimit l) {
        return limit_controllers[l];
}

int cgroup_limits_validate(const CgroupLimits *l, const char **ret_reason) {
        const char *reason = NULL;

        if (l->set & ~((1U << _CGROUP_LIMIT_MAX) - 1))
                reason = "unknown cgroup limit";
        else if ((l->set & (1U << CGROUP_LIMIT_PIDS_MAX)) && l->value[CGROUP_LIMIT_PIDS_MAX] == 0)
                reason = "pids_max must be at least 1";
        else
                for (CgroupLimit w = CGROUP_LIMIT_CPU_WEIGHT; w <= CGROUP_LIMIT_IO_WEIGHT; w++)
                        if ((l->set & (1U << w)) && (l->value[w] < 1 || l->value[w] > 10000))
                                reason = w == CGROUP_LIMIT_CPU_WEIGHT ? "cpu_weight must be 1..10000"
                                                                      : "io_weight must be 1..10000";
        if (!reason)
                return 0;
        if (ret_reason)
                *ret_reason = reason;
        return -EINVAL;
}

int cgroup_unit_set_limits(const CgroupUnit *u, const CgroupLimits *l, CgroupLimit *ret_missing) {
        unsigned enabled;
        int r;

        if (!u || u->fd < 0)
                return -EBADF;
        r = cgroup_limits_validate(l, NULL);
        if (r < 0)
                return r;
        r = cgroup_unit_controllers(u, &enabled);
        if (r < 0)
                return r;
        /* All or nothing: check every controller before the first write. */
        for (CgroupLimit i = 0; i < _CGROUP_LIMIT_MAX; i++)
                if ((l->set & (1U << i)) && !(enabled & CGROUP_CONTROLLER_BIT(limit_controllers[i]))) {
                        if (ret_missing)
                                *ret_missing = i;
                        return -EOPNOTSUPP;
                }

        for (CgroupLimit i = 0; i < _CGROUP_LIMIT_MAX; i++) {
                char buf[32];
                if (!(l->set & (1U << i)))
                        continue;
                if (l->value[i] == UINT64_MAX)
                        snprintf(buf, sizeof buf, "max");
                else if (i == CGROUP_LIMIT_IO_WEIGHT)
                        snprintf(buf, sizeof buf, "default %" PRIu64, l->value[i]);
                else
                        snprintf(buf, sizeof buf, "%" PRIu64, l->value[i]);
                r = write_file_at(u->fd, limit_files[i], buf);
                if (r < 0)
                        return r;
        }
        return 0;
}
