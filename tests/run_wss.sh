#!/usr/bin/env bash
# wss:// and https end to end: the examples built with TLS (examples/examples.mk adds
# WS_MBEDTLS where mbedTLS is installed) against real peers, with a test CA and certificates
# made here by tests/tls/make_certs.sh (openssl, at test time: nothing secret is committed):
#   1. echo_server --cert: build/wscat --ca's lines come back byte for byte; the page over
#      https (GET, HEAD, ALPN http/1.1); plain HTTP to the TLS port closed and logged; a TLS
#      handshake that never ends dropped by the 10 s handshake timeout (in all three
#      servers); a key that is not the certificate's, and files that are no certificate,
#      refused at start (exit 2);
#   2. wscat's verification: an expired certificate, one for another name, one signed by
#      an unknown CA and a self-signed one are each refused with its reason and exit 5,
#      nothing sent in plaintext; --insecure connects and says loudly what it is;
#   3. Node `ws` (tests/interop/node_client.mjs, the test CA in its TLS options) against
#      echo_server --cert, and wscat --ca against a Node https + ws server;
#   4. Python `websockets` with an ssl context against echo_server --cert
#      (tests/interop/python_client.py), and wscat --ca against its TLS server
#      (tests/wscat/peers.py websockets CERT KEY);
#   5. shared_port --cert: every check of tests/shared_port/check.py over TLS (keep-alive,
#      pipelining, the upgrade dispatch, 400/426/431, broadcast, 40 pipelined 2 MiB answers
#      to a slow reader), two wscats talking over wss on /chat, and a keep-alive connection
#      idle for 11 s served again (the handshake timeout ends with the TLS handshake);
#   6. chat_server --cert: wscat joins and chats over wss; the Origin it accepts is https://;
#   7. Chromium with the test server's key pinned (--ignore-certificate-errors-spki-list,
#      the base64 SHA-256 of its SPKI; every other certificate check stays on): the whole
#      echo page check of tests/browser/echo.mjs over https and wss (binary, empty,
#      1 MiB, 16 MiB, the server's pings, close codes, SIGTERM's 1001), the chat page
#      (tests/chat/browser.mjs) and shared_port's page;
#   8. through Debian's tinyproxy (started here on a free port with a config made here:
#      Allow 127.0.0.1, ConnectPort for the test ports), wscat --proxy reaches echo_server
#      over wss and over ws; a port ConnectPort does not allow (403), a Deny rule (403),
#      missing credentials (407) and an unreachable server (500) are each refused with the
#      proxy's status and exit 4; credentials in the proxy's URL pass, and are not printed.
# Only 127.0.0.1, free ports, every process bounded by `timeout` and stopped by its PID.
# One line per check; the last line is "N passed, N failed" (", N skipped" when a peer is
# missing: Node, Python websockets, Chromium, tinyproxy).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
PY=/usr/bin/python3
WSCAT=$BUILD/wscat
stopped=()
trap 'for p in "${stopped[@]}"; do kill -CONT "$p" 2>/dev/null; done; cleanup' EXIT

for b in wscat echo_server chat_server shared_port; do
    [ -x "$BUILD/$b" ] || { ko "$BUILD/$b is missing (make examples)"; finish; }
done
command -v openssl >/dev/null || skip "no openssl (apt-get install openssl)"
"$WSCAT" --help | grep -q '^  TLS: mbedTLS' ||
    skip "the examples were built without TLS (apt-get install libmbedtls-dev, then make examples)"
pki=$tmp/pki
ca=$pki/ca.pem
if ! bash tests/tls/make_certs.sh "$pki" >"$tmp/certs.log" 2>&1; then
    ko "test certificates (tests/tls/make_certs.sh)"; show "$tmp/certs.log"; finish
fi
# what Chromium is told to trust: the server key's SubjectPublicKeyInfo, SHA-256, base64
spki=$(openssl pkey -in "$pki/server.key" -pubout -outform der 2>/dev/null |
       openssl dgst -sha256 -binary | base64)
have_py=; "$PY" -c 'import websockets' 2>/dev/null && have_py=yes
have_node=; command -v node >/dev/null && [ -f node_modules/ws/package.json ] && have_node=yes
chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
    for c in chromium chromium-browser google-chrome; do chromium=$(command -v "$c") && break; done
fi
have_browser=; [ -n "$have_node" ] && [ -f node_modules/playwright-core/package.json ] &&
    [ -n "$chromium" ] && [ -x "$chromium" ] && have_browser=yes

# serve NAME PROGRAM ARGS...: starts it under `timeout 150` and waits for "listening"; sets
# $port (the first 127.0.0.1:PORT it prints) and $spid (its own PID, the child of timeout)
serve() {
    local name=$1 job
    shift
    timeout 150 "$@" >"$tmp/$name.log" 2>&1 &
    job=$!
    pids+=("$job")
    wait_for listening "$tmp/$name.log" || { ko "$name did not start"; show "$tmp/$name.log"; return 1; }
    port=$(sed -n 's/^[^0-9]*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/$name.log" | head -n 1)
    spid=$(cat "/proc/$job/task/$job/children" 2>/dev/null || pgrep -P "$job")
    spid=${spid%% *}
}
# run NAME WANT_STATUS STDIN ARGS...: wscat (20 s at most); $status, $tmp/NAME.out and .err
run() {
    local name=$1 want=$2 input=$3
    shift 3
    timeout 20 "$WSCAT" "$@" <"$input" >"$tmp/$name.out" 2>"$tmp/$name.err"
    status=$?
    [ "$status" -eq "$want" ]
}
says() { grep -qF -- "$2" "$tmp/$1.err"; }
same() { cmp -s "$1" "$2"; }
fail_show() { ko "$1 (exit $status)"; show "$tmp/$2.err"; show "$tmp/$2.out"; }

{ printf 'hello\n你好，世界 🌍 ✓\n\n'; head -c 100000 /dev/zero | tr '\0' 'x'; printf '\nlast line, no newline'; } >"$tmp/lines.in"
{ cat "$tmp/lines.in"; echo; } >"$tmp/lines.want"
printf 'hello\n' >"$tmp/hello.in"

# ---- 1. echo_server --cert ------------------------------------------------------------------
serve echo "$BUILD/echo_server" --cert "$pki/server.pem" --key "$pki/server.key" 0 || finish
eport=$port
wss=wss://localhost:$eport/
if grep -q "listening on https://127.0.0.1:$eport/ (WebSocket: wss://127.0.0.1:$eport/)" "$tmp/echo.log"; then
    ok "echo_server --cert --key: $(sed -n 's/^echo_server: //p' "$tmp/echo.log" | head -n 1)"
else ko "echo_server --cert: no https listening line"; show "$tmp/echo.log"; fi

# stall NAME PORT: in the background, half a ClientHello and then nothing, a TLS handshake
# that never ends; the server's ws_conn handshake timeout (10 s) must drop it. Checked last.
stalls=()
stall() {
    timeout 40 "$PY" - "$2" >"$tmp/stall-$1.log" 2>&1 <<'EOF' &
import socket, ssl, sys, time
out = ssl.MemoryBIO()
tls = ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), out, server_hostname="localhost")
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(hello[: len(hello) // 2])
t0, got = time.monotonic(), b""
s.settimeout(25)
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
except (socket.timeout, ConnectionResetError):
    pass
print("half of a %d-byte ClientHello: closed after %.1f s, %d bytes back" % (len(hello), time.monotonic() - t0, len(got)))
EOF
    pids+=("$!")
    stalls+=("$1:$!")
}
stall echo_server "$eport"
espid=$spid

if run lines 0 "$tmp/lines.in" --ca "$ca" "$wss" && same "$tmp/lines.out" "$tmp/lines.want" && says lines "closed: 1000"; then
    ok "wscat --ca: 5 lines (UTF-8, empty, 100 KB, no final newline) came back byte for byte over wss, close 1000, exit 0"
else fail_show "wscat --ca: lines over wss" lines; fi
seq -f 'line %g' 2000 >"$tmp/many.in"
if run many 0 "$tmp/many.in" --ca "$ca" "$wss" && same "$tmp/many.out" "$tmp/many.in"; then
    ok "wscat --ca: 2000 lines came back in order over wss"
else fail_show "wscat --ca: 2000 lines" many; fi
if run bin 0 "$tmp/hello.in" --binary --ca "$ca" "$wss" && [ "$(cat "$tmp/bin.out")" = "<binary 5 bytes> 68 65 6c 6c 6f" ]; then
    ok "wscat --ca --binary: echoed as binary over wss"
else fail_show "wscat --binary over wss" bin; fi

timeout 20 "$PY" - "$eport" "$ca" examples/echo.html >"$tmp/https.log" 2>&1 <<'EOF'
import http.client, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["http/1.1"])
page = open(sys.argv[3], "rb").read()
for method in ("GET", "HEAD"):
    c = http.client.HTTPSConnection("localhost", int(sys.argv[1]), context=ctx, timeout=5)
    c.connect()
    version, alpn = c.sock.version(), c.sock.selected_alpn_protocol()
    c.request(method, "/")
    r = c.getresponse()
    body = r.read()
    want = page if method == "GET" else b""
    good = r.status == 200 and body == want and r.getheader("Content-Length") == str(len(page))
    print("%s %s: %d, %d bytes, %s, ALPN %s" % ("ok" if good else "FAIL", method, r.status,
          len(body), version, alpn))
EOF
if [ "$(grep -c '^ok' "$tmp/https.log")" -eq 2 ] && grep -q 'ALPN http/1.1' "$tmp/https.log"; then
    ok "https GET / and HEAD /: the page and its head over TLS (verified), $(sed -n 's/^ok GET: [^,]*, [^,]*, //p' "$tmp/https.log")"
else ko "https GET and HEAD"; show "$tmp/https.log"; fi

timeout 20 "$PY" - "$eport" >"$tmp/plain.log" 2>&1 <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
got, t0 = b"", time.monotonic()
while True:
    b = s.recv(4096)
    if not b:
        break
    got += b
print("%s closed after %.2f s, %d bytes back" % ("FAIL" if b"HTTP/" in got else "ok", time.monotonic() - t0, len(got)))
EOF
if grep -q '^ok' "$tmp/plain.log" && wait_for "TLS: not TLS (plain HTTP?)" "$tmp/echo.log"; then
    ok "plain HTTP to the TLS port: no HTTP answer, $(sed -n 's/^ok //p' "$tmp/plain.log"); the server logs '$(grep -o 'TLS: not TLS.*' "$tmp/echo.log" | head -n 1)'"
else ko "plain HTTP to the TLS port"; show "$tmp/plain.log"; show "$tmp/echo.log"; fi

# refused at start, with one line and exit 2
start_bad() {      # WANT ARGS...: echo_server ARGS exits 2 with one line holding WANT
    local want=$1 st
    shift
    timeout 5 "$BUILD/echo_server" "$@" >"$tmp/bad.out" 2>"$tmp/bad.err"
    st=$?
    [ $st -eq 2 ] && [ "$(wc -l <"$tmp/bad.err")" -eq 1 ] && grep -qF -- "$want" "$tmp/bad.err" ||
        bad_start="$bad_start; '$*': exit $st, $(head -c 200 "$tmp/bad.err")"
}
bad_start=""
start_bad "is not the private key of --cert" --cert "$pki/server.pem" --key "$pki/other-name.key" 0
start_bad "not a certificate and its private key" --cert README.md --key "$pki/server.key" 0
start_bad "No such file or directory" --cert "$pki/nope.pem" --key "$pki/server.key" 0
start_bad "--cert without --key" --cert "$pki/server.pem" 0
if [ -z "$bad_start" ]; then
    ok "echo_server refuses at start, in one line (exit 2): a key that is not the certificate's, a file that is no certificate, a missing file, --cert without --key"
else ko "echo_server's refusals at start$bad_start"; fi
timeout 5 "$WSCAT" --ca README.md "$wss" </dev/null >/dev/null 2>"$tmp/badca.err"
status=$?
if [ $status -eq 2 ] && grep -q "not a list of CA certificates" "$tmp/badca.err"; then
    ok "wscat --ca README.md: '$(cat "$tmp/badca.err")', exit 2"
else ko "wscat --ca with a file that is no CA (exit $status)"; show "$tmp/badca.err"; fi

# ---- 2. wscat's verification -----------------------------------------------------------------
for c in "expired|certificate expired" "other-name|certificate is for another name" \
         "unknown-ca|certificate signed by an unknown CA" "self-signed|self-signed certificate"; do
    cert=${c%%|*}
    why=${c#*|}
    serve "bad-$cert" "$BUILD/echo_server" --cert "$pki/$cert.pem" --key "$pki/$cert.key" 0 || continue
    if run "v-$cert" 5 "$tmp/hello.in" --ca "$ca" "wss://localhost:$port/" &&
            says "v-$cert" "wscat: the certificate of localhost was refused: $why" &&
            ! says "v-$cert" connected && [ ! -s "$tmp/v-$cert.out" ] &&
            wait_for "TLS: the peer sent a fatal alert" "$tmp/bad-$cert.log"; then
        ok "$cert.pem refused: '$(head -n 1 "$tmp/v-$cert.err")', exit 5; the server saw only TLS end in an alert"
    else fail_show "$cert.pem: refused with '$why', exit 5" "v-$cert"; show "$tmp/bad-$cert.log"; fi
    if [ "$cert" = self-signed ]; then
        if run insecure 0 "$tmp/hello.in" --insecure "wss://localhost:$port/" && [ "$(cat "$tmp/insecure.out")" = hello ] &&
                says insecure "WARNING: --insecure: the server's certificate and name are NOT checked"; then
            ok "--insecure against the self-signed server: connects, and says on stderr: '$(head -n 1 "$tmp/insecure.err" | cut -c1-90)...'"
        else fail_show "--insecure" insecure; fi
    fi
done
if run sysca 5 "$tmp/hello.in" "$wss" && says sysca "signed by an unknown CA"; then
    ok "without --ca, the system's CAs: the test CA is not among them, refused (exit 5)"
else fail_show "wscat without --ca" sysca; fi

# ---- 3. Node ws ---------------------------------------------------------------------------------
if [ -n "$have_node" ]; then
    timeout 150 node tests/interop/node_client.mjs "$wss" "$ca" >"$tmp/node.log" 2>&1
    status=$?
    lines "$tmp/node.log" "node ws client (the test CA) -> echo_server --cert: "
    if [ $status -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/node.log"; then
        ko "node ws client over wss: exit $status"; show "$tmp/node.log"
    fi
    nport=$(free_port)
    timeout 60 node tests/interop/node_server.mjs "$nport" "$pki/server.pem" "$pki/server.key" >"$tmp/nserver.log" 2>&1 &
    pids+=("$!")
    if wait_for listening "$tmp/nserver.log"; then
        if run nlines 0 "$tmp/lines.in" -w 300 --ca "$ca" "wss://localhost:$nport/" && same "$tmp/nlines.out" "$tmp/lines.want"; then
            ok "wscat --ca -> Node https + ws server: the 5 lines came back byte for byte, exit 0"
        else fail_show "wscat -> Node https + ws" nlines; fi
        if run nbin 0 "$tmp/hello.in" -w 300 --binary --ca "$ca" "wss://localhost:$nport/" && [ "$(cat "$tmp/nbin.out")" = "<binary 5 bytes> 68 65 6c 6c 6f" ]; then
            ok "wscat --ca --binary -> Node https + ws server: binary echoed"
        else fail_show "wscat --binary -> Node" nbin; fi
    else ko "Node https + ws server did not start"; show "$tmp/nserver.log"; fi
else
    skip_check "Node or node_modules/ws missing (make node): Node over wss"
fi

# ---- 4. Python websockets -------------------------------------------------------------------------
if [ -n "$have_py" ]; then
    timeout 150 "$PY" tests/interop/python_client.py "$wss" "$ca" >"$tmp/py.log" 2>&1
    lines "$tmp/py.log" "python websockets (ssl context, the test CA) -> echo_server --cert: "
    grep -q '^ok close 1000' "$tmp/py.log" || { ko "python client over wss did not finish"; show "$tmp/py.log"; }
    timeout 60 "$PY" tests/wscat/peers.py websockets "$pki/server.pem" "$pki/server.key" >"$tmp/pyserver.log" 2>&1 &
    pids+=("$!")
    if wait_for listening "$tmp/pyserver.log"; then
        py=wss://localhost:$(sed -n 's/^listening //p' "$tmp/pyserver.log")
        if run pylines 0 "$tmp/lines.in" -w 300 --ca "$ca" "$py/" && same "$tmp/pylines.out" "$tmp/lines.want"; then
            ok "wscat --ca -> Python websockets server (ssl): the 5 lines came back byte for byte, exit 0"
        else fail_show "wscat -> websockets over TLS: lines" pylines; fi
        if run pyproto 0 "$tmp/hello.in" -w 300 -p "nope, chat" --ca "$ca" "$py/proto" && says pyproto "connected (subprotocol chat)"; then
            ok "wscat --ca -p 'nope, chat' -> websockets over TLS: subprotocol chat"
        else fail_show "wscat subprotocol over TLS" pyproto; fi
        if run pygoaway 0 "$tmp/hello.in" -k --ca "$ca" "$py/goaway" && says pygoaway "closed: 1001 going away"; then
            ok "websockets over TLS closes with 1001: a clean close, exit 0"
        else fail_show "websockets over TLS: 1001" pygoaway; fi
        if run pydrop 3 "$tmp/hello.in" -k --ca "$ca" "$py/drop" && says pydrop "(1006)"; then
            ok "websockets over TLS drops TCP without a close: '(1006)', exit 3"
        else fail_show "websockets over TLS: dropped" pydrop; fi
    else ko "websockets TLS server did not start"; show "$tmp/pyserver.log"; fi
else
    skip_check "no python3-websockets: Python over wss"
fi

# ---- 5. shared_port --cert ------------------------------------------------------------------------
www=$tmp/www
mkdir -p "$www"
cp examples/www/* "$www/"
head -c $((2 << 20)) /dev/urandom >"$www/big.bin"
if serve shared "$BUILD/shared_port" --cert "$pki/server.pem" --key "$pki/server.key" 0 "$www"; then
    sport=$port
    stall shared_port "$sport"
    # and a keep-alive connection whose TLS handshake is done is not held to that timeout
    timeout 40 "$PY" - "$sport" "$ca" >"$tmp/keep.log" 2>&1 <<'EOF' &
import http.client, ssl, sys, time
c = http.client.HTTPSConnection("localhost", int(sys.argv[1]), timeout=20,
                                context=ssl.create_default_context(cafile=sys.argv[2]))
c.request("GET", "/api/time")
r = c.getresponse()
r.read()
time.sleep(11)
c.request("GET", "/api/time")
r2 = c.getresponse()
body = r2.read()
print("%s GET /api/time %d, 11 s idle, then again on the same connection: %d %s" % (
    "ok" if r.status == r2.status == 200 else "FAIL", r.status, r2.status, body[:40]))
EOF
    keep=$!
    pids+=("$keep")
    WSRAW_TLS_CA=$ca timeout 90 "$PY" tests/shared_port/check.py "$sport" "$www" >"$tmp/sp.log" 2>&1
    status=$?
    lines "$tmp/sp.log" "shared_port over TLS: "
    [ $status -eq 0 ] || { ko "shared_port check.py over TLS: exit $status"; show "$tmp/sp.log"; }
    SERVER_PID=$spid WSRAW_TLS_CA=$ca timeout 60 "$PY" tests/shared_port/check.py "$sport" "$www" pipelined-big >"$tmp/spbig.log" 2>&1
    status=$?
    lines "$tmp/spbig.log" "shared_port over TLS: "
    [ $status -eq 0 ] || { ko "shared_port pipelined-big over TLS: exit $status"; show "$tmp/spbig.log"; }
    "$WSCAT" -k --ca "$ca" "wss://localhost:$sport/chat" </dev/null >"$tmp/listen.out" 2>"$tmp/listen.err" &
    listener=$!
    pids+=("$listener")
    if wait_for connected "$tmp/listen.err"; then
        printf 'hello over wss\n' | timeout 10 "$WSCAT" -w 300 --ca "$ca" "wss://localhost:$sport/chat" >"$tmp/say.out" 2>"$tmp/say.err"
        status=$?
        wait_for "hello over wss" "$tmp/listen.out"
        if [ $status -eq 0 ] && [ "$(cat "$tmp/listen.out")" = "hello over wss" ]; then
            ok "shared_port /chat over wss: what one wscat sends, the other prints"
        else ko "shared_port /chat over wss (exit $status)"; show "$tmp/listen.out"; show "$tmp/say.err"; fi
    else ko "wscat did not connect to wss://.../chat"; show "$tmp/listen.err"; fi
    if [ -n "$have_browser" ]; then
        SPKI_PIN=$spki timeout 60 node tests/shared_port/browser.mjs "https://127.0.0.1:$sport/" "$chromium" >"$tmp/spb.log" 2>&1
        status=$?
        lines "$tmp/spb.log" "shared_port's page in Chromium over https: "
        [ $status -eq 0 ] && grep -q '^ok' "$tmp/spb.log" || { ko "shared_port browser over https: exit $status"; show "$tmp/spb.log"; }
    fi
fi

# ---- 6. chat_server --cert ------------------------------------------------------------------------
if serve chat "$BUILD/chat_server" --cert "$pki/server.pem" --key "$pki/server.key" \
        --ping-interval 500 --ping-timeout 1000 0; then
    cport=$port
    cspid=$spid
    stall chat_server "$cport"
    printf '%s\n' '{"event":"nick","data":"ann","id":1}' '{"event":"join","room":"lobby","id":2}' \
        '{"event":"message","room":"lobby","data":"hello","id":3}' >"$tmp/chat.in"
    if run chatw 0 "$tmp/chat.in" -w 300 -o "https://localhost:$cport" --ca "$ca" "wss://localhost:$cport/chat" &&
            grep -q '"event":"welcome"' "$tmp/chatw.out" && grep -q '{"event":"ack","id":3}' "$tmp/chatw.out"; then
        ok "chat over wss (Origin https://localhost:$cport): welcome, nick, join and a message acknowledged"
    else fail_show "chat over wss" chatw; fi
    if run chato 1 "$tmp/chat.in" -o "http://localhost:$cport" --ca "$ca" "wss://localhost:$cport/chat" && says chato "HTTP 403"; then
        ok "chat over wss: an http:// Origin is another site: 403, exit 1"
    else fail_show "chat over wss: http:// Origin" chato; fi
    grep -q "listening on https://127.0.0.1:$cport/ (WebSocket: wss://127.0.0.1:$cport/chat)" "$tmp/chat.log" &&
        ok "chat_server --cert: $(sed -n 's/^chat_server: //p' "$tmp/chat.log" | head -n 1)" ||
        { ko "chat_server --cert: no https listening line"; show "$tmp/chat.log"; }
    if [ -n "$have_browser" ]; then
        stopped+=("$cspid")
        SPKI_PIN=$spki timeout 120 node tests/chat/browser.mjs "https://127.0.0.1:$cport/" "$chromium" "$cspid" \
            "$tmp/chat-wss.png" >"$tmp/chatb.log" 2>&1
        status=$?
        lines "$tmp/chatb.log" "chat page in Chromium over https and wss: "
        if [ $status -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/chatb.log"; then
            ko "chat page over https: exit $status"; show "$tmp/chatb.log"; show "$tmp/chat.log"
        fi
    fi
fi

# ---- 7. the echo page in Chromium over https and wss ------------------------------------------------
if [ -n "$have_browser" ]; then
    if ECHO_PING_MS=200 serve becho "$BUILD/echo_server" --cert "$pki/server.pem" --key "$pki/server.key" 0; then
        SPKI_PIN=$spki timeout 120 node tests/browser/echo.mjs "https://127.0.0.1:$port/" "$chromium" "$spid" \
            >"$tmp/browser.log" 2>&1
        status=$?
        lines "$tmp/browser.log" "echo page in Chromium over https and wss (key pinned): "
        if [ $status -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/browser.log"; then
            ko "echo page over https: exit $status"; show "$tmp/browser.log"; show "$tmp/becho.log"
        fi
    fi
else
    skip_check "Chromium, node or node_modules/playwright-core missing: the pages over https"
fi

# ---- 8. through tinyproxy ------------------------------------------------------------------------
# proxy NAME CONFIG_LINE...: a tinyproxy on a free port of 127.0.0.1 with these lines added to
# its config; sets $pport. Stopped by its PID (under timeout) like everything else.
proxy() {
    local name=$1
    shift
    pport=$(free_port)
    { printf 'Port %s\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nLogLevel Info\n' "$pport"
      printf '%s\n' "$@"; } >"$tmp/$name.conf"
    timeout 120 tinyproxy -d -c "$tmp/$name.conf" >"$tmp/$name.log" 2>&1 &
    pids+=("$!")
    wait_for "Accepting connections" "$tmp/$name.log" || { ko "tinyproxy ($name) did not start"; show "$tmp/$name.log"; return 1; }
}
if command -v tinyproxy >/dev/null; then
    serve plain "$BUILD/echo_server" 0
    plport=$port
    closed=$(free_port)
    if proxy tp "Allow 127.0.0.1" "ConnectPort $eport" "ConnectPort $plport" "ConnectPort $closed"; then
        px=http://127.0.0.1:$pport
        if run pxwss 0 "$tmp/lines.in" --proxy "$px" --ca "$ca" "$wss" && same "$tmp/pxwss.out" "$tmp/lines.want" &&
                says pxwss "tunnel open through the proxy 127.0.0.1:$pport" && grep -q "CONNECT localhost:$eport HTTP/1.1" "$tmp/tp.log"; then
            ok "wscat --proxy (tinyproxy $(tinyproxy -v 2>&1 | grep -o '[0-9][0-9.]*' | head -n 1)) --ca: CONNECT localhost:$eport, then TLS and wss through the tunnel: the 5 lines byte for byte"
        else fail_show "wscat through tinyproxy over wss" pxwss; show "$tmp/tp.log"; fi
        if run pxws 0 "$tmp/hello.in" --proxy "$px" "ws://localhost:$plport/" && [ "$(cat "$tmp/pxws.out")" = hello ]; then
            ok "wscat --proxy: plain ws:// through the tunnel too"
        else fail_show "wscat through tinyproxy over ws" pxws; fi
        if run pxport 4 "$tmp/hello.in" --proxy "$px" --ca "$ca" "wss://localhost:$cport/chat" &&
                says pxport "the proxy 127.0.0.1:$pport refused the tunnel: HTTP 403"; then
            ok "a port tinyproxy's ConnectPort does not allow: '$(cat "$tmp/pxport.err")', exit 4"
        else fail_show "proxy refusing a port" pxport; fi
        if run pxdown 4 "$tmp/hello.in" --proxy "$px" "ws://localhost:$closed/" && says pxdown "refused the tunnel: HTTP 5"; then
            ok "a server the proxy cannot reach: '$(cat "$tmp/pxdown.err")', exit 4"
        else fail_show "proxy to a closed port" pxdown; fi
    fi
    if proxy deny "Deny 127.0.0.1" "ConnectPort $eport"; then
        if run pxdeny 4 "$tmp/hello.in" --proxy "http://127.0.0.1:$pport" --ca "$ca" "$wss" && says pxdeny "HTTP 403"; then
            ok "a proxy whose rules deny us: '$(cat "$tmp/pxdeny.err")', exit 4"
        else fail_show "proxy with a Deny rule" pxdeny; fi
    fi
    if proxy auth "Allow 127.0.0.1" "ConnectPort $eport" "BasicAuth wsh s3cret"; then
        if run pxauth 4 "$tmp/hello.in" --proxy "http://127.0.0.1:$pport" --ca "$ca" "$wss" &&
                says pxauth "HTTP 407 Proxy Authentication Required (it wants credentials"; then
            ok "a proxy that wants credentials: '$(cat "$tmp/pxauth.err")', exit 4"
        else fail_show "proxy asking for credentials" pxauth; fi
        if run pxcred 0 "$tmp/hello.in" --proxy "http://wsh:s3cret@127.0.0.1:$pport" --ca "$ca" "$wss" &&
                [ "$(cat "$tmp/pxcred.out")" = hello ] && ! says pxcred s3cret; then
            ok "--proxy http://USER:PASS@...: Basic credentials accepted, wss through the tunnel, the password not shown"
        else fail_show "proxy with credentials" pxcred; fi
    fi
else
    skip_check "no tinyproxy (apt-get install tinyproxy): wscat --proxy"
fi

# ---- the stalled TLS handshakes, started with each server ----------------------------------------
for st in "${stalls[@]}"; do
    name=${st%%:*}
    for i in $(seq 300); do kill -0 "${st#*:}" 2>/dev/null || break; sleep 0.05; done
    wait "${st#*:}"
    secs=$(sed -n 's/.*closed after \([0-9.]*\) s.*/\1/p' "$tmp/stall-$name.log")
    late=12.5; [ "$name" = chat_server ] && late=15    # the chat page check stops it 2 s
    if [ -n "$secs" ] && awk -v s="$secs" -v l="$late" 'BEGIN { exit !(s >= 9.0 && s < l) }'; then
        ok "$name --cert, a TLS handshake that never ends: $(cat "$tmp/stall-$name.log") (the ws_conn's 10 s handshake timeout)"
    else ko "$name --cert: a stalled TLS handshake not dropped in 10 s"; show "$tmp/stall-$name.log"; fi
done
if [ -n "${keep:-}" ]; then
    wait "$keep"
    grep -q '^ok' "$tmp/keep.log" && ok "shared_port --cert: $(sed 's/^ok //' "$tmp/keep.log")" ||
        { ko "shared_port --cert: keep-alive past 10 s"; show "$tmp/keep.log"; }
fi
kill -0 "$espid" 2>/dev/null && ok "echo_server --cert still running after all that" ||
    { ko "echo_server --cert died"; show "$tmp/echo.log"; }
finish
