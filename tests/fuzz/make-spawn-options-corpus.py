#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the seed corpus of fuzz-spawn-options: Spawn's options a{sv},
marshalled as on the wire (D-Bus, little endian, from an 8-aligned offset).
Run from the tree: tests/fuzz/make-spawn-options-corpus.py tests/fuzz/corpus/spawn-options"""

import os
import struct
import sys


class Writer:
    def __init__(self):
        self.b = bytearray()

    def align(self, n):
        while len(self.b) % n:
            self.b.append(0)

    def u32(self, v):
        self.align(4)
        self.b += struct.pack('<I', v)

    def value(self, sig, v):
        c = sig[0]
        if c in 'ubh':
            self.u32(int(v))
        elif c == 'i':
            self.align(4)
            self.b += struct.pack('<i', v)
        elif c == 't':
            self.align(8)
            self.b += struct.pack('<Q', v)
        elif c in 'so':
            data = v.encode()
            self.u32(len(data))
            self.b += data + b'\0'
        elif c == 'g':
            data = v.encode()
            self.b += bytes([len(data)]) + data + b'\0'
        elif c == 'v':
            inner, x = v
            self.value('g', inner)
            self.value(inner, x)
        elif c == 'a':
            elem = sig[1:]
            self.u32(0)
            at = len(self.b) - 4
            self.align(8 if elem[0] in '({t' else 4 if elem[0] not in 'yg' else 1)
            start = len(self.b)
            for x in v:
                if elem[0] == '{':
                    self.align(8)
                    ksig, vsig = elem[1], elem[2:-1]
                    self.value(ksig, x[0])
                    self.value(vsig, x[1])
                elif elem[0] == '(':
                    self.align(8)
                    for s, y in zip(elem[1:-1], x):
                        self.value(s, y)
                elif elem == 'y':
                    self.b.append(x)
                else:
                    self.value(elem, x)
            self.b[at:at + 4] = struct.pack('<I', len(self.b) - start)
        else:
            raise ValueError(sig)


def options(pairs):
    w = Writer()
    w.value('a{sv}', pairs)
    return bytes(w.b)


def ay(s):
    return list(s.encode())


SEEDS = {
    'empty': [],
    'cwd-user-group': [('cwd', ('ay', ay('/tmp'))), ('user', ('u', 65534)), ('group', ('u', 65534)),
                       ('groups', ('au', [65534, 1]))],
    'namespaces-maps': [('namespaces', ('as', ['user', 'pid', 'mount', 'net'])),
                        ('uid_map', ('a(uuu)', [(0, 1000, 1), (1, 100000, 65536)])),
                        ('gid_map', ('a(uuu)', [(0, 1000, 1)])), ('hostname', ('s', 'sandbox'))],
    'privileges': [('capabilities', ('as', ['net_admin', 'CAP_NET_RAW'])), ('no_new_privileges', ('b', False)),
                   ('seccomp', ('s', 'strict'))],
    'lifetime': [('watch_client', ('b', True)), ('stop_timeout_usec', ('t', 5000000)), ('umask', ('u', 0o077)),
                 ('setsid', ('b', False)), ('require_pidfd', ('b', True))],
    'fd-options': [('cgroup', ('h', 0)), ('exe_fd', ('h', 1))],
    'unknown-key': [('no_such_option', ('b', True))],
    'wrong-type': [('user', ('s', 'root'))],
    'twice': [('umask', ('u', 0o022)), ('umask', ('u', 0o022))],
    'bad-values': [('umask', ('u', 0o7777)), ('namespaces', ('as', ['bogus'])), ('user', ('u', 0xffffffff))],
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, pairs in SEEDS.items():
        with open(os.path.join(out, name + '.bin'), 'wb') as f:
            f.write(options(pairs))


if __name__ == '__main__':
    main()
