/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "log.h"

static LogTarget log_target = LOG_TARGET_STDERR;
int log_max_level = LOG_INFO;

static const char *const log_target_table[_LOG_TARGET_MAX] = {
        [LOG_TARGET_AUTO] = "auto",
        [LOG_TARGET_JOURNAL] = "journal",
        [LOG_TARGET_STDERR] = "stderr",
};

int log_target_from_string(const char *s) {
        for (int i = 0; i < _LOG_TARGET_MAX; i++)
                if (s && strcmp(s, log_target_table[i]) == 0)
                        return i;
        return -EINVAL;
}

int log_parse_level(const char *s) {
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcasecmp(s, names[i]) == 0)
                        return (int) i;
        if (strcasecmp(s, "error") == 0)
                return LOG_ERR;
        char *end;
        errno = 0;
        long l = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end || l < 0 || l > LOG_DEBUG)
                return -EINVAL;
        return (int) l;
}

void log_setup(LogTarget target, int max_level) {
        if (target == LOG_TARGET_AUTO)
                target = access("/run/systemd/journal/socket", W_OK) == 0 ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
        log_target = target;
        if (max_level >= 0)
                log_max_level = max_level;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...) {
        if (level > log_max_level)
                return log_error_value(error);

        char buf[2048];
        va_list ap;
        int saved = errno;

        /* %m prints the error we were given, not whatever errno happens to be. */
        if (error != 0)
                errno = abs(error);
        va_start(ap, format);
        vsnprintf(buf, sizeof buf, format, ap);
        va_end(ap);
        errno = saved;

        if (log_target == LOG_TARGET_JOURNAL) {
                char lbuf[32];
                snprintf(lbuf, sizeof lbuf, "CODE_LINE=%d", line);
                if (error != 0)
                        sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%i", level, "ERRNO=%i", abs(error),
                                        "CODE_FILE=%s", file, lbuf, "CODE_FUNC=%s", func, NULL);
                else
                        sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%i", level,
                                        "CODE_FILE=%s", file, lbuf, "CODE_FUNC=%s", func, NULL);
        } else
                fprintf(stderr, "pidbrokerd[%d]: %s\n", (int) getpid(), buf);

        errno = saved;
        return error == 0 ? 0 : -abs(error);
}
