/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Building a Policy: the polkit .policy XML (libexpat), the rules.d files
 * (inih), user and group names (NSS). All of the engine's I/O is here.
 * Any error fails the whole load: a half-read policy could lack the deny
 * rule that mattered. */

#include <dirent.h>
#include <expat.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "expat-dlopen.h"
#include "macro.h"
#include "policy-internal.h"
#include "signal-util.h"
#include "user-util.h"

#define ACTIONS_FILE_MAX (1024 * 1024)
#define ACTIONS_VALUE_MAX 64
#define ACTION_ID_MAX 255
#define RULE_SECTION "Rule"

/* reallocarray() one more element onto array; 0 or -ENOMEM. */
#define APPEND(array, n, value)                                                 \
        ({                                                                      \
                __typeof__(array) _a_ = reallocarray((array), (n) + 1, sizeof(*(array))); \
                int _r_ = -ENOMEM;                                              \
                if (_a_) {                                                      \
                        (array) = _a_;                                          \
                        _a_[(n)++] = (value);                                   \
                        _r_ = 0;                                                \
                }                                                               \
                _r_;                                                            \
        })

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

/* Keep the first error only: it is the one that explains the rest. */
_printf_(3, 0)
static int load_verror(char **error, int r, const char *fmt, va_list ap) {
        if (error && !*error && vasprintf(error, fmt, ap) < 0)
                *error = NULL;
        return r;
}

_printf_(3, 4)
static int load_error(char **error, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        load_verror(error, r, fmt, ap);
        va_end(ap);
        return r;
}

static bool parse_boolean(const char *s, bool *ret) {
        if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0) {
                *ret = true;
                return true;
        }
        if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0) {
                *ret = false;
                return true;
        }
        return false;
}

/* ---- the polkit .policy file ---------------------------------------- */

enum {
        DEFAULT_ANY,
        DEFAULT_INACTIVE,
        DEFAULT_ACTIVE,
        _DEFAULT_KIND_MAX,
};

static const char *const default_elements[_DEFAULT_KIND_MAX] = {
        [DEFAULT_ANY]      = "allow_any",
        [DEFAULT_INACTIVE] = "allow_inactive",
        [DEFAULT_ACTIVE]   = "allow_active",
};

typedef struct ActionsParser {
        const Expat *expat;
        XML_Parser xml;
        Policy *policy;
        const char *path;
        char **error;
        int r;

        unsigned depth;
        bool in_action;
        bool in_defaults;
        PolicyDefault defaults[_DEFAULT_KIND_MAX];
        bool own_workload;

        /* Text of the allow_* or annotate element being read. */
        unsigned collect_depth; /* 0 = not collecting */
        int collect_kind;       /* DEFAULT_* or -1 for annotate */
        char *annotate_key;
        char text[ACTIONS_VALUE_MAX + 1];
        size_t n_text;
} ActionsParser;

_printf_(3, 4)
static int actions_fail(ActionsParser *p, int r, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        if (p->r < 0)
                return p->r;
        va_start(ap, fmt);
        load_verror(&msg, r, fmt, ap);
        va_end(ap);
        load_error(p->error, r, "%s:%lu: %s", p->path,
                   (unsigned long) p->expat->GetCurrentLineNumber(p->xml), msg ?: "out of memory");
        p->r = r;
        p->expat->StopParser(p->xml, XML_FALSE);
        return r;
}

static const char *xml_attr(const XML_Char **attrs, const char *name) {
        for (size_t i = 0; attrs[i]; i += 2)
                if (strcmp(attrs[i], name) == 0)
                        return attrs[i + 1];
        return NULL;
}

static bool action_id_is_valid(const char *id) {
        size_t n = strlen(id);

        /* polkit's own charset for action ids. */
        return n > 0 && n <= ACTION_ID_MAX &&
                strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n;
}

static int actions_begin_action(ActionsParser *p, const XML_Char **attrs) {
        const char *id = xml_attr(attrs, "id");
        PolicyAction a = {};
        char *copy;

        if (!id || !action_id_is_valid(id))
                return actions_fail(p, -EINVAL, "<action> without a valid id (lowercase letters, digits, '.', '-')");
        for (size_t i = 0; i < p->policy->n_actions; i++)
                if (strcmp(p->policy->actions[i].id, id) == 0)
                        return actions_fail(p, -EINVAL, "action %s declared twice", id);

        copy = strdup(id);
        if (!copy)
                return actions_fail(p, -ENOMEM, "out of memory");
        a.id = copy;
        if (APPEND(p->policy->actions, p->policy->n_actions, a) < 0) {
                free(copy);
                return actions_fail(p, -ENOMEM, "out of memory");
        }

        p->in_action = true;
        p->own_workload = false;
        for (int k = 0; k < _DEFAULT_KIND_MAX; k++)
                p->defaults[k] = _POLICY_DEFAULT_INVALID;
        return 0;
}

static void actions_end_action(ActionsParser *p) {
        PolicyAction *a = &p->policy->actions[p->policy->n_actions - 1];

        /* A daemon's callers have no session to be active in, so allow_any
         * is the default that applies; allow_active stands in for a file
         * that leaves allow_any out, and polkit's own "no" for neither. */
        if (p->defaults[DEFAULT_ANY] >= 0)
                a->def = p->defaults[DEFAULT_ANY];
        else if (p->defaults[DEFAULT_ACTIVE] >= 0)
                a->def = p->defaults[DEFAULT_ACTIVE];
        else
                a->def = POLICY_DEFAULT_NO;
        a->own_workload = p->own_workload;
        p->in_action = false;
}

static int actions_start(ActionsParser *p, unsigned d, const XML_Char *name, const XML_Char **attrs) {
        if (p->collect_depth > 0)
                return actions_fail(p, -EINVAL, "unexpected <%s> inside a value", name);

        if (d == 0) {
                if (strcmp(name, "policyconfig") != 0)
                        return actions_fail(p, -EINVAL, "root element is <%s>, not <policyconfig>", name);
        } else if (d == 1 && strcmp(name, "action") == 0)
                return actions_begin_action(p, attrs);
        else if (d == 2 && p->in_action && strcmp(name, "defaults") == 0)
                p->in_defaults = true;
        else if (d == 2 && p->in_action && strcmp(name, "annotate") == 0) {
                const char *key = xml_attr(attrs, "key");

                if (!key)
                        return actions_fail(p, -EINVAL, "<annotate> without a key");
                free(p->annotate_key);
                p->annotate_key = strdup(key);
                if (!p->annotate_key)
                        return actions_fail(p, -ENOMEM, "out of memory");
                p->collect_depth = p->depth;
                p->collect_kind = -1;
                p->n_text = 0;
        } else if (d == 3 && p->in_defaults) {
                for (int k = 0; k < _DEFAULT_KIND_MAX; k++)
                        if (strcmp(name, default_elements[k]) == 0) {
                                if (p->defaults[k] >= 0)
                                        return actions_fail(p, -EINVAL, "<%s> given twice", name);
                                p->collect_depth = p->depth;
                                p->collect_kind = k;
                                p->n_text = 0;
                                return 0;
                        }
                return actions_fail(p, -EINVAL, "unknown element <%s> in <defaults>", name);
        }
        /* Anything else (description, message, vendor, ...) is polkit's. */
        return 0;
}

static void actions_start_element(void *userdata, const XML_Char *name, const XML_Char **attrs) {
        ActionsParser *p = userdata;
        unsigned d = p->depth++;

        if (p->r >= 0)
                (void) actions_start(p, d, name, attrs);
}

static char *strip(char *s) {
        size_t n;

        s += strspn(s, " \t\r\n");
        n = strlen(s);
        while (n > 0 && strchr(" \t\r\n", s[n - 1]))
                s[--n] = '\0';
        return s;
}

static int actions_end_value(ActionsParser *p, const char *name) {
        char *value;

        p->text[p->n_text] = '\0';
        value = strip(p->text);

        if (p->collect_kind >= 0) {
                PolicyDefault d = policy_default_from_string(value);

                if (d < 0)
                        return actions_fail(p, -EINVAL, "<%s> is \"%s\", not one of no, yes, auth_self, "
                                            "auth_self_keep, auth_admin, auth_admin_keep", name, value);
                p->defaults[p->collect_kind] = d;
        } else if (strcmp(p->annotate_key, POLICY_ANNOTATION_OWN_WORKLOAD) == 0) {
                if (!parse_boolean(value, &p->own_workload))
                        return actions_fail(p, -EINVAL, "annotation %s is \"%s\", not yes or no",
                                            POLICY_ANNOTATION_OWN_WORKLOAD, value);
        }
        return 0;
}

static void actions_end_element(void *userdata, const XML_Char *name) {
        ActionsParser *p = userdata;
        unsigned d = --p->depth;

        if (p->r < 0)
                return;
        if (p->collect_depth > 0 && d + 1 == p->collect_depth) {
                (void) actions_end_value(p, name);
                p->collect_depth = 0;
        } else if (d == 2 && p->in_defaults && strcmp(name, "defaults") == 0)
                p->in_defaults = false;
        else if (d == 1 && p->in_action && strcmp(name, "action") == 0)
                actions_end_action(p);
}

static void actions_text(void *userdata, const XML_Char *s, int len) {
        ActionsParser *p = userdata;

        if (p->r < 0 || p->collect_depth == 0 || len <= 0)
                return;
        if ((size_t) len > ACTIONS_VALUE_MAX - p->n_text) {
                (void) actions_fail(p, -EINVAL, "value longer than %d bytes", ACTIONS_VALUE_MAX);
                return;
        }
        memcpy(p->text + p->n_text, s, len);
        p->n_text += len;
}

static void actions_entity_decl(void *userdata, const XML_Char *name, int is_parameter_entity,
                                const XML_Char *value, int value_length, const XML_Char *base,
                                const XML_Char *system_id, const XML_Char *public_id,
                                const XML_Char *notation_name) {
        /* No .policy needs entities; refusing them rules out expansion bombs. */
        (void) actions_fail(userdata, -EINVAL, "entity declarations are not allowed");
}

/* Whoever can write the actions file or a rule owns the broker's
 * authority: the defaults decide as much as the rules do. */
static int check_trusted_file(const struct stat *st, const char *path, char **error) {
        if (st->st_uid != 0 && st->st_uid != geteuid())
                return load_error(error, -EPERM, "%s: owned by uid %u, not root", path, (unsigned) st->st_uid);
        if ((st->st_mode & S_IWOTH) || ((st->st_mode & S_IWGRP) && st->st_gid != 0))
                return load_error(error, -EPERM, "%s: writable by group or others", path);
        return 0;
}

static int load_actions(Policy *policy, const char *path, char **error) {
        _cleanup_(expat_close) Expat expat = {};
        _cleanup_close_ int fd = -EBADF;
        const char *why = NULL;
        struct stat st;
        ActionsParser p = {
                .policy = policy,
                .path = path,
                .error = error,
        };
        size_t total = 0;
        int r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = negative_errno();
                return load_error(error, r, "%s: cannot open: %s", path, strerror(-r));
        }
        if (!S_ISREG(st.st_mode))
                return load_error(error, -EINVAL, "%s: not a regular file", path);
        /* Checked like a rules file: "<allow_any>yes" grants as a rule would. */
        r = check_trusted_file(&st, path, error);
        if (r < 0)
                return r;

        r = expat_open(&expat, &why);
        if (r < 0)
                return load_error(error, r, "%s: cannot load libexpat: %s", path, why ?: "?");
        p.expat = &expat;
        p.xml = expat.ParserCreate("UTF-8");
        if (!p.xml)
                return load_error(error, -ENOMEM, "%s: out of memory", path);
        expat.SetUserData(p.xml, &p);
        expat.SetElementHandler(p.xml, actions_start_element, actions_end_element);
        expat.SetCharacterDataHandler(p.xml, actions_text);
        expat.SetEntityDeclHandler(p.xml, actions_entity_decl);

        for (;;) {
                char buf[4096];
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        load_error(error, r, "%s: read failed: %s", path, strerror(-r));
                        break;
                }
                total += n;
                if (total > ACTIONS_FILE_MAX) {
                        r = load_error(error, -EFBIG, "%s: larger than %d bytes", path, ACTIONS_FILE_MAX);
                        break;
                }
                if (expat.Parse(p.xml, buf, (int) n, n == 0) != XML_STATUS_OK) {
                        if (p.r < 0)
                                r = p.r;
                        else
                                r = load_error(error, -EINVAL, "%s:%lu: %s", path,
                                               (unsigned long) expat.GetCurrentLineNumber(p.xml),
                                               expat.ErrorString(expat.GetErrorCode(p.xml)));
                        break;
                }
                if (n == 0)
                        break;
        }

        expat.ParserFree(p.xml);
        free(p.annotate_key);
        if (r < 0)
                return r;
        if (policy->n_actions == 0)
                return load_error(error, -EINVAL, "%s: declares no action", path);
        return 0;
}

/* ---- rules.d ---------------------------------------------------------- */

typedef struct RulesParser {
        Policy *policy;
        const char *path;
        FILE *f;
        char **error;
        int r;

        unsigned line;          /* lines handed to inih so far */
        bool in_rule;
        unsigned rule_line;
        PolicyRule rule;        /* moved into policy->rules when complete */
} RulesParser;

_printf_(4, 5)
static int rules_fail_at(RulesParser *rp, unsigned line, int r, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        if (rp->r < 0)
                return rp->r;
        va_start(ap, fmt);
        load_verror(&msg, r, fmt, ap);
        va_end(ap);
        load_error(rp->error, r, "%s:%u: %s", rp->path, line, msg ?: "out of memory");
        return rp->r = r;
}

#define rules_fail(rp, r, ...) rules_fail_at((rp), (rp)->line, (r), __VA_ARGS__)

static void rule_init(PolicyRule *r) {
        *r = (PolicyRule) {
                .owned_by_subject = POLICY_UNSET,
                .cross_namespace = POLICY_UNSET,
                .identity_pinned = POLICY_UNSET,
                .result = POLICY_UNSET,
        };
}

/* A number, or a name resolved now: the engine never looks names up. */
static int parse_user(RulesParser *rp, const char *item, uid_t *ret) {
        int r = get_user_creds(item, ret, NULL);

        if (r == -EINVAL || r == -ERANGE)
                return rules_fail(rp, -EINVAL, "invalid uid \"%s\"", item);
        if (r == -ESRCH)
                return rules_fail(rp, -EINVAL, "unknown user \"%s\"", item);
        if (r < 0)
                return rules_fail(rp, r, "cannot look up user \"%s\": %s", item, strerror(-r));
        return 0;
}

static int parse_group(RulesParser *rp, const char *item, gid_t *ret) {
        int r = get_group_creds(item, ret);

        if (r == -EINVAL || r == -ERANGE)
                return rules_fail(rp, -EINVAL, "invalid gid \"%s\"", item);
        if (r == -ESRCH)
                return rules_fail(rp, -EINVAL, "unknown group \"%s\"", item);
        if (r < 0)
                return rules_fail(rp, r, "cannot look up group \"%s\": %s", item, strerror(-r));
        return 0;
}

static int parse_tristate(RulesParser *rp, const char *key, const char *value, PolicyTristate *t) {
        bool b;

        if (*t != POLICY_UNSET)
                return rules_fail(rp, -EINVAL, "%s= given twice in one rule", key);
        if (!parse_boolean(value, &b))
                return rules_fail(rp, -EINVAL, "%s= is \"%s\", not yes or no", key, value);
        *t = b ? POLICY_YES : POLICY_NO;
        return 0;
}

static bool glob_matches_an_action(const Policy *p, const char *glob) {
        for (size_t i = 0; i < p->n_actions; i++)
                if (fnmatch(glob, p->actions[i].id, 0) == 0)
                        return true;
        return false;
}

static int rule_add_item(RulesParser *rp, const char *key, const char *item) {
        PolicyRule *r = &rp->rule;

        if (strcmp(key, "Action") == 0) {
                char *copy;

                /* A typo must not leave a deny rule that silently never matches. */
                if (!glob_matches_an_action(rp->policy, item))
                        return rules_fail(rp, -EINVAL, "Action=%s matches no declared action", item);
                copy = strdup(item);
                if (!copy || APPEND(r->actions, r->n_actions, copy) < 0) {
                        free(copy);
                        return rules_fail(rp, -ENOMEM, "out of memory");
                }
        } else if (strcmp(key, "SubjectUser") == 0) {
                uid_t uid = (uid_t) -1;

                if (parse_user(rp, item, &uid) < 0)
                        return rp->r;
                if (APPEND(r->subject_users, r->n_subject_users, uid) < 0)
                        return rules_fail(rp, -ENOMEM, "out of memory");
        } else if (strcmp(key, "SubjectGroup") == 0) {
                gid_t gid = (gid_t) -1;

                if (parse_group(rp, item, &gid) < 0)
                        return rp->r;
                if (APPEND(r->subject_groups, r->n_subject_groups, gid) < 0)
                        return rules_fail(rp, -ENOMEM, "out of memory");
        } else if (strcmp(key, "TargetUser") == 0) {
                uid_t uid = (uid_t) -1;

                r->has_target_user = true;
                if (strcmp(item, "same") == 0)
                        r->target_same = true;
                else if (strcmp(item, "other") == 0)
                        r->target_other = true;
                else if (parse_user(rp, item, &uid) < 0)
                        return rp->r;
                else if (APPEND(r->target_users, r->n_target_users, uid) < 0)
                        return rules_fail(rp, -ENOMEM, "out of memory");
        } else if (strcmp(key, "Signal") == 0) {
                int sig = signal_from_string(item);

                /* Signal 0 sends nothing: a rule about it would be a typo. */
                if (sig < 1 || sig > POLICY_SIGNAL_MAX)
                        return rules_fail(rp, -EINVAL, "Signal=%s is not a signal name or number 1..%d",
                                          item, POLICY_SIGNAL_MAX);
                r->signals |= UINT64_C(1) << (sig - 1);
        } else if (strcmp(key, "FdType") == 0) {
                const char *star = strchr(item, '*');
                char *copy;

                if (star && star[1] != '\0')
                        return rules_fail(rp, -EINVAL, "FdType=%s: '*' is only allowed at the end", item);
                copy = strdup(item);
                if (!copy || APPEND(r->fd_types, r->n_fd_types, copy) < 0) {
                        free(copy);
                        return rules_fail(rp, -ENOMEM, "out of memory");
                }
        } else
                return rules_fail(rp, -EINVAL, "unknown key %s=", key);

        return 0;
}

static bool key_is_list(const char *key) {
        static const char *const list_keys[] = {
                "Action", "SubjectUser", "SubjectGroup", "TargetUser", "Signal", "FdType",
        };

        for (size_t i = 0; i < ELEMENTSOF(list_keys); i++)
                if (strcmp(key, list_keys[i]) == 0)
                        return true;
        return false;
}

static int rule_set(RulesParser *rp, const char *key, const char *value) {
        PolicyRule *r = &rp->rule;

        if (strcmp(key, "Result") == 0) {
                if (r->result != POLICY_UNSET)
                        return rules_fail(rp, -EINVAL, "Result= given twice in one rule");
                if (strcmp(value, "allow") == 0)
                        r->result = POLICY_YES;
                else if (strcmp(value, "deny") == 0)
                        r->result = POLICY_NO;
                else
                        return rules_fail(rp, -EINVAL, "Result= is \"%s\", not allow or deny", value);
                return 0;
        }
        if (strcmp(key, "TargetOwnedBySubject") == 0)
                return parse_tristate(rp, key, value, &r->owned_by_subject);
        if (strcmp(key, "CrossNamespace") == 0)
                return parse_tristate(rp, key, value, &r->cross_namespace);
        if (strcmp(key, "IdentityPinned") == 0)
                return parse_tristate(rp, key, value, &r->identity_pinned);
        if (!key_is_list(key))
                return rules_fail(rp, -EINVAL, "unknown key %s=", key);

        /* Lists: words separated by commas or blanks; repeating the key
         * appends, so long lists can be split over lines. */
        _cleanup_free_ char *copy = strdup(value);
        char *state = NULL;
        bool any = false;

        if (!copy)
                return rules_fail(rp, -ENOMEM, "out of memory");
        for (char *w = strtok_r(copy, ", \t", &state); w; w = strtok_r(NULL, ", \t", &state)) {
                if (rule_add_item(rp, key, w) < 0)
                        return rp->r;
                any = true;
        }
        if (!any)
                return rules_fail(rp, -EINVAL, "%s= is empty", key);
        return 0;
}

static int rules_finish_rule(RulesParser *rp) {
        PolicyRule *r = &rp->rule;

        if (!rp->in_rule)
                return 0;
        if (r->n_actions == 0)
                return rules_fail_at(rp, rp->rule_line, -EINVAL, "rule has no Action= (use Action=* for all)");
        if (r->result == POLICY_UNSET)
                return rules_fail_at(rp, rp->rule_line, -EINVAL, "rule has no Result=");
        if (asprintf(&r->origin, "%s:%u", rp->path, rp->rule_line) < 0) {
                r->origin = NULL;
                return rules_fail(rp, -ENOMEM, "out of memory");
        }
        if (APPEND(rp->policy->rules, rp->policy->n_rules, *r) < 0)
                return rules_fail(rp, -ENOMEM, "out of memory");
        rule_init(r);
        rp->in_rule = false;
        return 0;
}

/* inih reports a section only with its first key, so "[Rule]" after
 * "[Rule]" would look like one rule: rules are cut here, where every line
 * passes. Multi-line values are off, so a line whose first non-blank is
 * '[' is a section header to inih too. */
static char *rules_reader(char *buf, int size, void *userdata) {
        RulesParser *rp = userdata;
        const char *s = buf;
        size_t n;

        if (rp->r < 0)
                return NULL;
        if (!fgets(buf, size, rp->f)) {
                if (ferror(rp->f))
                        rules_fail_at(rp, rp->line + 1, -EIO, "read error");
                return NULL;
        }
        rp->line++;

        /* inih would parse the rest of a long line as a line of its own. */
        n = strlen(buf);
        if (n > 0 && buf[n - 1] != '\n' && !feof(rp->f)) {
                rules_fail(rp, -EINVAL, "line longer than %d characters", size - 2);
                return NULL;
        }

        if (rp->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
                s += 3;
        s += strspn(s, " \t\n\v\f\r");
        if (*s == '[') {
                if (rules_finish_rule(rp) < 0)
                        return NULL;
                rule_init(&rp->rule);
                rp->in_rule = true;
                rp->rule_line = rp->line;
        }
        return buf;
}

static int rules_handler(void *userdata, const char *section, const char *name, const char *value) {
        RulesParser *rp = userdata;

        if (rp->r < 0)
                return 0;
        if (!rp->in_rule || section[0] == '\0')
                (void) rules_fail(rp, -EINVAL, "%s= outside a [" RULE_SECTION "] section", name);
        else if (strcmp(section, RULE_SECTION) != 0)
                (void) rules_fail(rp, -EINVAL, "unknown section [%s]", section);
        else
                (void) rule_set(rp, name, value);
        return rp->r >= 0;
}

static int load_rules_file(Policy *policy, const char *path, char **error) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_(fclosep) FILE *f = NULL;
        struct stat st;
        RulesParser rp = {
                .policy = policy,
                .path = path,
                .error = error,
        };
        bool saved_multiline, saved_stop;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = negative_errno();
                return load_error(error, r, "%s: cannot open: %s", path, strerror(-r));
        }
        /* A symlink to /dev/null masks the vendor file of the same name. */
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
                return 0;
        if (!S_ISREG(st.st_mode))
                return load_error(error, -EINVAL, "%s: not a regular file", path);
        r = check_trusted_file(&st, path, error);
        if (r < 0)
                return r;

        f = fdopen(fd, "r");
        if (!f) {
                r = negative_errno();
                return load_error(error, r, "%s: %s", path, strerror(-r));
        }
        TAKE_FD(fd);
        rp.f = f;

        /* inih's switches are process-wide; set ours for this parse only.
         * Continuation lines would hide a section header from the reader. */
        saved_multiline = ini_allow_multiline;
        saved_stop = ini_stop_on_first_error;
        ini_allow_multiline = false;
        ini_stop_on_first_error = true;
        r = ini_parse_stream(rules_reader, &rp, rules_handler, &rp);
        ini_allow_multiline = saved_multiline;
        ini_stop_on_first_error = saved_stop;

        if (rp.r >= 0) {
                if (r > 0)
                        rules_fail_at(&rp, (unsigned) r, -EINVAL, "syntax error (expected [Rule] or Key=value)");
                else if (r < 0)
                        rules_fail(&rp, -ENOMEM, "out of memory");
                else
                        rules_finish_rule(&rp);
        }
        policy_rule_done(&rp.rule);
        return rp.r < 0 ? rp.r : 0;
}

typedef struct RulesFile {
        char *name;
        char *path;
} RulesFile;

static void rules_files_free(RulesFile *files, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(files[i].name);
                free(files[i].path);
        }
        free(files);
}

static int rules_file_compare(const void *a, const void *b) {
        return strcmp(((const RulesFile *) a)->name, ((const RulesFile *) b)->name);
}

static bool rules_file_listed(const RulesFile *files, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(files[i].name, name) == 0)
                        return true;
        return false;
}

static bool is_rules_file_name(const char *name) {
        size_t n = strlen(name);

        return name[0] != '.' && n > strlen(".rules") && strcmp(name + n - strlen(".rules"), ".rules") == 0;
}

/* *.rules of all dirs by file name; an earlier dir hides a later one's
 * file of the same name. */
static int collect_rules_files(const char *const *dirs, RulesFile **ret, size_t *ret_n, char **error) {
        RulesFile *files = NULL;
        size_t n = 0;
        int r = 0;

        for (size_t i = 0; dirs && dirs[i] && r >= 0; i++) {
                DIR *d = opendir(dirs[i]);
                struct dirent *de;

                if (!d) {
                        if (errno == ENOENT)
                                continue;
                        r = negative_errno();
                        load_error(error, r, "%s: cannot open: %s", dirs[i], strerror(-r));
                        break;
                }
                for (;;) {
                        RulesFile rf = {};

                        errno = 0;
                        de = readdir(d);
                        if (!de) {
                                if (errno != 0) {
                                        r = negative_errno();
                                        load_error(error, r, "%s: cannot read: %s", dirs[i], strerror(-r));
                                }
                                break;
                        }
                        if (!is_rules_file_name(de->d_name) || rules_file_listed(files, n, de->d_name))
                                continue;
                        rf.name = strdup(de->d_name);
                        if (!rf.name || asprintf(&rf.path, "%s/%s", dirs[i], de->d_name) < 0)
                                rf.path = NULL;
                        if (!rf.path || APPEND(files, n, rf) < 0) {
                                free(rf.name);
                                free(rf.path);
                                r = load_error(error, -ENOMEM, "out of memory");
                                break;
                        }
                }
                closedir(d);
        }

        if (r < 0) {
                rules_files_free(files, n);
                return r;
        }
        if (n > 0)
                qsort(files, n, sizeof(*files), rules_file_compare);
        *ret = files;
        *ret_n = n;
        return 0;
}

int policy_load(Policy **ret, const char *actions_file, const char *const *rules_dirs, char **ret_error) {
        _cleanup_policy_ Policy *p = NULL;
        _cleanup_free_ char *error = NULL;
        RulesFile *files = NULL;
        size_t n_files = 0;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!ret || !actions_file)
                return -EINVAL;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;

        /* Actions first: rules are checked against the declared actions. */
        r = load_actions(p, actions_file, &error);
        if (r >= 0)
                r = collect_rules_files(rules_dirs, &files, &n_files, &error);
        for (size_t i = 0; r >= 0 && i < n_files; i++)
                r = load_rules_file(p, files[i].path, &error);
        rules_files_free(files, n_files);

        if (r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(error);
                return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}
