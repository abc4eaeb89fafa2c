/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pidbrokerctl end to end: the real binary ($PIDBROKERCTL) against the real
 * pidbrokerd on the private test bus of tests/daemon-harness.c (dbus-daemon
 * and dbus-broker, --bus=), as root and as nobody. JSON and Prometheus output
 * are checked by small python3 programs. Nothing is printed to stdout but
 * TAP. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "spawn-args.h"
#include "test-util.h"

static struct {
        const char *bin;         /* $PIDBROKERCTL */
        const char *bin_public;  /* a copy nobody can execute */
        char *python;
        bool daemon_configured;
} ctl;

/* The harness's daemon forgets an exited workload 1s after its owner left,
 * and allows 6 per user; pidbrokerctl's owner leaves at once and later
 * commands ask about exited workloads, so restart it once with room. */
static void ctl_daemon_setup(void) {
        if (ctl.daemon_configured)
                return;
        daemon_restart((const char *const[]) { "--exit-retention-sec=60", "--max-workloads-per-user=64", NULL });
        ctl.daemon_configured = true;
}

/* ---------- running pidbrokerctl ---------- */

typedef struct Ctl {
        int exit;      /* exit code, or 128+signal */
        char *out;
        char *err;
} Ctl;

static void ctl_clear(Ctl *c) {
        g_clear_pointer(&c->out, g_free);
        g_clear_pointer(&c->err, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Ctl, ctl_clear)

static void drop_to_nobody(gpointer data) {
        /* Between fork and exec: syscalls only. */
        if (setgroups(0, NULL) < 0 || setresgid(UID_NOBODY, UID_NOBODY, UID_NOBODY) < 0 ||
            setresuid(UID_NOBODY, UID_NOBODY, UID_NOBODY) < 0)
                _exit(124);
}

static int wait_status_to_exit(int status) {
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return -1;
}

static char **ctl_envp(void) {
        char **envp = g_get_environ();
        envp = g_environ_setenv(envp, "DBUS_SYSTEM_BUS_ADDRESS", T.address, TRUE);
        envp = g_environ_setenv(envp, "LC_ALL", "C", TRUE);
        return envp;
}

/* Run pidbrokerctl with args (NULL-terminated), as root or nobody, in cwd. */
static void ctl_run_in(Ctl *c, bool nobody, const char *cwd, const char *const *args) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_auto(GStrv) envp = ctl_envp();
        g_autoptr(GError) e = NULL;
        g_autofree char *joined = NULL;
        int status;

        ctl_daemon_setup();

        /* nobody runs a public copy: the build tree may be out of its reach. */
        g_ptr_array_add(argv, (char *) (nobody ? ctl.bin_public : ctl.bin));
        for (size_t i = 0; args[i]; i++)
                g_ptr_array_add(argv, (char *) args[i]);
        g_ptr_array_add(argv, NULL);
        joined = g_strjoinv(" ", (char **) argv->pdata);
        g_test_message("%s$ %s", nobody ? "nobody" : "root", joined);

        g_assert_true(g_spawn_sync(cwd, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, nobody ? drop_to_nobody : NULL,
                                   NULL, &c->out, &c->err, &status, &e));
        g_assert_no_error(e);
        c->exit = wait_status_to_exit(status);
        g_test_message("exit %d; stdout: %s; stderr: %s", c->exit, c->out, c->err);
}

static void ctl_run_as(Ctl *c, bool nobody, const char *const *args) {
        ctl_run_in(c, nobody, "/", args);
}

#define CTL(c, ...) ctl_run_as((c), false, (const char *const[]) { __VA_ARGS__, NULL })
#define CTL_NOBODY(c, ...) ctl_run_as((c), true, (const char *const[]) { __VA_ARGS__, NULL })

/* An error is one line "pidbrokerctl: NAME: message". */
static void assert_one_line_error(const Ctl *c, const char *name) {
        g_autofree char *prefix = g_strdup_printf("pidbrokerctl: %s: ", name);

        g_assert_cmpint(c->exit, !=, 0);
        g_assert_true(g_str_has_prefix(c->err, prefix));
        g_assert_true(g_str_has_suffix(c->err, "\n"));
        g_assert_true(strchr(c->err, '\n') == c->err + strlen(c->err) - 1);
}

/* A local failure is one line "pidbrokerctl: CONTEXT: reason", never dressed
 * as a D-Bus error. */
static void assert_one_line_local_error(const Ctl *c, const char *text) {
        g_assert_cmpint(c->exit, !=, 0);
        g_assert_true(g_str_has_prefix(c->err, "pidbrokerctl: "));
        g_assert_nonnull(strstr(c->err, text));
        g_assert_null(strstr(c->err, "org.freedesktop.DBus.Error"));
        g_assert_null(strstr(c->err, "System.Error"));
        g_assert_true(strchr(c->err, '\n') == c->err + strlen(c->err) - 1);
}

/* Run python3 -c program with the text as a file in argv[1]; true if it exits 0. */
static bool python_check(const char *program, const char *text) {
        g_autofree char *path = g_build_filename(T.dir, "check-input", NULL);
        g_autofree char *out = NULL, *err = NULL;
        g_autoptr(GError) e = NULL;
        const char *argv[] = { ctl.python, "-c", program, path, NULL };
        int status;

        g_assert_true(g_file_set_contents(path, text, -1, &e));
        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &e));
        g_assert_no_error(e);
        if (!g_spawn_check_wait_status(status, NULL)) {
                g_test_message("python check failed: %s%s", out, err);
                return false;
        }
        return true;
}

#define REQUIRE_PYTHON()                                        \
        do {                                                    \
                if (!ctl.python) {                                \
                        g_test_skip("python3 is not installed"); \
                        return;                                 \
                }                                               \
        } while (0)

/* Start a workload in the background, its stdout away from our pipe (else
 * g_spawn_sync would wait for the workload to close it); returns its id. */
static char *start_sleeper(void) {
        g_auto(Ctl) c = {};
        char *id;

        CTL(&c, "run", "-q", "--fd=1:/dev/null", "--fd=2:/dev/null", "--", "sleep", "120");
        g_assert_cmpint(c.exit, ==, 0);
        id = g_strstrip(g_strdup(c.out));
        g_assert_true(g_ascii_isdigit(id[0]));
        return id;
}

static char *status_field(const char *id, const char *key) {
        g_auto(Ctl) c = {};
        g_autofree char *path = g_build_filename(T.dir, "status.json", NULL);
        g_autofree char *out = NULL;
        g_autoptr(GError) e = NULL;
        g_autofree char *prog = g_strdup_printf("import json,sys; print(json.dumps(json.load(open(sys.argv[1]))%s))", key);
        const char *argv[] = { ctl.python, "-c", prog, path, NULL };
        int status;

        CTL(&c, "status", "--json", id);
        g_assert_cmpint(c.exit, ==, 0);
        g_assert_true(g_file_set_contents(path, c.out, -1, &e));
        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &e));
        g_assert_true(g_spawn_check_wait_status(status, NULL));
        return g_strstrip(g_steal_pointer(&out));
}

/* A plain child of the test (not a workload) holding file as fd 5. */
static pid_t start_fd_holder(const char *file, struct stat *ret_st) {
        int fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        pid_t pid;

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(fstat(fd, ret_st), ==, 0);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                if (dup2(fd, 5) < 0)
                        _exit(126);
                execl("/bin/sleep", "sleep", "120", (char *) NULL);
                _exit(127);
        }
        close(fd);
        return pid;
}

static void stop_child(pid_t pid) {
        int status;

        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
}

/* ---------- tests ---------- */

/* The lines of the first ``` block in the "## VERB" section of
 * pidbrokerctl(1): the output format the page documents. */
static char **man_output_format(const char *verb) {
        g_autofree char *path = g_build_filename(g_getenv("PIDBROKER_SOURCE_ROOT"), "man", "pidbrokerctl.1.scd", NULL);
        g_autofree char *scd = NULL;
        g_autofree char *heading = g_strdup_printf("\n## %s ", verb);
        g_assert_true(g_file_get_contents(path, &scd, NULL, NULL));
        const char *sec = strstr(scd, heading);
        g_assert_nonnull(sec);
        const char *open = strstr(sec, "\n```\n");
        g_assert_nonnull(open);
        open += 5;
        const char *close = strstr(open, "```");
        g_assert_nonnull(close);
        g_autofree char *block = g_strndup(open, (gsize) (close - open));
        g_strchomp(block);
        return g_strsplit(block, "\n", -1);
}

/* A verb's --help shows the output format its man page documents. */
static void assert_help_shows_man_format(const char *verb, const char *help) {
        g_auto(GStrv) lines = man_output_format(verb);
        g_assert_nonnull(lines[0]);
        for (char **l = lines; *l; l++)
                if (!strstr(help, *l))
                        g_error("'%s --help' lacks the line of pidbrokerctl(1): %s", verb, *l);
}

static void test_help(void) {
        g_auto(Ctl) c = {}, v = {}, u = {};
        static const char *const verbs[] = { "run", "list", "status", "signal", "stop", "wait", "release",
                                             "getfd", "features", "metrics", "audit", "monitor" };

        CTL(&c, "--help");
        g_assert_cmpint(c.exit, ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
                g_auto(Ctl) h = {};
                g_assert_nonnull(strstr(c.out, verbs[i]));
                CTL(&h, verbs[i], "--help");
                g_assert_cmpint(h.exit, ==, 0);
                g_assert_true(strlen(h.out) > 40);
        }
        /* What the help says about audit and monitor output is what the man
         * page (and the code) say: #SEQ and outcome lines; monitor polls,
         * since the broker sends no PropertiesChanged. */
        g_auto(Ctl) a = {}, m = {};
        CTL(&a, "audit", "--help");
        assert_help_shows_man_format("audit", a.out);
        CTL(&m, "monitor", "--help");
        assert_help_shows_man_format("monitor", m.out);
        g_assert_nonnull(strstr(m.out, "GetManagedObjects every 0.5s"));
        g_assert_nonnull(strstr(m.out, "The broker sends no\nPropertiesChanged"));

        CTL(&v, "--version");
        g_assert_cmpint(v.exit, ==, 0);
        g_assert_true(g_str_has_prefix(v.out, "pidbrokerctl "));

        /* Usage errors: one line, exit 2. */
        CTL(&u, "list", "--ns=pid");
        g_assert_cmpint(u.exit, ==, 2);
        g_assert_true(g_str_has_prefix(u.err, "pidbrokerctl: "));
}

static void test_run_wait_exit_code(void) {
        g_auto(Ctl) c = {}, k = {}, nf = {};

        /* Output passes through untouched, nothing of ours is added. */
        CTL(&c, "run", "--wait", "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7");
        g_assert_cmpint(c.exit, ==, 7);
        g_assert_cmpstr(c.out, ==, "to-stdout\n");
        g_assert_cmpstr(c.err, ==, "to-stderr\n");

        CTL(&k, "run", "--wait", "--", "sh", "-c", "kill -KILL $$");
        g_assert_cmpint(k.exit, ==, 128 + SIGKILL);
        g_assert_cmpstr(k.out, ==, "");

        CTL(&nf, "run", "--wait", "--", "no-such-command-pidbroker-test");
        g_assert_cmpint(nf.exit, ==, 127);
        g_assert_true(g_str_has_prefix(nf.err, "pidbrokerctl: "));
}

/* What run --wait waited for it releases: nothing of it is left to list,
 * though ExitRetentionSec would keep it a minute. */
static void test_run_wait_releases(void) {
        g_auto(Ctl) c = {}, l = {};

        CTL_NOBODY(&c, "run", "--wait", "--", "sh", "-c", "exit 3", "pidbroker-run-wait-release");
        g_assert_cmpint(c.exit, ==, 3);
        CTL_NOBODY(&l, "list");
        g_assert_cmpint(l.exit, ==, 0);
        g_assert_null(strstr(l.out, "pidbroker-run-wait-release"));
}

static void test_run_env_and_cwd(void) {
        g_auto(Ctl) c = {}, clear = {};

        CTL(&c, "run", "--wait", "--env=PB_TEST=hello world", "--cwd=/tmp", "--", "sh", "-c",
            "printf '%s|%s|%s\\n' \"$PB_TEST\" \"$(pwd)\" \"${LC_ALL-unset}\"");
        g_assert_cmpint(c.exit, ==, 0);
        /* LC_ALL comes from pidbrokerctl's own environment. */
        g_assert_cmpstr(c.out, ==, "hello world|/tmp|C\n");

        CTL(&clear, "run", "--wait", "--clear-env", "--env=ONLY=1", "--", "/usr/bin/env");
        g_assert_cmpint(clear.exit, ==, 0);
        g_assert_cmpstr(clear.out, ==, "ONLY=1\n");
}

static void test_run_namespaces(void) {
        g_auto(Ctl) c = {}, same = {};
        g_autofree char *outside = g_file_read_link("/proc/self/ns/pid", NULL);
        g_autofree char *outside_line = g_strdup_printf("%s\n", outside);

        CTL(&c, "run", "--wait", "--ns=pid,mount,net", "--", "readlink", "/proc/self/ns/pid");
        g_assert_cmpint(c.exit, ==, 0);
        g_assert_true(g_str_has_prefix(c.out, "pid:["));
        g_assert_cmpstr(c.out, !=, outside_line);

        CTL(&same, "run", "--wait", "--", "readlink", "/proc/self/ns/pid");
        g_assert_cmpint(same.exit, ==, 0);
        g_assert_cmpstr(same.out, ==, outside_line);
}

static void test_signal_stop_wait_release(void) {
        g_autofree char *id1 = start_sleeper(), *id2 = NULL;
        g_autofree char *state = NULL, *exit_obj = NULL;
        g_auto(Ctl) sig = {}, w = {}, stop = {}, rel = {}, gone = {}, again = {}, probe = {}, probe_gone = {};

        REQUIRE_PYTHON();

        state = status_field(id1, "['state']");
        g_assert_cmpstr(state, ==, "\"running\"");

        /* Signal 0 is kill -0: a liveness probe that changes nothing. */
        CTL(&probe, "signal", id1, "0");
        g_assert_cmpint(probe.exit, ==, 0);
        g_assert_cmpstr(probe.out, ==, "");
        g_free(state);
        state = status_field(id1, "['state']");
        g_assert_cmpstr(state, ==, "\"running\"");

        CTL(&sig, "signal", id1, "USR1");
        g_assert_cmpint(sig.exit, ==, 0);
        g_assert_cmpstr(sig.out, ==, "");
        CTL(&w, "wait", id1);
        g_assert_cmpint(w.exit, ==, 128 + SIGUSR1);

        /* Gone now: the pidfd promise, a named error and never a stranger. */
        CTL(&again, "signal", id1, "TERM");
        assert_one_line_error(&again, "org.pidbroker.Error.NoSuchProcess");
        CTL(&probe_gone, "signal", id1, "0");
        assert_one_line_error(&probe_gone, "org.pidbroker.Error.NoSuchProcess");

        id2 = start_sleeper();
        CTL(&stop, "stop", id2);
        g_assert_cmpint(stop.exit, ==, 0);
        exit_obj = status_field(id2, "['exit']");
        g_assert_cmpstr(exit_obj, ==, "{\"code\": \"killed\", \"status\": 15}");

        CTL(&rel, "release", id2);
        g_assert_cmpint(rel.exit, ==, 0);
        CTL(&gone, "status", id2);
        g_assert_cmpint(gone.exit, ==, 1);
        g_assert_true(g_str_has_prefix(gone.err, "pidbrokerctl: org.freedesktop.DBus.Error."));
}

static void test_signal_pid(void) {
        g_autofree char *file = g_build_filename(T.dir, "holder", NULL);
        g_autofree char *pidstr = NULL;
        g_auto(Ctl) c = {};
        struct stat st;
        pid_t pid = start_fd_holder(file, &st);
        int status;

        pidstr = g_strdup_printf("%d", (int) pid);
        CTL(&c, "signal", "--pid", pidstr, "SIGTERM");
        g_assert_cmpint(c.exit, ==, 0);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFSIGNALED(status));
        g_assert_cmpint(WTERMSIG(status), ==, SIGTERM);
}

/* The documented schema of a workload object, checked key by key. */
static const char WORKLOAD_SCHEMA_PY[] =
        "import json, sys\n"
        "def check(w):\n"
        "    keys = {'id','path','pid','argv','owner_uid','user','state','exit','namespaces','created_usec','control_path'}\n"
        "    assert set(w) == keys, set(w) ^ keys\n"
        "    assert isinstance(w['id'], int) and w['id'] > 0\n"
        "    assert w['path'] == '/org/pidbroker/Broker1/workload/%d' % w['id']\n"
        "    assert isinstance(w['pid'], int) and w['pid'] > 0\n"
        "    assert isinstance(w['argv'], list) and all(isinstance(a, str) for a in w['argv'])\n"
        "    assert w['argv'][0].startswith('/')\n"
        "    assert isinstance(w['owner_uid'], int) and isinstance(w['user'], int)\n"
        "    assert w['state'] in ('running', 'exited')\n"
        "    if w['state'] == 'running': assert w['exit'] is None\n"
        "    else: assert w['exit']['code'] in ('exited','killed','dumped') and isinstance(w['exit']['status'], int)\n"
        "    assert isinstance(w['namespaces'], dict) and all(isinstance(v, int) for v in w['namespaces'].values())\n"
        "    assert isinstance(w['created_usec'], int)\n"
        "    assert w['control_path'] in ('pidfd', 'legacy_pid')\n";

static void test_list_json(void) {
        g_autofree char *id1 = NULL, *id2 = NULL, *prog = NULL;
        g_auto(Ctl) c = {}, human = {}, s1 = {}, s2 = {};

        REQUIRE_PYTHON();
        id1 = start_sleeper();
        id2 = start_sleeper();

        CTL(&c, "list", "--json");
        g_assert_cmpint(c.exit, ==, 0);
        prog = g_strdup_printf("%s"
                               "l = json.load(open(sys.argv[1]))\n"
                               "assert isinstance(l, list)\n"
                               "for w in l: check(w)\n"
                               "ids = [w['id'] for w in l]\n"
                               "assert ids == sorted(ids)\n"
                               "assert %s in ids and %s in ids, ids\n"
                               "assert all(w['state'] == 'running' for w in l if w['id'] in (%s, %s))\n",
                               WORKLOAD_SCHEMA_PY, id1, id2, id1, id2);
        g_assert_true(python_check(prog, c.out));

        CTL(&human, "list");
        g_assert_cmpint(human.exit, ==, 0);
        g_assert_true(g_str_has_prefix(human.out, "ID "));
        g_assert_nonnull(strstr(human.out, "/usr/bin/sleep 120"));

        CTL(&s1, "stop", id1);
        CTL(&s2, "stop", id2);
        g_assert_cmpint(s1.exit, ==, 0);
        g_assert_cmpint(s2.exit, ==, 0);
}

static void test_status_json(void) {
        g_autofree char *id = NULL, *prog = NULL, *path = NULL;
        g_auto(Ctl) c = {}, bypath = {}, stop = {};

        REQUIRE_PYTHON();
        id = start_sleeper();
        CTL(&c, "status", "--json", id);
        g_assert_cmpint(c.exit, ==, 0);
        prog = g_strdup_printf("%scheck(json.load(open(sys.argv[1])))\n", WORKLOAD_SCHEMA_PY);
        g_assert_true(python_check(prog, c.out));

        /* An object path names the same workload. */
        path = g_strdup_printf("/org/pidbroker/Broker1/workload/%s", id);
        CTL(&bypath, "status", "--json", path);
        g_assert_cmpstr(bypath.out, ==, c.out);

        CTL(&stop, "stop", id);
}

static void test_features_json(void) {
        g_auto(Ctl) c = {}, human = {};

        REQUIRE_PYTHON();
        CTL(&c, "features", "--json");
        g_assert_cmpint(c.exit, ==, 0);
        g_assert_true(python_check(
                "import json, sys\n"
                "d = json.load(open(sys.argv[1]))\n"
                "assert set(d) == {'version','control_path','policy_backend','features'}, set(d)\n"
                "assert isinstance(d['version'], str) and d['version']\n"
                "assert d['control_path'] in ('pidfd', 'legacy_pid')\n"
                "assert d['policy_backend'] in ('embedded', 'polkit')\n"
                "assert len(d['features']) > 0\n"
                "for f in d['features']:\n"
                "    assert set(f) == {'name','available','detail'}, f\n"
                "    assert isinstance(f['name'], str) and isinstance(f['available'], bool) and isinstance(f['detail'], str)\n"
                "assert 'pidfd_open' in [f['name'] for f in d['features']]\n",
                c.out));

        CTL(&human, "features");
        g_assert_cmpint(human.exit, ==, 0);
        g_assert_nonnull(strstr(human.out, "pidfd_open"));
}

static void test_metrics(void) {
        g_auto(Ctl) run = {}, c = {};

        REQUIRE_PYTHON();
        CTL(&run, "run", "--wait", "--", "true");
        g_assert_cmpint(run.exit, ==, 0);

        CTL(&c, "metrics");
        g_assert_cmpint(c.exit, ==, 0);
        /* The text exposition format: HELP/TYPE once per family, before its
         * samples, samples of a family contiguous, counters named *_total. */
        g_assert_true(python_check(
                "import re, sys\n"
                "name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'\n"
                "label = r'[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\.)*\"'\n"
                "sample = re.compile(r'^(' + name + r')(\\{' + label + r'(?:,' + label + r')*\\})? (-?[0-9.]+(?:[eE][-+]?[0-9]+)?|NaN|[-+]Inf)$')\n"
                "types, seen, done, current, values = {}, set(), set(), None, {}\n"
                "text = open(sys.argv[1]).read()\n"
                "assert text.endswith('\\n')\n"
                "for line in text.splitlines():\n"
                "    if line.startswith('# HELP '):\n"
                "        fam = line.split(' ')[2]; assert re.fullmatch(name, fam), line\n"
                "        assert fam not in seen, 'HELP twice: ' + fam; seen.add(fam)\n"
                "    elif line.startswith('# TYPE '):\n"
                "        _, _, fam, t = line.split(' '); assert t in ('counter','gauge','untyped','summary','histogram')\n"
                "        assert fam not in types, 'TYPE twice: ' + fam; types[fam] = t\n"
                "        if current: done.add(current)\n"
                "        current = fam\n"
                "    else:\n"
                "        m = sample.match(line); assert m, 'bad sample: ' + line\n"
                "        fam = m.group(1); assert fam == current and fam not in done, 'not contiguous: ' + line\n"
                "        if types[fam] == 'counter': assert fam.endswith('_total') and float(m.group(3)) >= 0\n"
                "        assert fam.startswith('pidbroker_')\n"
                "        values[fam + (m.group(2) or '')] = float(m.group(3))\n"
                "assert values['pidbroker_spawns_total{result=\"ok\"}'] >= 1, values\n"
                "assert 'pidbroker_signals_total{signal_result=\"esrch\"}' in values\n"
                "assert 'pidbroker_waits_total{wait_result=\"exited\"}' in values\n"
                "assert 'pidbroker_operations_total{control_path=\"pidfd\"}' in values\n"
                "assert any(k.startswith('pidbroker_info{') for k in values)\n",
                c.out));
}

static void test_getfd_root(void) {
        g_autofree char *file = g_build_filename(T.dir, "getfd-target", NULL);
        g_autofree char *pidstr = NULL, *want_inode = NULL, *prog = NULL;
        g_auto(Ctl) desc = {}, json = {}, cmd = {};
        struct stat st;
        pid_t pid;

        REQUIRE_PYTHON();
        pid = start_fd_holder(file, &st);
        pidstr = g_strdup_printf("%d", (int) pid);
        want_inode = g_strdup_printf("%" PRIu64, (uint64_t) st.st_ino);

        CTL(&desc, "getfd", "--pid", pidstr, "5");
        g_assert_cmpint(desc.exit, ==, 0);
        g_assert_nonnull(strstr(desc.out, file));
        g_assert_nonnull(strstr(desc.out, "regular file"));

        CTL(&json, "getfd", "--json", "--pid", pidstr, "5");
        g_assert_cmpint(json.exit, ==, 0);
        prog = g_strdup_printf("import json, sys, os\n"
                               "d = json.load(open(sys.argv[1]))\n"
                               "assert d['inode'] == %s and d['type'] == 'regular' and d['fd'] == 5, d\n"
                               "assert d['pid'] == %s and d['path'] == '%s', d\n"
                               "st = os.stat(d['path'])\n"
                               "assert (st.st_ino, '%%d:%%d' %% (os.major(st.st_dev), os.minor(st.st_dev))) == (d['inode'], d['dev']), d\n"
                               "assert d['flags'].startswith('O_RDWR')\n",
                               want_inode, pidstr, file);
        g_assert_true(python_check(prog, json.out));

        /* With a command: the fd is its fd 3, the same open file. */
        CTL(&cmd, "getfd", "--pid", pidstr, "5", "--", "sh", "-c", "stat -L -c %i /proc/self/fd/3");
        g_assert_cmpint(cmd.exit, ==, 0);
        g_assert_cmpstr(g_strstrip(cmd.out), ==, want_inode);

        stop_child(pid);
}

static void test_getfd_unprivileged(void) {
        g_autofree char *file = g_build_filename(T.dir, "getfd-private", NULL);
        g_autofree char *pidstr = NULL;
        g_auto(Ctl) c = {};
        struct stat st;
        pid_t pid;

        pid = start_fd_holder(file, &st);

        pidstr = g_strdup_printf("%d", (int) pid);
        CTL_NOBODY(&c, "getfd", "--pid", pidstr, "5");
        /* Denied by policy (org.pidbroker.getfd is auth_admin), said clearly. */
        assert_one_line_error(&c, "org.freedesktop.DBus.Error.AccessDenied");
        g_assert_nonnull(strstr(c.err, "getfd"));
        g_assert_cmpstr(c.out, ==, "");
        stop_child(pid);
}

/* The denial above leaves an audit record, and `audit` finds it. */
static void test_audit_getfd_denied(void) {
        g_autofree char *file = g_build_filename(T.dir, "getfd-audited", NULL);
        g_autofree char *pidstr = NULL, *log_arg = NULL;
        g_auto(Ctl) denied = {}, a = {}, human = {};
        struct stat st;
        pid_t pid;

        REQUIRE_PYTHON();
        pid = start_fd_holder(file, &st);
        pidstr = g_strdup_printf("%d", (int) pid);
        CTL_NOBODY(&denied, "getfd", "--pid", pidstr, "5");
        stop_child(pid);
        g_assert_cmpint(denied.exit, ==, 1);

        if (!g_file_test(T.audit_log, G_FILE_TEST_EXISTS)) {
                g_test_skip("pidbrokerd wrote no audit log (audit not wired into the daemon yet)");
                return;
        }
        log_arg = g_strdup_printf("--audit-log=%s", T.audit_log);
        CTL(&a, "audit", log_arg, "--action=getfd", "--uid=65534", "--json");
        g_assert_cmpint(a.exit, ==, 0);
        g_assert_true(python_check("import json, sys\n"
                                   "recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]\n"
                                   "assert recs, 'no record'\n"
                                   "for r in recs:\n"
                                   "    assert r['action'] == 'org.pidbroker.getfd' and r['subject']['uid'] == 65534\n"
                                   "assert any(r['decision'] == 'deny' for r in recs)\n",
                                   a.out));
        CTL(&human, "audit", log_arg, "--action=getfd", "--uid=nobody");
        g_assert_cmpint(human.exit, ==, 0);
        g_assert_nonnull(strstr(human.out, "getfd deny"));
}

/* `audit` on a log we write ourselves (the format of src/audit/audit.h):
 * filters, pass-through, and outcome lines following their records. */
static void test_audit_filters(void) {
        g_autofree char *log = g_build_filename(T.dir, "synthetic-audit.jsonl", NULL);
        g_autofree char *log_arg = g_strdup_printf("--audit-log=%s", log);
        g_autoptr(GError) e = NULL;
        g_auto(GStrv) lines = NULL;
        g_auto(Ctl) all = {}, sig = {}, uid = {}, since = {}, human = {}, missing = {};
        const char *r1 = "{\"time\":\"2024-05-01T10:00:00.000001Z\",\"seq\":1,\"type\":\"record\","
                         "\"action\":\"org.pidbroker.spawn\",\"decision\":\"allow\",\"rule\":\"default:yes\","
                         "\"subject\":{\"uid\":1000,\"pid\":10,\"comm\":\"sh\"},\"target\":null,"
                         "\"details\":{\"signal\":null,\"flags\":null,\"target_fd\":null,\"fd_type\":null},"
                         "\"result\":\"pending\",\"control_path\":\"pidfd\"}";
        const char *o1 = "{\"time\":\"2024-05-01T10:00:00.000009Z\",\"seq\":1,\"type\":\"outcome\",\"result\":\"ok\"}";
        const char *r2 = "{\"time\":\"2024-05-01T11:00:00.000002Z\",\"seq\":2,\"type\":\"record\","
                         "\"action\":\"org.pidbroker.signal\",\"decision\":\"deny\",\"rule\":\"default:auth_admin\","
                         "\"subject\":{\"uid\":1000,\"pid\":10,\"comm\":\"a \\\"q\\\" \\u00e9\"},"
                         "\"target\":{\"pid\":20,\"uid\":0,\"workload_id\":null},"
                         "\"details\":{\"signal\":15,\"flags\":0,\"target_fd\":null,\"fd_type\":null},"
                         "\"result\":\"denied\",\"control_path\":\"pidfd\"}";
        const char *r3 = "{\"time\":\"2024-05-02T09:30:00.000003+02:00\",\"seq\":3,\"type\":\"record\","
                         "\"action\":\"org.pidbroker.signal\",\"decision\":\"allow\","
                         "\"subject\":{\"uid\":0,\"gids\":[0],\"pid\":1},\"details\":{\"signal\":9},"
                         "\"result\":\"pending\"}";
        const char *o3 = "{\"time\":\"2024-05-02T07:30:00.500000Z\",\"seq\":3,\"type\":\"outcome\",\"result\":\"esrch\"}";
        /* A line that is not JSON is skipped; the last line lacks its '\n'. */
        g_autofree char *text = g_strdup_printf("%s\n%s\n%s\nnot json\n%s\n%s", r1, o1, r2, r3, o3);
        g_autofree char *want_sig = g_strdup_printf("%s\n%s\n%s\n", r2, r3, o3);
        g_autofree char *want_uid = g_strdup_printf("%s\n%s\n%s\n", r1, o1, r2);
        g_autofree char *want_since = g_strdup_printf("%s\n%s\n", r3, o3);

        g_assert_true(g_file_set_contents(log, text, -1, &e));

        CTL(&all, "audit", log_arg, "--json");
        g_assert_cmpint(all.exit, ==, 0);
        lines = g_strsplit(all.out, "\n", -1);
        g_assert_cmpuint(g_strv_length(lines), ==, 6); /* five lines and "" */

        CTL(&sig, "audit", log_arg, "--json", "--action=signal");
        g_assert_cmpstr(sig.out, ==, want_sig);
        CTL(&uid, "audit", log_arg, "--json", "--uid=1000");
        g_assert_cmpstr(uid.out, ==, want_uid);
        /* 09:30+02:00 is 07:30Z, after 2024-05-02T00:00Z. */
        CTL(&since, "audit", log_arg, "--json", "--since=2024-05-02T00:00:00Z");
        g_assert_cmpstr(since.out, ==, want_since);

        CTL(&human, "audit", log_arg, "--action=org.pidbroker.signal");
        g_assert_cmpint(human.exit, ==, 0);
        g_assert_nonnull(strstr(human.out, "#2 signal deny denied uid=1000"));
        g_assert_nonnull(strstr(human.out, "signal=SIGTERM"));
        g_assert_nonnull(strstr(human.out, "#3 signal allow pending uid=0"));
        g_assert_nonnull(strstr(human.out, "#3 outcome esrch"));
        g_assert_null(strstr(human.out, "#1"));

        CTL(&missing, "audit", "--audit-log=/nonexistent/audit.jsonl");
        assert_one_line_local_error(&missing, "/nonexistent/audit.jsonl: No such file or directory");
}

/* comm and fd_type are the requester's choice: the log's JSON escapes decode
 * to control characters that, printed raw, would erase the terminal line or
 * forge another record. The human output shows them as \xNN (C1 as \u00NN). */
static void test_audit_hostile_strings(void) {
        g_autofree char *log = g_build_filename(T.dir, "hostile-audit.jsonl", NULL);
        g_autofree char *log_arg = g_strdup_printf("--audit-log=%s", log);
        g_autoptr(GError) e = NULL;
        g_auto(Ctl) human = {}, json = {};
        const char *r1 = "{\"time\":\"2024-05-01T10:00:00.000001Z\",\"seq\":1,\"type\":\"record\","
                         "\"action\":\"org.pidbroker.getfd\",\"decision\":\"deny\",\"rule\":\"default:auth_admin\","
                         "\"subject\":{\"uid\":1000,\"pid\":10,\"comm\":\"x\\u001b[2K\\r\\nfake #2\"},"
                         "\"target\":{\"pid\":20,\"uid\":0,\"comm\":\"\\u009b31m\\u007f\"},"
                         "\"details\":{\"signal\":null,\"flags\":null,\"target_fd\":3,\"fd_type\":\"file:/tmp/a\\nb\"},"
                         "\"result\":\"denied\",\"control_path\":\"pidfd\"}";
        g_autofree char *text = g_strdup_printf("%s\n", r1);

        g_assert_true(g_file_set_contents(log, text, -1, &e));

        CTL(&human, "audit", log_arg);
        g_assert_cmpint(human.exit, ==, 0);
        /* One record, one line: its only LF is the last byte; no ESC, CR,
         * DEL or C1 anywhere. */
        g_assert_true(g_str_has_suffix(human.out, "\n"));
        g_assert_true(strchr(human.out, '\n') == human.out + strlen(human.out) - 1);
        g_assert_null(strchr(human.out, '\x1b'));
        g_assert_null(strchr(human.out, '\r'));
        g_assert_null(strchr(human.out, '\x7f'));
        g_assert_null(strstr(human.out, "\xc2\x9b"));
        g_assert_nonnull(strstr(human.out, "comm=x\\x1b[2K\\x0d\\x0afake #2"));
        g_assert_nonnull(strstr(human.out, "comm=\\u009b31m\\x7f"));
        g_assert_nonnull(strstr(human.out, "fd_type=file:/tmp/a\\x0ab"));

        /* --json passes the line through as it is: still escaped JSON. */
        CTL(&json, "audit", log_arg, "--json");
        g_assert_cmpint(json.exit, ==, 0);
        g_assert_cmpstr(json.out, ==, text);
}

/* pidbrokerctl in the background with its stdout/stderr on pipes. */
typedef struct Bg {
        GPid pid;
        int out_fd, err_fd;
        GString *out, *err;
} Bg;

static void bg_start(Bg *b, const char *const *args) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_auto(GStrv) envp = ctl_envp();
        g_autoptr(GError) e = NULL;

        ctl_daemon_setup();
        g_ptr_array_add(argv, (char *) ctl.bin);
        for (size_t i = 0; args[i]; i++)
                g_ptr_array_add(argv, (char *) args[i]);
        g_ptr_array_add(argv, NULL);
        g_assert_true(g_spawn_async_with_pipes(NULL, (char **) argv->pdata, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                               NULL, &b->pid, NULL, &b->out_fd, &b->err_fd, &e));
        g_assert_no_error(e);
        b->out = g_string_new(NULL);
        b->err = g_string_new(NULL);
}

/* Read from both pipes until needle shows up in one of them (or timeout). */
static bool bg_wait_for(Bg *b, const char *needle, int timeout_ms) {
        gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

        while (!strstr(b->out->str, needle) && !strstr(b->err->str, needle) && g_get_monotonic_time() < deadline) {
                struct pollfd p[2] = { { .fd = b->out_fd, .events = POLLIN }, { .fd = b->err_fd, .events = POLLIN } };
                char buf[4096];
                ssize_t n;

                if (poll(p, 2, 100) <= 0)
                        continue;
                for (int i = 0; i < 2; i++) {
                        if (!(p[i].revents & (POLLIN | POLLHUP)))
                                continue;
                        n = read(p[i].fd, buf, sizeof buf);
                        if (n > 0)
                                g_string_append_len(i == 0 ? b->out : b->err, buf, n);
                }
        }
        return strstr(b->out->str, needle) || strstr(b->err->str, needle);
}

/* Reap it; its exit code or 128+signal. */
static int bg_finish(Bg *b) {
        int status;

        g_assert_cmpint(waitpid(b->pid, &status, 0), ==, b->pid);
        close(b->out_fd);
        close(b->err_fd);
        g_test_message("background pidbrokerctl: stdout: %s; stderr: %s", b->out->str, b->err->str);
        g_string_free(b->out, TRUE);
        g_string_free(b->err, TRUE);
        return wait_status_to_exit(status);
}

/* The workload id in "-v" output: "Running as workload ID (pid ...". */
static char *bg_workload_id(Bg *b) {
        const char *p = strstr(b->err->str, "Running as workload ");

        g_assert_nonnull(p);
        p += strlen("Running as workload ");
        return g_strndup(p, strspn(p, "0123456789"));
}

/* Every signal pidbrokerctl can catch goes on to the workload, not only ^C:
 * SIGUSR1 (which kills by default) too, and pidbrokerctl stays to report it. */
static void test_run_forwards_signals(void) {
        static const int sigs[] = { SIGINT, SIGUSR1, SIGUSR2, SIGQUIT };

        for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++) {
                Bg b = {};
                g_autofree char *id = NULL;
                g_auto(Ctl) w = {};

                bg_start(&b, (const char *const[]) { "run", "-v", "--wait", "--", "sleep", "120", NULL });
                g_assert_true(bg_wait_for(&b, "Running as workload ", 10000));
                id = bg_workload_id(&b);
                kill(b.pid, sigs[i]);
                /* The workload got it (not just pidbrokerctl): its status
                 * says so. */
                g_autofree char *by = g_strdup_printf(" by SIG%s", sigabbrev_np(sigs[i]));
                g_assert_true(bg_wait_for(&b, by, 10000));
                /* SIGQUIT dumps core by default: still 128+3 to the shell. */
                g_assert_cmpint(bg_finish(&b), ==, 128 + sigs[i]);
                /* Released by run --wait once waited for. */
                CTL(&w, "wait", id);
                g_assert_cmpint(w.exit, !=, 128 + sigs[i]);
        }
}

static void test_run_watch(void) {
        Bg b = {};
        g_autofree char *id = NULL;
        g_auto(Ctl) w = {};

        bg_start(&b, (const char *const[]) { "run", "-v", "--watch", "--stop-timeout=3s", "--", "sleep", "120", NULL });
        g_assert_true(bg_wait_for(&b, "Running as workload ", 10000));
        id = bg_workload_id(&b);
        /* pidbrokerctl dies without a word: the broker stops the workload. */
        kill(b.pid, SIGKILL);
        g_assert_cmpint(bg_finish(&b), ==, 128 + SIGKILL);
        CTL(&w, "wait", id);
        g_assert_cmpint(w.exit, ==, 128 + SIGTERM);
}

static void append_line(const char *path, const char *line) {
        FILE *f = fopen(path, "ae");

        g_assert_nonnull(f);
        fprintf(f, "%s\n", line);
        g_assert_cmpint(fclose(f), ==, 0);
}

static void test_audit_follow(void) {
        g_autofree char *log = g_build_filename(T.dir, "follow-audit.jsonl", NULL);
        g_autofree char *rotated = g_strdup_printf("%s.1", log);
        g_autofree char *log_arg = g_strdup_printf("--audit-log=%s", log);
        Bg b = {};

        append_line(log, "{\"time\":\"2024-05-01T10:00:00.000000Z\",\"seq\":1,\"action\":\"org.pidbroker.spawn\",\"decision\":\"allow\",\"subject\":{\"uid\":0}}");
        bg_start(&b, (const char *const[]) { "audit", "--follow", "--json", "--action=signal", log_arg, NULL });

        /* Appended while following. */
        append_line(log, "{\"time\":\"2024-05-01T10:00:01.000000Z\",\"seq\":2,\"action\":\"org.pidbroker.signal\",\"decision\":\"allow\",\"subject\":{\"uid\":0},\"mark\":\"first\"}");
        g_assert_true(bg_wait_for(&b, "\"first\"", 10000));

        /* Rotated: the new file is read from its start. */
        g_assert_cmpint(rename(log, rotated), ==, 0);
        append_line(log, "{\"time\":\"2024-05-01T10:00:02.000000Z\",\"seq\":3,\"action\":\"org.pidbroker.signal\",\"decision\":\"deny\",\"subject\":{\"uid\":0},\"mark\":\"second\"}");
        g_assert_true(bg_wait_for(&b, "\"second\"", 10000));

        kill(b.pid, SIGTERM);
        bg_finish(&b);
        g_unlink(rotated);
}

static void test_monitor(void) {
        g_autofree char *new_ev = NULL, *exit_ev = NULL;
        g_auto(Ctl) run = {};
        Bg b = {};
        const char *p;

        /* -v says when the first snapshot is taken: what exists then is not an event. */
        bg_start(&b, (const char *const[]) { "monitor", "-v", "--json", NULL });
        g_assert_true(bg_wait_for(&b, "monitoring workload events", 10000));

        /* Without --wait: run --wait releases the workload at once, and
         * monitor may not poll in between. */
        CTL(&run, "run", "--", "sh", "-c", "exit 5");
        g_assert_cmpint(run.exit, ==, 0);
        /* run names the workload: "Running as workload ID (pid ...". */
        p = strstr(run.out, "Running as workload ");
        g_assert_nonnull(p);
        p += strlen("Running as workload ");
        {
                g_autofree char *id = g_strndup(p, strspn(p, "0123456789"));
                new_ev = g_strdup_printf("\"event\":\"new\",\"path\":\"/org/pidbroker/Broker1/workload/%s\"", id);
                exit_ev = g_strdup_printf("\"event\":\"exited\",\"path\":\"/org/pidbroker/Broker1/workload/%s\",\"id\":%s,"
                                          "\"exit\":{\"code\":\"exited\",\"status\":5}", id, id);
        }
        g_assert_true(bg_wait_for(&b, new_ev, 10000));
        g_assert_true(bg_wait_for(&b, exit_ev, 10000));
        g_assert_true(strstr(b.out->str, new_ev) < strstr(b.out->str, exit_ev));

        /* SIGTERM ends monitor cleanly. */
        kill(b.pid, SIGTERM);
        g_assert_cmpint(bg_finish(&b), ==, 0);
}

/* Method calls to the broker's objects as the bus routes them, seen by a
 * monitoring connection (org.freedesktop.DBus.Monitoring.BecomeMonitor),
 * as "SENDER MEMBER". */
typedef struct Eavesdropper {
        GDBusConnection *c;
        GMutex lock;
        GPtrArray *calls;
} Eavesdropper;

static GDBusMessage *eavesdrop_filter(GDBusConnection *c, GDBusMessage *msg, gboolean incoming, gpointer data) {
        Eavesdropper *ev = data;

        if (!incoming || g_dbus_message_get_message_type(msg) == G_DBUS_MESSAGE_TYPE_METHOD_RETURN ||
            g_dbus_message_get_message_type(msg) == G_DBUS_MESSAGE_TYPE_ERROR)
                return msg;
        if (g_dbus_message_get_message_type(msg) == G_DBUS_MESSAGE_TYPE_METHOD_CALL) {
                g_mutex_lock(&ev->lock);
                g_ptr_array_add(ev->calls, g_strdup_printf("%s %s", g_dbus_message_get_sender(msg),
                                                           g_dbus_message_get_member(msg)));
                g_mutex_unlock(&ev->lock);
        }
        /* A monitor must never answer: nothing it is shown is dispatched. */
        g_object_unref(msg);
        return NULL;
}

static void eavesdrop_start(Eavesdropper *ev) {
        g_autoptr(GError) e = NULL;
        const char *rules[] = { "type='method_call',path_namespace='/org/pidbroker'", NULL };

        g_mutex_init(&ev->lock);
        ev->calls = g_ptr_array_new_with_free_func(g_free);
        ev->c = g_dbus_connection_new_for_address_sync(
                T.address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                NULL, NULL, &e);
        g_assert_no_error(e);
        g_dbus_connection_add_filter(ev->c, eavesdrop_filter, ev, NULL);
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(
                ev->c, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.Monitoring",
                "BecomeMonitor", g_variant_new("(^asu)", rules, 0), NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &e);
        g_assert_no_error(e);
}

/* How many calls sender made; 0 for NULL. */
static unsigned eavesdrop_count(Eavesdropper *ev, const char *sender, const char *member) {
        g_autofree char *want = g_strdup_printf("%s %s", sender, member ?: "");
        unsigned n = 0;

        g_mutex_lock(&ev->lock);
        for (guint i = 0; i < ev->calls->len; i++)
                if (member ? g_str_equal(ev->calls->pdata[i], want) : g_str_has_prefix(ev->calls->pdata[i], want))
                        n++;
        g_mutex_unlock(&ev->lock);
        return n;
}

/* Everything routed before now has reached the monitor: a marker call of
 * ours is seen. */
static void eavesdrop_sync(Eavesdropper *ev) {
        const char *me = g_dbus_connection_get_unique_name(root_bus());
        unsigned before = eavesdrop_count(ev, me, "Ping");
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(root_bus(), BROKER_NAME, BROKER_PATH,
                                                            "org.freedesktop.DBus.Peer", "Ping", NULL, NULL,
                                                            G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &e);
        g_assert_no_error(e);
        for (int i = 0; i < 1000 && eavesdrop_count(ev, me, "Ping") == before; i++)
                g_usleep(10000);
        g_assert_cmpuint(eavesdrop_count(ev, me, "Ping"), ==, before + 1);
}

static void eavesdrop_stop(Eavesdropper *ev) {
        g_dbus_connection_close_sync(ev->c, NULL, NULL);
        g_clear_object(&ev->c);
        g_ptr_array_unref(ev->calls);
        g_mutex_clear(&ev->lock);
}

/* The unique name of the connection process pid has on the bus. */
static char *bus_name_of_pid(pid_t pid) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) names = g_dbus_connection_call_sync(root_bus(), "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                                "org.freedesktop.DBus", "ListNames", NULL,
                                                                G_VARIANT_TYPE("(as)"), G_DBUS_CALL_FLAGS_NONE, 10000,
                                                                NULL, &e);
        g_assert_no_error(e);
        g_autoptr(GVariantIter) it = NULL;
        const char *name;
        g_variant_get(names, "(as)", &it);
        while (g_variant_iter_loop(it, "&s", &name)) {
                g_autoptr(GVariant) r = NULL;
                guint32 p;
                if (name[0] != ':')
                        continue;
                r = g_dbus_connection_call_sync(root_bus(), "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                                g_variant_new("(s)", name), G_VARIANT_TYPE("(u)"),
                                                G_DBUS_CALL_FLAGS_NONE, 10000, NULL, NULL);
                if (!r)
                        continue;
                g_variant_get(r, "(u)", &p);
                if ((pid_t) p == pid)
                        return g_strdup(name);
        }
        g_error("pid %d has no connection on the bus", (int) pid);
}

/* monitor subscribes and takes one snapshot, then only listens: what it
 * calls on the broker, counted on the bus itself, is Subscribe and
 * GetManagedObjects once each, and stays so while workloads come, exit
 * and go, and while nothing happens for longer than any poll interval. */
static void test_monitor_no_polling(void) {
        Eavesdropper ev = {};
        Bg b = {};

        eavesdrop_start(&ev);
        bg_start(&b, (const char *const[]) { "monitor", "-v", "--json", NULL });
        g_assert_true(bg_wait_for(&b, "monitoring workload events", 10000));
        g_autofree char *name = bus_name_of_pid(b.pid);
        eavesdrop_sync(&ev);
        g_assert_cmpuint(eavesdrop_count(&ev, name, "Subscribe"), ==, 1);
        g_assert_cmpuint(eavesdrop_count(&ev, name, "GetManagedObjects"), ==, 1);
        g_assert_cmpuint(eavesdrop_count(&ev, name, NULL), ==, 2);

        for (int i = 0; i < 4; i++) {
                g_auto(Ctl) run = {};
                g_autofree char *script = g_strdup_printf("exit %d", 10 + i);
                CTL(&run, "run", "-v", "--wait", "--", "sh", "-c", script);
                g_assert_cmpint(run.exit, ==, 10 + i);
                const char *p = strstr(run.err, "Running as workload ");
                g_assert_nonnull(p);
                p += strlen("Running as workload ");
                g_autofree char *id = g_strndup(p, strspn(p, "0123456789"));
                g_autofree char *exit_ev = g_strdup_printf("\"event\":\"exited\",\"path\":\"/org/pidbroker/Broker1/workload/%s\","
                                                           "\"id\":%s,\"exit\":{\"code\":\"exited\",\"status\":%d}",
                                                           id, id, 10 + i);
                g_autofree char *removed_ev = g_strdup_printf("\"event\":\"removed\",\"path\":\"/org/pidbroker/Broker1/workload/%s\"", id);
                g_assert_true(bg_wait_for(&b, exit_ev, 10000));
                /* run --wait released it. */
                g_assert_true(bg_wait_for(&b, removed_ev, 10000));
                g_assert_cmpuint(eavesdrop_count(&ev, name, NULL), ==, 2);
        }
        /* Idle for longer than the 0.5 s the polling monitor waited. */
        g_usleep(2 * G_USEC_PER_SEC);
        eavesdrop_sync(&ev);
        g_assert_cmpuint(eavesdrop_count(&ev, name, NULL), ==, 2);
        /* Exits are reported once, though both PropertiesChanged and Exited say it. */
        g_assert_null(strstr(b.out->str, "\"event\":\"changed\""));

        kill(b.pid, SIGTERM);
        g_assert_cmpint(bg_finish(&b), ==, 0);
        eavesdrop_stop(&ev);
}

static void test_direct_socket(void) {
        g_autofree char *direct = g_strdup_printf("--direct=%s", T.private_socket);
        g_auto(Ctl) c = {}, f = {};

        CTL(&c, direct, "run", "--wait", "--", "sh", "-c", "echo direct; exit 4");
        g_assert_cmpint(c.exit, ==, 4);
        g_assert_cmpstr(c.out, ==, "direct\n");

        CTL(&f, direct, "features");
        g_assert_cmpint(f.exit, ==, 0);
}

static void test_errors(void) {
        g_auto(Ctl) unknown = {}, nobus = {}, badid = {};

        CTL(&unknown, "status", "987654321987");
        g_assert_cmpint(unknown.exit, ==, 1);
        assert_one_line_error(&unknown, "org.freedesktop.DBus.Error.UnknownObject");

        CTL(&nobus, "--direct=/nonexistent/socket", "list");
        g_assert_cmpint(nobus.exit, ==, 1);
        assert_one_line_local_error(&nobus, "/nonexistent/socket: No such file or directory");

        CTL(&badid, "stop", "not-an-id");
        g_assert_cmpint(badid.exit, ==, 2);
}


/* ---------- CLI parity with the Spawn options (issue 12) ---------- */

/* How the command line reaches each Spawn option of the daemon. A daemon
 * option missing here fails the test: give it a flag, then a row. */
static const struct {
        const char *key;
        const char *const args[4];
} option_flags[] = {
        { "cwd", { "--cwd=/tmp" } },
        { "user", { "--user=root" } },
        { "group", { "--group=root" } },
        { "groups", { "--groups=0" } },
        { "namespaces", { "--ns=uts" } },
        { "uid_map", { "--uid-map=0:0:1" } },
        { "gid_map", { "--gid-map=0:0:1" } },
        { "hostname", { "--hostname=parity" } },
        { "capabilities", { "--cap=net_raw" } },
        { "no_new_privileges", { "--no-new-privileges=no" } },
        { "seccomp", { "--seccomp=strict" } },
        { "watch_client", { "--watch" } },
        { "stop_timeout_usec", { "--stop-timeout=5s" } },
        { "cgroup", { "--cgroup=/sys/fs/cgroup" } },
        { "exe_fd", { "--exe=/bin/true" } },
        { "umask", { "--umask=027" } },
        { "setsid", { "--setsid=no" } },
        { "controlling_tty", { "--pty" } },
        { "require_pidfd", { "--require-pidfd" } },
        { "kill_mode", { "--kill-mode=process" } },
        { "rlimits", { "--rlimit=NOFILE=512:1024" } },
        { "nice", { "--nice=5" } },
        { "oom_score_adj", { "--oom-score-adj=100" } },
        { "memory_max", { "--memory-max=1G" } },
        { "pids_max", { "--pids-max=100" } },
        { "cpu_weight", { "--cpu-weight=50" } },
        { "io_weight", { "--io-weight=50" } },
};

static void test_option_table(void) {
        size_t n = 0;

        for (const char *key; (key = spawn_args_option_name(n)); n++) {
                g_auto(Ctl) c = {};
                g_autofree char *line = g_strdup_printf("Spawn option: %s\n", key);
                size_t row = SIZE_MAX;

                for (size_t i = 0; i < G_N_ELEMENTS(option_flags); i++)
                        if (g_str_equal(option_flags[i].key, key))
                                row = i;
                if (row == SIZE_MAX)
                        g_error("the daemon's Spawn option '%s' has no pidbrokerctl flag", key);

                /* -v names each option as it goes out; whether the broker
                 * then agrees (a map, a capability) does not matter here. */
                {
                        g_autoptr(GPtrArray) args = g_ptr_array_new();
                        g_ptr_array_add(args, (char *) "-v");
                        g_ptr_array_add(args, (char *) "run");
                        for (size_t j = 0; option_flags[row].args[j]; j++)
                                g_ptr_array_add(args, (char *) option_flags[row].args[j]);
                        g_ptr_array_add(args, (char *) "--fd=0:/dev/null");
                        g_ptr_array_add(args, (char *) "--fd=1:/dev/null");
                        g_ptr_array_add(args, (char *) "--");
                        g_ptr_array_add(args, (char *) "true");
                        g_ptr_array_add(args, NULL);
                        ctl_run_as(&c, false, (const char *const *) args->pdata);
                }
                g_assert_nonnull(strstr(c.err, line));
        }
        g_assert_cmpuint(n, >=, 17);
}

static void test_property(void) {
        g_auto(Ctl) mem = {}, limit = {}, bad_name = {}, bad_value = {}, nice = {}, pid_long = {};

        /* -p is --property now, as in systemd-run, not --pid. */
        CTL(&mem, "-v", "run", "-p", "MemoryMax=1G", "-p", "TasksMax=infinity", "-p", "CPUWeight=100",
            "-p", "IOWeight=100", "-p", "OOMScoreAdjust=10", "-p", "KillMode=process", "--", "true");
        g_assert_nonnull(strstr(mem.err, "Spawn option: memory_max\n"));
        g_assert_nonnull(strstr(mem.err, "Spawn option: pids_max\n"));
        g_assert_nonnull(strstr(mem.err, "Spawn option: cpu_weight\n"));
        g_assert_nonnull(strstr(mem.err, "Spawn option: io_weight\n"));
        g_assert_nonnull(strstr(mem.err, "Spawn option: oom_score_adj\n"));
        g_assert_nonnull(strstr(mem.err, "Spawn option: kill_mode\n"));
        CTL(&limit, "-v", "run", "-p", "LimitNOFILE=1024:4096", "-p", "LimitCORE=infinity", "--", "true");
        g_assert_nonnull(strstr(limit.err, "Spawn option: rlimits\n"));
        CTL(&nice, "-v", "run", "--property=Nice=5", "--", "true");
        g_assert_nonnull(strstr(nice.err, "Spawn option: nice\n"));

        /* Bad names and values are usage errors, before any call. */
        CTL(&bad_name, "--direct=/nonexistent/socket", "run", "-p", "MemoryMin=1G", "--", "true");
        g_assert_cmpint(bad_name.exit, ==, 2);
        g_assert_nonnull(strstr(bad_name.err, "unknown property"));
        CTL(&bad_value, "--direct=/nonexistent/socket", "run", "-p", "Nice=100", "--", "true");
        g_assert_cmpint(bad_value.exit, ==, 2);
        g_assert_nonnull(strstr(bad_value.err, "Nice=100: expected -20...19"));

        /* --pid keeps its long form; -p is no longer it. */
        CTL(&pid_long, "signal", "-p", "1", "0");
        g_assert_cmpint(pid_long.exit, ==, 2);
}

static void test_same_dir_and_json_exit(void) {
        g_auto(Ctl) dir = {}, json = {}, killed = {};

        ctl_run_in(&dir, false, "/tmp", (const char *const[]) { "run", "--wait", "--same-dir", "--", "pwd", NULL });
        g_assert_cmpint(dir.exit, ==, 0);
        g_assert_cmpstr(dir.out, ==, "/tmp\n");

        CTL(&json, "run", "--wait", "--json", "--fd=1:/dev/null", "--", "sh", "-c", "exit 3");
        g_assert_cmpint(json.exit, ==, 3);
        g_assert_true(python_check("import json,sys; o=json.load(open(sys.argv[1]));"
                                   "assert o['exit']=={'code':'exited','status':3}, o; assert o['exit_code']==3;"
                                   "assert o['path'].endswith('/%d' % o['id'])", json.out));

        CTL(&killed, "run", "--wait", "--json", "--", "sh", "-c", "kill -9 $$");
        g_assert_cmpint(killed.exit, ==, 128 + SIGKILL);
        g_assert_true(python_check("import json,sys; o=json.load(open(sys.argv[1]));"
                                   "assert o['exit']=={'code':'killed','status':9}, o; assert o['exit_code']==137",
                                   killed.out));
}

static void test_getfd_workload(void) {
        g_autofree char *file = g_build_filename(T.dir, "getfd-workload.txt", NULL);
        g_autofree char *fd_arg = g_strdup_printf("--fd=5:%s", file);
        g_autofree char *path_line = g_strdup_printf("  path:  %s\n", file);
        g_auto(Ctl) run = {}, desc = {}, stop = {}, usage = {};
        g_autofree char *id = NULL;

        g_assert_true(g_file_set_contents(file, "x", -1, NULL));
        CTL(&run, "run", "-q", "--fd=1:/dev/null", "--fd=2:/dev/null", fd_arg, "--", "sleep", "120");
        g_assert_cmpint(run.exit, ==, 0);
        id = g_strstrip(g_strdup(run.out));
        CTL(&desc, "getfd", id, "5");
        g_assert_cmpint(desc.exit, ==, 0);
        g_assert_nonnull(strstr(desc.out, path_line));
        CTL(&usage, "getfd", id);
        g_assert_cmpint(usage.exit, ==, 2);
        CTL(&stop, "stop", id);
        g_assert_cmpint(stop.exit, ==, 0);
}

static void test_local_errors(void) {
        g_auto(Ctl) slash = {}, nopath = {}, ns = {}, probe = {}, probe_gone = {}, stop = {};
        g_autofree char *id = NULL;

        CTL(&slash, "run", "--wait", "--", "./no-such-program");
        g_assert_cmpint(slash.exit, ==, 127);
        assert_one_line_local_error(&slash, "./no-such-program: No such file or directory");
        CTL(&nopath, "run", "--wait", "--", "no-such-program-here");
        g_assert_cmpint(nopath.exit, ==, 127);
        assert_one_line_local_error(&nopath, "no-such-program-here: command not found");

        /* Checked before connecting: a broker that is not there is not reached. */
        CTL(&ns, "--direct=/nonexistent/socket", "run", "--ns=mnt", "--", "true");
        g_assert_cmpint(ns.exit, ==, 2);
        g_assert_nonnull(strstr(ns.err, "--ns=mnt: not a namespace"));

        /* signal ID 0 probes. */
        id = start_sleeper();
        CTL(&probe, "signal", id, "0");
        g_assert_cmpint(probe.exit, ==, 0);
        CTL(&stop, "stop", id);
        CTL(&probe_gone, "signal", id, "0");
        assert_one_line_error(&probe_gone, "org.pidbroker.Error.NoSuchProcess");
}

static void test_audit_more_filters(void) {
        g_autofree char *log = g_build_filename(T.dir, "filters-audit.jsonl", NULL);
        g_autofree char *log_arg = g_strdup_printf("--audit-log=%s", log);
        g_auto(Ctl) unknown = {};
        const char *r1 = "{\"time\":\"2024-05-01T10:00:00Z\",\"seq\":1,\"type\":\"record\","
                         "\"action\":\"org.pidbroker.signal\",\"decision\":\"allow\","
                         "\"subject\":{\"uid\":0},\"target\":{\"pid\":20,\"workload_id\":77},\"result\":\"pending\"}";
        const char *r2 = "{\"time\":\"2024-05-01T11:00:00Z\",\"seq\":2,\"type\":\"record\","
                         "\"action\":\"org.pidbroker.signal\",\"decision\":\"deny\","
                         "\"subject\":{\"uid\":1000},\"target\":{\"pid\":21,\"workload_id\":78},\"result\":\"denied\"}";
        const char *r3 = "{\"time\":\"2024-05-02T10:00:00Z\",\"seq\":3,\"type\":\"record\","
                         "\"action\":\"org.pidbroker.getfd\",\"decision\":\"allow\","
                         "\"subject\":{\"uid\":0},\"target\":{\"pid\":22,\"workload_id\":77},\"result\":\"pending\"}";
        const char *o1 = "{\"time\":\"2024-05-02T10:00:01Z\",\"seq\":1,\"type\":\"outcome\",\"result\":\"esrch\"}";
        const char *o3 = "{\"time\":\"2024-05-02T10:00:02Z\",\"seq\":3,\"type\":\"outcome\",\"result\":\"ok\"}";
        g_autofree char *text = g_strdup_printf("%s\n%s\n%s\n%s\n%s\n", r1, r2, r3, o1, o3);
        g_autofree char *want_deny = g_strdup_printf("%s\n", r2);
        g_autofree char *want_allow = g_strdup_printf("%s\n%s\n%s\n%s\n", r1, r3, o1, o3);
        g_autofree char *want_esrch = g_strdup_printf("%s\n%s\n", r1, o1);
        g_autofree char *want_ok = g_strdup_printf("%s\n%s\n", r3, o3);
        g_autofree char *want_until = g_strdup_printf("%s\n%s\n%s\n", r1, r2, o1);
        const struct {
                const char *filter;
                const char *want;
        } cases[] = {
                { "--decision=deny", want_deny },
                { "--decision=allow", want_allow },
                /* An outcome's result: the record shows with its outcome. */
                { "--result=esrch", want_esrch },
                { "--result=ok", want_ok },
                { "--result=denied", want_deny },
                { "--workload=77", want_allow },
                { "--until=2024-05-01T12:00:00Z", want_until },
        };

        g_assert_true(g_file_set_contents(log, text, -1, NULL));
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_auto(Ctl) c = {};

                CTL(&c, "audit", log_arg, "--json", cases[i].filter);
                g_assert_cmpint(c.exit, ==, 0);
                g_assert_cmpstr(c.out, ==, cases[i].want);
        }
        CTL(&unknown, "audit", log_arg, "--action=nosuch");
        g_assert_cmpint(unknown.exit, ==, 2);
        g_assert_nonnull(strstr(unknown.err, "--action=nosuch: unknown action"));
}


/* ---------- --pty ---------- */

/* pidbrokerctl on a terminal of the test's own (a pty whose slave is its
 * controlling terminal, as in a terminal emulator), driven by writing to
 * the master: input, then once wait_for has appeared (if not NULL), more.
 * Returns what appeared on the terminal, and the exit code. */
static char *ctl_run_on_pty(const char *const *args, const char *input, const char *wait_for, const char *more,
                            int *ret_exit) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_auto(GStrv) envp = ctl_envp();
        g_autoptr(GString) out = g_string_new(NULL);
        gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
        struct winsize ws = { .ws_row = 40, .ws_col = 100 };
        int master, status;
        char *slave_name;
        pid_t pid;

        ctl_daemon_setup();
        g_ptr_array_add(argv, (char *) ctl.bin);
        for (size_t i = 0; args[i]; i++)
                g_ptr_array_add(argv, (char *) args[i]);
        g_ptr_array_add(argv, NULL);
        envp = g_environ_setenv(envp, "TERM", "dumb", TRUE);

        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        g_assert_cmpint(master, >=, 0);
        g_assert_cmpint(grantpt(master), ==, 0);
        g_assert_cmpint(unlockpt(master), ==, 0);
        g_assert_cmpint(ioctl(master, TIOCSWINSZ, &ws), ==, 0);
        slave_name = g_strdup(ptsname(master));

        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                /* Between fork and exec: syscalls only. */
                int slave;

                if (setsid() < 0)
                        _exit(124);
                slave = open(slave_name, O_RDWR);
                if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
                        _exit(124);
                if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
                        _exit(124);
                execve(ctl.bin, (char **) argv->pdata, envp);
                _exit(127);
        }
        g_free(slave_name);

        g_assert_cmpint(write(master, input, strlen(input)), ==, (ssize_t) strlen(input));
        /* Until the terminal's last user has gone (EIO). */
        while (g_get_monotonic_time() < deadline) {
                struct pollfd pfd = { .fd = master, .events = POLLIN };
                char buf[4096];
                ssize_t n;

                if (poll(&pfd, 1, 1000) <= 0)
                        continue;
                n = read(master, buf, sizeof buf);
                if (n <= 0)
                        break;
                g_string_append_len(out, buf, n);
                if (wait_for && strstr(out->str, wait_for)) {
                        g_assert_cmpint(write(master, more, strlen(more)), ==, (ssize_t) strlen(more));
                        wait_for = NULL;
                }
        }
        close(master);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        *ret_exit = wait_status_to_exit(status);
        g_test_message("on the terminal (exit %d):\n%s", *ret_exit, out->str);
        return g_string_free(g_steal_pointer(&out), FALSE);
}

static void test_pty(void) {
        g_autofree char *out = NULL, *shell_out = NULL;
        g_autoptr(GRegex) monitor_on = g_regex_new("monitor\\s+on", 0, 0, NULL);
        int exit_code;

        /* bash -i with job control: no "no job control", monitor on, a
         * background job listed by jobs, the window size passed on. */
        out = ctl_run_on_pty((const char *const[]) { "run", "--pty", "--", "bash", "--norc", "--noprofile", "-i",
                                                     NULL },
                             "set -o | grep monitor; sleep 60 & jobs; kill %1; wait; echo SIZE-$(stty size); "
                             "echo DONE-$((6*7)); exit 7\n",
                             NULL, NULL, &exit_code);
        g_assert_cmpint(exit_code, ==, 7);
        g_assert_null(strstr(out, "no job control"));
        g_assert_null(strstr(out, "cannot set terminal process group"));
        g_assert_true(g_regex_match(monitor_on, out, 0, NULL));
        g_assert_nonnull(strstr(out, "[1]+  Running"));
        g_assert_nonnull(strstr(out, "SIZE-40 100"));
        g_assert_nonnull(strstr(out, "DONE-42"));

        /* ^C on the terminal reaches the workload's foreground job, not
         * pidbrokerctl: the job ends, the shell goes on. */
        g_free(out);
        out = ctl_run_on_pty((const char *const[]) { "run", "--pty", "--", "bash", "--norc", "--noprofile", "-i",
                                                     NULL },
                             /* Printed by the foreground job itself: ^C cannot
                              * come before the job is there. */
                             "sh -c 'echo STARTED-$((1+1)); exec sleep 60'\n", "STARTED-2",
                             "\003echo AFTER-$?; exit 3\n",
                             &exit_code);
        g_assert_nonnull(strstr(out, "AFTER-130"));
        g_assert_cmpint(exit_code, ==, 3);

        /* -S runs the user's shell (root's, from the user database). */
        shell_out = ctl_run_on_pty((const char *const[]) { "run", "-S", NULL }, "echo SHELL-$((1+1)); exit 5\n",
                                   NULL, NULL, &exit_code);
        g_assert_cmpint(exit_code, ==, 5);
        g_assert_nonnull(strstr(shell_out, "SHELL-2"));
}

/* ---------- main ---------- */

/* Workloads outlive the broker (by design): stop any a test left running. */
static void stop_leftover_workloads(void) {
        g_auto(Ctl) c = {};
        g_auto(GStrv) lines = NULL;

        CTL(&c, "list");
        g_assert_cmpint(c.exit, ==, 0);
        lines = g_strsplit(c.out, "\n", -1);
        for (size_t i = 1; lines[i]; i++) {
                g_auto(GStrv) cols = g_strsplit(lines[i], " ", 2);
                g_auto(Ctl) stop = {};

                if (!g_ascii_isdigit(lines[i][0]) || !strstr(lines[i], " running "))
                        continue;
                g_test_message("left running: %s", lines[i]);
                CTL(&stop, "stop", cols[0]);
        }
}

static int client_main(int argc, char *argv[]) {
        /* No GDBus clients here: pidbrokerctl is the client. */
        g_printerr("test-ctl has no --client scenarios\n");
        return 2;
}

static void register_tests(void) {
        add_test("help", test_help);
        add_test("audit-filters", test_audit_filters);
        add_test("audit-follow", test_audit_follow);
        add_test("audit-hostile-strings", test_audit_hostile_strings);
        add_test("run-wait-exit-code", test_run_wait_exit_code);
        add_test("run-env-and-cwd", test_run_env_and_cwd);
        add_test("run-namespaces", test_run_namespaces);
        add_test("run-forwards-signals", test_run_forwards_signals);
        add_test("run-watch", test_run_watch);
        add_test("signal-stop-wait-release", test_signal_stop_wait_release);
        add_test("signal-pid", test_signal_pid);
        add_test("list-json", test_list_json);
        add_test("status-json", test_status_json);
        add_test("features-json", test_features_json);
        add_test("metrics", test_metrics);
        add_test("getfd-root", test_getfd_root);
        add_test("getfd-unprivileged", test_getfd_unprivileged);
        add_test("audit-getfd-denied", test_audit_getfd_denied);
        add_test("monitor", test_monitor);
        add_test("monitor-no-polling", test_monitor_no_polling);
        add_test("direct-socket", test_direct_socket);
        add_test("errors", test_errors);
        add_test("run-wait-releases", test_run_wait_releases);
        add_test("option-table", test_option_table);
        add_test("property", test_property);
        add_test("same-dir-and-json-exit", test_same_dir_and_json_exit);
        add_test("getfd-workload", test_getfd_workload);
        add_test("local-errors", test_local_errors);
        add_test("audit-more-filters", test_audit_more_filters);
        add_test("pty", test_pty);
        add_test("cleanup", stop_leftover_workloads);
}

int main(int argc, char *argv[]) {
        static const HarnessOptions opts = { .suite = "ctl" };
        int r;

        ctl.bin = g_getenv("PIDBROKERCTL");
        if (!ctl.bin && !(argc >= 2 && g_str_equal(argv[1], "--client"))) {
                /* Run outside meson test: nothing to test. */
                g_printerr("PIDBROKERCTL is not set (meson test sets it)\n");
                return 77;
        }
        ctl.bin_public = ctl.bin ? test_public_copy(ctl.bin) : NULL;
        if (ctl.bin_public) {
                /* The copy finds libpidbroker beside it: its RUNPATH
                 * ($ORIGIN/../libpidbroker) points nowhere from there. */
                g_autofree char *lib = g_build_filename(g_getenv("LIBPIDBROKER_DIR"), "libpidbroker.so.0", NULL);
                g_autofree char *libdir = g_path_get_dirname(test_public_copy(lib));
                g_setenv("LD_LIBRARY_PATH", libdir, TRUE);
        }
        ctl.python = g_find_program_in_path("python3");

        r = harness_main(argc, argv, &opts, client_main, register_tests);
        g_free(ctl.python);
        return r;
}
