#!/usr/bin/env bash
# Interop of the echo examples with Node's `ws` (tests/interop/, installed by `make node`):
#   - a Node ws client against build/echo_server (tests/interop/node_client.mjs);
#   - build/echo_client --check against a Node ws echo server (tests/interop/node_server.mjs);
#   - build/echo_client's runner mode against a Node ws runner (tests/interop/node_runner.mjs);
#   - permessage-deflate (tests/interop/node_pmd.mjs, perMessageDeflate on, threshold 0): a
#     Node ws client against build/echo_server, and build/echo_client --deflate --check
#     against a Node ws server (three settings, down to 8-bit windows), each through
#     tests/interop/relay.py, which checks on the wire that the extension was agreed and
#     messages went compressed (RSV1) both ways.
# Only 127.0.0.1, free ports, every process bounded by `timeout` and killed by PID on exit.
# One line per check; the last line is "N passed, N failed" (", 1 skipped" without Node).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

if ! command -v node >/dev/null || [ ! -f node_modules/ws/package.json ]; then
    skip "Node or node_modules/ws missing (make node)"
fi
for b in echo_server echo_client; do
    [ -x "$BUILD/$b" ] || { ko "$BUILD/$b is missing (make examples)"; finish; }
done
echo "node $(node --version), ws $(node -p 'require("ws/package.json").version')"

# ---- Node ws client -> build/echo_server ----------------------------------------------------
port=$(free_port)
timeout 180 "$BUILD/echo_server" "$port" >"$tmp/server.log" 2>&1 &
server=$!
pids+=("$server")
if wait_for listening "$tmp/server.log"; then
    timeout 150 node tests/interop/node_client.mjs "ws://127.0.0.1:$port/" >"$tmp/client.log" 2>&1
    status=$?
    lines "$tmp/client.log" "node client -> echo_server: "
    if [ $status -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/client.log"; then
        ko "node client -> echo_server: exit $status"; show "$tmp/client.log"
    fi
    if kill -0 "$server" 2>/dev/null; then ok "echo_server still running"
    else ko "echo_server died"; show "$tmp/server.log"; fi
else
    ko "echo_server did not start"; show "$tmp/server.log"
fi

# ---- build/echo_client --check -> Node ws echo server ---------------------------------------
nport=$(free_port)
timeout 120 node tests/interop/node_server.mjs "$nport" >"$tmp/nserver.log" 2>&1 &
pids+=("$!")
if wait_for listening "$tmp/nserver.log"; then
    timeout 90 "$BUILD/echo_client" --check "ws://127.0.0.1:$nport/" >"$tmp/check.log" 2>&1
    status=$?
    if [ $status -eq 0 ]; then
        ok "echo_client --check -> node echo server: $(grep -c '^ok' "$tmp/check.log") checks matched"
    else
        ko "echo_client --check -> node echo server (exit $status)"; show "$tmp/check.log"
    fi
else
    ko "node echo server did not start"; show "$tmp/nserver.log"
fi

# ---- build/echo_client runner mode -> Node ws runner ----------------------------------------
rport=$(free_port)
timeout 150 node tests/interop/node_runner.mjs "$rport" "ws.h node interop" >"$tmp/runner.log" 2>&1 &
runner=$!
pids+=("$runner")
if wait_for listening "$tmp/runner.log"; then
    timeout 120 "$BUILD/echo_client" "ws://127.0.0.1:$rport" "ws.h node interop" >"$tmp/rclient.log" 2>&1
    status=$?
    if [ $status -eq 0 ]; then ok "echo_client runner mode -> node runner: every case ended, reports updated"
    else ko "echo_client runner mode -> node runner (exit $status)"; show "$tmp/rclient.log"; fi
    wait "$runner"
    rstatus=$?
    lines "$tmp/runner.log" "node runner: "
    if [ $rstatus -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/runner.log"; then
        ko "node runner: exit $rstatus"; show "$tmp/runner.log"
    fi
else
    ko "node runner did not start"; show "$tmp/runner.log"
fi

# ---- permessage-deflate: Node ws client -> relay -> build/echo_server -----------------------
port=$(free_port)
timeout 120 "$BUILD/echo_server" "$port" >"$tmp/zserver.log" 2>&1 &
pids+=("$!")
if wait_for listening "$tmp/zserver.log" && start_relay "$port" "$tmp/zrelay.log" && [ -n "$relay_port" ]; then
    timeout 90 node tests/interop/node_pmd.mjs client "ws://127.0.0.1:$relay_port/" >"$tmp/zclient.log" 2>&1
    status=$?
    lines "$tmp/zclient.log" "node client (perMessageDeflate) -> echo_server: "
    if [ $status -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/zclient.log"; then
        ko "node client (perMessageDeflate) -> echo_server: exit $status"; show "$tmp/zclient.log"
    fi
    relay_check "$tmp/zrelay.log" "wire, node client -> echo_server"
else
    ko "echo_server or the relay did not start"; show "$tmp/zserver.log"; show "$tmp/zrelay.log"
fi

# ---- permessage-deflate: build/echo_client --deflate --check -> relay -> Node ws server -----
# three settings of the server: its defaults (15 bits, context taken over); windows of 8 bits
# both ways (zlib's quirk: Node compresses with 9 for an agreed 8, ws.h with 8); windows 10
# and 9 with no context taken over either way
for opts in '{}' '{"serverMaxWindowBits":8,"clientMaxWindowBits":8}' \
        '{"serverMaxWindowBits":10,"clientMaxWindowBits":9,"serverNoContextTakeover":true,"clientNoContextTakeover":true}'; do
    nport=$(free_port)
    rm -f "$tmp/znserver.log" "$tmp/znrelay.log"
    timeout 120 node tests/interop/node_pmd.mjs server "$nport" "$opts" >"$tmp/znserver.log" 2>&1 &
    pids+=("$!")
    if wait_for listening "$tmp/znserver.log" && start_relay "$nport" "$tmp/znrelay.log" && [ -n "$relay_port" ]; then
        timeout 90 "$BUILD/echo_client" --deflate --check "ws://127.0.0.1:$relay_port/" >"$tmp/zcheck.log" 2>&1
        status=$?
        if [ $status -eq 0 ]; then
            ok "echo_client --deflate --check -> node server (perMessageDeflate $opts): $(grep -c '^ok' "$tmp/zcheck.log") checks matched, $(sed -n 's/^ok   permessage-deflate //p' "$tmp/zcheck.log")"
        else
            ko "echo_client --deflate --check -> node server (perMessageDeflate $opts), exit $status"; show "$tmp/zcheck.log"
        fi
        relay_check "$tmp/znrelay.log" "wire, echo_client -> node server $opts"
    else
        ko "node pmd server or the relay did not start"; show "$tmp/znserver.log"; show "$tmp/znrelay.log"
    fi
done

finish
