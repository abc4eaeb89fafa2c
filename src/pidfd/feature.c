/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Each probe tries its feature the way the daemon uses it and writes one line
 * saying what it saw. A probe answers 1 (works), 0 (missing; cached) or
 * -errno when a resource shortage (EMFILE, ENOMEM, EAGAIN, ...) kept it from
 * telling: that counts as missing for now and the next caller probes again.
 *
 * Probe children only _exit() and are reaped before the probe returns. Where
 * we choose, they are started with exit_signal 0: no SIGCHLD reaches the
 * caller's handlers, a waitpid(-1) without __WALL cannot steal them, and
 * SIGCHLD set to SIG_IGN cannot auto-reap them.
 *
 * Not thread-safe: the daemon probes from its one thread at start. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "feature.h"
#include "macro.h"
#include "missing-pidfd.h"
#include "namespace.h"
#include "pidfd-util.h"
#include "string-table.h"

#define DETAIL_MAX 128

typedef struct FeatureState {
        bool probed; /* the answer is cached */
        bool available;
        char detail[DETAIL_MAX];
} FeatureState;

static FeatureState feature_state[_FEATURE_MAX];

static const char *const feature_names[_FEATURE_MAX] = {
        [FEATURE_PIDFD_OPEN]             = "pidfd_open",
        [FEATURE_PIDFD_SEND_SIGNAL]      = "pidfd_send_signal",
        [FEATURE_CLONE3]                 = "clone3",
        [FEATURE_CLONE_PIDFD]            = "clone_pidfd",
        [FEATURE_WAITID_PIDFD]           = "waitid_pidfd",
        [FEATURE_PIDFD_GETFD]            = "pidfd_getfd",
        [FEATURE_PIDFD_NONBLOCK]         = "pidfd_nonblock",
        [FEATURE_PIDFD_THREAD]           = "pidfd_thread",
        [FEATURE_PIDFD_SIGNAL_SCOPE]     = "pidfd_signal_scope",
        [FEATURE_PIDFS]                  = "pidfs",
        [FEATURE_PIDFD_GET_INFO]         = "pidfd_get_info",
        [FEATURE_PIDFD_INFO_EXIT]        = "pidfd_info_exit",
        [FEATURE_PIDFD_NAMESPACE_IOCTLS] = "pidfd_namespace_ioctls",
        [FEATURE_PIDFS_FILE_HANDLES]     = "pidfs_file_handles",
        [FEATURE_SO_PEERPIDFD]           = "so_peerpidfd",
        [FEATURE_CLONE_INTO_CGROUP]      = "clone_into_cgroup",
        [FEATURE_CLOSE_RANGE]            = "close_range",
};

static bool feature_valid(Feature f) {
        return (int) f >= 0 && f < _FEATURE_MAX;
}

/* A flag or extension of another feature cannot work without it. */
static int feature_requires(Feature f) {
        switch (f) {
        case FEATURE_PIDFD_NONBLOCK:
        case FEATURE_PIDFD_THREAD:
                return FEATURE_PIDFD_OPEN;
        case FEATURE_PIDFD_SIGNAL_SCOPE:
                return FEATURE_PIDFD_SEND_SIGNAL;
        case FEATURE_PIDFD_INFO_EXIT:
                return FEATURE_PIDFD_GET_INFO;
        case FEATURE_CLONE_INTO_CGROUP:
                return FEATURE_CLONE3;
        default:
                return -1;
        }
}

const char *feature_name(Feature f) {
        return feature_valid(f) ? feature_names[f] : NULL;
}

int feature_from_name(const char *name) {
        return string_table_lookup(feature_names, _FEATURE_MAX, name);
}

bool errno_is_not_supported(int err) {
        err = abs(err);
        /* ENOTSUP == EOPNOTSUPP on Linux, so it needs no case of its own. */
        return err == ENOSYS || err == EPERM || err == ENOTTY || err == EOPNOTSUPP;
}

/* Running out of fds, memory or processes says nothing about the kernel. */
static bool errno_is_transient(int err) {
        err = abs(err);
        return err == EMFILE || err == ENFILE || err == ENOMEM || err == EAGAIN ||
               err == EINTR || err == ENOBUFS;
}

static const char *errno_name(int err) {
        const char *s = strerrorname_np(abs(err));
        return s ? s : "unknown errno";
}

_printf_(4, 5)
static int say(char *detail, size_t size, int verdict, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(detail, size, fmt, ap);
        va_end(ap);
        return verdict;
}

/* A probe's call failed with err. The "not supported" errnos, and those an
 * older kernel gives for this very call (expected1/2, e.g. EINVAL for an
 * unknown flag; 0 for none), mean missing. A shortage means "ask again".
 * Anything else is missing too, and the detail says it was unexpected. */
static int probe_failed(char *detail, size_t size, const char *what, int err,
                        int expected1, int expected2) {
        err = abs(err);
        if (errno_is_transient(err))
                return say(detail, size, -err, "%s: %s, will probe again", what, errno_name(err));
        if (errno_is_not_supported(err) || err == expected1 || err == expected2)
                return say(detail, size, 0, "%s: %s", what, errno_name(err));
        return say(detail, size, 0, "%s: unexpected %s", what, errno_name(err));
}

/* __WALL also finds the exit_signal 0 children. A seccomp filter may refuse
 * waitid() as a whole (not only P_PIDFD): then wait4() reaps, so that no
 * probe leaves a zombie behind whatever it found missing. */
static int reap(pid_t pid) {
        siginfo_t si = {};
        int r;

        while ((r = RET_NERRNO(waitid(P_PID, (id_t) pid, &si, WEXITED | __WALL))) == -EINTR)
                ;
        if (r >= 0 || r == -ECHILD)
                return r;

        while ((r = RET_NERRNO(wait4(pid, NULL, __WALL, NULL))) == -EINTR)
                ;
        return r < 0 ? r : 0;
}

typedef struct ProbeChild {
        pid_t pid;
        int pidfd;
        const char *how;
} ProbeChild;

/* Start a child that exits at once with exit_code, with a pidfd got whichever
 * way works here, so that probing what a child's pidfd can do does not
 * hinge on one way of getting it. The caller reaps and closes. */
static int probe_child_start(int exit_code, ProbeChild *ret) {
        struct pb_clone_args args = { .flags = CLONE_PIDFD };
        int pidfd = -1, r;
        pid_t pid;

        args.pidfd = (uint64_t) (uintptr_t) &pidfd;
        pid = sys_clone3(&args, PB_CLONE_ARGS_SIZE_VER0);
        if (pid == 0)
                _exit(exit_code);
        if (pid > 0 && pidfd >= 0) {
                *ret = (ProbeChild) { pid, pidfd, "clone3" };
                return 0;
        }
        if (pid < 0 && errno_is_transient(pid))
                return pid;

        if (pid < 0) {
                /* The slot may hold a number that is no fd of ours. */
                pidfd = -1;
                pid = sys_clone(CLONE_PIDFD, &pidfd);
                if (pid == 0)
                        _exit(exit_code);
                if (pid > 0 && pidfd >= 0) {
                        *ret = (ProbeChild) { pid, pidfd, "clone(CLONE_PIDFD)" };
                        return 0;
                }
                if (pid < 0 && errno_is_transient(pid))
                        return pid;
        }

        if (pid < 0) {
                pid = sys_clone(0, NULL);
                if (pid == 0)
                        _exit(exit_code);
                if (pid < 0)
                        return pid;
        }

        /* Unreaped, the child's pid cannot be reused: pidfd_open pins it. */
        r = sys_pidfd_open(pid, 0);
        if (r < 0) {
                (void) reap(pid);
                return r;
        }
        *ret = (ProbeChild) { pid, r, "clone + pidfd_open" };
        return 0;
}

/* A pidfd for ourselves: pidfd_open(), else SO_PEERPIDFD on a socketpair
 * (whose peer is this process), so that probing what a pidfd can do does
 * not depend on pidfd_open() being allowed. */
static int self_pidfd(const char **ret_how) {
        _cleanup_close_pair_ int sp[2] = { -EBADF, -EBADF };
        socklen_t len;
        int fd;

        fd = sys_pidfd_open(getpid(), 0);
        if (fd >= 0 || errno_is_transient(fd)) {
                *ret_how = "pidfd_open";
                return fd;
        }

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                return negative_errno();
        fd = -EBADF;
        len = sizeof(fd);
        if (getsockopt(sp[0], SOL_SOCKET, SO_PEERPIDFD, &fd, &len) < 0)
                return negative_errno();
        *ret_how = "SO_PEERPIDFD";
        return fd;
}

static int probe_pidfd_open(char *d, size_t n) {
        _cleanup_close_ int fd = sys_pidfd_open(getpid(), 0);

        if (fd < 0)
                return probe_failed(d, n, "pidfd_open(self)", fd, 0, 0);
        return say(d, n, 1, "pidfd_open(self) returned fd");
}

static int probe_pidfd_send_signal(char *d, size_t n) {
        const char *how = NULL;
        _cleanup_close_ int pidfd = self_pidfd(&how);
        int r;

        if (pidfd < 0 && errno_is_transient(pidfd))
                return probe_failed(d, n, "getting a pidfd of self", pidfd, 0, 0);

        if (pidfd >= 0) {
                r = sys_pidfd_send_signal(pidfd, 0, NULL, 0);
                if (r < 0)
                        return probe_failed(d, n, "pidfd_send_signal(self, 0)", r, 0, 0);
                return say(d, n, 1, "pidfd_send_signal(self, 0) succeeded (pidfd from %s)", how);
        }

        /* No pidfd to aim at: only the syscall itself can answer EBADF. */
        r = sys_pidfd_send_signal(-EBADF, 0, NULL, 0);
        if (r == -EBADF)
                return say(d, n, 1, "pidfd_send_signal(bad fd) gave EBADF (no pidfd to test with)");
        return probe_failed(d, n, "pidfd_send_signal(bad fd)", r < 0 ? r : -EIO, 0, 0);
}

static int probe_clone3(char *d, size_t n) {
        struct pb_clone_args args = { .flags = CLONE_PIDFD };
        _cleanup_close_ int fd = -EBADF;
        int pidfd = -1, r;
        pid_t pid;

        args.pidfd = (uint64_t) (uintptr_t) &pidfd;
        pid = sys_clone3(&args, PB_CLONE_ARGS_SIZE_VER0);
        if (pid == 0)
                _exit(0);
        if (pid < 0)
                /* EINVAL/E2BIG: a kernel that does not know these arguments. */
                return probe_failed(d, n, "clone3(CLONE_PIDFD)", pid, EINVAL, E2BIG);
        fd = pidfd;

        r = reap(pid);
        if (r < 0)
                return probe_failed(d, n, "reaping the clone3() child", r, 0, 0);
        if (fd < 0)
                return say(d, n, 0, "clone3(CLONE_PIDFD) started a child but gave no pidfd");
        return say(d, n, 1, "clone3(CLONE_PIDFD) returned a pidfd");
}

static int probe_clone_pidfd(char *d, size_t n) {
        _cleanup_close_ int fd = -EBADF;
        int pidfd = -1, r;
        pid_t pid;

        pid = sys_clone(CLONE_PIDFD, &pidfd);
        if (pid == 0)
                _exit(0);
        if (pid < 0)
                return probe_failed(d, n, "clone(CLONE_PIDFD)", pid, 0, 0);
        fd = pidfd;

        r = reap(pid);
        if (r < 0)
                return probe_failed(d, n, "reaping the clone() child", r, 0, 0);
        /* clone() ignores flags it does not know: only a changed slot counts. */
        if (fd < 0)
                return say(d, n, 0, "clone() ignored CLONE_PIDFD (slot left at -1)");
        return say(d, n, 1, "clone(CLONE_PIDFD) wrote a pidfd");
}

static int probe_waitid_pidfd(char *d, size_t n) {
        _cleanup_close_ int fd = -EBADF;
        ProbeChild c;
        siginfo_t si = {};
        int r;

        r = probe_child_start(0, &c);
        if (r < 0 && errno_is_transient(r))
                return probe_failed(d, n, "starting a child", r, 0, 0);

        if (r >= 0) {
                fd = c.pidfd;
                while ((r = RET_NERRNO(waitid(P_PIDFD, (id_t) fd, &si, WEXITED | __WALL))) == -EINTR)
                        ;
                if (r < 0) {
                        (void) reap(c.pid);
                        /* EINVAL: an idtype the kernel does not know. */
                        return probe_failed(d, n, "waitid(P_PIDFD)", r, EINVAL, 0);
                }
                if (si.si_pid != c.pid) {
                        (void) reap(c.pid);
                        return say(d, n, 0, "waitid(P_PIDFD) reported pid %d, not %d", si.si_pid, c.pid);
                }
                return say(d, n, 1, "waitid(P_PIDFD) reaped a child (pidfd from %s)", c.how);
        }

        /* No child pidfd to be had: a closed fd gives EBADF where P_PIDFD
         * is known and EINVAL where it is not. */
        r = RET_NERRNO(waitid(P_PIDFD, (id_t) INT_MAX, &si, WEXITED | WNOHANG));
        if (r == -EBADF)
                return say(d, n, 1, "waitid(P_PIDFD, bad fd) gave EBADF (no child pidfd to test with)");
        return probe_failed(d, n, "waitid(P_PIDFD, bad fd)", r < 0 ? r : -EIO, EINVAL, 0);
}

static int probe_pidfd_getfd(char *d, size_t n) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF, fd = -EBADF;
        const char *how = NULL;
        struct stat a, b;

        if (pipe2(p, O_CLOEXEC) < 0)
                return probe_failed(d, n, "pipe2()", negative_errno(), 0, 0);

        pidfd = self_pidfd(&how);
        if (pidfd < 0 && errno_is_transient(pidfd))
                return probe_failed(d, n, "getting a pidfd of self", pidfd, 0, 0);
        if (pidfd < 0) {
                int r = sys_pidfd_getfd(-EBADF, p[0], 0);
                if (r == -EBADF)
                        return say(d, n, 1, "pidfd_getfd(bad fd) gave EBADF (no pidfd to test with)");
                if (r >= 0)
                        safe_close(r);
                return probe_failed(d, n, "pidfd_getfd(bad fd)", r < 0 ? r : -EIO, 0, 0);
        }

        fd = sys_pidfd_getfd(pidfd, p[0], 0);
        if (fd < 0)
                return probe_failed(d, n, "pidfd_getfd(self, pipe)", fd, 0, 0);
        if (fstat(fd, &a) < 0 || fstat(p[0], &b) < 0)
                return probe_failed(d, n, "fstat()", negative_errno(), 0, 0);
        if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
                return say(d, n, 0, "pidfd_getfd(self, pipe) returned a different file");
        return say(d, n, 1, "pidfd_getfd(self, pipe) duplicated the fd (pidfd from %s)", how);
}

static int probe_pidfd_nonblock(char *d, size_t n) {
        _cleanup_close_ int fd = sys_pidfd_open(getpid(), PIDFD_NONBLOCK);
        int fl;

        if (fd < 0)
                /* EINVAL: a flag pidfd_open() does not know. */
                return probe_failed(d, n, "pidfd_open(self, PIDFD_NONBLOCK)", fd, EINVAL, 0);
        fl = fcntl(fd, F_GETFL);
        if (fl < 0)
                return probe_failed(d, n, "fcntl(F_GETFL)", negative_errno(), 0, 0);
        if (!(fl & O_NONBLOCK))
                return say(d, n, 0, "pidfd_open(self, PIDFD_NONBLOCK) returned a blocking fd");
        return say(d, n, 1, "pidfd_open(self, PIDFD_NONBLOCK) returned a non-blocking fd");
}

static int probe_pidfd_thread(char *d, size_t n) {
        /* From any thread: a non-leader tid is refused without the flag. */
        _cleanup_close_ int fd = sys_pidfd_open(gettid(), PIDFD_THREAD);

        if (fd < 0)
                return probe_failed(d, n, "pidfd_open(gettid(), PIDFD_THREAD)", fd, EINVAL, 0);
        return say(d, n, 1, "pidfd_open(gettid(), PIDFD_THREAD) returned fd");
}

static int probe_pidfd_signal_scope(char *d, size_t n) {
        const char *how = NULL;
        _cleanup_close_ int pidfd = self_pidfd(&how);
        int r;

        if (pidfd < 0 && errno_is_transient(pidfd))
                return probe_failed(d, n, "getting a pidfd of self", pidfd, 0, 0);

        if (pidfd >= 0) {
                r = sys_pidfd_send_signal(pidfd, 0, NULL, PIDFD_SIGNAL_THREAD_GROUP);
                if (r < 0)
                        /* EINVAL: flags had to be 0 before 6.9. */
                        return probe_failed(d, n, "pidfd_send_signal(self, 0, THREAD_GROUP)", r, EINVAL, 0);
                return say(d, n, 1, "pidfd_send_signal(self, 0, THREAD_GROUP) succeeded");
        }

        /* The flags are checked before the fd: EBADF means they passed. */
        r = sys_pidfd_send_signal(-EBADF, 0, NULL, PIDFD_SIGNAL_THREAD_GROUP);
        if (r == -EBADF)
                return say(d, n, 1, "pidfd_send_signal(bad fd, THREAD_GROUP) gave EBADF (no pidfd to test with)");
        return probe_failed(d, n, "pidfd_send_signal(bad fd, THREAD_GROUP)", r < 0 ? r : -EIO, EINVAL, 0);
}

static int probe_pidfs(char *d, size_t n) {
        const char *how = NULL;
        _cleanup_close_ int pidfd = self_pidfd(&how);
        struct statfs sfs;

        if (pidfd < 0)
                return probe_failed(d, n, "no pidfd to inspect", pidfd, ENOPROTOOPT, 0);
        if (fstatfs(pidfd, &sfs) < 0)
                return probe_failed(d, n, "fstatfs(pidfd)", negative_errno(), 0, 0);
        if ((unsigned long) sfs.f_type != PIDFS_MAGIC)
                return say(d, n, 0, "fstatfs(pidfd) f_type 0x%lx, not pidfs", (unsigned long) sfs.f_type);
        return say(d, n, 1, "fstatfs(pidfd) f_type is PIDFS_MAGIC (pidfd from %s)", how);
}

static int probe_pidfd_get_info(char *d, size_t n) {
        const char *how = NULL;
        _cleanup_close_ int pidfd = self_pidfd(&how);
        struct pb_pidfd_info info = { .mask = PIDFD_INFO_PID | PIDFD_INFO_CREDS };
        int r;

        if (pidfd < 0)
                return probe_failed(d, n, "no pidfd to ask", pidfd, ENOPROTOOPT, 0);

        /* Our struct is the full 64-byte VER0, so ENOTTY here is the kernel
         * not knowing the ioctl, not a struct too small. 6.11 and 6.12
         * refused any pidfd ioctl with an argument: EINVAL. */
        r = RET_NERRNO(ioctl(pidfd, PB_PIDFD_GET_INFO, &info));
        if (r < 0)
                return probe_failed(d, n, "ioctl(PIDFD_GET_INFO)", r, EINVAL, 0);
        if (!(info.mask & PIDFD_INFO_PID) || info.pid != (uint32_t) getpid())
                return say(d, n, 0, "PIDFD_GET_INFO did not return our pid (mask 0x%llx)",
                           (unsigned long long) info.mask);
        return say(d, n, 1, "PIDFD_GET_INFO returned our pid (pidfd from %s)", how);
}

static int probe_pidfd_info_exit(char *d, size_t n) {
        struct pb_pidfd_info info = { .mask = PIDFD_INFO_EXIT };
        _cleanup_close_ int fd = -EBADF;
        ProbeChild c;
        int r;

        r = probe_child_start(7, &c);
        if (r < 0)
                return probe_failed(d, n, "no child pidfd", r, 0, 0);
        fd = c.pidfd;

        r = reap(c.pid);
        if (r < 0)
                return probe_failed(d, n, "reaping the child", r, 0, 0);

        /* Before 6.15 a reaped process is simply gone: ESRCH. */
        r = RET_NERRNO(ioctl(fd, PB_PIDFD_GET_INFO, &info));
        if (r < 0)
                return probe_failed(d, n, "ioctl(PIDFD_GET_INFO, EXIT) after the reap", r, ESRCH, EINVAL);
        if (!(info.mask & PIDFD_INFO_EXIT))
                return say(d, n, 0, "PIDFD_GET_INFO after the reap: no PIDFD_INFO_EXIT in mask 0x%llx",
                           (unsigned long long) info.mask);
        if (!WIFEXITED(info.exit_code) || WEXITSTATUS(info.exit_code) != 7)
                return say(d, n, 0, "PIDFD_GET_INFO exit_code 0x%x, expected exit 7", (unsigned) info.exit_code);
        return say(d, n, 1, "PIDFD_GET_INFO returned the exit status after the reap (pidfd from %s)", c.how);
}

static int probe_pidfd_namespace_ioctls(char *d, size_t n) {
        const char *how = NULL;
        _cleanup_close_ int pidfd = self_pidfd(&how), nsfd = -EBADF;
        struct statfs sfs;
        struct stat st;
        uint64_t id;
        int r;

        if (pidfd < 0)
                return probe_failed(d, n, "no pidfd to ask", pidfd, ENOPROTOOPT, 0);

        nsfd = RET_NERRNO(ioctl(pidfd, PIDFD_GET_PID_NAMESPACE, 0));
        if (nsfd < 0)
                return probe_failed(d, n, "ioctl(PIDFD_GET_PID_NAMESPACE)", nsfd, EINVAL, 0);
        if (fstat(nsfd, &st) < 0 || fstatfs(nsfd, &sfs) < 0)
                return probe_failed(d, n, "fstat(nsfd)", negative_errno(), 0, 0);
        if ((unsigned long) sfs.f_type != NSFS_MAGIC)
                return say(d, n, 0, "PIDFD_GET_PID_NAMESPACE returned an fd not on nsfs");

        r = namespace_id_from_proc(0, NAMESPACE_PID, &id);
        if (r < 0)
                /* No /proc to compare with; nsfs was answer enough. */
                return say(d, n, 1, "PIDFD_GET_PID_NAMESPACE returned an nsfs fd");
        if (id != (uint64_t) st.st_ino)
                return say(d, n, 0, "PIDFD_GET_PID_NAMESPACE inode differs from /proc/self/ns/pid");
        return say(d, n, 1, "PIDFD_GET_PID_NAMESPACE matched /proc/self/ns/pid (pidfd from %s)", how);
}

static int probe_pidfs_file_handles(char *d, size_t n) {
        const char *how = NULL;
        _cleanup_close_ int pidfd = self_pidfd(&how);
        union {
                struct file_handle fh;
                uint8_t space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
        } h = { .fh.handle_bytes = MAX_HANDLE_SZ };
        int mnt_id, r;

        if (pidfd < 0)
                return probe_failed(d, n, "no pidfd to name", pidfd, ENOPROTOOPT, 0);

        /* EOPNOTSUPP: pidfs without export operations, or no pidfs. */
        r = RET_NERRNO(name_to_handle_at(pidfd, "", &h.fh, &mnt_id, AT_EMPTY_PATH));
        if (r < 0)
                return probe_failed(d, n, "name_to_handle_at(pidfd)", r, 0, 0);
        if (h.fh.handle_type != PB_FILEID_PIDFS || h.fh.handle_bytes != 8)
                return say(d, n, 0, "name_to_handle_at(pidfd) gave type 0x%x, %u bytes",
                           (unsigned) h.fh.handle_type, h.fh.handle_bytes);
        return say(d, n, 1, "name_to_handle_at(pidfd) gave an 8-byte pidfs handle (pidfd from %s)", how);
}

static int probe_so_peerpidfd(char *d, size_t n) {
        _cleanup_close_pair_ int sp[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF;
        socklen_t len = sizeof(pidfd);

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                return probe_failed(d, n, "socketpair()", negative_errno(), 0, 0);
        /* ENOPROTOOPT: a socket option the kernel does not know (< 6.5). */
        if (getsockopt(sp[0], SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
                return probe_failed(d, n, "getsockopt(SO_PEERPIDFD)", negative_errno(), ENOPROTOOPT, 0);
        if (pidfd < 0)
                return say(d, n, 0, "getsockopt(SO_PEERPIDFD) returned no fd");
        return say(d, n, 1, "getsockopt(SO_PEERPIDFD) on a socketpair returned a pidfd");
}

/* The cgroup2 directory this process is in, from /proc/self/cgroup's "0::"
 * line under the cgroup2 mount: /sys/fs/cgroup (unified) or
 * /sys/fs/cgroup/unified (hybrid). */
static int open_own_cgroup2(char *where, size_t size) {
        static const char *const mounts[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
        _cleanup_close_ int fd = -EBADF;
        const char *mnt = NULL, *line;
        char buf[8192], *end;
        struct statfs sfs;
        size_t len = 0;
        ssize_t k;

        for (size_t i = 0; i < ELEMENTSOF(mounts) && !mnt; i++)
                if (statfs(mounts[i], &sfs) >= 0 && (unsigned long) sfs.f_type == CGROUP2_SUPER_MAGIC)
                        mnt = mounts[i];
        if (!mnt)
                return -ENOMEDIUM;

        fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        while (len < sizeof(buf) - 1 && (k = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                len += (size_t) k;
        }
        buf[len] = 0;
        fd = safe_close(fd);

        if (strncmp(buf, "0::", 3) == 0)
                line = buf + 3;
        else if ((line = strstr(buf, "\n0::")))
                line += 4;
        else
                return -ENOMEDIUM;
        end = strchrnul(line, '\n');
        *end = 0;

        if ((size_t) snprintf(where, size, "%s%s", mnt, line) >= size)
                return -ENAMETOOLONG;
        return RET_NERRNO(open(where, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

static int probe_clone_into_cgroup(char *d, size_t n) {
        struct pb_clone_args args = { .flags = CLONE_INTO_CGROUP };
        _cleanup_close_ int cgfd = -EBADF;
        char where[PATH_MAX];
        pid_t pid;
        int r;

        cgfd = open_own_cgroup2(where, sizeof(where));
        if (cgfd == -ENOMEDIUM)
                return say(d, n, 0, "no cgroup2 hierarchy to clone into");
        if (cgfd < 0)
                return probe_failed(d, n, "opening our cgroup2 directory", cgfd, ENOENT, 0);

        args.cgroup = (uint64_t) cgfd;
        pid = sys_clone3(&args, PB_CLONE_ARGS_SIZE_VER2);
        if (pid == 0)
                _exit(0);
        if (pid < 0)
                /* EINVAL: unknown flag; E2BIG: a kernel with the 64-byte struct. */
                return probe_failed(d, n, "clone3(CLONE_INTO_CGROUP)", pid, EINVAL, E2BIG);

        r = reap(pid);
        if (r < 0)
                return probe_failed(d, n, "reaping the clone3() child", r, 0, 0);
        return say(d, n, 1, "clone3(CLONE_INTO_CGROUP) started a child in %s", where);
}

static int probe_close_range(char *d, size_t n) {
        int fd, r;

        fd = open("/", O_PATH | O_CLOEXEC);
        if (fd < 0)
                return probe_failed(d, n, "open(/)", negative_errno(), 0, 0);
        /* Success is the answer; checking the number afterwards would race
         * with other threads reusing it. */
        r = sys_close_range((unsigned) fd, (unsigned) fd, 0);
        if (r < 0) {
                safe_close(fd);
                return probe_failed(d, n, "close_range(fd, fd, 0)", r, 0, 0);
        }
        return say(d, n, 1, "close_range(fd, fd, 0) closed our fd");
}

typedef int (*ProbeFunc)(char *detail, size_t size);

static const ProbeFunc probes[_FEATURE_MAX] = {
        [FEATURE_PIDFD_OPEN]             = probe_pidfd_open,
        [FEATURE_PIDFD_SEND_SIGNAL]      = probe_pidfd_send_signal,
        [FEATURE_CLONE3]                 = probe_clone3,
        [FEATURE_CLONE_PIDFD]            = probe_clone_pidfd,
        [FEATURE_WAITID_PIDFD]           = probe_waitid_pidfd,
        [FEATURE_PIDFD_GETFD]            = probe_pidfd_getfd,
        [FEATURE_PIDFD_NONBLOCK]         = probe_pidfd_nonblock,
        [FEATURE_PIDFD_THREAD]           = probe_pidfd_thread,
        [FEATURE_PIDFD_SIGNAL_SCOPE]     = probe_pidfd_signal_scope,
        [FEATURE_PIDFS]                  = probe_pidfs,
        [FEATURE_PIDFD_GET_INFO]         = probe_pidfd_get_info,
        [FEATURE_PIDFD_INFO_EXIT]        = probe_pidfd_info_exit,
        [FEATURE_PIDFD_NAMESPACE_IOCTLS] = probe_pidfd_namespace_ioctls,
        [FEATURE_PIDFS_FILE_HANDLES]     = probe_pidfs_file_handles,
        [FEATURE_SO_PEERPIDFD]           = probe_so_peerpidfd,
        [FEATURE_CLONE_INTO_CGROUP]      = probe_clone_into_cgroup,
        [FEATURE_CLOSE_RANGE]            = probe_close_range,
};

bool feature_available(Feature f) {
        FeatureState *s;
        int saved_errno = errno, r;

        if (!feature_valid(f))
                return false;
        s = &feature_state[f];
        if (s->probed)
                return s->available;

        r = probes[f](s->detail, sizeof(s->detail));
        s->available = r > 0;
        s->probed = r >= 0;

        /* Callers test this between a failed call and their errno check. */
        errno = saved_errno;
        return s->available;
}

const char *feature_detail(Feature f) {
        if (!feature_valid(f))
                return NULL;
        (void) feature_available(f);
        return feature_state[f].detail;
}

void feature_probe_all(void) {
        for (Feature f = 0; f < _FEATURE_MAX; f++)
                (void) feature_available(f);
}

void feature_mark_missing(Feature f, int err) {
        if (!feature_valid(f))
                return;
        /* A shortage at run time proves nothing about the kernel. */
        if (err != 0 && errno_is_transient(err))
                return;

        feature_state[f].probed = true;
        feature_state[f].available = false;
        if (err != 0)
                say(feature_state[f].detail, DETAIL_MAX, 0, "found missing in use: %s", errno_name(err));
        else
                say(feature_state[f].detail, DETAIL_MAX, 0, "found missing in use");

        for (Feature g = 0; g < _FEATURE_MAX; g++)
                if (feature_requires(g) == (int) f && !(feature_state[g].probed && !feature_state[g].available)) {
                        feature_state[g].probed = true;
                        feature_state[g].available = false;
                        say(feature_state[g].detail, DETAIL_MAX, 0, "needs %s, found missing in use",
                            feature_names[f]);
                }
}

void feature_reset(void) {
        for (Feature f = 0; f < _FEATURE_MAX; f++)
                feature_state[f] = (FeatureState) {};
}
