/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The post-clone child, one linear function in the order things happen.
 *
 * After a raw clone3() the child shares nothing with glibc's fork handlers:
 * no malloc, no stdio, no NSS, and no glibc wrapper that assumes its thread
 * list (setresuid() would broadcast to threads that do not exist here). So
 * credentials change through raw syscalls, every buffer is on the stack, and
 * a failed step is written to the exec-status channel before _exit().
 *
 * A plain spawn's child shares the daemon's memory and fd table until it
 * execs, as posix_spawn()'s does (spawn.c): the daemon waits meanwhile, the
 * child writes into nothing of the daemon's but its own stack, its result
 * (ChildContext.result) and what is per thread here (errno, libcap-ng's
 * state, the report target below), and it takes a table of its own before it
 * touches an fd. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cap-ng.h>

#include "config.h"
#if HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h> /* name_init() */
#endif
#include "missing-pidfd.h"
#include "pidfd-util.h"
#include "spawn-internal.h"

/* Where a failure is reported: the status channel, or, in a workload behind
 * our init, the pipe to the init, which forwards it; in a child sharing the
 * daemon's memory, the record the daemon reads once we exec or exit. Per
 * thread: two daemon threads may each have such a child at once. */
static __thread int report_fd = -EBADF;
static __thread StatusRecord *report_mem;

static void write_record(int fd, const StatusRecord *rec) {
        ssize_t n;
        do
                n = write(fd, rec, sizeof *rec);
        while (n < 0 && errno == EINTR);
}

_noreturn_ static void fail(SpawnStep step, int err) {
        StatusRecord rec = {
                .kind = STATUS_EXEC_FAILED,
                .step = step,
                .err = err > 0 ? err : (err < 0 ? -err : EIO),
        };
        if (report_mem)
                *report_mem = rec;
        else
                write_record(report_fd, &rec);
        _exit(127);
}

#define CHECK(step, expr)                               \
        do {                                            \
                if ((expr) < 0)                         \
                        fail(step, errno);              \
        } while (0)

/* Mark (or close) every fd from `from` upwards, skipping `keep` fds. Uses
 * close_range() where it works and walks /proc/self/fd with getdents64 into a
 * stack buffer where it does not (ENOSYS, or EPERM under a seccomp filter). */
static int fds_close_from(int from, const int *keep, size_t n_keep, bool cloexec_only) {
        unsigned start = (unsigned) from;
        bool range_ok = true;

        /* close_range() takes ranges: cut around each kept fd (callers pass
         * them ascending). */
        for (size_t i = 0; i <= n_keep && range_ok; i++) {
                unsigned end = i < n_keep ? (unsigned) keep[i] : ~0U;
                if (i < n_keep && keep[i] < from)
                        continue;
                if (end > start) {
                        unsigned last = i < n_keep ? end - 1 : ~0U;
                        if (sys_close_range(start, last, cloexec_only ? CLOSE_RANGE_CLOEXEC : 0) < 0)
                                range_ok = false;
                }
                if (i < n_keep)
                        start = end + 1;
        }
        if (range_ok)
                return 0;

        int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return -1;
        char buf[4096];
        long n;
        while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
                for (long off = 0; off < n;) {
                        struct dirent64 *de = (struct dirent64 *) (buf + off);
                        off += de->d_reclen;
                        if (de->d_name[0] < '0' || de->d_name[0] > '9')
                                continue;
                        int fd = 0;
                        for (const char *p = de->d_name; *p; p++)
                                fd = fd * 10 + (*p - '0');
                        bool skip = fd < from || fd == dir;
                        for (size_t i = 0; i < n_keep; i++)
                                skip = skip || fd == keep[i];
                        if (skip)
                                continue;
                        if (cloexec_only)
                                fcntl(fd, F_SETFD, FD_CLOEXEC);
                        else
                                close(fd);
                }
        }
        close(dir);
        return n < 0 ? -1 : 0;
}

/* Put each mapped fd at its target number and leave nothing else open
 * across exec. Every source is first copied above the highest target so a
 * dup2() onto one target can never clobber another source. */
static void setup_fds(const ChildContext *c, int *exe_fd) {
        const SpawnRequest *r = c->req;
        int high = c->max_target + 1;
        int copies[r->n_fds > 0 ? r->n_fds : 1];
        bool mapped[3] = {};

        /* The channel and the exe fd must survive the shuffle too. */
        if (!report_mem) {
                report_fd = fcntl(report_fd, F_DUPFD_CLOEXEC, high);
                if (report_fd < 0)
                        _exit(127); /* nowhere left to report to */
        }
        if (*exe_fd >= 0)
                CHECK(SPAWN_STEP_FDS, *exe_fd = fcntl(*exe_fd, F_DUPFD_CLOEXEC, high));
        int devnull = fcntl(c->devnull_fd, F_DUPFD_CLOEXEC, high);
        CHECK(SPAWN_STEP_FDS, devnull);

        for (size_t i = 0; i < r->n_fds; i++)
                CHECK(SPAWN_STEP_FDS, copies[i] = fcntl(r->fds[i].fd, F_DUPFD_CLOEXEC, high));

        /* dup2() leaves the new fd without FD_CLOEXEC: exactly the targets. */
        for (size_t i = 0; i < r->n_fds; i++) {
                CHECK(SPAWN_STEP_FDS, dup2(copies[i], r->fds[i].target));
                if (r->fds[i].target < 3)
                        mapped[r->fds[i].target] = true;
        }
        for (int t = 0; t < 3; t++)
                if (!mapped[t])
                        CHECK(SPAWN_STEP_FDS, dup2(devnull, t));

        /* Below the highest target, close whatever is not a target. */
        for (int fd = 0; fd < high; fd++) {
                bool target = fd < 3;
                for (size_t i = 0; i < r->n_fds && !target; i++)
                        target = r->fds[i].target == fd;
                if (!target)
                        close(fd);
        }
        /* Above it, only the channel and the exe fd are still needed. Close
         * the rest now rather than marking it CLOEXEC: the steps before exec
         * (chdir, execve of argv[0]) run as the workload's user on paths it
         * chose, and "/proc/self/fd/N" would reach any daemon fd still open
         * here, another client's directory or executable included (the class
         * of runc's CVE-2024-21626, which the getcwd() check alone does not
         * cover for a directory reachable from our root). */
        int keep[2] = { report_fd, *exe_fd };
        size_t n_keep = *exe_fd >= 0 ? 2 : 1;
        if (n_keep == 2 && keep[0] > keep[1]) {
                keep[0] = *exe_fd;
                keep[1] = report_fd;
        }
        CHECK(SPAWN_STEP_FDS, fds_close_from(high, keep, n_keep, false));
}

/* Libcap-ng keeps its state per thread, and a raw-clone child inherits the
 * parent's, including the parent's pid as the capset() target: point it at
 * us and start from a clean state; setup_credentials() applies it.
 *
 * The bounding set is dropped here by hand, first, while we still hold
 * CAP_SETPCAP: libcap-ng's capng_apply(CAPNG_SELECT_BOUNDS) re-reads
 * /proc/<pid>/status through fopen(), an allocation this child must not make,
 * and Debian's build can report success without dropping anything. Only
 * capabilities still in the bounding set are dropped (the parent read it):
 * a successful PR_CAPBSET_DROP is proof enough for those, and one absent
 * from the parent's set is absent from ours, as the set only ever shrinks.
 * What must be verified is that every kept capability is still there. */
static void setup_bounding_set(const ChildContext *c) {
        const SpawnRequest *r = c->req;

        capng_setpid((int) syscall(SYS_getpid));
        capng_clear(CAPNG_SELECT_ALL);
        for (int cap = 0; cap <= c->cap_last_cap; cap++) {
                uint64_t bit = UINT64_C(1) << cap;

                if (!(r->capabilities & bit)) {
                        if ((c->bounding_set & bit) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                                fail(SPAWN_STEP_BOUNDING_SET, errno);
                        continue;
                }
                int have = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
                if (have < 0)
                        fail(SPAWN_STEP_BOUNDING_SET, errno);
                if (have != 1)
                        fail(SPAWN_STEP_BOUNDING_SET, EPERM);
                capng_type_t type = CAPNG_EFFECTIVE | CAPNG_PERMITTED;
                /* A non-root workload keeps capabilities across exec only as
                 * ambient ones, which need the inheritable bit too. */
                if (r->uid != 0)
                        type |= CAPNG_INHERITABLE | CAPNG_AMBIENT;
                if (capng_update(CAPNG_ADD, type, (unsigned) cap) < 0)
                        fail(SPAWN_STEP_BOUNDING_SET, EINVAL);
        }
}

/* Raw syscalls: see the top of this file. Groups, then gid, then uid, with
 * KEEPCAPS so kept capabilities survive the uid change. */
static void setup_credentials(const ChildContext *c) {
        const SpawnRequest *r = c->req;

        CHECK(SPAWN_STEP_CAPABILITIES, prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
        /* In a new user namespace they are set already: we were born with
         * them, and setgroups is denied there (spawn_start()). */
        if (!c->userns)
                CHECK(SPAWN_STEP_GROUPS, syscall(SYS_setgroups, r->n_groups, r->groups));
        CHECK(SPAWN_STEP_GID, syscall(SYS_setresgid, r->gid, r->gid, r->gid));
        CHECK(SPAWN_STEP_UID, syscall(SYS_setresuid, r->uid, r->uid, r->uid));
        CHECK(SPAWN_STEP_CAPABILITIES, prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0));

        if (capng_apply(CAPNG_SELECT_CAPS) < 0)
                fail(SPAWN_STEP_CAPABILITIES, EPERM);
        if (r->uid != 0 && r->capabilities != 0 && capng_apply(CAPNG_SELECT_AMBIENT) < 0)
                fail(SPAWN_STEP_CAPABILITIES, EPERM);
}

/* Decimal text of v into buf (at least 12 bytes), without stdio. */
static size_t format_int(char *buf, int v) {
        char tmp[12];
        size_t n = 0, len = 0;
        unsigned u = v < 0 ? 0U - (unsigned) v : (unsigned) v;

        do
                tmp[n++] = (char) ('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
                buf[len++] = '-';
        while (n > 0)
                buf[len++] = tmp[--n];
        return len;
}

/* The caller's resources, not the daemon's, while we are still root:
 * lowering oom_score_adj and raising a hard limit need CAP_SYS_RESOURCE,
 * a negative nice CAP_SYS_NICE. */
static void setup_resources(const ChildContext *c) {
        const SpawnRequest *r = c->req;

        if (r->oom_score_adj_set) {
                char buf[12];
                size_t len = format_int(buf, r->oom_score_adj);
                int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        fail(SPAWN_STEP_OOM_SCORE_ADJ, errno);
                if (write(fd, buf, len) != (ssize_t) len)
                        fail(SPAWN_STEP_OOM_SCORE_ADJ, errno);
                close(fd);
        }
        for (int i = 0; i < RLIMIT_NLIMITS; i++)
                if (r->rlimits_set & (UINT32_C(1) << i))
                        CHECK(SPAWN_STEP_RLIMITS, syscall(SYS_prlimit64, 0, i, &r->rlimits[i], NULL));
        if (r->nice_set)
                CHECK(SPAWN_STEP_NICE, setpriority(PRIO_PROCESS, 0, r->nice));
}

/* chdir as the workload's user, then make sure the directory is reachable
 * from our root: a cwd outside it (a leaked directory fd, runc's
 * CVE-2024-21626) reads back as "(unreachable)/…" from the raw syscall. */
static void setup_cwd(const ChildContext *c) {
        const char *cwd = c->req->cwd ? c->req->cwd : "/";
        char buf[4096];

        CHECK(SPAWN_STEP_CWD, chdir(cwd));
        CHECK(SPAWN_STEP_CWD, syscall(SYS_getcwd, buf, sizeof buf));
        if (buf[0] != '/')
                fail(SPAWN_STEP_CWD, ENOENT);
}

static int encode_wait_status(const siginfo_t *si) {
        switch (si->si_code) {
        case CLD_EXITED:
                return (si->si_status & 0xff) << 8;
        case CLD_KILLED:
                return si->si_status & 0x7f;
        case CLD_DUMPED:
                return (si->si_status & 0x7f) | 0x80;
        default:
                return 0;
        }
}

/* In ps the init shows as what it is, not as a copy of the daemon: comm
 * by prctl, and argv by overwriting, in our private copy of the daemon's
 * memory, the argument area /proc/self/stat points at (fields 48 and 49).
 * Cosmetic: any failure leaves the old name. */
#define INIT_NAME "pidbroker-init"
static void name_init(void) {
        char buf[2048];
        unsigned long field[2] = {};
        ssize_t n;
        int fd;

        (void) prctl(PR_SET_NAME, INIT_NAME, 0, 0, 0);
#if HAVE_VALGRIND_VALGRIND_H
        /* Under valgrind that area is valgrind's own, not ours. */
        if (RUNNING_ON_VALGRIND)
                return;
#endif

        fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return;
        buf[n] = '\0';
        /* comm (field 2) may hold anything but ends at the last ')'. */
        const char *p = strrchr(buf, ')');
        if (!p)
                return;
        for (int f = 2; *p && f < 49;) {
                if (*p++ != ' ')
                        continue;
                f++;
                if (f == 48 || f == 49)
                        for (; *p >= '0' && *p <= '9'; p++)
                                field[f - 48] = field[f - 48] * 10 + (unsigned long) (*p - '0');
        }
        char *start = (char *) field[0], *end = (char *) field[1];
        if (!start || end <= start + 1)
                return;
        size_t room = (size_t) (end - start);
        memset(start, 0, room);
        memcpy(start, INIT_NAME, sizeof INIT_NAME <= room ? sizeof INIT_NAME - 1 : room - 1);
}

/* pid 1 of the new pid namespace. As pid 1 the workload would ignore
 * SIGTERM and leave zombies, so this init sits in front of it: it forwards
 * every signal, reaps every child, and exits when the workload does, after
 * reporting the workload's own wait status on the channel. Its own exit then
 * tears the namespace down, so its pidfd's exit means the workload ended. */
_noreturn_ static void run_init(int channel_fd, pid_t workload, int from_workload_fd) {
        StatusRecord rec = {};
        sigset_t all;
        ssize_t n;

        /* The workload's exec closes its end of from_workload_fd: EOF means
         * exec succeeded, a record means a step failed. */
        do
                n = read(from_workload_fd, &rec, sizeof rec);
        while (n < 0 && errno == EINTR);
        close(from_workload_fd);
        if (n == (ssize_t) sizeof rec)
                write_record(channel_fd, &rec);
        else {
                rec = (StatusRecord) { .kind = STATUS_EXEC_OK };
                write_record(channel_fd, &rec);
        }

        sigfillset(&all);
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);
                if (sig < 0)
                        continue;
                if (sig != SIGCHLD) {
                        kill(workload, sig);
                        continue;
                }
                for (;;) {
                        siginfo_t child = {};
                        if (waitid(P_ALL, 0, &child, WEXITED | WNOHANG) < 0 || child.si_pid == 0)
                                break;
                        if (child.si_pid != workload)
                                continue;
                        rec = (StatusRecord) { .kind = STATUS_EXITED, .status = encode_wait_status(&child) };
                        write_record(channel_fd, &rec);
                        _exit(child.si_code == CLD_EXITED ? child.si_status : 128 + child.si_status);
                }
        }
}

/* Steps 11 and 12, in the workload itself: behind an init, its child. */
_noreturn_ static void exec_workload(const ChildContext *c, int exe_fd, bool filter_loaded) {
        const SpawnRequest *r = c->req;

        /* 11. Seccomp last: every step above may use what it denies. */
        if (!filter_loaded)
                CHECK(SPAWN_STEP_SECCOMP,
                      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &r->seccomp->prog));

        /* 12. Exec; the channel closes with it, which is the success report.
         *     Sharing the daemon's memory, a record says so: the daemon runs
         *     again once exec is past its point of no return, or we exited,
         *     and a record still empty then means we died before exec. A
         *     failed exec overwrites it. */
        if (report_mem)
                report_mem->kind = STATUS_EXEC_OK;
        if (exe_fd >= 0)
                syscall(SYS_execveat, exe_fd, "", r->argv, r->env, AT_EMPTY_PATH);
        else
                execve(r->argv[0], r->argv, r->env);
        fail(SPAWN_STEP_EXEC, errno);
}

typedef struct WorkloadStart {
        const ChildContext *c;
        int exe_fd;
        bool filter_loaded;
        int to_init_fd;   /* write end of the pipe to the init */
        int from_init_fd; /* its read end, the init's alone */
} WorkloadStart;

static int workload_start(void *userdata) {
        const WorkloadStart *w = userdata;
        sigset_t none;

        /* Our memory is the init's until exec, and the init waits
         * (CLONE_VFORK): report_fd is ours to change, as the init took its
         * copy; the fd table is our own. */
        close(w->from_init_fd);
        report_fd = w->to_init_fd;
        sigemptyset(&none);
        CHECK(SPAWN_STEP_SIGNALS, sigprocmask(SIG_SETMASK, &none, NULL));
        exec_workload(w->c, w->exe_fd, w->filter_loaded);
}

/* The workload is created sharing our memory and we sleep until its exec
 * (CLONE_VM | CLONE_VFORK, as posix_spawn does): no copy of the daemon's
 * address space is made for it, nor torn down by its exec, both of which
 * would lie on the path from Spawn to the workload's exit. Its stack is a
 * part of ours that we do not touch until it is done with it. */
_noreturn_ static void start_init(const ChildContext *c, int exe_fd, bool filter_loaded) {
        _Alignas(16) char stack[32 * 1024];
        int pipefd[2], channel_fd = report_fd;
        sigset_t all;

        CHECK(SPAWN_STEP_INIT_FORK, pipe2(pipefd, O_CLOEXEC));
        /* Blocked from here: the init waits for signals with sigwaitinfo(). */
        sigfillset(&all);
        CHECK(SPAWN_STEP_INIT_FORK, sigprocmask(SIG_SETMASK, &all, NULL));
        WorkloadStart w = {
                .c = c,
                .exe_fd = exe_fd,
                .filter_loaded = filter_loaded,
                .to_init_fd = pipefd[1],
                .from_init_fd = pipefd[0],
        };
        pid_t pid = clone(workload_start, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &w);
        report_fd = channel_fd;
        if (pid < 0)
                fail(SPAWN_STEP_INIT_FORK, errno);

        int keep[2] = { channel_fd, pipefd[0] };
        if (keep[0] > keep[1]) {
                keep[0] = pipefd[0];
                keep[1] = channel_fd;
        }
        close(pipefd[1]);
        fds_close_from(0, keep, 2, false);
        name_init();
        run_init(channel_fd, pid, pipefd[0]);
}

/* One write, before anything that could fail: the parent reads it only if
 * it finds us gone. /proc is still the daemon's here, where "self" is us.
 * An id we cannot read goes as 0. */
static void report_namespace_ids(int fd, uint64_t mask) {
        StatusRecord recs[_NAMESPACE_MAX];
        size_t n = 0;

        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                char path[64] = "/proc/self/ns/";
                const char *name = namespace_proc_name(t);
                struct stat st;
                uint64_t id = 0;

                if (!(mask & (UINT64_C(1) << t)))
                        continue;
                if (name && strlen(name) < sizeof path - strlen(path)) {
                        memcpy(path + strlen(path), name, strlen(name) + 1);
                        if (stat(path, &st) == 0)
                                id = (uint64_t) st.st_ino;
                }
                recs[n++] = (StatusRecord) {
                        .kind = STATUS_NAMESPACE,
                        .step = (int32_t) t,
                        .err = (int32_t) (uint32_t) (id >> 32),
                        .status = (int32_t) (uint32_t) id,
                };
        }
        if (fd >= 0 && n > 0) {
                ssize_t k;
                do
                        k = write(fd, recs, n * sizeof recs[0]);
                while (k < 0 && errno == EINTR);
        }
}

_noreturn_ void spawn_child(const ChildContext *c) {
        const SpawnRequest *r = c->req;
        int exe_fd = r->exe_fd;
        sigset_t none;

        report_fd = c->status_fd;
        report_mem = c->result;

        /* 0. Sharing the daemon's fd table: take a table of our own, copying
         *    only the fds below fd_table_end, where every fd we need is (the
         *    daemon keeps its long-lived ones above: spawn.c). The kernel
         *    without CLOSE_RANGE_UNSHARE, or a filter refusing it, makes us
         *    copy the whole table. */
        if (c->shares_fd_table && sys_close_range((unsigned) c->fd_table_end, ~0U, CLOSE_RANGE_UNSHARE) < 0)
                CHECK(SPAWN_STEP_FDS, unshare(CLONE_FILES));

        /*    Our new namespaces' ids, for a parent that did not wait for
         *    us to read them (spawn_start()). */
        report_namespace_ids(c->namespaces_fd, c->report_namespaces);

        /*    A network namespace made ahead of demand stands in for a new
         *    one: ours alone, as the pool hands each out once. */
        if (c->netns_fd >= 0)
                CHECK(SPAWN_STEP_NET_NAMESPACE, setns(c->netns_fd, CLONE_NEWNET));

        /* 1. Wait for what only the parent can do: in a new user namespace,
         *    write uid_map and gid_map (until then we have no ids to
         *    become); without clone3, move us into the workload's cgroup
         *    (from inside a user namespace we may lack the right to). */
        if (c->parent_sync_fd >= 0) {
                char b;
                ssize_t n;
                do
                        n = read(c->parent_sync_fd, &b, 1);
                while (n < 0 && errno == EINTR);
                if (n != 1)
                        fail(SPAWN_STEP_PARENT_WAIT, n < 0 ? errno : EPIPE);
                close(c->parent_sync_fd);
        }

        /* 2. The daemon's signal mask and handlers are not the workload's:
         *    its ignored signals would stay ignored across exec, and a
         *    handler would run daemon code in us until then. The rest are at
         *    SIG_DFL already. */
        for (int sig = 1; sig < _NSIG; sig++)
                if ((c->reset_signals & (UINT64_C(1) << (sig - 1))) && sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
        sigemptyset(&none);
        CHECK(SPAWN_STEP_SIGNALS, sigprocmask(SIG_SETMASK, &none, NULL));

        /* 3. Namespace-wide setup, while we still hold capabilities there. */
        if (r->hostname)
                CHECK(SPAWN_STEP_HOSTNAME, sethostname(r->hostname, strlen(r->hostname)));
        if (c->mount_proc) {
                /* Keep our mounts from propagating to the host, then give the
                 * workload a /proc that lists its own pid namespace. */
                CHECK(SPAWN_STEP_MOUNT_PROC, mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL));
                CHECK(SPAWN_STEP_MOUNT_PROC,
                      mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
        }

        /* 4. Exactly the mapped fds; everything else is closed here. */
        setup_fds(c, &exe_fd);
        umask(r->umask);

        /* 5. The caller's rlimits, nice and oom_score_adj. After the fd
         *    shuffle, which a low RLIMIT_NOFILE would refuse. */
        setup_resources(c);

        /* 6. Capabilities and identity. Without no_new_privs the kernel only
         *    takes a seccomp filter from a holder of CAP_SYS_ADMIN, so then
         *    the filter goes in now, before the drop, and must allow the
         *    steps that follow. Born under it, we have it already. */
        bool filter_loaded = !r->seccomp || c->filter_inherited;
        if (!filter_loaded && !r->no_new_privileges) {
                CHECK(SPAWN_STEP_SECCOMP,
                      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &r->seccomp->prog));
                filter_loaded = true;
        }
        setup_bounding_set(c);
        setup_credentials(c);

        /* 7. The working directory, as the workload's user. */
        setup_cwd(c);

        /* 8. no_new_privs: required for an unprivileged seccomp load, and
         *    keeps a setuid binary from undoing the above. */
        if (r->no_new_privileges)
                CHECK(SPAWN_STEP_NO_NEW_PRIVS, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));

        /* 9. A session of its own, away from the daemon's. With an init
         *    this happens before its fork: the init then leads the session
         *    and the process group the workload shares, so a signal to the
         *    group whose id is the init's pid (PIDFD_SIGNAL_PROCESS_GROUP on
         *    the workload's pidfd) reaches the workload. */
        if (r->setsid)
                CHECK(SPAWN_STEP_SETSID, setsid());
        /*    The terminal on fd 0 becomes the session's, so that a shell
         *    there gets job control (--pty). Not stolen: without
         *    CAP_SYS_ADMIN's force (arg 0) a terminal that is another
         *    session's is refused. */
        if (r->controlling_tty)
                CHECK(SPAWN_STEP_CONTROLLING_TTY, ioctl(STDIN_FILENO, TIOCSCTTY, 0));

        /* 10. As pid 1 of a new pid namespace: become the init, and let a
         *     child of ours be the workload. The init keeps no workload fd. */
        if (c->with_init)
                start_init(c, exe_fd, filter_loaded);
        exec_workload(c, exe_fd, filter_loaded);
}
