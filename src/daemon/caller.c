/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bus-error.h"
#include "caller.h"
#include "log.h"
#include "user-util.h"
#include "missing-pidfd.h"

static const char *const caller_identity_table[_CALLER_IDENTITY_MAX] = {
        [CALLER_IDENTITY_PEER_PIDFD] = "peer-pidfd",
        [CALLER_IDENTITY_BUS_PROCESSFD] = "bus-processfd",
        [CALLER_IDENTITY_BUS_PID_UNPINNED] = "bus-pid-unpinned",
};

const char *caller_identity_to_string(CallerIdentity i) {
        return i >= 0 && i < _CALLER_IDENTITY_MAX ? caller_identity_table[i] : "unknown";
}

void caller_done(Caller *c) {
        free(c->groups);
        free(c->bus_name);
        process_done(&c->process);
        safe_close(c->comm_fd);
        *c = CALLER_NULL;
}

int caller_copy(Caller *ret, const Caller *c) {
        Caller n = *c;
        int r;

        n.groups = NULL;
        n.bus_name = NULL;
        n.process = PROCESS_NULL;
        n.comm_fd = -EBADF;
        if (c->n_groups > 0) {
                n.groups = calloc(c->n_groups, sizeof(gid_t));
                if (!n.groups)
                        goto oom;
                memcpy(n.groups, c->groups, c->n_groups * sizeof(gid_t));
        }
        if (c->bus_name) {
                n.bus_name = strdup(c->bus_name);
                if (!n.bus_name)
                        goto oom;
        }
        if (process_is_set(&c->process)) {
                r = process_copy(&n.process, &c->process);
                if (r < 0) {
                        caller_done(&n);
                        return r;
                }
        }
        if (c->comm_fd >= 0) {
                n.comm_fd = fcntl(c->comm_fd, F_DUPFD_CLOEXEC, 3);
                if (n.comm_fd < 0) {
                        r = -errno;
                        caller_done(&n);
                        return r;
                }
        }
        *ret = n;
        return 0;
oom:
        caller_done(&n);
        return -ENOMEM;
}

void caller_facts_done(CallerFacts *f) {
        free(f->gids);
        *f = CALLER_FACTS_NULL;
}

int caller_facts_read(const Caller *c, CallerFacts *ret) {
        CallerFacts f = CALLER_FACTS_NULL;

        f.gids = calloc(c->n_groups + 1, sizeof(gid_t));
        if (!f.gids)
                return -ENOMEM;
        if (c->gid != (gid_t) -1)
                f.gids[f.n_gids++] = c->gid;
        for (size_t i = 0; i < c->n_groups; i++) {
                bool dup = false;
                for (size_t j = 0; j < f.n_gids && !dup; j++)
                        dup = f.gids[j] == c->groups[i];
                if (!dup)
                        f.gids[f.n_gids++] = c->groups[i];
        }

        /* Each fact on its own: one that cannot be read stays unknown (0 or
         * ""), which the policy never counts in the caller's favour. */
        if (process_is_set(&c->process)) {
                if ((c->comm_fd >= 0 ? process_read_comm_fd(c->comm_fd, f.comm) :
                                       process_get_comm(&c->process, f.comm)) < 0)
                        f.comm[0] = '\0';
                f.pidns = c->pidns;
                if (process_namespace_id(&c->process, NAMESPACE_USER, &f.userns) < 0)
                        f.userns = 0;
        }

        *ret = f;
        return 0;
}

const char *caller_describe(const Caller *c, char *buf, size_t size) {
        snprintf(buf, size, "uid=%u pid=%d pidfd_id=%llu identity=%s%s%s",
                 (unsigned) c->uid, (int) c->process.pid, (unsigned long long) c->process.id,
                 caller_identity_to_string(c->identity),
                 c->bus_name ? " bus=" : "", c->bus_name ?: "");
        return buf;
}

/* What is read once per identified process (Caller.pidns, .comm_fd).
 * Unknown (0, -1) when it cannot be read: the policy never counts that in
 * the caller's favour, and the comm is then read per request. */
static void caller_read_once(Caller *c) {
        if (process_namespace_id(&c->process, NAMESPACE_PID, &c->pidns) < 0)
                c->pidns = 0;
        c->comm_fd = process_open_comm(&c->process);
}

/* Supplementary groups from the user database, for a caller whose transport
 * does not carry them. A uid without an entry has none. */
static int groups_from_passwd(uid_t uid, gid_t gid, gid_t **ret, size_t *ret_n) {
        int r = user_groups(uid, gid, ret, ret_n);
        if (r == -ESRCH) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        return r;
}

/* The primary gid as the pinned process has it; the user database only if
 * the process cannot say. The real gid, never the effective one: a bus
 * connection survives exec, so the process the bus names may by now run a
 * setgid program (tty, shadow, ...) while another process sharing the
 * socket sends the call; that egid is the program's privilege, not the
 * caller's, and would become the workload's group with no spawn-as-user
 * check. Likewise a process whose real and effective uids differ (mid
 * setuid) is not asked. */
static gid_t caller_primary_gid(const Process *p, uid_t uid) {
        ProcessInfo info;
        if (process_is_set(p) && process_get_info(p, &info) >= 0 && info.euid == uid && info.ruid == uid)
                return info.rgid;
        gid_t gid;
        return user_primary_gid(uid, &gid) >= 0 ? gid : (gid_t) -1;
}

typedef struct BusCreds {
        uid_t uid;
        pid_t pid;
        int pidfd;  /* owned by the reply message */
        gid_t *groups;
        size_t n_groups;
        bool has_uid, has_groups;
} BusCreds;

static int get_connection_credentials(sd_bus *bus, const char *name, sd_bus_message **ret_reply,
                                      BusCreds *ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusCreds c = { .pid = 0, .pidfd = -EBADF };
        int r;

        /* The bus driver answers from memory; sd-bus's synchronous call queues
         * other incoming messages meanwhile, so no client can stall this. */
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionCredentials", error, &reply, "s", name);
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        goto fail;
                if (strcmp(key, "UnixUserID") == 0) {
                        uint32_t u;
                        r = sd_bus_message_read(reply, "v", "u", &u);
                        if (r < 0)
                                goto fail;
                        c.uid = u;
                        c.has_uid = true;
                } else if (strcmp(key, "ProcessID") == 0) {
                        uint32_t p;
                        r = sd_bus_message_read(reply, "v", "u", &p);
                        if (r < 0)
                                goto fail;
                        c.pid = (pid_t) p;
                } else if (strcmp(key, "ProcessFD") == 0) {
                        int fd;
                        r = sd_bus_message_read(reply, "v", "h", &fd);
                        if (r < 0)
                                goto fail;
                        c.pidfd = fd;
                } else if (strcmp(key, "UnixGroupIDs") == 0) {
                        const void *a;
                        size_t sz;
                        r = sd_bus_message_enter_container(reply, 'v', "au");
                        if (r < 0)
                                goto fail;
                        r = sd_bus_message_read_array(reply, 'u', &a, &sz);
                        if (r < 0)
                                goto fail;
                        free(c.groups);
                        c.groups = NULL;
                        c.n_groups = sz / sizeof(uint32_t);
                        if (c.n_groups > 0) {
                                c.groups = calloc(c.n_groups, sizeof(gid_t));
                                if (!c.groups) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                for (size_t i = 0; i < c.n_groups; i++)
                                        c.groups[i] = ((const uint32_t *) a)[i];
                        }
                        c.has_groups = true;
                        r = sd_bus_message_exit_container(reply);
                        if (r < 0)
                                goto fail;
                } else {
                        r = sd_bus_message_skip(reply, "v");
                        if (r < 0)
                                goto fail;
                }
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        goto fail;
        }
        if (r < 0)
                goto fail;

        *ret = c;
        *ret_reply = TAKE_PTR(reply);
        return 0;
fail:
        free(c.groups);
        return r;
}

int caller_from_bus_message(sd_bus_message *m, ControlPath cp, Caller *ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus *bus = sd_bus_message_get_bus(m);
        const char *sender = sd_bus_message_get_sender(m);
        Caller c = CALLER_NULL;
        BusCreds bc;
        int r;

        if (!sender)
                return sd_bus_error_set(error, BUS_ERROR_ACCESS_DENIED, "Caller has no bus name.");

        r = get_connection_credentials(bus, sender, &reply, &bc, NULL);
        if (r < 0) {
                /* Most likely the caller disconnected mid-call: refuse, never default. */
                log_debug_errno(r, "GetConnectionCredentials(%s) failed: %m", sender);
                return sd_bus_error_set(error, BUS_ERROR_ACCESS_DENIED, "Caller identity unavailable.");
        }
        if (!bc.has_uid) {
                free(bc.groups);
                return sd_bus_error_set(error, BUS_ERROR_ACCESS_DENIED, "Bus did not report the caller's uid.");
        }

        c.uid = bc.uid;
        c.groups = TAKE_PTR(bc.groups);
        c.n_groups = bc.n_groups;
        c.bus_name = strdup(sender);
        if (!c.bus_name) {
                r = -ENOMEM;
                goto fail;
        }

        if (bc.pidfd >= 0) {
                r = process_from_pidfd_dup(&c.process, bc.pidfd);
                if (r < 0) {
                        log_debug_errno(r, "ProcessFD of %s unusable: %m", sender);
                        goto deny;
                }
                c.identity = CALLER_IDENTITY_BUS_PROCESSFD;
        } else if (bc.pid > 0) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply2 = NULL;
                ProcessInfo info;
                uint32_t p2;

                /* The pid the bus reports may already name someone else: pin
                 * it, check the pinned process has the bus's uid, then check
                 * the sender is still connected with that same pid. What it
                 * proves is weaker than a ProcessFD, hence "unpinned". */
                r = process_from_pid(&c.process, bc.pid, cp);
                if (r < 0)
                        goto deny;
                r = process_get_info(&c.process, &info);
                if (r < 0 || (info.euid != c.uid && info.ruid != c.uid))
                        goto deny;
                r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixProcessID", NULL, &reply2,
                                       "s", sender);
                if (r < 0 || sd_bus_message_read(reply2, "u", &p2) < 0)
                        goto deny;
                if ((pid_t) p2 != bc.pid || process_check_alive(&c.process) < 0)
                        goto deny;
                c.identity = CALLER_IDENTITY_BUS_PID_UNPINNED;
        } else
                goto deny;

        c.gid = caller_primary_gid(&c.process, c.uid);
        if (!bc.has_groups && c.gid != (gid_t) -1) {
                r = groups_from_passwd(c.uid, c.gid, &c.groups, &c.n_groups);
                if (r < 0)
                        goto fail;
        }
        if (c.gid == (gid_t) -1)
                goto deny;
        caller_read_once(&c);

        *ret = c;
        return 0;

deny:
        caller_done(&c);
        return sd_bus_error_set(error, BUS_ERROR_ACCESS_DENIED, "Caller process cannot be identified.");
fail:
        caller_done(&c);
        return sd_bus_error_set_errno(error, r);
}

int caller_from_socket(int fd, ControlPath cp, Caller *ret) {
        struct ucred uc;
        socklen_t sl = sizeof uc;
        Caller c = CALLER_NULL;
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &sl) < 0)
                return -errno;
        if (uc.uid == (uid_t) -1 || uc.pid <= 0)
                return -EPERM;
        c.uid = uc.uid;
        c.gid = uc.gid;

        int pidfd = -EBADF;
        sl = sizeof pidfd;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &sl) >= 0 && pidfd >= 0) {
                /* Race-free: the pidfd names the process that connected. */
                r = process_from_pidfd(&c.process, pidfd);
                if (r < 0)
                        goto fail;
                c.identity = CALLER_IDENTITY_PEER_PIDFD;
        } else {
                ProcessInfo info;
                r = process_from_pid(&c.process, uc.pid, cp);
                if (r < 0)
                        goto fail;
                r = process_get_info(&c.process, &info);
                if (r < 0)
                        goto fail;
                if (info.euid != c.uid && info.ruid != c.uid) {
                        r = -EPERM;
                        goto fail;
                }
                c.identity = CALLER_IDENTITY_BUS_PID_UNPINNED;
        }

        /* SO_PEERGROUPS: ERANGE tells the size needed. */
        gid_t small[64];
        sl = sizeof small;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, small, &sl) >= 0) {
                c.n_groups = sl / sizeof(gid_t);
                if (c.n_groups > 0) {
                        c.groups = calloc(c.n_groups, sizeof(gid_t));
                        if (!c.groups) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        memcpy(c.groups, small, c.n_groups * sizeof(gid_t));
                }
        } else if (errno == ERANGE) {
                c.groups = malloc(sl);
                if (!c.groups) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c.groups, &sl) < 0) {
                        r = -errno;
                        goto fail;
                }
                c.n_groups = sl / sizeof(gid_t);
        } else {
                r = groups_from_passwd(c.uid, c.gid, &c.groups, &c.n_groups);
                if (r < 0)
                        goto fail;
        }
        caller_read_once(&c);

        *ret = c;
        return 0;
fail:
        caller_done(&c);
        return r;
}
