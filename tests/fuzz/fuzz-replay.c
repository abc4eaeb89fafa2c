/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Replay a corpus through a fuzz target without libFuzzer: every file named
 * on the command line, and every file in every directory named there, is
 * read and passed to LLVMFuzzerTestOneInput() once. A crash or a sanitizer
 * report fails the run; so does an empty corpus, which would test nothing.
 * Usage: fuzz-<target>-replay FILE|DIR... */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "macro.h"

static int replay_file(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ uint8_t *data = NULL;
        struct stat st;
        size_t done = 0;

        if (fd < 0 || fstat(fd, &st) < 0)
                return negative_errno();
        /* One more byte than the file, so that an empty file is no NULL. */
        data = malloc((size_t) st.st_size + 1);
        if (!data)
                return -ENOMEM;
        while (done < (size_t) st.st_size) {
                ssize_t n = read(fd, data + done, (size_t) st.st_size - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        (void) LLVMFuzzerTestOneInput(data, done);
        return 0;
}

static int name_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Files of a directory in name order, so that runs are reproducible. */
static int replay_dir(const char *path, unsigned *n_done) {
        struct dirent **entries = NULL;
        int n, r = 0;

        n = scandir(path, &entries, NULL, NULL);
        if (n < 0)
                return negative_errno();
        qsort(entries, (size_t) n, sizeof(*entries), name_compare);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *file = NULL;
                struct stat st;

                if (r >= 0 && entries[i]->d_name[0] != '.' &&
                    asprintf(&file, "%s/%s", path, entries[i]->d_name) >= 0 &&
                    stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
                        r = replay_file(file);
                        if (r < 0)
                                fprintf(stderr, "%s: %s\n", file, strerror(-r));
                        else
                                (*n_done)++;
                }
                free(entries[i]);
        }
        free(entries);
        return r;
}

int main(int argc, char *argv[]) {
        unsigned n_done = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (S_ISDIR(st.st_mode))
                        r = replay_dir(argv[i], &n_done);
                else {
                        r = replay_file(argv[i]);
                        n_done += r >= 0;
                }
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
                        return 1;
                }
        }
        fprintf(stderr, "replayed %u inputs\n", n_done);
        return n_done > 0 ? 0 : 1;
}
