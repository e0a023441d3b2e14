#!/usr/bin/env python3
"""Run a suite against a peer program, bounded in time, killing what it started by PID.

    drive.py server [suite options] -- CMD ...   CMD with {port}: an echo server to start;
                                                 server_suite.py runs against it
    drive.py client [suite options] -- CMD ...   client_suite.py listens on a free port; CMD
                                                 with {url} (ws://127.0.0.1:PORT) is the client

Suite options are passed on (--cases, --json, --seed, --timeout for client mode).
--limit SECONDS bounds the whole thing (default 240). The suite's output goes to stdout;
the peer's output to stderr prefixed with 'peer| ' when --peer-log is given, else dropped.
Exit status: the suite's, or 3 when the peer could not be started.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def kill(proc):
    if proc and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait(3)


def start(cmd, log):
    return subprocess.Popen(cmd, stdout=subprocess.PIPE if log else subprocess.DEVNULL,
                            stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def pump(proc, prefix):
    def run():
        for line in proc.stdout:
            sys.stderr.write(prefix + line.decode("utf-8", "replace"))
    t = threading.Thread(target=run, daemon=True)
    t.start()


def wait_port(port, proc, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def main():
    argv = sys.argv[1:]
    if not argv or argv[0] not in ("server", "client") or "--" not in argv:
        print(__doc__)
        return 2
    mode = argv[0]
    i = argv.index("--")
    opts, cmd = argv[1:i], argv[i + 1:]
    limit = 240.0
    log = False
    if "--limit" in opts:
        j = opts.index("--limit")
        limit = float(opts[j + 1])
        del opts[j:j + 2]
    if "--peer-log" in opts:
        opts.remove("--peer-log")
        log = True
    peer = suite = None
    try:
        if mode == "server":
            port = free_port()
            peer = start([c.replace("{port}", str(port)) for c in cmd], log)
            if log:
                pump(peer, "peer| ")
            if not wait_port(port, peer, 10.0):
                print("drive: the server did not listen on port %d" % port)
                print("0 passed, 1 failed")
                return 3
            suite = subprocess.Popen([PY, os.path.join(HERE, "server_suite.py"), "--port", str(port)] + opts,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                return suite.wait(limit)
            except subprocess.TimeoutExpired:
                print("drive: suite exceeded %.0fs, killed" % limit)
                print("0 passed, 1 failed")
                return 4
        else:
            if "--timeout" not in opts:
                opts += ["--timeout", str(max(10.0, limit - 10))]
            suite = subprocess.Popen([PY, "-u", os.path.join(HERE, "client_suite.py"), "--port", "0"] + opts,
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
            url = None
            first = []
            end = time.monotonic() + 10
            while time.monotonic() < end:
                line = suite.stdout.readline().decode()
                if not line:
                    break
                first.append(line)
                if line.startswith("listening on "):
                    url = line.split()[2]
                    break
            sys.stdout.write("".join(first))
            sys.stdout.flush()
            if not url:
                print("drive: client suite did not start")
                print("0 passed, 1 failed")
                return 3
            peer = start([c.replace("{url}", url) for c in cmd], log)
            if log:
                pump(peer, "peer| ")

            def copy():
                for line in suite.stdout:
                    sys.stdout.write(line.decode("utf-8", "replace"))
                    sys.stdout.flush()
            t = threading.Thread(target=copy, daemon=True)
            t.start()
            try:
                rc = suite.wait(limit)
            except subprocess.TimeoutExpired:
                print("drive: suite exceeded %.0fs, killed" % limit)
                print("0 passed, 1 failed")
                return 4
            t.join(5)
            return rc
    finally:
        kill(suite)
        kill(peer)


if __name__ == "__main__":
    sys.exit(main())
