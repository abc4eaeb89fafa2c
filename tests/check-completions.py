#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check the bash, zsh and fish completions of pidbrokerctl (meson test).

Usage: check-completions.py SOURCE_ROOT PIDBROKERCTL

  - every verb of verbs[] and every long option of options[] in
    src/ctl/pidbrokerctl.c is offered by each of the three files;
  - each file parses: bash -n, zsh -n, fish --no-execute;
  - bash and fish complete, for real: a few command lines are completed by
    the shell itself (bash calls _pidbrokerctl with COMP_WORDS set; fish
    answers `complete -C`) and the answers compared.

Prints one "ok:" line per check; exit 1 if any failed.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}", file=sys.stderr)


def ok(msg):
    print(f"ok: {msg}")


def check_coverage(root, files):
    code = (root / "src/ctl/pidbrokerctl.c").read_text()
    verbs = re.findall(r'^\s*\{ "([a-z]+)", V_[A-Z]+,', code, re.M)
    m = re.search(r"static const struct option options\[\] = \{(.*?)\};", code, re.S)
    longs = re.findall(r'\{ "([a-z-]+)",\s+(?:no|required|optional)_argument', m.group(1))
    if not verbs or not longs:
        fail("found no verbs or options in pidbrokerctl.c (has its format changed?)")
        return
    for shell, path in files.items():
        text = path.read_text()
        if shell == "fish":
            offered = set(re.findall(r"-l ([a-z][a-z-]*)", text))
        else:
            offered = set(re.findall(r"--([a-z][a-z-]*)", text))
        missing = sorted(set(longs) - offered)
        missing_verbs = [v for v in verbs if not re.search(rf"\b{v}\b", text)]
        if missing or missing_verbs:
            fail(f"{shell}: lacks options {missing} and verbs {missing_verbs}")
        else:
            ok(f"{shell}: all {len(verbs)} verbs and {len(longs)} long options")


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


def check_syntax(files):
    for shell, argv in (("bash", ["bash", "-n"]), ("zsh", ["zsh", "-n"]), ("fish", ["fish", "--no-execute"])):
        p = run(argv + [str(files[shell])])
        if p.returncode != 0:
            fail(f"{shell}: {' '.join(argv)}: {p.stderr.strip()}")
        else:
            ok(f"{shell}: parses")


def bash_complete(files, ctl, line):
    """What bash's _pidbrokerctl offers for the last word of line."""
    script = f"""
source {files['bash']}
COMP_LINE={line!r}
read -r -a COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_WORDS[0]={str(ctl)!r}
COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
COMP_WORDBREAKS=$' \\t\\n"\\'><;|&('
_pidbrokerctl
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    p = run(["bash", "-c", script])
    return set(p.stdout.split())


def fish_complete(files, ctl, line):
    env = dict(os.environ, PATH=f"{ctl.parent}:{os.environ.get('PATH', '')}")
    p = run(["fish", "--no-config", "-c", f"source {files['fish']}; complete -C {line!r}"], env=env)
    return {l.split("\t")[0] for l in p.stdout.splitlines()}


def check_answers(files, ctl):
    cases = [
        ("pidbrokerctl au", {"audit"}),
        ("pidbrokerctl run --kill-mode=", {"cgroup", "process"}),
        ("pidbrokerctl run -p Memory", {"MemoryMax="}),
        ("pidbrokerctl audit --decision=", {"allow", "deny"}),
        ("pidbrokerctl run --same", {"--same-dir"}),
    ]
    for shell, complete in (("bash", bash_complete), ("fish", fish_complete)):
        bad = []
        for line, want in cases:
            got = complete(files, ctl, line)
            # fish answers --opt=value whole; bash only the value after '='.
            got = {g.split("=", 1)[1] if "=" in line.split()[-1] and g.startswith("--") else g for g in got}
            if not want <= got:
                bad.append(f"{line!r}: {sorted(got)}, wanted {sorted(want)}")
        if bad:
            fail(f"{shell} completes wrongly: " + "; ".join(bad))
        else:
            ok(f"{shell}: {len(cases)} command lines complete as expected")


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, ctl = Path(argv[1]), Path(argv[2])
    files = {
        "bash": root / "shell-completion/bash/pidbrokerctl",
        "zsh": root / "shell-completion/zsh/_pidbrokerctl",
        "fish": root / "shell-completion/fish/pidbrokerctl.fish",
    }
    check_coverage(root, files)
    check_syntax(files)
    check_answers(files, ctl)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
