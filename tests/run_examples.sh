#!/usr/bin/env bash
# What every example program does alike (each has its own suite besides):
#   - it builds with clang -Werror too (make examples uses gcc);
#   - --help exits 0 and explains each option; a bad argument exits 2 with one line that says
#     what was wrong (wscat tells a bad URL, a bad port and http:// apart; shared_port
#     refuses a STATIC_DIR that is not a folder);
#   - TCP_NODELAY on every connected socket, servers and clients alike: looked up in the
#     running process (tests/loopback/nodelay.py, with pidfd_getfd);
#   - the sources: every file marks its "ws.h glue", the examples share examples/outq.h and
#     examples/net.h (examples/minimal_server.c stands alone), nobody keeps a queue of its own.
# Only 127.0.0.1, free ports, every process bounded by `timeout` and killed by PID on exit.
# One line per check; the last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
PY=/usr/bin/python3
PROGRAMS="minimal_server echo_server echo_client chat_server shared_port wscat"
for b in $PROGRAMS; do
    [ -x "$BUILD/$b" ] || { ko "$BUILD/$b is missing (make examples)"; finish; }
done

# ---- every example builds with clang too (make examples uses gcc) -------------------------------
CLANG=${CLANG:-clang}
if command -v "$CLANG" >/dev/null; then
    broken=""
    for f in examples/*.c; do
        # shellcheck disable=SC2086
        "$CLANG" -std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -O1 -I. \
            -fsyntax-only "$f" 2>>"$tmp/clang.err" || broken="$broken $f"
    done
    [ -z "$broken" ] && ok "every examples/*.c builds with clang -Werror as well" ||
        { ko "clang -Werror fails on:$broken"; show "$tmp/clang.err"; }
else
    skip_check "build with clang: no $CLANG (apt-get install clang)"
fi

# ---- --help ------------------------------------------------------------------------------------
help_check() {     # PROGRAM WORD...: --help exits 0, on stdout, and names every WORD
    local prog=$1 missing="" w status
    shift
    timeout 5 "$BUILD/$prog" --help >"$tmp/help.out" 2>"$tmp/help.err"
    status=$?
    for w in "$@"; do grep -qF -- "$w" "$tmp/help.out" || missing="$missing $w"; done
    if [ $status -eq 0 ] && [ -z "$missing" ] && [ ! -s "$tmp/help.err" ]; then
        ok "$prog --help: exit 0, $(wc -l <"$tmp/help.out") lines on stdout, explains $*"
    else
        ko "$prog --help (exit $status; missing:${missing:- nothing})"; show "$tmp/help.out"; show "$tmp/help.err"
    fi
}
help_check minimal_server "usage:" PORT 0-65535 8080
help_check echo_server "usage:" PORT PAGE ECHO_PING_MS 0-65535
help_check echo_client "usage:" --check AGENT --help wss:// --ca --insecure
help_check chat_server "usage:" PORT --ping-interval --ping-timeout --queue-limit --max-message --page --help
help_check shared_port "usage:" PORT STATIC_DIR /ws /chat
help_check wscat "usage:" --protocol --header --origin --binary --wait --keep-open --ping --timeout --help "Exit status"

# ---- bad arguments: exit 2 and one line saying what was wrong -------------------------------------
bad=0
bad_check() {      # PROGRAM WANT ARGS...: exit 2, stdout empty, one line on stderr holding WANT
    local prog=$1 want=$2 status
    shift 2
    timeout 5 "$BUILD/$prog" "$@" </dev/null >"$tmp/bad.out" 2>"$tmp/bad.err"
    status=$?
    if [ $status -eq 2 ] && [ ! -s "$tmp/bad.out" ] && [ "$(wc -l <"$tmp/bad.err")" -eq 1 ] &&
            grep -qF -- "$want" "$tmp/bad.err"; then
        echo "    $prog $*: $(cat "$tmp/bad.err")"
    else
        ko "$prog $*: exit $status, expected 2 and one line with '$want'"; show "$tmp/bad.err"
        bad=$((bad + 1))
    fi
}
bad_check minimal_server "bad port 'x'" x
bad_check minimal_server "unexpected argument '2'" 1 2
bad_check echo_server "no PORT"
bad_check echo_server "bad port '70000'" 70000
bad_check echo_server "unknown option '-x'" -x 8080
bad_check echo_server "unexpected argument 'c'" 1 b c
bad_check echo_client "no URL"
bad_check echo_client "unknown option '--chek'" --chek ws://127.0.0.1:1/
bad_check echo_client "bad URL 'http://127.0.0.1/'" http://127.0.0.1/
bad_check echo_client "bad port '0'" --check ws://127.0.0.1:0/
bad_check echo_client "--ca is for wss:// only" --ca x.pem ws://127.0.0.1:1/
bad_check echo_client "no FILE after '--ca'" --check --ca
bad_check chat_server "--ping-interval 'soon'" --ping-interval soon
bad_check chat_server "a value is missing after '--page'" --page
bad_check chat_server "unknown option '--rooms'" --rooms 3
bad_check chat_server "port '99999'" 99999
bad_check chat_server "--queue-limit '10': want a number 1024" --queue-limit 10
bad_check shared_port "no PORT and STATIC_DIR"
bad_check shared_port "no STATIC_DIR" 8081
bad_check shared_port "STATIC_DIR 'examples/no-such-folder': No such file or directory" 8081 examples/no-such-folder
bad_check shared_port "STATIC_DIR 'README.md': not a folder" 8081 README.md
bad_check shared_port "bad port 'www'" www examples/www
bad_check wscat "bad URL 'localhost:8080'" localhost:8080
bad_check wscat "bad port '99999'" ws://127.0.0.1:99999/
bad_check wscat "is an HTTP URL" http://127.0.0.1:8080/
bad_check wscat "--ca is for wss:// URLs" --ca x ws://127.0.0.1/
bad_check wscat "--wait wants milliseconds" --wait forever ws://127.0.0.1/
[ $bad -eq 0 ] && ok "25 bad command lines: each exits 2 with one line that says what was wrong"

# ---- TCP_NODELAY on every socket ----------------------------------------------------------------
start() {          # LOG PROGRAM ARGS...: starts it under `timeout 60`; sets $spid to its own PID
    local log=$1 job
    shift
    timeout 60 "$@" >"$log" 2>&1 &
    job=$!
    pids+=("$job")
    wait_for listening "$log" || { ko "$* did not start"; show "$log"; return 1; }
    spid=$(cat "/proc/$job/task/$job/children" 2>/dev/null || pgrep -P "$job")
    spid=${spid%% *}
}
nodelay() {        # NAME PID: waits (5 s at most) for a connected socket, then checks them all
    local i status
    for i in $(seq 100); do
        "$PY" tests/loopback/nodelay.py "$1" "$2" >"$tmp/nodelay.log" 2>&1
        status=$?
        [ $status -ne 3 ] && break
        sleep 0.05
    done
    lines "$tmp/nodelay.log" ""
    [ $status -eq 0 ] || [ $status -eq 1 ] || { ko "$1: nodelay.py exit $status"; show "$tmp/nodelay.log"; }
}
listener() {       # LOG URL: a wscat that stays connected, in the background; sets $wpid
    "$BUILD/wscat" -k "$2" </dev/null >"$1" 2>&1 &
    wpid=$!
    pids+=("$wpid")
    wait_for connected "$1" || { ko "wscat did not connect to $2"; show "$1"; }
}
if start "$tmp/echo.log" "$BUILD/echo_server" 0; then
    eport=$(sed -n 's/.*http:\/\/127.0.0.1:\([0-9]*\)\/.*/\1/p' "$tmp/echo.log")
    listener "$tmp/w1.log" "ws://127.0.0.1:$eport/"
    nodelay "echo_server (its side of a connection)" "$spid"
    nodelay "wscat (the client's side)" "$wpid"
fi
# echo_client against a server that answers the handshake and then nothing: it stays
timeout 30 "$PY" tests/wscat/peers.py silent >"$tmp/silent.log" 2>&1 &
pids+=("$!")
if wait_for listening "$tmp/silent.log"; then
    "$BUILD/echo_client" --check "ws://127.0.0.1:$(sed -n 's/^listening //p' "$tmp/silent.log")/" \
        >"$tmp/client.log" 2>&1 &
    cpid=$!
    pids+=("$cpid")
    nodelay "echo_client --check" "$cpid"
else
    ko "silent server did not start"; show "$tmp/silent.log"
fi
for s in "minimal_server 0" "chat_server 0" "shared_port 0 examples/www"; do
    name=${s%% *}
    # shellcheck disable=SC2086
    if start "$tmp/$name.log" "$BUILD/"$s; then
        sport=$(sed -n 's/.*127.0.0.1:\([0-9]*\)\/.*/\1/p' "$tmp/$name.log" | head -n 1)
        path=/; [ "$name" = chat_server ] && path=/chat; [ "$name" = shared_port ] && path=/ws
        listener "$tmp/w-$name.log" "ws://127.0.0.1:$sport$path"
        nodelay "$name" "$spid"
    fi
done

# ---- the sources ----------------------------------------------------------------------------------
unmarked=$(grep -L "ws.h glue" examples/*.c | tr '\n' ' ')
[ -z "$unmarked" ] && ok "every examples/*.c marks its ws.h glue" || ko "no 'ws.h glue' marked in: $unmarked"
noq=$(grep -L '#include "outq.h"' examples/*.c | grep -v minimal_server | tr '\n' ' ')
non=$(grep -L '#include "net.h"' examples/*.c | grep -v minimal_server | tr '\n' ' ')
if [ -z "$noq$non" ]; then ok "every example but minimal_server.c uses examples/outq.h and examples/net.h"
else ko "not using outq.h: ${noq:-none}; not using net.h: ${non:-none}"; fi
own=$(grep -lE 'realloc\([^,]*out|writev\(|setsockopt\([^;]*TCP_NODELAY|= *accept\(' examples/*.c |
     grep -v minimal_server | tr '\n' ' ')
[ -z "$own" ] && ok "no example keeps its own output queue, accept or TCP_NODELAY code" ||
    ko "own queue, accept or TCP_NODELAY code in: $own"
finish
