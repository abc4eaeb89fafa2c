/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pidbroker-probe: print what the kernel feature probe finds on this machine,
 * the same answers the daemon publishes in its Features property.
 *
 *   pidbroker-probe            NAME yes|no DETAIL, in aligned columns
 *   pidbroker-probe --json     [{"name": ..., "available": ..., "detail": ...}, ...]
 */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "feature.h"

static void print_json_string(const char *s) {
        putchar('"');
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == '"' || c == '\\')
                        printf("\\%c", c);
                else if (c < 0x20)
                        printf("\\u%04x", c);
                else
                        putchar(c);
        }
        putchar('"');
}

static void print_json(void) {
        printf("[");
        for (Feature f = 0; f < _FEATURE_MAX; f++) {
                printf("%s\n  {\"name\": ", f == 0 ? "" : ",");
                print_json_string(feature_name(f));
                printf(", \"available\": %s, \"detail\": ", feature_available(f) ? "true" : "false");
                print_json_string(feature_detail(f));
                printf("}");
        }
        printf("\n]\n");
}

static void print_table(void) {
        int width = 0;

        for (Feature f = 0; f < _FEATURE_MAX; f++) {
                int l = (int) strlen(feature_name(f));
                if (l > width)
                        width = l;
        }
        for (Feature f = 0; f < _FEATURE_MAX; f++)
                printf("%-*s %-3s %s\n", width, feature_name(f),
                       feature_available(f) ? "yes" : "no", feature_detail(f));
}

static void help(void) {
        printf("Usage: pidbroker-probe [--json]\n\n"
               "Probe the kernel features pidbroker uses and print the answers.\n\n"
               "  -j --json    print a JSON array of {name, available, detail}\n"
               "  -h --help    show this help\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c, json = 0;

        while ((c = getopt_long(argc, argv, "jh", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        json = 1;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "pidbroker-probe: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }

        feature_probe_all();
        if (json)
                print_json();
        else
                print_table();

        return fflush(stdout) == 0 ? 0 : 1;
}
