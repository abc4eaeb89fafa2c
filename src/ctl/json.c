/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "macro.h"

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t utf8_sequence_length(const unsigned char *s) {
        unsigned char c = s[0];
        size_t n;
        uint32_t cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, cp = c & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

void json_write_string(FILE *f, const char *s) {
        const unsigned char *p = (const unsigned char *) (s ?: "");

        fputc('"', f);
        while (*p) {
                size_t n;

                switch (*p) {
                case '"':  fputs("\\\"", f); p++; continue;
                case '\\': fputs("\\\\", f); p++; continue;
                case '\n': fputs("\\n", f); p++; continue;
                case '\t': fputs("\\t", f); p++; continue;
                case '\r': fputs("\\r", f); p++; continue;
                default:
                        break;
                }
                if (*p < 0x20) {
                        fprintf(f, "\\u%04x", *p);
                        p++;
                        continue;
                }
                n = utf8_sequence_length(p);
                if (n == 0) {
                        fputs("\\ufffd", f);
                        p++;
                        continue;
                }
                fwrite(p, 1, n, f);
                p += n;
        }
        fputc('"', f);
}

void json_write_key(FILE *f, const char *key, bool first) {
        if (!first)
                fputc(',', f);
        json_write_string(f, key);
        fputc(':', f);
}

/* ---- parser ---- */

#define JSON_DEPTH_MAX 64

typedef struct Parser {
        const char *p;
        unsigned depth;
} Parser;

JsonValue *json_free(JsonValue *v) {
        if (!v)
                return NULL;
        for (size_t i = 0; i < v->n_items; i++) {
                json_free(v->items[i]);
                if (v->keys)
                        free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
        free(v->text);
        free(v);
        return NULL;
}

static void skip_space(Parser *ps) {
        while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
                ps->p++;
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int parse_hex4(const char *s, uint32_t *ret) {
        uint32_t v = 0;

        for (int i = 0; i < 4; i++) {
                int h = hex_value(s[i]);
                if (h < 0)
                        return -EINVAL;
                v = (v << 4) | (uint32_t) h;
        }
        *ret = v;
        return 0;
}

static size_t utf8_encode(uint32_t cp, char *out) {
        if (cp < 0x80) {
                out[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char) (0xc0 | (cp >> 6));
                out[1] = (char) (0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char) (0xe0 | (cp >> 12));
                out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char) (0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char) (0xf0 | (cp >> 18));
        out[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char) (0x80 | (cp & 0x3f));
        return 4;
}

/* At the opening quote; the decoded string is never longer than its source. */
static int parse_string(Parser *ps, char **ret) {
        const char *start = ++ps->p;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;

        while (*ps->p && *ps->p != '"')
                ps->p += (*ps->p == '\\' && ps->p[1]) ? 2 : 1;
        if (*ps->p != '"')
                return -EINVAL;

        buf = malloc((size_t) (ps->p - start) + 1);
        if (!buf)
                return -ENOMEM;

        for (const char *s = start; s < ps->p; ) {
                if ((unsigned char) *s < 0x20)
                        return -EINVAL;
                if (*s != '\\') {
                        buf[len++] = *s++;
                        continue;
                }
                s++;
                switch (*s) {
                case '"': case '\\': case '/': buf[len++] = *s; break;
                case 'b': buf[len++] = '\b'; break;
                case 'f': buf[len++] = '\f'; break;
                case 'n': buf[len++] = '\n'; break;
                case 'r': buf[len++] = '\r'; break;
                case 't': buf[len++] = '\t'; break;
                case 'u': {
                        uint32_t cp, lo;

                        if (ps->p - s < 5 || parse_hex4(s + 1, &cp) < 0)
                                return -EINVAL;
                        s += 4;
                        if (cp >= 0xd800 && cp <= 0xdbff && ps->p - s >= 7 && s[1] == '\\' && s[2] == 'u' &&
                            parse_hex4(s + 3, &lo) >= 0 && lo >= 0xdc00 && lo <= 0xdfff) {
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                s += 6;
                        } else if (cp >= 0xd800 && cp <= 0xdfff)
                                cp = 0xfffd;
                        if (cp == 0) /* no NUL inside a C string */
                                cp = 0xfffd;
                        /* \uXXXX is 6 source bytes, at most 4 encoded; a pair is 12 for 4. */
                        len += utf8_encode(cp, buf + len);
                        break;
                }
                default:
                        return -EINVAL;
                }
                s++;
        }
        buf[len] = 0;
        ps->p++;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int parse_value(Parser *ps, JsonValue **ret);

static int append_item(JsonValue *v, char *key, JsonValue *item) {
        JsonValue **items;

        items = realloc(v->items, (v->n_items + 1) * sizeof *items);
        if (!items)
                return -ENOMEM;
        v->items = items;
        if (v->type == JSON_OBJECT) {
                char **keys = realloc(v->keys, (v->n_items + 1) * sizeof *keys);
                if (!keys)
                        return -ENOMEM;
                v->keys = keys;
                v->keys[v->n_items] = key;
        }
        v->items[v->n_items++] = item;
        return 0;
}

static int parse_container(Parser *ps, JsonValue *v) {
        char close = v->type == JSON_OBJECT ? '}' : ']';
        int r;

        if (++ps->depth > JSON_DEPTH_MAX)
                return -EINVAL;
        ps->p++;
        skip_space(ps);
        if (*ps->p == close) {
                ps->p++;
                ps->depth--;
                return 0;
        }
        for (;;) {
                _cleanup_free_ char *key = NULL;
                JsonValue *item = NULL;

                skip_space(ps);
                if (v->type == JSON_OBJECT) {
                        if (*ps->p != '"')
                                return -EINVAL;
                        r = parse_string(ps, &key);
                        if (r < 0)
                                return r;
                        skip_space(ps);
                        if (*ps->p != ':')
                                return -EINVAL;
                        ps->p++;
                }
                r = parse_value(ps, &item);
                if (r < 0)
                        return r;
                r = append_item(v, key, item);
                if (r < 0) {
                        json_free(item);
                        return r;
                }
                key = NULL; /* owned by v now */
                skip_space(ps);
                if (*ps->p == ',') {
                        ps->p++;
                        continue;
                }
                if (*ps->p != close)
                        return -EINVAL;
                ps->p++;
                ps->depth--;
                return 0;
        }
}

static int parse_number(Parser *ps, char **ret) {
        const char *start = ps->p;

        if (*ps->p == '-')
                ps->p++;
        if (*ps->p < '0' || *ps->p > '9')
                return -EINVAL;
        while (strchr("0123456789.eE+-", *ps->p) && *ps->p)
                ps->p++;
        *ret = strndup(start, (size_t) (ps->p - start));
        return *ret ? 0 : -ENOMEM;
}

static int parse_value(Parser *ps, JsonValue **ret) {
        _cleanup_(json_freep) JsonValue *v = NULL;
        int r;

        v = calloc(1, sizeof *v);
        if (!v)
                return -ENOMEM;

        skip_space(ps);
        switch (*ps->p) {
        case '{':
                v->type = JSON_OBJECT;
                r = parse_container(ps, v);
                break;
        case '[':
                v->type = JSON_ARRAY;
                r = parse_container(ps, v);
                break;
        case '"':
                v->type = JSON_STRING;
                r = parse_string(ps, &v->text);
                break;
        case 't':
        case 'f':
        case 'n': {
                static const struct { const char *word; JsonType type; bool value; } words[] = {
                        { "true", JSON_BOOLEAN, true },
                        { "false", JSON_BOOLEAN, false },
                        { "null", JSON_NULL, false },
                };
                r = -EINVAL;
                for (size_t i = 0; i < ELEMENTSOF(words); i++)
                        if (strncmp(ps->p, words[i].word, strlen(words[i].word)) == 0) {
                                v->type = words[i].type;
                                v->boolean = words[i].value;
                                ps->p += strlen(words[i].word);
                                r = 0;
                                break;
                        }
                break;
        }
        default:
                v->type = JSON_NUMBER;
                r = parse_number(ps, &v->text);
                break;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

int json_parse(const char *text, JsonValue **ret) {
        Parser ps = { .p = text };
        _cleanup_(json_freep) JsonValue *v = NULL;
        int r;

        r = parse_value(&ps, &v);
        if (r < 0)
                return r;
        skip_space(&ps);
        if (*ps.p)
                return -EINVAL;
        *ret = TAKE_PTR(v);
        return 0;
}

const JsonValue *json_get(const JsonValue *v, const char *path) {
        while (v && *path) {
                const char *dot = strchrnul(path, '.');
                size_t len = (size_t) (dot - path);
                const JsonValue *found = NULL;

                if (v->type != JSON_OBJECT)
                        return NULL;
                for (size_t i = 0; i < v->n_items; i++)
                        if (strlen(v->keys[i]) == len && strncmp(v->keys[i], path, len) == 0)
                                found = v->items[i];
                v = found;
                path = *dot ? dot + 1 : dot;
        }
        return v;
}

const char *json_scalar(const JsonValue *v) {
        if (!v)
                return NULL;
        switch (v->type) {
        case JSON_STRING:
        case JSON_NUMBER:
                return v->text;
        case JSON_BOOLEAN:
                return v->boolean ? "true" : "false";
        default:
                return NULL;
        }
}
