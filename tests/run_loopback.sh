#!/usr/bin/env bash
# Loopback tests of the echo examples: build/echo_server against build/echo_client --check
# (alone and several at once), against misbehaving peers while good clients keep passing,
# a message in 65536 small fragments echoed in few frames (gather), GET and HEAD of the page,
# and build/echo_client's runner mode against a small runner (tests/loopback/runner.py).
# Only 127.0.0.1, free ports, every process bounded by `timeout` and killed by PID on exit.
# One line per check; the last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
PEERS=tests/loopback/server_peers.py
# check NAME LOG CMD...: runs CMD, output to LOG; PASS or FAIL (with the output) by its status
check() {
    local name=$1 log=$2 status
    shift 2
    "$@" >"$log" 2>&1
    status=$?
    if [ $status -eq 0 ]; then ok "$name"; else ko "$name (exit $status)"; show "$log"; fi
}
# result NAME PID LOG: the same for a command started in the background
result() {
    local status
    wait "$2"
    status=$?
    if [ $status -eq 0 ]; then ok "$1"; else ko "$1 (exit $status)"; show "$3"; fi
}
# peer CHECK [ARGS]: one check of tests/loopback/server_peers.py; its own line says what
peer() {
    local log=$tmp/peer-$1.log status
    timeout 30 python3 $PEERS "$port" "$@" >"$log" 2>&1
    status=$?
    if [ $status -eq 0 ]; then ok "peer $(sed -n 's/^ok *//p' "$log")"
    else ko "peer $1 (exit $status)"; show "$log"; fi
}

for b in echo_server echo_client; do
    [ -x "$BUILD/$b" ] || { ko "$BUILD/$b is missing (make examples)"; finish; }
done

# ---- the server -----------------------------------------------------------------------------
port=$(free_port)
url=ws://127.0.0.1:$port/
timeout 120 "$BUILD/echo_server" "$port" >"$tmp/server.log" 2>&1 &
pids+=("$!")
if wait_for listening "$tmp/server.log"; then ok "echo_server listens on 127.0.0.1:$port"
else ko "echo_server did not start"; show "$tmp/server.log"; finish; fi
server_job=${pids[-1]}
# echo_server itself, not `timeout`: its only child
server=$(cat "/proc/$server_job/task/$server_job/children" 2>/dev/null || pgrep -P "$server_job")
server=${server%% *}
[ -n "$server" ] || { ko "cannot find echo_server's PID"; finish; }
rss() { awk '/VmRSS/ { print $2 }' "/proc/$server/status"; }
hexport=$(printf '%04X' "$port")
if awk -v p=":$hexport" '$2 ~ p"$" && $4 == "0A" { print $2 }' /proc/net/tcp /proc/net/tcp6 \
        | grep -qvx "0100007F:$hexport"; then
    ko "echo_server listens on another address than 127.0.0.1"
else
    ok "echo_server listens on 127.0.0.1 only"
fi

# half a handshake, then silence: dropped by the 10 s handshake timeout (runs meanwhile)
timeout 30 python3 $PEERS "$port" half-handshake >"$tmp/half.log" 2>&1 &
half=$!
pids+=("$half")

# a client that sends and never reads: the server stops reading it, memory stays bounded
# (first, while the server has not yet grown its heap for the 16 MiB echoes)
rss0=$(rss)
timeout 60 python3 $PEERS "$port" slow-reader 4 >"$tmp/slow.log" 2>&1 &
slow=$!
pids+=("$slow")
if wait_for blocked "$tmp/slow.log"; then
    grew=$(( $(rss) - rss0 ))
    sent=$(sed -n 's/^blocked after //p' "$tmp/slow.log")
    if [ "$grew" -lt 16384 ]; then ok "server RSS grew by $grew KiB while a client sent $sent and read nothing"
    else ko "server RSS grew by $grew KiB while a client sent $sent and read nothing (limit 16 MiB)"; fi
    check "echo_client --check passes while a client never reads" "$tmp/slow-check.log" \
        timeout 60 "$BUILD/echo_client" --check "$url"
else
    ko "the never-reading client was not blocked"
fi
wait "$slow"
status=$?
if [ $status -eq 0 ]; then ok "peer $(sed -n 's/^ok *//p' "$tmp/slow.log")"
else ko "peer slow-reader (exit $status)"; show "$tmp/slow.log"; fi

# ---- good clients -------------------------------------------------------------------------
check "echo_client --check: 0 B to 16 MiB text and binary, fragments, ping, close" \
    "$tmp/check.log" timeout 60 "$BUILD/echo_client" --check "$url"
grep -q '16777216 B echoed' "$tmp/check.log" || { ko "the check log lacks the 16 MiB echo"; show "$tmp/check.log"; }

for i in 1 2 3 4; do
    timeout 90 "$BUILD/echo_client" --check "$url" >"$tmp/conc$i.log" 2>&1 &
    conc[$i]=$!
    pids+=("${conc[$i]}")
done
for i in 1 2 3 4; do result "concurrent echo_client --check #$i of 4" "${conc[$i]}" "$tmp/conc$i.log"; done

# ---- plain HTTP, handshake errors, protocol errors ----------------------------------------
peer http examples/echo.html
for c in garbage bad-version pipelined trickle ping unmasked bad-utf8 too-big gather; do peer "$c"; done

# misbehaving peers while a good client runs
timeout 60 "$BUILD/echo_client" --check "$url" >"$tmp/during.log" 2>&1 &
good=$!
pids+=("$good")
bad=()
for c in garbage unmasked too-big bad-utf8; do
    timeout 20 python3 $PEERS "$port" "$c" >"$tmp/bad-$c.log" 2>&1 &
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

# ---- echo_client's runner mode ------------------------------------------------------------
rport=$(free_port)
timeout 70 python3 tests/loopback/runner.py "$rport" "ws.h loopback" >"$tmp/runner.log" 2>&1 &
runner=$!
pids+=("$runner")
if wait_for listening "$tmp/runner.log"; then
    check "echo_client runner mode ends every case and updates reports" "$tmp/client.log" \
        timeout 60 "$BUILD/echo_client" "ws://127.0.0.1:$rport" "ws.h loopback"
    wait "$runner"
    while read -r line; do
        case $line in
            ok*) ok "runner: ${line#ok   }" ;;
            FAIL*) ko "runner: ${line#FAIL }" ;;
        esac
    done <"$tmp/runner.log"
    grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/runner.log" || { ko "runner: no clean summary"; show "$tmp/runner.log"; }
else
    ko "runner did not start"; show "$tmp/runner.log"
fi

# ---- echo_client refuses a bad handshake response -----------------------------------------
for mode in status-200 bad-accept; do
    bport=$(free_port)
    timeout 30 python3 tests/loopback/bad_server.py "$bport" "$mode" >"$tmp/bad-$mode.log" 2>&1 &
    bs=$!
    pids+=("$bs")
    if wait_for listening "$tmp/bad-$mode.log"; then
        timeout 20 "$BUILD/echo_client" --check "ws://127.0.0.1:$bport/" >"$tmp/bc-$mode.log" 2>&1
        status=$?
        wait "$bs"
        bstatus=$?
        if [ $status -eq 1 ] && [ $bstatus -eq 0 ]; then
            ok "echo_client, $(sed -n 's/^ok *//p' "$tmp/bad-$mode.log"), exit 1"
        else
            ko "echo_client against a server answering $mode (client exit $status)"
            show "$tmp/bad-$mode.log"; show "$tmp/bc-$mode.log"
        fi
    else
        ko "bad_server $mode did not start"; show "$tmp/bad-$mode.log"
    fi
done

# ---- the server survived all that, and stops cleanly ---------------------------------------
if kill -0 "$server" 2>/dev/null; then ok "echo_server still running"; else ko "echo_server died"; show "$tmp/server.log"; fi
check "echo_client --check still passes at the end" "$tmp/end.log" \
    timeout 60 "$BUILD/echo_client" --check "$url"
timeout 30 python3 $PEERS "$port" going-away >"$tmp/away.log" 2>&1 &
away=$!
pids+=("$away")
wait_for connected "$tmp/away.log"
kill -TERM "$server"
for i in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$server" 2>/dev/null; then
    ko "echo_server still running 5 s after SIGTERM"
else
    wait "$server_job"                              # timeout passes on its status
    status=$?
    if [ $status -eq 0 ]; then ok "SIGTERM: echo_server exits with status 0"
    else ko "SIGTERM: echo_server exit status $status"; show "$tmp/server.log"; fi
fi
result "SIGTERM: connected client gets close 1001" "$away" "$tmp/away.log"

finish
