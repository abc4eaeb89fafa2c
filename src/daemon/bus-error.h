/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The named errors of org.pidbroker.Broker1(5) and the one place that maps a -errno from
 * the layers below onto them. */

#include <systemd/sd-bus.h>

#define BUS_ERROR_INVALID_ARGUMENT "org.pidbroker.Error.InvalidArgument"
#define BUS_ERROR_NO_SUCH_PROCESS "org.pidbroker.Error.NoSuchProcess"
#define BUS_ERROR_NOT_SUPPORTED "org.pidbroker.Error.NotSupported"
#define BUS_ERROR_SPAWN_FAILED "org.pidbroker.Error.SpawnFailed"
#define BUS_ERROR_AUDIT_FAILED "org.pidbroker.Error.AuditFailed"
#define BUS_ERROR_LIMIT_EXCEEDED "org.pidbroker.Error.LimitExceeded"
/* Reexecute() was accepted: try again once the new image took the name. */
#define BUS_ERROR_REEXECUTING "org.pidbroker.Error.Reexecuting"
#define BUS_ERROR_ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"
/* Sent by sd-bus itself for a workload that does not exist or that the
 * caller may not see (visibility.h): the two answer alike. */
#define BUS_ERROR_UNKNOWN_OBJECT "org.freedesktop.DBus.Error.UnknownObject"
#define BUS_ERROR_INTERACTIVE_AUTH "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"

/* Fill *error from r (a -errno): ESRCH → NoSuchProcess, EOPNOTSUPP/ENOSYS →
 * NotSupported, EINVAL/EBADF → InvalidArgument, EPERM/EACCES → AccessDenied,
 * E2BIG/EMFILE/EUSERS → LimitExceeded, anything else org.freedesktop.DBus.Error.Failed.
 * The message is "<what>: <strerror>". Returns r's sd-bus form (negative). */
int bus_error_from_errno(sd_bus_error *error, int r, const char *what);
