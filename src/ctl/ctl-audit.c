/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `audit`: the audit log is a file of JSON lines (format in
 * src/audit/audit.h), so this reads it directly, filters on a few fields, and
 * with --follow keeps reading as the broker appends (and after a rotation).
 * A "record" line of an allowed operation says result "pending"; its
 * "outcome" line (same seq, no action or subject) follows later and is shown
 * with it whenever the record passed the filters. No D-Bus here. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl-util.h"
#include "ctl.h"
#include "json.h"
#include "policy.h"

#define ACTION_PREFIX "org.pidbroker."
#define FOLLOW_RECHECK_MSEC 1000
#define PENDING_MAX 4096 /* records awaiting their outcome line, remembered */

static bool filtering(void) {
        return arg.action || arg.has_uid || arg.has_since || arg.has_until || arg.decision || arg.result ||
               arg.workload;
}

/* Whether --result names what an outcome line says (ok, esrch, ...) rather
 * than a record's own result: then a pending record is held back until its
 * outcome shows whether it matches. */
static bool result_is_outcome(void) {
        return arg.result && strcmp(arg.result, "pending") != 0 && strcmp(arg.result, "denied") != 0;
}

/* Pending records whose outcome line is still to come: shown (held NULL),
 * or held back for --result. */
typedef struct Pending {
        uint64_t seq;
        char *held;
} Pending;

static Pending pending[PENDING_MAX];
static size_t n_pending;

static void pending_add(uint64_t seq, char *held) {
        if (n_pending == PENDING_MAX) {
                /* Forget the oldest: an outcome that far behind is lost. */
                free(pending[0].held);
                memmove(pending, pending + 1, (PENDING_MAX - 1) * sizeof pending[0]);
                n_pending--;
        }
        pending[n_pending++] = (Pending) { .seq = seq, .held = held };
}

static bool pending_take(uint64_t seq, char **ret_held) {
        for (size_t i = 0; i < n_pending; i++)
                if (pending[i].seq == seq) {
                        *ret_held = pending[i].held;
                        pending[i] = pending[--n_pending];
                        return true;
                }
        return false;
}

static void pending_free(void) {
        for (size_t i = 0; i < n_pending; i++)
                free(pending[i].held);
        n_pending = 0;
}

/* --action: an action the broker asks, with or without org.pidbroker. */
static int check_action(const char *action) {
        const PolicyMethodAction *rows;
        size_t n, plen = strlen(ACTION_PREFIX);

        rows = policy_method_actions(&n);
        for (size_t i = 0; i < n; i++)
                if (strcmp(rows[i].action, action) == 0 ||
                    (strncmp(rows[i].action, ACTION_PREFIX, plen) == 0 && strcmp(rows[i].action + plen, action) == 0))
                        return 0;
        _cleanup_free_ char *known = NULL;
        size_t len = 0;

        for (size_t i = 0; i < n; i++) {
                const char *name = rows[i].action + (strncmp(rows[i].action, ACTION_PREFIX, plen) == 0 ? plen : 0);
                bool dup = false;
                char *k;

                for (size_t j = 0; j < i; j++)
                        dup = dup || strcmp(rows[i].action, rows[j].action) == 0;
                if (dup)
                        continue;
                k = realloc(known, len + strlen(name) + 2);
                if (!k)
                        return -ENOMEM;
                known = k;
                len += (size_t) sprintf(known + len, "%s%s", len ? " " : "", name);
        }
        return ctl_usage_error("--action=%s: unknown action (the broker's: %s)", action, known ?: "");
}

static bool is_type(const JsonValue *rec, const char *type) {
        const char *t = json_scalar(json_get(rec, "type"));
        return t && strcmp(t, type) == 0;
}

static bool record_matches(const JsonValue *rec) {
        if (arg.action) {
                const char *a = json_scalar(json_get(rec, "action"));
                size_t plen = strlen(ACTION_PREFIX);

                if (!a)
                        return false;
                if (strcmp(a, arg.action) != 0 &&
                    !(strncmp(a, ACTION_PREFIX, plen) == 0 && strcmp(a + plen, arg.action) == 0))
                        return false;
        }
        if (arg.has_uid) {
                uint64_t uid;

                if (parse_u64(json_scalar(json_get(rec, "subject.uid")), &uid) < 0 || uid != arg.uid)
                        return false;
        }
        if (arg.has_since || arg.has_until) {
                const char *t = json_scalar(json_get(rec, "time"));
                uint64_t usec;

                if (!t || parse_timestamp(t, &usec) < 0)
                        return false;
                if ((arg.has_since && usec < arg.since_usec) || (arg.has_until && usec > arg.until_usec))
                        return false;
        }
        if (arg.decision) {
                const char *d = json_scalar(json_get(rec, "decision"));
                if (!d || strcmp(d, arg.decision) != 0)
                        return false;
        }
        if (arg.workload) {
                const char *w = json_scalar(json_get(rec, "target.workload_id"));
                if (!w || strcmp(w, arg.workload) != 0)
                        return false;
        }
        if (arg.result) {
                const char *r = json_scalar(json_get(rec, "result"));
                /* An outcome's result: pending records wait for theirs. */
                if (!r || strcmp(r, result_is_outcome() ? "pending" : arg.result) != 0)
                        return false;
        }
        return true;
}

/* A decoded string on the terminal. comm and fd_type (a file's path) are
 * chosen by whoever made the request, and the log's "\u001b" or "\n" decode
 * to the real control characters: printed raw they would move the cursor,
 * erase what came before or forge a record line. Shown as \xNN instead, C1
 * controls (U+0080..U+009F, which some terminals obey) too. */
static void print_sanitized(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        printf("\\x%02x", *p);
                else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
                        printf("\\u%04x", p[1]);
                        p++;
                } else
                        putchar(*p);
        }
}

/* " key=value" for a scalar member, nothing when absent or null. */
static void print_field(const JsonValue *rec, const char *path, const char *label) {
        const JsonValue *v = json_get(rec, path);
        const char *s = json_scalar(v);

        if (!s || (v->type == JSON_STRING && !*s))
                return;
        printf(" %s=", label);
        print_sanitized(s);
}

/* A detail, under "details" (audit.h) or, failing that, at the top level. */
static const char *detail_path(const JsonValue *rec, const char *name, char *buf, size_t size) {
        snprintf(buf, size, "details.%s", name);
        if (json_scalar(json_get(rec, buf)))
                return buf;
        return name;
}

static void print_record(const JsonValue *rec) {
        const char *t = json_scalar(json_get(rec, "time"));
        const char *action = json_scalar(json_get(rec, "action")) ?: "?";
        const char *seq = json_scalar(json_get(rec, "seq"));
        const char *sig;
        char buf[64], signame[32], path[32];
        uint64_t usec, signo;

        if (t && parse_timestamp(t, &usec) >= 0)
                t = format_timestamp(usec, buf, sizeof buf);

        /* Every string from the log goes through print_sanitized(). */
        print_sanitized(t ?: "?");
        fputs(" #", stdout);
        print_sanitized(seq ?: "?");
        if (is_type(rec, "outcome")) {
                fputs(" outcome ", stdout);
                print_sanitized(json_scalar(json_get(rec, "result")) ?: "-");
                putchar('\n');
                return;
        }

        if (strncmp(action, ACTION_PREFIX, strlen(ACTION_PREFIX)) == 0)
                action += strlen(ACTION_PREFIX);
        putchar(' ');
        print_sanitized(action);
        putchar(' ');
        print_sanitized(json_scalar(json_get(rec, "decision")) ?: "?");
        putchar(' ');
        print_sanitized(json_scalar(json_get(rec, "result")) ?: "-");
        print_field(rec, "subject.uid", "uid");
        print_field(rec, "subject.pid", "pid");
        print_field(rec, "subject.comm", "comm");
        if (json_get(rec, "target") && json_get(rec, "target")->type == JSON_OBJECT) {
                fputs(" ->", stdout);
                print_field(rec, "target.pid", "pid");
                print_field(rec, "target.uid", "uid");
                print_field(rec, "target.comm", "comm");
                print_field(rec, "target.workload_id", "workload");
        }
        sig = json_scalar(json_get(rec, detail_path(rec, "signal", path, sizeof path)));
        if (sig && parse_u64(sig, &signo) >= 0 && signo > 0 && signo < 128)
                printf(" signal=%s", signal_to_string((int) signo, signame, sizeof signame));
        else
                print_field(rec, detail_path(rec, "signal", path, sizeof path), "signal");
        print_field(rec, detail_path(rec, "flags", path, sizeof path), "flags");
        print_field(rec, detail_path(rec, "target_fd", path, sizeof path), "fd");
        print_field(rec, detail_path(rec, "fd_type", path, sizeof path), "fd_type");
        print_field(rec, detail_path(rec, "suppressed", path, sizeof path), "suppressed");
        print_field(rec, "rule", "rule");
        putchar('\n');
}

static void emit_record(const JsonValue *rec, const char *line, size_t len) {
        if (arg.json) {
                /* Pass through as written: the log's schema is the schema. */
                fwrite(line, 1, len, stdout);
                putchar('\n');
        } else
                print_record(rec);
}

static void emit_line(const char *line, size_t len) {
        _cleanup_(json_freep) JsonValue *rec = NULL;
        _cleanup_free_ char *copy = strndup(line, len);

        if (copy && json_parse(copy, &rec) >= 0)
                emit_record(rec, line, len);
}

static void handle_line(const char *line, size_t len) {
        _cleanup_(json_freep) JsonValue *rec = NULL;
        _cleanup_free_ char *copy = NULL;

        if (len == 0)
                return;
        copy = strndup(line, len);
        if (!copy || json_parse(copy, &rec) < 0 || rec->type != JSON_OBJECT) {
                ctl_debug("skipping a line that is not a JSON object");
                return;
        }
        if (filtering()) {
                uint64_t seq = 0;
                bool has_seq = parse_u64(json_scalar(json_get(rec, "seq")), &seq) >= 0;
                const char *result = json_scalar(json_get(rec, "result"));

                if (is_type(rec, "outcome")) {
                        _cleanup_free_ char *held = NULL;

                        /* Shown when its record was; a held record with it
                         * when the outcome is the --result asked for. */
                        if (!has_seq || !pending_take(seq, &held))
                                return;
                        if (result_is_outcome()) {
                                if (!result || strcmp(result, arg.result) != 0 || !held)
                                        return;
                                emit_line(held, strlen(held));
                        }
                } else {
                        if (!record_matches(rec))
                                return;
                        if (has_seq && result && strcmp(result, "pending") == 0) {
                                if (result_is_outcome()) {
                                        pending_add(seq, TAKE_PTR(copy));
                                        return;
                                }
                                pending_add(seq, NULL);
                        }
                }
        }
        emit_record(rec, line, len);
}

typedef struct LineBuffer {
        char *data;
        size_t len, size;
} LineBuffer;

/* Read what fd has now; hand over complete lines, keep a partial one. */
static int read_available(int fd, LineBuffer *b) {
        for (;;) {
                ssize_t n;
                char *start, *nl;

                if (b->size - b->len < 65536) {
                        char *d = realloc(b->data, b->size + 65536);
                        if (!d)
                                return -ENOMEM;
                        b->data = d;
                        b->size += 65536;
                }
                n = read(fd, b->data + b->len, b->size - b->len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return 0;
                b->len += (size_t) n;

                start = b->data;
                while ((nl = memchr(start, '\n', b->len - (size_t) (start - b->data)))) {
                        handle_line(start, (size_t) (nl - start));
                        start = nl + 1;
                }
                b->len -= (size_t) (start - b->data);
                memmove(b->data, start, b->len);
        }
}

static int open_log(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        return fd < 0 ? -errno : fd;
}

int verb_audit(int argc, char *argv[]) {
        const char *path = arg.audit_log ?: DEFAULT_AUDIT_LOG;
        _cleanup_close_ int fd = -EBADF, inotify_fd = -EBADF;
        LineBuffer b = {};
        int r;

        if (arg.action) {
                r = check_action(arg.action);
                if (r < 0)
                        return r;
        }

        fd = open_log(path);
        if (fd < 0 && !(arg.follow && fd == -ENOENT))
                return ctl_error(fd, NULL, "Failed to open the audit log %s", path);

        if (arg.follow) {
                inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
                if (inotify_fd < 0)
                        ctl_debug("no inotify (%m): checking every second");
        }

        for (;;) {
                struct stat st_fd, st_path;

                if (fd >= 0) {
                        r = read_available(fd, &b);
                        if (r < 0) {
                                free(b.data);
                                return ctl_error(r, NULL, "Failed to read %s", path);
                        }
                        fflush(stdout);
                }
                if (!arg.follow)
                        break;

                /* Rotated or recreated: read the new file from its start.
                 * Truncated: start over. */
                if (stat(path, &st_path) >= 0 &&
                    (fd < 0 || (fstat(fd, &st_fd) >= 0 && (st_fd.st_ino != st_path.st_ino ||
                                                            st_fd.st_dev != st_path.st_dev)))) {
                        if (fd >= 0) {
                                r = read_available(fd, &b); /* what was written before the rotation */
                                if (r < 0)
                                        ctl_debug("reading the rotated log failed: %s", strerror(-r));
                        }
                        safe_close(fd);
                        if (arg.action) {
                r = check_action(arg.action);
                if (r < 0)
                        return r;
        }

        fd = open_log(path);
                        b.len = 0;
                        continue;
                }
                if (fd >= 0 && fstat(fd, &st_fd) >= 0 && lseek(fd, 0, SEEK_CUR) > st_fd.st_size) {
                        lseek(fd, 0, SEEK_SET);
                        b.len = 0;
                        continue;
                }

                if (inotify_fd >= 0) {
                        struct pollfd p = { .fd = inotify_fd, .events = POLLIN };
                        char events[4096];
                        int wd = inotify_add_watch(inotify_fd, path, IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB);

                        (void) poll(&p, 1, FOLLOW_RECHECK_MSEC);
                        while (read(inotify_fd, events, sizeof events) > 0)
                                ;
                        if (wd >= 0)
                                (void) inotify_rm_watch(inotify_fd, wd);
                } else
                        (void) poll(NULL, 0, FOLLOW_RECHECK_MSEC);
        }

        /* A last line without a newline is still a record. */
        if (b.len > 0)
                handle_line(b.data, b.len);
        free(b.data);
        pending_free();
        return fflush(stdout) == 0 ? 0 : ctl_error(-errno, NULL, "Failed to write");
}
