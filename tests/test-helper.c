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
 */

#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

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
                                                    "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:", "SigBlk:",
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

        return usage();
}
