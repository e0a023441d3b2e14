#!/usr/bin/env bash
# build/shared_port (examples/shared_port.c): HTTP and WebSocket on one port.
#   - tests/shared_port/check.py: keep-alive (GET / and /api/time on one connection),
#     pipelining, HEAD, path traversal, upgrade on /ws (echo) and /chat (broadcast), 404 for
#     an upgrade elsewhere, 400/426/431 for bad requests, 405, HTTP/1.0, HTTP served while
#     WebSocket clients stay connected, a too-big message, Python's websockets as a client,
#     and 40 pipelined 2 MiB answers to a slow reader with bounded server memory;
#   - tests/shared_port/browser.mjs: the page in headless Chromium (page, stylesheet,
#     /api/time and the /ws echo over one port);
#   - build/wscat on /chat: what one sends, another prints;
#   - SIGTERM: WebSocket clients get close 1001, the server waits for their answers and
#     exits 0.
# Only 127.0.0.1, free ports, every process bounded by `timeout` and killed by PID on exit.
# One line per check; the last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
PY=/usr/bin/python3

for b in shared_port wscat; do
    [ -x "$BUILD/$b" ] || { ko "$BUILD/$b is missing (make examples)"; finish; }
done
"$PY" -c 'import websockets' 2>/dev/null || skip "no python3-websockets"

# the static folder: examples/www plus a 2 MiB file for the back-pressure check
www=$tmp/www
mkdir -p "$www"
cp examples/www/* "$www/"
head -c $((2 << 20)) /dev/urandom >"$www/big.bin"

port=$(free_port)
timeout 120 "$BUILD/shared_port" "$port" "$www" >"$tmp/server.log" 2>&1 &
server_job=$!
pids+=("$server_job")
if wait_for listening "$tmp/server.log"; then ok "shared_port listens: $(head -n 1 "$tmp/server.log" | sed 's/^shared_port: //')"
else ko "shared_port did not start"; show "$tmp/server.log"; finish; fi
server=$(cat "/proc/$server_job/task/$server_job/children" 2>/dev/null || pgrep -P "$server_job")
server=${server%% *}
[ -n "$server" ] || { ko "cannot find shared_port's PID"; finish; }
hexport=$(printf '%04X' "$port")
if awk -v p=":$hexport" '$2 ~ p"$" && $4 == "0A" { print $2 }' /proc/net/tcp /proc/net/tcp6 \
        | grep -qvx "0100007F:$hexport"; then
    ko "shared_port listens on another address than 127.0.0.1"
else
    ok "shared_port listens on 127.0.0.1 only"
fi

# ---- HTTP and WebSocket checks, one line each -------------------------------------------------
SERVER_PID=$server timeout 90 "$PY" tests/shared_port/check.py "$port" "$www" >"$tmp/check.log" 2>&1
status=$?
lines "$tmp/check.log" ""
[ $status -eq 0 ] || { ko "check.py exit $status"; show "$tmp/check.log"; }
SERVER_PID=$server timeout 60 "$PY" tests/shared_port/check.py "$port" "$www" pipelined-big >"$tmp/big.log" 2>&1
status=$?
lines "$tmp/big.log" ""
[ $status -eq 0 ] || { ko "check.py pipelined-big exit $status"; show "$tmp/big.log"; }

# ---- wscat on /chat: one listens, another sends ----------------------------------------------
listen_err=$tmp/listen.err
"$BUILD/wscat" -k "ws://127.0.0.1:$port/chat" </dev/null >"$tmp/listen.out" 2>"$listen_err" &
listener=$!
pids+=("$listener")
if wait_for connected "$listen_err"; then
    printf 'hello from wscat\n' | timeout 10 "$BUILD/wscat" -w 300 "ws://127.0.0.1:$port/chat" >"$tmp/say.out" 2>"$tmp/say.err"
    status=$?
    wait_for "hello from wscat" "$tmp/listen.out"
    if [ $status -eq 0 ] && [ "$(cat "$tmp/listen.out")" = "hello from wscat" ] && [ "$(cat "$tmp/say.out")" = "hello from wscat" ]; then
        ok "wscat on /chat: a line one wscat sends is printed by the other (and by the sender)"
    else
        ko "wscat on /chat (sender exit $status)"; show "$tmp/listen.out"; show "$tmp/say.err"
    fi
else
    ko "wscat did not connect to /chat"; show "$listen_err"
fi

# ---- the page in a browser (examples/www/index.html) -------------------------------------------
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome)}
if command -v node >/dev/null && [ -f node_modules/playwright-core/package.json ] && [ -x "$chromium" ]; then
    timeout 60 node tests/shared_port/browser.mjs "http://127.0.0.1:$port/" "$chromium" >"$tmp/browser.log" 2>&1
    status=$?
    lines "$tmp/browser.log" "browser: "
    [ $status -eq 0 ] && grep -q '^ok' "$tmp/browser.log" || { ko "browser: exit $status"; show "$tmp/browser.log"; }
else
    skip_check "browser: node, node_modules/playwright-core (make node) or Chromium missing (apt-get install nodejs npm chromium)"
fi

# ---- SIGTERM: close 1001 to WebSocket clients, exit 0 ------------------------------------------
kill -0 "$server" 2>/dev/null && ok "shared_port still running after all that" || { ko "shared_port died"; show "$tmp/server.log"; }
timeout 30 "$PY" tests/shared_port/check.py "$port" "$www" shutdown-peer >"$tmp/late.log" 2>&1 &
late=$!
pids+=("$late")
wait_for connected "$tmp/late.log" || { ko "the late-closing client did not connect"; show "$tmp/late.log"; }
t0=$(date +%s%3N)
kill -TERM "$server"
for i in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.02; done
took=$(( $(date +%s%3N) - t0 ))
wait "$server_job"
status=$?
# 300 ms to 1.5 s: it waited for the late client's answer, not for its own 2 s limit
if [ $status -eq 0 ] && [ $took -ge 300 ] && [ $took -lt 1500 ]; then
    ok "SIGTERM: shared_port waited for its clients' answers and exited with status 0 after $took ms"
else ko "SIGTERM: exit status $status after $took ms"; show "$tmp/server.log"; fi
wait "$late"
status=$?
lines "$tmp/late.log" "SIGTERM: "
[ $status -eq 0 ] || { ko "SIGTERM: late-closing client (exit $status)"; show "$tmp/late.log"; }
for i in $(seq 100); do kill -0 "$listener" 2>/dev/null || break; sleep 0.05; done
wait "$listener"
status=$?
if [ $status -eq 0 ] && grep -q "closed: 1001 server shutting down" "$listen_err"; then
    ok "SIGTERM: the connected wscat got close 1001 'server shutting down' and exited 0"
else
    ko "SIGTERM: wscat on /chat (exit $status)"; show "$listen_err"
fi
finish
