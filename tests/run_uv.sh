#!/usr/bin/env bash
# examples/uv_echo.c, echo_server on libuv's loop, gets the checks the epoll echo server gets:
#   - tests/run_loopback.sh's server checks: build/echo_client --check (0 B to 16 MiB text and
#     binary, fragments, ping, close) alone, 4 at once, and while garbage, unmasked, too-big
#     and bad-UTF-8 peers run; every server peer of tests/loopback/server_peers.py (GET and
#     HEAD of echo.html and a 404, garbage 400, version 8 426, frames behind the request, a
#     3 KB request a byte at a time, ping/pong and close 4000, unmasked 1002, UTF-8 turning
#     bad at 1 MB: a valid start echoed, then 1007, a 64 MiB frame header 1009, 65536 small
#     fragments gathered into 64 frames, half a handshake dropped at 10 s, a client that never
#     reads: reading stops, memory stays bounded); SIGTERM: close 1001, exit status 0;
#   - 200 clients at once (tests/integrations/many_clients.py);
#   - Python websockets and Node ws clients (tests/interop/python_client.py,
#     tests/interop/node_client.mjs), as tests/run_interop_*.sh run them against echo_server;
#   - the conformance suite in server mode (tests/conformance/server_suite.py): 0 failed,
#     0 non-strict;
#   - examples/echo.html in headless Chromium (tests/browser/echo.mjs, as run_browser.sh);
#   - TCP_NODELAY on its connections, read from the running process (tests/loopback/nodelay.py).
# Without libuv1-dev build/uv_echo is a stub that says so: the suite is skipped (a failure
# under CI); so are the parts whose tools are missing (websockets, Node, Chromium).
# Only 127.0.0.1, free ports, every process bounded by `timeout` and killed by PID on exit.
# One line per check; the last line is "N passed, N failed" (", N skipped").
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
PY=/usr/bin/python3
PEERS=tests/loopback/server_peers.py
UV=$BUILD/uv_echo

check() {       # NAME LOG CMD...: PASS or FAIL (with the output) by CMD's status
    local name=$1 log=$2 status
    shift 2
    "$@" >"$log" 2>&1
    status=$?
    if [ $status -eq 0 ]; then ok "$name"; else ko "$name (exit $status)"; show "$log"; fi
}
result() {      # NAME PID LOG: the same for a command started in the background
    local status
    wait "$2"
    status=$?
    if [ $status -eq 0 ]; then ok "$1"; else ko "$1 (exit $status)"; show "$3"; fi
}
peer() {        # CHECK [ARGS]: one check of server_peers.py; its own line says what
    local log=$tmp/peer-$1.log status
    timeout 30 "$PY" $PEERS "$port" "$@" >"$log" 2>&1
    status=$?
    if [ $status -eq 0 ]; then ok "peer $(sed -n 's/^ok *//p' "$log")"
    else ko "peer $1 (exit $status)"; show "$log"; fi
}
start() {       # LOG ENV... : starts uv_echo on a free port; sets $port, $job and $server
    local log=$1
    shift
    port=$(free_port)
    env "$@" timeout 150 "$UV" "$port" >"$log" 2>&1 &
    job=$!
    pids+=("$job")
    wait_for listening "$log" || { ko "uv_echo did not start"; show "$log"; return 1; }
    server=$(cat "/proc/$job/task/$job/children" 2>/dev/null || pgrep -P "$job")
    server=${server%% *}        # uv_echo itself, not `timeout`
    [ -n "$server" ] || { ko "cannot find uv_echo's PID"; return 1; }
}

[ -x "$UV" ] && [ -x "$BUILD/echo_client" ] || { ko "$UV or $BUILD/echo_client is missing (make examples)"; finish; }
"$UV" --help >"$tmp/help.log" 2>&1
if grep -q "built without libuv" "$tmp/help.log"; then
    skip "$UV was built without libuv (apt-get install libuv1-dev, then make examples)"
fi

# ---- the server -------------------------------------------------------------------------------
start "$tmp/server.log" || finish
ok "$(head -n 1 "$tmp/server.log")"
url=ws://127.0.0.1:$port/
rss() { awk '/VmRSS/ { print $2 }' "/proc/$server/status"; }
hexport=$(printf '%04X' "$port")
if awk -v p=":$hexport" '$2 ~ p"$" && $4 == "0A" { print $2 }' /proc/net/tcp /proc/net/tcp6 \
        | grep -qvx "0100007F:$hexport"; then
    ko "uv_echo listens on another address than 127.0.0.1"
else
    ok "uv_echo listens on 127.0.0.1 only"
fi

# half a handshake, then silence: dropped by the 10 s handshake timeout (runs meanwhile)
timeout 30 "$PY" $PEERS "$port" half-handshake >"$tmp/half.log" 2>&1 &
half=$!
pids+=("$half")

# a client that sends and never reads: uv_read_stop, memory stays bounded; and TCP_NODELAY
rss0=$(rss)
timeout 60 "$PY" $PEERS "$port" slow-reader 4 >"$tmp/slow.log" 2>&1 &
slow=$!
pids+=("$slow")
if wait_for blocked "$tmp/slow.log"; then
    grew=$(( $(rss) - rss0 ))
    sent=$(sed -n 's/^blocked after //p' "$tmp/slow.log")
    if [ "$grew" -lt 16384 ]; then ok "server RSS grew by $grew KiB while a client sent $sent and read nothing"
    else ko "server RSS grew by $grew KiB while a client sent $sent and read nothing (limit 16 MiB)"; fi
    "$PY" tests/loopback/nodelay.py "uv_echo (uv_tcp_nodelay)" "$server" >"$tmp/nodelay.log" 2>&1
    lines "$tmp/nodelay.log" ""
    grep -qE '^(ok|FAIL)' "$tmp/nodelay.log" || { ko "nodelay.py said nothing"; show "$tmp/nodelay.log"; }
    check "echo_client --check passes while a client never reads" "$tmp/slow-check.log" \
        timeout 60 "$BUILD/echo_client" --check "$url"
else
    ko "the never-reading client was not blocked"; show "$tmp/slow.log"
fi
wait "$slow"
status=$?
if [ $status -eq 0 ]; then ok "peer $(sed -n 's/^ok *//p' "$tmp/slow.log")"
else ko "peer slow-reader (exit $status)"; show "$tmp/slow.log"; fi

# ---- good clients -------------------------------------------------------------------------------
check "echo_client --check: 0 B to 16 MiB text and binary, fragments, ping, close" \
    "$tmp/check.log" timeout 60 "$BUILD/echo_client" --check "$url"
grep -q '16777216 B echoed' "$tmp/check.log" || { ko "the check log lacks the 16 MiB echo"; show "$tmp/check.log"; }
for i in 1 2 3 4; do
    timeout 90 "$BUILD/echo_client" --check "$url" >"$tmp/conc$i.log" 2>&1 &
    conc[$i]=$!
    pids+=("${conc[$i]}")
done
for i in 1 2 3 4; do result "concurrent echo_client --check #$i of 4" "${conc[$i]}" "$tmp/conc$i.log"; done
timeout 60 "$PY" tests/integrations/many_clients.py "$port" / 200 >"$tmp/many.log" 2>&1
lines "$tmp/many.log" ""
grep -qE '^(ok|FAIL)' "$tmp/many.log" || { ko "many_clients.py: no result"; show "$tmp/many.log"; }

# ---- plain HTTP, handshake errors, protocol errors ----------------------------------------------
peer http examples/echo.html
for c in garbage bad-version pipelined trickle ping unmasked bad-utf8 too-big gather; do peer "$c"; done

# misbehaving peers while a good client runs
timeout 60 "$BUILD/echo_client" --check "$url" >"$tmp/during.log" 2>&1 &
good=$!
pids+=("$good")
bad=()
for c in garbage unmasked too-big bad-utf8; do
    timeout 20 "$PY" $PEERS "$port" "$c" >"$tmp/bad-$c.log" 2>&1 &
    bad[${#bad[@]}]=$!
    pids+=("$!")
done
for p in "${bad[@]}"; do wait "$p"; done
result "echo_client --check passes while garbage, unmasked, too-big and bad-UTF-8 peers run" \
    "$good" "$tmp/during.log"

wait "$half"
status=$?
if [ $status -eq 0 ]; then ok "peer $(sed -n 's/^ok *//p' "$tmp/half.log")"
else ko "peer half-handshake (exit $status)"; show "$tmp/half.log"; fi

# ---- other clients: Python websockets, Node ws ---------------------------------------------------
if "$PY" -c 'import websockets' 2>/dev/null; then
    timeout 150 "$PY" tests/interop/python_client.py "$url" >"$tmp/py.log" 2>&1
    lines "$tmp/py.log" "python websockets -> uv_echo: "
    grep -q '^ok close 1000' "$tmp/py.log" || { ko "python client did not finish"; show "$tmp/py.log"; }
else
    skip_check "python websockets -> uv_echo: no python3-websockets"
fi
if command -v node >/dev/null && [ -f node_modules/ws/package.json ]; then
    timeout 150 node tests/interop/node_client.mjs "$url" >"$tmp/node.log" 2>&1
    status=$?
    lines "$tmp/node.log" "node ws -> uv_echo: "
    if [ $status -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/node.log"; then
        ko "node ws -> uv_echo: exit $status"; show "$tmp/node.log"
    fi
else
    skip_check "node ws -> uv_echo: Node or node_modules/ws missing (make node)"
fi

# ---- the conformance suite, server mode ----------------------------------------------------------
timeout 200 "$PY" tests/conformance/server_suite.py --port "$port" >"$tmp/conf.log" 2>&1
status=$?
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/conf.log" | tail -n 1)
nonstrict=$(grep -E '^[0-9]+ non-strict' "$tmp/conf.log" | tail -n 1 | cut -d' ' -f1)
if [ $status -eq 0 ] && [[ $summary =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]] && [ "${nonstrict:-x}" = 0 ]; then
    ok "conformance suite, server mode: $summary, 0 non-strict"
else
    ko "conformance suite, server mode: ${summary:-no summary}, ${nonstrict:-?} non-strict (exit $status)"
    grep -E '^(FAIL|NON-STRICT)' "$tmp/conf.log" | head -n 20 | sed 's/^/    | /'
fi

# ---- the server survived all that, and stops cleanly ---------------------------------------------
if kill -0 "$server" 2>/dev/null; then ok "uv_echo still running"; else ko "uv_echo died"; show "$tmp/server.log"; fi
check "echo_client --check still passes at the end" "$tmp/end.log" \
    timeout 60 "$BUILD/echo_client" --check "$url"
timeout 30 "$PY" $PEERS "$port" going-away >"$tmp/away.log" 2>&1 &
away=$!
pids+=("$away")
wait_for connected "$tmp/away.log"
kill -TERM "$server"
for i in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$server" 2>/dev/null; then
    ko "uv_echo still running 5 s after SIGTERM"
else
    wait "$job"                                     # timeout passes on its status
    status=$?
    if [ $status -eq 0 ]; then ok "SIGTERM: uv_echo exits with status 0"
    else ko "SIGTERM: uv_echo exit status $status"; show "$tmp/server.log"; fi
fi
result "SIGTERM: connected client gets close 1001" "$away" "$tmp/away.log"

# ---- examples/echo.html in headless Chromium -----------------------------------------------------
chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
    for c in chromium chromium-browser google-chrome; do chromium=$(command -v "$c") && break; done
fi
if ! command -v node >/dev/null || [ ! -f node_modules/playwright-core/package.json ]; then
    skip_check "browser: Node or node_modules/playwright-core missing (make node)"
elif [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
    skip_check "browser: no Chromium (apt-get install chromium, or CHROMIUM=/path)"
elif start "$tmp/bserver.log" ECHO_PING_MS=200; then
    timeout 90 node tests/browser/echo.mjs "http://127.0.0.1:$port/" "$chromium" "$server" \
        >"$tmp/browser.log" 2>&1
    status=$?
    lines "$tmp/browser.log" "browser: "
    if [ $status -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/browser.log"; then
        ko "browser: exit $status"; show "$tmp/browser.log"
    fi
fi
finish
