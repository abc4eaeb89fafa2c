/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "macro.h"

static char dir[PATH_MAX];
static pid_t dir_owner;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

static void dir_remove(void) {
        /* Forked children inherit the atexit handler, not the directory. */
        if (dir_owner == getpid())
                (void) nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

_noreturn_ static void die(const char *what, const char *path) {
        fprintf(stderr, "fuzz: %s %s: %s\n", what, path, strerror(errno));
        abort();
}

const char *fuzz_dir(void) {
        const char *tmp;

        if (dir[0])
                return dir;
        tmp = getenv("TMPDIR");
        if (!tmp || tmp[0] != '/' || strlen(tmp) > sizeof(dir) - 32)
                tmp = "/tmp";
        snprintf(dir, sizeof(dir), "%s/pidbroker-fuzz-XXXXXX", tmp);
        if (!mkdtemp(dir))
                die("cannot make", dir);
        if (chmod(dir, 0755) < 0)
                die("cannot chmod", dir);
        dir_owner = getpid();
        atexit(dir_remove);
        return dir;
}

const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size) {
        static char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *slash = strchr(name, '/');
        size_t done = 0;

        free(path);
        path = NULL;
        if (slash) {
                if (asprintf(&path, "%s/%.*s", fuzz_dir(), (int) (slash - name), name) < 0)
                        die("out of memory for", name);
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        die("cannot make", path);
                free(path);
        }
        if (asprintf(&path, "%s/%s", fuzz_dir(), name) < 0)
                die("out of memory for", name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                die("cannot open", path);
        while (done < size) {
                ssize_t n = write(fd, data + done, size - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        die("cannot write", path);
                done += (size_t) n;
        }
        return path;
}
