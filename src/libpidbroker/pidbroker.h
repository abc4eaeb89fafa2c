/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PIDBROKER_H
#define PIDBROKER_H

/* libpidbroker: a small client of pidbrokerd's D-Bus API
 * (org.pidbroker.Broker1(5)), on sd-bus. See libpidbroker(3).
 *
 * Every call returns 0 (or a positive value where said) on success and a
 * negative errno on failure. Calls that talk to the broker take an optional
 * pidbroker_error that receives the D-Bus error name and message; a local
 * failure leaves its name NULL. Objects are opaque and reference counted;
 * fds passed in are duplicated, fds handed out stay owned by the object. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PIDBROKER_DEFAULT_PRIVATE_SOCKET "/run/pidbroker/private"

/* The error names of org.pidbroker.Broker1(5) and the errno each maps to. */
#define PIDBROKER_ERROR_INVALID_ARGUMENT "org.pidbroker.Error.InvalidArgument" /* EINVAL */
#define PIDBROKER_ERROR_NO_SUCH_PROCESS "org.pidbroker.Error.NoSuchProcess"    /* ESRCH */
#define PIDBROKER_ERROR_NOT_SUPPORTED "org.pidbroker.Error.NotSupported"       /* EOPNOTSUPP */
#define PIDBROKER_ERROR_SPAWN_FAILED "org.pidbroker.Error.SpawnFailed"         /* ENOEXEC */
#define PIDBROKER_ERROR_AUDIT_FAILED "org.pidbroker.Error.AuditFailed"         /* EIO */
#define PIDBROKER_ERROR_LIMIT_EXCEEDED "org.pidbroker.Error.LimitExceeded"     /* EUSERS */

/* Signal scopes of pidbroker_workload_signal() and pidbroker_signal_pidfd(),
 * the kernel's PIDFD_SIGNAL_* values. */
#define PIDBROKER_SIGNAL_THREAD 1u
#define PIDBROKER_SIGNAL_THREAD_GROUP 2u
#define PIDBROKER_SIGNAL_PROCESS_GROUP 4u

typedef struct pidbroker_error {
        char *name;    /* D-Bus error name; NULL for a local failure */
        char *message;
} pidbroker_error;
#define PIDBROKER_ERROR_NULL { NULL, NULL }
void pidbroker_error_free(pidbroker_error *e);

typedef enum pidbroker_exit_kind {
        PIDBROKER_EXIT_NONE,   /* still running */
        PIDBROKER_EXIT_EXITED, /* status is the exit code */
        PIDBROKER_EXIT_KILLED, /* status is the signal */
        PIDBROKER_EXIT_DUMPED, /* status is the signal; it dumped core */
} pidbroker_exit_kind;

typedef struct pidbroker_exit_status {
        pidbroker_exit_kind kind;
        int status;
} pidbroker_exit_status;

/* "exited", "killed", "dumped", or "" for NONE. */
const char *pidbroker_exit_kind_to_string(pidbroker_exit_kind kind);
/* The shell's view: the exit code, or 128 + the signal; -EINVAL for NONE. */
int pidbroker_exit_status_to_code(const pidbroker_exit_status *s);

/* ---- connecting ---- */

typedef struct pidbroker_client pidbroker_client;

/* The system bus ($DBUS_SYSTEM_BUS_ADDRESS honoured). */
int pidbroker_connect_system(pidbroker_client **ret);
/* A bus at a D-Bus address, e.g. "unix:path=/run/dbus/system_bus_socket". */
int pidbroker_connect_address(const char *address, pidbroker_client **ret);
/* pidbrokerd's own socket, peer to peer (no bus daemon); NULL: the default
 * PIDBROKER_DEFAULT_PRIVATE_SOCKET. */
int pidbroker_connect_direct(const char *socket_path, pidbroker_client **ret);

pidbroker_client *pidbroker_client_ref(pidbroker_client *c);
pidbroker_client *pidbroker_client_unref(pidbroker_client *c);
/* Let polkit ask an authentication agent (a person) before answering. */
int pidbroker_client_set_interactive(pidbroker_client *c, bool b);
/* Needed by the _async calls; event NULL: the thread's default loop. */
int pidbroker_client_attach_event(pidbroker_client *c, sd_event *event, int64_t priority);
int pidbroker_client_detach_event(pidbroker_client *c);
/* The connection, for calls the library does not wrap (properties,
 * ObjectManager); owned by c. */
sd_bus *pidbroker_client_get_bus(pidbroker_client *c);
/* The broker's bus name, or NULL on a direct (peer-to-peer) connection:
 * the destination for calls on pidbroker_client_get_bus(). */
const char *pidbroker_client_get_destination(pidbroker_client *c);

/* ---- spawn options ---- */

typedef struct pidbroker_spawn pidbroker_spawn;

int pidbroker_spawn_new(pidbroker_spawn **ret);
pidbroker_spawn *pidbroker_spawn_free(pidbroker_spawn *s);

/* argv[0] is an absolute path (the broker does no PATH search), unless
 * pidbroker_spawn_set_exe_fd() gives the executable. */
int pidbroker_spawn_set_argv(pidbroker_spawn *s, const char *const *argv);
/* The workload's whole environment, NAME=VALUE entries; empty by default. */
int pidbroker_spawn_set_environment(pidbroker_spawn *s, const char *const *envp);
int pidbroker_spawn_setenv(pidbroker_spawn *s, const char *name, const char *value);
/* The workload's fd target is a copy of fd (duplicated now); unmapped 0, 1,
 * 2 are /dev/null. Setting a target again replaces it. */
int pidbroker_spawn_set_fd(pidbroker_spawn *s, int target, int fd);

/* One setter per Spawn option of org.pidbroker.Broker1(5); an option not set
 * is not sent and keeps the broker's default. */
int pidbroker_spawn_set_cwd(pidbroker_spawn *s, const char *path);
int pidbroker_spawn_set_user(pidbroker_spawn *s, uid_t uid);
int pidbroker_spawn_set_group(pidbroker_spawn *s, gid_t gid);
int pidbroker_spawn_set_groups(pidbroker_spawn *s, const gid_t *groups, size_t n);
/* user pid mount net ipc uts cgroup time; -EINVAL for another name. */
int pidbroker_spawn_add_namespace(pidbroker_spawn *s, const char *name);
int pidbroker_spawn_add_uid_map(pidbroker_spawn *s, uint32_t inside, uint32_t outside, uint32_t count);
int pidbroker_spawn_add_gid_map(pidbroker_spawn *s, uint32_t inside, uint32_t outside, uint32_t count);
int pidbroker_spawn_set_hostname(pidbroker_spawn *s, const char *hostname);
int pidbroker_spawn_add_capability(pidbroker_spawn *s, const char *name);
int pidbroker_spawn_set_no_new_privileges(pidbroker_spawn *s, bool b);
int pidbroker_spawn_set_seccomp(pidbroker_spawn *s, const char *profile);
int pidbroker_spawn_set_watch_client(pidbroker_spawn *s, bool b);
int pidbroker_spawn_set_stop_timeout(pidbroker_spawn *s, uint64_t usec);
int pidbroker_spawn_set_cgroup_fd(pidbroker_spawn *s, int fd);
int pidbroker_spawn_set_exe_fd(pidbroker_spawn *s, int fd);
int pidbroker_spawn_set_umask(pidbroker_spawn *s, mode_t mask);
int pidbroker_spawn_set_setsid(pidbroker_spawn *s, bool b);
/* "cgroup" or "process". */
int pidbroker_spawn_set_kill_mode(pidbroker_spawn *s, const char *mode);
/* name as in RLIMIT_<name>: "NOFILE", "CORE", ...; UINT64_MAX is infinity. */
int pidbroker_spawn_set_rlimit(pidbroker_spawn *s, const char *name, uint64_t soft, uint64_t hard);
int pidbroker_spawn_set_nice(pidbroker_spawn *s, int nice);
int pidbroker_spawn_set_oom_score_adj(pidbroker_spawn *s, int adj);
int pidbroker_spawn_set_memory_max(pidbroker_spawn *s, uint64_t bytes);
int pidbroker_spawn_set_pids_max(pidbroker_spawn *s, uint64_t n);
int pidbroker_spawn_set_cpu_weight(pidbroker_spawn *s, uint64_t weight);
int pidbroker_spawn_set_io_weight(pidbroker_spawn *s, uint64_t weight);
/* The child makes its fd 0 (a terminal) its controlling terminal. */
int pidbroker_spawn_set_controlling_tty(pidbroker_spawn *s, bool b);
/* Refuse (NotSupported) rather than run a workload the kernel gives no
 * pidfd for (the legacy PID path). */
int pidbroker_spawn_set_require_pidfd(pidbroker_spawn *s, bool b);

/* ---- workloads ---- */

typedef struct pidbroker_workload pidbroker_workload;

/* Spawn: returns once the broker has exec'ed the workload, with its pidfd. */
int pidbroker_spawn_call(pidbroker_client *c, const pidbroker_spawn *s, pidbroker_workload **ret,
                         pidbroker_error *error);
/* A handle on a workload that exists, by id or by object path. It has no
 * pidfd until pidbroker_workload_fetch_pidfd(). No call is made. */
int pidbroker_workload_open(pidbroker_client *c, uint64_t id, pidbroker_workload **ret);
int pidbroker_workload_open_path(pidbroker_client *c, const char *path, pidbroker_workload **ret);

pidbroker_workload *pidbroker_workload_ref(pidbroker_workload *w);
/* The last reference cancels a pending async call (its handler is not called). */
pidbroker_workload *pidbroker_workload_unref(pidbroker_workload *w);

uint64_t pidbroker_workload_get_id(pidbroker_workload *w);
const char *pidbroker_workload_get_path(pidbroker_workload *w);
/* The pidfd, owned by w; -EBADF when there is none. */
int pidbroker_workload_get_pidfd(pidbroker_workload *w);
/* The pid in the caller's pid namespace (from the pidfd): 0 when it has
 * none here, -ESRCH when it is gone, -EBADF without a pidfd. */
pid_t pidbroker_workload_get_pid(pidbroker_workload *w);
/* Workload1.GetPidfd(). */
int pidbroker_workload_fetch_pidfd(pidbroker_workload *w, pidbroker_error *error);

/* Workload1.Wait(): blocks until the workload exits. */
int pidbroker_workload_wait(pidbroker_workload *w, pidbroker_exit_status *ret, pidbroker_error *error);
/* Workload1.Stop(): SIGTERM, SIGKILL after the stop timeout; blocks until dead. */
int pidbroker_workload_stop(pidbroker_workload *w, pidbroker_exit_status *ret, pidbroker_error *error);
int pidbroker_workload_signal(pidbroker_workload *w, int sig, unsigned flags, pidbroker_error *error);
int pidbroker_workload_release(pidbroker_workload *w, pidbroker_error *error);

/* Called once with r = 0 and the exit status, or r < 0 (and error, whose
 * name is NULL for a local failure or a lost connection). */
typedef void (*pidbroker_exit_handler)(pidbroker_workload *w, int r, const pidbroker_exit_status *status,
                                       const pidbroker_error *error, void *userdata);
/* On the client's event loop (pidbroker_client_attach_event()). wait_async
 * watches the pidfd and asks Wait only once it is readable: no bus traffic
 * while the workload runs. One async call per workload at a time (-EBUSY). */
int pidbroker_workload_wait_async(pidbroker_workload *w, pidbroker_exit_handler handler, void *userdata);
int pidbroker_workload_stop_async(pidbroker_workload *w, pidbroker_exit_handler handler, void *userdata);
int pidbroker_workload_cancel(pidbroker_workload *w);

/* ---- hearing of workloads ---- */

typedef enum pidbroker_workload_event {
        PIDBROKER_WORKLOAD_NEW,     /* Broker1.WorkloadNew: spawned, exec succeeded */
        PIDBROKER_WORKLOAD_REMOVED, /* Broker1.WorkloadRemoved: released or forgotten */
} pidbroker_workload_event;

typedef void (*pidbroker_workload_event_handler)(pidbroker_client *c, pidbroker_workload_event event,
                                                 uint64_t id, const char *path, void *userdata);
/* Broker1.Subscribe(), with matches for WorkloadNew and WorkloadRemoved
 * installed first so none is missed. The handler runs while the bus is
 * processed: from the attached event loop, or sd_bus_process(). One
 * subscription per client (-EBUSY). */
int pidbroker_subscribe(pidbroker_client *c, pidbroker_workload_event_handler handler, void *userdata,
                        pidbroker_error *error);
/* Broker1.Unsubscribe(); the handler is not called any more. */
int pidbroker_unsubscribe(pidbroker_client *c, pidbroker_error *error);

/* ---- any process, by pidfd ---- */

/* Broker1.Signal(): the process that pidfd pins. */
int pidbroker_signal_pidfd(pidbroker_client *c, int pidfd, int sig, unsigned flags, pidbroker_error *error);
/* Broker1.GetFd(): a copy of fd target_fd of that process, owned by the caller. */
int pidbroker_getfd(pidbroker_client *c, int pidfd, int target_fd, int *ret_fd, pidbroker_error *error);

#ifdef __cplusplus
}
#endif

#endif
