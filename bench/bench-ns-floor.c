/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What the kernel alone costs for the process structure of a namespaced
 * Spawn, with no daemon: an init in new pid, mount and net namespaces that
 * makes / private, mounts its own /proc, vforks /bin/true, reaps it and
 * exits, while we poll its pidfd, as the local floor does. Only root may
 * make these namespaces, and the broker's client runs as nobody: bench/run
 * starts this as root beside it, and bench-broker asks for each figure
 * when its round-trip section is due, so the figures stand next to the
 * ones they are read against.
 *
 *   bench-ns-floor      (NsFloorRequest on stdin, a Stats for each on
 *                        stdout, until end of file)
 *
 * Variants (bench-util.h): the init with no namespaces (the extra process
 * on the exit path), in fresh namespaces, and with the network namespace
 * made ahead and joined with setns() (pidbrokerd keeps them ready). */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"
#include "macro.h"
#include "missing-pidfd.h"

typedef struct Floor {
        NsFloor variant;
        int netns;      /* NS_FLOOR_READY_NET: made by make_netns() */
        int host_netns;
} Floor;

/* The init: the workload's namespaces set up as pidbrokerd's child does
 * (spawn-child.c), then /bin/true by vfork, reaped. System calls only: we
 * come from a raw clone3. */
_noreturn_ static void init_child(void *userdata) {
        const Floor *f = userdata;
        int status;

        if (f->variant == NS_FLOOR_READY_NET && setns(f->netns, CLONE_NEWNET) < 0)
                _exit(10);
        if (f->variant != NS_FLOOR_INIT) {
                if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(11);
                if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                        _exit(12);
        }
        pid_t pid = vfork();
        if (pid < 0)
                _exit(13);
        if (pid == 0)
                exec_true(NULL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        _exit(14);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 15);
}

/* Outside the timed region: a fresh network namespace, ours by fd only. */
static void make_netns(void *userdata) {
        Floor *f = userdata;

        if (f->variant != NS_FLOOR_READY_NET)
                return;
        if (unshare(CLONE_NEWNET) < 0)
                die(errno, "unshare(CLONE_NEWNET)");
        f->netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (f->netns < 0)
                die(errno, "open the new network namespace");
        if (setns(f->host_netns, CLONE_NEWNET) < 0)
                die(errno, "setns back to our network namespace");
}

static void round_trip(void *userdata) {
        static const uint64_t flags[_NS_FLOOR_MAX] = {
                [NS_FLOOR_INIT] = 0,
                [NS_FLOOR_NAMESPACES] = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET,
                [NS_FLOOR_READY_NET] = CLONE_NEWPID | CLONE_NEWNS,
        };
        Floor *f = userdata;

        local_clone_round_trip(flags[f->variant], init_child, f);
        /* As pidbrokerd, which drops its reference once the child joined. */
        f->netns = safe_close(f->netns);
}

static bool read_request(NsFloorRequest *req) {
        size_t got = 0;

        while (got < sizeof *req) {
                ssize_t n = read(STDIN_FILENO, (char *) req + got, sizeof *req - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        die(errno, "read a request");
                if (n == 0) {
                        if (got > 0)
                                die(EPROTO, "a request cut short");
                        return false;
                }
                got += (size_t) n;
        }
        return true;
}

int main(int argc, char *argv[]) {
        NsFloorRequest req;

        bench_name = "bench-ns-floor";
        if (argc > 1)
                die(EINVAL, "no arguments: requests come on stdin");
        if (geteuid() != 0)
                die(EPERM, "run as root: only root may make these namespaces");
        Floor f = { .netns = -EBADF, .host_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC) };
        if (f.host_netns < 0)
                die(errno, "open our network namespace");

        while (read_request(&req)) {
                if (req.variant >= _NS_FLOOR_MAX)
                        die(EINVAL, "unknown variant %u", req.variant);
                if (req.iterations == 0 || req.iterations > 100000)
                        die(EINVAL, "%u iterations: 1 to 100000", req.iterations);
                f.variant = (NsFloor) req.variant;
                Stats s = measure_prepared(req.iterations, make_netns, round_trip, &f);
                if (write(STDOUT_FILENO, &s, sizeof s) != (ssize_t) sizeof s)
                        die(errno, "write the answer");
        }
        close(f.host_netns);
        return EXIT_SUCCESS;
}
