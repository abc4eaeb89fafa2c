/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The audit trail: one JSON object per line, appended to a
 * file (the record of truth) and copied to the journal where journald runs.
 * This module knows nothing of D-Bus or of the daemon's types; the daemon
 * fills an AuditRecord from its Caller/Process/policy decision.
 *
 * Two phases, so that nothing runs unrecorded:
 *
 *     r = audit_begin(log, &rec, &seq);      // record line, result "pending"
 *     if (r < 0) → refuse with AuditFailed   // nothing was written, nothing runs
 *     r = <the operation>;
 *     audit_outcome_errno(log, seq, r);      // outcome line, result "ok"/"esrch"/…
 *
 * A denial is one line with its final result (nothing runs, no outcome line),
 * written through audit_deny(), which keeps a per-uid budget (below).
 *
 * ── File format ─────────────────────────────────────────────────────────────
 * UTF-8 JSON lines, '\n'-terminated, keys always in this order, every key
 * always present. A value that is unknown or does not apply is null (never
 * omitted), so readers can rely on the shape:
 *
 *   {"time":"2026-11-29T14:05:06.123456Z","seq":12,"type":"record",
 *    "action":"org.pidbroker.signal","decision":"allow","rule":"default:yes",
 *    "subject":{"uid":1000,"gids":[1000,27],"pid":4242,"pidfd_id":8812,
 *               "bus_name":":1.42","comm":"bash","pidns":4026531836,
 *               "userns":4026531837,"identity":"bus-processfd"},
 *    "target":{"pid":777,"pidfd_id":9001,"uid":1000,"pidns":4026531836,
 *              "userns":4026531837,"comm":"sleep","workload_id":9001},
 *    "details":{"signal":15,"flags":0,"target_fd":null,"fd_type":null,
 *               "suppressed":null},
 *    "result":"pending","control_path":"pidfd"}
 *
 *   {"time":"2026-11-29T14:05:06.123789Z","seq":12,"type":"outcome","result":"ok"}
 *
 * (shown wrapped; each is one line in the file.)
 *
 *  - time: RFC 3339, UTC, microseconds, always 27 characters.
 *  - seq: unsigned 64-bit, +1 per record line. An outcome line carries the seq
 *    of the record it completes; pair them by seq. seq is continued from the
 *    last record line of an existing file on open and on reopen, so it stays
 *    unique across daemon restarts and log rotation by rename (see
 *    audit_log_open() for the one case where it restarts). A record that could
 *    not be written does not consume a seq, so record seqs in one file are
 *    consecutive.
 *  - type: "record" or "outcome".
 *  - decision: "allow" or "deny".
 *  - result: "pending" on an allowed record (the outcome line follows), the
 *    final result otherwise: "denied" by default for a denial; outcomes are
 *    "ok" or the lower-case errno name ("esrch", "eperm", "ebadf", …).
 *  - target: null when the action has no target process (e.g. a Spawn before
 *    the workload exists); inside it, single fields are null when unknown.
 *  - numbers are 64-bit integers (pidfs and nsfs ids may exceed 2^53: readers
 *    must not parse them as doubles). ids 0 mean "unknown" and are null.
 *  - strings (comm, bus_name, rule, fd_type, …) are escaped: '"' and '\' as
 *    \" and \\, control characters (< 0x20) and DEL as \u00XX (\n, \t, …
 *    included), U+2028/U+2029 as \u2028/\u2029; valid UTF-8 is kept as is;
 *    every byte that is not part of a well-formed UTF-8 sequence (invalid
 *    lead, stray continuation, overlong form, surrogate, > U+10FFFF, a
 *    truncated sequence) becomes U+FFFD, one per byte. Lossy on purpose: a
 *    line is always valid UTF-8 JSON; comm is attacker-chosen and never the
 *    identity (pidfd_id is).
 *
 * ── Writing, failure and durability ─────────────────────────────────────────
 *  - Each line is built in memory and written with ONE write() on an O_APPEND
 *    fd, so a reader never sees a partial line. A short or failed write
 *    (ENOSPC, EDQUOT, EIO, …) is returned as -errno (-ENOSPC for a short
 *    write) and the file is truncated back to its size before the write; the
 *    caller must then refuse the operation (fail closed). Should that
 *    truncation itself fail, the next append retries it first and fails until
 *    it succeeds, so no record ever follows a torn line.
 *  - No fsync by default: a record in the page cache survives a daemon crash,
 *    which is what the ordering "record before operation" protects against;
 *    fdatasync per record costs a disk flush per request. AUDIT_LOG_SYNC turns
 *    on fdatasync() after each line; its failure is treated as a write
 *    failure (line truncated away, error returned).
 *  - A torn last line found on open (power loss) is truncated away so the file
 *    stays valid JSON lines.
 *  - One writer: the daemon, single-threaded. AuditLog is not thread-safe.
 *
 * ── Journal ─────────────────────────────────────────────────────────────────
 * After the line is in the file, the same record is sent with sd_journal_sendv
 * when /run/systemd/journal/socket exists (looked at once a second, and again
 * on reopen, not per line): MESSAGE_ID=AUDIT_MESSAGE_ID (both
 * record and outcome lines; PIDBROKER_TYPE tells them apart), MESSAGE (a
 * human summary), PRIORITY, PIDBROKER_TYPE, PIDBROKER_SEQ, PIDBROKER_ACTION,
 * PIDBROKER_DECISION, PIDBROKER_RULE, PIDBROKER_RESULT,
 * PIDBROKER_SUBJECT_{UID,PID,PIDFD_ID,IDENTITY,BUS_NAME},
 * PIDBROKER_TARGET_{PID,PIDFD_ID,UID,WORKLOAD_ID}, PIDBROKER_SIGNAL,
 * PIDBROKER_FLAGS, PIDBROKER_TARGET_FD, PIDBROKER_FD_TYPE,
 * PIDBROKER_SUPPRESSED, PIDBROKER_CONTROL_PATH (each only when known) and PIDBROKER_JSON (the line
 * without its '\n'). A journal failure never fails the operation: the file is
 * the record of truth, the journal a convenience copy (sent after the line is
 * in the file, its result ignored). */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* journalctl MESSAGE_ID=e4b0a9830056444db453a2de73b1b835 */
#define AUDIT_MESSAGE_ID "e4b0a9830056444db453a2de73b1b835"

/* "Unknown" markers for fields where 0 is a real value. */
#define AUDIT_UID_UNSET ((uid_t) -1)
#define AUDIT_INT_UNSET INT_MIN       /* signal, target_fd */
#define AUDIT_FLAGS_UNSET INT64_C(-1) /* flags (D-Bus 'u', so never negative) */

typedef enum AuditDecision {
        AUDIT_DECISION_ALLOW,
        AUDIT_DECISION_DENY,
        _AUDIT_DECISION_MAX,
} AuditDecision;

/* "allow", "deny"; NULL when out of range. */
const char *audit_decision_to_string(AuditDecision d);

typedef struct AuditSubject {
        uid_t uid;             /* AUDIT_UID_UNSET → null */
        const gid_t *gids;     /* NULL → null; non-NULL → array (n_gids may be 0: []) */
        size_t n_gids;
        pid_t pid;             /* <= 0 → null */
        uint64_t pidfd_id;     /* 0 → null */
        const char *bus_name;  /* NULL → null (direct socket) */
        const char *comm;      /* NULL → null */
        uint64_t pidns;        /* nsfs inode; 0 → null */
        uint64_t userns;       /* nsfs inode; 0 → null */
        const char *identity;  /* "peer-pidfd", "bus-processfd", "bus-pid-unpinned"; NULL → null */
} AuditSubject;

typedef struct AuditTarget {
        pid_t pid;             /* in the daemon's pid namespace; <= 0 → null */
        uint64_t pidfd_id;     /* 0 → null */
        uid_t uid;             /* AUDIT_UID_UNSET → null */
        uint64_t pidns;        /* 0 → null */
        uint64_t userns;       /* 0 → null */
        const char *comm;      /* NULL → null */
        uint64_t workload_id;  /* 0 → null: not a workload (ids start at 1) */
} AuditTarget;

typedef struct AuditDetails {
        int signal;            /* AUDIT_INT_UNSET → null (0 is a real "probe" signal) */
        int64_t flags;         /* AUDIT_FLAGS_UNSET → null */
        int target_fd;         /* AUDIT_INT_UNSET → null */
        const char *fd_type;   /* "socket", "pipe", "file:/path", "anon_inode:[eventfd]"; NULL → null */
        uint64_t suppressed;   /* denials a summary record stands for; 0 → null (every other record) */
} AuditDetails;

typedef struct AuditRecord {
        const char *action;       /* required, e.g. "org.pidbroker.getfd" */
        AuditDecision decision;
        const char *rule;         /* which rule or default decided; NULL → null */
        AuditSubject subject;
        const AuditTarget *target; /* NULL → "target":null */
        AuditDetails details;
        const char *result;       /* NULL: "pending" (allow) / "denied" (deny) */
        const char *control_path; /* "pidfd" or "legacy_pid"; NULL → null */
} AuditRecord;

#define AUDIT_SUBJECT_NULL ((AuditSubject) { .uid = AUDIT_UID_UNSET })
#define AUDIT_TARGET_NULL ((AuditTarget) { .uid = AUDIT_UID_UNSET })
#define AUDIT_DETAILS_NULL                              \
        ((AuditDetails) {                               \
                .signal = AUDIT_INT_UNSET,              \
                .flags = AUDIT_FLAGS_UNSET,             \
                .target_fd = AUDIT_INT_UNSET,           \
        })
/* Start every record from this: all fields unknown, decision deny (so a
 * forgotten decision never reads as an allow). */
#define AUDIT_RECORD_NULL                                       \
        ((AuditRecord) {                                        \
                .decision = AUDIT_DECISION_DENY,                \
                .subject = { .uid = AUDIT_UID_UNSET },          \
                .details = {                                    \
                        .signal = AUDIT_INT_UNSET,              \
                        .flags = AUDIT_FLAGS_UNSET,             \
                        .target_fd = AUDIT_INT_UNSET,           \
                },                                              \
        })

typedef enum AuditLogFlags {
        AUDIT_LOG_SYNC = 1 << 0,       /* fdatasync() after every line */
        AUDIT_LOG_NO_JOURNAL = 1 << 1, /* never copy to the journal */
} AuditLogFlags;

typedef struct AuditLog AuditLog;

/* Open (create) the log at path: missing parent directories are created
 * 0750, a new file 0640 (independent of umask); O_APPEND|O_CLOEXEC, no
 * symlink followed at the last component, regular files only (-EINVAL).
 * seq continues from the last record line of the file. The one case where
 * seq restarts at 1 is a daemon start on an empty file after rotation: the
 * rotated file is not read (pair records within one file by seq, across files
 * by time). */
int audit_log_open(const char *path, AuditLogFlags flags, AuditLog **ret);

/* Reopen the path (after logrotate renamed the file): the new file is created
 * if missing, seq continues from max(in memory, the new file's last record);
 * whether journald runs is looked at again.
 * On failure the old fd is kept and -errno returned. */
int audit_log_reopen(AuditLog *log);

AuditLog *audit_log_free(AuditLog *log);
static inline void audit_log_freep(AuditLog **log) {
        if (*log)
                *log = audit_log_free(*log);
}

const char *audit_log_path(const AuditLog *log);
/* seq of the last record written (or found on open); 0 when none. */
uint64_t audit_log_last_seq(const AuditLog *log);

/* Append one record line with rec->result as given (required, non-NULL) and
 * the next seq; send it to the journal. 0 and *ret_seq (may be NULL) on
 * success; -EINVAL for a malformed record; -errno from write()/fdatasync()
 * (-ENOSPC for a short write), in which case nothing was added to the file. */
int audit_record_append(AuditLog *log, const AuditRecord *rec, uint64_t *ret_seq);

/* Phase one: audit_record_append() with the result defaulted when NULL:
 * "pending" for an allow, "denied" for a deny. On error, refuse the operation
 * (AuditFailed). */
int audit_begin(AuditLog *log, const AuditRecord *rec, uint64_t *ret_seq);

/* Phase two: {"time","seq","type":"outcome","result"} for a record written by
 * audit_begin(). -EINVAL for seq 0, a seq not yet written, or an empty or
 * "pending" result. A failure here comes after the operation ran: the caller
 * logs it; the record line keeps "pending". */
int audit_outcome(AuditLog *log, uint64_t seq, const char *result);
/* The same with the type of the fd a GetFd took ("socket", "file:/path"): it
 * is known only once the fd is taken, after the record (no "fd_type" field
 * when NULL). */
int audit_outcome_fd_type(AuditLog *log, uint64_t seq, const char *result, const char *fd_type);
/* The same with the result from an operation's return value (see below). */
int audit_outcome_errno(AuditLog *log, uint64_t seq, int r);

#define AUDIT_RESULT_MAX 32
/* "ok" for r >= 0, else the lower-case errno name of -r ("esrch"), or
 * "errno-N" for a number libc cannot name. Returns buf. */
const char *audit_result_from_errno(int r, char buf[static AUDIT_RESULT_MAX]);

/* ── Denial budget ───────────────────────────────────────────────────────────
 * Denials cost the caller nothing, so one uid could write them as fast as it
 * can call and fill the log's file system; after that, fail-closed would
 * refuse every user. So denial records have a per-uid budget: a token bucket
 * of `burst` records refilled at `per_second`. Past it, a denial is counted,
 * not written; the caller still gets its denial reply. The count is written
 * as one summary record when the uid's bucket has a token again (just before
 * that uid's next written denial), or at audit_flush_suppressed():
 *
 *   {"time":…,"seq":…,"type":"record","action":"org.pidbroker.audit-suppressed",
 *    "decision":"deny","rule":"audit-budget","subject":{"uid":65534,…null},
 *    "target":null,"details":{…null,"suppressed":9873},"result":"suppressed",
 *    "control_path":null}
 *
 * "suppressed" is the exact number of denial records left out since the
 * uid's last written one. Records whose subject uid is unset (the caller could
 * not be identified) share one bucket, uid null. Per-uid state lives in a
 * fixed table of AUDIT_DENIAL_BUCKETS; a full, idle bucket is reused. When
 * every slot is busy (that many uids over budget at once), the other uids
 * share one overflow bucket; its summary has uid null and rule
 * "audit-budget:overflow". Allowed records and outcomes are never
 * suppressed: they are bounded by what the policy lets a user do. */
#define AUDIT_ACTION_SUPPRESSED "org.pidbroker.audit-suppressed"
#define AUDIT_RULE_BUDGET "audit-budget"
#define AUDIT_RULE_BUDGET_OVERFLOW "audit-budget:overflow"
#define AUDIT_RESULT_SUPPRESSED "suppressed"
#define AUDIT_DENIAL_BUCKETS 256
#define AUDIT_DENIAL_BURST_DEFAULT 200
#define AUDIT_DENIAL_PER_SECOND_DEFAULT 20

/* burst 0 turns the budget off (every denial is written); per_second 0 means
 * no refill. Resets every bucket; counts not yet written are written first
 * (the first error is returned, the new budget applies regardless). */
int audit_log_set_denial_budget(AuditLog *log, unsigned burst, unsigned per_second);

/* Write a denial (rec->decision must be deny; result defaults to "denied")
 * if rec->subject.uid has budget left: 0 and *ret_seq (may be NULL) = its
 * seq. A pending summary for that uid is written first. Over budget: counted,
 * nothing written, 0 with *ret_seq = 0 (not a failure). -errno as
 * audit_record_append() when a line could not be written (the denial then
 * stays uncounted and the budget unspent). now_usec: CLOCK_MONOTONIC. */
int audit_deny(AuditLog *log, const AuditRecord *rec, uint64_t now_usec, uint64_t *ret_seq);

/* Write the summary of every bucket with suppressed denials, whether or not
 * it has tokens again (the daemon calls this from a timer, and at exit).
 * Returns how many summaries were written, or the first -errno (the others
 * are still tried; a failed one keeps its count for the next call). */
int audit_flush_suppressed(AuditLog *log, uint64_t now_usec);

/* usec since the epoch as "2026-11-29T14:05:06.123456Z" (27 chars + NUL). */
#define AUDIT_TIMESTAMP_MAX 28
int audit_format_timestamp(uint64_t usec, char buf[static AUDIT_TIMESTAMP_MAX]);
