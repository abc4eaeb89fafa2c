#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check that the man pages say what the code does (meson test, suite 'doc').

Usage: check-man.py SOURCE_ROOT METHOD_ACTIONS_PROGRAM

Each check compares a man page with the source it documents, both ways (a
thing the code has and the page lacks, and a thing the page names that the
code does not have), so that neither can drift alone:

  pidbroker.conf(5)        every key config_set() in src/daemon/daemon-config.c
                           parses, and the key <-> --flag table
  pidbrokerd(8)            every option config_parse_argv() accepts
  pidbrokerctl(1)          every verb of verbs[] and every option of options[]
                           in src/ctl/pidbrokerctl.c, short options included
  libpidbroker(3)          every function of src/libpidbroker/pidbroker.h,
                           and the Spawn option each pidbroker_spawn_ setter
                           sends (src/libpidbroker/pidbroker-spawn.c)
  org.pidbroker.Broker1(5) every method, property and signal of the
                           introspection XML, with its exact signature; every
                           error of src/daemon/bus-error.h; every Spawn option
                           of src/daemon/spawn-args.c with its type; every
                           feature of src/pidfd/feature.c; the action table
                           and defaults of policy/org.pidbroker.policy; and the
                           method -> action table, row for row and in order, as
                           policy_method_actions() (src/policy/policy.c)
                           prints it through METHOD_ACTIONS_PROGRAM
  pidbroker-runbook(7)     every warning the daemon can log (log_warning()
                           in src/, but src/ctl and src/tools), by its longest
                           fixed text, and every Metrics key of
                           src/daemon/metrics.c
  all pages                every reference to a pidbroker page names a page
                           man/meson.build builds

Prints one "ok:" line per check; failures go to stderr; exit 1 if any failed.
"""

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}", file=sys.stderr)


def ok(msg):
    print(f"ok: {msg}")


def compare(what, in_code, in_doc, code_name, doc_name):
    """Set equality with a message for each side."""
    missing = sorted(set(in_code) - set(in_doc))
    extra = sorted(set(in_doc) - set(in_code))
    if missing:
        fail(f"{what}: in {code_name} but not in {doc_name}: {', '.join(map(str, missing))}")
    if extra:
        fail(f"{what}: in {doc_name} but not in {code_name}: {', '.join(map(str, extra))}")
    if not in_code:
        fail(f"{what}: found nothing in {code_name} (has its format changed?)")
    if not missing and not extra and in_code:
        ok(f"{what}: {len(set(in_code))} match")


def sections(scd):
    """'# NAME' headed sections of an scdoc page: {title: text}."""
    out = {}
    title = None
    for line in scd.splitlines(keepends=True):
        m = re.match(r"^# (.+)$", line)
        if m:
            title = m.group(1).strip()
            out[title] = ""
        elif title is not None:
            out[title] += line
    return out


def table_rows(text, columns):
    """Rows of an scdoc table: '|  a' followed by ':  b' lines."""
    rows = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|  "):
            row = [lines[i][3:].strip()]
            j = i + 1
            while j < len(lines) and lines[j].startswith(":  ") and len(row) < columns:
                row.append(lines[j][3:].strip())
                j += 1
            if len(row) == columns:
                rows.append(tuple(row))
            i = j
        else:
            i += 1
    return rows


def read(root, rel):
    return (root / rel).read_text(encoding="utf-8")


def check_conf(root):
    code = read(root, "src/daemon/daemon-config.c")
    page = read(root, "man/pidbroker.conf.5.scd")
    sec = sections(page)
    m = re.search(r"static int config_set\(.*?\n}\n", code, re.S)
    keys = re.findall(r'strcasecmp\(key, "([A-Za-z]+)"\)', m.group(0) if m else "")
    documented = re.findall(r"^\*([A-Za-z]+)=\*", sec.get("KEYS", ""), re.M)
    compare("pidbroker.conf(5) keys", keys, documented, "config_set()", "KEYS")

    pairs = re.findall(r'\{ "([a-z-]+)", "([A-Za-z]+)" \}', code)
    doc_pairs = [(flag.rstrip("=").lstrip("-"), key) for key, flag in table_rows(sec.get("OPTIONS", ""), 2)]
    compare("pidbroker.conf(5) key/option table", pairs, doc_pairs, "the settings table", "OPTIONS")
    return pairs


def check_daemon(root, setting_pairs):
    code = read(root, "src/daemon/daemon-config.c")
    page = read(root, "man/pidbrokerd.8.scd")
    sec = sections(page)
    m = re.search(r"struct option options\[.*?\] = \{(.*?)\};", code, re.S)
    fixed = re.findall(r'\{ "([a-z-]+)", (?:no|required|optional)_argument', m.group(1) if m else "")
    flags = fixed + [flag for flag, _ in setting_pairs]
    documented = re.findall(r"^\*(?:-[a-z]\*, \*)?--([a-z-]+)", sec.get("OPTIONS", ""), re.M)
    compare("pidbrokerd(8) options", flags, documented, "config_parse_argv()", "OPTIONS")
    # Each setting flag names its key.
    for flag, key in setting_pairs:
        block = re.search(r"^\*--" + re.escape(flag) + r"=\*.*\n\t(.*)$", sec.get("OPTIONS", ""), re.M)
        if not block or f"*{key}=*" not in block.group(1):
            fail(f"pidbrokerd(8): --{flag} does not say it sets *{key}=*")
    if "h" not in re.findall(r'getopt_long\(argc, argv, "([a-z:]*)"', code)[0]:
        fail("pidbrokerd: -h is no longer a short option")


def check_ctl(root):
    code = read(root, "src/ctl/pidbrokerctl.c")
    page = read(root, "man/pidbrokerctl.1.scd")
    verbs = re.findall(r'^\s*\{ "([a-z-]+)", V_[A-Z_]+,', code, re.M)
    headings = [h.split()[0] for h in re.findall(r"^## (.+)$", page, re.M)]
    compare("pidbrokerctl(1) commands", verbs, headings, "verbs[]", "COMMANDS")

    m = re.search(r"static const struct option options\[\] = \{(.*?)\};", code, re.S)
    longs = re.findall(r'\{ "([a-z-]+)",\s+(?:no|required|optional)_argument', m.group(1) if m else "")
    documented = [o for o in re.findall(r"\*--([a-z][a-z-]*)", page)]
    compare("pidbrokerctl(1) long options", longs, documented, "options[]", "the page")

    shorts = set()
    for s in re.findall(r'getopt_long\(argc, argv, [^"]*"([A-Za-z:+]+)"', code):
        shorts |= set(c for c in s if c.isalpha())
    doc_shorts = set(re.findall(r"\*-([A-Za-z])\*", page))
    compare("pidbrokerctl(1) short options", shorts, doc_shorts, "getopt_long()", "the page")


def check_lib(root):
    header = read(root, "src/libpidbroker/pidbroker.h")
    page = read(root, "man/libpidbroker.3.scd")
    funcs = re.findall(r"^[a-z][\w \*]*?\b(pidbroker_\w+)\(", header, re.M)
    named = re.findall(r"\*(pidbroker_\w+)\*\(", page)
    compare("libpidbroker(3) functions", funcs, named, "pidbroker.h", "the page")

    # The Spawn options the builder sends, and those its table names.
    code = read(root, "src/libpidbroker/pidbroker-spawn.c")
    sent = set(re.findall(r'"\{sv\}", "([a-z_]+)"', code)) | set(re.findall(r'option\(m, "([a-z_]+)"', code))
    sent |= set(re.findall(r'append_(?:strv|id_map)_option\(m, "([a-z_]+)"', code))
    rows = table_rows(sections(page).get("DESCRIPTION", ""), 2)
    documented = set()
    for row in rows:
        if row[0].startswith("*pidbroker_spawn_"):
            documented.add(re.split(r"[: (]", row[1].strip())[0])
    compare("libpidbroker(3) Spawn options", sent, documented, "pidbroker-spawn.c", "the setter table")


def xml_signature(args, direction=None):
    out = []
    for a in args:
        if direction and a.get("direction", "in") != direction:
            continue
        out.append(f"_{a.get('type')}_ {a.get('name')}")
    return ", ".join(out)


def check_dbus(root, method_actions_program):
    page = read(root, "man/org.pidbroker.Broker1.5.scd")
    sec = sections(page)
    tree = ET.parse(root / "dbus/org.pidbroker.Broker1.xml")

    for iface in tree.getroot().findall("interface"):
        name = iface.get("name")
        text = sec.get(f"INTERFACE {name}")
        if text is None:
            fail(f"org.pidbroker.Broker1(5): no section INTERFACE {name}")
            continue
        expected = []
        for meth in iface.findall("method"):
            args = meth.findall("arg")
            expected.append(f"*{meth.get('name')}*({xml_signature(args, 'in')}) → ({xml_signature(args, 'out')})")
        for prop in iface.findall("property"):
            expected.append(f"*{prop.get('name')}* (_{prop.get('type')}_)")
        for sig in iface.findall("signal"):
            expected.append(f"*{sig.get('name')}*({xml_signature(sig.findall('arg'))})")
        entries = [line for line in text.splitlines() if re.match(r"^\*[A-Z][A-Za-z]*\*[ (]", line)]
        documented = [re.sub(r"(\)|_\)), .*$", r"\1", e) if " (_" in e and "→" not in e else e for e in entries]
        compare(f"org.pidbroker.Broker1(5) {name} members and signatures", expected, documented,
                "the introspection XML", "the page")

    errors_h = read(root, "src/daemon/bus-error.h")
    errors = re.findall(r'#define BUS_ERROR_[A-Z_]+ "([A-Za-z.]+)"', errors_h)
    doc_errors = re.findall(r"^\*([a-z]+\.[A-Za-z.]+)\*$", sec.get("ERRORS", ""), re.M)
    compare("org.pidbroker.Broker1(5) errors", errors + ["org.freedesktop.DBus.Error.Failed"], doc_errors,
            "bus-error.h (and Failed, the fallback)", "ERRORS")

    spawn_args = read(root, "src/daemon/spawn-args.c")
    m = re.search(r"spawn_options\[\] = \{(.*?)\n\};", spawn_args, re.S)
    options = dict(re.findall(r'\{ "([a-z_]+)", "([^"]+)",', m.group(1) if m else ""))
    doc_options = {}
    option = r"\*[a-z_]+\*(?: \(_[^ ]+_\))?"
    for header in re.findall(r"^\t(" + option + r"(?:, " + option + r")*)$", sec.get("INTERFACE org.pidbroker.Broker1", ""), re.M):
        pending = []
        for name, sig in re.findall(r"\*([a-z_]+)\*(?: \(_([^ ]+?)_\))?", header):
            pending.append(name)
            if sig:
                for n in pending:
                    doc_options[n] = sig
                pending = []
    compare("org.pidbroker.Broker1(5) Spawn options", sorted(options.items()), sorted(doc_options.items()),
            "spawn-args.c spawn_options[]", "Spawn's options")

    feature_c = read(root, "src/pidfd/feature.c")
    features = re.findall(r'\[FEATURE_[A-Z0-9_]+\]\s*=\s*"([a-z0-9_]+)"', feature_c)
    m = re.search(r"^\*Features\*.*?\n\n", sec.get("INTERFACE org.pidbroker.Broker1", ""), re.S | re.M)
    # The names are listed between "for" and the sentence on probing.
    listed = re.search(r"\bfor\s(.*?)Each is probed", m.group(0) if m else "", re.S)
    doc_features = re.findall(r"_([a-z0-9_]+)_", listed.group(1) if listed else "")
    compare("org.pidbroker.Broker1(5) features", features, doc_features, "feature.c", "Features")

    # Actions and their defaults, from the polkit file.
    pol = ET.parse(root / "policy/org.pidbroker.policy")
    actions = {}
    for a in pol.getroot().findall("action"):
        d = a.find("defaults")
        value = None
        for tag in ("allow_any", "allow_active"):
            el = d.find(tag) if d is not None else None
            if el is not None and el.text:
                value = el.text.strip()
                break
        own = any(an.get("key") == "org.pidbroker.embedded.own-workload" and (an.text or "").strip() == "yes"
                  for an in a.findall("annotate"))
        actions[a.get("id")] = f"yes for own workloads, else {value}" if own else (value or "no")
    policy_text = sec.get("POLICY ACTIONS", "")
    split = policy_text.find("Each method asks")
    doc_actions = {r[0]: r[1] for r in table_rows(policy_text[:split], 3) if r[0].startswith("org.")}
    compare("org.pidbroker.Broker1(5) actions and defaults", sorted(actions.items()), sorted(doc_actions.items()),
            "policy/org.pidbroker.policy", "POLICY ACTIONS")

    # The method -> action table, exactly as the daemon's contract has it.
    out = subprocess.run([method_actions_program], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        iface, member, action, when = line.split("\t")
        rows.append((iface.rsplit(".", 1)[-1] + "." + member, action, when))
    doc_rows = [r for r in table_rows(policy_text[split:], 3) if r[0] != "*Method*"]
    if rows != doc_rows:
        for i, (a, b) in enumerate(zip(rows + [None] * len(doc_rows), doc_rows + [None] * len(rows))):
            if a != b:
                fail(f"org.pidbroker.Broker1(5) method/action row {i + 1}: policy.c has {a}, the page has {b}")
                break
    elif not rows:
        fail("policy_method_actions() printed nothing")
    else:
        ok(f"org.pidbroker.Broker1(5) method/action table: {len(rows)} rows as in policy_method_actions()")

def c_string_run(text):
    """The string literals at the start of text, joined; a PRI* macro
    between them stands for its conversion."""
    out, pos = "", 0
    token = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(PRI[a-zA-Z0-9]+))')
    while True:
        m = token.match(text, pos)
        if not m:
            return out
        out += m.group(1).replace('\\"', '"') if m.group(1) is not None else "d"
        pos = m.end()


def check_runbook(root):
    page = read(root, "man/pidbroker-runbook.7.scd")
    # The text as read: without *bold* and _underline_ marks.
    flat = " ".join(re.sub(r"(?<![A-Za-z0-9])_([^_\n]+?)_(?![A-Za-z0-9])", r"\1", page.replace("*", "")).split())
    missing = []
    count = 0
    for path in sorted((root / "src").rglob("*.c")):
        if path.parent.name in ("ctl", "tools"):
            continue
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"\blog_warning(?:_errno)?\s*\(", text):
            rest = text[m.end():]
            if rest.lstrip().startswith("r,") or not rest.lstrip().startswith('"'):
                rest = rest[rest.index(",") + 1:] if not rest.lstrip().startswith('"') else rest
            fmt = c_string_run(rest)
            if not fmt:
                fail(f"{path.relative_to(root)}: a log_warning() without a literal format")
                continue
            count += 1
            pieces = [" ".join(p.split()).strip(" .:;,()") for p in re.split(r"%[-0-9.]*[a-zA-Z]", fmt)]
            longest = max(pieces, key=len)
            if longest not in flat:
                missing.append(f"{path.relative_to(root)}: \"{fmt}\" (looked for \"{longest}\")")
    for w in missing:
        fail(f"pidbroker-runbook(7) does not explain the warning {w}")
    if not missing:
        ok(f"pidbroker-runbook(7) explains all {count} warnings of the daemon")

    metrics = read(root, "src/daemon/metrics.c")
    keys = {k for k in re.findall(r'"([a-z_]+\.[a-z_]+)"', metrics) if not k.endswith(".h")}
    for prefix, table in re.findall(r'"([a-z_]+)\.%s",\s*(\w+)\[', metrics):
        names = re.search(table + r"\[[^]]*\]\s*=\s*\{([^}]*)\}", metrics)
        keys |= {f"{prefix}.{n}" for n in re.findall(r'"([a-z_]+)"', names.group(1))}
    compare("Metrics keys", keys, {k for k in keys if k in flat}, "metrics.c", "pidbroker-runbook(7)")


def check_cross_references(root):
    build = read(root, "man/meson.build")
    pages = {f"{n}({s})" for n, s in re.findall(r"\['([^']+)', '(\d)'\]", build)}
    bad = []
    for scd in sorted((root / "man").glob("*.scd")):
        first = scd.read_text(encoding="utf-8").splitlines()[0]
        if first not in pages:
            bad.append(f"{scd.name} (title {first}) is not built by man/meson.build")
        for ref in re.findall(r"\*((?:org\.)?pidbroker[A-Za-z0-9.\-]*)\*\((\d)\)", scd.read_text(encoding="utf-8")):
            if f"{ref[0]}({ref[1]})" not in pages:
                bad.append(f"{scd.name} refers to {ref[0]}({ref[1]}), which is not built")
    for b in bad:
        fail(b)
    if not bad:
        ok(f"references between the {len(pages)} pages resolve")


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(argv[1])
    pairs = check_conf(root)
    check_daemon(root, pairs)
    check_ctl(root)
    check_lib(root)
    check_dbus(root, argv[2])
    check_runbook(root)
    check_cross_references(root)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
