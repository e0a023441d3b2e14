#!/usr/bin/env bash
# build/wscat (examples/wscat.c), the command-line client, as a user would run it:
#   - against build/echo_server: lines in, the same lines out (UTF-8, empty, 100 KB, 2000 of
#     them, a last line without newline), binary shown as hex, clean close: exit 0; the same
#     with --deflate (compressed both ways);
#   - against a Python `websockets` server (tests/wscat/peers.py): echo, the subprotocol
#     offered and chosen, an extra header, binary from the server, the server closing with
#     1001 (exit 0), 4000 or dropping TCP (exit 3);
#   - refusals: 404 from build/shared_port, a closed port, a bad Sec-WebSocket-Accept (exit 1);
#     bad usage (exit 2, one line saying what was wrong: a bad URL, a bad port and http://
#     told apart, --ca and --insecure without wss://, a bad --proxy; wss:// in a build
#     without TLS), --help;
#   - --ping: a server that stops answering is detected within the configured time (exit 3),
#     one that answers gets pinged and keeps the connection; Ctrl-C closes cleanly.
# wss://, --ca, --insecure and --proxy at work: tests/run_wss.sh.
# Only 127.0.0.1, free ports, every process bounded by `timeout` or killed by PID on exit.
# One line per check; the last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
PY=/usr/bin/python3
WSCAT=$BUILD/wscat

for b in wscat echo_server shared_port; do
    [ -x "$BUILD/$b" ] || { ko "$BUILD/$b is missing (make examples)"; finish; }
done
"$PY" -c 'import websockets' 2>/dev/null || skip "no python3-websockets"

ms() { date +%s%3N; }
# run NAME EXPECTED_STATUS STDIN_FILE ARGS...: runs wscat (at most 20 s); out/err in $tmp/NAME.*
run() {
    local name=$1 want=$2 input=$3
    shift 3
    timeout 20 "$WSCAT" "$@" <"$input" >"$tmp/$name.out" 2>"$tmp/$name.err"
    status=$?
    [ "$status" -eq "$want" ]
}
# same OUT_FILE WANT_FILE: stdout is exactly what was expected
same() { cmp -s "$1" "$2"; }
says() { grep -qF -- "$2" "$tmp/$1.err"; }
fail_show() { ko "$1 (exit $status)"; show "$tmp/$2.err"; show "$tmp/$2.out"; }

# ---- against build/echo_server ----------------------------------------------------------------
port=$(free_port)
timeout 120 "$BUILD/echo_server" "$port" >"$tmp/echo_server.log" 2>&1 &
pids+=("$!")
wait_for listening "$tmp/echo_server.log" || { ko "echo_server did not start"; show "$tmp/echo_server.log"; finish; }
url=ws://127.0.0.1:$port/

{ printf 'hello\n你好，世界 🌍 ✓\n\n'; head -c 100000 /dev/zero | tr '\0' 'x'; printf '\nlast line, no newline'; } >"$tmp/lines.in"
{ cat "$tmp/lines.in"; echo; } >"$tmp/lines.want"
if run lines 0 "$tmp/lines.in" "$url" && same "$tmp/lines.out" "$tmp/lines.want" && says lines "closed: 1000"; then
    ok "echo_server: 5 lines (UTF-8, empty, 100 KB, no final newline) came back byte for byte; close 1000, exit 0"
else fail_show "echo_server: lines in, same lines out" lines; fi

seq -f 'line %g' 2000 >"$tmp/many.in"
if run many 0 "$tmp/many.in" "$url" && same "$tmp/many.out" "$tmp/many.in"; then
    ok "echo_server: 2000 lines came back in order, exit 0"
else fail_show "echo_server: 2000 lines" many; fi

printf 'hello\n' >"$tmp/hello.in"
if run bin 0 "$tmp/hello.in" --binary "$url" && [ "$(cat "$tmp/bin.out")" = "<binary 5 bytes> 68 65 6c 6c 6f" ]; then
    ok "echo_server: --binary line echoed, shown as '$(cat "$tmp/bin.out")'"
else fail_show "echo_server: --binary" bin; fi

printf 'ok1\n\xff\xfe\nok2\n' >"$tmp/utf8.in"
if run utf8 0 "$tmp/utf8.in" "$url" && [ "$(cat "$tmp/utf8.out")" = $'ok1\nok2' ] && says utf8 "not valid UTF-8"; then
    ok "echo_server: a line that is not UTF-8 is refused with a message, the others go through"
else fail_show "echo_server: invalid UTF-8 line" utf8; fi

if run localhost 0 "$tmp/hello.in" "ws://localhost:$port/" && [ "$(cat "$tmp/localhost.out")" = hello ]; then
    ok "echo_server: a host name (localhost) is resolved and connected"
else fail_show "echo_server: ws://localhost" localhost; fi

if run deflate 0 "$tmp/lines.in" --deflate "$url" && same "$tmp/deflate.out" "$tmp/lines.want" &&
        says deflate "connected (permessage-deflate, windows 2^15 from the server, 2^15 to it, server_no_context_takeover)"; then
    ok "echo_server: --deflate agreed (wscat says so), the 5 lines compressed both ways came back byte for byte"
else fail_show "echo_server: --deflate" deflate; fi

# Ctrl-C while connected (-k: stays after the end of input): close 1000, exit 0
"$WSCAT" -k "$url" </dev/null >"$tmp/int.out" 2>"$tmp/int.err" &
wscat_pid=$!
pids+=("$wscat_pid")
if wait_for connected "$tmp/int.err"; then
    kill -INT "$wscat_pid"
    for i in $(seq 100); do kill -0 "$wscat_pid" 2>/dev/null || break; sleep 0.05; done
    wait "$wscat_pid"
    status=$?
    if [ $status -eq 0 ] && says int "closed: 1000"; then ok "-k stays connected after the input ends; Ctrl-C closes with 1000, exit 0"
    else fail_show "Ctrl-C" int; fi
else
    fail_show "-k: did not connect" int
fi

# ---- against Python's websockets --------------------------------------------------------------
timeout 60 "$PY" tests/wscat/peers.py websockets >"$tmp/py.log" 2>&1 &
pids+=("$!")
wait_for listening "$tmp/py.log" || { ko "websockets server did not start"; show "$tmp/py.log"; finish; }
py=ws://127.0.0.1:$(sed -n 's/^listening //p' "$tmp/py.log")

if run py 0 "$tmp/lines.in" -w 300 "$py/" && same "$tmp/py.out" "$tmp/lines.want" && says py "closed: 1000"; then
    ok "websockets: the 5 lines came back byte for byte (-w 300), close 1000, exit 0"
else fail_show "websockets: lines" py; fi

if run proto 0 "$tmp/hello.in" -w 300 -p "nope, chat" "$py/proto" && says proto "connected (subprotocol chat)" &&
        [ "$(cat "$tmp/proto.out")" = $'subprotocol: chat\nhello' ]; then
    ok "websockets: -p 'nope, chat': the server chose chat, wscat says so"
else fail_show "websockets: subprotocol" proto; fi

if run noproto 0 "$tmp/hello.in" -w 300 -p nope "$py/proto" && ! says noproto subprotocol &&
        [ "$(head -n 1 "$tmp/noproto.out")" = "subprotocol: None" ]; then
    ok "websockets: -p nope: connected without a subprotocol"
else fail_show "websockets: no common subprotocol" noproto; fi

if run header 0 "$tmp/hello.in" -w 300 -H "X-Wscat: hi there" "$py/header" &&
        [ "$(head -n 1 "$tmp/header.out")" = "X-Wscat: hi there" ]; then
    ok "websockets: -H 'X-Wscat: hi there' reached the server"
else fail_show "websockets: -H" header; fi

printf '<binary 40 bytes>' >"$tmp/binary.want"
for i in $(seq 0 31); do printf ' %02x' "$i"; done >>"$tmp/binary.want"
printf ' ...\n<binary 3 bytes> ff 00 7f\nhello\n' >>"$tmp/binary.want"
if run binary 0 "$tmp/hello.in" -w 300 "$py/binary" && same "$tmp/binary.out" "$tmp/binary.want"; then
    ok "websockets: binary from the server shown as hex (the first 32 bytes of 40, then ...)"
else fail_show "websockets: binary from the server" binary; diff "$tmp/binary.out" "$tmp/binary.want" | head -5; fi

if run goaway 0 "$tmp/hello.in" -k "$py/goaway" && says goaway "closed: 1001 going away"; then
    ok "websockets: the server closes with 1001: a clean close, exit 0"
else fail_show "websockets: server close 1001" goaway; fi

if run c4000 3 "$tmp/hello.in" -k "$py/close4000" && says c4000 "closed: 4000 custom reason"; then
    ok "websockets: the server closes with 4000: code and reason shown, exit 3"
else fail_show "websockets: server close 4000" c4000; fi

if run drop 3 "$tmp/hello.in" -k "$py/drop" && says drop "(1006)"; then
    ok "websockets: the server drops TCP without a close: 'dropped ... (1006)', exit 3"
else fail_show "websockets: dropped connection" drop; fi

# ---- refusals and usage -----------------------------------------------------------------------
sport=$(free_port)
timeout 60 "$BUILD/shared_port" "$sport" examples/www >"$tmp/shared.log" 2>&1 &
pids+=("$!")
if wait_for listening "$tmp/shared.log" && run nope 1 "$tmp/hello.in" "ws://127.0.0.1:$sport/nope" &&
        says nope "HTTP 404 Not Found" && [ ! -s "$tmp/nope.out" ]; then
    ok "shared_port /nope: 'refused the upgrade: HTTP 404 Not Found', exit 1"
else fail_show "refused upgrade" nope; fi

closed=$(free_port)
if run closed 1 "$tmp/hello.in" "ws://127.0.0.1:$closed/" && says closed "Connection refused"; then
    ok "a closed port: '$(cat "$tmp/closed.err")', exit 1"
else fail_show "closed port" closed; fi

if run v6 1 "$tmp/hello.in" "ws://[::1]:$closed/x" && says v6 "to ::1 port $closed"; then
    ok "an IPv6 literal [::1] is parsed: '$(cat "$tmp/v6.err")', exit 1"
else fail_show "IPv6 literal" v6; fi

bport=$(free_port)
timeout 30 "$PY" tests/loopback/bad_server.py "$bport" bad-accept >"$tmp/bad.log" 2>&1 &
pids+=("$!")
if wait_for listening "$tmp/bad.log" && run badaccept 1 "$tmp/hello.in" "ws://127.0.0.1:$bport/" &&
        says badaccept "Sec-WebSocket-Accept does not match"; then
    ok "a wrong Sec-WebSocket-Accept: handshake refused by wscat, exit 1"
else fail_show "bad accept" badaccept; fi

# usage CHECK ARGS...: exit 2 and one line on stderr that says what was wrong (CHECK, a fixed string)
usage_check() {
    local want=$1
    shift
    timeout 5 "$WSCAT" "$@" </dev/null >"$tmp/usage.out" 2>"$tmp/usage.err"
    status=$?
    [ $status -eq 2 ] && [ "$(wc -l <"$tmp/usage.err")" -eq 1 ] && grep -qF -- "$want" "$tmp/usage.err" ||
        bad_usage="$bad_usage; '$*': exit $status, $(head -c 200 "$tmp/usage.err")"
}
bad_usage=""
usage_check "no URL"
usage_check "is an HTTP URL: a WebSocket URL starts with ws:// (ws://127.0.0.1/)" http://127.0.0.1/
if "$WSCAT" --help | grep -q '^  TLS: mbedTLS'; then      # a build with TLS
    usage_check "--ca is for wss:// URLs, not 'ws://127.0.0.1/'" --ca x ws://127.0.0.1/
    usage_check "--insecure is for wss:// URLs" --insecure ws://127.0.0.1/
    usage_check "--ca or --insecure, not both" --ca x --insecure wss://127.0.0.1/
    usage_check "a value is missing after '--ca'" wss://127.0.0.1/ --ca
    wss_case="--ca or --insecure without wss://, both"
else
    usage_check "wss:// needs TLS: this program was built without TLS" wss://127.0.0.1/
    usage_check "--ca: this program was built without TLS" --ca x wss://127.0.0.1/
    wss_case="wss:// and --ca in a build without TLS"
fi
usage_check "bad proxy '127.0.0.1:3128': want http://[USER:PASS@]HOST:PORT" --proxy 127.0.0.1:3128 "$url"
usage_check "bad proxy 'http://127.0.0.1'" --proxy http://127.0.0.1 "$url"
usage_check "bad proxy 'http://h:1/x'" --proxy http://h:1/x "$url"
usage_check "is an HTTP URL: a WebSocket URL starts with wss:// (wss://h/)" https://h/
usage_check "bad port '99999' in ws://h:99999/" ws://h:99999/
usage_check "bad port '8o8o'" ws://127.0.0.1:8o8o/
usage_check "bad URL 'localhost:8080'" localhost:8080
usage_check "bad URL 'ws:///x'" ws:///x
usage_check "a value is missing after '--ping'" --ping
usage_check "--ping wants milliseconds (0-86399999), not 'x'" --ping x "$url"
usage_check "unknown option '--bogus'" --bogus "$url"
usage_check "-H wants one 'Name: value' header, not 'novalue'" -H novalue "$url"
usage_check "one URL only" "$url" "$url"
if [ -z "$bad_usage" ]; then
    ok "bad usage: exit 2 and one line that tells no URL, an http:// or https:// URL, $wss_case, a bad port, a bad URL, a bad --proxy, a missing or bad value, an unknown option, a bad -H and two URLs apart"
else
    ko "bad usage not explained$bad_usage"
fi
timeout 5 "$WSCAT" --help >"$tmp/help.out" 2>&1
status=$?
missing=""
for o in --protocol --header --origin --binary --wait --keep-open --ping --timeout --ca --insecure --proxy --deflate --help "Exit status" "4 the proxy refused" "5 the server's certificate"; do
    grep -q -- "$o" "$tmp/help.out" || missing="$missing $o"
done
if [ $status -eq 0 ] && [ -z "$missing" ]; then ok "--help: exit 0, every option and the exit statuses explained ($(wc -l <"$tmp/help.out") lines)"
else ko "--help (exit $status; missing:$missing)"; show "$tmp/help.out"; fi

# ---- heartbeat ------------------------------------------------------------------------------
timeout 30 "$PY" tests/wscat/peers.py silent >"$tmp/silent.log" 2>&1 &
silent=$!
pids+=("$silent")
if wait_for listening "$tmp/silent.log"; then
    t0=$(ms)
    run dead 3 /dev/null -k --ping 300 "ws://127.0.0.1:$(sed -n 's/^listening //p' "$tmp/silent.log")/"
    took=$(( $(ms) - t0 ))
    if [ "$status" -eq 3 ] && says dead "stopped answering" && [ "$took" -ge 500 ] && [ "$took" -lt 3000 ]; then
        ok "--ping 300: a server that stops answering is dropped after $took ms (timeout 2 x 300), exit 3"
    else fail_show "--ping: dead server detected after $took ms" dead; fi
else
    ko "silent server did not start"; show "$tmp/silent.log"
fi

timeout 30 "$PY" tests/wscat/peers.py pong >"$tmp/pong.log" 2>&1 &
pong=$!
pids+=("$pong")
if wait_for listening "$tmp/pong.log"; then
    purl="ws://127.0.0.1:$(sed -n 's/^listening //p' "$tmp/pong.log")/"
    (sleep 1.5) | timeout 20 "$WSCAT" --ping 200 "$purl" >"$tmp/alive.out" 2>"$tmp/alive.err"
    status=$?
    wait "$pong"
    n=$(sed -n 's/^pings //p' "$tmp/pong.log")
    if [ $status -eq 0 ] && [ "${n:-0}" -ge 2 ]; then
        ok "--ping 200 against a server that answers: $n pings in 1.5 s of silence, still connected, clean close"
    else fail_show "--ping keepalive ($n pings)" alive; show "$tmp/pong.log"; fi
else
    ko "pong server did not start"; show "$tmp/pong.log"
fi

finish
