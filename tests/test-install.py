#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Install the build into a temporary DESTDIR and check what lands where.

Usage: test-install.py MESON BUILDDIR INSTALL_LIST
       test-install.py --skip REASON

Runs `meson install --no-rebuild --destdir TMP` for BUILDDIR (meson test has
just built it), then compares every file and symlink under TMP, with its
mode, with INSTALL_LIST (tests/install-list.txt): "MODE PATH" lines, PATH as
Debian installs it (-Dprefix=/usr: /usr/libexec, /etc, /var, /usr/share/man,
...). The build under test may use another prefix (meson's default is
/usr/local), so each installed path is first mapped back onto the Debian
layout with the directories `meson introspect --buildoptions` reports:

    <sysconfdir>/...    -> /etc/...
    <localstatedir>/... -> /var/...
    <prefix>/...        -> /usr/...

(sysconfdir and localstatedir first: under /usr/local they are inside the
prefix). A file installed anywhere else keeps its path. Any file missing,
any file not in the list and any mode that differs is reported; the test
fails on any of them. It also checks that what the files name exists:

  - the systemd unit's ExecStart= is the daemon this build installs;
  - the D-Bus activation file's SystemdService= is a unit this build installs;
  - the man pages are roff (built by scdoc), not empty.

With --skip (meson.build passes it when scdoc is missing, so that the man
pages are not built), print the reason and exit 77: a partial list is not
checked.
"""

import json
import os
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import PurePosixPath


def introspect_dirs(meson, builddir):
    out = subprocess.run([meson, "introspect", "--buildoptions", builddir], check=True, capture_output=True,
                         text=True)
    values = {o["name"]: o["value"] for o in json.loads(out.stdout)}
    prefix = values["prefix"]

    def absolute(name):
        v = values[name]
        return v if v.startswith("/") else str(PurePosixPath(prefix) / v)

    return prefix, {name: absolute(name) for name in ("sysconfdir", "localstatedir", "libexecdir")}


def to_debian(path, prefix, dirs):
    for base, debian in ((dirs["sysconfdir"], "/etc"), (dirs["localstatedir"], "/var"), (prefix, "/usr")):
        if path == base or path.startswith(base.rstrip("/") + "/"):
            return debian + path[len(base.rstrip("/")):]
    return path


def read_list(path):
    expected = {}
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        mode, _, p = line.partition(" ")
        if not re.fullmatch(r"0[0-7]{3}", mode) or not p.strip().startswith("/"):
            raise SystemExit(f"{path}:{n}: expected 'MODE /path', got {line!r}")
        expected[p.strip()] = int(mode, 8)
    return expected


def main(argv):
    if len(argv) == 3 and argv[1] == "--skip":
        print(f"SKIP: {argv[2]}")
        return 77
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    meson, builddir, list_file = argv[1:]
    expected = read_list(list_file)
    prefix, dirs = introspect_dirs(meson, builddir)
    print(f"build: prefix={prefix} sysconfdir={dirs['sysconfdir']} localstatedir={dirs['localstatedir']}")

    problems = []
    with tempfile.TemporaryDirectory(prefix="pidbroker-install-") as destdir:
        r = subprocess.run([meson, "install", "-C", builddir, "--no-rebuild", "--quiet", "--destdir", destdir],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout + r.stderr, file=sys.stderr)
            print(f"FAIL: meson install exited {r.returncode}", file=sys.stderr)
            return 1

        installed = {}     # Debian path -> (mode, real path under destdir)
        for top, dirnames, filenames in os.walk(destdir):
            for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(top, d))]:
                real = os.path.join(top, name)
                path = "/" + os.path.relpath(real, destdir)
                st = os.lstat(real)
                debian = to_debian(path, prefix, dirs)
                if debian in installed:
                    problems.append(f"two installed files map to {debian}")
                installed[debian] = (stat.S_IMODE(st.st_mode), real, path)

        for p in sorted(set(expected) - set(installed)):
            problems.append(f"missing: {p}")
        for p in sorted(set(installed) - set(expected)):
            problems.append(f"not in {os.path.basename(list_file)}: {p} (installed as {installed[p][2]})")
        for p in sorted(set(expected) & set(installed)):
            mode = installed[p][0]
            if mode != expected[p]:
                problems.append(f"mode of {p} is {mode:04o}, expected {expected[p]:04o}")

        # What the installed files refer to must be installed too.
        daemon = dirs["libexecdir"] + "/pidbrokerd"
        for p, (_, real, _) in installed.items():
            if p.endswith(".service") and "/systemd/system/" in p:
                text = open(real, encoding="utf-8").read()
                m = re.search(r"^ExecStart=(\S+)", text, re.M)
                if not m or m.group(1) != daemon:
                    problems.append(f"{p}: ExecStart={m.group(1) if m else '(none)'}, but the daemon is {daemon}")
                elif to_debian(daemon, prefix, dirs) not in installed:
                    problems.append(f"{p}: ExecStart={daemon} is not installed")
                else:
                    print(f"ok: {p} starts {daemon}")
            if p.endswith(".service") and "/dbus-1/system-services/" in p:
                text = open(real, encoding="utf-8").read()
                m = re.search(r"^SystemdService=(\S+)", text, re.M)
                units = {PurePosixPath(q).name for q in installed if "/systemd/system/" in q}
                if not m or m.group(1) not in units:
                    problems.append(f"{p}: SystemdService={m.group(1) if m else '(none)'} is not an installed unit")
                else:
                    print(f"ok: {p} activates {m.group(1)}")
            if re.search(r"/share/man/man\d/", p):
                with open(real, "rb") as f:
                    head = f.read(256)
                if not head.startswith(b'.\\"') or b".TH " not in open(real, "rb").read():
                    problems.append(f"{p} is not a roff man page")

        print(f"installed {len(installed)} files, {len(expected)} expected")
        for p in sorted(installed):
            print(f"  {installed[p][0]:04o} {p}")

    for msg in problems:
        print(f"FAIL: {msg}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
