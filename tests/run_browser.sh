#!/usr/bin/env bash
# examples/echo.html in headless Chromium (playwright-core, tests/browser/echo.mjs),
# served by build/echo_server on 127.0.0.1: the page connects back and echoes what is typed;
# then a script in the page checks binary, empty, 1 MiB and 16 MiB messages, pongs to the
# server's pings (ECHO_PING_MS=200), close codes both ways (the server's 1001 on SIGTERM).
# Then permessage-deflate with Chromium's default offer (tests/browser/pmd.mjs): the page
# loaded through tests/interop/relay.py, which checks on the wire that Chromium offered
# "permessage-deflate; client_max_window_bits" (the bare parameter), that echo_server agreed
# and that messages went compressed (RSV1) both ways on both of the page's sockets.
# Skipped (never passed) without Node, node_modules/playwright-core or a Chromium
# (CHROMIUM=/path overrides the search). The browser may reach 127.0.0.1 only.
# One line per check; the last line is "N passed, N failed" (", 1 skipped" when skipped).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
    for c in chromium chromium-browser google-chrome; do
        chromium=$(command -v "$c") && break
    done
fi
command -v node >/dev/null || skip "no node"
[ -f node_modules/playwright-core/package.json ] || skip "node_modules/playwright-core missing (make node)"
[ -n "$chromium" ] && [ -x "$chromium" ] || skip "no Chromium (apt-get install chromium, or CHROMIUM=/path)"
[ -x "$BUILD/echo_server" ] || { ko "$BUILD/echo_server is missing (make examples)"; finish; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ECHO_PING_MS=200 timeout 120 "$BUILD/echo_server" "$port" >"$tmp/server.log" 2>&1 &
pids+=("$!")
for i in $(seq 200); do grep -q listening "$tmp/server.log" && break; sleep 0.05; done
grep -q listening "$tmp/server.log" || { ko "echo_server did not start"; show "$tmp/server.log"; finish; }

timeout 90 node tests/browser/echo.mjs "http://127.0.0.1:$port/" "$chromium" "${pids[-1]}" >"$tmp/browser.log" 2>&1
status=$?
lines "$tmp/browser.log" "browser: "
if [ $status -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/browser.log"; then
    ko "browser: exit $status"; show "$tmp/browser.log"
fi

# permessage-deflate: Chromium -> relay -> echo_server
zport=$(free_port)
timeout 120 "$BUILD/echo_server" "$zport" >"$tmp/zserver.log" 2>&1 &
pids+=("$!")
if wait_for listening "$tmp/zserver.log" && start_relay "$zport" "$tmp/zrelay.log" && [ -n "$relay_port" ]; then
    timeout 90 node tests/browser/pmd.mjs "http://127.0.0.1:$relay_port/" "$chromium" >"$tmp/zbrowser.log" 2>&1
    status=$?
    lines "$tmp/zbrowser.log" "browser, compressed: "
    if [ $status -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/zbrowser.log"; then
        ko "browser, compressed: exit $status"; show "$tmp/zbrowser.log"
    fi
    for i in $(seq 100); do [ "$(grep -c '"status": 101' "$tmp/zrelay.log")" -ge 2 ] && break; sleep 0.1; done
    grep '"status": 101' "$tmp/zrelay.log" >"$tmp/zws.log"
    python3 tests/interop/relay.py check "$tmp/zws.log" "wire, Chromium -> echo_server" 2 \
        --offer "permessage-deflate; client_max_window_bits" >"$tmp/zcheck.log" 2>&1
    lines "$tmp/zcheck.log" ""
    grep -q '^ok ' "$tmp/zcheck.log" || { ko "relay.py check printed no result"; show "$tmp/zcheck.log"; }
else
    ko "echo_server or the relay did not start"; show "$tmp/zserver.log"; show "$tmp/zrelay.log"
fi
finish
