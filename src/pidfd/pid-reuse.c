/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "pid-reuse.h"

/* Why a pid namespace could not be set up, sent from the child that failed. */
typedef struct PidnsSetupError {
        int step;
        int err;
} PidnsSetupError;

enum {
        PIDNS_STEP_UNSHARE,
        PIDNS_STEP_FORK,
        PIDNS_STEP_MOUNT_PRIVATE,
        PIDNS_STEP_MOUNT_PROC,
        PIDNS_STEP_PID_MAX_PROBE,
        PIDNS_STEP_PID_MAX_GLOBAL,
        PIDNS_STEP_PID_MAX,
};

static const char *const pidns_step_names[] = {
        [PIDNS_STEP_UNSHARE] = "unshare(CLONE_NEWPID|CLONE_NEWNS)",
        [PIDNS_STEP_FORK] = "fork() into the new pid namespace",
        [PIDNS_STEP_MOUNT_PRIVATE] = "mount(/, MS_REC|MS_PRIVATE)",
        [PIDNS_STEP_MOUNT_PROC] = "mount(proc, /proc)",
        [PIDNS_STEP_PID_MAX_PROBE] = "probing whether pid_max is per pid namespace",
        [PIDNS_STEP_PID_MAX_GLOBAL] = "pid_max is one global value here (Linux < 6.14)",
        [PIDNS_STEP_PID_MAX] = "writing /proc/sys/kernel/pid_max",
};

#define PIDNS_SETUP_FAILED 125

_noreturn_ static void pidns_setup_fail(int fd, int step, int err) {
        PidnsSetupError e = { .step = step, .err = err };

        (void) !write(fd, &e, sizeof(e));
        _exit(PIDNS_SETUP_FAILED);
}

/* pid_max as the caller's pid namespace sees it (since 6.14 each has its
 * own; before, one value for the whole system). */
static int read_pid_max(unsigned *ret) {
        char buf[32] = {};
        ssize_t n;
        int fd;

        fd = open("/proc/sys/kernel/pid_max", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return n < 0 ? -errno : -EIO;
        *ret = (unsigned) strtoul(buf, NULL, 10);
        return *ret > 0 ? 0 : -EIO;
}

static int write_pid_max(unsigned pid_max) {
        char buf[32];
        int fd, n;
        ssize_t w;

        fd = open("/proc/sys/kernel/pid_max", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        n = snprintf(buf, sizeof(buf), "%u\n", pid_max);
        w = write(fd, buf, n);
        if (w != n) {
                int r = w < 0 ? -errno : -EIO;
                close(fd);
                return r;
        }
        close(fd);
        return 0;
}

static int read_byte(int fd, char *c) {
        ssize_t n;

        do
                n = read(fd, c, 1);
        while (n < 0 && errno == EINTR);
        return n == 1 ? 0 : n < 0 ? -errno : -EPIPE;
}

int pid_reuse_run(unsigned pid_max, int (*fn)(void *userdata), void *userdata, PidReuseError *ret_error) {
        PidnsSetupError e;
        int p[2], status;
        pid_t pid;
        ssize_t n;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();

        fflush(stdout);
        fflush(stderr);

        pid = fork();
        if (pid < 0) {
                int saved = errno;
                close(p[0]);
                close(p[1]);
                return -saved;
        }
        if (pid == 0) {
                int to_init[2], from_init[2], st, r;
                unsigned outer_max, now;
                pid_t init;
                char c;

                close(p[0]);
                r = read_pid_max(&outer_max);
                if (r < 0)
                        pidns_setup_fail(p[1], PIDNS_STEP_PID_MAX_PROBE, -r);
                if (pipe2(to_init, O_CLOEXEC) < 0 || pipe2(from_init, O_CLOEXEC) < 0)
                        pidns_setup_fail(p[1], PIDNS_STEP_PID_MAX_PROBE, errno);

                /* unshare(CLONE_NEWPID) moves our children, not us: the
                 * next fork is pid 1 of the new namespace. */
                if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
                        pidns_setup_fail(p[1], PIDNS_STEP_UNSHARE, errno);
                init = fork();
                if (init < 0)
                        pidns_setup_fail(p[1], PIDNS_STEP_FORK, errno);
                if (init == 0) {
                        close(to_init[1]);
                        close(from_init[0]);
                        /* Private first, so the new /proc never shows up
                         * in the test process's mount namespace. The
                         * kernel ignores source and type here; valgrind
                         * 3.19 reports NULL ones as errors. */
                        if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
                                pidns_setup_fail(p[1], PIDNS_STEP_MOUNT_PRIVATE, errno);
                        /* A /proc of this namespace: /proc/self/fdinfo
                         * must show pids as fork() returns them here. */
                        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                                pidns_setup_fail(p[1], PIDNS_STEP_MOUNT_PROC, errno);

                        /* Before 6.14 pid_max is global: 400 would starve
                         * the whole machine. Move it by one and let our
                         * parent, outside, say whether it saw the change. */
                        r = write_pid_max(outer_max > 1000 ? outer_max - 1 : outer_max + 1);
                        if (r < 0)
                                pidns_setup_fail(p[1], PIDNS_STEP_PID_MAX_PROBE, -r);
                        if (write(from_init[1], "w", 1) != 1)
                                pidns_setup_fail(p[1], PIDNS_STEP_PID_MAX_PROBE, errno);
                        r = read_byte(to_init[0], &c);
                        if (r < 0)
                                pidns_setup_fail(p[1], PIDNS_STEP_PID_MAX_PROBE, -r);
                        if (c != 'y')
                                pidns_setup_fail(p[1], PIDNS_STEP_PID_MAX_GLOBAL, EOPNOTSUPP);
                        close(to_init[0]);
                        close(from_init[1]);

                        r = write_pid_max(pid_max);
                        if (r < 0)
                                pidns_setup_fail(p[1], PIDNS_STEP_PID_MAX, -r);
                        close(p[1]);
                        _exit(fn(userdata) & 0xff);
                }
                close(to_init[0]);
                close(from_init[1]);

                /* Still in the outer pid namespace: we read its pid_max. */
                if (read_byte(from_init[0], &c) == 0) {
                        r = read_pid_max(&now);
                        if (r == 0 && now != outer_max)
                                (void) write_pid_max(outer_max); /* global after all: undo */
                        (void) !write(to_init[1], r == 0 && now == outer_max ? "y" : "n", 1);
                }
                close(to_init[1]);
                close(from_init[0]);
                close(p[1]);

                while (waitpid(init, &st, 0) < 0)
                        if (errno != EINTR)
                                _exit(PIDNS_SETUP_FAILED);
                if (WIFEXITED(st))
                        _exit(WEXITSTATUS(st));
                /* Pass a death by signal on as one, without a core dump. */
                setrlimit(RLIMIT_CORE, &(struct rlimit) {});
                signal(WTERMSIG(st), SIG_DFL);
                sigprocmask(SIG_SETMASK, &(sigset_t) {}, NULL);
                kill(getpid(), WTERMSIG(st));
                _exit(PIDNS_SETUP_FAILED);
        }

        close(p[1]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        int saved = errno;
                        close(p[0]);
                        return -saved;
                }

        /* Every writer has exited by now: a record or EOF, no waiting. */
        n = read(p[0], &e, sizeof(e));
        close(p[0]);
        if (n == (ssize_t) sizeof(e) && WIFEXITED(status) && WEXITSTATUS(status) == PIDNS_SETUP_FAILED) {
                if (ret_error)
                        *ret_error = (PidReuseError) {
                                .step = e.step >= 0 && (size_t) e.step < ELEMENTSOF(pidns_step_names) ?
                                                pidns_step_names[e.step] : "?",
                                .err = e.err > 0 ? e.err : EIO,
                        };
                return e.err > 0 ? -e.err : -EIO;
        }
        return status;
}

static int reap_pid(pid_t pid) {
        while (waitpid(pid, NULL, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return 0;
}

/* A child that only exits needs no copy of our memory: vfork() costs a
 * fraction of a fork() (5 ms against 0.15 ms on a loaded test machine). */
static pid_t start_exiting_child(void) {
        pid_t pid = vfork();

        if (pid == 0)
                _exit(0);
        return pid;
}

pid_t pid_fork_until(pid_t target, unsigned max_forks, int (*fn)(void *userdata), void *userdata,
                     unsigned *ret_forks) {
        unsigned pid_max = 0;
        pid_t last = 0;

        /* Unknown: every child gets a fork(), as it may be the one. */
        (void) read_pid_max(&pid_max);

        fflush(stdout);
        fflush(stderr);

        for (unsigned i = 1; i <= max_forks; i++) {
                /* The kernel hands out the next free number after the last
                 * one, wrapping to PID_RESERVED: fork() only where that can
                 * be target. */
                bool may_be_target = pid_max == 0 || last == 0 || last + 1 == target ||
                                     ((unsigned) last + 1 >= pid_max && target == PID_RESERVED);
                pid_t pid;
                int r;

                pid = may_be_target ? fork() : start_exiting_child();
                if (pid < 0)
                        return negative_errno();
                if (pid == 0) {
                        if (getpid() == target)
                                _exit(fn(userdata) & 0xff);
                        _exit(0);
                }
                if (pid == target && may_be_target) {
                        if (ret_forks)
                                *ret_forks = i;
                        return pid;
                }
                /* Reaped at once, so that the number is free again. */
                r = reap_pid(pid);
                if (r < 0)
                        return r;
                last = pid;
        }
        return -EBUSY;
}
