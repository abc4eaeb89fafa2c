/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The loaders: the shipped action file and vendor rules load with the
 * defaults the actions declare, and every malformed input fails the whole load
 * (no Policy returned) with an error that names the file and line. */

#include <glib.h>
#include <glib/gstdio.h>
#include <ini.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"
#include "test-util.h"

static char *tmp_root;

static const char *source_root(void) {
        const char *e = getenv("PIDBROKER_SOURCE_ROOT");
        return e && *e ? e : PIDBROKER_SOURCE_ROOT;
}

static char *shipped_actions(void) {
        return g_build_filename(source_root(), "policy", "org.pidbroker.policy", NULL);
}

static void write_file(const char *path, const char *content, mode_t mode) {
        g_autoptr(GError) error = NULL;

        if (!g_file_set_contents(path, content, -1, &error))
                g_error("%s: %s", path, error->message);
        g_assert_cmpint(g_chmod(path, mode), ==, 0);
}

/* A fresh directory under tmp_root for one test. */
static char *make_dir(const char *name) {
        char *d = g_build_filename(tmp_root, name, NULL);

        g_assert_cmpint(g_mkdir_with_parents(d, 0755), ==, 0);
        return d;
}

static void test_shipped(void) {
        static const struct {
                const char *id;
                PolicyDefault def;
                bool own_workload;
        } want[] = {
                { POLICY_ACTION_SPAWN,                  POLICY_DEFAULT_YES,        false },
                { POLICY_ACTION_SPAWN_AS_USER,          POLICY_DEFAULT_AUTH_ADMIN, false },
                { POLICY_ACTION_SPAWN_PRIVILEGED,       POLICY_DEFAULT_AUTH_ADMIN, false },
                { POLICY_ACTION_SIGNAL,                 POLICY_DEFAULT_YES,        false },
                { POLICY_ACTION_SIGNAL_OTHER_USER,      POLICY_DEFAULT_AUTH_ADMIN, false },
                { POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, POLICY_DEFAULT_AUTH_ADMIN, true },
                { POLICY_ACTION_GETFD,                  POLICY_DEFAULT_AUTH_ADMIN, false },
                { POLICY_ACTION_MANAGE,                 POLICY_DEFAULT_AUTH_ADMIN, false },
                { POLICY_ACTION_MANAGE_DAEMON,          POLICY_DEFAULT_AUTH_ADMIN, false },
        };
        g_autofree char *actions = shipped_actions();
        g_autofree char *vendor = g_build_filename(source_root(), "policy", "rules.d", NULL);
        const char *const dirs[] = { vendor, NULL };
        g_autofree char *error = NULL;
        Policy *p = NULL;

        g_assert_cmpint(policy_load(&p, actions, dirs, &error), ==, 0);
        g_assert_null(error);
        g_assert_nonnull(p);

        g_assert_cmpuint(policy_n_actions(p), ==, G_N_ELEMENTS(want));
        for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
                PolicyDefault d = _POLICY_DEFAULT_INVALID;

                /* Declared in the order of the actions table. */
                g_assert_cmpstr(policy_action_id(p, i), ==, want[i].id);
                g_assert_cmpint(policy_action_default(p, want[i].id, &d), ==, 0);
                g_assert_cmpstr(policy_default_to_string(d), ==, policy_default_to_string(want[i].def));
                g_assert_cmpint(policy_action_allows_own_workload(p, want[i].id), ==, want[i].own_workload);
        }
        g_assert_null(policy_action_id(p, G_N_ELEMENTS(want)));
        g_assert_cmpint(policy_action_default(p, "org.pidbroker.nope", NULL), ==, -ENOENT);

        /* The vendor rules are examples only: they grant nothing. */
        g_assert_cmpuint(policy_n_rules(p), ==, 0);

        policy_free(p);
}

static void test_default_paths(void) {
        const char *const *dirs = policy_default_rules_dirs();

        g_assert_true(g_str_has_suffix(policy_default_actions_file(), "/polkit-1/actions/org.pidbroker.policy"));
        g_assert_nonnull(dirs[0]);
        g_assert_nonnull(dirs[1]);
        g_assert_null(dirs[2]);
        /* Admin first: it wins on equal file names. */
        g_assert_true(g_str_has_suffix(dirs[0], "/pidbroker/rules.d"));
        g_assert_true(g_str_has_prefix(dirs[0], PIDBROKER_SYSCONFDIR));
        g_assert_true(g_str_has_prefix(dirs[1], PIDBROKER_PKGDATADIR));
}

static void test_default_strings(void) {
        for (PolicyDefault d = 0; d < _POLICY_DEFAULT_MAX; d++)
                g_assert_cmpint(policy_default_from_string(policy_default_to_string(d)), ==, d);
        g_assert_cmpint(policy_default_from_string("maybe"), ==, -EINVAL);
        g_assert_cmpint(policy_default_from_string(NULL), ==, -EINVAL);
        g_assert_null(policy_default_to_string(_POLICY_DEFAULT_MAX));
}

typedef struct BadRules {
        const char *name;
        const char *content;
        const char *error;      /* expected after "<path>:" */
} BadRules;

#define LONG_VALUE "org.pidbroker.signal,org.pidbroker.signal,org.pidbroker.signal,org.pidbroker.signal," \
        "org.pidbroker.signal,org.pidbroker.signal,org.pidbroker.signal,org.pidbroker.signal,org.pidbroker.signal"

static const BadRules bad_rules[] = {
        { "unknown-key", "[Rule]\nAction=org.pidbroker.getfd\nFoo=bar\nResult=allow\n",
          "3: unknown key Foo=" },
        { "key-case", "[Rule]\naction=org.pidbroker.getfd\nResult=allow\n",
          "2: unknown key action=" },
        { "bad-result", "[Rule]\nAction=org.pidbroker.getfd\nResult=maybe\n",
          "3: Result= is \"maybe\", not allow or deny" },
        { "bad-signal-name", "[Rule]\nAction=org.pidbroker.signal\nSignal=SIGTERM,SIGFOO\nResult=allow\n",
          "3: Signal=SIGFOO is not a signal name or number 1..64" },
        { "bad-signal-zero", "[Rule]\nAction=org.pidbroker.signal\nSignal=0\nResult=allow\n",
          "3: Signal=0 is not a signal name or number 1..64" },
        { "bad-signal-range", "[Rule]\nAction=org.pidbroker.signal\nSignal=65\nResult=allow\n",
          "3: Signal=65 is not a signal name or number 1..64" },
        { "bad-signal-rt", "[Rule]\nAction=org.pidbroker.signal\nSignal=SIGRTMIN+99\nResult=allow\n",
          "3: Signal=SIGRTMIN+99 is not a signal name or number 1..64" },
        { "no-result", "# a comment\n[Rule]\nAction=org.pidbroker.getfd\n",
          "2: rule has no Result=" },
        { "no-result-before-next", "[Rule]\nAction=org.pidbroker.getfd\n\n[Rule]\nAction=*\nResult=deny\n",
          "1: rule has no Result=" },
        { "no-action", "[Rule]\nSubjectUser=1000\nResult=allow\n",
          "1: rule has no Action= (use Action=* for all)" },
        { "empty-section", "[Rule]\n",
          "1: rule has no Action= (use Action=* for all)" },
        { "key-outside-section", "Action=org.pidbroker.getfd\n[Rule]\nAction=*\nResult=deny\n",
          "1: Action= outside a [Rule] section" },
        { "unknown-section", "[Rules]\nAction=org.pidbroker.getfd\nResult=allow\n",
          "2: unknown section [Rules]" },
        { "result-twice", "[Rule]\nAction=*\nResult=allow\nResult=deny\n",
          "4: Result= given twice in one rule" },
        { "boolean-twice", "[Rule]\nAction=*\nCrossNamespace=yes\nCrossNamespace=no\nResult=deny\n",
          "4: CrossNamespace= given twice in one rule" },
        { "bad-boolean", "[Rule]\nAction=*\nIdentityPinned=maybe\nResult=deny\n",
          "3: IdentityPinned= is \"maybe\", not yes or no" },
        { "bad-owned", "[Rule]\nAction=*\nTargetOwnedBySubject=1\nResult=deny\n",
          "3: TargetOwnedBySubject= is \"1\", not yes or no" },
        { "unknown-user", "[Rule]\nAction=*\nSubjectUser=no-such-user-pidbroker\nResult=deny\n",
          "3: unknown user \"no-such-user-pidbroker\"" },
        { "unknown-group", "[Rule]\nAction=*\nSubjectGroup=no-such-group-pidbroker\nResult=deny\n",
          "3: unknown group \"no-such-group-pidbroker\"" },
        { "unknown-target-user", "[Rule]\nAction=*\nTargetUser=no-such-user-pidbroker\nResult=deny\n",
          "3: unknown user \"no-such-user-pidbroker\"" },
        { "bad-uid", "[Rule]\nAction=*\nSubjectUser=12ab\nResult=deny\n",
          "3: invalid uid \"12ab\"" },
        { "uid-minus-one", "[Rule]\nAction=*\nSubjectUser=4294967295\nResult=deny\n",
          "3: invalid uid \"4294967295\"" },
        { "bad-gid", "[Rule]\nAction=*\nSubjectGroup=99999999999\nResult=deny\n",
          "3: invalid gid \"99999999999\"" },
        { "action-typo", "[Rule]\nAction=org.pidbroker.sginal\nResult=deny\n",
          "2: Action=org.pidbroker.sginal matches no declared action" },
        { "action-glob-matches-nothing", "[Rule]\nAction=org.freedesktop.*\nResult=deny\n",
          "2: Action=org.freedesktop.* matches no declared action" },
        { "empty-list", "[Rule]\nAction=\nResult=deny\n",
          "2: Action= is empty" },
        { "empty-list-commas", "[Rule]\nAction=*\nFdType= , ,\nResult=deny\n",
          "3: FdType= is empty" },
        { "fd-type-star-inside", "[Rule]\nAction=*\nFdType=anon*inode\nResult=deny\n",
          "3: FdType=anon*inode: '*' is only allowed at the end" },
        { "syntax-no-equals", "[Rule]\nAction=*\nResult deny\n",
          "3: syntax error (expected [Rule] or Key=value)" },
        { "syntax-unclosed-section", "[Rule\nAction=*\nResult=deny\n",
          "1: syntax error (expected [Rule] or Key=value)" },
        /* Continuation lines are off: an indented line is not a value. */
        { "continuation-line", "[Rule]\nAction=org.pidbroker.getfd\n  org.pidbroker.signal\nResult=deny\n",
          "3: syntax error (expected [Rule] or Key=value)" },
        /* inih would cut a long line in two and parse the rest as a line. */
        { "line-too-long", "[Rule]\nAction=" LONG_VALUE LONG_VALUE "\nResult=deny\n",
          "2: line longer than 198 characters" },
};

static void test_bad_rules(gconstpointer data) {
        const BadRules *b = data;
        g_autofree char *actions = shipped_actions();
        g_autofree char *dir_name = g_strdup_printf("bad-%s", b->name);
        g_autofree char *dir = make_dir(dir_name);
        g_autofree char *good = g_build_filename(dir, "10-good.rules", NULL);
        g_autofree char *bad = g_build_filename(dir, "50-bad.rules", NULL);
        g_autofree char *want = g_strdup_printf("%s:%s", bad, b->error);
        const char *const dirs[] = { dir, NULL };
        g_autofree char *error = NULL;
        Policy *p = NULL;

        /* A good file before the bad one: its rules must not survive. */
        write_file(good, "[Rule]\nAction=org.pidbroker.getfd\nResult=allow\n", 0644);
        write_file(bad, b->content, 0644);

        g_assert_cmpint(policy_load(&p, actions, dirs, &error), <, 0);
        g_assert_null(p);
        g_assert_cmpstr(error, ==, want);

        /* inih's process-wide switches are back to what they were. */
        g_assert_true(ini_allow_multiline);
        g_assert_false(ini_stop_on_first_error);
}

static void test_bad_rules_no_error_string(void) {
        g_autofree char *actions = shipped_actions();
        g_autofree char *dir = make_dir("bad-no-error-string");
        g_autofree char *bad = g_build_filename(dir, "50-bad.rules", NULL);
        const char *const dirs[] = { dir, NULL };
        Policy *p = NULL;

        write_file(bad, "[Rule]\nAction=*\nResult=perhaps\n", 0644);
        g_assert_cmpint(policy_load(&p, actions, dirs, NULL), ==, -EINVAL);
        g_assert_null(p);
}

typedef struct BadActions {
        const char *name;
        const char *content;
        const char *error;      /* expected after "<path>:", NULL = any line */
        int r;
} BadActions;

#define ACTION_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<policyconfig>\n"
#define ACTION(id, any) "<action id=\"" id "\"><description>d</description><message>m</message>" \
        "<defaults><allow_any>" any "</allow_any></defaults></action>\n"

static const BadActions bad_actions[] = {
        { "not-well-formed", ACTION_HEAD "<action id=\"org.pidbroker.x\">\n</policyconfig>\n",
          "4: mismatched tag", -EINVAL },
        { "wrong-root", "<?xml version=\"1.0\"?>\n<policy>\n</policy>\n",
          "2: root element is <policy>, not <policyconfig>", -EINVAL },
        { "bad-default", ACTION_HEAD ACTION("org.pidbroker.x", "sometimes") "</policyconfig>\n",
          "3: <allow_any> is \"sometimes\", not one of no, yes, auth_self, auth_self_keep, "
          "auth_admin, auth_admin_keep", -EINVAL },
        { "default-twice", ACTION_HEAD "<action id=\"org.pidbroker.x\">\n<defaults>\n"
          "<allow_any>yes</allow_any>\n<allow_any>no</allow_any>\n</defaults></action></policyconfig>\n",
          "6: <allow_any> given twice", -EINVAL },
        { "unknown-default-element", ACTION_HEAD "<action id=\"org.pidbroker.x\">\n<defaults>\n"
          "<allow_all>yes</allow_all>\n</defaults></action></policyconfig>\n",
          "5: unknown element <allow_all> in <defaults>", -EINVAL },
        { "duplicate-action", ACTION_HEAD ACTION("org.pidbroker.x", "yes") ACTION("org.pidbroker.x", "no")
          "</policyconfig>\n", "4: action org.pidbroker.x declared twice", -EINVAL },
        { "bad-action-id", ACTION_HEAD ACTION("org.pidbroker.X y", "yes") "</policyconfig>\n",
          "3: <action> without a valid id (lowercase letters, digits, '.', '-')", -EINVAL },
        { "missing-action-id", ACTION_HEAD "<action>\n</action>\n</policyconfig>\n",
          "3: <action> without a valid id (lowercase letters, digits, '.', '-')", -EINVAL },
        { "no-actions", ACTION_HEAD "</policyconfig>\n", NULL, -EINVAL },
        { "entity", "<?xml version=\"1.0\"?>\n<!DOCTYPE policyconfig [\n<!ENTITY a \"yes\">\n]>\n"
          "<policyconfig>\n</policyconfig>\n",
          "3: entity declarations are not allowed", -EINVAL },
        { "bad-annotation", ACTION_HEAD "<action id=\"org.pidbroker.x\">\n<defaults/>\n"
          "<annotate key=\"org.pidbroker.embedded.own-workload\">always</annotate>\n</action></policyconfig>\n",
          "5: annotation org.pidbroker.embedded.own-workload is \"always\", not yes or no", -EINVAL },
        { "element-in-value", ACTION_HEAD "<action id=\"org.pidbroker.x\">\n<defaults>\n"
          "<allow_any><b>yes</b></allow_any>\n</defaults></action></policyconfig>\n",
          "5: unexpected <b> inside a value", -EINVAL },
        { "value-too-long", ACTION_HEAD "<action id=\"org.pidbroker.x\">\n<defaults>\n"
          "<allow_any>" LONG_VALUE "</allow_any>\n</defaults></action></policyconfig>\n",
          "5: value longer than 64 bytes", -EINVAL },
        { "empty-file", "", NULL, -EINVAL },
};

static void test_bad_actions(gconstpointer data) {
        const BadActions *b = data;
        g_autofree char *name = g_strdup_printf("bad-%s.policy", b->name);
        g_autofree char *path = g_build_filename(tmp_root, name, NULL);
        g_autofree char *error = NULL;
        Policy *p = NULL;

        write_file(path, b->content, 0644);
        g_assert_cmpint(policy_load(&p, path, NULL, &error), ==, b->r);
        g_assert_null(p);
        g_assert_nonnull(error);
        g_assert_true(g_str_has_prefix(error, path));
        if (b->error) {
                g_autofree char *want = g_strdup_printf("%s:%s", path, b->error);
                g_assert_cmpstr(error, ==, want);
        }
}

static void test_missing_actions_file(void) {
        g_autofree char *path = g_build_filename(tmp_root, "does-not-exist.policy", NULL);
        g_autofree char *error = NULL;
        Policy *p = NULL;

        g_assert_cmpint(policy_load(&p, path, NULL, &error), ==, -ENOENT);
        g_assert_null(p);
        g_assert_nonnull(error);
        g_assert_true(g_str_has_prefix(error, path));
}

/* allow_any is what a daemon's caller gets; allow_active only stands in
 * when allow_any is missing; with neither, polkit's own "no". */
static void test_default_fallback(void) {
        g_autofree char *path = g_build_filename(tmp_root, "fallback.policy", NULL);
        g_autofree char *error = NULL;
        Policy *p = NULL;
        PolicyDefault d;

        write_file(path, ACTION_HEAD
                   "<action id=\"org.pidbroker.any\"><defaults><allow_any>auth_self</allow_any>"
                   "<allow_inactive>yes</allow_inactive><allow_active>yes</allow_active></defaults></action>\n"
                   "<action id=\"org.pidbroker.active\"><defaults><allow_inactive>no</allow_inactive>"
                   "<allow_active>auth_admin_keep</allow_active></defaults></action>\n"
                   "<action id=\"org.pidbroker.inactive\"><defaults><allow_inactive>yes</allow_inactive>"
                   "</defaults></action>\n"
                   "<action id=\"org.pidbroker.none\"/>\n"
                   "</policyconfig>\n", 0644);
        g_assert_cmpint(policy_load(&p, path, NULL, &error), ==, 0);
        g_assert_null(error);
        g_assert_cmpint(policy_action_default(p, "org.pidbroker.any", &d), ==, 0);
        g_assert_cmpint(d, ==, POLICY_DEFAULT_AUTH_SELF);
        g_assert_cmpint(policy_action_default(p, "org.pidbroker.active", &d), ==, 0);
        g_assert_cmpint(d, ==, POLICY_DEFAULT_AUTH_ADMIN_KEEP);
        g_assert_cmpint(policy_action_default(p, "org.pidbroker.inactive", &d), ==, 0);
        g_assert_cmpint(d, ==, POLICY_DEFAULT_NO);
        g_assert_cmpint(policy_action_default(p, "org.pidbroker.none", &d), ==, 0);
        g_assert_cmpint(d, ==, POLICY_DEFAULT_NO);
        policy_free(p);
}

/* A rules file anyone but root could write would hand out the broker's
 * authority. */
static void test_writable_rules_refused(void) {
        g_autofree char *actions = shipped_actions();
        g_autofree char *dir = make_dir("writable");
        g_autofree char *path = g_build_filename(dir, "50-open.rules", NULL);
        const char *const dirs[] = { dir, NULL };
        g_autofree char *error = NULL;
        g_autofree char *want = g_strdup_printf("%s: writable by group or others", path);
        Policy *p = NULL;

        write_file(path, "[Rule]\nAction=*\nResult=allow\n", 0666);
        g_assert_cmpint(policy_load(&p, actions, dirs, &error), ==, -EPERM);
        g_assert_null(p);
        g_assert_cmpstr(error, ==, want);
}

/* The actions file's defaults grant like rules do ("<allow_any>yes</allow_any>"
 * on getfd): it gets the same ownership and mode check. */
static void test_writable_actions_refused(void) {
        g_autofree char *path = g_build_filename(tmp_root, "writable.policy", NULL);
        g_autofree char *error = NULL;
        g_autofree char *want = g_strdup_printf("%s: writable by group or others", path);
        Policy *p = NULL;

        write_file(path, ACTION_HEAD ACTION("org.pidbroker.getfd", "yes") "</policyconfig>\n", 0666);
        g_assert_cmpint(policy_load(&p, path, NULL, &error), ==, -EPERM);
        g_assert_null(p);
        g_assert_cmpstr(error, ==, want);
}

static void test_not_regular_refused(void) {
        g_autofree char *actions = shipped_actions();
        g_autofree char *dir = make_dir("not-regular");
        g_autofree char *sub = g_build_filename(dir, "50-dir.rules", NULL);
        const char *const dirs[] = { dir, NULL };
        g_autofree char *error = NULL;
        g_autofree char *want = g_strdup_printf("%s: not a regular file", sub);
        Policy *p = NULL;

        g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
        g_assert_cmpint(policy_load(&p, actions, dirs, &error), ==, -EINVAL);
        g_assert_null(p);
        g_assert_cmpstr(error, ==, want);
}

/* An admin file of the same name, empty or a symlink to /dev/null, hides
 * the vendor file; missing directories are fine. */
static void test_masking(void) {
        g_autofree char *actions = shipped_actions();
        g_autofree char *admin = make_dir("mask/etc");
        g_autofree char *vendor = make_dir("mask/usr");
        g_autofree char *missing = g_build_filename(tmp_root, "mask", "missing", NULL);
        g_autofree char *v1 = g_build_filename(vendor, "10-a.rules", NULL);
        g_autofree char *v2 = g_build_filename(vendor, "20-b.rules", NULL);
        g_autofree char *v3 = g_build_filename(vendor, "30-c.rules", NULL);
        g_autofree char *a1 = g_build_filename(admin, "10-a.rules", NULL);
        g_autofree char *a2 = g_build_filename(admin, "20-b.rules", NULL);
        g_autofree char *want = g_strdup_printf("%s:1", v3);
        const char *const dirs[] = { missing, admin, vendor, NULL };
        g_autofree char *error = NULL;
        Policy *p = NULL;

        write_file(v1, "[Rule]\nAction=*\nResult=allow\n", 0644);
        write_file(v2, "[Rule]\nAction=*\nResult=allow\n", 0644);
        write_file(v3, "[Rule]\nAction=org.pidbroker.getfd\nResult=deny\n", 0644);
        write_file(a1, "", 0644);
        g_assert_cmpint(symlink("/dev/null", a2), ==, 0);

        g_assert_cmpint(policy_load(&p, actions, dirs, &error), ==, 0);
        g_assert_null(error);
        g_assert_cmpuint(policy_n_rules(p), ==, 1);
        g_assert_cmpstr(policy_rule_origin(p, 0), ==, want);
        g_assert_null(policy_rule_origin(p, 1));
        policy_free(p);
}

/* Comments, blank lines, inline comments, a BOM, repeated list keys. */
static void test_syntax_accepted(void) {
        g_autofree char *actions = shipped_actions();
        g_autofree char *dir = make_dir("syntax");
        g_autofree char *path = g_build_filename(dir, "50-ok.rules", NULL);
        const char *const dirs[] = { dir, NULL };
        g_autofree char *error = NULL;
        g_autofree char *o1 = g_strdup_printf("%s:4", path);
        g_autofree char *o2 = g_strdup_printf("%s:13", path);
        Policy *p = NULL;
        PolicyDecision d;
        PolicyRequest req = {
                .action = POLICY_ACTION_SIGNAL_OTHER_USER,
                .subject = { .uid = 7, .identity_pinned = true },
                .target = { .has_uid = true, .uid = 8, .has_process = true },
                .details = { .signal = SIGHUP },
        };

        write_file(path,
                   "\xEF\xBB\xBF# comment\n"
                   "; other comment\n"
                   "\n"
                   "[Rule]\n"                                           /* 4 */
                   "  Action = org.pidbroker.signal-other-user ; why\n"
                   "SubjectUser=7\n"
                   "Signal=TERM\n"
                   "Signal=SIGHUP\n"
                   "IdentityPinned=true\n"
                   "Result=allow\n"
                   "\n"
                   "   # indented comment\n"
                   "  [Rule]\n"                                         /* 13 */
                   "Action=org.pidbroker.signal\n"
                   "Result=deny\n", 0644);

        g_assert_cmpint(policy_load(&p, actions, dirs, &error), ==, 0);
        g_assert_null(error);
        g_assert_cmpuint(policy_n_rules(p), ==, 2);
        g_assert_cmpstr(policy_rule_origin(p, 0), ==, o1);
        g_assert_cmpstr(policy_rule_origin(p, 1), ==, o2);

        g_assert_cmpint(policy_check(p, &req, &d), ==, 0);
        g_assert_true(d.allow);
        g_assert_cmpstr(d.rule, ==, o1);
        req.details.signal = SIGTERM;
        g_assert_cmpint(policy_check(p, &req, &d), ==, 0);
        g_assert_true(d.allow);
        req.details.signal = SIGINT;
        g_assert_cmpint(policy_check(p, &req, &d), ==, 0);
        g_assert_false(d.allow);
        g_assert_cmpstr(d.rule, ==, "default:auth_admin");
        policy_free(p);
}

static void test_invalid_arguments(void) {
        g_autofree char *actions = shipped_actions();
        g_autofree char *error = NULL;
        Policy *p = NULL;

        g_assert_cmpint(policy_load(NULL, actions, NULL, &error), ==, -EINVAL);
        g_assert_cmpint(policy_load(&p, NULL, NULL, &error), ==, -EINVAL);
        g_assert_null(p);
        g_assert_null(policy_free(NULL));
        g_assert_cmpuint(policy_n_actions(NULL), ==, 0);
        g_assert_cmpuint(policy_n_rules(NULL), ==, 0);
}

static void rm_rf(const char *path) {
        GDir *d = g_dir_open(path, 0, NULL);
        const char *name;

        if (d) {
                while ((name = g_dir_read_name(d))) {
                        g_autofree char *child = g_build_filename(path, name, NULL);
                        struct stat st;

                        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
                                rm_rf(child);
                        else
                                (void) g_unlink(child);
                }
                g_dir_close(d);
        }
        (void) g_rmdir(path);
}

int main(int argc, char **argv) {
        g_autoptr(GError) error = NULL;
        int r;

        g_test_init(&argc, &argv, NULL);
        tmp_root = g_dir_make_tmp("test-policy-load-XXXXXX", &error);
        if (!tmp_root)
                g_error("g_dir_make_tmp: %s", error->message);

        g_test_add_func("/policy-load/shipped", test_shipped);
        g_test_add_func("/policy-load/default-paths", test_default_paths);
        g_test_add_func("/policy-load/default-strings", test_default_strings);
        g_test_add_func("/policy-load/default-fallback", test_default_fallback);
        g_test_add_func("/policy-load/missing-actions-file", test_missing_actions_file);
        g_test_add_func("/policy-load/writable-rules-refused", test_writable_rules_refused);
        g_test_add_func("/policy-load/writable-actions-refused", test_writable_actions_refused);
        g_test_add_func("/policy-load/not-regular-refused", test_not_regular_refused);
        g_test_add_func("/policy-load/masking", test_masking);
        g_test_add_func("/policy-load/syntax-accepted", test_syntax_accepted);
        g_test_add_func("/policy-load/invalid-arguments", test_invalid_arguments);
        g_test_add_func("/policy-load/bad-rules-no-error-string", test_bad_rules_no_error_string);
        for (size_t i = 0; i < G_N_ELEMENTS(bad_rules); i++) {
                g_autofree char *path = g_strdup_printf("/policy-load/bad-rules/%s", bad_rules[i].name);
                g_test_add_data_func(path, &bad_rules[i], test_bad_rules);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad_actions); i++) {
                g_autofree char *path = g_strdup_printf("/policy-load/bad-actions/%s", bad_actions[i].name);
                g_test_add_data_func(path, &bad_actions[i], test_bad_actions);
        }

        r = g_test_run();
        rm_rf(tmp_root);
        g_free(tmp_root);
        return r;
}
