/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bus-error.h"
#include "list.h"
#include "log.h"
#include "string-table.h"
#include "unit.h"

static const char *const kill_mode_table[_KILL_MODE_MAX] = {
        [KILL_MODE_CGROUP] = "cgroup",
        [KILL_MODE_PROCESS] = "process",
};

DEFINE_STRING_TABLE_LOOKUP(kill_mode, KillMode);

/* A unit whose workload is forgotten while processes it left still run
 * there (kill_mode=process): removed once they are gone. */
struct LingeringUnit {
        Manager *manager;
        LingeringUnit *next, *prev;
        CgroupUnit unit;
        sd_event_source *events;
};

void manager_open_units(Manager *m) {
        int r;

        /* Delegated to us is what systemd's trusted.delegate xattr says
         * (Delegate=yes, systemd 251 and later): cgroup_subtree_open()
         * reads it. Everywhere else the daemon makes a directory of its
         * own beside itself. */
        r = cgroup_subtree_open(&m->cgroup_subtree, false);
        if (r < 0) {
                m->cgroup_subtree_error = r;
                m->cgroup_subtree = CGROUP_SUBTREE_NULL;
                log_warning_errno(r, "No cgroup2 subtree for workload units (%m): workloads run without a unit of "
                                     "their own, Stop ends the main process only, and cgroup limits are NotSupported.");
                return;
        }
        log_info("Workload units under %s%s (%s), controllers:%s%s%s%s%s.", m->cgroup_subtree.mount,
                 m->cgroup_subtree.path[1] ? m->cgroup_subtree.path : "",
                 m->cgroup_subtree.moved_to_leaf ? "delegated, moved into " CGROUP_SUPERVISOR_LEAF : "own directory",
                 m->cgroup_subtree.controllers & CGROUP_CONTROLLER_BIT(CGROUP_CONTROLLER_CPU) ? " cpu" : "",
                 m->cgroup_subtree.controllers & CGROUP_CONTROLLER_BIT(CGROUP_CONTROLLER_IO) ? " io" : "",
                 m->cgroup_subtree.controllers & CGROUP_CONTROLLER_BIT(CGROUP_CONTROLLER_MEMORY) ? " memory" : "",
                 m->cgroup_subtree.controllers & CGROUP_CONTROLLER_BIT(CGROUP_CONTROLLER_PIDS) ? " pids" : "",
                 m->cgroup_subtree.controllers == 0 ? " none" : "");
}

static void lingering_unit_free(LingeringUnit *l) {
        LIST_REMOVE(l->manager->lingering_units, l);
        sd_event_source_disable_unref(l->events);
        cgroup_unit_done(&l->unit);
        free(l);
}

/* The directory the daemon made for itself (not a delegated cgroup) goes
 * when it is empty: the daemon leaves nothing behind. With workloads left
 * running it stays, for the next daemon to find. */
static void subtree_remove_if_empty(CgroupSubtree *s) {
        _cleanup_close_ int parent = -EBADF;
        const char *name;

        if (s->fd < 0 || s->moved_to_leaf || !(name = strrchr(s->path, '/')) ||
            strcmp(name + 1, CGROUP_SUBTREE_NAME) != 0)
                return;
        parent = openat(s->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent < 0 || unlinkat(parent, name + 1, AT_REMOVEDIR) < 0)
                return; /* EBUSY: units left */
        log_debug("Removed %s%s.", s->mount, s->path);
}

void manager_close_units(Manager *m) {
        while (m->lingering_units)
                lingering_unit_free(m->lingering_units);
        subtree_remove_if_empty(&m->cgroup_subtree);
        cgroup_subtree_done(&m->cgroup_subtree);
}

bool unit_limits_supported(Manager *m, const CgroupLimits *limits, CgroupLimit *ret_missing) {
        /* A unit's cgroup.controllers is its parent's subtree_control. */
        for (CgroupLimit l = 0; l < _CGROUP_LIMIT_MAX; l++)
                if ((limits->set & (1U << l)) &&
                    (m->cgroup_subtree.fd < 0 ||
                     !(m->cgroup_subtree.controllers & CGROUP_CONTROLLER_BIT(cgroup_limit_controller(l))))) {
                        *ret_missing = l;
                        return false;
                }
        return true;
}

int unit_create_for_spawn(Manager *m, const CgroupLimits *limits, CgroupUnit *ret, CgroupLimit *ret_missing) {
        CgroupUnit u = CGROUP_UNIT_NULL;
        int r;

        if (m->cgroup_subtree.fd < 0) {
                if (limits->set != 0) {
                        for (CgroupLimit l = 0; l < _CGROUP_LIMIT_MAX; l++)
                                if (limits->set & (1U << l)) {
                                        *ret_missing = l;
                                        break;
                                }
                        return -EOPNOTSUPP;
                }
                *ret = CGROUP_UNIT_NULL;
                return 0;
        }
        r = cgroup_unit_create(&m->cgroup_subtree, &u);
        if (r == -ENOENT) {
                /* Our own directory, removed by another daemon (tests run
                 * several on one host) as it exited: make it again. */
                CgroupSubtree fresh;
                if (cgroup_subtree_open(&fresh, false) >= 0) {
                        cgroup_subtree_done(&m->cgroup_subtree);
                        m->cgroup_subtree = fresh;
                        r = cgroup_unit_create(&m->cgroup_subtree, &u);
                }
        }
        if (r < 0)
                return r;
        if (limits->set != 0) {
                r = cgroup_unit_set_limits(&u, limits, ret_missing);
                if (r < 0) {
                        /* Empty: nothing was ever in it. */
                        (void) cgroup_unit_remove(&u);
                        cgroup_unit_done(&u);
                        return r;
                }
        }
        *ret = u;
        return 0;
}

int unit_watch_events(Manager *m, int fd, sd_event_io_handler_t callback, void *userdata, sd_event_source **ret) {
        int r;

        if (fd < 0)
                return fd;
        /* kernfs wakes pollers with POLLPRI (and POLLERR) on a change. */
        r = sd_event_add_io(m->event, ret, fd, EPOLLPRI, callback, userdata);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        (void) sd_event_source_set_io_fd_own(*ret, true);
        return 0;
}

static int lingering_unit_check(LingeringUnit *l, int populated) {
        int r;

        if (populated > 0)
                return 0;
        r = cgroup_unit_remove(&l->unit);
        if (r == -EBUSY)
                return 0; /* someone moved a process in meanwhile */
        if (r < 0)
                log_warning_errno(r, "Cannot remove the cgroup %s, leaving it: %m", l->unit.path);
        else
                log_debug("Removed the cgroup left by a forgotten workload.");
        lingering_unit_free(l);
        return 0;
}

static int on_lingering_unit_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        return lingering_unit_check(userdata, cgroup_events_read_populated(fd));
}

void unit_close_fd(CgroupUnit *u) {
        u->fd = safe_close(u->fd);
}

int unit_reopen(Manager *m, CgroupUnit *u) {
        _cleanup_cgroup_unit_ CgroupUnit again = CGROUP_UNIT_NULL;
        const char *name;
        int r;

        if (u->fd >= 0)
                return 0;
        if (!u->path || m->cgroup_subtree.fd < 0)
                return -EBADF;
        name = strrchr(u->path, '/');
        r = cgroup_unit_open(&m->cgroup_subtree, name ? name + 1 : u->path, &again);
        if (r < 0)
                return r;
        /* Removed and made again by someone else: not ours. */
        if (u->id != 0 && again.id != u->id)
                return -ESTALE;
        u->fd = TAKE_FD(again.fd);
        return 0;
}

int unit_remove_if_empty(Manager *m, CgroupUnit *u) {
        const char *name;

        if (!u->path || m->cgroup_subtree.fd < 0)
                return -EBADF;
        name = strrchr(u->path, '/');
        name = name ? name + 1 : u->path;
        if (unlinkat(m->cgroup_subtree.fd, name, AT_REMOVEDIR) < 0)
                return errno == ENOTEMPTY ? -EBUSY : -errno;
        unit_close_fd(u);
        return 0;
}

void manager_forget_unit(Manager *m, CgroupUnit *u) {
        LingeringUnit *l;
        int r;

        if (u->path && unit_reopen(m, u) < 0) {
                cgroup_unit_done(u);
                return;
        }
        if (u->fd < 0) {
                cgroup_unit_done(u);
                return;
        }
        r = cgroup_unit_remove(u);
        if (r >= 0)
                return;
        if (r != -EBUSY) {
                log_warning_errno(r, "Cannot remove the cgroup %s, leaving it: %m", u->path);
                cgroup_unit_done(u);
                return;
        }

        l = calloc(1, sizeof *l);
        if (!l) {
                log_oom();
                cgroup_unit_done(u);
                return;
        }
        *l = (LingeringUnit) { .manager = m, .unit = *u };
        *u = CGROUP_UNIT_NULL;
        LIST_PREPEND(m->lingering_units, l);

        r = unit_watch_events(m, cgroup_unit_open_events(&l->unit), on_lingering_unit_event, l, &l->events);
        if (r < 0) {
                log_warning_errno(r, "Cannot watch the cgroup %s, leaving it: %m", l->unit.path);
                lingering_unit_free(l);
                return;
        }
        log_debug("The cgroup %s still has processes: removed once they are gone.", l->unit.path);
        /* It may have emptied before the watch began. */
        (void) lingering_unit_check(l, cgroup_events_read_populated(sd_event_source_get_io_fd(l->events)));
}

int unit_limit_not_supported(Manager *m, CgroupLimit l, sd_bus_error *error) {
        const char *controller = cgroup_controller_to_string(cgroup_limit_controller(l));

        if (m->cgroup_subtree.fd < 0)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_SUPPORTED,
                                         "%s needs the %s controller, but workloads get no cgroup of their own here "
                                         "(Features: cgroup_units).", cgroup_limit_to_string(l), controller);
        return sd_bus_error_setf(error, BUS_ERROR_NOT_SUPPORTED,
                                 "%s needs the %s controller, which is not enabled for workload cgroups under %s "
                                 "(Features: cgroup_%s).", cgroup_limit_to_string(l), controller,
                                 m->cgroup_subtree.path, controller);
}

static int append_feature(sd_bus_message *reply, const char *name, bool available, const char *detail) {
        return sd_bus_message_append(reply, "(sbs)", name, (int) available, detail);
}

int unit_append_features(Manager *m, sd_bus_message *reply) {
        const CgroupSubtree *s = &m->cgroup_subtree;
        char detail[512];
        int r;

        if (s->fd >= 0)
                snprintf(detail, sizeof detail, "a cgroup per workload under %s%s", s->mount,
                         s->path[1] ? s->path : "");
        else
                snprintf(detail, sizeof detail, "no usable cgroup2 subtree (%s): Stop ends the main process only",
                         strerror(-m->cgroup_subtree_error));
        r = append_feature(reply, "cgroup_units", s->fd >= 0, detail);
        if (r < 0)
                return r;

        for (CgroupLimit l = 0; l < _CGROUP_LIMIT_MAX; l++) {
                CgroupController c = cgroup_limit_controller(l);
                char name[64];
                bool on = s->fd >= 0 && (s->controllers & CGROUP_CONTROLLER_BIT(c));

                snprintf(name, sizeof name, "cgroup_%s", cgroup_controller_to_string(c));
                if (on)
                        snprintf(detail, sizeof detail, "enabled for workload units: %s", cgroup_limit_to_string(l));
                else if (s->fd >= 0)
                        snprintf(detail, sizeof detail, "not enabled in %s (not offered by its parent): %s is NotSupported",
                                 s->path, cgroup_limit_to_string(l));
                else
                        snprintf(detail, sizeof detail, "no workload units: %s is NotSupported",
                                 cgroup_limit_to_string(l));
                r = append_feature(reply, name, on, detail);
                if (r < 0)
                        return r;
        }
        return 0;
}
