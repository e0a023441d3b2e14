#!/usr/bin/env bash
# Hostile clients against the example servers (tests/adversarial/attack.py), echo_server and
# shared_port's /ws: thousands of
# half handshakes (a slowloris), frame headers claiming 2^63-byte payloads, a flood of pings
# from a client that reads nothing, invalid UTF-8 at every position of a long message, and
# a server run out of file descriptors. Each time a good client must keep being served,
# the server's memory must stay flat, and every bad connection must end the documented way.
# Over TLS (echo_server --cert/--key, a wss good client, the test CA of tests/tls/
# make_certs.sh): a TLS slowloris (300 ClientHellos trickled a byte at a time), 2000
# half-finished TLS handshakes twice over, and the huge frame headers; skipped without
# openssl or an mbedTLS build of the examples.
# One line per check; the last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
py=/usr/bin/python3
# thousands of sockets on both ends: raise the descriptor limit as far as allowed, and open
# 2000 half handshakes, or as many as fit under the limit
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=65536
ulimit -n "$hard" 2>/dev/null
half=$(( hard - 200 < 2000 ? hard - 200 : 2000 ))
export HALF_N=$half
[ -x "$py" ] || py=python3

start() {   # LOGFILE PROGRAM ARGS...: starts a server on a free port (the argument PORT);
            # sets $port and $server
    local log=$1 a args=(); shift
    port=$(free_port)
    for a in "$@"; do [ "$a" = PORT ] && args+=("$port") || args+=("$a"); done
    timeout 300 "${args[@]}" >"$log" 2>&1 &
    server=$!
    pids+=("$server")
    wait_for listening "$log" || { ko "$* did not start"; show "$log"; return 1; }
    child
}
child() {   # memory and CPU are the server's own, not those of the timeout wrapping it
    local c
    c=$(pgrep -P "$server" | head -n 1)
    [ -n "$c" ] && server=$c
}

attack() {  # NAME PATH CHECK...
    local name=$1 path=$2; shift 2
    ATTACK_PATH=$path timeout 240 "$py" tests/adversarial/attack.py "$port" "$server" "$@" \
        >"$tmp/attack.log" 2>&1
    local status=$?
    lines "$tmp/attack.log" "$name: "
    if [ $status -ne 0 ] || ! grep -q '^ok' "$tmp/attack.log"; then
        ko "$name: attack.py exit $status"; show "$tmp/attack.log"
    fi
    kill -0 "$server" 2>/dev/null && ok "$name: server still running after the attacks" \
                                  || ko "$name: server died"
}

[ -x "$BUILD/echo_server" ] || { ko "$BUILD/echo_server is missing (make examples)"; finish; }
if start "$tmp/echo.log" "$BUILD/echo_server" PORT; then
    attack echo_server / huge-lengths ping-flood utf8-everywhere half-handshakes
fi
# the shared-port example's /ws echo (its HTTP side drops idle heads after 30 s: not waited for)
if [ -x "$BUILD/shared_port" ] && start "$tmp/shared.log" "$BUILD/shared_port" PORT examples/www; then
    attack "shared_port /ws" /ws huge-lengths ping-flood utf8-everywhere
fi
# over TLS: the same server with a certificate, a wss good client
if ! command -v openssl >/dev/null 2>&1; then
    skip_check "echo_server over TLS: no openssl (apt-get install openssl)"
elif ! "$BUILD/echo_server" --help 2>/dev/null | grep -q -- '--cert' ||
        ! "$BUILD/wscat" --help 2>/dev/null | grep -q '^  TLS: mbedTLS'; then
    skip_check "echo_server over TLS: the examples are built without TLS (apt-get install libmbedtls-dev)"
elif ! bash tests/tls/make_certs.sh "$tmp/pki" >"$tmp/pki.log" 2>&1; then
    ko "tests/tls/make_certs.sh could not make the test certificates"; show "$tmp/pki.log"
elif start "$tmp/echo-tls.log" "$BUILD/echo_server" --cert "$tmp/pki/server.pem" \
        --key "$tmp/pki/server.key" PORT; then
    export ATTACK_TLS_CA=$tmp/pki/ca.pem
    attack "echo_server over TLS" / tls-slowloris tls-half-handshakes huge-lengths
    unset ATTACK_TLS_CA
fi
# the same server with 64 descriptors: accept() fails with EMFILE
port=$(free_port)
(ulimit -n 64; exec timeout 120 "$BUILD/echo_server" "$port") >"$tmp/echo64.log" 2>&1 &
server=$!
pids+=("$server")
if wait_for listening "$tmp/echo64.log"; then
    child
    attack "echo_server (ulimit -n 64)" / fd-exhaustion
else
    ko "echo_server with ulimit -n 64 did not start"; show "$tmp/echo64.log"
fi
finish
