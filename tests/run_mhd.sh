#!/usr/bin/env bash
# examples/mhd_server.c: ws.h inside GNU libmicrohttpd, the WebSocket endpoint at /ws.
#   - tests/integrations/mhd_checks.py: the pages stay libmicrohttpd's (GET / the page, HEAD /,
#     404, keep-alive, a plain request with more headers than ws_http holds), the 101 (Upgrade,
#     one Connection: Upgrade, the right Accept, no subprotocol or extension) and an echo, the
#     bytes sent with the request (extra_in, also larger than libmicrohttpd's buffer), an
#     upgrade elsewhere 404, and every handshake error with its exact status and ws.h's text:
#     bad and missing key 400, version 8 and none 426 with Sec-WebSocket-Version: 13, missing
#     Host, Connection or Upgrade 400, POST 400, HTTP/1.0 400, a repeated key, version or Host
#     400, too many headers 431, the connection closed after each;
#   - the conformance suite in server mode, every request sent to /ws (a query kept;
#     tests/integrations/path_suite.py): its 33 handshake cases through libmicrohttpd and
#     the rest, 0 failed, 0 non-strict;
#   - echoes through /ws: build/echo_client --check, Python websockets, Node ws, 200 clients
#     at once; TCP_NODELAY on the upgraded sockets;
#   - with --ws-path / (the endpoint on /, as tests/loopback/server_peers.py and the browser
#     check expect it): half a head dropped by libmicrohttpd's 10 s timeout, a client that
#     never reads (reading stops, memory bounded), SIGTERM: close 1001 and exit status 0;
#     the page in headless Chromium (tests/browser/echo.mjs).
# Without libmicrohttpd-dev build/mhd_server is a stub that says so: the suite is skipped (a
# failure under CI); so are the parts whose tools are missing (websockets, Node, Chromium).
# Only 127.0.0.1, free ports, every process bounded by `timeout` and killed by PID on exit.
# One line per check; the last line is "N passed, N failed" (", N skipped").
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
PY=/usr/bin/python3
PEERS=tests/loopback/server_peers.py
MHD=$BUILD/mhd_server

check() {       # NAME LOG CMD...: PASS or FAIL (with the output) by CMD's status
    local name=$1 log=$2 status
    shift 2
    "$@" >"$log" 2>&1
    status=$?
    if [ $status -eq 0 ]; then ok "$name"; else ko "$name (exit $status)"; show "$log"; fi
}
start() {       # LOG ARGS... : starts mhd_server on a free port; sets $port, $job and $server
    local log=$1
    shift
    port=$(free_port)
    env "$@" "$port" >"$log" 2>&1 &
    job=$!
    pids+=("$job")
    wait_for listening "$log" || { ko "mhd_server did not start"; show "$log"; return 1; }
    server=$(cat "/proc/$job/task/$job/children" 2>/dev/null || pgrep -P "$job")
    server=${server%% *}        # mhd_server itself, not `timeout`
    [ -n "$server" ] || { ko "cannot find mhd_server's PID"; return 1; }
}

[ -x "$MHD" ] && [ -x "$BUILD/echo_client" ] || { ko "$MHD or $BUILD/echo_client is missing (make examples)"; finish; }
"$MHD" --help >"$tmp/help.log" 2>&1
if grep -q "built without libmicrohttpd" "$tmp/help.log"; then
    skip "$MHD was built without libmicrohttpd (apt-get install libmicrohttpd-dev, then make examples)"
fi

# the endpoint on / (below), started first: half a request head sent to it is dropped by
# libmicrohttpd's 10 s timeout while the checks of /ws run
if start "$tmp/root.log" timeout 150 "$MHD" --ws-path /; then
    root_port=$port root_job=$job root=$server
    timeout 30 "$PY" $PEERS "$root_port" half-handshake >"$tmp/half.log" 2>&1 &
    half=$!
    pids+=("$half")
fi

# ---- the endpoint at /ws ------------------------------------------------------------------------
start "$tmp/server.log" timeout 150 "$MHD" || finish
main_port=$port main=$server
ok "$(head -n 1 "$tmp/server.log")"
url=ws://127.0.0.1:$port/ws
hexport=$(printf '%04X' "$port")
if awk -v p=":$hexport" '$2 ~ p"$" && $4 == "0A" { print $2 }' /proc/net/tcp /proc/net/tcp6 \
        | grep -qvx "0100007F:$hexport"; then
    ko "mhd_server listens on another address than 127.0.0.1"
else
    ok "mhd_server listens on 127.0.0.1 only"
fi

timeout 60 "$PY" tests/integrations/mhd_checks.py "$port" >"$tmp/checks.log" 2>&1
status=$?
lines "$tmp/checks.log" ""
[ $status -eq 0 ] || [ -s "$tmp/checks.log" ] || { ko "mhd_checks.py: exit $status, no output"; }

timeout 200 "$PY" tests/integrations/path_suite.py --ws-path /ws --port "$port" >"$tmp/conf.log" 2>&1
status=$?
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/conf.log" | tail -n 1)
nonstrict=$(grep -E '^[0-9]+ non-strict' "$tmp/conf.log" | tail -n 1 | cut -d' ' -f1)
hs=$(grep -E '^handshake ' "$tmp/conf.log" | sed -E 's/ +/ /g')
if [ $status -eq 0 ] && [[ $summary =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]] && [ "${nonstrict:-x}" = 0 ]; then
    ok "conformance suite at /ws: $summary, 0 non-strict ($hs)"
else
    ko "conformance suite at /ws: ${summary:-no summary}, ${nonstrict:-?} non-strict (exit $status)"
    grep -E '^(FAIL|NON-STRICT)' "$tmp/conf.log" | head -n 20 | sed 's/^/    | /'
fi

check "echo_client --check $url: 0 B to 16 MiB, fragments, ping, close" "$tmp/check.log" \
    timeout 60 "$BUILD/echo_client" --check "$url"
# 200 clients at once, held open a moment, on a server of their own: TCP_NODELAY on every
# upgraded socket meanwhile (libmicrohttpd sets and clears it on its HTTP sockets as it
# sends, so only a server with no HTTP connection left shows the upgraded ones alone)
if start "$tmp/many-server.log" timeout 60 "$MHD"; then
    timeout 60 "$PY" tests/integrations/many_clients.py "$port" /ws 200 1 >"$tmp/many.log" 2>&1 &
    many=$!
    pids+=("$many")
    if wait_for '^echoed' "$tmp/many.log"; then
        "$PY" tests/loopback/nodelay.py "mhd_server's 200 upgraded sockets" "$server" 200 >"$tmp/nodelay.log" 2>&1
        lines "$tmp/nodelay.log" ""
        grep -qE '^(ok|FAIL)' "$tmp/nodelay.log" || { ko "nodelay.py said nothing"; show "$tmp/nodelay.log"; }
    fi
    wait "$many"
    lines "$tmp/many.log" ""
    grep -qE '^(ok|FAIL)' "$tmp/many.log" || { ko "many_clients.py: no result"; show "$tmp/many.log"; }
    kill "$job"
fi
port=$main_port server=$main

if "$PY" -c 'import websockets' 2>/dev/null; then
    timeout 150 "$PY" tests/interop/python_client.py "$url" >"$tmp/py.log" 2>&1
    lines "$tmp/py.log" "python websockets -> /ws: "
    grep -q '^ok close 1000' "$tmp/py.log" || { ko "python client did not finish"; show "$tmp/py.log"; }
else
    skip_check "python websockets -> /ws: no python3-websockets"
fi
if command -v node >/dev/null && [ -f node_modules/ws/package.json ]; then
    timeout 150 node tests/interop/node_client.mjs "$url" >"$tmp/node.log" 2>&1
    status=$?
    lines "$tmp/node.log" "node ws -> /ws: "
    if [ $status -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/node.log"; then
        ko "node ws -> /ws: exit $status"; show "$tmp/node.log"
    fi
else
    skip_check "node ws -> /ws: Node or node_modules/ws missing (make node)"
fi
if kill -0 "$server" 2>/dev/null; then ok "mhd_server still running"; else ko "mhd_server died"; show "$tmp/server.log"; fi

# ---- the endpoint on / ----------------------------------------------------------------------------
if [ -n "${root:-}" ]; then
    port=$root_port job=$root_job server=$root
    rss() { awk '/VmRSS/ { print $2 }' "/proc/$server/status"; }
    rss0=$(rss)
    timeout 60 "$PY" $PEERS "$port" slow-reader 2 >"$tmp/slow.log" 2>&1 &
    slow=$!
    pids+=("$slow")
    if wait_for blocked "$tmp/slow.log"; then
        grew=$(( $(rss) - rss0 ))
        sent=$(sed -n 's/^blocked after //p' "$tmp/slow.log")
        if [ "$grew" -lt 16384 ]; then ok "server RSS grew by $grew KiB while a client sent $sent and read nothing"
        else ko "server RSS grew by $grew KiB while a client sent $sent and read nothing (limit 16 MiB)"; fi
        check "echo_client --check passes while a client never reads" "$tmp/slow-check.log" \
            timeout 60 "$BUILD/echo_client" --check "ws://127.0.0.1:$port/"
    else
        ko "the never-reading client was not blocked"; show "$tmp/slow.log"
    fi
    for p in "$slow" "$half"; do
        wait "$p"
        status=$?
        log=$tmp/slow.log; [ "$p" = "$half" ] && log=$tmp/half.log
        if [ $status -eq 0 ]; then ok "peer $(sed -n 's/^ok *//p' "$log")"
        else ko "peer $(basename "$log" .log) (exit $status)"; show "$log"; fi
    done
    timeout 30 "$PY" $PEERS "$port" going-away >"$tmp/away.log" 2>&1 &
    away=$!
    pids+=("$away")
    wait_for connected "$tmp/away.log"
    kill -TERM "$server"
    for i in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$server" 2>/dev/null; then
        ko "mhd_server still running 5 s after SIGTERM"
    else
        wait "$job"
        status=$?
        if [ $status -eq 0 ]; then ok "SIGTERM: mhd_server exits with status 0"
        else ko "SIGTERM: mhd_server exit status $status"; show "$tmp/root.log"; fi
    fi
    wait "$away"
    status=$?
    if [ $status -eq 0 ]; then ok "SIGTERM: connected client gets close 1001"
    else ko "SIGTERM: connected client gets close 1001 (exit $status)"; show "$tmp/away.log"; fi
fi

# ---- the page in headless Chromium --------------------------------------------------------------
chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
    for c in chromium chromium-browser google-chrome; do chromium=$(command -v "$c") && break; done
fi
if ! command -v node >/dev/null || [ ! -f node_modules/playwright-core/package.json ]; then
    skip_check "browser: Node or node_modules/playwright-core missing (make node)"
elif [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
    skip_check "browser: no Chromium (apt-get install chromium, or CHROMIUM=/path)"
elif start "$tmp/bserver.log" ECHO_PING_MS=200 timeout 150 "$MHD" --ws-path /; then
    timeout 90 node tests/browser/echo.mjs "http://127.0.0.1:$port/" "$chromium" "$server" \
        >"$tmp/browser.log" 2>&1
    status=$?
    lines "$tmp/browser.log" "browser: "
    if [ $status -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/browser.log"; then
        ko "browser: exit $status"; show "$tmp/browser.log"
    fi
fi
finish
