/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pidbrokerd integration harness shared by test-daemon and
 * test-policy-daemon: a private system-like bus (dbus-daemon or dbus-broker,
 * --bus=), the built daemon on it, GDBus clients running as root (in the test
 * process) and as unprivileged users (the test binary re-executed with
 * --client SCENARIO after dropping to that uid: GDBus threads make
 * fork-without-exec unsafe), the audit log, and polkitd on demand.
 *
 * The test process runs in a mount namespace of its own (made before any
 * thread exists), so what it mounts — the audit log's tmpfs, an /etc/group
 * with a test group — is seen by the bus and the daemon it starts, and by
 * nobody else. Nothing is printed to stdout but TAP; clients talk to the
 * test over pipes. */

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define BROKER_NAME "org.pidbroker.Broker1"
#define BROKER_PATH "/org/pidbroker/Broker1"
#define BROKER_IFACE "org.pidbroker.Broker1"
#define WORKLOAD_IFACE "org.pidbroker.Workload1"
#define WORKLOAD_PREFIX "/org/pidbroker/Broker1/workload"
#define POLKIT_NAME "org.freedesktop.PolicyKit1"

#define ERR_INVALID "org.pidbroker.Error.InvalidArgument"
#define ERR_NOSUCH "org.pidbroker.Error.NoSuchProcess"
#define ERR_SPAWN_FAILED "org.pidbroker.Error.SpawnFailed"
#define ERR_LIMIT "org.pidbroker.Error.LimitExceeded"
#define ERR_AUDIT_FAILED "org.pidbroker.Error.AuditFailed"
#define ERR_DENIED "org.freedesktop.DBus.Error.AccessDenied"
#define ERR_INTERACTIVE "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
#define ERR_UNKNOWN_OBJECT "org.freedesktop.DBus.Error.UnknownObject"

#define UID_NOBODY 65534
#define UID_DAEMON 1

/* Limits the test daemon runs with (see daemon_start()). */
#define TEST_MAX_FDS 8
#define TEST_MAX_WORKLOADS 6
#define TEST_MAX_WAITERS 4

typedef enum BusKind {
        BUS_DBUS_DAEMON,
        BUS_DBUS_BROKER,
} BusKind;

typedef struct HarnessOptions {
        const char *suite;         /* test path prefix: "/daemon" → /daemon/<bus>/<name> */
        const char *rules;         /* written to rules.d/50-test.rules before the daemon starts; NULL: none */
        const char *test_group;    /* a group added to /etc/group (in our mount namespace); NULL: none */
        const char *audit_tmpfs_size; /* the audit log's own tmpfs, e.g. "4m" */
        const char *config;        /* more lines for the daemon's pidbroker.conf; NULL: none */
} HarnessOptions;

typedef struct HarnessState {
        BusKind kind;
        HarnessOptions opts;
        char *dir;
        char *address;
        char *private_socket;
        char *daemon_log;
        char *audit_dir;      /* a tmpfs of its own */
        char *audit_log;
        char *rules_dir;
        gid_t test_gid;       /* of opts.test_group */
        GPid bus_pid;         /* dbus-daemon or dbus-broker-launch (our child) */
        GPid daemon_pid;
        GPid polkitd_pid;
        int journal_fd;       /* fake journald socket for dbus-broker, drained by a thread */
        char *cgroup_mount;   /* the cgroup2 mount; NULL without one */
        char *cgroup;         /* the daemon's own cgroup, marked delegated as systemd's Delegate=yes
                               * does (relative to cgroup_mount); its units go below it */
        GDBusConnection *root;
        /* Run before the daemon, which it must exec (seccomp-exec ... --);
         * NULL: the daemon itself. */
        const char *const *daemon_wrapper;
} HarnessState;

extern HarnessState T;
extern const char *self_exe;

/* ---------- small helpers shared by the test and the client side ---------- */

uint64_t now_ms(void);
/* The "Pid:" line of /proc/self/fdinfo/<fd>. */
int fdinfo_pid(int fd);
uint64_t fd_inode(int fd);
bool fd_readable_within(int fd, int timeout_ms);
char *read_all_fd(int fd);
char *read_line_fd(int fd, int timeout_ms);
GVariant *argv_variant(const char *const *argv, bool trailing_nul);
const char *bus_dest(GDBusConnection *c);

typedef struct FdMap {
        guint32 target;
        int fd;
} FdMap;

/* Spawn(argv, env, fds, options). options is an a{sv} (floating ok) or NULL.
 * Returns FALSE with *error set on a D-Bus error. */
gboolean spawn_full(GDBusConnection *c, GVariant *argv, GVariant *env, const FdMap *fds, size_t n_fds,
                    GVariant *options, char **ret_path, int *ret_pidfd, guint64 *ret_id, GError **error);
/* The same with call flags (G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION). */
gboolean spawn_full_flags(GDBusConnection *c, GVariant *argv, GVariant *env, const FdMap *fds, size_t n_fds,
                          GVariant *options, GDBusCallFlags flags, char **ret_path, int *ret_pidfd, guint64 *ret_id,
                          GError **error);
GVariant *call(GDBusConnection *c, const char *path, const char *iface, const char *method, GVariant *params,
               const char *reply_type, GError **error);
GVariant *get_property(GDBusConnection *c, const char *path, const char *iface, const char *name, GError **error);
guint32 get_u32(GDBusConnection *c, const char *path, const char *name);
guint64 get_u64(GDBusConnection *c, const char *path, const char *name);
char *get_str(GDBusConnection *c, const char *path, const char *name);
void get_exit_status(GDBusConnection *c, const char *path, char **code, int *status);
/* Wait() on a workload: (code, status). */
void wait_workload(GDBusConnection *c, const char *path, char **code, int *status);
void release_workload(GDBusConnection *c, const char *path);
void stop_and_release(GDBusConnection *c, const char *path);
bool managed_objects_contain(GDBusConnection *c, const char *path);
void assert_dbus_error(GError *e, const char *name);
/* Broker1.Signal(pidfd, sig, flags): NULL error on success. fd is dup'ed. */
gboolean broker_signal(GDBusConnection *c, int pidfd, int sig, guint32 flags, GError **error);
/* Broker1.GetFd(pidfd, target_fd): the fd, or -1 with *error set. pidfd is dup'ed. */
int broker_get_fd(GDBusConnection *c, int pidfd, int target_fd, GError **error);
GVariant *one_option(const char *key, GVariant *value);
/* argv for the test helper (test-helper.c) with args, as Spawn takes it. */
GVariant *argv_helper(const char *const *args);
int pidfd_open_or_die(pid_t pid);
/* Print "name=" and "pid=" lines: who this client is, for the test to find
 * its audit records. */
void print_identity(GDBusConnection *c);

/* Exited signals seen by a connection. */
typedef struct ExitedLog {
        GPtrArray *paths;
        char *code;
        int status;
} ExitedLog;

void on_exited(GDBusConnection *c, const char *sender, const char *path, const char *iface, const char *signal,
               GVariant *params, gpointer userdata);
bool exited_seen(ExitedLog *l, const char *path);
bool exited_log_has(void *data);
void iterate_until(bool (*cond)(void *), void *data, int timeout_ms);

/* The system bus, or the direct socket when direct_socket is not NULL. */
GDBusConnection *client_connect(const char *direct_socket);
GVariant *ns_options(const char *const *ns, bool watch, guint64 stop_timeout_usec);
extern const char *const NS_PID_MNT_NET[];

/* ---------- test side ---------- */

/* A client: this binary re-executed as uid (its primary gid: uid's, 65534
 * for nobody) with --client ARGS..., with exactly the supplementary groups
 * given. */
GSubprocess *client_start(uid_t uid, const char *const *args);
GSubprocess *client_start_groups(uid_t uid, const gid_t *groups, size_t n_groups, const char *const *args);
int client_stdout_fd(GSubprocess *p);
/* The next n lines a running client prints (30 s each at most). */
char *client_read_lines(GSubprocess *p, int n);
void client_finish(GSubprocess *p);
/* Run a client to its end; its stdout is returned. */
char *client_run(uid_t uid, const char *const *args);
char *client_run_groups(uid_t uid, const gid_t *groups, size_t n_groups, const char *const *args);
/* "key=value" lines of a client's output. */
char *client_output_get(const char *out, const char *key);

/* A 0644 file of root's in the test directory holding "0123456789abcdef". */
char *write_data_file(void);

unsigned count_fds(pid_t pid);
/* The same once the number holds still for 100 ms: a call's fds are closed
 * when its request is freed, a moment after the reply. */
unsigned count_fds_settled(pid_t pid);
/* Children of pid, live or zombie. */
unsigned count_children(pid_t pid);
/* One counter of the daemon's Metrics property ("signal_result.fallback"). */
guint64 broker_metric(const char *key);
/* Children of pid left as zombies. */
unsigned count_zombie_children(pid_t pid);
GDBusConnection *root_bus(void);
bool name_has_owner(GDBusConnection *c, const char *name);

/* Units (w-*) below the test daemon's cgroup: their paths relative to
 * the mount. */
GPtrArray *daemon_units(void);

/* The daemon with the harness's arguments plus extra ones (NULL-terminated,
 * may be NULL); returns once it owns its name. */
void daemon_start(const char *const *extra_args);
/* The same with fds passed as 3, 4, ... (LISTEN_PID is set to the
 * daemon's pid; LISTEN_FDS and LISTEN_FDNAMES come from our environment). */
void daemon_start_with_fds(const char *const *extra_args, const int *fds, size_t n_fds);
void daemon_stop(void);
void daemon_restart(const char *const *extra_args);

/* polkitd on the test bus, owning org.freedesktop.PolicyKit1, with the
 * project's action file as its only one (bind-mounted over
 * /usr/share/polkit-1/actions in polkitd's own mount namespace; nothing on
 * the machine changes). */
void polkitd_start(void);
void polkitd_stop(void);

/* ---------- the audit log ---------- */

/* Each line of the audit log, parsed: JSON objects as a{sv}, arrays as av,
 * strings s, integers x (t above INT64_MAX), booleans b, null as an empty
 * maybe (mv). Fails the test on a line that is not JSON. */
GPtrArray *audit_lines(void);
/* Only the "record" lines. */
GPtrArray *audit_records(void);
/* The result of the outcome line for seq, or NULL when there is none. */
/* A field of the outcome line of record seq ("fd_type" of a GetFd). */
char *audit_outcome_field(GPtrArray *lines, gint64 seq, const char *field);
char *audit_outcome_of(GPtrArray *lines, gint64 seq);
/* The outcome line for seq itself (a reference), or NULL. */
GVariant *audit_outcome_line(GPtrArray *lines, gint64 seq);
/* The seq of the last record, 0 when there is none. */
gint64 audit_last_seq(void);
/* Records after seq, optionally only those of one subject (by bus name, or
 * by pid when name is ""). */
GPtrArray *audit_records_since(gint64 seq, const char *name, pid_t pid);

/* A member by dotted path ("subject.uid"); NULL when absent. A null value
 * is returned as the empty maybe. */
GVariant *jv_get(GVariant *obj, const char *path);
bool jv_is_null(GVariant *v);
gint64 jv_int(GVariant *obj, const char *path);   /* fails the test when not an integer */
const char *jv_str(GVariant *obj, const char *path); /* NULL for null */
GVariant *json_parse(const char *s, GError **error);

/* ---------- running ---------- */

void add_test(const char *name, GTestFunc fn);
void add_test_data(const char *name, gconstpointer data, GTestDataFunc fn);
/* main() of a harness test program: --client dispatch, --bus=, the mount
 * namespace, the environment around g_test_run(). register_tests runs after
 * g_test_init(). */
int harness_main(int argc, char *argv[], const HarnessOptions *opts, int (*client_main)(int argc, char *argv[]),
                 void (*register_tests)(void));
