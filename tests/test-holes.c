/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* One test per hole of the request pipeline (issue 8), against the built
 * pidbrokerd on a private bus (daemon-harness.h), with the clients as real
 * unprivileged uids (nobody, daemon):
 *
 *  1. groups: a workload's supplementary groups are exactly the caller's
 *     unless spawn-as-user allows, explicit `groups` and user namespaces
 *     alike (setgroups "deny" in the workload's user namespace);
 *  2. the event loop: a 26,000-variable environment is processed and
 *     answered while another uid is served; duplicates are refused; a
 *     client fd that stalls fstat() (a FUSE file whose server does not
 *     answer) stalls only its own request;
 *  3. the direct socket: a per-uid connection cap, an authentication
 *     timeout, and an answer to the first call of a pipelined client;
 *  4. audit flood: a per-uid budget of denial records and a summary line,
 *     and another uid still recorded and served;
 *  5. nothing before the record: a denied GetFd took no fd (no fd_type in
 *     its record; the fd type of an allowed one is in its outcome), and
 *     denials for bad arguments, limits and an unidentifiable caller are
 *     recorded;
 *  6. unpinned facts: with a bus that gives no ProcessFD, the caller's
 *     namespaces are not facts, so a signal asks signal-cross-namespace;
 *  7. invisible means invisible: another user's workload answers as an id
 *     that does not exist.
 *
 * The names below (configuration keys, audit rules and fields) are the
 * contract the daemon implements; they live here, in one place. */

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-util.h"

/* ---------- the contract: names the daemon implements ---------- */

/* pidbroker.conf(5) keys. */
#define CONF_MAX_CONNECTIONS_PER_USER "MaxConnectionsPerUser" /* direct-socket connections of one uid */
#define CONF_AUTH_TIMEOUT_SEC "AuthTimeoutSec"               /* a direct connection not authenticated by then is closed */
#define CONF_AUDIT_DENIAL_BURST "AuditDenialBurst"           /* denial records of one uid in a burst */
#define CONF_AUDIT_DENIALS_PER_SEC "AuditDenialsPerSec"      /* ... refilled at this rate */

/* The "rule" of a denial decided before policy. Such a record has
 * "decision":"deny" and the method's own action (org.pidbroker.spawn,
 * .signal, .getfd); an unidentified caller's has what the bus told
 * (subject.bus_name, uid), the rest null. */
#define RULE_NO_IDENTITY "refused:identity"
#define RULE_BAD_ARGUMENT "refused:InvalidArgument"
#define RULE_LIMIT "refused:LimitExceeded"

/* The summary line standing for suppressed denial records:
 * {"time":…,"seq":…,"type":"summary","uid":U,"suppressed":N,
 *  "message":"N denials by uid U suppressed"}. It is written once the
 * uid's interval is over, at the latest with the uid's next record. */
#define SUMMARY_ACTION "org.pidbroker.audit-suppressed"
#define SUMMARY_UID "subject.uid"
#define SUMMARY_COUNT "details.suppressed"

/* The outcome line of an allowed GetFd says what it handed out:
 * {"seq":…,"type":"outcome","result":"ok","fd_type":"file:/path"}. */
#define OUTCOME_FD_TYPE "fd_type"

#define ERR_UNKNOWN_OBJECT "org.freedesktop.DBus.Error.UnknownObject"

/* What this program's daemon runs with. */
#define TEST_MAX_CONNECTIONS 16
#define TEST_MAX_CONNECTIONS_PER_USER 4
#define TEST_AUTH_TIMEOUT_SEC 2
#define TEST_DENIAL_BURST 20
#define TEST_DENIAL_INTERVAL_SEC 3

static const char test_config[] =
        "MaxConnections=" G_STRINGIFY(TEST_MAX_CONNECTIONS) "\n"
        CONF_MAX_CONNECTIONS_PER_USER "=" G_STRINGIFY(TEST_MAX_CONNECTIONS_PER_USER) "\n"
        CONF_AUTH_TIMEOUT_SEC "=" G_STRINGIFY(TEST_AUTH_TIMEOUT_SEC) "\n"
        CONF_AUDIT_DENIAL_BURST "=" G_STRINGIFY(TEST_DENIAL_BURST) "\n"
        CONF_AUDIT_DENIALS_PER_SEC "=1\n";

/* Supplementary groups of the client in the groups test (any gids do: the
 * bus reports the connection's groups, and the kernel checks them). */
#define GROUP_A 24
#define GROUP_B 25

/* Environment variables in the event-loop test: three-byte names with
 * empty values are 5 bytes each as MaxEnvBytes counts, 130,000 in all,
 * under the default 128 KiB. */
#define MANY_ENV_VARS 26000
/* A duplicate at the end of nearly as many as MaxEnvEntries allows (1024). */
#define DUP_ENV_VARS 1000

/* Denials one uid makes in the flood test: more than the 1 MiB audit
 * filesystem of this program holds without a budget. */
#define FLOOD_DENIALS 2500

/* ---------- client side ---------- */

/* "ok", or the D-Bus error name (the local message when not remote). */
static char *outcome_of(const GError *e) {
        if (!e)
                return g_strdup("ok");
        char *remote = g_dbus_error_get_remote_error(e);
        return remote ?: g_strdup_printf("local:%s", e->message);
}

/* Spawn the helper with args, its stdout into a pipe; on success wait for
 * the exit, release the workload and return its output in *ret_out. */
static char *spawn_capture(GDBusConnection *c, const char *const *args, GVariant *env, GVariant *options,
                           char **ret_out) {
        g_autoptr(GError) e = NULL;
        g_autofree char *path = NULL, *code = NULL;
        int p[2], status;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        FdMap fds[] = { { 1, p[1] } };
        gboolean ok = spawn_full(c, argv_helper(args), env, fds, 1, options, &path, NULL, NULL, &e);
        close(p[1]);
        *ret_out = ok ? read_all_fd(p[0]) : g_strdup("");
        close(p[0]);
        if (ok) {
                wait_workload(c, path, &code, &status);
                release_workload(c, path);
        }
        return outcome_of(e);
}

static GVariant *options_new(const char *first_key, ...) G_GNUC_NULL_TERMINATED;
static GVariant *options_new(const char *first_key, ...) {
        GVariantBuilder b;
        va_list ap;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        va_start(ap, first_key);
        for (const char *k = first_key; k; k = va_arg(ap, const char *))
                g_variant_builder_add(&b, "{sv}", k, va_arg(ap, GVariant *));
        va_end(ap);
        return g_variant_builder_end(&b);
}

static GVariant *user_ns(void) {
        return g_variant_new_strv((const char *const[]) { "user", NULL }, -1);
}

/* Hole 1, as nobody with supplementary groups GROUP_A and GROUP_B. */
static int client_groups(GDBusConnection *c) {
        g_autofree char *out = NULL;
        char *r;

        print_identity(c);

        /* Control: the caller's own groups, implied and explicit (any order). */
        r = spawn_capture(c, (const char *const[]) { "status", NULL }, NULL, NULL, &out);
        printf("default=%s\ndefault_status=%s\n", r, out);
        g_free(r);
        g_clear_pointer(&out, g_free);
        r = spawn_capture(c, (const char *const[]) { "status", NULL }, NULL,
                          one_option("groups", g_variant_new_parsed("[uint32 %u, %u, 65534]", GROUP_B, GROUP_A)), &out);
        printf("same=%s\n", r);
        g_free(r);
        g_clear_pointer(&out, g_free);

        /* Shedding every group, or one. */
        r = spawn_capture(c, (const char *const[]) { "status", NULL }, NULL,
                          one_option("groups", g_variant_new_array(G_VARIANT_TYPE_UINT32, NULL, 0)), &out);
        printf("drop_all=%s\ndrop_all_status=%s\n", r, out);
        g_free(r);
        g_clear_pointer(&out, g_free);
        r = spawn_capture(c, (const char *const[]) { "status", NULL }, NULL,
                          one_option("groups", g_variant_new_parsed("[uint32 %u]", GROUP_A)), &out);
        printf("drop_one=%s\ndrop_one_status=%s\n", r, out);
        g_free(r);
        g_clear_pointer(&out, g_free);

        /* In a user namespace as its root, shedding them through the
         * groups option. */
        r = spawn_capture(c, (const char *const[]) { "status", NULL }, NULL,
                          options_new("namespaces", user_ns(), "user", g_variant_new_uint32(0),
                                      "group", g_variant_new_uint32(0),
                                      "uid_map", g_variant_new_parsed("[(uint32 0, uint32 65534, uint32 1)]"),
                                      "gid_map", g_variant_new_parsed("[(uint32 0, uint32 65534, uint32 1)]"),
                                      "groups", g_variant_new_array(G_VARIANT_TYPE_UINT32, NULL, 0), NULL),
                          &out);
        printf("userns_drop=%s\nuserns_drop_status=%s\n", r, out);
        g_free(r);
        g_clear_pointer(&out, g_free);

        /* A user namespace mapping every group of the caller onto itself,
         * groups implied: they must stay, and stay for good (setgroups
         * "deny"), since the workload may gain CAP_SETGID in it. */
        GVariant *gid_map = g_variant_new_parsed("[(uint32 65534, uint32 65534, uint32 1), (%u, %u, 1), (%u, %u, 1)]",
                                                 GROUP_A, GROUP_A, GROUP_B, GROUP_B);
        r = spawn_capture(c, (const char *const[]) { "setgroups-drop", NULL }, NULL,
                          options_new("namespaces", user_ns(),
                                      "uid_map", g_variant_new_parsed("[(uint32 65534, uint32 65534, uint32 1)]"),
                                      "gid_map", gid_map, NULL),
                          &out);
        printf("userns_keep=%s\n", r);
        g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
        for (char **l = lines; *l; l++)
                if (**l)
                        printf("userns_keep_%s\n", *l);
        g_free(r);
        g_clear_pointer(&out, g_free);

        /* The same as the namespace's root without no_new_privileges, which
         * then holds CAP_SETGID there: setgroups() must still fail. The
         * groups are ids inside the namespace, mapped onto themselves. */
        gid_map = g_variant_new_parsed("[(uint32 65534, uint32 65534, uint32 1), (%u, %u, 1), (%u, %u, 1)]",
                                       GROUP_A, GROUP_A, GROUP_B, GROUP_B);
        r = spawn_capture(c, (const char *const[]) { "setgroups-drop", NULL }, NULL,
                          options_new("namespaces", user_ns(), "user", g_variant_new_uint32(0),
                                      "uid_map", g_variant_new_parsed("[(uint32 0, uint32 65534, uint32 1)]"),
                                      "gid_map", gid_map, "no_new_privileges", g_variant_new_boolean(FALSE), NULL),
                          &out);
        printf("userns_root=%s\n", r);
        g_strfreev(lines);
        lines = g_strsplit(out, "\n", -1);
        for (char **l = lines; *l; l++)
                if (**l)
                        printf("userns_root_%s\n", *l);
        g_free(r);
        return 0;
}

/* Hole 2: an environment of n distinct three-letter names (and, with dup,
 * the first name once more at the end). */
static int client_big_env(GDBusConnection *c, unsigned n, bool dup) {
        static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        g_autofree char *out = NULL;
        GVariantBuilder b;

        print_identity(c);
        g_assert_cmpuint(n, <=, 52 * 52 * 52);
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{ss}"));
        for (unsigned i = 0; i < n + dup; i++) {
                unsigned k = i < n ? i : 0;
                char name[4] = { letters[k % 52], letters[k / 52 % 52], letters[k / 2704], '\0' };
                g_variant_builder_add(&b, "{ss}", name, "");
        }
        g_autofree char *r = spawn_capture(c, (const char *const[]) { "env-count", NULL }, g_variant_builder_end(&b),
                                           NULL, &out);
        printf("result=%s\ncount=%s", r, *out ? out : "-\n");
        return 0;
}

/* Hole 2: Spawn with the `cgroup` option an fd of file, opened here; the
 * test makes the file stall once it reads "opened". */
static int client_stall_spawn(GDBusConnection *c, const char *file) {
        g_autoptr(GError) e = NULL;
        g_autofree char *path = NULL;
        int fd = open(file, O_RDONLY | O_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        print_identity(c);
        printf("opened=yes\n");
        fflush(stdout);
        g_free(read_line_fd(STDIN_FILENO, 60000));
        g_autoptr(GUnixFDList) in = g_unix_fd_list_new();
        g_assert_cmpint(g_unix_fd_list_append(in, fd, NULL), ==, 0);
        g_autoptr(GVariant) r = g_dbus_connection_call_with_unix_fd_list_sync(
                c, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Spawn",
                g_variant_new("(@aay@a{ss}@a{uh}@a{sv})", argv_helper((const char *const[]) { "exit", "0", NULL }),
                              g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0),
                              g_variant_new_array(G_VARIANT_TYPE("{uh}"), NULL, 0),
                              one_option("cgroup", g_variant_new_handle(0))),
                G_VARIANT_TYPE("(oht)"), G_DBUS_CALL_FLAGS_NONE, 120000, in, NULL, NULL, &e);
        g_autofree char *o = outcome_of(e);
        printf("spawn=%s\n", o);
        close(fd);
        return 0;
}

/* Spawn of file itself, a plain spawn: its child stalls in execve on the
 * file, before it execs. */
static int client_stall_exec(GDBusConnection *c, const char *file) {
        g_autoptr(GError) e = NULL;

        print_identity(c);
        printf("opened=yes\n");
        fflush(stdout);
        g_free(read_line_fd(STDIN_FILENO, 60000));
        const char *const argv[] = { file, NULL };
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(
                c, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Spawn",
                g_variant_new("(@aay@a{ss}@a{uh}@a{sv})", g_variant_new_bytestring_array(argv, -1),
                              g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0),
                              g_variant_new_array(G_VARIANT_TYPE("{uh}"), NULL, 0),
                              g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
                G_VARIANT_TYPE("(oht)"), G_DBUS_CALL_FLAGS_NONE, 120000, NULL, &e);
        g_autofree char *o = outcome_of(e);
        printf("spawn=%s\n", o);
        return 0;
}

/* Properties.Get(Version) on c: "ok" or the error. */
static char *get_version(GDBusConnection *c, int timeout_ms) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) v = g_dbus_connection_call_sync(c, bus_dest(c), BROKER_PATH,
                                                            "org.freedesktop.DBus.Properties", "Get",
                                                            g_variant_new("(ss)", BROKER_IFACE, "Version"),
                                                            G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE, timeout_ms,
                                                            NULL, &e);
        return outcome_of(e);
}

/* A connection to the direct socket at path, or NULL with *error. */
static GDBusConnection *direct_connect(const char *path, GError **error) {
        g_autofree char *addr = g_strdup_printf("unix:path=%s", path);
        return g_dbus_connection_new_for_address_sync(addr, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL,
                                                      NULL, error);
}

/* Hole 3: one Get over a new connection (bus, or the direct socket). */
static int client_get_version(const char *direct) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GDBusConnection) c = direct ? direct_connect(direct, &e) : client_connect(NULL);
        g_autofree char *r = c ? get_version(c, 30000) : outcome_of(e);
        printf("get=%s\n", r);
        return 0;
}

/* Hole 3: n authenticated direct connections, each asked once, all held
 * until a line on stdin. */
static int client_hold_direct(unsigned n, const char *path) {
        g_autoptr(GPtrArray) conns = g_ptr_array_new_with_free_func(g_object_unref);
        unsigned ok = 0;

        for (unsigned i = 0; i < n; i++) {
                g_autoptr(GError) e = NULL;
                GDBusConnection *c = direct_connect(path, &e);
                if (!c) {
                        g_printerr("connection %u: %s\n", i, e->message);
                        continue;
                }
                g_ptr_array_add(conns, c);
                g_autofree char *r = get_version(c, 5000);
                if (g_str_equal(r, "ok"))
                        ok++;
                else
                        g_printerr("connection %u: %s\n", i, r);
        }
        printf("ok=%u\n", ok);
        fflush(stdout);
        g_free(read_line_fd(STDIN_FILENO, 120000));
        return 0;
}

static int unix_connect(const char *path) {
        union {
                struct sockaddr sa;
                struct sockaddr_un un;
        } sa = { .un.sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(fd, >=, 0);
        g_strlcpy(sa.un.sun_path, path, sizeof sa.un.sun_path);
        g_assert_cmpint(connect(fd, &sa.sa, sizeof sa.un), ==, 0);
        return fd;
}

/* Hole 3: a connection that never authenticates. "closed=yes" once the
 * daemon hangs up (within 20 s), else "closed=no". */
static int client_idle_raw(const char *path) {
        int fd = unix_connect(path);
        char c;
        bool closed = fd_readable_within(fd, 20000) && read(fd, &c, 1) <= 0;
        printf("closed=%s\n", closed ? "yes" : "no");
        close(fd);
        return 0;
}

/* ----- a raw D-Bus peer: the SASL exchange and messages written by hand,
 * for what GDBus does not do (pipelining; a connection whose connecting
 * process is gone) ----- */

typedef struct RawConn {
        int fd;
        GByteArray *in;
} RawConn;

static void raw_write(RawConn *c, const void *p, size_t n) {
        g_assert_cmpint(write(c->fd, p, n), ==, (ssize_t) n);
}

/* The SASL exchange up to BEGIN, as one write when more (a message) follows. */
static GByteArray *raw_auth_bytes(void) {
        g_autofree char *uid = g_strdup_printf("%u", (unsigned) getuid());
        GByteArray *b = g_byte_array_new();
        GString *hex = g_string_new(NULL);
        for (const char *p = uid; *p; p++)
                g_string_append_printf(hex, "%02x", (unsigned char) *p);
        g_autofree char *s = g_strdup_printf("AUTH EXTERNAL %s\r\nBEGIN\r\n", hex->str);
        g_string_free(hex, TRUE);
        g_byte_array_append(b, (const guint8 *) "", 1);
        g_byte_array_append(b, (const guint8 *) s, strlen(s));
        return b;
}

static void raw_append_message(GByteArray *b, GDBusMessage *m, guint32 serial) {
        g_autoptr(GError) e = NULL;
        gsize size;
        g_dbus_message_set_serial(m, serial);
        g_autofree guchar *blob = g_dbus_message_to_blob(m, &size, G_DBUS_CAPABILITY_FLAGS_NONE, &e);
        g_assert_no_error(e);
        g_byte_array_append(b, blob, size);
}

static bool raw_fill(RawConn *c, int timeout_ms) {
        guint8 buf[4096];
        if (!fd_readable_within(c->fd, timeout_ms))
                return false;
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n <= 0)
                return false;
        g_byte_array_append(c->in, buf, (guint) n);
        return true;
}

/* The server's "OK <guid>" line, or NULL. */
static char *raw_read_auth_reply(RawConn *c, int timeout_ms) {
        for (;;) {
                for (guint i = 0; i + 1 < c->in->len; i++)
                        if (c->in->data[i] == '\r' && c->in->data[i + 1] == '\n') {
                                char *line = g_strndup((const char *) c->in->data, i);
                                g_byte_array_remove_range(c->in, 0, i + 2);
                                return line;
                        }
                if (!raw_fill(c, timeout_ms))
                        return NULL;
        }
}

static GDBusMessage *raw_read_message(RawConn *c, int timeout_ms) {
        for (;;) {
                if (c->in->len >= 16) {
                        gssize need = g_dbus_message_bytes_needed(c->in->data, 16, NULL);
                        g_assert_cmpint(need, >, 0);
                        if (c->in->len >= (guint) need) {
                                g_autoptr(GError) e = NULL;
                                GDBusMessage *m = g_dbus_message_new_from_blob(c->in->data, (gsize) need,
                                                                               G_DBUS_CAPABILITY_FLAGS_NONE, &e);
                                g_assert_no_error(e);
                                g_byte_array_remove_range(c->in, 0, (guint) need);
                                return m;
                        }
                }
                if (!raw_fill(c, timeout_ms))
                        return NULL;
        }
}

/* The reply to serial: "ok", the error name, or "none" (no answer in time). */
static char *raw_reply_to(RawConn *c, guint32 serial, int timeout_ms, GDBusMessage **ret) {
        for (;;) {
                g_autoptr(GDBusMessage) m = raw_read_message(c, timeout_ms);
                if (!m)
                        return g_strdup("none");
                if (g_dbus_message_get_reply_serial(m) != serial)
                        continue;
                char *r = g_dbus_message_get_message_type(m) == G_DBUS_MESSAGE_TYPE_ERROR
                                  ? g_strdup(g_dbus_message_get_error_name(m))
                                  : g_strdup("ok");
                if (ret)
                        *ret = g_steal_pointer(&m);
                return r;
        }
}

static GDBusMessage *version_get_message(const char *destination) {
        GDBusMessage *m = g_dbus_message_new_method_call(destination, BROKER_PATH, "org.freedesktop.DBus.Properties",
                                                         "Get");
        g_dbus_message_set_body(m, g_variant_new("(ss)", BROKER_IFACE, "Version"));
        return m;
}

/* Hole 3: the SASL exchange, BEGIN and a first call in one write, as
 * sd-bus clients (busctl) send them. */
static int client_pipelined(const char *path) {
        RawConn c = { .fd = unix_connect(path), .in = g_byte_array_new() };
        g_autoptr(GByteArray) out = raw_auth_bytes();
        g_autoptr(GDBusMessage) m = version_get_message(NULL);

        raw_append_message(out, m, 1);
        raw_write(&c, out->data, out->len);
        g_autofree char *ok = raw_read_auth_reply(&c, 10000);
        printf("auth=%s\n", ok && g_str_has_prefix(ok, "OK ") ? "ok" : "failed");
        g_autofree char *r = raw_reply_to(&c, 1, 10000, NULL);
        printf("reply=%s\n", r);
        g_byte_array_unref(c.in);
        close(c.fd);
        return 0;
}

static GVariant *spawn_body(const char *const *args) {
        return g_variant_new("(@aay@a{ss}@a{uh}@a{sv})", argv_helper(args),
                             g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0),
                             g_variant_new_array(G_VARIANT_TYPE("{uh}"), NULL, 0),
                             g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0));
}

/* Hole 5: a bus connection whose connecting process is gone (reaped)
 * before it says anything: the bus names a pid that no longer exists, so
 * the caller cannot be identified. It calls Spawn. Runs before any GDBus
 * thread exists (it forks). */
static int client_orphan_spawn(void) {
        const char *addr = g_getenv("DBUS_SYSTEM_BUS_ADDRESS");
        union {
                struct sockaddr sa;
                struct sockaddr_un un;
        } sa = { .un.sun_family = AF_UNIX };
        int status;

        g_assert_true(g_str_has_prefix(addr, "unix:path="));
        addr += strlen("unix:path=");
        g_strlcpy(sa.un.sun_path, addr, MIN(sizeof sa.un.sun_path, strcspn(addr, ",") + 1));
        RawConn c = { .fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), .in = g_byte_array_new() };
        g_assert_cmpint(c.fd, >=, 0);

        /* The socket's peer credentials are the connecting process's. */
        pid_t connector = fork();
        g_assert_cmpint(connector, >=, 0);
        if (connector == 0)
                _exit(connect(c.fd, &sa.sa, sizeof sa.un) < 0 ? 1 : 0);
        g_assert_cmpint(waitpid(connector, &status, 0), ==, connector);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        printf("connector=%d\n", (int) connector);

        g_autoptr(GByteArray) out = raw_auth_bytes();
        g_autoptr(GDBusMessage) hello = g_dbus_message_new_method_call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                                       "org.freedesktop.DBus", "Hello");
        raw_append_message(out, hello, 1);
        raw_write(&c, out->data, out->len);
        g_autofree char *ok = raw_read_auth_reply(&c, 10000);
        g_assert_nonnull(ok);
        g_assert_true(g_str_has_prefix(ok, "OK "));
        g_autoptr(GDBusMessage) reply = NULL;
        g_autofree char *hr = raw_reply_to(&c, 1, 10000, &reply);
        g_assert_cmpstr(hr, ==, "ok");
        const char *name;
        g_variant_get(g_dbus_message_get_body(reply), "(&s)", &name);
        printf("name=%s\n", name);

        g_autoptr(GDBusMessage) spawn = g_dbus_message_new_method_call(BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Spawn");
        g_dbus_message_set_body(spawn, spawn_body((const char *const[]) { "exit", "0", NULL }));
        g_byte_array_set_size(out, 0);
        raw_append_message(out, spawn, 2);
        raw_write(&c, out->data, out->len);
        g_autofree char *r = raw_reply_to(&c, 2, 30000, NULL);
        printf("reply=%s\n", r);
        g_byte_array_unref(c.in);
        close(c.fd);
        return 0;
}

/* Hole 5: GetFd(pid's fd 5). */
static int client_getfd(GDBusConnection *c, pid_t pid) {
        g_autoptr(GError) e = NULL;
        int pidfd = pidfd_open_or_die(pid);

        print_identity(c);
        int fd = broker_get_fd(c, pidfd, 5, &e);
        g_autofree char *r = outcome_of(e);
        printf("getfd=%s\n", r);
        if (fd >= 0)
                close(fd);
        close(pidfd);
        return 0;
}

/* Hole 5: calls refused for their arguments, and for a limit. */
static int client_bad_calls(GDBusConnection *c) {
        g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;
        int self = pidfd_open_or_die(getpid());
        FdMap fds[TEST_MAX_FDS + 1];

        print_identity(c);

        GVariantBuilder env;
        g_variant_builder_init(&env, G_VARIANT_TYPE("a{ss}"));
        g_variant_builder_add(&env, "{ss}", "A=B", "x");
        (void) spawn_full(c, argv_helper((const char *const[]) { "exit", "0", NULL }), g_variant_builder_end(&env),
                          NULL, 0, NULL, NULL, NULL, NULL, &e1);
        g_autofree char *r1 = outcome_of(e1);
        printf("bad_env=%s\n", r1);

        (void) broker_signal(c, self, 1000, 0, &e2);
        g_autofree char *r2 = outcome_of(e2);
        printf("bad_signal=%s\n", r2);

        g_assert_cmpint(broker_get_fd(c, self, -1, &e3), ==, -1);
        g_autofree char *r3 = outcome_of(e3);
        printf("bad_target_fd=%s\n", r3);

        for (size_t i = 0; i < G_N_ELEMENTS(fds); i++)
                fds[i] = (FdMap) { .target = (guint32) (10 + i), .fd = open("/dev/null", O_RDONLY | O_CLOEXEC) };
        (void) spawn_full(c, argv_helper((const char *const[]) { "exit", "0", NULL }), NULL, fds, G_N_ELEMENTS(fds),
                          NULL, NULL, NULL, NULL, &e4);
        g_autofree char *r4 = outcome_of(e4);
        printf("too_many_fds=%s\n", r4);
        for (size_t i = 0; i < G_N_ELEMENTS(fds); i++)
                close(fds[i].fd);
        close(self);
        return 0;
}

/* Hole 6: Broker1.Signal to a child of our own (same uid, same
 * namespaces, not a workload). */
static int client_signal_own_child(GDBusConnection *c) {
        g_autoptr(GError) e = NULL;
        int status;

        print_identity(c);
        pid_t child = fork();
        g_assert_cmpint(child, >=, 0);
        if (child == 0) {
                /* Between fork and exit: syscalls only (GDBus threads). */
                for (;;)
                        pause();
        }
        int pidfd = pidfd_open_or_die(child);
        (void) broker_signal(c, pidfd, SIGTERM, 0, &e);
        g_autofree char *r = outcome_of(e);
        printf("signal=%s\n", r);
        if (e)
                kill(child, SIGKILL);
        g_assert_cmpint(waitpid(child, &status, 0), ==, child);
        printf("child_signal=%d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        close(pidfd);
        return 0;
}

/* Hole 7: hold a workload (as uid 1) until a line on stdin. */
static int client_hold(GDBusConnection *c) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        guint64 id;

        print_identity(c);
        g_assert_true(spawn_full(c, argv_helper((const char *const[]) { "sleep", "120", NULL }), NULL, NULL, 0, NULL,
                                 &path, NULL, &id, &e));
        g_assert_no_error(e);
        printf("path=%s\nid=%" G_GUINT64_FORMAT "\n", path, id);
        fflush(stdout);
        g_free(read_line_fd(STDIN_FILENO, 120000));
        stop_and_release(c, path);
        return 0;
}

/* "ok\t<reply>" or "<error name>\t<message>" of a call. */
static char *probe_call(GDBusConnection *c, const char *path, const char *iface, const char *method, GVariant *params) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = call(c, path, iface, method, params, NULL, &e);
        if (r) {
                g_autofree char *s = g_variant_print(r, FALSE);
                return g_strdup_printf("ok\t%s", s);
        }
        g_autofree char *name = outcome_of(e);
        g_dbus_error_strip_remote_error(e);
        return g_strdup_printf("%s\t%s", name, e->message);
}

/* Hole 7: every way to touch a workload object, on path. */
static int client_probe(GDBusConnection *c, const char *label, const char *path) {
        static const char *const props = "org.freedesktop.DBus.Properties";
        const struct {
                const char *name, *iface, *method;
                GVariant *params;
        } probes[] = {
                { "get", props, "Get", g_variant_new("(ss)", WORKLOAD_IFACE, "Id") },
                { "get_argv", props, "Get", g_variant_new("(ss)", WORKLOAD_IFACE, "Argv") },
                { "get_all", props, "GetAll", g_variant_new("(s)", WORKLOAD_IFACE) },
                { "set", props, "Set", g_variant_new("(ssv)", WORKLOAD_IFACE, "Id", g_variant_new_uint64(1)) },
                { "introspect", "org.freedesktop.DBus.Introspectable", "Introspect", NULL },
                { "signal", WORKLOAD_IFACE, "Signal", g_variant_new("(iu)", 0, 0) },
                { "get_pidfd", WORKLOAD_IFACE, "GetPidfd", NULL },
                { "release", WORKLOAD_IFACE, "Release", NULL },
                { "no_such_method", WORKLOAD_IFACE, "NoSuchMethod", NULL },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(probes); i++) {
                g_autofree char *r = probe_call(c, path, probes[i].iface, probes[i].method, probes[i].params);
                printf("%s.%s=%s\n", probes[i].name, label, r);
        }
        printf("listed.%s=%s\n", label, managed_objects_contain(c, path) ? "yes" : "no");

        /* Nor is it a child node of the folder. */
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) x = call(c, WORKLOAD_PREFIX, "org.freedesktop.DBus.Introspectable", "Introspect", NULL,
                                     "(s)", &e);
        g_autofree char *node = g_strdup_printf("<node name=\"%s\"", strrchr(path, '/') + 1);
        const char *xml = "";
        if (x)
                g_variant_get(x, "(&s)", &xml);
        printf("folder.%s=%s\n", label, x ? (strstr(xml, node) ? "lists" : "hides") : "error");
        return 0;
}

/* Hole 4: n spawns as root, each denied. */
static int client_flood(GDBusConnection *c, unsigned n) {
        unsigned denied = 0;
        g_autofree char *other = NULL;

        print_identity(c);
        for (unsigned i = 0; i < n; i++) {
                g_autoptr(GError) e = NULL;
                (void) spawn_full(c, argv_helper((const char *const[]) { "exit", "0", NULL }), NULL, NULL, 0,
                                  one_option("user", g_variant_new_uint32(0)), NULL, NULL, NULL, &e);
                g_autofree char *r = outcome_of(e);
                if (g_str_equal(r, ERR_DENIED))
                        denied++;
                else if (!other)
                        other = g_steal_pointer(&r);
        }
        printf("denied=%u\nother=%s\n", denied, other ?: "none");
        return 0;
}

/* Hole 4: one allowed spawn, one denied. */
static int client_allow_and_deny(GDBusConnection *c) {
        g_autofree char *out = NULL;
        g_autoptr(GError) e = NULL;

        print_identity(c);
        g_autofree char *r1 = spawn_capture(c, (const char *const[]) { "exit", "0", NULL }, NULL, NULL, &out);
        printf("allowed=%s\n", r1);
        (void) spawn_full(c, argv_helper((const char *const[]) { "exit", "0", NULL }), NULL, NULL, 0,
                          one_option("user", g_variant_new_uint32(0)), NULL, NULL, NULL, &e);
        g_autofree char *r2 = outcome_of(e);
        printf("denied=%s\n", r2);
        return 0;
}

static int client_main(int argc, char *argv[]) {
        const char *scenario = argv[2];

        /* Raw or direct ones first: no bus connection (and, for the orphan,
         * no thread before its fork). */
        if (g_str_equal(scenario, "orphan-spawn"))
                return client_orphan_spawn();
        if (g_str_equal(scenario, "get-version"))
                return client_get_version(argc >= 4 ? argv[3] : NULL);
        if (g_str_equal(scenario, "hold-direct") && argc == 5)
                return client_hold_direct((unsigned) atoi(argv[3]), argv[4]);
        if (g_str_equal(scenario, "idle-raw") && argc == 4)
                return client_idle_raw(argv[3]);
        if (g_str_equal(scenario, "pipelined") && argc == 4)
                return client_pipelined(argv[3]);

        const char *direct = NULL;
        if (argc >= 4 && g_str_has_prefix(argv[argc - 1], "direct=")) {
                direct = argv[argc - 1] + strlen("direct=");
                argc--;
        }
        g_autoptr(GDBusConnection) c = client_connect(direct);

        if (g_str_equal(scenario, "groups"))
                return client_groups(c);
        if (g_str_equal(scenario, "big-env") && argc == 5)
                return client_big_env(c, (unsigned) atoi(argv[3]), g_str_equal(argv[4], "dup"));
        if (g_str_equal(scenario, "stall-spawn") && argc == 4)
                return client_stall_spawn(c, argv[3]);
        if (g_str_equal(scenario, "stall-exec") && argc == 4)
                return client_stall_exec(c, argv[3]);
        if (g_str_equal(scenario, "getfd") && argc == 4)
                return client_getfd(c, atoi(argv[3]));
        if (g_str_equal(scenario, "bad-calls"))
                return client_bad_calls(c);
        if (g_str_equal(scenario, "signal-own-child"))
                return client_signal_own_child(c);
        if (g_str_equal(scenario, "hold"))
                return client_hold(c);
        if (g_str_equal(scenario, "probe") && argc == 5)
                return client_probe(c, argv[3], argv[4]);
        if (g_str_equal(scenario, "flood") && argc == 4)
                return client_flood(c, (unsigned) atoi(argv[3]));
        if (g_str_equal(scenario, "allow-and-deny"))
                return client_allow_and_deny(c);
        g_printerr("unknown scenario %s\n", scenario);
        return 2;
}

/* ---------- test side ---------- */

static void dump_records(GPtrArray *recs) {
        for (guint i = 0; i < recs->len; i++) {
                g_autofree char *s = g_variant_print(recs->pdata[i], FALSE);
                g_test_message("record: %s", s);
        }
}

/* The records of one client (by its bus name), logged. */
static GPtrArray *client_records(gint64 seq0, const char *name) {
        GPtrArray *r = audit_records_since(seq0, name, 0);
        dump_records(r);
        return r;
}

static void assert_denial(GVariant *rec, const char *action, const char *rule) {
        g_assert_cmpstr(jv_str(rec, "decision"), ==, "deny");
        g_assert_cmpstr(jv_str(rec, "action"), ==, action);
        if (rule)
                g_assert_cmpstr(jv_str(rec, "rule"), ==, rule);
}

/* Run a client as nobody whose one call is refused: its output says
 * key=error, and it left one record, which is returned. */
static GVariant *run_refused(const char *const *args, const char *key, const char *error) {
        gint64 seq0 = audit_last_seq();
        g_autofree char *out = client_run(UID_NOBODY, args);
        g_test_message("client:\n%s", out);
        g_autofree char *name = client_output_get(out, "name");
        g_autofree char *r = client_output_get(out, key);
        g_assert_cmpstr(r, ==, error);
        g_autoptr(GPtrArray) recs = client_records(seq0, name);
        g_assert_cmpuint(recs->len, ==, 1);
        return g_variant_ref(recs->pdata[0]);
}

/* The numbers of a "Groups:" line (of /proc/<pid>/status). */
static GHashTable *groups_of(const char *status) {
        GHashTable *set = g_hash_table_new(g_direct_hash, g_direct_equal);
        const char *l = strstr(status ?: "", "Groups:");
        if (l)
                l += strlen("Groups:");
        else if (status && !strchr(status, ':'))
                l = status; /* the bare list */
        else
                return set;
        g_autofree char *line = g_strndup(l, strcspn(l, "\n"));
        g_auto(GStrv) parts = g_strsplit_set(line, " \t", -1);
        for (char **p = parts; *p; p++)
                if (**p)
                        g_hash_table_add(set, GUINT_TO_POINTER((guint) atoi(*p)));
        return set;
}

/* The supplementary groups of status are want, besides nobody's primary
 * group (which the bus lists among the caller's groups). */
static void assert_groups(const char *status, const guint *want, size_t n) {
        g_autoptr(GHashTable) set = groups_of(status);
        g_test_message("groups: %s", status);
        g_hash_table_remove(set, GUINT_TO_POINTER(65534));
        g_assert_cmpuint(g_hash_table_size(set), ==, n);
        for (size_t i = 0; i < n; i++)
                g_assert_true(g_hash_table_contains(set, GUINT_TO_POINTER(want[i])));
}

/* Hole 1: groups other than exactly the caller's are spawn-as-user, also
 * in a user namespace, where setgroups is "deny". */
static void test_groups_exactly_the_callers(void) {
        static const gid_t groups[] = { GROUP_A, GROUP_B };
        static const guint both[] = { GROUP_A, GROUP_B };
        gint64 seq0 = audit_last_seq();
        g_autofree char *out = client_run_groups(UID_NOBODY, groups, G_N_ELEMENTS(groups),
                                                 (const char *const[]) { "groups", NULL });
        g_test_message("client:\n%s", out);
        g_autofree char *name = client_output_get(out, "name");
        g_autoptr(GPtrArray) recs = client_records(seq0, name);

        /* The controls: the caller's own groups, implied or listed (the
         * bus lists the primary group among them). */
        g_autofree char *def = client_output_get(out, "default");
        g_assert_cmpstr(def, ==, "ok");
        g_autofree char *def_status = g_strdup(strstr(out, "default_status="));
        assert_groups(def_status, both, 2);
        g_autofree char *same = client_output_get(out, "same");
        g_assert_cmpstr(same, ==, "ok");

        /* Shedding a group is asking for another user's rights. */
        g_autofree char *drop_all = client_output_get(out, "drop_all");
        g_assert_cmpstr(drop_all, ==, ERR_DENIED);
        g_autofree char *drop_one = client_output_get(out, "drop_one");
        g_assert_cmpstr(drop_one, ==, ERR_DENIED);
        g_autofree char *userns_drop = client_output_get(out, "userns_drop");
        g_assert_cmpstr(userns_drop, ==, ERR_DENIED);

        /* In a user namespace the groups stay, and cannot be dropped later. */
        g_autofree char *keep = client_output_get(out, "userns_keep");
        g_assert_cmpstr(keep, ==, "ok");
        g_autofree char *keep_groups = client_output_get(out, "userns_keep_groups");
        assert_groups(keep_groups, both, 2);
        g_autofree char *keep_file = client_output_get(out, "userns_keep_setgroups_file");
        g_assert_cmpstr(keep_file, ==, "deny");
        g_autofree char *keep_call = client_output_get(out, "userns_keep_setgroups");
        g_assert_cmpstr(keep_call, ==, "EPERM");

        /* As the namespace's root without no_new_privileges (a user could
         * run that directly: no spawn-privileged), setgroups() is refused
         * by the namespace, or the spawn by the policy as spawn-as-user. */
        g_autofree char *root = client_output_get(out, "userns_root");
        if (g_str_equal(root, "ok")) {
                g_autofree char *f = client_output_get(out, "userns_root_setgroups_file");
                g_assert_cmpstr(f, ==, "deny");
                g_autofree char *s = client_output_get(out, "userns_root_setgroups");
                g_assert_cmpstr(s, ==, "EPERM");
                g_autofree char *g = client_output_get(out, "userns_root_groups");
                assert_groups(g, both, 2);
        } else
                g_assert_cmpstr(root, ==, ERR_DENIED);

        /* Each denial recorded as spawn-as-user, by the default. */
        guint n_as_user = 0;
        for (guint i = 0; i < recs->len; i++)
                if (g_str_equal(jv_str(recs->pdata[i], "decision"), "deny")) {
                        assert_denial(recs->pdata[i], "org.pidbroker.spawn-as-user", "default:auth_admin");
                        n_as_user++;
                }
        g_assert_cmpuint(n_as_user, ==, 3 + !g_str_equal(root, "ok"));
}

/* Another uid (daemon) reads a property, over the bus or the direct
 * socket, and is answered. */
static void assert_other_uid_served(const char *direct) {
        g_autofree char *out = client_run(UID_DAEMON, (const char *const[]) { "get-version", direct, NULL });
        g_autofree char *get = client_output_get(out, "get");
        g_assert_cmpstr(get, ==, "ok");
}

static bool is_named_error(const char *r) {
        return g_str_has_prefix(r, "org.pidbroker.Error.") || g_str_equal(r, ERR_DENIED) ||
               g_str_equal(r, ERR_INTERACTIVE);
}

/* Hole 2: 26,000 variables, under MaxEnvBytes, are processed in linear
 * time: the call is answered (a spawn whose workload sees them all, or a
 * named, recorded refusal) while another uid's read is served; a
 * duplicate name is still found. */
static void test_env_many_variables(void) {
        g_autofree char *n = g_strdup_printf("%u", MANY_ENV_VARS);
        gint64 seq0 = audit_last_seq();
        g_autoptr(GSubprocess) big = client_start(UID_NOBODY, (const char *const[]) { "big-env", n, "nodup", NULL });
        assert_other_uid_served(NULL);

        g_autofree char *out = read_all_fd(client_stdout_fd(big));
        client_finish(big);
        g_test_message("client:\n%s", out);
        g_autofree char *name = client_output_get(out, "name");
        g_autofree char *result = client_output_get(out, "result");
        g_autoptr(GPtrArray) recs = client_records(seq0, name);
        g_assert_cmpuint(recs->len, ==, 1);
        if (g_str_equal(result, "ok")) {
                g_autofree char *count = client_output_get(out, "count");
                g_assert_cmpstr(count, ==, n);
                g_assert_cmpstr(jv_str(recs->pdata[0], "decision"), ==, "allow");
        } else {
                g_assert_true(is_named_error(result));
                g_assert_cmpstr(jv_str(recs->pdata[0], "decision"), ==, "deny");
        }

        /* One name twice, the second time at the end. */
        g_autofree char *n_dup = g_strdup_printf("%u", DUP_ENV_VARS);
        g_autoptr(GVariant) rec = run_refused((const char *const[]) { "big-env", n_dup, "dup", NULL }, "result",
                                              ERR_INVALID);
        assert_denial(rec, "org.pidbroker.spawn", RULE_BAD_ARGUMENT);
}

/* ----- a FUSE file system whose one file stops answering on demand: a
 * client fd the daemon cannot fstat() until we say so ----- */

#define FUSE_FILE_NODE 2

typedef struct StallFs {
        int fd;                  /* /dev/fuse */
        char *dir, *file;
        GThread *thread;
        GMutex lock;
        GCond changed;
        bool stalling;
        GArray *held;            /* unique ids of requests not answered */
        unsigned n_held_total;
} StallFs;

static void fuse_reply(StallFs *fs, uint64_t unique, int error, const void *data, size_t size) {
        struct fuse_out_header h = { .len = (uint32_t) (sizeof h + size), .error = error, .unique = unique };
        guint8 buf[sizeof h + 256];
        g_assert_cmpuint(size, <=, 256);
        memcpy(buf, &h, sizeof h);
        if (size)
                memcpy(buf + sizeof h, data, size);
        /* ENOENT: the request was interrupted meanwhile. */
        if (write(fs->fd, buf, h.len) < 0)
                g_assert_true(errno == ENOENT || errno == ENODEV);
}

/* The file is executable: a spawn of it stalls in its child's execve. */
static void fuse_attr_of(uint64_t node, struct fuse_attr *a) {
        *a = (struct fuse_attr) { .ino = node, .nlink = 1,
                                  .mode = node == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0755 };
}

static gpointer stall_fs_serve(gpointer data) {
        StallFs *fs = data;
        static guint8 buf[FUSE_MIN_READ_BUFFER + 65536];

        for (;;) {
                ssize_t n = read(fs->fd, buf, sizeof buf);
                if (n < 0 && (errno == EINTR || errno == ENOENT))
                        continue;
                if (n < (ssize_t) sizeof(struct fuse_in_header))
                        return NULL; /* unmounted */
                const struct fuse_in_header *in = (const void *) buf;
                const void *arg = buf + sizeof *in;

                switch (in->opcode) {
                case FUSE_INIT: {
                        const struct fuse_init_in *ii = arg;
                        struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION,
                                                   .minor = MIN(ii->minor, FUSE_KERNEL_MINOR_VERSION),
                                                   .max_write = 4096, .max_pages = 1 };
                        fuse_reply(fs, in->unique, 0, &o, sizeof o);
                        continue;
                }
                case FUSE_FORGET:
                case FUSE_BATCH_FORGET:
                case FUSE_INTERRUPT:
                        continue;
                case FUSE_LOOKUP: {
                        struct fuse_entry_out o = { .nodeid = FUSE_FILE_NODE, .generation = 1 };
                        fuse_attr_of(FUSE_FILE_NODE, &o.attr);
                        fuse_reply(fs, in->unique, 0, &o, sizeof o);
                        continue;
                }
                case FUSE_OPEN: {
                        struct fuse_open_out o = { .fh = 1 };
                        fuse_reply(fs, in->unique, 0, &o, sizeof o);
                        continue;
                }
                case FUSE_FLUSH:
                case FUSE_RELEASE:
                case FUSE_DESTROY:
                        fuse_reply(fs, in->unique, 0, NULL, 0);
                        continue;
                }

                /* Anything else on the file waits while we stall. */
                g_mutex_lock(&fs->lock);
                if (fs->stalling && in->nodeid == FUSE_FILE_NODE) {
                        g_array_append_val(fs->held, in->unique);
                        fs->n_held_total++;
                        g_cond_broadcast(&fs->changed);
                        g_mutex_unlock(&fs->lock);
                        continue;
                }
                g_mutex_unlock(&fs->lock);
                if (in->opcode == FUSE_GETATTR) {
                        struct fuse_attr_out o = {};
                        fuse_attr_of(in->nodeid, &o.attr);
                        fuse_reply(fs, in->unique, 0, &o, sizeof o);
                } else
                        fuse_reply(fs, in->unique, -ENOSYS, NULL, 0);
        }
}

static void stall_fs_start(StallFs *fs) {
        *fs = (StallFs) { .held = g_array_new(FALSE, FALSE, sizeof(uint64_t)) };
        g_mutex_init(&fs->lock);
        g_cond_init(&fs->changed);
        fs->dir = g_build_filename(T.dir, "stall-fs", NULL);
        fs->file = g_build_filename(fs->dir, "file", NULL);
        g_assert_cmpint(g_mkdir(fs->dir, 0755), ==, 0);
        fs->fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        g_assert_cmpint(fs->fd, >=, 0);
        g_autofree char *opts = g_strdup_printf("fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fs->fd);
        g_assert_cmpint(mount("pidbroker-test", fs->dir, "fuse", MS_NOSUID | MS_NODEV, opts), ==, 0);
        fs->thread = g_thread_new("stall-fs", stall_fs_serve, fs);
}

static void stall_fs_set(StallFs *fs, bool stalling) {
        g_mutex_lock(&fs->lock);
        fs->stalling = stalling;
        if (!stalling) {
                for (guint i = 0; i < fs->held->len; i++)
                        fuse_reply(fs, g_array_index(fs->held, uint64_t, i), -EIO, NULL, 0);
                g_array_set_size(fs->held, 0);
        }
        g_mutex_unlock(&fs->lock);
}

/* Whether a request on the file is held, waiting up to timeout_ms for one. */
static bool stall_fs_wait_held(StallFs *fs, int timeout_ms) {
        gint64 end = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
        g_mutex_lock(&fs->lock);
        while (fs->held->len == 0 && g_cond_wait_until(&fs->changed, &fs->lock, end))
                ;
        bool held = fs->held->len > 0;
        g_mutex_unlock(&fs->lock);
        return held;
}

static void stall_fs_stop(StallFs *fs) {
        stall_fs_set(fs, false);
        g_assert_cmpint(umount2(fs->dir, MNT_DETACH), ==, 0);
        /* The kernel ends the connection: read() fails with ENODEV. */
        g_thread_join(fs->thread);
        close(fs->fd);
        g_array_unref(fs->held);
        g_mutex_clear(&fs->lock);
        g_cond_clear(&fs->changed);
        (void) g_rmdir(fs->dir);
        g_free(fs->dir);
        g_free(fs->file);
}

/* A reply from the daemon (a success or an error of its own), not a call
 * that timed out. */
static bool is_answer(const char *r) {
        return !g_str_has_prefix(r, "local:") && !g_str_equal(r, "org.freedesktop.DBus.Error.NoReply") &&
               !g_str_equal(r, "org.freedesktop.DBus.Error.Timeout");
}

/* While the file stalls the call client p makes, another uid is served;
 * then the file answers (EIO), and the client's output is returned. */
static char *served_while_stalled(StallFs *fs, GSubprocess *p, const char *what) {
        bool held = stall_fs_wait_held(fs, 10000);
        g_test_message("%s: the daemon %s the file", what, held ? "is stuck on" : "did not touch");
        assert_other_uid_served(NULL);
        stall_fs_set(fs, false);
        char *out = read_all_fd(client_stdout_fd(p));
        client_finish(p);
        return out;
}

/* Hole 2: an fd that stalls fstat() stalls only its own request. A client
 * passes a file on a FUSE mount that stops answering: as Spawn's `cgroup`
 * option, and as the fd a GetFd takes (root's, allowed); while each is
 * pending, another uid's property read is answered. Once the file answers
 * (EIO), the stalled call is answered too. */
static void test_stalled_fd(void) {
        StallFs fs;

        /* Its FUSE server is a thread of this process, which valgrind
         * runs one at a time: a close() that waits on it never returns. */
        TEST_SKIP_UNDER_VALGRIND("runs one thread at a time, and this test's FUSE server is a thread of it");
        stall_fs_start(&fs);

        /* Spawn(cgroup = the file), as nobody. */
        g_autoptr(GSubprocess) sp = client_start(UID_NOBODY, (const char *const[]) { "stall-spawn", fs.file, NULL });
        g_autofree char *l1 = read_line_fd(client_stdout_fd(sp), 30000);
        g_autofree char *l2 = read_line_fd(client_stdout_fd(sp), 30000);
        g_autofree char *l3 = read_line_fd(client_stdout_fd(sp), 30000);
        g_assert_cmpstr(l3, ==, "opened=yes");
        stall_fs_set(&fs, true);
        g_assert_true(g_output_stream_write_all(g_subprocess_get_stdin_pipe(sp), "go\n", 3, NULL, NULL, NULL));
        g_autofree char *out = served_while_stalled(&fs, sp, "spawn");
        g_autofree char *spawn = client_output_get(out, "spawn");
        g_test_message("spawn: %s", spawn);
        g_assert_true(is_answer(spawn));

        /* GetFd of a workload's fd 5, the file, as root (allowed). */
        g_autoptr(GError) e = NULL;
        g_autofree char *path = NULL;
        int f = open(fs.file, O_RDONLY | O_CLOEXEC), pidfd;
        g_assert_cmpint(f, >=, 0);
        FdMap fds[] = { { 5, f } };
        g_assert_true(spawn_full(root_bus(), argv_helper((const char *const[]) { "sleep", "120", NULL }), NULL, fds, 1,
                                 NULL, &path, &pidfd, NULL, &e));
        g_assert_no_error(e);
        close(f);
        g_autofree char *spid = g_strdup_printf("%u", get_u32(root_bus(), path, "Pid"));
        stall_fs_set(&fs, true);
        g_autoptr(GSubprocess) gf = client_start(0, (const char *const[]) { "getfd", spid, NULL });
        g_autofree char *out2 = served_while_stalled(&fs, gf, "getfd");
        g_autofree char *getfd = client_output_get(out2, "getfd");
        g_test_message("getfd: %s", getfd);
        g_assert_true(is_answer(getfd));

        stop_and_release(root_bus(), path);
        close(pidfd);

        /* Spawn of the file itself, as nobody: the child, which shares the
         * daemon's memory until it execs, stalls in its execve, and the
         * spawn waits off the loop. Once the file answers (EIO), the exec
         * fails and the spawn is answered. */
        stall_fs_set(&fs, true);
        g_autoptr(GSubprocess) se = client_start(UID_NOBODY, (const char *const[]) { "stall-exec", fs.file, NULL });
        g_autofree char *e1 = read_line_fd(client_stdout_fd(se), 30000);
        g_autofree char *e2 = read_line_fd(client_stdout_fd(se), 30000);
        g_autofree char *e3 = read_line_fd(client_stdout_fd(se), 30000);
        g_assert_cmpstr(e3, ==, "opened=yes");
        g_assert_true(g_output_stream_write_all(g_subprocess_get_stdin_pipe(se), "go\n", 3, NULL, NULL, NULL));
        g_autofree char *out3 = served_while_stalled(&fs, se, "exec");
        g_autofree char *exec = client_output_get(out3, "spawn");
        g_test_message("exec: %s", exec);
        g_assert_true(is_answer(exec));
        stall_fs_stop(&fs);
}

/* Hole 3: one uid holding many direct connections does not lock another
 * out: past MaxConnectionsPerUser its connections are refused, and other
 * users' are served. */
static void test_direct_connections_per_user(void) {
        g_autofree char *n = g_strdup_printf("%u", TEST_MAX_CONNECTIONS + 8);
        g_autoptr(GSubprocess) holder = client_start(UID_NOBODY, (const char *const[]) { "hold-direct", n,
                                                                                          T.private_socket, NULL });
        g_autofree char *held = read_line_fd(client_stdout_fd(holder), 120000);
        g_test_message("holder: %s", held);
        g_assert_true(g_str_has_prefix(held, "ok="));

        assert_other_uid_served(T.private_socket);
        g_assert_cmpuint((guint) atoi(held + 3), <=, TEST_MAX_CONNECTIONS_PER_USER);
        g_assert_cmpuint((guint) atoi(held + 3), >, 0);

        g_assert_true(g_output_stream_write_all(g_subprocess_get_stdin_pipe(holder), "go\n", 3, NULL, NULL, NULL));
        client_finish(holder);
}

/* Hole 3: a direct connection that never authenticates is closed after
 * AuthTimeoutSec. */
static void test_direct_auth_timeout(void) {
        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "idle-raw", T.private_socket, NULL });
        g_autofree char *closed = client_output_get(out, "closed");
        g_assert_cmpstr(closed, ==, "yes");
}

/* Hole 3: the first call of a client that pipelines the SASL exchange and
 * its first message (as sd-bus does) is answered. */
static void test_direct_first_call(void) {
        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "pipelined", T.private_socket, NULL });
        g_autofree char *auth = client_output_get(out, "auth");
        g_assert_cmpstr(auth, ==, "ok");
        g_autofree char *reply = client_output_get(out, "reply");
        g_assert_cmpstr(reply, ==, "ok");
}

/* Hole 5: a denied GetFd took nothing out of the target: its record knows
 * no fd type. An allowed one says in its outcome what it handed out. */
static void test_getfd_nothing_before_allow(void) {
        g_autofree char *file = write_data_file(), *path = NULL;
        g_autoptr(GError) e = NULL;
        int f = open(file, O_RDONLY | O_CLOEXEC), pidfd;
        guint64 id;

        g_assert_cmpint(f, >=, 0);
        FdMap fds[] = { { 5, f } };
        g_assert_true(spawn_full(root_bus(), argv_helper((const char *const[]) { "sleep", "120", NULL }), NULL, fds, 1,
                                 NULL, &path, &pidfd, &id, &e));
        g_assert_no_error(e);
        close(f);
        g_autofree char *spid = g_strdup_printf("%u", get_u32(root_bus(), path, "Pid"));

        g_autoptr(GVariant) rec = run_refused((const char *const[]) { "getfd", spid, NULL }, "getfd", ERR_DENIED);
        assert_denial(rec, "org.pidbroker.getfd", "default:auth_admin");
        g_assert_cmpint(jv_int(rec, "details.target_fd"), ==, 5);
        GVariant *fd_type = jv_get(rec, "details.fd_type");
        g_assert_true(!fd_type || jv_is_null(fd_type));

        /* Root is allowed: the outcome names the file. */
        gint64 seq0 = audit_last_seq();
        int got = broker_get_fd(root_bus(), pidfd, 5, &e);
        g_assert_no_error(e);
        close(got);
        g_autoptr(GPtrArray) lines = audit_lines();
        g_autoptr(GPtrArray) mine = client_records(seq0, g_dbus_connection_get_unique_name(root_bus()));
        g_assert_cmpuint(mine->len, ==, 1);
        g_assert_cmpstr(jv_str(mine->pdata[0], "decision"), ==, "allow");
        g_autoptr(GVariant) outcome = audit_outcome_line(lines, jv_int(mine->pdata[0], "seq"));
        g_assert_nonnull(outcome);
        g_autofree char *want = g_strdup_printf("file:%s", file);
        g_assert_cmpstr(jv_str(outcome, "result"), ==, "ok");
        g_assert_cmpstr(jv_str(outcome, OUTCOME_FD_TYPE), ==, want);

        stop_and_release(root_bus(), path);
        close(pidfd);
}

/* Hole 5: refusals for bad arguments and limits are denials, recorded. */
static void test_refusals_recorded(void) {
        static const struct {
                const char *key, *error, *action, *rule;
        } want[] = {
                { "bad_env", ERR_INVALID, "org.pidbroker.spawn", RULE_BAD_ARGUMENT },
                { "bad_signal", ERR_INVALID, "org.pidbroker.signal", RULE_BAD_ARGUMENT },
                { "bad_target_fd", ERR_INVALID, "org.pidbroker.getfd", RULE_BAD_ARGUMENT },
                { "too_many_fds", ERR_LIMIT, "org.pidbroker.spawn", RULE_LIMIT },
        };
        gint64 seq0 = audit_last_seq();
        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "bad-calls", NULL });
        g_test_message("client:\n%s", out);
        g_autofree char *name = client_output_get(out, "name");
        g_autoptr(GPtrArray) recs = client_records(seq0, name);

        for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
                g_autofree char *r = client_output_get(out, want[i].key);
                g_assert_cmpstr(r, ==, want[i].error);
        }
        g_assert_cmpuint(recs->len, ==, G_N_ELEMENTS(want));
        for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
                assert_denial(recs->pdata[i], want[i].action, want[i].rule);
                g_assert_cmpint(jv_int(recs->pdata[i], "subject.uid"), ==, UID_NOBODY);
        }
}

/* Hole 5: a caller that cannot be identified is refused, and recorded. */
static void test_unidentified_caller_recorded(void) {
        g_autoptr(GVariant) rec = run_refused((const char *const[]) { "orphan-spawn", NULL }, "reply", ERR_DENIED);
        assert_denial(rec, "org.pidbroker.spawn", RULE_NO_IDENTITY);
}

/* Hole 6: the caller's namespaces, read from a process the bus named by
 * pid only, are no facts: a signal to our own process (not a workload) in
 * our own namespaces asks signal-cross-namespace (auth_admin: denied). On
 * the direct socket the caller is pinned, and it is a plain signal. */
static void test_unpinned_namespaces(void) {
        gint64 seq0 = audit_last_seq();
        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "signal-own-child", NULL });
        g_test_message("client:\n%s", out);
        g_autofree char *name = client_output_get(out, "name");
        g_autofree char *r = client_output_get(out, "signal");
        g_autoptr(GPtrArray) recs = client_records(seq0, name);
        g_assert_cmpuint(recs->len, ==, 1);
        GVariant *rec = recs->pdata[0];
        const char *identity = jv_str(rec, "subject.identity");
        g_test_message("identity: %s", identity);
        if (g_str_equal(identity, "bus-pid-unpinned")) {
                assert_denial(rec, "org.pidbroker.signal-cross-namespace", "default:auth_admin");
                g_assert_cmpstr(r, ==, ERR_DENIED);
        } else {
                g_assert_cmpstr(identity, ==, "bus-processfd");
                g_assert_cmpstr(jv_str(rec, "action"), ==, "org.pidbroker.signal");
                g_assert_cmpstr(r, ==, "ok");
        }

        /* Pinned: SO_PEERPIDFD. */
        seq0 = audit_last_seq();
        g_autofree char *direct = g_strdup_printf("direct=%s", T.private_socket);
        g_autofree char *out2 = client_run(UID_NOBODY, (const char *const[]) { "signal-own-child", direct, NULL });
        g_autofree char *cpid = client_output_get(out2, "pid");
        g_autofree char *r2 = client_output_get(out2, "signal");
        g_assert_cmpstr(r2, ==, "ok");
        g_autofree char *sig = client_output_get(out2, "child_signal");
        g_assert_cmpint(atoi(sig), ==, SIGTERM);
        g_autoptr(GPtrArray) recs2 = audit_records_since(seq0, "", atoi(cpid));
        dump_records(recs2);
        g_assert_cmpuint(recs2->len, ==, 1);
        g_assert_cmpstr(jv_str(recs2->pdata[0], "subject.identity"), ==, "peer-pidfd");
        g_assert_cmpstr(jv_str(recs2->pdata[0], "action"), ==, "org.pidbroker.signal");
        g_assert_cmpstr(jv_str(recs2->pdata[0], "decision"), ==, "allow");
}

/* value with every occurrence of each find[i] replaced by repl[i]. */
static char *substitute(const char *value, const char *const *find, const char *const *repl, size_t n) {
        g_autoptr(GString) s = g_string_new(value);
        for (size_t i = 0; i < n; i++)
                g_string_replace(s, find[i], repl[i], 0);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

/* Hole 7: uid 1's workload, seen by nobody, answers every call exactly as
 * a workload id that does not exist, and is not listed. */
static void test_invisible_workload(void) {
        g_autoptr(GSubprocess) holder = client_start(UID_DAEMON, (const char *const[]) { "hold", NULL });
        g_autofree char *hout = client_read_lines(holder, 4);
        g_autofree char *path = client_output_get(hout, "path");
        g_autofree char *id = client_output_get(hout, "id");
        /* An id no workload has: the real one with its top bits set. */
        g_autofree char *fake_id = g_strdup_printf("%" G_GUINT64_FORMAT,
                                                   g_ascii_strtoull(id, NULL, 10) | (UINT64_C(0xfff) << 48));
        g_autofree char *fake_path = g_strdup_printf("%s/%s", WORKLOAD_PREFIX, fake_id);

        g_autofree char *real = client_run(UID_NOBODY, (const char *const[]) { "probe", "real", path, NULL });
        g_autofree char *fake = client_run(UID_NOBODY, (const char *const[]) { "probe", "fake", fake_path, NULL });
        g_test_message("other user's workload:\n%s\nno workload:\n%s", real, fake);

        static const char *const probes[] = { "get",        "get_argv",  "get_all", "set",          "introspect",
                                              "signal",     "get_pidfd", "release", "no_such_method" };
        for (size_t i = 0; i < G_N_ELEMENTS(probes); i++) {
                g_autofree char *kr = g_strdup_printf("%s.real", probes[i]);
                g_autofree char *kf = g_strdup_printf("%s.fake", probes[i]);
                g_autofree char *vr = client_output_get(real, kr);
                g_autofree char *vf = client_output_get(fake, kf);
                g_autofree char *sr = substitute(vr, (const char *const[]) { path, id }, (const char *const[]) { "@PATH@", "@ID@" }, 2);
                g_autofree char *sf = substitute(vf, (const char *const[]) { fake_path, fake_id },
                                                 (const char *const[]) { "@PATH@", "@ID@" }, 2);
                g_test_message("%s", probes[i]);
                g_assert_cmpstr(sr, ==, sf);
        }
        g_autofree char *get = client_output_get(fake, "get.fake");
        g_assert_true(g_str_has_prefix(get, ERR_UNKNOWN_OBJECT "\t"));
        g_autofree char *listed = client_output_get(real, "listed.real");
        g_assert_cmpstr(listed, ==, "no");
        g_autofree char *folder = client_output_get(real, "folder.real");
        g_assert_cmpstr(folder, ==, "hides");

        g_assert_true(g_output_stream_write_all(g_subprocess_get_stdin_pipe(holder), "go\n", 3, NULL, NULL, NULL));
        client_finish(holder);
}

/* The denials summary lines for uid stand for, after the record seq0 (0:
 * from the start). */
static gint64 suppressed_since(GPtrArray *lines, gint64 seq0, uid_t uid) {
        gint64 n = 0;
        bool after = seq0 == 0;
        for (guint i = 0; i < lines->len; i++) {
                GVariant *l = lines->pdata[i];
                const char *type = jv_str(l, "type");
                if (!after) {
                        after = g_strcmp0(type, "record") == 0 && jv_int(l, "seq") == seq0;
                        continue;
                }
                if (g_strcmp0(jv_str(l, "action"), SUMMARY_ACTION) != 0 || jv_int(l, SUMMARY_UID) != (gint64) uid)
                        continue;
                gint64 k = jv_int(l, SUMMARY_COUNT);
                g_autofree char *str = g_variant_print(l, FALSE);
                g_test_message("summary: %s", str);
                g_assert_cmpstr(jv_str(l, "decision"), ==, "deny");
                g_assert_cmpint(k, >, 0);
                n += k;
        }
        return n;
}

static guint count_denials(GPtrArray *recs) {
        guint n = 0;
        for (guint i = 0; i < recs->len; i++)
                n += g_str_equal(jv_str(recs->pdata[i], "decision"), "deny");
        return n;
}

/* Hole 4: one uid's flood of denials gets at most its budget of records
 * and a summary, every call still answered AccessDenied; another uid is
 * recorded and served as usual, never AuditFailed. Last: without a budget
 * the flood fills the audit filesystem. */
static void test_audit_flood(void) {
        g_autofree char *n = g_strdup_printf("%u", FLOOD_DENIALS);
        gint64 seq0 = audit_last_seq();

        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "flood", n, NULL });
        g_test_message("flood: %s", out);
        g_autofree char *name = client_output_get(out, "name");

        g_autofree char *out2 = client_run(UID_DAEMON, (const char *const[]) { "allow-and-deny", NULL });
        g_test_message("other uid: %s", out2);
        g_autofree char *name2 = client_output_get(out2, "name");
        g_autofree char *allowed = client_output_get(out2, "allowed");
        g_assert_cmpstr(allowed, ==, "ok");
        g_autofree char *denied2 = client_output_get(out2, "denied");
        g_assert_cmpstr(denied2, ==, ERR_DENIED);
        g_autoptr(GPtrArray) theirs = client_records(seq0, name2);
        g_assert_cmpuint(theirs->len, ==, 2);
        g_assert_cmpstr(jv_str(theirs->pdata[0], "decision"), ==, "allow");
        assert_denial(theirs->pdata[1], "org.pidbroker.spawn-as-user", "default:auth_admin");

        g_autofree char *denied = client_output_get(out, "denied");
        g_assert_cmpstr(denied, ==, n);

        /* Past the interval, one more denial of nobody's: the summary of
         * the flood is written by then. */
        g_usleep((TEST_DENIAL_INTERVAL_SEC + 1) * G_USEC_PER_SEC);
        g_autofree char *out3 = client_run(UID_NOBODY, (const char *const[]) { "flood", "1", NULL });
        g_autofree char *denied3 = client_output_get(out3, "denied");
        g_assert_cmpstr(denied3, ==, "1");

        g_autoptr(GPtrArray) lines = audit_lines();
        g_autoptr(GPtrArray) all = audit_records_since(seq0, NULL, 0);
        guint recorded = 0;
        for (guint i = 0; i < all->len; i++)
                if (jv_int(all->pdata[i], "subject.uid") == UID_NOBODY &&
                    g_strcmp0(jv_str(all->pdata[i], "action"), SUMMARY_ACTION) != 0)
                        recorded += g_str_equal(jv_str(all->pdata[i], "decision"), "deny");
        gint64 suppressed = suppressed_since(lines, seq0, UID_NOBODY);
        g_test_message("nobody: %u denial records, %" G_GINT64_FORMAT " suppressed", recorded, suppressed);
        g_autoptr(GPtrArray) mine = audit_records_since(seq0, name, 0);
        g_assert_cmpuint(count_denials(mine), <, FLOOD_DENIALS / 4);
        /* Every denial is a record or counted in a summary. */
        g_assert_cmpint((gint64) recorded + suppressed, ==, FLOOD_DENIALS + 1);
}

static void register_tests(void) {
        add_test("groups-exactly-the-callers", test_groups_exactly_the_callers);
        add_test("env-many-variables", test_env_many_variables);
        add_test("stalled-fd", test_stalled_fd);
        add_test("direct-connections-per-user", test_direct_connections_per_user);
        add_test("direct-auth-timeout", test_direct_auth_timeout);
        add_test("direct-first-call", test_direct_first_call);
        add_test("getfd-nothing-before-allow", test_getfd_nothing_before_allow);
        add_test("refusals-recorded", test_refusals_recorded);
        add_test("unidentified-caller-recorded", test_unidentified_caller_recorded);
        add_test("unpinned-namespaces", test_unpinned_namespaces);
        add_test("invisible-workload", test_invisible_workload);
        add_test("audit-flood", test_audit_flood);
}

int main(int argc, char *argv[]) {
        static const HarnessOptions opts = {
                .suite = "holes",
                .audit_tmpfs_size = "1m",
                .config = test_config,
        };
        return harness_main(argc, argv, &opts, client_main, register_tests);
}
