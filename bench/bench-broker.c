/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pidbroker against the local spawn floor and flatpak's HostCommand, from
 * one run, side by side (the figures and targets of the performance issue).
 * An sd-bus client: the broker is reached on $DBUS_SYSTEM_BUS_ADDRESS,
 * flatpak-session-helper (with --flatpak) on $DBUS_SESSION_BUS_ADDRESS.
 * bench/run starts the buses and the daemons and runs this as nobody.
 *
 *   bench-broker [--iterations=N] [--workloads=N] [--seconds=S]
 *                [--daemon-pid=PID] [--flatpak] [--settle=S]
 *                [--ns-floor-fds=IN,OUT]
 *
 * --settle        before each section, wait up to S seconds (default 15,
 *                 0: not at all) for the machine to be idle
 * --ns-floor-fds  a bench-ns-floor running as root: its answers on fd IN,
 *                 our requests on fd OUT; without it the namespaced local
 *                 floor reads n/a
 *
 * Prints the table on stdout; exits non-zero when a call fails, never
 * because of a figure. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bench-util.h"
#include "macro.h"
#include "missing-pidfd.h"

#define BROKER_NAME "org.pidbroker.Broker1"
#define BROKER_PATH "/org/pidbroker/Broker1"
#define BROKER_IFACE "org.pidbroker.Broker1"
#define FLATPAK_NAME "org.freedesktop.Flatpak"
#define FLATPAK_PATH "/org/freedesktop/Flatpak/Development"
#define FLATPAK_IFACE "org.freedesktop.Flatpak.Development"

static const char *const true_argv[] = { "/bin/true", NULL };
static const char *const sleep_argv[] = { "/bin/sleep", "1000", NULL };
static const char *const ns_pid_mount_net[] = { "pid", "mount", "net", NULL };

/* The scale test's workloads, ended on any exit: they run for 1000 s. */
static int *live_fds;
static unsigned n_live;

static void kill_live_workloads(void) {
        for (unsigned i = 0; i < n_live; i++) {
                (void) syscall(__NR_pidfd_send_signal, live_fds[i], SIGKILL, NULL, 0);
                close(live_fds[i]);
        }
        n_live = 0;
}

static unsigned arg_iterations = 500;
static unsigned arg_workloads = 10000;
static double arg_seconds = 3.0;
/* --only: the sections to run, all by default. */
enum { SECTION_ROUND_TRIP = 1 << 0, SECTION_THROUGHPUT = 1 << 1, SECTION_SCALE = 1 << 2, SECTION_SIGNAL = 1 << 3 };
static unsigned arg_sections = ~0u;

static unsigned parse_sections(const char *list) {
        static const struct {
                const char *name;
                unsigned bit;
        } names[] = {
                { "round-trip", SECTION_ROUND_TRIP },
                { "throughput", SECTION_THROUGHPUT },
                { "scale", SECTION_SCALE },
                { "signal", SECTION_SIGNAL },
        };
        char *copy = strdup(list);
        unsigned set = 0;
        char *save = NULL;

        if (!copy)
                die(ENOMEM, "strdup");
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(names) && strcmp(names[i].name, w) != 0; i++)
                        ;
                if (i == ELEMENTSOF(names))
                        die(EINVAL, "unknown section '%s' (round-trip, throughput, scale, signal)", w);
                set |= names[i].bit;
        }
        free(copy);
        return set;
}
static pid_t arg_daemon_pid;
static bool arg_flatpak;
static double arg_settle = 15.0;
static int arg_ns_floor_in = -EBADF, arg_ns_floor_out = -EBADF;
static bool arg_scale_only;      /* --scale-only: section 3 alone */

/* Children of pid not yet reaped, live or zombie. */
static unsigned daemon_children(pid_t pid) {
        char path[64], buf[4096];
        unsigned n = 0;
        ssize_t len;
        int fd;

        if (pid <= 0)
                return 0;
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int) pid, (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        len = read(fd, buf, sizeof buf - 1);
        close(fd);
        for (ssize_t i = 0; i < len; i++)
                n += buf[i] == ' ';
        return n;
}

static long rss_kib(pid_t pid) {
        char path[64], line[256];
        long kib = -1;
        FILE *f;

        if (pid <= 0)
                return -1;
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

/* The CPU time a process has used (user + system), in ms; -1 unknown. */
static double cpu_ms(pid_t pid) {
        char path[64], buf[1024];
        unsigned long utime, stime;
        const char *p;
        FILE *f;
        size_t n;

        if (pid <= 0)
                return -1;
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* comm may hold anything but ends at the last ')'; utime and stime
         * are fields 14 and 15, the 12th and 13th after it. */
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
                return -1;
        return (double) (utime + stime) * 1000.0 / (double) sysconf(_SC_CLK_TCK);
}

/* ---------- the local floor ---------- */

/* What a launcher does without a broker: clone3(CLONE_PIDFD), exec, poll
 * the pidfd, reap. */
static void local_round_trip(void *userdata) {
        local_clone_round_trip(0, exec_true, NULL);
}

/* One figure of bench-ns-floor's. */
static Stats ns_floor(NsFloor variant) {
        NsFloorRequest req = { .variant = variant, .iterations = arg_iterations };
        Stats s;

        if (arg_ns_floor_out < 0)
                return (Stats) {};
        if (write(arg_ns_floor_out, &req, sizeof req) != (ssize_t) sizeof req)
                die(errno, "ask bench-ns-floor");
        if (read(arg_ns_floor_in, &s, sizeof s) != (ssize_t) sizeof s)
                die(EPIPE, "bench-ns-floor did not answer");
        return s;
}

/* ---------- pidbroker ---------- */

static sd_bus *broker_connect(void) {
        sd_bus *bus;
        int r = sd_bus_open_system(&bus);
        if (r < 0)
                die(r, "connect to the system bus");
        return bus;
}

typedef struct SpawnArgs {
        sd_bus *bus;
        const char *const *argv;
        unsigned n_fds;                 /* /dev/null as 0..n_fds-1 */
        const char *const *namespaces;  /* NULL: none */
        int devnull;
} SpawnArgs;

/* Broker1.Spawn: the workload's pidfd (ours to close). */
static int broker_spawn(const SpawnArgs *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *path;
        uint64_t id;
        int fd, r;

        r = sd_bus_message_new_method_call(a->bus, &m, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Spawn");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "ay");
        for (const char *const *p = a->argv; r >= 0 && *p; p++)
                r = sd_bus_message_append_array(m, 'y', *p, strlen(*p));
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{ss}", 0);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{uh}");
        for (unsigned i = 0; r >= 0 && i < a->n_fds; i++)
                r = sd_bus_message_append(m, "{uh}", i, a->devnull);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && a->namespaces) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "namespaces");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, (char **) a->namespaces);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                die(r, "build Spawn");

        r = sd_bus_call(a->bus, m, 0, &e, &reply);
        if (r < 0)
                die_bus(r, &e, "Spawn");
        r = sd_bus_message_read(reply, "oht", &path, &fd, &id);
        if (r < 0)
                die(r, "Spawn reply");
        /* The fd belongs to the reply. */
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                die(errno, "dup pidfd");
        return fd;
}

static void broker_round_trip(void *userdata) {
        int fd = broker_spawn(userdata);
        wait_readable(fd);
        close(fd);
}

static void ping(void *userdata) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(userdata, BROKER_NAME, "/", "org.freedesktop.DBus.Peer", "Ping", &e, NULL, "");
        if (r < 0)
                die_bus(r, &e, "Ping");
}

typedef struct SignalArgs {
        sd_bus *bus;
        int pidfd;
} SignalArgs;

static void broker_signal0(void *userdata) {
        SignalArgs *a = userdata;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(a->bus, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Signal", &e, NULL, "hiu",
                                   a->pidfd, 0, 0);
        if (r < 0)
                die_bus(r, &e, "Signal");
}

/* ---------- flatpak-session-helper ---------- */

typedef struct Flatpak {
        sd_bus *bus;
        uint32_t want_pid;
        bool exited;
} Flatpak;

/* HostCommandExited is broadcast: every client sees every exit. */
static int on_host_command_exited(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Flatpak *f = userdata;
        uint32_t pid, status;

        if (sd_bus_message_read(m, "uu", &pid, &status) >= 0 && pid == f->want_pid)
                f->exited = true;
        return 0;
}

static void flatpak_connect(Flatpak *f) {
        int r;

        *f = (Flatpak) {};
        r = sd_bus_open_user(&f->bus);
        if (r < 0)
                die(r, "connect to the session bus");
        r = sd_bus_match_signal(f->bus, NULL, FLATPAK_NAME, FLATPAK_PATH, FLATPAK_IFACE, "HostCommandExited",
                                on_host_command_exited, f);
        if (r < 0)
                die(r, "AddMatch HostCommandExited");
}

static void flatpak_round_trip(void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        Flatpak *f = userdata;
        int r;

        /* HostCommand(ay cwd, aay argv, a{uh} fds, a{ss} env, u flags) -> u
         * pid; byte strings carry their NUL. */
        r = sd_bus_message_new_method_call(f->bus, &m, FLATPAK_NAME, FLATPAK_PATH, FLATPAK_IFACE, "HostCommand");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', "/", 2);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "ay");
        for (const char *const *p = true_argv; r >= 0 && *p; p++)
                r = sd_bus_message_append_array(m, 'y', *p, strlen(*p) + 1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{uh}a{ss}u", 0, 0, 0);
        if (r < 0)
                die(r, "build HostCommand");

        f->exited = false;
        r = sd_bus_call(f->bus, m, 0, &e, &reply);
        if (r < 0)
                die_bus(r, &e, "HostCommand");
        r = sd_bus_message_read(reply, "u", &f->want_pid);
        if (r < 0)
                die(r, "HostCommand reply");
        /* The signal may already be queued behind the reply. */
        while (!f->exited) {
                r = sd_bus_process(f->bus, NULL);
                if (r < 0)
                        die(r, "process the session bus");
                if (r > 0)
                        continue;
                r = sd_bus_wait(f->bus, 30 * 1000000ULL);
                if (r < 0)
                        die(r, "wait on the session bus");
                if (r == 0)
                        die(ETIMEDOUT, "HostCommandExited for pid %u", f->want_pid);
        }
}

/* ---------- throughput: separate client processes ---------- */

typedef enum Kind {
        KIND_LOCAL,
        KIND_BROKER,
        KIND_FLATPAK,
        _KIND_MAX,
} Kind;

static const char *const kind_names[_KIND_MAX] = { "local loop", "pidbroker", "flatpak" };

_noreturn_ static void throughput_client(Kind kind, int go_fd, int result_fd) {
        SpawnArgs sa = { .argv = true_argv, .devnull = -1 };
        Flatpak f;
        void (*op)(void *) = local_round_trip;
        void *data = NULL;
        char b;

        if (kind == KIND_BROKER) {
                sa.bus = broker_connect();
                op = broker_round_trip;
                data = &sa;
        } else if (kind == KIND_FLATPAK) {
                flatpak_connect(&f);
                op = flatpak_round_trip;
                data = &f;
        }
        /* Connected: wait for everybody's start. */
        if (read(go_fd, &b, 1) < 0)
                _exit(EXIT_FAILURE);
        uint64_t end = now_ns() + (uint64_t) (arg_seconds * 1e9);
        uint64_t done = 0;
        while (now_ns() < end) {
                op(data);
                done++;
        }
        if (write(result_fd, &done, sizeof done) != (ssize_t) sizeof done)
                _exit(EXIT_FAILURE);
        _exit(EXIT_SUCCESS);
}

/* Round trips per second over all clients. */
static double throughput(Kind kind, unsigned clients) {
        int go[2], result[2];
        pid_t pids[clients];
        uint64_t total = 0;

        if (pipe2(go, O_CLOEXEC) < 0 || pipe2(result, O_CLOEXEC) < 0)
                die(errno, "pipe");
        fflush(NULL);
        for (unsigned i = 0; i < clients; i++) {
                pids[i] = fork();
                if (pids[i] < 0)
                        die(errno, "fork");
                if (pids[i] == 0) {
                        close(go[1]);
                        close(result[0]);
                        throughput_client(kind, go[0], result[1]);
                }
        }
        close(go[0]);
        close(result[1]);
        /* Give every client time to connect, then start them at once. */
        usleep(200 * 1000);
        close(go[1]);
        for (unsigned i = 0; i < clients; i++) {
                uint64_t n;
                if (read(result[0], &n, sizeof n) != (ssize_t) sizeof n)
                        die(EIO, "a %s client failed", kind_names[kind]);
                total += n;
        }
        close(result[0]);
        for (unsigned i = 0; i < clients; i++) {
                int status;
                if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        die(EIO, "a %s client failed", kind_names[kind]);
        }
        return (double) total / arg_seconds;
}

/* ---------- scale ---------- */

static const char *verdict(bool met);

typedef struct Scale {
        double rt_small_p50, rt_large_p50;  /* Spawn /bin/true → exit, ms */
        double rate_small, rate_large;      /* sleep spawns per second */
        double seconds;                     /* to spawn all of them */
        double cpu_small, cpu_large;        /* the daemon's CPU ms per spawn, in each batch */
        double floor_small, floor_large;    /* local floor round trip, ms: the kernel's own share */
        long rss_small, rss_large;          /* KiB */
        long rss_released;                  /* KiB, once all of them are gone */
        unsigned small, large;
} Scale;

static Stats round_trips_fresh_connection(unsigned n) {
        SpawnArgs sa = { .bus = broker_connect(), .argv = true_argv, .devnull = -1 };
        Stats s = measure(n, broker_round_trip, &sa);
        /* Disconnecting lets the daemon forget these exited workloads. */
        sd_bus_flush_close_unref(sa.bus);
        usleep(300 * 1000);
        return s;
}

static void scale(Scale *out) {
        SpawnArgs sa = { .bus = broker_connect(), .argv = sleep_argv, .devnull = -1 };
        unsigned n = arg_workloads, small = 10, batch;
        unsigned rt_n = arg_iterations < 200 ? arg_iterations : 200;
        uint64_t t, start;

        if (n < 2 * small)
                n = 2 * small;
        int *fds = live_fds = calloc(n, sizeof *fds);
        if (!fds)
                die(ENOMEM, "calloc");
        batch = n / 10 < 500 ? n / 10 : 500;
        *out = (Scale) { .small = small, .large = n };

        for (unsigned i = 0; i < small; i++, n_live++)
                fds[i] = broker_spawn(&sa);
        out->rt_small_p50 = round_trips_fresh_connection(rt_n).p50;
        out->floor_small = measure(rt_n, local_round_trip, NULL).p50;
        out->rss_small = rss_kib(arg_daemon_pid);

        double cpu = cpu_ms(arg_daemon_pid);
        start = t = now_ns();
        for (unsigned i = small; i < n; i++) {
                if (i == small + batch) {
                        out->rate_small = batch / ((double) (now_ns() - t) / 1e9);
                        out->cpu_small = (cpu_ms(arg_daemon_pid) - cpu) / batch;
                }
                if (i == n - batch) {
                        t = now_ns();
                        cpu = cpu_ms(arg_daemon_pid);
                }
                fds[i] = broker_spawn(&sa);
                n_live++;
        }
        out->rate_large = batch / ((double) (now_ns() - t) / 1e9);
        out->cpu_large = (cpu_ms(arg_daemon_pid) - cpu) / batch;
        out->seconds = (double) (now_ns() - start) / 1e9;

        out->rt_large_p50 = round_trips_fresh_connection(rt_n).p50;
        out->floor_large = measure(rt_n, local_round_trip, NULL).p50;
        out->rss_large = rss_kib(arg_daemon_pid);

        /* The workloads run as us: end them directly. */
        kill_live_workloads();
        sd_bus_flush_close_unref(sa.bus);
        free(fds);
        live_fds = NULL;

        /* Once the daemon reaped and forgot them all (exit retention 0 and
         * the owner gone), and a moment for it to return memory. */
        for (unsigned i = 0; i < 600 && daemon_children(arg_daemon_pid) > 0; i++)
                usleep(100 * 1000);
        sleep(3);
        out->rss_released = rss_kib(arg_daemon_pid);
}

static void print_scale(const Scale *sc, long idle_rss) {
        double slope = (double) (sc->rss_large - sc->rss_small) / (sc->large - sc->small);
        printf("Scale: %u live workloads (/bin/sleep) held by one client\n", sc->large);
        printf("  time to spawn them                          %8.2f s\n", sc->seconds);
        printf("  exit latency (Spawn /bin/true -> exit) p50  %8.3f ms at %u live, %.3f ms at %u live\n",
               sc->rt_large_p50, sc->large, sc->rt_small_p50, sc->small);
        printf("  spawn rate                                  %8.0f /s at ~%u live, %.0f /s at ~%u live\n",
               sc->rate_large, sc->large, sc->rate_small, sc->small);
        printf("  local floor (clone3+exec+exit of /bin/true) %8.3f ms at %u live, %.3f ms at %u live\n",
               sc->floor_large, sc->large, sc->floor_small, sc->small);
        if (sc->cpu_small >= 0 && sc->cpu_large >= 0)
                printf("  daemon CPU per spawn                        %8.3f ms at ~%u live, %.3f ms at ~%u live\n",
                       sc->cpu_large, sc->large, sc->cpu_small, sc->small);
        printf("  daemon RSS                                  %8ld KiB at %u live, %ld KiB at %u live\n",
               sc->rss_large, sc->large, sc->rss_small, sc->small);
        printf("  daemon RSS after all were released          %8ld KiB (%ld KiB idle at the start)\n",
               sc->rss_released, idle_rss);
        printf("  => exit latency %.2fx the %u-workload figure; target <= 1.2x: %s\n", sc->rt_large_p50 / sc->rt_small_p50,
               sc->small, verdict(sc->rt_large_p50 <= 1.2 * sc->rt_small_p50));
        printf("     (the local floor, no daemon involved: %.2fx)\n", sc->floor_large / sc->floor_small);
        printf("  => RSS slope %.2f KiB per workload; target <= 2 KiB: %s\n", slope, verdict(slope <= 2.0));
        printf("  => spawn rate %.2fx the %u-workload figure; target >= 0.9x: %s\n\n", sc->rate_large / sc->rate_small,
               sc->small, verdict(sc->rate_large >= 0.9 * sc->rate_small));
}

/* ---------- the table ---------- */

static const char *verdict(bool met) {
        return met ? "met" : "NOT met";
}

static void print_rt(const char *name, Stats s) {
        if (s.valid)
                printf("  %-48s %8.3f %8.3f\n", name, s.p50, s.p99);
        else
                printf("  %-48s %8s %8s\n", name, "n/a", "n/a");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "iterations", required_argument, NULL, 'n' },
                { "workloads", required_argument, NULL, 'w' },
                { "seconds", required_argument, NULL, 's' },
                { "daemon-pid", required_argument, NULL, 'p' },
                { "flatpak", no_argument, NULL, 'f' },
                { "scale-only", no_argument, NULL, 'S' },
                { "only", required_argument, NULL, 'o' },
                { "settle", required_argument, NULL, 'e' },
                { "ns-floor-fds", required_argument, NULL, 'N' },
                {},
        };
        int opt;

        while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (opt) {
                case 'n':
                        arg_iterations = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'w':
                        arg_workloads = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 's':
                        arg_seconds = strtod(optarg, NULL);
                        break;
                case 'p':
                        arg_daemon_pid = (pid_t) strtol(optarg, NULL, 10);
                        break;
                case 'f':
                        arg_flatpak = true;
                        break;
                case 'S':
                        arg_scale_only = true;
                        break;
                case 'o':
                        arg_sections = parse_sections(optarg);
                        break;
                case 'e':
                        arg_settle = strtod(optarg, NULL);
                        break;
                case 'N':
                        if (sscanf(optarg, "%d,%d", &arg_ns_floor_in, &arg_ns_floor_out) != 2 ||
                            arg_ns_floor_in < 0 || arg_ns_floor_out < 0)
                                die(EINVAL, "--ns-floor-fds=IN,OUT");
                        /* Ours alone, not our children's. */
                        if (fcntl(arg_ns_floor_in, F_SETFD, FD_CLOEXEC) < 0 ||
                            fcntl(arg_ns_floor_out, F_SETFD, FD_CLOEXEC) < 0)
                                die(errno, "--ns-floor-fds");
                        break;
                default:
                        return EXIT_FAILURE;
                }
        if (arg_iterations == 0 || arg_seconds <= 0)
                die(EINVAL, "--iterations and --seconds must be positive");

        bench_name = "bench-broker";
        /* bench-ns-floor gone: an error from write(), not a silent death. */
        signal(SIGPIPE, SIG_IGN);
        atexit(kill_live_workloads);
        struct passwd *pw = getpwuid(getuid());
        long idle_rss = rss_kib(arg_daemon_pid);
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        printf("pidbroker benchmark: client uid %u (%s), %ld CPUs, %u calls per figure, %.1f s per throughput run\n",
               (unsigned) getuid(), pw ? pw->pw_name : "?", cpus, arg_iterations, arg_seconds);
        print_load("at the start");
        printf("\n");
        if (arg_scale_only)
                arg_sections = SECTION_SCALE;
        if (arg_sections == SECTION_SCALE) {
                Scale sc;
                settle(arg_settle);
                scale(&sc);
                print_scale(&sc, idle_rss);
                print_load("at the end");
                return EXIT_SUCCESS;
        }

        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0)
                die(errno, "open /dev/null");
        Flatpak fp = {};
        sd_bus *bus;

        /* 1. Round trips. Each section starts on an idle machine, and so
         * do the figures after a namespaced one: the kernel tears down the
         * namespaces and processes it leaves for up to a few seconds after
         * it (1-2 s here after 500 namespaced Spawns). */
        if (arg_sections & SECTION_ROUND_TRIP) {
                settle(arg_settle);
                bus = broker_connect();
                SpawnArgs plain = { .bus = bus, .argv = true_argv, .devnull = devnull };
                SpawnArgs three = plain, ns = plain;
                three.n_fds = 3;
                ns.namespaces = ns_pid_mount_net;

                Stats floor = measure(arg_iterations, local_round_trip, NULL);
                Stats pong = measure(arg_iterations, ping, bus);
                Stats spawn = measure(arg_iterations, broker_round_trip, &plain);
                Stats flatpak = {};
                if (arg_flatpak) {
                        flatpak_connect(&fp);
                        flatpak = measure(arg_iterations, flatpak_round_trip, &fp);
                }
                sd_bus_flush_close_unref(bus);
                usleep(300 * 1000);
                /* Each variant on a fresh connection, as the plain one started. */
                three.bus = ns.bus = bus = broker_connect();
                Stats spawn3 = measure(arg_iterations, broker_round_trip, &three);
                sd_bus_flush_close_unref(bus);
                usleep(300 * 1000);
                settle(arg_settle);
                ns.bus = bus = broker_connect();
                Stats spawn_ns = measure(arg_iterations, broker_round_trip, &ns);
                sd_bus_flush_close_unref(bus);
                usleep(300 * 1000);
                Stats floor_ns[_NS_FLOOR_MAX];
                for (NsFloor v = 0; v < _NS_FLOOR_MAX; v++) {
                        settle(arg_settle);
                        floor_ns[v] = ns_floor(v);
                }

                printf("%-50s %8s %8s\n", "Round trip, /bin/true: spawn -> exit seen", "p50 ms", "p99 ms");
                print_rt("local floor: clone3(CLONE_PIDFD)+poll+waitid", floor);
                print_rt("D-Bus ping (Peer.Ping to the broker)", pong);
                print_rt("pidbroker Spawn -> pidfd readable", spawn);
                print_rt("flatpak HostCommand -> HostCommandExited", flatpak);
                print_rt("pidbroker Spawn, 3 fds passed", spawn3);
                print_rt("pidbroker Spawn, namespaces=[pid,mount,net]", spawn_ns);
                print_rt("local: init vforks /bin/true, no namespaces", floor_ns[NS_FLOOR_INIT]);
                print_rt("local: that init in new [pid,mount,net], /proc", floor_ns[NS_FLOOR_NAMESPACES]);
                print_rt("local: the same, net namespace made ahead", floor_ns[NS_FLOOR_READY_NET]);
                double base = floor.p50 + pong.p50;
                printf("  => round trip p50 = %.2fx (floor+ping)", spawn.p50 / base);
                if (flatpak.valid)
                        printf(", %.2fx flatpak", spawn.p50 / flatpak.p50);
                printf("; target <= 1.15x, <= 0.6x: %s\n",
                       verdict(spawn.p50 <= 1.15 * base && flatpak.valid && spawn.p50 <= 0.6 * flatpak.p50));
                printf("  => 3 fds: %.2fx plain Spawn\n", spawn3.p50 / spawn.p50);
                printf("  => namespaces [pid,mount,net]: %.2fx plain Spawn; target <= 1.15x: %s\n", spawn_ns.p50 / spawn.p50,
                       verdict(spawn_ns.p50 <= 1.15 * spawn.p50));
                /* What the kernel alone costs for that structure, no daemon
                 * involved: the share of the ratio above no daemon can
                 * remove. */
                if (floor_ns[NS_FLOOR_NAMESPACES].valid) {
                        const Stats *ready = &floor_ns[NS_FLOOR_READY_NET];
                        printf("  => local floor with [pid,mount,net] namespaces: %.2fx the plain local floor\n",
                               floor_ns[NS_FLOOR_NAMESPACES].p50 / floor.p50);
                        printf("     net namespace made ahead: %.2fx; the init alone, no namespaces: %.2fx\n",
                               ready->p50 / floor.p50, floor_ns[NS_FLOOR_INIT].p50 / floor.p50);
                        printf("     over the plain figure: +%.3f ms for the kernel alone (net made ahead), +%.3f ms for pidbroker\n",
                               ready->p50 - floor.p50, spawn_ns.p50 - spawn.p50);
                } else
                        printf("  => local floor with namespaces: n/a (needs bench-ns-floor, run as root by bench/run)\n");
                printf("\n");
        }

        /* 2. Throughput. */
        if (arg_sections & SECTION_THROUGHPUT) {
                static const unsigned levels[] = { 1, 2, 4, 8 };
                double tp[_KIND_MAX][ELEMENTSOF(levels)] = {};
                settle(arg_settle);
                printf("Throughput, spawn -> exit of /bin/true per second, one process and connection per client\n");
                printf("  %-8s %10s %10s %10s %12s %12s\n", "clients", "local", "pidbroker", "flatpak", "vs flatpak",
                       "vs local");
                for (size_t l = 0; l < ELEMENTSOF(levels); l++) {
                        for (Kind k = 0; k < _KIND_MAX; k++)
                                if (k != KIND_FLATPAK || arg_flatpak) {
                                        tp[k][l] = throughput(k, levels[l]);
                                        /* Let the daemon forget the clients' exited workloads. */
                                        usleep(300 * 1000);
                                }
                        printf("  %-8u %10.0f %10.0f ", levels[l], tp[KIND_LOCAL][l], tp[KIND_BROKER][l]);
                        if (arg_flatpak)
                                printf("%10.0f %11.2fx", tp[KIND_FLATPAK][l], tp[KIND_BROKER][l] / tp[KIND_FLATPAK][l]);
                        else
                                printf("%10s %12s", "n/a", "n/a");
                        printf(" %11.2fx\n", tp[KIND_BROKER][l] / tp[KIND_LOCAL][l]);
                }
                size_t last = ELEMENTSOF(levels) - 1;
                bool tp_met = arg_flatpak && tp[KIND_BROKER][last] >= 2 * tp[KIND_FLATPAK][last] &&
                              tp[KIND_BROKER][last] >= 0.8 * tp[KIND_LOCAL][last];
                printf("  => at 8 clients: ");
                if (arg_flatpak)
                        printf("%.2fx flatpak, ", tp[KIND_BROKER][last] / tp[KIND_FLATPAK][last]);
                printf("%.2fx local; target >= 2x, >= 0.8x: %s\n\n", tp[KIND_BROKER][last] / tp[KIND_LOCAL][last],
                       verdict(tp_met));
        }

        /* 3. Scale. */
        if (arg_sections & SECTION_SCALE) {
                Scale sc;
                settle(arg_settle);
                scale(&sc);
                print_scale(&sc, idle_rss);
        }

        /* 4. Signal. */
        if (arg_sections & SECTION_SIGNAL) {
                settle(arg_settle);
                bus = broker_connect();
                SpawnArgs sleeper = { .bus = bus, .argv = sleep_argv, .devnull = -1 };
                SignalArgs sig = { .bus = bus, .pidfd = broker_spawn(&sleeper) };
                Stats signal0, pong;
                measure_interleaved(arg_iterations, broker_signal0, &sig, &signal0, ping, bus, &pong);
                (void) syscall(__NR_pidfd_send_signal, sig.pidfd, SIGKILL, NULL, 0);
                close(sig.pidfd);
                sd_bus_flush_close_unref(bus);
                printf("Signal round trip (Broker1.Signal, signal 0: policy + audit write)\n");
                print_rt("Broker1.Signal", signal0);
                print_rt("D-Bus ping, in turn with Signal", pong);
                printf("  => Signal p50 = %.2fx ping; target <= 1.5x: %s\n\n", signal0.p50 / pong.p50,
                       verdict(signal0.p50 <= 1.5 * pong.p50));
        }

        /* 5. Idle RSS, taken before the first call. */
        printf("Idle RSS of pidbrokerd: ");
        if (idle_rss >= 0)
                printf("%.2f MiB; target <= 3 MiB: %s\n", idle_rss / 1024.0, verdict(idle_rss <= 3 * 1024));
        else
                printf("n/a (no --daemon-pid)\n");

        print_load("at the end");
        if (fp.bus)
                sd_bus_flush_close_unref(fp.bus);
        close(devnull);
        return EXIT_SUCCESS;
}
