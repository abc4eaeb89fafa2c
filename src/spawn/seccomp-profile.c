/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "macro.h"
#include "seccomp-profile.h"

typedef enum RuleAction {
        RULE_ALLOW,
        RULE_DENY,
} RuleAction;

typedef struct Rule {
        char *syscall;
        RuleAction action;
        unsigned line;
} Rule;

typedef struct Profile {
        bool have_default;
        RuleAction default_action;
        Rule *rules;
        size_t n_rules;
} Profile;

static void profile_done(Profile *p) {
        for (size_t i = 0; i < p->n_rules; i++)
                free(p->rules[i].syscall);
        free(p->rules);
        *p = (Profile) {};
}

static void seccomp_releasep(scmp_filter_ctx *ctx) {
        if (*ctx)
                seccomp_release(*ctx);
}

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

const char *seccomp_profile_dir(void) {
        const char *e = getenv("PIDBROKER_SECCOMP_DIR");

        return e && *e ? e : PIDBROKER_SECCOMP_DIR;
}

/* Profile names come from clients: keep them to one path component. */
static bool profile_name_valid(const char *name) {
        if (!name || !*name)
                return false;
        return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(name);
}

static bool syscall_name_valid(const char *name) {
        return *name && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name);
}

static int parse_action(const char *s, RuleAction *ret) {
        if (strcmp(s, "allow") == 0)
                *ret = RULE_ALLOW;
        else if (strcmp(s, "deny") == 0)
                *ret = RULE_DENY;
        else
                return -EINVAL;
        return 0;
}

/* One line: returns 0 (also for blank and comment lines) or -EINVAL. */
static int profile_parse_line(Profile *p, char *l, unsigned line) {
        char *save = NULL, *directive, *arg;
        RuleAction action;
        Rule *n;

        l[strcspn(l, "#")] = 0;
        directive = strtok_r(l, " \t\r\n", &save);
        if (!directive)
                return 0;
        arg = strtok_r(NULL, " \t\r\n", &save);
        if (!arg || strtok_r(NULL, " \t\r\n", &save))
                return -EINVAL;

        if (strcmp(directive, "default") == 0) {
                /* Only first: a rule above it would read as if it
                 * could be overridden by it. */
                if (p->have_default || p->n_rules > 0)
                        return -EINVAL;
                if (parse_action(arg, &p->default_action) < 0)
                        return -EINVAL;
                p->have_default = true;
                return 0;
        }

        if (parse_action(directive, &action) < 0 || !syscall_name_valid(arg))
                return -EINVAL;

        for (size_t i = 0; i < p->n_rules; i++)
                if (strcmp(p->rules[i].syscall, arg) == 0) {
                        /* allow X + deny X: the author meant one of them. */
                        if (p->rules[i].action != action)
                                return -EINVAL;
                        return 0;
                }

        n = reallocarray(p->rules, p->n_rules + 1, sizeof(Rule));
        if (!n)
                return -ENOMEM;
        p->rules = n;
        p->rules[p->n_rules] = (Rule) {
                .syscall = strdup(arg),
                .action = action,
                .line = line,
        };
        if (!p->rules[p->n_rules].syscall)
                return -ENOMEM;
        p->n_rules++;
        return 0;
}

static int profile_parse(FILE *f, Profile *p, unsigned *ret_line) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        unsigned line = 0;
        int r;

        for (;;) {
                errno = 0;
                if (getline(&buf, &size, f) < 0) {
                        if (errno != 0)
                                return -errno;
                        break;
                }
                line++;

                r = profile_parse_line(p, buf, line);
                if (r == -EINVAL)
                        *ret_line = line;
                if (r < 0)
                        return r;
        }

        if (!p->have_default) {
                /* Point at the first rule; 0 means the file has no
                 * directive at all. */
                *ret_line = p->n_rules > 0 ? p->rules[0].line : 0;
                return -EINVAL;
        }
        return 0;
}

static uint32_t rule_action_to_scmp(RuleAction a) {
        /* ENOSYS, not EPERM: workloads (glibc's clone3 use first) take
         * their fallback on ENOSYS and fail hard on EPERM. */
        return a == RULE_ALLOW ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(ENOSYS);
}

static int profile_compile(const Profile *p, scmp_filter_ctx *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        /* seccomp_init() adds the native arch only, and the bad-arch action
         * stays at its default (kill). On x86_64 that kills a syscall made
         * through the i386 entry (int 0x80) or with the x32 bit set, which
         * would otherwise reach numbers a denylist never names. */
        ctx = seccomp_init(rule_action_to_scmp(p->default_action));
        if (!ctx)
                return -ENOMEM;

        for (size_t i = 0; i < p->n_rules; i++) {
                const Rule *rule = p->rules + i;
                int nr;

                /* Restating the default is legal in a profile but
                 * libseccomp rejects it with EACCES. */
                if (rule->action == p->default_action)
                        continue;

                /* Unknown to libseccomp (2.5.4 stops at Linux 6.7), or a
                 * pseudo number for a syscall this arch lacks: nothing to
                 * filter, and a profile may name syscalls newer than us. */
                nr = seccomp_syscall_resolve_name(rule->syscall);
                if (nr < 0)
                        continue;

                r = seccomp_rule_add(ctx, rule_action_to_scmp(rule->action), nr, 0);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(ctx);
        return 0;
}

/* What a spawning thread and its child call before exec, on every path of
 * spawn.c and spawn-child.c (keep in step with them), and what a kept
 * thread calls between jobs. A profile that denies none of these can be
 * put on a spawning thread: loading a filter costs the kernel more than
 * the rest of a child's set-up (a JIT compile and an emulation of the
 * filter for every syscall number), and a child born under its thread's
 * filter loads none. */
static const char *const spawn_path_syscalls[] = {
        "brk", "capget", "capset", "chdir", "clone", "clone3", "close", "close_range", "dup", "dup2",
        "dup3", "execve", "execveat", "exit", "exit_group", "fchdir", "fcntl", "fstat", "futex",
        "getcwd", "getegid", "geteuid", "getgid", "getgroups", "getpid", "getpriority", "getrlimit",
        "gettid", "getuid", "ioctl", "kill", "lseek", "madvise", "mmap", "mount", "mprotect",
        "munmap", "newfstatat", "open", "openat", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
        "prctl", "pread64", "prlimit64", "read", "restart_syscall", "rseq", "rt_sigaction",
        "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sched_yield", "seccomp",
        "set_robust_list", "setgid", "setgroups", "sethostname", "setns", "setpriority",
        "setresgid", "setresuid", "setrlimit", "setsid", "setuid", "stat", "statx", "umask",
        "umount2", "unshare", "wait4", "waitid", "write",
};

static bool profile_inheritable(const Profile *p) {
        if (p->default_action != RULE_ALLOW)
                return false;
        for (size_t i = 0; i < p->n_rules; i++) {
                if (p->rules[i].action != RULE_DENY)
                        continue;
                for (size_t k = 0; k < ELEMENTSOF(spawn_path_syscalls); k++)
                        if (strcmp(p->rules[i].syscall, spawn_path_syscalls[k]) == 0)
                                return false;
        }
        return true;
}

/* FNV-1a over the instructions. */
static uint64_t prog_digest(const struct sock_fprog *prog) {
        const unsigned char *b = (const unsigned char *) prog->filter;
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < prog->len * sizeof *prog->filter; i++)
                h = (h ^ b[i]) * UINT64_C(0x100000001b3);
        return h ?: 1;
}

/* libseccomp 2.5.4 has no seccomp_export_bpf_mem(): export through a memfd
 * and read it back, so the child gets a plain array it can pass to the
 * kernel without calling into libseccomp or malloc. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ struct sock_filter *filter = NULL;
        struct stat st;
        size_t done = 0;
        int r;

        fd = memfd_create("pidbroker-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;

        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0)
                return -EIO;
        if (st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -E2BIG;

        filter = malloc(st.st_size);
        if (!filter)
                return -ENOMEM;

        while (done < (size_t) st.st_size) {
                ssize_t n = pread(fd, (char *) filter + done, st.st_size - done, done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                done += n;
        }

        *ret = (struct sock_fprog) {
                .len = st.st_size / sizeof(struct sock_filter),
                .filter = TAKE_PTR(filter),
        };
        return 0;
}

int seccomp_profile_load(const char *dir, const char *name, SeccompProfile **ret, unsigned *ret_line) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_seccomp_profile_ SeccompProfile *sp = NULL;
        _cleanup_(profile_done) Profile p = {};
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ char *path = NULL;
        unsigned line = 0;
        int r;

        if (ret_line)
                *ret_line = 0;
        if (!dir || !ret)
                return -EINVAL;
        if (!profile_name_valid(name))
                return -EINVAL;

        if (asprintf(&path, "%s/%s.seccomp", dir, name) < 0)
                return -ENOMEM;

        f = fopen(path, "re");
        if (!f)
                return -errno;

        r = profile_parse(f, &p, &line);
        if (r < 0) {
                if (ret_line)
                        *ret_line = line;
                return r;
        }

        r = profile_compile(&p, &ctx);
        if (r < 0)
                return r;

        sp = calloc(1, sizeof(*sp));
        if (!sp)
                return -ENOMEM;
        sp->name = strdup(name);
        if (!sp->name)
                return -ENOMEM;

        r = export_bpf(ctx, &sp->prog);
        if (r < 0)
                return r;
        sp->inheritable = profile_inheritable(&p);
        sp->digest = prog_digest(&sp->prog);

        *ret = TAKE_PTR(sp);
        return 0;
}

void seccomp_profile_free(SeccompProfile *p) {
        if (!p)
                return;
        free(p->name);
        free(p->prog.filter);
        free(p);
}
