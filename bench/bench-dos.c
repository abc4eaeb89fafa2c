/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* One user's flood must not slow another user down (issue 8): for each
 * denial-of-service path of the request pipeline, four client processes as
 * the flooding uid hammer the broker, while one client as another uid times
 * property reads, over the bus and over the direct socket: Broker1's
 * Version, and the State of a workload of its own. A baseline with no flood
 * comes first. The paths:
 *
 *   env        Spawn with ~26,000 tiny variables, just under MaxEnvBytes
 *   env-dup    the same with one name twice (refused for its arguments)
 *   pgrp       Signal 0 with PIDFD_SIGNAL_PROCESS_GROUP to a group leader
 *              of the flooder's own (a /proc walk each)
 *   stall-fd   Spawn with `cgroup` a file on a FUSE mount that never
 *              answers a stat (needs --fuse-dir)
 *   conns      idle connections to the direct socket, reopened as soon as
 *              the daemon closes them (needs --direct)
 *   audit      Spawn with capabilities, denied: a denial record each
 *
 * Run as root (it starts its clients as the two uids): bench/run --dos.
 *
 *   bench-dos [--iterations=N] [--clients=N] [--depth=N] [--warmup=S]
 *             [--flooder=UID] [--reader=UID] [--direct=PATH] [--fuse-dir=DIR]
 *             [--only=PATH]   (the baseline and that path: env, pgrp, ...)
 *
 * Prints the table on stdout; exits non-zero when the benchmark itself
 * fails, never because of a figure: a read that fails under a flood is
 * counted and shown. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bench-util.h"
#include "missing-pidfd.h"

#define BROKER_NAME "org.pidbroker.Broker1"
#define BROKER_PATH "/org/pidbroker/Broker1"
#define BROKER_IFACE "org.pidbroker.Broker1"
#define WORKLOAD_IFACE "org.pidbroker.Workload1"
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"

/* Three-byte names with empty values are 5 bytes each as MaxEnvBytes
 * counts: 130,000 bytes, under the default 128 KiB. */
#define MANY_ENV_VARS 26000
/* A read slower than this is a failure anyway; it bounds a run. */
#define READ_TIMEOUT_USEC (10 * 1000000ULL)
#define TARGET_P99_MS 50.0
/* A flood that makes reads time out would take hours of them: the reads
 * done by then make the figure. */
#define READ_BUDGET_USEC (60 * 1000000ULL)

static unsigned arg_iterations = 500;
static unsigned arg_clients = 4;
static unsigned arg_depth = 4;
static double arg_warmup = 0.5;
static uid_t arg_flooder = 65534;
static uid_t arg_reader = 1;
static const char *arg_direct;
static const char *arg_fuse_dir;
static const char *arg_only;

static const char *const true_argv[] = { "/bin/true", NULL };
static const char *const sleep_argv[] = { "/bin/sleep", "1000", NULL };

typedef enum Path {
        PATH_NONE,
        PATH_ENV,
        PATH_ENV_DUP,
        PATH_PGRP,
        PATH_STALL_FD,
        PATH_CONNS,
        PATH_AUDIT,
        _PATH_MAX,
} Path;

static const char *const path_keys[_PATH_MAX] = {
        [PATH_NONE] = "baseline", [PATH_ENV] = "env",         [PATH_ENV_DUP] = "env-dup",
        [PATH_PGRP] = "pgrp",     [PATH_STALL_FD] = "stall-fd", [PATH_CONNS] = "conns",
        [PATH_AUDIT] = "audit",
};

static const char *const path_names[_PATH_MAX] = {
        [PATH_NONE] = "baseline (no flood)",
        [PATH_ENV] = "env: 26,000 variables",
        [PATH_ENV_DUP] = "env-dup: 26,000, one twice",
        [PATH_PGRP] = "pgrp: Signal, process group",
        [PATH_STALL_FD] = "stall-fd: FUSE file as cgroup",
        [PATH_CONNS] = "conns: idle direct connections",
        [PATH_AUDIT] = "audit: denied Spawn",
};

/* ---------- the clients' side ---------- */

/* Become uid (with its primary group, no others) and die with the parent. */
static void become(uid_t uid) {
        struct passwd *pw = getpwuid(uid);
        gid_t gid = pw ? pw->pw_gid : (gid_t) uid;

        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
            setresuid(uid, uid, uid) < 0)
                die(errno, "become uid %u", (unsigned) uid);
}

static sd_bus *connect_bus(void) {
        sd_bus *bus;
        int r = sd_bus_open_system(&bus);
        if (r < 0)
                die(r, "connect to the system bus");
        return bus;
}

static sd_bus *connect_direct(void) {
        sd_bus *bus;
        char *address;
        int r;

        if (asprintf(&address, "unix:path=%s", arg_direct) < 0)
                die(ENOMEM, "asprintf");
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                die(r, "connect to %s", arg_direct);
        free(address);
        return bus;
}

/* A Spawn call of argv, the variables and options added by add(). */
static sd_bus_message *new_spawn(sd_bus *bus, const char *const *argv, int (*add_env)(sd_bus_message *m, void *u),
                                 int (*add_options)(sd_bus_message *m, void *u), void *userdata) {
        sd_bus_message *m;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Spawn");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "ay");
        for (const char *const *p = argv; r >= 0 && *p; p++)
                r = sd_bus_message_append_array(m, 'y', *p, strlen(*p));
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r >= 0 && add_env)
                r = add_env(m, userdata);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{uh}", 0);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && add_options)
                r = add_options(m, userdata);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                die(r, "build Spawn");
        return m;
}

/* ----- the reader ----- */

typedef struct Reader {
        sd_bus *bus;
        const char *path;     /* the object read */
        const char *iface, *property;
        unsigned failed;
} Reader;

/* One Properties.Get; a failure is counted, not fatal: it is a result. */
static void read_property(void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        Reader *rd = userdata;
        int r;

        r = sd_bus_message_new_method_call(rd->bus, &m, BROKER_NAME, rd->path, PROPERTIES_IFACE, "Get");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", rd->iface, rd->property);
        if (r < 0)
                die(r, "build Get");
        r = sd_bus_call(rd->bus, m, READ_TIMEOUT_USEC, &e, &reply);
        if (r < 0) {
                if (rd->failed++ == 0)
                        fprintf(stderr, "bench-dos: Get %s on %s: %s\n", rd->property, rd->path,
                                sd_bus_error_is_set(&e) ? e.name : strerror(-r));
        }
        sd_bus_error_free(&e);
}

enum { READ_BUS_VERSION, READ_BUS_STATE, READ_DIRECT_VERSION, READ_DIRECT_STATE, _READ_MAX };
static const char *const read_names[_READ_MAX] = { "bus, Version", "bus, own State", "direct, Version",
                                                    "direct, own State" };

typedef struct ReadResult {
        Stats stats[_READ_MAX];
        unsigned failed[_READ_MAX];
        unsigned n;              /* reads of each kind: fewer than asked when READ_BUDGET_USEC ran out */
} ReadResult;

/* As the reader uid: a workload of its own, then (once told to go) the
 * reads, interleaved so that each series sees the same flood. */
_noreturn_ static void reader_main(int ready_fd, int go_fd, int result_fd) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        Reader rd[_READ_MAX];
        ReadResult res = {};
        const char *workload;
        unsigned n_reads = arg_direct ? _READ_MAX : READ_DIRECT_VERSION, done = 0;
        int pidfd, r;
        uint64_t id;
        char b = 0;

        become(arg_reader);
        sd_bus *bus = connect_bus(), *direct = arg_direct ? connect_direct() : NULL;
        r = sd_bus_call(bus, new_spawn(bus, sleep_argv, NULL, NULL, NULL), 0, &e, &reply);
        if (r < 0)
                die_bus(r, &e, "Spawn the reader's workload");
        r = sd_bus_message_read(reply, "oht", &workload, &pidfd, &id);
        if (r < 0)
                die(r, "Spawn reply");
        rd[READ_BUS_VERSION] = (Reader) { bus, BROKER_PATH, BROKER_IFACE, "Version" };
        rd[READ_BUS_STATE] = (Reader) { bus, workload, WORKLOAD_IFACE, "State" };
        rd[READ_DIRECT_VERSION] = (Reader) { direct, BROKER_PATH, BROKER_IFACE, "Version" };
        rd[READ_DIRECT_STATE] = (Reader) { direct, workload, WORKLOAD_IFACE, "State" };
        for (unsigned k = 0; k < n_reads; k++)
                read_property(&rd[k]); /* connected and found: fail here, not in the figures */
        for (unsigned k = 0; k < n_reads; k++)
                if (rd[k].failed)
                        die(EIO, "%s failed before any flood", read_names[k]);

        if (write(ready_fd, &b, 1) != 1 || read(go_fd, &b, 1) != 1)
                die(EIO, "reader: talk to the parent");

        double *v[_READ_MAX];
        for (unsigned k = 0; k < n_reads; k++)
                if (!(v[k] = calloc(arg_iterations, sizeof(double))))
                        die(ENOMEM, "calloc");
        uint64_t end = now_ns() + READ_BUDGET_USEC * 1000;
        for (; done < arg_iterations && now_ns() < end; done++)
                for (unsigned k = 0; k < n_reads; k++) {
                        uint64_t t = now_ns();
                        read_property(&rd[k]);
                        v[k][done] = ms_since(t);
                }
        if (done < arg_iterations)
                fprintf(stderr, "bench-dos: %u reads of each kind in %llu s, not %u\n", done,
                        READ_BUDGET_USEC / 1000000ULL, arg_iterations);
        res.n = done;
        for (unsigned k = 0; k < n_reads; k++) {
                res.stats[k] = stats_of(v[k], done);
                res.failed[k] = rd[k].failed;
        }
        (void) syscall(__NR_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        if (write(result_fd, &res, sizeof res) != (ssize_t) sizeof res)
                die(EIO, "reader: write the result");
        _exit(EXIT_SUCCESS);
}

/* ----- the flooders ----- */

static volatile sig_atomic_t stop;
static void on_term(int sig) {
        stop = 1;
}

typedef struct Flood {
        Path path;
        int fd;                /* pgrp: the leader's pidfd; stall-fd: the stalling file */
        unsigned in_flight;
        uint64_t answered, errors;
} Flood;

static int on_flood_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Flood *f = userdata;
        f->in_flight--;
        f->answered++;
        if (sd_bus_message_is_method_error(m, NULL))
                f->errors++;
        return 0;
}

/* Name i of the environment: three characters of [A-Za-z_][A-Za-z0-9_]. */
static void env_name(unsigned i, char name[static 4]) {
        static const char first[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
        static const char rest[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789";
        name[0] = first[i / (63 * 63) % 53];
        name[1] = rest[i / 63 % 63];
        name[2] = rest[i % 63];
        name[3] = '\0';
}

static int add_many_env(sd_bus_message *m, void *userdata) {
        Flood *f = userdata;
        char name[4];
        int r = 0;

        for (unsigned i = 0; r >= 0 && i < MANY_ENV_VARS; i++) {
                /* The duplicate comes last: the whole list is read first. */
                env_name(f->path == PATH_ENV_DUP && i == MANY_ENV_VARS - 1 ? 0 : i, name);
                r = sd_bus_message_append(m, "{ss}", name, "");
        }
        return r;
}

static int add_option(sd_bus_message *m, const char *key, const char *type, ...) {
        va_list ap;
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', type);
        va_start(ap, type);
        if (r >= 0)
                r = sd_bus_message_appendv(m, type, ap);
        va_end(ap);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int add_cgroup_fd(sd_bus_message *m, void *userdata) {
        return add_option(m, "cgroup", "h", ((Flood *) userdata)->fd);
}

static int add_capabilities(sd_bus_message *m, void *userdata) {
        return add_option(m, "capabilities", "as", 1, "CAP_SYS_ADMIN");
}

static sd_bus_message *new_flood_call(sd_bus *bus, Flood *f) {
        sd_bus_message *m;
        int r;

        switch (f->path) {
        case PATH_ENV:
        case PATH_ENV_DUP:
                return new_spawn(bus, true_argv, add_many_env, NULL, f);
        case PATH_STALL_FD:
                return new_spawn(bus, true_argv, NULL, add_cgroup_fd, f);
        case PATH_AUDIT:
                return new_spawn(bus, true_argv, NULL, add_capabilities, f);
        case PATH_PGRP:
                r = sd_bus_message_new_method_call(bus, &m, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Signal");
                if (r >= 0)
                        r = sd_bus_message_append(m, "hiu", f->fd, 0, PIDFD_SIGNAL_PROCESS_GROUP);
                if (r < 0)
                        die(r, "build Signal");
                return m;
        default:
                abort();
        }
}

/* Keep depth calls in flight until told to stop. */
static void flood_calls(Flood *f) {
        sd_bus *bus = connect_bus();
        int r;

        while (!stop) {
                if (sd_bus_is_open(bus) <= 0) {
                        /* Dropped (by the bus, or by the broker): again. */
                        fprintf(stderr, "bench-dos: a %s flooder was disconnected, reconnecting\n",
                                path_keys[f->path]);
                        sd_bus_flush_close_unref(bus);
                        bus = connect_bus();
                        f->in_flight = 0;
                        f->errors++;
                }
                while (f->in_flight < arg_depth) {
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_flood_call(bus, f);
                        r = sd_bus_call_async(bus, NULL, m, on_flood_reply, f, 120 * 1000000ULL);
                        if (r == -ENOTCONN || r == -ECONNRESET || r == -EINTR)
                                break;
                        if (r < 0)
                                die(r, "send a %s call", path_names[f->path]);
                        f->in_flight++;
                }
                r = sd_bus_process(bus, NULL);
                if (r == -ENOTCONN || r == -ECONNRESET || r == -EINTR)
                        continue;
                if (r < 0)
                        die(r, "process the bus");
                if (r == 0 && (r = sd_bus_wait(bus, UINT64_MAX)) < 0 && r != -EINTR)
                        die(r, "wait on the bus");
        }
}

/* Hold as many idle (never authenticating) connections to the direct
 * socket as the daemon lets us; open a new one for each it closes. */
#define IDLE_CONNECTIONS 64
static void flood_connections(Flood *f) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct pollfd p[IDLE_CONNECTIONS];

        if (strlen(arg_direct) >= sizeof sa.sun_path)
                die(ENAMETOOLONG, "%s", arg_direct);
        strcpy(sa.sun_path, arg_direct);
        for (unsigned i = 0; i < IDLE_CONNECTIONS; i++)
                p[i] = (struct pollfd) { .fd = -1 };
        while (!stop) {
                for (unsigned i = 0; i < IDLE_CONNECTIONS; i++) {
                        if (p[i].fd >= 0)
                                continue;
                        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                        if (fd < 0)
                                die(errno, "socket");
                        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS) {
                                close(fd); /* the backlog is full: later */
                                f->errors++;
                                break;
                        }
                        p[i] = (struct pollfd) { .fd = fd, .events = POLLIN };
                        f->answered++;
                }
                /* The daemon sends nothing before we authenticate: POLLIN
                 * or POLLHUP means it closed the connection. */
                if (poll(p, IDLE_CONNECTIONS, 10) < 0 && errno != EINTR)
                        die(errno, "poll");
                for (unsigned i = 0; i < IDLE_CONNECTIONS; i++)
                        if (p[i].fd >= 0 && p[i].revents) {
                                close(p[i].fd);
                                p[i] = (struct pollfd) { .fd = -1 };
                        }
        }
}

typedef struct FloodResult {
        uint64_t answered, errors;
        double seconds;
} FloodResult;

_noreturn_ static void flooder_main(Path path, int ready_fd, int result_fd) {
        struct sigaction sa = { .sa_handler = on_term }; /* no SA_RESTART: sd_bus_wait() returns */
        Flood f = { .path = path, .fd = -1 };
        char b = 0;

        if (sigaction(SIGTERM, &sa, NULL) < 0)
                die(errno, "sigaction");
        become(arg_flooder);
        if (path == PATH_PGRP) {
                /* A process group leader of our own. */
                pid_t leader = fork();
                if (leader < 0)
                        die(errno, "fork");
                if (leader == 0) {
                        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                        (void) setsid();
                        for (;;)
                                pause();
                }
                f.fd = (int) syscall(__NR_pidfd_open, leader, 0);
                if (f.fd < 0)
                        die(errno, "pidfd_open");
        } else if (path == PATH_STALL_FD) {
                char *file;
                if (asprintf(&file, "%s/file", arg_fuse_dir) < 0)
                        die(ENOMEM, "asprintf");
                f.fd = open(file, O_RDONLY | O_CLOEXEC);
                if (f.fd < 0)
                        die(errno, "open %s", file);
                free(file);
        }
        if (write(ready_fd, &b, 1) != 1)
                die(EIO, "flooder: talk to the parent");

        uint64_t start = now_ns();
        if (path == PATH_CONNS)
                flood_connections(&f);
        else
                flood_calls(&f);
        FloodResult res = { f.answered, f.errors, (double) (now_ns() - start) / 1e9 };
        if (write(result_fd, &res, sizeof res) != (ssize_t) sizeof res)
                die(EIO, "flooder: write the result");
        _exit(EXIT_SUCCESS);
}

/* ---------- a FUSE file that never answers a stat ---------- */

#define FUSE_FILE_NODE 2

static void fuse_reply(int fd, uint64_t unique, int error, const void *data, size_t size) {
        struct fuse_out_header h = { .len = (uint32_t) (sizeof h + size), .error = error, .unique = unique };
        uint8_t buf[sizeof h + 256];

        memcpy(buf, &h, sizeof h);
        if (size)
                memcpy(buf + sizeof h, data, size);
        (void) write(fd, buf, h.len); /* ENOENT: interrupted meanwhile */
}

static void fuse_attr_of(uint64_t node, struct fuse_attr *a) {
        *a = (struct fuse_attr) { .ino = node, .nlink = 1,
                                  .mode = node == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0644 };
}

/* Mounts the file system on arg_fuse_dir and serves it: the root, and the
 * lookup, open, flush and release of its one file, and nothing else on the
 * file (its stat), ever. The
 * requests held end (ENOTCONN) when this process does. */
_noreturn_ static void stall_fs_main(int ready_fd) {
        static uint8_t buf[FUSE_MIN_READ_BUFFER + 65536];
        char opts[128], b = 0;
        int fd;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                die(errno, "open /dev/fuse");
        snprintf(opts, sizeof opts, "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
        if (mount("pidbroker-bench", arg_fuse_dir, "fuse", MS_NOSUID | MS_NODEV, opts) < 0)
                die(errno, "mount FUSE on %s", arg_fuse_dir);
        if (write(ready_fd, &b, 1) != 1)
                die(EIO, "FUSE: talk to the parent");

        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0 && (errno == EINTR || errno == ENOENT))
                        continue;
                if (n < (ssize_t) sizeof(struct fuse_in_header))
                        _exit(EXIT_SUCCESS); /* unmounted */
                const struct fuse_in_header *in = (const void *) buf;
                const void *arg = buf + sizeof *in;

                switch (in->opcode) {
                case FUSE_INIT: {
                        const struct fuse_init_in *ii = arg;
                        struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION,
                                                   .minor = MIN(ii->minor, FUSE_KERNEL_MINOR_VERSION),
                                                   .max_write = 4096, .max_pages = 1 };
                        fuse_reply(fd, in->unique, 0, &o, sizeof o);
                        break;
                }
                case FUSE_LOOKUP: {
                        struct fuse_entry_out o = { .nodeid = FUSE_FILE_NODE, .generation = 1 };
                        fuse_attr_of(FUSE_FILE_NODE, &o.attr);
                        fuse_reply(fd, in->unique, 0, &o, sizeof o);
                        break;
                }
                case FUSE_OPEN: {
                        struct fuse_open_out o = { .fh = 1 };
                        fuse_reply(fd, in->unique, 0, &o, sizeof o);
                        break;
                }
                case FUSE_FLUSH:
                case FUSE_RELEASE:
                        /* Every closer of the fd waits for these (the bus
                         * daemon too, for its copy): answered. */
                        fuse_reply(fd, in->unique, 0, NULL, 0);
                        break;
                case FUSE_FORGET:
                case FUSE_BATCH_FORGET:
                case FUSE_INTERRUPT:
                        break;
                case FUSE_GETATTR:
                        if (in->nodeid == FUSE_ROOT_ID) {
                                struct fuse_attr_out o = {};
                                fuse_attr_of(in->nodeid, &o.attr);
                                fuse_reply(fd, in->unique, 0, &o, sizeof o);
                        }
                        break; /* the file's: held for good */
                default:
                        if (in->nodeid != FUSE_FILE_NODE)
                                fuse_reply(fd, in->unique, -ENOSYS, NULL, 0);
                        break;
                }
        }
}

/* ---------- the parent ---------- */

typedef struct Run {
        ReadResult reads;
        double flood_rate, flood_errors; /* answered calls (or connections) per second, all flooders */
        bool done;
} Run;

static pid_t fork_child(void) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                die(errno, "fork");
        return pid;
}

static void wait_child(pid_t pid, const char *what) {
        int status;
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die(EIO, "the %s failed", what);
}

static void read_exactly(int fd, void *buf, size_t size, const char *what) {
        if (read(fd, buf, size) != (ssize_t) size)
                die(EIO, "the %s failed", what);
}

static Run run_path(Path path) {
        int ready[2], go[2], result[2], flood_result[2];
        pid_t reader, flooders[arg_clients], fs = 0;
        Run run = { .done = true };
        double rate = 0, errors = 0;
        char b;

        if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 || pipe2(result, O_CLOEXEC) < 0 ||
            pipe2(flood_result, O_CLOEXEC) < 0)
                die(errno, "pipe");

        if (path == PATH_STALL_FD) {
                if ((fs = fork_child()) == 0)
                        stall_fs_main(ready[1]);
                read_exactly(ready[0], &b, 1, "FUSE server");
        }
        if ((reader = fork_child()) == 0)
                reader_main(ready[1], go[0], result[1]);
        read_exactly(ready[0], &b, 1, "reader");

        unsigned n_flooders = path == PATH_NONE ? 0 : arg_clients;
        for (unsigned i = 0; i < n_flooders; i++) {
                if ((flooders[i] = fork_child()) == 0)
                        flooder_main(path, ready[1], flood_result[1]);
                read_exactly(ready[0], &b, 1, "flooder");
        }
        /* Let the flood build up, then read through it. */
        if (n_flooders)
                usleep((useconds_t) (arg_warmup * 1e6));
        if (write(go[1], &b, 1) != 1)
                die(errno, "write");
        read_exactly(result[0], &run.reads, sizeof run.reads, "reader");
        wait_child(reader, "reader");

        for (unsigned i = 0; i < n_flooders; i++)
                (void) kill(flooders[i], SIGTERM);
        for (unsigned i = 0; i < n_flooders; i++) {
                FloodResult fr;
                read_exactly(flood_result[0], &fr, sizeof fr, "flooder");
                rate += fr.answered / fr.seconds;
                errors += fr.errors / fr.seconds;
        }
        for (unsigned i = 0; i < n_flooders; i++)
                wait_child(flooders[i], "flooder");
        run.flood_rate = rate;
        run.flood_errors = errors;

        if (fs > 0) {
                (void) kill(fs, SIGKILL);
                (void) waitpid(fs, NULL, 0);
                (void) umount2(arg_fuse_dir, MNT_DETACH);
        }
        int fds[] = { ready[0], ready[1], go[0], go[1], result[0], result[1], flood_result[0], flood_result[1] };
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                close(fds[i]);
        /* Let the daemon forget the flooders and their workloads. */
        usleep(500 * 1000);
        return run;
}

static bool path_met(const Run *r, unsigned n_reads) {
        for (unsigned k = 0; k < n_reads; k++)
                if (r->reads.failed[k] || !r->reads.stats[k].valid || r->reads.stats[k].p99 >= TARGET_P99_MS)
                        return false;
        return true;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "iterations", required_argument, NULL, 'n' },
                { "clients", required_argument, NULL, 'c' },
                { "depth", required_argument, NULL, 'd' },
                { "warmup", required_argument, NULL, 'w' },
                { "flooder", required_argument, NULL, 'f' },
                { "reader", required_argument, NULL, 'r' },
                { "direct", required_argument, NULL, 'D' },
                { "fuse-dir", required_argument, NULL, 'F' },
                { "only", required_argument, NULL, 'o' },
                {},
        };
        int opt;

        bench_name = "bench-dos";
        while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (opt) {
                case 'n':
                        arg_iterations = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'c':
                        arg_clients = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'd':
                        arg_depth = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'w':
                        arg_warmup = strtod(optarg, NULL);
                        break;
                case 'f':
                        arg_flooder = (uid_t) strtoul(optarg, NULL, 10);
                        break;
                case 'r':
                        arg_reader = (uid_t) strtoul(optarg, NULL, 10);
                        break;
                case 'D':
                        arg_direct = optarg;
                        break;
                case 'F':
                        arg_fuse_dir = optarg;
                        break;
                case 'o':
                        arg_only = optarg;
                        break;
                default:
                        return EXIT_FAILURE;
                }
        if (arg_iterations == 0 || arg_clients == 0 || arg_depth == 0 || arg_clients > 64)
                die(EINVAL, "--iterations, --clients (at most 64) and --depth must be positive");
        if (geteuid() != 0)
                die(EPERM, "run as root: the clients run as uid %u and uid %u", (unsigned) arg_flooder,
                    (unsigned) arg_reader);

        unsigned n_reads = arg_direct ? _READ_MAX : READ_DIRECT_VERSION;
        printf("pidbroker under attack: %u flooding clients as uid %u (%u calls in flight each), reads as uid %u, "
               "%u reads per figure\n",
               arg_clients, (unsigned) arg_flooder, arg_depth, (unsigned) arg_reader, arg_iterations);
        print_load("at the start");
        printf("\n%-32s %-18s %5s %8s %8s %8s %6s %10s\n", "flood", "read", "n", "p50 ms", "p99 ms", "max ms",
               "failed", "flood/s");

        bool all_met = true;
        for (Path path = 0; path < _PATH_MAX; path++) {
                const char *skip = NULL;
                if (arg_only && path != PATH_NONE && strcmp(arg_only, path_keys[path]) != 0)
                        continue;
                if (path == PATH_STALL_FD && !arg_fuse_dir)
                        skip = "no --fuse-dir";
                else if (path == PATH_CONNS && !arg_direct)
                        skip = "no --direct socket";
                if (skip) {
                        printf("%-32s skipped: %s\n", path_names[path], skip);
                        continue;
                }
                fflush(stdout);
                Run r = run_path(path);
                for (unsigned k = 0; k < n_reads; k++) {
                        const Stats *s = &r.reads.stats[k];
                        printf("%-32s %-18s %5u %8.3f %8.3f %8.3f %6u ", k == 0 ? path_names[path] : "",
                               read_names[k], r.reads.n, s->p50, s->p99, s->max, r.reads.failed[k]);
                        if (k == 0)
                                printf("%10.0f\n", r.flood_rate);
                        else if (k == 1 && path != PATH_NONE)
                                printf("%10s\n", "(refused");
                        else if (k == 2 && path != PATH_NONE)
                                printf("%10.0f)\n", r.flood_errors);
                        else
                                printf("\n");
                }
                bool met = path_met(&r, n_reads);
                all_met = all_met && met;
                printf("  => target p99 < %.0f ms, no read failed: %s\n", TARGET_P99_MS, met ? "met" : "NOT met");
        }
        printf("\n=> under every flood: target p99 < %.0f ms: %s\n", TARGET_P99_MS, all_met ? "met" : "NOT met");
        print_load("at the end");
        return EXIT_SUCCESS;
}
