/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "feature.h"
#include "fileio.h"
#include "legacy.h"
#include "missing-pidfd.h"
#include "pidfd-util.h"
#include "process.h"

void process_done(Process *p) {
        if (!p)
                return;
        p->fd = safe_close(p->fd);
        p->pid = 0;
        p->id = 0;
}

int pidfd_get_id(int pidfd, uint64_t *ret) {
        struct statfs sfs;
        struct stat st;

        if (fstatfs(pidfd, &sfs) < 0)
                return negative_errno();
        /* Before pidfs, every pidfd was the same anon inode: no identity. */
        if (sfs.f_type != PIDFS_MAGIC)
                return -EOPNOTSUPP;
        if (fstat(pidfd, &st) < 0)
                return negative_errno();
        *ret = (uint64_t) st.st_ino;
        return 0;
}

int pidfd_get_pid(int pidfd, pid_t *ret) {
        char path[64], line[256];
        FILE *f;
        int r = -ENOTTY;

        snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -EBADF : negative_errno();
        while (fgets(line, sizeof line, f)) {
                int pid;
                if (sscanf(line, "Pid: %d", &pid) == 1) {
                        /* -1 once reaped; 0 when it lives outside our pid namespace. */
                        if (pid == -1)
                                r = -ESRCH;
                        else if (pid == 0)
                                r = -EREMOTE;
                        else {
                                *ret = pid;
                                r = 0;
                        }
                        break;
                }
        }
        fclose(f);
        return r;
}

/* The device pidfs files live on: a file there is a pidfd. 0 without pidfs
 * (or until it can be told). Learnt once from a pidfd of our own. */
static dev_t pidfs_dev(void) {
        static dev_t cached;  /* read and written whole; any thread finds the same */
        dev_t dev = __atomic_load_n(&cached, __ATOMIC_RELAXED);
        struct stat st;

        if (dev != 0 || !feature_available(FEATURE_PIDFS))
                return dev;
        _cleanup_close_ int fd = sys_pidfd_open(getpid(), 0);
        if (fd < 0 || fstat(fd, &st) < 0)
                return 0;
        __atomic_store_n(&cached, st.st_dev, __ATOMIC_RELAXED);
        return st.st_dev;
}

/* The pid a pidfd names, from PIDFD_GET_INFO: one ioctl. Only for an fd
 * known to be a pidfd (an ioctl number means something else elsewhere).
 * -ESRCH once reaped. */
static int pidfd_info_pid(int pidfd, pid_t *ret) {
        struct pb_pidfd_info k = { .mask = PIDFD_INFO_PID };

        if (ioctl(pidfd, PB_PIDFD_GET_INFO, &k) < 0)
                return negative_errno();
        if (!(k.mask & PIDFD_INFO_PID) || k.pid == 0)
                return -ESRCH;
        *ret = (pid_t) k.pid;
        return 0;
}

/* A pidfd recognised by the file system it lives on, without reading
 * fdinfo: statx() with AT_STATX_DONT_SYNC cannot block on the fd's file
 * system (a FUSE or network file is answered from the inode the kernel
 * holds), and only once the fd is known to be on pidfs is it asked for its
 * pid. Two syscalls instead of six. -EOPNOTSUPP: no pidfs or no
 * PIDFD_GET_INFO here, read fdinfo instead; -EBADF: not a pidfd. */
static int pidfd_identify(int fd, pid_t *ret_pid, uint64_t *ret_id) {
        struct statx stx;
        dev_t dev;
        int r;

        if (!feature_available(FEATURE_PIDFD_GET_INFO))
                return -EOPNOTSUPP;
        dev = pidfs_dev();
        if (dev == 0)
                return -EOPNOTSUPP;
        if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, &stx) < 0)
                return negative_errno();
        if (makedev(stx.stx_dev_major, stx.stx_dev_minor) != dev)
                return -EBADF;
        r = pidfd_info_pid(fd, ret_pid);
        if (r < 0)
                return r;
        *ret_id = (uint64_t) stx.stx_ino;
        return 0;
}

/* The pid and pidfs id of what fd names; -EBADF when it is no pidfd. */
static int pidfd_identify_any(int fd, pid_t *ret_pid, uint64_t *ret_id) {
        int r;

        if (fd < 0)
                return -EBADF;
        *ret_id = 0;
        r = pidfd_identify(fd, ret_pid, ret_id);
        if (r != -EOPNOTSUPP)
                return r;
        /* "Pid:" in fdinfo is only printed for pidfds: anything else is -ENOTTY. */
        r = pidfd_get_pid(fd, ret_pid);
        if (r == -ENOTTY)
                return -EBADF;
        if (r < 0)
                return r;
        r = pidfd_get_id(fd, ret_id);
        return r == -EOPNOTSUPP ? 0 : r;
}

int process_borrow_pidfd(Process *ret, int pidfd) {
        pid_t pid;
        uint64_t id;
        int r;

        r = pidfd_identify_any(pidfd, &pid, &id);
        if (r < 0)
                return r;
        *ret = (Process) { .pid = pid, .fd = pidfd, .id = id };
        return 0;
}

int process_from_pidfd(Process *ret, int pidfd) {
        _cleanup_close_ int fd = pidfd;
        int r;

        r = process_borrow_pidfd(ret, fd);
        if (r < 0)
                return r;
        TAKE_FD(fd); /* now ret's */
        return 0;
}

int process_from_pidfd_dup(Process *ret, int pidfd) {
        int fd;

        if (pidfd < 0)
                return -EBADF;
        fd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();
        return process_from_pidfd(ret, fd);
}

int process_from_pid(Process *ret, pid_t pid, ControlPath cp) {
        int fd;

        if (pid <= 0)
                return -EINVAL;
        if (cp == CONTROL_PATH_LEGACY)
                return legacy_process_from_pid(ret, pid);

        if (feature_available(FEATURE_PIDFD_OPEN)) {
                fd = sys_pidfd_open(pid, 0);
                if (fd >= 0)
                        return process_from_pidfd(ret, fd);
                /* Not a thread-group leader (ENOENT on 6.18, EINVAL before) or gone. */
                if (errno == ESRCH || errno == ENOENT || errno == EINVAL)
                        return -ESRCH;
                if (!errno_is_not_supported(errno))
                        return negative_errno();
                feature_mark_missing(FEATURE_PIDFD_OPEN, errno);
        }
        if (!control_path_allows_legacy(cp))
                return -EOPNOTSUPP;
        return legacy_process_from_pid(ret, pid);
}

int process_copy(Process *ret, const Process *p) {
        int fd = -EBADF;

        if (!process_is_legacy(p)) {
                fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return negative_errno();
        }
        *ret = (Process) { .pid = p->pid, .fd = fd, .id = p->id };
        return 0;
}

/* struct file_handle ends in a flexible array: room for a pidfs handle. */
typedef union KernelFileHandle {
        struct file_handle fh;
        uint8_t space[sizeof(struct file_handle) + PIDFS_HANDLE_MAX];
} KernelFileHandle;

int process_get_pidfs_handle(const Process *p, PidfsHandle *ret) {
        KernelFileHandle h = { .fh.handle_bytes = PIDFS_HANDLE_MAX };
        int mnt_id;

        if (!process_is_set(p))
                return -ESRCH;
        if (process_is_legacy(p))
                return -EOPNOTSUPP;
        if (name_to_handle_at(p->fd, "", &h.fh, &mnt_id, AT_EMPTY_PATH) < 0)
                return errno_is_not_supported(errno) ? -EOPNOTSUPP : negative_errno();
        if (h.fh.handle_type != PB_FILEID_PIDFS)
                return -EOPNOTSUPP;
        *ret = (PidfsHandle) { .type = h.fh.handle_type, .size = h.fh.handle_bytes };
        memcpy(ret->bytes, h.fh.f_handle, h.fh.handle_bytes);
        return 0;
}

int process_from_pid_checked(Process *ret, pid_t pid, uint64_t id) {
        _cleanup_process_ Process p = PROCESS_NULL;
        int r;

        if (pid <= 0 || id == 0)
                return -EINVAL;
        /* A bare pid proves nothing: only a pidfd is compared. */
        r = process_from_pid(&p, pid, CONTROL_PATH_PIDFD);
        if (r < 0)
                return r;
        /* Without pidfs there is no identity to compare: nothing is proven. */
        if (p.id == 0)
                return -EOPNOTSUPP;
        if (p.id != id)
                return -ESRCH;
        *ret = p;
        p = PROCESS_NULL;
        return 0;
}

int process_from_pidfs_handle(Process *ret, const PidfsHandle *h, pid_t pid, uint64_t id) {
        KernelFileHandle k;
        _cleanup_process_ Process p = PROCESS_NULL;
        int fd, r;

        if (id == 0)
                return -EINVAL;
        if (h && (h->type != PB_FILEID_PIDFS || h->size == 0 || h->size > PIDFS_HANDLE_MAX))
                return -EINVAL;
        if (!h)
                return process_from_pid_checked(ret, pid, id);

        k.fh.handle_bytes = h->size;
        k.fh.handle_type = h->type;
        memcpy(k.fh.f_handle, h->bytes, h->size);
        fd = open_by_handle_at(FD_PIDFS_ROOT, &k.fh, O_CLOEXEC);
        if (fd < 0) {
                /* The process was reaped: whatever its pid names now is
                 * someone else. */
                if (errno == ESTALE)
                        return -ESRCH;
                /* Before 6.17 FD_PIDFS_ROOT is no fd at all: pin by pid. */
                if (errno == EBADF || errno_is_not_supported(errno))
                        return pid > 0 ? process_from_pid_checked(ret, pid, id) : -EOPNOTSUPP;
                return negative_errno();
        }
        r = process_from_pidfd(&p, fd);
        if (r < 0)
                return r;
        if (p.id != id)
                return -ESRCH;
        *ret = p;
        p = PROCESS_NULL;
        return 0;
}

bool process_same(const Process *a, const Process *b) {
        pid_t pa, pb;

        if (!process_is_set(a) || !process_is_set(b))
                return false;
        if (a->id != 0 && b->id != 0)
                return a->id == b->id;
        if (a->pid != b->pid)
                return false;
        /* Without pidfs ids, equal pids prove nothing unless both pidfds still
         * resolve to that pid: then both name the one live process. */
        if (process_is_legacy(a) || process_is_legacy(b))
                return false;
        return pidfd_get_pid(a->fd, &pa) >= 0 && pidfd_get_pid(b->fd, &pb) >= 0 && pa == a->pid && pb == b->pid;
}

int process_check_alive(const Process *p) {
        if (!process_is_set(p))
                return -ESRCH;
        /* A pidfd turns readable at exit, reaped or not; that is all there
         * is to ask (no signal 0, which a zombie still takes and a seccomp
         * filter may refuse). */
        if (!process_is_legacy(p)) {
                struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
                if (poll(&pfd, 1, 0) < 0)
                        return negative_errno();
                return pfd.revents & (POLLIN | POLLHUP) ? -ESRCH : 0;
        }
        return process_signal(p, 0, 0);
}

int process_getfd(const Process *p, int target_fd) {
        int fd;

        if (!process_is_set(p))
                return -ESRCH;
        if (process_is_legacy(p))
                return -EOPNOTSUPP;
        fd = sys_pidfd_getfd(p->fd, target_fd, 0);
        /* EPERM is the kernel's real answer here (no ptrace rights): only
         * ENOSYS says the call is missing. */
        if (fd == -ENOSYS) {
                feature_mark_missing(FEATURE_PIDFD_GETFD, ENOSYS);
                return -EOPNOTSUPP;
        }
        return fd;
}

/* Without pidfd_send_signal(): kill(), but only to our own child that has
 * not exited. We alone reap it, so until we do its pid names it alone; a
 * process with another parent never becomes ours. 1: sent this way. */
static int signal_own_child(const Process *p, int sig, unsigned flags) {
        ProcessInfo info;
        int r;

        if (flags != 0)
                return -EOPNOTSUPP;
        r = process_check_alive(p);
        if (r < 0)
                return r;
        if (process_get_info(p, &info) < 0 || info.ppid != getpid())
                return -EOPNOTSUPP;
        if (kill(p->pid, sig) < 0)
                return negative_errno();
        return 1;
}

int process_signal(const Process *p, int sig, unsigned flags) {
        int r;

        if (!process_is_set(p))
                return -ESRCH;
        if (sig < 0 || sig >= _NSIG)
                return -EINVAL;
        if (flags & ~PB_PIDFD_SIGNAL_SCOPES)
                return -EINVAL;
        /* At most one scope: the kernel says EINVAL too, but say it first. */
        if (__builtin_popcount(flags) > 1)
                return -EINVAL;
        if (flags != 0 && !feature_available(FEATURE_PIDFD_SIGNAL_SCOPE))
                return -EOPNOTSUPP;

        if (process_is_legacy(p)) {
                if (flags != 0)
                        return -EOPNOTSUPP;
                return legacy_signal(p->pid, sig);
        }

        if (!feature_available(FEATURE_PIDFD_SEND_SIGNAL))
                return signal_own_child(p, sig, flags);
        r = sys_pidfd_send_signal(p->fd, sig, NULL, flags);
        if (r == -ENOSYS) {
                feature_mark_missing(FEATURE_PIDFD_SEND_SIGNAL, ENOSYS);
                return signal_own_child(p, sig, flags);
        }
        return r;
}

int process_wait(const Process *p, int options, siginfo_t *ret) {
        siginfo_t si = {};

        if (!process_is_set(p))
                return -ESRCH;
        if (options & ~(WEXITED | WNOHANG | WNOWAIT))
                return -EINVAL;
        options |= WEXITED;

        if (process_is_legacy(p))
                return legacy_wait(p->pid, options, ret);

        if (!feature_available(FEATURE_WAITID_PIDFD)) {
                /* Without waitid(P_PIDFD): by pid, but only our own child.
                 * We alone reap it, so until we do its pid names it alone;
                 * a process with another parent never becomes ours. */
                ProcessInfo info;
                if (process_get_info(p, &info) < 0 || info.ppid != getpid())
                        return -ECHILD;
                if (waitid(P_PID, (id_t) p->pid, &si, options) < 0)
                        return negative_errno();
        } else if (waitid(P_PIDFD, (id_t) p->fd, &si, options) < 0) {
                if (errno_is_not_supported(errno)) {
                        feature_mark_missing(FEATURE_WAITID_PIDFD, errno);
                        return process_wait(p, options, ret);
                }
                return negative_errno();
        }
        /* WNOHANG on a running child leaves si_pid 0 (or EAGAIN on a
         * PIDFD_NONBLOCK pidfd): either way, "still running". */
        if (si.si_pid == 0)
                return -EAGAIN;
        if (ret)
                *ret = si;
        return 0;
}

/* A fact read from /proc/<pid> counts only if, after the read, the pidfd
 * still names a live process with that pid: while it lives, its pid cannot
 * name anyone else. */
static int process_verify_pid(const Process *p) {
        pid_t now;
        int r;

        /* Made only where the control path allowed it; a bare pid proves nothing more. */
        if (process_is_legacy(p))
                return 0;
        if (feature_available(FEATURE_PIDFD_GET_INFO))
                r = pidfd_info_pid(p->fd, &now);
        else
                r = pidfd_get_pid(p->fd, &now);
        if (r < 0)
                return r;
        return now == p->pid ? 0 : -ESRCH;
}

static int proc_status_read(pid_t pid, ProcessInfo *info) {
        char path[64], line[512];
        unsigned found = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -ESRCH : negative_errno();
        while (fgets(line, sizeof line, f)) {
                unsigned a, b, c;
                int n;
                if (sscanf(line, "PPid: %d", &n) == 1) {
                        info->ppid = n;
                        found |= 1;
                } else if (sscanf(line, "Uid: %u %u %u", &a, &b, &c) == 3) {
                        info->ruid = a;
                        info->euid = b;
                        info->suid = c;
                        found |= 2;
                } else if (sscanf(line, "Gid: %u %u", &a, &b) == 2) {
                        info->rgid = a;
                        info->egid = b;
                        found |= 4;
                }
        }
        fclose(f);
        return found == 7 ? 0 : -EIO;
}

int process_get_info(const Process *p, ProcessInfo *ret) {
        ProcessInfo info = { .pid = p->pid };
        int r;

        if (!process_is_set(p))
                return -ESRCH;

        if (!process_is_legacy(p) && feature_available(FEATURE_PIDFD_GET_INFO)) {
                struct pb_pidfd_info k = { .mask = PIDFD_INFO_PID | PIDFD_INFO_CREDS | PIDFD_INFO_CGROUPID };

                if (ioctl(p->fd, PB_PIDFD_GET_INFO, &k) < 0)
                        return negative_errno(); /* ESRCH once reaped, EREMOTE across pid namespaces */
                if ((k.mask & (PIDFD_INFO_PID | PIDFD_INFO_CREDS)) != (PIDFD_INFO_PID | PIDFD_INFO_CREDS))
                        return -EIO;
                info.pid = (pid_t) k.pid;
                info.ppid = (pid_t) k.ppid;
                info.ruid = k.ruid;
                info.euid = k.euid;
                info.suid = k.suid;
                info.rgid = k.rgid;
                info.egid = k.egid;
                info.cgroup_id = (k.mask & PIDFD_INFO_CGROUPID) ? k.cgroupid : 0;
                info.source = PROCESS_INFO_PIDFD_IOCTL;
                *ret = info;
                return 0;
        }

        r = proc_status_read(p->pid, &info);
        if (r < 0)
                return r;
        r = process_verify_pid(p);
        if (r < 0)
                return r;
        info.source = PROCESS_INFO_PROC;
        *ret = info;
        return 0;
}

/* Read /proc/<pid>/<file> (at most size - 1 bytes, NUL-terminated), then
 * re-check the pin: the content counts only if the pid still names p. */
static int proc_read_verified(const Process *p, const char *file, bool one_line, char *buf, size_t size) {
        char path[64];
        int r;

        if (!process_is_set(p))
                return -ESRCH;

        snprintf(path, sizeof path, "/proc/%d/%s", (int) p->pid, file);
        r = one_line ? read_one_line_file_at(AT_FDCWD, path, buf, size) :
                       read_small_file_at(AT_FDCWD, path, buf, size);
        /* The pid is gone (ENOENT) or exited while read (ESRCH). */
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        return process_verify_pid(p);
}

static void comm_from_buf(char *buf, char ret[static PROCESS_COMM_MAX]) {
        buf[strcspn(buf, "\n")] = '\0';
        memcpy(ret, buf, PROCESS_COMM_MAX);
        ret[PROCESS_COMM_MAX - 1] = '\0';
}

int process_get_comm(const Process *p, char ret[static PROCESS_COMM_MAX]) {
        char buf[PROCESS_COMM_MAX + 1];
        int r;

        r = proc_read_verified(p, "comm", true, buf, sizeof buf);
        if (r < 0)
                return r;
        comm_from_buf(buf, ret);
        return 0;
}

int process_get_comm_userns(const Process *p, char ret_comm[static PROCESS_COMM_MAX], uint64_t *ret_userns) {
        uint64_t userns;
        int r;

        if (!process_is_set(p))
                return -ESRCH;
        /* The namespace by pid first: the re-check of the pin that reading
         * comm ends with covers both. Cheaper than the pidfd's namespace
         * ioctl (an fd made, stat'ed and closed) next to a comm that needs
         * the re-check anyway. */
        if (namespace_id_from_proc(p->pid, NAMESPACE_USER, &userns) < 0)
                userns = 0;
        r = process_get_comm(p, ret_comm);
        if (r < 0)
                return r;
        *ret_userns = userns;
        return 0;
}

int process_open_comm(const Process *p) {
        _cleanup_close_ int fd = -EBADF;
        char path[64];
        int r;

        if (!process_is_set(p))
                return -ESRCH;
        snprintf(path, sizeof path, "/proc/%d/comm", (int) p->pid);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        /* Opened while the pid still named p: the file is p's for good. */
        r = process_verify_pid(p);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

int process_read_comm_fd(int fd, char ret[static PROCESS_COMM_MAX]) {
        char buf[PROCESS_COMM_MAX + 1];
        ssize_t n;

        do
                n = pread(fd, buf, sizeof buf - 1, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno(); /* ESRCH once reaped */
        buf[n] = '\0';
        comm_from_buf(buf, ret);
        return 0;
}

int process_get_cgroup_path(const Process *p, char **ret) {
        char buf[4096];
        const char *line;
        char *path;
        int r;

        r = proc_read_verified(p, "cgroup", false, buf, sizeof buf);
        if (r < 0)
                return r;
        /* The cgroup2 entry is "0::/path"; on a hybrid host v1 lines precede it. */
        line = strncmp(buf, "0::", 3) == 0 ? buf : strstr(buf, "\n0::");
        if (!line)
                return -ENOMEDIUM;
        line += line == buf ? 3 : 4;
        path = strndup(line, strcspn(line, "\n"));
        if (!path)
                return -ENOMEM;
        *ret = path;
        return 0;
}

/* /proc/<pid>/limits: a header, then one line per resource in the kernel's
 * order, "<name padded to 26> <soft padded to 21> <hard> <units>". */
static int parse_proc_limits(char *text, struct rlimit ret[static RLIMIT_NLIMITS]) {
        char *save = NULL, *line;
        int i = -1;

        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
                char soft[32], hard[32];
                rlim_t v[2];

                if (i < 0)
                        continue; /* the header */
                if (i >= RLIMIT_NLIMITS)
                        break;
                if (strlen(line) < 26 || sscanf(line + 26, "%31s %31s", soft, hard) != 2)
                        return -EIO;
                for (int k = 0; k < 2; k++) {
                        const char *t = k == 0 ? soft : hard;
                        char *end;
                        if (strcmp(t, "unlimited") == 0) {
                                v[k] = RLIM_INFINITY;
                                continue;
                        }
                        errno = 0;
                        v[k] = (rlim_t) strtoull(t, &end, 10);
                        if (errno != 0 || *end != '\0' || end == t)
                                return -EIO;
                }
                ret[i] = (struct rlimit) { .rlim_cur = v[0], .rlim_max = v[1] };
        }
        return i == RLIMIT_NLIMITS ? 0 : -EIO;
}

int process_get_rlimits(const Process *p, struct rlimit ret[static RLIMIT_NLIMITS]) {
        struct rlimit l[RLIMIT_NLIMITS];
        char text[4096];
        int r;

        if (!process_is_set(p))
                return -ESRCH;
        for (int i = 0; i < RLIMIT_NLIMITS; i++) {
                if (prlimit(p->pid, (enum __rlimit_resource) i, NULL, &l[i]) == 0)
                        continue;
                if (errno == ESRCH)
                        return -ESRCH;
                if (errno != EPERM)
                        return negative_errno();
                /* Another user's process, and we lack CAP_SYS_RESOURCE (as
                 * root does on some hosts): the world-readable /proc file
                 * says the same. */
                r = proc_read_verified(p, "limits", false, text, sizeof text);
                if (r < 0)
                        return r;
                r = parse_proc_limits(text, l);
                if (r < 0)
                        return r;
                memcpy(ret, l, sizeof l);
                return 0;
        }
        r = process_verify_pid(p);
        if (r < 0)
                return r;
        memcpy(ret, l, sizeof l);
        return 0;
}

int process_get_nice(const Process *p, int *ret) {
        int nice, r;

        if (!process_is_set(p))
                return -ESRCH;
        /* -1 is a valid nice value: only errno tells failure apart. */
        errno = 0;
        nice = getpriority(PRIO_PROCESS, (id_t) p->pid);
        if (nice == -1 && errno != 0)
                return negative_errno();
        r = process_verify_pid(p);
        if (r < 0)
                return r;
        *ret = nice;
        return 0;
}

int process_get_oom_score_adj(const Process *p, int *ret) {
        char buf[32], *end;
        long v;
        int r;

        r = proc_read_verified(p, "oom_score_adj", true, buf, sizeof buf);
        if (r < 0)
                return r;
        errno = 0;
        v = strtol(buf, &end, 10);
        if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') || v < -1000 || v > 1000)
                return -EIO;
        *ret = (int) v;
        return 0;
}

int process_get_exit_status(const Process *p, int *ret_status) {
        struct pb_pidfd_info k = { .mask = PIDFD_INFO_EXIT };

        if (!process_is_set(p))
                return -ESRCH;
        if (process_is_legacy(p) || !feature_available(FEATURE_PIDFD_INFO_EXIT))
                return -EOPNOTSUPP;
        if (ioctl(p->fd, PB_PIDFD_GET_INFO, &k) < 0) {
                /* Until the reap the kernel has no exit status to give. */
                if (errno == ESRCH)
                        return -ENODATA;
                return negative_errno();
        }
        if (!(k.mask & PIDFD_INFO_EXIT))
                return -ENODATA;
        *ret_status = k.exit_code;
        return 0;
}

int process_namespace_id(const Process *p, NamespaceType t, uint64_t *ret) {
        uint64_t id;
        int r;

        if (!process_is_set(p))
                return -ESRCH;
        if (t < 0 || t >= _NAMESPACE_MAX)
                return -EINVAL;

        if (!process_is_legacy(p) && feature_available(FEATURE_PIDFD_NAMESPACE_IOCTLS)) {
                _cleanup_close_ int nsfd = ioctl(p->fd, namespace_pidfd_ioctl(t), 0);
                struct stat st;

                if (nsfd < 0)
                        return negative_errno();
                if (fstat(nsfd, &st) < 0)
                        return negative_errno();
                *ret = (uint64_t) st.st_ino;
                return 0;
        }

        r = namespace_id_from_proc(p->pid, t, &id);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        r = process_verify_pid(p);
        if (r < 0)
                return r;
        *ret = id;
        return 0;
}
