/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-util.h"
#include "ctl-workload-info.h"
#include "ctl.h"
#include "json.h"

void workload_info_done(WorkloadInfo *w) {
        free(w->path);
        strv_free(w->argv);
        free(w->state);
        free(w->exit_code);
        for (size_t i = 0; i < w->n_namespaces; i++)
                free(w->namespaces[i].type);
        free(w->namespaces);
        free(w->control_path);
        *w = (WorkloadInfo) {};
}

/* aay: each element a string's bytes, with or without a trailing NUL. */
static int read_bytestring_array(sd_bus_message *m, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "ay");
        if (r < 0)
                return r;
        for (;;) {
                const void *p;
                size_t n;
                _cleanup_free_ char *s = NULL;

                r = sd_bus_message_read_array(m, 'y', &p, &n);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                s = strndup(p, n);
                if (!s)
                        return -ENOMEM;
                r = strv_extend(&l, s);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        strv_free(*ret);
        *ret = TAKE_PTR(l);
        if (!*ret)
                *ret = calloc(1, sizeof(char *));
        return *ret ? 0 : -ENOMEM;
}

static int read_namespaces(sd_bus_message *m, WorkloadInfo *w) {
        const char *type;
        uint64_t inode;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{st}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{st}", &type, &inode)) > 0) {
                NamespaceInfo *n = realloc(w->namespaces, (w->n_namespaces + 1) * sizeof *n);
                if (!n)
                        return -ENOMEM;
                w->namespaces = n;
                n[w->n_namespaces].type = strdup(type);
                if (!n[w->n_namespaces].type)
                        return -ENOMEM;
                n[w->n_namespaces++].inode = inode;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_property(sd_bus_message *m, const char *name, const char *sig, void *userdata) {
        WorkloadInfo *w = userdata;
        const char *code;

        if (strcmp(name, "Id") == 0 && strcmp(sig, "t") == 0)
                return w->has_id = true, sd_bus_message_read(m, "t", &w->id);
        if (strcmp(name, "Pid") == 0 && strcmp(sig, "u") == 0)
                return w->has_pid = true, sd_bus_message_read(m, "u", &w->pid);
        if (strcmp(name, "Argv") == 0 && strcmp(sig, "aay") == 0)
                return read_bytestring_array(m, &w->argv);
        if (strcmp(name, "OwnerUid") == 0 && strcmp(sig, "u") == 0)
                return w->has_owner_uid = true, sd_bus_message_read(m, "u", &w->owner_uid);
        if (strcmp(name, "User") == 0 && strcmp(sig, "u") == 0)
                return w->has_user = true, sd_bus_message_read(m, "u", &w->user);
        if (strcmp(name, "State") == 0 && strcmp(sig, "s") == 0)
                return ctl_read_string(m, &w->state);
        if (strcmp(name, "ExitStatus") == 0 && strcmp(sig, "(si)") == 0) {
                int r = sd_bus_message_read(m, "(si)", &code, &w->exit_status);
                if (r < 0)
                        return r;
                free(w->exit_code);
                w->exit_code = strdup(code);
                return w->exit_code ? 0 : -ENOMEM;
        }
        if (strcmp(name, "Namespaces") == 0 && strcmp(sig, "a{st}") == 0)
                return read_namespaces(m, w);
        if (strcmp(name, "CreatedUsec") == 0 && strcmp(sig, "t") == 0)
                return w->has_created = true, sd_bus_message_read(m, "t", &w->created_usec);
        if (strcmp(name, "ControlPath") == 0 && strcmp(sig, "s") == 0)
                return ctl_read_string(m, &w->control_path);
        return sd_bus_message_skip(m, sig);
}

int workload_info_read(sd_bus_message *m, WorkloadInfo *w) {
        return ctl_read_properties(m, read_property, w);
}

int workload_info_get(sd_bus *bus, const char *path, WorkloadInfo *w) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, ctl_destination(), path, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", WORKLOAD_INTERFACE);
        if (r < 0)
                return ctl_error(r, &error, "Failed to get the properties of %s", path);
        w->path = strdup(path);
        if (!w->path)
                return ctl_error(-ENOMEM, NULL, "Out of memory");
        r = workload_info_read(reply, w);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to parse the properties of %s", path);
        return 0;
}

static int compare_info(const void *a, const void *b) {
        const WorkloadInfo *x = a, *y = b;

        if (x->id != y->id)
                return x->id < y->id ? -1 : 1;
        return strcmp(x->path, y->path);
}

/* GetManagedObjects → the Workload1 objects under the workload prefix. */
static int read_managed_objects(sd_bus_message *reply, WorkloadInfo **ret, size_t *ret_n) {
        WorkloadInfo *list = NULL;
        size_t n = 0;
        const char *path;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                goto fail;
        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                if (r < 0)
                        goto fail;
                while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        const char *iface;

                        r = sd_bus_message_read(reply, "s", &iface);
                        if (r < 0)
                                goto fail;
                        if (strcmp(iface, WORKLOAD_INTERFACE) == 0) {
                                WorkloadInfo *nl = realloc(list, (n + 1) * sizeof *nl);
                                if (!nl) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                list = nl;
                                list[n] = (WorkloadInfo) {};
                                list[n].path = strdup(path);
                                n++;
                                if (!list[n - 1].path) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                r = workload_info_read(reply, &list[n - 1]);
                        } else
                                r = sd_bus_message_skip(reply, "a{sv}");
                        if (r < 0)
                                goto fail;
                        r = sd_bus_message_exit_container(reply);
                        if (r < 0)
                                goto fail;
                }
                if (r < 0)
                        goto fail;
                r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        goto fail;
        }
        if (r < 0)
                goto fail;

        if (n > 0)
                qsort(list, n, sizeof *list, compare_info);
        *ret = list;
        *ret_n = n;
        return 0;

fail:
        workload_info_free_array(list, n);
        return r;
}

void workload_info_free_array(WorkloadInfo *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                workload_info_done(&list[i]);
        free(list);
}

int workload_info_list(sd_bus *bus, WorkloadInfo **ret, size_t *ret_n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, ctl_destination(), BROKER_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &error, &reply, NULL);
        if (r < 0)
                return ctl_error(r, &error, "Failed to list workloads");
        r = read_managed_objects(reply, ret, ret_n);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to parse the workload list");
        return 0;
}

static bool has_exit(const WorkloadInfo *w) {
        return w->exit_code && w->exit_code[0];
}

void workload_info_write_json(FILE *f, const WorkloadInfo *w) {
        fputc('{', f);
        json_write_key(f, "id", true);
        if (w->has_id)
                fprintf(f, "%" PRIu64, w->id);
        else
                fputs("null", f);
        json_write_key(f, "path", false);
        json_write_string(f, w->path);
        json_write_key(f, "pid", false);
        if (w->has_pid)
                fprintf(f, "%" PRIu32, w->pid);
        else
                fputs("null", f);
        json_write_key(f, "argv", false);
        fputc('[', f);
        for (size_t i = 0; w->argv && w->argv[i]; i++) {
                if (i > 0)
                        fputc(',', f);
                json_write_string(f, w->argv[i]);
        }
        fputc(']', f);
        json_write_key(f, "owner_uid", false);
        if (w->has_owner_uid)
                fprintf(f, "%" PRIu32, w->owner_uid);
        else
                fputs("null", f);
        json_write_key(f, "user", false);
        if (w->has_user)
                fprintf(f, "%" PRIu32, w->user);
        else
                fputs("null", f);
        json_write_key(f, "state", false);
        json_write_string(f, w->state ?: "unknown");
        json_write_key(f, "exit", false);
        if (has_exit(w)) {
                fputc('{', f);
                json_write_key(f, "code", true);
                json_write_string(f, w->exit_code);
                json_write_key(f, "status", false);
                fprintf(f, "%" PRIi32, w->exit_status);
                fputc('}', f);
        } else
                fputs("null", f);
        json_write_key(f, "namespaces", false);
        fputc('{', f);
        for (size_t i = 0; i < w->n_namespaces; i++) {
                json_write_key(f, w->namespaces[i].type, i == 0);
                fprintf(f, "%" PRIu64, w->namespaces[i].inode);
        }
        fputc('}', f);
        json_write_key(f, "created_usec", false);
        if (w->has_created)
                fprintf(f, "%" PRIu64, w->created_usec);
        else
                fputs("null", f);
        json_write_key(f, "control_path", false);
        if (w->control_path)
                json_write_string(f, w->control_path);
        else
                fputs("null", f);
        fputc('}', f);
}

static bool needs_quoting(const char *s) {
        if (!*s)
                return true;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *s))
                        return true;
        return false;
}

char *workload_info_command_line(const WorkloadInfo *w) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; w->argv && w->argv[i]; i++) {
                if (i > 0)
                        fputc(' ', f);
                if (!needs_quoting(w->argv[i])) {
                        fputs(w->argv[i], f);
                        continue;
                }
                /* Shell single quotes; control characters shown escaped. */
                fputc('\'', f);
                for (const char *p = w->argv[i]; *p; p++) {
                        if (*p == '\'')
                                fputs("'\\''", f);
                        else if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\x%02x", (unsigned char) *p);
                        else
                                fputc(*p, f);
                }
                fputc('\'', f);
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

const char *workload_info_describe_state(const WorkloadInfo *w, char *buf, size_t size) {
        char sig[32];

        if (!has_exit(w))
                snprintf(buf, size, "%s", w->state ?: "unknown");
        else if (strcmp(w->exit_code, "exited") == 0)
                snprintf(buf, size, "exited %" PRIi32, w->exit_status);
        else
                snprintf(buf, size, "%s %s", w->exit_code, signal_to_string(w->exit_status, sig, sizeof sig));
        return buf;
}

void workload_info_write_status(FILE *f, const WorkloadInfo *w) {
        _cleanup_free_ char *cmdline = workload_info_command_line(w);
        char buf[128], state[64];

        if (w->has_id)
                fprintf(f, "workload %" PRIu64 " - %s\n", w->id, cmdline ?: "");
        else
                fprintf(f, "workload %s - %s\n", w->path, cmdline ?: "");
        fprintf(f, "        Path: %s\n", w->path);
        if (w->has_pid)
                fprintf(f, "         Pid: %" PRIu32 " (in the broker's pid namespace)\n", w->pid);
        fprintf(f, "       State: %s\n", workload_info_describe_state(w, state, sizeof state));
        if (has_exit(w))
                fprintf(f, "   Exit code: %d (as a shell reports it)\n", ctl_exit_code(w->exit_code, w->exit_status));
        if (w->has_owner_uid)
                fprintf(f, "       Owner: %s (uid %" PRIu32 ")\n", format_uid(w->owner_uid, buf, sizeof buf), w->owner_uid);
        if (w->has_user)
                fprintf(f, "     Runs as: %s (uid %" PRIu32 ")\n", format_uid(w->user, buf, sizeof buf), w->user);
        if (w->has_created)
                fprintf(f, "     Created: %s\n", format_timestamp(w->created_usec, buf, sizeof buf));
        if (w->control_path)
                fprintf(f, "Control path: %s\n", w->control_path);
        for (size_t i = 0; i < w->n_namespaces; i++)
                fprintf(f, "%s %-6s %" PRIu64 "\n", i == 0 ? "  Namespaces:" : "             ",
                        w->namespaces[i].type, w->namespaces[i].inode);
}
