/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The audit log against real files: every line is parsed back by Python's
 * json module (GLib has no JSON parser), which also checks the key order and
 * the shape; the full tmpfs and the fake journald socket live in private
 * mount namespaces of forked children, so nothing leaks into the machine. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "test-util.h"

/* Validates the whole file and prints each line back in a canonical form:
 * ASCII-only JSON (non-ASCII as \uXXXX), original key order, "time" checked
 * and replaced by "T" so lines can be compared whole. */
static const char validator[] =
        "import json, re, sys\n"
        "REC = ['time','seq','type','action','decision','rule','subject','target','details','result','control_path']\n"
        "SUB = ['uid','gids','pid','pidfd_id','bus_name','comm','pidns','userns','identity']\n"
        "TGT = ['pid','pidfd_id','uid','pidns','userns','comm','workload_id']\n"
        "DET = ['signal','flags','target_fd','fd_type','suppressed']\n"
        "OUT = ['time','seq','type','result']\n"
        "def hook(pairs):\n"
        "    keys = [k for k, _ in pairs]\n"
        "    if len(set(keys)) != len(keys): raise ValueError('duplicate key')\n"
        "    return dict(pairs)\n"
        "def bad(c): raise ValueError('constant ' + c)\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "if data and not data.endswith(b'\\n'): sys.exit('last line not terminated')\n"
        "for n, raw in enumerate(data.split(b'\\n')[:-1], 1):\n"
        "    try:\n"
        "        o = json.loads(raw.decode('utf-8'), object_pairs_hook=hook, parse_constant=bad)\n"
        "    except Exception as e:\n"
        "        sys.exit('line %d: %s: %r' % (n, e, raw))\n"
        "    def need(cond, what):\n"
        "        if not cond: sys.exit('line %d: %s: %r' % (n, what, raw))\n"
        "    need(isinstance(o, dict), 'not an object')\n"
        "    need(re.fullmatch(r'\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z', o.get('time', '')), 'time')\n"
        "    need(type(o.get('seq')) is int and o['seq'] > 0, 'seq')\n"
        "    if o.get('type') == 'record':\n"
        "        need(list(o) == REC, 'record keys')\n"
        "        need(list(o['subject']) == SUB, 'subject keys')\n"
        "        need(o['target'] is None or list(o['target']) == TGT, 'target keys')\n"
        "        need(list(o['details']) == DET, 'details keys')\n"
        "        need(o['decision'] in ('allow', 'deny'), 'decision')\n"
        "        need(o['subject']['identity'] in (None, 'peer-pidfd', 'bus-processfd', 'bus-pid-unpinned'), 'identity')\n"
        "    else:\n"
        "        need(o.get('type') == 'outcome' and list(o) == OUT, 'outcome keys')\n"
        "    need(isinstance(o['result'], str) and o['result'], 'result')\n"
        "    o['time'] = 'T'\n"
        "    print(json.dumps(o, separators=(',', ':')))\n";

/* The canonical lines of the file at path; the test fails when any line is
 * not valid. Returns a NULL-terminated vector. */
static char **validate_file(const char *path) {
        const char *argv[] = { "python3", "-c", validator, path, NULL };
        g_autofree char *out = NULL, *err = NULL;
        g_autoptr(GError) error = NULL;
        int status;
        char **lines;
        size_t n;

        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                   &out, &err, &status, &error));
        g_assert_no_error(error);
        if (!g_spawn_check_wait_status(status, NULL))
                g_error("%s is not valid audit JSON lines: %s", path, err);

        lines = g_strsplit(out, "\n", -1);
        n = g_strv_length(lines);
        /* The trailing "\n" leaves one empty string. */
        g_assert_cmpuint(n, >=, 1);
        g_assert_cmpstr(lines[n - 1], ==, "");
        g_free(lines[n - 1]);
        lines[n - 1] = NULL;
        return lines;
}

static char *read_file(const char *path, size_t *ret_len) {
        g_autoptr(GError) error = NULL;
        char *data;
        gsize len;

        g_assert_true(g_file_get_contents(path, &data, &len, &error));
        g_assert_no_error(error);
        if (ret_len)
                *ret_len = len;
        return data;
}

static off_t file_size(const char *path) {
        struct stat st;

        g_assert_cmpint(stat(path, &st), ==, 0);
        return st.st_size;
}

static char *make_tmp_dir(void) {
        g_autoptr(GError) error = NULL;
        char *d = g_dir_make_tmp("test-audit-XXXXXX", &error);

        g_assert_no_error(error);
        return d;
}

static void rm_rf(const char *path) {
        const char *argv[] = { "rm", "-rf", "--one-file-system", path, NULL };
        int status;

        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL,
                                   G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                                   NULL, NULL, NULL, NULL, &status, NULL));
        g_assert_true(g_spawn_check_wait_status(status, NULL));
}

/* A full allow record: every field known. */
static AuditRecord full_record(AuditTarget *t) {
        static const gid_t gids[] = { 1000, 27, 100 };
        AuditRecord rec = AUDIT_RECORD_NULL;

        *t = AUDIT_TARGET_NULL;
        t->pid = 777;
        t->pidfd_id = 9001;
        t->uid = 1001;
        t->pidns = 4026531836ULL;
        t->userns = 4026531837ULL;
        t->comm = "sleep";
        t->workload_id = 9001;

        rec.action = "org.pidbroker.signal";
        rec.decision = AUDIT_DECISION_ALLOW;
        rec.rule = "rules.d/50-ops.rules:3";
        rec.subject.uid = 1000;
        rec.subject.gids = gids;
        rec.subject.n_gids = G_N_ELEMENTS(gids);
        rec.subject.pid = 4242;
        rec.subject.pidfd_id = UINT64_C(18446744073709551557); /* > 2^53 on purpose */
        rec.subject.bus_name = ":1.42";
        rec.subject.comm = "bash";
        rec.subject.pidns = 4026531836ULL;
        rec.subject.userns = 4026531837ULL;
        rec.subject.identity = "bus-processfd";
        rec.target = t;
        rec.details.signal = 15;
        rec.details.flags = 0;
        rec.control_path = "pidfd";
        return rec;
}

static AuditRecord small_record(void) {
        AuditRecord rec = AUDIT_RECORD_NULL;

        rec.action = "org.pidbroker.getfd";
        rec.decision = AUDIT_DECISION_ALLOW;
        rec.rule = "default:auth_admin";
        rec.subject.uid = 0;
        rec.subject.identity = "peer-pidfd";
        rec.details.target_fd = 3;
        rec.control_path = "pidfd";
        return rec;
}

static void test_timestamp_and_results(void) {
        char ts[AUDIT_TIMESTAMP_MAX], res[AUDIT_RESULT_MAX];

        g_assert_cmpint(audit_format_timestamp(0, ts), ==, 0);
        g_assert_cmpstr(ts, ==, "1970-01-01T00:00:00.000000Z");
        g_assert_cmpint(audit_format_timestamp(UINT64_C(1795961106123456), ts), ==, 0);
        g_assert_cmpstr(ts, ==, "2026-11-29T14:05:06.123456Z");
        g_assert_cmpint(audit_format_timestamp(UINT64_C(253402300800) * 1000000, ts), ==, -ERANGE);

        g_assert_cmpstr(audit_result_from_errno(0, res), ==, "ok");
        g_assert_cmpstr(audit_result_from_errno(7, res), ==, "ok");
        g_assert_cmpstr(audit_result_from_errno(-ESRCH, res), ==, "esrch");
        g_assert_cmpstr(audit_result_from_errno(-EPERM, res), ==, "eperm");
        g_assert_cmpstr(audit_result_from_errno(-ENOSPC, res), ==, "enospc");
        g_assert_cmpstr(audit_result_from_errno(-4000, res), ==, "errno-4000");
        g_assert_cmpstr(audit_result_from_errno(INT_MIN, res), ==, "errno-2147483648");

        g_assert_cmpstr(audit_decision_to_string(AUDIT_DECISION_ALLOW), ==, "allow");
        g_assert_cmpstr(audit_decision_to_string(AUDIT_DECISION_DENY), ==, "deny");
        g_assert_null(audit_decision_to_string(_AUDIT_DECISION_MAX));
}

static void test_round_trip(void) {
        g_autofree char *dir = make_tmp_dir();
        g_autofree char *path = g_build_filename(dir, "var", "log", "pidbroker", "audit.jsonl", NULL);
        g_autofree char *parent = g_path_get_dirname(path);
        g_autofree char *grandparent = g_path_get_dirname(parent);
        g_auto(GStrv) lines = NULL;
        AuditLog *log = NULL;
        AuditRecord rec;
        AuditTarget t;
        uint64_t seq = 0;
        struct stat st;
        mode_t old_umask;

        /* The modes must not depend on the daemon's umask. */
        old_umask = umask(077);
        g_assert_cmpint(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
        umask(old_umask);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 0);
        g_assert_cmpstr(audit_log_path(log), ==, path);

        g_assert_cmpint(stat(parent, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0750);
        g_assert_cmpint(stat(grandparent, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0750);
        g_assert_cmpint(stat(path, &st), ==, 0);
        g_assert_true(S_ISREG(st.st_mode));
        g_assert_cmpint(st.st_mode & 07777, ==, 0640);

        /* 1: allow, every field; outcome ok. */
        rec = full_record(&t);
        g_assert_cmpint(audit_begin(log, &rec, &seq), ==, 0);
        g_assert_cmpuint(seq, ==, 1);
        g_assert_cmpint(audit_outcome_errno(log, seq, 0), ==, 0);

        /* 2: deny: one line with its final result, no outcome. */
        rec.decision = AUDIT_DECISION_DENY;
        rec.rule = "default:auth_admin";
        g_assert_cmpint(audit_begin(log, &rec, &seq), ==, 0);
        g_assert_cmpuint(seq, ==, 2);

        /* 3: nothing known but the action; no target. */
        rec = AUDIT_RECORD_NULL;
        rec.action = "org.pidbroker.spawn";
        g_assert_cmpint(audit_begin(log, &rec, NULL), ==, 0);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 3);

        /* 4: GetFd with an fd type, an empty gids list, zero-valued fields
         * that are real values (uid 0, signal 0); outcome esrch. */
        rec = small_record();
        rec.subject.gids = (const gid_t[]) { 0 };
        rec.subject.n_gids = 0;
        rec.details.signal = 0;
        rec.details.fd_type = "socket:[12345]";
        g_assert_cmpint(audit_begin(log, &rec, &seq), ==, 0);
        g_assert_cmpuint(seq, ==, 4);
        g_assert_cmpint(audit_outcome_errno(log, seq, -ESRCH), ==, 0);

        /* 5: an explicit final result on an allow (a one-line record). */
        rec.result = "ok";
        g_assert_cmpint(audit_record_append(log, &rec, &seq), ==, 0);
        g_assert_cmpuint(seq, ==, 5);

        audit_log_free(log);

        lines = validate_file(path);
        g_assert_cmpuint(g_strv_length(lines), ==, 7);
        g_assert_cmpstr(lines[0], ==,
                "{\"time\":\"T\",\"seq\":1,\"type\":\"record\",\"action\":\"org.pidbroker.signal\","
                "\"decision\":\"allow\",\"rule\":\"rules.d/50-ops.rules:3\","
                "\"subject\":{\"uid\":1000,\"gids\":[1000,27,100],\"pid\":4242,"
                "\"pidfd_id\":18446744073709551557,\"bus_name\":\":1.42\",\"comm\":\"bash\","
                "\"pidns\":4026531836,\"userns\":4026531837,\"identity\":\"bus-processfd\"},"
                "\"target\":{\"pid\":777,\"pidfd_id\":9001,\"uid\":1001,\"pidns\":4026531836,"
                "\"userns\":4026531837,\"comm\":\"sleep\",\"workload_id\":9001},"
                "\"details\":{\"signal\":15,\"flags\":0,\"target_fd\":null,\"fd_type\":null,\"suppressed\":null},"
                "\"result\":\"pending\",\"control_path\":\"pidfd\"}");
        g_assert_cmpstr(lines[1], ==, "{\"time\":\"T\",\"seq\":1,\"type\":\"outcome\",\"result\":\"ok\"}");
        g_assert_true(g_str_has_prefix(lines[2],
                "{\"time\":\"T\",\"seq\":2,\"type\":\"record\",\"action\":\"org.pidbroker.signal\","
                "\"decision\":\"deny\",\"rule\":\"default:auth_admin\","));
        g_assert_true(g_str_has_suffix(lines[2], "\"result\":\"denied\",\"control_path\":\"pidfd\"}"));
        g_assert_cmpstr(lines[3], ==,
                "{\"time\":\"T\",\"seq\":3,\"type\":\"record\",\"action\":\"org.pidbroker.spawn\","
                "\"decision\":\"deny\",\"rule\":null,"
                "\"subject\":{\"uid\":null,\"gids\":null,\"pid\":null,\"pidfd_id\":null,"
                "\"bus_name\":null,\"comm\":null,\"pidns\":null,\"userns\":null,\"identity\":null},"
                "\"target\":null,"
                "\"details\":{\"signal\":null,\"flags\":null,\"target_fd\":null,\"fd_type\":null,\"suppressed\":null},"
                "\"result\":\"denied\",\"control_path\":null}");
        g_assert_cmpstr(lines[4], ==,
                "{\"time\":\"T\",\"seq\":4,\"type\":\"record\",\"action\":\"org.pidbroker.getfd\","
                "\"decision\":\"allow\",\"rule\":\"default:auth_admin\","
                "\"subject\":{\"uid\":0,\"gids\":[],\"pid\":null,\"pidfd_id\":null,"
                "\"bus_name\":null,\"comm\":null,\"pidns\":null,\"userns\":null,\"identity\":\"peer-pidfd\"},"
                "\"target\":null,"
                "\"details\":{\"signal\":0,\"flags\":null,\"target_fd\":3,\"fd_type\":\"socket:[12345]\",\"suppressed\":null},"
                "\"result\":\"pending\",\"control_path\":\"pidfd\"}");
        g_assert_cmpstr(lines[5], ==, "{\"time\":\"T\",\"seq\":4,\"type\":\"outcome\",\"result\":\"esrch\"}");
        g_assert_true(g_str_has_prefix(lines[6], "{\"time\":\"T\",\"seq\":5,\"type\":\"record\","));
        g_assert_true(g_str_has_suffix(lines[6], "\"result\":\"ok\",\"control_path\":\"pidfd\"}"));

        /* Timestamps are real and ordered. */
        {
                g_autofree char *data = read_file(path, NULL);
                g_auto(GStrv) raw = g_strsplit(data, "\n", -1);
                g_autoptr(GDateTime) first = NULL, last = NULL, now = g_date_time_new_now_utc();
                char ts[AUDIT_TIMESTAMP_MAX];

                g_assert_cmpuint(g_strv_length(raw), ==, 8);
                g_strlcpy(ts, raw[0] + strlen("{\"time\":\""), sizeof(ts));
                first = g_date_time_new_from_iso8601(ts, NULL);
                g_strlcpy(ts, raw[6] + strlen("{\"time\":\""), sizeof(ts));
                last = g_date_time_new_from_iso8601(ts, NULL);
                g_assert_nonnull(first);
                g_assert_nonnull(last);
                g_assert_cmpint(g_date_time_compare(first, last), <=, 0);
                g_assert_cmpint(g_date_time_difference(now, first), >=, 0);
                g_assert_cmpint(g_date_time_difference(now, first), <, 60 * G_TIME_SPAN_SECOND);
        }

        rm_rf(dir);
}

static void append_n(AuditLog *log, unsigned n, bool with_outcome) {
        for (unsigned i = 0; i < n; i++) {
                AuditRecord rec = small_record();
                uint64_t seq, before = audit_log_last_seq(log);

                g_assert_cmpint(audit_begin(log, &rec, &seq), ==, 0);
                g_assert_cmpuint(seq, ==, before + 1);
                if (with_outcome)
                        g_assert_cmpint(audit_outcome(log, seq, "ok"), ==, 0);
        }
}

static void test_seq_continues(void) {
        g_autofree char *dir = make_tmp_dir();
        g_autofree char *path = g_build_filename(dir, "audit.jsonl", NULL);
        g_autofree char *rotated = g_build_filename(dir, "audit.jsonl.1", NULL);
        g_auto(GStrv) lines = NULL;
        AuditLog *log = NULL;
        AuditRecord rec;
        uint64_t seq1, seq;
        struct stat st;
        off_t size;

        g_assert_cmpint(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
        /* Interleaved: the outcome of 1 comes after record 3, so the last
         * line's seq is not the last seq. */
        rec = small_record();
        g_assert_cmpint(audit_begin(log, &rec, &seq1), ==, 0);
        append_n(log, 2, false);
        g_assert_cmpint(audit_outcome(log, seq1, "ok"), ==, 0);
        audit_log_free(log);

        g_assert_cmpint(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 3);
        append_n(log, 1, true);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 4);

        /* Reopen of the same file keeps counting. */
        g_assert_cmpint(audit_log_reopen(log), ==, 0);
        append_n(log, 1, false);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 5);

        /* logrotate: rename, then reopen → a new 0640 file, seq goes on. */
        g_assert_cmpint(rename(path, rotated), ==, 0);
        g_assert_cmpint(audit_log_reopen(log), ==, 0);
        g_assert_cmpint(stat(path, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0640);
        g_assert_cmpint(st.st_size, ==, 0);
        append_n(log, 2, true);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 7);
        audit_log_free(log);

        lines = validate_file(rotated);
        g_assert_cmpuint(g_strv_length(lines), ==, 7);
        g_assert_true(g_str_has_prefix(lines[5], "{\"time\":\"T\",\"seq\":4,\"type\":\"outcome\""));
        g_assert_true(g_str_has_prefix(lines[6], "{\"time\":\"T\",\"seq\":5,\"type\":\"record\""));
        g_clear_pointer(&lines, g_strfreev);
        lines = validate_file(path);
        g_assert_cmpuint(g_strv_length(lines), ==, 4);
        g_assert_true(g_str_has_prefix(lines[0], "{\"time\":\"T\",\"seq\":6,\"type\":\"record\""));
        g_assert_true(g_str_has_prefix(lines[3], "{\"time\":\"T\",\"seq\":7,\"type\":\"outcome\""));
        g_clear_pointer(&lines, g_strfreev);

        /* A record line far longer than any read window (30000 gids), then
         * outcome lines: found on open all the same. */
        {
                g_autofree gid_t *gids = g_new(gid_t, 30000);

                for (unsigned i = 0; i < 30000; i++)
                        gids[i] = 100000 + i;
                g_assert_cmpint(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
                rec = small_record();
                rec.subject.gids = gids;
                rec.subject.n_gids = 30000;
                g_assert_cmpint(audit_begin(log, &rec, &seq), ==, 0);
                g_assert_cmpuint(seq, ==, 8);
                for (unsigned i = 0; i < 3; i++)
                        g_assert_cmpint(audit_outcome(log, seq, "ok"), ==, 0);
                audit_log_free(log);
                g_assert_cmpint(file_size(path), >, 200000);
        }
        g_assert_cmpint(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 8);
        audit_log_free(log);

        /* A torn last line (a crash, trailing NULs) is cut on open. */
        size = file_size(path);
        {
                int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
                static const char torn[] = "{\"time\":\"2026-11-29T14:05:06.123456Z\",\"seq\":99,\"type\":\"record\",\"act\0\0\0";

                g_assert_cmpint(fd, >=, 0);
                g_assert_cmpint(write(fd, torn, sizeof(torn) - 1), ==, sizeof(torn) - 1);
                close(fd);
        }
        g_assert_cmpint(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
        g_assert_cmpint(file_size(path), ==, size);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 8);
        append_n(log, 1, true);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 9);
        audit_log_free(log);
        lines = validate_file(path);
        g_assert_cmpuint(g_strv_length(lines), ==, 10);
        g_clear_pointer(&lines, g_strfreev);

        /* Lines someone else wrote, and a file of outcomes only, are no
         * records: seq starts from what is provable. */
        g_assert_true(g_file_set_contents(rotated,
                "{\"time\":\"2026-11-29T14:05:06.123456Z\",\"seq\":41,\"type\":\"outcome\",\"result\":\"ok\"}\n"
                "not json at all, \"seq\":77\n", -1, NULL));
        g_assert_cmpint(audit_log_open(rotated, AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 0);
        audit_log_free(log);

        /* With fdatasync per line. */
        g_assert_cmpint(audit_log_open(path, AUDIT_LOG_SYNC | AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
        append_n(log, 1, true);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 10);
        audit_log_free(log);

        rm_rf(dir);
}

static void test_escaping(void) {
        static const struct {
                const char *in;
                const char *canonical; /* as Python's json.dumps(ensure_ascii) shows it */
                const char *raw;       /* a substring the file must hold, or NULL */
        } cases[] = {
                { "a\"b\\c\n\x01", "\"a\\\"b\\\\c\\n\\u0001\"", "\"a\\\"b\\\\c\\u000a\\u0001\"" },
                { "", "\"\"", NULL },
                { "\xff\xfe", "\"\\ufffd\\ufffd\"", "\"\\ufffd\\ufffd\"" },
                { "ok\xc0\xafok", "\"ok\\ufffd\\ufffdok\"", NULL },            /* overlong '/' */
                { "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"", NULL },         /* overlong 3-byte */
                { "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", NULL },         /* surrogate D800 */
                { "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", NULL }, /* > U+10FFFF */
                { "x\xe2\x82", "\"x\\ufffd\\ufffd\"", NULL },                 /* truncated at end */
                { "\xf0\x9f\x98" "A", "\"\\ufffd\\ufffd\\ufffdA\"", NULL },    /* truncated mid */
                { "\x80" "b", "\"\\ufffdb\"", NULL },                          /* stray continuation */
                { "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\"\\u00e9\\u20ac\\ud83d\\ude00\"",
                  "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"" },               /* valid: kept as is */
                { "\x7f\t\x1b[31m", "\"\\u007f\\t\\u001b[31m\"", "\"\\u007f\\u0009\\u001b[31m\"" },
                { "\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"", "\"\\u2028\\u2029\"" },
                { "\"}\n{\"time\":\"forged", "\"\\\"}\\n{\\\"time\\\":\\\"forged\"", NULL },
        };
        g_autofree char *dir = make_tmp_dir();
        g_autofree char *path = g_build_filename(dir, "audit.jsonl", NULL);
        g_autofree char *data = NULL;
        g_auto(GStrv) lines = NULL;
        AuditLog *log = NULL;
        size_t len;

        g_assert_cmpint(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                AuditRecord rec = small_record();
                AuditTarget t = AUDIT_TARGET_NULL;

                /* The same nasty string in every string field. */
                t.comm = cases[i].in;
                rec.target = &t;
                rec.subject.comm = cases[i].in;
                rec.subject.bus_name = cases[i].in;
                rec.details.fd_type = cases[i].in;
                rec.rule = cases[i].in;
                g_assert_cmpint(audit_begin(log, &rec, NULL), ==, 0);
                /* An empty result is refused (tested in /audit/invalid). */
                g_assert_cmpint(audit_outcome(log, audit_log_last_seq(log),
                                              *cases[i].in ? cases[i].in : "ok"), ==, 0);
        }
        audit_log_free(log);

        /* The raw file: one line per write, no raw control bytes, valid UTF-8. */
        data = read_file(path, &len);
        g_assert_true(g_utf8_validate(data, len, NULL));
        for (size_t i = 0, nl = 0; i < len; i++) {
                g_assert_true((unsigned char) data[i] >= 0x20 || data[i] == '\n');
                g_assert_true(data[i] != 0x7f);
                if (data[i] == '\n')
                        g_assert_cmpuint(++nl, <=, 2 * G_N_ELEMENTS(cases));
        }
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
                if (cases[i].raw)
                        g_assert_nonnull(strstr(data, cases[i].raw));

        lines = validate_file(path);
        g_assert_cmpuint(g_strv_length(lines), ==, 2 * G_N_ELEMENTS(cases));
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                const char *c = cases[i].canonical;
                g_autofree char *rule = g_strdup_printf("\"rule\":%s,", c);
                g_autofree char *bus = g_strdup_printf("\"bus_name\":%s,\"comm\":%s,", c, c);
                g_autofree char *tcomm = g_strdup_printf("\"comm\":%s,\"workload_id\":null}", c);
                g_autofree char *fdt = g_strdup_printf("\"fd_type\":%s,\"suppressed\":null}", c);
                g_autofree char *outcome = g_strdup_printf("\"type\":\"outcome\",\"result\":%s}",
                                                           *cases[i].in ? c : "\"ok\"");

                g_assert_nonnull(strstr(lines[2 * i], rule));
                g_assert_nonnull(strstr(lines[2 * i], bus));
                g_assert_nonnull(strstr(lines[2 * i], tcomm));
                g_assert_nonnull(strstr(lines[2 * i], fdt));
                g_assert_true(g_str_has_suffix(lines[2 * i + 1], outcome));
        }

        rm_rf(dir);
}

static void test_invalid(void) {
        g_autofree char *dir = make_tmp_dir();
        g_autofree char *path = g_build_filename(dir, "audit.jsonl", NULL);
        g_autofree char *link = g_build_filename(dir, "link.jsonl", NULL);
        AuditLog *log = NULL;
        AuditRecord rec;
        uint64_t seq = 42;

        g_assert_cmpint(audit_log_open(NULL, 0, &log), ==, -EINVAL);
        g_assert_cmpint(audit_log_open("", 0, &log), ==, -EINVAL);
        g_assert_cmpint(audit_log_open(dir, 0, &log), ==, -EISDIR);
        g_assert_cmpint(audit_log_open("/dev/null", 0, &log), ==, -EINVAL);
        g_assert_cmpint(symlink(path, link), ==, 0);
        g_assert_cmpint(audit_log_open(link, 0, &log), ==, -ELOOP);
        g_assert_null(log);

        g_assert_cmpint(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
        rec = small_record();
        rec.action = NULL;
        g_assert_cmpint(audit_begin(log, &rec, &seq), ==, -EINVAL);
        rec.action = "";
        g_assert_cmpint(audit_begin(log, &rec, &seq), ==, -EINVAL);
        rec = small_record();
        rec.decision = _AUDIT_DECISION_MAX;
        g_assert_cmpint(audit_begin(log, &rec, &seq), ==, -EINVAL);
        rec = small_record();
        g_assert_cmpint(audit_record_append(log, &rec, &seq), ==, -EINVAL); /* no result */
        g_assert_cmpint(audit_begin(log, NULL, &seq), ==, -EINVAL);
        g_assert_cmpuint(seq, ==, 42);

        g_assert_cmpint(audit_outcome(log, 1, "ok"), ==, -EINVAL);   /* not written yet */
        g_assert_cmpint(audit_begin(log, &rec, &seq), ==, 0);
        g_assert_cmpuint(seq, ==, 1);
        g_assert_cmpint(audit_outcome(log, 0, "ok"), ==, -EINVAL);
        g_assert_cmpint(audit_outcome(log, 2, "ok"), ==, -EINVAL);
        g_assert_cmpint(audit_outcome(log, 1, NULL), ==, -EINVAL);
        g_assert_cmpint(audit_outcome(log, 1, ""), ==, -EINVAL);
        g_assert_cmpint(audit_outcome(log, 1, "pending"), ==, -EINVAL);
        audit_log_free(log);

        g_auto(GStrv) lines = validate_file(path);
        g_assert_cmpuint(g_strv_length(lines), ==, 1);

        rm_rf(dir);
}

/* ── children in private mount namespaces ────────────────────────────────── */

/* In a forked child: report and leave with a non-zero status, never through
 * GLib's test machinery (whose output would land in the parent's TAP). */
#define CHECK(expr)                                                             \
        do {                                                                    \
                if (!(expr)) {                                                  \
                        fprintf(stderr, "%s:%d: check failed: %s (errno: %s)\n", \
                                __FILE__, __LINE__, #expr, strerror(errno));    \
                        return 1;                                               \
                }                                                               \
        } while (0)

static int private_mount_namespace(void) {
        if (unshare(CLONE_NEWNS) < 0)
                return -errno;
        /* "none": ignored by the kernel, but valgrind 3.19 flags NULL. */
        if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        return 0;
}

static void run_child(int (*fn)(void *), void *userdata) {
        int status = test_run_in_child(fn, userdata);

        g_assert_cmpint(status, >=, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                g_error("child failed (wait status 0x%x), see stderr", status);
}

/* In the child: whether every line of the file parses (the same validator). */
static bool child_file_valid(const char *path, unsigned *ret_lines) {
        const char *argv[] = { "python3", "-c", validator, path, NULL };
        g_autofree char *out = NULL, *err = NULL;
        int status;

        if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                          &out, &err, &status, NULL))
                return false;
        if (!g_spawn_check_wait_status(status, NULL)) {
                fprintf(stderr, "validator: %s\n", err);
                return false;
        }
        *ret_lines = 0;
        for (const char *p = out; *p; p++)
                *ret_lines += *p == '\n';
        return true;
}

static bool file_ends_with_newline(const char *path) {
        g_autofree char *data = NULL;
        gsize len;

        if (!g_file_get_contents(path, &data, &len, NULL))
                return false;
        return len == 0 || data[len - 1] == '\n';
}

static off_t child_file_size(const char *path) {
        struct stat st;

        return stat(path, &st) < 0 ? -1 : st.st_size;
}

static int enospc_child(void *userdata) {
        const char *mnt = userdata;
        g_autofree char *path = g_build_filename(mnt, "log", "audit.jsonl", NULL);
        g_autofree char *filler = g_build_filename(mnt, "filler", NULL);
        g_autofree gid_t *gids = g_new(gid_t, 3000);
        static char block[4096];
        AuditLog *log = NULL;
        AuditRecord rec;
        uint64_t seq, last;
        unsigned n_lines, n_lines_before;
        off_t size;
        int fd, r;

        CHECK(private_mount_namespace() == 0);
        CHECK(mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=16k,mode=0755") == 0);

        CHECK(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log) == 0);
        rec = small_record();
        CHECK(audit_begin(log, &rec, &seq) == 0 && seq == 1);
        CHECK(audit_outcome(log, seq, "ok") == 0);

        /* Take every free page. */
        fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        memset(block, 'x', sizeof(block));
        for (;;) {
                ssize_t n = write(fd, block, sizeof(block));
                if (n < 0) {
                        CHECK(errno == ENOSPC);
                        break;
                }
        }
        close(fd);

        /* The audit file's last page still has room, so a record longer than
         * that room is written in part (a short write): it must be undone. */
        size = child_file_size(path);
        CHECK(size > 0 && size % 4096 != 0);
        for (unsigned i = 0; i < 3000; i++)
                gids[i] = 100000 + i;
        rec = small_record();
        rec.subject.gids = gids;
        rec.subject.n_gids = 3000;
        seq = 0;
        CHECK(audit_begin(log, &rec, &seq) == -ENOSPC);
        CHECK(seq == 0);
        CHECK(child_file_size(path) == size);
        CHECK(audit_log_last_seq(log) == 1);

        /* Records fill the rest of the page until one does not fit: that
         * one fails with nothing of it left behind, and takes no seq. */
        for (unsigned i = 0;; i++) {
                CHECK(i < 1000);
                size = child_file_size(path);
                rec = small_record();
                last = audit_log_last_seq(log);
                r = audit_begin(log, &rec, &seq);
                if (r < 0) {
                        CHECK(r == -ENOSPC);
                        CHECK(audit_log_last_seq(log) == last);
                        break;
                }
                CHECK(seq == last + 1);
        }
        CHECK(child_file_size(path) == size);
        CHECK(file_ends_with_newline(path));
        CHECK(last > 1);

        /* Outcome lines are shorter: the same until they do not fit either. */
        for (unsigned i = 0;; i++) {
                CHECK(i < 1000);
                size = child_file_size(path);
                r = audit_outcome(log, last, "ok");
                if (r < 0) {
                        CHECK(r == -ENOSPC);
                        break;
                }
        }
        CHECK(child_file_size(path) == size);
        CHECK(file_ends_with_newline(path));

        /* Full: records and outcomes alike fail closed, file untouched. */
        rec = small_record();
        CHECK(audit_begin(log, &rec, &seq) == -ENOSPC);
        CHECK(audit_outcome(log, last, "ok") == -ENOSPC);
        CHECK(child_file_size(path) == size);
        CHECK(audit_log_last_seq(log) == last);
        CHECK(child_file_valid(path, &n_lines_before));

        /* Space returns: the next record works and takes the next seq. */
        CHECK(unlink(filler) == 0);
        rec = small_record();
        CHECK(audit_begin(log, &rec, &seq) == 0);
        CHECK(seq == last + 1);
        CHECK(audit_outcome(log, seq, "ok") == 0);
        CHECK(child_file_valid(path, &n_lines));
        CHECK(n_lines == n_lines_before + 2);
        audit_log_free(log);

        /* And a restart continues from there. */
        CHECK(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log) == 0);
        CHECK(audit_log_last_seq(log) == last + 1);
        audit_log_free(log);
        return 0;
}

static void test_enospc_fail_closed(void) {
        g_autofree char *mnt = NULL;

        TEST_REQUIRE_ROOT();
        mnt = make_tmp_dir();
        run_child(enospc_child, mnt);
        g_assert_cmpint(rmdir(mnt), ==, 0);
}

/* One datagram from the fake journald, or NULL when none is queued. */
static char *journal_recv(int fd, size_t *ret_len) {
        char *buf = g_malloc(256 * 1024);
        ssize_t n;

        n = recv(fd, buf, 256 * 1024 - 1, MSG_DONTWAIT);
        if (n < 0) {
                g_free(buf);
                return NULL;
        }
        buf[n] = '\0';
        *ret_len = (size_t) n;
        return buf;
}

/* Whether the native-protocol datagram holds "KEY=value\n" as a field. */
static bool journal_has(const char *dgram, size_t len, const char *field) {
        size_t fl = strlen(field);

        for (const char *p = dgram; p && p + fl <= dgram + len; ) {
                if ((p == dgram || p[-1] == '\n') && memcmp(p, field, fl) == 0 && p[fl] == '\n')
                        return true;
                p = memchr(p, '\n', dgram + len - p);
                if (p)
                        p++;
        }
        return false;
}

static int journal_child(void *userdata) {
        const char *dir = userdata;
        g_autofree char *path = g_build_filename(dir, "audit.jsonl", NULL);
        g_autofree char *data = NULL, *dgram = NULL, *field = NULL;
        g_auto(GStrv) file_lines = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket" };
        AuditLog *log = NULL;
        AuditRecord rec;
        AuditTarget t;
        uint64_t seq;
        size_t len;
        int fd;

        CHECK(private_mount_namespace() == 0);
        CHECK(mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") == 0);
        CHECK(g_mkdir_with_parents("/run/systemd/journal", 0755) == 0);

        /* No socket: nothing is sent, the record is written. */
        CHECK(audit_log_open(path, 0, &log) == 0);
        rec = full_record(&t);
        CHECK(audit_begin(log, &rec, &seq) == 0 && seq == 1);

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0);
        CHECK(bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        {
                int big = 1024 * 1024;
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
        }
        /* journald started: seen within a second, at once on reopen. */
        CHECK(audit_log_reopen(log) == 0);

        /* journald "runs": record and outcome each arrive as one entry. */
        rec = full_record(&t);
        rec.details.signal = 0;
        CHECK(audit_begin(log, &rec, &seq) == 0 && seq == 2);
        CHECK(audit_outcome_errno(log, seq, -ESRCH) == 0);

        CHECK(g_file_get_contents(path, &data, NULL, NULL));
        file_lines = g_strsplit(data, "\n", -1);
        CHECK(g_strv_length(file_lines) == 4);

        dgram = journal_recv(fd, &len);
        CHECK(dgram);
        CHECK(journal_has(dgram, len, "MESSAGE_ID=" AUDIT_MESSAGE_ID));
        CHECK(journal_has(dgram, len, "PIDBROKER_TYPE=record"));
        CHECK(journal_has(dgram, len, "PIDBROKER_SEQ=2"));
        CHECK(journal_has(dgram, len, "PIDBROKER_ACTION=org.pidbroker.signal"));
        CHECK(journal_has(dgram, len, "PIDBROKER_DECISION=allow"));
        CHECK(journal_has(dgram, len, "PIDBROKER_RULE=rules.d/50-ops.rules:3"));
        CHECK(journal_has(dgram, len, "PIDBROKER_RESULT=pending"));
        CHECK(journal_has(dgram, len, "PIDBROKER_SUBJECT_UID=1000"));
        CHECK(journal_has(dgram, len, "PIDBROKER_SUBJECT_PID=4242"));
        CHECK(journal_has(dgram, len, "PIDBROKER_SUBJECT_PIDFD_ID=18446744073709551557"));
        CHECK(journal_has(dgram, len, "PIDBROKER_SUBJECT_IDENTITY=bus-processfd"));
        CHECK(journal_has(dgram, len, "PIDBROKER_SUBJECT_BUS_NAME=:1.42"));
        CHECK(journal_has(dgram, len, "PIDBROKER_TARGET_PID=777"));
        CHECK(journal_has(dgram, len, "PIDBROKER_TARGET_PIDFD_ID=9001"));
        CHECK(journal_has(dgram, len, "PIDBROKER_TARGET_UID=1001"));
        CHECK(journal_has(dgram, len, "PIDBROKER_TARGET_WORKLOAD_ID=9001"));
        CHECK(journal_has(dgram, len, "PIDBROKER_SIGNAL=0"));
        CHECK(journal_has(dgram, len, "PIDBROKER_FLAGS=0"));
        CHECK(!strstr(dgram, "PIDBROKER_TARGET_FD="));
        CHECK(journal_has(dgram, len, "PIDBROKER_CONTROL_PATH=pidfd"));
        CHECK(journal_has(dgram, len, "PRIORITY=5"));
        field = g_strdup_printf("PIDBROKER_JSON=%s", file_lines[1]);
        CHECK(journal_has(dgram, len, field));
        CHECK(strstr(dgram, "\nMESSAGE=org.pidbroker.signal allow") || g_str_has_prefix(dgram, "MESSAGE=org.pidbroker.signal allow"));
        g_clear_pointer(&dgram, g_free);
        g_clear_pointer(&field, g_free);

        dgram = journal_recv(fd, &len);
        CHECK(dgram);
        CHECK(journal_has(dgram, len, "MESSAGE_ID=" AUDIT_MESSAGE_ID));
        CHECK(journal_has(dgram, len, "PIDBROKER_TYPE=outcome"));
        CHECK(journal_has(dgram, len, "PIDBROKER_SEQ=2"));
        CHECK(journal_has(dgram, len, "PIDBROKER_RESULT=esrch"));
        field = g_strdup_printf("PIDBROKER_JSON=%s", file_lines[2]);
        CHECK(journal_has(dgram, len, field));
        g_clear_pointer(&dgram, g_free);

        /* A deny is a warning; a record with nothing known sends only what
         * is known. */
        rec = AUDIT_RECORD_NULL;
        rec.action = "org.pidbroker.spawn";
        CHECK(audit_begin(log, &rec, &seq) == 0 && seq == 3);
        dgram = journal_recv(fd, &len);
        CHECK(dgram);
        CHECK(journal_has(dgram, len, "PRIORITY=4"));
        CHECK(journal_has(dgram, len, "PIDBROKER_DECISION=deny"));
        CHECK(journal_has(dgram, len, "PIDBROKER_RESULT=denied"));
        CHECK(!strstr(dgram, "PIDBROKER_SUBJECT_UID="));
        CHECK(!strstr(dgram, "PIDBROKER_TARGET_"));
        CHECK(!strstr(dgram, "PIDBROKER_SIGNAL="));
        CHECK(!strstr(dgram, "PIDBROKER_RULE="));
        g_clear_pointer(&dgram, g_free);
        audit_log_free(log);

        /* AUDIT_LOG_NO_JOURNAL: the file only. */
        CHECK(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log) == 0);
        rec = small_record();
        CHECK(audit_begin(log, &rec, &seq) == 0 && seq == 4);
        CHECK(journal_recv(fd, &len) == NULL && errno == EAGAIN);
        audit_log_free(log);

        /* journald gone but its socket left behind (nobody listening): the
         * send fails, the record does not. */
        close(fd);
        CHECK(access(sa.sun_path, F_OK) == 0);
        CHECK(audit_log_open(path, 0, &log) == 0);
        rec = full_record(&t);
        CHECK(audit_begin(log, &rec, &seq) == 0 && seq == 5);
        CHECK(audit_outcome(log, seq, "ok") == 0);
        audit_log_free(log);

        {
                unsigned n;
                CHECK(child_file_valid(path, &n));
                CHECK(n == 7);
        }
        return 0;
}

static void test_journal(void) {
        g_autofree char *dir = NULL;

        TEST_REQUIRE_ROOT();
        dir = make_tmp_dir();
        run_child(journal_child, dir);
        rm_rf(dir);
}

/* ── denial budget ─────────────────────────────────────────────────────── */

#define T0 UINT64_C(1000000000) /* a CLOCK_MONOTONIC reading; any will do */

static AuditRecord denial_by(uid_t uid) {
        AuditRecord rec = AUDIT_RECORD_NULL;

        rec.action = "org.pidbroker.signal";
        rec.decision = AUDIT_DECISION_DENY;
        rec.rule = "default:no";
        rec.subject.uid = uid;
        rec.details.signal = 15;
        return rec;
}

static char *summary_line(uint64_t seq, const char *uid, const char *rule, uint64_t n) {
        return g_strdup_printf(
                "{\"time\":\"T\",\"seq\":%" G_GUINT64_FORMAT ",\"type\":\"record\","
                "\"action\":\"org.pidbroker.audit-suppressed\",\"decision\":\"deny\",\"rule\":\"%s\","
                "\"subject\":{\"uid\":%s,\"gids\":null,\"pid\":null,\"pidfd_id\":null,"
                "\"bus_name\":null,\"comm\":null,\"pidns\":null,\"userns\":null,\"identity\":null},"
                "\"target\":null,"
                "\"details\":{\"signal\":null,\"flags\":null,\"target_fd\":null,\"fd_type\":null,"
                "\"suppressed\":%" G_GUINT64_FORMAT "},"
                "\"result\":\"suppressed\",\"control_path\":null}",
                seq, rule, uid, n);
}

/* Counts the written denials among n calls; every call succeeds. */
static unsigned deny_n(AuditLog *log, uid_t uid, unsigned n, uint64_t now) {
        AuditRecord rec = denial_by(uid);
        unsigned written = 0;

        for (unsigned i = 0; i < n; i++) {
                uint64_t seq = UINT64_MAX;

                g_assert_cmpint(audit_deny(log, &rec, now, &seq), ==, 0);
                g_assert_cmpuint(seq, !=, UINT64_MAX);
                written += seq != 0;
        }
        return written;
}

/* One uid's flood: burst lines, then one exact summary; another uid is
 * written all along. */
static void test_denial_budget_flood(void) {
        g_autofree char *dir = make_tmp_dir();
        g_autofree char *path = g_build_filename(dir, "audit.jsonl", NULL);
        g_autofree char *summary = NULL;
        g_auto(GStrv) lines = NULL;
        AuditLog *log = NULL;
        AuditRecord rec;
        uint64_t seq = 0;

        g_assert_cmpint(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
        g_assert_cmpint(audit_log_set_denial_budget(log, 10, 5), ==, 0);

        /* uid 65534 floods: 10 written, 9990 counted. */
        g_assert_cmpuint(deny_n(log, 65534, 10000, T0), ==, 10);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 10);

        /* uid 1 is untouched by it. */
        g_assert_cmpuint(deny_n(log, 1, 3, T0), ==, 3);
        g_assert_cmpuint(audit_log_last_seq(log), ==, 13);

        /* Allowed records are never counted against anyone. */
        rec = small_record();
        rec.subject.uid = 65534;
        g_assert_cmpint(audit_begin(log, &rec, &seq), ==, 0);
        g_assert_cmpuint(seq, ==, 14);
        g_assert_cmpint(audit_deny(log, &rec, T0, &seq), ==, -EINVAL);

        /* 0.1 s later, not a whole token yet: still counted. */
        g_assert_cmpuint(deny_n(log, 65534, 1, T0 + 100000), ==, 0);
        /* 1 s after the flood, 5 tokens: the summary, then the denial. */
        rec = denial_by(65534);
        g_assert_cmpint(audit_deny(log, &rec, T0 + 1000000, &seq), ==, 0);
        g_assert_cmpuint(seq, ==, 16);
        /* Nothing left to summarise. */
        g_assert_cmpint(audit_flush_suppressed(log, T0 + 1000000), ==, 0);
        audit_log_free(log);

        lines = validate_file(path);
        g_assert_cmpuint(g_strv_length(lines), ==, 16);
        for (unsigned i = 0; i < 10; i++) {
                g_autofree char *prefix = g_strdup_printf("{\"time\":\"T\",\"seq\":%u,\"type\":\"record\","
                                                          "\"action\":\"org.pidbroker.signal\",\"decision\":\"deny\","
                                                          "\"rule\":\"default:no\",\"subject\":{\"uid\":65534,", i + 1);
                g_assert_true(g_str_has_prefix(lines[i], prefix));
                g_assert_true(g_str_has_suffix(lines[i], "\"suppressed\":null},\"result\":\"denied\",\"control_path\":null}"));
        }
        g_assert_true(strstr(lines[10], "\"subject\":{\"uid\":1,"));
        summary = summary_line(15, "65534", "audit-budget", 9991);
        g_assert_cmpstr(lines[14], ==, summary);
        g_assert_true(strstr(lines[15], "\"seq\":16,\"type\":\"record\",\"action\":\"org.pidbroker.signal\""));
        rm_rf(dir);
}

/* Unidentified callers share one bucket; the timer's flush writes what is
 * owed without waiting for tokens; a budget of 0 writes everything. */
static void test_denial_budget_flush(void) {
        g_autofree char *dir = make_tmp_dir();
        g_autofree char *path = g_build_filename(dir, "audit.jsonl", NULL);
        g_autofree char *s1 = NULL, *s2 = NULL;
        g_auto(GStrv) lines = NULL;
        AuditLog *log = NULL;

        g_assert_cmpint(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
        /* The default is on. */
        g_assert_cmpuint(deny_n(log, AUDIT_UID_UNSET, AUDIT_DENIAL_BURST_DEFAULT + 7, T0), ==,
                         AUDIT_DENIAL_BURST_DEFAULT);
        g_assert_cmpint(audit_log_set_denial_budget(log, 2, 0), ==, 0); /* writes the 7 first */
        g_assert_cmpuint(deny_n(log, AUDIT_UID_UNSET, 5, T0), ==, 2);
        g_assert_cmpuint(deny_n(log, 0, 4, T0), ==, 2);
        g_assert_cmpint(audit_flush_suppressed(log, T0), ==, 2);
        g_assert_cmpint(audit_flush_suppressed(log, T0), ==, 0);
        /* No refill at 0 per second: still over budget, an hour later. */
        g_assert_cmpuint(deny_n(log, 0, 1, T0 + UINT64_C(3600000000)), ==, 0);

        g_assert_cmpint(audit_log_set_denial_budget(log, 0, 0), ==, 0); /* the one above */
        g_assert_cmpuint(deny_n(log, 0, 500, T0), ==, 500);
        audit_log_free(log);

        lines = validate_file(path);
        g_assert_cmpuint(g_strv_length(lines), ==, AUDIT_DENIAL_BURST_DEFAULT + 1 + 2 + 2 + 2 + 1 + 500);
        s1 = summary_line(AUDIT_DENIAL_BURST_DEFAULT + 1, "null", "audit-budget", 7);
        g_assert_cmpstr(lines[AUDIT_DENIAL_BURST_DEFAULT], ==, s1);
        g_clear_pointer(&s1, g_free);
        s1 = summary_line(AUDIT_DENIAL_BURST_DEFAULT + 6, "null", "audit-budget", 3);
        s2 = summary_line(AUDIT_DENIAL_BURST_DEFAULT + 7, "0", "audit-budget", 2);
        g_assert_cmpstr(lines[AUDIT_DENIAL_BURST_DEFAULT + 5], ==, s1);
        g_assert_cmpstr(lines[AUDIT_DENIAL_BURST_DEFAULT + 6], ==, s2);
        g_clear_pointer(&s1, g_free);
        s1 = summary_line(AUDIT_DENIAL_BURST_DEFAULT + 8, "0", "audit-budget", 1);
        g_assert_cmpstr(lines[AUDIT_DENIAL_BURST_DEFAULT + 7], ==, s1);
        rm_rf(dir);
}

/* More uids over budget than the table holds: the rest share the overflow
 * bucket, and idle slots are reused once their uids calm down. */
static void test_denial_budget_table_full(void) {
        g_autofree char *dir = make_tmp_dir();
        g_autofree char *path = g_build_filename(dir, "audit.jsonl", NULL);
        g_autofree char *overflow = NULL;
        g_auto(GStrv) lines = NULL;
        AuditLog *log = NULL;
        unsigned n_lines, n_summaries = 0;

        g_assert_cmpint(audit_log_open(path, AUDIT_LOG_NO_JOURNAL, &log), ==, 0);
        g_assert_cmpint(audit_log_set_denial_budget(log, 1, 1), ==, 0);
        for (uid_t u = 0; u < AUDIT_DENIAL_BUCKETS; u++)
                g_assert_cmpuint(deny_n(log, 1000 + u, 2, T0), ==, 1);
        /* Every slot owes a summary: two new uids share one bucket. */
        g_assert_cmpuint(deny_n(log, 900000, 3, T0), ==, 1);
        g_assert_cmpuint(deny_n(log, 900001, 3, T0), ==, 0);
        n_lines = AUDIT_DENIAL_BUCKETS + 1;
        g_assert_cmpuint(audit_log_last_seq(log), ==, n_lines);

        /* The flush writes all of it, and frees the slots once refilled. */
        g_assert_cmpint(audit_flush_suppressed(log, T0 + 2000000), ==, AUDIT_DENIAL_BUCKETS + 1);
        n_lines += AUDIT_DENIAL_BUCKETS + 1;
        g_assert_cmpuint(deny_n(log, 900001, 1, T0 + 2000000), ==, 1);
        n_lines++;
        audit_log_free(log);

        lines = validate_file(path);
        g_assert_cmpuint(g_strv_length(lines), ==, n_lines);
        overflow = summary_line(0, "null", "audit-budget:overflow", 5);
        for (char **l = lines; *l; l++) {
                const char *a = strstr(*l, "\"action\":\"org.pidbroker.audit-suppressed\"");
                if (!a)
                        continue;
                n_summaries++;
                if (strstr(*l, "audit-budget:overflow")) {
                        /* Same line but for the seq. */
                        g_assert_cmpstr(strstr(*l, "\"type\""), ==, strstr(overflow, "\"type\""));
                } else
                        g_assert_true(strstr(*l, "\"suppressed\":1},"));
        }
        g_assert_cmpuint(n_summaries, ==, AUDIT_DENIAL_BUCKETS + 1);
        rm_rf(dir);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/audit/timestamp-and-results", test_timestamp_and_results);
        g_test_add_func("/audit/round-trip", test_round_trip);
        g_test_add_func("/audit/seq-continues", test_seq_continues);
        g_test_add_func("/audit/escaping", test_escaping);
        g_test_add_func("/audit/invalid", test_invalid);
        g_test_add_func("/audit/enospc-fail-closed", test_enospc_fail_closed);
        g_test_add_func("/audit/journal", test_journal);
        g_test_add_func("/audit/denial-budget/flood", test_denial_budget_flood);
        g_test_add_func("/audit/denial-budget/flush", test_denial_budget_flush);
        g_test_add_func("/audit/denial-budget/table-full", test_denial_budget_table_full);
        return g_test_run();
}
