#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Print one plain line "N passed, N failed, N skipped" from meson's testlog.json.

Usage: summary.py [[--build-failed] TESTLOG]...   (default build/meson-logs/testlog.json)

Several logs (the main build and the sanitizer build) are added up into the
one line. testlog.json holds one JSON object per meson test and line. Counted
per meson test (a GTest program's TAP subtests are not counted one by one):
  OK, EXPECTEDFAIL          passed
  SKIP                      skipped
  anything else             failed (FAIL, UNEXPECTEDPASS, TIMEOUT, ERROR, ...)
--build-failed says the build of the next log's directory failed: that
counts as one failure, and its log need not exist. A missing log otherwise,
and an unreadable line, each count as one failure. Names of failed tests go
to stderr (with the log's directory when there are several); the summary
line is printed last. Exit status: 1 if anything failed or nothing ran,
else 0.
"""

import json
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def read_log(path, build_failed, label, counts, failures):
    """Add one testlog.json to counts (passed, failed, skipped)."""
    if build_failed:
        counts[1] += 1
        failures.append(f"{label}(build failed)")

    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError as e:
        lines = None
        if not build_failed:
            counts[1] += 1
            failures.append(f"{label}(no test log: {e.strerror}: {path})")

    for n, line in enumerate(lines or [], 1):
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
            result = str(entry.get("result", "ERROR"))
            name = str(entry.get("name", f"line {n}"))
        except (ValueError, AttributeError):
            counts[1] += 1
            failures.append(f"{label}(unreadable line {n} of {path})")
            continue
        if result in PASSED:
            counts[0] += 1
        elif result in SKIPPED:
            counts[2] += 1
        else:
            counts[1] += 1
            failures.append(f"{label}{name}: {result}")


def main(argv):
    logs = []
    build_failed = False
    for a in argv[1:]:
        if a == "--build-failed":
            build_failed = True
        else:
            logs.append((a, build_failed))
            build_failed = False
    if build_failed or not logs:
        logs.append(("build/meson-logs/testlog.json", build_failed))

    counts = [0, 0, 0]
    failures = []
    for path, failed_build in logs:
        # build-asan/meson-logs/testlog.json → "build-asan: "
        label = f"{path.split('/meson-logs/')[0]}: " if len(logs) > 1 else ""
        read_log(path, failed_build, label, counts, failures)
    passed, failed, skipped = counts

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
