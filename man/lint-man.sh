#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# lint-man.sh PAGE
#     mandoc -Tlint -W error on a built man page: exit 0 and no output is
#     clean. scdoc's own output draws "PP after SH"-style warnings, which is
#     why the bar is -W error; CI runs the same command as
#     `scdoc < PAGE.scd | mandoc -Tlint -W error`.
# lint-man.sh --skip REASON
#     Print the reason and skip (77): the pages were not built.
if [ "$1" = --skip ]; then
        echo "SKIP: $2"
        exit 77
fi
page=${1:?usage: lint-man.sh PAGE}
if ! command -v mandoc >/dev/null 2>&1; then
        echo "SKIP: mandoc not found (Debian: apt-get install mandoc)"
        exit 77
fi
[ -s "$page" ] || { echo "FAIL: $page is missing or empty" >&2; exit 1; }
out=$(mandoc -Tlint -W error "$page" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
        printf '%s\n' "$out" >&2
        echo "FAIL: mandoc -Tlint -W error $page (exit $rc)" >&2
        exit 1
fi
# It must also render: a page that formats to nothing is no page.
lines=$(mandoc -Tascii "$page" 2>/dev/null | wc -l)
if [ "$lines" -lt 10 ]; then
        echo "FAIL: $page renders to $lines lines" >&2
        exit 1
fi
echo "ok: $(basename "$page"): mandoc -Tlint -W error clean, $lines lines rendered"
