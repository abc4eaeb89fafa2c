#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run a command through pidbroker and watch it with GLib, without polling.

usage: spawn-watch.py [--input=TEXT] [--] COMMAND [ARG...]

The command runs as you, with its stdin and stdout on pipes of ours:
--input is written to its stdin once everything is watched, then stdin is
closed. Its output is printed as "stdout: LINE". The exit is seen twice,
and neither time by asking: the pidfd the broker returned becomes readable
(GLib.unix_fd_add_full), and the broker sends PropertiesChanged for State,
which a Gio.DBusProxy applies to its cached properties. Exits with the
command's status, then releases the workload.

Talks to org.pidbroker.Broker1 on the system bus ($DBUS_SYSTEM_BUS_ADDRESS
is honoured); see org.pidbroker.Broker1(5).
"""

import os
import sys

import gi

gi.require_version("Gio", "2.0")
gi.require_version("GLib", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

BUS_NAME = "org.pidbroker.Broker1"
BROKER_PATH = "/org/pidbroker/Broker1"
BROKER_INTERFACE = "org.pidbroker.Broker1"
WORKLOAD_INTERFACE = "org.pidbroker.Workload1"


def parse_args(args):
    text = None
    while args and args[0].startswith("--"):
        arg = args.pop(0)
        if arg == "--":
            break
        if arg.startswith("--input="):
            text = arg[len("--input="):]
        else:
            sys.exit(f"spawn-watch.py: unknown option {arg}\n{__doc__}")
    if not args:
        sys.exit(__doc__)
    # The broker does no PATH search.
    if "/" not in args[0]:
        path = GLib.find_program_in_path(args[0])
        if not path:
            sys.exit(f"spawn-watch.py: {args[0]} not found in $PATH")
        args[0] = path
    return text, args


class Watch:
    def __init__(self, loop, proxy, pidfd, stdout_fd):
        self.loop = loop
        self.proxy = proxy
        self.pidfd_readable = False
        self.stdout_done = False
        self.exited = False
        self.buffer = b""
        proxy.connect("g-properties-changed", self.on_properties_changed)
        GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, pidfd, GLib.IOCondition.IN, self.on_pidfd)
        GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, stdout_fd, GLib.IOCondition.IN | GLib.IOCondition.HUP,
                              self.on_stdout)

    def maybe_quit(self):
        if self.pidfd_readable and self.stdout_done and self.exited:
            self.loop.quit()

    def on_pidfd(self, fd, condition):
        # Readable once the process has exited: nothing to read, nothing to ask.
        print("pidfd: readable", flush=True)
        self.pidfd_readable = True
        self.maybe_quit()
        return GLib.SOURCE_REMOVE

    def on_stdout(self, fd, condition):
        data = os.read(fd, 4096)
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            print("stdout:", line.decode(errors="replace"), flush=True)
        if data:
            return GLib.SOURCE_CONTINUE
        if self.buffer:
            print("stdout:", self.buffer.decode(errors="replace"), flush=True)
        self.stdout_done = True
        self.maybe_quit()
        return GLib.SOURCE_REMOVE

    def on_properties_changed(self, proxy, changed, invalidated):
        changed = changed.unpack()
        if "State" in changed:
            print(f"State: {changed['State']} (PropertiesChanged)", flush=True)
            if changed["State"] == "exited":
                self.exited = True
                self.maybe_quit()


def main():
    text, argv = parse_args(sys.argv[1:])
    bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)

    # Our ends stay here; theirs go to the broker with the call, and are
    # closed once it has them.
    stdin_r, stdin_w = os.pipe2(os.O_CLOEXEC)
    stdout_r, stdout_w = os.pipe2(os.O_CLOEXEC)
    fds = Gio.UnixFDList.new()
    fd_map = {0: fds.append(stdin_r), 1: fds.append(stdout_w)}
    os.close(stdin_r)
    os.close(stdout_w)

    params = GLib.Variant.new_tuple(
        GLib.Variant.new_bytestring_array(argv),
        GLib.Variant("a{ss}", {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME")}),
        GLib.Variant("a{uh}", fd_map),
        GLib.Variant("a{sv}", {}),
    )
    reply, out_fds = bus.call_with_unix_fd_list_sync(
        BUS_NAME, BROKER_PATH, BROKER_INTERFACE, "Spawn", params, GLib.VariantType("(oht)"),
        Gio.DBusCallFlags.NONE, -1, fds, None)
    # The list holds copies of the pipes' far ends: gone with it, or the
    # command's stdout would never reach EOF.
    del fds
    path, pidfd_index, workload_id = reply.unpack()
    pidfd = out_fds.get(pidfd_index)
    print(f"workload {workload_id} at {path}", flush=True)

    # The proxy subscribes to PropertiesChanged, then reads every property
    # once; from then on its cache follows the signals.
    proxy = Gio.DBusProxy.new_sync(bus, Gio.DBusProxyFlags.NONE, None, BUS_NAME, path, WORKLOAD_INTERFACE, None)
    print("argv:", proxy.get_cached_property("Argv").get_bytestring_array(), flush=True)
    print("OwnerUid:", proxy.get_cached_property("OwnerUid").unpack(), flush=True)
    print("State:", proxy.get_cached_property("State").unpack(), flush=True)

    loop = GLib.MainLoop()
    watch = Watch(loop, proxy, pidfd, stdout_r)
    # Everything is watched: now let the command run to its end.
    if text is not None:
        os.write(stdin_w, (text + "\n").encode())
    os.close(stdin_w)
    if proxy.get_cached_property("State").unpack() == "exited":
        watch.exited = True  # it exited before the proxy existed
    loop.run()

    code, status = proxy.get_cached_property("ExitStatus").unpack()
    print(f"ExitStatus: {code} {status}", flush=True)
    proxy.call_sync("Release", None, Gio.DBusCallFlags.NONE, -1, None)
    print("released", flush=True)
    os.close(pidfd)
    os.close(stdout_r)
    return status if code == "exited" else 128 + status


if __name__ == "__main__":
    sys.exit(main())
