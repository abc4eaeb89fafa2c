/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The program tests spawn: it reports from inside the workload what the
 * spawn engine set up. Output goes to stdout unless a verb says otherwise.
 *
 *   test-helper exit N                exit with code N
 *   test-helper print TEXT [FD]       write TEXT to fd FD (default 1)
 *   test-helper fds                   list open fd numbers, one per line
 *   test-helper status                lines of /proc/self/status: Uid Gid Groups Cap* NoNewPrivs Seccomp
 *   test-helper syscall NR            call syscall NR with zero args, print errno name or "ok"
 *   test-helper ns                    print "<name> <inode>" for each /proc/self/ns entry
 *   test-helper env                   print the environment, one per line
 *   test-helper env-count             print the number of environment entries
 *   test-helper setgroups-drop        print /proc/self/setgroups, try setgroups(0, NULL) ("ok" or the
 *                                     errno name), then the Groups: line of /proc/self/status
 *   test-helper cwd                   print the working directory
 *   test-helper umask                 print the umask in octal
 *   test-helper sid                   print "sid pid pgid"
 *   test-helper hostname              print the hostname
 *   test-helper sleep SECONDS         sleep
 *   test-helper ignore-term SECONDS   ignore SIGTERM, then sleep
 *   test-helper fork-orphans N        leave N orphans for the init to reap, then sleep 3600
 *   test-helper kill-self SIG         raise signal SIG with default action
 *   test-helper ptrace-child          debug a child of ours as gdb does: PTRACE_ATTACH, PTRACE_PEEKDATA,
 *                                     process_vm_readv, pidfd_getfd, PTRACE_DETACH; print "ok" or
 *                                     "<step>: <errno name>"
 *   test-helper userns-mount          as a nested sandbox does: unshare a user, mount and pid namespace,
 *                                     mount a tmpfs with mount(2) and one with the new mount API, and
 *                                     as pid 1 of the new pid namespace mount a proc; "ok" or as above
 */

#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Exit code 1 with the step that failed; 0 with "ok". */
static int fail(const char *step) {
        printf("%s: %s\n", step, strerrorname_np(errno));
        return 1;
}

static int wait_exactly(pid_t pid, int *status) {
        while (waitpid(pid, status, __WALL) < 0)
                if (errno != EINTR)
                        return -1;
        return 0;
}

/* The debuggee sets it after the fork, so only a read of its memory sees it. */
static volatile long debuggee_marker;
#define DEBUGGEE_MARKER 0x5eedL

static int ptrace_child(void) {
        int ready[2], status, pidfd, stolen;
        long word;
        char c;

        if (pipe(ready) < 0)
                return fail("pipe");
        pid_t pid = fork();
        if (pid < 0)
                return fail("fork");
        if (pid == 0) {
                /* Gone with us when a step fails: it holds our stdout. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                debuggee_marker = DEBUGGEE_MARKER;
                (void) write(ready[1], "x", 1);
                for (;;)
                        pause();
        }
        close(ready[1]);
        /* The child's copy of ready[1] is what pidfd_getfd takes below. */
        if (read(ready[0], &c, 1) != 1)
                return fail("read");

        if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0)
                return fail("PTRACE_ATTACH");
        if (wait_exactly(pid, &status) < 0)
                return fail("waitpid");
        if (!WIFSTOPPED(status))
                return fail("attach stop");

        errno = 0;
        word = ptrace(PTRACE_PEEKDATA, pid, (void *) &debuggee_marker, NULL);
        if (errno != 0)
                return fail("PTRACE_PEEKDATA");
        if (word != DEBUGGEE_MARKER) {
                printf("PTRACE_PEEKDATA: read %ld\n", word);
                return 1;
        }

        word = 0;
        struct iovec local = { .iov_base = &word, .iov_len = sizeof word };
        struct iovec remote = { .iov_base = (void *) &debuggee_marker, .iov_len = sizeof word };
        if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t) sizeof word)
                return fail("process_vm_readv");
        if (word != DEBUGGEE_MARKER) {
                printf("process_vm_readv: read %ld\n", word);
                return 1;
        }

        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return fail("pidfd_open");
        stolen = (int) syscall(SYS_pidfd_getfd, pidfd, ready[1], 0);
        if (stolen < 0)
                return fail("pidfd_getfd");
        close(stolen);
        close(pidfd);

        if (ptrace(PTRACE_DETACH, pid, NULL, NULL) < 0)
                return fail("PTRACE_DETACH");
        if (kill(pid, SIGKILL) < 0)
                return fail("kill");
        if (wait_exactly(pid, &status) < 0)
                return fail("waitpid");
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
                printf("debuggee ended with status %d\n", status);
                return 1;
        }
        printf("ok\n");
        return 0;
}

/* Map uid and gid to root in the user namespace we just made. */
static int map_root(uid_t uid, gid_t gid) {
        char buf[64];
        int fd;

        fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "deny", 4) != 4)
                return -1;
        close(fd);
        snprintf(buf, sizeof buf, "0 %u 1", (unsigned) uid);
        fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, buf, strlen(buf)) != (ssize_t) strlen(buf))
                return -1;
        close(fd);
        snprintf(buf, sizeof buf, "0 %u 1", (unsigned) gid);
        fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, buf, strlen(buf)) != (ssize_t) strlen(buf))
                return -1;
        close(fd);
        return 0;
}

static int userns_mount_init(void) {
        int fs, mnt;

        if (getpid() != 1) {
                printf("pid in the new namespace: %d\n", (int) getpid());
                return 1;
        }
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return fail("mount proc");

        fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0)
                return fail("fsopen");
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return fail("fsconfig");
        mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
        if (mnt < 0)
                return fail("fsmount");
        if (move_mount(mnt, "", AT_FDCWD, "/mnt", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return fail("move_mount");
        close(mnt);
        close(fs);
        if (umount2("/mnt", MNT_DETACH) < 0)
                return fail("umount2");
        return 0;
}

static int userns_mount(void) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        int status;

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) < 0)
                return fail("unshare");
        if (map_root(uid, gid) < 0)
                return fail("id maps");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return fail("mount private");
        if (mount("tmpfs", "/tmp", "tmpfs", 0, "size=1m") < 0)
                return fail("mount tmpfs");

        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
                return fail("fork");
        if (pid == 0)
                _exit(userns_mount_init());
        if (wait_exactly(pid, &status) < 0)
                return fail("waitpid");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return 1;
        printf("ok\n");
        return 0;
}

static int usage(void) {
        fprintf(stderr, "test-helper: bad arguments\n");
        return 2;
}

int main(int argc, char *argv[]) {
        if (argc < 2)
                return usage();
        const char *verb = argv[1];

        if (strcmp(verb, "exit") == 0 && argc == 3)
                return atoi(argv[2]);

        if (strcmp(verb, "print") == 0 && argc >= 3) {
                int fd = argc >= 4 ? atoi(argv[3]) : 1;
                size_t len = strlen(argv[2]);
                return write(fd, argv[2], len) == (ssize_t) len ? 0 : 1;
        }

        if (strcmp(verb, "in-cgroup") == 0 && argc == 3) {
                /* Exit 42 when /proc/self/cgroup names argv[2] as our cgroup2 path. */
                char line[4096];
                FILE *f = fopen("/proc/self/cgroup", "re");
                if (!f)
                        return 1;
                while (fgets(line, sizeof line, f)) {
                        line[strcspn(line, "\n")] = '\0';
                        if (strncmp(line, "0::", 3) == 0 && strcmp(line + 3, argv[2]) == 0)
                                return 42;
                }
                return 1;
        }

        if (strcmp(verb, "fds") == 0) {
                DIR *d = opendir("/proc/self/fd");
                if (!d)
                        return 1;
                int self = dirfd(d);
                struct dirent *de;
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.' && atoi(de->d_name) != self)
                                printf("%s\n", de->d_name);
                closedir(d);
                return 0;
        }

        if (strcmp(verb, "status") == 0) {
                FILE *f = fopen("/proc/self/status", "re");
                if (!f)
                        return 1;
                char line[512];
                static const char *const keys[] = { "Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:",
                                                    "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:", "Seccomp_filters:", "SigBlk:",
                                                    "SigIgn:", "SigCgt:" };
                while (fgets(line, sizeof line, f))
                        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
                                if (strncmp(line, keys[i], strlen(keys[i])) == 0)
                                        fputs(line, stdout);
                fclose(f);
                return 0;
        }

        if (strcmp(verb, "syscall") == 0 && argc == 3) {
                long r = syscall(atol(argv[2]), 0, 0, 0, 0, 0, 0);
                if (r < 0)
                        printf("%s\n", strerrorname_np(errno));
                else
                        printf("ok\n");
                return 0;
        }

        if (strcmp(verb, "ns") == 0) {
                static const char *const names[] = { "user", "pid", "mnt", "net", "ipc", "uts", "cgroup", "time" };
                for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                        char p[64];
                        struct stat st;
                        snprintf(p, sizeof p, "/proc/self/ns/%s", names[i]);
                        if (stat(p, &st) == 0)
                                printf("%s %llu\n", names[i], (unsigned long long) st.st_ino);
                }
                return 0;
        }

        if (strcmp(verb, "env") == 0) {
                for (char **e = environ; *e; e++)
                        printf("%s\n", *e);
                return 0;
        }

        if (strcmp(verb, "env-count") == 0) {
                size_t n = 0;
                for (char **e = environ; *e; e++)
                        n++;
                printf("%zu\n", n);
                return 0;
        }

        if (strcmp(verb, "setgroups-drop") == 0) {
                char line[512];
                FILE *f = fopen("/proc/self/setgroups", "re");
                if (!f || !fgets(line, sizeof line, f))
                        return 1;
                fclose(f);
                line[strcspn(line, "\n")] = '\0';
                printf("setgroups_file=%s\n", line);
                if (setgroups(0, NULL) < 0)
                        printf("setgroups=%s\n", strerrorname_np(errno));
                else
                        printf("setgroups=ok\n");
                f = fopen("/proc/self/status", "re");
                if (!f)
                        return 1;
                while (fgets(line, sizeof line, f))
                        if (strncmp(line, "Groups:", 7) == 0)
                                printf("groups=%s", line + 7);
                fclose(f);
                return 0;
        }

        if (strcmp(verb, "cwd") == 0) {
                char buf[4096];
                if (!getcwd(buf, sizeof buf))
                        return 1;
                printf("%s\n", buf);
                return 0;
        }

        if (strcmp(verb, "umask") == 0) {
                mode_t m = umask(0);
                printf("%04o\n", (unsigned) m);
                return 0;
        }

        if (strcmp(verb, "sid") == 0) {
                printf("%d %d %d\n", (int) getsid(0), (int) getpid(), (int) getpgid(0));
                return 0;
        }

        if (strcmp(verb, "hostname") == 0) {
                char buf[256];
                if (gethostname(buf, sizeof buf) < 0)
                        return 1;
                printf("%s\n", buf);
                return 0;
        }

        if (strcmp(verb, "sleep") == 0 && argc == 3) {
                sleep((unsigned) atoi(argv[2]));
                return 0;
        }

        if (strcmp(verb, "ignore-term") == 0 && argc == 3) {
                signal(SIGTERM, SIG_IGN);
                /* Tell the test we are ready, then sleep through SIGTERMs. */
                printf("ready\n");
                fflush(stdout);
                unsigned left = (unsigned) atoi(argv[2]);
                while (left > 0)
                        left = sleep(left);
                return 0;
        }

        if (strcmp(verb, "fork-orphans") == 0 && argc == 3) {
                /* A middle child forks N grandchildren and exits at once, so
                 * they reparent to the namespace's init and must be reaped
                 * there. */
                int n = atoi(argv[2]);
                pid_t middle = fork();
                if (middle == 0) {
                        for (int i = 0; i < n; i++)
                                if (fork() == 0) {
                                        usleep(100 * 1000);
                                        _exit(0);
                                }
                        _exit(0);
                }
                waitpid(middle, NULL, 0);
                printf("forked\n");
                fflush(stdout);
                sleep(3600);
                return 0;
        }

        if (strcmp(verb, "kill-self") == 0 && argc == 3) {
                int sig = atoi(argv[2]);
                signal(sig, SIG_DFL);
                raise(sig);
                return 1;
        }

        if (strcmp(verb, "ptrace-child") == 0)
                return ptrace_child();

        if (strcmp(verb, "userns-mount") == 0)
                return userns_mount();

        return usage();
}
