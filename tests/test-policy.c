/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* policy_check() as a table: every action, every rule predicate, the
 * evaluation order and the defaults, against policies the loader built from
 * files in temporary admin and vendor rules.d directories. Each case checks
 * the decision and the rule string that the audit record will carry. */

#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "policy.h"
#include "test-util.h"

typedef enum Fixture {
        SHIPPED,        /* policy/org.pidbroker.policy + ADMIN + VENDOR rules */
        CUSTOM,         /* test actions with every default + CUSTOM rules */
        _FIXTURE_MAX,
} Fixture;

static Policy *policies[_FIXTURE_MAX];
static char *tmp_root;
static char *admin_dir, *vendor_dir, *custom_dir;

/* Rule files. Line numbers matter: the expected rule strings name them. */
static const char admin_10_basic[] =
        "# one predicate per rule\n"                    /* 1 */
        "[Rule]\n"                                      /* 2 */
        "Action=org.pidbroker.spawn\n"
        "SubjectUser=666\n"
        "Result=deny\n"
        "\n"
        "[Rule]\n"                                      /* 7 */
        "Action=org.pidbroker.spawn-as-user\n"
        "SubjectUser=1100\n"
        "TargetUser=1101\n"
        "Result=allow\n"
        "\n"
        "[Rule]\n"                                      /* 13 */
        "Action=org.pidbroker.manage\n"
        "SubjectUser=1200\n"
        "IdentityPinned=yes\n"
        "Result=allow\n"
        "\n"
        "[Rule]\n"                                      /* 19 */
        "Action=org.pidbroker.getfd\n"
        "SubjectUser=1300\n"
        "FdType=socket, anon_inode:*\n"
        "Result=allow\n"
        "\n"
        "[Rule]\n"                                      /* 25 */
        "Action=org.pidbroker.getfd\n"
        "SubjectUser=1400\n"
        "TargetOwnedBySubject=yes\n"
        "Result=allow\n"
        "\n"
        "; group by name, resolved at load time\n"
        "[Rule]\n"                                      /* 32 */
        "Action=org.pidbroker.spawn-privileged\n"
        "SubjectGroup=root\n"
        "Result=allow\n";

static const char admin_20_order[] =
        "[Rule]\n"                                      /* 1 */
        "Action=org.pidbroker.signal-other-user\n"
        "SubjectUser=3000\n"
        "Signal=SIGKILL\n"
        "Result=deny\n"
        "\n"
        "[Rule]\n"                                      /* 7 */
        "Action=org.pidbroker.signal-*\n"
        "SubjectUser=3000\n"
        "Result=allow\n";

/* Sorted before vendor/40 and after vendor/15 although in the admin dir. */
static const char admin_25_late[] =
        "[Rule]\n"                                      /* 1 */
        "Action=org.pidbroker.signal-other-user\n"
        "SubjectUser=3100\n"
        "Result=allow\n";

static const char admin_30_ns[] =
        "[Rule]\n"                                      /* 1 */
        "Action=org.pidbroker.signal-cross-namespace\n"
        "SubjectUser=5000\n"
        "CrossNamespace=yes\n"
        "Result=allow\n"
        "\n"
        "[Rule]\n"                                      /* 7 */
        "Action=org.pidbroker.signal\n"
        "SubjectUser=5001\n"
        "CrossNamespace=no\n"
        "Result=deny\n"
        "\n"
        "[Rule]\n"                                      /* 13 */
        "Action=org.pidbroker.signal-cross-namespace\n"
        "TargetOwnedBySubject=yes\n"
        "SubjectUser=5002\n"
        "Result=deny\n";

static const char admin_50_debug[] =
        "# group 2000 (\"debuggers\") may take fds from same-uid targets\n"
        "[Rule]\n"                                      /* 2 */
        "Action=org.pidbroker.getfd\n"
        "SubjectGroup=2000\n"
        "TargetUser=same\n"
        "Result=allow\n";

static const char admin_60_names[] =
        "[Rule]\n"                                      /* 1 */
        "Action=org.pidbroker.spawn-as-user\n"
        "SubjectUser=1600\n"
        "TargetUser=daemon\n"
        "Result=allow\n";

static const char admin_70_root[] =
        "[Rule]\n"                                      /* 1 */
        "Action=org.pidbroker.getfd\n"
        "SubjectUser=0\n"
        "FdType=file\n"
        "Result=deny\n";

static const char admin_80_glob[] =
        "[Rule]\n"                                      /* 1 */
        "Action=org.pidbroker.spawn*\n"
        "SubjectUser=1700\n"
        "Result=allow\n";

static const char vendor_15_early[] =
        "[Rule]\n"                                      /* 1 */
        "Action=org.pidbroker.signal-other-user\n"
        "SubjectUser=3100\n"
        "Result=deny\n";

static const char vendor_40_vendor[] =
        "# signals by name, by number, real-time\n"
        "[Rule]\n"                                      /* 2 */
        "Action=org.pidbroker.signal-other-user\n"
        "SubjectUser=4000\n"
        "Signal=SIGUSR1 SIGRTMIN+1 15\n"
        "Result=allow\n"
        "\n"
        "[Rule]\n"                                      /* 8 */
        "Action=org.pidbroker.signal-other-user\n"
        "SubjectUser=4001\n"
        "TargetUser=other\n"
        "Result=allow\n";

/* Hidden by admin/50-debug.rules: would let uid 2100 do anything. */
static const char vendor_50_debug[] =
        "[Rule]\n"
        "Action=*\n"
        "SubjectUser=2100\n"
        "Result=allow\n";

static const char custom_actions[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!DOCTYPE policyconfig PUBLIC \"-//freedesktop//DTD PolicyKit Policy Configuration 1.0//EN\"\n"
        "        \"http://www.freedesktop.org/standards/PolicyKit/1/policyconfig.dtd\">\n"
        "<policyconfig>\n"
        "  <action id=\"org.pidbroker.test-no\"><description>x</description><message>x</message>\n"
        "    <defaults><allow_any>no</allow_any><allow_inactive>yes</allow_inactive><allow_active>yes</allow_active></defaults>\n"
        "  </action>\n"
        "  <action id=\"org.pidbroker.test-auth-self\"><description>x</description><message>x</message>\n"
        "    <defaults><allow_any>auth_self</allow_any></defaults>\n"
        "  </action>\n"
        "  <action id=\"org.pidbroker.test-auth-self-keep\"><description>x</description><message>x</message>\n"
        "    <defaults><allow_any> auth_self_keep </allow_any></defaults>\n"
        "  </action>\n"
        "  <action id=\"org.pidbroker.test-admin-keep\"><description>x</description><message>x</message>\n"
        "    <defaults><allow_any>auth_admin_keep</allow_any></defaults>\n"
        "  </action>\n"
        "  <action id=\"org.pidbroker.test-active-only\"><description>x</description><message>x</message>\n"
        "    <defaults><allow_active>yes</allow_active></defaults>\n"
        "  </action>\n"
        "  <action id=\"org.pidbroker.test-no-defaults\"><description>x</description><message>x</message>\n"
        "  </action>\n"
        "  <action id=\"org.pidbroker.test-own\"><description>x</description><message>x</message>\n"
        "    <defaults><allow_any>no</allow_any></defaults>\n"
        "    <annotate key=\"org.pidbroker.embedded.own-workload\">yes</annotate>\n"
        "  </action>\n"
        "</policyconfig>\n";

static const char custom_10[] =
        "[Rule]\n"                                      /* 1 */
        "Action=org.pidbroker.test-auth-self\n"
        "SubjectUser=1800\n"
        "Result=allow\n";

typedef struct Case {
        const char *name;
        Fixture fixture;
        const char *action;
        uid_t uid;
        gid_t gids[3];
        size_t n_gids;
        bool unpinned;          /* identity "bus-pid-unpinned" */
        bool ns_unknown;        /* subject namespace ids not known */
        bool has_target_uid;
        uid_t target_uid;
        bool own;
        bool cross;
        bool process;
        int signal;
        int rtmin_offset;       /* signal = SIGRTMIN + this: not a constant */
        const char *fd_type;

        bool allow;
        const char *rule;       /* "@A/", "@V/", "@C/" stand for the rules dirs */
} Case;

#define REQ_GETFD(u, t) .action = POLICY_ACTION_GETFD, .uid = (u), .process = true, \
        .has_target_uid = true, .target_uid = (t)
#define REQ_SIGNAL(a, u, t, s) .action = (a), .uid = (u), .process = true, \
        .has_target_uid = true, .target_uid = (t), .signal = (s)

static const Case cases[] = {
        /* spawn: default yes, a deny rule for one uid */
        { "spawn/default-yes", SHIPPED, POLICY_ACTION_SPAWN, .uid = 1000,
          .allow = true, .rule = "default:yes" },
        { "spawn/subject-uid-deny-rule", SHIPPED, POLICY_ACTION_SPAWN, .uid = 666,
          .allow = false, .rule = "@A/10-basic.rules:2" },
        { "spawn/root-default-yes", SHIPPED, POLICY_ACTION_SPAWN, .uid = 0,
          .allow = true, .rule = "default:yes" },

        /* spawn-as-user: auth_admin, target uid by number and by name */
        { "spawn-as-user/auth-admin-deny", SHIPPED, POLICY_ACTION_SPAWN_AS_USER, .uid = 1000,
          .has_target_uid = true, .target_uid = 1001, .allow = false, .rule = "default:auth_admin" },
        { "spawn-as-user/target-uid-match", SHIPPED, POLICY_ACTION_SPAWN_AS_USER, .uid = 1100,
          .has_target_uid = true, .target_uid = 1101, .allow = true, .rule = "@A/10-basic.rules:7" },
        { "spawn-as-user/target-uid-mismatch", SHIPPED, POLICY_ACTION_SPAWN_AS_USER, .uid = 1100,
          .has_target_uid = true, .target_uid = 1102, .allow = false, .rule = "default:auth_admin" },
        { "spawn-as-user/target-uid-missing", SHIPPED, POLICY_ACTION_SPAWN_AS_USER, .uid = 1100,
          .allow = false, .rule = "default:auth_admin" },
        { "spawn-as-user/target-user-by-name", SHIPPED, POLICY_ACTION_SPAWN_AS_USER, .uid = 1600,
          .has_target_uid = true, .target_uid = 1, .allow = true, .rule = "@A/60-names.rules:1" },
        { "spawn-as-user/target-user-by-name-other", SHIPPED, POLICY_ACTION_SPAWN_AS_USER, .uid = 1600,
          .has_target_uid = true, .target_uid = 2, .allow = false, .rule = "default:auth_admin" },
        { "spawn-as-user/root", SHIPPED, POLICY_ACTION_SPAWN_AS_USER, .uid = 0,
          .has_target_uid = true, .target_uid = 1000, .allow = true, .rule = "default:auth_admin:root" },
        { "spawn-as-user/action-glob", SHIPPED, POLICY_ACTION_SPAWN_AS_USER, .uid = 1700,
          .has_target_uid = true, .target_uid = 1000, .allow = true, .rule = "@A/80-glob.rules:1" },

        /* spawn-privileged: group membership (by name: root = gid 0) */
        { "spawn-privileged/group-member", SHIPPED, POLICY_ACTION_SPAWN_PRIVILEGED, .uid = 1500,
          .gids = { 1500, 0 }, .n_gids = 2, .allow = true, .rule = "@A/10-basic.rules:32" },
        { "spawn-privileged/group-non-member", SHIPPED, POLICY_ACTION_SPAWN_PRIVILEGED, .uid = 1500,
          .gids = { 1500, 27 }, .n_gids = 2, .allow = false, .rule = "default:auth_admin" },
        { "spawn-privileged/action-glob", SHIPPED, POLICY_ACTION_SPAWN_PRIVILEGED, .uid = 1700,
          .allow = true, .rule = "@A/80-glob.rules:1" },
        { "spawn-privileged/root", SHIPPED, POLICY_ACTION_SPAWN_PRIVILEGED, .uid = 0,
          .allow = true, .rule = "default:auth_admin:root" },

        /* signal: default yes; CrossNamespace=no deny rule */
        { "signal/default-yes", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL, 1000, 1000, SIGTERM),
          .allow = true, .rule = "default:yes" },
        { "signal/cross-namespace-no-matches", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL, 5001, 5001, SIGTERM),
          .allow = false, .rule = "@A/30-ns.rules:7" },
        { "signal/cross-namespace-no-mismatch", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL, 5001, 5001, SIGTERM),
          .cross = true, .allow = true, .rule = "default:yes" },
        { "signal/cross-namespace-unpinned-deny-rule-matches", SHIPPED,
          REQ_SIGNAL(POLICY_ACTION_SIGNAL, 5001, 5001, SIGTERM),
          .unpinned = true, .allow = false, .rule = "@A/30-ns.rules:7" },

        /* signal-other-user: signals, TargetUser=other, first match wins */
        { "signal-other-user/auth-admin-deny", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL_OTHER_USER, 1000, 1001, SIGTERM),
          .allow = false, .rule = "default:auth_admin" },
        { "signal-other-user/root", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL_OTHER_USER, 0, 1001, SIGKILL),
          .allow = true, .rule = "default:auth_admin:root" },
        { "signal-other-user/signal-by-name", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL_OTHER_USER, 4000, 1001, SIGUSR1),
          .allow = true, .rule = "@V/40-vendor.rules:2" },
        { "signal-other-user/signal-by-number", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL_OTHER_USER, 4000, 1001, 15),
          .allow = true, .rule = "@V/40-vendor.rules:2" },
        { "signal-other-user/signal-realtime", SHIPPED,
          REQ_SIGNAL(POLICY_ACTION_SIGNAL_OTHER_USER, 4000, 1001, 0), .rtmin_offset = 1,
          .allow = true, .rule = "@V/40-vendor.rules:2" },
        { "signal-other-user/signal-not-listed", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL_OTHER_USER, 4000, 1001, SIGKILL),
          .allow = false, .rule = "default:auth_admin" },
        { "signal-other-user/signal-none", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL_OTHER_USER, 4000, 1001, 0),
          .allow = false, .rule = "default:auth_admin" },
        { "signal-other-user/target-other", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL_OTHER_USER, 4001, 4002, SIGTERM),
          .allow = true, .rule = "@V/40-vendor.rules:8" },
        { "signal-other-user/target-other-is-same", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL_OTHER_USER, 4001, 4001, SIGTERM),
          .allow = false, .rule = "default:auth_admin" },
        { "signal-other-user/first-match-deny", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL_OTHER_USER, 3000, 1001, SIGKILL),
          .allow = false, .rule = "@A/20-order.rules:1" },
        { "signal-other-user/first-match-falls-through", SHIPPED,
          REQ_SIGNAL(POLICY_ACTION_SIGNAL_OTHER_USER, 3000, 1001, SIGTERM),
          .allow = true, .rule = "@A/20-order.rules:7" },
        { "signal-other-user/order-across-dirs", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL_OTHER_USER, 3100, 1001, SIGTERM),
          .allow = false, .rule = "@V/15-early.rules:1" },

        /* signal-cross-namespace: CrossNamespace=yes needs a pinned fact */
        { "signal-cross-namespace/rule-pinned", SHIPPED,
          REQ_SIGNAL(POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, 5000, 5000, SIGTERM),
          .cross = true, .allow = true, .rule = "@A/30-ns.rules:1" },
        { "signal-cross-namespace/rule-not-cross", SHIPPED,
          REQ_SIGNAL(POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, 5000, 5000, SIGTERM),
          .allow = false, .rule = "default:auth_admin" },
        { "signal-cross-namespace/rule-unpinned", SHIPPED,
          REQ_SIGNAL(POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, 5000, 5000, SIGTERM),
          .cross = true, .unpinned = true, .allow = false, .rule = "default:auth_admin" },
        { "signal-cross-namespace/rule-namespaces-unknown", SHIPPED,
          REQ_SIGNAL(POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, 5000, 5000, SIGTERM),
          .cross = true, .ns_unknown = true, .allow = false, .rule = "default:auth_admin" },
        { "signal-cross-namespace/rule-no-process", SHIPPED, POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, .uid = 5000,
          .cross = true, .signal = SIGTERM, .allow = false, .rule = "default:auth_admin" },
        { "signal-cross-namespace/builtin-own-workload", SHIPPED,
          REQ_SIGNAL(POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, 4242, 4242, SIGTERM),
          .cross = true, .own = true, .allow = true, .rule = "builtin:own-workload" },
        { "signal-cross-namespace/builtin-own-workload-unpinned", SHIPPED,
          REQ_SIGNAL(POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, 4242, 4242, SIGTERM),
          .cross = true, .own = true, .unpinned = true, .allow = true, .rule = "builtin:own-workload" },
        { "signal-cross-namespace/not-own-workload", SHIPPED,
          REQ_SIGNAL(POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, 4242, 4242, SIGTERM),
          .cross = true, .allow = false, .rule = "default:auth_admin" },
        { "signal-cross-namespace/rule-before-builtin", SHIPPED,
          REQ_SIGNAL(POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, 5002, 5002, SIGTERM),
          .cross = true, .own = true, .allow = false, .rule = "@A/30-ns.rules:13" },
        { "signal-cross-namespace/root", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, 0, 1000, SIGTERM),
          .cross = true, .allow = true, .rule = "default:auth_admin:root" },
        { "signal-cross-namespace/glob", SHIPPED, REQ_SIGNAL(POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, 3000, 1001, SIGKILL),
          .cross = true, .allow = true, .rule = "@A/20-order.rules:7" },

        /* getfd: fd type, ownership, group + same uid, admin overrides vendor */
        { "getfd/auth-admin-deny", SHIPPED, REQ_GETFD(1000, 1000), .fd_type = "socket",
          .allow = false, .rule = "default:auth_admin" },
        { "getfd/fd-type-exact", SHIPPED, REQ_GETFD(1300, 1000), .fd_type = "socket",
          .allow = true, .rule = "@A/10-basic.rules:19" },
        { "getfd/fd-type-prefix", SHIPPED, REQ_GETFD(1300, 1000), .fd_type = "anon_inode:[eventfd]",
          .allow = true, .rule = "@A/10-basic.rules:19" },
        { "getfd/fd-type-mismatch", SHIPPED, REQ_GETFD(1300, 1000), .fd_type = "pipe",
          .allow = false, .rule = "default:auth_admin" },
        { "getfd/fd-type-unknown", SHIPPED, REQ_GETFD(1300, 1000),
          .allow = false, .rule = "default:auth_admin" },
        { "getfd/owned-workload", SHIPPED, REQ_GETFD(1400, 1400), .own = true, .fd_type = "file",
          .allow = true, .rule = "@A/10-basic.rules:25" },
        { "getfd/not-owned-workload", SHIPPED, REQ_GETFD(1400, 1400), .fd_type = "file",
          .allow = false, .rule = "default:auth_admin" },
        { "getfd/group-same-uid", SHIPPED, REQ_GETFD(2001, 2001), .gids = { 2001, 2000 }, .n_gids = 2,
          .fd_type = "file", .allow = true, .rule = "@A/50-debug.rules:2" },
        { "getfd/group-other-uid", SHIPPED, REQ_GETFD(2001, 2002), .gids = { 2001, 2000 }, .n_gids = 2,
          .fd_type = "file", .allow = false, .rule = "default:auth_admin" },
        { "getfd/non-member-same-uid", SHIPPED, REQ_GETFD(2003, 2003), .gids = { 2003 }, .n_gids = 1,
          .fd_type = "file", .allow = false, .rule = "default:auth_admin" },
        { "getfd/vendor-file-overridden", SHIPPED, REQ_GETFD(2100, 2100), .fd_type = "file",
          .allow = false, .rule = "default:auth_admin" },
        { "getfd/root", SHIPPED, REQ_GETFD(0, 1000), .fd_type = "socket",
          .allow = true, .rule = "default:auth_admin:root" },
        { "getfd/root-deny-rule", SHIPPED, REQ_GETFD(0, 1000), .fd_type = "file",
          .allow = false, .rule = "@A/70-root.rules:1" },

        /* manage: identity strength */
        { "manage/auth-admin-deny", SHIPPED, POLICY_ACTION_MANAGE, .uid = 1000,
          .has_target_uid = true, .target_uid = 1001, .allow = false, .rule = "default:auth_admin" },
        { "manage/identity-pinned", SHIPPED, POLICY_ACTION_MANAGE, .uid = 1200,
          .has_target_uid = true, .target_uid = 1001, .allow = true, .rule = "@A/10-basic.rules:13" },
        { "manage/identity-unpinned", SHIPPED, POLICY_ACTION_MANAGE, .uid = 1200, .unpinned = true,
          .has_target_uid = true, .target_uid = 1001, .allow = false, .rule = "default:auth_admin" },
        { "manage/root-unpinned", SHIPPED, POLICY_ACTION_MANAGE, .uid = 0, .unpinned = true,
          .allow = true, .rule = "default:auth_admin:root" },

        /* unknown actions deny, whatever the globs and the uid */
        { "unknown/plain", SHIPPED, "org.pidbroker.nope", .uid = 1000,
          .allow = false, .rule = "unknown-action" },
        { "unknown/glob-would-match", SHIPPED, "org.pidbroker.spawnx", .uid = 1700,
          .allow = false, .rule = "unknown-action" },
        { "unknown/root", SHIPPED, "org.freedesktop.login1.reboot", .uid = 0,
          .allow = false, .rule = "unknown-action" },

        /* every default value, and root against each */
        { "default/no", CUSTOM, "org.pidbroker.test-no", .uid = 1000,
          .allow = false, .rule = "default:no" },
        { "default/no-root", CUSTOM, "org.pidbroker.test-no", .uid = 0,
          .allow = false, .rule = "default:no" },
        { "default/auth-self", CUSTOM, "org.pidbroker.test-auth-self", .uid = 1000,
          .allow = false, .rule = "default:auth_self" },
        { "default/auth-self-rule", CUSTOM, "org.pidbroker.test-auth-self", .uid = 1800,
          .allow = true, .rule = "@C/10.rules:1" },
        { "default/auth-self-root", CUSTOM, "org.pidbroker.test-auth-self", .uid = 0,
          .allow = true, .rule = "default:auth_self:root" },
        { "default/auth-self-keep", CUSTOM, "org.pidbroker.test-auth-self-keep", .uid = 1000,
          .allow = false, .rule = "default:auth_self_keep" },
        { "default/auth-admin-keep", CUSTOM, "org.pidbroker.test-admin-keep", .uid = 1000,
          .allow = false, .rule = "default:auth_admin_keep" },
        { "default/auth-admin-keep-root", CUSTOM, "org.pidbroker.test-admin-keep", .uid = 0,
          .allow = true, .rule = "default:auth_admin_keep:root" },
        { "default/allow-active-fallback", CUSTOM, "org.pidbroker.test-active-only", .uid = 1000,
          .allow = true, .rule = "default:yes" },
        { "default/no-defaults", CUSTOM, "org.pidbroker.test-no-defaults", .uid = 1000,
          .allow = false, .rule = "default:no" },
        { "default/annotation-own-workload", CUSTOM, "org.pidbroker.test-own", .uid = 1000,
          .own = true, .allow = true, .rule = "builtin:own-workload" },
        { "default/annotation-not-own", CUSTOM, "org.pidbroker.test-own", .uid = 1000,
          .allow = false, .rule = "default:no" },
};

static char *expand_rule(const char *rule) {
        if (g_str_has_prefix(rule, "@A/"))
                return g_build_filename(admin_dir, rule + 3, NULL);
        if (g_str_has_prefix(rule, "@V/"))
                return g_build_filename(vendor_dir, rule + 3, NULL);
        if (g_str_has_prefix(rule, "@C/"))
                return g_build_filename(custom_dir, rule + 3, NULL);
        return g_strdup(rule);
}

static void build_request(const Case *c, PolicyRequest *req) {
        *req = (PolicyRequest) {
                .action = c->action,
                .subject = {
                        .uid = c->uid,
                        .gids = c->n_gids > 0 ? c->gids : NULL,
                        .n_gids = c->n_gids,
                        .identity_pinned = !c->unpinned,
                        .pidns = c->ns_unknown ? 0 : 4026531836,
                        .userns = c->ns_unknown ? 0 : 4026531837,
                },
                .target = {
                        .has_uid = c->has_target_uid,
                        .uid = c->target_uid,
                        .is_own_workload = c->own,
                        .cross_namespace = c->cross,
                        .has_process = c->process,
                },
                .details = {
                        .signal = c->signal,
                        .fd_type = c->fd_type,
                },
        };
        if (c->rtmin_offset > 0)
                req->details.signal = SIGRTMIN + c->rtmin_offset;
}

static void test_case(gconstpointer data) {
        const Case *c = data;
        g_autofree char *want_rule = expand_rule(c->rule);
        PolicyRequest req;
        PolicyDecision d = { .allow = !c->allow };

        build_request(c, &req);
        g_assert_cmpint(policy_check(policies[c->fixture], &req, &d), ==, 0);
        g_assert_nonnull(d.rule);
        g_assert_cmpstr(d.rule, ==, want_rule);
        g_assert_cmpint(d.allow, ==, c->allow);
}

/* Malformed requests and a missing policy deny, whatever else they say. */
static void test_errors_deny(void) {
        const gid_t gids[] = { 0 };
        PolicyRequest ok = {
                .action = POLICY_ACTION_SPAWN,
                .subject = { .uid = 1000, .identity_pinned = true },
        };
        PolicyRequest req;
        PolicyDecision d;

        d = (PolicyDecision) { .allow = true };
        g_assert_cmpint(policy_check(NULL, &ok, &d), ==, -EINVAL);
        g_assert_false(d.allow);
        g_assert_cmpstr(d.rule, ==, "error:no-policy");

        d = (PolicyDecision) { .allow = true };
        g_assert_cmpint(policy_check(policies[SHIPPED], NULL, &d), ==, -EINVAL);
        g_assert_false(d.allow);
        g_assert_cmpstr(d.rule, ==, "error:invalid-request");

        /* An identity that was never set must not become root's or anyone's. */
        req = ok;
        req.subject.uid = (uid_t) -1;
        d = (PolicyDecision) { .allow = true };
        g_assert_cmpint(policy_check(policies[SHIPPED], &req, &d), ==, -EINVAL);
        g_assert_false(d.allow);
        g_assert_cmpstr(d.rule, ==, "error:invalid-request");

        req = ok;
        req.action = NULL;
        d = (PolicyDecision) { .allow = true };
        g_assert_cmpint(policy_check(policies[SHIPPED], &req, &d), ==, -EINVAL);
        g_assert_false(d.allow);

        req = ok;
        req.action = "";
        d = (PolicyDecision) { .allow = true };
        g_assert_cmpint(policy_check(policies[SHIPPED], &req, &d), ==, -EINVAL);
        g_assert_false(d.allow);

        req = ok;
        req.subject.n_gids = 1;
        d = (PolicyDecision) { .allow = true };
        g_assert_cmpint(policy_check(policies[SHIPPED], &req, &d), ==, -EINVAL);
        g_assert_false(d.allow);

        req = ok;
        req.target.has_uid = true;
        req.target.uid = (uid_t) -1;
        d = (PolicyDecision) { .allow = true };
        g_assert_cmpint(policy_check(policies[SHIPPED], &req, &d), ==, -EINVAL);
        g_assert_false(d.allow);

        req = ok;
        req.details.signal = -1;
        d = (PolicyDecision) { .allow = true };
        g_assert_cmpint(policy_check(policies[SHIPPED], &req, &d), ==, -EINVAL);
        g_assert_false(d.allow);

        /* The well-formed base request is allowed: the denials above are
         * the errors', not the request's. */
        req = ok;
        req.subject.gids = gids;
        req.subject.n_gids = 1;
        g_assert_cmpint(policy_check(policies[SHIPPED], &req, &d), ==, 0);
        g_assert_true(d.allow);

        g_assert_cmpint(policy_check(policies[SHIPPED], &ok, NULL), ==, -EINVAL);
}

static void test_builtin_only(void) {
        PolicyRequest req = {
                .action = POLICY_ACTION_SIGNAL_CROSS_NAMESPACE,
                .subject = { .uid = 5002, .identity_pinned = true, .pidns = 1, .userns = 2 },
                .target = { .has_uid = true, .uid = 5002, .is_own_workload = true,
                            .cross_namespace = true, .has_process = true },
                .details = { .signal = SIGTERM },
        };
        const char *rule = NULL;

        /* The polkit backend's shortcut ignores rules.d (5002 has a deny rule). */
        g_assert_true(policy_check_builtin(policies[SHIPPED], &req, &rule));
        g_assert_cmpstr(rule, ==, "builtin:own-workload");

        rule = NULL;
        req.target.is_own_workload = false;
        g_assert_false(policy_check_builtin(policies[SHIPPED], &req, &rule));
        g_assert_null(rule);

        req.target.is_own_workload = true;
        req.action = POLICY_ACTION_GETFD;
        g_assert_false(policy_check_builtin(policies[SHIPPED], &req, &rule));
        req.action = "org.pidbroker.nope";
        g_assert_false(policy_check_builtin(policies[SHIPPED], &req, &rule));
        g_assert_false(policy_check_builtin(NULL, &req, &rule));
}

/* Every action the method table names is declared, and every method of
 * the D-Bus contract that needs authority is in it. */
static void test_method_table(void) {
        static const char *const required[][2] = {
                { "org.pidbroker.Broker1", "Spawn" },
                { "org.pidbroker.Broker1", "Signal" },
                { "org.pidbroker.Broker1", "GetFd" },
                { "org.pidbroker.Workload1", "Signal" },
                { "org.pidbroker.Workload1", "GetPidfd" },
                { "org.pidbroker.Workload1", "Stop" },
                { "org.pidbroker.Workload1", "Wait" },
                { "org.pidbroker.Workload1", "Release" },
        };
        const PolicyMethodAction *t;
        size_t n = 0;

        t = policy_method_actions(&n);
        g_assert_nonnull(t);
        g_assert_cmpuint(n, >, 0);
        for (size_t i = 0; i < n; i++) {
                g_assert_nonnull(t[i].interface);
                g_assert_nonnull(t[i].member);
                g_assert_nonnull(t[i].when);
                g_assert_nonnull(t[i].action);
                g_assert_cmpint(policy_action_default(policies[SHIPPED], t[i].action, NULL), ==, 0);
        }
        for (size_t r = 0; r < G_N_ELEMENTS(required); r++) {
                bool found = false;

                for (size_t i = 0; i < n && !found; i++)
                        found = strcmp(t[i].interface, required[r][0]) == 0 &&
                                strcmp(t[i].member, required[r][1]) == 0;
                if (!found)
                        g_error("%s.%s missing from the method table", required[r][0], required[r][1]);
        }
        /* Each of the 9 actions is asked by some method. */
        for (size_t a = 0; a < policy_n_actions(policies[SHIPPED]); a++) {
                const char *id = policy_action_id(policies[SHIPPED], a);
                bool found = false;

                for (size_t i = 0; i < n && !found; i++)
                        found = strcmp(t[i].action, id) == 0;
                if (!found)
                        g_error("no method asks %s", id);
        }
}

static const char *source_root(void);

/* pidbroker-rules(5) prints the same table, row for row. */
static void test_method_table_documented(void) {
        g_autofree char *path = g_build_filename(source_root(), "man", "pidbroker-rules.5.scd", NULL);
        g_autofree char *page = NULL;
        g_autoptr(GError) error = NULL;
        const PolicyMethodAction *t;
        size_t n = 0;

        if (!g_file_get_contents(path, &page, NULL, &error))
                g_error("%s: %s", path, error->message);
        t = policy_method_actions(&n);
        for (size_t i = 0; i < n; i++) {
                const char *iface = strrchr(t[i].interface, '.') + 1;
                g_autofree char *row = g_strdup_printf("|  %s.%s\n:  %s\n:  %s\n",
                                                       iface, t[i].member, t[i].action, t[i].when);

                if (!strstr(page, row))
                        g_error("%s lacks the row:\n%s", path, row);
        }
}

static void write_rules(const char *dir, const char *name, const char *content) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autoptr(GError) error = NULL;

        if (!g_file_set_contents(path, content, -1, &error))
                g_error("%s: %s", path, error->message);
        /* The loader refuses group- or world-writable rules. */
        g_assert_cmpint(g_chmod(path, 0644), ==, 0);
}

static Policy *load_or_die(const char *actions, const char *const *dirs) {
        g_autofree char *error = NULL;
        Policy *p = NULL;
        int r;

        r = policy_load(&p, actions, dirs, &error);
        if (r < 0)
                g_error("policy_load(%s): %s: %s", actions, g_strerror(-r), error ?: "(no message)");
        g_assert_null(error);
        g_assert_nonnull(p);
        return p;
}

static const char *source_root(void) {
        const char *e = getenv("PIDBROKER_SOURCE_ROOT");
        return e && *e ? e : PIDBROKER_SOURCE_ROOT;
}

static void setup(void) {
        g_autoptr(GError) error = NULL;
        g_autofree char *shipped = g_build_filename(source_root(), "policy", "org.pidbroker.policy", NULL);
        g_autofree char *custom_actions_path = NULL;

        tmp_root = g_dir_make_tmp("test-policy-XXXXXX", &error);
        if (!tmp_root)
                g_error("g_dir_make_tmp: %s", error->message);
        admin_dir = g_build_filename(tmp_root, "etc", NULL);
        vendor_dir = g_build_filename(tmp_root, "usr", NULL);
        custom_dir = g_build_filename(tmp_root, "custom", NULL);
        g_assert_cmpint(g_mkdir(admin_dir, 0755), ==, 0);
        g_assert_cmpint(g_mkdir(vendor_dir, 0755), ==, 0);
        g_assert_cmpint(g_mkdir(custom_dir, 0755), ==, 0);

        write_rules(admin_dir, "10-basic.rules", admin_10_basic);
        write_rules(admin_dir, "20-order.rules", admin_20_order);
        write_rules(admin_dir, "25-late.rules", admin_25_late);
        write_rules(admin_dir, "30-ns.rules", admin_30_ns);
        write_rules(admin_dir, "50-debug.rules", admin_50_debug);
        write_rules(admin_dir, "60-names.rules", admin_60_names);
        write_rules(admin_dir, "70-root.rules", admin_70_root);
        write_rules(admin_dir, "80-glob.rules", admin_80_glob);
        /* Not rules files: never read. */
        write_rules(admin_dir, "README", "this is not a rule\n");
        write_rules(admin_dir, ".hidden.rules", "[Rule]\nAction=*\nResult=allow\n");
        write_rules(admin_dir, "90-backup.rules~", "[Rule]\nAction=*\nResult=allow\n");
        write_rules(vendor_dir, "15-early.rules", vendor_15_early);
        write_rules(vendor_dir, "40-vendor.rules", vendor_40_vendor);
        write_rules(vendor_dir, "50-debug.rules", vendor_50_debug);

        custom_actions_path = g_build_filename(tmp_root, "custom.policy", NULL);
        write_rules(tmp_root, "custom.policy", custom_actions);
        write_rules(custom_dir, "10.rules", custom_10);

        {
                const char *const dirs[] = { admin_dir, vendor_dir, NULL };
                const char *const cdirs[] = { custom_dir, NULL };

                policies[SHIPPED] = load_or_die(shipped, dirs);
                policies[CUSTOM] = load_or_die(custom_actions_path, cdirs);
        }
        /* 6 + 2 + 1 + 3 + 1 + 1 + 1 + 1 admin, 1 + 2 vendor (50-debug hidden) */
        g_assert_cmpuint(policy_n_rules(policies[SHIPPED]), ==, 19);
}

static void rm_rf(const char *path) {
        GDir *d = g_dir_open(path, 0, NULL);
        const char *name;

        if (d) {
                while ((name = g_dir_read_name(d))) {
                        g_autofree char *child = g_build_filename(path, name, NULL);
                        rm_rf(child);
                }
                g_dir_close(d);
        }
        (void) g_remove(path);
}

int main(int argc, char **argv) {
        int r;

        g_test_init(&argc, &argv, NULL);
        setup();

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *path = g_strdup_printf("/policy/check/%s", cases[i].name);
                g_test_add_data_func(path, &cases[i], test_case);
        }
        g_test_add_func("/policy/errors-deny", test_errors_deny);
        g_test_add_func("/policy/builtin-only", test_builtin_only);
        g_test_add_func("/policy/method-table", test_method_table);
        g_test_add_func("/policy/method-table-documented", test_method_table_documented);

        r = g_test_run();

        for (int f = 0; f < _FIXTURE_MAX; f++)
                policy_free(policies[f]);
        rm_rf(tmp_root);
        g_free(tmp_root);
        g_free(admin_dir);
        g_free(vendor_dir);
        g_free(custom_dir);
        return r;
}
