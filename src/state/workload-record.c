/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "missing-pidfd.h"
#include "workload-record.h"

#define RECORD_MAGIC "pidbroker-workload 2"
#define RECORD_MAGIC_V1 "pidbroker-workload 1"
/* Temporary files: a name no record has (records are all digits). */
#define RECORD_TMP_PREFIX ".#"

static void strv_free_all(char **l) {
        for (char **s = l; s && *s; s++)
                free(*s);
        free(l);
}

void workload_record_done(WorkloadRecord *r) {
        if (!r)
                return;
        free(r->owner_name);
        free(r->cgroup);
        strv_free_all(r->argv);
        *r = (WorkloadRecord) {};
}

/* The one static string for each exit code, so the parsed record points
 * at it too; NULL for anything else. */
static const char *exit_code_from_string(const char *s) {
        static const char *const codes[] = { "exited", "killed", "dumped" };

        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (strcmp(s, codes[i]) == 0)
                        return codes[i];
        return NULL;
}

/* --- Writing ------------------------------------------------------------ */

static void put_escaped(FILE *f, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p > ' ' && *p < 0x7f && *p != '\\')
                        fputc(*p, f);
                else
                        fprintf(f, "\\x%02x", *p);
}

static void put_optional(FILE *f, const char *key, const char *s) {
        fprintf(f, "%s ", key);
        if (s)
                put_escaped(f, s);
        else
                fputc('-', f);
        fputc('\n', f);
}

int workload_record_format(const WorkloadRecord *r, char **ret, size_t *ret_size) {
        char *buf = NULL;
        size_t size = 0, argc = 0;
        FILE *f;

        if (r->id == 0 || r->pid <= 0 || !r->argv || !r->argv[0])
                return -EINVAL;
        if (!*r->argv[0])
                return -EINVAL;
        for (char **a = r->argv; *a; a++)
                argc++;
        if (argc > WORKLOAD_RECORD_MAX_ARGC || r->handle.size > PIDFS_HANDLE_MAX)
                return -EINVAL;
        if (r->exit_code && (exit_code_from_string(r->exit_code) == NULL || r->exit_status < 0))
                return -EINVAL;
        /* "-" means "none": an empty or "-" string could not be told apart. */
        if ((r->owner_name && (!*r->owner_name || strcmp(r->owner_name, "-") == 0)) ||
            (r->cgroup && (!*r->cgroup || strcmp(r->cgroup, "-") == 0)))
                return -EINVAL;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, RECORD_MAGIC "\n");
        fprintf(f, "id %" PRIu64 "\n", r->id);
        fprintf(f, "pid %d\n", (int) r->pid);
        if (r->handle.size > 0) {
                fprintf(f, "handle %x ", (unsigned) r->handle.type);
                for (unsigned i = 0; i < r->handle.size; i++)
                        fprintf(f, "%02x", r->handle.bytes[i]);
                fputc('\n', f);
        } else
                fprintf(f, "handle -\n");
        fprintf(f, "owner-uid %u\n", (unsigned) r->owner_uid);
        put_optional(f, "owner-name", r->owner_name);
        fprintf(f, "user %u\n", (unsigned) r->user);
        fprintf(f, "watch-client %d\n", r->watch_client);
        fprintf(f, "stop-timeout-usec %" PRIu64 "\n", r->stop_timeout_usec);
        fprintf(f, "created-usec %" PRIu64 "\n", r->created_usec);
        fprintf(f, "has-init %d\n", r->has_init);
        put_optional(f, "cgroup", r->cgroup);
        fprintf(f, "namespaces ");
        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++)
                fprintf(f, "%s%" PRIu64, t > 0 ? "," : "", r->namespaces[t]);
        fputc('\n', f);
        fprintf(f, "exit-code %s\n", r->exit_code ?: "-");
        fprintf(f, "exit-status %d\n", r->exit_code ? r->exit_status : 0);
        fprintf(f, "argc %zu\n", argc);
        for (char **a = r->argv; *a; a++) {
                fprintf(f, "arg ");
                /* An empty argument (allowed after argv[0]) would leave the
                 * line without a value: "\e" stands for it. */
                if (**a)
                        put_escaped(f, *a);
                else
                        fputs("\\e", f);
                fputc('\n', f);
        }
        fprintf(f, "end\n");
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        if (ret_size)
                *ret_size = size;
        return 0;
}

/* --- Parsing ------------------------------------------------------------ */

typedef struct Parser {
        const char *p, *end;
        const char *reason;
} Parser;

#define BAD(parser, why)                        \
        ({                                      \
                (parser)->reason = (why);       \
                -EBADMSG;                       \
        })

/* The value of the next line, which must be "<key> <value>\n" (value
 * non-empty, no spaces) or, for key alone, "<key>\n". */
static int next_field(Parser *ps, const char *key, const char **ret, size_t *ret_len) {
        size_t klen = strlen(key);
        const char *nl, *v;

        nl = memchr(ps->p, '\n', (size_t) (ps->end - ps->p));
        if (!nl)
                return BAD(ps, "truncated record");
        if ((size_t) (nl - ps->p) < klen || memcmp(ps->p, key, klen) != 0)
                return BAD(ps, "unexpected field");
        v = ps->p + klen;
        if (!ret) {
                if (v != nl)
                        return BAD(ps, "unexpected value");
                ps->p = nl + 1;
                return 0;
        }
        if (v == nl || *v != ' ' || v + 1 == nl)
                return BAD(ps, "field without a value");
        v++;
        if (memchr(v, ' ', (size_t) (nl - v)))
                return BAD(ps, "space inside a value");
        *ret = v;
        *ret_len = (size_t) (nl - v);
        ps->p = nl + 1;
        return 0;
}

/* Canonical decimal: no sign, no leading zero, at most max. */
static int parse_dec(Parser *ps, const char *key, uint64_t max, uint64_t *ret) {
        const char *v;
        size_t len;
        uint64_t n = 0;
        int r;

        r = next_field(ps, key, &v, &len);
        if (r < 0)
                return r;
        if (len > 1 && v[0] == '0')
                return BAD(ps, "number with a leading zero");
        for (size_t i = 0; i < len; i++) {
                if (v[i] < '0' || v[i] > '9')
                        return BAD(ps, "not a decimal number");
                uint64_t d = (uint64_t) (v[i] - '0');
                if (d > max || n > (max - d) / 10)
                        return BAD(ps, "number out of range");
                n = n * 10 + d;
        }
        *ret = n;
        return 0;
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* The escaping above, undone; NULL for "-" when optional. */
static int parse_string(Parser *ps, const char *key, bool optional, char **ret) {
        const char *v;
        size_t len, n = 0;
        char *s;
        int r;

        r = next_field(ps, key, &v, &len);
        if (r < 0)
                return r;
        if (optional && len == 1 && v[0] == '-') {
                *ret = NULL;
                return 0;
        }
        s = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        if (!optional && len == 2 && v[0] == '\\' && v[1] == 'e') {
                s[0] = '\0';
                *ret = s;
                return 0;
        }
        for (size_t i = 0; i < len;) {
                unsigned char c = (unsigned char) v[i];
                if (c != '\\') {
                        if (c <= ' ' || c >= 0x7f) {
                                free(s);
                                return BAD(ps, "unescaped byte in a string");
                        }
                        s[n++] = (char) c;
                        i++;
                        continue;
                }
                int hi = i + 3 < len && v[i + 1] == 'x' ? hex_digit(v[i + 2]) : -1;
                int lo = hi >= 0 ? hex_digit(v[i + 3]) : -1;
                unsigned b = lo < 0 ? 0 : (unsigned) (hi << 4 | lo);
                /* Only what the writer escapes, so each string has one form. */
                if (b == 0 || (b > ' ' && b < 0x7f && b != '\\')) {
                        free(s);
                        return BAD(ps, "bad escape in a string");
                }
                s[n++] = (char) b;
                i += 4;
        }
        s[n] = '\0';
        *ret = s;
        return 0;
}

static int parse_bool(Parser *ps, const char *key, bool *ret) {
        uint64_t v;
        int r = parse_dec(ps, key, 1, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

static int parse_handle(Parser *ps, PidfsHandle *ret) {
        const char *nl, *v, *sp;
        unsigned type = 0; /* 8 hex digits: an int would overflow */

        *ret = (PidfsHandle) {};
        if ((size_t) (ps->end - ps->p) >= 9 && memcmp(ps->p, "handle -\n", 9) == 0) {
                ps->p += 9;
                return 0;
        }
        if ((size_t) (ps->end - ps->p) < 7 || memcmp(ps->p, "handle ", 7) != 0)
                return BAD(ps, "unexpected field");
        nl = memchr(ps->p, '\n', (size_t) (ps->end - ps->p));
        if (!nl)
                return BAD(ps, "truncated record");
        v = ps->p + 7;
        sp = memchr(v, ' ', (size_t) (nl - v));
        if (!sp || sp == v || sp - v > 8 || (sp - v > 1 && v[0] == '0'))
                return BAD(ps, "bad handle type");
        for (const char *c = v; c < sp; c++) {
                int d = hex_digit(*c);
                if (d < 0)
                        return BAD(ps, "bad handle type");
                type = type << 4 | d;
        }
        if (type != PB_FILEID_PIDFS)
                return BAD(ps, "not a pidfs handle");
        size_t hexlen = (size_t) (nl - sp - 1);
        if (hexlen == 0 || hexlen % 2 != 0 || hexlen / 2 > PIDFS_HANDLE_MAX)
                return BAD(ps, "bad handle length");
        for (size_t i = 0; i < hexlen / 2; i++) {
                int hi = hex_digit(sp[1 + 2 * i]), lo = hex_digit(sp[2 + 2 * i]);
                if (hi < 0 || lo < 0)
                        return BAD(ps, "bad handle bytes");
                ret->bytes[i] = (uint8_t) (hi << 4 | lo);
        }
        ret->type = type;
        ret->size = (unsigned) (hexlen / 2);
        ps->p = nl + 1;
        return 0;
}

/* "<decimal>,<decimal>,..." with exactly _NAMESPACE_MAX canonical numbers. */
static int parse_namespaces(Parser *ps, uint64_t ret[static _NAMESPACE_MAX]) {
        const char *v, *end;
        size_t len;
        int r;

        r = next_field(ps, "namespaces", &v, &len);
        if (r < 0)
                return r;
        end = v + len;
        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                uint64_t n = 0;
                const char *start = v;

                for (; v < end && *v != ','; v++) {
                        if (*v < '0' || *v > '9')
                                return BAD(ps, "bad namespaces");
                        uint64_t d = (uint64_t) (*v - '0');
                        if (n > (UINT64_MAX - d) / 10)
                                return BAD(ps, "number out of range");
                        n = n * 10 + d;
                }
                if (v == start || (v - start > 1 && *start == '0'))
                        return BAD(ps, "bad namespaces");
                ret[t] = n;
                if (t + 1 < _NAMESPACE_MAX) {
                        if (v == end)
                                return BAD(ps, "bad namespaces");
                        v++; /* the comma */
                }
        }
        if (v != end)
                return BAD(ps, "bad namespaces");
        return 0;
}

static int parse_exit(Parser *ps, WorkloadRecord *rec) {
        const char *v;
        size_t len;
        uint64_t status;
        char code[8];
        int r;

        r = next_field(ps, "exit-code", &v, &len);
        if (r < 0)
                return r;
        if (len == 1 && v[0] == '-')
                rec->exit_code = NULL;
        else {
                if (len >= sizeof code)
                        return BAD(ps, "unknown exit code");
                memcpy(code, v, len);
                code[len] = '\0';
                rec->exit_code = exit_code_from_string(code);
                if (!rec->exit_code)
                        return BAD(ps, "unknown exit code");
        }
        r = parse_dec(ps, "exit-status", INT32_MAX, &status);
        if (r < 0)
                return r;
        if (!rec->exit_code && status != 0)
                return BAD(ps, "exit status while running");
        rec->exit_status = (int) status;
        return 0;
}

int workload_record_parse(const char *data, size_t size, WorkloadRecord *ret, const char **ret_reason) {
        _cleanup_(workload_record_done) WorkloadRecord rec = {};
        Parser ps = { .p = data, .end = data + size };
        uint64_t v = 0, argc = 0;
        bool v1 = false;
        int r;

        /* Both magics have the same length. */
        if (!data || size > WORKLOAD_RECORD_MAX_SIZE)
                r = BAD(&ps, "record too large");
        else if (memchr(data, '\0', size))
                r = BAD(&ps, "NUL byte in a record");
        else if ((size_t) (ps.end - ps.p) < strlen(RECORD_MAGIC "\n"))
                r = BAD(&ps, "not a workload record of version 1 or 2");
        else if (memcmp(ps.p, RECORD_MAGIC "\n", strlen(RECORD_MAGIC "\n")) == 0 ||
                 (v1 = memcmp(ps.p, RECORD_MAGIC_V1 "\n", strlen(RECORD_MAGIC_V1 "\n")) == 0)) {
                ps.p += strlen(RECORD_MAGIC "\n");
                r = 0;
        } else
                r = BAD(&ps, "not a workload record of version 1 or 2");

#define STEP(expr)                              \
        do {                                    \
                if (r >= 0)                     \
                        r = (expr);             \
        } while (0)

        STEP(parse_dec(&ps, "id", UINT64_MAX, &rec.id));
        if (r >= 0 && rec.id == 0)
                r = BAD(&ps, "id 0");
        STEP(parse_dec(&ps, "pid", INT32_MAX, &v));
        if (r >= 0 && v == 0)
                r = BAD(&ps, "pid 0");
        rec.pid = (pid_t) v;
        STEP(parse_handle(&ps, &rec.handle));
        STEP(parse_dec(&ps, "owner-uid", UINT32_MAX - 1, &v));
        rec.owner_uid = (uid_t) v;
        STEP(parse_string(&ps, "owner-name", true, &rec.owner_name));
        STEP(parse_dec(&ps, "user", UINT32_MAX - 1, &v));
        rec.user = (uid_t) v;
        STEP(parse_bool(&ps, "watch-client", &rec.watch_client));
        STEP(parse_dec(&ps, "stop-timeout-usec", UINT64_MAX, &rec.stop_timeout_usec));
        STEP(parse_dec(&ps, "created-usec", UINT64_MAX, &rec.created_usec));
        STEP(parse_bool(&ps, "has-init", &rec.has_init));
        STEP(parse_string(&ps, "cgroup", true, &rec.cgroup));
        if (!v1) {
                STEP(parse_namespaces(&ps, rec.namespaces));
                STEP(parse_exit(&ps, &rec));
        }
        STEP(parse_dec(&ps, "argc", WORKLOAD_RECORD_MAX_ARGC, &argc));
        if (r >= 0 && argc == 0)
                r = BAD(&ps, "argc 0");
        if (r >= 0) {
                rec.argv = calloc(argc + 1, sizeof(char *));
                if (!rec.argv)
                        r = -ENOMEM;
        }
        for (uint64_t i = 0; r >= 0 && i < argc; i++)
                r = parse_string(&ps, "arg", false, &rec.argv[i]);
        if (r >= 0 && rec.argv[0][0] == '\0')
                r = BAD(&ps, "empty argv[0]");
        STEP(next_field(&ps, "end", NULL, NULL));
        if (r >= 0 && ps.p != ps.end)
                r = BAD(&ps, "bytes after the end of the record");
#undef STEP

        if (r < 0) {
                if (ret_reason)
                        *ret_reason = r == -EBADMSG ? ps.reason : "out of memory";
                return r;
        }
        *ret = rec;
        rec = (WorkloadRecord) {};
        return 0;
}

/* --- Files -------------------------------------------------------------- */

static int write_all(int fd, const char *buf, size_t size) {
        while (size > 0) {
                ssize_t n = write(fd, buf, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                buf += n;
                size -= (size_t) n;
        }
        return 0;
}

int workload_record_write(int dirfd, const WorkloadRecord *r) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        char name[32], tmp[64];
        uint64_t rnd;
        size_t size;
        int k;

        k = workload_record_format(r, &text, &size);
        if (k < 0)
                return k;
        snprintf(name, sizeof name, "%" PRIu64, r->id);
        if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
                return negative_errno();
        snprintf(tmp, sizeof tmp, RECORD_TMP_PREFIX "%s.%016" PRIx64, name, rnd);

        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        /* No fsync(), of the file or the directory: a record describes
         * processes, which do not outlive the machine, so it only has to
         * survive a crash of the daemon, and the page cache does; rename()
         * alone makes the replacement atomic for any reader. So a write
         * costs what the page cache costs on any file system, and never
         * waits for a disk while the daemon's event loop waits for it. */
        k = write_all(fd, text, size);
        if (k >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                k = negative_errno();
        if (k < 0) {
                (void) unlinkat(dirfd, tmp, 0);
                return k;
        }
        return 0;
}

int workload_record_read(int dirfd, uint64_t id, WorkloadRecord *ret, const char **ret_reason) {
        _cleanup_(workload_record_done) WorkloadRecord rec = {};
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        char name[32];
        size_t len = 0;
        struct stat st;
        int r;

        snprintf(name, sizeof name, "%" PRIu64, id);
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_size > WORKLOAD_RECORD_MAX_SIZE) {
                if (ret_reason)
                        *ret_reason = !S_ISREG(st.st_mode) ? "not a regular file" : "record too large";
                return -EBADMSG;
        }
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        /* One byte more than stat said, to notice a file that grew. */
        for (;;) {
                ssize_t n = read(fd, buf + len, (size_t) st.st_size + 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > (size_t) st.st_size) {
                        if (ret_reason)
                                *ret_reason = "record changed while read";
                        return -EBADMSG;
                }
        }
        r = workload_record_parse(buf, len, &rec, ret_reason);
        if (r < 0)
                return r;
        if (rec.id != id) {
                if (ret_reason)
                        *ret_reason = "record id differs from its file name";
                return -EBADMSG;
        }
        *ret = rec;
        rec = (WorkloadRecord) {};
        return 0;
}

int workload_record_remove(int dirfd, uint64_t id) {
        char name[32];

        snprintf(name, sizeof name, "%" PRIu64, id);
        if (unlinkat(dirfd, name, 0) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return 0;
}

static bool name_is_id(const char *s, uint64_t *ret) {
        uint64_t n = 0;

        if (!*s || (s[0] == '0'))
                return false;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || n > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return false;
                n = n * 10 + (uint64_t) (*s - '0');
        }
        *ret = n;
        return true;
}

int workload_record_list(int dirfd, uint64_t **ret_ids, size_t *ret_n) {
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;
        DIR *d = NULL;
        int r;

        r = opendir_fd(dirfd, &d);
        if (r < 0)
                return r;
        while ((errno = 0, de = readdir(d))) {
                uint64_t id;

                /* A crash between create and rename leaves these behind. */
                if (strncmp(de->d_name, RECORD_TMP_PREFIX, strlen(RECORD_TMP_PREFIX)) == 0) {
                        (void) unlinkat(dirfd, de->d_name, 0);
                        continue;
                }
                if (!name_is_id(de->d_name, &id))
                        continue;
                if (greedy_realloc((void **) &ids, &allocated, n + 1, sizeof *ids) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
                ids[n++] = id;
        }
        r = errno > 0 ? -errno : 0;
        closedir(d);
        if (r < 0)
                return r;
        *ret_ids = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}
