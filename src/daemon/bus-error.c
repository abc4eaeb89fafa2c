/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"

int bus_error_from_errno(sd_bus_error *error, int r, const char *what) {
        const char *name;
        int e = abs(r);

        switch (e) {
        case ESRCH:
                name = BUS_ERROR_NO_SUCH_PROCESS;
                break;
        case EOPNOTSUPP:
        case ENOSYS:
                name = BUS_ERROR_NOT_SUPPORTED;
                break;
        case EINVAL:
        case EBADF:
                name = BUS_ERROR_INVALID_ARGUMENT;
                break;
        case EPERM:
        case EACCES:
                name = BUS_ERROR_ACCESS_DENIED;
                break;
        case E2BIG:
        case EMFILE:
        case EUSERS:
                name = BUS_ERROR_LIMIT_EXCEEDED;
                break;
        default:
                name = SD_BUS_ERROR_FAILED;
        }
        return sd_bus_error_setf(error, name, "%s: %s", what, strerror(e));
}
