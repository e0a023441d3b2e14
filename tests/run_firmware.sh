#!/usr/bin/env bash
# ws.h on a Cortex-M4: the whole unit suite built with arm-none-eabi-gcc -Os, ws.h with
# WS_FREESTANDING, run on qemu's mps2-an386 board with semihosting (tests/firmware/fw.h says
# how the image is made). Checks:
#   - the emulator faults an unaligned LDRD, STRD, LDM and STM and allows an unaligned LDR,
#     as a Cortex-M4 does (probes in the image), so the clean run below proves no path the
#     tests take does an unaligned multi-word access;
#   - the heap trap works: a malloc from ws.h's code range ends the run (probe);
#   - every unit test passes, as many as on the host (build/test_ws_gcc --list);
#   - no heap call from ws.h's code during the run (heap.c traps it), the stack's painted
#     high-water mark, sizeof(ws_conn) and sizeof(ws_http) on the M4 (printed);
#   - ws.h alone for the M4 (freestanding, -Os) calls nothing outside itself but
#     memcpy/memset, and its code range in the image holds ws.h's functions only;
#   - ws.h casts no byte pointer to a wider integer pointer, and the M4 code's multi-word
#     accesses are listed with their source line for review ($BUILD/firmware/multiword.txt).
# A host build with WS_NO_CLIENT, then one with WS_NO_SERVER, refuses the role left out
# (tests/firmware/roles.c). Then the WebSocket echo server of examples/firmware/ on the same emulated board, its UART
# carried to TCP clients by tests/firmware/bridge.py (several connections over the one
# serial line, SLIP frames with channel, sequence and CRC-16):
#   - the image links with no library but libgcc (no heap, no libc), and its flash and RAM
#     split into ws.h's part and the rest (the map file), ws.h's data and bss 0;
#   - the link's speed (bytes/s, printed: it decides which conformance cases can run);
#   - the conformance suite (tests/conformance/server_suite.py) through the bridge, every
#     case but the FW_SLOW ones (below: the link is too slow for their time bounds), with
#     the results the host build has: all passed, none non-strict;
#   - the link saw no bad CRC, sequence gap or bad frame either way; the stack while
#     serving (painted, read over the link after the run): how deep ws.h's calls went, and
#     the whole image's high-water mark; sizeof(ws_conn) and the RAM per connection;
#   - gcc's call graph of the firmware's ws.h build (tests/analysis/stack_report.py), and of
#     the firmware configuration with both roles and client only: every public function's
#     deepest chain at most FW_STACK_LIMIT bytes (256, the issue's aim);
#   - examples/echo.html in headless Chromium (tests/firmware/browser.mjs), loaded from the
#     bridge, talking to the firmware (skipped without Node, playwright-core, Chromium).
# Every qemu run is bounded by `timeout`. TEST_SEED=N is passed on to the image. Without the
# ARM toolchain or qemu-system-arm the suite is skipped (a failure under CI).
# The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
DIR=$BUILD/firmware
ELF=$DIR/test_ws_m4.elf
OBJ=$DIR/ws_m4.o
ECHO=$DIR/echo_fw.elf
FW_CC=${FW_CC:-arm-none-eabi-gcc}
QEMU=${QEMU_ARM:-qemu-system-arm}
have() { command -v "$1" >/dev/null 2>&1; }

have "$FW_CC" || skip "no $FW_CC (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
have "$QEMU" || skip "no $QEMU (apt-get install qemu-system-arm)"
# up to date with ws.h and the tests (make test has built them; run alone, this builds them)
env -u MAKEFLAGS -u MFLAGS make --no-print-directory BUILD="$BUILD" "$ELF" "$OBJ" "$ECHO" >"$tmp/make.log" 2>&1
[ -e "$ELF" ] && [ -e "$OBJ" ] && [ -e "$ECHO" ] && ! grep -q '^SKIP' "$tmp/make.log" ||
    { ko "building $ELF failed"; show "$tmp/make.log"; finish; }

# m4 SECONDS LOG [ARGS...]: runs the image, returns qemu's exit status (the image's)
m4() {
    local secs=$1 log=$2
    shift 2
    timeout "$secs" "$QEMU" -M mps2-an386 -nographic -monitor none \
        -semihosting-config enable=on,target=native -kernel "$ELF" ${1:+-append "$*"} \
        </dev/null >"$log" 2>&1
}

# ---- the emulator traps what a Cortex-M4 traps -----------------------------------------
bad=
for w in ldrd strd ldm stm; do
    m4 20 "$tmp/probe-$w.log" "--fw-probe=$w"
    st=$?
    [ $st -eq 70 ] && grep -q UNALIGNED "$tmp/probe-$w.log" || bad="$bad $w (exit $st)"
done
m4 20 "$tmp/probe-ldr.log" --fw-probe=ldr
st=$?
[ $st -eq 0 ] && grep -q 'probe ldr: no fault' "$tmp/probe-ldr.log" || bad="$bad ldr faulted (exit $st)"
if [ -z "$bad" ]; then
    ok "m4: $QEMU faults an unaligned LDRD, STRD, LDM and STM and allows an unaligned LDR (UNALIGN_TRP clear, as on the chip)"
else
    ko "m4: the unaligned-access probes did not behave as a Cortex-M4:$bad"
    show "$tmp/probe-ldrd.log"
fi

m4 20 "$tmp/probe-heap.log" --fw-probe=heap
st=$?
if [ $st -eq 71 ] && grep -q "FAIL heap: malloc called from ws.h's code" "$tmp/probe-heap.log"; then
    ok "m4: a malloc from ws.h's code range traps (probe)"
else
    ko "m4: the heap trap did not fire on a malloc from ws.h's code range (exit $st)"
    show "$tmp/probe-heap.log"
fi

# ---- the unit suite ------------------------------------------------------------------------
host_n=
if [ -x "$BUILD/test_ws_gcc" ]; then
    host_n=$("$BUILD/test_ws_gcc" --list | grep -c /)
    host_from=$BUILD/test_ws_gcc
elif gcc -std=c99 -I. tests/unit/*.c -o "$tmp/host_list" 2>"$tmp/host.err"; then
    host_n=$("$tmp/host_list" --list | grep -c /)
    host_from="the host's gcc"
fi
t0=$(date +%s)
m4 600 "$tmp/unit.log" ${TEST_SEED:+TEST_SEED=$TEST_SEED}
st=$?
secs=$(($(date +%s) - t0))
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$tmp/unit.log" | tail -n 1)
p=$(sed -E 's/ passed.*//' <<<"$summary")
f=$(sed -E 's/.* passed, ([0-9]+) failed.*/\1/' <<<"$summary")
seed=$(sed -nE 's/.*seed=([0-9]+).*/\1/p' "$tmp/unit.log" | head -n 1)
grep -E 'FAIL|^m4: ' "$tmp/unit.log" | head -n 40 | sed 's/^/    /'
if [ $st -eq 0 ] && [ -n "$summary" ] && [ "$f" = 0 ] && { [ -z "$host_n" ] || [ "$p" = "$host_n" ]; }; then
    ok "m4: unit suite $summary${host_n:+ (the host lists $host_n tests)}, in $secs s, seed=$seed"
elif [ $st -eq 124 ]; then
    ko "m4: unit suite timed out after $secs s"
    show "$tmp/unit.log"
elif [ $st -eq 70 ] || [ $st -eq 71 ]; then
    ko "m4: unit suite stopped by a fault or the heap trap (exit $st), seed=$seed"
    show "$tmp/unit.log"
elif [ -n "$summary" ] && [ -n "$host_n" ] && [ "$p" != "$host_n" ] && [ "$f" = 0 ]; then
    ko "m4: unit suite ran $p tests, $host_from lists $host_n"
else
    ko "m4: unit suite: ${summary:-no summary} (exit $st), seed=$seed (TEST_SEED=$seed repeats it)"
    grep -qE '^[0-9]+ passed' "$tmp/unit.log" || show "$tmp/unit.log"
fi
[ -z "$host_n" ] && echo "    (no host count to compare with: gcc failed)"
if grep -q '^m4: stack high-water' "$tmp/unit.log"; then
    if grep -q OVERFLOWED "$tmp/unit.log"; then ko "m4: the stack overflowed its painted 256 KiB"
    else ok "m4: $(grep -m1 '^m4: stack high-water' "$tmp/unit.log" | sed -E 's/^m4: //; s/ \(.*//') (the whole run)"; fi
fi

# ---- ws.h's code: no libc, no heap, no unaligned multi-word access -------------------------------
extra=$(arm-none-eabi-nm -u "$OBJ" | awk '{print $2}' | grep -vxE 'memcpy|memset' | tr '\n' ' ')
if [ -z "$extra" ]; then
    ok "m4: ws.h freestanding (-Os) calls nothing outside itself but memcpy/memset: no heap, no libc"
else
    ko "m4: ws.h freestanding for the M4 needs: $extra"
fi
# the range heap.c and the fault handler call ws.h's: ws.h's functions, and the probe
arm-none-eabi-nm "$ELF" | awk '
    $3 == "fw_ws_text_start" { lo = "x" $1 } $3 == "fw_ws_text_end" { hi = "x" $1 }
    $2 ~ /^[tT]$/ && $3 !~ /^fw_ws_text_/ { a[$3] = "x" $1 }     # "x": compared as strings
    END { for (s in a) if (a[s] >= lo && a[s] < hi) { n = s; sub(/\..*/, "", n); print n } }' |
    sort -u >"$tmp/range"
n=$(wc -l <"$tmp/range")
strays=$(grep -vxF ws__fw_probe_heap "$tmp/range" | while read -r s; do
    grep -qw -- "$s" ws.h || echo "$s"; done | tr '\n' ' ')
if [ "$n" -gt 20 ] && [ -z "$strays" ]; then
    ok "m4: ws.h's code range in the image holds $n functions, every one ws.h's (or the probe)"
else
    [ -n "$strays" ] && strays=", not of ws.h: $strays"
    ko "m4: ws.h's code range holds $n functions$strays"
fi
casts=$(grep -nE '\((const )?(volatile )?(u?int(16|32|64)_t|unsigned( int| long)?|int|long|size_t|uintptr_t)( const)? ?\*\)' ws.h |
        grep -vE '^[0-9]+:\s*(/\*|\*)' | head -n 5)
if [ -z "$casts" ]; then
    ok "ws.h casts no pointer to a wider integer type: words are read and written through memcpy (WS_MEMCPY, WS__COPY)"
else
    ko "ws.h casts pointers to wider integers (an unaligned word access on a byte buffer):"
    sed 's/^/    /' <<<"$casts"
fi
if have arm-none-eabi-objdump && have python3; then
    arm-none-eabi-objdump -dl "$OBJ" | python3 tests/firmware/multiword.py ws.h >"$DIR/multiword.txt"
    echo "    ws_m4.o $(head -n 1 "$DIR/multiword.txt"): each through a pointer to a struct, for review in $DIR/multiword.txt"
fi
# ---- one role: the other is refused (its send paths are compiled out) -----------------------
for m in WS_NO_CLIENT WS_NO_SERVER; do
    if gcc -std=c99 -Wall -Wextra -Werror -D$m tests/firmware/roles.c -o "$tmp/roles" 2>"$tmp/roles.err" &&
       "$tmp/roles" >"$tmp/roles.log" 2>&1; then
        ok "$(cat "$tmp/roles.log")"
    else
        ko "-D$m: ws_conn_init does not refuse the role left out"; show "$tmp/roles.err"; show "$tmp/roles.log"
    fi
done

# ---- the echo server of examples/firmware/, serving real clients ---------------------------
# Left out of the conformance run: the link moves 30-50 KB/s each way on an idle machine and
# under 10 KB/s on a loaded one (measured below), and these cases' own time bounds (3 s for
# most, 6 s for 7.1.6, about 14 s for 1 MiB, 60 s for 16 MiB) are shorter than their bytes
# take there: 64 KiB messages echoed (1.1.7, 1.1.8, 1.3.7, 1.3.8, 1.4.7, 1.4.8, 1.6.7,
# 1.6.8, 6.3.40, 10.1: they pass on an idle machine, in 1-2 s each), 1 MiB and 16 MiB
# messages (1.1.9, 1.1.10, 1.3.9, 1.3.10, 1.4.9, 1.4.10, 1.6.9, 1.6.10), 1 MiB in fragments
# (5.29), 256 KiB then a close (7.1.6), and the bulk throughput cases (9.1-9.4, 9.6: 64 MiB,
# 16 MiB, 4 MiB). FW_CASES_OUT= runs them all anyway.
FW_SLOW=${FW_CASES_OUT-'1\.[1346]\.(7|8|9|10)|5\.29|6\.3\.40|7\.1\.6|9\.[12346]|10\.1'}
MAP=${ECHO%.elf}.map
EOBJ=$DIR/echo

# bridge LOG [ARGS...]: starts the bridge (and its qemu) in the background; sets bport
bridge() {
    local log=$1
    shift
    python3 tests/firmware/bridge.py --elf "$ECHO" --port 0 --max-seconds 200 \
        --log "$log.qemu" "$@" >"$log" 2>&1 &
    bpid=$!
    pids+=("$bpid")
    bport=
    for _ in $(seq 600); do         # 30 s: qemu's boot, and the link's measure
        grep -q 'listening on ws://' "$log" 2>/dev/null && break
        kill -0 "$bpid" 2>/dev/null || break
        sleep 0.05
    done
    bport=$(sed -nE 's|.*listening on ws://127.0.0.1:([0-9]+)/.*|\1|p' "$log")
    [ -n "$bport" ]
}
# stop_bridge: SIGTERM: the bridge asks the firmware for its figures, prints them, stops qemu
stop_bridge() {
    kill -TERM "$bpid" 2>/dev/null
    wait "$bpid"
}
fwval() { sed -nE "s/^firmware: .*\\b$1=([0-9]+).*/\\1/p" "$2" | tail -n 1; }

libs=$(sed -nE 's/^lib //p' <(python3 tests/firmware/mapsplit.py "$MAP" ws_impl.o) | tr '\n' ' ')
python3 tests/firmware/mapsplit.py "$MAP" ws_impl.o >"$tmp/split"
val() { awk -v k="$1 $2" '$1 " " $2 == k { print $3 }' "$tmp/split"; }
ws_flash=$(val flash ws_impl.o); rest_flash=$(val flash rest); all_flash=$(val flash total)
ws_ram=$(val ram ws_impl.o); all_ram=$(val ram total)
undef=$(arm-none-eabi-nm -u "$EOBJ"/*.o | awk 'NF == 2 { print $2 }' | sort -u |
        grep -vxE 'memcpy|memset|memmove|memcmp|__aeabi_uldivmod' |
        while read -r s; do arm-none-eabi-nm --defined-only "$EOBJ"/*.o | grep -qw "$s" ||
            grep -qw "$s" examples/firmware/mps2_an386.ld || echo "$s"; done | tr '\n' ' ')
if [ "$libs" = "libgcc.a " ] && [ -z "$undef" ] && [ "$ws_ram" = 0 ]; then
    ok "m4 echo: the image links with libgcc alone (no libc, no heap); flash $all_flash bytes: ws.h $ws_flash, the rest $rest_flash (echo server, link, UART, startup, libgcc); RAM $all_ram bytes (stack 8192 included), ws.h's data and bss 0"
else
    ko "m4 echo: the image takes libraries '$libs', symbols '$undef' from outside, or ws.h has RAM ($ws_ram bytes)"
fi

if bridge "$tmp/b1.log" --measure 65536 && grep -q '^firmware says:' "$tmp/b1.log"; then
    ok "m4 echo: booted, $(sed -n 's/^firmware says: //p' "$tmp/b1.log")"
    echo "    $(grep '^link: host to firmware' "$tmp/b1.log")"
    echo "    $(grep '^link: [0-9]' "$tmp/b1.log")"
    list=$(python3 tests/conformance/server_suite.py --list | awk '/^[0-9]+\./ { print $1 }')
    run=$(grep -vxE "$FW_SLOW" <<<"$list" | paste -sd, -)
    n_run=$(grep -cvxE "$FW_SLOW" <<<"$list")
    n_out=$(grep -cxE "$FW_SLOW" <<<"$list")
    t0=$(date +%s)
    timeout -k 5 180 python3 tests/conformance/server_suite.py --port "$bport" --cases "$run" \
        >"$tmp/conf.log" 2>&1
    st=$?
    secs=$(($(date +%s) - t0))
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/conf.log" | tail -n 1)
    nonstrict=$(grep -E '^[0-9]+ non-strict' "$tmp/conf.log" | cut -d' ' -f1)
    if [ $st -eq 0 ] && [ "$summary" = "$n_run passed, 0 failed" ] && [ "${nonstrict:-x}" = 0 ]; then
        ok "m4 echo: conformance (server mode) through the bridge: $summary, 0 non-strict, in $secs s ($n_out cases left out for the link's speed: $(grep -xE "$FW_SLOW" <<<"$list" | paste -sd' ' -))"
    else
        ko "m4 echo: conformance through the bridge: ${summary:-no summary} (exit $st, $n_run cases asked)"
        grep -E '^(FAIL|NON-STRICT)' "$tmp/conf.log" | head -n 15 | sed 's/^/    | /'
    fi
    stop_bridge
    st=$?
    if [ $st -eq 0 ] && grep -q '^bridge: frames_in=.* crc_errors=0 seq_errors=0 size_errors=0 fw_errors=0' "$tmp/b1.log" &&
       [ "$(fwval crc_errors "$tmp/b1.log")" = 0 ] && [ "$(fwval seq_errors "$tmp/b1.log")" = 0 ] &&
       [ "$(fwval size_errors "$tmp/b1.log")" = 0 ]; then
        ok "m4 echo: the link: no bad CRC, sequence gap or bad frame either way ($(fwval frames_in "$tmp/b1.log") frames in, $(fwval frames_out "$tmp/b1.log") out, $(sed -nE 's/.*connections=([0-9]+).*/\1/p' "$tmp/b1.log") connections)"
    else
        ko "m4 echo: link errors or no figures from the firmware (bridge exit $st)"
        grep -E 'LINK ERROR|^bridge: f|^firmware:' "$tmp/b1.log" | head -n 10 | sed 's/^/    | /'
    fi
    d=$(fwval ws_depth "$tmp/b1.log"); cb=$(fwval ws_to_callback "$tmp/b1.log")
    used=$(fwval stack_used "$tmp/b1.log"); at=$(fwval ws_call_sp_depth "$tmp/b1.log")
    conn=$(fwval sizeof_ws_conn "$tmp/b1.log"); http=$(fwval sizeof_ws_http "$tmp/b1.log")
    slot=$(fwval sizeof_slot "$tmp/b1.log"); head=$(fwval head "$tmp/b1.log")
    if [ -n "$d" ] && [ "$d" -gt 0 ] && [ -n "$used" ] && [ "$used" -lt 8192 ]; then
        ok "m4 echo: stack while serving the conformance run: ws.h's calls $d bytes deep with the firmware's callbacks, $cb to a callback's entry; called $at bytes down; the whole image's high-water mark $used of 8192 painted"
        echo "    RAM per connection: sizeof(ws_conn) $conn + the request head's buffer $head + $((slot - conn - head)) of the slot's own = $slot bytes; one ws_http of $http bytes, shared: heads are parsed one at a time"
    else
        ko "m4 echo: no stack figures from the firmware (ws_depth '${d}', stack_used '${used}')"
    fi
else
    ko "m4 echo: the bridge or the firmware did not start"
    show "$tmp/b1.log"
fi

# gcc's call graph: the echo server's own ws.h (server only), then the firmware
# configuration built with the same flags for both roles and for the client only
FW_STACK_LIMIT=${FW_STACK_LIMIT:-256}
fwex_ws=$(sed -nE 's/^FWEX_WS *\?= *//p' examples/firmware/firmware.mk)
fw_both=$(sed -E 's/ ?-DWS_NO_CLIENT//' <<<"$fwex_ws")
printf '#define WS_IMPLEMENTATION\n#include "ws.h"\n' >"$tmp/impl.c"
for flags in "$fwex_ws" "$fw_both" "$fw_both -DWS_NO_SERVER"; do
    case $flags in
        *NO_CLIENT*) what="the echo server's ws.h, server only"; ci=$EOBJ/ws_impl.ci ;;
        *NO_SERVER*) what="the firmware configuration, client only"; ci=$tmp/impl.ci ;;
        *) what="the firmware configuration, both roles"; ci=$tmp/impl.ci ;;
    esac
    # shellcheck disable=SC2086
    if [ "$ci" = "$tmp/impl.ci" ] && ! (cd "$tmp" && "$FW_CC" -std=c99 -Wall -Wextra -Werror \
            -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections -ffreestanding \
            -fno-builtin -fstack-usage -fcallgraph-info=su $flags -I"$OLDPWD" -c impl.c \
            -o impl.o) >"$tmp/fwstack.err" 2>&1; then
        ko "m4: $what: its build for the call graph failed"; show "$tmp/fwstack.err"; continue
    fi
    if python3 tests/analysis/stack_report.py "$ci" "$FW_STACK_LIMIT" >"$tmp/fwstack.log" 2>&1; then
        ok "m4: gcc's call graph of $what (-Os $flags): every entry point <= $FW_STACK_LIMIT bytes; deepest $(grep -E '^PASS ws_' "$tmp/fwstack.log" | head -n 1 | sed -E 's/^PASS //; s/ \(<= [0-9]+\)//')"
    else
        ko "m4: gcc's call graph of $what (-Os $flags): over $FW_STACK_LIMIT bytes"
        grep '^FAIL' "$tmp/fwstack.log" | head -n 5 | sed 's/^/    | /'
    fi
done

# the browser: examples/echo.html from the host (the bridge), its WebSockets to the firmware
chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
    for c in chromium chromium-browser google-chrome; do chromium=$(command -v "$c") && break; done
fi
if ! have node; then skip_check "m4 echo in a browser: no node"
elif [ ! -f node_modules/playwright-core/package.json ]; then skip_check "m4 echo in a browser: node_modules/playwright-core missing (make node)"
elif [ -z "$chromium" ] || [ ! -x "$chromium" ]; then skip_check "m4 echo in a browser: no Chromium (apt-get install chromium, or CHROMIUM=/path)"
elif bridge "$tmp/b2.log" --page examples/echo.html; then
    timeout 90 node tests/firmware/browser.mjs "http://127.0.0.1:$bport/" "$chromium" >"$tmp/browser.log" 2>&1
    st=$?
    lines "$tmp/browser.log" "m4 echo in Chromium: "
    if [ $st -ne 0 ] || ! grep -qE '^[1-9][0-9]* passed, 0 failed$' "$tmp/browser.log"; then
        ko "m4 echo in Chromium: exit $st"; show "$tmp/browser.log"
    fi
    stop_bridge || { ko "m4 echo in Chromium: link errors"; grep 'LINK ERROR' "$tmp/b2.log" | head -n 5; }
else
    ko "m4 echo in a browser: the bridge did not start"
    show "$tmp/b2.log"
fi
finish
