/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The shared helpers of src/basic: string lists, string tables, signal names
 * and the user database. Users and groups are the machine's real ones
 * (root, daemon=1, nobody=65534), checked against id(1); the group-list
 * growth runs against a bind-mounted /etc/group in a private mount
 * namespace. */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hashmap-u64.h"
#include "sched-util.h"
#include "macro.h"
#include "signal-util.h"
#include "string-table.h"
#include "strv.h"
#include "test-util.h"
#include "user-util.h"

/* --- strv ------------------------------------------------------------------ */

static void test_strv_extend(void) {
        _cleanup_strv_free_ char **l = NULL;
        const char *item = "two";

        g_assert_cmpuint(strv_length(NULL), ==, 0);
        g_assert_false(strv_contains(NULL, "x"));
        g_assert_cmpint(strv_extend(&l, "one"), ==, 0);
        g_assert_cmpint(strv_extend(&l, item), ==, 0);
        g_assert_true(l[1] != item); /* a copy */
        g_assert_cmpuint(strv_length(l), ==, 2);
        g_assert_cmpstr(l[0], ==, "one");
        g_assert_cmpstr(l[1], ==, "two");
        g_assert_null(l[2]);
        g_assert_true(strv_contains(l, "two"));
        g_assert_false(strv_contains(l, "tw"));
        g_assert_null(strv_free(NULL));
}

static void test_strv_extend_split(void) {
        _cleanup_strv_free_ char **l = NULL;

        g_assert_cmpint(strv_extend(&l, "first"), ==, 0);
        g_assert_cmpint(strv_extend_split(&l, "pid,,net, user ", ", "), ==, 0);
        g_assert_cmpint(strv_extend_split(&l, "", ", "), ==, 0);
        g_assert_cmpuint(strv_length(l), ==, 4);
        g_assert_cmpstr(l[1], ==, "pid");
        g_assert_cmpstr(l[2], ==, "net");
        g_assert_cmpstr(l[3], ==, "user");
}

static void test_strv_copy(void) {
        _cleanup_strv_free_ char **l = NULL, **c = NULL, **empty = NULL;
        char **n = calloc(3, sizeof(char *));

        g_assert_cmpint(strv_extend(&l, "a"), ==, 0);
        g_assert_cmpint(strv_extend(&l, "b"), ==, 0);
        g_assert_cmpint(strv_copy(l, &c), ==, 0);
        g_assert_cmpuint(strv_length(c), ==, 2);
        g_assert_true(c[0] != l[0]);
        g_assert_cmpstr(c[1], ==, "b");
        g_assert_cmpint(strv_copy(NULL, &empty), ==, 0);
        g_assert_nonnull(empty);
        g_assert_null(empty[0]);

        /* Counted arrays may hold NULL holes; strv_free_n frees by count. */
        g_assert_nonnull(n);
        n[0] = strdup("x");
        n[2] = strdup("z");
        strv_free_n(n, 3);
        strv_free_n(NULL, 5);
}

/* --- string tables ---------------------------------------------------------- */

typedef enum Colour {
        COLOUR_RED,
        COLOUR_HOLE, /* no name: never found, printed as NULL */
        COLOUR_BLUE,
        _COLOUR_MAX,
        _COLOUR_INVALID = -EINVAL,
} Colour;

static const char *const colour_table[_COLOUR_MAX] = {
        [COLOUR_RED] = "red",
        [COLOUR_BLUE] = "blue",
};

DEFINE_PRIVATE_STRING_TABLE_LOOKUP(colour, Colour);

static void test_string_table(void) {
        g_assert_cmpstr(colour_to_string(COLOUR_RED), ==, "red");
        g_assert_cmpstr(colour_to_string(COLOUR_BLUE), ==, "blue");
        g_assert_null(colour_to_string(COLOUR_HOLE));
        g_assert_null(colour_to_string(_COLOUR_MAX));
        g_assert_null(colour_to_string(_COLOUR_INVALID));
        g_assert_null(colour_to_string((Colour) -1));
        g_assert_cmpint(colour_from_string("red"), ==, COLOUR_RED);
        g_assert_cmpint(colour_from_string("blue"), ==, COLOUR_BLUE);
        g_assert_cmpint(colour_from_string("Blue"), ==, -EINVAL);
        g_assert_cmpint(colour_from_string(""), ==, -EINVAL);
        g_assert_cmpint(colour_from_string(NULL), ==, -EINVAL);
}

/* --- signals ---------------------------------------------------------------- */

static void test_signal_from_string(void) {
        static const struct {
                const char *s;
                int sig; /* or -EINVAL */
        } cases[] = {
                { "TERM", SIGTERM }, { "SIGTERM", SIGTERM }, { "term", SIGTERM }, { "sigkill", SIGKILL },
                { "15", SIGTERM }, { "9", SIGKILL }, { "0", 0 }, { "64", 64 },
                { "HUP", SIGHUP }, { "SIGUSR2", SIGUSR2 }, { "SIGCHLD", SIGCHLD },
                { "65", -EINVAL }, { "-1", -EINVAL }, { " 15", -EINVAL }, { "15 ", -EINVAL }, { "+15", -EINVAL },
                { "", -EINVAL }, { "SIG", -EINVAL }, { "SIGFOO", -EINVAL }, { "SIGSIGTERM", -EINVAL },
                { "RTMIN+", -EINVAL }, { "RTMIN-1", -EINVAL }, { "RTMAX+1", -EINVAL }, { "RTMIN+x", -EINVAL },
                { "99999999999999999999", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_test_message("signal_from_string(\"%s\")", cases[i].s);
                g_assert_cmpint(signal_from_string(cases[i].s), ==, cases[i].sig);
        }
        g_assert_cmpint(signal_from_string(NULL), ==, -EINVAL);

        /* Real-time signals are counted from the libc's SIGRTMIN, not 32. */
        g_assert_cmpint(signal_from_string("RTMIN"), ==, SIGRTMIN);
        g_assert_cmpint(signal_from_string("SIGRTMIN+3"), ==, SIGRTMIN + 3);
        g_assert_cmpint(signal_from_string("rtmax-1"), ==, SIGRTMAX - 1);
        g_assert_cmpint(signal_from_string("SIGRTMAX"), ==, SIGRTMAX);
        g_autofree char *last = g_strdup_printf("RTMIN+%d", SIGRTMAX - SIGRTMIN);
        g_autofree char *beyond = g_strdup_printf("RTMIN+%d", SIGRTMAX - SIGRTMIN + 1);
        g_assert_cmpint(signal_from_string(last), ==, SIGRTMAX);
        g_assert_cmpint(signal_from_string(beyond), ==, -EINVAL);
}

static void test_signal_round_trip(void) {
        char buf[SIGNAL_STRING_MAX];

        g_assert_cmpstr(signal_to_string(0, buf, sizeof buf), ==, "0");
        g_assert_cmpstr(signal_to_string(SIGTERM, buf, sizeof buf), ==, "SIGTERM");
        g_assert_cmpstr(signal_to_string(SIGRTMIN + 2, buf, sizeof buf), ==, "SIGRTMIN+2");
        g_assert_cmpstr(signal_to_string(SIGRTMAX, buf, sizeof buf), ==, "SIGRTMIN+30");
        g_assert_cmpstr(signal_to_string(99, buf, sizeof buf), ==, "SIG99");
        /* Every signal the kernel knows prints to a name the parser takes back. */
        for (int sig = 0; sig < _NSIG; sig++) {
                signal_to_string(sig, buf, sizeof buf);
                g_assert_cmpint(signal_from_string(buf), ==, sig);
        }
}

/* --- users and groups ----------------------------------------------------- */

static void test_parse_ids(void) {
        uid_t uid = 7;
        gid_t gid = 7;

        g_assert_cmpint(parse_uid("0", &uid), ==, 0);
        g_assert_cmpuint(uid, ==, 0);
        g_assert_cmpint(parse_uid("4294967294", &uid), ==, 0);
        g_assert_cmpuint(uid, ==, 4294967294u);
        g_assert_cmpint(parse_uid("4294967295", &uid), ==, -ERANGE); /* (uid_t) -1 */
        g_assert_cmpint(parse_uid("99999999999999999999", &uid), ==, -ERANGE);
        g_assert_cmpint(parse_uid("-1", &uid), ==, -EINVAL);
        g_assert_cmpint(parse_uid("1x", &uid), ==, -EINVAL);
        g_assert_cmpint(parse_uid("", &uid), ==, -EINVAL);
        g_assert_cmpint(parse_gid("65534", &gid), ==, 0);
        g_assert_cmpuint(gid, ==, 65534);
        g_assert_cmpint(parse_gid(" 1", &gid), ==, -EINVAL);
}

/* id(1) as the independent witness: "id -u NAME" etc. */
static char *id_output(const char *opt, const char *name) {
        const char *argv[] = { "id", opt, name, NULL };
        g_autofree char *out = NULL;
        g_autoptr(GError) e = NULL;
        int status;

        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                                   NULL, NULL, &out, NULL, &status, &e));
        g_assert_no_error(e);
        g_assert_true(g_spawn_check_wait_status(status, NULL));
        return g_strdup(g_strstrip(out));
}

static void test_user_creds(void) {
        static const char *const users[] = { "root", "daemon", "nobody" };
        uid_t uid;
        gid_t gid;

        for (size_t i = 0; i < ELEMENTSOF(users); i++) {
                g_autofree char *u = id_output("-u", users[i]), *g = id_output("-g", users[i]);
                g_autofree char *name = NULL;
                gid_t primary;

                uid = (uid_t) -1;
                gid = (gid_t) -1;
                g_assert_cmpint(get_user_creds(users[i], &uid, &gid), ==, 0);
                g_assert_cmpuint(uid, ==, g_ascii_strtoull(u, NULL, 10));
                g_assert_cmpuint(gid, ==, g_ascii_strtoull(g, NULL, 10));

                /* By number the same, primary group included. */
                gid = (gid_t) -1;
                g_assert_cmpint(get_user_creds(u, &uid, &gid), ==, 0);
                g_assert_cmpuint(gid, ==, g_ascii_strtoull(g, NULL, 10));

                g_assert_cmpint(user_primary_gid(uid, &primary), ==, 0);
                g_assert_cmpuint(primary, ==, gid);
                g_assert_cmpint(user_name(uid, &name), ==, 0);
                g_assert_cmpstr(name, ==, users[i]);
        }

        /* A uid with no entry is still a uid, with no primary group. */
        g_assert_cmpint(get_user_creds("4000000", &uid, &gid), ==, 0);
        g_assert_cmpuint(uid, ==, 4000000);
        g_assert_cmpuint(gid, ==, (gid_t) -1);
        g_assert_cmpint(get_user_creds("4000000", &uid, NULL), ==, 0);
        g_assert_cmpint(user_primary_gid(4000000, &gid), ==, -ESRCH);
        g_assert_cmpint(get_user_creds("no-such-user-pidbroker", &uid, &gid), ==, -ESRCH);
        g_assert_cmpint(get_user_creds("4294967295", &uid, &gid), ==, -ERANGE);
        g_assert_cmpint(get_user_creds("12ab", &uid, &gid), ==, -EINVAL);
        g_assert_cmpint(get_user_creds("", &uid, &gid), ==, -EINVAL);

        g_assert_cmpint(get_group_creds("root", &gid), ==, 0);
        g_assert_cmpuint(gid, ==, 0);
        g_assert_cmpint(get_group_creds("nogroup", &gid), ==, 0);
        g_assert_cmpuint(gid, ==, 65534);
        g_assert_cmpint(get_group_creds("4000000", &gid), ==, 0);
        g_assert_cmpuint(gid, ==, 4000000);
        g_assert_cmpint(get_group_creds("no-such-group-pidbroker", &gid), ==, -ESRCH);
        g_assert_cmpint(get_group_creds("4294967295", &gid), ==, -ERANGE);
}

static int gid_compare(gconstpointer a, gconstpointer b) {
        gid_t x = *(const gid_t *) a, y = *(const gid_t *) b;
        return x < y ? -1 : x > y;
}

/* "0 24 27" from id -G against our list, as sorted sets. */
static void assert_groups_match(const char *user, uid_t uid, gid_t gid) {
        g_autofree char *expected = id_output("-G", user);
        g_auto(GStrv) words = g_strsplit(expected, " ", -1);
        g_autofree gid_t *got = NULL;
        g_autoptr(GArray) want = g_array_new(FALSE, FALSE, sizeof(gid_t));
        size_t n = 0;

        g_assert_cmpint(user_groups(uid, gid, &got, &n), ==, 0);
        for (char **w = words; *w; w++) {
                gid_t g = (gid_t) g_ascii_strtoull(*w, NULL, 10);
                g_array_append_val(want, g);
        }
        qsort(got, n, sizeof(gid_t), gid_compare);
        g_array_sort(want, gid_compare);
        g_assert_cmpuint(n, ==, want->len);
        for (size_t i = 0; i < n; i++)
                g_assert_cmpuint(got[i], ==, g_array_index(want, gid_t, i));
}

static void test_user_groups(void) {
        g_autofree gid_t *l = NULL;
        size_t n = 0;

        assert_groups_match("root", 0, 0);
        assert_groups_match("daemon", 1, 1);
        assert_groups_match("nobody", 65534, 65534);
        g_assert_cmpint(user_groups(4000000, 4000000, &l, &n), ==, -ESRCH);
        g_assert_null(l);
}

#define MANY_GROUPS 300

/* More groups than the first buffer holds: the list must grow, not cut. */
static int child_many_groups(void *userdata) {
        char path[] = "/tmp/pidbroker-test-group-XXXXXX";
        _cleanup_close_ int fd = mkstemp(path);
        _cleanup_free_ gid_t *l = NULL;
        size_t n = 0;
        FILE *f;

        TEST_CHILD_CHECK(fd >= 0);
        f = fdopen(dup(fd), "w");
        TEST_CHILD_CHECK(f);
        fprintf(f, "root:x:0:\ndaemon:x:1:\n");
        for (int i = 0; i < MANY_GROUPS; i++)
                fprintf(f, "pbtest%d:x:%d:daemon\n", i, 50000 + i);
        TEST_CHILD_CHECK(fclose(f) == 0);

        TEST_CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
        TEST_CHILD_CHECK(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0);
        TEST_CHILD_CHECK(mount(path, "/etc/group", "none", MS_BIND, NULL) == 0);
        unlink(path);

        TEST_CHILD_CHECK_R(user_groups(1, 1, &l, &n), 0);
        TEST_CHILD_CHECK(n == MANY_GROUPS + 1);
        TEST_CHILD_CHECK(l[0] == 1);
        for (size_t i = 1; i < n; i++)
                TEST_CHILD_CHECK(l[i] == (gid_t) (50000 + i - 1));
        return 0;
}

static void test_user_groups_grow(void) {
        int status;

        TEST_REQUIRE_ROOT();
        status = test_run_in_child(child_many_groups, NULL);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* Against GHashTable as the reference: random puts and removes over a
 * small key range (long probe runs, removals in their middle), then
 * everything out again. */
static void test_u64map_random(void) {
        g_autoptr(GHashTable) ref = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
        g_autoptr(GRand) rand = g_rand_new_with_seed(42);
        U64Map m = U64MAP_NULL;

        for (unsigned i = 0; i < 200000; i++) {
                uint64_t key = g_rand_int_range(rand, 0, 3000);
                gint64 k64 = (gint64) key;
                void *want = g_hash_table_lookup(ref, &k64);
                g_assert_true(u64map_get(&m, key) == want);

                if (g_rand_boolean(rand)) {
                        void *value = GUINT_TO_POINTER(i + 1);
                        int r = u64map_put(&m, key, value);
                        if (want)
                                g_assert_cmpint(r, ==, -EEXIST);
                        else {
                                g_assert_cmpint(r, ==, 0);
                                g_hash_table_insert(ref, g_memdup2(&k64, sizeof k64), value);
                        }
                } else {
                        g_assert_true(u64map_remove(&m, key) == want);
                        g_hash_table_remove(ref, &k64);
                }
                g_assert_cmpuint(u64map_size(&m), ==, g_hash_table_size(ref));
        }

        size_t i = 0, n = 0;
        uint64_t key;
        void *value;
        while (u64map_iterate(&m, &i, &key, &value)) {
                gint64 k64 = (gint64) key;
                g_assert_true(g_hash_table_lookup(ref, &k64) == value);
                n++;
        }
        g_assert_cmpuint(n, ==, g_hash_table_size(ref));
        for (uint64_t k = 0; k < 3000; k++)
                (void) u64map_remove(&m, k);
        g_assert_cmpuint(u64map_size(&m), ==, 0);
        u64map_done(&m);
}

static void test_u64map_edges(void) {
        U64Map m = U64MAP_NULL;
        int x, y;

        g_assert_null(u64map_get(&m, 0));
        g_assert_null(u64map_remove(&m, 0));
        g_assert_null(u64map_replace(&m, 0, &x));
        g_assert_cmpint(u64map_put(&m, 1, NULL), ==, -EINVAL);
        /* 0 and the top of the range are keys like any other. */
        g_assert_cmpint(u64map_put(&m, 0, &x), ==, 0);
        g_assert_cmpint(u64map_put(&m, UINT64_MAX, &y), ==, 0);
        g_assert_cmpint(u64map_put(&m, 0, &y), ==, -EEXIST);
        g_assert_true(u64map_get(&m, 0) == &x);
        g_assert_true(u64map_replace(&m, 0, &y) == &x);
        g_assert_true(u64map_get(&m, 0) == &y);
        g_assert_true(u64map_get(&m, UINT64_MAX) == &y);
        g_assert_true(u64map_remove(&m, UINT64_MAX) == &y);
        g_assert_null(u64map_get(&m, UINT64_MAX));
        u64map_done(&m);
        g_assert_cmpuint(u64map_size(&m), ==, 0);
}

/* 10,000 sequential ids (as pidfs hands them out) in and out: the table
 * grows, and shrinks back as they go. */
static void test_u64map_grow_shrink(void) {
        U64Map m = U64MAP_NULL;
        const uint64_t base = UINT64_C(1) << 32;

        for (uint64_t k = 0; k < 10000; k++)
                g_assert_cmpint(u64map_put(&m, base + k, GSIZE_TO_POINTER(k + 1)), ==, 0);
        g_assert_cmpuint(m.n_slots, >=, 2 * 10000);
        for (uint64_t k = 0; k < 10000; k++)
                g_assert_cmpuint(GPOINTER_TO_SIZE(u64map_get(&m, base + k)), ==, k + 1);
        for (uint64_t k = 0; k < 9990; k++)
                g_assert_nonnull(u64map_remove(&m, base + k));
        g_assert_cmpuint(m.n_slots, <=, 128);
        for (uint64_t k = 9990; k < 10000; k++)
                g_assert_cmpuint(GPOINTER_TO_SIZE(u64map_get(&m, base + k)), ==, k + 1);
        u64map_done(&m);
}

static void test_string_hash64(void) {
        g_assert_cmpuint(string_hash64(""), ==, UINT64_C(0xcbf29ce484222325));
        g_assert_cmpuint(string_hash64(":1.100"), !=, string_hash64(":1.101"));
        g_assert_cmpuint(string_hash64(":1.100"), ==, string_hash64(":1.100"));
}

/* se.slice of a task, from the scheduler's debug file; 0 when absent. */
static uint64_t task_slice(const char *path) {
        g_autofree char *text = NULL;

        if (!g_file_get_contents(path, &text, NULL, NULL))
                return 0;
        const char *p = strstr(text, "\nse.slice");
        if (!p)
                return 0;
        p = strchr(p, ':');
        return p ? g_ascii_strtoull(p + 1, NULL, 10) : 0;
}

static void *short_slice_thread(void *p) {
        uint64_t *ret = p;
        int st = 0;

        g_assert_cmpint(sched_short_slice(SCHED_SLICE_NSEC), ==, 0);
        ret[0] = task_slice("/proc/thread-self/sched");
        /* What it starts has the default again. */
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                uint64_t s = task_slice("/proc/self/sched");
                _exit(s == SCHED_SLICE_NSEC ? 1 : s == 0 ? 2 : 0);
        }
        g_assert_cmpint(waitpid(pid, &st, 0), ==, pid);
        ret[1] = WIFEXITED(st) ? WEXITSTATUS(st) : 3;
        return NULL;
}

static void test_sched_short_slice(void) {
        uint64_t got[2] = {};
        pthread_t t;

        if (task_slice("/proc/thread-self/sched") == 0) {
                g_test_skip("no se.slice in /proc/thread-self/sched (CONFIG_SCHED_DEBUG)");
                return;
        }
        int before = getpriority(PRIO_PROCESS, 0);
        g_assert_cmpint(pthread_create(&t, NULL, short_slice_thread, got), ==, 0);
        g_assert_cmpint(pthread_join(t, NULL), ==, 0);
        g_assert_cmpuint(got[0], ==, SCHED_SLICE_NSEC);
        g_assert_cmpuint(got[1], ==, 0);
        /* Only that thread: this one is as it was. */
        g_assert_cmpuint(task_slice("/proc/thread-self/sched"), !=, SCHED_SLICE_NSEC);
        g_assert_cmpint(getpriority(PRIO_PROCESS, 0), ==, before);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/basic/strv/extend", test_strv_extend);
        g_test_add_func("/basic/u64map/random", test_u64map_random);
        g_test_add_func("/basic/u64map/edges", test_u64map_edges);
        g_test_add_func("/basic/u64map/grow-shrink", test_u64map_grow_shrink);
        g_test_add_func("/basic/string-hash64", test_string_hash64);
        g_test_add_func("/basic/strv/extend-split", test_strv_extend_split);
        g_test_add_func("/basic/strv/copy", test_strv_copy);
        g_test_add_func("/basic/string-table", test_string_table);
        g_test_add_func("/basic/signal/from-string", test_signal_from_string);
        g_test_add_func("/basic/signal/round-trip", test_signal_round_trip);
        g_test_add_func("/basic/user/parse-ids", test_parse_ids);
        g_test_add_func("/basic/user/creds", test_user_creds);
        g_test_add_func("/basic/user/groups", test_user_groups);
        g_test_add_func("/basic/user/groups-grow", test_user_groups_grow);
        g_test_add_func("/basic/sched-short-slice", test_sched_short_slice);
        return g_test_run();
}
