/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small files of the kernel's (/proc, cgroupfs): read whole in one go. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "macro.h"

/* Read dirfd/path into buf, at most size - 1 bytes, NUL-terminated; a
 * longer file is cut short. -errno as open() and read() give it. */
static inline int read_small_file_at(int dirfd, const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        size_t len = 0;
        ssize_t n;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                len += (size_t) n;
        }
        buf[len] = '\0';
        return 0;
}

/* A one-line file of the kernel's (/proc/<pid>/comm, oom_score_adj) that
 * fits in buf: the kernel hands it over whole in the first read(), so no
 * second read() looks for the end. At most size - 1 bytes, NUL-terminated. */
static inline int read_one_line_file_at(int dirfd, const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        do
                n = read(fd, buf, size - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        return 0;
}

/* A DIR stream over a new fd of the directory dirfd (which stays the
 * caller's): readdir() without touching dirfd's own offset. */
static inline int opendir_fd(int dirfd, DIR **ret) {
        int fd;
        DIR *d;

        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return negative_errno();
        }
        *ret = d;
        return 0;
}
