/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl-util.h"

int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; s && i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                char suffix;
                unsigned shift;
        } units[] = { { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 }, { 'P', 50 } };
        _cleanup_free_ char *digits = NULL;
        size_t len;
        uint64_t v;
        int r;

        if (!s || !*s)
                return -EINVAL;
        len = strlen(s);
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (toupper((unsigned char) s[len - 1]) == units[i].suffix) {
                        digits = strndup(s, len - 1);
                        if (!digits)
                                return -ENOMEM;
                        r = parse_u64(digits, &v);
                        if (r < 0)
                                return r;
                        if (v > (UINT64_MAX >> units[i].shift))
                                return -ERANGE;
                        *ret = v << units[i].shift;
                        return 0;
                }
        return parse_u64(s, ret);
}

int parse_pid(const char *s, pid_t *ret) {
        uint64_t v;
        int r = parse_u64(s, &v);

        if (r < 0)
                return r;
        if (v == 0 || v > INT_MAX)
                return -ERANGE;
        *ret = (pid_t) v;
        return 0;
}

int parse_fd(const char *s, int *ret) {
        uint64_t v;
        int r = parse_u64(s, &v);

        if (r < 0)
                return r;
        if (v > INT_MAX)
                return -ERANGE;
        *ret = (int) v;
        return 0;
}

int parse_duration(const char *s, uint64_t *ret_usec) {
        static const struct { const char *suffix; uint64_t usec; } units[] = {
                { "us", 1 }, { "usec", 1 },
                { "ms", USEC_PER_MSEC }, { "msec", USEC_PER_MSEC },
                { "", USEC_PER_SEC }, { "s", USEC_PER_SEC }, { "sec", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC }, { "min", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC }, { "hour", 3600 * USEC_PER_SEC },
                { "d", 86400 * USEC_PER_SEC }, { "day", 86400 * USEC_PER_SEC },
        };
        uint64_t total = 0;
        const char *p = s;

        if (strcmp(s, "infinity") == 0) {
                *ret_usec = UINT64_MAX;
                return 0;
        }
        if (!*s)
                return -EINVAL;

        /* "1min 30s" and "1min30s" add up. */
        while (*p) {
                char *end;
                double v;
                size_t len;
                bool found = false;

                while (*p == ' ')
                        p++;
                if (!*p)
                        break;
                if (!isdigit((unsigned char) *p) && *p != '.')
                        return -EINVAL;
                errno = 0;
                v = strtod(p, &end);
                if (errno != 0 || end == p || v < 0)
                        return -EINVAL;
                p = end;
                len = strspn(p, "abcdefghijklmnopqrstuvwxyz");
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (strlen(units[i].suffix) == len && strncmp(units[i].suffix, p, len) == 0) {
                                if (v * (double) units[i].usec >= (double) (UINT64_MAX / 2))
                                        return -ERANGE;
                                total += (uint64_t) (v * (double) units[i].usec);
                                found = true;
                                break;
                        }
                if (!found)
                        return -EINVAL;
                p += len;
        }
        *ret_usec = total;
        return 0;
}

uint64_t now_realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t start_of_today_usec(void) {
        time_t t = time(NULL);
        struct tm tm;

        localtime_r(&t, &tm);
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1;
        return (uint64_t) mktime(&tm) * USEC_PER_SEC;
}

int parse_timestamp(const char *s, uint64_t *ret_usec) {
        struct tm tm = { .tm_isdst = -1 };
        uint64_t now = now_realtime_usec(), d, frac = 0;
        const char *p;
        size_t len = strlen(s);
        int n = 0, offset_min = 0;
        bool has_zone = false;
        time_t t;

        if (strcmp(s, "now") == 0) {
                *ret_usec = now;
                return 0;
        }
        if (strcmp(s, "today") == 0) {
                *ret_usec = start_of_today_usec();
                return 0;
        }
        if (strcmp(s, "yesterday") == 0) {
                *ret_usec = start_of_today_usec() - 86400 * USEC_PER_SEC;
                return 0;
        }
        if (s[0] == '@') {
                if (parse_u64(s + 1, &d) < 0)
                        return -EINVAL;
                *ret_usec = d * USEC_PER_SEC;
                return 0;
        }
        if (s[0] == '-' || (len > 4 && strcmp(s + len - 4, " ago") == 0)) {
                _cleanup_free_ char *copy = strndup(s[0] == '-' ? s + 1 : s, s[0] == '-' ? len - 1 : len - 4);
                if (!copy)
                        return -ENOMEM;
                if (parse_duration(copy, &d) < 0 || d > now)
                        return -EINVAL;
                *ret_usec = now - d;
                return 0;
        }

        if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || n != 10)
                return -EINVAL;
        p = s + n;
        if (*p == 'T' || *p == ' ') {
                int m = 0;

                if (sscanf(p + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &m) != 2 || m != 5)
                        return -EINVAL;
                p += 1 + m;
                if (*p == ':') {
                        if (!isdigit((unsigned char) p[1]) || !isdigit((unsigned char) p[2]))
                                return -EINVAL;
                        tm.tm_sec = (p[1] - '0') * 10 + (p[2] - '0');
                        p += 3;
                        if (*p == '.') {
                                uint64_t scale = 100000;
                                for (p++; isdigit((unsigned char) *p); p++, scale /= 10)
                                        frac += (uint64_t) (*p - '0') * scale;
                        }
                }
        }
        if (*p == 'Z' || *p == 'z') {
                has_zone = true;
                p++;
        } else if (*p == '+' || *p == '-') {
                int hh, mm, m = 0;

                if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &m) != 2 || m != 5)
                        return -EINVAL;
                offset_min = (*p == '-' ? -1 : 1) * (hh * 60 + mm);
                has_zone = true;
                p += 1 + m;
        }
        if (*p)
                return -EINVAL;

        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        if (has_zone) {
                t = timegm(&tm);
                if (t == (time_t) -1)
                        return -EINVAL;
                t -= (time_t) offset_min * 60;
        } else {
                t = mktime(&tm);
                if (t == (time_t) -1)
                        return -EINVAL;
        }
        if (t < 0)
                return -ERANGE;
        *ret_usec = (uint64_t) t * USEC_PER_SEC + frac;
        return 0;
}

const char *format_timestamp(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "-");
        return buf;
}

const char *format_rfc3339(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;
        char base[32];

        if (!gmtime_r(&t, &tm) || strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                base[0] = 0;
        snprintf(buf, size, "%s.%06" PRIu64 "Z", base, usec % USEC_PER_SEC);
        return buf;
}

const char *format_uid(uid_t uid, char *buf, size_t size) {
        _cleanup_free_ char *name = NULL;

        if (user_name(uid, &name) >= 0)
                snprintf(buf, size, "%s", name);
        else
                snprintf(buf, size, "%u", (unsigned) uid);
        return buf;
}

static int check_executable(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EACCES;
        if (access(path, X_OK) < 0)
                return -errno;
        return 0;
}

int find_executable(const char *name, const char *path, char **ret) {
        int r, last = -ENOENT;

        if (!*name)
                return -ENOENT;

        if (strchr(name, '/')) {
                _cleanup_free_ char *cwd = NULL;
                char *abs;

                r = check_executable(name);
                if (r < 0)
                        return r;
                if (name[0] == '/') {
                        abs = strdup(name);
                } else {
                        cwd = getcwd(NULL, 0);
                        if (!cwd)
                                return -errno;
                        if (asprintf(&abs, "%s/%s", cwd, name) < 0)
                                abs = NULL;
                }
                if (!abs)
                        return -ENOMEM;
                *ret = abs;
                return 0;
        }

        if (!path)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

        for (const char *p = path;; ) {
                const char *colon = strchrnul(p, ':');
                _cleanup_free_ char *candidate = NULL;
                int dirlen = (int) (colon - p);

                /* An empty PATH entry means the working directory, as for execvp(). */
                if (asprintf(&candidate, "%.*s/%s", dirlen > 0 ? dirlen : 1, dirlen > 0 ? p : ".", name) < 0)
                        return -ENOMEM;
                r = check_executable(candidate);
                if (r >= 0) {
                        if (candidate[0] != '/')
                                return find_executable(candidate, NULL, ret);
                        *ret = TAKE_PTR(candidate);
                        return 0;
                }
                if (r == -EACCES)
                        last = r;
                if (!*colon)
                        break;
                p = colon + 1;
        }
        return last;
}
