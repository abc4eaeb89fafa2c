/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one pipeline every method call goes through, on both interfaces and
 * both transports:
 *
 *     1. identify          request_begin()
 *     2. parse, validate   the handler; a refusal is request_refuse()
 *     3. decide            request_authorize()
 *     4. record            request_record()
 *     5. act               the handler
 *     6. record outcome    request_outcome()
 *     7. reply             the handler
 *
 * Each method handler is one linear function in that order. Whatever may
 * have to wait (a polkit decision, blocking work run off the loop by
 * offload.h) answers "not yet" (0): the handler returns 1, and once the
 * answer is in, the very same message is queued for reading again
 * (sd_bus_enqueue_for_read) and the handler runs again from the top, now
 * finding the answer kept with the message. So no state machine, no
 * callbacks per method: one Request per message, found again by the
 * message on each pass.
 *
 * Nothing privileged happens before an allow and a written record: steps 3
 * and 4 come before step 5 in every handler. Every refusal — no identity, bad
 * arguments, a limit, a policy deny — is recorded as a denial, within the
 * caller's denial budget (the audit log's, DESIGN §4). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "authorize.h"
#include "caller.h"
#include "manager.h"
#include "offload.h"
#include "target.h"

typedef struct Decision {
        bool done;
        AuthResult result;
        uint64_t key;             /* what was asked: a re-run that asks something else asks again */
} Decision;

struct Request {
        Manager *manager;
        Request *next, *prev;     /* in manager->pending while something is awaited */
        bool pending;

        sd_bus_message *msg;
        Action action;            /* the method's own action: what an early refusal is recorded as */
        bool interactive;         /* ALLOW_INTERACTIVE_AUTHORIZATION on msg */

        int identity;             /* 0 not yet, 1 identified, -errno failed */
        Caller caller;
        /* caller is the very one the identity cache or the direct connection
         * keeps (its pidfd, groups and bus name not copied): sound while this
         * request runs within the dispatch of its message, since an entry
         * goes only when its client does, which drops the client's requests
         * first. One that waits takes a copy of its own. */
        bool caller_borrowed;
        CallerFacts facts;
        bool refused;             /* a denial was recorded already (one per request) */

        AuthCheck *check;         /* a decision on its way */
        Decision *awaited;        /* the slot it goes to */
        Decision method;          /* the method's own actions */
        Decision manage;          /* org.pidbroker.manage: may the caller see this workload */

        bool recorded;            /* the allow record is written, under record_seq */
        uint64_t record_seq;

        OffloadJob *job;          /* blocking work on its way */
        bool job_done;
        int job_result;           /* 0 or -ETIMEDOUT */
        void *job_data;
        void (*job_free)(void *data);
};

/* Step 1: the Request of msg (a new one, or the one a re-run left), its
 * caller identified. A caller that cannot be identified is refused
 * (recorded under action, AccessDenied in *error): returns < 0. */
int request_begin(Manager *m, sd_bus_message *msg, Action action, Request **ret, sd_bus_error *error);

/* The Request of the message being dispatched on bus, identified; NULL when
 * there is none or the caller cannot be identified (nothing is recorded: for
 * object lookups and property getters, which answer "no such object"). */
Request *request_current(Manager *m, sd_bus *bus);

/* Refuse with the named error already set in *error: recorded as a denial
 * ("refused:<Name>"), with t (may be NULL) as the target. Returns what the
 * handler returns. */
int request_refuse(Request *r, const Target *t, sd_bus_error *error);
/* The same from a -errno, mapped by bus_error_from_errno(). */
int request_refuse_errno(Request *r, const Target *t, int error, const char *what, sd_bus_error *ret_error);

/* Step 3: ask every action (all must allow). 1 allowed; 0 not yet (return 1
 * from the handler: it runs again when decided); < 0 denied, recorded,
 * *error set. */
int request_authorize(Request *r, const Action *actions, size_t n_actions, const Target *t, sd_bus_error *error);
/* An allow that needs no policy (the owner stopping its own workload). */
void request_allow(Request *r, Action action, const char *rule);

/* Whether the caller may see a workload owned by someone else
 * (org.pidbroker.manage). 1 yes, 0 no (a denial was recorded when record
 * is set), -EAGAIN not yet (the message comes back once decided). */
int request_authorize_manage(Request *r, const Target *t, bool record);

/* Step 4: the allow record. 0 and *ret_seq; < 0 with AuditFailed in
 * *error: nothing may run. Written once: a re-run gets the same seq. */
int request_record(Request *r, const Target *t, uint64_t *ret_seq, sd_bus_error *error);
/* Step 6: the outcome (0 or -errno) of what ran under record seq. */
void request_outcome(Request *r, uint64_t seq, int result);
/* The same for a GetFd, with the type of the fd taken. */
void request_outcome_fd_type(Request *r, uint64_t seq, int result, const char *fd_type);

/* Whether the request's blocking work (below) is done: on a re-run, the
 * answer waits in request_offload(). */
bool request_offload_done(const Request *r);

/* Blocking work off the loop (offload.h), for step 2, or for step 5 (once,
 * and only when step 2 had none: one job per request), on a thread of lane
 * (0 unless fn leaves its thread changed: offload.h). 1: done, *ret_data
 * holds the result and stays owned by r; 0: not yet (return 1 from the
 * handler); < 0: refused (a limit, or the deadline passed), recorded, with
 * the named error in *error. data (with free_data) is taken either way. */
int request_offload(Request *r, uint64_t lane, OffloadFunc fn, void *data, void (*free_data)(void *data),
                    void **ret_data, const Target *t, sd_bus_error *error);

/* Called after each dispatch: the request of that message is freed unless
 * it awaits something. */
void request_dispatch_done(Manager *m);
/* A client went away: what its calls awaited is dropped, and nothing is
 * done for them. sender NULL: every call that came over bus (a direct
 * connection). */
void request_drop_from(Manager *m, sd_bus *bus, const char *sender);
void request_free(Request *r);

/* Handler shorthand for steps that may answer "not yet". */
#define RET_IF_NOT_YET(k) do { if ((k) == 0) return 1; if ((k) < 0) return (k); } while (0)
