/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The audit log (format and guarantees in audit.h). Primitives only: nothing
 * here logs; every failure is a -errno for the caller to act on. */

#define SD_JOURNAL_SUPPRESS_LOCATION 1

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "audit.h"
#include "macro.h"
#include "string-table.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

typedef struct DenialBucket {
        bool used;
        uid_t uid;               /* AUDIT_UID_UNSET: the unidentified callers */
        uint64_t tokens;         /* millionths of a record */
        uint64_t refilled_usec;  /* CLOCK_MONOTONIC of the last refill */
        uint64_t suppressed;     /* denials not written since the last written one */
} DenialBucket;

struct AuditLog {
        char *path;
        int fd;
        AuditLogFlags flags;
        uint64_t seq;            /* last record seq written or found */
        bool truncate_pending;   /* a failed append left a torn line */
        size_t torn_bytes;       /* its length, while truncate_to is not known yet */
        off_t truncate_to;
        bool journal_present;    /* the journal's socket, as last looked at */
        uint64_t journal_checked_usec; /* CLOCK_MONOTONIC; 0: never */

        /* Denial budget (audit.h). Tokens are counted in millionths, so a
         * refill of per_second tokens per 10^6 usec is exact integer math. */
        unsigned denial_burst, denial_per_second;
        DenialBucket buckets[AUDIT_DENIAL_BUCKETS];
        DenialBucket overflow;   /* uids that found no free slot */
};

static const char *const audit_decision_table[_AUDIT_DECISION_MAX] = {
        [AUDIT_DECISION_ALLOW] = "allow",
        [AUDIT_DECISION_DENY] = "deny",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(audit_decision, AuditDecision);

/* ── line buffer ─────────────────────────────────────────────────────────── */

typedef struct Buf {
        char *data;
        size_t len, cap;
        bool oom;
} Buf;

static void buf_done(Buf *b) {
        free(b->data);
        *b = (Buf) {};
}

static bool buf_reserve(Buf *b, size_t extra) {
        size_t want;
        char *p;

        if (b->oom)
                return false;
        if (extra > SIZE_MAX - b->len - 1)
                goto oom;
        want = b->len + extra + 1;
        if (want <= b->cap)
                return true;
        if (want < b->cap * 2)
                want = b->cap * 2;
        if (want < 512)
                want = 512;
        p = realloc(b->data, want);
        if (!p)
                goto oom;
        b->data = p;
        b->cap = want;
        return true;
oom:
        b->oom = true;
        return false;
}

static void buf_append(Buf *b, const char *s, size_t n) {
        if (!buf_reserve(b, n))
                return;
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

static void buf_puts(Buf *b, const char *s) {
        buf_append(b, s, strlen(s));
}

_printf_(2, 3)
static void buf_printf(Buf *b, const char *fmt, ...) {
        char tmp[64];
        va_list ap;
        int n;

        /* Only numbers go through here: they always fit. */
        va_start(ap, fmt);
        n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= sizeof(tmp)) {
                b->oom = true;
                return;
        }
        buf_append(b, tmp, n);
}

/* Length of the well-formed UTF-8 sequence at s (1–4), 0 when s[0] does not
 * start one. Continuation bytes are never NUL, so this stops at the end. */
static size_t utf8_sequence_length(const unsigned char *s, uint32_t *ret_cp) {
        unsigned char c = s[0];
        unsigned char lo = 0x80, hi = 0xbf;
        size_t n;
        uint32_t cp;

        if (c < 0x80) {
                *ret_cp = c;
                return 1;
        }
        if (c >= 0xc2 && c <= 0xdf) {
                n = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                n = 3;
                cp = c & 0x0f;
                if (c == 0xe0)
                        lo = 0xa0;  /* overlong */
                else if (c == 0xed)
                        hi = 0x9f;  /* UTF-16 surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 4;
                cp = c & 0x07;
                if (c == 0xf0)
                        lo = 0x90;  /* overlong */
                else if (c == 0xf4)
                        hi = 0x8f;  /* > U+10FFFF */
        } else
                return 0;           /* stray continuation, 0xc0/0xc1, 0xf5.. */

        for (size_t i = 1; i < n; i++) {
                unsigned char cc = s[i];

                if (cc < (i == 1 ? lo : 0x80) || cc > (i == 1 ? hi : 0xbf))
                        return 0;
                cp = (cp << 6) | (cc & 0x3f);
        }
        *ret_cp = cp;
        return n;
}

/* A JSON string (or null), escaped as audit.h describes. */
static void buf_json_string(Buf *b, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        if (!s) {
                buf_puts(b, "null");
                return;
        }

        buf_puts(b, "\"");
        while (*p) {
                uint32_t cp;
                size_t n = utf8_sequence_length(p, &cp);
                char esc[8];

                if (n == 0) {
                        buf_puts(b, "\\ufffd");
                        p++;
                        continue;
                }
                if (cp == '"' || cp == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char) cp;
                        buf_append(b, esc, 2);
                } else if (cp < 0x20 || cp == 0x7f || cp == 0x2028 || cp == 0x2029) {
                        snprintf(esc, sizeof(esc), "\\u%04" PRIx32, cp);
                        buf_puts(b, esc);
                } else
                        buf_append(b, (const char *) p, n);
                p += n;
        }
        buf_puts(b, "\"");
}

static void buf_json_u64_or_null(Buf *b, uint64_t v, bool known) {
        if (known)
                buf_printf(b, "%" PRIu64, v);
        else
                buf_puts(b, "null");
}

static void buf_json_int_or_null(Buf *b, int64_t v, bool known) {
        if (known)
                buf_printf(b, "%" PRId64, v);
        else
                buf_puts(b, "null");
}

/* ── formatting ──────────────────────────────────────────────────────────── */

int audit_format_timestamp(uint64_t usec, char buf[static AUDIT_TIMESTAMP_MAX]) {
        time_t sec = (time_t) (usec / 1000000);
        struct tm tm;
        int n;

        if (!gmtime_r(&sec, &tm))
                return -EOVERFLOW;
        if (tm.tm_year + 1900 > 9999)
                return -ERANGE;
        n = snprintf(buf, AUDIT_TIMESTAMP_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned) (usec % 1000000));
        if (n != AUDIT_TIMESTAMP_MAX - 1)
                return -ERANGE;
        return 0;
}

static int now_timestamp(char buf[static AUDIT_TIMESTAMP_MAX]) {
        struct timespec ts;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return -errno;
        return audit_format_timestamp((uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000, buf);
}

const char *audit_result_from_errno(int r, char buf[static AUDIT_RESULT_MAX]) {
        const char *name;
        long e = -(long) r;

        if (r >= 0) {
                snprintf(buf, AUDIT_RESULT_MAX, "ok");
                return buf;
        }

        name = e <= INT_MAX ? strerrorname_np((int) e) : NULL;
        if (!name) {
                snprintf(buf, AUDIT_RESULT_MAX, "errno-%ld", e);
                return buf;
        }
        size_t i;
        for (i = 0; name[i] && i < AUDIT_RESULT_MAX - 1; i++)
                buf[i] = (char) tolower((unsigned char) name[i]);
        buf[i] = '\0';
        return buf;
}

static int record_format(const AuditRecord *rec, uint64_t seq, const char *timestamp,
                         const char *result, Buf *b) {
        const AuditSubject *s = &rec->subject;
        const AuditTarget *t = rec->target;
        const AuditDetails *d = &rec->details;

        buf_puts(b, "{\"time\":");
        buf_json_string(b, timestamp);
        buf_printf(b, ",\"seq\":%" PRIu64 ",\"type\":\"record\",\"action\":", seq);
        buf_json_string(b, rec->action);
        buf_puts(b, ",\"decision\":");
        buf_json_string(b, audit_decision_to_string(rec->decision));
        buf_puts(b, ",\"rule\":");
        buf_json_string(b, rec->rule);

        buf_puts(b, ",\"subject\":{\"uid\":");
        buf_json_u64_or_null(b, s->uid, s->uid != AUDIT_UID_UNSET);
        buf_puts(b, ",\"gids\":");
        if (s->gids) {
                buf_puts(b, "[");
                for (size_t i = 0; i < s->n_gids; i++)
                        buf_printf(b, "%s%u", i > 0 ? "," : "", (unsigned) s->gids[i]);
                buf_puts(b, "]");
        } else
                buf_puts(b, "null");
        buf_puts(b, ",\"pid\":");
        buf_json_int_or_null(b, s->pid, s->pid > 0);
        buf_puts(b, ",\"pidfd_id\":");
        buf_json_u64_or_null(b, s->pidfd_id, s->pidfd_id != 0);
        buf_puts(b, ",\"bus_name\":");
        buf_json_string(b, s->bus_name);
        buf_puts(b, ",\"comm\":");
        buf_json_string(b, s->comm);
        buf_puts(b, ",\"pidns\":");
        buf_json_u64_or_null(b, s->pidns, s->pidns != 0);
        buf_puts(b, ",\"userns\":");
        buf_json_u64_or_null(b, s->userns, s->userns != 0);
        buf_puts(b, ",\"identity\":");
        buf_json_string(b, s->identity);
        buf_puts(b, "}");

        buf_puts(b, ",\"target\":");
        if (t) {
                buf_puts(b, "{\"pid\":");
                buf_json_int_or_null(b, t->pid, t->pid > 0);
                buf_puts(b, ",\"pidfd_id\":");
                buf_json_u64_or_null(b, t->pidfd_id, t->pidfd_id != 0);
                buf_puts(b, ",\"uid\":");
                buf_json_u64_or_null(b, t->uid, t->uid != AUDIT_UID_UNSET);
                buf_puts(b, ",\"pidns\":");
                buf_json_u64_or_null(b, t->pidns, t->pidns != 0);
                buf_puts(b, ",\"userns\":");
                buf_json_u64_or_null(b, t->userns, t->userns != 0);
                buf_puts(b, ",\"comm\":");
                buf_json_string(b, t->comm);
                buf_puts(b, ",\"workload_id\":");
                buf_json_u64_or_null(b, t->workload_id, t->workload_id != 0);
                buf_puts(b, "}");
        } else
                buf_puts(b, "null");

        buf_puts(b, ",\"details\":{\"signal\":");
        buf_json_int_or_null(b, d->signal, d->signal != AUDIT_INT_UNSET);
        buf_puts(b, ",\"flags\":");
        buf_json_int_or_null(b, d->flags, d->flags != AUDIT_FLAGS_UNSET);
        buf_puts(b, ",\"target_fd\":");
        buf_json_int_or_null(b, d->target_fd, d->target_fd != AUDIT_INT_UNSET);
        buf_puts(b, ",\"fd_type\":");
        buf_json_string(b, d->fd_type);
        buf_puts(b, ",\"suppressed\":");
        buf_json_u64_or_null(b, d->suppressed, d->suppressed != 0);
        buf_puts(b, "}");

        buf_puts(b, ",\"result\":");
        buf_json_string(b, result);
        buf_puts(b, ",\"control_path\":");
        buf_json_string(b, rec->control_path);
        buf_puts(b, "}\n");

        return b->oom ? -ENOMEM : 0;
}

static int outcome_format(uint64_t seq, const char *timestamp, const char *result, const char *fd_type, Buf *b) {
        buf_puts(b, "{\"time\":");
        buf_json_string(b, timestamp);
        buf_printf(b, ",\"seq\":%" PRIu64 ",\"type\":\"outcome\",\"result\":", seq);
        buf_json_string(b, result);
        if (fd_type) {
                buf_puts(b, ",\"fd_type\":");
                buf_json_string(b, fd_type);
        }
        buf_puts(b, "}\n");

        return b->oom ? -ENOMEM : 0;
}

/* ── journal copy ────────────────────────────────────────────────────────── */

#define JOURNAL_FIELDS_MAX 32

typedef struct JournalFields {
        struct iovec iov[JOURNAL_FIELDS_MAX];
        size_t n;
} JournalFields;

_printf_(2, 3)
static void journal_field(JournalFields *f, const char *fmt, ...) {
        char *s;
        va_list ap;
        int n;

        if (f->n >= JOURNAL_FIELDS_MAX)
                return;
        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;  /* the copy loses a field; the file has the record */
        f->iov[f->n++] = (struct iovec) { .iov_base = s, .iov_len = (size_t) n };
}

static void journal_fields_done(JournalFields *f) {
        for (size_t i = 0; i < f->n; i++)
                free(f->iov[i].iov_base);
        f->n = 0;
}

/* How long the answer to "does journald run" is kept. */
#define JOURNAL_RECHECK_USEC UINT64_C(1000000)

static bool journal_wanted(AuditLog *log) {
        struct timespec ts;
        uint64_t now;

        if (log->flags & AUDIT_LOG_NO_JOURNAL)
                return false;
        /* journald is running when its socket exists. It may start (or stop)
         * while the daemon runs, so the answer is looked at again once a
         * second, not once per line: a busy log pays no syscall per record,
         * and the copy is a convenience (the file is the record of truth). */
        (void) clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        now = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
        if (log->journal_checked_usec == 0 || now - log->journal_checked_usec >= JOURNAL_RECHECK_USEC) {
                log->journal_present = access(JOURNAL_SOCKET, F_OK) >= 0;
                log->journal_checked_usec = now ?: 1;
        }
        return log->journal_present;
}

/* The line without its '\n'. The result of sending is ignored on purpose. */
static void journal_send_line(JournalFields *f, const char *line, size_t len) {
        journal_field(f, "MESSAGE_ID=%s", AUDIT_MESSAGE_ID);
        journal_field(f, "PIDBROKER_JSON=%.*s", (int) (len - 1), line);
        (void) sd_journal_sendv(f->iov, (int) f->n);
}

static void journal_send_record(AuditLog *log, const AuditRecord *rec, uint64_t seq,
                                const char *result, const char *line, size_t len) {
        const AuditSubject *s = &rec->subject;
        const AuditTarget *t = rec->target;
        JournalFields f = {};
        char subject[64] = "", target[64] = "", sig[32] = "";

        if (!journal_wanted(log))
                return;

        if (s->uid != AUDIT_UID_UNSET)
                snprintf(subject, sizeof(subject), " uid=%u", (unsigned) s->uid);
        if (s->pid > 0)
                snprintf(subject + strlen(subject), sizeof(subject) - strlen(subject), " pid=%d", (int) s->pid);
        if (t && t->pid > 0)
                snprintf(target, sizeof(target), " pid=%d", (int) t->pid);
        if (t && t->uid != AUDIT_UID_UNSET)
                snprintf(target + strlen(target), sizeof(target) - strlen(target), " uid=%u", (unsigned) t->uid);
        if (rec->details.signal != AUDIT_INT_UNSET)
                snprintf(sig, sizeof(sig), ", signal %d", rec->details.signal);

        journal_field(&f, "MESSAGE=%s %s%s%s: subject%s%s%s%s: %s [seq %" PRIu64 "]",
                      rec->action, audit_decision_to_string(rec->decision),
                      rec->rule ? " by " : "", rec->rule ?: "",
                      subject[0] ? subject : " unknown",
                      t ? ", target" : "", target, sig, result, seq);
        journal_field(&f, "PRIORITY=%d", rec->decision == AUDIT_DECISION_ALLOW ? LOG_NOTICE : LOG_WARNING);
        journal_field(&f, "PIDBROKER_TYPE=record");
        journal_field(&f, "PIDBROKER_SEQ=%" PRIu64, seq);
        journal_field(&f, "PIDBROKER_ACTION=%s", rec->action);
        journal_field(&f, "PIDBROKER_DECISION=%s", audit_decision_to_string(rec->decision));
        if (rec->rule)
                journal_field(&f, "PIDBROKER_RULE=%s", rec->rule);
        journal_field(&f, "PIDBROKER_RESULT=%s", result);
        if (s->uid != AUDIT_UID_UNSET)
                journal_field(&f, "PIDBROKER_SUBJECT_UID=%u", (unsigned) s->uid);
        if (s->pid > 0)
                journal_field(&f, "PIDBROKER_SUBJECT_PID=%d", (int) s->pid);
        if (s->pidfd_id != 0)
                journal_field(&f, "PIDBROKER_SUBJECT_PIDFD_ID=%" PRIu64, s->pidfd_id);
        if (s->identity)
                journal_field(&f, "PIDBROKER_SUBJECT_IDENTITY=%s", s->identity);
        if (s->bus_name)
                journal_field(&f, "PIDBROKER_SUBJECT_BUS_NAME=%s", s->bus_name);
        if (t && t->pid > 0)
                journal_field(&f, "PIDBROKER_TARGET_PID=%d", (int) t->pid);
        if (t && t->pidfd_id != 0)
                journal_field(&f, "PIDBROKER_TARGET_PIDFD_ID=%" PRIu64, t->pidfd_id);
        if (t && t->uid != AUDIT_UID_UNSET)
                journal_field(&f, "PIDBROKER_TARGET_UID=%u", (unsigned) t->uid);
        if (t && t->workload_id != 0)
                journal_field(&f, "PIDBROKER_TARGET_WORKLOAD_ID=%" PRIu64, t->workload_id);
        if (rec->details.signal != AUDIT_INT_UNSET)
                journal_field(&f, "PIDBROKER_SIGNAL=%d", rec->details.signal);
        if (rec->details.flags != AUDIT_FLAGS_UNSET)
                journal_field(&f, "PIDBROKER_FLAGS=%" PRId64, rec->details.flags);
        if (rec->details.target_fd != AUDIT_INT_UNSET)
                journal_field(&f, "PIDBROKER_TARGET_FD=%d", rec->details.target_fd);
        if (rec->details.fd_type)
                journal_field(&f, "PIDBROKER_FD_TYPE=%s", rec->details.fd_type);
        if (rec->details.suppressed != 0)
                journal_field(&f, "PIDBROKER_SUPPRESSED=%" PRIu64, rec->details.suppressed);
        if (rec->control_path)
                journal_field(&f, "PIDBROKER_CONTROL_PATH=%s", rec->control_path);

        journal_send_line(&f, line, len);
        journal_fields_done(&f);
}

static void journal_send_outcome(AuditLog *log, uint64_t seq, const char *result,
                                 const char *line, size_t len) {
        JournalFields f = {};

        if (!journal_wanted(log))
                return;

        journal_field(&f, "MESSAGE=audit record %" PRIu64 " outcome: %s", seq, result);
        journal_field(&f, "PRIORITY=%d", LOG_INFO);
        journal_field(&f, "PIDBROKER_TYPE=outcome");
        journal_field(&f, "PIDBROKER_SEQ=%" PRIu64, seq);
        journal_field(&f, "PIDBROKER_RESULT=%s", result);

        journal_send_line(&f, line, len);
        journal_fields_done(&f);
}

/* ── the file ────────────────────────────────────────────────────────────── */

static int pread_full(int fd, void *buf, size_t len, off_t off, size_t *ret_n) {
        size_t done = 0;

        while (done < len) {
                ssize_t n = pread(fd, (char *) buf + done, len - done, off + (off_t) done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        *ret_n = done;
        return 0;
}

/* Parse the fixed prefix this module writes on every record line:
 * {"time":"<27>","seq":<digits>,"type":"record". Anything else is not a
 * record (an outcome, or a line someone else wrote). */
static bool parse_record_seq(const char *s, size_t n, uint64_t *ret) {
        static const char head[] = "{\"time\":\"";
        static const char mid[] = "\",\"seq\":";
        static const char tail[] = ",\"type\":\"record\"";
        const char *end = s + n, *q;
        uint64_t v = 0;

        if (n < sizeof(head) - 1 || memcmp(s, head, sizeof(head) - 1) != 0)
                return false;
        s += sizeof(head) - 1;
        q = memchr(s, '"', end - s);
        if (!q || q - s != AUDIT_TIMESTAMP_MAX - 1)
                return false;
        s = q;
        if ((size_t) (end - s) < sizeof(mid) - 1 || memcmp(s, mid, sizeof(mid) - 1) != 0)
                return false;
        s += sizeof(mid) - 1;
        if (s >= end || *s < '0' || *s > '9')
                return false;
        for (; s < end && *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return false;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        if ((size_t) (end - s) < sizeof(tail) - 1 || memcmp(s, tail, sizeof(tail) - 1) != 0)
                return false;
        *ret = v;
        return true;
}

static int check_line(int fd, off_t start, off_t end, uint64_t *ret_seq) {
        char prefix[96];
        size_t want = (size_t) (end - start) < sizeof(prefix) ? (size_t) (end - start) : sizeof(prefix);
        size_t n;
        int r;

        r = pread_full(fd, prefix, want, start, &n);
        if (r < 0)
                return r;
        return parse_record_seq(prefix, n, ret_seq) ? 1 : 0;
}

/* seq of the last record line in [0, end), scanning line starts backwards:
 * record seqs grow with file offset, so the first one found is the largest.
 * Outcome lines can come after later records, so the last line is not
 * enough. Memory stays bounded however long a line (a huge gids list) is. */
static int find_last_record_seq(int fd, off_t end, uint64_t *ret) {
        char chunk[8192];
        off_t pos = end;
        int r;

        while (pos > 0) {
                off_t off = pos > (off_t) sizeof(chunk) ? pos - (off_t) sizeof(chunk) : 0;
                size_t n;

                r = pread_full(fd, chunk, (size_t) (pos - off), off, &n);
                if (r < 0)
                        return r;
                if (n != (size_t) (pos - off))
                        return -EIO;  /* shrank under us */

                for (size_t i = n; i > 0; i--) {
                        off_t start = off + (off_t) i;

                        if (chunk[i - 1] != '\n' || start >= end)
                                continue;
                        r = check_line(fd, start, end, ret);
                        if (r != 0)
                                return r < 0 ? r : 0;
                }
                pos = off;
        }

        if (end > 0) {
                r = check_line(fd, 0, end, ret);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        *ret = 0;
        return 0;
}

/* A torn last line (power loss after a crash, trailing NULs) is cut so the
 * file ends with '\n' or is empty. Returns the new size. */
static int drop_torn_tail(int fd, off_t *ret_size) {
        struct stat st;
        char chunk[8192];
        off_t pos;
        int r;

        if (fstat(fd, &st) < 0)
                return -errno;
        pos = st.st_size;

        while (pos > 0) {
                off_t off = pos > (off_t) sizeof(chunk) ? pos - (off_t) sizeof(chunk) : 0;
                size_t n;
                char *nl;

                r = pread_full(fd, chunk, (size_t) (pos - off), off, &n);
                if (r < 0)
                        return r;
                if (n != (size_t) (pos - off))
                        return -EIO;
                nl = memrchr(chunk, '\n', n);
                if (nl) {
                        pos = off + (nl - chunk) + 1;
                        break;
                }
                pos = off;
        }

        if (pos != st.st_size && ftruncate(fd, pos) < 0)
                return -errno;
        *ret_size = pos;
        return 0;
}

static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        char *slash;

        if (!p)
                return -ENOMEM;

        slash = strrchr(p, '/');
        if (!slash || slash == p)
                return 0;  /* relative name in the cwd, or a file in / */
        *slash = '\0';

        for (char *s = p + 1; ; s++) {
                bool last = *s == '\0';

                if (*s != '/' && !last)
                        continue;
                *s = '\0';
                if (mkdir(p, mode) >= 0) {
                        /* The mode, not the umask, decides who reads the trail. */
                        if (chmod(p, mode) < 0)
                                return -errno;
                } else if (errno != EEXIST)
                        return -errno;
                if (last)
                        break;
                *s = '/';
        }
        return 0;
}

static int open_log_file(const char *path, int *ret_fd, uint64_t *ret_seq) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        off_t size;
        int r;

        r = mkdir_parents(path, 0750);
        if (r < 0)
                return r;

        fd = open(path, O_RDWR|O_APPEND|O_CLOEXEC|O_NOCTTY|O_NOFOLLOW|O_CREAT|O_EXCL, 0640);
        if (fd >= 0) {
                if (fchmod(fd, 0640) < 0)
                        return -errno;
        } else if (errno == EEXIST) {
                fd = open(path, O_RDWR|O_APPEND|O_CLOEXEC|O_NOCTTY|O_NOFOLLOW);
                if (fd < 0)
                        return -errno;
        } else
                return -errno;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;

        r = drop_torn_tail(fd, &size);
        if (r < 0)
                return r;
        r = find_last_record_seq(fd, size, ret_seq);
        if (r < 0)
                return r;

        *ret_fd = TAKE_FD(fd);
        return 0;
}

int audit_log_open(const char *path, AuditLogFlags flags, AuditLog **ret) {
        AuditLog *log;
        int r;

        if (!path || !*path || !ret)
                return -EINVAL;

        log = calloc(1, sizeof(*log));
        if (!log)
                return -ENOMEM;
        log->fd = -EBADF;
        log->flags = flags;
        log->denial_burst = AUDIT_DENIAL_BURST_DEFAULT;
        log->denial_per_second = AUDIT_DENIAL_PER_SECOND_DEFAULT;
        log->path = strdup(path);
        if (!log->path) {
                audit_log_free(log);
                return -ENOMEM;
        }

        r = open_log_file(path, &log->fd, &log->seq);
        if (r < 0) {
                audit_log_free(log);
                return r;
        }

        *ret = log;
        return 0;
}

int audit_log_reopen(AuditLog *log) {
        uint64_t seq;
        int fd, r;

        if (!log)
                return -EINVAL;

        r = open_log_file(log->path, &fd, &seq);
        if (r < 0)
                return r;

        safe_close(log->fd);
        log->fd = fd;
        /* A pending repair belonged to the old file. */
        log->truncate_pending = false;
        log->torn_bytes = 0;
        /* Look for journald again with the next line. */
        log->journal_checked_usec = 0;
        if (seq > log->seq)
                log->seq = seq;
        return 0;
}

AuditLog *audit_log_free(AuditLog *log) {
        if (!log)
                return NULL;
        safe_close(log->fd);
        free(log->path);
        free(log);
        return NULL;
}

const char *audit_log_path(const AuditLog *log) {
        return log ? log->path : NULL;
}

uint64_t audit_log_last_seq(const AuditLog *log) {
        return log ? log->seq : 0;
}

/* A failed append left a torn line at the end: cut it away. Its start is
 * learnt from the size once the line is known to be torn (never per line). */
static int log_repair(AuditLog *log) {
        struct stat st;

        if (!log->truncate_pending)
                return 0;
        if (log->torn_bytes > 0) {
                if (fstat(log->fd, &st) < 0)
                        return -errno;
                /* Shorter than the torn line: someone else cut the file already. */
                log->truncate_to = (uint64_t) st.st_size >= log->torn_bytes ?
                                   st.st_size - (off_t) log->torn_bytes : st.st_size;
                log->torn_bytes = 0;
        }
        if (ftruncate(log->fd, log->truncate_to) < 0)
                return -errno;
        log->truncate_pending = false;
        return 0;
}

/* One write() per line; on any failure the file goes back to its size before
 * the call, so it never holds a partial line. A line that goes in costs that
 * one write() and nothing else (no fstat for a size that is only needed to
 * undo a failure): the daemon is the file's one writer (audit.h). */
static int log_write_line(AuditLog *log, const char *line, size_t len) {
        ssize_t n;
        int r;

        r = log_repair(log);
        if (r < 0)
                return r;

        do
                n = write(log->fd, line, len);
        while (n < 0 && errno == EINTR);

        if (n >= 0 && (size_t) n == len) {
                if (!(log->flags & AUDIT_LOG_SYNC) || fdatasync(log->fd) >= 0)
                        return 0;
                r = -errno;
        } else
                /* A short write on a regular file means the space ran out
                 * (the next write would say ENOSPC). */
                r = n < 0 ? -errno : -ENOSPC;

        /* A failed write() wrote nothing; a short one wrote n bytes at the
         * end (O_APPEND). Should the cut fail, the next append retries it
         * first and fails until it succeeds. */
        if (n > 0) {
                log->truncate_pending = true;
                log->torn_bytes = (size_t) n;
                (void) log_repair(log);
        }
        return r;
}

int audit_record_append(AuditLog *log, const AuditRecord *rec, uint64_t *ret_seq) {
        char timestamp[AUDIT_TIMESTAMP_MAX];
        Buf b = {};
        uint64_t seq;
        int r;

        if (!log || !rec || !rec->action || !*rec->action || !rec->result || !*rec->result ||
            !audit_decision_to_string(rec->decision))
                return -EINVAL;
        if (log->seq == UINT64_MAX)
                return -EOVERFLOW;
        seq = log->seq + 1;

        r = now_timestamp(timestamp);
        if (r < 0)
                return r;

        r = record_format(rec, seq, timestamp, rec->result, &b);
        if (r >= 0)
                r = log_write_line(log, b.data, b.len);
        if (r < 0) {
                buf_done(&b);
                return r;
        }

        log->seq = seq;
        journal_send_record(log, rec, seq, rec->result, b.data, b.len);
        buf_done(&b);

        if (ret_seq)
                *ret_seq = seq;
        return 0;
}

int audit_begin(AuditLog *log, const AuditRecord *rec, uint64_t *ret_seq) {
        AuditRecord copy;

        if (!rec)
                return -EINVAL;

        copy = *rec;
        if (!copy.result)
                copy.result = copy.decision == AUDIT_DECISION_ALLOW ? "pending" : "denied";
        return audit_record_append(log, &copy, ret_seq);
}

int audit_outcome(AuditLog *log, uint64_t seq, const char *result) {
        return audit_outcome_fd_type(log, seq, result, NULL);
}

int audit_outcome_fd_type(AuditLog *log, uint64_t seq, const char *result, const char *fd_type) {
        char timestamp[AUDIT_TIMESTAMP_MAX];
        Buf b = {};
        int r;

        if (!log || seq == 0 || seq > log->seq || !result || !*result || strcmp(result, "pending") == 0)
                return -EINVAL;

        r = now_timestamp(timestamp);
        if (r < 0)
                return r;

        r = outcome_format(seq, timestamp, result, fd_type, &b);
        if (r >= 0)
                r = log_write_line(log, b.data, b.len);
        if (r >= 0)
                journal_send_outcome(log, seq, result, b.data, b.len);
        buf_done(&b);
        return r;
}

int audit_outcome_errno(AuditLog *log, uint64_t seq, int r) {
        char buf[AUDIT_RESULT_MAX];

        return audit_outcome(log, seq, audit_result_from_errno(r, buf));
}

/* ── denial budget ───────────────────────────────────────────────────────── */

#define TOKEN UINT64_C(1000000)

static uint64_t bucket_capacity(const AuditLog *log) {
        return (uint64_t) log->denial_burst * TOKEN;
}

static void bucket_refill(const AuditLog *log, DenialBucket *b, uint64_t now_usec) {
        uint64_t cap = bucket_capacity(log), elapsed;

        /* A clock that went back refills nothing. */
        elapsed = now_usec > b->refilled_usec ? now_usec - b->refilled_usec : 0;
        b->refilled_usec = now_usec > b->refilled_usec ? now_usec : b->refilled_usec;
        if (log->denial_per_second == 0 || elapsed == 0)
                return;
        /* elapsed * per_second millionths, without overflowing on a long idle. */
        if (elapsed >= cap / log->denial_per_second + 1)
                b->tokens = cap;
        else
                b->tokens = MIN(cap, b->tokens + elapsed * log->denial_per_second);
}

static void bucket_reset(const AuditLog *log, DenialBucket *b, uid_t uid, uint64_t now_usec) {
        *b = (DenialBucket) {
                .used = true,
                .uid = uid,
                .tokens = bucket_capacity(log),
                .refilled_usec = now_usec,
        };
}

/* Full and owing no summary: indistinguishable from a fresh bucket. */
static bool bucket_idle(const AuditLog *log, DenialBucket *b, uint64_t now_usec) {
        bucket_refill(log, b, now_usec);
        return b->tokens == bucket_capacity(log) && b->suppressed == 0;
}

static int bucket_write_summary(AuditLog *log, DenialBucket *b) {
        AuditRecord rec = AUDIT_RECORD_NULL;
        int r;

        if (b->suppressed == 0)
                return 0;
        rec.action = AUDIT_ACTION_SUPPRESSED;
        rec.decision = AUDIT_DECISION_DENY;
        rec.rule = b == &log->overflow ? AUDIT_RULE_BUDGET_OVERFLOW : AUDIT_RULE_BUDGET;
        rec.subject.uid = b == &log->overflow ? AUDIT_UID_UNSET : b->uid;
        rec.details.suppressed = b->suppressed;
        rec.result = AUDIT_RESULT_SUPPRESSED;
        r = audit_record_append(log, &rec, NULL);
        if (r < 0)
                return r;
        b->suppressed = 0;
        return 1;
}

static DenialBucket *bucket_for_uid(AuditLog *log, uid_t uid, uint64_t now_usec) {
        DenialBucket *free_slot = NULL;

        for (size_t i = 0; i < AUDIT_DENIAL_BUCKETS; i++) {
                DenialBucket *b = &log->buckets[i];

                if (b->used && b->uid == uid)
                        return b;
                if (!free_slot && (!b->used || bucket_idle(log, b, now_usec)))
                        free_slot = b;
        }
        if (!free_slot) {
                if (!log->overflow.used)
                        bucket_reset(log, &log->overflow, AUDIT_UID_UNSET, now_usec);
                return &log->overflow;
        }
        bucket_reset(log, free_slot, uid, now_usec);
        return free_slot;
}

int audit_log_set_denial_budget(AuditLog *log, unsigned burst, unsigned per_second) {
        int r;

        if (!log)
                return -EINVAL;
        /* Buckets keep their clock: flushing needs none. */
        r = audit_flush_suppressed(log, 0);
        log->denial_burst = burst;
        log->denial_per_second = per_second;
        memset(log->buckets, 0, sizeof log->buckets);
        log->overflow = (DenialBucket) {};
        return MIN(r, 0);
}

int audit_deny(AuditLog *log, const AuditRecord *rec, uint64_t now_usec, uint64_t *ret_seq) {
        DenialBucket *b;
        int r;

        if (!log || !rec || rec->decision != AUDIT_DECISION_DENY)
                return -EINVAL;
        if (log->denial_burst == 0)
                return audit_begin(log, rec, ret_seq);

        b = bucket_for_uid(log, rec->subject.uid, now_usec);
        bucket_refill(log, b, now_usec);
        if (b->tokens < TOKEN) {
                if (b->suppressed < UINT64_MAX)
                        b->suppressed++;
                if (ret_seq)
                        *ret_seq = 0;
                return 0;
        }

        /* The summary goes first, so the file reads in the order things happened. */
        r = bucket_write_summary(log, b);
        if (r < 0)
                return r;
        r = audit_begin(log, rec, ret_seq);
        if (r < 0)
                return r;
        b->tokens -= TOKEN;
        return 0;
}

int audit_flush_suppressed(AuditLog *log, uint64_t now_usec) {
        int r, ret = 0, n = 0;

        if (!log)
                return -EINVAL;
        for (size_t i = 0; i <= AUDIT_DENIAL_BUCKETS; i++) {
                DenialBucket *b = i < AUDIT_DENIAL_BUCKETS ? &log->buckets[i] : &log->overflow;

                if (!b->used)
                        continue;
                r = bucket_write_summary(log, b);
                if (r < 0 && ret == 0)
                        ret = r;
                n += r > 0;
                /* Free the slots nobody is using, so new uids find room. */
                if (b != &log->overflow && now_usec > 0 && bucket_idle(log, b, now_usec))
                        b->used = false;
        }
        return ret < 0 ? ret : n;
}
