/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"
#include "identity-cache.h"
#include "list.h"
#include "log.h"
#include "request.h"
#include "workload.h"

static void pending_link(Request *r) {
        Manager *m = r->manager;

        assert(!r->caller_borrowed);
        if (r->pending)
                return;
        r->pending = true;
        LIST_PREPEND(m->pending, r);
        m->n_pending++;
}

static void request_caller_done(Request *r) {
        if (r->caller_borrowed)
                r->caller = CALLER_NULL;
        else
                caller_done(&r->caller);
        r->caller_borrowed = false;
}

/* Before a request waits past its dispatch: the caller becomes its own. */
static int request_own_caller(Request *r) {
        Caller own;
        int k;

        if (!r->caller_borrowed)
                return 0;
        k = caller_copy(&own, &r->caller);
        if (k < 0)
                return k;
        r->caller = own;
        r->caller_borrowed = false;
        return 0;
}

static void pending_unlink(Request *r) {
        Manager *m = r->manager;

        if (!r->pending)
                return;
        LIST_REMOVE(m->pending, r);
        r->pending = false;
        m->n_pending--;
}

void request_free(Request *r) {
        if (!r)
                return;
        pending_unlink(r);
        if (r->manager->current == r)
                r->manager->current = NULL;
        r->check = auth_check_cancel(r->check);
        offload_cancel(r->job);
        if (r->job_free && r->job_data)
                r->job_free(r->job_data);
        sd_bus_message_unref(r->msg);
        caller_facts_done(&r->facts);
        request_caller_done(r);
        free(r);
}

void request_dispatch_done(Manager *m) {
        Request *r = m->current;

        m->current = NULL;
        if (r && !r->pending)
                request_free(r);
}

static bool request_from(const Request *r, sd_bus *bus, const char *sender) {
        const char *s = sd_bus_message_get_sender(r->msg);
        return sd_bus_message_get_bus(r->msg) == bus && (!sender || (s && strcmp(s, sender) == 0));
}

void request_drop_from(Manager *m, sd_bus *bus, const char *sender) {
        for (Request *r = m->pending, *next; r; r = next) {
                next = r->next;
                if (request_from(r, bus, sender))
                        request_free(r);
        }
        if (m->current && request_from(m->current, bus, sender))
                request_dispatch_done(m);
}

/* The Request of msg: the one being dispatched, or one a decision or a job
 * brought back, or a new one. It becomes the current one. */
static Request *request_get(Manager *m, sd_bus_message *msg) {
        Request *r = NULL;

        if (m->current && m->current->msg == msg)
                return m->current;
        request_dispatch_done(m);

        for (Request *i = m->pending; i; i = i->next)
                if (i->msg == msg) {
                        r = i;
                        break;
                }
        if (r) {
                if (r->check || r->job)
                        return NULL; /* still waiting: a duplicate dispatch, ignore */
                pending_unlink(r);
        } else {
                r = calloc(1, sizeof *r);
                if (!r)
                        return NULL;
                r->manager = m;
                r->msg = sd_bus_message_ref(msg);
                r->action = _ACTION_INVALID;
                r->caller = CALLER_NULL;
                r->facts = CALLER_FACTS_NULL;
                r->interactive = sd_bus_message_get_allow_interactive_authorization(msg) > 0;
        }
        m->current = r;
        return r;
}

static int request_identify(Request *r, sd_bus_error *error) {
        Manager *m = r->manager;
        const Caller *cached;
        PrivateConnection *c;
        int k;

        if (r->identity > 0)
                return 0;
        if (r->identity < 0)
                return sd_bus_error_set(error, BUS_ERROR_ACCESS_DENIED, "Caller process cannot be identified.");

        c = manager_find_connection(m, sd_bus_message_get_bus(r->msg));
        cached = c ? &c->caller : identity_cache_get(m->identities, sd_bus_message_get_sender(r->msg));
        if (cached) {
                /* Borrowed, not copied: see Request.caller_borrowed. */
                r->caller = *cached;
                r->caller_borrowed = true;
                k = 0;
        } else {
                k = caller_from_bus_message(r->msg, m->config->control_path, &r->caller, error);
                if (k >= 0)
                        (void) identity_cache_put(m->identities, sd_bus_message_get_sender(r->msg), &r->caller);
        }
        if (k >= 0)
                k = caller_facts_read(&r->caller, &r->facts);
        if (k < 0) {
                request_caller_done(r);
                r->identity = k;
                if (!sd_bus_error_is_set(error))
                        sd_bus_error_set(error, BUS_ERROR_ACCESS_DENIED, "Caller process cannot be identified.");
                return k;
        }
        r->identity = 1;
        return 0;
}

static void audit_subject_fill(AuditSubject *ret, const Request *r) {
        const Caller *c = &r->caller;
        const CallerFacts *f = &r->facts;

        if (r->identity <= 0) {
                /* Who it was is what we could not tell: only the bus name. */
                *ret = AUDIT_SUBJECT_NULL;
                ret->bus_name = sd_bus_message_get_sender(r->msg);
                return;
        }
        *ret = (AuditSubject) {
                .uid = c->uid,
                .gids = f->gids,
                .n_gids = f->n_gids,
                .pid = c->process.pid,
                .pidfd_id = c->process.id,
                .bus_name = c->bus_name,
                .comm = f->comm[0] ? f->comm : NULL,
                .pidns = f->pidns,
                .userns = f->userns,
                .identity = caller_identity_to_string(c->identity),
        };
}

/* One record of r about t: the subject, the target, the details. */
static void audit_record_fill(AuditRecord *rec, AuditTarget *target, const Request *r, const Target *t,
                              Action action, bool allow, const char *rule) {
        *rec = AUDIT_RECORD_NULL;
        rec->action = action_to_string(action) ?: action_to_string(ACTION_SPAWN);
        rec->decision = allow ? AUDIT_DECISION_ALLOW : AUDIT_DECISION_DENY;
        rec->rule = rule;
        audit_subject_fill(&rec->subject, r);
        if (!t)
                return;
        target_to_audit(t, target, &rec->details);
        rec->target = target;
        rec->control_path = t->control_path;
}

/* A denial, within the caller's budget. One per request. A denial whose
 * record cannot be written is still a denial: it is logged, and the caller
 * is answered with the reason it was refused. */
static void request_record_denial(Request *r, const Target *t, Action action, const char *rule) {
        AuditRecord rec;
        AuditTarget target;

        if (r->refused)
                return;
        r->refused = true;
        audit_record_fill(&rec, &target, r, t, action, false, rule);
        (void) manager_audit_denial(r->manager, &rec);
}

int request_begin(Manager *m, sd_bus_message *msg, Action action, Request **ret, sd_bus_error *error) {
        Request *r;
        int k;

        r = request_get(m, msg);
        if (!r)
                return -ENOMEM;
        r->action = action;
        k = request_identify(r, error);
        if (k < 0) {
                request_record_denial(r, NULL, action, "refused:identity");
                return k;
        }
        *ret = r;
        return 0;
}

Request *request_current(Manager *m, sd_bus *bus) {
        sd_bus_message *msg = sd_bus_get_current_message(bus);
        Request *r;

        if (!msg)
                return NULL;
        r = request_get(m, msg);
        if (!r || request_identify(r, NULL) < 0)
                return NULL;
        return r;
}

int request_refuse(Request *r, const Target *t, sd_bus_error *error) {
        char rule[128];
        const char *name = error && error->name ? error->name : "?";
        const char *dot = strrchr(name, '.');

        snprintf(rule, sizeof rule, "refused:%s", dot ? dot + 1 : name);
        request_record_denial(r, t, r->action, rule);
        return -sd_bus_error_get_errno(error) ?: -EINVAL;
}

int request_refuse_errno(Request *r, const Target *t, int error, const char *what, sd_bus_error *ret_error) {
        (void) bus_error_from_errno(ret_error, error, what);
        return request_refuse(r, t, ret_error);
}

/* Requests one connection (and one uid) have waiting: each holds its
 * message, and the fds in it, until its answer comes. */
static int request_check_pending_room(Request *r, const Target *t, sd_bus_error *error) {
        Manager *m = r->manager;
        sd_bus *bus = sd_bus_message_get_bus(r->msg);
        const char *sender = sd_bus_message_get_sender(r->msg);
        unsigned per_connection = 0, per_user = 0;

        for (Request *i = m->pending; i; i = i->next) {
                const char *s = sd_bus_message_get_sender(i->msg);
                if (i->caller.uid == r->caller.uid)
                        per_user++;
                if (sd_bus_message_get_bus(i->msg) == bus && (s == sender || (s && sender && strcmp(s, sender) == 0)))
                        per_connection++;
        }
        if (per_connection >= m->config->max_pending_per_connection)
                sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                  "%u calls of this connection are waiting already (MaxPendingPerConnection); "
                                  "wait for their replies.", m->config->max_pending_per_connection);
        else if (per_user >= m->config->max_pending_per_user)
                sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                  "uid %u has %u calls waiting already (MaxPendingPerUser); wait for their replies.",
                                  (unsigned) r->caller.uid, m->config->max_pending_per_user);
        else
                return 0;
        return request_refuse(r, t, error);
}

/* The answer is in: run the handler again on the same message. */
static void request_resume(Request *r) {
        sd_bus *bus = sd_bus_message_get_bus(r->msg);
        int k;

        k = sd_bus_enqueue_for_read(bus, r->msg);
        if (k >= 0) {
                /* Dispatched now, not in the loop's next round, which sd-bus
                 * would have to wake with a timer armed for its queue. Not
                 * from within a callback of this bus (a policy answer): that
                 * waits for the next round. */
                if (!sd_bus_get_current_message(bus))
                        (void) sd_bus_process(bus, NULL);
                return;
        }
        log_warning_errno(k, "Failed to requeue a call after its answer came: %m");
        (void) sd_bus_reply_method_errorf(r->msg, SD_BUS_ERROR_NO_MEMORY, "Out of memory.");
        request_free(r);
}

static void on_decided(const AuthResult *res, void *userdata) {
        Request *r = userdata;

        r->check = NULL; /* the check frees itself */
        r->awaited->result = *res;
        r->awaited->done = true;
        if (r->pending)
                request_resume(r);
}

static uint64_t hash_add(uint64_t h, const void *p, size_t n) {
        const unsigned char *b = p;
        for (size_t i = 0; i < n; i++)
                h = (h ^ b[i]) * UINT64_C(0x100000001b3);
        return h;
}

/* What a decision was asked about: the actions and every fact of the target
 * the policy reads. */
static uint64_t decision_key(const Action *actions, size_t n_actions, const Target *t) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        h = hash_add(h, actions, n_actions * sizeof *actions);
        h = hash_add(h, &t->pid, sizeof t->pid);
        h = hash_add(h, &t->pidfd_id, sizeof t->pidfd_id);
        h = hash_add(h, &t->uid, sizeof t->uid);
        h = hash_add(h, &t->is_own_workload, sizeof t->is_own_workload);
        h = hash_add(h, &t->cross_namespace, sizeof t->cross_namespace);
        h = hash_add(h, &t->workload_id, sizeof t->workload_id);
        h = hash_add(h, &t->signal, sizeof t->signal);
        h = hash_add(h, &t->target_fd, sizeof t->target_fd);
        if (t->fd_type)
                h = hash_add(h, t->fd_type, strlen(t->fd_type));
        return h;
}

/* 1 decided (in slot), 0 not yet, < 0 could not be asked (recorded,
 * *error set). */
static int request_decide(Request *r, Decision *slot, const Action *actions, size_t n_actions, const Target *t,
                          sd_bus_error *error) {
        Manager *m = r->manager;
        uint64_t key = decision_key(actions, n_actions, t);
        AuthCheck *check = NULL;
        int k;

        if (slot->done && slot->key == key)
                return 1;
        /* Only polkit decisions wait, and each waiting one holds its message. */
        if (authority_is_polkit(m->authority)) {
                k = request_check_pending_room(r, t, error);
                if (k < 0)
                        return k;
                k = request_own_caller(r);
                if (k < 0)
                        return request_refuse_errno(r, t, k, "Cannot keep the caller's identity", error);
        }

        AuthRequest ar = {
                .caller = &r->caller,
                .facts = &r->facts,
                .actions = actions,
                .n_actions = n_actions,
                .target = t,
                .interactive = r->interactive,
        };
        *slot = (Decision) { .key = key };
        r->awaited = slot;
        k = authorize(m->authority, &ar, on_decided, r, &check);
        if (k < 0) {
                /* Nothing was asked: an error, never an allow. */
                log_warning_errno(k, "Cannot authorize a request: %m");
                request_record_denial(r, t, actions[0], "error:authorize");
                return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED, "Authorization failed: %s", strerror(-k));
        }
        if (k == 0)
                return 1; /* decided already: on_decided() ran */
        r->check = check;
        pending_link(r);
        return 0;
}

static int reply_denied(Request *r, const AuthResult *res, sd_bus_error *error) {
        const char *action = action_to_string(res->action) ?: "?";

        /* The D-Bus meaning of InteractiveAuthorizationRequired is "would
         * have worked had the call allowed interaction": only when polkit
         * says a challenge could grant it and the caller did not allow one.
         * The embedded engine never prompts. */
        if (res->challenge && !r->interactive)
                return sd_bus_error_setf(error, BUS_ERROR_INTERACTIVE_AUTH, "Interactive authorization required (%s).",
                                         action);
        return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED, "Not authorized (%s).", action);
}

int request_authorize(Request *r, const Action *actions, size_t n_actions, const Target *t, sd_bus_error *error) {
        const AuthResult *res = &r->method.result;
        char buf[256];
        int k;

        k = request_decide(r, &r->method, actions, n_actions, t, error);
        if (k <= 0)
                return k;
        if (res->allow)
                return 1;

        log_notice("%s denied for %s (%s, %s).", sd_bus_message_get_member(r->msg) ?: "?",
                   caller_describe(&r->caller, buf, sizeof buf), action_to_string(res->action) ?: "?", res->rule);
        request_record_denial(r, t, res->action, res->rule);
        return reply_denied(r, res, error);
}

void request_allow(Request *r, Action action, const char *rule) {
        r->method = (Decision) {
                .done = true,
                .result = { .allow = true, .action = action, .rule = rule },
        };
}

int request_authorize_manage(Request *r, const Target *t, bool record) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int k;

        k = request_decide(r, &r->manage, (const Action[]) { ACTION_MANAGE }, 1, t, &error);
        if (k == 0)
                return -EAGAIN;
        if (k < 0)
                return 0; /* could not be asked: recorded, not visible */
        if (!r->manage.result.allow && record)
                request_record_denial(r, t, ACTION_MANAGE, r->manage.result.rule);
        return r->manage.result.allow;
}

int request_record(Request *r, const Target *t, uint64_t *ret_seq, sd_bus_error *error) {
        AuditRecord rec;
        AuditTarget target;
        int k;

        /* A re-run after the work of step 5 came back. */
        if (r->recorded) {
                *ret_seq = r->record_seq;
                return 0;
        }
        audit_record_fill(&rec, &target, r, t, r->method.result.action, true, r->method.result.rule);
        k = manager_audit(r->manager, &rec, &r->record_seq);
        if (k < 0)
                return sd_bus_error_setf(error, BUS_ERROR_AUDIT_FAILED,
                                         "The audit record could not be written (%s); nothing was done.",
                                         strerror(-k));
        r->recorded = true;
        *ret_seq = r->record_seq;
        return 0;
}

void request_outcome(Request *r, uint64_t seq, int result) {
        manager_audit_outcome(r->manager, seq, result);
}

void request_outcome_fd_type(Request *r, uint64_t seq, int result, const char *fd_type) {
        manager_audit_outcome_fd_type(r->manager, seq, result, fd_type);
}

static void on_job_done(int result, void *data, void *userdata) {
        Request *r = userdata;

        r->job = NULL;
        r->job_done = true;
        r->job_result = result;
        r->job_data = data;
        request_resume(r);
}

bool request_offload_done(const Request *r) {
        return r->job_done;
}

int request_offload(Request *r, uint64_t lane, OffloadFunc fn, void *data, void (*free_data)(void *data),
                    void **ret_data, const Target *t, sd_bus_error *error) {
        Manager *m = r->manager;
        int k;

        if (r->job_done) {
                /* A re-run: this pass's input is the same; the answer is kept. */
                if (free_data)
                        free_data(data);
                if (r->job_result < 0) {
                        sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                          "The operation did not finish within BlockingTimeoutSec.");
                        return request_refuse(r, t, error);
                }
                *ret_data = r->job_data;
                return 1;
        }

        k = request_check_pending_room(r, t, error);
        if (k < 0) {
                if (free_data)
                        free_data(data);
                return k;
        }
        k = request_own_caller(r);
        if (k < 0) {
                if (free_data)
                        free_data(data);
                return request_refuse_errno(r, t, k, "Cannot keep the caller's identity", error);
        }
        r->job_free = free_data;
        k = offload_start(m->offload, r->caller.uid, lane, fn, data, free_data, on_job_done, r, &r->job);
        if (k < 0) {
                if (free_data)
                        free_data(data);
                if (k == -EUSERS)
                        sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                          "Too many blocking operations running for uid %u (MaxBlockingPerUser).",
                                          (unsigned) r->caller.uid);
                else
                        (void) bus_error_from_errno(error, k, "Cannot start the operation");
                return request_refuse(r, t, error);
        }
        pending_link(r);
        return 0;
}
