/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The parent half of spawning: validate, prepare everything the child will
 * need, create the child along the fallback chain, write its id maps, and
 * hand back the pidfd and the exec-status channel. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>
#include <linux/seccomp.h>
#include <pthread.h>

#include "feature.h"
#include "legacy.h"
#include "netns-pool.h"
#include "missing-pidfd.h"
#include "pidfd-util.h"
#include "spawn-internal.h"
#include "spawn-validate.h"
#include "string-table.h"

#define SPAWN_MAX_TARGET_FD 1023

static const char *const spawn_method_table[_SPAWN_METHOD_MAX] = {
        [SPAWN_METHOD_CLONE3] = "clone3",
        [SPAWN_METHOD_CLONE_PIDFD] = "clone_pidfd",
        [SPAWN_METHOD_FORK_PIDFD_OPEN] = "fork_pidfd_open",
        [SPAWN_METHOD_LEGACY] = "legacy",
};

DEFINE_STRING_TABLE_LOOKUP(spawn_method, SpawnMethod);

static const char *const spawn_step_table[_SPAWN_STEP_MAX] = {
        [SPAWN_STEP_NONE] = "none",
        [SPAWN_STEP_PARENT_WAIT] = "parent-wait",
        [SPAWN_STEP_SIGNALS] = "signals",
        [SPAWN_STEP_HOSTNAME] = "hostname",
        [SPAWN_STEP_MOUNT_PROC] = "mount-proc",
        [SPAWN_STEP_SETSID] = "setsid",
        [SPAWN_STEP_CONTROLLING_TTY] = "controlling-tty",
        [SPAWN_STEP_FDS] = "fds",
        [SPAWN_STEP_CWD] = "cwd",
        [SPAWN_STEP_OOM_SCORE_ADJ] = "oom-score-adj",
        [SPAWN_STEP_RLIMITS] = "rlimits",
        [SPAWN_STEP_NICE] = "nice",
        [SPAWN_STEP_GROUPS] = "groups",
        [SPAWN_STEP_GID] = "gid",
        [SPAWN_STEP_UID] = "uid",
        [SPAWN_STEP_BOUNDING_SET] = "bounding-set",
        [SPAWN_STEP_CAPABILITIES] = "capabilities",
        [SPAWN_STEP_NO_NEW_PRIVS] = "no-new-privs",
        [SPAWN_STEP_INIT_FORK] = "init-fork",
        [SPAWN_STEP_SECCOMP] = "seccomp",
        [SPAWN_STEP_EXEC] = "exec",
        [SPAWN_STEP_PREPARE] = "prepare",
        [SPAWN_STEP_CLONE] = "clone",
        [SPAWN_STEP_UID_MAP] = "uid-map",
        [SPAWN_STEP_SETGROUPS_DENY] = "setgroups-deny",
        [SPAWN_STEP_GID_MAP] = "gid-map",
        [SPAWN_STEP_CGROUP_ATTACH] = "cgroup-attach",
        [SPAWN_STEP_RELEASE] = "release",
        [SPAWN_STEP_PIDFS_ID] = "pidfs-id",
        [SPAWN_STEP_NET_NAMESPACE] = "net-namespace",
};

/* Never NULL: it goes straight into an error message. */
const char *spawn_step_to_string(SpawnStep s) {
        return s >= 0 && s < _SPAWN_STEP_MAX ? spawn_step_table[s] : "unknown";
}

void spawn_request_init(SpawnRequest *req) {
        *req = (SpawnRequest) {
                .no_new_privileges = true,
                .cgroup_fd = -EBADF,
                .exe_fd = -EBADF,
                .umask = 0022,
                .setsid = true,
                .control_path = CONTROL_PATH_AUTO,
        };
}

void spawned_done(Spawned *s) {
        if (!s)
                return;
        process_done(&s->process);
        s->status_fd = safe_close(s->status_fd);
}

/* The bounding set, read once (spawning threads may ask at the same time):
 * a process's bounding set only ever shrinks, so a capability missing here
 * is missing in every child, which then has only the rest to drop. */
static uint64_t bounding_set_cached;
static pthread_once_t bounding_set_once = PTHREAD_ONCE_INIT;

static void bounding_set_read(void) {
        for (int cap = 0; cap <= capability_last_cap(); cap++)
                /* Unknown answer: let the child try the drop. */
                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 0)
                        bounding_set_cached |= UINT64_C(1) << cap;
}

static uint64_t bounding_set(void) {
        (void) pthread_once(&bounding_set_once, bounding_set_read);
        return bounding_set_cached;
}

/* Signals not at SIG_DFL here, ignored (SigIgn) or caught (SigCgt), bit
 * (sig - 1) each: one read of /proc/self/status, current at every spawn
 * whoever changed a disposition. All of them when it cannot be read. */
static uint64_t signals_not_default(void) {
        char buf[4096];
        uint64_t mask = 0;
        unsigned found = 0;
        ssize_t n;
        int fd;

        fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return UINT64_MAX;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return UINT64_MAX;
        buf[n] = '\0';
        static const char *const keys[] = { "\nSigIgn:\t", "\nSigCgt:\t" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *p = strstr(buf, keys[i]);
                char *end;
                if (!p)
                        continue;
                errno = 0;
                unsigned long long v = strtoull(p + strlen(keys[i]), &end, 16);
                if (errno != 0 || *end != '\n')
                        continue;
                mask |= v;
                found++;
        }
        return found == ELEMENTSOF(keys) ? mask : UINT64_MAX;
}

static bool id_maps_valid(const IdMapping *m, size_t n) {
        if (n == 0 || n > SPAWN_MAX_ID_MAPS)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (m[i].count == 0 || m[i].inside > UINT32_MAX - m[i].count ||
                    m[i].outside > UINT32_MAX - m[i].count)
                        return false;
                for (size_t j = 0; j < i; j++) {
                        bool in_overlap = m[i].inside < m[j].inside + m[j].count &&
                                          m[j].inside < m[i].inside + m[i].count;
                        bool out_overlap = m[i].outside < m[j].outside + m[j].count &&
                                           m[j].outside < m[i].outside + m[i].count;
                        if (in_overlap || out_overlap)
                                return false;
                }
        }
        return true;
}

static bool id_mapped(const IdMapping *m, size_t n, uint32_t id) {
        for (size_t i = 0; i < n; i++)
                if (id >= m[i].inside && id - m[i].inside < m[i].count)
                        return true;
        return false;
}

#define INVALID(reason)                         \
        do {                                    \
                if (ret_reason)                 \
                        *ret_reason = (reason); \
                return -EINVAL;                 \
        } while (0)

int spawn_request_validate(const SpawnRequest *req, const char **ret_reason) {
        bool userns = req->namespaces & (UINT64_C(1) << NAMESPACE_USER);

        /* pkexec's CVE-2021-4034 began with argc == 0. */
        if (!req->argv || !req->argv[0])
                INVALID("argv is empty");
        if (req->argv[0][0] == '\0')
                INVALID("argv[0] is empty");
        if (req->exe_fd < 0 && req->argv[0][0] != '/')
                INVALID("argv[0] is not an absolute path (there is no PATH search)");
        for (char **e = req->env; e && *e; e++)
                if (!env_assignment_is_valid(*e))
                        INVALID("environment entry without a name");

        for (size_t i = 0; i < req->n_fds; i++) {
                if (req->fds[i].target < 0 || req->fds[i].target > SPAWN_MAX_TARGET_FD)
                        INVALID("target fd out of range (0..1023)");
                if (req->fds[i].fd < 0)
                        INVALID("passed fd is invalid");
                for (size_t j = 0; j < i; j++)
                        if (req->fds[i].target == req->fds[j].target)
                                INVALID("duplicate target fd");
        }

        if (req->controlling_tty) {
                bool has_stdin = false;

                /* Only a session leader without one may take a terminal. */
                if (!req->setsid)
                        INVALID("controlling_tty needs setsid");
                for (size_t i = 0; i < req->n_fds; i++)
                        has_stdin = has_stdin || req->fds[i].target == 0;
                if (!has_stdin)
                        INVALID("controlling_tty needs a terminal as fd 0");
        }

        if (req->cwd && req->cwd[0] != '/')
                INVALID("cwd is not an absolute path");
        if (req->uid == (uid_t) -1 || req->gid == (gid_t) -1)
                INVALID("uid or gid is -1");
        if (req->n_groups > NGROUPS_MAX)
                INVALID("too many supplementary groups");
        for (size_t i = 0; i < req->n_groups; i++)
                if (req->groups[i] == (gid_t) -1)
                        INVALID("supplementary group is -1");
        if (req->namespaces & ~((UINT64_C(1) << _NAMESPACE_MAX) - 1))
                INVALID("unknown namespace");

        if ((req->n_uid_map > 0 || req->n_gid_map > 0) && !userns)
                INVALID("uid_map/gid_map need a user namespace");
        if (req->n_uid_map > 0 && !id_maps_valid(req->uid_map, req->n_uid_map))
                INVALID("bad uid_map (empty range, overflow or overlap)");
        if (req->n_gid_map > 0 && !id_maps_valid(req->gid_map, req->n_gid_map))
                INVALID("bad gid_map (empty range, overflow or overlap)");
        if (userns) {
                if (req->n_uid_map > 0 && !id_mapped(req->uid_map, req->n_uid_map, req->uid))
                        INVALID("user is not mapped into the user namespace");
                if (req->n_gid_map > 0 && !id_mapped(req->gid_map, req->n_gid_map, req->gid))
                        INVALID("group is not mapped into the user namespace");
        }

        if (req->hostname) {
                size_t len = strlen(req->hostname);
                if (!(req->namespaces & (UINT64_C(1) << NAMESPACE_UTS)))
                        INVALID("hostname needs a uts namespace");
                if (len == 0 || len > 64)
                        INVALID("hostname must be 1..64 bytes");
        }
        if (req->capabilities >> (capability_last_cap() + 1) != 0 && capability_last_cap() < 63)
                INVALID("unknown capability");
        if (req->umask & ~0777)
                INVALID("umask beyond 0777");

        if (req->rlimits_set >> RLIMIT_NLIMITS != 0)
                INVALID("unknown rlimit");
        for (int i = 0; i < RLIMIT_NLIMITS; i++)
                if ((req->rlimits_set & (UINT32_C(1) << i)) && req->rlimits[i].rlim_cur > req->rlimits[i].rlim_max)
                        INVALID("rlimit soft limit above its hard limit");
        if (req->nice_set && (req->nice < -20 || req->nice > 19))
                INVALID("nice must be -20..19");
        if (req->oom_score_adj_set && (req->oom_score_adj < -1000 || req->oom_score_adj > 1000))
                INVALID("oom_score_adj must be -1000..1000");
        return 0;
}

/* Write "inside outside count" lines; the default maps the workload's own
 * id onto itself. */
static int write_id_map(pid_t pid, const char *file, const IdMapping *m, size_t n, uint32_t self) {
        char path[64], buf[SPAWN_MAX_ID_MAPS * 36];
        size_t len = 0;
        IdMapping def = { self, self, 1 };
        _cleanup_close_ int fd = -EBADF;

        if (n == 0) {
                m = &def;
                n = 1;
        }
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(buf + len, sizeof buf - len, "%u %u %u\n", m[i].inside, m[i].outside,
                                         m[i].count);
        snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, file);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        /* The kernel takes the whole map in one write, once. */
        if (write(fd, buf, len) != (ssize_t) len)
                return negative_errno();
        return 0;
}

/* Before gid_map: nothing in the new user namespace may call setgroups().
 * Its groups are the ones it was born with (spawn_start()), and dropping
 * one is a privilege (deny-by-group permissions rely on it), which is why
 * the kernel itself denies it in namespaces unprivileged users make. */
static int deny_setgroups(pid_t pid) {
        char path[64];
        _cleanup_close_ int fd = -EBADF;

        snprintf(path, sizeof path, "/proc/%d/setgroups", (int) pid);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (write(fd, "deny", 4) != 4)
                return negative_errno();
        return 0;
}

/* The supplementary groups of this thread alone (the raw syscall, not glibc's
 * process-wide broadcast): a child of a user-namespace clone is born with
 * them, since it cannot set them itself once setgroups is denied. */
static int thread_set_groups(size_t n, const gid_t *groups) {
        return syscall(SYS_setgroups, n, groups) < 0 ? negative_errno() : 0;
}

/* Did a call fail because the syscall is missing (or filtered), rather than
 * because of these arguments? Ask the kernel a question only it answers with
 * EINVAL: a filter answers first, with its own errno. */
static bool clone3_missing(int err) {
        if (err != ENOSYS && err != EPERM)
                return false;
        return sys_clone3(NULL, 0) != -EINVAL;
}

static bool clone_pidfd_missing(int err) {
        if (err != ENOSYS && err != EPERM)
                return false;
        /* CLONE_PIDFD with CLONE_THREAD is EINVAL in every kernel that has it. */
        int fd = -1;
        return sys_clone(CLONE_PIDFD | CLONE_THREAD, &fd) != -EINVAL;
}

static bool pidfd_open_missing(int err) {
        return errno_is_not_supported(err);
}

/* Kill and reap a child we could not finish setting up. */
static void child_abort(pid_t pid, int pidfd) {
        siginfo_t si;

        if (pidfd >= 0)
                (void) sys_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
        else
                kill(pid, SIGKILL);
        (void) waitid(P_PID, (id_t) pid, &si, WEXITED);
}

/* Create the child along the chain clone3 → clone(CLONE_PIDFD) → clone +
 * pidfd_open → bare pid. Each step runs only when the one before is missing.
 * Returns the pid in the parent (with *ret_pidfd, -EBADF on the legacy
 * path), 0 in the child, -errno on failure. */
static pid_t create_child(const SpawnRequest *req, uint64_t flags, bool parent_joins_cgroup, int *ret_pidfd,
                          SpawnMethod *ret_method) {
        ControlPath cp = req->control_path;
        int pidfd = -1;
        pid_t pid;

        if (cp != CONTROL_PATH_LEGACY && feature_available(FEATURE_CLONE3)) {
                struct pb_clone_args args = {
                        .flags = flags | CLONE_PIDFD,
                        .pidfd = (uint64_t) (uintptr_t) &pidfd,
                        .exit_signal = SIGCHLD,
                };
                if (req->cgroup_fd >= 0) {
                        args.flags |= CLONE_INTO_CGROUP;
                        args.cgroup = (uint64_t) req->cgroup_fd;
                }
                pid = sys_clone3(&args, sizeof args);
                if (pid >= 0) {
                        *ret_pidfd = pidfd;
                        *ret_method = SPAWN_METHOD_CLONE3;
                        return pid;
                }
                /* The kernel may have written a number into the slot that is
                 * not an open fd: never let cleanup close it. */
                pidfd = -1;
                /* From the return value: the probe in clone3_missing() sets errno anew. */
                if (!clone3_missing(-pid))
                        return pid;
                feature_mark_missing(FEATURE_CLONE3, -pid);
        }

        /* Only clone3 can create a time namespace; a child cloned otherwise
         * is moved into its cgroup by the parent, which must have prepared
         * for it (see spawn_start()). */
        if ((req->cgroup_fd >= 0 && !parent_joins_cgroup) || (flags & CLONE_NEWTIME))
                return -EOPNOTSUPP;

        if (cp != CONTROL_PATH_LEGACY && feature_available(FEATURE_CLONE_PIDFD)) {
                pid = sys_clone((unsigned long) (flags | CLONE_PIDFD) | SIGCHLD, &pidfd);
                if (pid == 0)
                        return 0;
                if (pid > 0) {
                        /* An old kernel ignores CLONE_PIDFD silently: a slot
                         * still at -1 means there is no pidfd. */
                        if (pidfd >= 0) {
                                *ret_pidfd = pidfd;
                                *ret_method = SPAWN_METHOD_CLONE_PIDFD;
                                return pid;
                        }
                        feature_mark_missing(FEATURE_CLONE_PIDFD, EINVAL);
                        goto have_child;
                }
                pidfd = -1;
                if (!clone_pidfd_missing(-pid))
                        return pid;
                feature_mark_missing(FEATURE_CLONE_PIDFD, -pid);
        }

        pid = sys_clone((unsigned long) flags | SIGCHLD, NULL);
        if (pid <= 0)
                return pid;

have_child:
        /* Unreaped, the child's pid cannot be recycled: pidfd_open now pins
         * exactly it. */
        if (cp != CONTROL_PATH_LEGACY && feature_available(FEATURE_PIDFD_OPEN)) {
                int r = sys_pidfd_open(pid, 0);
                if (r >= 0) {
                        *ret_pidfd = r;
                        *ret_method = SPAWN_METHOD_FORK_PIDFD_OPEN;
                        return pid;
                }
                if (!pidfd_open_missing(r)) {
                        child_abort(pid, -1);
                        return r;
                }
                feature_mark_missing(FEATURE_PIDFD_OPEN, -r);
        }

        if (!control_path_allows_legacy(cp)) {
                child_abort(pid, -1);
                return -EOPNOTSUPP;
        }
        *ret_pidfd = -EBADF;
        *ret_method = SPAWN_METHOD_LEGACY;
        return pid;
}

/* A plain spawn's child shares our memory and fd table until it execs, as
 * posix_spawn()'s does: no copy of the daemon's page tables, no copy-on-write
 * faults after it, no copy of its fd table (one pidfd per live workload), and
 * the exec result is known when clone3 returns, since CLONE_VFORK keeps us
 * waiting until the child has exec'd or exited. It runs on a stack of its own
 * carved from our frame, never returning through our frames: the switch is
 * written for x86-64 only, and left out under AddressSanitizer, whose stack
 * bookkeeping cannot follow it; elsewhere every child is a copy. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPAWN_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_UNDER_ASAN 1
#endif
#if defined(__x86_64__) && !defined(SPAWN_UNDER_ASAN)
#define HAVE_SHARED_CHILD 1
#else
#define HAVE_SHARED_CHILD 0
#endif

#define SHARED_CHILD_STACK_SIZE (64 * 1024)

#if HAVE_SHARED_CHILD
/* clone3() whose child calls spawn_child(c) on the stack args names. Only
 * rax, rcx and r11 change across syscall: fn and c ride in r12 and r13. */
static pid_t clone3_run_child(struct pb_clone_args *args, const ChildContext *c) {
        register long rax __asm__("rax") = __NR_clone3;
        register struct pb_clone_args *rdi __asm__("rdi") = args;
        register size_t rsi __asm__("rsi") = sizeof *args;
        register void (*r12)(const ChildContext *) __asm__("r12") = spawn_child;
        register const ChildContext *r13 __asm__("r13") = c;

        __asm__ volatile("syscall\n\t"
                         "testq %%rax, %%rax\n\t"
                         "jnz 1f\n\t"
                         "xorl %%ebp, %%ebp\n\t"
                         "movq %%r13, %%rdi\n\t"
                         "callq *%%r12\n\t"
                         "ud2\n"
                         "1:"
                         : "+r"(rax)
                         : "r"(rdi), "r"(rsi), "r"(r12), "r"(r13)
                         : "rcx", "r11", "memory", "cc");
        return (pid_t) rax;
}

/* One past the highest fd the child needs from us: the passed fds, the exe
 * fd and /dev/null. */
static int child_fd_table_end(const SpawnRequest *req, int devnull) {
        int end = MAX(devnull, req->exe_fd) + 1;

        for (size_t i = 0; i < req->n_fds; i++)
                end = MAX(end, req->fds[i].fd + 1);
        return end;
}

static pid_t create_shared_child(const SpawnRequest *req, const ChildContext *c, int *ret_pidfd) {
        _Alignas(16) char stack[SHARED_CHILD_STACK_SIZE];
        sigset_t all, saved;
        int pidfd = -1;
        pid_t pid;

        struct pb_clone_args args = {
                .flags = CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
                .stack = (uint64_t) (uintptr_t) stack,
                .stack_size = sizeof stack,
        };
        if (req->cgroup_fd >= 0) {
                args.flags |= CLONE_INTO_CGROUP;
                args.cgroup = (uint64_t) req->cgroup_fd;
        }
        /* No handler of ours may run in the child on our memory: it is born
         * with every signal blocked, and unblocks them once it has reset
         * the handlers (spawn_child() step 2). */
        sigfillset(&all);
        if (sigprocmask(SIG_SETMASK, &all, &saved) < 0)
                return negative_errno();
        pid = clone3_run_child(&args, c);
        (void) sigprocmask(SIG_SETMASK, &saved, NULL);
        if (pid < 0)
                return pid;
        *ret_pidfd = pidfd;
        return pid;
}
#endif

/* Where a workload's pidfd is kept: above the fds a spawn passes, so that a
 * child sharing our fd table copies only those (spawn_child() step 0). Read
 * once, after pidbrokerd raised its soft fd limit. */
static int fd_base;
static pthread_once_t fd_base_once = PTHREAD_ONCE_INIT;

static void fd_base_read(void) {
        struct rlimit l;

        if (getrlimit(RLIMIT_NOFILE, &l) == 0 && l.rlim_cur >= 2048)
                fd_base = 1024;
}

int spawn_fd_keep_high(int fd) {
        int base, moved;

        (void) pthread_once(&fd_base_once, fd_base_read);
        base = fd_base;
        if (fd < 0 || fd >= base)
                return fd;
        moved = fcntl(fd, F_DUPFD_CLOEXEC, base);
        if (moved < 0)
                return fd; /* full up there: it stays where it is */
        safe_close(fd);
        return moved;
}

/* Write pid into the cgroup directory's cgroup.procs. */
static int cgroup_attach(int cgroup_fd, pid_t pid) {
        _cleanup_close_ int fd = -EBADF;
        char buf[16];
        int len;

        fd = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        len = snprintf(buf, sizeof buf, "%d", (int) pid);
        if (write(fd, buf, (size_t) len) != len)
                return negative_errno();
        return 0;
}

/* Our own namespace ids, read once: nothing in pidbroker moves the daemon
 * itself into another namespace. 0 where unreadable. */
static uint64_t own_namespace_ids[_NAMESPACE_MAX];
static pthread_once_t own_namespace_once = PTHREAD_ONCE_INIT;

static void own_namespaces_read(void) {
        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++)
                (void) namespace_id_from_proc(0, t, &own_namespace_ids[t]);
}

static uint64_t own_namespace_id(NamespaceType t) {
        (void) pthread_once(&own_namespace_once, own_namespaces_read);
        return own_namespace_ids[t];
}

/* The child's namespace ids: of the new ones from its pidfd, of the others
 * our own. 0 where unreadable; -ESRCH when the child was already gone
 * (its namespaces with it). */
static int read_namespaces(const SpawnRequest *req, const Process *child, uint64_t ret[static _NAMESPACE_MAX]) {
        int r = 0;

        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                uint64_t id = 0;
                if (!(req->namespaces & (UINT64_C(1) << t)))
                        id = own_namespace_id(t);
                else if (ret[t] != 0)
                        continue; /* known already: a ready one the child joins */
                else if (process_namespace_id(child, t, &id) == -ESRCH)
                        r = -ESRCH;
                ret[t] = id;
        }
        return r;
}

/* A child gone before we could read its namespaces named them, first
 * thing, on a pipe of their own (report_namespace_ids()). Gone, it has
 * written all it ever will: nothing to wait for. */
static void read_namespaces_reported(int fd, uint64_t mask, uint64_t ret[static _NAMESPACE_MAX]) {
        StatusRecord recs[_NAMESPACE_MAX];
        size_t n = (size_t) __builtin_popcountll(mask);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t k;

        if (n == 0 || poll(&p, 1, 0) <= 0)
                return;
        do
                k = read(fd, recs, n * sizeof recs[0]);
        while (k < 0 && errno == EINTR);
        for (ssize_t i = 0; k > 0 && i < k / (ssize_t) sizeof recs[0]; i++)
                if (recs[i].kind == STATUS_NAMESPACE && recs[i].step >= 0 && recs[i].step < _NAMESPACE_MAX &&
                    (mask & (UINT64_C(1) << recs[i].step)))
                        ret[recs[i].step] = (uint64_t) (uint32_t) recs[i].err << 32 | (uint32_t) recs[i].status;
}

/* The shared child (above) is for plain spawns only: a child that waits for
 * us (user namespace maps, a cgroup joined by hand) or becomes an init never
 * execs in time, and those exist only with namespaces. */
bool spawn_would_share(const SpawnRequest *req) {
        return HAVE_SHARED_CHILD && !req->copy_child && req->namespaces == 0 &&
               req->control_path != CONTROL_PATH_LEGACY && feature_available(FEATURE_CLONE3);
}

/* Returns the pid, or -errno; -EOPNOTSUPP when such a child cannot be made
 * here, and the caller makes a copy instead. */
static pid_t spawn_shared_child(const SpawnRequest *req, ChildContext *c, StatusRecord *result, int *ret_pidfd) {
#if HAVE_SHARED_CHILD
        if (!spawn_would_share(req))
                return -EOPNOTSUPP;
        *result = (StatusRecord) {};
        c->result = result;
        c->shares_fd_table = true;
        c->fd_table_end = child_fd_table_end(req, c->devnull_fd);
        pid_t pid = create_shared_child(req, c, ret_pidfd);
        c->result = NULL;
        c->shares_fd_table = false;
        /* Missing, filtered or refused in this combination: the copy path
         * finds out which, and what to fall back to. */
        if (pid == -ENOSYS || pid == -EPERM || pid == -EINVAL)
                return -EOPNOTSUPP;
        return pid;
#else
        return -EOPNOTSUPP;
#endif
}

/* Every other child is a copy of us, made along the fallback chain, which
 * may wait for us: the user namespace's maps, a cgroup joined by hand, and
 * the new namespaces named before it may exit. Returns the pid (with
 * *ret_pidfd and *ret_method; ret->status_fd, has_init and namespaces set)
 * or -errno, with the child killed and reaped. */
static pid_t spawn_copied_child(const SpawnRequest *req, ChildContext *c, uint64_t flags, Spawned *ret,
                                int *ret_pidfd, SpawnMethod *ret_method) {
        _cleanup_close_pair_ int status_pipe[2] = { -EBADF, -EBADF };
        _cleanup_close_pair_ int sync_pipe[2] = { -EBADF, -EBADF };
        _cleanup_close_pair_ int ns_pipe[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF, netns = -EBADF;
        bool userns = c->userns;
        SpawnMethod method;
        pid_t pid;
        int r;

        ret->failed_step = SPAWN_STEP_PREPARE;

        /* A ready network namespace, where the child would have made one
         * owned by the daemon's user namespace: in a new user namespace,
         * the new one must own it. */
        memset(ret->namespaces, 0, sizeof ret->namespaces);
        if ((flags & CLONE_NEWNET) && !userns && netns_pool_take(&netns, &ret->namespaces[NAMESPACE_NET]) >= 0)
                flags &= ~(uint64_t) CLONE_NEWNET;

        if (pipe2(status_pipe, O_CLOEXEC) < 0)
                return negative_errno();
        c->status_fd = status_pipe[1];
        /* Without clone3 (known now) the parent moves the child into its
         * cgroup before the child may go on. */
        bool join_cgroup = req->cgroup_fd >= 0 &&
                           (req->control_path == CONTROL_PATH_LEGACY || !feature_available(FEATURE_CLONE3));
        /* New namespaces are named (Spawned.namespaces) from the child's
         * pidfd without making it wait for us: a workload that exits at once
         * leaves none to read there, and so the child names them on a pipe
         * too. Where the child waits anyway, they are read then. */
        bool child_waits = userns || join_cgroup;
        uint64_t report = child_waits ? 0 : req->namespaces & ~(netns >= 0 ? UINT64_C(1) << NAMESPACE_NET : 0);
        if (child_waits && pipe2(sync_pipe, O_CLOEXEC) < 0)
                return negative_errno();
        if (report != 0 && pipe2(ns_pipe, O_CLOEXEC) < 0)
                return negative_errno();
        c->parent_sync_fd = sync_pipe[0];
        c->namespaces_fd = ns_pipe[1];
        c->report_namespaces = report;
        c->netns_fd = netns;

        _cleanup_free_ gid_t *own_groups = NULL;
        int n_own_groups = 0;
        if (userns) {
                n_own_groups = getgroups(0, NULL);
                if (n_own_groups < 0)
                        return negative_errno();
                own_groups = calloc((size_t) n_own_groups + 1, sizeof(gid_t));
                if (!own_groups)
                        return -ENOMEM;
                n_own_groups = getgroups(n_own_groups, own_groups);
                if (n_own_groups < 0)
                        return negative_errno();
                r = thread_set_groups(req->n_groups, req->groups);
                if (r < 0)
                        return r;
        }
        ret->failed_step = SPAWN_STEP_CLONE;
        pid = create_child(req, flags, join_cgroup, &pidfd, &method);
        if (pid == 0)
                spawn_child(c);
        /* Taking back what we just gave away cannot fail; if it did, this
         * thread would go on with a workload's groups: stop. */
        if (userns && thread_set_groups((size_t) n_own_groups, own_groups) < 0)
                abort();
        if (pid < 0) {
                pidfd = -EBADF;
                return pid;
        }

        status_pipe[1] = safe_close(status_pipe[1]);
        sync_pipe[0] = safe_close(sync_pipe[0]);
        ns_pipe[1] = safe_close(ns_pipe[1]);
        netns = safe_close(netns);

        if (sync_pipe[1] >= 0) {
                r = 0;
                if (userns) {
                        ret->failed_step = SPAWN_STEP_UID_MAP;
                        r = write_id_map(pid, "uid_map", req->uid_map, req->n_uid_map, req->uid);
                }
                if (r >= 0 && userns) {
                        ret->failed_step = SPAWN_STEP_SETGROUPS_DENY;
                        r = deny_setgroups(pid);
                }
                if (r >= 0 && userns) {
                        ret->failed_step = SPAWN_STEP_GID_MAP;
                        r = write_id_map(pid, "gid_map", req->gid_map, req->n_gid_map, req->gid);
                }
                /* Unreaped, the child's pid names it alone. */
                if (r >= 0 && join_cgroup && method != SPAWN_METHOD_CLONE3) {
                        ret->failed_step = SPAWN_STEP_CGROUP_ATTACH;
                        r = cgroup_attach(req->cgroup_fd, pid);
                }
                if (r >= 0)
                        (void) read_namespaces(req, &(Process) { .pid = pid, .fd = pidfd }, ret->namespaces);
                if (r >= 0) {
                        ret->failed_step = SPAWN_STEP_RELEASE;
                        if (write(sync_pipe[1], "x", 1) != 1)
                                r = negative_errno();
                }
                if (r < 0) {
                        child_abort(pid, pidfd);
                        return r;
                }
                sync_pipe[1] = safe_close(sync_pipe[1]);
        }

        if (!child_waits && read_namespaces(req, &(Process) { .pid = pid, .fd = pidfd }, ret->namespaces) == -ESRCH)
                read_namespaces_reported(ns_pipe[0], report, ret->namespaces);

        /* The next one made now, while the child sets itself up, rather than
         * in the clone of the next spawn. */
        if ((req->namespaces & (UINT64_C(1) << NAMESPACE_NET)) && !userns)
                (void) netns_pool_fill();

        ret->status_fd = TAKE_FD(status_pipe[0]);
        ret->has_init = c->with_init;
        *ret_pidfd = TAKE_FD(pidfd);
        *ret_method = method;
        return pid;
}

/* The filter this thread took for good (spawn_thread_take_filter()): a
 * copy, as the profile may go before the thread does, freed with the
 * thread. */
static __thread struct sock_fprog thread_filter;
static pthread_key_t thread_filter_key;
static int thread_filter_key_error;
static pthread_once_t thread_filter_once = PTHREAD_ONCE_INIT;

static void thread_filter_key_init(void) {
        thread_filter_key_error = pthread_key_create(&thread_filter_key, free);
}

static bool thread_filter_is(const SeccompProfile *p) {
        return p && thread_filter.filter && thread_filter.len == p->prog.len &&
               memcmp(thread_filter.filter, p->prog.filter, p->prog.len * sizeof *p->prog.filter) == 0;
}

int spawn_thread_take_filter(const SeccompProfile *p) {
        _cleanup_free_ struct sock_filter *copy = NULL;

        if (thread_filter.filter)
                return thread_filter_is(p) ? 0 : -EBUSY;
        if (!p || !p->inheritable)
                return -EOPNOTSUPP;
        if (pthread_once(&thread_filter_once, thread_filter_key_init) != 0 || thread_filter_key_error != 0)
                return -ENOMEM;
        copy = malloc(p->prog.len * sizeof *p->prog.filter);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, p->prog.filter, p->prog.len * sizeof *p->prog.filter);
        /* Freed with the thread from here on. */
        if (pthread_setspecific(thread_filter_key, copy) != 0)
                return -ENOMEM;
        /* This thread holds CAP_SYS_ADMIN: no no_new_privs needed, and
         * without SECCOMP_FILTER_FLAG_TSYNC no other thread is touched. */
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p->prog) < 0) {
                int r = negative_errno();
                (void) pthread_setspecific(thread_filter_key, NULL);
                return r;
        }
        thread_filter = (struct sock_fprog) { .len = p->prog.len, .filter = TAKE_PTR(copy) };
        return 0;
}

static int spawn_start_once(const SpawnRequest *req, Spawned *ret) {
        _cleanup_close_ int devnull = -EBADF, pidfd = -EBADF;
        StatusRecord shared_result;
        SpawnMethod method = SPAWN_METHOD_CLONE3;
        uint64_t flags = 0;
        ChildContext c;
        pid_t pid;
        int r;

        ret->failed_step = SPAWN_STEP_NONE;
        r = spawn_request_validate(req, NULL);
        if (r < 0)
                return r;

        ret->failed_step = SPAWN_STEP_PREPARE;

        /* Our children are born under our filter: only the ones that want
         * exactly that filter are made here. */
        bool filter_inherited = thread_filter_is(req->seccomp);
        if (thread_filter.filter && !filter_inherited)
                return -EXDEV;

        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++)
                if (req->namespaces & (UINT64_C(1) << t))
                        flags |= namespace_clone_flag(t);

        devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (devnull < 0)
                return negative_errno();

        c = (ChildContext) {
                .req = req,
                .status_fd = -EBADF,
                .parent_sync_fd = -EBADF,
                .namespaces_fd = -EBADF,
                .netns_fd = -EBADF,
                .userns = req->namespaces & (UINT64_C(1) << NAMESPACE_USER),
                .devnull_fd = devnull,
                .max_target = 2,
                .cap_last_cap = capability_last_cap(),
                .bounding_set = bounding_set(),
                .reset_signals = signals_not_default(),
                .with_init = req->namespaces & (UINT64_C(1) << NAMESPACE_PID),
                .mount_proc = (req->namespaces & (UINT64_C(1) << NAMESPACE_PID)) &&
                              (req->namespaces & (UINT64_C(1) << NAMESPACE_MOUNT)),
                .filter_inherited = filter_inherited,
        };
        for (size_t i = 0; i < req->n_fds; i++)
                if (req->fds[i].target > c.max_target)
                        c.max_target = req->fds[i].target;

        /* Let libcap-ng read what it needs (cap_last_cap) here, not in the
         * child. A child sharing our memory leaves this thread's libcap-ng
         * state set for its own pid and capabilities: nothing of the daemon
         * reads it (the child sets both anew, the daemon asks capget()
         * itself), so it is not put back. */
        capng_clear(CAPNG_SELECT_BOTH);

        ret->failed_step = SPAWN_STEP_CLONE;
        pid = spawn_shared_child(req, &c, &shared_result, &pidfd);
        if (pid >= 0) {
                /* It has exec'd or exited: its result is in. */
                ret->exec_known = true;
                ret->exec_error = shared_result.kind == STATUS_EXEC_OK       ? 0
                                  : shared_result.kind == STATUS_EXEC_FAILED ? -abs(shared_result.err ?: EIO)
                                                                             : -EIO;
                ret->exec_step = shared_result.kind == STATUS_EXEC_FAILED ? shared_result.step : SPAWN_STEP_NONE;
                read_namespaces(req, NULL, ret->namespaces);
        } else if (pid == -EOPNOTSUPP) {
                pid = spawn_copied_child(req, &c, flags, ret, &pidfd, &method);
                if (pid < 0)
                        return pid;
        } else
                return pid;

        /* clone told us the pid: only the pidfs identity is left to read. */
        uint64_t id = 0;
        if (pidfd >= 0) {
                ret->failed_step = SPAWN_STEP_PIDFS_ID;
                r = pidfd_get_id(pidfd, &id);
                if (r < 0 && r != -EOPNOTSUPP) {
                        child_abort(pid, pidfd);
                        ret->status_fd = safe_close(ret->status_fd);
                        return r;
                }
        }
        ret->process = (Process) { .pid = pid, .fd = spawn_fd_keep_high(TAKE_FD(pidfd)), .id = id };
        ret->failed_step = SPAWN_STEP_NONE;
        ret->method = method;
        return 0;
}

int spawn_start(const SpawnRequest *req, Spawned *ret) {
        int r = spawn_start_once(req, ret);

        /* clone3 turned out missing only now (a seccomp filter installed
         * after the probe): once more, with the parent ready to move the
         * child into its cgroup. */
        if (r == -EOPNOTSUPP && req->cgroup_fd >= 0 && !feature_available(FEATURE_CLONE3))
                r = spawn_start_once(req, ret);
        return r;
}

static int read_record(int fd, StatusRecord *rec) {
        ssize_t n;

        do
                n = read(fd, rec, sizeof *rec);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        if (n == 0)
                return 0;
        if (n != (ssize_t) sizeof *rec)
                return -EIO;
        return 1;
}

int spawn_read_exec_status(Spawned *s, SpawnStep *ret_step) {
        StatusRecord rec;
        int r;

        if (ret_step)
                *ret_step = SPAWN_STEP_NONE;
        if (s->exec_known) {
                if (ret_step && s->exec_error < 0)
                        *ret_step = s->exec_step >= 0 && s->exec_step < _SPAWN_STEP_MAX ? (SpawnStep) s->exec_step
                                                                                     : SPAWN_STEP_NONE;
                return s->exec_error;
        }
        r = read_record(s->status_fd, &rec);
        if (r == -EAGAIN)
                return 1;
        if (r < 0)
                return r;
        if (r == 0) {
                /* Without an init, EOF is the exec closing the channel. With
                 * one, EOF before its report means the init itself died. */
                if (!s->has_init)
                        return 0;
                if (ret_step)
                        *ret_step = SPAWN_STEP_INIT_FORK;
                return -ECHILD;
        }
        if (rec.kind == STATUS_EXEC_OK)
                return 0;
        if (rec.kind != STATUS_EXEC_FAILED)
                return -EIO;
        if (ret_step)
                *ret_step = rec.step >= 0 && rec.step < _SPAWN_STEP_MAX ? (SpawnStep) rec.step : SPAWN_STEP_NONE;
        return rec.err > 0 ? -rec.err : -EIO;
}

int spawn_read_exit_status(Spawned *s, int *ret_status) {
        StatusRecord rec;
        int r;

        if (!s->has_init || s->status_fd < 0)
                return -ENODATA;
        r = read_record(s->status_fd, &rec);
        if (r < 0)
                return r == -EAGAIN ? -ENODATA : r;
        if (r == 0 || rec.kind != STATUS_EXITED)
                return -ENODATA;
        *ret_status = rec.status;
        return 0;
}

int spawn_run(const SpawnRequest *req, Spawned *ret, SpawnStep *ret_step) {
        Spawned s = SPAWNED_NULL;
        int r;

        r = spawn_start(req, &s);
        if (r < 0)
                return r;
        r = spawn_read_exec_status(&s, ret_step);
        if (r > 0)
                r = -EIO; /* a blocking read has an answer */
        if (r < 0) {
                siginfo_t si;
                (void) process_wait(&s.process, WEXITED, &si);
                spawned_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}
