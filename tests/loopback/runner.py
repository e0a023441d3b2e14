"""A tiny Autobahn-style runner in Python (stdlib only), for echo_client's runner mode:
    python3 tests/loopback/runner.py PORT AGENT
Serves /getCaseCount, /runCase?case=N&agent=A, /updateReports?agent=A on 127.0.0.1, one
connection at a time. Each case sends something and checks the echo byte for byte, or how
the client fails the connection. Prints "ok ..." / "FAIL ..." per case and
"N passed, N failed" after /updateReports (exit status 1 on any failure), or gives up after
60 s."""
import os
import socket
import sys
import time
from urllib.parse import parse_qs, urlsplit

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wsraw import BINARY, CLOSE, CONT, PING, PONG, TEXT, Fail, Peer, accept_key, close_body  # noqa: E402

passed = failed = 0


def expect_echo(peer, op, payload):
    got = peer.read_message()
    if got[0] != op:
        raise Fail("echo has opcode %d, sent %d" % (got[0], op))
    if got[1] != payload:
        raise Fail("echo of %d bytes differs from the %d sent" % (len(got[1]), len(payload)))


def expect_close(peer, code):
    """The client's close frame carries code, and the client waits for us to close TCP."""
    op, body = peer.read_message()
    while op != CLOSE:
        op, body = peer.read_message()
    got = int.from_bytes(body[:2], "big") if len(body) >= 2 else None
    if got != code:
        raise Fail("client closed with %s, expected %d" % (got, code))


def close_normally(peer):
    peer.send_frame(CLOSE, close_body(1000))
    expect_close(peer, 1000)


def case_text(peer):
    msg = "Grüße, 世界 🌍".encode()
    peer.send_frame(TEXT, msg)
    expect_echo(peer, TEXT, msg)
    close_normally(peer)


def case_binary(peer):
    msg = os.urandom(100 * 1024)
    peer.send_frame(BINARY, msg)
    expect_echo(peer, BINARY, msg)
    close_normally(peer)


def case_fragments(peer):
    msg = "один два три".encode()  # cut inside characters, a ping between the fragments
    peer.send_frame(TEXT, msg[:3], fin=False)
    peer.send_frame(PING, b"between")
    peer.send_frame(CONT, msg[3:9], fin=False)
    peer.send_frame(CONT, msg[9:], fin=True)
    expect_echo(peer, TEXT, msg)
    if (PONG, b"between") not in peer.controls:
        raise Fail("no pong for the ping between fragments")
    close_normally(peer)


def case_close_code(peer):
    peer.send_frame(CLOSE, close_body(4002, b"see you"))
    expect_close(peer, 4002)


def case_masked_from_server(peer):
    peer.send_frame(TEXT, b"masked by the server", masked=True)
    expect_close(peer, 1002)


def case_reserved_opcode(peer):
    peer.send_frame(3, b"opcode 3")
    expect_close(peer, 1002)


def case_long_ping(peer):
    peer.send_frame(PING, b"x" * 126)
    expect_close(peer, 1002)


CASES = [
    ("text with multi-byte UTF-8 echoed", case_text),
    ("binary 100 KiB echoed", case_binary),
    ("fragments cut mid-character, ping between: echoed, pong", case_fragments),
    ("close 4002 echoed", case_close_code),
    ("masked frame from the server: client closes 1002", case_masked_from_server),
    ("reserved opcode 3: client closes 1002", case_reserved_opcode),
    ("126-byte ping: client closes 1002", case_long_ping),
]


def handshake(sock):
    """Reads the request, answers 101; returns (peer, path, query)."""
    peer = Peer(sock, client=False)
    head = peer.read_head()
    lines = head.split("\r\n")
    target = lines[0].split(" ")[1]
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    if headers.get("sec-websocket-version") != "13" or "sec-websocket-key" not in headers:
        raise Fail("bad upgrade request: %r" % head)
    peer.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Accept: %s\r\n\r\n" % accept_key(headers["sec-websocket-key"])).encode())
    url = urlsplit(target)
    return peer, url.path, {k: v[0] for k, v in parse_qs(url.query).items()}


def report(ok, name, why=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % name, flush=True)
    else:
        failed += 1
        print("FAIL %s: %s" % (name, why), flush=True)


def main():
    port, agent = int(sys.argv[1]), sys.argv[2]
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(8)
    print("python runner: listening on 127.0.0.1:%d, %d cases" % (port, len(CASES)), flush=True)
    deadline = time.monotonic() + 60
    next_case = 1
    while True:
        lsock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            sock, _ = lsock.accept()
        except socket.timeout:
            report(False, "runner", "no /updateReports within 60 s")
            break
        with sock:
            try:
                peer, path, query = handshake(sock)
            except (Fail, EOFError, OSError) as e:
                report(False, "handshake", e)
                continue
            if path == "/getCaseCount":
                peer.send_frame(TEXT, str(len(CASES)).encode())
                peer.send_frame(CLOSE, close_body(1000))
                try:
                    expect_close(peer, 1000)
                except (Fail, EOFError, OSError) as e:
                    report(False, "getCaseCount", e)
            elif path == "/runCase":
                n = int(query.get("case", "0"))
                name = "case %d: %s" % (n, CASES[n - 1][0] if 1 <= n <= len(CASES) else "?")
                if n != next_case or query.get("agent") != agent:
                    report(False, name, "asked for case %d agent %r; expected case %d agent %r"
                           % (n, query.get("agent"), next_case, agent))
                    break
                next_case += 1
                try:
                    CASES[n - 1][1](peer)
                    # the server closes TCP first; the client then closes its end
                    sock.shutdown(socket.SHUT_WR)
                    if not peer.wait_eof(5):
                        raise Fail("the client did not close TCP after ours")
                    report(True, name)
                except (Fail, EOFError, OSError) as e:
                    report(False, name, e or "the client closed TCP early")
            elif path == "/updateReports":
                name = "updateReports: the client closes with 1000"
                try:
                    if next_case != len(CASES) + 1:
                        raise Fail("only %d of %d cases were run" % (next_case - 1, len(CASES)))
                    if query.get("agent") != agent:
                        raise Fail("agent %r" % query.get("agent"))
                    expect_close(peer, 1000)
                    peer.send_frame(CLOSE, close_body(1000))
                    report(True, name)
                except (Fail, EOFError, OSError) as e:
                    report(False, name, e)
                break
            else:
                report(False, "path", "unexpected %r" % path)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
