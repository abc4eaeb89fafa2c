/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* org.pidbroker.manage: seeing or acting on another user's workload.
 *
 * sd-bus looks objects up through synchronous callbacks (the fallback
 * vtable's find, the node enumerator), but a polkit answer comes later. So
 * the decision is made in front of the object tree, by a filter that sees
 * every method call before sd-bus dispatches it:
 *
 *  - a call on the object of a workload the caller does not own asks
 *    manage; a deny is audited and answered here (AccessDenied), an allow
 *    lets the call through to the object tree, where find() sees it;
 *  - a listing (GetManagedObjects, Introspect of the workload folder) while
 *    other users' workloads exist asks manage too; a deny is not an error,
 *    the listing just shows the caller's own workloads.
 *
 * A denied call on another user's workload gets AccessDenied, not
 * UnknownObject: the denial is a decision the audit trail records, and
 * existence is no secret to keep (a workload id is the pidfs inode of a
 * process, which anyone can read with pidfd_open() and fstat()).
 *
 * When polkit answers later, the decision is parked and the very same
 * message is queued for reading again (sd_bus_enqueue_for_read), as systemd
 * does with its polkit queries: on its second pass the filter finds the
 * decision and lets it through. Decisions live for one dispatch only. */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"
#include "log.h"
#include "manage-gate.h"
#include "request.h"
#include "workload.h"

typedef enum GateKind {
        GATE_WORKLOAD, /* a call on one workload's object */
        GATE_LISTING,  /* which workloads a listing shows */
} GateKind;

struct GateDecision {
        GateDecision *next;
        sd_bus_message *msg;
        bool allow;
        const char *rule;
};

typedef struct GateRequest {
        Request req;
        GateKind kind;
        TargetFacts target;
} GateRequest;

static void gate_decision_free(GateDecision *d) {
        sd_bus_message_unref(d->msg);
        free(d);
}

/* The parked decision for msg, unlinked. */
static GateDecision *gate_take(Manager *m, sd_bus_message *msg) {
        for (GateDecision **p = &m->gate_decisions; *p; p = &(*p)->next)
                if ((*p)->msg == msg) {
                        GateDecision *d = *p;
                        *p = d->next;
                        return d;
                }
        return NULL;
}

static void gate_set_current(Manager *m, sd_bus_message *msg, bool allow, const char *rule) {
        m->gate_msg = msg;
        m->gate_allow = allow;
        m->gate_rule = rule;
}

void manage_gate_reset(Manager *m) {
        gate_set_current(m, NULL, false, NULL);
}

void manage_gate_free_all(Manager *m) {
        while (m->gate_decisions) {
                GateDecision *d = m->gate_decisions;
                m->gate_decisions = d->next;
                gate_decision_free(d);
        }
        manage_gate_reset(m);
}

bool manage_gate_allows(Manager *m, sd_bus *bus, const char **ret_rule) {
        sd_bus_message *msg = sd_bus_get_current_message(bus);

        if (!msg || msg != m->gate_msg || !m->gate_allow)
                return false;
        if (ret_rule)
                *ret_rule = m->gate_rule;
        return true;
}

/* An exited workload's process is reaped: describe it from our record. */
static void target_facts_from_workload(const Workload *w, TargetFacts *ret) {
        *ret = (TargetFacts) {
                .pid = w->spawned.process.pid,
                .pidfd_id = w->spawned.process.id,
                .uid = w->user,
                .pidns = w->namespaces[NAMESPACE_PID],
                .userns = w->namespaces[NAMESPACE_USER],
                .workload_id = w->id,
                .control_path = process_control_path(&w->spawned.process),
        };
}

static void gate_deny_workload(GateRequest *g, const AuthResult *res) {
        Request *r = &g->req;
        AuditTarget t;
        uint64_t seq;
        char buf[256];
        int k;

        log_notice("%s on workload %" PRIu64 " denied for %s (%s).", sd_bus_message_get_member(r->msg) ?: "?",
                   g->target.workload_id, caller_describe(&r->caller, buf, sizeof buf), res->rule);
        audit_target_from_facts(&t, &g->target);
        k = request_audit(r, res, &t, NULL, g->target.control_path, &seq);
        if (k < 0)
                (void) reply_audit_failed(r->msg, k);
        else
                (void) reply_denied(r->msg, res, r->interactive);
}

static void gate_decided(Request *r, const AuthResult *res) {
        GateRequest *g = (GateRequest *) r;
        Manager *m = r->manager;
        GateDecision *d;
        int k;

        if (g->kind == GATE_WORKLOAD && !res->allow) {
                gate_deny_workload(g, res);
                return;
        }

        if (m->gate_sync == r->msg) {
                /* Decided inside the filter: the dispatch goes on with it. */
                gate_set_current(m, r->msg, res->allow, res->rule);
                return;
        }

        d = calloc(1, sizeof *d);
        if (!d) {
                log_oom();
                goto fail;
        }
        *d = (GateDecision) { .msg = sd_bus_message_ref(r->msg), .allow = res->allow, .rule = res->rule };
        d->next = m->gate_decisions;
        m->gate_decisions = d;
        k = sd_bus_enqueue_for_read(sd_bus_message_get_bus(r->msg), r->msg);
        if (k >= 0)
                return;
        log_warning_errno(k, "Failed to requeue a call after its authorization: %m");
        gate_decision_free(gate_take(m, r->msg));
fail:
        (void) sd_bus_reply_method_errorf(r->msg, SD_BUS_ERROR_NO_MEMORY, "Out of memory.");
}

static bool others_have_workloads(Manager *m, uid_t uid) {
        for (Workload *w = m->workloads; w; w = w->next)
                if (w->owner_uid != uid && (w->state == WORKLOAD_RUNNING || w->state == WORKLOAD_EXITED))
                        return true;
        return false;
}

static bool is_listing(const char *path, const char *iface, const char *member) {
        if (!iface || !member)
                return false;
        if (strcmp(path, BROKER_PATH) == 0 && strcmp(iface, "org.freedesktop.DBus.ObjectManager") == 0)
                return true;
        return (strcmp(path, BROKER_PATH) == 0 || strcmp(path, WORKLOAD_PATH_PREFIX) == 0) &&
               strcmp(iface, "org.freedesktop.DBus.Introspectable") == 0;
}

static int gate_filter(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Manager *m = userdata;
        const char *path, *iface, *member;
        const Caller *caller;
        Workload *w = NULL;
        GateRequest *g;
        GateDecision *d;
        GateKind kind;
        uint64_t id;
        Request *r;
        int k;

        if (!sd_bus_message_is_method_call(msg, NULL, NULL))
                return 0;
        path = sd_bus_message_get_path(msg);
        iface = sd_bus_message_get_interface(msg);
        member = sd_bus_message_get_member(msg);
        if (!path || (iface && strcmp(iface, "org.freedesktop.DBus.Peer") == 0))
                return 0;

        if (workload_id_from_path(path, &id) >= 0) {
                w = workload_find(m, id);
                if (!w)
                        return 0; /* sd-bus answers UnknownObject */
                kind = GATE_WORKLOAD;
        } else if (is_listing(path, iface, member))
                kind = GATE_LISTING;
        else
                return 0;

        /* Second pass of a call decided asynchronously. */
        d = gate_take(m, msg);
        if (d) {
                gate_set_current(m, msg, d->allow, d->rule);
                gate_decision_free(d);
                return 0;
        }

        k = manager_get_caller(m, msg, &caller, &error);
        if (k < 0) {
                if (!sd_bus_error_is_set(&error))
                        sd_bus_error_set_errno(&error, k);
                (void) sd_bus_reply_method_error(msg, &error);
                return 1;
        }
        if (kind == GATE_WORKLOAD && caller->uid == w->owner_uid)
                return 0;
        if (kind == GATE_LISTING && !others_have_workloads(m, caller->uid))
                return 0;

        k = request_new(m, sizeof(GateRequest), msg, caller, &r, &error);
        if (k < 0) {
                if (!sd_bus_error_is_set(&error))
                        sd_bus_error_set_errno(&error, k);
                (void) sd_bus_reply_method_error(msg, &error);
                return 1;
        }
        g = (GateRequest *) r;
        g->kind = kind;
        r->decided = gate_decided;

        AuthTarget t = AUTH_TARGET_NULL;
        if (kind == GATE_WORKLOAD) {
                if (target_facts_read(m, &w->spawned.process, caller->uid, &g->target) < 0)
                        target_facts_from_workload(w, &g->target);
                g->target.workload_id = w->id;
                g->target.is_own_workload = false;
                t.has_process = true;
                t.pid = g->target.pid;
                t.uid = g->target.uid;
                t.workload_id = w->id;
                t.cross_namespace = target_is_cross_namespace(&g->target, &r->facts);
        }

        m->gate_sync = msg;
        (void) request_authorize(r, (const Action[]) { ACTION_MANAGE }, 1, &t);
        m->gate_sync = NULL;

        /* Allowed (or a listing decided) at once: dispatch goes on. Else it
         * was answered (denied) or waits for polkit. */
        return m->gate_msg == msg ? 0 : 1;
}

int manage_gate_attach(Manager *m, sd_bus *bus) {
        return sd_bus_add_filter(bus, NULL, gate_filter, m);
}
