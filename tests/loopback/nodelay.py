"""Is TCP_NODELAY set on every connected TCP socket of a running process?
    python3 tests/loopback/nodelay.py NAME PID [MIN]
Looks at each socket PID holds (/proc/PID/fd), takes a copy of it with pidfd_getfd (Linux
5.6 and later; needs the right to ptrace PID, as root or its owner) and asks getsockopt.
Listening sockets are left out. Prints one "ok ..." or "FAIL ..." line; MIN (default 1) is
how many connected sockets there must be. Exit 1 when a socket lacks it, 3 when fewer than
MIN are connected (none lacking it: try again later), 2 when it cannot look."""
import ctypes
import os
import socket
import sys

name, pid = sys.argv[1], int(sys.argv[2])
least = int(sys.argv[3]) if len(sys.argv) > 3 else 1
SYS_PIDFD_GETFD = 438                   # the same number on every Linux architecture
libc = ctypes.CDLL(None, use_errno=True)
try:
    pidfd = os.pidfd_open(pid)
except OSError as e:
    print("FAIL %s: cannot look at PID %d: %s" % (name, pid, e))
    sys.exit(2)
on, off = [], []
for fd in sorted(int(f) for f in os.listdir("/proc/%d/fd" % pid)):
    try:
        if not os.readlink("/proc/%d/fd/%d" % (pid, fd)).startswith("socket:"):
            continue
    except OSError:
        continue                        # closed meanwhile
    copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
    if copy < 0:
        print("FAIL %s: pidfd_getfd: %s" % (name, os.strerror(ctypes.get_errno())))
        sys.exit(2)
    s = socket.socket(fileno=copy)
    try:
        if s.type != socket.SOCK_STREAM or s.family not in (socket.AF_INET, socket.AF_INET6):
            continue
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            continue                    # the listener
        try:
            s.getpeername()
        except OSError:
            continue                    # not connected (yet, or any more)
        (on if s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) else off).append(fd)
    finally:
        s.close()                       # our copy only
if off or len(on) < least:
    print("FAIL %s: TCP_NODELAY on %d connected socket(s), off on fds %s (at least %d expected)"
          % (name, len(on), off or "none", least))
    sys.exit(1 if off else 3)
print("ok   %s: TCP_NODELAY set on all %d connected socket(s)" % (name, len(on)))
