/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The main job, seen from an unprivileged client that knows only the D-Bus
 * contract (org.pidbroker.Broker1(5)): ask pidbrokerd to run a shell command in new pid,
 * mount, net and uts namespaces, receive its pidfd, show what the pidfd
 * names, stop the workload and print how it ended.
 *
 *   pidbroker-demo [--direct=PATH] [COMMAND]
 *
 * Uses the system bus ($DBUS_SYSTEM_BUS_ADDRESS) unless --direct is given. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#define BROKER_NAME "org.pidbroker.Broker1"
#define BROKER_PATH "/org/pidbroker/Broker1"
#define BROKER_IFACE "org.pidbroker.Broker1"
#define WORKLOAD_IFACE "org.pidbroker.Workload1"
#define PIDFS_MAGIC 0x50494446

static int fail(const char *what, int r, const sd_bus_error *e) {
        fprintf(stderr, "pidbroker-demo: %s: %s\n", what,
                e && sd_bus_error_is_set(e) ? e->message : strerror(-r));
        return EXIT_FAILURE;
}

static int fdinfo_pid(int fd) {
        char path[64], line[256];
        int pid = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
        f = fopen(path, "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "Pid: %d", &pid) == 1)
                        break;
        fclose(f);
        return pid;
}

static int open_bus(sd_bus **ret, const char *direct) {
        sd_bus *bus = NULL;
        char address[4096];
        int r;

        if (!direct)
                return sd_bus_open_system(ret);
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        snprintf(address, sizeof address, "unix:path=%s", direct);
        r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

/* Everything after Spawn works on the workload object. */
static int show_namespaces(sd_bus *bus, const char *dest, const char *path) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *type;
        uint64_t ino;
        int r;

        r = sd_bus_get_property(bus, dest, path, WORKLOAD_IFACE, "Namespaces", &e, &reply, "a{st}");
        if (r < 0)
                return fail("Namespaces", r, &e);
        r = sd_bus_message_enter_container(reply, 'a', "{st}");
        while (r >= 0 && (r = sd_bus_message_read(reply, "{st}", &type, &ino)) > 0) {
                char ours[64];
                struct stat st;
                snprintf(ours, sizeof ours, "/proc/self/ns/%s", strcmp(type, "mount") == 0 ? "mnt" : type);
                bool differs = stat(ours, &st) == 0 && st.st_ino != ino;
                printf("  namespace %-7s %llu%s\n", type, (unsigned long long) ino,
                       differs ? "  (new, not ours)" : "");
        }
        sd_bus_message_unref(reply);
        return r < 0 ? fail("Namespaces", r, NULL) : 0;
}

int main(int argc, char *argv[]) {
        const char *direct = NULL, *command = "echo \"hello from $(hostname), pid $$ in its own namespaces\"; sleep 600";
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus *bus = NULL;
        const char *path, *code;
        uint64_t id;
        uint32_t pid;
        int pidfd, status, r;

        for (int i = 1; i < argc; i++) {
                if (strncmp(argv[i], "--direct=", 9) == 0)
                        direct = argv[i] + 9;
                else
                        command = argv[i];
        }
        /* On the direct socket there is no bus daemon to route by name. */
        const char *dest = direct ? NULL : BROKER_NAME;

        r = open_bus(&bus, direct);
        if (r < 0)
                return fail("connect", r, NULL);

        printf("client uid %u asks pidbrokerd to run: sh -c '%s'\n", getuid(), command);
        fflush(stdout);
        r = sd_bus_message_new_method_call(bus, &m, dest, BROKER_PATH, BROKER_IFACE, "Spawn");
        const char *args[] = { "/bin/sh", "-c", command };
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "ay");
        for (size_t i = 0; i < 3 && r >= 0; i++)
                r = sd_bus_message_append_array(m, 'y', args[i], strlen(args[i]));
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{ss}", 1, "PATH", "/usr/bin:/bin");
        if (r >= 0)
                r = sd_bus_message_append(m, "a{uh}", 2, 1, STDOUT_FILENO, 2, STDERR_FILENO);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 3,
                                          "namespaces", "as", 4, "pid", "mount", "net", "uts",
                                          "hostname", "s", "pidbroker-demo",
                                          "stop_timeout_usec", "t", (uint64_t) 2000000);
        if (r < 0)
                return fail("build Spawn", r, NULL);
        r = sd_bus_call(bus, m, 0, &e, &reply);
        if (r < 0)
                return fail("Spawn", r, &e);
        r = sd_bus_message_read(reply, "oht", &path, &pidfd, &id);
        if (r < 0)
                return fail("Spawn reply", r, NULL);
        /* The fd belongs to the message: keep a dup of our own. */
        pidfd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
        path = strdup(path);

        struct stat st;
        struct statfs sfs;
        if (fstat(pidfd, &st) < 0 || fstatfs(pidfd, &sfs) < 0)
                return fail("fstat pidfd", -errno, NULL);
        r = sd_bus_get_property_trivial(bus, dest, path, WORKLOAD_IFACE, "Pid", &e, 'u', &pid);
        if (r < 0)
                return fail("Pid", r, &e);

        usleep(200 * 1000); /* let the greeting arrive first */
        printf("received pidfd %d for workload %s\n", pidfd, path);
        printf("  pid       %u (pidfd fdinfo says %d)\n", pid, fdinfo_pid(pidfd));
        printf("  pidfs id  %llu (pidfd inode %llu, %s)\n", (unsigned long long) id,
               (unsigned long long) st.st_ino, sfs.f_type == PIDFS_MAGIC ? "on pidfs" : "not pidfs");
        if (show_namespaces(bus, dest, path) != 0)
                return EXIT_FAILURE;

        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        printf("pidfd readable before Stop: %s\n", poll(&p, 1, 0) > 0 ? "yes" : "no (still running)");

        sd_bus_message_unref(reply);
        reply = NULL;
        r = sd_bus_call_method(bus, dest, path, WORKLOAD_IFACE, "Stop", &e, &reply, "");
        if (r < 0)
                return fail("Stop", r, &e);
        r = sd_bus_message_read(reply, "si", &code, &status);
        if (r < 0)
                return fail("Stop reply", r, NULL);
        printf("Stop replied (\"%s\", %d): the workload %s %d\n", code, status,
               strcmp(code, "exited") == 0 ? "exited with code" : "was killed by signal", status);
        printf("pidfd readable after Stop: %s; fdinfo Pid now %d (reaped)\n",
               poll(&p, 1, 1000) > 0 ? "yes" : "no", fdinfo_pid(pidfd));

        sd_bus_call_method(bus, dest, path, WORKLOAD_IFACE, "Release", NULL, NULL, "");
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
        sd_bus_flush_close_unref(bus);
        return EXIT_SUCCESS;
}
