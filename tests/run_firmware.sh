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
# Every qemu run is bounded by `timeout`. TEST_SEED=N is passed on to the image. Without the
# ARM toolchain or qemu-system-arm the suite is skipped (a failure under CI).
# The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
DIR=$BUILD/firmware
ELF=$DIR/test_ws_m4.elf
OBJ=$DIR/ws_m4.o
FW_CC=${FW_CC:-arm-none-eabi-gcc}
QEMU=${QEMU_ARM:-qemu-system-arm}
have() { command -v "$1" >/dev/null 2>&1; }

have "$FW_CC" || skip "no $FW_CC (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
have "$QEMU" || skip "no $QEMU (apt-get install qemu-system-arm)"
# up to date with ws.h and the tests (make test has built them; run alone, this builds them)
env -u MAKEFLAGS -u MFLAGS make --no-print-directory BUILD="$BUILD" "$ELF" "$OBJ" >"$tmp/make.log" 2>&1
[ -e "$ELF" ] && [ -e "$OBJ" ] && ! grep -q '^SKIP' "$tmp/make.log" ||
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
    ok "ws.h casts no pointer to a wider integer type: words are read and written through WS_MEMCPY"
else
    ko "ws.h casts pointers to wider integers (an unaligned word access on a byte buffer):"
    sed 's/^/    /' <<<"$casts"
fi
if have arm-none-eabi-objdump && have python3; then
    arm-none-eabi-objdump -dl "$OBJ" | python3 tests/firmware/multiword.py ws.h >"$DIR/multiword.txt"
    echo "    ws_m4.o $(head -n 1 "$DIR/multiword.txt"): each through a pointer to a struct, for review in $DIR/multiword.txt"
fi
finish
