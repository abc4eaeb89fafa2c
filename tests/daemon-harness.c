/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The pidbrokerd integration harness (contract in daemon-harness.h). */

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "daemon-harness.h"
#include "test-util.h"

HarnessState T = { .journal_fd = -1 };
const char *self_exe;

/* ---------- small helpers shared by the test and the client side ---------- */

uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* The "Pid:" line of /proc/self/fdinfo/<fd>. */
int fdinfo_pid(int fd) {
        g_autofree char *p = g_strdup_printf("/proc/self/fdinfo/%d", fd);
        g_autofree char *s = NULL;
        g_assert_true(g_file_get_contents(p, &s, NULL, NULL));
        const char *l = strstr(s, "\nPid:");
        g_assert_nonnull(l);
        return atoi(l + 5);
}

uint64_t fd_inode(int fd) {
        struct stat st;
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        return st.st_ino;
}

bool fd_readable_within(int fd, int timeout_ms) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r;
        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        return r > 0 && (p.revents & (POLLIN | POLLHUP));
}

char *read_all_fd(int fd) {
        GString *s = g_string_new(NULL);
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
                if (n > 0)
                        g_string_append_len(s, buf, n);
        return g_string_free(s, FALSE);
}

char *read_line_fd(int fd, int timeout_ms) {
        GString *s = g_string_new(NULL);
        char c;
        uint64_t end = now_ms() + (uint64_t) timeout_ms;
        while (now_ms() < end) {
                if (!fd_readable_within(fd, (int) (end - now_ms())))
                        break;
                ssize_t n = read(fd, &c, 1);
                if (n <= 0 || c == '\n')
                        break;
                g_string_append_c(s, c);
        }
        return g_string_free(s, FALSE);
}

GVariant *argv_variant(const char *const *argv, bool trailing_nul) {
        GVariantBuilder b;
        g_variant_builder_init(&b, G_VARIANT_TYPE("aay"));
        for (; *argv; argv++) {
                if (trailing_nul)
                        g_variant_builder_add_value(&b, g_variant_new_bytestring(*argv));
                else
                        g_variant_builder_add_value(&b, g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, *argv,
                                                                                  strlen(*argv), 1));
        }
        return g_variant_builder_end(&b);
}

const char *bus_dest(GDBusConnection *c) {
        /* On the direct socket there is no bus and no name. */
        return g_dbus_connection_get_unique_name(c) ? BROKER_NAME : NULL;
}


gboolean spawn_full_flags(GDBusConnection *c, GVariant *argv, GVariant *env, const FdMap *fds, size_t n_fds,
                          GVariant *options, GDBusCallFlags flags, char **ret_path, int *ret_pidfd, guint64 *ret_id,
                          GError **error) {
        g_autoptr(GUnixFDList) in = g_unix_fd_list_new();
        g_autoptr(GUnixFDList) out = NULL;
        GVariantBuilder fb;

        g_variant_builder_init(&fb, G_VARIANT_TYPE("a{uh}"));
        for (size_t i = 0; i < n_fds; i++) {
                int idx = g_unix_fd_list_append(in, fds[i].fd, NULL);
                g_assert_cmpint(idx, >=, 0);
                g_variant_builder_add(&fb, "{uh}", fds[i].target, idx);
        }
        if (!env)
                env = g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0);
        if (!options)
                options = g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);

        g_autoptr(GVariant) reply = g_dbus_connection_call_with_unix_fd_list_sync(
                c, bus_dest(c), BROKER_PATH, BROKER_IFACE, "Spawn",
                g_variant_new("(@aay@a{ss}a{uh}@a{sv})", argv, env, &fb, options), G_VARIANT_TYPE("(oht)"),
                flags, 30000, in, &out, NULL, error);
        if (!reply)
                return FALSE;

        const char *path;
        gint32 h;
        guint64 id;
        g_variant_get(reply, "(&oht)", &path, &h, &id);
        if (ret_path)
                *ret_path = g_strdup(path);
        if (ret_id)
                *ret_id = id;
        if (ret_pidfd) {
                g_assert_nonnull(out);
                *ret_pidfd = g_unix_fd_list_get(out, h, NULL);
                g_assert_cmpint(*ret_pidfd, >=, 0);
        }
        return TRUE;
}

gboolean spawn_full(GDBusConnection *c, GVariant *argv, GVariant *env, const FdMap *fds, size_t n_fds,
                    GVariant *options, char **ret_path, int *ret_pidfd, guint64 *ret_id, GError **error) {
        return spawn_full_flags(c, argv, env, fds, n_fds, options, G_DBUS_CALL_FLAGS_NONE, ret_path, ret_pidfd, ret_id,
                                error);
}

gboolean broker_signal(GDBusConnection *c, int pidfd, int sig, guint32 flags, GError **error) {
        g_autoptr(GUnixFDList) fl = g_unix_fd_list_new();
        g_assert_cmpint(g_unix_fd_list_append(fl, pidfd, NULL), ==, 0);
        g_autoptr(GVariant) r = g_dbus_connection_call_with_unix_fd_list_sync(
                c, bus_dest(c), BROKER_PATH, BROKER_IFACE, "Signal", g_variant_new("(hiu)", 0, sig, flags), NULL,
                G_DBUS_CALL_FLAGS_NONE, 30000, fl, NULL, NULL, error);
        return r != NULL;
}

int broker_get_fd(GDBusConnection *c, int pidfd, int target_fd, GError **error) {
        g_autoptr(GUnixFDList) in = g_unix_fd_list_new();
        g_autoptr(GUnixFDList) out = NULL;
        g_assert_cmpint(g_unix_fd_list_append(in, pidfd, NULL), ==, 0);
        g_autoptr(GVariant) r = g_dbus_connection_call_with_unix_fd_list_sync(
                c, bus_dest(c), BROKER_PATH, BROKER_IFACE, "GetFd", g_variant_new("(hi)", 0, target_fd),
                G_VARIANT_TYPE("(h)"), G_DBUS_CALL_FLAGS_NONE, 30000, in, &out, NULL, error);
        if (!r)
                return -1;
        gint32 h;
        g_variant_get(r, "(h)", &h);
        int fd = g_unix_fd_list_get(out, h, NULL);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

GVariant *one_option(const char *key, GVariant *value) {
        GVariantBuilder b;
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", key, value);
        return g_variant_builder_end(&b);
}

GVariant *argv_helper(const char *const *args) {
        g_autoptr(GPtrArray) a = g_ptr_array_new();
        g_ptr_array_add(a, (char *) test_helper_path());
        for (; *args; args++)
                g_ptr_array_add(a, (char *) *args);
        g_ptr_array_add(a, NULL);
        return argv_variant((const char *const *) a->pdata, true);
}

int pidfd_open_or_die(pid_t pid) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

void print_identity(GDBusConnection *c) {
        printf("name=%s\npid=%d\n", g_dbus_connection_get_unique_name(c) ?: "", (int) getpid());
        fflush(stdout);
}

GVariant *call(GDBusConnection *c, const char *path, const char *iface, const char *method, GVariant *params,
                      const char *reply_type, GError **error) {
        return g_dbus_connection_call_sync(c, bus_dest(c), path, iface, method, params,
                                           reply_type ? G_VARIANT_TYPE(reply_type) : NULL, G_DBUS_CALL_FLAGS_NONE,
                                           30000, NULL, error);
}

GVariant *get_property(GDBusConnection *c, const char *path, const char *iface, const char *name,
                              GError **error) {
        g_autoptr(GVariant) r = call(c, path, "org.freedesktop.DBus.Properties", "Get",
                                     g_variant_new("(ss)", iface, name), "(v)", error);
        if (!r)
                return NULL;
        GVariant *v;
        g_variant_get(r, "(v)", &v);
        return v;
}

guint32 get_u32(GDBusConnection *c, const char *path, const char *name) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) v = get_property(c, path, WORKLOAD_IFACE, name, &e);
        g_assert_no_error(e);
        return g_variant_get_uint32(v);
}

guint64 get_u64(GDBusConnection *c, const char *path, const char *name) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) v = get_property(c, path, WORKLOAD_IFACE, name, &e);
        g_assert_no_error(e);
        return g_variant_get_uint64(v);
}

char *get_str(GDBusConnection *c, const char *path, const char *name) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) v = get_property(c, path, WORKLOAD_IFACE, name, &e);
        g_assert_no_error(e);
        return g_variant_dup_string(v, NULL);
}

void get_exit_status(GDBusConnection *c, const char *path, char **code, int *status) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) v = get_property(c, path, WORKLOAD_IFACE, "ExitStatus", &e);
        g_assert_no_error(e);
        const char *s;
        gint32 st;
        g_variant_get(v, "(&si)", &s, &st);
        *code = g_strdup(s);
        *status = st;
}

/* Wait() on a workload: (code, status). */
void wait_workload(GDBusConnection *c, const char *path, char **code, int *status) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = call(c, path, WORKLOAD_IFACE, "Wait", NULL, "(si)", &e);
        g_assert_no_error(e);
        const char *s;
        gint32 st;
        g_variant_get(r, "(&si)", &s, &st);
        *code = g_strdup(s);
        *status = st;
}

void release_workload(GDBusConnection *c, const char *path) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = call(c, path, WORKLOAD_IFACE, "Release", NULL, "()", &e);
        g_assert_no_error(e);
}

void stop_and_release(GDBusConnection *c, const char *path) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = call(c, path, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e);
        g_assert_no_error(e);
        release_workload(c, path);
}

bool managed_objects_contain(GDBusConnection *c, const char *path) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = call(c, BROKER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL,
                                     "(a{oa{sa{sv}}})", &e);
        g_assert_no_error(e);
        g_autoptr(GVariant) d = g_variant_get_child_value(r, 0);
        g_autoptr(GVariant) x = g_variant_lookup_value(d, path, NULL);
        return x != NULL;
}

void assert_dbus_error(GError *e, const char *name) {
        g_assert_nonnull(e);
        g_autofree char *remote = g_dbus_error_get_remote_error(e);
        if (g_strcmp0(remote, name) != 0)
                g_error("expected %s, got %s (%s)", name, remote ?: "(local)", e->message);
}


void on_exited(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                      const char *signal, GVariant *params, gpointer userdata) {
        ExitedLog *l = userdata;
        const char *code;
        gint32 st;
        g_variant_get(params, "(&si)", &code, &st);
        g_ptr_array_add(l->paths, g_strdup(path));
        g_free(l->code);
        l->code = g_strdup(code);
        l->status = st;
}

bool exited_seen(ExitedLog *l, const char *path) {
        for (guint i = 0; i < l->paths->len; i++)
                if (g_str_equal(l->paths->pdata[i], path))
                        return true;
        return false;
}

void iterate_until(bool (*cond)(void *), void *data, int timeout_ms) {
        uint64_t end = now_ms() + (uint64_t) timeout_ms;
        while (!(cond && cond(data)) && now_ms() < end)
                g_main_context_iteration(NULL, FALSE) || (g_usleep(5000), 0);
}

/* ---------- client side: this binary as an unprivileged D-Bus client ---------- */

GDBusConnection *client_connect(const char *direct_socket) {
        g_autoptr(GError) e = NULL;
        GDBusConnection *c;
        if (direct_socket) {
                g_autofree char *addr = g_strdup_printf("unix:path=%s", direct_socket);
                c = g_dbus_connection_new_for_address_sync(addr, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL,
                                                           NULL, &e);
        } else
                c = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &e);
        g_assert_no_error(e);
        return c;
}

GVariant *ns_options(const char *const *ns, bool watch, guint64 stop_timeout_usec) {
        GVariantBuilder b;
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        if (ns)
                g_variant_builder_add(&b, "{sv}", "namespaces", g_variant_new_strv(ns, -1));
        if (watch)
                g_variant_builder_add(&b, "{sv}", "watch_client", g_variant_new_boolean(TRUE));
        if (stop_timeout_usec)
                g_variant_builder_add(&b, "{sv}", "stop_timeout_usec", g_variant_new_uint64(stop_timeout_usec));
        return g_variant_builder_end(&b);
}

const char *const NS_PID_MNT_NET[] = { "pid", "mount", "net", NULL };

bool exited_log_has(void *data) {
        ExitedLog *l = data;
        return l->paths->len > 0;
}

#define CLIENT_GROUPS_MAX 4

typedef struct ClientSetup {
        uid_t uid;
        gid_t gid;
        gid_t groups[CLIENT_GROUPS_MAX];
        size_t n_groups;
} ClientSetup;

static void drop_privileges(gpointer data) {
        ClientSetup *s = data;
        /* Async-signal-safe calls only: this runs between fork and exec. */
        if (setgroups(s->n_groups, s->groups) < 0 || setresgid(s->gid, s->gid, s->gid) < 0 ||
            setresuid(s->uid, s->uid, s->uid) < 0)
                _exit(127);
        /* After the uid change, which clears it: die with the test. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
}

GSubprocess *client_start(uid_t uid, const char *const *args) {
        return client_start_groups(uid, NULL, 0, args);
}

GSubprocess *client_start_groups(uid_t uid, const gid_t *groups, size_t n_groups, const char *const *args) {
        static ClientSetup setups[4];
        static int n;
        ClientSetup *s = &setups[n++ % 4];
        g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                                                     G_SUBPROCESS_FLAGS_STDOUT_PIPE);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_autoptr(GError) e = NULL;

        g_assert_cmpuint(n_groups, <=, CLIENT_GROUPS_MAX);
        s->uid = uid;
        s->gid = uid == UID_NOBODY ? 65534 : uid;
        s->n_groups = n_groups;
        for (size_t i = 0; i < n_groups; i++)
                s->groups[i] = groups[i];
        g_subprocess_launcher_set_child_setup(l, drop_privileges, s, NULL);
        g_ptr_array_add(argv, (char *) self_exe);
        g_ptr_array_add(argv, (char *) "--client");
        for (; *args; args++)
                g_ptr_array_add(argv, (char *) *args);
        g_ptr_array_add(argv, NULL);
        GSubprocess *p = g_subprocess_launcher_spawnv(l, (const char *const *) argv->pdata, &e);
        g_assert_no_error(e);
        return p;
}

int client_stdout_fd(GSubprocess *p) {
        return g_unix_input_stream_get_fd(G_UNIX_INPUT_STREAM(g_subprocess_get_stdout_pipe(p)));
}

char *client_read_lines(GSubprocess *p, int n) {
        GString *s = g_string_new(NULL);
        for (int i = 0; i < n; i++) {
                g_autofree char *l = read_line_fd(client_stdout_fd(p), 30000);
                g_string_append_printf(s, "%s\n", l);
        }
        return g_string_free(s, FALSE);
}

void client_finish(GSubprocess *p) {
        g_autoptr(GError) e = NULL;
        g_assert_true(g_subprocess_wait(p, NULL, &e));
        g_assert_no_error(e);
        if (!g_subprocess_get_if_exited(p) || g_subprocess_get_exit_status(p) != 0)
                g_error("client failed: %s %d", g_subprocess_get_if_exited(p) ? "exit" : "signal",
                        g_subprocess_get_if_exited(p) ? g_subprocess_get_exit_status(p) : g_subprocess_get_term_sig(p));
}

char *client_run(uid_t uid, const char *const *args) {
        return client_run_groups(uid, NULL, 0, args);
}

char *client_run_groups(uid_t uid, const gid_t *groups, size_t n_groups, const char *const *args) {
        g_autoptr(GSubprocess) p = client_start_groups(uid, groups, n_groups, args);
        g_autofree char *out = read_all_fd(client_stdout_fd(p));
        client_finish(p);
        return g_steal_pointer(&out);
}

char *write_data_file(void) {
        g_autoptr(GError) e = NULL;
        char *file = g_build_filename(T.dir, "getfd-data", NULL);
        g_assert_true(g_file_set_contents_full(file, "0123456789abcdef", -1, G_FILE_SET_CONTENTS_NONE, 0644, &e));
        return file;
}

unsigned count_fds(pid_t pid) {
        g_autofree char *p = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) d = g_dir_open(p, 0, NULL);
        unsigned n = 0;
        g_assert_nonnull(d);
        while (g_dir_read_name(d))
                n++;
        return n;
}

unsigned count_fds_settled(pid_t pid) {
        unsigned n = count_fds(pid), last;

        do {
                last = n;
                g_usleep(100000);
                n = count_fds(pid);
        } while (n != last);
        return n;
}

unsigned count_children(pid_t pid) {
        g_autofree char *p = g_strdup_printf("/proc/%d/task/%d/children", (int) pid, (int) pid);
        g_autofree char *s = NULL;
        g_assert_true(g_file_get_contents(p, &s, NULL, NULL));
        g_auto(GStrv) pids = g_strsplit(g_strstrip(s), " ", -1);
        return pids[0] && *pids[0] ? g_strv_length(pids) : 0;
}

guint64 broker_metric(const char *key) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) m = get_property(root_bus(), BROKER_PATH, BROKER_IFACE, "Metrics", &e);
        guint64 v = 0;
        g_assert_no_error(e);
        g_assert_true(g_variant_lookup(m, key, "t", &v));
        return v;
}

unsigned count_zombie_children(pid_t pid) {
        g_autofree char *p = g_strdup_printf("/proc/%d/task/%d/children", (int) pid, (int) pid);
        g_autofree char *s = NULL;
        unsigned n = 0;
        if (!g_file_get_contents(p, &s, NULL, NULL))
                return 0;
        g_auto(GStrv) pids = g_strsplit(g_strstrip(s), " ", -1);
        for (char **i = pids; *i && **i; i++) {
                g_autofree char *sp = g_strdup_printf("/proc/%s/stat", *i);
                g_autofree char *st = NULL;
                if (!g_file_get_contents(sp, &st, NULL, NULL))
                        continue;
                const char *rp = strrchr(st, ')');
                if (rp && rp[1] == ' ' && rp[2] == 'Z')
                        n++;
        }
        return n;
}

GDBusConnection *root_bus(void) {
        return T.root;
}
/* ----- the bus and the daemon ----- */

static const char *source_root(void) {
        const char *s = g_getenv("PIDBROKER_SOURCE_ROOT");
        g_assert_nonnull(s);
        return s;
}

static char *write_bus_config(void) {
        g_autofree char *tmpl_path = g_build_filename(source_root(), "tests", "bus", "system-bus.conf.in", NULL);
        g_autofree char *policy = g_build_filename(source_root(), "dbus", "org.pidbroker.Broker1.conf", NULL);
        g_autofree char *tmpl = NULL;
        g_autoptr(GError) e = NULL;

        g_assert_true(g_file_get_contents(tmpl_path, &tmpl, NULL, &e));
        g_autofree char *listen = g_strdup_printf("unix:path=%s/bus", T.dir);
        g_autoptr(GString) s = g_string_new(tmpl);
        g_string_replace(s, "@LISTEN@", listen, 0);
        g_string_replace(s, "@POLICY@", policy, 0);
        char *conf = g_build_filename(T.dir, "bus.conf", NULL);
        g_assert_true(g_file_set_contents(conf, s->str, -1, &e));
        return conf;
}

/* dbus-daemon as our child (--nofork), so it dies with the test even when an
 * assertion aborts it. */
static void start_dbus_daemon(const char *conf) {
        g_autofree char *arg = g_strdup_printf("--config-file=%s", conf);
        g_autofree char *log = g_build_filename(T.dir, "bus.log", NULL);
        char *argv[] = { (char *) "dbus-daemon", arg, (char *) "--nofork", (char *) "--print-address=1", NULL };
        int p[2];

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        g_assert_cmpint(logfd, >=, 0);
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || dup2(p[1], 1) < 0 || dup2(logfd, 2) < 0)
                        _exit(126);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(p[1]);
        close(logfd);
        T.bus_pid = pid;
        T.address = read_line_fd(p[0], 20000);
        close(p[0]);
        g_assert_true(g_str_has_prefix(T.address, "unix:"));
}

static gpointer journal_drain(gpointer data) {
        char buf[65536];
        while (recv(T.journal_fd, buf, sizeof buf, 0) >= 0 || errno == EINTR)
                ;
        return NULL;
}

/* dbus-broker-launch: its listening socket as fd 3 (LISTEN_FDS), a journald
 * socket (a fake one, bind-mounted in a private mount namespace), and a
 * "parent" system bus to talk to, which here is itself. */
static void start_dbus_broker(const char *conf) {
        g_autofree char *sock = g_build_filename(T.dir, "bus", NULL);
        g_autofree char *jdir = g_build_filename(T.dir, "journal", NULL);
        g_autofree char *jsock = g_build_filename(jdir, "socket", NULL);
        union {
                struct sockaddr sa;
                struct sockaddr_un un;
        } sa = { .un.sun_family = AF_UNIX };

        g_assert_cmpint(g_mkdir(jdir, 0755), ==, 0);
        T.journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(T.journal_fd, >=, 0);
        g_strlcpy(sa.un.sun_path, jsock, sizeof sa.un.sun_path);
        g_assert_cmpint(bind(T.journal_fd, &sa.sa, sizeof sa.un), ==, 0);
        g_assert_cmpint(chmod(jsock, 0666), ==, 0);
        g_thread_unref(g_thread_new("journal", journal_drain, NULL));

        int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(lfd, >=, 0);
        memset(&sa, 0, sizeof sa);
        sa.un.sun_family = AF_UNIX;
        g_strlcpy(sa.un.sun_path, sock, sizeof sa.un.sun_path);
        g_assert_cmpint(bind(lfd, &sa.sa, sizeof sa.un), ==, 0);
        g_assert_cmpint(chmod(sock, 0666), ==, 0);
        g_assert_cmpint(listen(lfd, 128), ==, 0);

        T.address = g_strdup_printf("unix:path=%s", sock);
        g_autofree char *cmd = g_strdup_printf("LISTEN_PID=$$ exec dbus-broker-launch --scope system --config-file=%s",
                                               conf);
        g_autofree char *env_addr = g_strdup_printf("DBUS_SYSTEM_BUS_ADDRESS=%s", T.address);
        g_autofree char *log = g_build_filename(T.dir, "broker.log", NULL);
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", cmd, NULL };
        char *envp[] = { (char *) "LISTEN_FDS=1", env_addr, (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        g_assert_cmpint(logfd, >=, 0);

        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                /* Between fork and exec: syscalls only. */
                if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount("tmpfs", "/run/systemd", "tmpfs", 0, "mode=0755") < 0 ||
                    mkdir("/run/systemd/journal", 0755) < 0 ||
                    mount(jdir, "/run/systemd/journal", "none", MS_BIND, NULL) < 0)
                        _exit(126);
                if (dup2(lfd, 3) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
                        _exit(126);
                execve(argv[0], argv, envp);
                _exit(127);
        }
        close(lfd);
        close(logfd);
        T.bus_pid = pid;
}

static void die_with_parent(gpointer data) {
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
}

/* The daemon runs in a cgroup of its own, marked delegated as systemd marks
 * a Delegate=yes unit's: it moves itself into the "supervisor" leaf and
 * puts its units beside it, and test programs running at once never share
 * a directory. A restarted daemon starts in the leaf, as after a re-exec. */
static void daemon_child_setup(gpointer data) {
        const char *procs = data;

        die_with_parent(NULL);
        if (procs) {
                int fd = open(procs, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "0", 1) != 1)
                        _exit(125);
                close(fd);
        }
}

/* The units (w-*) below a test cgroup, relative to the mount. */
static GPtrArray *units_below(const char *cg) {
        GPtrArray *l = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *dir = g_strconcat(T.cgroup_mount, cg, NULL);
        const char *name;
        GDir *d = g_dir_open(dir, 0, NULL);

        if (!d)
                return l;
        while ((name = g_dir_read_name(d)))
                if (g_str_has_prefix(name, CGROUP_UNIT_PREFIX))
                        g_ptr_array_add(l, g_strdup_printf("%s/%s", cg, name));
        g_dir_close(d);
        return l;
}

GPtrArray *daemon_units(void) {
        return T.cgroup ? units_below(T.cgroup) : g_ptr_array_new_with_free_func(g_free);
}

/* What a daemon left running in a test cgroup (a daemon stopped by SIGTERM
 * leaves its workloads, for the next one to re-adopt) is killed, and the
 * cgroup removed: nothing stays behind on the machine. Returns how many
 * units were left. */
static unsigned remove_test_cgroup(const char *cg) {
        g_autoptr(GPtrArray) units = units_below(cg);
        g_autofree char *dir = g_strconcat(T.cgroup_mount, cg, NULL);
        g_autofree char *leaf = g_build_filename(dir, CGROUP_SUPERVISOR_LEAF, NULL);

        for (guint i = 0; i < units->len; i++) {
                g_autofree char *path = g_strconcat(T.cgroup_mount, units->pdata[i], NULL);
                g_autofree char *kill_file = g_build_filename(path, "cgroup.kill", NULL);
                g_autofree char *events = g_build_filename(path, "cgroup.events", NULL);

                (void) g_file_set_contents(kill_file, "1", 1, NULL);
                for (int k = 0; k < 300; k++) {
                        g_autofree char *contents = NULL;
                        if (!g_file_get_contents(events, &contents, NULL, NULL) || strstr(contents, "populated 0"))
                                break;
                        g_usleep(10000);
                }
                if (rmdir(path) < 0)
                        g_printerr("cannot remove %s: %s\n", path, g_strerror(errno));
        }
        if ((rmdir(leaf) < 0 && errno != ENOENT) || rmdir(dir) < 0)
                g_printerr("cannot remove the test cgroup %s: %s\n", dir, g_strerror(errno));
        return units->len;
}

#define TEST_CGROUP_PREFIX "pidbroker-test-"

/* Test cgroups of test programs that died before their teardown (a failed
 * assertion aborts): those whose pid is gone. */
static void remove_stale_test_cgroups(const char *parent) {
        g_autofree char *dir = g_strconcat(T.cgroup_mount, parent, NULL);
        const char *name;
        GDir *d = g_dir_open(dir, 0, NULL);

        if (!d)
                return;
        while ((name = g_dir_read_name(d))) {
                if (!g_str_has_prefix(name, TEST_CGROUP_PREFIX))
                        continue;
                pid_t owner = (pid_t) atoi(name + strlen(TEST_CGROUP_PREFIX));
                if (owner <= 0 || kill(owner, 0) == 0 || errno != ESRCH)
                        continue;
                g_autofree char *cg = g_strdup_printf("%s/%s", parent, name);
                g_printerr("removing %s, left by a test program that died\n", cg);
                (void) remove_test_cgroup(cg);
        }
        g_dir_close(d);
}

static void daemon_cgroup_setup(void) {
        g_autofree char *own = NULL, *dir = NULL;

        if (cgroup_find_mount(&T.cgroup_mount) < 0 || cgroup_get_own(&own) < 0) {
                g_test_message("no cgroup2: the daemon runs without workload units");
                g_clear_pointer(&T.cgroup_mount, free);
                return;
        }
        const char *parent = strcmp(own, "/") == 0 ? "" : own;
        remove_stale_test_cgroups(parent);
        T.cgroup = g_strdup_printf("%s/" TEST_CGROUP_PREFIX "%d", parent, (int) getpid());
        dir = g_strconcat(T.cgroup_mount, T.cgroup, NULL);
        g_assert_no_errno(mkdir(dir, 0755));
        g_assert_no_errno(setxattr(dir, "trusted.delegate", "1", 1, 0));
}

static void daemon_cgroup_teardown(void) {
        if (!T.cgroup)
                return;
        unsigned left = remove_test_cgroup(T.cgroup);
        if (left > 0)
                g_printerr("%u workload cgroups were left at the end, killed and removed\n", left);
}

bool name_has_owner(GDBusConnection *c, const char *name) {
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(c, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                            "org.freedesktop.DBus", "NameHasOwner",
                                                            g_variant_new("(s)", name), G_VARIANT_TYPE("(b)"),
                                                            G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
        gboolean b = FALSE;
        if (r)
                g_variant_get(r, "(b)", &b);
        return b;
}

void daemon_start(const char *const *extra_args) {
        daemon_start_with_fds(extra_args, NULL, 0);
}

void daemon_start_with_fds(const char *const *extra_args, const int *fds, size_t n_fds) {
        g_autofree char *sock_arg = g_strdup_printf("--private-socket=%s", T.private_socket);
        g_autofree char *max_fds = g_strdup_printf("--max-fds-per-call=%d", TEST_MAX_FDS);
        g_autofree char *max_wl = g_strdup_printf("--max-workloads-per-user=%d", TEST_MAX_WORKLOADS);
        g_autofree char *max_waiters = g_strdup_printf("--max-waiters-per-workload=%d", TEST_MAX_WAITERS);
        g_autofree char *conf_arg = g_strdup_printf("--config=%s/pidbroker.conf", T.dir);
        g_autofree char *conf_path = g_strdup_printf("%s/pidbroker.conf", T.dir);
        g_autofree char *actions = g_strdup_printf("--policy-actions=%s/policy/org.pidbroker.policy", source_root());
        g_autofree char *rules = g_strdup_printf("--rules-dir=%s", T.rules_dir);
        g_autofree char *audit = g_strdup_printf("--audit-log=%s", T.audit_log);
        /* Never the machine's /run/pidbroker: its records are another daemon's. */
        g_autofree char *state = g_strdup_printf("--state-directory=%s/state", T.dir);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_autoptr(GError) e = NULL;

        /* An explicit config file too, to exercise the inih path. */
        g_autofree char *conf = g_strconcat("# test configuration\n[Broker]\nControlPath=auto\nPolicyBackend=auto\n"
                                            "ExitRetentionSec=1\nMaxArgvBytes=65536\n",
                                            T.opts.config ?: "", NULL);
        g_assert_true(g_file_set_contents(conf_path, conf, -1, &e));
        g_assert_nonnull(g_getenv("PIDBROKERD"));
        /* Passed fds go with LISTEN_PID, which must be the daemon's pid:
         * a shell sets it to its own, then becomes the daemon. */
        if (n_fds > 0) {
                g_ptr_array_add(argv, (char *) "/bin/sh");
                g_ptr_array_add(argv, (char *) "-c");
                g_ptr_array_add(argv, (char *) "LISTEN_PID=$$ exec \"$0\" \"$@\"");
        }
        for (const char *const *w = T.daemon_wrapper; w && *w; w++)
                g_ptr_array_add(argv, (char *) *w);
        g_ptr_array_add(argv, (char *) g_getenv("PIDBROKERD"));
        const char *fixed[] = { conf_arg, sock_arg, max_fds, max_wl, max_waiters, "--stop-timeout-sec=10",
                                "--log-target=stderr", "--log-level=debug", actions, rules, audit, state };
        for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
                g_ptr_array_add(argv, (char *) fixed[i]);
        for (const char *const *a = extra_args; a && *a; a++)
                g_ptr_array_add(argv, (char *) *a);
        g_ptr_array_add(argv, NULL);

        /* Appended: a restart keeps the earlier instance's log. */
        int logfd = open(T.daemon_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        g_assert_cmpint(logfd, >=, 0);
        g_autofree char *procs = NULL;
        if (T.cgroup) {
                g_autofree char *leaf = g_strconcat(T.cgroup_mount, T.cgroup, "/" CGROUP_SUPERVISOR_LEAF, NULL);
                procs = g_file_test(leaf, G_FILE_TEST_IS_DIR)
                                ? g_build_filename(leaf, "cgroup.procs", NULL)
                                : g_strconcat(T.cgroup_mount, T.cgroup, "/cgroup.procs", NULL);
        }
        g_autofree int *targets = g_new(int, n_fds + 1);
        for (size_t i = 0; i < n_fds; i++)
                targets[i] = 3 + (int) i;
        g_assert_true(g_spawn_async_with_pipes_and_fds(NULL, (const char *const *) argv->pdata, NULL,
                                                       G_SPAWN_DO_NOT_REAP_CHILD, daemon_child_setup, procs, -1,
                                                       logfd, logfd, fds, targets, n_fds, &T.daemon_pid, NULL, NULL,
                                                       NULL, &e));
        g_assert_no_error(e);
        close(logfd);

        for (int i = 0; i < 200 && !name_has_owner(T.root, BROKER_NAME); i++) {
                int status;
                if (waitpid(T.daemon_pid, &status, WNOHANG) == T.daemon_pid)
                        g_error("pidbrokerd died at start, see %s", T.daemon_log);
                g_usleep(50000);
        }
        g_assert_true(name_has_owner(T.root, BROKER_NAME));
}

void daemon_stop(void) {
        int status;

        if (T.daemon_pid <= 0)
                return;
        kill(T.daemon_pid, SIGTERM);
        g_assert_cmpint(waitpid(T.daemon_pid, &status, 0), ==, T.daemon_pid);
        T.daemon_pid = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                g_printerr("pidbrokerd exited uncleanly: %d\n", status);
        /* The bus drops the name once it notices the disconnect. */
        for (int i = 0; i < 200 && T.root && name_has_owner(T.root, BROKER_NAME); i++)
                g_usleep(20000);
}

void daemon_restart(const char *const *extra_args) {
        daemon_stop();
        daemon_start(extra_args);
}

#define POLKITD "/usr/lib/polkit-1/polkitd"

void polkitd_start(void) {
        g_autofree char *dir = g_build_filename(T.dir, "polkit-actions", NULL);
        g_autofree char *src = g_build_filename(source_root(), "policy", "org.pidbroker.policy", NULL);
        g_autofree char *dst = g_build_filename(dir, "org.pidbroker.policy", NULL);
        g_autofree char *log = g_build_filename(T.dir, "polkitd.log", NULL);
        g_autofree char *env_addr = g_strdup_printf("DBUS_SYSTEM_BUS_ADDRESS=%s", T.address);
        g_autofree char *contents = NULL;
        g_autoptr(GError) e = NULL;
        char *argv[] = { (char *) POLKITD, (char *) "--no-debug", NULL };
        char *envp[] = { env_addr, (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };

        g_assert_cmpint(T.polkitd_pid, ==, 0);
        if (g_mkdir(dir, 0755) < 0)
                g_assert_cmpint(errno, ==, EEXIST);
        g_assert_true(g_file_get_contents(src, &contents, NULL, &e));
        g_assert_true(g_file_set_contents_full(dst, contents, -1, G_FILE_SET_CONTENTS_NONE, 0644, &e));

        int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        g_assert_cmpint(logfd, >=, 0);
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                /* Between fork and exec: syscalls only. polkitd reads its
                 * actions from a fixed directory: ours is mounted over it,
                 * in a mount namespace of polkitd's own. */
                if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || unshare(CLONE_NEWNS) < 0 ||
                    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount(dir, "/usr/share/polkit-1/actions", "none", MS_BIND, NULL) < 0)
                        _exit(126);
                if (dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
                        _exit(126);
                execve(argv[0], argv, envp);
                _exit(127);
        }
        close(logfd);
        T.polkitd_pid = pid;

        for (int i = 0; i < 400 && !name_has_owner(T.root, POLKIT_NAME); i++) {
                int status;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        T.polkitd_pid = 0;
                        g_error("polkitd died at start (status %d), see %s", status, log);
                }
                g_usleep(25000);
        }
        g_assert_true(name_has_owner(T.root, POLKIT_NAME));
}

void polkitd_stop(void) {
        int status;

        if (T.polkitd_pid <= 0)
                return;
        kill(T.polkitd_pid, SIGTERM);
        g_assert_cmpint(waitpid(T.polkitd_pid, &status, 0), ==, T.polkitd_pid);
        T.polkitd_pid = 0;
        for (int i = 0; i < 200 && name_has_owner(T.root, POLKIT_NAME); i++)
                g_usleep(20000);
        g_assert_false(name_has_owner(T.root, POLKIT_NAME));
}

/* A group of our own, in our mount namespace only: a copy of /etc/group
 * with one more line, mounted over it. The bus and the daemon, started by
 * us, see it; the machine does not. */
static void add_test_group(const char *name) {
        g_autofree char *path = g_build_filename(T.dir, "group", NULL);
        g_autofree char *contents = NULL;
        g_autoptr(GError) e = NULL;
        gid_t gid;

        for (gid = 64900; gid < 65000 && getgrgid(gid); gid++)
                ;
        g_assert_cmpuint(gid, <, 65000);
        g_assert_null(getgrnam(name));
        g_assert_true(g_file_get_contents("/etc/group", &contents, NULL, &e));
        g_autofree char *n = g_strdup_printf("%s%s%s:x:%u:\n", contents,
                                             contents[0] && !g_str_has_suffix(contents, "\n") ? "\n" : "", name,
                                             (unsigned) gid);
        g_assert_true(g_file_set_contents_full(path, n, -1, G_FILE_SET_CONTENTS_NONE, 0644, &e));
        g_assert_cmpint(mount(path, "/etc/group", "none", MS_BIND, NULL), ==, 0);
        g_assert_nonnull(getgrnam(name));
        T.test_gid = gid;
}

static void env_setup(void) {
        g_autoptr(GError) e = NULL;

        T.dir = g_dir_make_tmp("pidbroker-test-XXXXXX", &e);
        g_assert_no_error(e);
        /* Unprivileged clients must reach the sockets. */
        g_assert_cmpint(chmod(T.dir, 0755), ==, 0);
        T.private_socket = g_build_filename(T.dir, "private", NULL);
        T.daemon_log = g_build_filename(T.dir, "daemon.log", NULL);

        /* The audit log on a tmpfs of its own, so a test can fill it. */
        T.audit_dir = g_build_filename(T.dir, "audit", NULL);
        T.audit_log = g_build_filename(T.audit_dir, "audit.jsonl", NULL);
        g_assert_cmpint(g_mkdir(T.audit_dir, 0755), ==, 0);
        g_autofree char *tmpfs_opts = g_strdup_printf("size=%s,mode=0755", T.opts.audit_tmpfs_size ?: "8m");
        g_assert_cmpint(mount("tmpfs", T.audit_dir, "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_opts), ==, 0);

        T.rules_dir = g_build_filename(T.dir, "rules.d", NULL);
        g_assert_cmpint(g_mkdir(T.rules_dir, 0755), ==, 0);
        if (T.opts.test_group)
                add_test_group(T.opts.test_group);
        if (T.opts.rules) {
                g_autofree char *p = g_build_filename(T.rules_dir, "50-test.rules", NULL);
                g_assert_true(g_file_set_contents_full(p, T.opts.rules, -1, G_FILE_SET_CONTENTS_NONE, 0644, &e));
        }

        g_autofree char *conf = write_bus_config();
        if (T.kind == BUS_DBUS_DAEMON)
                start_dbus_daemon(conf);
        else
                start_dbus_broker(conf);
        g_setenv("DBUS_SYSTEM_BUS_ADDRESS", T.address, TRUE);

        /* The bus may take a moment (dbus-broker-launch). */
        for (int i = 0; i < 200 && !T.root; i++) {
                g_autoptr(GError) ce = NULL;
                T.root = g_dbus_connection_new_for_address_sync(
                        T.address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &ce);
                if (!T.root)
                        g_usleep(50000);
        }
        g_assert_nonnull(T.root);

        daemon_cgroup_setup();
        daemon_start(NULL);
        g_test_message("bus %s at %s, pidbrokerd pid %d, log %s, audit log %s",
                       T.kind == BUS_DBUS_DAEMON ? "dbus-daemon" : "dbus-broker", T.address, (int) T.daemon_pid,
                       T.daemon_log, T.audit_log);
}

static void env_teardown(void) {
        int status;

        daemon_stop();
        daemon_cgroup_teardown();
        polkitd_stop();
        g_clear_object(&T.root);
        if (T.bus_pid > 0) {
                kill(T.bus_pid, SIGTERM);
                waitpid(T.bus_pid, &status, 0);
        }
        if (T.audit_dir) {
                /* The tmpfs goes with our mount namespace: keep a copy for
                 * PIDBROKER_TEST_KEEP. */
                g_autofree char *contents = NULL;
                gsize len;
                g_autofree char *copy = g_build_filename(T.dir, "audit.jsonl", NULL);
                if (g_file_get_contents(T.audit_log, &contents, &len, NULL))
                        (void) g_file_set_contents(copy, contents, (gssize) len, NULL);
                (void) umount2(T.audit_dir, MNT_DETACH);
        }
        if (T.dir && !g_getenv("PIDBROKER_TEST_KEEP")) {
                const char *argv[] = { "rm", "-rf", T.dir, NULL };
                g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
        }
}

/* ---------- JSON, just enough for the audit log ---------- */

static void json_skip_ws(const char **p) {
        while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
                (*p)++;
}

static GVariant *json_value(const char **p, unsigned depth, GError **error);

static bool json_fail(GError **error, const char *what, const char *at) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "JSON: %s at \"%.20s\"", what, at);
        return false;
}

static int hex4(const char *s) {
        int v = 0;
        for (int i = 0; i < 4; i++) {
                int c = g_ascii_xdigit_value(s[i]);
                if (c < 0)
                        return -1;
                v = v * 16 + c;
        }
        return v;
}

static char *json_string(const char **p, GError **error) {
        g_autoptr(GString) s = g_string_new(NULL);

        if (**p != '"') {
                json_fail(error, "expected a string", *p);
                return NULL;
        }
        (*p)++;
        while (**p != '"') {
                unsigned char c = (unsigned char) **p;

                if (c == '\0' || c < 0x20) {
                        json_fail(error, "bad character in a string", *p);
                        return NULL;
                }
                if (c != '\\') {
                        g_string_append_c(s, (char) c);
                        (*p)++;
                        continue;
                }
                (*p)++;
                switch (**p) {
                case '"': case '\\': case '/':
                        g_string_append_c(s, **p);
                        break;
                case 'b': g_string_append_c(s, '\b'); break;
                case 'f': g_string_append_c(s, '\f'); break;
                case 'n': g_string_append_c(s, '\n'); break;
                case 'r': g_string_append_c(s, '\r'); break;
                case 't': g_string_append_c(s, '\t'); break;
                case 'u': {
                        int cp = hex4(*p + 1);
                        if (cp < 0) {
                                json_fail(error, "bad \\u escape", *p);
                                return NULL;
                        }
                        *p += 4;
                        if (cp >= 0xd800 && cp <= 0xdbff && (*p)[1] == '\\' && (*p)[2] == 'u') {
                                int lo = hex4(*p + 3);
                                if (lo >= 0xdc00 && lo <= 0xdfff) {
                                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                        *p += 6;
                                }
                        }
                        g_string_append_unichar(s, (gunichar) cp);
                        break;
                }
                default:
                        json_fail(error, "bad escape", *p);
                        return NULL;
                }
                (*p)++;
        }
        (*p)++;
        if (!g_utf8_validate(s->str, (gssize) s->len, NULL)) {
                json_fail(error, "string is not UTF-8", *p);
                return NULL;
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

static GVariant *json_number(const char **p, GError **error) {
        const char *start = *p;
        bool neg = **p == '-', fraction = false;

        if (neg)
                (*p)++;
        if (!g_ascii_isdigit(**p)) {
                json_fail(error, "bad number", start);
                return NULL;
        }
        while (g_ascii_isdigit(**p))
                (*p)++;
        if (**p == '.' || **p == 'e' || **p == 'E') {
                fraction = true;
                while (g_ascii_isdigit(**p) || strchr(".eE+-", **p))
                        (*p)++;
        }
        g_autofree char *n = g_strndup(start, (gsize) (*p - start));
        if (fraction)
                return g_variant_new_double(g_ascii_strtod(n, NULL));
        errno = 0;
        if (neg) {
                gint64 v = g_ascii_strtoll(n, NULL, 10);
                if (errno != 0) {
                        json_fail(error, "number out of range", start);
                        return NULL;
                }
                return g_variant_new_int64(v);
        }
        guint64 v = g_ascii_strtoull(n, NULL, 10);
        if (errno != 0) {
                json_fail(error, "number out of range", start);
                return NULL;
        }
        return v <= G_MAXINT64 ? g_variant_new_int64((gint64) v) : g_variant_new_uint64(v);
}

static GVariant *json_value(const char **p, unsigned depth, GError **error) {
        GVariantBuilder b;

        if (depth > 32) {
                json_fail(error, "too deep", *p);
                return NULL;
        }
        json_skip_ws(p);
        switch (**p) {
        case '{':
                (*p)++;
                g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
                json_skip_ws(p);
                if (**p == '}') {
                        (*p)++;
                        return g_variant_builder_end(&b);
                }
                for (;;) {
                        json_skip_ws(p);
                        g_autofree char *key = json_string(p, error);
                        if (!key)
                                goto fail;
                        json_skip_ws(p);
                        if (**p != ':') {
                                json_fail(error, "expected ':'", *p);
                                goto fail;
                        }
                        (*p)++;
                        GVariant *v = json_value(p, depth + 1, error);
                        if (!v)
                                goto fail;
                        g_variant_builder_add(&b, "{sv}", key, v);
                        json_skip_ws(p);
                        if (**p == ',') {
                                (*p)++;
                                continue;
                        }
                        if (**p == '}') {
                                (*p)++;
                                return g_variant_builder_end(&b);
                        }
                        json_fail(error, "expected ',' or '}'", *p);
                        goto fail;
                }
        case '[':
                (*p)++;
                g_variant_builder_init(&b, G_VARIANT_TYPE("av"));
                json_skip_ws(p);
                if (**p == ']') {
                        (*p)++;
                        return g_variant_builder_end(&b);
                }
                for (;;) {
                        GVariant *v = json_value(p, depth + 1, error);
                        if (!v)
                                goto fail;
                        g_variant_builder_add(&b, "v", v);
                        json_skip_ws(p);
                        if (**p == ',') {
                                (*p)++;
                                continue;
                        }
                        if (**p == ']') {
                                (*p)++;
                                return g_variant_builder_end(&b);
                        }
                        json_fail(error, "expected ',' or ']'", *p);
                        goto fail;
                }
        case '"': {
                char *s = json_string(p, error);
                return s ? g_variant_new_take_string(s) : NULL;
        }
        case 't':
                if (strncmp(*p, "true", 4) == 0) {
                        *p += 4;
                        return g_variant_new_boolean(TRUE);
                }
                break;
        case 'f':
                if (strncmp(*p, "false", 5) == 0) {
                        *p += 5;
                        return g_variant_new_boolean(FALSE);
                }
                break;
        case 'n':
                if (strncmp(*p, "null", 4) == 0) {
                        *p += 4;
                        return g_variant_new_maybe(G_VARIANT_TYPE_VARIANT, NULL);
                }
                break;
        default:
                if (**p == '-' || g_ascii_isdigit(**p))
                        return json_number(p, error);
        }
        json_fail(error, "unexpected input", *p);
        return NULL;
fail:
        g_variant_builder_clear(&b);
        return NULL;
}

GVariant *json_parse(const char *s, GError **error) {
        const char *p = s;
        GVariant *v = json_value(&p, 0, error);
        if (!v)
                return NULL;
        json_skip_ws(&p);
        if (*p) {
                g_variant_unref(g_variant_ref_sink(v));
                json_fail(error, "trailing data", p);
                return NULL;
        }
        return g_variant_ref_sink(v);
}

GVariant *jv_get(GVariant *obj, const char *path) {
        g_auto(GStrv) parts = g_strsplit(path, ".", -1);
        GVariant *v = obj;

        /* Borrowed all the way down: the parent keeps its children alive. */
        for (char **k = parts; *k; k++) {
                if (!v || !g_variant_is_of_type(v, G_VARIANT_TYPE("a{sv}")))
                        return NULL;
                GVariant *c = g_variant_lookup_value(v, *k, NULL);
                if (!c)
                        return NULL;
                g_variant_unref(c);
                v = c;
        }
        return v;
}

bool jv_is_null(GVariant *v) {
        return v && g_variant_is_of_type(v, G_VARIANT_TYPE_MAYBE) && g_variant_n_children(v) == 0;
}

gint64 jv_int(GVariant *obj, const char *path) {
        GVariant *v = jv_get(obj, path);
        if (v && g_variant_is_of_type(v, G_VARIANT_TYPE_INT64))
                return g_variant_get_int64(v);
        if (v && g_variant_is_of_type(v, G_VARIANT_TYPE_UINT64))
                return (gint64) g_variant_get_uint64(v);
        g_autofree char *s = obj ? g_variant_print(obj, FALSE) : NULL;
        g_error("%s is not an integer in %s", path, s ?: "(null)");
}

const char *jv_str(GVariant *obj, const char *path) {
        GVariant *v = jv_get(obj, path);
        if (!v || jv_is_null(v))
                return NULL;
        if (!g_variant_is_of_type(v, G_VARIANT_TYPE_STRING)) {
                g_autofree char *s = g_variant_print(obj, FALSE);
                g_error("%s is not a string in %s", path, s);
        }
        return g_variant_get_string(v, NULL);
}

GPtrArray *audit_lines(void) {
        g_autofree char *contents = NULL;
        g_autoptr(GError) e = NULL;
        GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify) g_variant_unref);

        if (!g_file_get_contents(T.audit_log, &contents, NULL, &e))
                return a; /* not written yet */
        g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
        for (char **l = lines; *l; l++) {
                if (!**l)
                        continue;
                GVariant *v = json_parse(*l, &e);
                if (!v)
                        g_error("audit log line is not JSON (%s): %s", e->message, *l);
                g_ptr_array_add(a, v);
        }
        /* Every line ends with '\n': the last split element is empty. */
        g_assert_true(contents[0] == '\0' || g_str_has_suffix(contents, "\n"));
        return a;
}

GPtrArray *audit_records(void) {
        g_autoptr(GPtrArray) lines = audit_lines();
        GPtrArray *r = g_ptr_array_new_with_free_func((GDestroyNotify) g_variant_unref);
        for (guint i = 0; i < lines->len; i++)
                if (g_strcmp0(jv_str(lines->pdata[i], "type"), "record") == 0)
                        g_ptr_array_add(r, g_variant_ref(lines->pdata[i]));
        return r;
}

GVariant *audit_outcome_line(GPtrArray *lines, gint64 seq) {
        for (guint i = 0; i < lines->len; i++)
                if (g_strcmp0(jv_str(lines->pdata[i], "type"), "outcome") == 0 && jv_int(lines->pdata[i], "seq") == seq)
                        return g_variant_ref(lines->pdata[i]);
        return NULL;
}

char *audit_outcome_field(GPtrArray *lines, gint64 seq, const char *field) {
        g_autoptr(GVariant) l = audit_outcome_line(lines, seq);
        return l ? g_strdup(jv_str(l, field)) : NULL;
}

char *audit_outcome_of(GPtrArray *lines, gint64 seq) {
        return audit_outcome_field(lines, seq, "result");
}

gint64 audit_last_seq(void) {
        g_autoptr(GPtrArray) r = audit_records();
        return r->len > 0 ? jv_int(r->pdata[r->len - 1], "seq") : 0;
}

GPtrArray *audit_records_since(gint64 seq, const char *name, pid_t pid) {
        g_autoptr(GPtrArray) all = audit_records();
        GPtrArray *r = g_ptr_array_new_with_free_func((GDestroyNotify) g_variant_unref);
        for (guint i = 0; i < all->len; i++) {
                GVariant *rec = all->pdata[i];
                if (jv_int(rec, "seq") <= seq)
                        continue;
                if (name && *name && g_strcmp0(jv_str(rec, "subject.bus_name"), name) != 0)
                        continue;
                if (name && !*name && jv_int(rec, "subject.pid") != pid)
                        continue;
                g_ptr_array_add(r, g_variant_ref(rec));
        }
        return r;
}

char *client_output_get(const char *out, const char *key) {
        g_auto(GStrv) lines = g_strsplit(out ?: "", "\n", -1);
        g_autofree char *prefix = g_strdup_printf("%s=", key);
        for (char **l = lines; *l; l++)
                if (g_str_has_prefix(*l, prefix))
                        return g_strdup(*l + strlen(prefix));
        g_error("client output has no %s: %s", key, out ?: "");
}

/* ---------- running ---------- */

static char *test_path(const char *name) {
        return g_strdup_printf("/%s/%s/%s", T.opts.suite ?: "daemon",
                               T.kind == BUS_DBUS_DAEMON ? "dbus-daemon" : "dbus-broker", name);
}

void add_test(const char *name, GTestFunc fn) {
        g_autofree char *p = test_path(name);
        g_test_add_func(p, fn);
}

void add_test_data(const char *name, gconstpointer data, GTestDataFunc fn) {
        g_autofree char *p = test_path(name);
        g_test_add_data_func(p, data, fn);
}

int harness_main(int argc, char *argv[], const HarnessOptions *opts, int (*client_main)(int argc, char *argv[]),
                 void (*register_tests)(void)) {
        if (argc >= 3 && g_str_equal(argv[1], "--client"))
                return client_main(argc, argv);

        T.opts = *opts;

        /* A mount namespace of our own, made while this process has one
         * thread (unshare(CLONE_NEWNS) refuses a shared fs_struct): whatever
         * the tests mount is theirs, and gone with them. */
        if (geteuid() == 0) {
                if (unshare(CLONE_NEWNS) < 0)
                        g_error("unshare(CLONE_NEWNS): %s", g_strerror(errno));
                if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
                        g_error("making / private: %s", g_strerror(errno));
        }

        /* Clients and workloads run as other uids: exec copies they can reach. */
        g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
        self_exe = test_public_copy(exe);
        test_helper_path();

        /* --bus=dbus-daemon|dbus-broker, ours, taken out before GTest sees it. */
        int n = 1;
        for (int i = 1; i < argc; i++) {
                if (g_str_equal(argv[i], "--bus=dbus-broker"))
                        T.kind = BUS_DBUS_BROKER;
                else if (g_str_equal(argv[i], "--bus=dbus-daemon"))
                        T.kind = BUS_DBUS_DAEMON;
                else
                        argv[n++] = argv[i];
        }
        argv[n] = NULL;
        argc = n;

        g_test_init(&argc, &argv, NULL);
        register_tests();

        if (geteuid() != 0) {
                /* Everything here needs root (a system bus, uid changes). */
                g_test_skip("needs root");
                return g_test_run();
        }

        env_setup();
        int r = g_test_run();
        env_teardown();
        return r;
}
