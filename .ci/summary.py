#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Print one plain line "N passed, N failed, N skipped" from meson's testlog.json.

Usage: summary.py [--build-failed] [TESTLOG]   (default build/meson-logs/testlog.json)

testlog.json holds one JSON object per meson test and line. Counted per meson
test (a GTest program's TAP subtests are not counted one by one):
  OK, EXPECTEDFAIL          passed
  SKIP                      skipped
  anything else             failed (FAIL, UNEXPECTEDPASS, TIMEOUT, ERROR, ...)
A build that failed, a missing log and an unreadable line each count as one
failure. Names of failed tests go to stderr; the summary line is printed last.
Exit status: 1 if anything failed or nothing ran, else 0.
"""

import json
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def main(argv):
    build_failed = False
    args = []
    for a in argv[1:]:
        if a == "--build-failed":
            build_failed = True
        else:
            args.append(a)
    path = args[0] if args else "build/meson-logs/testlog.json"

    passed = failed = skipped = 0
    failures = []

    if build_failed:
        failed += 1
        failures.append("(build failed)")

    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError as e:
        lines = None
        if not build_failed:
            failed += 1
            failures.append(f"(no test log: {e.strerror}: {path})")

    for n, line in enumerate(lines or [], 1):
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
            result = str(entry.get("result", "ERROR"))
            name = str(entry.get("name", f"line {n}"))
        except (ValueError, AttributeError):
            failed += 1
            failures.append(f"(unreadable line {n} of {path})")
            continue
        if result in PASSED:
            passed += 1
        elif result in SKIPPED:
            skipped += 1
        else:
            failed += 1
            failures.append(f"{name}: {result}")

    if not failures and passed == 0 and skipped == 0:
        print("FAILED (no test ran)", file=sys.stderr)
    for f in failures:
        print(f"FAILED {f}", file=sys.stderr)
    sys.stderr.flush()
    print(f"{passed} passed, {failed} failed, {skipped} skipped", flush=True)

    if failed or (passed == 0 and skipped == 0):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
