/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "netns-pool.h"

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static int pool_fd[NETNS_POOL_SIZE];
static uint64_t pool_id[NETNS_POOL_SIZE];
static size_t pool_n;

typedef struct NetnsMake {
        int fd;
        int err;
} NetnsMake;

/* In the new namespace, sharing our memory and fd table: what it opens is
 * ours once it exits. Raw syscalls: errno is the sleeping parent's. */
static int netns_make_child(void *userdata) {
        NetnsMake *m = userdata;
        long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/ns/net", O_RDONLY | O_CLOEXEC | O_NOCTTY);

        m->fd = fd >= 0 ? (int) fd : -EBADF;
        m->err = fd >= 0 ? 0 : errno;
        return 0;
}

/* A process of no cost of its own makes the namespace: it shares our
 * memory, fds and everything else (CLONE_VM | CLONE_FILES), and we sleep
 * until it has exited (CLONE_VFORK). Exit signal 0: no SIGCHLD reaches
 * the daemon's loop for it; we reap it here. */
static int netns_make(int *ret_fd, uint64_t *ret_id) {
        _Alignas(16) char stack[16 * 1024];
        NetnsMake m = { .fd = -EBADF };
        struct stat st;
        pid_t pid;

        pid = clone(netns_make_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_NEWNET, &m);
        if (pid < 0)
                return negative_errno();
        while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
                ;
        if (m.fd < 0)
                return -(m.err > 0 ? m.err : EIO);
        if (fstat(m.fd, &st) < 0) {
                int r = negative_errno();
                safe_close(m.fd);
                return r;
        }
        *ret_fd = m.fd;
        *ret_id = (uint64_t) st.st_ino;
        return 0;
}

int netns_pool_take(int *ret_fd, uint64_t *ret_id) {
        int r = -EAGAIN;

        pthread_mutex_lock(&pool_lock);
        if (pool_n > 0) {
                pool_n--;
                *ret_fd = pool_fd[pool_n];
                *ret_id = pool_id[pool_n];
                pool_fd[pool_n] = -EBADF;
                r = 0;
        }
        pthread_mutex_unlock(&pool_lock);
        return r;
}

int netns_pool_fill(void) {
        int made = 0, r = 0;

        pthread_mutex_lock(&pool_lock);
        while (pool_n < NETNS_POOL_SIZE) {
                r = netns_make(&pool_fd[pool_n], &pool_id[pool_n]);
                if (r < 0)
                        break;
                pool_n++;
                made++;
        }
        pthread_mutex_unlock(&pool_lock);
        return made > 0 || r >= 0 ? made : r;
}

void netns_pool_drain(void) {
        pthread_mutex_lock(&pool_lock);
        while (pool_n > 0) {
                pool_n--;
                pool_fd[pool_n] = safe_close(pool_fd[pool_n]);
        }
        pthread_mutex_unlock(&pool_lock);
}

size_t netns_pool_count(void) {
        size_t n;

        pthread_mutex_lock(&pool_lock);
        n = pool_n;
        pthread_mutex_unlock(&pool_lock);
        return n;
}

size_t netns_pool_ids(uint64_t *ret, size_t n) {
        size_t k;

        pthread_mutex_lock(&pool_lock);
        for (k = 0; k < pool_n && k < n; k++)
                ret[k] = pool_id[k];
        pthread_mutex_unlock(&pool_lock);
        return k;
}
