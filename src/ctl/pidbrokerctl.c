/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pidbrokerctl: the command-line client of pidbrokerd. It reads top to bottom:
 * the verbs and their help, option parsing, then dispatch. Each verb lives in
 * ctl-<concern>.c and uses only the public D-Bus API (org.pidbroker.Broker1(5)). */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl-util.h"
#include "ctl.h"

Args arg = {
        .transport = TRANSPORT_SYSTEM,
        .umask = -1,
        .setsid = -1,
        .no_new_privileges = -1,
};

enum {
        V_RUN      = 1 << 0,
        V_LIST     = 1 << 1,
        V_STATUS   = 1 << 2,
        V_SIGNAL   = 1 << 3,
        V_STOP     = 1 << 4,
        V_WAIT     = 1 << 5,
        V_RELEASE  = 1 << 6,
        V_GETFD    = 1 << 7,
        V_FEATURES = 1 << 8,
        V_METRICS  = 1 << 9,
        V_AUDIT    = 1 << 10,
        V_MONITOR  = 1 << 11,
        V_HELP     = 1 << 12,
        V_DAEMON_REEXEC = 1 << 13,
        V_ALL      = (1 << 14) - 1,
};

typedef enum ParseMode {
        PARSE_PERMUTE,        /* options anywhere, all other words positional */
        PARSE_COMMAND,        /* the first non-option starts CMD (run) */
        PARSE_DASHDASH_CMD,   /* CMD only after "--" (getfd) */
} ParseMode;

typedef struct Verb {
        const char *name;
        unsigned bit;
        int min_args, max_args;   /* positional words; -1: no limit */
        ParseMode mode;
        int (*func)(int argc, char *argv[]);
        const char *help;
} Verb;

static const Verb verbs[] = {
        { "run", V_RUN, 0, -1, PARSE_COMMAND, verb_run,
          "run [OPTIONS] [--] CMD [ARGS...]\n\n"
          "Spawn CMD as a workload of pidbrokerd and get its pidfd. CMD is looked up in\n"
          "$PATH here, by pidbrokerctl (the broker needs an absolute path). The workload\n"
          "runs as you, in / unless --cwd is given, with no capabilities, with\n"
          "no_new_privileges and the site's default seccomp profile. It gets pidbrokerctl's\n"
          "stdin, stdout and stderr and, unless --clear-env, pidbrokerctl's environment\n"
          "(so $PATH, $HOME, $LANG carry over; the broker itself passes none of its own).\n\n"
          "Without --wait, prints the new workload and returns at once:\n"
          "  Running as workload ID (pid PID): /org/pidbroker/Broker1/workload/ID\n"
          "(-q prints only ID; --json prints {\"id\":ID,\"pid\":PID,\"path\":PATH}).\n"
          "PID is in pidbrokerctl's pid namespace. The workload keeps pidbrokerctl's\n"
          "stdout: inside id=$(...) give it another one (--fd=1:/dev/null), or the\n"
          "substitution lasts as long as the workload does.\n\n"
          "With --wait, prints nothing of its own (unless -v; --json prints the exit\n"
          "status: {\"id\":ID,\"path\":PATH,\"exit\":{\"code\":S,\"status\":N},\"exit_code\":N}),\n"
          "waits on the pidfd, and exits with the workload's exit code, or 128+N when\n"
          "signal N killed it. Every signal pidbrokerctl can catch (^C, SIGTERM, SIGHUP,\n"
          "SIGUSR1, ...; not SIGCHLD) is forwarded to the workload through the broker.\n\n"
          "Options:\n"
          "     --ns=NS[,NS...]      New namespaces: user pid mount net ipc uts cgroup time\n"
          "     --user=USER          Run as USER, a name or uid (spawn-as-user)\n"
          "     --group=GROUP        Primary group (default: USER's, or yours)\n"
          "     --cap=CAP[,CAP...]   Keep capabilities, e.g. net_admin (spawn-privileged)\n"
          "     --seccomp=PROFILE    default, strict, or none (none: no filter)\n"
          "  -E --env=NAME=VALUE     Set a variable; --env=NAME copies it from here\n"
          "     --clear-env          Start from an empty environment, not pidbrokerctl's\n"
          "     --cwd=DIR            Working directory, relative to ours; default /\n"
          "  -d --same-dir           Working directory: ours\n"
          "     --fd=N:PATH|N:M      Give the workload fd N: PATH opened here (read-write,\n"
          "                          created if missing, appending; read-only if refused),\n"
          "                          or pidbrokerctl's own fd M. 0, 1, 2 default to ours\n"
          "     --watch              Stop it if pidbrokerctl goes away (implies --wait)\n"
          "     --stop-timeout=TIME  SIGTERM to SIGKILL grace for stop and --watch, e.g. 5s\n"
          "     --wait               Wait for the workload and exit with its status\n"
          "     --pty                Give it a new terminal as stdin/stdout/stderr and its\n"
          "                          controlling terminal, relayed to ours (implies --wait)\n"
          "  -S --shell              Run your login shell with --pty\n"
          "     --hostname=NAME      Host name (with --ns=uts)\n"
          "     --uid-map=IN:OUT:N   A uid_map line (with --ns=user); repeatable\n"
          "     --gid-map=IN:OUT:N   A gid_map line (with --ns=user); repeatable\n"
          "     --groups=G[,G...]    Supplementary groups, names or gids; '' for none\n"
          "     --umask=MODE         File mode creation mask, octal (e.g. 027)\n"
          "     --setsid=BOOL        A session of its own (default yes)\n"
          "     --no-new-privileges=BOOL  no_new_privileges (default yes)\n"
          "     --require-pidfd      Refuse rather than run without a pidfd (legacy PID path)\n"
          "     --cgroup=DIR         Start it in this cgroup2 directory (opened here)\n"
          "     --exe=PATH           Execute PATH (opened here), with CMD as its argv[0]\n"
          "     --kill-mode=MODE     cgroup (stop every process) or process (the main one)\n"
          "     --rlimit=NAME=SOFT[:HARD]  An rlimit, e.g. NOFILE=1024:4096 (= LimitNOFILE=)\n"
          "     --nice=N             Nice level, -20...19 (= Nice=)\n"
          "     --oom-score-adj=N    -1000...1000 (= OOMScoreAdjust=)\n"
          "     --memory-max=BYTES   memory.max, K/M/G/T suffixes or infinity (= MemoryMax=)\n"
          "     --pids-max=N         pids.max, or infinity (= TasksMax=)\n"
          "     --cpu-weight=N       cpu.weight, 1...10000 (= CPUWeight=)\n"
          "     --io-weight=N        io.weight, 1...10000 (= IOWeight=)\n"
          "  -p --property=NAME=VALUE  As systemd-run spells them: MemoryMax=, TasksMax=,\n"
          "                          CPUWeight=, IOWeight=, Nice=, OOMScoreAdjust=,\n"
          "                          KillMode=, LimitNOFILE= and the other Limit*=\n"
          "  -q --quiet              Print only the workload id\n"
          "     --json               Print the result as JSON\n\n"
          "With --wait the exit status is the workload's; 125: pidbrokerctl or the broker\n"
          "failed, 126: CMD could not be executed, 127: CMD was not found.\n"
          "(spawn-as-user, spawn-privileged: polkit actions org.pidbroker.*, auth_admin.)\n\n"
          "Examples:\n"
          "  pidbrokerctl run --wait -- make -j8\n"
          "  pidbrokerctl run --wait --ns=pid,mount,net -- readlink /proc/self/ns/pid\n"
          "  id=$(pidbrokerctl run -q --fd=1:/tmp/out.log -- sleep 600)\n"
          "  pidbrokerctl run --watch --stop-timeout=5s -- ./server\n"
          "  pidbrokerctl run --wait -p MemoryMax=1G -p LimitNOFILE=4096 -- ./build.sh\n"
          "  pidbrokerctl run --pty -- bash -i\n" },
        { "list", V_LIST, 0, 0, PARSE_PERMUTE, verb_list,
          "list [--json]\n\n"
          "List the workloads you can see (yours; everyone's with org.pidbroker.manage):\n"
          "ID, PID, USER (runs as), STATE (running, exited N, killed SIG), COMMAND.\n"
          "--json prints an array of workload objects (see 'help status').\n" },
        { "status", V_STATUS, 1, 1, PARSE_PERMUTE, verb_status,
          "status ID [--json]\n\n"
          "Show one workload: command, pid, state and exit status, owner, user, creation\n"
          "time, control path and namespaces. ID is the workload id or its object path.\n\n"
          "--json prints one object; this schema is shared by list and monitor:\n"
          "  {\"id\": 123, \"path\": \"/org/pidbroker/Broker1/workload/123\", \"pid\": 4242,\n"
          "   \"argv\": [\"/usr/bin/sleep\", \"60\"], \"owner_uid\": 1000, \"user\": 1000,\n"
          "   \"state\": \"running\" | \"exited\",\n"
          "   \"exit\": null | {\"code\": \"exited\" | \"killed\" | \"dumped\", \"status\": N},\n"
          "   \"namespaces\": {\"pid\": INODE, ...}, \"created_usec\": USEC (realtime),\n"
          "   \"control_path\": \"pidfd\" | \"legacy_pid\"}\n"
          "Numbers are JSON integers (ids and inodes may exceed 2^53); keys the broker does\n"
          "not report are null.\n" },
        { "signal", V_SIGNAL, 0, 2, PARSE_PERMUTE, verb_signal,
          "signal ID [SIG] [--scope=thread|process|group]\n"
          "signal --pid PID [SIG] [--scope=...]\n\n"
          "Send SIG (default SIGTERM; TERM, SIGTERM, 15, RTMIN+1 all work; 0 only checks\n"
          "that it is alive) to a workload,\n"
          "or, with --pid, to any process: pidbrokerctl opens a pidfd for PID itself and\n"
          "the broker signals that pidfd (policy decides; every attempt is audited). A\n"
          "process that has exited is reported as org.pidbroker.Error.NoSuchProcess and\n"
          "never hits a process that reused its PID.\n\n"
          "Options:\n"
          "     --pid=PID            Signal PID instead of a workload\n"
          "     --scope=SCOPE        thread, process (thread group) or group (process group)\n\n"
          "Examples:\n"
          "  pidbrokerctl signal 123 HUP\n"
          "  pidbrokerctl signal --pid 4242 USR1\n" },
        { "stop", V_STOP, 1, 1, PARSE_PERMUTE, verb_stop,
          "stop ID\n\n"
          "SIGTERM the workload, wait up to its stop timeout, then SIGKILL; returns once it\n"
          "is dead. -v prints how it ended.\n" },
        { "wait", V_WAIT, 1, 1, PARSE_PERMUTE, verb_wait,
          "wait ID\n\n"
          "Wait until the workload exits (at once if it has) and exit with its exit code,\n"
          "or 128+N when signal N killed it; 125 if the wait itself failed. -v prints how\n"
          "it ended.\n" },
        { "release", V_RELEASE, 1, 1, PARSE_PERMUTE, verb_release,
          "release ID\n\n"
          "Forget an exited workload: its object and exit status go away.\n" },
        { "getfd", V_GETFD, 1, 2, PARSE_DASHDASH_CMD, verb_getfd,
          "getfd ID FD [--json] [-- CMD [ARGS...]]\n"
          "getfd --pid PID FD [--json] [-- CMD [ARGS...]]\n\n"
          "Take a copy of file descriptor FD of workload ID, or of process PID, through\n"
          "the broker\n"
          "(pidfd_getfd; needs org.pidbroker.getfd, auth_admin by default; audited).\n"
          "With CMD, runs CMD (searched in $PATH) with the copy as its fd 3, e.g. for a\n"
          "debugger or to read a pipe. Without, prints what the fd is: its path\n"
          "(readlink), type, device, inode, flags and position; --json prints\n"
          "{\"pid\", \"fd\", \"path\", \"type\", \"dev\", \"inode\", \"flags\", \"pos\"}.\n\n"
          "Examples:\n"
          "  pidbrokerctl getfd 123 1\n"
          "  pidbrokerctl getfd --pid 4242 5\n"
          "  pidbrokerctl getfd --pid 4242 0 -- sh -c 'cat <&3'\n" },
        { "features", V_FEATURES, 0, 0, PARSE_PERMUTE, verb_features,
          "features [--json]\n\n"
          "Show the broker's version, control path (pidfd or legacy_pid), policy backend,\n"
          "and every kernel feature it probed, with whether it is available and why.\n"
          "--json prints {\"version\": S, \"control_path\": S, \"policy_backend\": S,\n"
          "\"features\": [{\"name\": S, \"available\": B, \"detail\": S}, ...]}.\n" },
        { "metrics", V_METRICS, 0, 0, PARSE_PERMUTE, verb_metrics,
          "metrics\n\n"
          "Print the broker's counters in the Prometheus text exposition format, for\n"
          "node_exporter's textfile collector (pidbrokerctl metrics > DIR/pidbroker.prom).\n"
          "Each Metrics key \"GROUP.VALUE\" (or \"GROUP=VALUE\") becomes a sample:\n"
          "  spawns.RESULT         pidbroker_spawns_total{result=\"RESULT\"}\n"
          "  control_path.PATH     pidbroker_operations_total{control_path=\"PATH\"}\n"
          "  signal_result.RESULT  pidbroker_signals_total{signal_result=\"RESULT\"}\n"
          "  wait_result.RESULT    pidbroker_waits_total{wait_result=\"RESULT\"}\n"
          "  other GROUP.VALUE     pidbroker_GROUP_total{GROUP=\"VALUE\"}\n"
          "  other KEY             pidbroker_KEY_total\n"
          "all counters; plus pidbroker_info{version,control_path,policy_backend} 1 and\n"
          "pidbroker_feature_available{feature} 0|1 gauges.\n" },
        { "audit", V_AUDIT, 0, 0, PARSE_PERMUTE, verb_audit,
          "audit [--action=ACTION] [--decision=allow|deny] [--result=RESULT] [--uid=USER]\n"
          "      [--workload=ID] [--since=TIME] [--until=TIME] [--follow] [--json]\n\n"
          "Read the broker's audit log (a file: " DEFAULT_AUDIT_LOG ";\n"
          "reading it usually needs root) and print one line per record and one per\n"
          "outcome:\n"
          "  TIME #SEQ ACTION DECISION RESULT SUBJECT [-> TARGET] DETAILS\n"
          "  TIME #SEQ outcome RESULT\n"
          "#SEQ is the record's seq, which its outcome line repeats. ACTION lacks the\n"
          "org.pidbroker. prefix. RESULT is pending on an allowed record, whose outcome\n"
          "line then says ok or an errno name; denied on a denial. SUBJECT is uid=,\n"
          "pid=, comm= of the caller; TARGET is pid=, uid=, comm=, workload=; DETAILS are\n"
          "signal=, flags=, fd=, fd_type=, rule=. Fields a record lacks are left out.\n"
          "With filters, an outcome line is shown when its record was. --json passes the\n"
          "matching records and their outcome lines through as they are, one JSON object\n"
          "per line (format: org.pidbroker.Broker1(5)).\n\n"
          "Options:\n"
          "     --action=ACTION      org.pidbroker.signal or just signal, getfd, spawn, ...\n"
          "                          (an action the broker does not have is an error)\n"
          "     --decision=DECISION  allow or deny\n"
          "     --result=RESULT      denied, pending, or an outcome: ok or an errno name\n"
          "                          (esrch, ...); a record is then shown with its outcome\n"
          "     --uid=USER           Records whose subject is USER (name or uid)\n"
          "     --workload=ID        Records whose target is workload ID\n"
          "     --since=TIME         2024-05-01, '2024-05-01 12:00', RFC 3339, @EPOCH,\n"
          "                          -10min, '1h ago', today, yesterday\n"
          "     --until=TIME         Records up to TIME (same forms)\n"
          "  -f --follow             Keep printing records as they are appended\n"
          "     --audit-log=PATH     Read PATH instead\n" },
        { "monitor", V_MONITOR, 0, 0, PARSE_PERMUTE, verb_monitor,
          "monitor [--json]\n\n"
          "Print one line per event of the workloads you can see, until interrupted:\n"
          "  TIME new     ID pid PID COMMAND\n"
          "  TIME exited  ID exited N | killed SIG | dumped SIG\n"
          "  TIME removed ID                 (released, or forgotten after exit)\n"
          "  TIME changed ID State=...\n"
          "The broker sends a workload's signals (InterfacesAdded, Exited,\n"
          "InterfacesRemoved) only to the connection that spawned it, never to monitor's.\n"
          "So besides listening to them, monitor calls GetManagedObjects every 0.5s and\n"
          "compares the result with the previous one: an event is reported up to half a\n"
          "second late, and a workload that comes and goes between two calls is missed.\n"
          "Where other users have workloads, each call asks org.pidbroker.manage.\n"
          "Workloads that exist when monitor starts are not reported. The broker sends no\n"
          "PropertiesChanged, so changed lines appear only from a broker that does.\n"
          "--json prints one object per line:\n"
          "  {\"time_usec\": USEC, \"event\": \"new\"|\"exited\"|\"changed\"|\"removed\",\n"
          "   \"path\": PATH, \"id\": ID|null, \"workload\": {...} (new; see 'help status'),\n"
          "   \"exit\": {\"code\": S, \"status\": N} (exited), \"changed\": {\"state\": S,\n"
          "   \"exit\": {...}|null} (changed)}\n" },
        { "daemon-reexec", V_DAEMON_REEXEC, 0, 0, PARSE_PERMUTE, verb_daemon_reexec,
          "daemon-reexec\n\n"
          "Make pidbrokerd re-execute its own binary (after an upgrade), keeping every\n"
          "workload, its id and its exit status. Asks org.pidbroker.manage-daemon (an\n"
          "administrator's). Returns once the new image is back on the bus.\n" },
        { "help", V_HELP, 0, 1, PARSE_PERMUTE, NULL,
          "help [COMMAND]\n\nShow help for pidbrokerctl or one of its commands.\n" },
};

static void help_overview(void) {
        printf("pidbrokerctl [OPTIONS...] COMMAND ...\n\n"
               "Run workloads through pidbrokerd and act on them by pidfd, never by a PID the\n"
               "kernel could have recycled.\n\n"
               "Commands:\n"
               "  run [OPTIONS] [--] CMD [ARGS...]  Spawn CMD as a workload (--wait to wait)\n"
               "  list                              List your workloads\n"
               "  status ID                         Show a workload\n"
               "  signal ID|--pid PID [SIG]         Send a signal (default SIGTERM; 0 probes)\n"
               "  stop ID                           SIGTERM, then SIGKILL after a timeout\n"
               "  wait ID                           Wait for exit, exit with its status\n"
               "  release ID                        Forget an exited workload\n"
               "  getfd ID|--pid PID FD [-- CMD...] Copy another process's fd (debuggers)\n"
               "  features                          Kernel features the broker probed\n"
               "  metrics                           Counters, Prometheus text format\n"
               "  audit                             Read the audit log\n"
               "  monitor                           Follow workload events\n"
               "  daemon-reexec                     Re-execute pidbrokerd, keeping workloads\n"
               "  help [COMMAND]                    Help for one command\n\n"
               "ID is a workload id, as 'run' and 'list' print it, or its object path\n"
               "/org/pidbroker/Broker1/workload/ID.\n\n"
               "Options:\n"
               "     --system              Use the system bus (default; $DBUS_SYSTEM_BUS_ADDRESS)\n"
               "     --direct[=PATH]       Use pidbrokerd's own socket, peer to peer\n"
               "                           (default " DEFAULT_PRIVATE_SOCKET ")\n"
               "     --address=ADDRESS     Use the bus at this D-Bus address\n"
               "     --json                JSON output (list, status, features, monitor, audit,\n"
               "                           run, getfd)\n"
               "  -v --verbose             Say more on stderr\n"
               "  -h --help                Show help (pidbrokerctl COMMAND --help: that command's)\n"
               "     --version             Show the version\n\n"
               "Exit status: 0 on success, 1 on failure, 2 on a usage error. 'run --wait' and\n"
               "'wait' exit with the workload's code, 128+N if signal N killed it, and 125,\n"
               "126, 127 when pidbrokerctl failed, CMD could not run, CMD was not found.\n"
               "Errors are one line on stderr: pidbrokerctl: <D-Bus error name>: <message>\n"
               "(org.freedesktop.DBus.Error.AccessDenied: the policy said no).\n\n"
               "Examples:\n"
               "  pidbrokerctl run --wait -- make -j8           # run it, exit with its code\n"
               "  id=$(pidbrokerctl run -q --fd=1:/dev/null -- sleep 600)   # in the background\n"
               "  pidbrokerctl status $id                       # how is it doing?\n"
               "  pidbrokerctl signal $id HUP                   # signal it, by pidfd\n"
               "  pidbrokerctl stop $id; pidbrokerctl release $id   # end it, forget it\n"
               "  pidbrokerctl monitor                          # events as they happen\n"
               "  pidbrokerctl getfd --pid 4242 3               # what is fd 3 of PID 4242?\n");
}

static void help_verb(const Verb *v) {
        printf("pidbrokerctl [OPTIONS...] %s\n"
               "Connection and output options (--system, --direct[=PATH], --address=ADDRESS,\n"
               "-v): see 'pidbrokerctl --help'.\n", v->help);
}

static const Verb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        return &verbs[i];
        return NULL;
}

enum {
        ARG_VERSION = 0x100,
        ARG_SYSTEM,
        ARG_DIRECT,
        ARG_ADDRESS,
        ARG_JSON,
        ARG_NS,
        ARG_USER,
        ARG_GROUP,
        ARG_CAP,
        ARG_SECCOMP,
        ARG_CLEAR_ENV,
        ARG_CWD,
        ARG_FD,
        ARG_WATCH,
        ARG_STOP_TIMEOUT,
        ARG_WAIT,
        ARG_SCOPE,
        ARG_AUDIT_LOG,
        ARG_ACTION,
        ARG_UID,
        ARG_SINCE,
        ARG_UNTIL,
        ARG_DECISION,
        ARG_RESULT,
        ARG_WORKLOAD,
        ARG_PID,
        ARG_HOSTNAME,
        ARG_UID_MAP,
        ARG_GID_MAP,
        ARG_UMASK,
        ARG_SETSID,
        ARG_NO_NEW_PRIVILEGES,
        ARG_CGROUP,
        ARG_EXE,
        ARG_GROUPS,
        ARG_KILL_MODE,
        ARG_RLIMIT,
        ARG_NICE,
        ARG_OOM_SCORE_ADJ,
        ARG_MEMORY_MAX,
        ARG_PIDS_MAX,
        ARG_CPU_WEIGHT,
        ARG_IO_WEIGHT,
        ARG_PTY,
        ARG_REQUIRE_PIDFD,
        _ARG_MAX,
};

static const struct option options[] = {
        { "help",         no_argument,       NULL, 'h' },
        { "version",      no_argument,       NULL, ARG_VERSION },
        { "system",       no_argument,       NULL, ARG_SYSTEM },
        { "direct",       optional_argument, NULL, ARG_DIRECT },
        { "address",      required_argument, NULL, ARG_ADDRESS },
        { "json",         no_argument,       NULL, ARG_JSON },
        { "verbose",      no_argument,       NULL, 'v' },
        { "quiet",        no_argument,       NULL, 'q' },
        { "ns",           required_argument, NULL, ARG_NS },
        { "namespaces",   required_argument, NULL, ARG_NS },
        { "user",         required_argument, NULL, ARG_USER },
        { "group",        required_argument, NULL, ARG_GROUP },
        { "cap",          required_argument, NULL, ARG_CAP },
        { "seccomp",      required_argument, NULL, ARG_SECCOMP },
        { "env",          required_argument, NULL, 'E' },
        { "clear-env",    no_argument,       NULL, ARG_CLEAR_ENV },
        { "cwd",          required_argument, NULL, ARG_CWD },
        { "fd",           required_argument, NULL, ARG_FD },
        { "watch",        no_argument,       NULL, ARG_WATCH },
        { "stop-timeout", required_argument, NULL, ARG_STOP_TIMEOUT },
        { "wait",         no_argument,       NULL, ARG_WAIT },
        { "same-dir",     no_argument,       NULL, 'd' },
        { "hostname",     required_argument, NULL, ARG_HOSTNAME },
        { "uid-map",      required_argument, NULL, ARG_UID_MAP },
        { "gid-map",      required_argument, NULL, ARG_GID_MAP },
        { "umask",        required_argument, NULL, ARG_UMASK },
        { "setsid",       required_argument, NULL, ARG_SETSID },
        { "no-new-privileges", required_argument, NULL, ARG_NO_NEW_PRIVILEGES },
        { "cgroup",       required_argument, NULL, ARG_CGROUP },
        { "exe",          required_argument, NULL, ARG_EXE },
        { "groups",       required_argument, NULL, ARG_GROUPS },
        { "kill-mode",    required_argument, NULL, ARG_KILL_MODE },
        { "rlimit",       required_argument, NULL, ARG_RLIMIT },
        { "nice",         required_argument, NULL, ARG_NICE },
        { "oom-score-adj", required_argument, NULL, ARG_OOM_SCORE_ADJ },
        { "memory-max",   required_argument, NULL, ARG_MEMORY_MAX },
        { "pids-max",     required_argument, NULL, ARG_PIDS_MAX },
        { "cpu-weight",   required_argument, NULL, ARG_CPU_WEIGHT },
        { "io-weight",    required_argument, NULL, ARG_IO_WEIGHT },
        { "property",     required_argument, NULL, 'p' },
        { "pty",          no_argument,       NULL, ARG_PTY },
        { "require-pidfd", no_argument,      NULL, ARG_REQUIRE_PIDFD },
        { "shell",        no_argument,       NULL, 'S' },
        { "pid",          required_argument, NULL, ARG_PID },
        { "scope",        required_argument, NULL, ARG_SCOPE },
        { "audit-log",    required_argument, NULL, ARG_AUDIT_LOG },
        { "action",       required_argument, NULL, ARG_ACTION },
        { "uid",          required_argument, NULL, ARG_UID },
        { "since",        required_argument, NULL, ARG_SINCE },
        { "until",        required_argument, NULL, ARG_UNTIL },
        { "decision",     required_argument, NULL, ARG_DECISION },
        { "result",       required_argument, NULL, ARG_RESULT },
        { "workload",     required_argument, NULL, ARG_WORKLOAD },
        { "follow",       no_argument,       NULL, 'f' },
        {}
};

/* Which verbs accept each option; global ones are V_ALL. */
static unsigned option_verbs(int c) {
        switch (c) {
        case ARG_JSON:
                return V_RUN | V_LIST | V_STATUS | V_FEATURES | V_AUDIT | V_MONITOR | V_GETFD;
        case 'q':
        case ARG_NS: case ARG_USER: case ARG_GROUP: case ARG_CAP: case ARG_SECCOMP: case 'E':
        case ARG_CLEAR_ENV: case ARG_CWD: case ARG_FD: case ARG_WATCH: case ARG_STOP_TIMEOUT:
        case ARG_WAIT: case 'd': case ARG_HOSTNAME: case ARG_UID_MAP: case ARG_GID_MAP: case ARG_UMASK:
        case ARG_SETSID: case ARG_NO_NEW_PRIVILEGES: case ARG_CGROUP: case ARG_EXE: case ARG_GROUPS:
        case ARG_KILL_MODE: case ARG_RLIMIT: case ARG_NICE: case ARG_OOM_SCORE_ADJ: case ARG_MEMORY_MAX:
        case ARG_PIDS_MAX: case ARG_CPU_WEIGHT: case ARG_IO_WEIGHT: case 'p': case ARG_PTY: case 'S':
        case ARG_REQUIRE_PIDFD:
                return V_RUN;
        case ARG_PID:
                return V_SIGNAL | V_GETFD;
        case ARG_SCOPE:
                return V_SIGNAL;
        case ARG_AUDIT_LOG: case ARG_ACTION: case ARG_UID: case ARG_SINCE: case 'f': case ARG_UNTIL:
        case ARG_DECISION: case ARG_RESULT: case ARG_WORKLOAD:
                return V_AUDIT;
        default:
                return V_ALL;
        }
}

static const char *option_name(int c) {
        if (c == 'h')
                return "--help";
        if (c == 'p')
                return "-p/--property";
        for (const struct option *o = options; o->name; o++)
                if (o->val == c) {
                        static char buf[32];
                        snprintf(buf, sizeof buf, "--%s", o->name);
                        return buf;
                }
        return "?";
}

static bool seen[_ARG_MAX];
static bool arg_help, arg_version;

static int parse_fd_arg(const char *s) {
        const char *colon = strchr(s, ':');
        _cleanup_free_ char *target_str = NULL;
        _cleanup_close_ int fd = -EBADF;
        int target, source;
        FdArg *n;

        if (!colon)
                return ctl_usage_error("--fd=%s: expected N:PATH or N:M", s);
        target_str = strndup(s, (size_t) (colon - s));
        if (!target_str)
                return -ENOMEM;
        if (parse_fd(target_str, &target) < 0)
                return ctl_usage_error("--fd=%s: '%s' is not an fd number", s, target_str);

        if (parse_fd(colon + 1, &source) >= 0) {
                /* Our own fd: dup'ed so that closing ours later is harmless. */
                fd = fcntl(source, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return ctl_error(-errno, NULL, "--fd=%s: fd %d", s, source);
        } else {
                const char *path = colon + 1;

                fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NOCTTY | O_CLOEXEC, 0666);
                if (fd < 0 && (errno == EACCES || errno == EISDIR || errno == EROFS || errno == EPERM))
                        fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
                if (fd < 0)
                        return ctl_error(-errno, NULL, "--fd=%s: cannot open %s", s, path);
        }

        for (size_t i = 0; i < arg.n_fds; i++)
                if (arg.fds[i].target == target) {
                        /* The last --fd for a target wins. */
                        safe_close(arg.fds[i].fd);
                        arg.fds[i].fd = TAKE_FD(fd);
                        return 0;
                }
        n = realloc(arg.fds, (arg.n_fds + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        arg.fds = n;
        arg.fds[arg.n_fds++] = (FdArg) { .target = target, .fd = TAKE_FD(fd) };
        return 0;
}

/* The flags of the resource options are spelt as their -p properties, so
 * one parser (ctl-run.c) reads both. */
static int add_property_flag(int c, const char *value) {
        static const struct {
                int c;
                const char *property;
        } table[] = {
                { ARG_KILL_MODE, "KillMode" },
                { ARG_NICE, "Nice" },
                { ARG_OOM_SCORE_ADJ, "OOMScoreAdjust" },
                { ARG_MEMORY_MAX, "MemoryMax" },
                { ARG_PIDS_MAX, "TasksMax" },
                { ARG_CPU_WEIGHT, "CPUWeight" },
                { ARG_IO_WEIGHT, "IOWeight" },
        };
        _cleanup_free_ char *assignment = NULL;

        if (c == ARG_RLIMIT) {
                /* --rlimit=NOFILE=1024[:4096] is LimitNOFILE=1024[:4096]. */
                if (!strchr(value, '='))
                        return ctl_usage_error("--rlimit=%s: expected NAME=SOFT[:HARD], e.g. NOFILE=1024:4096", value);
                if (asprintf(&assignment, "Limit%s", value) < 0)
                        return -ENOMEM;
        } else
                for (size_t i = 0; i < ELEMENTSOF(table); i++)
                        if (table[i].c == c && asprintf(&assignment, "%s=%s", table[i].property, value) < 0)
                                return -ENOMEM;
        if (!assignment)
                return -EINVAL;
        return strv_extend(&arg.properties, assignment);
}

static int parse_one_option(int c, const char *optarg_) {
        int r;

        if (c >= 0 && c < _ARG_MAX)
                seen[c] = true;

        switch (c) {
        case 'h':
                arg_help = true;
                return 0;
        case ARG_VERSION:
                arg_version = true;
                return 0;
        case ARG_SYSTEM:
                arg.transport = TRANSPORT_SYSTEM;
                arg.address = NULL;
                return 0;
        case ARG_DIRECT:
                arg.transport = TRANSPORT_DIRECT;
                arg.address = optarg_ && *optarg_ ? optarg_ : DEFAULT_PRIVATE_SOCKET;
                return 0;
        case ARG_ADDRESS:
                arg.transport = TRANSPORT_ADDRESS;
                arg.address = optarg_;
                return 0;
        case ARG_JSON:
                arg.json = true;
                return 0;
        case 'v':
                arg.verbose++;
                return 0;
        case 'q':
                arg.quiet = true;
                return 0;
        case ARG_NS:
                return strv_extend_split(&arg.namespaces, optarg_, ", ");
        case ARG_USER:
                arg.user = optarg_;
                return 0;
        case ARG_GROUP:
                arg.group = optarg_;
                return 0;
        case ARG_CAP:
                return strv_extend_split(&arg.capabilities, optarg_, ", ");
        case ARG_SECCOMP:
                arg.seccomp = optarg_;
                return 0;
        case 'E':
                /* NAME=VALUE, or NAME to pass ours on. */
                if (strchr(optarg_, '=') ? !env_assignment_is_valid(optarg_) : !env_name_is_valid(optarg_))
                        return ctl_usage_error("--env=%s: the name must not be empty", optarg_);
                return strv_extend(&arg.env, optarg_);
        case ARG_CLEAR_ENV:
                arg.clear_env = true;
                return 0;
        case ARG_CWD:
                arg.cwd = optarg_;
                return 0;
        case ARG_FD:
                return parse_fd_arg(optarg_);
        case ARG_WATCH:
                arg.watch = true;
                return 0;
        case ARG_STOP_TIMEOUT:
                r = parse_duration(optarg_, &arg.stop_timeout_usec);
                if (r < 0)
                        return ctl_usage_error("--stop-timeout=%s: not a duration (e.g. 10s, 500ms, 2min)", optarg_);
                arg.has_stop_timeout = true;
                return 0;
        case ARG_WAIT:
                arg.wait = true;
                return 0;
        case ARG_PID:
                if (parse_pid(optarg_, &arg.pid) < 0)
                        return ctl_usage_error("--pid=%s: not a process id", optarg_);
                arg.has_pid = true;
                return 0;
        case 'd':
                arg.cwd = ".";
                return 0;
        case ARG_HOSTNAME:
                arg.hostname = optarg_;
                return 0;
        case ARG_UID_MAP:
                return strv_extend(&arg.uid_map, optarg_);
        case ARG_GID_MAP:
                return strv_extend(&arg.gid_map, optarg_);
        case ARG_UMASK: {
                char *end;
                long v;

                errno = 0;
                v = strtol(optarg_, &end, 8);
                if (errno != 0 || end == optarg_ || *end || v < 0 || v > 0777)
                        return ctl_usage_error("--umask=%s: expected an octal mode, e.g. 027", optarg_);
                arg.umask = (int) v;
                return 0;
        }
        case ARG_SETSID:
        case ARG_NO_NEW_PRIVILEGES: {
                int b = parse_boolean(optarg_);

                if (b < 0)
                        return ctl_usage_error("%s=%s: expected yes or no", option_name(c), optarg_);
                *(c == ARG_SETSID ? &arg.setsid : &arg.no_new_privileges) = b;
                return 0;
        }
        case ARG_CGROUP:
                arg.cgroup = optarg_;
                return 0;
        case ARG_EXE:
                arg.exe = optarg_;
                return 0;
        case ARG_GROUPS:
                arg.groups = optarg_;
                return 0;
        case 'p':
                /* systemd-run's spelling; checked when run builds the call. */
                if (!strchr(optarg_, '='))
                        return ctl_usage_error("-p %s: expected NAME=VALUE, e.g. MemoryMax=1G", optarg_);
                return strv_extend(&arg.properties, optarg_);
        case ARG_KILL_MODE: case ARG_RLIMIT: case ARG_NICE: case ARG_OOM_SCORE_ADJ: case ARG_MEMORY_MAX:
        case ARG_PIDS_MAX: case ARG_CPU_WEIGHT: case ARG_IO_WEIGHT:
                return add_property_flag(c, optarg_);
        case ARG_PTY:
                arg.pty = true;
                return 0;
        case ARG_REQUIRE_PIDFD:
                arg.require_pidfd = true;
                return 0;
        case 'S':
                arg.shell = true;
                arg.pty = true;
                return 0;
        case ARG_SCOPE:
                if (strcmp(optarg_, "thread") == 0)
                        arg.scope = SCOPE_THREAD;
                else if (strcmp(optarg_, "process") == 0)
                        arg.scope = SCOPE_PROCESS;
                else if (strcmp(optarg_, "group") == 0)
                        arg.scope = SCOPE_GROUP;
                else
                        return ctl_usage_error("--scope=%s: expected thread, process or group", optarg_);
                return 0;
        case ARG_AUDIT_LOG:
                arg.audit_log = optarg_;
                return 0;
        case ARG_ACTION:
                arg.action = optarg_;
                return 0;
        case ARG_UID:
                if (get_user_creds(optarg_, &arg.uid, NULL) < 0)
                        return ctl_usage_error("--uid=%s: no such user", optarg_);
                arg.has_uid = true;
                return 0;
        case ARG_SINCE:
        case ARG_UNTIL:
                if (parse_timestamp(optarg_, c == ARG_SINCE ? &arg.since_usec : &arg.until_usec) < 0)
                        return ctl_usage_error("%s=%s: not a time (try 2024-05-01, -10min, '1h ago', today)",
                                               option_name(c), optarg_);
                *(c == ARG_SINCE ? &arg.has_since : &arg.has_until) = true;
                return 0;
        case ARG_DECISION:
                if (strcmp(optarg_, "allow") != 0 && strcmp(optarg_, "deny") != 0)
                        return ctl_usage_error("--decision=%s: expected allow or deny", optarg_);
                arg.decision = optarg_;
                return 0;
        case ARG_RESULT:
                arg.result = optarg_;
                return 0;
        case ARG_WORKLOAD:
                arg.workload = optarg_;
                return 0;
        case 'f':
                arg.follow = true;
                return 0;
        case '?':
        default:
                /* getopt_long() has said what was wrong. */
                return -EINVAL;
        }
}

/* Parse options of argv[0..argc) (argv[0] is the program or verb name). */
static int parse_options(int argc, char *argv[], bool stop_at_first_word) {
        int c, r;

        optind = 0; /* full re-initialisation, so a second pass works */
        opterr = 0;  /* argv[0] is the verb in the second pass: say it ourselves */
        while ((c = getopt_long(argc, argv, stop_at_first_word ? "+hvqE:p:fdS" : "hvqE:p:fdS", options, NULL)) >= 0) {
                if (c == '?')
                        return ctl_usage_error("unknown option or missing argument: %s; see 'pidbrokerctl --help'",
                                               argv[optind - 1]);
                r = parse_one_option(c, optarg);
                if (r < 0)
                        return r;
        }
        return optind;
}

static void args_done(void) {
        strv_free(arg.namespaces);
        strv_free(arg.capabilities);
        strv_free(arg.env);
        strv_free(arg.uid_map);
        strv_free(arg.gid_map);
        strv_free(arg.properties);
        for (size_t i = 0; i < arg.n_fds; i++)
                safe_close(arg.fds[i].fd);
        free(arg.fds);
}

static int run(int argc, char *argv[]) {
        const Verb *verb;
        char **rest, **cmd = NULL;
        int n_rest, n_cmd = 0, r;

        /* Options before the verb. */
        r = parse_options(argc, argv, true);
        if (r < 0)
                return EXIT_USAGE;
        if (arg_version) {
                printf("pidbrokerctl %s\n", PIDBROKER_VERSION);
                return 0;
        }
        if (r >= argc) {
                if (arg_help) {
                        help_overview();
                        return 0;
                }
                ctl_usage_error("missing command; see 'pidbrokerctl --help'");
                return EXIT_USAGE;
        }

        verb = find_verb(argv[r]);
        if (!verb) {
                ctl_usage_error("unknown command '%s'; see 'pidbrokerctl --help'", argv[r]);
                return EXIT_USAGE;
        }
        argc -= r;
        argv += r;

        /* Options after the verb; getfd's CMD is whatever follows "--". */
        if (verb->mode == PARSE_DASHDASH_CMD)
                for (int i = 1; i < argc; i++)
                        if (strcmp(argv[i], "--") == 0) {
                                cmd = argv + i + 1;
                                n_cmd = argc - i - 1;
                                argc = i;
                                break;
                        }
        r = parse_options(argc, argv, verb->mode == PARSE_COMMAND);
        if (r < 0)
                return EXIT_USAGE;
        rest = argv + r;
        n_rest = argc - r;

        if (verb->bit == V_HELP || arg_help) {
                const Verb *about = verb->bit == V_HELP && n_rest > 0 ? find_verb(rest[0]) : verb;

                if (!about) {
                        ctl_usage_error("unknown command '%s'", rest[0]);
                        return EXIT_USAGE;
                }
                if (about->bit == V_HELP)
                        help_overview();
                else
                        help_verb(about);
                return 0;
        }

        for (int c = 0; c < _ARG_MAX; c++)
                if (seen[c] && !(option_verbs(c) & verb->bit)) {
                        if (c == ARG_JSON && verb->bit == V_METRICS)
                                ctl_usage_error("metrics prints the Prometheus text format only; --json does not apply");
                        else
                                ctl_usage_error("%s is not an option of '%s'; see 'pidbrokerctl %s --help'",
                                                option_name(c), verb->name, verb->name);
                        return EXIT_USAGE;
                }

        if (n_rest < verb->min_args || (verb->max_args >= 0 && n_rest > verb->max_args)) {
                ctl_usage_error("wrong number of arguments for '%s'; see 'pidbrokerctl %s --help'",
                                verb->name, verb->name);
                return EXIT_USAGE;
        }

        if (verb->bit == V_GETFD && n_rest != (arg.has_pid ? 1 : 2)) {
                ctl_usage_error("getfd takes WORKLOAD FD, or --pid PID FD; see 'pidbrokerctl getfd --help'");
                return EXIT_USAGE;
        }

        if (verb->mode == PARSE_DASHDASH_CMD) {
                /* getfd FD -- CMD: hand the verb FD followed by CMD. */
                _cleanup_free_ char **joined = calloc((size_t) (n_rest + n_cmd + 1), sizeof(char *));
                if (!joined)
                        return EXIT_FAILURE;
                for (int i = 0; i < n_rest; i++)
                        joined[i] = rest[i];
                for (int i = 0; i < n_cmd; i++)
                        joined[n_rest + i] = cmd[i];
                r = verb->func(n_rest + n_cmd, joined);
        } else
                r = verb->func(n_rest, rest);

        return r;
}

int main(int argc, char *argv[]) {
        int r;

        setlocale(LC_ALL, "");
        r = run(argc, argv);
        ctl_disconnect();
        args_done();
        if (ctl_usage_error_seen())
                return EXIT_USAGE;
        if (r < 0)
                return EXIT_FAILURE;
        return r > 255 ? EXIT_FAILURE : r;
}
