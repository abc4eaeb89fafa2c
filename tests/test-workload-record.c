/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Workload records (src/state): the text round-trips, the reader refuses
 * every malformed input with a named reason, and files are replaced
 * atomically, with nothing partial left even on a full file system. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "missing-pidfd.h"
#include "workload-record.h"
#include "test-util.h"

static char *full_argv[] = {
        (char *) "/usr/bin/env", (char *) "with space", (char *) "", (char *) "line\nbreak",
        (char *) "back\\slash", (char *) "-", (char *) "caf\xc3\xa9", (char *) "\x7f\x01tab\t", NULL,
};
static char *short_argv[] = { (char *) "/bin/true", NULL };

static WorkloadRecord full_record(void) {
        WorkloadRecord r = {
                .id = 1234567890123ULL,
                .pid = 4321,
                .handle = { .type = PB_FILEID_PIDFS, .size = 8, .bytes = { 0xd3, 0x02, 0x96, 0x49, 0x1f, 0x01, 0, 0 } },
                .owner_uid = 1000,
                .owner_name = (char *) ":1.42",
                .user = 65534,
                .watch_client = true,
                .stop_timeout_usec = 10 * 1000 * 1000,
                .created_usec = 1796428800000000ULL,
                .has_init = true,
                .cgroup = (char *) "/pidbroker/w-0123456789abcdef",
                .namespaces = { 4026531837, 4026532890, 0, 4026532893, 1, 2, 3, 18446744073709551615ULL },
                .exit_code = "killed",
                .exit_status = 9,
                .argv = full_argv,
        };
        return r;
}

static void assert_records_equal(const WorkloadRecord *a, const WorkloadRecord *b) {
        g_assert_cmpuint(a->id, ==, b->id);
        g_assert_cmpint(a->pid, ==, b->pid);
        g_assert_cmpint(a->handle.type, ==, b->handle.type);
        g_assert_cmpuint(a->handle.size, ==, b->handle.size);
        g_assert_cmpmem(a->handle.bytes, a->handle.size, b->handle.bytes, b->handle.size);
        g_assert_cmpuint(a->owner_uid, ==, b->owner_uid);
        g_assert_cmpstr(a->owner_name, ==, b->owner_name);
        g_assert_cmpuint(a->user, ==, b->user);
        g_assert_cmpint(a->watch_client, ==, b->watch_client);
        g_assert_cmpuint(a->stop_timeout_usec, ==, b->stop_timeout_usec);
        g_assert_cmpuint(a->created_usec, ==, b->created_usec);
        g_assert_cmpint(a->has_init, ==, b->has_init);
        g_assert_cmpstr(a->cgroup, ==, b->cgroup);
        g_assert_cmpmem(a->namespaces, sizeof a->namespaces, b->namespaces, sizeof b->namespaces);
        g_assert_cmpstr(a->exit_code, ==, b->exit_code);
        g_assert_cmpint(a->exit_status, ==, b->exit_status);
        g_assert_true(g_strv_equal((const char *const *) a->argv, (const char *const *) b->argv));
}

static void test_round_trip(void) {
        WorkloadRecord in[2] = { full_record(), { .id = 7, .pid = 300, .argv = short_argv } };

        for (size_t i = 0; i < G_N_ELEMENTS(in); i++) {
                _cleanup_free_ char *text = NULL, *again = NULL;
                WorkloadRecord out = {};
                const char *reason = NULL;
                size_t size, size2;

                g_assert_cmpint(workload_record_format(&in[i], &text, &size), ==, 0);
                g_assert_cmpuint(strlen(text), ==, size);
                g_test_message("record:\n%s", text);
                g_assert_cmpint(workload_record_parse(text, size, &out, &reason), ==, 0);
                assert_records_equal(&in[i], &out);
                /* One text per record: formatting again gives the same bytes. */
                g_assert_cmpint(workload_record_format(&out, &again, &size2), ==, 0);
                g_assert_cmpstr(text, ==, again);
                workload_record_done(&out);
        }

        /* Records that could not be read back are not written. */
        _cleanup_free_ char *text = NULL;
        char *empty_argv0[] = { (char *) "", NULL };
        WorkloadRecord bad = full_record();
        bad.argv = empty_argv0;
        g_assert_cmpint(workload_record_format(&bad, &text, NULL), ==, -EINVAL);
        bad = full_record();
        bad.id = 0;
        g_assert_cmpint(workload_record_format(&bad, &text, NULL), ==, -EINVAL);
        bad = full_record();
        bad.owner_name = (char *) "-";
        g_assert_cmpint(workload_record_format(&bad, &text, NULL), ==, -EINVAL);
        bad = full_record();
        bad.cgroup = (char *) "";
        g_assert_cmpint(workload_record_format(&bad, &text, NULL), ==, -EINVAL);
}

#define HEAD "pidbroker-workload 1\nid 5\npid 300\nhandle -\nowner-uid 0\nowner-name -\nuser 0\n"
#define MID "watch-client 0\nstop-timeout-usec 0\ncreated-usec 0\nhas-init 0\ncgroup -\n"
#define HEAD2 "pidbroker-workload 2\nid 5\npid 300\nhandle -\nowner-uid 0\nowner-name -\nuser 0\n"
#define NS0 "namespaces 0,0,0,0,0,0,0,0\n"
#define TAIL "argc 1\narg /bin/true\nend\n"

static void test_malformed(void) {
        static const struct {
                const char *text;
                const char *reason;
        } cases[] = {
                { "", "not a workload record of version 1 or 2" },
                { "pidbroker-workload 3\n", "not a workload record of version 1 or 2" },
                { HEAD2 MID "argc 1\narg /bin/true\nend\n", "unexpected field" },
                { HEAD2 MID "namespaces 0,0,0,0,0,0,0\n", "bad namespaces" },
                { HEAD2 MID "namespaces 0,0,0,0,0,0,0,0,0\n", "bad namespaces" },
                { HEAD2 MID "namespaces 0,0,0,0,0,0,0,01\n", "bad namespaces" },
                { HEAD2 MID "namespaces 0,0,0,0,0,0,,0\n", "bad namespaces" },
                { HEAD2 MID "namespaces 0,0,0,0,0,0,0,18446744073709551616\n", "number out of range" },
                { HEAD2 MID NS0 "exit-code gone\n", "unknown exit code" },
                { HEAD2 MID NS0 "exit-code exitedexited\n", "unknown exit code" },
                { HEAD2 MID NS0 "exit-code -\nexit-status 1\n", "exit status while running" },
                { HEAD2 MID NS0 "exit-code exited\nexit-status -1\n", "not a decimal number" },
                { HEAD2 MID NS0 "exit-code exited\nexit-status 2147483648\n", "number out of range" },
                { "pidbroker-workload 1\nid 5\n", "truncated record" },
                { "pidbroker-workload 1\npid 300\n", "unexpected field" },
                { "pidbroker-workload 1\nid\n", "field without a value" },
                { "pidbroker-workload 1\nid \n", "field without a value" },
                { "pidbroker-workload 1\nidd 5\n", "field without a value" },
                { "pidbroker-workload 1\nid 0\n", "id 0" },
                { "pidbroker-workload 1\nid 05\n", "number with a leading zero" },
                { "pidbroker-workload 1\nid -5\n", "not a decimal number" },
                { "pidbroker-workload 1\nid 5 6\n", "space inside a value" },
                { "pidbroker-workload 1\nid 18446744073709551616\n", "number out of range" },
                { "pidbroker-workload 1\nid 5\npid 2147483648\n", "number out of range" },
                { "pidbroker-workload 1\nid 5\npid 300\nhandle 1 0102\n", "not a pidfs handle" },
                { "pidbroker-workload 1\nid 5\npid 300\nhandle fe 010\n", "bad handle length" },
                { "pidbroker-workload 1\nid 5\npid 300\nhandle fe 01zz\n", "bad handle bytes" },
                { "pidbroker-workload 1\nid 5\npid 300\nhandle fe\n", "bad handle type" },
                /* Found by fuzz-workload-record: 8 hex digits overflowed an int (UBSan). */
                { "pidbroker-workload 1\nid 5\npid 300\nhandle f0e09102 0000\n", "not a pidfs handle" },
                { "pidbroker-workload 1\nid 5\npid 300\nhandle fe "
                  "000000000000000000000000000000000000000000000000000000000000000000\n",
                  "bad handle length" },
                { "pidbroker-workload 1\nid 5\npid 300\nhandle -\nowner-uid 4294967295\n", "number out of range" },
                { HEAD "watch-client 2\n", "number out of range" },
                { HEAD MID "argc 0\n", "argc 0" },
                { HEAD MID "argc 4097\n", "number out of range" },
                { HEAD MID "argc 2\narg /bin/true\nend\n", "unexpected field" },
                { HEAD MID "argc 1\narg \\e\nend\n", "empty argv[0]" },
                { HEAD MID "argc 1\narg /bin/\\x41\nend\n", "bad escape in a string" },
                { HEAD MID "argc 1\narg /bin/\\x00\nend\n", "bad escape in a string" },
                { HEAD MID "argc 1\narg /bin/\\x4\nend\n", "bad escape in a string" },
                { HEAD MID "argc 1\narg /bin/\xc3\xa9\nend\n", "unescaped byte in a string" },
                { HEAD MID "argc 1\narg /bin/true\nend", "truncated record" },
                { HEAD MID "argc 1\narg /bin/true\nend\n\n", "bytes after the end of the record" },
                { HEAD MID "argc 1\narg /bin/true\nend \n", "unexpected value" },
                { HEAD "watch-client 0\nstop-timeout-usec 0\ncreated-usec 0\nhas-init 0\ncgroup \\e\n" TAIL,
                  "bad escape in a string" },
        };

        const char *ok = HEAD MID TAIL;
        WorkloadRecord r = {};
        const char *reason = NULL;
        g_assert_cmpint(workload_record_parse(ok, strlen(ok), &r, &reason), ==, 0);
        g_assert_null(r.exit_code); /* version 1: running */
        workload_record_done(&r);
        const char *ok2 = HEAD2 MID NS0 "exit-code dumped\nexit-status 11\n" TAIL;
        g_assert_cmpint(workload_record_parse(ok2, strlen(ok2), &r, &reason), ==, 0);
        g_assert_cmpstr(r.exit_code, ==, "dumped");
        g_assert_cmpint(r.exit_status, ==, 11);
        workload_record_done(&r);

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                reason = NULL;
                r = (WorkloadRecord) {};
                int k = workload_record_parse(cases[i].text, strlen(cases[i].text), &r, &reason);
                if (k != -EBADMSG || g_strcmp0(reason, cases[i].reason) != 0)
                        g_error("case %zu: %d (%s), expected -EBADMSG (%s)", i, k, reason, cases[i].reason);
                g_assert_null(r.argv);
        }

        /* A NUL inside, and a size beyond the limit. */
        char nul[] = HEAD MID "argc 1\narg /bin/tr\0e\nend\n";
        g_assert_cmpint(workload_record_parse(nul, sizeof nul - 1, &r, &reason), ==, -EBADMSG);
        g_assert_cmpstr(reason, ==, "NUL byte in a record");
        g_assert_cmpint(workload_record_parse(ok, WORKLOAD_RECORD_MAX_SIZE + 1, &r, &reason), ==, -EBADMSG);
        g_assert_cmpstr(reason, ==, "record too large");
}

/* Every prefix, and every position replaced by each of a few bytes: the
 * reader refuses with a reason, or accepts a record that formats back to
 * exactly those bytes. Under ASan this is a small deterministic fuzz run. */
static void test_mutations(void) {
        static const char subst[] = { '\0', '\n', ' ', '\\', 'x', '0', '9', 'f', '-', '\xff' };
        WorkloadRecord in = full_record();
        _cleanup_free_ char *text = NULL;
        size_t size;
        unsigned accepted = 0, refused = 0;

        g_assert_cmpint(workload_record_format(&in, &text, &size), ==, 0);
        for (size_t len = 0; len < size; len++) {
                WorkloadRecord r = {};
                const char *reason = NULL;
                g_assert_cmpint(workload_record_parse(text, len, &r, &reason), ==, -EBADMSG);
                g_assert_nonnull(reason);
        }

        g_autofree char *copy = g_malloc(size);
        for (size_t pos = 0; pos < size; pos++)
                for (size_t j = 0; j < sizeof subst; j++) {
                        WorkloadRecord r = {};
                        const char *reason = NULL;
                        memcpy(copy, text, size);
                        if (copy[pos] == subst[j])
                                continue;
                        copy[pos] = subst[j];
                        int k = workload_record_parse(copy, size, &r, &reason);
                        if (k < 0) {
                                g_assert_cmpint(k, ==, -EBADMSG);
                                g_assert_nonnull(reason);
                                refused++;
                                continue;
                        }
                        _cleanup_free_ char *again = NULL;
                        size_t again_size;
                        g_assert_cmpint(workload_record_format(&r, &again, &again_size), ==, 0);
                        g_assert_cmpmem(again, again_size, copy, size);
                        workload_record_done(&r);
                        accepted++;
                }
        g_test_message("%u mutations refused, %u accepted as other valid records", refused, accepted);
        g_assert_cmpuint(refused, >, 0);
}

static void test_files(void) {
        g_autofree char *dir = g_dir_make_tmp("pidbroker-state-XXXXXX", NULL);
        _cleanup_close_ int dirfd = -EBADF;
        WorkloadRecord in = full_record(), out = {};
        const char *reason = NULL;
        uint64_t *ids = NULL;
        size_t n;
        unsigned fds_before = test_count_open_fds();

        g_assert_nonnull(dir);
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(dirfd, >=, 0);

        g_assert_cmpint(workload_record_read(dirfd, in.id, &out, &reason), ==, -ENOENT);
        g_assert_cmpint(workload_record_write(dirfd, &in), ==, 0);
        g_assert_cmpint(workload_record_read(dirfd, in.id, &out, &reason), ==, 0);
        assert_records_equal(&in, &out);
        workload_record_done(&out);

        /* Replaced, not appended to. */
        in.watch_client = false;
        in.owner_name = NULL;
        g_assert_cmpint(workload_record_write(dirfd, &in), ==, 0);
        g_assert_cmpint(workload_record_read(dirfd, in.id, &out, &reason), ==, 0);
        assert_records_equal(&in, &out);
        workload_record_done(&out);

        struct stat st;
        g_autofree char *name = g_strdup_printf("%" G_GUINT64_FORMAT, in.id);
        g_assert_no_errno(fstatat(dirfd, name, &st, 0));
        g_assert_cmpuint(st.st_mode & 07777, ==, 0600);

        /* A leftover temporary file goes; other names are no records. */
        g_autofree char *tmp = g_build_filename(dir, ".#99.0123456789abcdef", NULL);
        g_autofree char *other = g_build_filename(dir, "README", NULL);
        g_autofree char *zero = g_build_filename(dir, "0123", NULL);
        g_assert_true(g_file_set_contents(tmp, "partial", -1, NULL));
        g_assert_true(g_file_set_contents(other, "x", -1, NULL));
        g_assert_true(g_file_set_contents(zero, "x", -1, NULL));
        g_assert_cmpint(workload_record_list(dirfd, &ids, &n), ==, 0);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpuint(ids[0], ==, in.id);
        free(ids);
        g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));

        /* A record under another id's name is refused. */
        g_autofree char *wrong = g_build_filename(dir, "77", NULL);
        g_autofree char *right = g_build_filename(dir, name, NULL);
        g_autofree char *content = NULL;
        g_assert_true(g_file_get_contents(right, &content, NULL, NULL));
        g_assert_true(g_file_set_contents(wrong, content, -1, NULL));
        g_assert_cmpint(workload_record_read(dirfd, 77, &out, &reason), ==, -EBADMSG);
        g_assert_cmpstr(reason, ==, "record id differs from its file name");

        /* Neither a symlink nor a directory is followed or read. */
        g_autofree char *link = g_build_filename(dir, "78", NULL);
        g_assert_no_errno(symlink(right, link));
        g_assert_cmpint(workload_record_read(dirfd, 78, &out, &reason), ==, -ELOOP);
        g_autofree char *subdir = g_build_filename(dir, "79", NULL);
        g_assert_no_errno(mkdir(subdir, 0700));
        g_assert_cmpint(workload_record_read(dirfd, 79, &out, &reason), ==, -EBADMSG);
        g_assert_cmpstr(reason, ==, "not a regular file");

        g_assert_cmpint(workload_record_remove(dirfd, in.id), ==, 0);
        g_assert_cmpint(workload_record_remove(dirfd, in.id), ==, 0);
        g_assert_cmpint(workload_record_read(dirfd, in.id, &out, &reason), ==, -ENOENT);

        g_assert_no_errno(unlink(other));
        g_assert_no_errno(unlink(zero));
        g_assert_no_errno(unlink(wrong));
        g_assert_no_errno(unlink(link));
        g_assert_no_errno(rmdir(subdir));
        dirfd = safe_close(dirfd);
        g_assert_no_errno(rmdir(dir));
        g_assert_cmpuint(test_count_open_fds(), ==, fds_before);
}

/* In a mount namespace of its own, on a tmpfs filled to the last page: the
 * write fails, and the old record and nothing else is left. */
static int full_fs_child(void *userdata) {
        const char *dir = userdata;
        WorkloadRecord in = full_record(), out = {};
        const char *reason = NULL;
        char buf[4096];
        int dirfd, fd;

        if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
                return 2;
        if (mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700") < 0)
                return 3;
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0 || workload_record_write(dirfd, &in) < 0)
                return 4;

        fd = openat(dirfd, "filler", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        memset(buf, 'x', sizeof buf);
        while (write(fd, buf, sizeof buf) > 0)
                ;
        while (write(fd, buf, 1) > 0)
                ;
        close(fd);

        in.watch_client = false;
        if (workload_record_write(dirfd, &in) != -ENOSPC)
                return 5;
        if (workload_record_read(dirfd, in.id, &out, &reason) != 0 || !out.watch_client)
                return 6;
        workload_record_done(&out);

        uint64_t *ids = NULL;
        size_t n = 0;
        DIR *d = fdopendir(dup(dirfd));
        struct dirent *de;
        unsigned entries = 0;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        entries++;
        closedir(d);
        /* The record and the filler: no temporary file. */
        if (entries != 2)
                return 7;
        if (workload_record_list(dirfd, &ids, &n) < 0 || n != 1)
                return 8;
        free(ids);
        return 0;
}

static void test_full_filesystem(void) {
        TEST_REQUIRE_ROOT();
        g_autofree char *dir = g_dir_make_tmp("pidbroker-state-full-XXXXXX", NULL);

        g_assert_nonnull(dir);
        int status = test_run_in_child(full_fs_child, dir);
        g_assert_no_errno(rmdir(dir));
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/workload-record/round-trip", test_round_trip);
        g_test_add_func("/workload-record/malformed", test_malformed);
        g_test_add_func("/workload-record/mutations", test_mutations);
        g_test_add_func("/workload-record/files", test_files);
        g_test_add_func("/workload-record/full-filesystem", test_full_filesystem);
        return g_test_run();
}
