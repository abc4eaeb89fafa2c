#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check that every path in pidbroker.fc is one the build installs.

Usage: check-fc-paths.py MESON BUILDDIR FC_FILE

The file contexts label paths of a Debian install (-Dprefix=/usr). The build
being tested may have another prefix (the default is /usr/local), so each
.fc path is mapped onto this build's directories before it is looked up:

    /etc/...      ->  <sysconfdir>/...
    /var/...      ->  <localstatedir>/...
    /usr/...      ->  <prefix>/...
    (with the values of `meson introspect --buildoptions`; relative ones are
    taken under prefix, as Meson does)

and then must be one of:

  - a file in `meson introspect --installed` (for entries of type "--",
    this is the only way), or a directory that holds one (for "DIR(/.*)?"
    entries: /etc/pidbroker is installed when something is installed in it);
  - a directory that an installed systemd unit declares, and so makes
    systemd create at start: RuntimeDirectory= (/run/NAME),
    LogsDirectory= (/var/log/NAME), ConfigurationDirectory= (/etc/NAME),
    StateDirectory= (/var/lib/NAME), CacheDirectory= (/var/cache/NAME).
    These are absolute system paths whatever the prefix, so the .fc path
    is compared unmapped.
  - a path an installed tmpfiles.d(5) file creates (compared unmapped).

Also the other way round: the installed daemon (a file named pidbrokerd)
must be covered by an entry, so that it cannot move without its label.

An .fc path must be a literal path, optionally followed by "(/.*)?"; any
other regular expression cannot be checked and fails.
Exit status: 0 when every path is accounted for, 1 otherwise.
"""

import json
import re
import subprocess
import sys
from pathlib import PurePosixPath

UNIT_DIRECTORIES = {
    "RuntimeDirectory": "/run",
    "LogsDirectory": "/var/log",
    "ConfigurationDirectory": "/etc",
    "StateDirectory": "/var/lib",
    "CacheDirectory": "/var/cache",
}


def introspect(meson, builddir, what):
    out = subprocess.run([meson, "introspect", what, builddir], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def build_dirs(options):
    values = {o["name"]: o["value"] for o in options}
    prefix = values["prefix"]

    def absolute(name):
        v = values[name]
        return v if v.startswith("/") else str(PurePosixPath(prefix) / v)

    return {"prefix": prefix, "sysconfdir": absolute("sysconfdir"), "localstatedir": absolute("localstatedir")}


def map_to_build(path, dirs):
    for debian, key in (("/etc", "sysconfdir"), ("/var", "localstatedir"), ("/usr", "prefix")):
        if path == debian or path.startswith(debian + "/"):
            return dirs[key] + path[len(debian):]
    return path


def parse_fc(text):
    """[(line number, literal path, recursive, file type)] of an .fc file."""
    entries = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        regex = fields[0]
        ftype = fields[1] if len(fields) == 3 else None
        recursive = regex.endswith("(/.*)?")
        if recursive:
            regex = regex[: -len("(/.*)?")]
        literal = regex.replace("\\.", ".")
        if re.search(r"[\\()\[\]*+?|^$]", literal):
            entries.append((n, None, raw, ftype))
        else:
            entries.append((n, literal, recursive, ftype))
    return entries


def unit_directories(unit_text):
    out = set()
    for line in unit_text.splitlines():
        m = re.match(r"^\s*([A-Za-z]+Directory)=(.*)$", line)
        if m and m.group(1) in UNIT_DIRECTORIES:
            for name in m.group(2).split():
                out.add(UNIT_DIRECTORIES[m.group(1)] + "/" + name.split(":")[0])
    return out


def tmpfiles_paths(text):
    out = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and not fields[0].startswith("#"):
            out.add(fields[1].rstrip("/"))
    return out


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    meson, builddir, fc_file = argv[1:]
    installed = introspect(meson, builddir, "--installed")
    dirs = build_dirs(introspect(meson, builddir, "--buildoptions"))

    files = set(installed.values())
    parents = set()
    for f in files:
        for p in PurePosixPath(f).parents:
            parents.add(str(p))
    declared = set()
    for src, dst in installed.items():
        try:
            if dst.endswith(".service") and "/systemd/" in dst:
                declared |= unit_directories(open(src, encoding="utf-8").read())
            elif "/tmpfiles.d/" in dst and dst.endswith(".conf"):
                declared |= tmpfiles_paths(open(src, encoding="utf-8").read())
        except OSError as e:
            print(f"FAIL: cannot read {src} (installed as {dst}): {e.strerror}", file=sys.stderr)
            return 1

    print(f"build: prefix={dirs['prefix']} sysconfdir={dirs['sysconfdir']} localstatedir={dirs['localstatedir']}")
    print(f"installed: {len(files)} files; declared by units and tmpfiles.d: {', '.join(sorted(declared)) or 'none'}")

    failed = 0
    entries = parse_fc(open(fc_file, encoding="utf-8").read())
    covered = set()
    for n, path, recursive, ftype in entries:
        if path is None:
            print(f"FAIL: {fc_file}:{n}: not a literal path (optionally with (/.*)?): {recursive}", file=sys.stderr)
            failed += 1
            continue
        mapped = map_to_build(path, dirs)
        if mapped in files:
            how = f"installed as {mapped}"
            covered.add(mapped)
        elif recursive and mapped in parents and ftype is None:
            how = f"directory of installed files ({mapped})"
        elif path in declared and ftype in (None, "-d"):
            how = "created by an installed unit or tmpfiles.d file"
        else:
            print(f"FAIL: {fc_file}:{n}: {path} (here {mapped}) is not installed by this build", file=sys.stderr)
            failed += 1
            continue
        if recursive:
            for f in files:
                if f.startswith(mapped + "/"):
                    covered.add(f)
        print(f"ok: {path}: {how}")

    daemons = [f for f in files if PurePosixPath(f).name == "pidbrokerd"]
    if not daemons:
        print("FAIL: the build installs no pidbrokerd", file=sys.stderr)
        failed += 1
    for d in daemons:
        if d not in covered:
            print(f"FAIL: the installed daemon {d} has no entry in {fc_file}", file=sys.stderr)
            failed += 1
        else:
            print(f"ok: the installed daemon {d} is labelled")

    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
