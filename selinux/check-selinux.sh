#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Check the SELinux module in selinux/ (run by meson test, suite 'selinux').
#
#   check-selinux.sh compile SRCDIR
#       Compile pidbroker.pp, and tests/pidbroker_test.pp (which calls every
#       interface of pidbroker.if, so that the interfaces are expanded and
#       checked too), with the reference policy's development Makefile:
#           make -f /usr/share/selinux/devel/Makefile NAME=default pidbroker.pp
#       in a temporary copy of SRCDIR. Any warning fails the check (an m4
#       warning is how refpolicy reports a deprecated interface).
#       Skips (77) when the Makefile is missing (Debian: selinux-policy-dev).
#
#   check-selinux.sh link SRCDIR
#       Compile as above, then install both modules into a throw-away copy of
#       the system's "default" policy store (semodule -p ROOT -n: nothing is
#       loaded and the real store is not touched), with expand-check=1 so
#       that the reference policy's neverallow rules are checked and every
#       type, attribute, class and interface the module requires must exist
#       in Debian's policy. Then, when sesearch (setools) is there, assert on
#       the resulting binary policy what the module promises:
#         - a program the daemon executes enters pidbroker_workload_t
#           (type_transition), under no_new_privs too (nnp_transition);
#         - the daemon re-executing itself stays in pidbrokerd_t, and it may
#           run nothing else without a transition (execute_no_trans);
#         - it creates files only in its audit log directory and deletes none;
#         - it has no access to shadow_t, and its configuration is read-only;
#         - ptrace of other domains (GetFd) hangs on the pidbroker_getfd boolean.
#       Skips (77) without the Makefile, semodule or an installed default
#       policy (Debian: selinux-policy-default).
#
# Exit status: 0 passed, 1 failed, 77 skipped (the reason on stdout).

set -euo pipefail

mode=${1:?usage: check-selinux.sh compile|link SRCDIR}
src=${2:?usage: check-selinux.sh compile|link SRCDIR}
devel_makefile=/usr/share/selinux/devel/Makefile

skip() {
        echo "SKIP: $*"
        exit 77
}

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

[[ -f $devel_makefile ]] || skip "$devel_makefile not found (Debian: apt-get install selinux-policy-dev)"
command -v make >/dev/null || skip "make not found"

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

compile() {
        local out
        mkdir "$tmp/build"
        cp "$src/pidbroker.te" "$src/pidbroker.fc" "$src/pidbroker.if" "$tmp/build/"
        cp "$src/tests/pidbroker_test.te" "$tmp/build/"
        : >"$tmp/build/pidbroker_test.fc"
        : >"$tmp/build/pidbroker_test.if"
        if ! out=$(make -C "$tmp/build" -f "$devel_makefile" NAME=default pidbroker.pp pidbroker_test.pp 2>&1); then
                printf '%s\n' "$out" >&2
                fail "the module does not compile"
        fi
        printf '%s\n' "$out"
        if grep -qiE 'warn|error|deprecated' <<<"$out"; then
                fail "the build printed warnings (see above)"
        fi
        [[ -s $tmp/build/pidbroker.pp && -s $tmp/build/pidbroker_test.pp ]] || fail "no .pp was produced"
        echo "compiled pidbroker.pp and pidbroker_test.pp"
}

# sesearch prints matching rules, one per line; nothing when none match.
expect_rule() {
        local what=$1
        shift
        local out
        out=$(sesearch "$@" "$policy" 2>&1) || fail "sesearch $* failed: $out"
        [[ -n $out ]] || fail "missing: $what (sesearch $*)"
        echo "ok: $what"
}

expect_no_rule() {
        local what=$1
        shift
        local out
        out=$(sesearch "$@" "$policy" 2>&1) || fail "sesearch $* failed: $out"
        [[ -z $out ]] || fail "unexpected: $what (sesearch $*):"$'\n'"$out"
        echo "ok: $what"
}

link() {
        local root=$tmp/root out

        command -v semodule >/dev/null || skip "semodule not found (Debian: policycoreutils)"
        [[ -d /var/lib/selinux/default/active && -d /etc/selinux/default ]] ||
                skip "no installed 'default' policy store (Debian: apt-get install selinux-policy-default)"

        # A private copy of the store: semodule -p makes every path relative
        # to ROOT, and -n keeps it from loading anything into the kernel.
        mkdir -p "$root/var/lib/selinux" "$root/etc/selinux"
        cp -a /var/lib/selinux/default "$root/var/lib/selinux/"
        cp -a /etc/selinux/default "$root/etc/selinux/"
        if [[ -f /etc/selinux/semanage.conf ]]; then
                grep -v '^[[:space:]]*expand-check' /etc/selinux/semanage.conf >"$root/etc/selinux/semanage.conf"
        else
                echo 'module-store = direct' >"$root/etc/selinux/semanage.conf"
        fi
        echo 'expand-check=1' >>"$root/etc/selinux/semanage.conf"
        rm -f "$root"/var/lib/selinux/default/semanage.*.LOCK

        if ! out=$(semodule -p "$root" -s default -n -i "$tmp/build/pidbroker.pp" "$tmp/build/pidbroker_test.pp" 2>&1); then
                printf '%s\n' "$out" >&2
                fail "the module does not link into the default policy"
        fi
        echo "linked into a copy of the default policy store (neverallow rules checked)"

        if ! command -v sesearch >/dev/null; then
                echo "note: sesearch not found (Debian: setools); rule assertions not run"
                return 0
        fi
        policy=$(ls "$root"/etc/selinux/default/policy/policy.* 2>/dev/null | sort -V | tail -n 1)
        [[ -n $policy ]] || fail "no binary policy was written"

        expect_rule "exec of bin_t from pidbrokerd_t enters pidbroker_workload_t" \
                -T -s pidbrokerd_t -t bin_t -c process -D pidbroker_workload_t
        expect_rule "transition allowed under no_new_privs" \
                -A -s pidbrokerd_t -t pidbroker_workload_t -c process2 -p nnp_transition
        expect_no_rule "no transition when the daemon re-executes itself" \
                -T -s pidbrokerd_t -t pidbrokerd_exec_t -c process
        out=$(sesearch -A -s pidbrokerd_t -c file -p execute_no_trans "$policy")
        [[ -n $out ]] || fail "pidbrokerd_t cannot re-execute itself"
        if grep -v ' pidbrokerd_exec_t:file ' <<<"$out" | grep -q .; then
                fail "pidbrokerd_t may execute something in its own domain:"$'\n'"$out"
        fi
        echo "ok: pidbrokerd_t executes nothing in its own domain but pidbrokerd_exec_t"
        out=$(sesearch -A -s pidbrokerd_t -c file -p create "$policy")
        if grep -v -e ' pidbroker_log_t:file ' -e ' pidbroker_runtime_t:file ' -e ' pidbroker_tmpfs_t:file ' <<<"$out" | grep -q .; then
                fail "pidbrokerd_t creates files outside its audit log, its runtime directory and its memfd:"$'\n'"$out"
        fi
        echo "ok: files are created only as pidbroker_log_t, pidbroker_runtime_t (workload records), pidbroker_tmpfs_t (the re-exec memfd)"
        out=$(sesearch -A -s pidbrokerd_t -c file -p unlink,rename "$policy")
        if grep -v ' pidbroker_runtime_t:file ' <<<"$out" | grep -q .; then
                fail "pidbrokerd_t deletes or renames files other than its workload records:"$'\n'"$out"
        fi
        echo "ok: no file is deleted or renamed but the workload records"
        expect_no_rule "no access to shadow_t" \
                -A -s pidbrokerd_t -t shadow_t
        expect_no_rule "the configuration is read-only" \
                -A -s pidbrokerd_t -t pidbroker_conf_t -c file,dir,lnk_file -p write,append,create,setattr
        out=$(sesearch -A -s pidbrokerd_t -t domain -c process -p ptrace "$policy")
        grep -q 'pidbroker_getfd' <<<"$out" || fail "ptrace of other domains is not conditional on pidbroker_getfd:"$'\n'"$out"
        echo "ok: ptrace (GetFd) depends on the pidbroker_getfd boolean"
}

case $mode in
compile)
        compile
        ;;
link)
        compile >/dev/null
        link
        ;;
*)
        fail "unknown mode $mode"
        ;;
esac
