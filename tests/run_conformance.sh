#!/usr/bin/env bash
# RFC 6455 conformance of ws.h's examples, with the project's own suite (tests/conformance/):
#   1. build/echo_server on a free loopback port, driven by server_suite.py, with the
#      compression cases (RFC 7692, --deflate: tests/conformance/pmd.py: Autobahn's 12.* and
#      13.*, 216 cases, and the suite's own 135);
#   1b. echo_server --takeover (each client's echoes compressed with its own window, context
#      taken over unless the client asks for server_no_context_takeover), the compression
#      cases only;
#   2. client_suite.py on a free loopback port, driven by build/echo_client in runner mode,
#      both with the compression cases (--deflate; echo_client offers permessage-deflate);
#      and once more echo_client without --deflate against the compression cases, which
#      must then be NON-STRICT (the check that they can fail: one check);
#   3. and 4. the same over TLS (wss), of the compression cases (the same code over another
#      transport) only 12.1, 12.6, 12.7 and 13.7, in server mode (all of them cost 15 s):
#      echo_server --cert/--key driven by server_suite.py --tls-ca, and echo_client --ca
#      against client_suite.py --tls-cert, with a test CA and certificate made here by
#      tests/tls/make_certs.sh (openssl). They need the examples built with mbedTLS
#      (libmbedtls-dev) and openssl; without them they are skipped.
# Every process started here is killed by PID on exit; the whole run is bounded (~8 min at
# worst, 40 to 100 s normally). Ends with "N passed, N failed" summing the
# modes (non-strict cases count as failed; ", N skipped" when the TLS ones could not run);
# exit status non-zero if anything failed.
#   BUILD=dir   where echo_server / echo_client are (default build; built if missing)
#   PYTHON=...  Python 3 to run the suites (stdlib only; default python3)
#   CONFORMANCE_JSON=dir   also write server.json / client.json there (and server-tls.json,
#                          client-tls.json)
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

[ -n "${CONFORMANCE_JSON:-}" ] && mkdir -p "$CONFORMANCE_JSON"
json() {    # server|client, mode name: the suite's --json argument, if asked for
    [ -n "${CONFORMANCE_JSON:-}" ] || return 0
    if [ "$2" = plain ]; then echo "--json $CONFORMANCE_JSON/$1.json"
    else echo "--json $CONFORMANCE_JSON/$1-$2.json"; fi
}

# ---- the modes: server mode (echo_server driven by server_suite.py), client mode
# (client_suite.py serving echo_client's runner); each writes $tmp/s-NAME.out, c-NAME.out
server_mode() {     # name, "server args", label, "suite args"
    local port srv sp
    port=$(free_port)
    # shellcheck disable=SC2086
    timeout -k 2 150 "$BUILD/echo_server" $2 "$port" >"$tmp/server-$1.log" 2>&1 &
    srv=$!
    pids+=("$srv")
    echo "== server mode$3: $BUILD/echo_server $2 $port"
    if wait_port "$port" "$srv"; then
        # shellcheck disable=SC2086
        timeout -k 2 140 "$PY" "$SUITE/server_suite.py" --port "$port" $4 $(json server "$1") \
            >"$tmp/s-$1.out" 2>&1 &
        sp=$!
        pids+=("$sp")
        wait "$sp"
        cat "$tmp/s-$1.out"
    else
        echo "echo_server did not listen on port $port:"
        cat "$tmp/server-$1.log"
        echo "0 passed, 1 failed" >"$tmp/s-$1.out"
    fi
    kill "$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
}

client_mode() {     # name, scheme://host, "client args", "suite args"
    local cport cs cl i
    cport=$(free_port)
    echo
    echo "== client mode: $BUILD/echo_client $3 $2:$cport ws.h"
    # shellcheck disable=SC2086
    timeout -k 2 100 "$PY" -u "$SUITE/client_suite.py" --port "$cport" --timeout 90 $4 \
        $(json client "$1") >"$tmp/c-$1.out" 2>&1 &
    cs=$!
    pids+=("$cs")
    for i in $(seq 1 100); do grep -q '^listening on' "$tmp/c-$1.out" 2>/dev/null && break; sleep 0.05; done
    # shellcheck disable=SC2086
    timeout -k 2 95 "$BUILD/echo_client" $3 "$2:$cport" ws.h >"$tmp/client-$1.log" 2>&1 &
    cl=$!
    pids+=("$cl")
    wait "$cs"
    kill "$cl" 2>/dev/null
    wait "$cl" 2>/dev/null
    cat "$tmp/c-$1.out"
}

# ---- 1. and 2. plain TCP
server_mode plain "" "" "--deflate"      # with the compression cases (RFC 7692: pmd.py)
echo
# echo_server --takeover: its echoes compressed with context taken over from one message to
# the next, each client with its own window (server_no_context_takeover only when asked)
server_mode takeover "--takeover" " (compression cases)" "--cases compression"
client_mode plain ws://127.0.0.1 "--deflate" "--deflate"
modes=(s-plain s-takeover c-plain)

# the compression cases can fail: a client that offers no compression is NON-STRICT there
client_mode nodeflate ws://127.0.0.1 "" "--deflate --cases compression" >/dev/null
read -r ns_ <<<"$(nonstrict "$tmp/c-nodeflate.out")"
echo
if [ "$ns_" -gt 0 ] && grep -q '^NON-STRICT .* the client offered no permessage-deflate' "$tmp/c-nodeflate.out"; then
    echo "PASS echo_client without --deflate: $ns_ compression cases NON-STRICT (no offer)"
    echo "1 passed, 0 failed" >"$tmp/x-nodeflate.out"
else
    echo "FAIL echo_client without --deflate: the compression cases did not say NON-STRICT:"
    tail -n 5 "$tmp/c-nodeflate.out"
    echo "0 passed, 1 failed" >"$tmp/x-nodeflate.out"
fi
modes+=(x-nodeflate)

# ---- 3. and 4. over TLS: what they need, else a skip (a failure under CI)
TLS_CASES='handshake,framing,pingpong,rsv,opcodes,fragmentation,utf8,close,masking,throughput,misc'
TLS_CASES="$TLS_CASES,12.1.*,12.6.*,12.7.*,13.7.*"
skipped=0
why=
if ! command -v openssl >/dev/null 2>&1; then
    why="no openssl (apt-get install openssl)"
elif ! "$BUILD/echo_client" --help 2>/dev/null | grep -q '^  TLS: mbedTLS'; then
    why="the examples are built without TLS (apt-get install libmbedtls-dev, then make examples)"
elif ! "$PY" -c 'import ssl' 2>/dev/null; then
    why="$PY has no ssl module"
fi
if [ -n "$why" ]; then
    echo
    if [ -n "${CI:-}" ]; then
        echo "FAIL conformance over TLS: $why (CI installs it: tests/deps.sh)"
        echo "0 passed, 1 failed" >"$tmp/s-tls.out"
        modes+=(s-tls)
    else
        echo "SKIP conformance over TLS, server and client mode: $why"
        skipped=2
    fi
elif ! bash tests/tls/make_certs.sh "$tmp/pki" >"$tmp/pki.log" 2>&1; then
    echo
    echo "FAIL tests/tls/make_certs.sh could not make the test certificates:"
    cat "$tmp/pki.log"
    echo "0 passed, 1 failed" >"$tmp/s-tls.out"
    modes+=(s-tls)
else
    echo
    # every RFC 6455 case; of the compression cases Autobahn's 12.1 (its 18 sizes and
    # fragmentations), 12.6, 12.7 and 13.7 (three offers, window 2^8)
    server_mode tls "--cert $tmp/pki/server.pem --key $tmp/pki/server.key" " over TLS" \
        "--cases $TLS_CASES --tls-ca $tmp/pki/ca.pem --tls-name localhost"
    client_mode tls wss://localhost "--ca $tmp/pki/ca.pem" \
        "--tls-cert $tmp/pki/server.pem --tls-key $tmp/pki/server.key"
    modes+=(s-tls c-tls)
fi

# ---- total
tp=0 tf=0 ns=0
echo
for m in "${modes[@]}"; do
    read -r p_ f_ <<<"$(summary "$tmp/$m.out")"
    case $m in s-*) label="server-mode" ;; x-*) label="client-mode without compression" ;;
        *) label="client-mode" ;; esac
    case $m in *-tls) label="$label over TLS" ;; s-takeover) label="server-mode, echo_server --takeover" ;; esac
    echo "$label: $p_ passed, $f_ failed"
    tp=$((tp + p_)) tf=$((tf + f_)) ns=$((ns + $(nonstrict "$tmp/$m.out")))
done
echo "$ns non-strict (counted as failed)"
if [ "$skipped" -gt 0 ]; then echo "$tp passed, $tf failed, $skipped skipped"
else echo "$tp passed, $tf failed"; fi
[ "$tf" -eq 0 ]
