#!/usr/bin/env bash
# examples/chat_server.c and its page, as users would check them (all on 127.0.0.1):
#   1. the JSON protocol, a slow reader and the Origin check (tests/chat/chat_check.py, Python
#      websockets and raw sockets) against a server with default options, with members that
#      agreed permessage-deflate and members that did not: compressed broadcasts checked on
#      the wire, a compression bomb;
#   2. heartbeats against a server with --ping-interval 200 --ping-timeout 400: a silent
#      client is dropped in time, a live one stays; build/wscat --ping notices a server that
#      stopped (SIGSTOP) and exits 3;
#   3. the page in headless Chromium (tests/chat/browser.mjs): three users, rooms, acks,
#      notices, the online list, a stopped server noticed and reconnected to; the screenshot
#      goes to build/chat.png (make screenshot copies it to examples/chat.png).
# CHAT_ONLY=browser runs part 3 alone. The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
PY=/usr/bin/python3
stopped=()
trap 'for p in "${stopped[@]}"; do kill -CONT "$p" 2>/dev/null; done; cleanup' EXIT

[ -x "$BUILD/chat_server" ] || { ko "$BUILD/chat_server is missing (make examples)"; finish; }

# start_server NAME OPTIONS...: a chat_server under `timeout 150`; sets $port and $spid,
# the server's own PID (child of $tpid, the timeout), for kill -STOP and memory figures
start_server() {
    local name=$1
    shift
    port=$(free_port)
    timeout 150 "$BUILD/chat_server" "$@" "$port" >"$tmp/$name.log" 2>&1 &
    tpid=$!
    pids+=("$tpid")
    wait_for listening "$tmp/$name.log" || { ko "$name: chat_server did not start"; show "$tmp/$name.log"; return 1; }
    spid=$(cat "/proc/$tpid/task/$tpid/children" 2>/dev/null || ps -o pid= --ppid "$tpid")
    spid=$(echo $spid)
    [ -n "$spid" ] && kill -0 "$spid" || { ko "$name: no PID for chat_server"; return 1; }
}

if [ "${CHAT_ONLY:-}" != browser ]; then
    if ! "$PY" -c 'import websockets' 2>/dev/null; then
        skip_check "protocol, slow reader, Origin, heartbeats, wscat: no python3-websockets (apt-get install python3-websockets)"
    else
        # 1. protocol, slow reader
        if start_server chat; then
            timeout 100 "$PY" tests/chat/chat_check.py chat "$port" "$spid" >"$tmp/chat.out" 2>&1
            lines "$tmp/chat.out" "chat: "
            grep -q "every frame before the close" "$tmp/chat.out" || { ko "chat: checks did not finish"; show "$tmp/chat.out"; }
            grep -q "too slow" "$tmp/chat.log" && ok "chat: the server log names the slow client" \
                || { ko "chat: the server log names the slow client"; show "$tmp/chat.log"; }
            kill -0 "$spid" 2>/dev/null && ok "chat: server still running" || ko "chat: server died"
            kill "$spid"; wait "$tpid"
            [ $? -eq 0 ] && ok "chat: SIGTERM: server exits 0" || ko "chat: SIGTERM: server exits 0"
            grep -qE '^chat_server: permessage-deflate: [1-9][0-9]* frames sent compressed' "$tmp/chat.log" \
                && ok "chat: the server counts the frames it sent compressed ($(grep -o '[0-9]* frames sent compressed.*' "$tmp/chat.log"))" \
                || { ko "chat: the server counts the frames it sent compressed"; show "$tmp/chat.log"; }
        fi
        # 2. heartbeats
        if start_server heartbeat --ping-interval 200 --ping-timeout 400; then
            timeout 60 "$PY" tests/chat/chat_check.py heartbeat "$port" "$spid" >"$tmp/hb.out" 2>&1
            lines "$tmp/hb.out" "heartbeat: "
            grep -q "stays connected" "$tmp/hb.out" || { ko "heartbeat: checks did not finish"; show "$tmp/hb.out"; }
        fi
    fi
    # 2b. ws.h's client side: build/wscat pings a server that stopped answering, gives up
    if [ ! -x "$BUILD/wscat" ]; then
        ko "wscat: $BUILD/wscat is missing (make examples)"
    elif start_server stopped --ping-interval 60000; then
        mkfifo "$tmp/in"
        timeout 20 "$BUILD/wscat" -k --ping 200 --timeout 600 "ws://127.0.0.1:$port/chat" <"$tmp/in" >"$tmp/wscat.out" 2>&1 &
        wpid=$!
        pids+=("$wpid")
        exec 7>"$tmp/in"            # stdin stays open: wscat waits for the server
        if wait_for welcome "$tmp/wscat.out"; then
            kill -STOP "$spid"; stopped+=("$spid")
            t0=$(date +%s%N)
            wait "$wpid"; status=$?
            ms=$((($(date +%s%N) - t0) / 1000000))
            kill -CONT "$spid"
            if [ $status -eq 3 ] && [ $ms -le 2500 ]; then
                ok "wscat --ping 200 --timeout 600: a stopped server noticed in $ms ms (exit 3)"
            else
                ko "wscat --ping 200 --timeout 600: a stopped server noticed (exit $status after $ms ms)"; show "$tmp/wscat.out"
            fi
        else
            ko "wscat: no welcome from the chat server"; show "$tmp/wscat.out"
        fi
        exec 7>&-
    fi
fi

# 3. the page in a browser
chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
    for c in chromium chromium-browser google-chrome; do chromium=$(command -v "$c") && break; done
fi
if ! command -v node >/dev/null || [ ! -f node_modules/playwright-core/package.json ] || [ -z "$chromium" ]; then
    skip_check "browser: node, node_modules/playwright-core (make node) or Chromium missing (apt-get install nodejs npm chromium)"
elif start_server browser --ping-interval 500 --ping-timeout 1000; then
    stopped+=("$spid")
    timeout 120 node tests/chat/browser.mjs "http://127.0.0.1:$port/" "$chromium" "$spid" "$BUILD/chat.png" \
        >"$tmp/browser.out" 2>&1
    status=$?
    lines "$tmp/browser.out" "browser: "
    if [ $status -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/browser.out"; then
        ko "browser: exit $status"; show "$tmp/browser.out"; show "$tmp/browser.log"
    fi
    [ -s "$BUILD/chat.png" ] && ok "browser: screenshot saved to $BUILD/chat.png" || ko "browser: no screenshot"
fi
finish
