"""A server that answers the upgrade wrongly, once, for echo_client's handshake checks:
    python3 tests/loopback/bad_server.py PORT MODE      (MODE: status-200, bad-accept)
Prints "listening", then "ok MODE: ..." when the client dropped the connection within 5 s
without sending anything after its request, else "FAIL MODE: ..." (exit 1)."""
import socket
import sys
import time

port, mode = int(sys.argv[1]), sys.argv[2]
lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", port))
lsock.listen(1)
lsock.settimeout(20)
print("listening", flush=True)
sock, _ = lsock.accept()
sock.settimeout(5)
req = b""
while b"\r\n\r\n" not in req:
    chunk = sock.recv(4096)
    if not chunk:
        break
    req += chunk
if mode == "status-200":
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
else:
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
t0 = time.monotonic()
try:
    extra = sock.recv(4096)
except socket.timeout:
    print("FAIL %s: the client kept the connection open for 5 s" % mode)
    sys.exit(1)
if extra:
    print("FAIL %s: the client sent %r after the response" % (mode, extra[:20]))
    sys.exit(1)
print("ok   %s: the client dropped the connection after %.0f ms" % (mode, (time.monotonic() - t0) * 1000))
