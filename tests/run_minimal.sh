#!/usr/bin/env bash
# examples/minimal_server.c, the program to copy first, and the same code in ws.h's manual:
#   - it builds with gcc and clang under the project's warnings, and holds no /* or */, so
#     that ws.h's top comment can show it verbatim;
#   - ws.h's EXAMPLE section is this file, line for line (tests/minimal/example_match.py
#     says where they differ);
#   - it serves: Python `websockets` gets its text, binary, empty, 64 KiB and fragmented
#     messages back, a ping answered and a clean close; over 64 KiB is 1009; bad requests get
#     400, 426 or 431; 20 clients at once; a frame sent with the request (tests/minimal/check.py);
#   - --help, a bad port, and a listener on 127.0.0.1 only.
# Only 127.0.0.1, free ports, every process bounded by `timeout` and killed by PID on exit.
# One line per check; the last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
PY=/usr/bin/python3
SRC=examples/minimal_server.c
WARN="-std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes"

# ---- it builds, and fits in a comment -------------------------------------------------------
for cc in gcc "${CLANG:-clang}"; do
    if ! command -v "$cc" >/dev/null; then skip_check "build with $cc: no $cc (apt-get install ${cc%%-*})"; continue; fi
    # shellcheck disable=SC2086
    if $cc $WARN -O2 -I. "$SRC" -o "$tmp/minimal_$cc" 2>"$tmp/$cc.err"; then
        ok "$SRC builds with $cc $WARN"
    else
        ko "$SRC does not build with $cc"; show "$tmp/$cc.err"
    fi
done
if grep -nE '/\*|\*/' "$SRC" >"$tmp/comments"; then
    ko "$SRC holds /* or */ (it could not sit inside ws.h's top comment): $(head -n 3 "$tmp/comments" | tr '\n' ' ')"
else
    ok "$SRC has // comments only: ws.h's top comment can hold it verbatim"
fi
lines=$(wc -l <"$SRC")
[ "$lines" -le 200 ] && ok "$SRC is $lines lines" || ko "$SRC is $lines lines (the first copy should stay short)"

# ---- ws.h's EXAMPLE is this file --------------------------------------------------------------
"$PY" tests/minimal/example_match.py ws.h "$SRC" >"$tmp/match.log" 2>&1
lines "$tmp/match.log" ""
grep -qE '^(ok|FAIL) ' "$tmp/match.log" || { ko "example_match.py said nothing"; show "$tmp/match.log"; }

# ---- usage ----------------------------------------------------------------------------------------
bin=$tmp/minimal_gcc
[ -x "$bin" ] || bin=$BUILD/minimal_server
[ -x "$bin" ] || { ko "no minimal_server binary to run"; finish; }
if "$bin" --help >"$tmp/help.out" 2>&1 && grep -q "usage: .*\[PORT\]" "$tmp/help.out"; then
    ok "--help: '$(head -n 1 "$tmp/help.out")'"
else ko "--help"; show "$tmp/help.out"; fi
"$bin" 99999 >"$tmp/bad.out" 2>&1
status=$?
if [ $status -eq 2 ] && [ "$(wc -l <"$tmp/bad.out")" -eq 1 ] && grep -q "bad port '99999'" "$tmp/bad.out"; then
    ok "a bad port: exit 2 and one line: '$(cat "$tmp/bad.out")'"
else ko "a bad port (exit $status)"; show "$tmp/bad.out"; fi

# ---- it serves --------------------------------------------------------------------------------------
"$PY" -c 'import websockets' 2>/dev/null ||
    skip "serving Python websockets: no python3-websockets (apt-get install python3-websockets)"
port=$(free_port)
timeout 120 "$bin" "$port" >"$tmp/server.log" 2>&1 &
server_job=$!
pids+=("$server_job")
if wait_for listening "$tmp/server.log"; then ok "it listens: $(head -n 1 "$tmp/server.log")"
else ko "minimal_server did not start"; show "$tmp/server.log"; finish; fi
hexport=$(printf '%04X' "$port")
if awk -v p=":$hexport" '$2 ~ p"$" && $4 == "0A" { print $2 }' /proc/net/tcp /proc/net/tcp6 \
        | grep -qvx "0100007F:$hexport"; then
    ko "minimal_server listens on another address than 127.0.0.1"
else
    ok "minimal_server listens on 127.0.0.1 only"
fi
timeout 60 "$PY" tests/minimal/check.py "$port" >"$tmp/check.log" 2>&1
status=$?
lines "$tmp/check.log" ""
[ $status -eq 0 ] || { ko "check.py exit $status"; show "$tmp/check.log"; }
server=$(cat "/proc/$server_job/task/$server_job/children" 2>/dev/null || pgrep -P "$server_job")
if kill -0 "${server%% *}" 2>/dev/null; then ok "minimal_server still running after all that"
else ko "minimal_server died"; show "$tmp/server.log"; fi
finish
