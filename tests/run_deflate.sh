#!/usr/bin/env bash
# ws.h's DEFLATE decoder (WS_DEFLATE) against zlib, a test-only reference:
# tests/deflate/inflate_check.c built with gcc under ASan+UBSan, fed the seeds' Chinese
# posts from ../shared/seeds when they are beside the checkout. Also the WS_DEFLATE build
# under the strictest warnings (gcc, clang) and as C++11. The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
[ -f /usr/include/zlib.h ] || skip "no zlib headers, the reference (apt-get install zlib1g-dev)"
mkdir -p "$BUILD"
printf '#define WS_DEFLATE\n#define WS_IMPLEMENTATION\n#include "ws.h"\n' >"$tmp/impl.c"
strict="-std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wundef -Wconversion -Wsign-conversion"
for cc in gcc clang; do
    if ! command -v $cc >/dev/null; then
        skip_check "WS_DEFLATE under $cc's strict warnings: no $cc (apt-get install $cc)"; continue
    fi
    if $cc $strict -I. -c "$tmp/impl.c" -o "$tmp/impl_$cc.o" 2>"$tmp/strict.log"; then
        ok "WS_DEFLATE builds under $cc's strictest warnings"
    else ko "WS_DEFLATE under $cc's strict warnings"; show "$tmp/strict.log"; fi
done
if ! command -v "${CXX:-g++}" >/dev/null; then
    skip_check "WS_DEFLATE as C++11: no ${CXX:-g++} (apt-get install g++)"
elif "${CXX:-g++}" -x c++ -std=c++11 -Wall -Wextra -Werror -I. -c "$tmp/impl.c" -o "$tmp/impl_cpp.o" 2>"$tmp/cpp.log"; then
    ok "WS_DEFLATE compiles as C++11"
else ko "WS_DEFLATE as C++11"; show "$tmp/cpp.log"; fi
if ! gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -O1 -g -fsanitize=address,undefined \
        -fno-sanitize-recover=all tests/deflate/inflate_check.c -lz -o "$BUILD/inflate_check" \
        2>"$tmp/cc.log"; then
    ko "build inflate_check"; show "$tmp/cc.log"; finish
fi
seeds=../shared/seeds
[ -d "$seeds" ] || seeds=
timeout 300 "$BUILD/inflate_check" $seeds >"$tmp/run.log" 2>&1
status=$?

while read -r line; do
    case $line in PASS\ *) ok "${line#PASS }" ;; FAIL\ *) ko "${line#FAIL }" ;; \ *) echo "$line" ;; esac
done <"$tmp/run.log"
if [ $status -ne 0 ] && ! grep -q '^FAIL' "$tmp/run.log"; then ko "inflate_check exited $status"; show "$tmp/run.log"; fi

# a real peer: Python websockets' compression (zlib) against build/echo_server
if [ ! -x "$BUILD/echo_server" ]; then
    ko "$BUILD/echo_server is missing (make examples)"
elif ! /usr/bin/python3 -c 'import websockets' 2>/dev/null; then
    skip_check "Python websockets against echo_server (apt-get install python3-websockets)"
else
    # each echo alone (server_no_context_takeover), then --takeover (its own window)
    for mode in "" takeover; do
        port=$(free_port)
        "$BUILD/echo_server" ${mode:+--takeover} "$port" >"$tmp/echo$mode.log" 2>&1 &
        pids+=($!)
        if wait_for "listening" "$tmp/echo$mode.log"; then
            timeout 120 /usr/bin/python3 tests/deflate/pmd_peer.py "$port" $mode >"$tmp/peer$mode.log" 2>&1
            lines "$tmp/peer$mode.log" "websockets, compressed${mode:+ (echo_server --takeover)}: "
            grep -q '^ok ' "$tmp/peer$mode.log" || { ko "pmd_peer.py $mode printed no result"; show "$tmp/peer$mode.log"; }
        else
            ko "echo_server ${mode:+--takeover }did not start"; show "$tmp/echo$mode.log"
        fi
    done
fi
finish
