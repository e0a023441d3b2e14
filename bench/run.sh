#!/usr/bin/env bash
# bench/run.sh - ws.h's benchmarks, with the peers in the same run: `make bench` runs it.
#
# 1. build/bench_mem: receive, send and UTF-8 paths in memory, beside memcpy and wslay.
# 2. Echo servers, one after another, each pinned to CPU 0 with build/loadgen on CPU 1:
#    build/echo_server (ws.h), wslay and libwebsockets echo servers (bench/peers/), Node's
#    `ws` (tests/interop/node_server.mjs), and a plain TCP echo (bench/peers/tcp_echo.c, with
#    loadgen --tcp): the machine's limit for the same traffic. For each: small messages (100 connections x
#    16 in flight x 16 bytes, binary and mixed CJK text), bulk (10 connections x 4 in flight
#    x 64 KiB, binary and text), latency (1 connection, 1 in flight, server and loadgen on
#    the same core), system calls per small message (perf stat on the server during the
#    binary small run, strace -c if perf cannot), and memory: the server's RSS growth over
#    10,000 idle connections, divided.
# 3. One table with ratios (ws.h's figure / the peer's), results in $BUILD/bench/, and a
#    chart, $BUILD/bench/bench.png, drawn by gnuplot.
#
# Environment: BUILD (build), SECONDS_PER_RUN (3), IDLE_CONNS (10000), PEERS (all five:
# "ws.h wslay libwebsockets node tcp"), BENCH_RT=1 to run servers and load generator at
# real-time priority (chrt -f 10): on a machine busy with other work, a woken server or
# load generator otherwise waits for the busy process's time slice, and the figures
# measure the scheduler.
set -u
BUILD=${BUILD:-build}
RUN=${SECONDS_PER_RUN:-3}
IDLE=${IDLE_CONNS:-10000}
PEERS=${PEERS:-"ws.h wslay libwebsockets node tcp"}
PRIO=()
TCP=()
if [ "${BENCH_RT:-0}" = 1 ]; then
    if chrt -f 10 true 2>/dev/null; then PRIO=(chrt -f 10); else echo "(BENCH_RT: chrt -f not permitted, running at normal priority)"; fi
fi
OUT=$BUILD/bench
mkdir -p "$OUT"
pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT
ulimit -n $((IDLE + 1000)) 2>/dev/null || { IDLE=$(( $(ulimit -n) - 200 )); echo "(ulimit -n: $IDLE idle connections)"; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
field() {   # field NAME LINE: the value of NAME=value in LINE
    awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' <<<"$2"
}

machine() {
    echo "machine: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs," \
         "Linux $(uname -r); compiler: $(${CC:-gcc} --version | head -1); flags: -O2" \
         "(no -march); peers: wslay $(dpkg-query -W -f '${Version}' libwslay-dev 2>/dev/null)," \
         "libwebsockets $(dpkg-query -W -f '${Version}' libwebsockets-dev 2>/dev/null)," \
         "Node $(node --version 2>/dev/null) ws $(node -p 'require("ws/package.json").version' 2>/dev/null)"
    local busy
    busy=$(ps -eo ni=,pcpu=,comm= | awk '$1 > 0 && $2 > 20 {print $3}' | sort -u | tr '\n' ' ')
    [ -n "$busy" ] && echo "note: measured while these ran at low priority: $busy"
    [ ${#PRIO[@]} -gt 0 ] && echo "note: echo servers and load generator at real-time priority (${PRIO[*]})"
    return 0
}

echo "== in memory (build/bench_mem) =="
machine | tee "$OUT/machine.txt"
"$BUILD/bench_mem" 0.2 --csv "$OUT/mem.csv" || exit 1

start_server() {    # NAME PORT: starts it pinned to CPU 0, sets spid
    local log=$OUT/server_$1.log
    case $1 in
        ws.h) "${PRIO[@]}" taskset -c 0 "$BUILD/echo_server" "$2" /dev/null >"$log" 2>&1 & ;;
        wslay) "${PRIO[@]}" taskset -c 0 "$BUILD/wslay_echo" "$2" >"$log" 2>&1 & ;;
        libwebsockets) "${PRIO[@]}" taskset -c 0 "$BUILD/lws_echo" "$2" >"$log" 2>&1 & ;;
        node) "${PRIO[@]}" taskset -c 0 node tests/interop/node_server.mjs "$2" >"$log" 2>&1 & ;;
        tcp) "${PRIO[@]}" taskset -c 0 "$BUILD/tcp_echo" "$2" >"$log" 2>&1 & ;;
    esac
    spid=$!
    pids+=("$spid")
    local i
    for i in $(seq 100); do grep -q listening "$log" 2>/dev/null && return 0; sleep 0.05; done
    echo "$1: did not start"; cat "$log"; return 1
}

# loadgen CPU ARGS...: one run; prints its result line (or "error: ...")
loadgen() {
    local cpu=$1; shift
    local line prio=("${PRIO[@]}")
    # on the server's core, above it: it runs whenever it is woken, the server when it waits
    [ ${#PRIO[@]} -gt 0 ] && [ "$cpu" = 0 ] && prio=(chrt -f 11)
    line=$(timeout $((RUN + 30)) "${prio[@]}" taskset -c "$cpu" "$BUILD/loadgen" -d "$RUN" -w 1 \
        "${TCP[@]}" "$@" 2>&1 | tail -1)
    case $line in msgs/s=*) echo "$line" ;; *) echo "error: $line" ;; esac
}

# syscalls PID SECONDS: system calls the process made in the next SECONDS
syscalls() {
    local n
    local hi=()
    [ ${#PRIO[@]} -gt 0 ] && hi=(chrt -f 20)             # above the processes it watches
    n=$("${hi[@]}" perf stat -x, -e raw_syscalls:sys_enter -p "$1" -- sleep "$2" 2>&1 | awk -F, '/raw_syscalls/ {print $1}')
    if [[ $n =~ ^[0-9]+$ ]]; then echo "$n"; return; fi
    n=$("${hi[@]}" timeout "$2" strace -c -f -p "$1" 2>&1 | awk '/^-+ -+/ {t=1; next} t && /total/ {print $4}')
    echo "${n:-?}"
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

declare -A R
echo
echo "== echo servers: server on CPU 0, build/loadgen on CPU 1, ${RUN} s per run =="
for peer in $PEERS; do
    port=$(free_port)
    if [ "$peer" = node ] && ! node -e 'require("ws")' 2>/dev/null; then
        echo "$peer: skipped (npm ci first)"; continue
    fi
    start_server "$peer" "$port" || continue
    url=ws://127.0.0.1:$port/
    TCP=()
    [ "$peer" = tcp ] && TCP=(--tcp)
    printf '%-14s' "$peer"

    # small binary, with the system calls counted over one second of it
    ( sleep 1.5; syscalls "$spid" 1 >"$OUT/sys_$peer" ) &
    counter=$!
    small=$(loadgen 1 -c 100 -p 16 -s 16 -t binary "$url")
    wait "$counter"
    R[$peer,small]=$(field msgs/s "$small")
    R[$peer,sys]=$(awk -v n="$(cat "$OUT/sys_$peer")" -v r="${R[$peer,small]:-0}" \
        'BEGIN { if (n ~ /^[0-9]+$/ && r > 0) printf "%.3f", n / r; else print "?" }')
    smallt=$(loadgen 1 -c 100 -p 16 -s 16 -t mixed "$url")
    R[$peer,smallt]=$(field msgs/s "$smallt")
    bulk=$(loadgen 1 -c 10 -p 4 -s 65536 -t binary "$url")
    R[$peer,bulk]=$(field MB/s "$bulk")
    bulkt=$(loadgen 1 -c 10 -p 4 -s 65536 -t mixed "$url")
    R[$peer,bulkt]=$(field MB/s "$bulkt")
    lat=$(loadgen 0 -c 1 -p 1 -s 16 -t binary "$url")
    R[$peer,p50]=$(field p50_us "$lat")
    R[$peer,p99]=$(field p99_us "$lat")
    for l in "$small" "$smallt" "$bulk" "$bulkt" "$lat"; do
        case $l in error*) echo; echo "  $peer: $l" ;; esac
    done

    # memory: RSS growth over IDLE idle connections (not for the TCP echo)
    if [ "$peer" = tcp ]; then
        R[$peer,mem]="-"; R[$peer,sys]="-"
        kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
        echo " done"; continue
    fi
    before=$(rss_kb "$spid")
    timeout 120 taskset -c 1 "$BUILD/loadgen" -c "$IDLE" --idle 3 "$url" >"$OUT/idle_$peer" 2>&1 &
    idler=$!
    for i in $(seq 1200); do grep -q '^idle:' "$OUT/idle_$peer" && break; kill -0 $idler 2>/dev/null || break; sleep 0.05; done
    sleep 0.5
    after=$(rss_kb "$spid")
    wait $idler
    if grep -q '^idle:' "$OUT/idle_$peer"; then
        R[$peer,mem]=$(( (after - before) * 1024 / IDLE ))
    else
        R[$peer,mem]="?"; echo; echo "  $peer: idle connections: $(tail -1 "$OUT/idle_$peer")"
    fi
    kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
    echo " done"
done

# ---- the table ----
fmt_m() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.3f M", v / 1e6 }'; }
fmt_g() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.2f GB/s", v / 1e3 }'; }
ratio() { awk -v a="$1" -v b="$2" -v inv="${3:-0}" 'BEGIN { if (a == "" || b == "" || a == "?" || b == "?" || a + 0 == 0 || b + 0 == 0) print "-"; else printf "%.1fx", inv ? b / a : a / b }'; }
{
    echo
    echo "Echo, one server thread on CPU 0, load generator on CPU 1, loopback; every echoed byte checked."
    printf '%-14s %14s %14s %13s %13s %10s %10s %10s %10s\n' server "16 B msgs/s" "16 B text" \
        "64 KiB" "64 KiB text" "p50 us" "p99 us" "sys/msg" "B/conn"
    for peer in $PEERS; do
        [ -n "${R[$peer,small]+x}" ] || continue
        printf '%-14s %14s %14s %13s %13s %10s %10s %10s %10s\n' "$peer" \
            "$(fmt_m "${R[$peer,small]}")" "$(fmt_m "${R[$peer,smallt]}")" \
            "$(fmt_g "${R[$peer,bulk]}")" "$(fmt_g "${R[$peer,bulkt]}")" \
            "${R[$peer,p50]:--}" "${R[$peer,p99]:--}" "${R[$peer,sys]}" "${R[$peer,mem]}"
    done
    if [ -n "${R[ws.h,small]+x}" ]; then
        for peer in $PEERS; do
            [ "$peer" = ws.h ] && continue
            [ -n "${R[$peer,small]+x}" ] || continue
            printf '%-14s %14s %14s %13s %13s %10s %10s %10s %10s\n' "ws.h / $peer" \
                "$(ratio "${R[ws.h,small]}" "${R[$peer,small]}")" \
                "$(ratio "${R[ws.h,smallt]}" "${R[$peer,smallt]}")" \
                "$(ratio "${R[ws.h,bulk]}" "${R[$peer,bulk]}")" \
                "$(ratio "${R[ws.h,bulkt]}" "${R[$peer,bulkt]}")" \
                "$(ratio "${R[ws.h,p50]}" "${R[$peer,p50]}" 1)" \
                "$(ratio "${R[ws.h,p99]}" "${R[$peer,p99]}" 1)" \
                "$(ratio "${R[ws.h,sys]}" "${R[$peer,sys]}" 1)" \
                "$(ratio "${R[ws.h,mem]}" "${R[$peer,mem]}" 1)"
        done
        echo "(ratios: how many times better ws.h is; latency, system calls and memory: peer / ws.h;"
        echo " against tcp: the share of the machine's limit ws.h reaches)"
    fi
    echo "16 B: 100 connections x 16 in flight (binary; text = mixed CJK/ASCII UTF-8); 64 KiB: 10 x 4;"
    echo "p50/p99: 1 connection, 1 in flight, 16 B, server and load generator on the same core;"
    echo "sys/msg: the server's system calls per small binary message; B/conn: server RSS growth"
    echo "over $IDLE idle connections, divided. tcp: a plain TCP echo of the same bytes (no WebSocket),"
    echo "the limit of this machine, kernel and load generator."
} | tee "$OUT/echo.txt"

# ---- data and chart ----
{
    echo "# server small_Mmsgs small_text_Mmsgs bulk_GBs bulk_text_GBs"
    for peer in $PEERS; do
        [ -n "${R[$peer,small]+x}" ] || continue
        awk -v n="$peer" -v a="${R[$peer,small]:-0}" -v b="${R[$peer,smallt]:-0}" \
            -v c="${R[$peer,bulk]:-0}" -v d="${R[$peer,bulkt]:-0}" \
            'BEGIN { printf "\"%s\" %.4f %.4f %.4f %.4f\n", n, a / 1e6, b / 1e6, c / 1e3, d / 1e3 }'
    done
} >"$OUT/echo.dat"
awk -F, '$1 == "receive" { k = $2 " " $3; v[k, $4] = $5; if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
         END { print "# case ws.h wslay_frame wslay_event memcpy (payload GB/s)";
               for (i = 1; i <= n; i++) { k = order[i]; printf "\"%s\" %s %s %s %s\n", k, v[k, "ws.h"], v[k, "wslay_frame"], v[k, "wslay_event"], v[k, "memcpy"] } }' \
    "$OUT/mem.csv" >"$OUT/mem.dat"
if command -v gnuplot >/dev/null; then
    gnuplot -e "outfile='$OUT/bench.png'; echo='$OUT/echo.dat'; mem='$OUT/mem.dat'; machine='$(head -1 "$OUT/machine.txt" | sed "s/'//g")'" \
        bench/chart.gp && echo "chart: $OUT/bench.png"
    gnuplot -e "outfile='$OUT/bench.svg'; echo='$OUT/echo.dat'; mem='$OUT/mem.dat'; machine='$(head -1 "$OUT/machine.txt" | sed "s/'//g")'" \
        bench/chart.gp && echo "chart: $OUT/bench.svg"
else
    echo "chart: skipped (gnuplot not installed: apt-get install gnuplot-nox)"
fi
