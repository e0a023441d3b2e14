#!/usr/bin/env python3
"""Validates the conformance suites themselves (run by run_selftest.sh).

1. The control, broken/base.py (a strict, correct stdlib echo server and client), must pass
   every case: the suites raise no false FAIL against a correct peer.
2. Each broken peer in broken/ has exactly one defect; the cases that look at that defect
   must FAIL, with a reason naming it, and nothing outside the expected cases may FAIL.
3. With --peers, Node `ws` (NODE_PATH with ws, or node_modules at the repo top) and Python
   `websockets` (/usr/bin/python3) are run too, without compression and then with
   permessage-deflate through the compression cases' parameter sets (13.*), and their known
   deviations are the only cases allowed to FAIL or be NON-STRICT. Skipped, with a note,
   when not installed.

Ends with "N passed, N failed" over the assertions; exit status non-zero on a failure.
"""

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
PY = sys.executable
DEB_PY = "/usr/bin/python3"

# (name, mode, command, must-fail patterns, allowed-to-fail patterns, reason regex[, suite options])
# patterns match a case id (server mode) or "group:description" (client mode)
UTF8_SERVER = ["6.3.*", "6.4.*", "6.5.*", "7.2.8", "7.2.9", "7.2.10"]
PING_SERVER = ["2.1", "2.2", "2.3", "2.4", "2.5", "2.10", "2.11", "2.12", "2.13", "5.12", "5.13", "5.14", "5.15"]
PMD = ["--deflate", "--cases", "compression"]     # the compression cases only (pmd.py)
PMD13 = ["--deflate", "--cases", "13.*"]            # of them the parameter sets (13.*) only


def client_ids(*pats):
    """Client-mode patterns for compression case ids ("13.3.1?" -> "compression:13.3.1? *")."""
    return ["compression:%s *" % p for p in pats]


# the deflate peers: must-fail cases are those that cannot pass with any seed (messages of
# 4 KiB and more, whose data has matches beyond the agreed window or in the message before)
WIDE_SERVER = ["13.3.*", "13.5.*", "13.7.*", "13.16.*", "13.17.*", "13.18.*", "13.20.*"]
WIDE_CLIENT = client_ids("13.3.*", "13.5.*", "13.7.*", "13.9.*", "13.10.*")
KEEP_SERVER = ["13.2.*", "13.5.*", "13.6.*", "13.7.*", "13.15.*", "13.17.*", "13.20.*"]
BAD_SERVER = ["13.8.*", "13.10.*", "13.15.*", "13.16.*", "13.20.*"]     # offers without client_max_window_bits
KEEP_CLIENT = client_ids("13.2.*", "13.5.*", "13.6.*", "13.7.*", "13.9.*", "13.10.*")
BROKEN = [
    ("base (control)", "server", "base.py", [], [], ""),
    ("no_utf8_check", "server", "no_utf8_check.py", UTF8_SERVER, UTF8_SERVER, r"UTF-8|1007"),
    ("unmasked_accepted", "server", "unmasked_accepted.py", ["8.1", "8.2", "8.3", "8.4", "8.5", "8.6"],
     ["8.*"], r"not failed|went on|instead of failing|expected 1002"),
    ("no_pong", "server", "no_pong.py", PING_SERVER, PING_SERVER + ["0.15", "7.5.3"], r"pong"),
    ("wrong_accept", "server", "wrong_accept.py", ["0.1", "0.2", "0.13", "1.1.1", "2.1", "7.1.1"], ["*"],
     r"Sec-WebSocket-Accept"),
    ("no_close_echo", "server", "no_close_echo.py", ["7.1.1", "7.2.1", "7.2.2", "7.3.*", "7.5.1", "7.5.2"], ["*"],
     r"close"),
    ("base (control)", "server", "base.py", [], [], "", PMD),
    ("deflate_wide_window", "server", "deflate_wide_window.py", ["13.3.1?", "13.5.1?", "13.7.1?", "13.20.[1-5]"],
     WIDE_SERVER, r"window", PMD13),
    ("deflate_keeps_context", "server", "deflate_keeps_context.py", ["13.2.1?", "13.5.1?", "13.6.1?", "13.7.1?"],
     KEEP_SERVER, r"from a fresh state|before the start", PMD13),
    ("deflate_bad_params", "server", "deflate_bad_params.py", BAD_SERVER, BAD_SERVER, r"not offered", PMD13),
    ("base (control)", "client", "base.py", [], [], ""),
    ("no_utf8_check", "client", "no_utf8_check.py", ["utf8:*", "close:*invalid UTF-8*"],
     ["utf8:*", "close:*invalid UTF-8*"], r"UTF-8|1007"),
    ("unmasked_accepted", "client", "unmasked_accepted.py", ["protocol:masked server*"],
     ["protocol:masked server*"], r"not failed|went on|instead of failing"),
    ("no_pong", "client", "no_pong.py", ["pingpong:ping*", "pingpong:ten pings*", "echo:*ping*"],
     ["pingpong:*", "echo:*ping*"], r"pong"),
    ("no_accept_check", "client", "no_accept_check.py", ["handshake:*"], ["handshake:*"], r"went on"),
    ("constant_mask", "client", "constant_mask.py", ["run-wide:mask keys not constant*"],
     ["run-wide:mask keys not constant*"], r"same mask key"),
    ("no_close_echo", "client", "no_close_echo.py", ["close:server-initiated close*", "close:close 1001*",
                                                     "echo:text message, 0 bytes"], ["*"], r"close"),
    ("base (control)", "client", "base.py", [], [], "", PMD),
    ("deflate_wide_window", "client", "deflate_wide_window.py",
     client_ids("13.3.1?", "13.5.1?", "13.7.1?", "13.9.[1-5]"), WIDE_CLIENT, r"window", PMD13),
    ("deflate_keeps_context", "client", "deflate_keeps_context.py",
     client_ids("13.2.1?", "13.5.1?", "13.6.1?", "13.7.1?"), KEEP_CLIENT, r"from a fresh state|before the start",
     PMD13),
    ("deflate_bad_params", "client", "deflate_bad_params.py", client_ids("13.12.*"), client_ids("13.12.*"), r"went on",
     PMD13),
]

# Known deviations of the real peers (see README.md): only these may FAIL or be NON-STRICT;
# with PMD13, their permessage-deflate through the compression cases' parameter sets.
# Python websockets 10.4 hands an agreed window of 2^8 to zlib, which refuses it for raw
# deflate (500 to the upgrade, or close 1011); Node ws takes an answer with
# permessage-deflate twice (RFC 7692 5: the client must fail the connection).
PY_WINDOW8 = ["13.3.*", "13.5.*", "13.7.*", "13.20.1", "13.20.9"]
PY_WINDOW8_CLIENT = client_ids("13.3.*", "13.5.*", "13.7.*", "13.9.1", "13.9.9", "13.10.2")
PEERS = [
    ("Node ws", "server", ["node", os.path.join(HERE, "peers", "node_echo_server.js"), "{port}", "200"],
     ["0.21", "0.22", "0.25", "0.26", "6.5.*"]),
    ("Python websockets", "server", [DEB_PY, os.path.join(HERE, "peers", "py_echo_server.py"), "{port}", "200"],
     ["0.21", "0.22", "0.26", "6.5.*"]),
    ("Node ws", "client", ["node", os.path.join(HERE, "peers", "node_echo_client.js"), "{url}", "node-ws"],
     ["utf8:fail-fast*"]),
    ("Python websockets", "client", [DEB_PY, os.path.join(HERE, "peers", "py_echo_client.py"), "{url}", "py"],
     ["utf8:fail-fast*"]),
    ("Node ws", "server", ["node", os.path.join(HERE, "peers", "node_echo_server.js"), "{port}", "200", "deflate"],
     [], PMD13),
    ("Python websockets", "server", [DEB_PY, os.path.join(HERE, "peers", "py_echo_server.py"), "{port}", "200",
                                     "deflate"], PY_WINDOW8, PMD13),
    ("Node ws", "client", ["node", os.path.join(HERE, "peers", "node_echo_client.js"), "{url}", "node-ws", "deflate"],
     client_ids("13.12.8"), PMD13),
    ("Python websockets", "client", [DEB_PY, os.path.join(HERE, "peers", "py_echo_client.py"), "{url}", "py",
                                     "deflate"], PY_WINDOW8_CLIENT, PMD13),
]


def key_of(row, mode):
    return row["id"] if mode == "server" else "%s:%s" % (row["group"], row["description"])


def matches(row, mode, pats):
    k = key_of(row, mode)
    return any(fnmatch.fnmatchcase(k, p) for p in pats)


class Tally:
    def __init__(self):
        self.p = self.f = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.p += 1
            print("PASS %s" % what)
        else:
            self.f += 1
            print("FAIL %s%s" % (what, (" -- " + detail) if detail else ""))
        sys.stdout.flush()


def run_suite(mode, cmd, limit=240, opts=()):
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        args = [PY, os.path.join(HERE, "drive.py"), mode, "--limit", str(limit), "--json", path] + list(opts) + \
            ["--"] + cmd
        out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=limit + 30)
        text = out.stdout.decode("utf-8", "replace")
        try:
            with open(path) as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            data = None
        return data, text
    finally:
        os.unlink(path)


def check_broken(t, name, mode, script, must, allowed, reason_re, opts=()):
    cmd = [PY, os.path.join(HERE, "broken", script)]
    cmd += ["server", "{port}"] if mode == "server" else ["client", "{url}", name.split()[0]]
    t0 = time.monotonic()
    data, text = run_suite(mode, cmd, opts=opts)
    label = "%s %s%s" % (name, mode, ", --cases %s" % opts[-1] if opts else "")
    t.check(data is not None, "%s: the %s suite ran to its summary (%.0fs)" % (label, mode, time.monotonic() - t0),
            text[-400:])
    if data is None:
        return
    rows = data["results"]
    bad = [r for r in rows if r["status"] != "PASS"]
    if not must:
        t.check(not bad, "%s: every one of %d cases passes (no false FAIL)" % (label, len(rows)),
                "; ".join("%s %s: %s" % (r["status"], key_of(r, mode), r["reason"][:120]) for r in bad[:5]))
        return
    for pat in must:
        hit = [r for r in rows if matches(r, mode, [pat])]
        notfail = [r for r in hit if r["status"] != "FAIL"]
        t.check(hit and not notfail, "%s: the defect is caught: %d case(s) %s FAIL" % (label, len(hit), pat),
                "no such case" if not hit else "; ".join("%s is %s" % (key_of(r, mode), r["status"])
                                                         for r in notfail[:5]))
    mf = [r for r in rows if matches(r, mode, must) and r["status"] == "FAIL"]
    wrong = [r for r in mf if not re.search(reason_re, r["reason"])]
    t.check(not wrong, "%s: the failure reasons name the defect (/%s/)" % (label, reason_re),
            "; ".join("%s: %s" % (key_of(r, mode), r["reason"][:150]) for r in wrong[:3]))
    outside = [r for r in bad if not matches(r, mode, allowed)]
    t.check(not outside, "%s: nothing fails outside the expected cases (%d failed in all)" % (label, len(bad)),
            "; ".join("%s %s: %s" % (r["status"], key_of(r, mode), r["reason"][:120]) for r in outside[:5]))


def node_env():
    """Where Node's ws lives: NODE_PATH, or node_modules at the repo top."""
    if shutil.which("node") is None:
        return None
    env = dict(os.environ)
    paths = [p for p in env.get("NODE_PATH", "").split(os.pathsep) if p] + [os.path.join(TOP, "node_modules")]
    for p in paths:
        if os.path.isdir(os.path.join(p, "ws")):
            env["NODE_PATH"] = os.pathsep.join(paths)
            return env
    return None


def check_peers(t):
    have_node = node_env()
    if have_node:
        os.environ["NODE_PATH"] = have_node["NODE_PATH"]
    have_py = subprocess.run([DEB_PY, "-c", "import websockets"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL).returncode == 0 if os.path.exists(DEB_PY) else False
    for name, mode, cmd, known, *opts in PEERS:
        opts = opts[0] if opts else ()
        if (name.startswith("Node") and not have_node) or (name.startswith("Python") and not have_py):
            print("# skipped %s %s: not installed" % (name, mode))
            continue
        data, text = run_suite(mode, cmd, opts=opts)
        label = "%s %s%s" % (name, mode, ", permessage-deflate, --cases %s" % opts[-1] if opts else "")
        t.check(data is not None, "%s: the %s suite ran to its summary" % (label, mode), text[-400:])
        if data is None:
            continue
        bad = [r for r in data["results"] if r["status"] != "PASS"]
        outside = [r for r in bad if not matches(r, mode, known)]
        t.check(not outside, "%s: only its known deviations fail (%d: %s)" % (
            label, len(bad), ", ".join("%s %s" % (r["status"], key_of(r, mode)) for r in bad) or "none"),
            "; ".join("%s %s: %s" % (r["status"], key_of(r, mode), r["reason"][:150]) for r in outside[:5]))


def main():
    t = Tally()
    for spec in BROKEN:
        check_broken(t, *spec)
    if "--peers" in sys.argv:
        check_peers(t)
    print("%d passed, %d failed" % (t.p, t.f))
    return 0 if t.f == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
