/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The verbs on the broker itself: features, metrics, and getfd. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ctl-util.h"
#include "ctl.h"
#include "json.h"
#include "pidfd-util.h"

typedef struct Feature {
        char *name;
        bool available;
        char *detail;
} Feature;

typedef struct Counter {
        char *key;
        uint64_t value;
} Counter;

typedef struct BrokerInfo {
        char *version;
        char *control_path;
        char *policy_backend;
        Feature *features;
        size_t n_features;
        Counter *metrics;
        size_t n_metrics;
} BrokerInfo;

static void broker_info_done(BrokerInfo *b) {
        free(b->version);
        free(b->control_path);
        free(b->policy_backend);
        for (size_t i = 0; i < b->n_features; i++) {
                free(b->features[i].name);
                free(b->features[i].detail);
        }
        free(b->features);
        for (size_t i = 0; i < b->n_metrics; i++)
                free(b->metrics[i].key);
        free(b->metrics);
}

static int read_features(sd_bus_message *m, BrokerInfo *b) {
        const char *name, *detail;
        int available, r;

        r = sd_bus_message_enter_container(m, 'a', "(sbs)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(sbs)", &name, &available, &detail)) > 0) {
                Feature *n = realloc(b->features, (b->n_features + 1) * sizeof *n);
                if (!n)
                        return -ENOMEM;
                b->features = n;
                n[b->n_features] = (Feature) { .name = strdup(name), .available = available, .detail = strdup(detail) };
                if (!n[b->n_features].name || !n[b->n_features].detail)
                        return -ENOMEM;
                b->n_features++;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_metrics(sd_bus_message *m, BrokerInfo *b) {
        const char *key;
        uint64_t value;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{st}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{st}", &key, &value)) > 0) {
                Counter *n = realloc(b->metrics, (b->n_metrics + 1) * sizeof *n);
                if (!n)
                        return -ENOMEM;
                b->metrics = n;
                n[b->n_metrics].key = strdup(key);
                n[b->n_metrics].value = value;
                if (!n[b->n_metrics].key)
                        return -ENOMEM;
                b->n_metrics++;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_broker_property(sd_bus_message *m, const char *name, const char *sig, void *userdata) {
        BrokerInfo *b = userdata;

        if (strcmp(name, "Version") == 0 && strcmp(sig, "s") == 0)
                return ctl_read_string(m, &b->version);
        if (strcmp(name, "ControlPath") == 0 && strcmp(sig, "s") == 0)
                return ctl_read_string(m, &b->control_path);
        if (strcmp(name, "PolicyBackend") == 0 && strcmp(sig, "s") == 0)
                return ctl_read_string(m, &b->policy_backend);
        if (strcmp(name, "Features") == 0 && strcmp(sig, "a(sbs)") == 0)
                return read_features(m, b);
        if (strcmp(name, "Metrics") == 0 && strcmp(sig, "a{st}") == 0)
                return read_metrics(m, b);
        return sd_bus_message_skip(m, sig);
}

/* Properties.GetAll on Broker1; one round trip for every verb here. */
static int broker_info_get(sd_bus *bus, BrokerInfo *b) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, ctl_destination(), BROKER_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", BROKER_INTERFACE);
        if (r < 0)
                return ctl_error(r, &error, "Failed to get the broker's properties");

        r = ctl_read_properties(reply, read_broker_property, b);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to parse the broker's properties");
        return 0;
}

/* ---- features ---- */

int verb_features(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        BrokerInfo b = {};
        int r;

        r = ctl_connect(&bus);
        if (r < 0)
                return r;
        r = broker_info_get(bus, &b);
        if (r < 0)
                goto finish;

        if (arg.json) {
                fputc('{', stdout);
                json_write_key(stdout, "version", true);
                json_write_string(stdout, b.version ?: "");
                json_write_key(stdout, "control_path", false);
                json_write_string(stdout, b.control_path ?: "");
                json_write_key(stdout, "policy_backend", false);
                json_write_string(stdout, b.policy_backend ?: "");
                json_write_key(stdout, "features", false);
                fputc('[', stdout);
                for (size_t i = 0; i < b.n_features; i++) {
                        fputs(i > 0 ? ",{" : "{", stdout);
                        json_write_key(stdout, "name", true);
                        json_write_string(stdout, b.features[i].name);
                        json_write_key(stdout, "available", false);
                        fputs(b.features[i].available ? "true" : "false", stdout);
                        json_write_key(stdout, "detail", false);
                        json_write_string(stdout, b.features[i].detail);
                        fputc('}', stdout);
                }
                fputs("]}\n", stdout);
        } else {
                int w = 7;

                printf("Version:        %s\n", b.version ?: "-");
                printf("Control path:   %s\n", b.control_path ?: "-");
                printf("Policy backend: %s\n\n", b.policy_backend ?: "-");
                for (size_t i = 0; i < b.n_features; i++)
                        w = MAX(w, (int) strlen(b.features[i].name));
                printf("%-*s %-9s %s\n", w, "FEATURE", "AVAILABLE", "DETAIL");
                for (size_t i = 0; i < b.n_features; i++)
                        printf("%-*s %-9s %s\n", w, b.features[i].name, b.features[i].available ? "yes" : "no",
                               b.features[i].detail);
        }
        r = 0;
finish:
        broker_info_done(&b);
        return r;
}

/* ---- metrics ---- */

/* How a Metrics key "GROUP.VALUE" maps onto a Prometheus family and label. */
static const struct {
        const char *group, *family, *label, *help;
} metric_families[] = {
        { "spawns", "pidbroker_spawns_total", "result", "Workloads spawned, by result." },
        { "control_path", "pidbroker_operations_total", "control_path",
          "Operations on processes, by control path (pidfd or legacy_pid)." },
        { "signal_result", "pidbroker_signals_total", "signal_result", "Signals sent, by result." },
        { "wait_result", "pidbroker_waits_total", "wait_result", "Waits for a workload's exit, by result." },
};

typedef struct Sample {
        char *family;
        const char *help;
        char *label;   /* NULL: no label */
        char *value;
        uint64_t count;
} Sample;

/* Prometheus names: [a-zA-Z_:][a-zA-Z0-9_:]*; we keep to [a-z0-9_]. */
static char *sanitize_name(const char *s, size_t len) {
        char *n = malloc(len + 2), *p = n;

        if (!n)
                return NULL;
        if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
                *p++ = '_';
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                *p++ = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ? c
                       : (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : '_';
        }
        *p = 0;
        return n;
}

static int sample_from_key(const char *key, uint64_t count, Sample *ret) {
        size_t glen = strcspn(key, ".=");
        _cleanup_free_ char *group = sanitize_name(key, glen);
        Sample s = { .count = count, .help = "pidbroker counter." };

        if (!group)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(metric_families); i++)
                if (strcmp(group, metric_families[i].group) == 0) {
                        s.family = strdup(metric_families[i].family);
                        s.label = strdup(metric_families[i].label);
                        s.help = metric_families[i].help;
                        break;
                }
        if (!s.family) {
                if (asprintf(&s.family, "pidbroker_%s_total", group) < 0)
                        s.family = NULL;
                s.label = key[glen] ? strdup(group) : NULL;
        }
        if (key[glen])
                s.value = strdup(key + glen + 1);
        if (!s.family || (key[glen] && (!s.label || !s.value))) {
                free(s.family);
                free(s.label);
                free(s.value);
                return -ENOMEM;
        }
        if (!key[glen]) {
                free(s.label);
                s.label = NULL;
        }
        *ret = s;
        return 0;
}

static void write_label_value(const char *v) {
        fputc('"', stdout);
        for (; *v; v++) {
                if (*v == '\\' || *v == '"')
                        printf("\\%c", *v);
                else if (*v == '\n')
                        fputs("\\n", stdout);
                else
                        fputc(*v, stdout);
        }
        fputc('"', stdout);
}

int verb_metrics(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        BrokerInfo b = {};
        Sample *samples = NULL;
        bool *printed = NULL;
        size_t n = 0;
        int r;

        r = ctl_connect(&bus);
        if (r < 0)
                return r;
        r = broker_info_get(bus, &b);
        if (r < 0)
                goto finish;

        samples = calloc(b.n_metrics + 1, sizeof *samples);
        printed = calloc(b.n_metrics + 1, sizeof *printed);
        if (!samples || !printed) {
                r = ctl_error(-ENOMEM, NULL, "Out of memory");
                goto finish;
        }
        for (size_t i = 0; i < b.n_metrics; i++) {
                r = sample_from_key(b.metrics[i].key, b.metrics[i].value, &samples[n]);
                if (r < 0) {
                        ctl_error(r, NULL, "Out of memory");
                        goto finish;
                }
                n++;
        }

        /* A family's samples must be contiguous, after one HELP and TYPE. */
        for (size_t i = 0; i < n; i++) {
                if (printed[i])
                        continue;
                printf("# HELP %s %s\n# TYPE %s counter\n", samples[i].family, samples[i].help, samples[i].family);
                for (size_t j = i; j < n; j++) {
                        if (printed[j] || strcmp(samples[j].family, samples[i].family) != 0)
                                continue;
                        printed[j] = true;
                        fputs(samples[j].family, stdout);
                        if (samples[j].label) {
                                printf("{%s=", samples[j].label);
                                write_label_value(samples[j].value);
                                fputc('}', stdout);
                        }
                        printf(" %" PRIu64 "\n", samples[j].count);
                }
        }

        printf("# HELP pidbroker_info The broker's version, control path and policy backend.\n"
               "# TYPE pidbroker_info gauge\n"
               "pidbroker_info{version=");
        write_label_value(b.version ?: "");
        fputs(",control_path=", stdout);
        write_label_value(b.control_path ?: "");
        fputs(",policy_backend=", stdout);
        write_label_value(b.policy_backend ?: "");
        fputs("} 1\n", stdout);

        if (b.n_features > 0)
                printf("# HELP pidbroker_feature_available Kernel features the broker probed at start (1: available).\n"
                       "# TYPE pidbroker_feature_available gauge\n");
        for (size_t i = 0; i < b.n_features; i++) {
                fputs("pidbroker_feature_available{feature=", stdout);
                write_label_value(b.features[i].name);
                printf("} %d\n", b.features[i].available ? 1 : 0);
        }
        r = fflush(stdout) == 0 ? 0 : ctl_error(-errno, NULL, "Failed to write the metrics");

finish:
        for (size_t i = 0; i < n; i++) {
                free(samples[i].family);
                free(samples[i].label);
                free(samples[i].value);
        }
        free(samples);
        free(printed);
        broker_info_done(&b);
        return r;
}

/* ---- getfd ---- */

static const char *fd_type(mode_t mode, const char *link, bool json) {
        if (strncmp(link, "anon_inode:", 11) == 0)
                return json ? "anon_inode" : "anonymous inode";
        switch (mode & S_IFMT) {
        case S_IFREG:  return json ? "regular" : "regular file";
        case S_IFDIR:  return "directory";
        case S_IFCHR:  return json ? "character_device" : "character device";
        case S_IFBLK:  return json ? "block_device" : "block device";
        case S_IFIFO:  return json ? "fifo" : "fifo (pipe)";
        case S_IFSOCK: return "socket";
        case S_IFLNK:  return "symlink";
        default:       return "unknown";
        }
}

/* The file status flags (shared by every copy of the open file), as names. */
static void format_open_flags(unsigned flags, char *buf, size_t size) {
        static const struct { unsigned flag; const char *name; } names[] = {
                { O_APPEND, "O_APPEND" }, { O_NONBLOCK, "O_NONBLOCK" }, { O_DSYNC, "O_DSYNC" },
                { O_SYNC & ~O_DSYNC, "O_SYNC" }, { O_DIRECT, "O_DIRECT" }, { O_NOATIME, "O_NOATIME" },
                { O_PATH, "O_PATH" }, { O_DIRECTORY, "O_DIRECTORY" }, { O_LARGEFILE, "O_LARGEFILE" },
        };
        unsigned acc = flags & O_ACCMODE;
        size_t len;

        snprintf(buf, size, "%s", acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" : "O_RDWR");
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i].flag && (flags & names[i].flag) == names[i].flag) {
                        len = strlen(buf);
                        snprintf(buf + len, size - len, "|%s", names[i].name);
                }
}

/* What fd (our copy of the target's target_fd) is. */
static int describe_fd(int fd, int target_fd) {
        char proc[64], link[4096] = "", line[256], flags_str[256] = "";
        _cleanup_fclose_ FILE *f = NULL;
        struct stat st;
        ssize_t n;
        unsigned long long pos = 0;
        unsigned flags = 0;
        bool has_flags = false;

        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        n = readlink(proc, link, sizeof link - 1);
        link[n > 0 ? n : 0] = 0;
        if (fstat(fd, &st) < 0)
                return ctl_error(-errno, NULL, "Failed to stat the fd");

        snprintf(proc, sizeof proc, "/proc/self/fdinfo/%d", fd);
        f = fopen(proc, "re");
        while (f && fgets(line, sizeof line, f)) {
                if (sscanf(line, "pos: %llu", &pos) == 1)
                        continue;
                if (sscanf(line, "flags: %o", &flags) == 1)
                        has_flags = true;
        }
        /* O_CLOEXEC is a property of our copy, not of the target's fd. */
        flags &= ~(unsigned) O_CLOEXEC;
        if (has_flags)
                format_open_flags(flags, flags_str, sizeof flags_str);

        if (arg.json) {
                fputc('{', stdout);
                json_write_key(stdout, "pid", true);
                printf("%d", (int) arg.pid);
                json_write_key(stdout, "fd", false);
                printf("%d", target_fd);
                json_write_key(stdout, "path", false);
                json_write_string(stdout, link);
                json_write_key(stdout, "type", false);
                json_write_string(stdout, fd_type(st.st_mode, link, true));
                json_write_key(stdout, "dev", false);
                printf("\"%u:%u\"", major(st.st_dev), minor(st.st_dev));
                json_write_key(stdout, "inode", false);
                printf("%" PRIu64, (uint64_t) st.st_ino);
                json_write_key(stdout, "flags", false);
                if (has_flags)
                        json_write_string(stdout, flags_str);
                else
                        fputs("null", stdout);
                json_write_key(stdout, "pos", false);
                printf("%llu}\n", pos);
                return 0;
        }
        printf("fd %d of PID %d:\n", target_fd, (int) arg.pid);
        printf("  path:  %s\n", link);
        printf("  type:  %s\n", fd_type(st.st_mode, link, false));
        printf("  dev:   %u:%u\n", major(st.st_dev), minor(st.st_dev));
        printf("  inode: %" PRIu64 "\n", (uint64_t) st.st_ino);
        if (has_flags)
                printf("  flags: %s\n", flags_str);
        printf("  pos:   %llu\n", pos);
        return 0;
}

int verb_getfd(int argc, char *argv[]) {
        _cleanup_(pidbroker_error_free) pidbroker_error error = PIDBROKER_ERROR_NULL;
        _cleanup_(pidbroker_workload_unrefp) pidbroker_workload *w = NULL;
        _cleanup_close_ int own_pidfd = -EBADF, fd = -EBADF;
        pidbroker_client *client;
        int pidfd, target_fd, r;

        /* getfd --pid PID FD [CMD...] or getfd WORKLOAD FD [CMD...]. */
        if (!arg.has_pid) {
                _cleanup_free_ char *path = NULL;

                r = ctl_workload_path(argv[0], &path);
                if (r < 0)
                        return r;
                argc--;
                argv++;
                r = ctl_connect_client(&client);
                if (r < 0)
                        return r;
                r = pidbroker_workload_open_path(client, path, &w);
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to open %s", path);
        }
        if (parse_fd(argv[0], &target_fd) < 0)
                return ctl_usage_error("'%s' is not an fd number", argv[0]);

        r = ctl_connect_client(&client);
        if (r < 0)
                return r;

        if (w) {
                /* The broker's own pidfd of it: the workload may live in a
                 * pid namespace where we could not name it. */
                r = pidbroker_workload_fetch_pidfd(w, &error);
                if (r < 0)
                        return ctl_lib_error(r, &error, "Failed to get the pidfd of %s", pidbroker_workload_get_path(w));
                pidfd = pidbroker_workload_get_pidfd(w);
                arg.pid = MAX(pidbroker_workload_get_pid(w), 0);
        } else {
                own_pidfd = sys_pidfd_open(arg.pid, 0);
                if (own_pidfd < 0)
                        return ctl_error(own_pidfd, NULL, "Failed to open a pidfd for PID %d", (int) arg.pid);
                pidfd = own_pidfd;
        }

        r = pidbroker_getfd(client, pidfd, target_fd, &fd, &error);
        if (r < 0)
                return ctl_lib_error(r, &error, "Failed to get fd %d of %s", target_fd,
                                     w ? pidbroker_workload_get_path(w) : "the process");
        w = pidbroker_workload_unref(w);
        ctl_disconnect();

        if (argc > 1) {
                _cleanup_free_ char *exe = NULL;

                r = find_executable(argv[1], getenv("PATH"), &exe);
                if (r < 0) {
                        ctl_error(r, NULL, r == -ENOENT ? "Cannot find %s in $PATH" : "Cannot execute %s", argv[1]);
                        return r == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_INVOKE;
                }
                /* Hand it over as fd 3, without close-on-exec. */
                if (fd == 3) {
                        if (fcntl(fd, F_SETFD, 0) < 0)
                                return ctl_error(-errno, NULL, "Failed to clear close-on-exec");
                } else if (dup2(fd, 3) < 0)
                        return ctl_error(-errno, NULL, "Failed to move the fd to 3");
                ctl_debug("executing %s with fd %d of PID %d as fd 3", exe, target_fd, (int) arg.pid);
                fflush(NULL);
                execv(exe, argv + 1);
                ctl_error(-errno, NULL, "Failed to execute %s", exe);
                return EXIT_CANNOT_INVOKE;
        }

        return describe_fd(fd, target_fd);
}

/* The unique name that owns the broker's name now; NULL when none does. */
static char *broker_owner(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *owner;

        if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetNameOwner", NULL, &reply, "s", BROKER_BUS_NAME) < 0 ||
            sd_bus_message_read(reply, "s", &owner) < 0)
                return NULL;
        return strdup(owner);
}

/* Like systemctl daemon-reexec: returns once the new image owns the name
 * again (on the bus; a direct connection just closes). */
int verb_daemon_reexec(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *before = NULL;
        int r;

        r = ctl_connect(&bus);
        if (r < 0)
                return r;
        if (ctl_destination())
                before = broker_owner(bus);
        r = sd_bus_call_method(bus, ctl_destination(), BROKER_PATH, BROKER_INTERFACE, "Reexecute", &error, NULL,
                               NULL);
        if (r < 0)
                return ctl_error(r, &error, "Failed to re-execute the broker");
        if (!before)
                return 0;
        for (int i = 0; i < 3000; i++) {
                _cleanup_free_ char *now = broker_owner(bus);
                if (now && strcmp(now, before) != 0)
                        return 0;
                usleep(10000);
        }
        return ctl_error(-ETIMEDOUT, NULL, "The broker did not come back on the bus within 30 s");
}
