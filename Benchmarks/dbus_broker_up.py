#!/usr/bin/env python3
"""Start a private dbus-broker instance without systemd as PID 1.

dbus-broker-launch expects two things from systemd:
  * a listening socket passed by socket activation (LISTEN_FDS/LISTEN_PID, fd 3);
  * a journal socket at /run/systemd/journal/socket to log to (it exits
    with ENOENT if that socket is missing).

This helper provides both. Run it inside a private mount namespace so the
fake journal socket never appears on the host:

    unshare --mount --propagation private \
        python3 dbus_broker_up.py --socket DIR/bus.sock --config DIR/bus.conf --log DIR/broker.log

It mounts a tmpfs on /run (in that namespace only), binds a datagram socket
at /run/systemd/journal/socket (whatever the launcher logs goes to --log),
creates and listens on --socket, then forks and execs dbus-broker-launch
with the listening socket as fd 3. Once the bus socket is listening it
prints "ready" on stdout, so a caller can block on one line instead of
polling. SIGTERM/SIGINT stop the broker and the helper.
"""

import argparse
import ctypes
import os
import select
import signal
import socket
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True, help="bus socket path to create")
    ap.add_argument("--config", required=True, help="dbus-broker config file")
    ap.add_argument("--log", required=True, help="file for the launcher's log lines")
    args = ap.parse_args()

    # Become the reaper of our descendants: the broker outlives the launcher
    # by a moment on shutdown and PID 1 here may not reap orphans.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")

    # Private /run with a fake journal socket (needs a private mount namespace).
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    os.makedirs("/run/systemd/journal", exist_ok=True)
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journal.bind("/run/systemd/journal/socket")

    # The bus socket clients connect to.
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    bus = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bus.bind(args.socket)
    bus.listen(64)

    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        # Child: socket activation protocol, then exec the launcher.
        journal.close()  # first: it may hold fd 3
        if bus.fileno() == 3:
            os.set_inheritable(3, True)
        else:
            os.dup2(bus.fileno(), 3, inheritable=True)
        os.environ["LISTEN_FDS"] = "1"
        os.environ["LISTEN_PID"] = str(os.getpid())
        # The launcher connects back to its own bus via sd_bus_open_user().
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=" + os.path.abspath(args.socket)
        os.execvp("dbus-broker-launch",
                  ["dbus-broker-launch", "--scope", "user", "--config-file", args.config])
    bus.close()

    # Wake the loop below on signals instead of polling with a timeout.
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)

    def stop(_sig, _frame):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGCHLD, lambda _sig, _frame: None)

    print("ready", flush=True)
    code = None
    # Copy the launcher's log lines to --log until the launcher exits.
    with open(args.log, "ab", buffering=0) as log:
        while code is None:
            readable, _, _ = select.select([journal, wake_r], [], [])
            if wake_r in readable:
                os.read(wake_r, 512)
            if journal in readable:
                log.write(journal.recv(65536).replace(b"\n", b" ") + b"\n")
            code = reap(pid)
    # The broker gets SIGTERM when the launcher dies (PDEATHSIG); as the
    # subreaper we collect it, so no zombie is left behind.
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return code


def reap(launcher_pid: int):
    """Reaps exited children; returns the launcher's exit code once it is gone."""
    code = None
    while True:
        try:
            done, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return code if code is not None else 0
        if done == 0:
            return code
        if done == launcher_pid:
            code = os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
