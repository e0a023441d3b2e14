#!/usr/bin/env bash
# RFC 6455 conformance of ws.h's examples, with the project's own suite (tests/conformance/):
#   1. build/echo_server on a free loopback port, driven by server_suite.py;
#   2. client_suite.py on a free loopback port, driven by build/echo_client in runner mode.
# Every process started here is killed by PID on exit; the whole run is bounded (~4 min at
# worst, well under a minute normally). Ends with "N passed, N failed" summing both modes
# (non-strict cases count as failed); exit status non-zero if anything failed.
#   BUILD=dir   where echo_server / echo_client are (default build; built if missing)
#   PYTHON=...  Python 3 to run the suites (stdlib only; default python3)
#   CONFORMANCE_JSON=dir   also write server.json / client.json there
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PY=${PYTHON:-python3}
SUITE=tests/conformance
pids=()
tmp=$(mktemp -d)

cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.2
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {   # port, pid: wait until something listens there (5 s at most)
    local i
    for i in $(seq 1 100); do
        kill -0 "$2" 2>/dev/null || return 1
        "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$1" \
            2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

summary() {     # file -> "P F" from its last "N passed, N failed" line, "0 1" if none
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1)
    if [ -z "$line" ]; then echo "0 1"; else sed -E 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/' <<<"$line"; fi
}

nonstrict() {
    local n
    n=$(grep -E '^[0-9]+ non-strict' "$1" | tail -n 1 | cut -d' ' -f1)
    echo "${n:-0}"
}

if [ ! -x "$BUILD/echo_server" ] || [ ! -x "$BUILD/echo_client" ] || [ -f Makefile ]; then
    if [ -f Makefile ]; then
        make -s examples BUILD="$BUILD" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; }
    else
        mkdir -p "$BUILD"
        gcc -std=c99 -O2 -I. examples/echo_server.c -o "$BUILD/echo_server" &&
            gcc -std=c99 -O2 -I. examples/echo_client.c -o "$BUILD/echo_client"
    fi
fi
if [ ! -x "$BUILD/echo_server" ] || [ ! -x "$BUILD/echo_client" ]; then
    echo "run_conformance: $BUILD/echo_server or $BUILD/echo_client missing"
    echo "0 passed, 1 failed"
    exit 1
fi

json_s=() json_c=()
if [ -n "${CONFORMANCE_JSON:-}" ]; then
    mkdir -p "$CONFORMANCE_JSON"
    json_s=(--json "$CONFORMANCE_JSON/server.json")
    json_c=(--json "$CONFORMANCE_JSON/client.json")
fi

# ---- 1. server mode
port=$(free_port)
timeout -k 2 150 "$BUILD/echo_server" "$port" >"$tmp/server.log" 2>&1 &
srv=$!
pids+=("$srv")
echo "== server mode: $BUILD/echo_server $port"
if wait_port "$port" "$srv"; then
    timeout -k 2 140 "$PY" "$SUITE/server_suite.py" --port "$port" "${json_s[@]}" >"$tmp/s.out" 2>&1 &
    sp=$!
    pids+=("$sp")
    wait "$sp"
    cat "$tmp/s.out"
else
    echo "echo_server did not listen on port $port:"
    cat "$tmp/server.log"
    echo "0 passed, 1 failed" >"$tmp/s.out"
fi
kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null

# ---- 2. client mode
cport=$(free_port)
echo
echo "== client mode: $BUILD/echo_client ws://127.0.0.1:$cport ws.h"
timeout -k 2 100 "$PY" -u "$SUITE/client_suite.py" --port "$cport" --timeout 90 "${json_c[@]}" >"$tmp/c.out" 2>&1 &
cs=$!
pids+=("$cs")
for i in $(seq 1 100); do grep -q '^listening on' "$tmp/c.out" 2>/dev/null && break; sleep 0.05; done
timeout -k 2 95 "$BUILD/echo_client" "ws://127.0.0.1:$cport" ws.h >"$tmp/client.log" 2>&1 &
cl=$!
pids+=("$cl")
wait "$cs"
kill "$cl" 2>/dev/null
wait "$cl" 2>/dev/null
cat "$tmp/c.out"

# ---- total
read -r sp_ sf_ <<<"$(summary "$tmp/s.out")"
read -r cp_ cf_ <<<"$(summary "$tmp/c.out")"
ns=$(( $(nonstrict "$tmp/s.out") + $(nonstrict "$tmp/c.out") ))
echo
echo "server-mode: $sp_ passed, $sf_ failed"
echo "client-mode: $cp_ passed, $cf_ failed"
echo "$ns non-strict (counted as failed)"
echo "$((sp_ + cp_)) passed, $((sf_ + cf_)) failed"
[ $((sf_ + cf_)) -eq 0 ]
