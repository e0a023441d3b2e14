#!/usr/bin/env bash
# Interop of the echo examples with Python's `websockets` (Debian's python3-websockets):
#   - a websockets client against build/echo_server (tests/interop/python_client.py);
#   - build/echo_client --check against a websockets echo server;
#   - build/echo_client --deflate --check against a websockets echo server with its default
#     compression (permessage-deflate, zlib), through tests/interop/relay.py, which checks on
#     the wire that the extension was agreed and messages went compressed (RSV1) both ways.
# Only 127.0.0.1, free ports, every process bounded by `timeout` and killed by PID on exit.
# One line per check; the last line is "N passed, N failed" (", 1 skipped" without websockets).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
PY=/usr/bin/python3

if ! "$PY" -c 'import websockets' 2>/dev/null; then
    skip "no python3-websockets"
fi
for b in echo_server echo_client; do
    [ -x "$BUILD/$b" ] || { ko "$BUILD/$b is missing (make examples)"; finish; }
done

# 1. a websockets client against build/echo_server
port=$(free_port)
timeout 180 "$BUILD/echo_server" "$port" >"$tmp/server.log" 2>&1 &
pids+=("$!")
if wait_for listening "$tmp/server.log"; then
    timeout 150 "$PY" tests/interop/python_client.py "ws://127.0.0.1:$port/" >"$tmp/client.log" 2>&1
    lines "$tmp/client.log" "python client -> echo_server: "
    grep -q '^ok close 1000' "$tmp/client.log" || { ko "python client did not finish"; show "$tmp/client.log"; }
    kill -0 "${pids[-1]}" 2>/dev/null && ok "echo_server still running" || ko "echo_server died"
else
    ko "echo_server did not start"; show "$tmp/server.log"
fi

# 2. build/echo_client --check against a websockets echo server
timeout 180 "$PY" tests/conformance/peers/py_echo_server.py 0 170 >"$tmp/pyserver.log" 2>&1 &
pids+=("$!")
if wait_for listening "$tmp/pyserver.log"; then
    pport=$(sed -n 's/^listening //p' "$tmp/pyserver.log" | head -n 1)
    if timeout 150 "$BUILD/echo_client" --check "ws://127.0.0.1:$pport/" >"$tmp/check.log" 2>&1; then
        ok "echo_client --check against websockets server: $(tail -n 1 "$tmp/check.log")"
    else
        ko "echo_client --check against websockets server"; show "$tmp/check.log"
    fi
else
    ko "websockets echo server did not start"; show "$tmp/pyserver.log"
fi

# 3. build/echo_client --deflate --check -> relay -> websockets server, default compression
timeout 180 "$PY" tests/conformance/peers/py_echo_server.py 0 170 deflate >"$tmp/pyzserver.log" 2>&1 &
pids+=("$!")
if wait_for listening "$tmp/pyzserver.log" &&
        start_relay "$(sed -n 's/^listening //p' "$tmp/pyzserver.log" | head -n 1)" "$tmp/zrelay.log" &&
        [ -n "$relay_port" ]; then
    if timeout 150 "$BUILD/echo_client" --deflate --check "ws://127.0.0.1:$relay_port/" >"$tmp/zcheck.log" 2>&1; then
        ok "echo_client --deflate --check against websockets server (compression on): $(tail -n 1 "$tmp/zcheck.log"), $(sed -n 's/^ok   permessage-deflate //p' "$tmp/zcheck.log")"
    else
        ko "echo_client --deflate --check against websockets server (compression on)"; show "$tmp/zcheck.log"
    fi
    relay_check "$tmp/zrelay.log" "wire, echo_client -> websockets server"
else
    ko "websockets server (compression on) or the relay did not start"; show "$tmp/pyzserver.log"
fi
finish
