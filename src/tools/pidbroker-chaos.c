/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pidbroker-chaos: the PID-reuse comparison, end to end. Inside a pid
 * namespace of its own with pid_max lowered (per namespace since 6.14), it
 * spawns workloads with the spawn engine and terminates and waits them, once
 * through the pidfd path (Process handles) and once through the legacy PID
 * adapter, while decoys take over the numbers the kernel hands out again.
 *
 * Each attempt, on each path:
 *  1. spawn a workload (this program, --workload K) that exits with K, a code
 *     no other process uses, on its own after a random delay or at SIGTERM;
 *     it says "ready" once its SIGTERM handler is in place;
 *  2. let a supervisor reap whatever exited, as the SIGCHLD handler of a
 *     PID-based supervisor would: on even attempts after a random pause (a
 *     real race), on odd ones after the workload has exited (the number is
 *     surely free by then);
 *  3. if the workload's number came free, fork until the kernel hands it out
 *     again: that child is a decoy, which records every signal it receives
 *     on a pipe and exits with DECOY_EXIT;
 *  4. terminate (SIGTERM) and wait the workload through the path's handle;
 *  5. count a wrong target when a decoy recorded a signal, and a wrong status
 *     when the status the wait reported is not "exited with K".
 *
 * The pidfd path must show 0 wrong; the legacy path shows what a bare pid
 * costs. Needs root. Exit status: 0 when the pidfd path had no wrong result
 * and lost no status, 1 otherwise, 2 on bad usage, 77 where PID reuse cannot
 * be forced (no root, or pid_max is global: Linux < 6.14). */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "legacy.h"
#include "macro.h"
#include "pid-reuse.h"
#include "process.h"
#include "spawn.h"

#define DECOY_EXIT 222
#define WORKLOAD_CODES 200   /* K in 1..200: never 0, never DECOY_EXIT */
#define MAX_DELAY_US 1000
#define READY_FD 3           /* the workload's "ready" pipe */
#define EXIT_CANNOT_RUN 77

typedef enum ChaosPath {
        CHAOS_PATH_PIDFD,
        CHAOS_PATH_LEGACY,
        _CHAOS_PATH_MAX,
} ChaosPath;

static const char *const chaos_path_names[_CHAOS_PATH_MAX] = {
        [CHAOS_PATH_PIDFD] = "pidfd",
        [CHAOS_PATH_LEGACY] = "legacy",
};

typedef struct PathCounts {
        unsigned attempts;
        unsigned signal_delivered;    /* the terminate call succeeded */
        unsigned target_gone;         /* ESRCH: the workload had exited, no one else signalled */
        unsigned reuse_opportunities; /* the workload's number was free before the terminate */
        unsigned decoy_hits;          /* a decoy then held that number */
        unsigned wrong_target;        /* a decoy recorded a signal */
        unsigned wrong_status;        /* the wait reported another status than "exited with K" */
        unsigned status_lost;         /* the wait reported no status at all */
} PathCounts;

typedef struct Chaos {
        unsigned attempts;
        unsigned pid_max;
        uint64_t seed;
        bool json;
        char exe[PATH_MAX];
        int report[2];                /* decoys → controller: DecoyRecord */
        uint64_t rng;
        PathCounts counts[_CHAOS_PATH_MAX];
        double seconds;
} Chaos;

typedef struct DecoyRecord {
        int32_t pid;
        int32_t sig; /* 0: "signals blocked, ready" */
} DecoyRecord;

/* ---- the workload and the decoy ---------------------------------------- */

static int workload_code = 1;

static void workload_on_sigterm(int sig) {
        _exit(workload_code);
}

/* pidbroker-chaos --workload K DELAY_US */
static int workload_main(int argc, char *argv[]) {
        struct sigaction sa = { .sa_handler = workload_on_sigterm };
        struct timespec ts;
        long delay;

        if (argc != 4)
                return 2;
        workload_code = atoi(argv[2]);
        delay = atol(argv[3]);
        if (sigaction(SIGTERM, &sa, NULL) < 0)
                return 3;
        if (write(READY_FD, "r", 1) != 1)
                return 3;
        (void) close(READY_FD);
        ts = (struct timespec) { .tv_sec = delay / 1000000, .tv_nsec = (delay % 1000000) * 1000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        _exit(workload_code);
}

/* What runs at the recycled number: record every signal but SIGUSR2 (the
 * controller's release, sent through the decoy's own pidfd); leave at
 * SIGTERM or SIGUSR2. */
static int decoy_main(void *userdata) {
        int report_fd = *(int *) userdata;
        DecoyRecord rec = { .pid = getpid(), .sig = 0 };
        sigset_t all;

        sigfillset(&all);
        if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
                return 1;
        if (write(report_fd, &rec, sizeof(rec)) != (ssize_t) sizeof(rec))
                return 1;
        sigdelset(&all, SIGCHLD);
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);

                if (sig < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                if (sig == SIGUSR2)
                        return DECOY_EXIT;
                rec.sig = sig;
                if (write(report_fd, &rec, sizeof(rec)) != (ssize_t) sizeof(rec))
                        return 1;
                if (sig == SIGTERM)
                        return DECOY_EXIT;
        }
}

/* ---- one attempt ------------------------------------------------------- */

static uint64_t rng_next(Chaos *c) {
        /* xorshift64: reproducible with --seed, good enough for delays. */
        c->rng ^= c->rng << 13;
        c->rng ^= c->rng >> 7;
        c->rng ^= c->rng << 17;
        return c->rng;
}

static void sleep_us(unsigned us) {
        struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long) (us % 1000000) * 1000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int read_full(int fd, void *buf, size_t size, int timeout_ms) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;
        int r;

        r = RET_NERRNO(poll(&p, 1, timeout_ms));
        if (r < 0)
                return r;
        if (r == 0)
                return -ETIMEDOUT;
        n = read(fd, buf, size);
        if (n < 0)
                return negative_errno();
        return (size_t) n == size ? 0 : -EPIPE;
}

/* Spawn the workload; returns once its SIGTERM handler is in place. */
static int workload_spawn(Chaos *c, ControlPath cp, int code, unsigned delay_us, Spawned *ret) {
        _cleanup_close_pair_ int ready[2] = { -EBADF, -EBADF };
        char code_s[16], delay_s[16], byte;
        char *argv[] = { c->exe, (char *) "--workload", code_s, delay_s, NULL };
        char *env[] = { NULL };
        SpawnStep step = SPAWN_STEP_NONE;
        Spawned s = SPAWNED_NULL;
        SpawnRequest req;
        FdMapping map;
        int r;

        if (pipe2(ready, O_CLOEXEC) < 0)
                return negative_errno();
        snprintf(code_s, sizeof(code_s), "%d", code);
        snprintf(delay_s, sizeof(delay_s), "%u", delay_us);
        map = (FdMapping) { .target = READY_FD, .fd = ready[1] };

        spawn_request_init(&req);
        req.argv = argv;
        req.env = env;
        req.fds = &map;
        req.n_fds = 1;
        req.uid = 0;
        req.gid = 0;
        req.control_path = cp;
        r = spawn_run(&req, &s, &step);
        if (r < 0) {
                fprintf(stderr, "spawning the workload failed at %s: %s\n", spawn_step_to_string(step),
                        strerror(-r));
                return r;
        }
        ready[1] = safe_close(ready[1]);
        r = read_full(ready[0], &byte, 1, 10 * 1000);
        if (r < 0) {
                fprintf(stderr, "the workload never said ready: %s\n", strerror(-r));
                (void) process_signal(&s.process, SIGKILL, 0);
                (void) process_wait(&s.process, WEXITED, NULL);
                spawned_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

typedef struct Decoy {
        pid_t pid;
        int pidfd;
} Decoy;

/* Fork until the kernel hands out target again; that child is the decoy. */
static int decoy_start(Chaos *c, pid_t target, Decoy *ret) {
        DecoyRecord rec;
        pid_t pid;
        int pidfd, r;

        fflush(stdout);
        fflush(stderr);
        pid = pid_fork_until(target, 4 * c->pid_max, decoy_main, &c->report[1], NULL);
        if (pid < 0)
                return pid;
        /* Our unreaped child: the number cannot move before this pins it. */
        pidfd = (int) syscall(__NR_pidfd_open, pid, 0);
        if (pidfd < 0)
                return negative_errno();
        r = read_full(c->report[0], &rec, sizeof(rec), 10 * 1000);
        if (r >= 0 && (rec.pid != pid || rec.sig != 0))
                r = -EPROTO;
        if (r < 0) {
                (void) syscall(__NR_pidfd_send_signal, pidfd, SIGKILL, NULL, 0U);
                (void) waitid(P_PIDFD, (id_t) pidfd, &(siginfo_t) {}, WEXITED);
                close(pidfd);
                return r;
        }
        *ret = (Decoy) { pid, pidfd };
        return 0;
}

/* Release and reap the decoy (unless a legacy wait reaped it already), then
 * say whether it recorded a signal. */
static int decoy_finish(Chaos *c, Decoy *d, bool *ret_hit) {
        DecoyRecord rec;
        bool hit = false;
        ssize_t n;

        (void) syscall(__NR_pidfd_send_signal, d->pidfd, SIGUSR2, NULL, 0U);
        (void) waitid(P_PIDFD, (id_t) d->pidfd, &(siginfo_t) {}, WEXITED);
        d->pidfd = safe_close(d->pidfd);

        /* It has exited: whatever it wrote is in the pipe now. */
        while ((n = read(c->report[0], &rec, sizeof(rec))) == (ssize_t) sizeof(rec))
                if (rec.pid == d->pid && rec.sig != 0)
                        hit = true;
        if (n < 0 && errno != EAGAIN)
                return negative_errno();
        *ret_hit = hit;
        return 0;
}

static int attempt_run(Chaos *c, ChaosPath path, unsigned i) {
        PathCounts *n = &c->counts[path];
        _cleanup_(spawned_done) Spawned s = SPAWNED_NULL;
        Decoy decoy = { .pid = 0, .pidfd = -EBADF };
        int code = 1 + (int) (i % WORKLOAD_CODES), status = -1, r;
        bool late = i % 2 == 1, reaped = false, got_status = false;
        unsigned delay = (unsigned) (rng_next(c) % MAX_DELAY_US);
        pid_t pid;
        siginfo_t si = {};

        r = workload_spawn(c, path == CHAOS_PATH_LEGACY ? CONTROL_PATH_LEGACY : CONTROL_PATH_AUTO, code, late ? delay : (unsigned) (rng_next(c) % MAX_DELAY_US), &s);
        if (r < 0)
                return r;
        if (path == CHAOS_PATH_PIDFD && process_is_legacy(&s.process)) {
                fprintf(stderr, "the spawn engine gave no pidfd (%s)\n", spawn_method_to_string(s.method));
                return -EOPNOTSUPP;
        }
        pid = s.process.pid;
        n->attempts++;

        /* The supervisor's reap: nothing but the workload is our child now. */
        if (!late)
                sleep_us(delay);
        r = RET_NERRNO(waitid(P_ALL, 0, &si, WEXITED | (late ? 0 : WNOHANG)));
        if (r < 0)
                return r;
        reaped = si.si_pid == pid;

        if (reaped) {
                n->reuse_opportunities++;
                r = decoy_start(c, pid, &decoy);
                if (r >= 0)
                        n->decoy_hits++;
                else if (r != -EBUSY)
                        return r;
        }

        r = process_signal(&s.process, SIGTERM, 0);
        if (r >= 0)
                n->signal_delivered++;
        else if (r == -ESRCH)
                n->target_gone++;
        else
                return r;

        si = (siginfo_t) {};
        r = process_wait(&s.process, WEXITED, &si);
        if (r >= 0) {
                status = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status;
                got_status = true;
        } else if (r == -ECHILD && !process_is_legacy(&s.process)) {
                /* Reaped by the supervisor: the pidfd still has the status. */
                got_status = process_get_exit_status(&s.process, &status) >= 0;
        } else if (r != -ECHILD)
                return r;

        if (!got_status)
                n->status_lost++;
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != code)
                n->wrong_status++;

        if (decoy.pidfd >= 0) {
                bool hit;

                r = decoy_finish(c, &decoy, &hit);
                if (r < 0)
                        return r;
                if (hit)
                        n->wrong_target++;
        }
        return 0;
}

static double now_seconds(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* pid 1 of the namespace. */
static int chaos_main(void *userdata) {
        Chaos *c = userdata;
        double start = now_seconds();
        pid_t pid;

        if (pipe2(c->report, O_CLOEXEC | O_NONBLOCK) < 0)
                return 3;

        /* Until pids wrap for the first time, a number below PID_RESERVED is
         * never handed out again: start past it. */
        do {
                pid = fork();
                if (pid == 0)
                        _exit(0);
                if (pid < 0 || waitpid(pid, NULL, 0) < 0)
                        return 3;
        } while (pid < PID_RESERVED);

        for (unsigned i = 0; i < c->attempts; i++)
                for (ChaosPath p = 0; p < _CHAOS_PATH_MAX; p++) {
                        int r = attempt_run(c, p, i);

                        if (r < 0) {
                                fprintf(stderr, "attempt %u on the %s path: %s\n", i, chaos_path_names[p],
                                        strerror(-r));
                                return 3;
                        }
                }
        c->seconds = now_seconds() - start;

        if (c->json) {
                printf("{\n  \"attempts\": %u,\n  \"pid_max\": %u,\n  \"seed\": %llu,\n  \"seconds\": %.1f,\n"
                       "  \"paths\": {",
                       c->attempts, c->pid_max, (unsigned long long) c->seed, c->seconds);
                for (ChaosPath p = 0; p < _CHAOS_PATH_MAX; p++) {
                        const PathCounts *n = &c->counts[p];

                        printf("%s\n    \"%s\": {\"attempts\": %u, \"signal_delivered\": %u, "
                               "\"target_gone\": %u, \"reuse_opportunities\": %u, \"decoy_hits\": %u, "
                               "\"wrong_target\": %u, \"wrong_status\": %u, \"status_lost\": %u}",
                               p == 0 ? "" : ",", chaos_path_names[p], n->attempts, n->signal_delivered,
                               n->target_gone, n->reuse_opportunities, n->decoy_hits, n->wrong_target,
                               n->wrong_status, n->status_lost);
                }
                printf("\n  }\n}\n");
        } else {
                printf("%u attempts per path, pid_max %u, seed %llu, %.1f s\n\n", c->attempts, c->pid_max,
                       (unsigned long long) c->seed, c->seconds);
                printf("%-7s %9s %10s %8s %7s %7s %12s %12s %11s\n", "path", "attempts", "delivered",
                       "ESRCH", "reuse", "decoys", "wrong-target", "wrong-status", "status-lost");
                for (ChaosPath p = 0; p < _CHAOS_PATH_MAX; p++) {
                        const PathCounts *n = &c->counts[p];

                        printf("%-7s %9u %10u %8u %7u %7u %12u %12u %11u\n", chaos_path_names[p], n->attempts,
                               n->signal_delivered, n->target_gone, n->reuse_opportunities, n->decoy_hits,
                               n->wrong_target, n->wrong_status, n->status_lost);
                }
        }
        fflush(stdout);

        {
                const PathCounts *n = &c->counts[CHAOS_PATH_PIDFD];
                return n->wrong_target == 0 && n->wrong_status == 0 && n->status_lost == 0 ? 0 : 1;
        }
}

static void help(void) {
        printf("Usage: pidbroker-chaos [--attempts N] [--pid-max N] [--seed N] [--json]\n\n"
               "Terminate and wait workloads through pidfds and through bare pids while\n"
               "decoys take over recycled pids, in a pid namespace with a small pid_max,\n"
               "and count the signals and exit statuses that went to the wrong process.\n\n"
               "  -n --attempts N   attempts per path (default 1000)\n"
               "  -p --pid-max N    pid_max inside the namespace, 301-32768 (default 400)\n"
               "  -s --seed N       seed of the random delays (default: the time)\n"
               "  -j --json         print the counts as JSON\n"
               "  -h --help         show this help\n");
}

static int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "attempts", required_argument, NULL, 'n' },
                { "pid-max", required_argument, NULL, 'p' },
                { "seed", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        static Chaos chaos = { .attempts = 1000, .pid_max = 400 };
        PidReuseError e = {};
        bool seeded = false;
        unsigned seed;
        ssize_t len;
        int c, r;

        if (argc > 1 && strcmp(argv[1], "--workload") == 0)
                return workload_main(argc, argv);

        while ((c = getopt_long(argc, argv, "n:p:s:jh", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        if (parse_unsigned(optarg, 1, 10000000, &chaos.attempts) < 0) {
                                fprintf(stderr, "--attempts: not a number from 1 to 10000000: %s\n", optarg);
                                return 2;
                        }
                        break;
                case 'p':
                        /* The kernel refuses a pid_max at or below RESERVED_PIDS. */
                        if (parse_unsigned(optarg, PID_RESERVED + 1, 32768, &chaos.pid_max) < 0) {
                                fprintf(stderr, "--pid-max: not a number from %d to 32768: %s\n",
                                        PID_RESERVED + 1, optarg);
                                return 2;
                        }
                        break;
                case 's':
                        if (parse_unsigned(optarg, 1, UINT_MAX, &seed) < 0) {
                                fprintf(stderr, "--seed: not a positive number: %s\n", optarg);
                                return 2;
                        }
                        chaos.seed = seed;
                        seeded = true;
                        break;
                case 'j':
                        chaos.json = true;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "unexpected argument: %s\n", argv[optind]);
                return 2;
        }
        if (!seeded)
                chaos.seed = (uint64_t) time(NULL);
        chaos.rng = chaos.seed | 1;

        if (geteuid() != 0) {
                fprintf(stderr, "pidbroker-chaos needs root: it creates pid and mount namespaces\n");
                return EXIT_CANNOT_RUN;
        }
        /* The workload is this program: read its path before /proc changes. */
        len = readlink("/proc/self/exe", chaos.exe, sizeof(chaos.exe) - 1);
        if (len < 0) {
                fprintf(stderr, "readlink(/proc/self/exe): %m\n");
                return 1;
        }
        chaos.exe[len] = '\0';

        fflush(stdout);
        r = pid_reuse_run(chaos.pid_max, chaos_main, &chaos, &e);
        if (r == -EOPNOTSUPP) {
                fprintf(stderr, "%s: PID reuse cannot be forced here\n", e.step ?: "pid namespace");
                return EXIT_CANNOT_RUN;
        }
        if (r < 0) {
                fprintf(stderr, "setting up the pid namespace failed: %s: %s\n", e.step ?: "?", strerror(-r));
                return EXIT_CANNOT_RUN;
        }
        if (WIFSIGNALED(r)) {
                fprintf(stderr, "the run was killed by signal %d\n", WTERMSIG(r));
                return 1;
        }
        return WEXITSTATUS(r) == 0 ? 0 : 1;
}
